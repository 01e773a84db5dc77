"""Access control: a post from below the channel's post_layer is held, not
relayed, and its sender gets one explanation per channel per week."""

import time
import uuid

from coopgate import Daemon, cli, db, empty_gateway_mailbox
from helpers import make_message, write_coopgate_config


def test_guest_post_is_held_and_answered_exactly_once(stack, tmp_path):
    empty_gateway_mailbox(stack)
    conf = write_coopgate_config(stack, tmp_path, xmpp=None)
    cli(conf, "init", check=0)
    cli(conf, "member", "add", stack.address("dave"), "--name", "Dave Guest",
        "--layer", "guest", check=0)
    tag = uuid.uuid4().hex[:8]
    d = Daemon(conf, tmp_path / "coopgate.log").start()
    try:
        ids = []
        for i in range(2):
            m = make_message(f"Dave Guest <{stack.address('dave')}>",
                             f"dev@{stack.LIST_DOMAIN}", f"guest post {i} {tag}", "hi all\n")
            ids.append(m["Message-ID"].strip("<>"))
            stack.send_mail(stack.address("dave"), f"dev@{stack.LIST_DOMAIN}", m,
                            user="dave")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with db(tmp_path / "data") as con:
                held = con.execute("SELECT count(*) FROM message WHERE flags & 16 "
                                   "AND message_id IN (?, ?)", ids).fetchone()[0]
            if held == 2:
                break
            time.sleep(0.1)
        assert held == 2
        ours = lambda m: ("dev+request@" in str(m["From"])  # noqa: E731
                          and str(m["In-Reply-To"]).strip("<>") in ids)
        notice = stack.wait_for_mail("dave", ours, timeout=20)
        assert str(notice["Auto-Submitted"]) == "auto-replied"
        assert "nominat" in notice.get_content().lower()
        time.sleep(3)
        notices = [m for m in stack.fetch_mail("dave") if ours(m)]
        assert len(notices) == 1
        # Nothing reached the members.
        assert not [m for m in stack.fetch_mail("bob") if tag in str(m["Subject"])]
        with db(tmp_path / "data") as con:
            assert con.execute("SELECT count(*) FROM outbox o JOIN message m ON "
                               "m.id = o.message_id WHERE m.message_id IN (?, ?)",
                               ids).fetchone()[0] == 0
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.kill()
        empty_gateway_mailbox(stack)
