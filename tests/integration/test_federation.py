"""Partners over XMPP federation, against two real federated Prosody servers
(tests/fixtures/fed.sh): the community's server a.test (the gateway's
account, the channels' rooms on conference.a.test) and a partner's server
b.test (also hosting c.test, a domain that is no partner), linked over
s2s with TLS and certificate authentication.  Mail goes through the
session's stack (stack.sh).

A partner's person (pat@b.test) joins the channel's room from its own
server; its lines reach email members as "Pat Partner via dev" with the
partner organisation in the CRM footer; `member show` knows it; email
posts reach it and its XEP-0461 replies thread in email; a JID of another
domain is a guest (held); a channel's room on the partner's server works
both ways without the gateway creating anything there; and a stopped
partner server loses nothing and doubles nothing.  A partner's XEP-0308
corrections reach email as a local occupant's do, and a file it shares from
its own server's upload service is an external link: mailed as a link, and
with xmpp.fetch_external fetched under the private-address guard (refused
here, where the partner's server is on loopback).
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from coopgate import Daemon, cli, empty_gateway_mailbox, query, token, wait_for
from helpers import (REPO, XmppClient, make_message, parse_env, stanza_id,
                     write_coopgate_config, write_secret)

FED_SH = REPO / "tests" / "fixtures" / "fed.sh"
PASSWORDS = {("a.test", "gateway"): "gateway-fed-secret",
             ("a.test", "ann"): "ann-fed-secret",
             ("b.test", "pat"): "pat-fed-secret",
             ("c.test", "cody"): "cody-fed-secret"}
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


class Fed:
    """The two servers of fed.sh: fed.env values as attributes."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.env = parse_env(self.dir / "fed.env")

    def __getattr__(self, name):
        env = self.__dict__.get("env", {})
        if name in env:
            return env[name]
        raise AttributeError(name)

    def run(self, *args):
        p = subprocess.run(["bash", str(FED_SH), args[0], str(self.dir), *args[1:]],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"fed.sh {args} failed: {p.stdout}{p.stderr}")

    def client(self, user, domain):
        addr = self.A_ADDR if domain == "a.test" else self.B_ADDR
        c = XmppClient(f"{user}@{domain}", PASSWORDS[(domain, user)], addr,
                       int(self.XMPP_PORT), self.CA_FILE)
        c.connect()
        return c


@pytest.fixture(scope="module")
def fed():
    d = tempfile.mkdtemp(prefix="cgfed-", dir="/tmp")
    f = Fed.__new__(Fed)
    f.dir = Path(d)
    f.env = {}
    f.run("start")
    f = Fed(d)
    for (domain, user), pw in PASSWORDS.items():
        f.run("add-user", domain, user, pw)
    try:
        yield f
    finally:
        f.run("stop")
        subprocess.run(["rm", "-rf", d])


@pytest.fixture
def clients():
    made = []
    yield made
    for c in made:
        c.close()


class FedGateway(Daemon):
    """A coopgate whose XMPP side is gateway@a.test; channels dev (room on
    a.test) and, optionally, joint (room on the partner's server)."""

    def __init__(self, stack, fed, tmp_path, dev_room, joint_room=None, chat_batch=1,
                 xmpp=None):
        self.data_dir = tmp_path / "data"
        xmpp_pass = write_secret(tmp_path / "secrets" / "fed-xmpp.pass",
                                 PASSWORDS[("a.test", "gateway")])
        channels = [{"name": "dev", "address": f"dev@{stack.LIST_DOMAIN}",
                     "room": dev_room, "description": "Development",
                     "post_layer": "partner", "crm_context": "footer",
                     "chat_batch": chat_batch}]
        if joint_room:
            channels.append({"name": "joint", "address": f"joint@{stack.LIST_DOMAIN}",
                             "room": joint_room, "description": "Joint work",
                             "post_layer": "partner", "crm_context": "footer",
                             "chat_batch": 1})
        names = [c["name"] for c in channels]
        conf = write_coopgate_config(
            stack, tmp_path,
            xmpp={"jid": "gateway@a.test", "password_file": str(xmpp_pass),
                  "host": fed.A_ADDR, "port": int(fed.XMPP_PORT), "ca_file": fed.CA_FILE,
                  "upload_service": None, **(xmpp or {})},
            channels=channels,
            members=[{"address": stack.address("alice"), "name": "Alice Example",
                      "layer": "core", "org": "Example eG", "channels": names,
                      "delivery": "each"}],
            outbox={"retry_base": 1, "retry_max": 3, "max_attempts": 100},
            partners=[{"domain": "b.test", "org": "Partner AG", "layer": "partner"}])
        super().__init__(conf, tmp_path / "coopgate.log")
        cli(conf, "init", check=0)


