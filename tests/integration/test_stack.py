"""The test stack itself: real clients against the real servers of stack.sh."""

import imaplib
import os
import socket
import hashlib
import re
import smtplib
import ssl
import stat
import uuid

import pytest

from helpers import XmppError, make_message, stanza_id, write_coopgate_config


def token():
    return uuid.uuid4().hex[:12]


# ---------------------------------------------------------------- IMAP

def test_imap_starttls_login_verified(stack):
    imap = stack.imap_login("alice")
    try:
        assert isinstance(imap.sock, ssl.SSLSocket)
        cert = imap.sock.getpeercert()
        names = {v for k, v in cert["subjectAltName"] if k == "DNS"}
        assert "localhost" in names and "example.org" in names
        typ, caps = imap.capability()
        assert typ == "OK" and b"IDLE" in caps[0]
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
    finally:
        imap.logout()


def test_imaps_implicit_tls(stack):
    imap = stack.imap_login("bob", implicit=True)
    try:
        assert isinstance(imap.sock, ssl.SSLSocket)
        assert imap.select("INBOX")[0] == "OK"
    finally:
        imap.logout()


def test_imap_ip_address_verified(stack):
    imap = stack.imap_login("carol", host="127.0.0.1")  # IP SAN 127.0.0.1
    imap.logout()


def test_imap_untrusted_ca_is_refused(stack):
    with pytest.raises(ssl.SSLCertVerificationError):
        stack.imap_login("alice", ca_file=stack.BAD_CA_FILE)
    with pytest.raises(ssl.SSLCertVerificationError):
        stack.imap_login("alice", implicit=True, ca_file=stack.BAD_CA_FILE)


def test_imap_wrong_host_name_is_refused(stack):
    ctx = stack.ssl_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", stack.IMAPS_PORT), timeout=10) as raw:
            ctx.wrap_socket(raw, server_hostname="evil.example.net")


def test_imap_login_tls_is_visible_in_log(stack):
    # Dovecot counts loopback clients as "secured" and lets them LOGIN without
    # STARTTLS; its log line says whether TLS was used, so tests check that.
    before = len(stack.imap_logins("carol"))
    imap = imaplib.IMAP4("localhost", stack.IMAP_PORT, timeout=10)
    try:
        assert "STARTTLS" in imap.capabilities
        imap.login("carol", stack.password("carol"))
    finally:
        imap.logout()
    stack.imap_login("carol").logout()
    logins = stack.imap_logins("carol")[before:]
    assert [entry["tls"] for entry in logins] == [False, True], logins


def test_imap_idle_reports_new_mail(stack):
    imap = stack.imap_login("dave")
    try:
        imap.select("INBOX")
        tag = imap._new_tag().decode()
        imap.send(f"{tag} IDLE\r\n".encode())
        assert imap.readline().startswith(b"+")
        subject = f"idle {token()}"
        stack.send_mail(stack.address("alice"), stack.address("dave"),
                        make_message(stack.address("alice"), stack.address("dave"), subject))
        imap.sock.settimeout(10)
        line = imap.readline()
        while b"EXISTS" not in line and b"RECENT" not in line:
            line = imap.readline()
        assert re.match(rb"\* \d+ (EXISTS|RECENT)", line), line
        imap.send(b"DONE\r\n")
        while not imap.readline().startswith(tag.encode()):
            pass
    finally:
        imap.logout()


def test_imap_bad_password_is_refused(stack):
    with pytest.raises(imaplib.IMAP4.error):
        stack.imap_login("alice", password="wrong-password")


# ---------------------------------------------------------------- SMTP

def test_submission_alice_to_bob(stack):
    subject = f"hello bob {token()}"
    msg = make_message(stack.address("alice"), stack.address("bob"), subject, "Hi Bob!\n")
    refused = stack.send_mail(stack.address("alice"), stack.address("bob"), msg)
    assert refused == {}
    got = stack.wait_for_mail("bob", lambda m: m["Subject"] == subject)
    assert got["From"] == stack.address("alice")
    assert got["Message-ID"] == msg["Message-ID"]
    assert got["Delivered-To"] == stack.address("bob")
    assert got.get_content().strip() == "Hi Bob!"


def test_smtps_implicit_tls(stack):
    subject = f"via smtps {token()}"
    stack.send_mail(stack.address("carol"), stack.address("dave"),
                    make_message(stack.address("carol"), stack.address("dave"), subject),
                    port=stack.SMTPS_PORT, user="carol")
    got = stack.wait_for_mail("dave", subject)
    assert got["From"] == stack.address("carol")


