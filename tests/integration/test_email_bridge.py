"""The email bridge against real Dovecot and Postfix: mail to a list address
reaches the channel's members as list mail, exactly once, with threads intact,
over verified TLS, surviving a SIGKILL and a Dovecot restart.

Each test runs its own coopgate (fresh data dir) against the session's stack.
All list mail lands in the one gateway mailbox, so each test empties it first:
a new store has no UID watermark and would otherwise relay earlier tests' mail.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from coopgate import Daemon, cli, db, empty_gateway_mailbox, token
from helpers import make_message, write_coopgate_config

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "mail"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def list_addr(stack) -> str:
    return f"dev@{stack.LIST_DOMAIN}"


# ---------------------------------------------------------------- helpers


def gateway_flags(stack, msgid: str, mailbox: str = "INBOX") -> list:
    """FLAGS of each message with this Message-ID in the gateway's mailbox."""
    client = stack.imap_login("gateway")
    try:
        typ, _ = client.select(mailbox, readonly=True)
        if typ != "OK":
            return []
        typ, data = client.uid("SEARCH", None, "HEADER", "Message-ID", msgid)
        out = []
        for uid in data[0].split():
            typ, parts = client.uid("FETCH", uid, "(FLAGS)")
            out.append(parts[0].decode())
        return out
    finally:
        client.logout()


