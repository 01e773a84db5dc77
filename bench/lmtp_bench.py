"""LMTP benchmarks with real servers; prints figures, asserts nothing.

  email -> room  N mails, one at a time, over LMTP to coopgate's socket (as
                 the MTA delivers them): from the start of the LMTP
                 transaction until a slixmpp client in the room receives the
                 line (parse, store, outbox, MUC, Prosody's broadcast).
                 p50/p99/max.  Then M more through the stack's Postfix
                 (SMTP in, Postfix's queue, its LMTP client to the socket).
  ingest         K mails over C concurrent LMTP connections to a channel
                 without a room or other members: mails/s from the first
                 transaction until the last one's 250 (each 250 follows the
                 commit of that mail).
Targets (issue 15): email -> room over LMTP p50 < 20 ms, p99 < 100 ms;
ingest >= 2,000 mails/s.
BENCH_LMTP_MAILS (200), BENCH_LMTP_POSTFIX (50), BENCH_LMTP_INGEST (4000)
and BENCH_LMTP_CLIENTS (16: Postfix opens up to 20 per destination) set
N, M, K and C.
"""

import email.policy
import os
import shutil
import smtplib
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
if len(sys.argv) > 1:
    os.environ["COOPGATE"] = sys.argv[1]

from coopgate import Daemon, cli  # noqa: E402
from helpers import make_message, remove_stack_dir, start_stack, write_coopgate_config  # noqa: E402
from xmpp_bench import Seen, report  # noqa: E402

N_MAILS = int(os.environ.get("BENCH_LMTP_MAILS", "200"))
N_POSTFIX = int(os.environ.get("BENCH_LMTP_POSTFIX", "50"))
N_INGEST = int(os.environ.get("BENCH_LMTP_INGEST", "4000"))
N_CLIENTS = int(os.environ.get("BENCH_LMTP_CLIENTS", "16"))
NO_MAILBOX = {k: None for k in ("host", "port", "tls", "user", "password_file",
                                "mailbox", "ca_file")}


def lmtp_to_room(stack, sock, lists, seen):
    lat = []
    with smtplib.LMTP(str(sock)) as lmtp:
        for i in range(N_MAILS + 3):  # the first 3 warm up
            tok = f"tok{uuid.uuid4().hex[:12]}"
            m = make_message(stack.address("alice"), f"bench@{lists}", f"bench {i}",
                             f"line {i} {tok}\n")
            t0 = time.monotonic()
            lmtp.sendmail(stack.address("alice"), [f"bench@{lists}"], m.as_bytes(policy=email.policy.SMTP))
            t1 = seen.wait(tok)
            if i >= 3:
                lat.append((t1 - t0) * 1000)
    report("email -> room over LMTP (transaction start -> line in the room)", lat)
    print("bench: target email -> room over LMTP p50 < 20 ms, p99 < 100 ms", flush=True)


def postfix_to_room(stack, sock, lists, seen):
    stack.run("lmtp-on", str(sock))
    lat = []
    try:
        client = stack.smtp(user=None, port=stack.SMTP_PORT)
        for i in range(N_POSTFIX + 2):
            tok = f"tok{uuid.uuid4().hex[:12]}"
            m = make_message(stack.address("alice"), f"bench@{lists}", f"via {i}",
                             f"via postfix {i} {tok}\n")
            t0 = time.monotonic()
            client.sendmail(stack.address("alice"), [f"bench@{lists}"], m.as_bytes(policy=email.policy.SMTP))
            t1 = seen.wait(tok)
            if i >= 2:
                lat.append((t1 - t0) * 1000)
        client.quit()
    finally:
        stack.run("lmtp-off")
    report("email -> room through Postfix (SMTP accepted -> line in the room)", lat)


def replies(f, n):
    """Read n LMTP replies (multi-line ones whole); the last line of each."""
    out = []
    while len(out) < n:
        line = f.readline()
        if not line:
            raise SystemExit("bench: the LMTP server hung up")
        if line[3:4] != b"-":
            out.append(line)
    return out


