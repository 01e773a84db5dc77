"""The command line and the process: what an admin meets first.

Config checking, init, member management, the daemon's start, status,
reload and stop, and a store that survives SIGKILL.  Most of these need no
mail or chat server; the last ones run against the real stack.
"""

import os
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from coopgate import BINARY, Daemon, cli, db
from helpers import write_coopgate_config, write_secret

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "coopgate.conf.example"

MINIMAL = """\
gateway = {{ domain = "lists.example.org"; data_dir = "{data}"; log_level = "debug"; }};
channels = (
  {{ name = "dev"; address = "dev@lists.example.org"; room = "dev@conference.example.org"; }},
  {{ name = "ops"; address = "ops@lists.example.org"; room = "ops@conference.example.org";
     post_layer = "core"; }}
);
members = (
  {{ address = "alice@example.org"; name = "Alice Example"; layer = "core";
     org = "Example eG"; channels = [ "dev" ]; }}
);
"""


@pytest.fixture
def conf(tmp_path):
    p = tmp_path / "coopgate.conf"
    p.write_text(MINIMAL.format(data=tmp_path / "data"))
    return p


def test_help_and_version_tell_the_truth():
    p = cli(None, "--help", check=0)
    for cmd in ("check-config", "init", "run [--foreground]", "status", "inspect FILE.eml",
                "member add"):
        assert cmd in p.stdout
    assert cli(None, "--version", check=0).stdout.startswith("coopgate ")
    assert "SIGHUP" in cli(None, "help", "run", check=0).stdout
    p = cli(None, "frobnicate", check=64)
    assert "frobnicate: unknown command" in p.stderr
    assert cli(None, check=64).stderr.startswith("usage:")


def test_check_config_accepts_the_shipped_example_installed_as_the_readme_says(tmp_path):
    # README: install -m 600 config/coopgate.conf.example /etc/coopgate/...
    conf = tmp_path / "coopgate.conf"
    subprocess.run(["install", "-m", "600", str(EXAMPLE), str(conf)], check=True)
    p = cli(conf, "check-config", check=0)
    assert "ok" in p.stdout


def test_check_config_refuses_the_example_readable_by_others_naming_each_line(tmp_path):
    conf = tmp_path / "coopgate.conf"
    subprocess.run(["install", "-m", "644", str(EXAMPLE), str(conf)], check=True)
    p = cli(conf, "check-config", check=78)
    lines = [l for l in p.stderr.splitlines() if "inline secret" in l]
    assert len(lines) == 3, p.stderr
    assert all(l.startswith(f"{conf}:") for l in lines), p.stderr


def test_check_config_rejects_typo_with_its_line_and_exit_78(tmp_path):
    text = EXAMPLE.read_text()
    lines = text.splitlines()
    # The first "port = " line of the imap group gets a typo.
    i = next(n for n, l in enumerate(lines) if l.strip().startswith("port ="))
    lines[i] = lines[i].replace("port =", "prot =", 1)
    bad = tmp_path / "bad.conf"
    bad.write_text("\n".join(lines) + "\n")
    p = cli(bad, "check-config", check=78)
    assert f"{bad}:{i + 1}: " in p.stderr
    assert "prot: unknown key" in p.stderr


def test_check_config_reports_every_problem(tmp_path, conf):
    conf.write_text(conf.read_text().replace('"dev@lists.example.org"', '"dev@other.org"')
                    + 'imap = { host = "x"; port = 70000; user = "u"; password = "p"; };\n')
    p = cli(conf, "check-config", check=78)
    errors = p.stderr.strip().splitlines()
    assert len(errors) >= 2, p.stderr
    assert any('not inside gateway.domain' in e for e in errors)
    assert any('imap.port: 70000 is not a port' in e for e in errors)
    assert all(e.startswith(f"{conf}:") for e in errors)


def test_secret_file_readable_by_others_is_refused(tmp_path, conf):
    secret = write_secret(tmp_path / "imap.pass", "s3cret-value")
    os.chmod(secret, 0o644)
    conf.write_text(conf.read_text() + f'imap = {{ host = "localhost"; user = "u"; '
                                       f'password_file = "{secret}"; }};\n')
    p = cli(conf, "check-config", check=78)
    assert "imap.password_file" in p.stderr and "chmod 600" in p.stderr
    assert "s3cret-value" not in p.stderr
    assert cli(conf, "run", "--foreground", check=78).returncode == 78


