"""Hostile input on the XMPP side (issue 10), against the real Prosody,
Postfix and Dovecot of the stack:

- a room line that is a broken URL (`https://[x`, `https://[::1`) with
  xmpp.upload_service set once crashed the daemon, and again after every
  restart since the archive brought the line back: now it is an ordinary
  line, and the next real line still reaches email members, live and after
  a restart;
- a slot answer from anyone but the upload service is ignored: a client
  answering the gateway's slot request with its own PUT URL gets nothing,
  and the file goes where the real service says;
- a forged archive result (MAM) carrying the right query id -- from an
  occupant through the room (ROOM/NICK), or straight from a client -- is
  not stored, and neither is a forged end of the archive page: only the
  room's bare JID answers for its archive, and query ids are 128 random
  bits;
- a proxy named in the environment is not used for files (the private-
  address guard must see the real peer);
- `!who` shows a guest only name, organisation and layer, a member a little
  more, and `core` the whole card.

Uses the fixtures of test_xmpp_bridge.py.
"""

from __future__ import annotations

import asyncio
import http.server
import re
import threading

from helpers import ET_fromstring
from test_xmpp_bridge import (  # noqa: F401  (fixtures)
    clients, gateway, new_room, query, token, wait_for)


def mail_text(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def stored(gw, needle):
    return query(gw.data_dir, "SELECT id FROM message WHERE body LIKE ?", f"%{needle}%")


def echoed(client, room, nick, needle):
    return client.wait_message(lambda m: m["type"] == "groupchat" and needle in m["body"]
                               and str(m["from"]) == f"{room}/{nick}")


BROKEN_URLS = ("https://[x", "https://[::1", "https://[::1]x/a.pdf", "https://x]:80/")


# ---------------------------------------------------------------- broken URLs

def test_a_broken_url_in_a_room_line_neither_crashes_nor_blocks_the_room(
        stack, gateway, clients):
    room = new_room(stack)
    gw = gateway(room).start_joined()  # upload_service is set
    gw.wait_log(f"{room}: archive read: starting after")
    bob = clients("bob")
    bob.join_room(room, "bob")
    for url in BROKEN_URLS:
        bob.send_room(room, url)
    tok = token()
    bob.send_room(room, f"after the broken links {tok}")
    wait_for("the next real line stored", lambda: stored(gw, tok), timeout=30)
    assert gw.proc.poll() is None, gw.log_text()
    stack.wait_for_mail("alice", lambda m: tok in mail_text(m), timeout=30)
    # the broken lines are plain text lines, not files
    assert query(gw.data_dir, "SELECT count(*) FROM attachment") == [(0,)]

    # said while the gateway is down, they come back from the archive
    assert gw.stop() == 0
    for url in BROKEN_URLS:
        bob.send_room(room, url)
    tok2 = token()
    bob.send_room(room, f"said while away {tok2}")
    echoed(bob, room, "bob", tok2)
    mark = len(gw.log_text())
    gw.start()
    gw.wait_log(f"{room}: caught up with the archive", start=mark, timeout=30)
    wait_for("the line after them stored", lambda: stored(gw, tok2), timeout=30)
    stack.wait_for_mail("alice", lambda m: tok2 in mail_text(m), timeout=30)
    # and the daemon lives on: a restart more, a live line more
    assert gw.stop() == 0
    gw.start_joined()
    tok3 = token()
    bob.send_room(room, f"still here {tok3}")
    wait_for("a live line after the restarts", lambda: stored(gw, tok3), timeout=30)
    assert gw.proc.poll() is None


# ---------------------------------------------------------------- !who

CARLA = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Carla Core\r\n"
    "EMAIL:carla@coop.example\r\n"
    "IMPP:xmpp:carla@xmpp.example\r\n"
    "ORG:Coop eG\r\n"
    "CATEGORIES:board\r\n"
    "NOTE:{note}\r\n"
    "X-COOP-LAYER:core\r\n"
    "END:VCARD\r\n"
)


def who_answer(client, room, needle):
    client.send_room(room, f"!who {needle}")
    return client.wait_message(lambda m: m["type"] == "chat"
                               and str(m["from"]) == f"{room}/gateway"
                               and m["body"].startswith("Carla Core"))["body"]


