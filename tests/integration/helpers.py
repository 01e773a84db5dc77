"""Helpers for coopgate's integration tests: the real-server stack and clients.

Owns: starting/stopping tests/fixtures/stack.sh, real IMAP/SMTP/XMPP clients
that verify TLS against the stack's throwaway CA, and writing a coopgate
config that points at the stack.  Must never: talk to anything but 127.0.0.1,
or turn TLS verification off.

Run under /usr/bin/python3 (Debian's python3-slixmpp and python3-pytest).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import imaplib
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

REPO = Path(__file__).resolve().parents[2]
STACK_SH = REPO / "tests" / "fixtures" / "stack.sh"

MessageLike = Union[bytes, str, EmailMessage]


def parse_env(path: Union[str, Path]) -> dict:
    """KEY=value lines (values may be double-quoted) -> dict of strings."""
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key] = value
    return env


def ssl_context(ca_file: Union[str, Path]) -> ssl.SSLContext:
    """A client context that trusts only ca_file and checks the host name."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def make_message(frm: str, to: Union[str, Iterable[str]], subject: str = "test",
                 body: str = "hello\n", **headers: str) -> EmailMessage:
    """A small text mail; extra headers as keyword args (In_Reply_To= -> In-Reply-To:)."""
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = email.utils.make_msgid(domain="test.example.org")
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg


