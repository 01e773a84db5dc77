"""`make demo`'s script reaches its ready line and leaves nothing running."""

import os
import subprocess
from pathlib import Path

from coopgate import BINARY

REPO = Path(__file__).resolve().parents[2]


def _demo_processes():
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "coopgate-demo." in l and "ps -eo" not in l]


def test_demo_reaches_ready_and_stops_cleanly():
    env = dict(os.environ, DEMO_ONESHOT="1", COOPGATE=BINARY)
    p = subprocess.run([str(REPO / "tests" / "fixtures" / "demo.sh")], env=env,
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "coopgate demo ready" in p.stdout
    assert "IMAP      host localhost" in p.stdout and "JID       bob@example.org" in p.stdout
    assert "daemon: running" in p.stdout
    assert "nothing left running" in p.stdout
    assert _demo_processes() == []
