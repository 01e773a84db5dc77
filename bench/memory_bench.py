"""Memory benchmark: RSS of `coopgate run` with 100 channels and 10,000
members (each in 1 to 3 channels), connected to real Dovecot, Postfix and
Prosody, after start-up and after a post to a 1,000-member channel has been
fanned out, and again 10 s later (the daemon gives freed heap back when
idle).  Prints figures; asserts nothing.  Targets: RSS < 16 MB, and private
memory (USS, from smaps_rollup) <= 8 MB; PSS beside them.  USS counts private
*clean* pages too: library text that only this process maps (libgnutls,
libstemmer, ... on a box where nothing else uses them) is private clean, and
shared once another process maps the same library.  Private dirty is the
memory the daemon itself writes: heap, stacks, library data."""

import os
import sqlite3
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

N_CHANNELS = 100
N_MEMBERS = 10_000


def rss_kb(pid, field="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def smaps_kb(pid):
    """USS (private clean + dirty) and PSS from /proc/PID/smaps_rollup."""
    got = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        got[key] = int(rest.split()[0])
    uss = got.get("Private_Clean", 0) + got.get("Private_Dirty", 0)
    return uss, got.get("Pss", 0), got.get("Private_Dirty", 0)


def memory_line(pid):
    uss, pss, dirty = smaps_kb(pid)
    return (f"RSS {rss_kb(pid) / 1024:.1f} MB, PSS {pss / 1024:.1f} MB, "
            f"USS (private) {uss / 1024:.1f} MB, of it private dirty "
            f"{dirty / 1024:.1f} MB (target: private <= 8 MB)")


def main():
    stack = start_stack()
    tmp = Path(tempfile.mkdtemp(prefix="cgmem."))
    try:
        lists, muc = stack.LIST_DOMAIN, stack.MUC_DOMAIN
        channels = [{"name": f"ch{i:03d}", "address": f"ch{i:03d}@{lists}",
                     "room": f"ch{i:03d}@{muc}", "post_layer": "member"}
                    for i in range(N_CHANNELS)]
        members = []
        for i in range(N_MEMBERS):
            chans = sorted({f"ch{i % N_CHANNELS:03d}", f"ch{(i * 7) % N_CHANNELS:03d}"})
            if i < 1000:
                chans = sorted(set(chans) | {"ch099"})
            members.append({"address": f"u{i:05d}@{stack.MAIL_DOMAIN}",
                            "name": f"User {i}", "layer": "member", "channels": chans})
        members.append({"address": stack.address("alice"), "name": "Alice Example",
                        "layer": "core", "channels": ["ch099"]})
        conf = write_coopgate_config(stack, tmp, channels=channels, members=members,
                                     gateway={"log_level": "info"})
        cli(conf, "init", check=0, timeout=600)
        d = Daemon(conf, tmp / "coopgate.log").start(timeout=120)
        time.sleep(5)  # bridges connected, rooms joined
        print(f"bench: RSS after start: {rss_kb(d.proc.pid) / 1024:.1f} MB "
              f"({N_CHANNELS} channels, {N_MEMBERS} members, all bridges connected): "
              f"{rss_kb(d.proc.pid, 'RssAnon') / 1024:.1f} MB private heap/stack, "
              f"{rss_kb(d.proc.pid, 'RssFile') / 1024:.1f} MB mapped library and file pages")
        print(f"bench: after start: {memory_line(d.proc.pid)}")
        m = make_message(stack.address("alice"), f"ch099@{lists}", "hello all", "hi\n")
        stack.send_mail(stack.address("alice"), f"ch099@{lists}", m)
        data = tmp / "data"
        deadline = time.monotonic() + 300
        done = 0
        while time.monotonic() < deadline:
            con = sqlite3.connect(f"file:{data / 'coopgate.db'}?mode=ro", uri=True, timeout=10)
            done = con.execute("SELECT count(*) FROM outbox WHERE bridge = 'email' "
                               "AND state = 'done'").fetchone()[0]
            con.close()
            if done >= 1000:
                break
            time.sleep(0.2)
        print(f"bench: RSS after fanning one post out to {done} members: "
              f"{rss_kb(d.proc.pid) / 1024:.1f} MB now, "
              f"{rss_kb(d.proc.pid, 'VmHWM') / 1024:.1f} MB peak (target < 16 MB)")
        print(f"bench: after the fan-out: {memory_line(d.proc.pid)}")
        time.sleep(10)
        print(f"bench: 10 s after the fan-out: {memory_line(d.proc.pid)}")
        d.stop()
    finally:
        stack.stop()
        remove_stack_dir(stack)
        os.system(f"rm -rf '{tmp}'")


if __name__ == "__main__":
    main()
