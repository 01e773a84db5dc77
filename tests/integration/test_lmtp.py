"""LMTP delivery in, against the real Postfix of the stack: for these tests
Postfix delivers the list domain to coopgate's LMTP socket (stack.sh
lmtp-on) instead of Dovecot, and back afterwards (lmtp-off).  Mail to dev@
reaches the members and the room, dev+request@ commands are answered and
+bounce- reports counted as over IMAP, and a SIGKILL in the middle of a
burst loses nothing and relays nothing twice.
"""

from __future__ import annotations

import grp
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from coopgate import Daemon, cli, db, empty_gateway_mailbox, query, token, wait_for
from helpers import make_message, write_coopgate_config
from test_email_requests import send_dsn

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")
# imap = { trusted_authserv_id } only: no mailbox is fetched.
NO_MAILBOX = {k: None for k in ("host", "port", "tls", "user", "password_file",
                                "mailbox", "ca_file")}


class Gateway(Daemon):
    """A coopgate taking the list domain's mail over LMTP on a unix socket."""

    def __init__(self, stack, tmp_path, sock, **overrides):
        self.stack = stack
        self.data_dir = tmp_path / "data"
        self.sock = sock
        merged = dict(xmpp=None, imap=NO_MAILBOX, lmtp={"listen": f"unix:{sock}"})
        merged.update(overrides)
        self.merged, self.tmp = merged, tmp_path
        conf = write_coopgate_config(stack, tmp_path, **merged)
        super().__init__(conf, tmp_path / "coopgate.log")
        cli(conf, "init", check=0)

    def configure(self, **overrides):
        merged = dict(self.merged)
        merged.update(overrides)
        return write_coopgate_config(self.stack, self.tmp, **merged)

    def addr(self, local: str) -> str:
        return f"{local}@{self.stack.LIST_DOMAIN}"

    def start_listening(self):
        self.start()
        self.wait_log(f"lmtp unix:{self.sock}: listening")
        return self


@pytest.fixture
def gateway(stack, tmp_path):
    """Factory: a coopgate listening on LMTP, the stack's Postfix switched to
    it; switched back, and the log checked, when the test ends."""
    sockdir = Path(tempfile.mkdtemp(prefix="cglmtp-", dir="/tmp"))
    sockdir.chmod(0o755)  # Postfix's lmtp client (user postfix) must reach it
    made = []

    def make(**overrides):
        empty_gateway_mailbox(stack)
        gw = Gateway(stack, tmp_path, sockdir / "lmtp.sock", **overrides)
        made.append(gw)
        # Postfix reloads before the gateway connects to it (see
        # reload_postfix in stack.sh); it uses the socket only for a mail
        stack.run("lmtp-on", str(gw.sock))
        stack.reload()
        gw.start_listening()
        return gw

    try:
        yield make
    finally:
        for gw in made:
            if gw.proc and gw.proc.poll() is None:
                gw.stop()
        if made:  # after the gateways: no client connects while it reloads
            stack.run("lmtp-off")
            stack.reload()
        for gw in made:
            log = gw.log_text()
            for mark in SANITIZER_MARKS:
                assert mark not in log, log
        shutil.rmtree(sockdir, ignore_errors=True)
        if made:
            empty_gateway_mailbox(stack)


def send(stack, user: str, msg, to) -> None:
    assert stack.send_mail(stack.address(user), to, msg, user=user) == {}


def maildir_ids(stack, user: str) -> Counter:
    return Counter(m["Message-ID"] for m in stack.maildir_messages(user))


def wait_mail(stack, user: str, msgid: str, timeout: float = 30):
    return wait_for(f"{msgid} in {user}'s mailbox",
                    lambda: [m for m in stack.maildir_messages(user)
                             if m["Message-ID"] == msgid], timeout)[0]


def gateway_mailbox_ids(stack) -> set:
    return {m["Message-ID"] for m in stack.maildir_messages("gateway")}


# ---------------------------------------------------------------- tests

