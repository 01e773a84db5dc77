"""Attachments by mail, against the real Postfix and Dovecot of the stack: a file
sent to the list reaches the members byte for byte while the gateway keeps it
only encrypted in the SchutzBox; a file over the sender's quota (box.quota_mb)
is not passed on, the members get the text with a line saying so and the sender
a reply naming the quota; a file over smtp.max_attachment_size stays in the box
and the members get a line instead of the file.

Each test runs its own coopgate (fresh data dir) against the session's stack.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from coopgate import cli, query, token, wait_for
from helpers import make_message
from test_email_send import (  # noqa: F401  (gateway: a fixture)
    by_msgid, copies, gateway, list_addr, text_of, wait_outbox_settled)

def wait_copy(stack, user, pred, timeout=40.0):
    return wait_for(f"a mail for {user}", lambda: copies(stack, user, pred), timeout)[0]


def a_pdf(size: int, marker: bytes) -> bytes:
    """size bytes that look like a PDF, carry marker twice and do not compress."""
    head = b"%PDF-1.4\n%" + marker + b"\n"
    tail = b"\n" + marker + b"\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)) + tail


def post_with_file(stack, subject, body, data, filename, sender="alice"):
    msg = make_message(stack.address(sender), list_addr(stack), subject, body)
    msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    assert stack.send_mail(stack.address(sender), list_addr(stack), msg, user=sender) == {}
    return msg["Message-ID"]


def files_of(m) -> list:
    return [(p.get_filename(), p.get_content()) for p in m.iter_attachments()]


def assert_nowhere_under(data_dir: Path, data: bytes, marker: bytes) -> None:
    """Neither the file's marker nor a line of its base64 (as a mail carries it)
    is in any file of the data dir: the database, its WAL, the box, the keys."""
    b64 = base64.b64encode(data)
    lines = [b64[i:i + 76] for i in range(76, len(b64) - 76, 76 * 97)]
    assert lines
    checked = 0
    for f in Path(data_dir).rglob("*"):
        if not f.is_file():
            continue
        content = f.read_bytes()
        checked += 1
        assert marker not in content, f
        for line in lines:
            assert line not in content, f
    assert checked >= 2  # coopgate.db and master.key at least


def test_a_file_reaches_members_unchanged_and_is_kept_only_encrypted(stack, gateway):
    gw = gateway()
    gw.start()
    marker = f"COOPGATE-PLAINTEXT-{token()}".encode()
    pdf = a_pdf(300_000, marker)
    msgid = post_with_file(stack, f"Report {token()}", "The report is attached.\n",
                           pdf, "report.pdf")
    got = wait_copy(stack, "bob", by_msgid(msgid))
    assert files_of(got) == [("report.pdf", pdf)]
    assert "[File:" not in text_of(got)
    assert text_of(got).startswith("The report is attached.")
    wait_outbox_settled(gw)
    # the row points at a blob and holds no bytes
    rows = query(gw.data_dir, "SELECT a.name, a.size, a.state, a.blob_id, a.data IS NULL "
                 "FROM attachment a JOIN message m ON m.id = a.message_id "
                 "WHERE m.message_id = ?", msgid.strip("<>"))
    assert len(rows) == 1
    name, size, state, blob_id, no_data = rows[0]
    assert (name, size, state, no_data) == ("report.pdf", len(pdf), "stored", 1)
    assert re.fullmatch(r"[0-9a-f]{64}", blob_id)
    assert_nowhere_under(gw.data_dir, pdf, marker)
    gw.stop()
    # and the box gives the same bytes back
    out = Path(gw.data_dir).parent / "report.out"
    cli(gw.conf, "box", "get", blob_id, "-o", out, check=0)
    assert out.read_bytes() == pdf


def test_a_file_over_the_senders_quota_is_not_passed_on_and_the_sender_told(
        stack, gateway):
    gw = gateway(box={"quota_mb": 1})
    gw.start()
    marker = f"COOPGATE-PLAINTEXT-{token()}".encode()
    big = a_pdf(2 * 1024 * 1024, marker)
    subject = f"Holiday film {token()}"
    msgid = post_with_file(stack, subject, "Here is the film.\n", big, "film.pdf")
    got = wait_copy(stack, "bob", by_msgid(msgid))
    assert files_of(got) == []
    text = text_of(got)
    assert text.startswith("Here is the film.\n\n[File: film.pdf (2 MB) not passed on: "
                           "over the sender's SchutzBox quota: 0 bytes of box.quota_mb "
                           "= 1 MB used]\n"), text
    # the sender gets one reply, naming the file, the quota and the usage
    notice = wait_copy(stack, "alice", lambda m: m["In-Reply-To"] == msgid)
    assert str(notice["From"]) == f"dev+request@{stack.LIST_DOMAIN}"
    assert str(notice["Auto-Submitted"]) == "auto-replied"
    assert str(notice["Subject"]) == f"File not passed on: {subject}"
    body = text_of(notice)
    assert "  film.pdf (2 MB)\n" in body
    assert "(box.quota_mb = 1)" in body and "yours holds 0 bytes" in body
    assert "The rest of your message went out to the list as usual." in body
    wait_outbox_settled(gw)
    assert len(copies(stack, "alice", lambda m: m["In-Reply-To"] == msgid)) == 1
    assert query(gw.data_dir, "SELECT state, blob_id, data IS NULL FROM attachment") == \
        [("refused", None, 1)]
    assert_nowhere_under(gw.data_dir, big, marker)


def test_a_file_over_the_lists_attachment_limit_becomes_a_line(stack, gateway):
    gw = gateway(smtp={"max_attachment_size": 10240})
    gw.start()
    marker = f"COOPGATE-PLAINTEXT-{token()}".encode()
    pdf = a_pdf(50_000, marker)
    msgid = post_with_file(stack, f"Minutes {token()}", "Minutes attached.\n", pdf,
                           "minutes.pdf")
    got = wait_copy(stack, "bob", by_msgid(msgid))
    assert files_of(got) == []
    assert text_of(got).startswith(
        "Minutes attached.\n\n[File: minutes.pdf (48.8 kB) not attached: over this "
        "list's limit of 10 kB]\n"), text_of(got)
    wait_outbox_settled(gw)
    # kept in the box all the same (the room gets it by upload)
    assert query(gw.data_dir, "SELECT state, blob_id IS NOT NULL, data IS NULL "
                 "FROM attachment") == [("stored", 1, 1)]
    assert_nowhere_under(gw.data_dir, pdf, marker)
