"""The CRM from the command line: vCard import/export and the member card.

No mail or chat server is needed: everything here works on the store.
"""

import sqlite3
import time

import pytest

from coopgate import cli

CONF = """\
gateway = {{ domain = "lists.example.org"; data_dir = "{data}"; log_level = "warn"; }};
channels = (
  {{ name = "dev"; address = "dev@lists.example.org"; room = "dev@conference.example.org"; }}
);
members = (
  {{ address = "alice@example.org"; name = "Alice Example"; layer = "core";
     org = "Example eG"; channels = [ "dev" ]; }}
);
"""

CARDS = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Carla Díaz\r\n"
    "N:Díaz;Carla;;;\r\n"
    "EMAIL;TYPE=work:carla@coop.example\r\n"
    "EMAIL:Carla.D@gmail.com\r\n"
    "IMPP:xmpp:carla@xmpp.example\r\n"
    "ORG:Coop eG;Development\r\n"
    "CATEGORIES:dev,board\r\n"
    "NOTE:Met at the assembly\\, likes\\nlong mails\\; and \\\\ backslashes.\r\n"
    "X-COOP-LAYER:member\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"             # line 13
    "VERSION:4.0\r\n"
    "FN:Broken\r\n"
    "EMAIL:not-an-address\r\n"    # line 16
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Folded Fiona\r\n"
    "EMAIL:fiona@example.net\r\n"
    "NOTE:" + "a" * 70 + "\r\n"
    " " + "ä" * 20 + "\r\n"
    "X-COOP-LAYER:partner\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Bad Layer\r\n"
    "EMAIL:bad@example.net\r\n"
    "X-COOP-LAYER:boss\r\n"       # line 30
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Jo Chat\r\n"
    "IMPP:xmpp:jo@xmpp.example\r\n"
    "END:VCARD\r\n"
)


