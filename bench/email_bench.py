"""Email benchmarks with real servers; prints figures, asserts nothing.

  ingest   N mails already in the gateway's IMAP mailbox while coopgate
           is stopped; coopgate starts; mails/s from its start until all N
           are in the store.  Twice: mails members submitted through
           Postfix (proven senders: the usual case), then mails put into
           the mailbox with no proof of sender (each held, and a
           confirmation request mailed: a forgery wave).
  fan-out  one post to a channel with M members; recipients/s from the
           moment the post is stored until Postfix has accepted (250) all
           M deliveries (outbox rows done).  Three ways: as the stack comes
           (Postfix offers XVERP to 127.0.0.1: many recipients per
           transaction), then with `smtpd_authorized_verp_clients` emptied
           (as a stock Postfix or a hosted submission server: batches of
           smtp.max_recipients with the plain bounce address), then the same
           with smtp.verp = "always" (one transaction per recipient).  Each
           way on a freshly started daemon (1 s after its start): "cold" is
           its first post, "warm" the next.  Between runs the bench waits
           until Postfix's queue is empty (postqueue -p), so one run's
           deliveries to Dovecot do not slow the next.
Targets (issue 15): ingest >= 1,000 mails/s; fan-out >= 1,000/s cold.
"""

import os
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
if len(sys.argv) > 1:
    os.environ["COOPGATE"] = sys.argv[1]

from coopgate import Daemon, cli  # noqa: E402
from helpers import make_message, remove_stack_dir, start_stack, write_coopgate_config  # noqa: E402

N_MAILS = int(os.environ.get("BENCH_MAILS", "2000"))
N_MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000"))


