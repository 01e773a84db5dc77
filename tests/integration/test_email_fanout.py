"""Batched fan-out without XVERP (issue 15, item 1), against the stack's real
Postfix with XVERP switched off for the gateway: a post goes out in
transactions of many recipients with the channel's plain bounce address;
a recipient Postfix refuses at RCPT counts as a bounce; reports to the plain
address count only for a recipient the returned message really went to; a
report naming nobody we sent it to leads to VERP probes.
"""

from __future__ import annotations

import re
import time

import pytest

from test_email_bounce_at_send import postfix_refuses  # noqa: F401 (fixture)
from test_email_requests import (email_rows_settled, gateway, send_dsn,  # noqa: F401
                                 token, wait_mail, with_msgid, post)
from test_email_send import no_xverp_postfix  # noqa: F401 (fixture)

assert gateway and postfix_refuses and no_xverp_postfix

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
        stack, gateway, no_xverp_postfix):
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
        stack, gateway, no_xverp_postfix, postfix_refuses):
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
        stack, gateway, no_xverp_postfix):
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


def test_an_unattributable_report_leads_to_a_verp_probe(stack, gateway, no_xverp_postfix):
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
