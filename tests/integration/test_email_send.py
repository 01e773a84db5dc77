"""What the email bridge sends, against the real Postfix and Dovecot of the stack:
a post to many members goes to Postfix as one XVERP transaction (when Postfix
offers XVERP) with each copy's envelope sender still naming its recipient;
notices go out as direct messages with an empty envelope sender (RFC 3834);
chat lines from the room reach email members as one mail per quiet spell; the
channel's crm_context puts a footer, headers or nothing on list mail; digest
members get one digest mail per period.

Each test runs its own coopgate (fresh data dir) against the session's stack.
"""

from __future__ import annotations

import contextlib

import email
import email.utils
import re
import sqlite3
import time
from pathlib import Path

import pytest

from coopgate import Daemon, cli, empty_gateway_mailbox, query, token, wait_for
from helpers import make_message, write_coopgate_config

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def list_addr(stack) -> str:
    return f"dev@{stack.LIST_DOMAIN}"


# ---------------------------------------------------------------- helpers


def copies(stack, user, pred) -> list:
    return [m for m in stack.maildir_messages(user) if pred(m)]


def wait_copies(stack, user, pred, n=1, timeout=30.0) -> list:
    return wait_for(f"{n} mail(s) for {user}",
                    lambda: (lambda c: c if len(c) >= n else None)(copies(stack, user, pred)),
                    timeout)


def by_msgid(msgid):
    return lambda m: m["Message-ID"] == msgid


def text_of(m) -> str:
    return m.get_body(preferencelist=("plain",)).get_content()


