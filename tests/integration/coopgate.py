"""Running the coopgate binary in tests: CLI calls and a daemon under test.

The binary is $COOPGATE (set by `make integration`; build/san/coopgate under
SAN=1), else ./coopgate at the top of the repository.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("COOPGATE", str(REPO / "coopgate"))


def cli(conf, *args, check=None, timeout=60):
    """Run `coopgate -c conf args...`; returns CompletedProcess (text)."""
    cmd = [BINARY] + (["-c", str(conf)] if conf else []) + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{cmd} exited {p.returncode}, wanted {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


class Daemon:
    """`coopgate run --foreground` as a child process, logging to a file."""

    def __init__(self, conf, log_path):
        self.conf = Path(conf)
        self.log_path = Path(log_path)
        self.proc = None

    def start(self, ready="running", timeout=20):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BINARY, "-c", str(self.conf), "run", "--foreground"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if ready:
            self.wait_log(ready, timeout)
        return self

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, needle, timeout=20, start=0):
        """Wait until `needle` appears in the log (after offset start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text()[start:]:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode} before "
                                     f"logging {needle!r}:\n{self.log_text()}")
            time.sleep(0.05)
        raise AssertionError(f"no {needle!r} in the log within {timeout}s:\n{self.log_text()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.kill()


def db(data_dir):
    """A read connection to the daemon's store."""
    return sqlite3.connect(f"file:{Path(data_dir) / 'coopgate.db'}?mode=ro", uri=True)


def token() -> str:
    """A short unique tag for subjects and bodies."""
    return uuid.uuid4().hex[:10]


def query(data_dir, sql, *args):
    """Rows of a read-only query on the daemon's store."""
    con = db(data_dir)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def wait_for(what, fn, timeout=20.0, interval=0.1):
    """Poll fn() until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def empty_gateway_mailbox(stack) -> None:
    """A new store relays whatever waits in the gateway's mailbox: start
    (and leave) it empty."""
    client = stack.imap_login("gateway")
    try:
        for box in ("INBOX", "Processed"):
            typ, data = client.select(box)
            if typ == "OK" and int(data[0] or 0) > 0:
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()
    finally:
        client.logout()