def test_submission_requires_tls_and_auth(stack):
    # no AUTH offered before STARTTLS
    client = smtplib.SMTP("localhost", stack.SUBMISSION_PORT, timeout=10)
    try:
        client.ehlo()
        assert not client.has_extn("auth")
        assert client.has_extn("starttls")
    finally:
        client.quit()
    # TLS but no AUTH: recipients refused, even local ones
    client = stack.smtp(user=None)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(stack.address("alice"), [stack.address("bob")], b"Subject: x\r\n\r\nx\r\n")
    finally:
        client.quit()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        stack.smtp("alice", password="wrong-password")


def test_plain_smtp_accepts_local_refuses_relay(stack):
    client = stack.smtp(port=stack.SMTP_PORT)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
            client.sendmail("someone@elsewhere.example.net", ["victim@elsewhere.example.net"],
                            b"Subject: relay\r\n\r\nx\r\n")
        code, text = err.value.recipients["victim@elsewhere.example.net"]
        assert code == 554 and b"Relay access denied" in text
    finally:
        client.quit()
    subject = f"from outside {token()}"
    refused = stack.send_mail("partner@elsewhere.example.net", stack.address("carol"),
                              make_message("partner@elsewhere.example.net",
                                           stack.address("carol"), subject),
                              port=stack.SMTP_PORT)
    assert refused == {}
    assert stack.wait_for_mail("carol", subject)["From"] == "partner@elsewhere.example.net"


def test_list_domain_lands_in_gateway_mailbox(stack):
    t = token()
    plain = f"dev@{stack.LIST_DOMAIN}"
    request = f"dev+request@{stack.LIST_DOMAIN}"
    bounce = f"dev+bounce-{t}@{stack.LIST_DOMAIN}"
    for rcpt in (plain, request, bounce):
        refused = stack.send_mail(stack.address("carol"), rcpt,
                                  make_message(stack.address("carol"), rcpt, f"{rcpt} {t}"),
                                  port=stack.SMTP_PORT)
        assert refused == {}
    for rcpt in (plain, request, bounce):
        got = stack.wait_for_mail("gateway", lambda m, r=rcpt: m["Subject"] == f"{r} {t}")
        assert got["Delivered-To"] == rcpt, got["Delivered-To"]
    # one mail to two list addresses: two copies, each naming its own recipient
    msg = make_message(stack.address("alice"), [plain, request], f"both {t}")
    stack.send_mail(stack.address("alice"), [plain, request], msg)
    seen = set()
    for rcpt in (plain, request):
        got = stack.wait_for_mail("gateway", lambda m, r=rcpt: m["Subject"] == f"both {t}"
                                  and m["Delivered-To"] == r)
        seen.add(got["Delivered-To"])
    assert seen == {plain, request}
    # and nobody else got a mailbox out of it
    assert not (stack.dir / "mail" / "dev").exists()


def test_any_local_part_is_deliverable(stack):
    t = token()
    user = f"member{t[:6]}"
    stack.send_mail(stack.address("alice"), stack.address(user),
                    make_message(stack.address("alice"), stack.address(user), f"bench {t}"),
                    port=stack.SMTP_PORT)
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msgs = stack.maildir_messages(user)
        if msgs:
            break
        time.sleep(0.1)
    assert [m["Subject"] for m in msgs] == [f"bench {t}"]
    stack.add_mail_user(user, "pw-" + t)
    got = stack.wait_for_mail(user, f"bench {t}", password="pw-" + t)
    assert got["Delivered-To"] == stack.address(user)


# ---------------------------------------------------------------- XMPP

def test_xmpp_muc_message_gets_stanza_id(stack):
    room = f"stack-{token()}@{stack.MUC_DOMAIN}"
    with stack.xmpp_client("alice") as alice, stack.xmpp_client("bob") as bob:
        pres = alice.join_room(room, "Alice")
        assert 110 in {int(c) for c in pres["muc"]["status_codes"]}  # self-presence
        bob.join_room(room, "Bob")
        body = f"hello room {token()}"
        msg_id = alice.send_room(room, body)
        echo = alice.wait_message(lambda m: m["type"] == "groupchat" and m["body"] == body)
        assert echo["id"] == msg_id
        assert str(echo["from"]) == f"{room}/Alice"
        sid = stanza_id(echo, by=room)
        assert sid, f"no stanza-id by {room} in {echo}"
        seen = bob.wait_message(lambda m: m["type"] == "groupchat" and m["body"] == body)
        assert stanza_id(seen, by=room) == sid
        # the room archive (MAM) has it under the same id
        mam = alice.xmpp.plugin["xep_0313"]
        result = alice.run(lambda: mam.retrieve(jid=room, timeout=10))
        ids = [r["mam_result"]["id"] for r in result["mam"]["results"]] if result["mam"]["results"] else []
        if not ids:  # slixmpp hands results to the message handler instead
            ids = [m["mam_result"]["id"] for m in alice.messages if m["mam_result"]["id"]]
        assert sid in ids