def wait_outbox_settled(gw, timeout=60.0) -> None:
    wait_for("no pending outbox rows", lambda: query(
        gw.data_dir, "SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0] == 0,
        timeout)


def wait_email_rows(gw, n, timeout=30.0) -> None:
    """n email outbox rows exist and none is pending."""
    wait_for(f"{n} email outbox rows", lambda: query(
        gw.data_dir, "SELECT count(*) FROM outbox WHERE bridge = 'email'")[0][0] >= n,
        timeout)
    wait_outbox_settled(gw)


def maillog(stack) -> str:
    return Path(stack.POSTFIX_MAILLOG).read_text(errors="replace")


class Gateway(Daemon):
    def __init__(self, stack, tmp_path, **overrides):
        self.stack = stack
        self.data_dir = tmp_path / "data"
        overrides.setdefault("xmpp", None)
        conf = write_coopgate_config(stack, tmp_path, **overrides)
        super().__init__(conf, tmp_path / "coopgate.log")
        cli(conf, "init", check=0)


@pytest.fixture
def gateway(stack, tmp_path):
    """Factory for a configured, initialised coopgate; empties the gateway mailbox;
    checks the log for sanitizer reports and the mail password at the end."""
    made = []

    def make(sub=None, **overrides):
        empty_gateway_mailbox(stack)
        gw = Gateway(stack, tmp_path / (sub or "gw"), **overrides)
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
    if made:
        empty_gateway_mailbox(stack)


@contextlib.contextmanager
def postfix_verp_clients(stack, value):
    """The stack's Postfix with `smtpd_authorized_verp_clients = value` for
    one test (the fixture's main.cf offers XVERP to 127.0.0.1)."""
    old = stack.postconf_get("smtpd_authorized_verp_clients")
    def set_(v):
        stack.postconf(f"smtpd_authorized_verp_clients = {v}")
    set_(value)
    try:
        yield
    finally:
        set_(old)


@pytest.fixture
def xverp_postfix(stack):
    """Postfix offers XVERP to the gateway (the fixture's default, made sure)."""
    with postfix_verp_clients(stack, "127.0.0.1/32"):
        yield


@pytest.fixture
def no_xverp_postfix(stack):
    """Postfix offers no XVERP: the gateway sends batches with the plain
    bounce address (test_email_fanout.py), or with smtp.verp = "always" one
    transaction per recipient."""
    with postfix_verp_clients(stack, ""):
        yield


def many_members(stack, n, tag):
    return [{"address": f"{tag}{i:02d}@{stack.MAIL_DOMAIN}", "name": f"Member {i}",
             "layer": "member", "channels": ["dev"], "delivery": "each"}
            for i in range(n)]


def post(stack, frm_user, subject, body, **headers):
    msg = make_message(stack.address(frm_user), list_addr(stack), subject, body, **headers)
    assert stack.send_mail(stack.address(frm_user), list_addr(stack), msg, user=frm_user) == {}
    return msg["Message-ID"]


# ---------------------------------------------------------------- fan-out

def test_xverp_fanout_is_one_transaction_with_per_recipient_bounce_address(
        stack, xverp_postfix, gateway):
    tag = "x" + token()[:6]
    members = many_members(stack, 30, tag)
    gw = gateway(members=[{"address": stack.address("alice"), "name": "Alice Example",
                           "layer": "core", "channels": ["dev"]}] + members)
    # a member Postfix refuses at RCPT time (501): only that row fails
    cli(gw.conf, "member", "add", "broken@[300.0.0.1]", "--channel", "dev", check=0)
    gw.start()
    msgid = post(stack, "alice", f"fan-out {tag}", "one post, many members\n")
    wait_email_rows(gw, 31)
    rows = query(gw.data_dir, "SELECT destination, state, far_id, last_error FROM outbox "
                 "WHERE bridge = 'email'")
    assert len(rows) == 31
    done = [r for r in rows if r[1] == "done"]
    dead = [r for r in rows if r[1] == "dead"]
    assert len(done) == 30 and len(dead) == 1, rows
    assert dead[0][0] == "broken@[300.0.0.1]" and "501" in dead[0][3]
    # recipients travel many per transaction (split in two so two connections
    # work); each transaction's one 250 after DATA completes all its rows
    queue_ids = {r[2] for r in done}
    assert None not in queue_ids and 1 <= len(queue_ids) <= 2, queue_ids
    log = maillog(stack)
    nrcpt = 0
    for qid in queue_ids:
        m = re.search(rf"{qid}: from=<dev\+bounce-\d+\.[0-9a-f]{{16}}@lists\.example\.org>, size=\d+, "
                      rf"nrcpt=(\d+) ", log)
        assert m, [ln for ln in log.splitlines() if qid in ln]
        nrcpt += int(m.group(1))
        assert len([r for r in done if r[2] == qid]) == int(m.group(1))
    assert nrcpt == 30
    # Postfix wrote each copy's envelope sender in our VERP format
    for i in (0, 7, 29):
        user = f"{tag}{i:02d}"
        got = wait_copies(stack, user, by_msgid(msgid))[0]
        assert re.fullmatch(rf"<dev\+bounce-\d+\.[0-9a-f]{{16}}-{user}=example\.org"
                            r"@lists\.example\.org>", str(got["Return-Path"])), got["Return-Path"]
        assert str(got["List-Id"]) == "<dev.lists.example.org>"
    assert "stopped offering XVERP" not in gw.log_text()


def test_xverp_fanout_killed_midway_completes_only_accepted_rows(
        stack, xverp_postfix, gateway):
    n = 900
    tag = "k" + token()[:6]
    gw = gateway(members=[{"address": stack.address("alice"), "name": "Alice Example",
                           "layer": "core", "channels": ["dev"]}] + [
        {"address": f"{tag}{i:03d}@{stack.MAIL_DOMAIN}", "name": f"Member {i}",
         "layer": "member", "channels": ["dev"]} for i in range(n)],
        gateway={"log_level": "info"})
    gw.start()
    msgid = post(stack, "alice", f"killed fan-out {tag}", "once to everyone\n")
    sql_done = "SELECT count(*) FROM outbox WHERE bridge = 'email' AND state = 'done'"
    deadline = time.monotonic() + 30
    while True:
        try:
            if query(gw.data_dir, sql_done)[0][0] > 0:
                break
        except sqlite3.OperationalError:
            pass
        assert time.monotonic() < deadline, gw.log_text()
        time.sleep(0.002)
    gw.kill()
    before = query(gw.data_dir, "SELECT id, far_id FROM outbox WHERE state = 'done'")
    print(f"killed with {len(before)} of {n} rows done")
    # every row recorded as done was accepted by Postfix (its 250 after DATA);
    # qmgr logs the queue file a moment after that 250, later under load
    missing = {f for _, f in before}
    deadline = time.monotonic() + 20
    while missing and time.monotonic() < deadline:
        log = maillog(stack)
        missing = {q for q in missing
                   if not re.search(rf"{q}: from=<dev\+bounce-\d+\.[0-9a-f]{{16}}@lists\.example\.org>", log)}
        time.sleep(0.2)
    assert not missing, f"done rows Postfix never queued: {sorted(missing)}"
    gw.start()
    wait_email_rows(gw, n, timeout=60)
    assert query(gw.data_dir, "SELECT state, count(*) FROM outbox GROUP BY state") == \
        [("done", n)]
    # nothing recorded as done before the kill was sent again
    again = query(gw.data_dir, "SELECT id, far_id FROM outbox WHERE state = 'done'")
    assert set(before) <= set(again)
    for i in (0, n // 2, n - 1):
        wait_copies(stack, f"{tag}{i:03d}", by_msgid(msgid))


def test_without_xverp_each_recipient_gets_its_own_transaction(stack, no_xverp_postfix,
                                                              gateway):
    # smtp.verp = "always": every copy names its recipient (no batches)
    tag = "p" + token()[:6]
    gw = gateway(members=[{"address": stack.address("alice"), "name": "Alice Example",
                           "layer": "core", "channels": ["dev"]}]
                 + many_members(stack, 5, tag), smtp={"verp": "always"})
    gw.start()
    msgid = post(stack, "alice", f"plain fan-out {tag}", "hello\n")
    wait_email_rows(gw, 5)
    rows = query(gw.data_dir, "SELECT state, far_id FROM outbox WHERE bridge = 'email'")
    assert [r[0] for r in rows] == ["done"] * 5
    assert len({r[1] for r in rows}) == 5  # five transactions
    for i in range(5):
        user = f"{tag}{i:02d}"
        got = wait_copies(stack, user, by_msgid(msgid))[0]
        assert re.fullmatch(rf"<dev\+bounce-\d+\.[0-9a-f]{{16}}-{user}=example\.org"
                            r"@lists\.example\.org>", str(got["Return-Path"])), got["Return-Path"]


# ---------------------------------------------------------------- notices

NOTICE_SQL_NOTICE = (
    "INSERT INTO notice(channel_id, from_addr, to_addr, subject, body, in_reply_to, "
    "auto_submitted, message_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
NOTICE_SQL_OUTBOX = (
    "INSERT INTO outbox(notice_id, bridge, destination, next_attempt_ms, created) "
    "VALUES (?, 'email', ?, ?, ?)")


def add_notice(data_dir, channel_id, frm, to, subject, body, irt, auto, msgid):
    """What cg_store_notice_add() writes (store/outbox.c), in one transaction."""
    con = sqlite3.connect(str(Path(data_dir) / "coopgate.db"), timeout=10)
    try:
        now = int(time.time())
        cur = con.execute(NOTICE_SQL_NOTICE, (channel_id, frm, to, subject, body, irt,
                                              auto, msgid, now))
        con.execute(NOTICE_SQL_OUTBOX, (cur.lastrowid, to, now * 1000, now))
        con.commit()
    finally:
        con.close()


def test_notice_goes_out_as_direct_message_with_empty_envelope_sender(stack, gateway):
    gw = gateway()
    gw.start()
    tag = token()
    chan = query(gw.data_dir, "SELECT id FROM channel WHERE name = 'dev'")[0][0]
    notice_id = f"cg.notice.{tag}@lists.example.org"
    asked = f"ask.{tag}@test.example.org"
    add_notice(gw.data_dir, chan, "dev+request@lists.example.org", "carol@example.org",
               f"Re: help {tag}", "Commands: subscribe, unsubscribe, digest, help\n",
               asked, "auto-replied", notice_id)
    # a second one without channel, auto-generated
    notice2 = f"cg.notice.{tag}.2@lists.example.org"
    add_notice(gw.data_dir, None, "dev+bounce@lists.example.org", "erin@example.org",
               f"Delivery problems {tag}", "We could not deliver.\n", None,
               "auto-generated", notice2)
    # the daemon reads the outbox when something happens: a post
    post(stack, "alice", f"kick {tag}", "something to send\n")

    got = wait_copies(stack, "carol", by_msgid(f"<{notice_id}>"))[0]
    assert str(got["From"]) == "dev+request@lists.example.org"
    assert str(got["To"]) == "carol@example.org"
    assert str(got["Subject"]) == f"Re: help {tag}"
    assert str(got["In-Reply-To"]) == f"<{asked}>"
    assert str(got["References"]) == f"<{asked}>"
    assert str(got["Auto-Submitted"]) == "auto-replied"
    assert str(got["List-Id"]) == "<dev.lists.example.org>"
    for absent in ("List-Post", "List-Unsubscribe", "List-Help", "Precedence",
                   "Reply-To", "X-Original-From"):
        assert got[absent] is None, absent
    assert str(got["Return-Path"]) == "<>"  # RFC 3834: auto-replies never bounce to us
    assert "Commands: subscribe" in text_of(got)

    got2 = wait_copies(stack, "erin", by_msgid(f"<{notice2}>"))[0]
    assert str(got2["Auto-Submitted"]) == "auto-generated"
    assert got2["List-Id"] is None and got2["In-Reply-To"] is None
    assert str(got2["Return-Path"]) == "<>"
    wait_outbox_settled(gw)
    assert query(gw.data_dir, "SELECT state FROM outbox WHERE notice_id IS NOT NULL") == \
        [("done",), ("done",)]


# ---------------------------------------------------------------- chat batching

def test_quick_room_lines_reach_email_members_as_one_mail(stack, gateway):
    room = f"r{token()}@{stack.MUC_DOMAIN}"
    gw = gateway(xmpp={}, channels=[{
        "name": "dev", "address": list_addr(stack), "room": room,
        "description": "Development", "post_layer": "member",
        "crm_context": "none", "chat_batch": 2}])
    cli(gw.conf, "member", "add", stack.address("carol"), "--name", "Carol Example",
        "--layer", "member", "--channel", "dev", check=0)
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    # a thread started by mail; the room answers in it (<thread> = its token)
    subject = f"Planning {token()}"
    root = post(stack, "alice", subject, "Who comes on Tuesday?\n")
    wait_copies(stack, "carol", by_msgid(root))
    tok = wait_for("the thread", lambda: query(gw.data_dir, "SELECT token FROM thread"),
                   timeout=30.0)[0][0]
    tag = token()
    bob = stack.xmpp_client("bob")
    try:
        bob.join_room(room, "bob")
        for i in range(3):
            bob.send_room(room, f"line {i} {tag}", thread=tok)
            time.sleep(0.7)  # quicker than chat_batch: the room is never quiet
        pred = lambda m: tag in text_of(m)  # noqa: E731
        for user in ("alice", "carol"):
            got = wait_copies(stack, user, pred, timeout=40)
            assert len(got) == 1
            body = text_of(got[0])
            assert [ln for ln in body.splitlines() if tag in ln] == \
                [f"Bob Example: line {i} {tag}" for i in range(3)]
            assert str(got[0]["Subject"]) == f"Re: {subject}"
            assert got[0]["In-Reply-To"] == root
            assert root in str(got[0]["References"])
            mid = got[0]["Message-ID"].strip("<>")
            assert re.fullmatch(rf"cg\.{tok}\.b\d+-\d+@lists\.example\.org", mid), mid
            assert str(got[0]["List-Id"]) == "<dev.lists.example.org>"
        wait_outbox_settled(gw)
        rows = query(gw.data_dir, "SELECT o.destination, o.state, o.far_id FROM outbox o "
                     "JOIN message m ON m.id = o.message_id WHERE o.bridge = 'email' "
                     "AND m.body LIKE ?", f"%{tag}%")
        assert len(rows) == 6 and {r[1] for r in rows} == {"done"}
        for dest in ("alice@example.org", "carol@example.org"):
            assert len({r[2] for r in rows if r[0] == dest}) == 1  # one mail each
        time.sleep(3)  # nothing more comes
        for user in ("alice", "carol"):
            assert len(copies(stack, user, pred)) == 1
    finally:
        bob.close()


def test_plain_room_lines_share_one_thread_and_one_mail(stack, gateway):
    """Lines without <thread> (what most chat clients send) join the room's
    open chat thread, so a quick exchange reaches email as one mail whose
    subject is the first line."""
    room = f"r{token()}@{stack.MUC_DOMAIN}"
    gw = gateway(xmpp={}, channels=[{
        "name": "dev", "address": list_addr(stack), "room": room,
        "description": "Development", "post_layer": "member",
        "crm_context": "none", "chat_batch": 2}])
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    tag = token()
    bob = stack.xmpp_client("bob")
    try:
        bob.join_room(room, "bob")
        for i in range(3):
            bob.send_room(room, f"plain {i} {tag}")
            time.sleep(0.5)
        pred = lambda m: tag in text_of(m)  # noqa: E731
        got = wait_copies(stack, "alice", pred, timeout=40)
        assert len(got) == 1
        assert [ln for ln in text_of(got[0]).splitlines() if tag in ln] == \
            [f"Bob Example: plain {i} {tag}" for i in range(3)]
        assert str(got[0]["Subject"]) == f"Re: plain 0 {tag}"
        threads = query(gw.data_dir, "SELECT DISTINCT thread_id FROM message "
                        "WHERE body LIKE ?", f"%{tag}%")
        assert len(threads) == 1
        time.sleep(3)
        assert len(copies(stack, "alice", pred)) == 1
    finally:
        bob.close()


def test_room_that_is_never_quiet_still_gets_its_lines_mailed_by_chat_batch_max(
        stack, gateway):
    """A line every second and chat_batch = 3: the room is never quiet, yet
    no line waits longer than chat_batch_max (6 s) for its mail; the lines
    that came later make the next mail, each line mailed once."""
    room = f"r{token()}@{stack.MUC_DOMAIN}"
    gw = gateway(xmpp={}, channels=[{
        "name": "dev", "address": list_addr(stack), "room": room,
        "description": "Development", "post_layer": "member",
        "crm_context": "none", "chat_batch": 3, "chat_batch_max": 6}])
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    tag = token()
    pred = lambda m: tag in text_of(m)  # noqa: E731
    bob = stack.xmpp_client("bob")
    try:
        bob.join_room(room, "bob")
        start = time.monotonic()
        first_mail = None
        n = 0
        while time.monotonic() - start < 16:  # a line a second, 16 s long
            bob.send_room(room, f"busy {n} {tag}")
            n += 1
            time.sleep(1.0)
            if first_mail is None and copies(stack, "alice", pred):
                first_mail = time.monotonic() - start
        # the first mail came while the room was still busy, about
        # chat_batch_max after the first line (the room was never quiet)
        assert first_mail is not None, "no mail while the room was busy"
        assert first_mail <= 6 + 4, first_mail
        wait_outbox_settled(gw)
        got = copies(stack, "alice", pred)
        assert len(got) >= 2
        lines = [ln for m in got for ln in text_of(m).splitlines() if tag in ln]
        assert sorted(lines) == sorted(f"Bob Example: busy {i} {tag}" for i in range(n))
    finally:
        bob.close()


# ---------------------------------------------------------------- CRM context

@pytest.mark.parametrize("mode", ["footer", "header", "none"])
def test_crm_context_mode_decides_footer_or_headers(stack, gateway, mode):
    gw = gateway(channels=[{
        "name": "dev", "address": list_addr(stack), "room": f"dev@{stack.MUC_DOMAIN}",
        "description": "Development", "post_layer": "member", "crm_context": mode,
        "chat_batch": 120}])
    gw.start()
    tag = token()
    msgid = post(stack, "alice", f"crm {mode} {tag}", "Body text.\n")
    got = wait_copies(stack, "bob", by_msgid(msgid))[0]
    body = text_of(got)
    coop = sorted(k for k in got.keys() if k.lower().startswith("x-coop-"))
    if mode == "footer":
        assert coop == []
        assert re.search(r"Body text\.\n\n\u2014 Alice Example \u00b7 Example eG \u00b7 core "
                         r"\u00b7 \d+ messages? in 30 days \u00b7 member since \d{4}-\d\d\n?$",
                         body), body
    elif mode == "header":
        assert coop == ["X-Coop-Sender-Layer", "X-Coop-Sender-Org", "X-Coop-Sender-Since"]
        assert str(got["X-Coop-Sender-Org"]) == "Example eG"
        assert str(got["X-Coop-Sender-Layer"]) == "core"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", str(got["X-Coop-Sender-Since"]))
        assert "\u2014" not in body
    else:
        assert coop == []
        assert body.rstrip("\n") == "Body text."


# ---------------------------------------------------------------- digest

def test_digest_member_gets_one_digest_per_period_with_its_posts(
        stack, gateway, monkeypatch):
    monkeypatch.setenv("COOPGATE_DIGEST_PERIOD", "6")  # the testing knob
    gw = gateway()
    cli(gw.conf, "member", "add", stack.address("erin"), "--name", "Erin Example",
        "--layer", "member", "--channel", "dev", "--delivery", "digest", check=0)
    gw.start()
    gw.wait_log("digest period 6 s")
    tag = token()
    ids = [post(stack, "alice", f"digest {i} {tag}", f"Post number {i} of {tag}.\n")
           for i in range(2)]
    pred = lambda m: str(m["Subject"]).startswith("dev digest") and tag in text_of(m)  # noqa: E731
    got = wait_copies(stack, "erin", pred, timeout=30)
    # the two posts may straddle a period's end: wait for both to be covered
    covered = wait_for("both posts in digests", lambda: (lambda r: r if len(r) == 2 else None)(
        query(gw.data_dir, "SELECT dm.message_id, dm.digest_id FROM digest_message dm "
              "JOIN message m ON m.id = dm.message_id WHERE m.subject LIKE ?",
              f"%{tag}%")), timeout=20)
    digests = {d for _, d in covered}
    got = wait_copies(stack, "erin", pred, n=len(digests), timeout=20)
    time.sleep(7)  # a period without posts sends nothing
    got = copies(stack, "erin", pred)
    assert len(got) == len(digests)
    text = "\n".join(text_of(m) for m in got)
    for i in range(2):
        assert text.count(f"Post number {i} of {tag}.") == 1
        assert f"Subject: digest {i} {tag}" in text
    for m in got:
        assert re.fullmatch(r"dev digest, \d{4}-\d\d-\d\d \(\d+ messages?\)", str(m["Subject"]))
        assert str(m["List-Id"]) == "<dev.lists.example.org>"
        assert str(m["Auto-Submitted"]) == "auto-generated"
        assert re.fullmatch(r"<dev\+bounce-\d+\.[0-9a-f]{16}-erin=example\.org"
                            r"@lists\.example\.org>", str(m["Return-Path"])), m["Return-Path"]
        assert email.utils.parseaddr(str(m["From"]))[1] == list_addr(stack)
        assert m.get_content_type() == "text/plain"
    # erin got no post on its own; bob (delivery each) got both and no digest
    for msgid in ids:
        assert copies(stack, "erin", by_msgid(msgid)) == []
        wait_copies(stack, "bob", by_msgid(msgid))
    assert copies(stack, "bob", pred) == []
    rows = query(gw.data_dir, "SELECT messages, first_message_id, last_message_id FROM digest")
    assert sum(r[0] for r in rows) == 2