def test_list_mail_over_lmtp_reaches_members_and_room(stack, gateway):
    room = f"r{token()}@{stack.MUC_DOMAIN}"
    gw = gateway(xmpp={}, channels=[{
        "name": "dev", "address": f"dev@{stack.LIST_DOMAIN}", "room": room,
        "description": "Development", "post_layer": "member",
        "crm_context": "footer", "chat_batch": 1}])
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    # the daemon runs as root here: Postfix's lmtp client (user postfix)
    # writes to the socket through its group, and nobody else can
    mode = gw.sock.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o660, oct(mode.st_mode)
    assert grp.getgrgid(mode.st_gid).gr_name == "postfix"
    carol = stack.xmpp_client("carol")
    try:
        carol.join_room(room, "carol")
        tok = token()
        msg = make_message('"Alice Example" <alice@example.org>', gw.addr("dev"),
                           f"Over LMTP {tok}", f"Delivered straight to the gateway {tok}.\n")
        msgid = msg["Message-ID"]
        send(stack, "alice", msg, gw.addr("dev"))
        got = wait_mail(stack, "bob", msgid)
        assert str(got["List-Id"]) == "<dev.lists.example.org>"
        assert f"Delivered straight to the gateway {tok}." in got.get_content()
        line = carol.wait_message(lambda m: m["type"] == "groupchat" and tok in m["body"],
                                  timeout=30)
        assert f"Alice Example: Delivered straight to the gateway {tok}." in line["body"]
    finally:
        carol.close()
    gw.wait_log(f"lmtp unix: <dev@lists.example.org> <{msgid[1:-1]}> from "
                f"alice@example.org: stored")
    # Postfix handed it to the gateway's socket, not to Dovecot
    maillog = Path(stack.POSTFIX_MAILLOG).read_text()
    assert re.search(rf"to=<dev@lists\.example\.org>, relay=\S+\[{re.escape(str(gw.sock))}\]"
                     rf".*status=sent \(250 2\.0\.0 <dev@lists\.example\.org> Ok",
                     maillog), maillog[-3000:]
    assert msgid not in gateway_mailbox_ids(stack)
    assert len(query(gw.data_dir, "SELECT id FROM message WHERE message_id = ?",
                     msgid[1:-1])) == 1


def test_unknown_list_address_is_refused_at_rcpt(stack, gateway):
    gw = gateway()
    msg = make_message("alice@example.org", gw.addr("nosuchlist"), f"Nobody {token()}", "x\n")
    send(stack, "alice", msg, gw.addr("nosuchlist"))  # Postfix accepts, then bounces
    maillog = Path(stack.POSTFIX_MAILLOG)
    wait_for("the 550 in Postfix's log", lambda: re.search(
        r"to=<nosuchlist@lists\.example\.org>.*status=bounced.*550 5\.1\.1",
        maillog.read_text()))
    assert not query(gw.data_dir, "SELECT id FROM message WHERE message_id = ?",
                     msg["Message-ID"][1:-1])


def test_request_commands_and_bounces_work_over_lmtp(stack, gateway):
    gw = gateway()
    bob = stack.address("bob")
    # dev+request@: answered from the request address
    ask = make_message(bob, gw.addr("dev+request"), "help?", "help\n")
    send(stack, "bob", ask, gw.addr("dev+request"))
    answer = wait_for("the help answer", lambda: [
        m for m in stack.maildir_messages("bob")
        if ask["Message-ID"] in str(m.get("In-Reply-To", ""))], 30)[0]
    assert "dev+request@lists.example.org" in str(answer["From"])
    assert "digest" in answer.get_content()
    # a post, then a DSN to the VERP address bob's copy came from
    post = make_message("alice@example.org", gw.addr("dev"), f"For VERP {token()}", "x\n")
    send(stack, "alice", post, gw.addr("dev"))
    verp = str(wait_mail(stack, "bob", post["Message-ID"])["Return-Path"]).strip("<>")
    assert re.fullmatch(r"dev\+bounce-\d+\.[0-9a-f]{16}-bob=example\.org@lists\.example\.org",
                        verp), verp
    dsn = send_dsn(stack, verp, bob)
    gw.wait_log(f"<{dsn}>", timeout=30)
    show = cli(gw.conf, "member", "show", bob, check=0).stdout
    assert re.search(r"Bounces: score 1\.0", show), show