@pytest.fixture
def gateway(stack, fed, tmp_path):
    made = []

    def make(dev_room, joint_room=None, **kw):
        empty_gateway_mailbox(stack)
        gw = FedGateway(stack, fed, tmp_path, dev_room, joint_room, **kw)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        if gw.proc and gw.proc.poll() is None:
            assert gw.stop() == 0, gw.log_text()
        log = gw.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in log, log
        secret = PASSWORDS[("a.test", "gateway")]
        sasl = base64.b64encode(f"\0gateway\0{secret}".encode()).decode()
        assert secret not in log and sasl not in log
    if made:
        empty_gateway_mailbox(stack)


def room_a(fed):
    return f"r{token()}@{fed.A_MUC}"


def room_b(fed):
    return f"j{token()}@{fed.B_MUC}"


def mail_to(stack, channel, subject, body, **headers):
    to = f"{channel}@{stack.LIST_DOMAIN}"
    msg = make_message(stack.address("alice"), to, subject, body, **headers)
    assert stack.send_mail(stack.address("alice"), to, msg, user="alice") == {}
    return msg["Message-ID"].strip("<>")


def text_of(m):
    return m.get_body(preferencelist=("plain",)).get_content()


def mails_with(stack, needle):
    return [m for m in stack.maildir_messages("alice") if needle in text_of(m)]


def line_from(room, nick, needle):
    return lambda m: (m["type"] == "groupchat" and str(m["from"]) == f"{room}/{nick}"
                      and needle in (m["body"] or ""))


def make_public_room(client, room, nick):
    """Join (creating) a room on the client's server with real JIDs shown to
    everyone and persistence, as a partner admin would set it up."""
    muc = client.xmpp.plugin["xep_0045"]
    client.join_room(room, nick, configure=False)

    def configure():
        form = client.xmpp.plugin["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", value="http://jabber.org/protocol/muc#roomconfig",
                       ftype="hidden")
        form.add_field(var="muc#roomconfig_whois", value="anyone")
        form.add_field(var="muc#roomconfig_persistentroom", value="1")
        return muc.set_room_config(room, form)
    client.run(configure)


# ---------------------------------------------------------------- tests

def test_config_rejects_a_partner_twice_an_unknown_layer_and_our_own_domain(
        stack, tmp_path):
    conf = write_coopgate_config(
        stack, tmp_path,
        partners=[{"domain": "b.test", "org": "Partner AG"},
                  {"domain": "B.test", "org": "Again AG"},
                  {"domain": "c.test", "org": "C", "layer": "boss"},
                  {"domain": stack.XMPP_DOMAIN, "org": "Us"},
                  {"domain": stack.LIST_DOMAIN, "org": "Us"}])
    p = cli(conf, "check-config", check=78)
    err = p.stderr
    assert 'partners[1].domain: "b.test" is already used by partners[0]' in err, err
    assert "partners[2].layer" in err and "boss" in err, err
    assert "partners[3].domain" in err and "own XMPP domain" in err, err
    assert "partners[4].domain" in err and "gateway's own domain" in err, err
    assert all(line.startswith(f"{conf}:") for line in err.splitlines()), err
    ok = write_coopgate_config(stack, tmp_path / "ok",
                               partners=[{"domain": "b.test", "org": "Partner AG"}])
    cli(ok, "check-config", check=0)