def wait_gateway_has(stack, msgid: str, n: int = 1, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(gateway_flags(stack, msgid)) < n:
        assert time.monotonic() < deadline, f"{msgid} never reached the gateway mailbox"
        time.sleep(0.1)


def copies(stack, user: str, msgid: str) -> list:
    """The user's messages (read from the maildir) with this Message-ID."""
    return [m for m in stack.maildir_messages(user) if m["Message-ID"] == msgid]


def wait_copies(stack, user: str, msgid: str, timeout: float = 20) -> email.message.Message:
    deadline = time.monotonic() + timeout
    while True:
        found = copies(stack, user, msgid)
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{user} never got {msgid}"
        time.sleep(0.1)


def outbox_states(data_dir) -> dict:
    con = db(data_dir)
    try:
        return dict(con.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    finally:
        con.close()


def wait_outbox_done(gw, timeout: float = 30) -> None:
    """Every email outbox row answered (done or dead), none pending."""
    deadline = time.monotonic() + timeout
    while True:
        states = outbox_states(gw.data_dir)
        if states.get("pending", 0) == 0:
            return
        assert time.monotonic() < deadline, f"outbox still {states}\n{gw.log_text()}"
        time.sleep(0.1)


def settle(gw) -> None:
    """Every row handed to Postfix, and time for Postfix to hand it on: a copy
    sent twice (or to the wrong person) would be in the maildirs by now."""
    wait_outbox_done(gw)
    time.sleep(1.0)


def count_in_log(gw, needle: str, start: int = 0) -> int:
    return gw.log_text()[start:].count(needle)


def raw_mail(path: Path, msgid: str) -> bytes:
    """A fixture mail with a fresh Message-ID (the session's mailboxes are shared)."""
    data = path.read_bytes()
    return re.sub(rb"(?im)^Message-ID:.*$", f"Message-ID: <{msgid}>".encode(), data, count=1)


def send(stack, frm_user: str, msg, to=None) -> None:
    refused = stack.send_mail(stack.address(frm_user), to or list_addr(stack), msg,
                              user=frm_user)
    assert refused == {}


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Gateway(Daemon):
    """A coopgate in tmp_path with the stack's mail servers and no XMPP."""

    def __init__(self, stack, tmp_path, **overrides):
        self.stack = stack
        self.tmp = tmp_path
        self.data_dir = tmp_path / "data"
        self.overrides = overrides
        conf = self.configure(**overrides)
        super().__init__(conf, tmp_path / "coopgate.log")
        cli(conf, "init", check=0)

    def configure(self, **overrides):
        merged = dict(xmpp=None)
        merged.update(self.overrides)
        merged.update(overrides)
        return write_coopgate_config(self.stack, self.tmp, **merged)

    def member(self, user: str, *args: str) -> None:
        cli(self.conf, "member", "add", self.stack.address(user), "--channel", "dev", *args,
            check=0)

    def status(self) -> str:
        return cli(self.conf, "status", check=0).stdout


@pytest.fixture
def gateway(stack, tmp_path):
    """Factory: a configured, initialised coopgate (carol a member, dave a member
    with delivery none); empties the gateway mailbox; checks the log for
    sanitizer reports when the test ends."""
    made = []

    def make(**overrides):
        empty_gateway_mailbox(stack)
        gw = Gateway(stack, tmp_path, **overrides)
        gw.member("carol", "--name", "Carol Example", "--layer", "member")
        gw.member("dave", "--name", "Dave Example", "--layer", "member", "--delivery", "none")
        made.append(gw)
        return gw

    yield make
    for gw in made:
        if gw.proc and gw.proc.poll() is None:
            gw.stop()
        log = gw.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in log, log
        assert stack.GATEWAY_MAIL_PASSWORD not in log
    if made:  # leave no list mail behind for other tests' gateways
        empty_gateway_mailbox(stack)


# ---------------------------------------------------------------- tests

def test_list_mail_reaches_members_with_list_headers(stack, gateway):
    gw = gateway().start()
    gw.wait_log("connected as gateway")
    subject = f"Hello list {token()}"
    msg = make_message('"Alice Example" <alice@example.org>', list_addr(stack), subject,
                       "Hello everyone,\n\nthe meeting is on Tuesday.\n")
    msgid = msg["Message-ID"]
    send(stack, "alice", msg)

    for user in ("bob", "carol"):
        got = wait_copies(stack, user, msgid)
        assert email.utils.parseaddr(str(got["From"])) == ("Alice Example via dev",
                                                           list_addr(stack))
        assert email.utils.parseaddr(str(got["Reply-To"]))[1] == list_addr(stack)
        assert "alice@example.org" in str(got["X-Original-From"])
        assert str(got["List-Id"]) == "<dev.lists.example.org>"
        assert str(got["List-Post"]) == "<mailto:dev@lists.example.org>"
        assert "<mailto:dev+unsubscribe@lists.example.org>" in str(got["List-Unsubscribe"])
        assert str(got["Precedence"]) == "list"
        assert str(got["Subject"]) == subject
        assert got["Message-ID"] == msgid
        # VERP: the envelope sender names the recipient
        assert str(got["Return-Path"]) == f"<dev+bounce-{user}=example.org@lists.example.org>"
        assert "the meeting is on Tuesday." in got.get_content()

    settle(gw)
    assert outbox_states(gw.data_dir) == {"done": 2}
    assert copies(stack, "alice", msgid) == []      # the sender
    assert copies(stack, "dave", msgid) == []       # delivery none
    # marked processed on the server only after it was stored
    flags = gateway_flags(stack, msgid)
    assert len(flags) == 1 and "\\Seen" in flags[0], flags
    # the gateway logged in to Dovecot over TLS, and to Postfix with AUTH
    assert stack.imap_logins("gateway")[-1]["tls"] is True
    assert re.search(r"sasl_username=gateway", Path(stack.POSTFIX_MAILLOG).read_text())


def test_implicit_tls_imaps_and_smtps(stack, gateway):
    gw = gateway(imap={"port": stack.IMAPS_PORT, "tls": "implicit"},
                 smtp={"port": stack.SMTPS_PORT, "tls": "implicit"}).start()
    gw.wait_log(f"imap localhost:{stack.IMAPS_PORT}: connected as gateway")
    msg = make_message("alice@example.org", list_addr(stack), f"Implicit {token()}", "x\n")
    send(stack, "alice", msg)
    got = wait_copies(stack, "carol", msg["Message-ID"])
    assert any("with ESMTPSA" in str(r) for r in got.get_all("Received"))
    assert stack.imap_logins("gateway")[-1]["tls"] is True


def test_reply_threads_to_root_with_references_chain(stack, gateway):
    gw = gateway().start()
    gw.wait_log("connected as gateway")
    topic = f"Thread topic {token()}"
    root = make_message("alice@example.org", list_addr(stack), topic, "root\n")
    send(stack, "alice", root)
    wait_copies(stack, "bob", root["Message-ID"])

    reply1 = make_message("bob@example.org", list_addr(stack), "Re: " + topic, "first reply\n",
                          In_Reply_To=root["Message-ID"], References=root["Message-ID"])
    send(stack, "bob", reply1)
    got1 = wait_copies(stack, "alice", reply1["Message-ID"])
    assert got1["In-Reply-To"] == root["Message-ID"]
    assert str(got1["References"]).split() == [root["Message-ID"]]

    # a client that keeps only In-Reply-To: the gateway restores the chain
    reply2 = make_message("carol@example.org", list_addr(stack), "Re: Re: " + topic,
                          "second reply\n", In_Reply_To=reply1["Message-ID"])
    send(stack, "carol", reply2)
    got2 = wait_copies(stack, "alice", reply2["Message-ID"])
    assert got2["In-Reply-To"] == reply1["Message-ID"]
    assert str(got2["References"]).split() == [root["Message-ID"], reply1["Message-ID"]]
    assert str(got2["Subject"]) == "Re: " + topic      # the thread's subject, constant
    assert str(wait_copies(stack, "bob", reply2["Message-ID"])["In-Reply-To"]) == \
        reply1["Message-ID"]


def test_same_message_id_twice_is_relayed_once(stack, gateway):
    gw = gateway().start()
    gw.wait_log("connected as gateway")
    msg = make_message("alice@example.org", list_addr(stack), f"Twice {token()}", "once only\n")
    msgid = msg["Message-ID"]
    send(stack, "alice", msg)
    send(stack, "alice", msg)
    wait_gateway_has(stack, msgid, 2)
    gw.wait_log(f"<{msgid[1:-1]}> from alice@example.org: duplicate")
    wait_copies(stack, "bob", msgid)
    wait_copies(stack, "carol", msgid)
    settle(gw)
    assert len(copies(stack, "bob", msgid)) == 1
    assert len(copies(stack, "carol", msgid)) == 1
    # both copies count as processed
    assert all("\\Seen" in f for f in gateway_flags(stack, msgid))


def test_auto_replied_mail_is_not_relayed(stack, gateway):
    gw = gateway().start()
    gw.wait_log("connected as gateway")
    auto = make_message("alice@example.org", list_addr(stack), f"Out of office {token()}",
                        "I am away.\n", Auto_Submitted="auto-replied")
    marker = make_message("alice@example.org", list_addr(stack), f"After {token()}", "x\n")
    send(stack, "alice", auto)
    send(stack, "alice", marker)
    wait_copies(stack, "bob", marker["Message-ID"])
    settle(gw)
    gw.wait_log(f"<{auto['Message-ID'][1:-1]}> from alice@example.org: dropped: auto-generated")
    assert copies(stack, "bob", auto["Message-ID"]) == []
    assert copies(stack, "carol", auto["Message-ID"]) == []
    assert "\\Seen" in gateway_flags(stack, auto["Message-ID"])[0]


def test_latin1_quoted_printable_arrives_as_utf8(stack, gateway):
    gw = gateway(posting={"sender_proof": "off"})  # in from outside, unproven
    cli(gw.conf, "member", "add", "juergen.mueller@example.de", "--name", "Jürgen Müller",
        "--layer", "member", "--channel", "dev", check=0)
    gw.start()
    gw.wait_log("connected as gateway")
    msgid = f"{token()}.latin1@example.de"
    refused = stack.send_mail("juergen.mueller@example.de", list_addr(stack),
                              raw_mail(FIXTURES / "latin1_qp.eml", msgid),
                              port=stack.SMTP_PORT)
    assert refused == {}
    got = wait_copies(stack, "bob", f"<{msgid}>")
    assert str(got["Subject"]) == "Grüße aus Köln"
    assert email.utils.parseaddr(str(got["From"]))[0] == "Jürgen Müller via dev"
    assert got.get_content_charset() == "utf-8"
    text = got.get_content()
    assert "viele Grüße aus Köln! Das Treffen ist am Dienstag um 18 Uhr im Café." in text
    assert "äöü" in text and "Jürgen" in text


def test_untrusted_imap_certificate_is_refused_and_reported(stack, gateway):
    msg = make_message("alice@example.org", list_addr(stack), f"Unfetched {token()}", "x\n")
    gw = gateway(imap={"ca_file": stack.BAD_CA_FILE})
    send(stack, "alice", msg)
    wait_gateway_has(stack, msg["Message-ID"])
    logins = len(stack.imap_logins("gateway"))

    gw.start()
    gw.wait_log("certificate not trusted")
    line = next(l for l in gw.log_text().splitlines() if "certificate not trusted" in l)
    assert f"imap localhost:{stack.IMAP_PORT}" in line and "issuer" in line, line
    status = gw.status()
    assert re.search(r"^email: disconnected", status, re.M), status
    assert f"last error: imap localhost:{stack.IMAP_PORT}: certificate not trusted" in status
    time.sleep(1.5)  # a retry or two
    assert gw.proc.poll() is None
    # no password went out, nothing was fetched, nothing marked, nothing sent
    assert len(stack.imap_logins("gateway")) == logins
    assert "UID" not in gw.log_text()
    assert outbox_states(gw.data_dir) == {}
    assert "\\Seen" not in gateway_flags(stack, msg["Message-ID"])[0]


def test_untrusted_smtp_certificate_sends_nothing(stack, gateway):
    gw = gateway(smtp={"ca_file": stack.BAD_CA_FILE}).start()
    gw.wait_log("connected as gateway")
    msg = make_message("alice@example.org", list_addr(stack), f"Held back {token()}", "x\n")
    send(stack, "alice", msg)
    gw.wait_log(f"smtp localhost:{stack.SUBMISSION_PORT}: certificate not trusted")
    assert "last error: smtp localhost" in gw.status()
    time.sleep(1)
    assert outbox_states(gw.data_dir).get("done", 0) == 0
    assert copies(stack, "bob", msg["Message-ID"]) == []


def test_burst_survives_sigkill_each_mail_exactly_once(stack, gateway):
    # First run: the submission server is unreachable, so no SMTP transaction
    # is open when the daemon dies (a mail the server accepted but whose
    # acceptance was not yet recorded is sent again: SMTP cannot tell).
    # The kill lands in the middle of the IMAP ingest of the burst.
    n = 100
    gw = gateway(smtp={"host": "127.0.0.1", "port": closed_port(), "tls": "none",
                       "user": None, "password_file": None},
                 outbox={"retry_base": 1, "retry_max": 2})
    tag = token()
    ids = []
    client = stack.smtp(user="alice")
    try:
        for i in range(n):
            m = make_message("alice@example.org", list_addr(stack), f"Burst {tag} #{i}",
                             f"burst mail {i}\n")
            ids.append(m["Message-ID"])
            client.sendmail("alice@example.org", [list_addr(stack)],
                            m.as_bytes(policy=email.policy.SMTP))
    finally:
        client.quit()
    for msgid in (ids[0], ids[-1]):
        wait_gateway_has(stack, msgid, timeout=30)

    gw.start()
    deadline = time.monotonic() + 30
    while count_in_log(gw, ": stored") < 15:
        assert time.monotonic() < deadline, gw.log_text()
        time.sleep(0.002)
    gw.kill()
    stored_before = count_in_log(gw, ": stored")
    print(f"killed after {stored_before} of {n} stored")
    assert 0 < stored_before < n, f"the kill was not mid-burst ({stored_before} stored)"

    # Second run: the real submission server.
    gw.configure(smtp={})
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log("connected as gateway", start=mark)
    resumed = re.search(r"last UID (\d+)", gw.log_text()[mark:])
    assert resumed and int(resumed.group(1)) >= stored_before - 1, gw.log_text()[mark:]
    wanted = set(ids)
    for user in ("bob", "carol"):
        deadline = time.monotonic() + 60
        while True:
            got = [m["Message-ID"] for m in stack.maildir_messages(user)
                   if m["Message-ID"] in wanted]
            if len(set(got)) == n:
                break
            assert time.monotonic() < deadline, f"{user} got {len(set(got))} of {n}"
            time.sleep(0.2)
    wait_outbox_done(gw, timeout=60)
    settle(gw)
    for user in ("bob", "carol"):
        got = [m["Message-ID"] for m in stack.maildir_messages(user) if m["Message-ID"] in wanted]
        dupes = sorted({i for i in got if got.count(i) > 1})
        assert len(got) == n and not dupes, f"{user}: {len(got)} mails, twice: {dupes}"
    assert copies(stack, "alice", ids[0]) == []
    assert outbox_states(gw.data_dir) == {"done": 2 * n}


def test_dovecot_restart_reconnects_and_catches_up(stack, gateway):
    gw = gateway().start()
    gw.wait_log("connected as gateway")
    before = gw.status()
    assert re.search(r"^email: connected", before, re.M), before
    stack.restart_dovecot()
    # Dovecot is back; the bridge is likely still waiting to reconnect: this
    # mail arrives while it is away and must be fetched on reconnection.
    msg = make_message("alice@example.org", list_addr(stack), f"After restart {token()}", "x\n")
    send(stack, "alice", msg)
    got = wait_copies(stack, "bob", msg["Message-ID"], timeout=30)
    assert got["List-Id"] == "<dev.lists.example.org>"
    log = gw.log_text()
    assert count_in_log(gw, "connected as gateway") >= 2, log
    assert re.search(r"imap localhost:\d+: .*reconnecting in \d+ s", log), log
    assert re.search(r"^email: connected", gw.status(), re.M)


def test_processed_mailbox_and_oversize_mail(stack, gateway):
    gw = gateway(imap={"processed_mailbox": "Processed", "max_message_size": 4000}).start()
    gw.wait_log("connected as gateway")
    small = make_message("alice@example.org", list_addr(stack), f"Small {token()}", "small\n")
    big = make_message("alice@example.org", list_addr(stack), f"Big {token()}",
                       "0123456789abcdef\n" * 600)
    send(stack, "alice", big)
    send(stack, "alice", small)
    wait_copies(stack, "bob", small["Message-ID"])
    settle(gw)
    gw.wait_log("over imap.max_message_size")
    assert copies(stack, "bob", big["Message-ID"]) == []
    deadline = time.monotonic() + 10
    while gateway_flags(stack, big["Message-ID"]) or gateway_flags(stack, small["Message-ID"]):
        assert time.monotonic() < deadline, "not moved out of INBOX"
        time.sleep(0.1)
    assert len(gateway_flags(stack, small["Message-ID"], "Processed")) == 1
    assert len(gateway_flags(stack, big["Message-ID"], "Processed")) == 1


def test_uidvalidity_change_rescans_without_relaying_twice(stack, gateway):
    box = f"Lists{token()}"
    # put straight into the mailbox, with no trace of the MTA
    gw = gateway(imap={"mailbox": box}, posting={"sender_proof": "off"})
    a, b, c = (make_message("alice@example.org", list_addr(stack), f"{name} {token()}", "x\n")
               for name in ("A", "B", "C"))
    client = stack.imap_login("gateway")
    try:
        assert client.create(box)[0] == "OK"
        for m in (a, b):  # UIDs 1 and 2
            assert client.append(box, None, None, m.as_bytes(policy=email.policy.SMTP))[0] == "OK"
        gw.start()
        gw.wait_log("connected as gateway")
        for m in (a, b):
            wait_copies(stack, "bob", m["Message-ID"])
        gw.stop()
        # A new mailbox under the same name: new UIDVALIDITY, and the new
        # mail C gets UID 1, below the old watermark (2).
        assert client.delete(box)[0] == "OK"
        assert client.create(box)[0] == "OK"
        for m in (c, a):
            assert client.append(box, None, None, m.as_bytes(policy=email.policy.SMTP))[0] == "OK"
        mark = len(gw.log_text())
        gw.start()
        gw.wait_log("UIDVALIDITY changed", start=mark)
        wait_copies(stack, "bob", c["Message-ID"])
        gw.wait_log(f"<{a['Message-ID'][1:-1]}> from alice@example.org: duplicate", start=mark)
        settle(gw)
        for m in (a, b, c):
            assert len(copies(stack, "bob", m["Message-ID"])) == 1
    finally:
        client.logout()
        cleanup = stack.imap_login("gateway")
        cleanup.delete(box)
        cleanup.logout()


def test_short_poll_instead_of_idle_picks_up_mail(stack, gateway):
    """imap.poll_interval: the bridge polls (NOOP + UID FETCH) instead of
    IDLE; a mail is relayed within a few polls, not after Dovecot's 500 ms
    IDLE batching."""
    gw = gateway(imap={"poll_interval": 100})
    gw.start()
    gw.wait_log("polling every 100 ms", timeout=20)
    for i in range(3):
        msg = make_message(stack.address("alice"), list_addr(stack), f"poll {i} {token()}",
                           "polled\n")
        send(stack, "alice", msg)
        wait_gateway_has(stack, msg["Message-ID"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with db(gw.data_dir) as con:
                if con.execute("SELECT count(*) FROM extid WHERE ext_id = ?",
                               (msg["Message-ID"].strip("<>"),)).fetchone()[0]:
                    break
            time.sleep(0.02)
        else:
            raise AssertionError("mail not stored while polling")
        wait_copies(stack, "carol", msg["Message-ID"])