def gateway_handoffs(maillog: str, msgids: set) -> Counter:
    """(Message-ID, recipient) -> how many times the gateway handed it to
    Postfix (queue ids submitted with sasl_username=gateway; one count per
    recipient line of each such queue id)."""
    by_gateway, qid_msgid = set(), {}
    for m in re.finditer(r" ([0-9A-F]{6,}): client=\S+, sasl_method=\S+, "
                         r"sasl_username=gateway", maillog):
        by_gateway.add(m.group(1))
    for m in re.finditer(r" ([0-9A-F]{6,}): message-id=(<[^>\s]+>)", maillog):
        qid_msgid[m.group(1)] = m.group(2)
    out = Counter()
    seen = set()
    for m in re.finditer(r" ([0-9A-F]{6,}): to=<([^>]+)>.*status=(sent|bounced)", maillog):
        qid, rcpt = m.group(1), m.group(2)
        if qid in by_gateway and qid_msgid.get(qid) in msgids and (qid, rcpt) not in seen:
            seen.add((qid, rcpt))
            out[(qid_msgid[qid], rcpt)] += 1
    return out


def test_sigkill_during_lmtp_burst_loses_nothing_and_relays_once(stack, gateway, tmp_path):
    # First run: the submission server is unreachable, so no SMTP
    # transaction is open when the daemon dies (a mail the server accepted
    # but whose acceptance was not yet recorded goes again: SMTP cannot
    # tell, smtp_out.c says so).  The kill lands in the LMTP burst.
    gw = gateway(smtp={"host": "127.0.0.1", "port": closed_port(), "tls": "none",
                       "user": None, "password_file": None},
                 outbox={"retry_base": 1, "retry_max": 2})
    n = 300
    tag = token()
    msgs = [make_message("alice@example.org", gw.addr("dev"), f"Burst {tag} {i}",
                         f"mail {i} of the burst {tag}\n") for i in range(n)]
    ids = {m["Message-ID"] for m in msgs}

    def submit():
        client = stack.smtp("alice")
        try:
            for m in msgs:
                client.sendmail("alice@example.org", [gw.addr("dev")], m.as_bytes())
        finally:
            client.quit()

    sender = threading.Thread(target=submit)
    sender.start()
    stored = lambda: query(gw.data_dir, "SELECT count(*) FROM message WHERE subject LIKE ?",
                           f"Burst {tag} %")[0][0]
    wait_for("the burst under way", lambda: stored() >= 30, 60, 0.01)
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait(10)
    gw.log.close()
    killed_at = stored()
    sender.join(120)
    gw.configure(smtp={})  # second run: the real submission server
    gw.start_listening()
    # Postfix retries what it was not told 250 for
    subprocess_flush(stack)
    wait_for("all 300 stored", lambda: stored() >= n, 120, 0.5)
    assert stored() == n
    wait_for("every copy at bob", lambda: len(ids & set(maildir_ids(stack, "bob"))) == n,
             120, 0.5)
    time.sleep(2.0)  # a copy relayed twice would be in by now
    bob_ids = maildir_ids(stack, "bob")
    assert all(bob_ids[i] == 1 for i in ids), [i for i in ids if bob_ids[i] != 1]
    handed = gateway_handoffs(Path(stack.POSTFIX_MAILLOG).read_text(), ids)
    assert {k: v for k, v in handed.items() if v != 1} == {}
    assert {msgid for (msgid, rcpt) in handed if rcpt == "bob@example.org"} == ids
    assert 0 < killed_at < n, killed_at


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def subprocess_flush(stack) -> None:
    """Ask Postfix to retry its deferred mail now rather than after its backoff."""
    subprocess.run(["postqueue", "-c", str(Path(stack.POSTFIX_MAILLOG).parent), "-f"],
                   capture_output=True, timeout=30)