def make_conf(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    p = d / "coopgate.conf"
    p.write_text(CONF.format(data=d / "data"))
    cli(p, "init", check=0)
    return p


@pytest.fixture
def conf(tmp_path):
    return make_conf(tmp_path, "one")


def test_import_skips_malformed_cards_with_file_line_and_exits_65(tmp_path, conf):
    vcf = tmp_path / "in.vcf"
    vcf.write_bytes(CARDS.encode())
    p = cli(conf, "crm", "import", vcf, check=65)
    errors = p.stderr.strip().splitlines()
    assert f"{vcf}:16: EMAIL not-an-address: not an email address" in errors
    assert any(e.startswith(f"{vcf}:30: X-COOP-LAYER boss") for e in errors)
    assert len(errors) == 2, p.stderr
    assert "3 contacts imported, 2 skipped" in p.stdout
    card = cli(conf, "member", "show", "carla@coop.example", check=0).stdout
    assert "Name: Carla Díaz" in card
    assert "Email: carla.d@gmail.com" in card
    assert "JID: carla@xmpp.example" in card
    assert "Organisation: Coop eG" in card
    assert "Layer: member since" in card
    assert "Tags: board, dev" in card
    assert "Note: Met at the assembly, likes\n  long mails; and \\ backslashes." in card
    fiona = cli(conf, "member", "show", "fiona@example.net", check=0).stdout
    assert "Note: " + "a" * 70 + "ä" * 20 in fiona
    assert "Layer: partner" in fiona
    p = cli(conf, "member", "show", "bad@example.net", check=65)


def test_export_then_import_on_an_empty_database_gives_the_same_contacts(tmp_path, conf):
    vcf = tmp_path / "in.vcf"
    vcf.write_bytes(CARDS.encode())
    cli(conf, "crm", "import", vcf, check=65)
    cli(conf, "member", "add", "dan@example.org", "--name", "Dan, the; Builder",
        "--org", "Bäckerei Müller eG", "--layer", "core", check=0)
    out = tmp_path / "out.vcf"
    p = cli(conf, "crm", "export", out, check=0)
    assert "5 contacts exported" in p.stdout
    text = out.read_bytes()
    for line in text.split(b"\r\n"):
        assert len(line) <= 75, line
    assert b"\nBEGIN:VCARD" in text and text.endswith(b"END:VCARD\r\n")
    assert b"VERSION:4.0\r\n" in text
    assert b"FN:Dan\\, the\\; Builder\r\n" in text
    assert b"CATEGORIES:board,dev\r\n" in text
    assert b"IMPP:xmpp:jo@xmpp.example\r\n" in text
    assert b"X-COOP-LAYER:core\r\n" in text
    stdout_export = cli(conf, "crm", "export", check=0).stdout
    assert stdout_export.encode() == text.replace(b"\r\n", b"\n") or \
        stdout_export.encode() == text
    other = make_conf(tmp_path, "two")
    p = cli(other, "crm", "import", out, check=0)
    assert "5 contacts imported, 0 skipped" in p.stdout
    again = tmp_path / "again.vcf"
    cli(other, "crm", "export", again, check=0)
    assert again.read_bytes() == text
    for addr in ("carla@coop.example", "dan@example.org", "alice@example.org"):
        a = cli(conf, "member", "show", addr, check=0).stdout
        b = cli(other, "member", "show", addr, check=0).stdout
        keep = ("Name:", "Email:", "JID:", "Organisation:", "Tags:", "Note:")
        pick = lambda s: [l for l in s.splitlines() if l.startswith(keep)]  # noqa: E731
        assert pick(a) == pick(b)


def test_crm_usage_errors(tmp_path, conf):
    assert cli(conf, "crm", check=64).returncode == 64
    assert "crm frob: unknown subcommand" in cli(conf, "crm", "frob", check=64).stderr
    assert cli(conf, "crm", "import", check=64).returncode == 64
    p = cli(conf, "crm", "import", tmp_path / "missing.vcf", check=65)
    assert "missing.vcf" in p.stderr
    p = cli(conf, "crm", "export", tmp_path / "no" / "dir.vcf", check=73)
    assert "dir.vcf" in p.stderr


def test_member_show_prints_the_crm_card(tmp_path, conf):
    cli(conf, "member", "add", "bob@example.org", "--name", "Bob", "--layer", "member",
        "--channel", "dev", check=0)
    cli(conf, "member", "add", "eve@x.example", "--name", "Eve", "--layer", "guest", check=0)
    card = cli(conf, "member", "show", "eve@x.example", check=0).stdout
    assert "Tags: -" in card
    assert "Messages (30 days): 0" in card
    assert "Last seen: never" in card
    assert "Nominations: 0" in card
    # Activity and nominations as the daemon records them.
    con = sqlite3.connect(conf.parent / "data" / "coopgate.db")
    ids = dict(con.execute("SELECT value, contact_id FROM identity WHERE kind = 'email'"))
    now = int(time.time())
    for at in (now - 60, now - 86400, now - 40 * 86400):
        con.execute("INSERT INTO interaction(contact_id, network, direction, at) "
                    "VALUES (?, 'email', 'in', ?)", (ids["eve@x.example"], at))
    for who in ("alice@example.org", "bob@example.org"):
        con.execute("INSERT INTO nomination(nominee_id, nominator_id, target_layer, created) "
                    "VALUES (?, ?, 'member', ?)", (ids["eve@x.example"], ids[who], now))
    con.execute("INSERT INTO contact_tag VALUES (?, 'newcomer')", (ids["eve@x.example"],))
    con.commit()
    con.close()
    card = cli(conf, "member", "show", "eve@x.example", check=0).stdout
    assert "Tags: newcomer" in card
    assert "Messages (30 days): 2" in card
    assert "Last seen: " + time.strftime("%Y-%m-%d", time.gmtime(now - 60)) in card
    assert "Nominations: 2 by Alice Example (member), Bob (member)" in card
    assert "Layer: guest since" in card
