"""Hostile mail against the real Dovecot, Postfix and Prosody (issue 10, item
2): a mail nested 30,000 levels deep (message/rfc822 inside message/rfc822,
under 1 MB) overflowed libetpan's recursive parser and crashed the daemon on
every restart.  Now it is read as headers only: stored, flagged `unparsed`,
the room gets its subject and one line saying it cannot be shown, and the
next real mail is relayed as usual.

Postfix refuses mail nested deeper than its mime_nesting_limit (100), so the
nested mail goes into the gateway's mailbox by IMAP APPEND, as mail from any
other way in (another MTA, LMTP) would.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from coopgate import query, token, wait_for
from test_xmpp_bridge import gateway, clients, groupchat_from, mail, new_room  # noqa: F401

assert gateway and clients  # the fixtures, imported for pytest


def nested_mail(stack, subject: str, levels: int = 30000) -> bytes:
    # In through the trusted MTA, as its own results say (the test plays
    # it: posting.sender_proof holds an unproven post in alice's name).
    trace = ("Authentication-Results: mail.example.org; dmarc=pass "
             "header.from=example.org\r\n"
             "Received: from mx.elsewhere.example (unknown [192.0.2.7])\r\n"
             "\tby mail.example.org (Postfix) with ESMTP id 4A1B2C3D\r\n"
             f"\tfor <dev@{stack.LIST_DOMAIN}>; "
             f"{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n")
    head = trace + (f"From: Mallory <{stack.address('alice')}>\r\n"
            f"To: dev@{stack.LIST_DOMAIN}\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <nested.{token()}@test.example.org>\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
            f"Delivered-To: dev@{stack.LIST_DOMAIN}\r\n")
    body = "Content-Type: message/rfc822\r\n\r\n" * levels
    return (head + body + "Subject: inner\r\n\r\nbody\r\n").encode()


def append_to_gateway_mailbox(stack, data: bytes) -> None:
    client = stack.imap_login("gateway")
    try:
        typ, _ = client.append("INBOX", None, None, data)
        assert typ == "OK"
    finally:
        client.logout()


def test_deeply_nested_mail_reaches_the_room_as_its_subject_only(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")

    subject = f"Matryoshka {token()}"
    raw = nested_mail(stack, subject)
    assert len(raw) < 1024 * 1024
    append_to_gateway_mailbox(stack, raw)
    got = bob.wait_message(groupchat_from(room, "gateway", "cannot be shown"), timeout=60)
    assert subject in str(got["subject"]) or subject in str(got["body"]), got
    assert "inner" not in str(got["body"])
    assert gw.proc.poll() is None, gw.log_text()
    rows = query(gw.data_dir, "SELECT flags, length(raw) FROM message WHERE subject = ?",
                 subject)
    assert len(rows) == 1 and rows[0][0] & (1 << 8), rows  # CG_MSG_UNPARSED

    # the mailbox is not blocked: the next real mail is relayed
    tok = token()
    mail(stack, "alice", f"after {tok}", f"still here {tok}\n")
    bob.wait_message(groupchat_from(room, "gateway", f"still here {tok}"), timeout=60)
    assert gw.proc.poll() is None


def test_a_mail_that_failed_three_tries_is_set_aside(stack, gateway, clients):
    """A mail whose handling crashed the daemon three times (simulated: its
    tries are already counted in the store) is set aside with a log line
    naming its UID and Message-ID, and the mail after it is relayed."""
    room = new_room(stack)
    gw = gateway(room)
    msgid = f"poison.{token()}@test.example.org"
    append_to_gateway_mailbox(stack, (
        f"From: {stack.address('alice')}\r\nTo: dev@{stack.LIST_DOMAIN}\r\n"
        f"Subject: poison\r\nMessage-ID: <{msgid}>\r\n\r\nboom\r\n").encode())
    client = stack.imap_login("gateway")
    try:
        client.select("INBOX")
        typ, data = client.uid("SEARCH", None, "ALL")
        uid = int(data[0].split()[-1])
        validity = int(client.response("UIDVALIDITY")[1][0])
    finally:
        client.logout()
    con = sqlite3.connect(gw.data_dir / "coopgate.db")
    with con:
        con.execute("INSERT INTO imap_try(mailbox, uidvalidity, uid, tries) "
                    "VALUES ('INBOX', ?, ?, 3)", (validity, uid))
    con.close()
    gw.start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    gw.wait_log(f"UID {uid} <{msgid}>: not handled after 3 tries: set aside", timeout=30)
    tok = token()
    mail(stack, "alice", f"next {tok}", f"next one {tok}\n")
    bob.wait_message(groupchat_from(room, "gateway", f"next one {tok}"), timeout=60)
    assert query(gw.data_dir, "SELECT count(*) FROM message WHERE body LIKE '%boom%'") \
        == [(0,)]
    wait_for("the try rows forgotten",
             lambda: query(gw.data_dir, "SELECT count(*) FROM imap_try") == [(0,)])


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
