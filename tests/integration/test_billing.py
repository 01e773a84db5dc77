"""Billing against real Dovecot, Postfix and Prosody: time, a subscription and
an asset become XRechnung invoices mailed to the buyers (CONTRACT.md
"Billing, invoices and reports").

The daemon issues last month's invoices on billing.run_day (1 here, so at
once), records the run and never issues it again, whatever restarts;
`coopgate invoice run --period` does the same by hand; `invoice cancel`
mails a credit note; `!time` and `!buy` in the room record time and sell an
asset.  With INVOICE_OUT_DIR set, every XML document received by mail is
saved there for `make validate-invoices`.
"""

from __future__ import annotations

import datetime
import email.utils
import os
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from coopgate import cli, wait_for
from coopgate import empty_gateway_mailbox, query, token
from test_email_requests import SANITIZER_MARKS, Gateway
from test_xmpp_bridge import clients, gateway, new_room  # noqa: F401 (fixtures)

assert clients and gateway

CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"


def months_back(n: int) -> str:
    d = datetime.date.today().replace(day=1)
    for _ in range(n):
        d = (d - datetime.timedelta(days=1)).replace(day=1)
    return d.strftime("%Y-%m")


def billing_raw(stack) -> str:
    bob = stack.address("bob")
    return f"""
billing = {{
  currency = "EUR"; run_day = 1;
  sellers = ( {{ code = "coop"; name = "Example eG & Partner"; street = "Hauptstr. 1";
      postcode = "10115"; city = "Berlin"; country = "DE"; vat_id = "DE123456789";
      email = "{stack.address('dave')}"; phone = "+49 30 123456"; contact = "Billing office";
      iban = "DE02120300000000202051"; bic = "BYLADEM1001"; series = "EX-{{YYYY}}-";
      payment_days = 14; workers = [ "{stack.address('alice')}" ]; }} );
  rates = ( {{ code = "DEV"; name = "Development"; unit = "HUR"; price = "80.00";
      vat = "19"; seller = "coop"; buyer = "{bob}"; }} );
  plans = ( {{ code = "SUPPORT"; name = "Supporter membership"; price = "10.00";
      vat = "19"; seller = "coop"; }} );
}};
"""


def members(stack):
    return [
        {"address": stack.address("alice"), "name": "Alice Example",
         "jid": stack.jid("alice"), "layer": "core", "channels": ["dev"]},
        {"address": stack.address("bob"), "name": "Bob Müller",
         "jid": stack.jid("bob"), "layer": "member", "channels": ["dev"]},
        {"address": stack.address("carol"), "name": "Carol",
         "layer": "member", "channels": ["dev"]},
    ]


def invoice_mails(stack, user, kind="Invoice"):
    return [m for m in stack.maildir_messages(user)
            if str(m.get("Subject", "")).startswith(f"{kind} ")]


def xml_of(msg) -> bytes:
    for part in msg.walk():
        name = part.get_filename() or ""
        if name.endswith(".xml"):
            data = part.get_payload(decode=True)
            out = os.environ.get("INVOICE_OUT_DIR")
            if out:
                tag = str(msg["Message-ID"]).strip("<>").split("@")[0][-8:]
                Path(out, f"mail-{tag}-{name}").write_bytes(data)
            return data
    raise AssertionError(f"no XML attachment in {msg['Subject']}")


def amount(doc, path) -> str:
    el = doc.find(path)
    assert el is not None, path
    return el.text


def billing_data(conf, addr, street):
    cli(conf, "member", "billing", addr, "--street", street, "--postcode", "10623",
        "--city", "Berlin", "--country", "DE", "--buyer-ref", "PO-4711", check=0)


def setup_sales(gw, stack, period):
    bob, carol = stack.address("bob"), stack.address("carol")
    billing_data(gw.conf, bob, "Straße des 17. Juni 1")
    billing_data(gw.conf, carol, "Carolweg 2")
    cli(gw.conf, "time", "log", stack.address("alice"), "1.5", "DEV", "--date",
        f"{period}-03", "--note", "pairing & <review>", check=0)
    cli(gw.conf, "time", "log", stack.address("alice"), "2.25", "DEV", "--for", carol,
        "--date", f"{period}-04", check=0)
    cli(gw.conf, "plan", "start", bob, "SUPPORT", "--date", f"{period}-16", check=0)


