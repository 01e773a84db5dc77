"""XMPP benchmarks with real servers; prints figures, asserts nothing.

  email -> room  N mails, one at a time: from the moment LMTP has delivered
                 the mail into the gateway's mailbox until a slixmpp client
                 in the room receives the line (IMAP IDLE, parse, store,
                 outbox, MUC, Prosody's broadcast).  p50/p99/max.
  room -> email  M room lines, one at a time, chat_batch = 0 (no quiet-spell
                 wait): from the line leaving the slixmpp client until the
                 mail is in a member's maildir (MUC, store, outbox, SMTP
                 submission, Postfix, Dovecot LMTP).  p50/p99/max.
Target (DEVELOPERS brief): email -> room p99 < 250 ms.
BENCH_XMPP_MAILS (default 200) and BENCH_XMPP_LINES (default 50) set N, M.
"""

import os
import shutil
import smtplib
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
if len(sys.argv) > 1:
    os.environ["COOPGATE"] = sys.argv[1]

from coopgate import Daemon, cli  # noqa: E402
from helpers import make_message, remove_stack_dir, start_stack, write_coopgate_config  # noqa: E402

N_MAILS = int(os.environ.get("BENCH_XMPP_MAILS", "200"))
N_LINES = int(os.environ.get("BENCH_XMPP_LINES", "50"))


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v) + 0.5) - 1))]


def report(what, ms):
    print(f"bench: {what}: n={len(ms)} p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms", flush=True)


class Seen:
    """Arrival times (monotonic) of room lines by a token in their body."""

    def __init__(self, client):
        self.cond = threading.Condition()
        self.at = {}
        client.run(lambda: client.xmpp.add_event_handler("groupchat_message", self.on))

    def on(self, msg):
        now = time.monotonic()
        body = msg["body"]
        with self.cond:
            for word in body.split():
                if word.startswith("tok") and word not in self.at:
                    self.at[word] = now
            self.cond.notify_all()

    def wait(self, tok, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while tok not in self.at:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"bench: {tok} never reached the room")
                self.cond.wait(left)
            return self.at[tok]


def wait_maildir(new_dir, tok, known, timeout=30):
    """Poll a maildir's new/ until a file carries tok; its arrival time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = set(os.listdir(new_dir)) if new_dir.is_dir() else set()
        for name in names - known:
            now = time.monotonic()
            known.add(name)
            try:
                if tok.encode() in (new_dir / name).read_bytes():
                    return now
            except FileNotFoundError:  # moved to cur/ meanwhile
                continue
        time.sleep(0.002)
    raise SystemExit(f"bench: no mail with {tok} in {new_dir}")


def split(log, sent):
    """Where the email -> room time goes: until the gateway has stored the
    mail (its IMAP side: IDLE notice, FETCH, parse, store; the log line's
    time) and from then until the room line arrived."""
    stored = {}
    for line in log.splitlines():
        if ": stored" in line and "<" in line:
            mid = "<" + line.split("<", 1)[1].split(">", 1)[0] + ">"
            try:
                t = time.mktime(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S"))
                stored[mid] = t + float("0" + line[19:23])
            except ValueError:
                continue
    a, b = [], []
    for mid, t0, t1 in sent:
        if mid in stored:
            a.append((stored[mid] - t0) * 1000)
            b.append((t1 - stored[mid]) * 1000)
    if a:
        report("  of which: delivered -> stored (IMAP IDLE side)", a)
        report("  of which: stored -> line in the room (xmpp side)", b)


def email_to_room(stack, lists, seen, d, how):
    lat, sent = [], []
    with smtplib.LMTP("127.0.0.1", stack.LMTP_PORT) as lmtp:
        for i in range(N_MAILS + 3):  # the first 3 warm up
            tok = f"tok{uuid.uuid4().hex[:12]}"
            m = make_message(stack.address("alice"), f"bench@{lists}", f"bench {i}",
                             f"line {i} {tok}\n")
            lmtp.sendmail(stack.address("alice"), [f"gateway@{stack.MAIL_DOMAIN}"],
                          m.as_bytes())
            t0, wall0 = time.monotonic(), time.time()
            t1 = seen.wait(tok)
            if i >= 3:
                lat.append((t1 - t0) * 1000)
                sent.append((m["Message-ID"], wall0, wall0 + (t1 - t0)))
    report(f"email -> room, {how} (LMTP delivered -> line in the room)", lat)
    print("bench: target email -> room p99 < 250 ms", flush=True)
    split(d.log_text(), sent)


def main():
    stack = start_stack()
    tmp = Path(tempfile.mkdtemp(prefix="cgxbench."))
    d = bob = None
    try:
        lists = stack.LIST_DOMAIN
        room = f"bench{uuid.uuid4().hex[:8]}@{stack.MUC_DOMAIN}"
        channels = [{"name": "bench", "address": f"bench@{lists}", "room": room,
                     "post_layer": "member", "crm_context": "none", "chat_batch": 0}]
        members = [{"address": stack.address("alice"), "name": "Alice Example",
                    "layer": "core", "channels": ["bench"]},
                   {"address": stack.address("bob"), "name": "Bob Example",
                    "jid": stack.jid("bob"), "layer": "member", "channels": ["bench"],
                    "delivery": "none"}]
        conf = write_coopgate_config(stack, tmp, gateway={"log_level": "info"},
                                     channels=channels, members=members)
        cli(conf, "init", check=0)
        d = Daemon(conf, tmp / "coopgate.log").start()
        d.wait_log(f"joined {room} as gateway", 30)
        bob = stack.xmpp_client("bob")
        bob.join_room(room, "bob")
        seen = Seen(bob)

        # --- email -> room, waiting with IDLE (the default)
        email_to_room(stack, lists, seen, d, "IDLE")

        # --- email -> room with imap.poll_interval = 100 ms
        d.stop()
        conf = write_coopgate_config(
            stack, tmp, gateway={"log_level": "info"}, imap={"poll_interval": 100},
            channels=channels, members=members)
        d = Daemon(conf, tmp / "coopgate-poll.log").start()
        d.wait_log("polling every 100 ms", 30)
        time.sleep(1)
        email_to_room(stack, lists, seen, d, "imap.poll_interval = 100 ms")

        # --- room -> email
        new_dir = Path(stack.MAIL_ROOT) / "alice" / "Maildir" / "new"
        known = set(os.listdir(new_dir)) if new_dir.is_dir() else set()
        lat = []
        for i in range(N_LINES + 2):
            tok = f"tok{uuid.uuid4().hex[:12]}"
            t0 = time.monotonic()
            bob.send_room(room, f"room line {i} {tok}")
            t1 = wait_maildir(new_dir, tok, known)
            if i >= 2:
                lat.append((t1 - t0) * 1000)
        report("room -> email (line sent -> mail in the maildir, chat_batch 0)", lat)
    finally:
        if bob is not None:
            bob.close()
        if d is not None:
            d.stop()
        stack.stop()
        remove_stack_dir(stack)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