def test_who_shows_each_layer_only_what_it_may_see(stack, gateway, clients, tmp_path):
    from coopgate import cli
    room = new_room(stack)
    gw = gateway(room)
    note = f"private note {token()}"
    vcf = tmp_path / "carla.vcf"
    vcf.write_text(CARLA.format(note=note))
    cli(gw.conf, "crm", "import", str(vcf), check=0)
    gw.start_joined()
    carol = clients("carol")  # no contact: a guest
    carol.join_room(room, "carol")
    bob = clients("bob")      # member
    bob.join_room(room, "bob")
    alice = clients("alice")  # core
    alice.join_room(room, "alice")
    secrets = ("carla@coop.example", "carla@xmpp.example", "board", note,
               "Email:", "JID:", "Note:", "Tags:", "Nominations:", "Bounces:")

    guest = who_answer(carol, room, "carla@coop.example")
    assert guest == "Carla Core: Coop eG; layer core", guest
    member = who_answer(bob, room, "carla@coop.example")
    assert member.startswith("Carla Core: Coop eG; layer core since "), member
    assert "Messages (30 days): 0" in member and "Last seen: never" in member
    for s in secrets:
        assert s not in guest and s not in member, (s, guest, member)
    core = who_answer(alice, room, "carla@coop.example")
    for s in secrets:
        assert s in core, (s, core)
    # and !help says so
    carol.send_room(room, "!help")
    helptext = carol.wait_message(lambda m: m["type"] == "chat"
                                  and "!who NAME|ADDRESS" in m["body"])["body"]
    assert "core members the whole card" in helptext, helptext


# ---------------------------------------------------------------- upload slots

UPLOAD_NS = "urn:xmpp:http:upload:0"


class FakeComponent:
    """The stack's component domain (XEP-0114) played by slixmpp: `handlers`
    maps an XPath (in the component namespace) to a function called with each
    matching stanza on the component's loop."""

    def __init__(self, stack, handlers: dict):
        import slixmpp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.jid = stack.COMPONENT_DOMAIN
        ready = threading.Event()

        async def setup():
            x = slixmpp.ComponentXMPP(self.jid, stack.COMPONENT_SECRET,
                                      "127.0.0.1", stack.XMPP_COMPONENT_PORT)
            from slixmpp.xmlstream.handler import Callback
            from slixmpp.xmlstream.matcher import MatchXPath
            for i, (xpath, fn) in enumerate(handlers.items()):
                x.register_handler(Callback(f"fake {i}", MatchXPath(xpath), fn))
            x.add_event_handler("session_start", lambda _: ready.set())
            x.connect()
            self.xmpp = x
        asyncio.run_coroutine_threadsafe(setup(), self.loop).result(15)
        assert ready.wait(15), "the fake component did not connect"

    def send_raw(self, xml: str) -> None:
        asyncio.run_coroutine_threadsafe(
            _call(lambda: self.xmpp.send_raw(xml)), self.loop).result(15)

    def close(self) -> None:
        async def bye():
            await self.xmpp.disconnect(wait=1.0)

        async def cancel_the_rest():  # slixmpp leaves tasks behind
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for step in (bye, cancel_the_rest):
            try:
                asyncio.run_coroutine_threadsafe(step(), self.loop).result(5)
            except Exception:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _call(fn):
    return fn()


class FakeUploadService(FakeComponent):
    """The upload service: it records the slot requests it gets and answers
    only when told to (answer())."""

    def __init__(self, stack):
        self.requests: list = []
        super().__init__(stack, {
            f"{{jabber:component:accept}}iq/{{{UPLOAD_NS}}}request":
                lambda iq: self.requests.append(iq)})

    def answer(self, request, slot_xml: str) -> None:
        def send():
            iq = self.xmpp.make_iq_result(id=request["id"], ito=request["from"],
                                          ifrom=self.jid)
            iq.append(ET_fromstring(slot_xml))
            iq.send()
        asyncio.run_coroutine_threadsafe(_call(send), self.loop).result(15)