def test_init_twice_leaves_one_migrated_wal_database(tmp_path, conf):
    p1 = cli(conf, "init", check=0)
    assert "master key created" in p1.stdout
    data = tmp_path / "data"
    key = (data / "keys" / "master.key").read_bytes()
    p2 = cli(conf, "init", check=0)
    assert "master key kept" in p2.stdout
    assert (data / "keys" / "master.key").read_bytes() == key
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys" / "master.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "coopgate.db").stat().st_mode) == 0o600
    assert sorted(x.name for x in data.iterdir() if x.name.endswith(".db")) == ["coopgate.db"]
    con = sqlite3.connect(data / "coopgate.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = con.execute("PRAGMA user_version").fetchone()[0]
    newest = max(int(f.name[:3]) for f in (REPO / "store" / "schema").glob("*.sql"))
    assert version == newest
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in ("channel", "contact", "identity", "membership", "thread", "message", "extid",
              "outbox", "interaction", "nomination", "blob"):
        assert t in tables
    assert con.execute("SELECT count(*) FROM channel").fetchone()[0] == 2


def test_run_without_init_says_what_to_do(conf):
    p = cli(conf, "run", "--foreground", check=69)
    assert "coopgate init" in p.stderr


def test_member_commands_round_trip(conf):
    cli(conf, "init", check=0)
    cli(conf, "member", "add", "Bob@Example.org", "--name", "Bob B", "--jid", "bob@example.org",
        "--layer", "partner", "--org", "Partner GmbH", "--channel", "dev", "--channel", "ops",
        check=0)
    p = cli(conf, "member", "list", check=0)
    assert "alice@example.org" in p.stdout and "bob@example.org" in p.stdout
    p = cli(conf, "member", "list", "--channel", "ops", check=0)
    assert "bob@example.org" in p.stdout and "alice@example.org" not in p.stdout
    card = cli(conf, "member", "show", "bob@example.org", check=0).stdout
    assert "Name: Bob B" in card and "JID: bob@example.org" in card
    assert "Organisation: Partner GmbH" in card and "Layer: partner since" in card
    assert "Channel: dev (each, cli)" in card and "Channel: ops (each, cli)" in card
    cli(conf, "member", "set-layer", "bob@example.org", "member", check=0)
    assert "Layer: member" in cli(conf, "member", "show", "bob@example.org").stdout
    cli(conf, "member", "remove", "bob@example.org", "--channel", "ops", check=0)
    assert "bob@example.org" not in cli(conf, "member", "list", "--channel", "ops").stdout
    cli(conf, "member", "remove", "bob@example.org", check=0)
    p = cli(conf, "member", "show", "bob@example.org", check=65)
    assert "bob@example.org: no such member" in p.stderr


def test_member_errors_name_the_object(conf):
    cli(conf, "init", check=0)
    p = cli(conf, "member", "add", "x@example.org", "--channel", "nope", check=78)
    assert "channel nope: no such channel" in p.stderr
    p = cli(conf, "member", "add", "not-an-address", check=65)
    assert "not-an-address: not an email address" in p.stderr
    p = cli(conf, "member", "set-layer", "alice@example.org", "boss", check=64)
    assert "boss: unknown layer" in p.stderr
    p = cli(conf, "member", "add", "x@example.org", "--bogus", check=64)
    p = cli(conf, "member", "frob", check=64)
    assert "member frob: unknown subcommand" in p.stderr


def test_config_members_sync_at_start_and_cli_additions_survive(tmp_path, conf):
    cli(conf, "init", check=0)
    cli(conf, "member", "add", "carol@example.org", "--channel", "dev", check=0)
    cli(conf, "member", "set-layer", "alice@example.org", "guest", check=0)
    with Daemon(conf, tmp_path / "d.log").start() as d:
        assert d.stop() == 0
    # The config names alice as core: it wins.  Carol came from the CLI: stays.
    assert "Layer: core" in cli(conf, "member", "show", "alice@example.org").stdout
    assert "carol@example.org" in cli(conf, "member", "list", "--channel", "dev").stdout


def test_sigterm_stops_cleanly_and_status_follows(tmp_path, conf):
    cli(conf, "init", check=0)
    with Daemon(conf, tmp_path / "d.log").start() as d:
        p = cli(conf, "status", check=0)
        assert f"daemon: running (pid {d.proc.pid})" in p.stdout
        # A second daemon on the same data dir is refused.
        p2 = cli(conf, "run", "--foreground", check=69)
        assert "another coopgate" in p2.stderr
        assert d.stop() == 0
        assert "stopped" in d.log_text()
    assert "daemon: not running" in cli(conf, "status", check=0).stdout


def test_sighup_reloads_and_keeps_old_config_when_new_is_invalid(tmp_path, conf):
    cli(conf, "init", check=0)
    good = conf.read_text()
    with Daemon(conf, tmp_path / "d.log").start() as d:
        conf.write_text(good + "bogus_key = 1;\n")
        d.signal(signal.SIGHUP)
        d.wait_log("keeping the running config")
        assert "bogus_key: unknown key" in d.log_text()
        assert d.proc.poll() is None
        conf.write_text(good.replace('post_layer = "core"; }',
                                     'post_layer = "core"; },\n  { name = "new"; '
                                     'address = "new@lists.example.org"; '
                                     'room = "new@conference.example.org"; }'))
        d.signal(signal.SIGHUP)
        d.wait_log("reloaded")
        with db(tmp_path / "data") as con:
            names = [r[0] for r in con.execute("SELECT name FROM channel ORDER BY name")]
        assert names == ["dev", "new", "ops"]
        assert d.stop() == 0


def test_sigkill_leaves_a_database_that_passes_integrity_check(tmp_path, conf):
    cli(conf, "init", check=0)
    for round_ in range(3):
        d = Daemon(conf, tmp_path / "d.log").start()
        # Write from the CLI while the daemon holds the store open.
        for i in range(20):
            cli(conf, "member", "add", f"m{round_}-{i}@example.org", "--channel", "dev", check=0)
        d.kill()
    con = sqlite3.connect(tmp_path / "data" / "coopgate.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM identity").fetchone()[0] == 61
    # And the daemon starts again on it.
    with Daemon(conf, tmp_path / "d2.log").start() as d:
        assert d.stop() == 0


def test_daemon_against_the_real_stack_reports_and_stops(stack, tmp_path):
    conf = write_coopgate_config(stack, tmp_path)
    cli(conf, "init", check=0)
    with Daemon(conf, tmp_path / "d.log").start() as d:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = cli(conf, "status", check=0).stdout
            if "email: connected" in out:
                break
            time.sleep(0.2)
        assert f"daemon: running (pid {d.proc.pid})" in out
        assert "email: connected since" in out, out
        assert d.stop() == 0
    log = d.log_text()
    assert "stopped" in log
    for secret in (stack.GATEWAY_MAIL_PASSWORD, stack.GATEWAY_XMPP_PASSWORD):
        assert secret not in log
