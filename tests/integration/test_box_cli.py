"""The SchutzBox from the command line: put, get, ls, verify, gc."""

import os
import re
from pathlib import Path

import pytest

from coopgate import cli

CONF = """\
gateway = {{ domain = "lists.example.org"; data_dir = "{data}"; }};
"""


@pytest.fixture
def conf(tmp_path):
    p = tmp_path / "coopgate.conf"
    p.write_text(CONF.format(data=tmp_path / "data"))
    cli(p, "init", check=0)
    return p


def blob_file(tmp_path, blob_id):
    files = [f for f in (tmp_path / "data" / "box").rglob("*") if f.name == blob_id]
    assert len(files) == 1
    return files[0]


def test_put_get_round_trip_and_dedup(conf, tmp_path):
    payload = os.urandom(200_000) + b"COOPGATE-PLAINTEXT-MARKER"
    src = tmp_path / "report.pdf"
    src.write_bytes(payload)
    blob_id = cli(conf, "box", "put", src, check=0).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", blob_id)
    assert cli(conf, "box", "put", src, check=0).stdout.strip() == blob_id
    assert len([f for f in (tmp_path / "data" / "box").rglob("*") if f.is_file()
                and f.name == blob_id]) == 1
    out = tmp_path / "out.pdf"
    cli(conf, "box", "get", blob_id, "-o", out, check=0)
    assert out.read_bytes() == payload
    assert blob_id in cli(conf, "box", "ls", check=0).stdout
    # Nothing under the data dir holds the plaintext.
    for f in (tmp_path / "data").rglob("*"):
        if f.is_file():
            assert b"COOPGATE-PLAINTEXT-MARKER" not in f.read_bytes(), f


def test_a_flipped_byte_is_found_and_named(conf, tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(100_000))
    blob_id = cli(conf, "box", "put", src, check=0).stdout.strip()
    assert "1 blob" in cli(conf, "box", "verify", check=0).stdout
    f = blob_file(tmp_path, blob_id)
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(f, 0o600)
    f.write_bytes(bytes(data))
    p = cli(conf, "box", "verify", check=65)
    assert blob_id in p.stdout + p.stderr
    out = tmp_path / "out.bin"
    p = cli(conf, "box", "get", blob_id, "-o", out, check=65)
    assert blob_id in p.stderr
    assert not out.exists()


def test_unknown_blob_is_named(conf):
    p = cli(conf, "box", "get", "0" * 64, check=65)
    assert "0" * 64 in p.stderr and "no such blob" in p.stderr