def test_partner_post_reaches_email_with_its_organisation(stack, fed, gateway, clients):
    room = room_a(fed)
    gw = gateway(room)
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    pat.join_room(room, "Pat Partner")
    tok = token()
    pat.send_room(room, f"Greetings from the partner {tok}")
    got = stack.wait_for_mail("alice", lambda m: tok in text_of(m), timeout=45)
    assert got["From"].addresses[0].display_name == "Pat Partner via dev", got["From"]
    assert "Partner AG" in text_of(got), text_of(got)
    # the partner's JID is that organisation's contact at its layer
    show = cli(gw.conf, "member", "show", "pat@b.test", check=0).stdout
    assert "Organisation: Partner AG" in show, show
    assert "Layer: partner" in show, show
    # raised by hand it stays raised: the config never lowers it
    cli(gw.conf, "member", "set-layer", "pat@b.test", "member", check=0)
    tok2 = token()
    pat.send_room(room, f"Still here {tok2}")
    wait_for("the second line", lambda: query(
        gw.data_dir, "SELECT 1 FROM message WHERE body LIKE ?", f"%{tok2}%"), timeout=30)
    assert "Layer: member" in cli(gw.conf, "member", "show", "pat@b.test", check=0).stdout


def test_email_reaches_partner_and_its_reply_threads_in_email(stack, fed, gateway, clients):
    room = room_a(fed)
    gw = gateway(room)
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    pat.join_room(room, "Pat Partner")
    tok = token()
    msgid = mail_to(stack, "dev", f"Offer {tok}", f"Here is our offer {tok}.\n")
    line = pat.wait_message(line_from(room, "gateway", tok), timeout=45)
    sid = stanza_id(line, by=room)
    assert sid
    reply = f"We accept {tok}"

    def send_reply():
        m = pat.xmpp.make_message(mto=room, mbody=reply, mtype="groupchat")
        m["id"] = pat.xmpp.new_id()
        m["origin_id"]["id"] = m["id"]
        m["reply"]["id"] = sid
        m["reply"]["to"] = f"{room}/gateway"
        m.send()
    pat.run(send_reply)
    got = stack.wait_for_mail("alice", lambda m: reply in text_of(m), timeout=45)
    refs = str(got.get("References", "")) + " " + str(got.get("In-Reply-To", ""))
    assert f"<{msgid}>" in refs, (got["In-Reply-To"], got["References"])


def test_a_jid_of_another_domain_is_a_held_guest(stack, fed, gateway, clients):
    room = room_a(fed)
    gw = gateway(room)
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    cody = fed.client("cody", "c.test")
    clients.append(cody)
    cody.join_room(room, "Cody")
    tok = token()
    cody.send_room(room, f"Let me in {tok}")
    mid = wait_for("the held line", lambda: query(
        gw.data_dir, "SELECT m.id FROM held_post h JOIN message m ON m.id = h.message_id "
        "WHERE m.body LIKE ? AND h.state = 'held'", f"%{tok}%"), timeout=30)[0][0]
    assert query(gw.data_dir, "SELECT count(*) FROM outbox WHERE message_id = ?",
                 mid) == [(0,)]
    show = cli(gw.conf, "member", "show", "cody@c.test", check=0).stdout
    assert "Layer: guest" in show and "Partner AG" not in show, show


def test_channel_room_on_the_partner_server_works_both_ways(stack, fed, gateway, clients):
    joint = room_b(fed)
    dev = room_a(fed)
    gw = gateway(dev, joint)
    gw.start()
    gw.wait_log(f"joined {dev} as gateway", timeout=30)
    # the room does not exist yet: the gateway waits, creating nothing
    gw.wait_log(f"{joint}: not joining: the room does not exist", timeout=30)
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    make_public_room(pat, joint, "Pat Partner")
    gw.wait_log(f"joined {joint} as gateway", timeout=45)
    # not the owner: the gateway configured nothing and is a plain occupant
    assert f"room {joint} created" not in gw.log_text()
    tok = token()
    mail_to(stack, "joint", f"Joint plan {tok}", f"Joint plan text {tok}.\n")
    pat.wait_message(line_from(joint, "gateway", tok), timeout=45)
    tok2 = token()
    pat.send_room(joint, f"Partner answer {tok2}")
    got = stack.wait_for_mail("alice", lambda m: tok2 in text_of(m), timeout=45)
    assert got["From"].addresses[0].display_name == "Pat Partner via joint", got["From"]


