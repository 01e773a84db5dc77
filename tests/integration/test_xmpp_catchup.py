"""MAM catch-up (XEP-0313) against the real Prosody of the stack: room lines
said while the gateway was stopped are read from the room's archive after the
restart, stored once and mailed to email members once; a second restart reads
nothing twice.  Uses the fixtures of test_xmpp_bridge.py.
"""

from __future__ import annotations

import time

from test_xmpp_bridge import (  # noqa: F401  (fixtures)
    clients, gateway, new_room, query, token, wait_for)


def mail_text(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def mail_count(stack, user, needle) -> int:
    """How many mails in user's INBOX carry needle in their text."""
    return sum(1 for m in stack.fetch_mail(user) if needle in mail_text(m))


def xmpp_bodies(data_dir):
    return [r[0] for r in query(data_dir, "SELECT body FROM message WHERE network = 'xmpp' "
                                "ORDER BY id")]


def test_lines_said_while_stopped_are_caught_up_once(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()  # chat_batch = 1
    # a room the gateway never read: it marks where it starts (empty archive)
    gw.wait_log(f"{room}: archive read: starting after (an empty archive)")
    bob = clients("bob")
    bob.join_room(room, "bob")
    assert gw.stop() == 0

    toks = [token() for _ in range(3)]
    for i, tok in enumerate(toks):
        bob.send_room(room, f"said while away {i} {tok}")
    for tok in toks:  # each is in the archive once the room echoes it
        bob.wait_message(lambda m, t=tok: m["type"] == "groupchat" and t in m["body"]
                         and str(m["from"]) == f"{room}/bob")

    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive: 3 line(s) stored", start=mark,
                timeout=30)
    assert xmpp_bodies(gw.data_dir) == [f"said while away {i} {tok}"
                                        for i, tok in enumerate(toks)]
    # sender, stanza-id dedup key and the watermark, as for a live line
    senders = query(gw.data_dir, "SELECT DISTINCT sender_addr, sender_name FROM message")
    assert senders == [("bob@example.org", "bob")]
    (last_sid,), = query(gw.data_dir, "SELECT e.ext_id FROM extid e JOIN message m ON "
                         "m.id = e.message_id WHERE e.network = 'xmpp' ORDER BY m.id DESC "
                         "LIMIT 1")
    assert query(gw.data_dir, "SELECT value FROM kv WHERE key = ?",
                 f"xmpp/{room}/last_stanza_id") == [(last_sid,)]
    # alice (member, delivery each) gets every line by mail, exactly once
    for tok in toks:
        stack.wait_for_mail("alice", lambda m, t=tok: t in mail_text(m), timeout=30)
    wait_for("every row done", lambda: query(
        gw.data_dir, "SELECT count(*) FROM outbox WHERE state != 'done'") == [(0,)])
    assert [mail_count(stack, "alice", tok) for tok in toks] == [1, 1, 1]

    # restart again: the archive has nothing new; nothing is stored or sent twice
    assert gw.stop() == 0
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive: 0 line(s) stored", start=mark,
                timeout=30)
    time.sleep(2.5)  # longer than chat_batch: a duplicate would be mailed by now
    assert len(xmpp_bodies(gw.data_dir)) == 3
    assert query(gw.data_dir, "SELECT count(*) FROM outbox") == [(3,)]
    assert [mail_count(stack, "alice", tok) for tok in toks] == [1, 1, 1]


def test_catch_up_skips_our_own_lines_and_old_commands(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    gw.wait_log(f"{room}: archive read")
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    # one line live: stored at once, and the watermark follows it
    bob.send_room(room, f"live line {tok}")
    wait_for("the live line", lambda: f"live line {tok}" in xmpp_bodies(gw.data_dir))
    assert gw.stop() == 0
    tok2 = token()
    bob.send_room(room, "!who alice")
    bob.send_room(room, f"later line {tok2}")
    bob.wait_message(lambda m: tok2 in m["body"] and str(m["from"]) == f"{room}/bob")
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive: 1 line(s) stored", start=mark,
                timeout=30)
    assert xmpp_bodies(gw.data_dir) == [f"live line {tok}", f"later line {tok2}"]
    # an old command is not answered after the fact
    time.sleep(0.5)
    assert not [m for m in bob.messages if m["type"] == "chat"]


def test_history_from_before_the_first_join_is_not_imported(stack, gateway, clients):
    room = new_room(stack)
    bob = clients("bob")
    bob.join_room(room, "bob", configure=False)  # bob makes the room
    muc = bob.xmpp.plugin["xep_0045"]
    form = bob.xmpp.plugin["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/muc#roomconfig")
    form.add_field(var="muc#roomconfig_whois", value="anyone")
    form.add_field(var="muc#roomconfig_persistentroom", value="1")
    bob.run(lambda: muc.set_room_config(room, form))
    old = token()
    bob.send_room(room, f"before the gateway came {old}")
    bob.wait_message(lambda m: old in m["body"] and str(m["from"]) == f"{room}/bob")

    gw = gateway(room).start_joined()
    gw.wait_log(f"{room}: archive read: starting after ")
    assert "(an empty archive)" not in gw.log_text()
    assert gw.stop() == 0
    new = token()
    bob.send_room(room, f"while the gateway is away {new}")
    bob.wait_message(lambda m: new in m["body"] and str(m["from"]) == f"{room}/bob")
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive: 1 line(s) stored", start=mark,
                timeout=30)
    assert xmpp_bodies(gw.data_dir) == [f"while the gateway is away {new}"]
