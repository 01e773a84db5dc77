"""Component mode (XEP-0114) against the real Prosody of the stack: the gateway
connects as the component gw.example.org; each email sender appears in the
room as an occupant of their own (nick = display name, JID
local%domain@gw.example.org), joined on their first message and gone when the
gateway stops; room lines still reach email members through the gateway's own
listening occupant.  Uses the fixtures of test_xmpp_bridge.py.
"""

from __future__ import annotations

import time

from test_xmpp_bridge import (  # noqa: F401  (fixtures)
    clients, gateway, groupchat_from, mail, message_row, new_room, query, stanza_id, token,
    wait_for)


def component(stack, tmp_path):
    return {"mode": "component", "component_domain": stack.COMPONENT_DOMAIN,
            "component_secret_file": str(tmp_path / "secrets" / "component.secret"),
            "port": stack.XMPP_COMPONENT_PORT, "jid": None, "password_file": None}


def muc_presences(client):
    """slixmpp's MUC plugin hands room presence to "groupchat_presence" only:
    record those too (XmppClient records plain "presence" events)."""
    client.run(lambda: client.xmpp.add_event_handler(
        "groupchat_presence", lambda p: client._record("presence", p)))
    return client


def presences_of(client, room, nick):
    return [p for p in client.presences if str(p["from"]) == f"{room}/{nick}"]


def item_jid(presence):
    return presence["muc"]["item"]["jid"]


def test_email_sender_speaks_as_an_occupant_of_their_own(stack, gateway, clients, tmp_path):
    room = new_room(stack)
    gw = gateway(room, xmpp=component(stack, tmp_path)).start_joined()
    assert f"connected to localhost:{stack.XMPP_COMPONENT_PORT} as component " \
           f"{stack.COMPONENT_DOMAIN}" in gw.log_text()
    bob = muc_presences(clients("bob"))
    bob.join_room(room, "bob")
    gateway_presence = wait_for("the listener's presence", lambda: presences_of(bob, room,
                                                                               "gateway"))
    assert str(item_jid(gateway_presence[0])) == f"gateway@{stack.COMPONENT_DOMAIN}/coopgate"

    tok = token()
    mail(stack, "alice", f"Plans {tok}", f"Let us meet {tok}.\n")
    msg = bob.wait_message(groupchat_from(room, "Alice Example", tok), timeout=30)
    # no "Name: " prefix: the occupant is the sender
    assert msg["body"] == f"[Plans {tok}]\nLet us meet {tok}."
    # bob saw Alice Example join, with her own JID on the component's domain
    joined = presences_of(bob, room, "Alice Example")
    assert joined and joined[0]["type"] != "unavailable"
    assert str(item_jid(joined[0])) == f"alice%example.org@{stack.COMPONENT_DOMAIN}/coopgate"
    # the row is done with the room's stanza-id
    sid = stanza_id(msg, by=room)
    wait_for("the row done", lambda: query(
        gw.data_dir, "SELECT far_id FROM outbox WHERE bridge = 'xmpp'") == [(sid,)])

    # a second mail from alice: the same occupant, no second join; a mail from
    # bob gets an occupant of its own
    tok2, tok3 = token(), token()
    mail(stack, "alice", f"More {tok2}", f"Again {tok2}.\n")
    bob.wait_message(groupchat_from(room, "Alice Example", tok2), timeout=30)
    mail(stack, "bob", f"Mine {tok3}", f"Bob by mail {tok3}.\n")
    bob.wait_message(groupchat_from(room, "Bob Example", tok3), timeout=30)
    assert len(presences_of(bob, room, "Alice Example")) == 1
    assert str(item_jid(presences_of(bob, room, "Bob Example")[0])) == \
        f"bob%example.org@{stack.COMPONENT_DOMAIN}/coopgate"

    # room -> email works as in client mode: the listener reads bob's line
    tok4 = token()
    bob.send_room(room, f"From the room {tok4}")
    row = wait_for("the stored room line", lambda: message_row(
        gw.data_dir, "network = 'xmpp' AND body LIKE ?", f"%{tok4}%"))
    assert row[4:6] == ("bob@example.org", "bob")
    stack.wait_for_mail("alice", lambda m: tok4 in m.get_body(
        preferencelist=("plain",)).get_content(), timeout=30)
    # the puppets' own lines were not taken for room lines
    assert [r[0] for r in query(gw.data_dir, "SELECT network FROM message ORDER BY id")] \
        == ["email", "email", "email", "xmpp"]

    # stopping: every occupant of the gateway leaves the room
    assert gw.stop() == 0
    for nick in ("Alice Example", "Bob Example", "gateway"):
        wait_for(f"{nick} leaving", lambda n=nick: [
            p for p in presences_of(bob, room, n) if p["type"] == "unavailable"])


def test_component_catches_up_and_skips_its_own_lines(stack, gateway, clients, tmp_path):
    room = new_room(stack)
    gw = gateway(room, xmpp=component(stack, tmp_path)).start_joined()
    gw.wait_log(f"{room}: archive read")
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    mail(stack, "alice", f"Before {tok}", f"said by mail {tok}\n")
    bob.wait_message(groupchat_from(room, "Alice Example", tok), timeout=30)
    assert gw.stop() == 0
    tok2 = token()
    bob.send_room(room, f"while the gateway is away {tok2}")
    bob.wait_message(lambda m: tok2 in m["body"] and str(m["from"]) == f"{room}/bob")
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive: 1 line(s) stored", start=mark,
                timeout=30)
    assert [r[0] for r in query(gw.data_dir, "SELECT body FROM message WHERE "
                                "network = 'xmpp'")] == [f"while the gateway is away {tok2}"]
    # a new mail from alice after the restart: her occupant joins again
    tok3 = token()
    mail(stack, "alice", f"After {tok3}", f"back again {tok3}\n")
    bob.wait_message(groupchat_from(room, "Alice Example", tok3), timeout=30)
    time.sleep(0.2)
    assert not [m for m in bob.messages if m["type"] == "error"]