@pytest.fixture
def billing_gw(stack, tmp_path):
    """A gateway with billing configured, not started yet (the daemon bills
    at once on start: the sales go in first)."""
    empty_gateway_mailbox(stack)
    gw = Gateway(stack, tmp_path, members=members(stack), raw=billing_raw(stack),
                 xmpp={})
    yield gw
    if gw.proc and gw.proc.poll() is None:
        gw.stop()
    log = gw.log_text()
    for mark in SANITIZER_MARKS:
        assert mark not in log, log
    empty_gateway_mailbox(stack)


def number_for(gw, buyer, type_code=380):
    return query(gw.data_dir, "SELECT v.number FROM invoice v JOIN invoice_party p ON "
                   "p.invoice_id = v.id AND p.role = 'buyer' WHERE p.email = ? "
                   "AND v.type_code = ?", buyer, type_code)[0][0]


def days_in(period: str) -> int:
    y, m = map(int, period.split("-"))
    nxt = datetime.date(y + (m == 12), m % 12 + 1, 1)
    return (nxt - datetime.timedelta(days=1)).day


def mail_of(gw, stack, user, number):
    """The mail of invoice `number` of this gateway (by its Message-ID)."""
    (msgid,) = query(gw.data_dir, "SELECT n.message_id FROM notice n JOIN invoice_notice i "
                       "ON i.notice_id = n.id JOIN invoice v ON v.id = i.invoice_id "
                       "WHERE v.number = ?", number)[0]
    return wait_for(f"the mail of {number}", lambda: [
        x for x in stack.maildir_messages(user)
        if str(x["Message-ID"]) == f"<{msgid}>"], 60)[0]


def count_invoices(gw) -> int:
    return query(gw.data_dir, "SELECT count(*) FROM invoice")[0][0]


