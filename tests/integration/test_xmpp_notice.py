"""Notice rows delivered by the XMPP bridge, against real Prosody, Dovecot and
Postfix: when bounces suspend a member's email delivery, bounce.c writes a
notice with one outbox row (bridge "xmpp", destination = the member's bare
JID).  The bridge sends it as one chat message ("Subject\\n\\nBody") and the
row is done at once (a chat message has no echo); far_id is the message id.
In component mode the message comes from the component's listener JID.
"""

from __future__ import annotations

import pytest

from test_email_requests import gateway, send_dsn, verp_of  # noqa: F401 (fixture)

assert gateway  # the fixture, imported for pytest


def component(stack, tmp_path):
    return {"mode": "component", "component_domain": stack.COMPONENT_DOMAIN,
            "component_secret_file": str(tmp_path / "secrets" / "component.secret"),
            "port": stack.XMPP_COMPONENT_PORT, "jid": None, "password_file": None}


def suspend_bob_and_read_the_chat(stack, gw):
    bob = stack.address("bob")
    verp = verp_of(stack, gw, "bob")
    with stack.xmpp_client("bob", resource="notice") as client:
        for _ in range(5):
            gw.handled(send_dsn(stack, verp, bob))
        assert "Bounces: suspended since" in gw.show(bob), gw.show(bob)
        msg = client.wait_message(
            lambda m: m["type"] == "chat" and "suspended" in str(m["body"]),
            timeout=30)
    body = str(msg["body"])
    assert body.startswith(f"Mail to {bob} is suspended\n\n"), body
    assert "keeps bouncing" in body and "subscribe" in body, body
    rows = gw.rows("SELECT o.state, o.far_id, o.destination, o.attempts FROM outbox o "
                   "JOIN notice n ON n.id = o.notice_id WHERE o.bridge = 'xmpp'")
    assert len(rows) == 1, rows
    state, far_id, dest, attempts = rows[0]
    assert (state, dest, attempts) == ("done", stack.jid("bob"), 1), rows
    assert far_id and far_id == msg["id"], (far_id, msg["id"])
    return msg


def test_suspended_member_hears_it_by_chat(stack, gateway):  # noqa: F811
    gw = gateway(xmpp={})
    msg = suspend_bob_and_read_the_chat(stack, gw)
    assert str(msg["from"].bare) == stack.GATEWAY_JID, msg["from"]


def test_suspended_member_hears_it_from_the_component(stack, gateway, tmp_path):  # noqa: F811
    gw = gateway(xmpp=component(stack, tmp_path))
    msg = suspend_bob_and_read_the_chat(stack, gw)
    assert str(msg["from"].bare) == f"gateway@{stack.COMPONENT_DOMAIN}", msg["from"]


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
