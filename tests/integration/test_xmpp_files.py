"""Files across the networks, against the real Prosody (http_file_share),
Postfix and Dovecot of the stack (issue 5):

- a mail with a PDF attachment reaches the room as the sender's line plus a
  line whose body is an XEP-0363 GET URL (with XEP-0066 OOB), and that URL,
  fetched over HTTPS, returns the same bytes;
- a slixmpp client uploads a file via XEP-0363 and shares its URL in the
  room: email members get it attached, same bytes;
- a shared file above smtp.max_attachment_size reaches email as a link;
- a shared file over the sharer's SchutzBox quota reaches email as a link
  and the sharer is told privately why.
"""

from __future__ import annotations

import email.policy
import os
from email import message_from_bytes

from coopgate import query, token, wait_for
from helpers import make_message
from test_xmpp_bridge import clients, gateway, groupchat_from, new_room  # noqa: F401


def pdf_bytes(tag: str, size: int = 40_000) -> bytes:
    """A small PDF-looking file with random bytes (not compressible, not
    text), tagged so it can be told apart."""
    return (b"%PDF-1.4\n% " + tag.encode() + b"\n" + os.urandom(size) +
            b"\n%%EOF\n")


def mail_with_attachment(stack, frm, subject, body, data, filename, ctype):
    msg = make_message(stack.address(frm), f"dev@{stack.LIST_DOMAIN}", subject, body)
    maintype, subtype = ctype.split("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    assert stack.send_mail(stack.address(frm), f"dev@{stack.LIST_DOMAIN}", msg,
                           user=frm) == {}
    return msg


def attachments_of(msg):
    return [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
            for p in msg.iter_attachments()]


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


# ---------------------------------------------------------------- email -> room

def test_email_attachment_reaches_the_room_as_an_upload(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    data = pdf_bytes(tok)
    mail_with_attachment(stack, "alice", f"Minutes {tok}", f"The minutes {tok}.\n",
                         data, f"minutes-{tok}.pdf", "application/pdf")
    line = bob.wait_message(groupchat_from(room, "gateway", f"The minutes {tok}"),
                            timeout=30)
    assert "Alice Example: The minutes" in line["body"]
    url_line = bob.wait_message(
        lambda m: (m["type"] == "groupchat" and str(m["from"]) == f"{room}/gateway"
                   and m["body"].startswith("https://")
                   and f"minutes-{tok}.pdf" in m["body"]), timeout=30)
    url = url_line["body"]
    # XEP-0066: the same URL out of band, and the line is in the thread
    assert url_line["oob"]["url"] == url
    assert url_line["thread"] == line["thread"]
    # fetched over HTTPS (certificate checked against the stack's CA): the
    # same bytes the mail carried
    assert stack.http_get(url) == data
    # the URL is kept with the attachment, so a retry does not upload again
    assert query(gw.data_dir, "SELECT url FROM attachment WHERE url = ?", url) == [(url,)]
    assert "uploaded" in gw.log_text()
    assert "Authorization" not in gw.log_text()


# ---------------------------------------------------------------- room -> email

def test_file_shared_in_the_room_reaches_email_members_attached(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    data = pdf_bytes(tok, 200_000)
    url = bob.upload(data, f"plan-{tok}.pdf", "application/pdf")
    bob.send_room(room, url)
    got = stack.wait_for_mail("alice", lambda m: url in text_of(m), timeout=60)
    files = attachments_of(got)
    assert files == [(f"plan-{tok}.pdf", "application/pdf", data)], files
    # kept encrypted in the SchutzBox, not in the database row
    (blob_id, state, has_data), = query(
        gw.data_dir, "SELECT blob_id, state, data IS NOT NULL FROM attachment "
        "WHERE url = ?", url)
    assert (state, has_data) == ("stored", 0) and len(blob_id) == 64


def test_file_over_the_mail_limit_reaches_email_as_a_link(stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room, smtp={"max_attachment_size": 100_000}).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    data = pdf_bytes(tok, 300_000)
    url = bob.upload(data, f"big-{tok}.pdf", "application/pdf")
    bob.send_room(room, url)
    got = stack.wait_for_mail("alice", lambda m: url in text_of(m), timeout=60)
    assert attachments_of(got) == []
    assert query(gw.data_dir, "SELECT state FROM attachment WHERE url = ?", url) == \
        [("link",)]


def test_file_over_the_quota_reaches_email_as_a_link_and_the_sharer_is_told(
        stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room, box={"quota_mb": 1}).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    data = pdf_bytes(tok, 1_500_000)
    url = bob.upload(data, f"huge-{tok}.pdf", "application/pdf")
    bob.send_room(room, url)
    got = stack.wait_for_mail("alice", lambda m: url in text_of(m), timeout=60)
    assert attachments_of(got) == []
    told = bob.wait_message(lambda m: m["type"] == "chat" and "quota" in m["body"]
                            and f"huge-{tok}.pdf" in m["body"], timeout=30)
    assert "1 MB" in told["body"]
    assert query(gw.data_dir, "SELECT count(*) FROM blob") == [(0,)]


def test_external_link_is_never_fetched_from_a_private_address(stack, gateway, clients):
    """fetch_external = true lets the gateway fetch any https link, but not
    one that leads into its own network: the same file under another host
    name (localhost, not the upload service's origin) is refused at connect
    time, and the mail carries the link."""
    room = new_room(stack)
    gw = gateway(room, xmpp={"fetch_external": True}).start_joined()
    bob = clients("bob")
    bob.join_room(room, "bob")
    tok = token()
    url = bob.upload(pdf_bytes(tok), f"inside-{tok}.pdf", "application/pdf")
    assert url.startswith("https://127.0.0.1:")
    inside = url.replace("https://127.0.0.1:", "https://localhost:", 1)
    bob.send_room(room, inside)
    got = stack.wait_for_mail("alice", lambda m: inside in text_of(m), timeout=60)
    assert attachments_of(got) == []
    (state, note), = query(gw.data_dir, "SELECT state, note FROM attachment "
                           "WHERE url = ?", inside)
    assert state == "link" and "loopback" in note, note