class Stack:
    """A running stack: stack.env values as attributes (ports and PIDs as int)."""

    def __init__(self, directory: Union[str, Path], owned: bool = True):
        self.dir = Path(directory)
        self.owned = owned  # False: started by hand (STACK_DIR=...), never stopped here
        self.env: dict = {}
        self.reload()

    # ------------------------------------------------------------ env
    def reload(self) -> None:
        self.env = parse_env(self.dir / "stack.env")

    def __getattr__(self, name: str) -> Any:
        env = self.__dict__.get("env", {})
        if name in env:
            value = env[name]
            if name.endswith(("_PORT", "_PID")) or name == "PORT_BASE":
                return int(value)
            return value
        raise AttributeError(name)

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def password(self, user: str) -> str:
        return self.env.get("PASSWORD_" + user.upper(), f"{user}-secret")

    def address(self, user: str) -> str:
        return f"{user}@{self.MAIL_DOMAIN}"

    def jid(self, user: str) -> str:
        return f"{user}@{self.XMPP_DOMAIN}"

    def ssl_context(self, ca_file: Optional[str] = None) -> ssl.SSLContext:
        return ssl_context(ca_file or self.CA_FILE)

    # ------------------------------------------------------------ stack.sh
    def run(self, command: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["bash", str(STACK_SH), command, str(self.dir), *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"stack.sh {command} failed ({proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}")
        return proc

    def restart_dovecot(self) -> None:
        self.run("restart-dovecot")
        self.reload()

    def restart_postfix(self) -> None:
        self.run("restart-postfix")
        self.reload()

    def postconf(self, *settings: str) -> None:
        """Change the stack's Postfix main.cf ("name = value") and reload;
        returns once Postfix greets again.  Call it while no client connects
        (see reload_postfix in stack.sh), which may restart Postfix."""
        self.run("postconf", *settings)
        self.reload()

    def postconf_get(self, name: str) -> str:
        return subprocess.run(["postconf", "-c", str(self.dir / "postfix"), "-h", name],
                              capture_output=True, text=True, check=True).stdout.strip()

    def restart_prosody(self) -> None:
        self.run("restart-prosody")
        self.reload()

    def add_xmpp_user(self, name: str, password: str) -> None:
        self.add_xmpp_users({name: password})

    def add_xmpp_users(self, users: dict) -> None:
        """{name: password}: XMPP accounts at XMPP_DOMAIN, usable at once."""
        self.run("add-xmpp-user", *[x for pair in users.items() for x in pair])
        for name, password in users.items():
            self.env["PASSWORD_" + name.upper()] = password

    def add_mail_user(self, name: str, password: str) -> None:
        self.add_mail_users({name: password})

    def add_mail_users(self, users: dict) -> None:
        """{name: password}: IMAP/SMTP-AUTH logins (takes up to 1 s: Dovecot's
        passwd-file cache).  Delivery works for any local part without one."""
        self.run("add-mail-user", *[x for pair in users.items() for x in pair])
        for name, password in users.items():
            self.env["PASSWORD_" + name.upper()] = password

    def status(self) -> str:
        return self.run("status", check=False).stdout

    def stop(self) -> None:
        if self.owned:
            self.run("stop")

    # ------------------------------------------------------------ SMTP
    def smtp(self, user: Optional[str] = "alice", password: Optional[str] = None,
             port: Optional[int] = None, ca_file: Optional[str] = None,
             host: str = "localhost") -> smtplib.SMTP:
        """A connected SMTP client.  SUBMISSION_PORT (default): STARTTLS, then AUTH as
        user; SMTPS_PORT: implicit TLS, then AUTH; SMTP_PORT: plain, no AUTH.
        user=None: no AUTH on any port."""
        port = port or self.SUBMISSION_PORT
        ctx = self.ssl_context(ca_file)
        if port == self.SMTPS_PORT:
            client = smtplib.SMTP_SSL(host, port, context=ctx, timeout=15)
        else:
            client = smtplib.SMTP(host, port, timeout=15)
            if port != self.SMTP_PORT:
                client.starttls(context=ctx)
        client.ehlo("client.test.example.org")
        if user is not None and port != self.SMTP_PORT:
            client.login(user, password or self.password(user))
        return client

    def send_mail(self, frm: str, to: Union[str, Iterable[str]], msg: MessageLike,
                  port: Optional[int] = None, user: Optional[str] = "alice",
                  password: Optional[str] = None) -> dict:
        """Send one mail; returns smtplib's dict of refused recipients (empty = all
        accepted).  An EmailMessage gets From/To/Date/Message-ID if it lacks them;
        bytes/str go out exactly as given."""
        rcpts = [to] if isinstance(to, str) else list(to)
        if isinstance(msg, EmailMessage):
            if "From" not in msg:
                msg["From"] = frm
            if "To" not in msg:
                msg["To"] = ", ".join(rcpts)
            if "Date" not in msg:
                msg["Date"] = email.utils.formatdate()
            if "Message-ID" not in msg:
                msg["Message-ID"] = email.utils.make_msgid(domain="test.example.org")
            data = msg.as_bytes(policy=email.policy.SMTP)
        elif isinstance(msg, str):
            data = msg.encode()
        else:
            data = msg
        client = self.smtp(user=user, password=password, port=port)
        try:
            return client.sendmail(frm, rcpts, data)
        finally:
            client.quit()

    # ------------------------------------------------------------ IMAP
    def imap_login(self, user: str, password: Optional[str] = None, *,
                   implicit: bool = False, ca_file: Optional[str] = None,
                   host: str = "localhost") -> imaplib.IMAP4:
        """Logged-in IMAP client: STARTTLS on IMAP_PORT (or implicit TLS on
        IMAPS_PORT), certificate and host name verified against CA_FILE."""
        ctx = self.ssl_context(ca_file)
        if implicit:
            client = imaplib.IMAP4_SSL(host, self.IMAPS_PORT, ssl_context=ctx, timeout=15)
        else:
            client = imaplib.IMAP4(host, self.IMAP_PORT, timeout=15)
            try:
                client.starttls(ssl_context=ctx)
            except BaseException:
                try:
                    client.shutdown()
                except OSError:  # the failed handshake already closed the socket
                    pass
                raise
        client.login(user, password or self.password(user))
        return client

    def fetch_mail(self, user: str, mailbox: str = "INBOX",
                   password: Optional[str] = None) -> list:
        """Every message in the mailbox as EmailMessage (BODY.PEEK: flags untouched)."""
        client = self.imap_login(user, password)
        try:
            return [m for _, m in _imap_fetch_new(client, mailbox, set())]
        finally:
            client.logout()

    def wait_for_mail(self, user: str,
                      predicate: Union[None, str, Callable[[EmailMessage], bool]] = None,
                      timeout: float = 15, mailbox: str = "INBOX",
                      password: Optional[str] = None) -> EmailMessage:
        """Poll the user's mailbox over IMAP until a message satisfies predicate
        (a callable, or a string the Subject must contain; None: any message).
        Reads with BODY.PEEK, so \\Seen flags stay as the gateway left them."""
        if isinstance(predicate, str):
            needle = predicate
            predicate = lambda m: needle in str(m.get("Subject", ""))  # noqa: E731
        pred = predicate or (lambda m: True)
        seen_uids: set = set()
        subjects: list = []
        deadline = time.monotonic() + timeout
        client = self.imap_login(user, password)
        try:
            while True:
                for _, msg in _imap_fetch_new(client, mailbox, seen_uids):
                    subjects.append(str(msg.get("Subject")))
                    if pred(msg):
                        return msg
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no matching mail for {user} in {mailbox} after "
                                       f"{timeout}s; saw subjects {subjects}")
                time.sleep(0.2)
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def imap_logins(self, user: Optional[str] = None) -> list:
        """Dovecot's successful IMAP logins, oldest first, as dicts with user,
        method, tls (True when the session ran over TLS) and line.  Dovecot lets a
        loopback client LOGIN without STARTTLS (it counts 127.0.0.1 as secured), so
        this log is how a test proves a client really used TLS."""
        out = []
        log = Path(self.DOVECOT_LOG)
        if not log.exists():
            return out
        for line in log.read_text(errors="replace").splitlines():
            m = re.search(r"imap-login: Info: Login: user=<([^>]*)>, method=([^,]+),(.*)", line)
            if m and (user is None or m.group(1) == user):
                out.append({"user": m.group(1), "method": m.group(2),
                            "tls": ", TLS" in m.group(3), "line": line})
        return out

    def maildir_messages(self, user: str) -> list:
        """Messages straight from DIR/mail/USER/Maildir (any local part, no login)."""
        out = []
        root = Path(self.MAIL_ROOT) / user / "Maildir"
        for sub in ("new", "cur"):
            d = root / sub
            if d.is_dir():
                for f in sorted(d.iterdir()):
                    out.append(email.message_from_bytes(f.read_bytes(),
                                                        policy=email.policy.default))
        return out

    # ------------------------------------------------------------ XMPP
    def xmpp_client(self, user: str, password: Optional[str] = None, *,
                    ca_file: Optional[str] = None, resource: Optional[str] = None,
                    direct_tls: bool = False, port: Optional[int] = None,
                    timeout: float = 15) -> "XmppClient":
        """A connected, authenticated slixmpp client: STARTTLS on XMPP_PORT (or
        direct TLS on XMPPS_PORT), verified against CA_FILE for the name
        XMPP_DOMAIN.  Use as a context manager or call .close()."""
        jid = self.jid(user) + (f"/{resource}" if resource else "")
        port = port or (self.XMPPS_PORT if direct_tls else self.XMPP_PORT)
        client = XmppClient(jid, password or self.password(user), "127.0.0.1",
                            port, ca_file or self.CA_FILE, direct_tls=direct_tls)
        client.connect(timeout=timeout)
        return client

    def http_get(self, url: str, ca_file: Optional[str] = None) -> bytes:
        ctx = self.ssl_context(ca_file)
        with urllib.request.urlopen(url, context=ctx, timeout=15) as resp:
            return resp.read()