def test_room_hiding_real_jids_refuses_unidentified_posters(stack, fed, gateway, clients):
    joint = room_b(fed)
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    pat.join_room(joint, "Pat Partner")  # instant room: JIDs for moderators only
    gw = gateway(room_a(fed), joint)
    gw.start()
    gw.wait_log(f"joined {joint} as gateway", timeout=45)
    tok = token()
    pat.send_room(joint, f"Who am I {tok}")
    gw.wait_log(f"{joint}: line from Pat Partner refused: the room does not show",
                timeout=30)
    assert not query(gw.data_dir, "SELECT 1 FROM message WHERE body LIKE ?", f"%{tok}%")


def test_partner_server_outage_loses_nothing_and_doubles_nothing(
        stack, fed, gateway, clients):
    joint = room_b(fed)
    dev = room_a(fed)
    pat = fed.client("pat", "b.test")
    make_public_room(pat, joint, "Pat Partner")
    gw = gateway(dev, joint)
    gw.start()
    gw.wait_log(f"joined {joint} as gateway", timeout=45)
    gw.wait_log(f"joined {dev} as gateway", timeout=30)
    pat.join_room(dev, "Pat Partner")
    # the partner's server goes away while the email side posts to both rooms
    pat.close()
    fed.run("stop-server", "b")
    t_dev, t_joint = token(), token()
    mail_to(stack, "dev", f"During outage {t_dev}", f"dev line {t_dev}\n")
    mail_to(stack, "joint", f"During outage {t_joint}", f"joint line {t_joint}\n")
    wait_for("the joint line waiting", lambda: query(
        gw.data_dir, "SELECT 1 FROM outbox o JOIN message m ON m.id = o.message_id "
        "WHERE o.bridge = 'xmpp' AND m.body LIKE ? AND o.state != 'done' "
        "AND o.attempts > 0", f"%{t_joint}%"), timeout=45)
    fed.run("start-server", "b")
    # back: the partner posts at once in its room (the gateway may not be
    # back in it yet: the archive brings it) and in the community's room
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    muc = pat.xmpp.plugin["xep_0045"]
    pat.join_room(joint, "Pat Partner")
    t_back = token()
    pat.send_room(joint, f"back again {t_back}")
    # everything arrives, once
    pat.wait_message(line_from(joint, "gateway", t_joint), timeout=90)
    wait_for("the partner's line by mail", lambda: mails_with(stack, t_back), timeout=90)
    _, _, _, history = pat.run(lambda: muc.join_muc_wait(dev, "Pat Partner", maxstanzas=50,
                                                        timeout=20), timeout=25)
    assert sum(t_dev in (h["body"] or "") for h in history) == 1, [h["body"] for h in history]
    assert sum(t_joint in (m["body"] or "") for m in pat.messages
               if m["type"] == "groupchat") == 1
    gw.wait_log("stored", timeout=5)
    assert len(query(gw.data_dir, "SELECT id FROM message WHERE body LIKE ?",
                     f"%{t_back}%")) == 1
    # give a late duplicate the chance to show, then count the mails
    wait_for("quiet outbox", lambda: not query(
        gw.data_dir, "SELECT 1 FROM outbox WHERE state NOT IN ('done', 'dead')"), timeout=60)
    assert len(mails_with(stack, t_back)) == 1


def send_correction(client, room, replace_id, body):
    """A groupchat line replacing (XEP-0308) the line whose id is replace_id."""
    def send():
        m = client.xmpp.make_message(mto=room, mbody=body, mtype="groupchat")
        m["id"] = client.xmpp.new_id()
        m["origin_id"]["id"] = m["id"]
        m.xml.append(ET.fromstring(
            f"<replace xmlns='urn:xmpp:message-correct:0' id='{replace_id}'/>"))
        m.send()
    client.run(send)


def stored_line(gw, needle):
    return query(gw.data_dir, "SELECT id, thread_id FROM message WHERE network = 'xmpp' "
                 "AND body LIKE ?", f"%{needle}%")


