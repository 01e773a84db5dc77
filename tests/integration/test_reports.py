"""Reports and search on the real servers (Dovecot, Postfix, Prosody): a mixed
history by mail and by chat; `report run` prints its headline figures;
`--send` wakes the running daemon, which mails the report (text/plain and
text/html, multipart/alternative) to reports.recipients and posts a summary
to the room; `search` finds both networks' messages; the weekly schedule
sends each report once per period, also across a restart.
"""

from __future__ import annotations

import time

import pytest

from coopgate import cli, query, token, wait_for
from helpers import make_message
from test_email_requests import gateway, send, wait_mail  # noqa: F401 (fixture)

assert gateway  # the fixture, imported for pytest

REPORTS = {"recipients": "core", "unanswered_after": 172800}


def mixed_history(stack, gw, bob, tok):
    """Alice writes by mail, Bob in the room; both stored."""
    room = f"dev@{stack.MUC_DOMAIN}"
    send(stack, "alice", make_message(stack.address("alice"), gw.addr("dev"),
                                      subject=f"Rechnungen {tok}",
                                      body="Die Rechnungen für Juni sind da."),
         gw.addr("dev"))
    bob.join_room(room, "bob")
    bob.send_room(room, f"Wir beziehen jetzt Ökostrom {tok}")
    wait_for("both posts stored", lambda: query(
        gw.data_dir, "SELECT count(*) FROM message")[0][0] >= 2, timeout=30)


def headline(text: str) -> dict:
    head = text.split("\n\n", 1)[0]
    return dict(line.split(": ", 1) for line in head.splitlines())


def test_report_run_prints_the_headline_figures_and_search_finds_both_networks(
        stack, gateway):  # noqa: F811
    gw = gateway(xmpp={}, reports=REPORTS)
    gw.wait_log("joined")
    tok = token()
    with stack.xmpp_client("bob", resource="rep") as bob:
        mixed_history(stack, gw, bob, tok)
    p = cli(gw.conf, "report", "run", "activity", "--channel", "dev", check=0)
    h = headline(p.stdout)
    assert h["Report"] == "activity" and h["Channel"] == "dev", p.stdout
    assert (h["Posts"], h["Posts by email"], h["Posts by chat"]) == ("2", "1", "1"), p.stdout
    assert h["Threads"] == "2" and h["Period"].count("..") == 1, p.stdout
    p = cli(gw.conf, "search", "rechnung", check=0)
    assert f"[dev] Rechnungen {tok} - Alice Example (email," in p.stdout, p.stdout
    assert "[Rechnungen]" in p.stdout, p.stdout
    p = cli(gw.conf, "search", "ökostrom", check=0)
    assert "(xmpp," in p.stdout and f"[Ökostrom] {tok}" in p.stdout, p.stdout
    # Query syntax is only words: no error, the words still match.
    p = cli(gw.conf, "search", '("rechnung*', "-", check=0)
    assert "Rechnungen" in p.stdout, p.stdout
    p = cli(gw.conf, "search", 'NEAR("rechnung', "*", check=0)
    assert p.stdout == "No message found.\n", p.stdout  # "near" is a word too
    # Bad input: one line saying what is accepted.
    p = cli(gw.conf, "report", "run", "weather", check=64)
    assert "accepted: activity, facilitation, topics, billing" in p.stderr
    p = cli(gw.conf, "report", "run", "activity", "--period", "June", check=64)
    assert "YYYY-MM, YYYY-Www or Nd" in p.stderr
    cli(gw.conf, "report", "run", "activity", "--channel", "nope", check=65)
    # billing is channel-independent: a channel is accepted and ignored.
    p = cli(gw.conf, "report", "run", "billing", "--channel", "dev", check=0)
    assert p.stdout.startswith("Report: billing\nChannel: all\n"), p.stdout
    assert "Invoiced gross: 0.00 EUR\n" in p.stdout, p.stdout


def report_mails(stack, user, kind):
    return [m for m in stack.maildir_messages(user)
            if str(m["Subject"]).startswith(f"Report {kind}:")]


def parts(msg):
    assert msg.get_content_type() == "multipart/alternative", msg
    return {p.get_content_type(): p.get_content() for p in msg.iter_parts()}


