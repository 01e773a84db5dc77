"""Mail to the gateway that is not a list post, against real Dovecot and Postfix:
CHANNEL+request@ commands (confirmed subscribe/unsubscribe, help), the
List-Unsubscribe address, unknown addresses of the list domain, oversize posts,
and delivery reports to the VERP address (bounce score, suspension).

Each copy is routed by its own Delivered-To (the stack's Dovecot writes one per
copy), so one mail to dev@ and dev+request@ is both posted and answered.  Every
answer is a notice row (store) that the email bridge sends as direct mail; the
tests check both the row and the mail that arrives.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
import time

import pytest

from coopgate import Daemon, cli, db, empty_gateway_mailbox, token
from helpers import make_message, write_coopgate_config

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


# ---------------------------------------------------------------- helpers


class Gateway(Daemon):
    """A coopgate in tmp_path with the stack's mail servers (XMPP only on request)."""

    def __init__(self, stack, tmp_path, **overrides):
        self.stack = stack
        self.data_dir = tmp_path / "data"
        merged = dict(xmpp=None)
        merged.update(overrides)
        conf = write_coopgate_config(stack, tmp_path, **merged)
        super().__init__(conf, tmp_path / "coopgate.log")
        cli(conf, "init", check=0)

    def addr(self, local: str) -> str:
        return f"{local}@{self.stack.LIST_DOMAIN}"

    def members(self) -> str:
        return cli(self.conf, "member", "list", "--channel", "dev", check=0).stdout

    def show(self, address: str) -> str:
        return cli(self.conf, "member", "show", address, check=0).stdout

    def rows(self, sql: str, *args) -> list:
        con = db(self.data_dir)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def notices(self, to: str) -> list:
        """Notices to `to`, oldest first, as dicts."""
        cols = ("id", "from_addr", "to_addr", "subject", "body", "in_reply_to",
                "auto_submitted", "message_id")
        return [dict(zip(cols, r)) for r in self.rows(
            f"SELECT {', '.join(cols)} FROM notice WHERE to_addr = ? ORDER BY id", to)]

    def wait_notice(self, to: str, pred, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for n in self.notices(to):
                if pred(n):
                    return n
            assert time.monotonic() < deadline, \
                f"no such notice to {to}: {self.notices(to)}\n{self.log_text()}"
            time.sleep(0.1)

    def handled(self, msgid: str, timeout: float = 20) -> None:
        """Wait until the gateway logged a line about this Message-ID."""
        self.wait_log(f"<{msgid.strip('<>')}>", timeout)


@pytest.fixture
def gateway(stack, tmp_path):
    made = []

    def make(**overrides):
        empty_gateway_mailbox(stack)
        gw = Gateway(stack, tmp_path, **overrides)
        made.append(gw)
        gw.start()
        gw.wait_log("connected as gateway")
        return gw

    yield make
    for gw in made:
        if gw.proc and gw.proc.poll() is None:
            gw.stop()
        log = gw.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in log, log
    if made:
        empty_gateway_mailbox(stack)


def send(stack, user: str, msg, to) -> None:
    assert stack.send_mail(stack.address(user), to, msg, user=user) == {}


def mails(stack, user: str, pred) -> list:
    return [m for m in stack.maildir_messages(user) if pred(m)]


def wait_mail(stack, user: str, pred, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        found = mails(stack, user, pred)
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{user} never got the mail"
        time.sleep(0.1)


def with_msgid(msgid: str):
    return lambda m: m["Message-ID"] == msgid


def replying_to(msgid: str):
    return lambda m: msgid in str(m.get("In-Reply-To", ""))


def notice_mail(stack, user: str, notice: dict):
    """The notice as it arrived in the user's mailbox (sent by the email bridge)."""
    got = wait_mail(stack, user, with_msgid(f"<{notice['message_id']}>"))
    assert email.utils.parseaddr(str(got["From"]))[1] == notice["from_addr"]
    assert str(got["Auto-Submitted"]).startswith("auto-")
    return got


def confirm_token(notice: dict) -> str:
    m = re.search(r"confirm ([0-9a-f]{20})", notice["subject"])
    assert m, notice
    return m.group(1)


def request_and_confirm(stack, gw, user: str, command: str, to: str) -> dict:
    """Mail `command` to `to`, then reply to the confirmation as a person
    would (Re: subject, quoted text); returns the final notice."""
    who = stack.address(user)
    cmd = make_message(who, to, command, f"{command}\n")
    send(stack, user, cmd, to)
    ask = gw.wait_notice(who, lambda n: n["in_reply_to"] == cmd["Message-ID"].strip("<>"))
    tok = confirm_token(ask)
    got = notice_mail(stack, user, ask)
    assert tok in str(got["Subject"])
    assert got["In-Reply-To"] == cmd["Message-ID"]
    reply = make_message(who, gw.addr("dev+request"), "Re: " + str(got["Subject"]),
                         "Yes, please.\n\n> " + ask["body"].replace("\n", "\n> ") + "\n",
                         In_Reply_To=got["Message-ID"], References=got["Message-ID"])
    send(stack, user, reply, gw.addr("dev+request"))
    done = gw.wait_notice(who, lambda n: n["in_reply_to"] == reply["Message-ID"].strip("<>"))
    notice_mail(stack, user, done)
    return done


def post(stack, gw, subject: str) -> str:
    msg = make_message("alice@example.org", gw.addr("dev"), subject, "a list post\n")
    send(stack, "alice", msg, gw.addr("dev"))
    return msg["Message-ID"]


# The post whose copy each VERP address came from (verp_of): a report to a
# shared token counts only when it returns a message sent to that recipient.
RETURNED: dict = {}


def verp_of(stack, gw, user: str) -> str:
    """The VERP envelope sender of a real list mail to `user` (its
    Return-Path): where that mail's bounces go, with a token only the gateway
    can make."""
    msgid = post(stack, gw, f"For the VERP {token()}")
    got = wait_mail(stack, user, with_msgid(msgid))
    verp = str(got["Return-Path"]).strip("<>")
    assert re.fullmatch(rf"dev\+bounce-\d+\.[0-9a-f]{{16}}-{user}=example\.org@"
                        r"lists\.example\.org", verp), verp
    RETURNED[verp] = msgid
    return verp


def email_rows_settled(gw, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while gw.rows("SELECT count(*) FROM outbox WHERE bridge = 'email' "
                  "AND state = 'pending'")[0][0]:
        assert time.monotonic() < deadline, gw.log_text()
        time.sleep(0.1)
    time.sleep(1.0)  # Postfix hands it on: a copy sent anyway would be there now


DSN = """\
From: Mail Delivery System <MAILER-DAEMON@example.org>
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <{msgid}>
Date: {date}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BND"

--BND
Content-Type: text/plain

Your message could not be delivered to {rcpt}.

--BND
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown
{returned}
--BND--
"""

RETURNED_PART = """
--BND
Content-Type: text/rfc822-headers

From: alice@example.org
Message-ID: <{returned}>
Subject: a list post
"""


def send_dsn(stack, to: str, rcpt: str, returned=None) -> str:
    """A delivery report to `to` naming `rcpt`, returning the headers of
    message `returned` (default: the post verp_of() took `to` from)."""
    msgid = f"dsn.{token()}@example.org"
    returned = returned or RETURNED.get(to)
    part = RETURNED_PART.format(returned=returned.strip("<>")) if returned else ""
    data = DSN.format(to=to, rcpt=rcpt, msgid=msgid, returned=part,
                      date=email.utils.formatdate()).replace("\n", "\r\n")
    refused = stack.send_mail("", to, data.encode(), port=stack.SMTP_PORT, user=None)
    assert refused == {}
    return msgid


# ---------------------------------------------------------------- tests

def test_subscribe_and_unsubscribe_by_mail_round_trip(stack, gateway):
    gw = gateway()
    carol = stack.address("carol")
    assert carol not in gw.members()

    done = request_and_confirm(stack, gw, "carol", "subscribe", gw.addr("dev+request"))
    assert "now subscribed" in done["body"]
    assert carol in gw.members()
    first = post(stack, gw, f"After subscribing {token()}")
    wait_mail(stack, "carol", with_msgid(first))

    # the List-Unsubscribe address, confirmed the same way
    done = request_and_confirm(stack, gw, "carol", "unsubscribe", gw.addr("dev+unsubscribe"))
    assert "now unsubscribed" in done["body"]
    assert carol not in gw.members()
    second = post(stack, gw, f"After unsubscribing {token()}")
    wait_mail(stack, "bob", with_msgid(second))
    email_rows_settled(gw)
    assert mails(stack, "carol", with_msgid(second)) == []


def test_delivery_mode_digest_by_mail(stack, gateway):
    gw = gateway()
    bob = stack.address("bob")
    assert "Channel: dev (each" in gw.show(bob)
    done = request_and_confirm(stack, gw, "bob", "digest", gw.addr("dev+request"))
    assert 'delivery "digest"' in done["body"]
    assert "Channel: dev (digest, config)" in gw.show(bob)
    later = post(stack, gw, f"Digest only {token()}")
    gw.wait_log(f"<{later.strip('<>')}>")
    email_rows_settled(gw)
    assert mails(stack, "bob", with_msgid(later)) == []


def test_subscription_needs_the_token_not_just_the_request(stack, gateway):
    gw = gateway()
    carol = stack.address("carol")
    cmd = make_message(carol, gw.addr("dev+request"), "subscribe", "subscribe\n")
    send(stack, "carol", cmd, gw.addr("dev+request"))
    gw.wait_notice(carol, lambda n: n["in_reply_to"] == cmd["Message-ID"].strip("<>"))
    assert carol not in gw.members()
    # a guessed token changes nothing
    fake = make_message(carol, gw.addr("dev+request"), "confirm " + "0" * 20, "\n")
    send(stack, "carol", fake, gw.addr("dev+request"))
    n = gw.wait_notice(carol, lambda n: n["in_reply_to"] == fake["Message-ID"].strip("<>"))
    assert "no such request" in n["body"]
    assert carol not in gw.members()


def test_help_is_answered_from_the_request_address(stack, gateway):
    gw = gateway()
    bob = stack.address("bob")
    msg = make_message(bob, gw.addr("dev+request"), "help?", "help\n\n-- \nBob\nsubscribe\n")
    send(stack, "bob", msg, gw.addr("dev+request"))
    n = gw.wait_notice(bob, lambda n: n["in_reply_to"] == msg["Message-ID"].strip("<>"))
    assert n["from_addr"] == gw.addr("dev+request")
    assert "unsubscribe" in n["body"] and "digest" in n["body"]
    assert "confirm" not in n["subject"]  # the signature's "subscribe" is no command
    got = notice_mail(stack, "bob", n)
    assert got["In-Reply-To"] == msg["Message-ID"]
    assert "digest" in got.get_content()


def test_one_mail_to_list_and_request_address_is_posted_and_answered(stack, gateway):
    gw = gateway()
    bob = stack.address("bob")
    msg = make_message(bob, [gw.addr("dev"), gw.addr("dev+request")],
                       f"Both {token()}", "help\n")
    send(stack, "bob", msg, [gw.addr("dev"), gw.addr("dev+request")])
    # the list copy is relayed, the +request copy answered: the pipeline's
    # Message-ID dedup swallowed neither
    wait_mail(stack, "alice", with_msgid(msg["Message-ID"]))
    gw.wait_notice(bob, lambda n: n["in_reply_to"] == msg["Message-ID"].strip("<>"))
    assert len(gw.rows("SELECT id FROM message WHERE message_id = ?",
                       msg["Message-ID"].strip("<>"))) == 1


def test_unknown_address_gets_one_notice_even_when_sent_twice(stack, gateway):
    gw = gateway()
    alice = stack.address("alice")
    ids = []
    for i in range(2):
        msg = make_message(alice, gw.addr("nosuch"), f"Hello nobody {i}", "anyone?\n")
        send(stack, "alice", msg, gw.addr("nosuch"))
        ids.append(msg["Message-ID"].strip("<>"))
        gw.handled(ids[-1])
    notices = [n for n in gw.notices(alice) if n["in_reply_to"] in ids]
    assert len(notices) == 1, notices
    assert gw.addr("nosuch") in notices[0]["body"]
    assert notices[0]["in_reply_to"] == ids[0]
    notice_mail(stack, "alice", notices[0])
    email_rows_settled(gw)
    got = mails(stack, "alice", lambda m: any(i in str(m.get("In-Reply-To", "")) for i in ids))
    assert len(got) == 1
    assert "answered within 24 h already" in gw.log_text()


def test_unknown_address_never_answers_auto_generated_mail(stack, gateway):
    gw = gateway()
    alice = stack.address("alice")
    msg = make_message(alice, gw.addr("nosuch"), "Out of office", "away\n",
                       Auto_Submitted="auto-replied")
    send(stack, "alice", msg, gw.addr("nosuch"))
    gw.handled(msg["Message-ID"])
    assert gw.notices(alice) == []
    # a person writing next is answered: the auto-reply was skipped, not
    # counted against the rate limit
    human = make_message(alice, gw.addr("nosuch"), "Hello?", "anyone?\n")
    send(stack, "alice", human, gw.addr("nosuch"))
    gw.handled(human["Message-ID"])
    assert [n["in_reply_to"] for n in gw.notices(alice)] == [human["Message-ID"].strip("<>")]


def test_command_in_auto_generated_mail_is_ignored(stack, gateway):
    gw = gateway()
    carol = stack.address("carol")
    auto = make_message(carol, gw.addr("dev+request"), "Auto: subscribe", "subscribe\n",
                        Auto_Submitted="auto-replied")
    send(stack, "carol", auto, gw.addr("dev+request"))
    gw.wait_log("auto-generated mail: commands ignored")
    human = make_message(carol, gw.addr("dev+request"), "help", "help\n")
    send(stack, "carol", human, gw.addr("dev+request"))
    gw.wait_notice(carol, lambda n: n["in_reply_to"] == human["Message-ID"].strip("<>"))
    assert [n for n in gw.notices(carol)
            if n["in_reply_to"] == auto["Message-ID"].strip("<>")] == []
    assert gw.rows("SELECT count(*) FROM request_token")[0][0] == 0


def test_oversize_post_is_answered_with_the_limit(stack, gateway):
    gw = gateway(imap={"max_message_size": 4000})
    alice = stack.address("alice")
    big = make_message(alice, gw.addr("dev"), f"Big {token()}", "0123456789abcdef\n" * 600)
    send(stack, "alice", big, gw.addr("dev"))
    n = gw.wait_notice(alice, lambda n: n["in_reply_to"] == big["Message-ID"].strip("<>"))
    assert re.search(r"your message to dev@lists\.example\.org was not relayed: "
                     r"[0-9.]+ kB is above the 3\.9 kB limit", n["body"]), n["body"]
    notice_mail(stack, "alice", n)
    email_rows_settled(gw)
    assert mails(stack, "bob", with_msgid(big["Message-ID"])) == []


def test_bounces_raise_the_score_and_five_permanent_suspend_delivery(stack, gateway):
    # with XMPP configured: the suspended member hears about it by chat
    gw = gateway(xmpp={})
    bob = stack.address("bob")
    verp = verp_of(stack, gw, "bob")
    assert "Bounces: none" in gw.show(bob)

    gw.handled(send_dsn(stack, verp, bob))
    show = gw.show(bob)
    assert re.search(r"Bounces: score 1\.0, last \d{4}-\d\d-\d\d \(5\.1\.1 550 5\.1\.1", show), show

    # a vacation reply to the envelope sender is no report: counts nothing
    vac = make_message(bob, verp, "Out of office", "away\n", Auto_Submitted="auto-replied")
    send(stack, "bob", vac, verp)
    gw.handled(vac["Message-ID"])
    assert "score 1.0" in gw.show(bob)

    first = post(stack, gw, f"Still delivered {token()}")
    wait_mail(stack, "bob", with_msgid(first))
    for _ in range(4):
        gw.handled(send_dsn(stack, verp, bob))
    assert re.search(r"Bounces: suspended since \d{4}-\d\d-\d\d", gw.show(bob)), gw.show(bob)
    rows = gw.rows("SELECT o.destination, n.body FROM outbox o JOIN notice n "
                   "ON n.id = o.notice_id WHERE o.bridge = 'xmpp'")
    assert len(rows) == 1 and rows[0][0] == stack.jid("bob"), rows
    assert "suspended" in rows[0][1] or "stopped" in rows[0][1]

    second = post(stack, gw, f"Suspended {token()}")
    gw.wait_log(f"<{second.strip('<>')}>")
    email_rows_settled(gw)
    assert mails(stack, "bob", with_msgid(second)) == []
    assert gw.rows("SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message_id "
                   "WHERE m.message_id = ? AND o.destination = ?",
                   second.strip("<>"), bob)[0][0] == 0


def test_forged_bounces_are_ignored_and_a_real_one_counts(stack, gateway):
    """Five delivery reports to made-up VERP tokens (the plain address, as
    the tokens used to be, and a well-formed token with a wrong MAC) do not
    suspend bob; a report to the address of mail really sent to him counts."""
    gw = gateway()
    bob = stack.address("bob")
    day = int(time.time()) // 86400
    forged = ["bob=example.org", f"{day}.0123456789abcdef-bob=example.org",
              f"{day}.fedcba9876543210-bob=example.org",
              f"{day - 1}.0000000000000000-bob=example.org", "626f62406578616d706c652e6f7267"]
    for tok in forged:
        gw.handled(send_dsn(stack, gw.addr(f"dev+bounce-{tok}"), bob))
    assert "Bounces: none" in gw.show(bob), gw.show(bob)
    assert gw.log_text().count("ignored") >= 5
    gw.wait_log("VERP token does not verify (forged?)")

    gw.handled(send_dsn(stack, verp_of(stack, gw, "bob"), bob))
    assert re.search(r"Bounces: score 1\.0", gw.show(bob)), gw.show(bob)


# ---------------------------------------------------------------- nominations
#
# Who nominates by mail is decided by the server named in
# imap.trusted_authserv_id (the stack's Postfix: mail.example.org) only, on
# one of two proofs:
#  - its Authentication-Results header.  The stack's Postfix adds none, so
#    these test mails carry it as sent: that is the trusted-MTA model, where
#    the MTA strips incoming copies of its own header and adds the real one
#    (in production; here the test plays that MTA).  Such mails go in on
#    port 25 without a login, so the header is the only proof they carry.
#  - its record of an authenticated submission: the stack's submission port
#    has smtpd_sasl_authenticated_header = yes, so Postfix writes
#    "(Authenticated sender: LOGIN) by mail.example.org (Postfix) with
#    ESMTPSA" into the Received header it adds (the stack's users log in as
#    "bob" or "bob@example.org"; both stand for bob@example.org).

TRUSTED = {"trusted_authserv_id": "mail.example.org"}


def send_unauthenticated(stack, msg, to, sender: str) -> None:
    """In on port 25 without a login, as any server on the internet could."""
    assert stack.send_mail(sender, to, msg, port=stack.SMTP_PORT, user=None) == {}


def silenced_answer(gw, addr: str, msgid: str) -> str:
    """An unproven sender gets no answer (a forged From must not make the
    gateway mail a third party): the refusal goes to the log instead, on
    one line.  Returns that line, whitespace collapsed."""
    gw.wait_log(f"answer to {addr} not sent (sender not proven)")
    line = next(l for l in gw.log_text().splitlines()
                if f"answer to {addr} not sent" in l)
    assert gw.notices(addr) == [], gw.notices(addr)
    return " ".join(line.split())


def received_by_gateway(stack, msgid: str):
    """The copy of a mail in the gateway's mailbox (the bridge marks it
    \\Seen and leaves it there)."""
    got = [m for m in stack.fetch_mail("gateway") if m["Message-ID"] == msgid]
    assert got, f"{msgid} is not in the gateway's mailbox"
    return got[0]


def test_nomination_by_mail_without_trusted_authentication_is_refused(stack, gateway):
    gw = gateway(imap=TRUSTED)
    bob = stack.address("bob")
    # a header from some other server vouches for nothing, and without a
    # login Postfix records no authenticated submission
    msg = make_message(bob, gw.addr("dev+request"), "Nomination",
                       "nominate dave@example.org\n",
                       Authentication_Results="mx.elsewhere.example.net; "
                                              "dmarc=pass header.from=example.org")
    send_unauthenticated(stack, msg, gw.addr("dev+request"), bob)
    line = silenced_answer(gw, bob, msg["Message-ID"])
    assert ("your mail carries no Authentication-Results from mail.example.org showing "
            "dmarc=pass or an aligned dkim=pass for example.org, no DKIM signature "
            "of example.org that verifies, and no record by "
            "mail.example.org of an authenticated submission by bob@example.org: "
            "mail.example.org received it without SMTP authentication (no login "
            "recorded). Nominations need an authenticated sender") in line, line
    assert "nomination refused" in line and "Nothing was recorded" in line
    assert gw.rows("SELECT count(*) FROM nomination")[0][0] == 0
    assert gw.rows("SELECT count(*) FROM identity WHERE value = ?", "dave@example.org") \
        == [(0,)]


def test_nomination_by_mail_without_trusted_authserv_id_is_refused(stack, gateway):
    # imap.trusted_authserv_id unset: no mail is authenticated,
    gw = gateway(imap={"trusted_authserv_id": None})
    alice = stack.address("alice")  # not even one submitted with a login
    msg = make_message(alice, gw.addr("dev+request"), "Nomination",
                       "nominate dave@example.org\n",
                       Authentication_Results="mail.example.org; dmarc=pass "
                                              "header.from=example.org")
    send(stack, "alice", msg, gw.addr("dev+request"))
    line = silenced_answer(gw, alice, msg["Message-ID"])
    assert "imap.trusted_authserv_id is not set" in line, line
    assert "nominations need an authenticated sender" in line
    assert gw.rows("SELECT count(*) FROM nomination")[0][0] == 0


def test_nomination_by_authenticated_mail_is_recorded(stack, gateway):
    gw = gateway(imap=TRUSTED)
    alice = stack.address("alice")
    msg = make_message(alice, gw.addr("dev+request"), "Nomination",
                       "nominate dave@example.org\n\n-- \nAlice\n")
    # The test plays the trusted MTA: its results above its own Received
    # header, as OpenDMARC under Postfix writes them, delivered straight
    # into the gateway's mailbox.
    trace = ("Delivered-To: " + gw.addr("dev+request") + "\r\n"
             "Authentication-Results: mail.example.org; dmarc=pass "
             "header.from=example.org\r\n"
             "Received: from mx.elsewhere.example (unknown [192.0.2.7])\r\n"
             "\tby mail.example.org (Postfix) with ESMTP id 4A1B2C3D\r\n"
             "\tfor <" + gw.addr("dev+request") + ">; "
             + email.utils.formatdate() + "\r\n")
    client = stack.imap_login("gateway")
    try:
        assert client.append("INBOX", None, None, trace.encode()
                             + msg.as_bytes(policy=email.policy.SMTP))[0] == "OK"
    finally:
        client.logout()
    n = gw.wait_notice(alice, lambda n: n["in_reply_to"] == msg["Message-ID"].strip("<>"))
    assert "Nominated" in n["body"] and "(1 of 2 nominations)" in n["body"], n["body"]
    rows = gw.rows("SELECT nominee.name, nominee.id, nominator.name, n.target_layer "
                   "FROM nomination n JOIN contact nominee ON nominee.id = n.nominee_id "
                   "JOIN contact nominator ON nominator.id = n.nominator_id")
    assert len(rows) == 1 and rows[0][2] == "Alice Example" and rows[0][3] == "member", rows
    show = gw.show("dave@example.org")
    assert "Layer: guest" in show, show
    assert "Nominations: 1" in show, show


def test_nominations_submitted_with_a_login_promote_the_guest(stack, gateway):
    gw = gateway(imap=TRUSTED)
    bob, alice = stack.address("bob"), stack.address("alice")
    to = gw.addr("dev+request")
    # bob logs in with his local part: no DKIM, no Authentication-Results
    first = make_message(bob, to, "Nomination", "nominate dave@example.org\n")
    assert stack.send_mail(bob, to, first, user="bob") == {}
    n = gw.wait_notice(bob, lambda n: n["in_reply_to"] == first["Message-ID"].strip("<>"))
    assert "Nominated dave@example.org as member (1 of 2 nominations)" in n["body"], n["body"]
    notice_mail(stack, "bob", n)
    # what the gateway believed: Postfix's own record, nothing else
    got = received_by_gateway(stack, first["Message-ID"])
    assert got["Authentication-Results"] is None
    assert any("(Authenticated sender: bob)" in str(r) and "by mail.example.org" in str(r)
               and "ESMTPSA" in str(r) for r in got.get_all("Received")), \
        got.get_all("Received")

    # alice logs in with her full address; the second nomination promotes
    second = make_message(alice, to, "Nomination", "nominate dave@example.org\n")
    assert stack.send_mail(alice, to, second, user="alice@example.org",
                           password=stack.password("alice")) == {}
    n = gw.wait_notice(alice, lambda n: n["in_reply_to"] == second["Message-ID"].strip("<>"))
    assert "dave@example.org is now a member (nominated by Bob Example, Alice Example)" \
        in n["body"], n["body"]
    assert "Layer: member" in gw.show("dave@example.org")
    # dave hears of it by mail, and how to receive the list (a guest is not
    # subscribed; only dave may subscribe himself)
    told = gw.wait_notice("dave@example.org", lambda n: "now a member" in n["subject"])
    assert f'send "subscribe" to dev+request@{stack.LIST_DOMAIN}' in \
        " ".join(told["body"].split()), told["body"]


def test_nomination_with_a_forged_submission_record_is_refused(stack, gateway):
    gw = gateway(imap=TRUSTED)
    alice = stack.address("alice")
    to = gw.addr("dev+request")
    # port 25, no login, From alice, and on top of the sender's headers a
    # Received header in Postfix's words claiming alice logged in
    msg = make_message(alice, to, "Nomination", "nominate dave@example.org\n")
    forged = ("Received: from client.test.example.org (unknown [127.0.0.1])\r\n"
              "\t(Authenticated sender: alice)\r\n"
              "\tby mail.example.org (Postfix) with ESMTPSA id 4F2A1A7812C\r\n"
              f"\tfor <{to}>; {email.utils.formatdate()}\r\n").encode()
    send_unauthenticated(stack, forged + msg.as_bytes(policy=email.policy.SMTP), to,
                         "mallory@elsewhere.example.net")
    line = silenced_answer(gw, alice, msg["Message-ID"])
    assert ("no record by mail.example.org of an authenticated submission by "
            "alice@example.org: mail.example.org received it without SMTP "
            "authentication (no login recorded)") in line, line
    assert "Nothing was recorded" in line
    # the forged header did arrive, below the one Postfix wrote
    got = received_by_gateway(stack, msg["Message-ID"])
    assert sum("Authenticated sender: alice" in str(r) for r in got.get_all("Received")) == 1
    assert gw.rows("SELECT count(*) FROM nomination")[0][0] == 0
    assert gw.rows("SELECT count(*) FROM identity WHERE value = ?", "dave@example.org") \
        == [(0,)]


def test_nomination_submitted_under_another_login_is_refused(stack, gateway):
    gw = gateway(imap=TRUSTED)
    alice = stack.address("alice")
    to = gw.addr("dev+request")
    # bob, logged in as himself, writes From alice: the login is bob's
    msg = make_message(alice, to, "Nomination", "nominate dave@example.org\n")
    assert stack.send_mail(stack.address("bob"), to, msg, user="bob") == {}
    line = silenced_answer(gw, alice, msg["Message-ID"])
    assert ("no record by mail.example.org of an authenticated submission by "
            "alice@example.org: mail.example.org received it from a login that is "
            "not alice@example.org") in line, line
    assert gw.rows("SELECT count(*) FROM nomination")[0][0] == 0


def test_request_answers_to_an_unproven_sender_are_one_confirmation_a_day(stack, gateway):
    """The From address of mail in on port 25 may be anyone's: the gateway
    must not mail a third party on a stranger's say-so.  Only the
    confirmation round trip goes out, once a day; help is not sent."""
    gw = gateway()
    carol = stack.address("carol")
    sent = []
    for i in range(3):
        msg = make_message(carol, gw.addr("dev+request"), f"sub {i}", "subscribe\n")
        send_unauthenticated(stack, msg, gw.addr("dev+request"), carol)
        sent.append(msg)
    helpme = make_message(carol, gw.addr("dev+request"), "help", "help\n")
    send_unauthenticated(stack, helpme, gw.addr("dev+request"), carol)
    for msg in sent + [helpme]:
        gw.handled(msg["Message-ID"])
    notices = gw.notices(carol)
    assert len(notices) == 1, notices
    assert "confirm" in notices[0]["subject"]
    notice_mail(stack, "carol", notices[0])
    assert "sender not proven" in gw.log_text()


def test_request_answers_to_a_proven_sender_are_limited_per_hour(stack, gateway):
    gw = gateway()
    bob = stack.address("bob")
    msgs = []
    for i in range(7):
        msg = make_message(bob, gw.addr("dev+request"), f"help {i}", "help\n")
        send(stack, "bob", msg, gw.addr("dev+request"))
        msgs.append(msg)
    for msg in msgs:
        gw.handled(msg["Message-ID"])
    assert len(gw.notices(bob)) == 5
    assert "over the hourly limit" in gw.log_text()