def _imap_fetch_new(client: imaplib.IMAP4, mailbox: str, seen_uids: set):
    typ, _ = client.select(mailbox, readonly=True)
    if typ != "OK":
        return
    typ, data = client.uid("SEARCH", None, "ALL")
    if typ != "OK":
        return
    for uid in data[0].split():
        if uid in seen_uids:
            continue
        typ, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
        if typ != "OK":
            continue
        for part in parts:
            if isinstance(part, tuple):
                seen_uids.add(uid)
                yield uid, email.message_from_bytes(part[1], policy=email.policy.default)


def start_stack(directory: Optional[Union[str, Path]] = None) -> Stack:
    """stack.sh start in a fresh directory under /tmp (or the one given)."""
    # /tmp itself: pytest's tmp_path lives under a 0700 directory that the
    # mail/postfix/dovenull users cannot traverse
    directory = Path(directory or tempfile.mkdtemp(prefix="cgstack-", dir="/tmp"))
    proc = subprocess.run(["bash", str(STACK_SH), "start", str(directory)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"stack.sh start {directory} failed:\n{proc.stdout}{proc.stderr}")
    return Stack(directory)


def remove_stack_dir(stack: Stack) -> None:
    if stack.owned and not os.environ.get("KEEP_STACK"):
        shutil.rmtree(stack.dir, ignore_errors=True)


# ---------------------------------------------------------------- XMPP client

class XmppError(Exception):
    pass


class XmppClient:
    """slixmpp in its own thread and event loop, driven synchronously.

    Every received message stanza is kept (self.messages, in order);
    wait_message() blocks until one matches.  Anything slixmpp can do is
    reachable with run(coroutine_function) on the client's loop."""

    PLUGINS = ("xep_0030", "xep_0004", "xep_0045", "xep_0059", "xep_0199",
               "xep_0066", "xep_0203", "xep_0297", "xep_0313", "xep_0359",
               "xep_0461")

    def __init__(self, jid: str, password: str, host: str, port: int, ca_file: str,
                 direct_tls: bool = False):
        self.jid, self.password, self.host, self.port, self.ca_file = (
            jid, password, host, port, ca_file)
        self.direct_tls = direct_tls
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name=f"xmpp-{jid}")
        self.thread.start()
        self.xmpp = None
        self.messages: list = []
        self.presences: list = []
        self._cond = threading.Condition()
        self.error: Optional[str] = None

    # -- plumbing
    def run(self, fn: Callable, *args, timeout: float = 15, **kwargs):
        """Run fn(*args, **kwargs) on the client loop; await it if it is a coroutine."""
        async def call():
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            return result
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    def _record(self, kind: str, stanza) -> None:
        with self._cond:
            (self.messages if kind == "message" else self.presences).append(stanza)
            self._cond.notify_all()

    # -- connection
    def connect(self, timeout: float = 15) -> None:
        import slixmpp  # Debian's python3-slixmpp, only under /usr/bin/python3

        async def setup():
            xmpp = slixmpp.ClientXMPP(self.jid, self.password)
            xmpp.ca_certs = Path(self.ca_file)
            for plugin in self.PLUGINS:
                xmpp.register_plugin(plugin)
            done = self.loop.create_future()

            def finish(err=None):
                if not done.done():
                    if err:
                        done.set_exception(XmppError(err))
                    else:
                        done.set_result(True)

            def bad_tls(exc):
                self.error = f"TLS: {exc}"
                finish(self.error)
                xmpp.disconnect()

            async def session_start(_):
                xmpp.send_presence()
                finish()

            xmpp.add_event_handler("session_start", session_start)
            xmpp.add_event_handler("failed_auth", lambda _: finish("authentication failed"))
            xmpp.add_event_handler("ssl_invalid_chain", bad_tls)
            xmpp.add_event_handler("connection_failed", lambda e: finish(f"connection failed: {e}"))
            xmpp.add_event_handler("disconnected", lambda e: finish(f"disconnected: {e}"))
            xmpp.add_event_handler("message", lambda m: self._record("message", m))
            xmpp.add_event_handler("presence", lambda p: self._record("presence", p))
            self.xmpp = xmpp
            # an IP address here: slixmpp then checks the certificate for the JID's
            # domain (a host name here would become the name it checks)
            xmpp.connect(address=(self.host, self.port), use_ssl=self.direct_tls)
            return done

        fut = self.run(setup, timeout=timeout)
        try:
            asyncio.run_coroutine_threadsafe(asyncio.wait_for(fut, timeout), self.loop).result(timeout + 1)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.xmpp is not None:
            xmpp, self.xmpp = self.xmpp, None

            async def bye():
                await xmpp.disconnect(wait=1.0)

            async def cancel_the_rest():  # slixmpp leaves tasks behind
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for step in (bye, cancel_the_rest):
                try:
                    self.run(step, timeout=5)
                except Exception:
                    pass
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    def __enter__(self) -> "XmppClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- MUC
    def join_room(self, room: str, nick: str, timeout: float = 15, configure: bool = True):
        """Join; if the room was just created (status 201) submit the instant-room
        form so it unlocks.  Returns our own presence stanza."""
        muc = self.xmpp.plugin["xep_0045"]
        pres, _subject, _occupants, _history = self.run(
            lambda: muc.join_muc_wait(room, nick, maxstanzas=0, timeout=int(timeout)),
            timeout=timeout + 1)
        codes = {int(s) for s in pres["muc"]["status_codes"]}
        if configure and 201 in codes:
            form = self.xmpp.plugin["xep_0004"].make_form(ftype="submit")
            self.run(lambda: muc.set_room_config(room, form), timeout=timeout)
        return pres

    def leave_room(self, room: str, nick: str) -> None:
        self.run(lambda: self.xmpp.plugin["xep_0045"].leave_muc(room, nick))

    def send_room(self, room: str, body: str, thread: Optional[str] = None) -> str:
        """A groupchat message with an id and an XEP-0359 origin-id; returns the id."""
        def send():
            msg = self.xmpp.make_message(mto=room, mbody=body, mtype="groupchat")
            msg["id"] = self.xmpp.new_id()
            msg["origin_id"]["id"] = msg["id"]
            if thread:
                msg["thread"] = thread
            msg.send()
            return msg["id"]
        return self.run(send)

    def send_chat(self, to: str, body: str) -> str:
        def send():
            msg = self.xmpp.make_message(mto=to, mbody=body, mtype="chat")
            msg["id"] = self.xmpp.new_id()
            msg.send()
            return msg["id"]
        return self.run(send)

    def wait_message(self, predicate: Callable[[Any], bool], timeout: float = 15):
        """The first received message stanza (already received or arriving within
        timeout) for which predicate(stanza) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    bodies = [(str(m["from"]), m["body"]) for m in self.messages]
                    raise TimeoutError(f"no matching message after {timeout}s; got {bodies}")
                self._cond.wait(left)

    # -- XEP-0363
    def upload(self, data: bytes, filename: str, content_type: str = "application/octet-stream",
               service: Optional[str] = None) -> str:
        """Request an HTTP upload slot, PUT the data (TLS verified against the CA
        when the slot URL is https) and return the GET URL."""
        service = service or "upload." + self.jid.split("@", 1)[1].split("/", 1)[0]

        def request():
            iq = self.xmpp.make_iq_get(ito=service)
            req = ET_fromstring(
                f"<request xmlns='urn:xmpp:http:upload:0' filename='{_xml_attr(filename)}' "
                f"size='{len(data)}' content-type='{_xml_attr(content_type)}'/>")
            iq.append(req)
            return iq.send(timeout=15)
        result = self.run(request)
        ns = "{urn:xmpp:http:upload:0}"
        slot = result.xml.find(f"{ns}slot")
        if slot is None:
            raise XmppError(f"no upload slot: {result}")
        put = slot.find(f"{ns}put")
        get = slot.find(f"{ns}get").get("url")
        headers = {h.get("name"): (h.text or "") for h in put.findall(f"{ns}header")}
        headers["Content-Type"] = content_type
        req = urllib.request.Request(put.get("url"), data=data, method="PUT", headers=headers)
        with urllib.request.urlopen(req, context=ssl_context(self.ca_file), timeout=15) as resp:
            if resp.status not in (200, 201):
                raise XmppError(f"PUT {put.get('url')}: HTTP {resp.status}")
        return get


def ET_fromstring(text: str):
    import xml.etree.ElementTree as ET
    return ET.fromstring(text)


def _xml_attr(s: str) -> str:
    return (s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def stanza_id(msg, by: Optional[str] = None) -> Optional[str]:
    """The XEP-0359 stanza-id a server (by=room or account JID) put on a message."""
    for el in msg.xml.findall("{urn:xmpp:sid:0}stanza-id"):
        if by is None or el.get("by") == by:
            return el.get("id")
    return None


# ---------------------------------------------------------------- coopgate config

def _lc_value(v: Any, indent: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, dict):
        inner = indent + "  "
        body = "".join(f"{inner}{k} = {_lc_value(x, inner)};\n" for k, x in v.items()
                       if x is not None)
        return "{\n" + body + indent + "}"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):  # a list of groups: ( {..}, {..} )
            inner = indent + "  "
            return "(\n" + ",\n".join(inner + _lc_value(x, inner) for x in v) + "\n" + indent + ")"
        return "[ " + ", ".join(_lc_value(x, indent) for x in v) + " ]"
    raise TypeError(f"no libconfig form for {v!r}")


def write_secret(path: Union[str, Path], secret: str) -> Path:
    """A secret file the daemon accepts: mode 0600, no trailing newline."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    os.chmod(path, 0o600)
    return path