def test_send_mails_both_parts_to_the_recipients_and_the_summary_to_the_room(
        stack, gateway):  # noqa: F811
    gw = gateway(xmpp={}, reports=REPORTS)
    gw.wait_log("joined")
    tok = token()
    with stack.xmpp_client("bob", resource="send") as bob:
        mixed_history(stack, gw, bob, tok)
        started = time.monotonic()
        p = cli(gw.conf, "report", "run", "activity", "--channel", "dev", "--send", check=0)
        assert "the daemon sends them now" in p.stdout, p.stdout
        room = f"dev@{stack.MUC_DOMAIN}"
        summary = bob.wait_message(
            lambda m: m["type"] == "groupchat" and str(m["from"]) == f"{room}/gateway"
            and "Report activity (dev," in str(m["body"]), timeout=30)
        assert "Posts: 2" in str(summary["body"]), summary["body"]
    mail = wait_mail(stack, "alice", lambda m: str(m["Subject"]).startswith("Report activity:"))
    # Woken at once, not after the outbox's minute.
    assert time.monotonic() - started < 30
    got = parts(mail)
    assert got["text/plain"].startswith("Report: activity\nChannel: dev\n"), got["text/plain"]
    assert "Posts by chat: 1" in got["text/plain"]
    assert "<table" in got["text/html"] and "<script" not in got["text/html"]
    assert str(mail["Auto-Submitted"]) == "auto-generated"
    assert report_mails(stack, "bob", "activity") == []  # bob is no core member


def test_weekly_schedule_sends_once_per_period_across_a_restart(stack, gateway):  # noqa: F811
    gw = gateway(reports=dict(REPORTS, weekly="mon 00:00"))
    gw.wait_log("reports: topics dev")
    sent = query(gw.data_dir, "SELECT kind, period FROM report_sent WHERE scheduled = 1")
    assert sorted(k for k, _ in sent) == ["activity", "facilitation", "topics"], sent
    subjects = {f"Report {k}: dev, {period}" for k, period in sent}

    def weekly_mails():
        return [str(m["Subject"]) for m in stack.maildir_messages("alice")
                if str(m["Subject"]) in subjects]

    wait_for("three report mails", lambda: len(weekly_mails()) >= 3, timeout=30)
    gw.stop()
    gw.start()
    gw.wait_log("connected as gateway")
    # A wake-up runs the schedule again: still nothing new.
    cli(gw.conf, "report", "run", "activity", "--send", check=0)
    wait_for("the --send mail", lambda: [m for m in stack.maildir_messages("alice")
                                         if str(m["Subject"]).startswith("Report activity: all")],
             timeout=30)
    again = query(gw.data_dir, "SELECT kind, period FROM report_sent WHERE scheduled = 1")
    assert sorted(again) == sorted(sent), again
    assert sorted(weekly_mails()) == sorted(subjects), weekly_mails()


def test_search_and_report_answer_in_the_room_and_by_mail(stack, gateway):  # noqa: F811
    gw = gateway(xmpp={}, reports=REPORTS)
    gw.wait_log("joined")
    tok = token()
    room = f"dev@{stack.MUC_DOMAIN}"
    with stack.xmpp_client("bob", resource="cmd") as bob:
        mixed_history(stack, gw, bob, tok)
        bob.send_room(room, "!search rechnung")
        answer = bob.wait_message(
            lambda m: m["type"] == "chat" and "Rechnungen" in str(m["body"]), timeout=30)
        assert f"1. [dev] Rechnungen {tok} - Alice Example (email," in str(answer["body"])
        assert str(answer["from"]) == f"{room}/gateway", answer["from"]
        bob.send_room(room, "!report activity")
        answer = bob.wait_message(
            lambda m: m["type"] == "chat" and "Report: activity" in str(m["body"]), timeout=30)
        assert "Channel: dev" in str(answer["body"]) and "Posts: 2" in str(answer["body"])
    send(stack, "alice", make_message(stack.address("alice"), gw.addr("dev+request"),
                                      subject="archive", body="search ökostrom\n"),
         gw.addr("dev+request"))
    mail = wait_mail(stack, "alice", lambda m: "ökostrom" in str(m.get_body().get_content())
                     and str(m["Subject"]).startswith("dev: your request"))
    body = mail.get_body().get_content()
    assert f"[Ökostrom] {tok}" in body and "(xmpp," in body, body


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
