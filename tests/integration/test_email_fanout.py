"""Batched fan-out without XVERP (issue 15, item 1), against the stack's real
Postfix with XVERP switched off for the gateway: a post goes out in
transactions of many recipients with the channel's plain bounce address;
a recipient Postfix refuses at RCPT counts as a bounce; reports to the plain
address count only for a recipient the returned message really went to; a
report naming nobody we sent it to leads to VERP probes.

The sender threads open their connections when the daemon starts (issue 15:
the first fan-out pays no TLS and AUTH) and keep them: a post after Postfix
restarted, or one that arrives while Postfix is down (also at start), goes
out exactly once when it is back, with one log line per outage.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from test_email_bounce_at_send import postfix_refuses  # noqa: F401 (fixture)
from test_email_requests import (email_rows_settled, gateway, send_dsn,  # noqa: F401
                                 token, wait_mail, with_msgid, post)
from test_email_send import no_xverp_postfix, xverp_postfix  # noqa: F401 (fixtures)
from helpers import make_message

assert gateway and postfix_refuses and no_xverp_postfix and xverp_postfix

PLAIN = r"dev\+bounce-\d+\.[0-9a-f]{16}@lists\.example\.org"


def members(stack, n, tag):
    return [{"address": f"{tag}{i:04d}@{stack.MAIL_DOMAIN}", "name": f"Member {i}",
             "layer": "member", "channels": ["dev"], "delivery": "each"}
            for i in range(n)]


def people(stack, *more):
    return [{"address": stack.address("alice"), "name": "Alice Example",
             "layer": "core", "channels": ["dev"], "delivery": "each"},
            {"address": stack.address("bob"), "name": "Bob Example",
             "layer": "member", "channels": ["dev"], "delivery": "each"},
            {"address": stack.address("carol"), "name": "Carol Example",
             "layer": "member", "channels": ["dev"], "delivery": "each"}] + list(more)


def score(gw, address) -> float:
    m = re.search(r"Bounces: score (\d+\.\d)", gw.show(address))
    return float(m.group(1)) if m else 0.0


def test_a_post_to_1000_members_arrives_once_each_in_few_transactions(
        stack, no_xverp_postfix, gateway):
    tag = "f" + token()[:5]
    gw = gateway(members=people(stack, *members(stack, 1000, tag)))
    msgid = post(stack, gw, f"big fan-out {tag}")
    sql = ("SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message_id "
           "WHERE m.message_id = ? AND o.bridge = 'email'")
    deadline = time.monotonic() + 240
    while (gw.rows(sql, msgid.strip("<>"))[0][0] < 1002  # all but alice, the sender
           or gw.rows(sql + " AND o.state != 'done'", msgid.strip("<>"))[0][0]):
        assert time.monotonic() < deadline, gw.log_text()[-3000:]
        time.sleep(0.5)
    txns = gw.rows("SELECT count(DISTINCT o.far_id) FROM outbox o JOIN message m "
                   "ON m.id = o.message_id WHERE m.message_id = ?", msgid.strip("<>"))[0][0]
    assert txns <= 20, txns  # was 1002: one per recipient
    for i in range(1000):
        user = f"{tag}{i:04d}"
        got = wait_mail(stack, user, with_msgid(msgid), timeout=120)
        assert len([m for m in stack.maildir_messages(user)
                    if m["Message-ID"] == msgid]) == 1, user
    assert re.fullmatch(PLAIN, str(got["Return-Path"]).strip("<>")), got["Return-Path"]


def test_a_recipient_refused_at_rcpt_counts_as_a_bounce_in_a_batch(
        stack, no_xverp_postfix, postfix_refuses, gateway):
    gone = postfix_refuses
    gw = gateway(members=people(stack, {"address": gone, "name": "Gone", "layer": "member",
                                        "channels": ["dev"], "delivery": "each"}))
    msgid = post(stack, gw, f"refused in a batch {token()}")
    got = wait_mail(stack, "bob", with_msgid(msgid))
    assert re.fullmatch(PLAIN, str(got["Return-Path"]).strip("<>")), got["Return-Path"]
    email_rows_settled(gw)
    rows = gw.rows("SELECT o.destination, o.state, o.far_id FROM outbox o JOIN message m "
                   "ON m.id = o.message_id WHERE m.message_id = ?", msgid.strip("<>"))
    states = {r[0]: r[1] for r in rows}
    assert states[gone] == "dead" and states[stack.address("bob")] == "done", rows
    assert len({r[2] for r in rows if r[1] == "done"}) == 1, rows  # one transaction
    assert score(gw, gone) >= 1.0, gw.show(gone)
    assert score(gw, stack.address("bob")) == 0.0


def test_a_report_to_the_plain_address_counts_for_the_recipient_it_names(
        stack, no_xverp_postfix, gateway):
    gw = gateway(members=people(stack))
    msgid = post(stack, gw, f"batched {token()}")
    got = wait_mail(stack, "bob", with_msgid(msgid))
    plain = str(got["Return-Path"]).strip("<>")
    assert re.fullmatch(PLAIN, plain), plain
    bob, carol = stack.address("bob"), stack.address("carol")
    gw.handled(send_dsn(stack, plain, bob, returned=msgid))
    assert score(gw, bob) == 1.0, gw.show(bob)
    assert score(gw, carol) == 0.0 and score(gw, stack.address("alice")) == 0.0

    # forged: names carol but returns a Message-ID never sent to her
    stranger = post(stack, gw, f"another {token()}")
    wait_mail(stack, "bob", with_msgid(stranger))
    gw.handled(send_dsn(stack, plain, carol, returned=f"never.{token()}@example.org"))
    assert score(gw, carol) == 0.0, gw.show(carol)
    gw.wait_log("did not send there: ignored")


def test_an_unattributable_report_leads_to_a_verp_probe(stack, no_xverp_postfix, gateway):
    gw = gateway(members=people(stack))
    msgid = post(stack, gw, f"probe me {token()}")
    got = wait_mail(stack, "bob", with_msgid(msgid))
    plain = str(got["Return-Path"]).strip("<>")
    # the report names an address the post never went to (forwarding)
    gw.handled(send_dsn(stack, plain, f"old-{token()}@elsewhere.example", returned=msgid))
    for who in ("bob", "carol"):
        try:
            probe = wait_mail(stack, who, lambda m: "Checking mail delivery" in str(m["Subject"]),
                              timeout=30)
        except AssertionError:
            pytest.fail(str(gw.rows("SELECT n.from_addr, n.to_addr, n.subject, o.state, "
                                    "o.last_error FROM notice n JOIN outbox o "
                                    "ON o.notice_id = n.id")) + gw.log_text()[-3000:])
        rp = str(probe["Return-Path"]).strip("<>")
        assert re.fullmatch(rf"dev\+bounce-\d+\.[0-9a-f]{{16}}-{who}=example\.org"
                            r"@lists\.example\.org", rp), rp
    for who in ("bob", "carol", "alice"):
        assert score(gw, stack.address(who)) == 0.0
    # the probe's own bounce counts, with the recipient's own token
    bob = stack.address("bob")
    bob_probe = wait_mail(stack, "bob", lambda m: "Checking mail delivery" in str(m["Subject"]))
    gw.handled(send_dsn(stack, str(bob_probe["Return-Path"]).strip("<>"), bob))
    assert score(gw, bob) == 1.0, gw.show(bob)


# ---------------------------------------------------------------- kept connections

OPEN = r"smtp localhost:\d+: 3 connection\(s\) open, XVERP {}"


def copies(stack, user, msgid) -> int:
    return len([m for m in stack.maildir_messages(user) if m["Message-ID"] == msgid])


def settled_once(stack, gw, msgid, users=("bob", "carol")):
    for who in users:
        wait_mail(stack, who, with_msgid(msgid), timeout=60)
    email_rows_settled(gw, timeout=60)
    for who in users:
        assert copies(stack, who, msgid) == 1, (who, gw.log_text()[-3000:])
    rows = gw.rows("SELECT o.destination, o.state FROM outbox o JOIN message m "
                   "ON m.id = o.message_id WHERE m.message_id = ?", msgid.strip("<>"))
    assert rows and all(r[1] == "done" for r in rows), rows


@pytest.mark.parametrize("xverp", ["offered", "not offered"])
def test_the_sender_threads_open_their_connections_when_the_daemon_starts(
        stack, request, xverp):
    request.getfixturevalue("xverp_postfix" if xverp == "offered" else "no_xverp_postfix")
    gateway = request.getfixturevalue("gateway")  # stopped before Postfix reloads
    gw = gateway(members=people(stack))
    gw.wait_log("connection(s) open")
    log = gw.log_text()
    assert len(re.findall(OPEN.format(xverp), log)) == 1, log
    # before any post: nothing in the outbox, nothing sent
    assert gw.rows("SELECT count(*) FROM outbox WHERE bridge = 'email'")[0][0] == 0
    time.sleep(6)  # a look at the kept connections (every 5 s) logs nothing
    assert len(re.findall(r"connection\(s\) open", gw.log_text())) == 1


def test_a_post_after_postfix_restarted_arrives_exactly_once(
        stack, no_xverp_postfix, gateway):
    gw = gateway(members=people(stack))
    gw.wait_log("connection(s) open")
    settled_once(stack, gw, post(stack, gw, f"before the restart {token()}"))
    stack.restart_postfix()  # every kept connection dies
    settled_once(stack, gw, post(stack, gw, f"right after the restart {token()}"))
    assert "outgoing mail waits" not in gw.log_text()  # no outage: it was back


@contextlib.contextmanager
def postfix_down(stack):
    """Postfix stopped (its ports closed) for the block; started again after."""
    pf = str(Path(stack.dir) / "postfix")
    subprocess.run(["postfix", "-c", pf, "stop"], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 20
        while True:  # the master closes its listeners before it exits
            try:
                smtplib.SMTP("127.0.0.1", stack.SUBMISSION_PORT, timeout=2).close()
            except OSError:
                break
            assert time.monotonic() < deadline, "postfix did not stop"
            time.sleep(0.2)
        yield
    finally:
        stack.restart_postfix()


def test_mail_waits_while_postfix_is_down_even_at_start_and_goes_out_once(
        stack, no_xverp_postfix, gateway):
    with postfix_down(stack):
        # the daemon starts (IMAP is up) although its SMTP server is down
        gw = gateway(members=people(stack), posting={"sender_proof": "off"})
        gw.wait_log("outgoing mail waits")
        # a post while Postfix is down, straight into the list mailbox
        m = make_message(stack.address("alice"), gw.addr("dev"), f"while down {token()}",
                         "a post that must wait\n")
        with smtplib.LMTP("127.0.0.1", stack.LMTP_PORT) as lmtp:
            lmtp.sendmail(stack.address("alice"), [f"gateway@{stack.MAIL_DOMAIN}"],
                          m.as_bytes())
        msgid = m["Message-ID"]
        gw.handled(msgid)
        time.sleep(5)  # several backoff periods (1, 2, 4 s)
        log = gw.log_text()
        assert log.count("outgoing mail waits") == 1, log  # one line per outage
        rows = gw.rows("SELECT o.state, o.attempts FROM outbox o JOIN message m "
                       "ON m.id = o.message_id WHERE m.message_id = ?", msgid.strip("<>"))
        assert rows and all(r == ("pending", 0) for r in rows), rows  # not tried
    gw.wait_log("reachable again", timeout=30)
    settled_once(stack, gw, msgid)
    gw.wait_log("connection(s) open")
    assert gw.log_text().count("outgoing mail waits") == 1
