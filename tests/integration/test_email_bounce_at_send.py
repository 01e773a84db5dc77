"""A 5xx the submission server gives about a recipient while the gateway
sends (RCPT TO; DATA of a one-recipient transaction) counts as a permanent
bounce of that address, like a delivery report to the VERP address; against
real Dovecot and Postfix (Postfix made to refuse one recipient at RCPT time).
"""

from __future__ import annotations

import re

import pytest

from test_email_requests import (email_rows_settled, gateway, post,  # noqa: F401
                                 token, wait_mail, with_msgid)

assert gateway  # the fixture, imported for pytest


@pytest.fixture
def postfix_refuses(stack):
    """The stack's Postfix refuses one recipient at RCPT time (554 5.7.1,
    check_recipient_access) for one test; yields that address."""
    gone = f"gone-{token()}@{stack.MAIL_DOMAIN}"
    old = stack.postconf_get("smtpd_recipient_restrictions")

    def set_(v):
        stack.postconf(f"smtpd_recipient_restrictions = {v}")
    set_(f"check_recipient_access inline:{{{gone}=REJECT}}")
    try:
        yield gone
    finally:
        set_(old)


def test_a_5xx_to_rcpt_at_send_time_counts_as_a_bounce(stack, postfix_refuses, gateway):
    gone = postfix_refuses
    members = [
        {"address": stack.address("alice"), "name": "Alice Example",
         "jid": stack.jid("alice"), "layer": "core", "channels": ["dev"], "delivery": "each"},
        {"address": stack.address("bob"), "name": "Bob Example",
         "layer": "member", "channels": ["dev"], "delivery": "each"},
        {"address": gone, "name": "Gone Example", "layer": "member",
         "channels": ["dev"], "delivery": "each"},
    ]
    gw = gateway(members=members)
    assert "Bounces: none" in gw.show(gone)
    first = post(stack, gw, f"Refused for one {token()}")
    wait_mail(stack, "bob", with_msgid(first))
    email_rows_settled(gw)
    dead = gw.rows("SELECT o.state, o.last_error FROM outbox o JOIN message m "
                   "ON m.id = o.message_id WHERE m.message_id = ? AND o.destination = ?",
                   first.strip("<>"), gone)
    assert dead and dead[0][0] == "dead" and "RCPT TO" in dead[0][1], dead
    show = gw.show(gone)
    m = re.search(r"Bounces: score (\d+\.\d)", show)
    assert m and float(m.group(1)) >= 1.0, show
    assert "554" in show or "Access denied" in show, show
    # the members the server took count nothing
    assert "Bounces: none" in gw.show(stack.address("bob")), gw.show(stack.address("bob"))