def test_daemon_bills_last_month_once_and_cancel_mails_a_credit_note(stack, billing_gw):
    gw, last = billing_gw, months_back(1)
    bob, carol = stack.address("bob"), stack.address("carol")
    setup_sales(gw, stack, last)
    # a restart during the run: killed at once, started again
    gw.start()
    gw.kill()
    gw.start()
    gw.wait_log(f"billing: invoice run {last}: ", timeout=60)
    assert count_invoices(gw) == 2
    number = number_for(gw, bob)
    bob_mail = mail_of(gw, stack, "bob", number)
    carol_mail = mail_of(gw, stack, "carol", number_for(gw, carol))

    # the mail: from the gateway's billing address, replies to the seller
    assert str(bob_mail["Subject"]) == f"Invoice {number} from Example eG & Partner"
    name, addr = email.utils.parseaddr(str(bob_mail["From"]))
    assert (name, addr) == ("Example eG & Partner", f"billing@{stack.LIST_DOMAIN}")
    assert email.utils.parseaddr(str(bob_mail["Reply-To"]))[1] == stack.address("dave")
    types = [p.get_content_type() for p in bob_mail.walk()]
    assert "text/plain" in types and "text/html" in types, types
    text = bob_mail.get_body(("plain",)).get_content()
    assert "Due date:" in text and "DE02120300000000202051" in text, text

    # the XML: the totals are right (1.5 h x 80.00 + SUPPORT pro rata, 19 %)
    doc = ET.fromstring(xml_of(bob_mail))
    dim = days_in(last)
    plan = (1000 * (dim - 15) + dim // 2) // dim
    net = 12000 + plan
    vat = (net * 19 + 50) // 100
    total = f"{CAC}LegalMonetaryTotal/{CBC}"
    assert amount(doc, f"{total}TaxExclusiveAmount") == f"{net // 100}.{net % 100:02d}"
    gross = net + vat
    assert amount(doc, f"{total}PayableAmount") == f"{gross // 100}.{gross % 100:02d}"
    assert amount(doc, f"{CBC}ID") == number
    assert "pairing &amp; &lt;review&gt;" in xml_of(bob_mail).decode()
    # `invoice xml` prints the bytes that were mailed
    assert cli(gw.conf, "invoice", "xml", number, check=0).stdout.encode() == xml_of(bob_mail)
    cdoc = ET.fromstring(xml_of(carol_mail))
    assert amount(cdoc, f"{total}TaxExclusiveAmount") == "180.00"

    # a second run, by hand or by a restart, issues nothing
    p = cli(gw.conf, "invoice", "run", check=0)
    assert "issued 0 invoice(s)" in p.stdout, p.stdout
    gw.stop()
    gw.start()
    time.sleep(6)  # one billing tick
    assert count_invoices(gw) == 2
    assert len([m for m in invoice_mails(stack, "bob")
                if m["Message-ID"] == bob_mail["Message-ID"]]) == 1

    # cancel: a credit note (381) referencing the invoice, mailed too
    p = cli(gw.conf, "invoice", "cancel", number, "--reason", "wrong hours", check=0)
    credit = p.stdout.split()[-1]
    cn_mail = mail_of(gw, stack, "bob", credit)
    assert str(cn_mail["Subject"]) == f"Credit note {credit} from Example eG & Partner"
    cn = ET.fromstring(xml_of(cn_mail))
    assert cn.tag.endswith("CreditNote")
    assert amount(cn, f"{CBC}CreditNoteTypeCode") == "381"
    assert amount(cn, f"{CAC}BillingReference/{CAC}InvoiceDocumentReference/{CBC}ID") == number
    assert amount(cn, f"{total}PayableAmount") == f"{gross // 100}.{gross % 100:02d}"
    assert cli(gw.conf, "invoice", "cancel", number, "--reason", "x").returncode == 65


def test_a_run_by_hand_bills_an_earlier_month_and_reports_missing_data(stack, billing_gw):
    gw, earlier = billing_gw, months_back(2)
    cli(gw.conf, "member", "add", stack.address("dave"), "--layer", "member", check=0)
    billing_data(gw.conf, stack.address("bob"), "Straße 1")
    for buyer in ("bob", "dave"):
        cli(gw.conf, "time", "log", stack.address("alice"), "1", "DEV", "--for",
            stack.address(buyer), "--date", f"{earlier}-05", check=0)
    gw.start()
    p = cli(gw.conf, "invoice", "run", "--period", earlier)
    assert p.returncode == 65, p
    assert f"{stack.address('dave')}: skipped: billing data missing: street, postcode, " \
           "city, country" in p.stdout, p.stdout
    assert "issued 1 invoice(s), skipped 1 buyer(s)" in p.stdout
    m = mail_of(gw, stack, "bob", p.stdout.split(":")[0])
    assert amount(ET.fromstring(xml_of(m)), f"{CAC}LegalMonetaryTotal/{CBC}PayableAmount") \
        == "95.20"
    assert cli(gw.conf, "invoice", "run", "--period", "2999-01").returncode == 65
    assert cli(gw.conf, "time", "log", stack.address("alice"), "25", "DEV").returncode == 65


def test_room_time_and_buy_answer_privately_and_buy_mails_invoice_and_file(
        stack, gateway, clients, tmp_path):  # noqa: F811
    room = new_room(stack)
    gw = gateway(room, members=members(stack), raw=billing_raw(stack))
    billing_data(gw.conf, stack.address("bob"), "Straße 1")
    book = tmp_path / "book.txt"
    book.write_text(f"the book {token()}\n")
    cli(gw.conf, "asset", "add", str(book), "--code", "EBOOK", "--name", "The Book",
        "--price", "9.99", "--vat", "7", check=0)
    gw.start_joined()
    alice = clients("alice")
    alice.join_room(room, "alice")
    bob = clients("bob")
    bob.join_room(room, "bob")

    def answer(client, needle):
        return client.wait_message(lambda m: m["type"] == "chat"
                                   and str(m["from"]) == f"{room}/gateway"
                                   and needle in m["body"], timeout=30)["body"]

    alice.send_room(room, "!time 1.5 DEV pairing on billing")
    body = answer(alice, "!time")
    assert "recorded time entry" in body and "1.5 h DEV" in body, body
    assert "pairing on billing" in body, body
    assert query(gw.data_dir, "SELECT qty_milli, note FROM time_entry") == \
        [(1500, "pairing on billing")]
    bob.send_room(room, "!time 1 DEV")
    assert "not a worker" in answer(bob, "!time: refused")
    bob.send_room(room, "!buy NOPE")
    assert "NOPE: no such asset" in answer(bob, "!buy: refused")

    bob.send_room(room, "!buy EBOOK")
    body = answer(bob, "!buy: The Book bought")
    number = body.split("invoice ")[1].split(",")[0]
    assert "10.69 EUR" in body, body  # 9.99 + 7 % VAT (0.70)
    # the chat line from the gateway, and the mail with the XML and the file
    bob.wait_message(lambda m: m["type"] == "chat" and number in m["body"]
                     and "10.69 EUR, due" in m["body"], timeout=30)
    m = mail_of(gw, stack, "bob", number)
    files = {p.get_filename(): p.get_payload(decode=True) for p in m.walk()
             if p.get_filename()}
    assert files["book.txt"] == book.read_bytes(), files.keys()
    doc = ET.fromstring(files[f"{number}.xml"])
    xml_of(m)
    assert amount(doc, f"{CAC}LegalMonetaryTotal/{CBC}PayableAmount") == "10.69"
    assert amount(doc, f"{CAC}InvoiceLine/{CBC}InvoicedQuantity") == "1"


def test_vcard_carries_the_billing_data_both_ways(stack, billing_gw, tmp_path):
    gw, earlier = billing_gw, months_back(2)
    dave = stack.address("dave")
    card = tmp_path / "dave.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Dave\r\n"
                    f"EMAIL:{dave}\r\nORG:Dave\\, Söhne & Co\r\n"
                    "ADR:;;Lindenstraße 5\\; Hof;Hamburg;;20095;DE\r\n"
                    "X-COOP-VAT-ID:DE987654321\r\nX-COOP-BUYER-REF:LEITWEG-1\r\n"
                    "X-COOP-LAYER:member\r\nEND:VCARD\r\n")
    cli(gw.conf, "crm", "import", str(card), check=0)
    out = cli(gw.conf, "crm", "export", check=0).stdout
    assert "ADR:;;Lindenstraße 5\\; Hof;Hamburg;;20095;DE" in out, out
    assert "X-COOP-VAT-ID:DE987654321" in out and "X-COOP-BUYER-REF:LEITWEG-1" in out
    cli(gw.conf, "time", "log", stack.address("alice"), "1", "DEV", "--for", dave,
        "--date", f"{earlier}-05", check=0)
    p = cli(gw.conf, "invoice", "run", "--period", earlier, check=0)
    number = p.stdout.split(":")[0]
    doc = ET.fromstring(cli(gw.conf, "invoice", "xml", number, check=0).stdout)
    buyer = f"{CAC}AccountingCustomerParty/{CAC}Party/"
    assert amount(doc, f"{buyer}{CAC}PostalAddress/{CBC}StreetName") == "Lindenstraße 5; Hof"
    assert amount(doc, f"{buyer}{CAC}PartyTaxScheme/{CBC}CompanyID") == "DE987654321"
    assert amount(doc, f"{CBC}BuyerReference") == "LEITWEG-1"


