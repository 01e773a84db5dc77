"""`coopgate inspect FILE.eml`: the daemon's own parsing, routing, flagging
and trimming, against the live store read-only, storing nothing."""

import sqlite3
from pathlib import Path

import pytest

from coopgate import cli

CONF = """\
gateway = {{ domain = "lists.example.org"; data_dir = "{data}"; }};
channels = ( {{ name = "dev"; address = "dev@lists.example.org";
               room = "dev@conference.example.org"; }} );
members = ( {{ address = "alice@example.org"; name = "Alice Example"; layer = "core";
               org = "Example eG"; channels = [ "dev" ]; }} );
"""

REPLY = """\
From: Alice Example <alice@example.org>
To: dev@lists.example.org
Delivered-To: dev@lists.example.org
Subject: Re: Plan
Message-ID: <reply-1@example.org>
In-Reply-To: <root-1@example.org>
Content-Type: text/plain; charset=utf-8

Sounds good, let's meet on Friday.

On Mon, 23 Nov 2026 at 10:00, Bob <bob@example.org> wrote:
> Shall we meet this week?
> Bob

-- 
Alice Example, Example eG
"""


@pytest.fixture
def conf(tmp_path):
    p = tmp_path / "coopgate.conf"
    p.write_text(CONF.format(data=tmp_path / "data"))
    cli(p, "init", check=0)
    return p


def inspect(conf, tmp_path, text):
    f = tmp_path / "mail.eml"
    f.write_text(text)
    out = cli(conf, "inspect", f, check=0).stdout
    head, _, body = out.partition("\n\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines())
    return fields, body


def test_member_reply_is_trimmed_for_the_room(conf, tmp_path):
    fields, body = inspect(conf, tmp_path, REPLY)
    assert fields["Channel"] == "dev"
    assert fields["From"] == "Alice Example <alice@example.org>"
    assert fields["Contact"] == "Alice Example, Example eG"
    assert fields["Layer"] == "core"
    assert fields["Thread"] == "new"  # its parent is not in the store
    # a file carries no trace of the trusted MTA: in Alice's name, unproven
    assert fields["Flags"] == "held,unverified"
    assert fields["Attachments"] == "0"
    assert body.strip() == "Sounds good, let's meet on Friday."


def test_auto_reply_is_flagged_and_not_relayed(conf, tmp_path):
    fields, _ = inspect(conf, tmp_path, REPLY.replace(
        "Subject: Re: Plan", "Subject: Out of office\nAuto-Submitted: auto-replied"))
    assert "auto-generated" in fields["Flags"]
    assert "never relayed" in fields["Decision"]


def test_request_address_is_routed_to_the_command_handler(conf, tmp_path):
    fields, _ = inspect(conf, tmp_path, REPLY.replace(
        "Delivered-To: dev@", "Delivered-To: dev+request@"))
    assert fields["Channel"] == "dev"
    assert fields["Decision"].startswith("+request commands")


def test_guest_post_would_be_held(conf, tmp_path):
    fields, _ = inspect(conf, tmp_path, REPLY.replace(
        "From: Alice Example <alice@example.org>", "From: Stranger <s@example.net>"))
    assert fields["Contact"].startswith("unknown")
    assert fields["Layer"] == "guest"
    # below post_layer, and nothing proves the stranger sent it: a
    # promotion would not release it without the sender's confirmation
    assert fields["Flags"] == "held,unverified"
    assert "below the channel's post_layer and not verified" in fields["Decision"]


def test_guest_post_without_sender_proof_is_only_held(tmp_path):
    p = tmp_path / "coopgate.conf"
    p.write_text(CONF.format(data=tmp_path / "data")
                 + 'posting = { sender_proof = "off"; };\n')
    cli(p, "init", check=0)
    fields, _ = inspect(p, tmp_path, REPLY.replace(
        "From: Alice Example <alice@example.org>", "From: Stranger <s@example.net>"))
    assert fields["Flags"] == "held"
    assert fields["Decision"] == "held: sender below the channel's post_layer"


def test_inspect_stores_nothing(conf, tmp_path):
    db = tmp_path / "data" / "coopgate.db"
    inspect(conf, tmp_path, REPLY)
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM message").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM contact WHERE source = 'auto'").fetchone()[0] == 0


def test_unreadable_or_garbage_input_names_the_file(conf, tmp_path):
    p = cli(conf, "inspect", tmp_path / "missing.eml", check=65)
    assert "missing.eml" in p.stderr
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"\x00\x01\x02 not a mail")
    p = cli(conf, "inspect", bad, check=65)
    assert f"{bad}: not a MIME message" in p.stderr


TRIM_CORPUS = Path(__file__).resolve().parents[1] / "trim"


@pytest.mark.parametrize("case", [
    "gmail_android_de",        # attribution wrapped over two lines
    "outlook_desktop_en",      # underscore separator + header block
    "html_outlook_web",        # HTML only: divRplyFwdMsg
    "html_thunderbird",        # HTML only: moz-cite-prefix + cite
    "thunderbird_inline",      # inline answers keep their quotes
    "quote_only",              # nothing new: the room gets nothing
])
def test_inspect_shows_the_trimmed_room_text_of_corpus_replies(conf, case):
    out = cli(conf, "inspect", TRIM_CORPUS / f"{case}.eml", check=0).stdout
    _, _, body = out.partition("\n\n")
    want = (TRIM_CORPUS / f"{case}.expected").read_text().rstrip("\n")
    assert body.rstrip("\n") == want
