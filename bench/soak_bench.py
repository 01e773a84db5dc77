"""Soak benchmark: coopgate at steady mixed load for SOAK_SECONDS (default
3600), RSS and open file descriptors of the daemon sampled every
SOAK_SAMPLE seconds (default 60) and reported as start/end/max.  Flat is the
goal: a leak shows as an end far above the start.

The load, every SOAK_PERIOD seconds (default 2): one mail from alice to the
list (SMTP submission, authenticated, through Postfix and Dovecot) and one
room line from bob (XMPP).  Every SOAK_HOSTILE_EVERY-th step (default 10)
adds a hostile input, taken in turn from:
  - the mails in SOAK_HOSTILE_MAIL (a glob, default every
    tests/fuzz/corpus/mail/finding-*.eml), delivered by LMTP straight into
    the gateway's mailbox (Postfix would refuse some for their size);
  - the room lines in SOAK_HOSTILE_CHAT (";"-separated, default the
    bracketed URLs of finding 1; set it empty for none).
Everything stays on 127.0.0.1.  Exits 1 when the daemon dies during the
soak (a crash is a finding), else prints figures and asserts nothing else.
"""

import glob
import os
import shutil
import smtplib
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
if len(sys.argv) > 1:
    os.environ["COOPGATE"] = sys.argv[1]

from coopgate import Daemon, cli  # noqa: E402
from helpers import make_message, remove_stack_dir, start_stack, write_coopgate_config  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "3600"))
SAMPLE = float(os.environ.get("SOAK_SAMPLE", "60"))
PERIOD = float(os.environ.get("SOAK_PERIOD", "2"))
HOSTILE_EVERY = int(os.environ.get("SOAK_HOSTILE_EVERY", "10"))
HOSTILE_MAIL = os.environ.get("SOAK_HOSTILE_MAIL",
                              str(REPO / "tests/fuzz/corpus/mail/finding-*.eml"))
HOSTILE_CHAT = os.environ.get("SOAK_HOSTILE_CHAT", "https://[x;https://[::1")