class PutRecorder:
    """An HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self):
        got = self.got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                got.append((self.command, self.path, self.rfile.read(n)))
                self.send_response(201)
                self.end_headers()

            def do_CONNECT(self):  # noqa: N802  (as a proxy)
                got.append((self.command, self.path, b""))
                self.send_response(502)
                self.end_headers()

            do_POST = do_GET = do_PUT  # noqa: N815

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def slot_of(result) -> str:
    """The <slot/> of an iq result, as XML text."""
    import xml.etree.ElementTree as ET
    return ET.tostring(result.xml.find(f"{{{UPLOAD_NS}}}slot"), encoding="unicode")


def test_a_spoofed_slot_answer_gets_no_file(stack, gateway, clients):
    """carol answers the gateway's slot request first, with her own PUT URL
    and the request's id (as if guessed): the gateway ignores her, waits
    for the upload service, and PUTs the file only where it says."""
    from test_xmpp_files import mail_with_attachment, pdf_bytes
    service = FakeUploadService(stack)
    thief = PutRecorder()
    try:
        room = new_room(stack)
        gw = gateway(room, xmpp={"upload_service": service.jid}).start_joined()
        bob = clients("bob")
        bob.join_room(room, "bob")
        carol = clients("carol")
        tok = token()
        data = pdf_bytes(tok)
        name = f"accounts-{tok}.pdf"
        mail_with_attachment(stack, "alice", f"Accounts {tok}", f"Accounts {tok}.\n",
                             data, name, "application/pdf")
        req = wait_for("the slot request", lambda: next(
            (r for r in service.requests
             if r.xml.find(f"{{{UPLOAD_NS}}}request").get("filename") == name), None),
            timeout=30)
        asked = req.xml.find(f"{{{UPLOAD_NS}}}request")

        stolen = f"http://127.0.0.1:{thief.port}/steal/{name}"
        spoof = (f"<slot xmlns='{UPLOAD_NS}'><put url='{stolen}'/>"
                 f"<get url='https://127.0.0.1:{thief.port}/steal/{name}'/></slot>")

        def send_spoof():
            iq = carol.xmpp.make_iq_result(id=req["id"], ito=req["from"])
            iq.append(ET_fromstring(spoof))
            iq.send()
        carol.run(send_spoof)
        ignored = f"ignoring an answer to a slot request from {stack.jid('carol')}"
        wait_for("the spoof ignored (or the file stolen)",
                 lambda: thief.got or ignored in gw.log_text(), timeout=20)
        assert thief.got == [], "the gateway PUT the file where carol said"

        # the real service answers (with a real slot of the stack's Prosody)
        real = bob.run(lambda: bob.xmpp.make_iq_get(ito=stack.UPLOAD_DOMAIN))
        real.append(ET_fromstring(
            f"<request xmlns='{UPLOAD_NS}' filename='{name}' size='{asked.get('size')}' "
            f"content-type='{asked.get('content-type')}'/>"))
        result = bob.run(lambda: real.send(timeout=15))
        service.answer(req, slot_of(result))
        line = bob.wait_message(lambda m: m["type"] == "groupchat"
                                and str(m["from"]) == f"{room}/gateway"
                                and m["body"].startswith("https://") and name in m["body"],
                                timeout=30)
        assert stack.http_get(line["body"]) == data
        assert thief.got == [], thief.got
        # and nobody could have guessed the request's id
        assert re.fullmatch(r"up-[0-9a-f]{32}", req["id"]), req["id"]
    finally:
        thief.close()
        service.close()


# ---------------------------------------------------------------- forged archive results

MAM_NS = "urn:xmpp:mam:2"


class FakeRoom(FakeComponent):
    """A room on the component domain: it confirms every join (status 110)
    and records the archive queries it gets; the test answers them (the
    honest room's part) with result() and fin()."""

    def __init__(self, stack):
        self.room = f"r{token()}@{stack.COMPONENT_DOMAIN}"
        self.queries: list = []
        self.occupant = None  # the gateway's full JID, once it joined
        ns = "{jabber:component:accept}"
        super().__init__(stack, {
            f"{ns}presence": self._presence,
            f"{ns}iq/{{{MAM_NS}}}query": lambda iq: self.queries.append(iq)})

    def _presence(self, p):
        if p["type"] in ("unavailable", "error") or not str(p["to"]).startswith(self.room):
            return
        self.occupant = str(p["from"])
        self.xmpp.send_raw(
            f"<presence from='{p['to']}' to='{p['from']}'>"
            "<x xmlns='http://jabber.org/protocol/muc#user'>"
            f"<item affiliation='owner' role='moderator' jid='{p['from']}'/>"
            "<status code='110'/></x></presence>"
            f"<message type='groupchat' from='{self.room}' to='{p['from']}'>"
            "<subject>fake</subject></message>")

    def result_xml(self, frm, to, queryid, archive_id, nick, jid, body):
        """An archive result as Prosody's mod_muc_mam sends it (frm None:
        no from, the sender's server puts it)."""
        sender = f" from='{frm}'" if frm else ""
        return (f"<message{sender} to='{to}'>"
                f"<result xmlns='{MAM_NS}' queryid='{queryid}' id='{archive_id}'>"
                "<forwarded xmlns='urn:xmpp:forward:0'>"
                "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T10:00:00Z'/>"
                f"<message xmlns='jabber:client' type='groupchat' from='{self.room}/{nick}'>"
                f"<body>{body}</body>"
                f"<x xmlns='http://jabber.org/protocol/muc#user'><item jid='{jid}'/></x>"
                "</message></forwarded></result></message>")

    @staticmethod
    def fin_xml(frm, to, iq_id, last):
        return (f"<iq type='result' id='{iq_id}' from='{frm}' to='{to}'>"
                f"<fin xmlns='{MAM_NS}' complete='true'>"
                "<set xmlns='http://jabber.org/protocol/rsm'>"
                f"<last>{last}</last></set></fin></iq>")

    def answer(self, q, archive_id, line=None, jid=None):
        """The honest room: one result (a line, or just the id) and the end."""
        queryid = q.xml.find(f"{{{MAM_NS}}}query").get("queryid")
        self.send_raw(self.result_xml(self.room, q["from"], queryid, archive_id,
                                      "alice", jid or "alice@example.org", line or "seed"))
        self.send_raw(self.fin_xml(self.room, q["from"], q["id"], archive_id))


def test_a_forged_archive_result_is_not_stored(stack, gateway, clients):
    """During a catch-up, with the archive query's real id in hand: an
    occupant's private message through the room (from ROOM/mallory), a
    client writing straight to the gateway, and a client ending the page
    with its own watermark are all ignored; the room's own answer is
    stored, and the query id is 128 random bits."""
    room = FakeRoom(stack)
    try:
        gw = gateway(room.room).start_joined()
        seed = wait_for("the first archive query", lambda: room.queries[-1:], timeout=20)[0]
        room.answer(seed, "a-0")
        gw.wait_log(f"{room.room}: archive read: starting after a-0", timeout=20)
        assert gw.stop() == 0

        mark = len(gw.log_text())
        room.queries.clear()
        gw.start()
        q = wait_for("the catch-up query", lambda: room.queries[-1:], timeout=30)[0]
        queryid = q.xml.find(f"{{{MAM_NS}}}query").get("queryid")
        alice = stack.jid("alice")
        tok = token()
        # mallory, an occupant, whispers a result to the gateway through the room
        room.send_raw(room.result_xml(f"{room.room}/mallory", room.occupant, queryid,
                                      "f-1", "alice", alice, f"forged by an occupant {tok}"))
        carol = clients("carol")
        carol.run(lambda: carol.xmpp.send_raw(room.result_xml(
            None, room.occupant, queryid, "f-2", "alice", alice,
            f"forged by a client {tok}")))
        carol.run(lambda: carol.xmpp.send_raw(
            f"<iq type='result' id='{q['id']}' to='{room.occupant}'>"
            f"<fin xmlns='{MAM_NS}' complete='true'><set xmlns="
            "'http://jabber.org/protocol/rsm'><last>f-9</last></set></fin></iq>"))
        ignored = (f"ignoring an archive result from {room.room}/mallory",
                   f"ignoring an archive result from {stack.jid('carol')}",
                   f"ignoring an answer to an archive query from {stack.jid('carol')}")
        wait_for("the forgeries ignored (or taken)", lambda: stored(gw, "forged") or all(
            i in gw.log_text()[mark:] for i in ignored), timeout=20)
        assert stored(gw, "forged") == [], "a forged archive line was stored"

        room.answer(q, "r-1", f"the real line {tok}", alice)
        gw.wait_log(f"{room.room}: caught up with the archive: 1 line(s) stored",
                    start=mark, timeout=30)
        assert [r[0] for r in query(gw.data_dir, "SELECT body FROM message WHERE "
                                    "body LIKE ?", f"%{tok}%")] == [f"the real line {tok}"]
        assert query(gw.data_dir, "SELECT value FROM kv WHERE key = ?",
                     f"xmpp/{room.room}/last_stanza_id") == [("r-1",)]
        assert re.fullmatch(r"mam-[0-9a-f]{32}", queryid), queryid
        assert q["id"] == queryid
    finally:
        room.close()


# ---------------------------------------------------------------- proxies

def test_files_never_go_through_a_proxy_from_the_environment(
        stack, gateway, clients, monkeypatch):
    from test_xmpp_files import mail_with_attachment, pdf_bytes
    proxy = PutRecorder()
    try:
        url = f"http://127.0.0.1:{proxy.port}"
        for var in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(var, url)
        for var in ("no_proxy", "NO_PROXY"):
            monkeypatch.setenv(var, "")
        room = new_room(stack)
        gw = gateway(room).start_joined()
        monkeypatch.undo()  # the daemon has them; the test's own clients not
        bob = clients("bob")
        bob.join_room(room, "bob")
        tok = token()
        data = pdf_bytes(tok)
        mail_with_attachment(stack, "alice", f"Report {tok}", f"Report {tok}.\n",
                             data, f"report-{tok}.pdf", "application/pdf")
        line = bob.wait_message(lambda m: m["type"] == "groupchat"
                                and str(m["from"]) == f"{room}/gateway"
                                and m["body"].startswith("https://")
                                and f"report-{tok}.pdf" in m["body"], timeout=30)
        assert stack.http_get(line["body"]) == data
        assert proxy.got == [], proxy.got
        assert "upload failed" not in gw.log_text()
    finally:
        proxy.close()