def coopgate_config(stack: Stack, tmpdir: Union[str, Path]) -> dict:
    """The default config (as nested dicts) for a coopgate in tmpdir talking to stack."""
    tmpdir = Path(tmpdir)
    secrets = tmpdir / "secrets"
    imap_pass = write_secret(secrets / "imap.pass", stack.GATEWAY_MAIL_PASSWORD)
    smtp_pass = write_secret(secrets / "smtp.pass", stack.GATEWAY_MAIL_PASSWORD)
    xmpp_pass = write_secret(secrets / "xmpp.pass", stack.GATEWAY_XMPP_PASSWORD)
    write_secret(secrets / "component.secret", stack.COMPONENT_SECRET)
    return {
        "gateway": {
            "domain": stack.LIST_DOMAIN,
            "data_dir": str(tmpdir / "data"),
            "log_level": "debug",
        },
        "imap": {
            "host": "localhost", "port": stack.IMAP_PORT, "tls": "starttls",
            "user": stack.GATEWAY_MAIL_USER, "password_file": str(imap_pass),
            "mailbox": "INBOX", "ca_file": stack.CA_FILE,
            # the stack's Postfix: its Received header records SASL
            # submissions, the proof posting.sender_proof asks for
            "trusted_authserv_id": f"mail.{stack.MAIL_DOMAIN}",
        },
        "smtp": {
            "host": "localhost", "port": stack.SUBMISSION_PORT, "tls": "starttls",
            "user": stack.GATEWAY_MAIL_USER, "password_file": str(smtp_pass),
            "ca_file": stack.CA_FILE,
        },
        "xmpp": {
            "jid": stack.GATEWAY_JID, "password_file": str(xmpp_pass),
            "host": "localhost", "port": stack.XMPP_PORT, "tls": "required",
            "ca_file": stack.CA_FILE, "nick": "gateway",
            "upload_service": stack.UPLOAD_DOMAIN,
        },
        "channels": [
            {"name": "dev", "address": f"dev@{stack.LIST_DOMAIN}",
             "room": f"dev@{stack.MUC_DOMAIN}", "description": "Development",
             "post_layer": "member", "crm_context": "footer", "chat_batch": 120},
        ],
        "members": [
            {"address": stack.address("alice"), "name": "Alice Example",
             "jid": stack.jid("alice"), "layer": "core", "org": "Example eG",
             "channels": ["dev"], "delivery": "each"},
            {"address": stack.address("bob"), "name": "Bob Example",
             "jid": stack.jid("bob"), "layer": "member",
             "channels": ["dev"], "delivery": "each"},
        ],
    }