def proc_sample(pid):
    """(RSS in kB, open fds) of a running process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def db_counts(data_dir):
    """(messages stored, outbox rows pending): whether the daemon keeps up."""
    try:
        con = sqlite3.connect(f"file:{data_dir / 'coopgate.db'}?mode=ro", uri=True,
                              timeout=10)
        try:
            return (con.execute("SELECT count(*) FROM message").fetchone()[0],
                    con.execute("SELECT count(*) FROM outbox WHERE state = 'pending'")
                    .fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return (-1, -1)


def summary(what, values, unit, fmt):
    """start/end/max, and the growth from the first sample under load (the
    heap takes its working size with the first big mail) to the end."""
    u = f" {unit}" if unit else ""
    warm = f", end - first under load {fmt(values[-1] - values[1])}{u}" \
        if len(values) > 2 else ""
    print(f"bench: soak: {what}: start {fmt(values[0])}{u}, "
          f"end {fmt(values[-1])}{u}, max {fmt(max(values))}{u}{warm} "
          f"({len(values)} samples)", flush=True)


class Load:
    """One step of the mixed load at a time."""

    def __init__(self, stack, room, bob, lists):
        self.stack, self.room, self.bob, self.lists = stack, room, bob, lists
        self.mails = sorted(glob.glob(HOSTILE_MAIL))
        self.lines = [s for s in HOSTILE_CHAT.split(";") if s]
        self.step = self.sent_mail = self.sent_lines = 0
        self.hostile_mail = self.hostile_lines = 0

    def run_step(self):
        self.step += 1
        tok = uuid.uuid4().hex[:10]
        m = make_message(self.stack.address("alice"), f"soak@{self.lists}",
                         f"soak {self.step}", f"mail {self.step} {tok}\n")
        self.stack.send_mail(self.stack.address("alice"), f"soak@{self.lists}", m)
        self.sent_mail += 1
        self.bob.send_room(self.room, f"line {self.step} {tok}")
        self.sent_lines += 1
        if HOSTILE_EVERY > 0 and self.step % HOSTILE_EVERY == 0:
            self.hostile(self.step // HOSTILE_EVERY)

    def hostile(self, k):
        """Alternately a hostile mail and a hostile room line."""
        if self.mails and (k % 2 == 1 or not self.lines):
            path = self.mails[(k // 2) % len(self.mails)]
            with smtplib.LMTP("127.0.0.1", self.stack.LMTP_PORT) as lmtp:
                lmtp.sendmail("mallory@example.net",
                              [f"gateway@{self.stack.MAIL_DOMAIN}"],
                              Path(path).read_bytes())
            self.hostile_mail += 1
        elif self.lines:
            self.bob.send_room(self.room, self.lines[(k // 2) % len(self.lines)])
            self.hostile_lines += 1


def soak(d, load, data_dir):
    pid = d.proc.pid
    rss, fds = [], []
    start = time.monotonic()
    next_sample = start
    next_step = start
    while True:
        now = time.monotonic()
        if d.proc.poll() is not None:
            print(f"bench: soak: FAIL: the daemon exited ({d.proc.returncode}) after "
                  f"{now - start:.0f} s, at step {load.step}; its log ends:\n"
                  + "\n".join(d.log_text().splitlines()[-15:]), flush=True)
            return 1
        if now >= next_sample:
            r, f = proc_sample(pid)
            rss.append(r)
            fds.append(f)
            stored, pending = db_counts(data_dir)
            print(f"bench: soak: t={now - start:5.0f} s  RSS {r / 1024:6.1f} MB  "
                  f"fds {f:3d}  stored {stored}, outbox pending {pending}  "
                  f"sent {load.sent_mail} mails + {load.sent_lines} lines "
                  f"(hostile {load.hostile_mail} + {load.hostile_lines})", flush=True)
            next_sample += SAMPLE
            if now - start >= SECONDS:
                break
        if now >= next_step and now - start < SECONDS:
            load.run_step()
            next_step += PERIOD
        time.sleep(max(0.0, min(next_step, next_sample) - time.monotonic()))
    summary("RSS", rss, "MB", lambda v: f"{v / 1024:.1f}")
    summary("open fds", fds, "", str)
    print(f"bench: soak: {SECONDS:.0f} s, {load.sent_mail} mails and {load.sent_lines} "
          f"room lines sent, {load.hostile_mail} hostile mails and "
          f"{load.hostile_lines} hostile room lines among them; "
          f"{db_counts(data_dir)[0]} messages stored", flush=True)
    return 0


def main():
    stack = start_stack()
    tmp = Path(tempfile.mkdtemp(prefix="cgsoak."))
    d = bob = None
    rc = 1
    try:
        lists = stack.LIST_DOMAIN
        room = f"soak{uuid.uuid4().hex[:8]}@{stack.MUC_DOMAIN}"
        channels = [{"name": "soak", "address": f"soak@{lists}", "room": room,
                     "post_layer": "member", "crm_context": "none", "chat_batch": 10}]
        members = [{"address": stack.address("alice"), "name": "Alice Example",
                    "layer": "core", "channels": ["soak"], "delivery": "each"},
                   {"address": stack.address("bob"), "name": "Bob Example",
                    "jid": stack.jid("bob"), "layer": "member", "channels": ["soak"],
                    "delivery": "each"}]
        conf = write_coopgate_config(stack, tmp, gateway={"log_level": "info"},
                                     channels=channels, members=members)
        cli(conf, "init", check=0)
        d = Daemon(conf, tmp / "coopgate.log").start()
        d.wait_log(f"joined {room} as gateway", 30)
        bob = stack.xmpp_client("bob")
        bob.join_room(room, "bob")
        load = Load(stack, room, bob, lists)
        print(f"bench: soak: {SECONDS:.0f} s, a mail and a room line every "
              f"{PERIOD:g} s, a hostile input every {HOSTILE_EVERY} steps "
              f"({len(load.mails)} hostile mails, {len(load.lines)} hostile lines "
              f"in turn), sampled every {SAMPLE:g} s", flush=True)
        rc = soak(d, load, tmp / "data")
    finally:
        if bob is not None:
            bob.close()
        if d is not None:
            d.stop()
        stack.stop()
        remove_stack_dir(stack)
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
