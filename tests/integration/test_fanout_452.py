"""A server that takes fewer recipients per transaction than the gateway
sends (issue 15): the stack's real Postfix with smtpd_recipient_limit = 10
answers the 11th RCPT of a transaction "452 4.5.3 Error: too many
recipients".  The gateway lowers its transactions to what the server took
(logged once), sends the rest in the following transactions, and every
member gets the post exactly once, on its first attempt (no outbox retry),
with XVERP offered or not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coopgate import token
from test_email_fanout import members, people
from test_email_requests import email_rows_settled, gateway, post, wait_mail, with_msgid  # noqa: F401
from test_email_send import no_xverp_postfix, xverp_postfix  # noqa: F401 (fixtures)

assert gateway and no_xverp_postfix and xverp_postfix

LIMIT = 10
LOWERED = f"server takes {LIMIT} recipients per transaction: batches lowered to that"


@pytest.fixture
def postfix_recipient_limit(stack):
    """The stack's Postfix takes LIMIT recipients per transaction for one
    test; its old setting is restored even when the test fails."""
    old = stack.postconf_get("smtpd_recipient_limit")
    stack.postconf(f"smtpd_recipient_limit = {LIMIT}")
    try:
        yield LIMIT
    finally:
        stack.postconf(f"smtpd_recipient_limit = {old}")


@pytest.mark.parametrize("xverp", ["not offered", "offered"])
def test_a_452_too_many_lowers_the_batches_and_every_member_gets_the_post_once(
        stack, request, postfix_recipient_limit, xverp):
    request.getfixturevalue("xverp_postfix" if xverp == "offered" else "no_xverp_postfix")
    gateway = request.getfixturevalue("gateway")  # stopped before Postfix reloads
    tag = "l" + token()[:5]
    gw = gateway(members=people(stack, *members(stack, 35, tag)))
    gw.wait_log(f"connection(s) open, XVERP {xverp}")
    msgid = post(stack, gw, f"limited {tag}")
    users = [f"{tag}{i:04d}" for i in range(35)] + ["bob", "carol"]
    for user in users:
        wait_mail(stack, user, with_msgid(msgid), timeout=60)
    email_rows_settled(gw, timeout=60)
    for user in users:
        got = [m for m in stack.maildir_messages(user) if m["Message-ID"] == msgid]
        assert len(got) == 1, (user, len(got))
    log = gw.log_text()
    assert log.count(LOWERED) == 1, log[-4000:]
    rows = gw.rows("SELECT o.destination, o.state, o.attempts, o.far_id FROM outbox o "
                   "JOIN message m ON m.id = o.message_id WHERE m.message_id = ?",
                   msgid.strip("<>"))
    # done on the first attempt: nobody waited for an outbox retry
    assert len(rows) == 37 and all(r[1] == "done" and r[2] == 1 for r in rows), rows
    txns = {r[3] for r in rows}
    assert len(txns) >= 4, txns  # 37 recipients, at most 10 per transaction
    # Postfix's own record: no transaction of the gateway's had more than LIMIT
    maillog = (Path(stack.dir) / "postfix" / "maillog").read_text(errors="replace")
    for qid in txns:
        n = len(re.findall(rf"\b{re.escape(qid)}: to=<", maillog))
        assert n <= LIMIT, (qid, n)