def test_partner_corrections_reach_email_as_local_ones_do(stack, fed, gateway, clients):
    """A partner's correction of its own line while the mail waits (chat_batch
    3 s) changes the mail's text; after the mail went out it is mailed again
    as "(corrected) ..." in the line's thread."""
    room = room_a(fed)
    gw = gateway(room, chat_batch=3)
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    pat.join_room(room, "Pat Partner")
    # before the mail goes out: only the corrected text is mailed
    typo, fixed = token(), token()
    line_id = pat.send_room(room, f"teh offer {typo}")
    (mid, _), = wait_for("the stored line", lambda: stored_line(gw, typo), timeout=30)
    send_correction(pat, room, line_id, f"the offer {fixed}")
    gw.wait_log(f"corrected message {mid}: stored text updated", timeout=30)
    got = stack.wait_for_mail("alice", lambda m: fixed in text_of(m), timeout=45)
    assert typo not in text_of(got), text_of(got)
    assert "Partner AG" in text_of(got), text_of(got)
    wait_for("its row done", lambda: query(
        gw.data_dir, "SELECT state FROM outbox WHERE message_id = ?", mid) == [("done",)],
        timeout=30)
    assert not mails_with(stack, typo)
    # after the mail went out: the correction is a new mail, marked
    late, later = token(), token()
    line_id = pat.send_room(room, f"meeting at 5 {late}")
    stack.wait_for_mail("alice", lambda m: late in text_of(m), timeout=45)
    (mid, thread), = stored_line(gw, late)
    wait_for("its row done", lambda: query(
        gw.data_dir, "SELECT state FROM outbox WHERE message_id = ?", mid) == [("done",)],
        timeout=30)
    send_correction(pat, room, line_id, f"meeting at 6 {later}")
    gw.wait_log(f"corrected message {mid} after its mail went out", timeout=30)
    got = stack.wait_for_mail("alice", lambda m: later in text_of(m), timeout=45)
    assert f"(corrected) meeting at 6 {later}" in text_of(got), text_of(got)
    assert got["From"].addresses[0].display_name == "Pat Partner via dev", got["From"]
    assert query(gw.data_dir, "SELECT thread_id, parent_id FROM message WHERE trimmed = ?",
                 f"(corrected) meeting at 6 {later}") == [(thread, mid)]


def partner_shares_a_file(fed, gw, room, clients):
    """pat@b.test uploads a file to its own server's upload service
    (upload.b.test, https on server B's address) and shares the URL in the
    community's room; returns (url, bytes)."""
    gw.start()
    gw.wait_log(f"joined {room} as gateway", timeout=30)
    pat = fed.client("pat", "b.test")
    clients.append(pat)
    pat.join_room(room, "Pat Partner")
    tok = token()
    data = b"%PDF-1.4\n% " + tok.encode() + b"\n" + os.urandom(30_000) + b"\n%%EOF\n"
    url = pat.upload(data, f"offer-{tok}.pdf", "application/pdf", service=fed.B_UPLOAD)
    assert url.startswith(fed.B_UPLOAD_URL), url
    pat.send_room(room, url)
    return url, data


def test_partner_file_from_its_own_server_reaches_email_as_a_link(
        stack, fed, gateway, clients):
    """Without xmpp.fetch_external a file on the partner's upload service is
    not the gateway's: the mail carries its link, nothing is fetched."""
    room = room_a(fed)
    gw = gateway(room)
    url, _ = partner_shares_a_file(fed, gw, room, clients)
    got = stack.wait_for_mail("alice", lambda m: url in text_of(m), timeout=45)
    assert list(got.iter_attachments()) == []
    assert got["From"].addresses[0].display_name == "Pat Partner via dev", got["From"]
    assert query(gw.data_dir, "SELECT count(*) FROM attachment WHERE url = ?", url) == [(0,)]


def test_partner_file_with_fetch_external_is_an_external_fetch(
        stack, fed, gateway, clients):
    """With xmpp.fetch_external = true the partner's file is fetched as an
    EXTERNAL link (not as the gateway's own upload service): the same guard
    applies, so from the fixture's loopback address it is refused at connect
    time and the mail carries the link with the reason noted.  (From a public
    address it would be attached; the guard is not relaxed for tests.)"""
    room = room_a(fed)
    gw = gateway(room, xmpp={"fetch_external": True})
    url, _ = partner_shares_a_file(fed, gw, room, clients)
    got = stack.wait_for_mail("alice", lambda m: url in text_of(m), timeout=60)
    assert list(got.iter_attachments()) == []
    (state, note), = query(gw.data_dir, "SELECT state, note FROM attachment WHERE url = ?",
                           url)
    assert state == "link" and "loopback" in note, (state, note)
    assert query(gw.data_dir, "SELECT count(*) FROM blob") == [(0,)]