def count(data, sql):
    con = sqlite3.connect(f"file:{data / 'coopgate.db'}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def wait_until(fn, target, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn() >= target:
            return time.monotonic()
        time.sleep(0.01)
    raise SystemExit(f"bench: timed out waiting ({fn()} of {target})")


def postfix_dir(stack):
    return str(Path(stack.dir) / "postfix")


def wait_queue_empty(stack, timeout=300):
    """Until Postfix has handed every queued mail on (to Dovecot)."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["postqueue", "-c", postfix_dir(stack), "-p"],
                             capture_output=True, text=True).stdout
        if "Mail queue is empty" in out:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: Postfix's queue not empty after {timeout} s:\n{out[-500:]}")
        time.sleep(0.2)


def fanout(stack, data, subject, how):
    wait_queue_empty(stack)
    lists = stack.LIST_DOMAIN
    m = make_message(stack.address("alice"), f"big@{lists}", subject,
                     "one post, many members\n")
    # submitted as alice (authenticated), so the post is not held for a
    # sender check (sender_auth.c) as an unauthenticated one would be
    assert stack.send_mail(stack.address("alice"), f"big@{lists}", m, user="alice") == {}
    sql_rows = ("SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message_id "
                f"WHERE o.bridge = 'email' AND m.subject = '{subject}'")
    t0 = wait_until(lambda: count(data, sql_rows), N_MEMBERS, 60)
    t1 = wait_until(lambda: count(data, sql_rows + " AND o.state = 'done'"), N_MEMBERS, 300)
    txns = count(data, sql_rows.replace("count(*)", "count(DISTINCT o.far_id)"))
    print(f"bench: SMTP fan-out {how}: {N_MEMBERS} recipients in {t1 - t0:.2f} s = "
          f"{N_MEMBERS / (t1 - t0):.0f} recipients/s handed to Postfix in {txns} "
          f"transaction(s) (target >= 1000; mlmmj: 21/s)", flush=True)
    return N_MEMBERS / (t1 - t0)


def cold_and_warm(stack, data, conf, log, how):
    """A fresh daemon's first post (cold) and its second (warm)."""
    d = Daemon(conf, log).start(ready=None)
    time.sleep(1.0)  # a post that comes a second after the start
    tag = how.split(":")[0]
    cold = fanout(stack, data, f"{tag} cold", f"{how}, cold (first post after start)")
    warm = fanout(stack, data, f"{tag} warm", f"{how}, warm (second post)")
    return d, cold, warm


def main():
    stack = start_stack()
    tmp = Path(tempfile.mkdtemp(prefix="cgbench."))
    try:
        lists = stack.LIST_DOMAIN
        members = [{"address": f"m{i:04d}@{stack.MAIL_DOMAIN}", "name": f"Member {i}",
                    "layer": "member", "channels": ["big"]} for i in range(N_MEMBERS)]
        members.append({"address": stack.address("alice"), "name": "Alice Example",
                        "layer": "core", "channels": ["big", "quiet"]})
        conf = write_coopgate_config(
            stack, tmp, xmpp=None, gateway={"log_level": "warn"},
            channels=[{"name": "quiet", "address": f"quiet@{lists}", "post_layer": "guest",
                       "room": f"quiet@{stack.MUC_DOMAIN}"},
                      {"name": "big", "address": f"big@{lists}", "post_layer": "member",
                       "room": f"big@{stack.MUC_DOMAIN}"}],
            members=members)
        data = tmp / "data"
        cli(conf, "init", check=0)

        # --- ingest, as mail arrives from members: submitted (SASL) through
        # Postfix, which records the login in its Received header (the
        # sender proof); Postfix delivers the list domain to the gateway's
        # mailbox.  Then as forged mail: delivered straight into the mailbox
        # with no such record, so every post is held and its sender is
        # mailed a confirmation request (the slow path, a forgery wave).
        d = None
        for how in ("submitted by members", "unproven (each held, confirmation mailed)"):
            if d is not None:
                d.stop()
            before = count(data, "SELECT count(*) FROM message")
            if how.startswith("submitted"):
                client = stack.smtp(user="alice")
                for i in range(N_MAILS):
                    m = make_message(stack.address("alice"), f"quiet@{lists}",
                                     f"bench {i}", f"mail number {i}\n")
                    client.sendmail(stack.address("alice"), [f"quiet@{lists}"], m.as_bytes())
                client.quit()
                imap = stack.imap_login("gateway")
                wait_until(lambda: int(imap.status("INBOX", "(MESSAGES)")[1][0]
                                       .split()[-1].rstrip(b")")), N_MAILS, 120)
                imap.logout()
            else:
                with smtplib.LMTP("127.0.0.1", stack.LMTP_PORT) as lmtp:
                    for i in range(N_MAILS):
                        m = make_message(stack.address("alice"), f"quiet@{lists}",
                                         f"forged {i}", f"mail number {i}\n")
                        lmtp.sendmail(stack.address("alice"), [f"gateway@{stack.MAIL_DOMAIN}"],
                                      m.as_bytes())
            # log_level warn logs no "running" line: the clock starts with
            # the process (start-up included, so the figure errs low)
            t0 = time.monotonic()
            d = Daemon(conf, tmp / "coopgate.log").start(ready=None)
            t1 = wait_until(lambda: count(data, "SELECT count(*) FROM message"),
                            before + N_MAILS, 300)
            print(f"bench: IMAP ingest, {how}: {N_MAILS} mails in {t1 - t0:.2f} s = "
                  f"{N_MAILS / (t1 - t0):.0f} mails/s (target >= 1000)", flush=True)

        d.stop()
        log = tmp / "coopgate.log"
        channels = [{"name": "quiet", "address": f"quiet@{lists}", "post_layer": "guest",
                     "room": f"quiet@{stack.MUC_DOMAIN}"},
                    {"name": "big", "address": f"big@{lists}", "post_layer": "member",
                     "room": f"big@{stack.MUC_DOMAIN}"}]
        figures = []

        # --- fan-out, with XVERP (the fixture's default) and without
        d, cold, warm = cold_and_warm(stack, data, conf, log,
                                      "with XVERP: up to 500 per transaction")
        figures.append(("with XVERP", cold, warm))
        d.stop()
        subprocess.run(["postconf", "-c", postfix_dir(stack), "-e",
                        "smtpd_authorized_verp_clients ="], check=True)
        subprocess.run(["postfix", "-c", postfix_dir(stack), "reload"], check=True,
                       capture_output=True)
        time.sleep(1.0)
        d, cold, warm = cold_and_warm(
            stack, data, conf, log,
            "without XVERP: batches of up to 100 with the plain bounce address")
        figures.append(("without XVERP", cold, warm))
        d.stop()
        conf = write_coopgate_config(
            stack, tmp, xmpp=None, gateway={"log_level": "warn"},
            smtp={"verp": "always"}, channels=channels, members=members)
        d, cold, warm = cold_and_warm(
            stack, data, conf, log,
            "without XVERP, smtp.verp = always: one transaction per recipient")
        figures.append(("smtp.verp = always", cold, warm))
        for how, cold, warm in figures:
            print(f"bench: fan-out {how}: cold {cold:.0f}/s, warm {warm:.0f}/s "
                  f"(recipients handed to Postfix; target >= 1000 cold)")
        rss = Path(f"/proc/{d.proc.pid}/status").read_text().split("VmHWM:")[1].split()[0]
        print(f"bench: coopgate peak RSS {int(rss) / 1024:.1f} MB "
              f"({N_MEMBERS + 1} members, 2 channels, after the runs above)")
        d.stop()
    finally:
        stack.stop()
        remove_stack_dir(stack)
        os.system(f"rm -rf '{tmp}'")


if __name__ == "__main__":
    main()