def test_time_and_buy_by_mail_answer_the_sender(stack, billing_gw, tmp_path):
    gw = billing_gw
    gw.stop()  # (not started) configure first: an authenticated sender counts
    from helpers import make_message
    from test_email_requests import TRUSTED, Gateway as MailGateway
    gw = MailGateway(stack, tmp_path / "mailcmd", members=members(stack),
                     raw=billing_raw(stack), imap=TRUSTED)
    billing_data(gw.conf, stack.address("bob"), "Straße 1")
    book = tmp_path / "paper.txt"
    book.write_text(f"the paper {token()}\n")
    cli(gw.conf, "asset", "add", str(book), "--code", "PAPER", "--name", "A Paper",
        "--price", "5.00", "--vat", "19", check=0)
    gw.start()
    try:
        to = f"dev+request@{stack.LIST_DOMAIN}"
        alice, bob = stack.address("alice"), stack.address("bob")
        m = make_message(alice, to, "time", "time 2 DEV by mail\n")
        assert stack.send_mail(alice, to, m, user="alice") == {}
        n = gw.wait_notice(alice, lambda n: n["in_reply_to"] == m["Message-ID"].strip("<>"))
        assert "time: recorded time entry" in n["body"] and "2 h DEV" in n["body"], n
        m = make_message(bob, to, "buy", "buy PAPER\n")
        assert stack.send_mail(bob, to, m, user="bob") == {}
        n = gw.wait_notice(bob, lambda n: n["in_reply_to"] == m["Message-ID"].strip("<>"))
        assert "buy PAPER: A Paper bought: invoice" in n["body"], n["body"]
        number = n["body"].split("invoice ")[1].split(",")[0]
        mail = mail_of(gw, stack, "bob", number)
        files = {p.get_filename(): p.get_payload(decode=True) for p in mail.walk()
                 if p.get_filename()}
        assert files["paper.txt"] == book.read_bytes()
        assert amount(ET.fromstring(xml_of(mail)),
                      f"{CAC}LegalMonetaryTotal/{CBC}PayableAmount") == "5.95"
        # a sender the server did not authenticate is refused, and not
        # answered (the From may be forged): the refusal is in the log
        m = make_message(bob, to, "buy", "buy PAPER\n")
        assert stack.send_mail(bob, to, m, port=stack.SMTP_PORT, user=None) == {}
        gw.wait_log(f"answer to {bob} not sent (sender not proven)")
        assert "billing command refused" in gw.log_text()
        assert not [n for n in gw.notices(bob)
                    if n["in_reply_to"] == m["Message-ID"].strip("<>")]
        assert query(gw.data_dir, "SELECT count(*) FROM purchase") == [(1,)]
    finally:
        gw.stop()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))


