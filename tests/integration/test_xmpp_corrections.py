"""Message corrections (XEP-0308) against the real Prosody of the stack: a
correction by the line's own author updates the stored line; when its mail
has not gone out yet, members get only the corrected text; when it has, they
get the correction as a new mail marked "(corrected)".  A correction claiming
someone else's line is ignored.  Uses the fixtures of test_xmpp_bridge.py.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from test_xmpp_bridge import (  # noqa: F401  (fixtures)
    clients, gateway, message_row, new_room, query, token, wait_for)


def mail_text(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def channel(stack, room, chat_batch):
    return [{"name": "dev", "address": f"dev@{stack.LIST_DOMAIN}", "room": room,
             "post_layer": "member", "crm_context": "none", "chat_batch": chat_batch}]


def send_correction(client, room, replace_id, body) -> str:
    """A groupchat line that replaces the line whose id is replace_id."""
    def send():
        m = client.xmpp.make_message(mto=room, mbody=body, mtype="groupchat")
        m["id"] = client.xmpp.new_id()
        m["origin_id"]["id"] = m["id"]
        m.xml.append(ET.fromstring(
            f"<replace xmlns='urn:xmpp:message-correct:0' id='{replace_id}'/>"))
        m.send()
        return m["id"]
    return client.run(send)


def xmpp_rows(data_dir):
    return query(data_dir, "SELECT id, thread_id, parent_id, body, trimmed FROM message "
                 "WHERE network = 'xmpp' ORDER BY id")


def test_correction_before_the_mail_goes_out_replaces_the_text(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room, channels=channel(stack, room, 3)).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    typo, fixed = token(), token()
    line_id = bob.send_room(room, f"teh plan {typo}")
    (mid, *_), = wait_for("the stored line", lambda: xmpp_rows(gw.data_dir))
    send_correction(bob, room, line_id, f"the plan {fixed}")
    gw.wait_log(f"bob corrected message {mid}: stored text updated")
    assert xmpp_rows(gw.data_dir) == [(mid, 1, None, f"the plan {fixed}",
                                       f"the plan {fixed}")]
    # the pending mail (chat_batch = 3 s) carries only the corrected text
    got = stack.wait_for_mail("alice", lambda m: fixed in mail_text(m), timeout=30)
    assert typo not in mail_text(got)
    wait_for("the row done", lambda: query(
        gw.data_dir, "SELECT state FROM outbox WHERE message_id = ?", mid) == [("done",)])
    assert not [m for m in stack.fetch_mail("alice") if typo in mail_text(m)]
    # the correction's ids lead to the line (a second correction finds it)
    assert query(gw.data_dir, "SELECT count(*) FROM extid WHERE message_id = ? AND "
                 "network = 'xmpp'", mid) == [(2,)]


def test_correction_after_the_mail_went_out_is_mailed_as_corrected(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room, channels=channel(stack, room, 1)).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    typo, fixed = token(), token()
    line_id = bob.send_room(room, f"meeting at 5 {typo}")
    stack.wait_for_mail("alice", lambda m: typo in mail_text(m), timeout=30)
    (mid, thread, *_), = xmpp_rows(gw.data_dir)
    wait_for("the row done", lambda: query(
        gw.data_dir, "SELECT state FROM outbox WHERE message_id = ?", mid) == [("done",)])
    send_correction(bob, room, line_id, f"meeting at 6 {fixed}")
    gw.wait_log(f"bob corrected message {mid} after its mail went out")
    rows = xmpp_rows(gw.data_dir)
    assert len(rows) == 2
    # the stored line has the new text; the correction is a reply in its thread
    assert rows[0][3] == f"meeting at 6 {fixed}"
    cid, cthread, cparent, cbody, ctrimmed = rows[1]
    assert (cthread, cparent) == (thread, mid)
    assert ctrimmed == f"(corrected) meeting at 6 {fixed}"
    got = stack.wait_for_mail("alice", lambda m: fixed in mail_text(m), timeout=30)
    assert f"(corrected) meeting at 6 {fixed}" in mail_text(got)


def test_correction_of_someone_elses_line_is_ignored(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room, channels=channel(stack, room, 1)).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    carol = clients("carol")
    carol.join_room(room, "carol")
    tok, forged = token(), token()
    line_id = bob.send_room(room, f"I pay the bill {tok}")
    (mid, *_), = wait_for("the stored line", lambda: xmpp_rows(gw.data_dir))
    send_correction(carol, room, line_id, f"carol pays the bill {forged}")
    gw.wait_log(f"ignoring a correction by carol (carol@example.org) of message {mid}, "
                f"which bob@example.org wrote")
    time.sleep(0.3)
    assert [r[3] for r in xmpp_rows(gw.data_dir)] == [f"I pay the bill {tok}"]
    # nor may bob correct a line the gateway said for an email sender
    mail_tok = token()
    from test_xmpp_bridge import groupchat_from, mail
    mail(stack, "alice", f"Note {mail_tok}", f"alice writes {mail_tok}\n")
    said = bob.wait_message(groupchat_from(room, "gateway", mail_tok), timeout=30)
    (email_mid,), = wait_for("the stored mail", lambda: query(
        gw.data_dir, "SELECT id FROM message WHERE network = 'email'"))
    wait_for("its echo stored", lambda: query(
        gw.data_dir, "SELECT 1 FROM extid WHERE network = 'xmpp-origin' AND message_id = ?",
        email_mid))
    send_correction(bob, room, said["id"], f"bob rewrites alice {forged}")
    gw.wait_log(f"ignoring a correction by bob (bob@example.org) of message {email_mid}")
    assert not query(gw.data_dir, "SELECT id FROM message WHERE body LIKE ?", f"%{forged}%")