def write_coopgate_config(stack: Stack, tmpdir: Union[str, Path], **overrides: Any) -> Path:
    """Write tmpdir/coopgate.conf (libconfig) pointing at the stack; return its path.

    Overrides, per top-level group:
      imap={"port": stack.IMAPS_PORT, "tls": "implicit"}   merge into a group (None deletes a key)
      channels=[...], members=[...]                        replace a list
      onboarding={"nominations_required": 2}               add a group
      xmpp=None                                            drop a group
      raw="extra = 1;"                                     text appended verbatim (for bad-config tests)
    Secret files (mode 0600) are in tmpdir/secrets/."""
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(parents=True, exist_ok=True)
    cfg = coopgate_config(stack, tmpdir)
    raw = overrides.pop("raw", "")
    for key, value in overrides.items():
        if value is None:
            cfg.pop(key, None)
        elif isinstance(value, dict) and isinstance(cfg.get(key), dict):
            for k, v in value.items():
                if v is None:
                    cfg[key].pop(k, None)
                else:
                    cfg[key][k] = v
        else:
            cfg[key] = value
    text = "# coopgate test config, written by tests/integration/helpers.py\n"
    for key, value in cfg.items():
        text += f"{key} = {_lc_value(value, '')};\n"
    if raw:
        text += raw.rstrip("\n") + "\n"
    path = tmpdir / "coopgate.conf"
    path.write_text(text)
    return path
