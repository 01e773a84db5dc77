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


class FakeUploadService:
    """The stack's component domain played by slixmpp: it records the slot
    requests it gets and answers only when told to (answer())."""

    def __init__(self, stack):
        import slixmpp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.requests: list = []
        self.jid = stack.COMPONENT_DOMAIN
        ready = threading.Event()

        async def setup():
            x = slixmpp.ComponentXMPP(self.jid, stack.COMPONENT_SECRET,
                                      "127.0.0.1", stack.XMPP_COMPONENT_PORT)
            from slixmpp.xmlstream.handler import Callback
            from slixmpp.xmlstream.matcher import MatchXPath
            x.register_handler(Callback("slot request", MatchXPath(
                f"{{jabber:component:accept}}iq/{{{UPLOAD_NS}}}request"),
                lambda iq: self.requests.append(iq)))
            x.add_event_handler("session_start", lambda _: ready.set())
            x.connect()
            self.xmpp = x
        asyncio.run_coroutine_threadsafe(setup(), self.loop).result(15)
        assert ready.wait(15), "the fake upload service did not connect"

    def answer(self, request, slot_xml: str) -> None:
        def send():
            iq = self.xmpp.make_iq_result(id=request["id"], ito=request["from"],
                                          ifrom=self.jid)
            iq.append(ET_fromstring(slot_xml))
            iq.send()
        asyncio.run_coroutine_threadsafe(_call(send), self.loop).result(15)

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
