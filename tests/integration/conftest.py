"""pytest fixtures for coopgate's integration tests: one real-server stack per session.

    /usr/bin/python3 -m pytest -q tests/integration

KEEP_STACK=1 keeps the stack's directory (logs, maildirs) after the run;
STACK_DIR=/tmp/cgstack-XXXX reuses a stack started by hand with
tests/fixtures/stack.sh start (and leaves it running).
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import Stack, remove_stack_dir, start_stack, write_coopgate_config  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    if os.environ.get("STACK_DIR"):
        s = Stack(os.environ["STACK_DIR"], owned=False)
        yield s
        return
    s = start_stack()
    try:
        yield s
    finally:
        try:
            s.stop()
        finally:
            if os.environ.get("KEEP_STACK"):
                print(f"\nKEEP_STACK: stack files kept in {s.dir}", file=sys.stderr)
            remove_stack_dir(s)


@pytest.fixture
def coopgate_conf(stack, tmp_path):
    """Path of a coopgate.conf in tmp_path pointing at the stack (defaults only)."""
    return write_coopgate_config(stack, tmp_path)
