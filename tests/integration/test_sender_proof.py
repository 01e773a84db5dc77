"""A list post counts as a member's only with proof that it comes from them
(posting.sender_proof = "required", the default): the stack's Postfix
records SASL submissions in its Received header (imap.trusted_authserv_id =
mail.example.org), coopgate verifies DKIM itself (posting.dkim_keys_file
here, DNS in production); anything else in a member's name is held and the
member is asked to confirm it."""
from __future__ import annotations

import time

import dkim

from coopgate import cli
from helpers import make_message
from test_email_requests import (confirm_token, gateway, mails, notice_mail,  # noqa: F401
                                 send, send_unauthenticated)


def relayed_to(stack, user: str, msgid: str) -> list:
    return mails(stack, user, lambda m: m["Message-ID"] == msgid)


def held_state(gw, msgid: str) -> list:
    return gw.rows("SELECT h.state, h.unverified FROM held_post h JOIN message m "
                   "ON m.id = h.message_id WHERE m.message_id = ?", msgid.strip("<>"))


def wait_for(pred, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_forged_post_from_outside_is_held_and_the_member_confirms_it(stack, gateway):
    gw = gateway()
    alice = stack.address("alice")  # core
    msg = make_message(alice, gw.addr("dev"), "Forged budget", "Send the money to me.\n")
    send_unauthenticated(stack, msg, gw.addr("dev"), alice)
    gw.handled(msg["Message-ID"])
    assert held_state(gw, msg["Message-ID"]) == [("held", 1)]
    n = gw.wait_notice(alice, lambda n: "confirm" in n["subject"])
    assert "Forged budget" in n["body"] and "!confirm" in n["body"]
    got = notice_mail(stack, "alice", n)
    time.sleep(1)
    assert relayed_to(stack, "bob", msg["Message-ID"]) == []
    # Alice replies from her own mailbox: the post goes out.
    reply = make_message(alice, n["from_addr"], "Re: " + str(got["Subject"]), "yes, mine\n")
    send(stack, "alice", reply, n["from_addr"])
    wait_for(lambda: relayed_to(stack, "bob", msg["Message-ID"]),
             "the confirmed post never reached bob")
    assert held_state(gw, msg["Message-ID"]) == [("released", 1)]
    assert confirm_token(n)


def test_a_wave_of_forged_posts_mails_the_member_three_requests_an_hour(stack, gateway):
    """Six forged posts in Alice's name reach her mailbox as three
    confirmation requests, not six; answering one releases that post and
    brings the request for the next."""
    gw = gateway()
    alice = stack.address("alice")
    wave = [make_message(alice, gw.addr("dev"), f"Wave {i}", f"Forged {i}.\n")
            for i in range(6)]
    for msg in wave:
        send_unauthenticated(stack, msg, gw.addr("dev"), alice)
    for msg in wave:
        gw.handled(msg["Message-ID"])
    assert all(held_state(gw, m["Message-ID"]) == [("held", 1)] for m in wave)
    asks = [n for n in gw.notices(alice) if "confirm" in n["subject"]]
    assert len(asks) == 3, asks
    gw.wait_log("no confirmation request mailed to alice@example.org (3 an hour at most)")
    got = [notice_mail(stack, "alice", n) for n in asks]
    time.sleep(1)
    wave_ids = {m["Message-ID"] for m in wave}
    assert len(mails(stack, "alice", lambda m: "Did you send this" in str(m["Subject"])
                     and str(m["In-Reply-To"]) in wave_ids)) == 3
    # Alice answers the first: its post goes out, the fourth is asked about
    first = next(m for m in wave if m["Message-ID"].strip("<>") == asks[0]["in_reply_to"])
    reply = make_message(alice, asks[0]["from_addr"], "Re: " + str(got[0]["Subject"]),
                         "yes, mine\n")
    send(stack, "alice", reply, asks[0]["from_addr"])
    wait_for(lambda: relayed_to(stack, "bob", first["Message-ID"]),
             "the confirmed post never reached bob")
    answer = gw.wait_notice(alice, lambda n: n["in_reply_to"] == reply["Message-ID"].strip("<>"))
    assert "5 more in your name wait for confirmation" in answer["body"], answer["body"]
    fourth = gw.wait_notice(alice, lambda n: "confirm" in n["subject"]
                            and n["id"] not in {a["id"] for a in asks})
    notice_mail(stack, "alice", fourth)
    assert sum(held_state(gw, m["Message-ID"]) == [("held", 1)] for m in wave) == 5


def test_post_submitted_with_login_goes_out_at_once(stack, gateway):
    gw = gateway()
    bob = stack.address("bob")
    msg = make_message(bob, gw.addr("dev"), "Real post", "hello\n")
    send(stack, "bob", msg, gw.addr("dev"))
    wait_for(lambda: relayed_to(stack, "alice", msg["Message-ID"]),
             "the authenticated post never reached alice")
    assert held_state(gw, msg["Message-ID"]) == []


def test_forged_post_goes_out_when_sender_proof_is_off(stack, gateway):
    gw = gateway(posting={"sender_proof": "off"})
    alice = stack.address("alice")
    msg = make_message(alice, gw.addr("dev"), "Old way", "From: alone\n")
    send_unauthenticated(stack, msg, gw.addr("dev"), alice)
    wait_for(lambda: relayed_to(stack, "bob", msg["Message-ID"]),
             "with sender_proof off the post should be relayed")


def dkim_key(tmp_path):
    """A fresh RSA key pair: (private PEM, keys file line for libopendkim)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64
    keys = tmp_path / "dkim.keys"
    keys.write_text("sel._domainkey.example.org v=DKIM1; k=rsa; p="
                    + base64.b64encode(pub).decode() + "\n")
    return pem, keys


def test_dkim_signed_post_from_outside_is_relayed(stack, gateway, tmp_path):
    pem, keys = dkim_key(tmp_path)
    gw = gateway(posting={"dkim_keys_file": str(keys)})
    alice = stack.address("alice")
    msg = make_message(alice, gw.addr("dev"), "Signed", "signed by example.org\n")
    raw = msg.as_bytes()
    sig = dkim.sign(raw, b"sel", b"example.org", pem,
                    include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
    send_unauthenticated(stack, sig + raw, gw.addr("dev"), alice)
    wait_for(lambda: relayed_to(stack, "bob", msg["Message-ID"]),
             "the DKIM-signed post never reached bob")
    # The same mail with its body changed after signing is held.
    msg2 = make_message(alice, gw.addr("dev"), "Signed", "signed by example.org\n")
    raw2 = msg2.as_bytes()
    sig2 = dkim.sign(raw2, b"sel", b"example.org", pem,
                     include_headers=[b"from", b"to", b"subject", b"message-id"])
    send_unauthenticated(stack, sig2 + raw2.replace(b"signed by", b"forged by"),
                         gw.addr("dev"), alice)
    gw.handled(msg2["Message-ID"])
    assert held_state(gw, msg2["Message-ID"]) == [("held", 1)]


def test_forged_authentication_results_below_the_receipt_do_not_count(stack, gateway):
    gw = gateway()
    alice = stack.address("alice")
    # The header carries the trusted authserv-id, but it came with the mail,
    # so it sits below the Received header Postfix adds.
    msg = make_message(alice, gw.addr("dev+request"), "Nomination",
                       "nominate dave@example.org\n",
                       Authentication_Results="mail.example.org; dmarc=pass "
                                              "header.from=example.org")
    send_unauthenticated(stack, msg, gw.addr("dev+request"), alice)
    gw.handled(msg["Message-ID"])
    time.sleep(1)
    assert gw.rows("SELECT count(*) FROM nomination")[0][0] == 0


def test_promotion_releases_a_guests_proven_post_and_asks_about_a_forged_one(
        stack, gateway):
    """A post forged in a guest's name is held by layer like the guest's own;
    the promotion releases the proven post only: for the forged one the
    guest is mailed a confirmation request, and it goes out once confirmed."""
    gw = gateway()
    dave = stack.address("dave")
    cli(gw.conf, "member", "add", dave, "--name", "Dave Guest", "--layer", "guest",
        check=0)
    forged = make_message(dave, gw.addr("dev"), "Pay me", "Send the money to me.\n")
    send_unauthenticated(stack, forged, gw.addr("dev"), dave)
    gw.handled(forged["Message-ID"])
    real = make_message(dave, gw.addr("dev"), "Hello from Dave", "May I join?\n")
    send(stack, "dave", real, gw.addr("dev"))
    gw.handled(real["Message-ID"])
    assert held_state(gw, forged["Message-ID"]) == [("held", 1)]
    assert held_state(gw, real["Message-ID"]) == [("held", 0)]
    # the weekly notice (it answers the forged post) says which go out
    held = gw.wait_notice(dave, lambda n: "is held" in n["subject"])
    text = " ".join(held["body"].split())
    assert "that show they come from you are delivered" in text, text
    assert "(nothing shows that you sent this one) you will be asked by mail " \
        "to confirm" in text, text
    assert [n for n in gw.notices(dave) if "confirm" in n["subject"]] == []

    to = gw.addr("dev+request")
    bob, alice = stack.address("bob"), stack.address("alice")
    first = make_message(bob, to, "Nomination", "nominate dave@example.org\n")
    send(stack, "bob", first, to)
    gw.wait_notice(bob, lambda n: n["in_reply_to"] == first["Message-ID"].strip("<>"))
    second = make_message(alice, to, "Nomination", "nominate dave@example.org\n")
    send(stack, "alice", second, to)
    n = gw.wait_notice(alice, lambda n: n["in_reply_to"] == second["Message-ID"].strip("<>"))
    assert "is now a member" in n["body"], n["body"]
    assert "1 held message released; 1 more waits for the sender's confirmation" \
        in " ".join(n["body"].split()), n["body"]

    # the proven post goes out; the forged one waits for dave
    wait_for(lambda: relayed_to(stack, "bob", real["Message-ID"]),
             "the proven post never reached bob")
    ask = gw.wait_notice(dave, lambda n: "confirm" in n["subject"])
    assert "Pay me" in ask["body"] and ask["in_reply_to"] == forged["Message-ID"].strip("<>")
    told = gw.wait_notice(dave, lambda n: "now a member" in n["subject"])
    assert "1 held message in your name did not show that you sent it" in \
        " ".join(told["body"].split()), told["body"]
    time.sleep(2)
    assert relayed_to(stack, "bob", forged["Message-ID"]) == []
    assert held_state(gw, forged["Message-ID"]) == [("held", 1)]

    # dave confirms from his own mailbox: now it goes out
    got = notice_mail(stack, "dave", ask)
    reply = make_message(dave, ask["from_addr"], "Re: " + str(got["Subject"]), "yes, mine\n")
    send(stack, "dave", reply, ask["from_addr"])
    wait_for(lambda: relayed_to(stack, "bob", forged["Message-ID"]),
             "the confirmed post never reached bob")
    assert held_state(gw, forged["Message-ID"]) == [("released", 1)]
