"""Hostile input on the XMPP side (issue 10), against the real Prosody,
Postfix and Dovecot of the stack:

- a room line that is a broken URL (`https://[x`, `https://[::1`) with
  xmpp.upload_service set once crashed the daemon, and again after every
  restart since the archive brought the line back: now it is an ordinary
  line, and the next real line still reaches email members, live and after
  a restart;
- a slot answer from anyone but the upload service is ignored: a client
  answering the gateway's slot request with its own PUT URL gets nothing,
  and the file goes where the real service says;
- `!who` shows a guest only name, organisation and layer, a member a little
  more, and `core` the whole card.

Uses the fixtures of test_xmpp_bridge.py.
"""

from __future__ import annotations

from test_xmpp_bridge import (  # noqa: F401  (fixtures)
    clients, gateway, new_room, query, token, wait_for)


def mail_text(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def stored(gw, needle):
    return query(gw.data_dir, "SELECT id FROM message WHERE body LIKE ?", f"%{needle}%")


def echoed(client, room, nick, needle):
    return client.wait_message(lambda m: m["type"] == "groupchat" and needle in m["body"]
                               and str(m["from"]) == f"{room}/{nick}")


BROKEN_URLS = ("https://[x", "https://[::1", "https://[::1]x/a.pdf", "https://x]:80/")


# ---------------------------------------------------------------- broken URLs

def test_a_broken_url_in_a_room_line_neither_crashes_nor_blocks_the_room(
        stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()  # upload_service is set
    gw.wait_log(f"{room}: archive read: starting after")
    bob = clients("bob")
    bob.join_room(room, "bob")
    for url in BROKEN_URLS:
        bob.send_room(room, url)
    tok = token()
    bob.send_room(room, f"after the broken links {tok}")
    wait_for("the next real line stored", lambda: stored(gw, tok), timeout=30)
    assert gw.proc.poll() is None, gw.log_text()
    stack.wait_for_mail("alice", lambda m: tok in mail_text(m), timeout=30)
    # the broken lines are plain text lines, not files
    assert query(gw.data_dir, "SELECT count(*) FROM attachment") == [(0,)]

    # said while the gateway is down, they come back from the archive
    assert gw.stop() == 0
    for url in BROKEN_URLS:
        bob.send_room(room, url)
    tok2 = token()
    bob.send_room(room, f"said while away {tok2}")
    echoed(bob, room, "bob", tok2)
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive", start=mark, timeout=30)
    wait_for("the line after them stored", lambda: stored(gw, tok2), timeout=30)
    stack.wait_for_mail("alice", lambda m: tok2 in mail_text(m), timeout=30)
    # and the daemon lives on: a restart more, a live line more
    assert gw.stop() == 0
    gw.start_joined()
    tok3 = token()
    bob.send_room(room, f"still here {tok3}")
    wait_for("a live line after the restarts", lambda: stored(gw, tok3), timeout=30)
    assert gw.proc.poll() is None


# ---------------------------------------------------------------- !who

CARLA = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Carla Core\r\n"
    "EMAIL:carla@coop.example\r\n"
    "IMPP:xmpp:carla@xmpp.example\r\n"
    "ORG:Coop eG\r\n"
    "CATEGORIES:board\r\n"
    "NOTE:{note}\r\n"
    "X-COOP-LAYER:core\r\n"
    "END:VCARD\r\n"
)


def who_answer(client, room, needle):
    client.send_room(room, f"!who {needle}")
    return client.wait_message(lambda m: m["type"] == "chat"
                               and str(m["from"]) == f"{room}/gateway"
                               and m["body"].startswith("Carla Core"))["body"]


def test_who_shows_each_layer_only_what_it_may_see(stack, gateway, clients, tmp_path):
    from coopgate import cli
    room = new_room(stack)
    gw = gateway(room)
    note = f"private note {token()}"
    vcf = tmp_path / "carla.vcf"
    vcf.write_text(CARLA.format(note=note))
    cli(gw.conf, "crm", "import", str(vcf), check=0)
    gw.start_joined()
    carol = clients("carol")  # no contact: a guest
    carol.join_room(room, "carol")
    bob = clients("bob")      # member
    bob.join_room(room, "bob")
    alice = clients("alice")  # core
    alice.join_room(room, "alice")
    secrets = ("carla@coop.example", "carla@xmpp.example", "board", note,
               "Email:", "JID:", "Note:", "Tags:", "Nominations:", "Bounces:")

    guest = who_answer(carol, room, "carla@coop.example")
    assert guest == "Carla Core: Coop eG; layer core", guest
    member = who_answer(bob, room, "carla@coop.example")
    assert member.startswith("Carla Core: Coop eG; layer core since "), member
    assert "Messages (30 days): 0" in member and "Last seen: never" in member
    for s in secrets:
        assert s not in guest and s not in member, (s, guest, member)
    core = who_answer(alice, room, "carla@coop.example")
    for s in secrets:
        assert s in core, (s, core)
    # and !help says so
    carol.send_room(room, "!help")
    helptext = carol.wait_message(lambda m: m["type"] == "chat"
                                  and "!who NAME|ADDRESS" in m["body"])["body"]
    assert "core members the whole card" in helptext, helptext