def pipelined_client(sock, frm, rcpt, batch):
    """One LMTP connection sending batch as Postfix does (RFC 2920:
    MAIL, RCPT and DATA in one write), every mail answered 250."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(sock))
    f = s.makefile("rb")
    replies(f, 1)
    s.sendall(b"LHLO bench.example.org\r\n")
    replies(f, 1)
    envelope = f"MAIL FROM:<{frm}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode()
    for data in batch:
        s.sendall(envelope)
        got = replies(f, 3)
        if not got[2].startswith(b"354"):
            raise SystemExit(f"bench: {got}")
        body = data.replace(b"\r\n.", b"\r\n..")
        s.sendall(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        got = replies(f, 1)
        if not got[0].startswith(b"250"):
            raise SystemExit(f"bench: {got}")
    s.sendall(b"QUIT\r\n")
    s.close()


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest(stack, sock, lists, pid):
    per = N_INGEST // N_CLIENTS
    mails = [[make_message(stack.address("alice"), f"quiet@{lists}", f"ingest {c} {i}",
                           f"mail {i} of client {c}\n").as_bytes(policy=email.policy.SMTP) for i in range(per)]
             for c in range(N_CLIENTS)]
    errors = []

    def client(batch):
        try:
            pipelined_client(sock, stack.address("alice"), f"quiet@{lists}", batch)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(b,)) for b in mails]
    c0 = cpu_seconds(pid)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = time.monotonic()
    cpu = cpu_seconds(pid) - c0
    if errors:
        raise SystemExit(f"bench: LMTP ingest failed: {errors[0]}")
    n = per * N_CLIENTS
    print(f"bench: LMTP ingest: {n} mails over {N_CLIENTS} connections in {t1 - t0:.2f} s = "
          f"{n / (t1 - t0):.0f} mails/s, each 250 after its commit (target >= 2000); "
          f"coopgate used {cpu:.2f} s CPU = {n / cpu if cpu else 0:.0f} mails per CPU second",
          flush=True)


def main():
    stack = start_stack()
    tmp = Path(tempfile.mkdtemp(prefix="cglbench.", dir="/tmp"))
    tmp.chmod(0o755)  # Postfix's lmtp client reaches the socket
    sock = tmp / "lmtp.sock"
    d = bob = None
    try:
        lists = stack.LIST_DOMAIN
        room = f"bench{uuid.uuid4().hex[:8]}@{stack.MUC_DOMAIN}"
        channels = [{"name": "bench", "address": f"bench@{lists}", "room": room,
                     "post_layer": "member", "crm_context": "none", "chat_batch": 0},
                    {"name": "quiet", "address": f"quiet@{lists}", "post_layer": "guest",
                     "room": f"quiet{uuid.uuid4().hex[:8]}@{stack.MUC_DOMAIN}"}]
        members = [{"address": stack.address("alice"), "name": "Alice Example",
                    "layer": "core", "channels": ["bench"]},
                   {"address": stack.address("bob"), "name": "Bob Example",
                    "jid": stack.jid("bob"), "layer": "member", "channels": ["bench"],
                    "delivery": "none"}]
        common = dict(imap=NO_MAILBOX, lmtp={"listen": f"unix:{sock}"},
                      posting={"sender_proof": "off"}, channels=channels, members=members)
        conf = write_coopgate_config(stack, tmp, gateway={"log_level": "info"}, **common)
        cli(conf, "init", check=0)
        d = Daemon(conf, tmp / "coopgate.log").start()
        d.wait_log(f"joined {room} as gateway", 30)
        bob = stack.xmpp_client("bob")
        bob.join_room(room, "bob")
        seen = Seen(bob)
        lmtp_to_room(stack, sock, lists, seen)
        postfix_to_room(stack, sock, lists, seen)
        bob.close()
        bob = None
        d.stop()

        # --- ingest: no XMPP, no other members: the store is the work
        conf = write_coopgate_config(stack, tmp, gateway={"log_level": "warn"}, xmpp=None,
                                     **common)
        d = Daemon(conf, tmp / "coopgate-ingest.log").start(ready=None)
        deadline = time.monotonic() + 20
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        ingest(stack, sock, lists, d.proc.pid)
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