def test_xmpp_untrusted_ca_is_refused(stack):
    with pytest.raises(XmppError, match="CERTIFICATE_VERIFY_FAILED"):
        stack.xmpp_client("alice", ca_file=stack.BAD_CA_FILE, timeout=10)


def test_xmpp_direct_tls(stack):
    with stack.xmpp_client("bob", direct_tls=True) as bob:
        assert bob.xmpp.is_connected()
    with pytest.raises(XmppError, match="CERTIFICATE_VERIFY_FAILED"):
        stack.xmpp_client("bob", direct_tls=True, ca_file=stack.BAD_CA_FILE, timeout=10)


def test_xmpp_requires_starttls(stack):
    # c2s_require_encryption: no SASL mechanisms before STARTTLS
    with socket.create_connection(("127.0.0.1", stack.XMPP_PORT), timeout=10) as s:
        s.sendall(("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                   "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
                   f"to='{stack.XMPP_DOMAIN}'>").encode())
        data = b""
        while b"</stream:features>" not in data:
            chunk = s.recv(4096)
            assert chunk
            data += chunk
    assert b"urn:ietf:params:xml:ns:xmpp-tls" in data and b"<required" in data
    assert b"mechanisms" not in data


def test_xmpp_wrong_password_is_refused(stack):
    with pytest.raises(XmppError, match="authentication"):
        stack.xmpp_client("alice", password="wrong-password", timeout=10)


def test_xmpp_add_user_and_direct_message(stack):
    name = f"user{token()[:6]}"
    stack.add_xmpp_user(name, "pw-" + name)
    with stack.xmpp_client(name, "pw-" + name) as newbie, stack.xmpp_client("carol") as carol:
        body = f"hi carol {token()}"
        newbie.send_chat(stack.jid("carol"), body)
        got = carol.wait_message(lambda m: m["body"] == body)
        assert got["from"].bare == stack.jid(name)


def test_http_file_share_upload(stack):
    data = os.urandom(2048)
    with stack.xmpp_client("alice") as alice:
        url = alice.upload(data, "report.bin")
    assert url.startswith(stack.UPLOAD_EXTERNAL_URL), url
    assert stack.http_get(url) == data
    with pytest.raises(ssl.SSLCertVerificationError):
        try:
            stack.http_get(url, ca_file=stack.BAD_CA_FILE)
        except Exception as e:  # urllib wraps it in URLError
            raise getattr(e, "reason", e)


def test_component_handshake(stack):
    with socket.create_connection(("127.0.0.1", stack.XMPP_COMPONENT_PORT), timeout=10) as s:
        s.sendall(("<stream:stream xmlns='jabber:component:accept' "
                   "xmlns:stream='http://etherx.jabber.org/streams' "
                   f"to='{stack.COMPONENT_DOMAIN}'>").encode())
        head = b""
        while b"id=" not in head or b">" not in head.split(b"id=", 1)[1]:
            head += s.recv(4096)
        sid = re.search(rb"id=['\"]([^'\"]+)['\"]", head).group(1)
        digest = hashlib.sha1(sid + stack.COMPONENT_SECRET.encode()).hexdigest()
        s.sendall(f"<handshake>{digest}</handshake>".encode())
        reply = s.recv(4096)
        assert b"<handshake/>" in reply, reply


# ---------------------------------------------------------------- stack helpers

def test_restart_dovecot_keeps_mail_and_ports(stack):
    subject = f"before restart {token()}"
    stack.send_mail(stack.address("alice"), stack.address("bob"),
                    make_message(stack.address("alice"), stack.address("bob"), subject))
    stack.wait_for_mail("bob", subject)
    old_pid, port = stack.DOVECOT_PID, stack.IMAP_PORT
    stack.restart_dovecot()
    assert stack.DOVECOT_PID != old_pid and stack.IMAP_PORT == port
    assert stack.wait_for_mail("bob", subject)["Subject"] == subject


def test_restart_prosody_keeps_accounts(stack):
    old_pid = stack.PROSODY_PID
    stack.restart_prosody()
    assert stack.PROSODY_PID != old_pid
    with stack.xmpp_client("dave"):
        pass


def test_write_coopgate_config(stack, tmp_path):
    path = write_coopgate_config(stack, tmp_path, imap={"port": stack.IMAPS_PORT,
                                                        "tls": "implicit"})
    text = path.read_text()
    assert f'port = {stack.IMAPS_PORT};' in text and 'tls = "implicit";' in text
    assert 'domain = "lists.example.org";' in text
    assert 'room = "dev@conference.example.org";' in text
    for name in ("imap.pass", "smtp.pass", "xmpp.pass"):
        st = (tmp_path / "secrets" / name).stat()
        assert stat.S_IMODE(st.st_mode) == 0o600
    assert (tmp_path / "secrets" / "imap.pass").read_text() == stack.GATEWAY_MAIL_PASSWORD
