"""The XMPP bridge (client mode) against the real Prosody of the stack: the
gateway joins the channel's room (creating and configuring it when new), mail
to the list appears in the room as "Name: text" with the thread's subject
first, room lines become stored messages that reach email members, XEP-0461
replies keep threads, `!` commands are answered privately, a Prosody restart is
survived, and TLS is verified (an untrusted CA or a certificate for another
name is refused, with the reason in the log and in `coopgate status`).

Each test runs its own coopgate (fresh data dir) with its own new room.  All
list mail lands in the one gateway mailbox, so each test empties it first.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import ssl
import threading
import time
from contextlib import contextmanager

import pytest

from coopgate import Daemon, cli, empty_gateway_mailbox, query, token, wait_for
from helpers import make_message, stanza_id, write_coopgate_config, write_secret

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


# ---------------------------------------------------------------- helpers


class Gateway(Daemon):
    """A coopgate in tmp_path whose one channel "dev" has the room `room`."""

    def __init__(self, stack, tmp_path, room, **overrides):
        self.stack = stack
        self.room = room
        self.data_dir = tmp_path / "data"
        overrides.setdefault("channels", [{
            "name": "dev", "address": f"dev@{stack.LIST_DOMAIN}", "room": room,
            "description": "Development", "post_layer": "member",
            "crm_context": "footer", "chat_batch": 1}])
        conf = write_coopgate_config(stack, tmp_path, **overrides)
        super().__init__(conf, tmp_path / "coopgate.log")
        cli(conf, "init", check=0)

    def start_joined(self, nick="gateway"):
        self.start()
        self.wait_log(f"joined {self.room} as {nick}", timeout=20)
        return self

    def status(self) -> str:
        return cli(self.conf, "status", check=0).stdout


@pytest.fixture
def gateway(stack, tmp_path):
    """Factory: Gateway(stack, tmp_path, room, **overrides) with an empty gateway
    mailbox; afterwards: stopped, and its log free of sanitizer reports and of
    the XMPP password (plain or as the SASL PLAIN blob)."""
    made = []

    def make(room, **overrides):
        empty_gateway_mailbox(stack)
        gw = Gateway(stack, tmp_path, room, **overrides)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        if gw.proc and gw.proc.poll() is None:
            assert gw.stop() == 0, gw.log_text()
        log = gw.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in log, log
        secret = stack.GATEWAY_XMPP_PASSWORD
        sasl = base64.b64encode(f"\0gateway\0{secret}".encode()).decode()
        assert secret not in log and sasl not in log
    if made:
        empty_gateway_mailbox(stack)


@pytest.fixture
def clients(stack):
    """Factory for slixmpp clients, closed at the end."""
    made = []

    def make(user, **kw):
        c = stack.xmpp_client(user, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def new_room(stack) -> str:
    return f"r{token()}@{stack.MUC_DOMAIN}"


def groupchat_from(room, nick, needle):
    return lambda m: (m["type"] == "groupchat" and str(m["from"]) == f"{room}/{nick}"
                      and needle in m["body"])


def mail(stack, frm, subject, body, **headers):
    msg = make_message(stack.address(frm), f"dev@{stack.LIST_DOMAIN}", subject, body,
                       **headers)
    assert stack.send_mail(stack.address(frm), f"dev@{stack.LIST_DOMAIN}", msg, user=frm) == {}
    return msg["Message-ID"].strip("<>")


def message_row(data_dir, where, *args):
    rows = query(data_dir, "SELECT id, thread_id, parent_id, network, sender_addr, "
                 f"sender_name, body FROM message WHERE {where}", *args)
    return rows[0] if rows else None


# ---------------------------------------------------------------- joining

def test_gateway_creates_and_joins_a_new_room(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    gw.wait_log(f"room {room} created and configured")
    bob = clients("bob")
    bob.join_room(room, "bob")
    wait_for("the gateway's presence", lambda: any(
        str(p["from"]) == f"{room}/gateway" for p in bob.presences))
    # configured by the gateway: persistent (survives a restart of Prosody),
    # public, and real JIDs visible to every occupant (whois anyone)
    info = bob.run(lambda: bob.xmpp.plugin["xep_0030"].get_info(jid=room, timeout=10))
    features = set(info["disco_info"]["features"])
    assert {"muc_persistent", "muc_public", "muc_nonanonymous"} <= features, features
    assert "connected to localhost" in gw.log_text()
    assert "TLS verified" in gw.log_text()


def test_nick_conflict_joins_with_a_suffix(stack, gateway, clients):
    room = new_room(stack)
    carol = clients("carol")
    carol.join_room(room, "gateway")  # takes the gateway's nick first
    gw = gateway(room).start_joined(nick="gateway-2")
    tok = token()
    mail(stack, "alice", f"conflict {tok}", f"hello {tok}\n")
    carol.wait_message(groupchat_from(room, "gateway-2", f"Alice Example: hello {tok}"),
                       timeout=30)
    # our own echo under the suffixed nick completes the row and is not relayed
    wait_for("the row done", lambda: query(
        gw.data_dir, "SELECT 1 FROM outbox WHERE bridge='xmpp' AND state='done'"))
    assert len(query(gw.data_dir, "SELECT id FROM message")) == 1


# ---------------------------------------------------------------- email -> room

def test_email_reaches_room_with_subject_thread_and_stanza_id(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    mail(stack, "alice", f"Plans {tok}", f"Let us meet on Friday {tok}.\n")
    msg = bob.wait_message(groupchat_from(room, "gateway", tok), timeout=30)
    assert msg["body"] == f"[Plans {tok}]\nAlice Example: Let us meet on Friday {tok}."
    sid = stanza_id(msg, by=room)
    assert sid, msg
    mid, thread_id, *_ = wait_for("the stored email", lambda: message_row(
        gw.data_dir, "network = 'email' AND body LIKE ?", f"%{tok}%"))
    (thread_token,), = query(gw.data_dir, "SELECT token FROM thread WHERE id = ?", thread_id)
    assert msg["thread"] == thread_token
    assert msg["origin_id"]["id"].startswith("cg-")
    # the room's stanza-id is stored, and is the row's far id
    wait_for("the stanza-id stored", lambda: query(
        gw.data_dir, "SELECT 1 FROM extid WHERE network = 'xmpp' AND ext_id = ? "
        "AND message_id = ?", sid, mid))
    assert query(gw.data_dir, "SELECT state, far_id FROM outbox WHERE bridge = 'xmpp' "
                 "AND message_id = ?", mid) == [("done", sid)]
    # a second mail in the same thread carries no subject line, same <thread>
    tok2 = token()
    mail(stack, "alice", f"Re: Plans {tok}", f"Or Saturday {tok2}.\n",
         In_Reply_To=f"<{query(gw.data_dir, 'SELECT message_id FROM message WHERE id = ?', mid)[0][0]}>")
    msg2 = bob.wait_message(groupchat_from(room, "gateway", tok2), timeout=30)
    assert msg2["body"] == (f"> Alice Example: Let us meet on Friday {tok}.\n"
                            f"Alice Example: Or Saturday {tok2}.")
    assert msg2["thread"] == thread_token
    # the mail was answered in the room as a XEP-0461 reply to the first line
    assert msg2["reply"]["id"] == sid
    assert msg2["reply"]["to"] == f"{room}/gateway"


def test_a_reply_of_quotes_only_reaches_email_members_but_not_the_room(
        stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    root = mail(stack, "alice", f"Minutes {tok}", f"Who takes the minutes {tok}?\n")
    bob.wait_message(groupchat_from(room, "gateway", tok), timeout=30)
    # alice answers by mail but writes nothing of her own: an attribution
    # and the quote, as a phone client sends it by mistake
    tok2 = token()
    quotes = mail(stack, "alice", f"Re: Minutes {tok}",
                  "On Mon, 2 Nov 2026 at 10:00, Alice Example "
                  f"<{stack.address('alice')}> wrote:\n"
                  f"> Who takes the minutes {tok}?\n> ({tok2})\n",
                  In_Reply_To=f"<{root}>")
    # bob, an email member, gets the mail unchanged ...
    got = stack.wait_for_mail("bob", lambda m: tok2 in m.get_body(
        preferencelist=("plain",)).get_content(), timeout=30)
    assert f"> Who takes the minutes {tok}?" in got.get_body(
        preferencelist=("plain",)).get_content()
    # ... it is stored whole, and no row waits for the room
    mid, *_ = wait_for("the stored quotes", lambda: message_row(
        gw.data_dir, "message_id = ?", quotes))
    (body,), = query(gw.data_dir, "SELECT body FROM message WHERE id = ?", mid)
    assert tok2 in body
    assert query(gw.data_dir, "SELECT count(*) FROM outbox WHERE message_id = ? "
                 "AND bridge = 'xmpp'", mid) == [(0,)]
    # the next real mail reaches the room, and nothing came in between
    tok3 = token()
    mail(stack, "alice", f"Re: Minutes {tok}", f"I take them {tok3}.\n",
         In_Reply_To=f"<{root}>")
    msg = bob.wait_message(groupchat_from(room, "gateway", tok3), timeout=30)
    assert msg["body"].endswith(f"Alice Example: I take them {tok3}.")
    from_gateway = [m["body"] for m in bob.messages if m["type"] == "groupchat"
                    and str(m["from"]) == f"{room}/gateway"]
    assert len(from_gateway) == 2, from_gateway
    assert not any(tok2 in b for b in from_gateway), from_gateway


# ---------------------------------------------------------------- room -> email

def test_room_line_is_stored_and_mailed_to_members(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    bob.send_room(room, f"Hello from the room {tok}")
    row = wait_for("the stored room line", lambda: message_row(
        gw.data_dir, "network = 'xmpp' AND body LIKE ?", f"%{tok}%"))
    _, _, _, _, sender, name, body = row
    assert (sender, name, body) == ("bob@example.org", "bob", f"Hello from the room {tok}")
    # stored under the room's stanza-id and bob's origin-id
    assert query(gw.data_dir, "SELECT count(*) FROM extid WHERE message_id = ? AND "
                 "network IN ('xmpp', 'xmpp-origin')", row[0]) == [(2,)]
    # chat_batch = 1: alice (a member, delivery each) gets it by mail; bob
    # (the sender) does not get his own line back
    got = stack.wait_for_mail("alice", lambda m: tok in m.get_body(
        preferencelist=("plain",)).get_content(), timeout=30)
    assert got is not None
    assert query(gw.data_dir, "SELECT destination FROM outbox WHERE message_id = ?",
                 row[0]) == [("alice@example.org",)]


def test_room_reply_lands_in_the_email_thread(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    mail(stack, "alice", f"Budget {tok}", f"The budget is ready {tok}.\n")
    msg = bob.wait_message(groupchat_from(room, "gateway", tok), timeout=30)
    sid = stanza_id(msg, by=room)
    quote = f"> Alice Example: The budget is ready {tok}.\n"
    reply_text = f"Thanks, looks good {tok}"

    def send_reply():
        m = bob.xmpp.make_message(mto=room, mbody=quote + reply_text, mtype="groupchat")
        m["id"] = bob.xmpp.new_id()
        m["origin_id"]["id"] = m["id"]
        m["reply"]["id"] = sid
        m["reply"]["to"] = f"{room}/gateway"
        fb = m["feature_fallback"]
        fb["for"] = "urn:xmpp:reply:0"
        fb["fallback_body"]["start"] = "0"
        fb["fallback_body"]["end"] = str(len(quote))
        m.send()
    bob.run(send_reply)
    parent = wait_for("the stored mail", lambda: message_row(
        gw.data_dir, "network = 'email' AND body LIKE ?", f"%{tok}%"))
    child = wait_for("the stored reply", lambda: message_row(
        gw.data_dir, "network = 'xmpp' AND body LIKE ?", f"%{reply_text}%"))
    assert child[1] == parent[1], "the reply must join the mail's thread"
    assert child[2] == parent[0], "the reply's parent is the mail"
    assert child[6] == reply_text, "the fallback quote is stripped"


def test_email_reply_to_a_room_line_is_a_xep0461_reply(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    bob.send_room(room, f"Who brings the cake {tok}?")
    line = wait_for("the stored room line", lambda: message_row(
        gw.data_dir, "network = 'xmpp' AND body LIKE ?", f"%{tok}%"))
    echo = bob.wait_message(lambda m: m["type"] == "groupchat" and tok in m["body"]
                            and str(m["from"]) == f"{room}/bob")
    line_sid = stanza_id(echo, by=room)
    (line_msgid,), = query(gw.data_dir, "SELECT message_id FROM message WHERE id = ?", line[0])
    tok2 = token()
    mail(stack, "alice", "Re: cake", f"I do {tok2}.\n", In_Reply_To=f"<{line_msgid}>")
    msg = bob.wait_message(groupchat_from(room, "gateway", tok2), timeout=30)
    assert msg["reply"]["id"] == line_sid
    assert msg["reply"]["to"] == f"{room}/bob"
    quote = f"> bob: Who brings the cake {tok}?\n"
    assert msg["body"] == quote + f"Alice Example: I do {tok2}."
    fb = msg.xml.find("{urn:xmpp:fallback:0}fallback")
    assert fb is not None and fb.get("for") == "urn:xmpp:reply:0"
    body = fb.find("{urn:xmpp:fallback:0}body")
    assert (body.get("start"), body.get("end")) == ("0", str(len(quote)))


# ---------------------------------------------------------------- commands

def test_who_command_answers_privately_and_is_not_relayed(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    carol = clients("carol")
    carol.join_room(room, "carol")
    bob.send_room(room, "!who alice@example.org")
    answer = bob.wait_message(lambda m: m["type"] == "chat"
                              and str(m["from"]) == f"{room}/gateway")
    assert "Alice Example" in answer["body"]
    assert "Example eG" in answer["body"]
    assert "layer core since" in answer["body"]
    # bob is a member: channels and activity, not the whole card (issue 10;
    # what each layer sees: test_xmpp_hostile.py)
    card = answer["body"].splitlines()
    for field in ("Messages (30 days): ", "Last seen: "):
        assert any(line.startswith(field) for line in card), (field, card)
    assert "channels dev" in card[0] and "alice@example.org" not in answer["body"]
    bob.send_room(room, "!who Bob")  # by (part of) a name
    bob.wait_message(lambda m: m["type"] == "chat" and "Bob Example: no organisation"
                     in m["body"])
    bob.send_room(room, "!frobnicate")
    bob.wait_message(lambda m: m["type"] == "chat" and "Unknown command !frobnicate"
                     in m["body"])
    bob.send_room(room, "!help")
    bob.wait_message(lambda m: m["type"] == "chat" and "!who NAME|ADDRESS" in m["body"])
    tok = token()
    bob.send_room(room, f"an ordinary line {tok}")
    wait_for("the ordinary line", lambda: message_row(
        gw.data_dir, "body LIKE ?", f"%{tok}%"))
    # nothing of the commands was stored or said in the room
    assert [r[0] for r in query(gw.data_dir, "SELECT body FROM message")] == [
        f"an ordinary line {tok}"]
    assert not [m for m in carol.messages if str(m["from"]) == f"{room}/gateway"]


# ---------------------------------------------------------------- resilience

def test_prosody_restart_is_survived(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    mark = len(gw.log_text())
    stack.restart_prosody()
    gw.wait_log("connection to localhost lost", start=mark, timeout=20)
    gw.wait_log(f"joined {room} as gateway", start=mark, timeout=40)
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    mail(stack, "alice", f"After the restart {tok}", f"Still here {tok}\n")
    bob.wait_message(groupchat_from(room, "gateway", f"Alice Example: Still here {tok}"),
                     timeout=30)
    assert "xmpp: connected since" in gw.status()


def test_untrusted_certificate_is_refused(stack, gateway):
    room = new_room(stack)
    gw = gateway(room, xmpp={"ca_file": stack.BAD_CA_FILE}).start()
    gw.wait_log("certificate refused", timeout=20)
    log = gw.log_text()
    line = next(x for x in log.splitlines() if "certificate refused" in x)
    assert "self-signed certificate in certificate chain" in line
    assert stack.BAD_CA_FILE in line
    assert "xmpp: connected to" not in log
    status = gw.status()
    assert "xmpp: disconnected" in status
    assert "last error: TLS: server certificate refused" in status


def private_dirty_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1])
    raise AssertionError("no Private_Dirty in smaps_rollup")


def test_system_trust_is_the_hashed_directory_not_the_bundle(stack, gateway, tmp_path,
                                                              monkeypatch):
    """Without xmpp.ca_file the server is checked against the system's hashed
    CA directory (SSL_CERT_DIR), looked up one certificate at a time; the CA
    bundle file is not parsed into the daemon's heap (~0.7 MB per connection
    for Debian's bundle).  Shown by memory: the daemon's private memory with
    SSL_CERT_FILE naming a large bundle is that without any bundle."""
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(stack.CA_FILE, certs / "coopgate-test-ca.pem")
    subprocess.run(["openssl", "rehash", str(certs)], check=True, capture_output=True)
    bundle = tmp_path / "bundle.pem"
    # Debian's bundle plus the test CA: every certificate the daemon could
    # parse from it is distinct.
    bundle.write_bytes(open("/etc/ssl/certs/ca-certificates.crt", "rb").read()
                       + open(stack.CA_FILE, "rb").read())
    monkeypatch.setenv("SSL_CERT_DIR", str(certs))
    room = new_room(stack)
    gw = gateway(room, imap=None, smtp=None, xmpp={"ca_file": None})
    dirty = {}
    for label, cert_file in (("bundle", str(bundle)), ("none", "/nonexistent/bundle.pem")):
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)
        mark = len(gw.log_text())
        gw.start()
        gw.wait_log(f"joined {room} as gateway", timeout=20, start=mark)
        time.sleep(1)
        dirty[label] = private_dirty_kb(gw.proc.pid)
        assert gw.stop() == 0, gw.log_text()
    assert "certificate refused" not in gw.log_text()
    assert dirty["bundle"] - dirty["none"] < 300, dirty


def test_stop_during_the_xmpp_handshake_is_clean(stack, gateway):
    """SIGTERM while the XMPP connection is still being set up (TLS, SASL):
    the daemon finishes or drops the handshake within a second and exits 0.
    libstrophe leaks its SCRAM state when a connection is released mid-SASL,
    which the sanitizer build (make check SAN=1) turns into exit code 1."""
    room = new_room(stack)
    gw = gateway(room)
    for delay in [i / 100 for i in range(0, 40, 2)]:
        mark = len(gw.log_text())
        gw.start(ready=None)
        gw.wait_log("xmpp: connecting to", timeout=20, start=mark)
        time.sleep(delay)
        t0 = time.monotonic()
        assert gw.stop() == 0, gw.log_text()[mark:]
        assert time.monotonic() - t0 < 5
        assert "stopped" in gw.log_text()[mark:]


def test_wrong_password_is_reported_and_retried(stack, gateway, tmp_path):
    room = new_room(stack)
    gw = gateway(room)
    write_secret(tmp_path / "secrets" / "xmpp.pass", "not-the-password")
    gw.start()
    gw.wait_log("authentication as gateway@example.org failed", timeout=20)
    gw.wait_log("xmpp: reconnecting in", timeout=10)
    assert "last error: authentication as gateway@example.org failed" in gw.status()
    assert "not-the-password" not in gw.log_text()


class FakeXmppServer:
    """Offers STARTTLS with the stack's (valid, trusted) certificate, which does
    not name the domain the client asks for; records whether the TLS handshake
    completed.  A client that checks host names must hang up."""

    def __init__(self, stack):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(stack.SERVER_CERT, stack.SERVER_KEY)
        self.handshakes = 0
        self.attempts = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.attempts += 1
            try:
                self.one(conn)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    @staticmethod
    def read_until(conn, needle):
        data = b""
        while needle not in data:
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def one(self, conn):
        conn.settimeout(10)
        self.read_until(conn, b"<stream:stream")
        conn.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                     b"xmlns:stream='http://etherx.jabber.org/streams' id='x1' "
                     b"from='wrong.example.net' version='1.0'><stream:features>"
                     b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
                     b"</starttls></stream:features>")
        self.read_until(conn, b"starttls")
        conn.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        tls = self.ctx.wrap_socket(conn, server_side=True)
        self.handshakes += 1
        tls.recv(1)

    def close(self):
        self.sock.close()


def test_certificate_for_another_name_is_refused(stack, gateway):
    fake = FakeXmppServer(stack)
    try:
        room = new_room(stack)
        gw = gateway(room, xmpp={"jid": "gateway@wrong.example.net", "host": "127.0.0.1",
                                 "port": fake.port}).start()
        gw.wait_log("certificate refused", timeout=20)
        line = next(x for x in gw.log_text().splitlines() if "certificate refused" in x)
        assert "hostname mismatch" in line
        assert fake.attempts >= 1 and fake.handshakes == 0
        assert "last error: TLS: server certificate refused (hostname mismatch" in gw.status()
    finally:
        fake.close()


# ---------------------------------------------------------------- nominations

def test_nominate_in_the_room_promotes_a_guest_and_releases_the_held_post(
        stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    cli(gw.conf, "member", "add", "dave@example.org", "--layer", "guest", check=0)
    alice = clients("alice")
    alice.join_room(room, "alice")
    bob = clients("bob")
    bob.join_room(room, "bob")

    # a guest's post to the member-only channel is held: nobody gets it
    tok = token()
    msgid = mail(stack, "dave", f"May I join {tok}", f"Hello, I am Dave {tok}.\n")
    wait_for("the held post", lambda: query(
        gw.data_dir, "SELECT 1 FROM held_post h JOIN message m ON m.id = h.message_id "
        "WHERE m.message_id = ? AND h.state = 'held'", msgid))
    assert query(gw.data_dir, "SELECT count(*) FROM outbox o JOIN message m "
                 "ON m.id = o.message_id WHERE m.message_id = ?", msgid) == [(0,)]

    def mailed(user):
        return [m for m in stack.maildir_messages(user)
                if str(m.get("Message-ID", "")).strip("<>") == msgid]

    # the first nomination (bob, a member, known by his real JID) counts
    bob.send_room(room, "!nominate dave@example.org")
    first = bob.wait_message(lambda m: m["type"] == "chat"
                             and str(m["from"]) == f"{room}/gateway"
                             and "!nominate" in m["body"])
    assert "(1 of 2 nominations)" in first["body"], first["body"]
    assert "Layer: guest" in cli(gw.conf, "member", "show", "dave@example.org",
                                 check=0).stdout
    assert mailed("alice") == [] and mailed("bob") == []

    # the second (alice, core) promotes dave and releases his post
    alice.send_room(room, "!nominate dave@example.org")
    second = alice.wait_message(lambda m: m["type"] == "chat"
                                and str(m["from"]) == f"{room}/gateway"
                                and "!nominate" in m["body"])
    assert "is now a member" in second["body"], second["body"]
    assert "1 held message released" in second["body"], second["body"]
    show = cli(gw.conf, "member", "show", "dave@example.org", check=0).stdout
    assert "Layer: member" in show, show
    # the held post now reaches the list members by mail and the room
    wait_for("alice's copy", lambda: mailed("alice"), timeout=30)
    wait_for("bob's copy", lambda: mailed("bob"), timeout=30)
    bob.wait_message(groupchat_from(room, "gateway", f"Hello, I am Dave {tok}."), timeout=30)
    # the nominations were answered privately, never into the room
    assert not [m for m in bob.messages + alice.messages
                if m["type"] == "groupchat" and "!nominate" in m["body"]
                and str(m["from"]) == f"{room}/gateway"]
    assert query(gw.data_dir, "SELECT count(*) FROM message WHERE body LIKE '%!nominate%'") \
        == [(0,)]