def test_billing_report_shows_what_an_invoice_run_issued_and_open_time(stack, billing_gw):
    """`report run billing` after `invoice run` and `invoice cancel` (the
    daemon not started: it would bill last month by itself)."""
    gw, earlier = billing_gw, months_back(2)
    this_month = datetime.date.today().strftime("%Y-%m")
    alice, bob = stack.address("alice"), stack.address("bob")
    billing_data(gw.conf, bob, "Straße 1")
    cli(gw.conf, "time", "log", alice, "1.5", "DEV", "--date", f"{earlier}-05", check=0)
    cli(gw.conf, "time", "log", alice, "2", "DEV", "--date", f"{earlier}-06", check=0)
    cli(gw.conf, "time", "log", alice, "1", "DEV", "--date", f"{this_month}-01", check=0)

    def report(period, *extra):
        p = cli(gw.conf, "report", "run", "billing", "--period", period, *extra, check=0)
        head = p.stdout.split("\n\n")[0].splitlines()
        return dict(line.split(": ", 1) for line in head), p.stdout

    h, _ = report(earlier)
    assert h["Invoiced gross"] == "0.00 EUR" and h["Unbilled hours"] == "3.5", h
    p = cli(gw.conf, "invoice", "run", "--period", earlier, check=0)
    number = p.stdout.split(":")[0]
    # 3.5 h at 80.00 = 280.00 net, 19 % VAT 53.20, issued today.
    h, out = report(this_month, "--channel", "dev")
    assert h["Report"] == "billing" and h["Channel"] == "all", h
    assert h["Period"] == this_month
    assert h["Invoiced gross"] == "333.20 EUR", out
    assert h["Invoiced net"] == "280.00 EUR" and h["VAT"] == "53.20 EUR", h
    assert h["Credit notes"] == "0 (0.00 EUR)", h
    assert h["Unbilled hours"] == "1", h
    assert number in out and "Alice Example" in out, out
    h, _ = report(earlier)
    assert h["Hours"] == "3.5" and h["Unbilled hours"] == "0", h
    cli(gw.conf, "invoice", "cancel", number, "--reason", "wrong rate", check=0)
    h, out = report(this_month)
    assert h["Invoiced gross"] == "0.00 EUR", out
    assert h["Credit notes"] == "1 (-333.20 EUR)", h
