/*
 * test_config.c: coopgate.conf loading and validation, as a user sees it.
 *
 * Each test writes a config into a fresh temporary directory (the current
 * directory while the test runs, so messages read "coopgate.conf:LINE: ...")
 * and compares the exact lines `coopgate check-config` would print.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/config.h"
#include "lib/util.h"

static char *orig_dir; /* the repository root: where the tests are run */
static char *tmp_dir;  /* realpath of this test's temporary directory */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	char tmpl[] = "/tmp/test_config.XXXXXX";
	if (mkdtemp(tmpl) == NULL)
		return -1;
	tmp_dir = realpath(tmpl, NULL);
	return tmp_dir && chdir(tmp_dir) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	int r = chdir(orig_dir);
	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp_dir);
	tmp_dir = NULL;
	return r;
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0); /* whatever the umask */
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* Load path; returns the errors as printed (caller frees), *rc the result. */
static char *
load_path(const char *path, struct cg_config *cfg, int *rc)
{
	struct cg_config_errors errs = {NULL, 0};
	char *out = NULL;
	size_t len = 0;
	int r = cg_config_load(path, cfg, &errs);
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	cg_config_errors_print(&errs, f);
	fclose(f);
	/* The result and the error list agree. */
	assert_int_equal(r, errs.n ? -1 : 0);
	cg_config_errors_free(&errs);
	if (rc)
		*rc = r;
	return out;
}

/* Write text to ./coopgate.conf and load it. */
static char *
load_text(const char *text, struct cg_config *cfg, int *rc)
{
	write_file("coopgate.conf", text, 0600);
	return load_path("coopgate.conf", cfg, rc);
}

/* The file must load with exactly these error lines ("" for none). */
static void
expect_errors(const char *text, const char *want)
{
	struct cg_config cfg;
	int rc;
	char *got = load_text(text, &cfg, &rc);
	assert_string_equal(got, want);
	assert_int_equal(rc, *want ? -1 : 0);
	free(got);
	cg_config_free(&cfg);
}

#define GATEWAY "gateway = { domain = \"lists.example.org\"; };\n"

/* ---- valid files and defaults ---------------------------------------- */

static void
test_example_config_loads_clean(void **state)
{
	struct cg_config cfg;
	int rc;
	/* Installed as the admin is told to: readable by its owner only (it
	 * holds inline passwords). */
	char *path = cg_asprintf("%s/config/coopgate.conf.example", orig_dir);
	FILE *in = fopen(path, "r");
	assert_non_null(in);
	char text[16384];
	size_t n = fread(text, 1, sizeof text - 1, in);
	fclose(in);
	assert_true(n < sizeof text - 1);
	text[n] = '\0';
	free(path);
	path = cg_asprintf("%s/coopgate.conf", tmp_dir);
	write_file(path, text, 0600);
	char *got = load_path(path, &cfg, &rc);
	assert_string_equal(got, "");
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.gateway.domain, "lists.example.org");
	assert_true(cfg.imap.present && cfg.smtp.present && cfg.xmpp.present);
	assert_string_equal(cfg.imap.password, "change-me");
	assert_int_equal(cfg.nchannels, 2);
	assert_int_equal(cfg.nmembers, 2);
	assert_int_equal(cfg.members[0].nchannels, 2);
	assert_int_equal(cfg.channels[1].post_layer, CG_LAYER_CORE);
	free(got);
	free(path);
	cg_config_free(&cfg);
}

static void
test_minimal_config_gets_every_default(void **state)
{
	struct cg_config cfg;
	int rc;
	char *got = load_text(GATEWAY, &cfg, &rc);
	assert_string_equal(got, "");
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.path, "coopgate.conf");
	assert_string_equal(cfg.gateway.data_dir, "/var/lib/coopgate");
	assert_string_equal(cfg.gateway.log_level, "info");
	assert_false(cfg.imap.present || cfg.smtp.present || cfg.xmpp.present);
	assert_int_equal(cfg.imap.tls, CG_TLS_IMPLICIT);
	assert_int_equal(cfg.imap.port, 993);
	assert_string_equal(cfg.imap.mailbox, "INBOX");
	assert_int_equal(cfg.imap.max_message_size, 25 * 1024 * 1024);
	assert_int_equal(cfg.smtp.tls, CG_TLS_STARTTLS);
	assert_int_equal(cfg.smtp.port, 587);
	assert_int_equal(cfg.smtp.max_attachment_size, 10 * 1024 * 1024);
	assert_int_equal(cfg.xmpp.mode, CG_XMPP_CLIENT);
	assert_int_equal(cfg.xmpp.tls, CG_TLS_STARTTLS);
	assert_int_equal(cfg.xmpp.port, 5222);
	assert_string_equal(cfg.xmpp.nick, "gateway");
	assert_int_equal(cfg.xmpp.fetch_external, 0);
	assert_int_equal(cfg.nominations_required, 2);
	assert_int_equal(cfg.box_quota_mb, 0);
	assert_int_equal(cfg.outbox.max_attempts, 10);
	assert_int_equal(cfg.outbox.retry_base, 30);
	assert_int_equal(cfg.outbox.retry_max, 3600);
	assert_int_equal(cfg.nchannels, 0);
	assert_int_equal(cfg.nmembers, 0);
	free(got);
	cg_config_free(&cfg);
}

static void
test_ports_default_by_tls_and_mode(void **state)
{
	struct cg_config cfg;
	write_file("comp.secret", "s3cret\n", 0600);
	char *got = load_text(
	    GATEWAY
	    "imap = { host = \"mail.example.org\"; tls = \"none\";\n"
	    "  user = \"gw\"; password = \"p\"; };\n"
	    "smtp = { host = \"mail.example.org\"; tls = \"implicit\"; };\n"
	    "xmpp = { mode = \"component\"; tls = \"none\";\n"
	    "  component_domain = \"gw.example.org\";\n"
	    "  component_secret_file = \"comp.secret\"; };\n",
	    &cfg, NULL);
	assert_string_equal(got, "");
	assert_int_equal(cfg.imap.port, 143);
	assert_int_equal(cfg.smtp.port, 465);
	assert_int_equal(cfg.xmpp.port, 5347);
	assert_int_equal(cfg.xmpp.tls, CG_TLS_NONE);
	assert_string_equal(cfg.xmpp.component_secret, "s3cret");
	free(got);
	cg_config_free(&cfg);

	got = load_text(
	    GATEWAY "imap = { host = \"h\"; tls = \"starttls\"; user = \"u\";"
	            " password = \"p\"; };\n"
	            "smtp = { host = \"h\"; tls = \"none\"; };\n"
	            "xmpp = { jid = \"gw@example.org/bot\"; password = \"p\";"
	            " tls = \"required\"; port = 5223; };\n",
	    &cfg, NULL);
	assert_string_equal(got, "");
	assert_int_equal(cfg.imap.port, 143);
	assert_int_equal(cfg.smtp.port, 25);
	assert_int_equal(cfg.xmpp.tls, CG_TLS_STARTTLS);
	assert_int_equal(cfg.xmpp.port, 5223);
	free(got);
	cg_config_free(&cfg);
}

static void
test_channel_and_member_defaults(void **state)
{
	struct cg_config cfg;
	char *got = load_text(
	    GATEWAY
	    "channels = (\n"
	    "  { name = \"dev\"; address = \"dev@LISTS.example.org\";\n"
	    "    room = \"dev@conference.example.org\"; }\n"
	    ");\n"
	    "members = (\n"
	    "  { address = \"alice@example.org\"; channels = [ \"dev\" ]; }\n"
	    ");\n",
	    &cfg, NULL);
	assert_string_equal(got, "");
	assert_int_equal(cfg.nchannels, 1);
	assert_int_equal(cfg.channels[0].chat_batch, 120);
	assert_int_equal(cfg.channels[0].post_layer, CG_LAYER_MEMBER);
	assert_int_equal(cfg.channels[0].crm_context, CG_CRM_FOOTER);
	assert_null(cfg.channels[0].description);
	assert_int_equal(cfg.channels[0].line, 3);
	assert_int_equal(cfg.nmembers, 1);
	assert_int_equal(cfg.members[0].layer, CG_LAYER_MEMBER);
	assert_int_equal(cfg.members[0].delivery, CG_DELIVERY_EACH);
	assert_int_equal(cfg.members[0].nchannels, 1);
	assert_string_equal(cfg.members[0].channels[0], "dev");
	assert_int_equal(cfg.members[0].line, 7);
	assert_ptr_equal(cg_config_channel(&cfg, "dev"), &cfg.channels[0]);
	assert_ptr_equal(cg_config_channel(&cfg, "DEV"), &cfg.channels[0]);
	assert_null(cg_config_channel(&cfg, "ops"));
	free(got);
	cg_config_free(&cfg);
}

static void
test_large_sizes_need_int64(void **state)
{
	struct cg_config cfg;
	char *got = load_text(
	    GATEWAY "imap = { host = \"h\"; user = \"u\"; password = \"p\";\n"
	            "  max_message_size = 5000000000L; };\n"
	            "box = { quota_mb = 2048; };\n",
	    &cfg, NULL);
	assert_string_equal(got, "");
	assert_true(cfg.imap.max_message_size == INT64_C(5000000000));
	assert_int_equal(cfg.box_quota_mb, 2048);
	free(got);
	cg_config_free(&cfg);
}

/* ---- the errors users see -------------------------------------------- */

static void
test_typo_key_reports_its_line(void **state)
{
	expect_errors(GATEWAY "imap = {\n"
	                      "  host = \"mail.example.org\";\n"
	                      "  prot = 993;\n"
	                      "  user = \"gw\";\n"
	                      "  password = \"p\";\n"
	                      "};\n"
	                      "typo = 1;\n",
	              "coopgate.conf:4: imap.prot: unknown key\n"
	              "coopgate.conf:8: typo: unknown key\n");
}

static void
test_port_out_of_range(void **state)
{
	expect_errors(
	    GATEWAY "imap = { host = \"mail.example.org\";\n"
	            "  port = 70000;\n"
	            "  user = \"gw\"; password = \"p\"; };\n"
	            "smtp = { host = \"mail.example.org\"; port = 0; };\n",
	    "coopgate.conf:3: imap.port: 70000 is not a port "
	    "(1-65535)\n"
	    "coopgate.conf:5: smtp.port: 0 is not a port (1-65535)\n");
}

static void
test_lmtp_listener_off_loopback_needs_allow_remote(void **state)
{
	expect_errors(GATEWAY "lmtp = {\n"
	                      "  listen = \"192.0.2.7:2424\";\n"
	                      "};\n",
	              "coopgate.conf:3: lmtp.listen: \"192.0.2.7:2424\" is not "
	              "a loopback address (set lmtp.allow_remote = true to "
	              "accept mail from other hosts)\n");
	expect_errors(GATEWAY "lmtp = { listen = \"192.0.2.7:2424\";\n"
	                      "  allow_remote = true; };\n",
	              "");
	expect_errors(GATEWAY "lmtp = { listen = \"[::1]:2424\"; };\n", "");
	expect_errors(GATEWAY "lmtp = { listen = \"mail.example.org:24\"; };\n",
	              "coopgate.conf:2: lmtp.listen: \"mail.example.org:24\" "
	              "is not a numeric IP address and port\n");
	expect_errors(GATEWAY "lmtp = { listen = \"unix:run/lmtp.sock\"; };\n",
	              "coopgate.conf:2: lmtp.listen: \"unix:run/lmtp.sock\" "
	              "needs an absolute path after \"unix:\"\n");
}

static void
test_lmtp_unix_socket_and_defaults(void **state)
{
	struct cg_config cfg;
	int rc;
	char *got = load_text(
	    GATEWAY "lmtp = { listen = \"unix:/run/coopgate/lmtp.sock\"; };\n",
	    &cfg, &rc);
	assert_string_equal(got, "");
	assert_int_equal(cfg.lmtp.family, CG_LMTP_UNIX);
	assert_string_equal(cfg.lmtp.path, "/run/coopgate/lmtp.sock");
	assert_int_equal(cfg.lmtp.timeout, 300);
	assert_int_equal(cfg.lmtp.allow_remote, 0);
	free(got);
	cg_config_free(&cfg);
}

static void
test_channel_address_outside_gateway_domain(void **state)
{
	expect_errors(
	    GATEWAY "channels = (\n"
	            "  { name = \"ops\"; address = \"ops@Lists.Example.ORG\";\n"
	            "    room = \"ops@conference.example.org\"; },\n"
	            "  { name = \"dev\";\n"
	            "    address = \"dev@other.org\";\n"
	            "    room = \"dev@conference.example.org\"; }\n"
	            ");\n",
	    "coopgate.conf:6: channels[1].address: \"dev@other.org\" "
	    "is not inside gateway.domain \"lists.example.org\"\n");
}

static void
test_member_unknown_channel(void **state)
{
	expect_errors(
	    GATEWAY "channels = ( { name = \"dev\"; address = "
	            "\"dev@lists.example.org\";\n"
	            "  room = \"dev@conference.example.org\"; } );\n"
	            "members = (\n"
	            "  { address = \"alice@example.org\";\n"
	            "    channels = [ \"dev\", \"ops\", \"dev\" ]; }\n"
	            ");\n",
	    "coopgate.conf:6: members[0].channels: unknown channel "
	    "\"ops\"\n"
	    "coopgate.conf:6: members[0].channels: channel \"dev\" is "
	    "listed twice\n");
}

static void
test_secret_file_readable_by_others_is_refused(void **state)
{
	write_file("imap.pass", "hunter2\n", 0644);
	char *want = cg_asprintf(
	    "coopgate.conf:3: imap.password_file: %s/imap.pass: secret file "
	    "is accessible by group or others (mode 644); chmod 600 it\n",
	    tmp_dir);
	expect_errors(GATEWAY
	              "imap = { host = \"mail.example.org\"; user = \"gw\";\n"
	              "  password_file = \"imap.pass\"; };\n",
	              want);
	free(want);
}

static void
test_missing_secret_file_is_named(void **state)
{
	expect_errors(GATEWAY
	              "xmpp = { jid = \"gw@example.org\";\n"
	              "  password_file = \"/nonexistent/xmpp.pass\"; };\n",
	              "coopgate.conf:3: xmpp.password_file: "
	              "/nonexistent/xmpp.pass: No such file or directory\n");
	char *want = cg_asprintf("coopgate.conf:4: xmpp.component_secret_file:"
	                         " %s/comp.secret: No such file or directory\n",
	                         tmp_dir);
	expect_errors(GATEWAY "xmpp = { mode = \"component\";\n"
	                      "  component_domain = \"gw.example.org\";\n"
	                      "  component_secret_file = \"comp.secret\"; };\n",
	              want);
	free(want);
}

static void
test_relative_paths_resolve_against_config_dir(void **state)
{
	struct cg_config cfg;
	assert_int_equal(mkdir("etc", 0700), 0);
	write_file("etc/imap.pass", "s3cret\n", 0600);
	write_file("etc/ca.pem", "", 0644);
	write_file("etc/coopgate.conf",
	           GATEWAY
	           "imap = { host = \"h\"; user = \"u\";\n"
	           "  password_file = \"imap.pass\"; ca_file = \"ca.pem\"; };\n"
	           "smtp = { host = \"h\"; ca_file = \"/dev/null\"; };\n",
	           0600);
	/* Load from elsewhere: paths follow the file, not the cwd. */
	char *path = cg_asprintf("%s/etc/coopgate.conf", tmp_dir);
	assert_int_equal(chdir("/"), 0);
	char *got = load_path(path, &cfg, NULL);
	assert_string_equal(got, "");
	char *want = cg_asprintf("%s/etc/imap.pass", tmp_dir);
	assert_string_equal(cfg.imap.password_file, want);
	assert_string_equal(cfg.imap.password, "s3cret");
	free(want);
	want = cg_asprintf("%s/etc/ca.pem", tmp_dir);
	assert_string_equal(cfg.imap.ca_file, want);
	assert_string_equal(cfg.smtp.ca_file, "/dev/null");
	free(want);
	free(got);
	cg_config_free(&cfg);

	/* gateway.data_dir too, and a missing ca_file is named. */
	write_file(path,
	           "gateway = { domain = \"lists.example.org\";\n"
	           "  data_dir = \"data\"; };\n"
	           "smtp = { host = \"h\"; ca_file = \"nope.pem\"; };\n",
	           0600);
	got = load_path(path, &cfg, NULL);
	want = cg_asprintf("%s/etc/coopgate.conf:3: smtp.ca_file: "
	                   "%s/etc/nope.pem: No such file or directory\n",
	                   tmp_dir, tmp_dir);
	assert_string_equal(got, want);
	free(want);
	want = cg_asprintf("%s/etc/data", tmp_dir);
	assert_string_equal(cfg.gateway.data_dir, want);
	free(want);
	free(got);
	free(path);
	cg_config_free(&cfg);
}

static void
test_all_errors_in_one_file_are_reported(void **state)
{
	expect_errors(
	    "gateway = { domain = \"lists.example.org\";\n"
	    "  log_level = \"loud\"; };\n"
	    "imap = {\n"
	    "  host = \"mail.example.org\";\n"
	    "  port = 70000;\n"
	    "  prot = 993;\n"
	    "  tls = \"ssl\";\n"
	    "  password = \"p\";\n"
	    "};\n"
	    "channels = (\n"
	    "  { name = \"dev\"; address = \"dev@other.org\";\n"
	    "    room = \"dev@conference.example.org\";\n"
	    "    post_layer = \"admin\"; chat_batch = -1; }\n"
	    ");\n"
	    "members = (\n"
	    "  { address = \"alice@example.org\"; delivery = \"weekly\";\n"
	    "    channels = [ \"ops\" ]; }\n"
	    ");\n",
	    "coopgate.conf:2: gateway.log_level: \"loud\" is not one "
	    "of error, warn, info, debug\n"
	    "coopgate.conf:3: imap.user: required key is missing\n"
	    "coopgate.conf:5: imap.port: 70000 is not a port "
	    "(1-65535)\n"
	    "coopgate.conf:6: imap.prot: unknown key\n"
	    "coopgate.conf:7: imap.tls: \"ssl\" is not one of "
	    "implicit, starttls, none\n"
	    "coopgate.conf:11: channels[0].address: "
	    "\"dev@other.org\" is not inside gateway.domain "
	    "\"lists.example.org\"\n"
	    "coopgate.conf:13: channels[0].post_layer: \"admin\" is "
	    "not one of guest, partner, member, core\n"
	    "coopgate.conf:13: channels[0].chat_batch: -1 must be 0 "
	    "or more\n"
	    "coopgate.conf:16: members[0].delivery: \"weekly\" is not "
	    "one of each, digest, none\n"
	    "coopgate.conf:17: members[0].channels: unknown channel "
	    "\"ops\"\n");
}

static void
test_syntax_error_reports_its_line_and_stops(void **state)
{
	expect_errors(GATEWAY "imap = {\n"
	                      "  bogus = 1;\n"
	                      "  tls = implicit;\n"
	                      "};\n",
	              "coopgate.conf:4: syntax error\n");
	expect_errors("a = 1;\na = 2;\n",
	              "coopgate.conf:2: duplicate setting name\n");
}

static void
test_missing_config_file(void **state)
{
	expect_errors("", "coopgate.conf: gateway: required section is "
	                  "missing\n");
	struct cg_config cfg;
	int rc;
	char *got = load_path("nope.conf", &cfg, &rc);
	assert_string_equal(got, "nope.conf: No such file or directory\n");
	assert_int_equal(rc, -1);
	free(got);
	cg_config_free(&cfg);
	got = load_path(".", &cfg, &rc);
	assert_string_equal(got, ".: Is a directory\n");
	free(got);
	cg_config_free(&cfg);
}

static void
test_wrong_types_are_named(void **state)
{
	expect_errors(
	    "gateway = { domain = \"lists.example.org\"; log_level = "
	    "3; };\n"
	    "imap = { host = \"mail.example.org\"; port = \"993\"; user "
	    "= \"gw\"; password = 1234; };\n"
	    "xmpp = { jid = \"gw@example.org\"; password = \"x\"; "
	    "fetch_external = \"yes\"; };\n"
	    "channels = { };\n"
	    "members = ( \"alice@example.org\", { address = "
	    "\"b@example.org\"; channels = \"dev\"; } );\n"
	    "outbox = 5;\n",
	    "coopgate.conf:1: gateway.log_level: must be a string, "
	    "not an integer\n"
	    "coopgate.conf:2: imap.port: must be an integer, not a "
	    "string\n"
	    "coopgate.conf:2: imap.password: must be a string, not an "
	    "integer\n"
	    "coopgate.conf:3: xmpp.fetch_external: must be a boolean, "
	    "not a string\n"
	    "coopgate.conf:4: channels: must be a list, not a group\n"
	    "coopgate.conf:5: members[0]: must be a group, not a "
	    "string\n"
	    "coopgate.conf:5: members[1].channels: must be an array of "
	    "strings, not a string\n"
	    "coopgate.conf:6: outbox: must be a group, not an "
	    "integer\n");
}

static void
test_required_keys(void **state)
{
	expect_errors("gateway = { data_dir = \"/tmp\"; };\n"
	              "imap = { port = 993; };\n"
	              "smtp = { port = 587; };\n"
	              "xmpp = { nick = \"x\"; };\n"
	              "channels = ( { description = \"\"; } );\n"
	              "members = ( { name = \"x\"; } );\n",
	              "coopgate.conf:1: gateway.domain: required key is "
	              "missing\n"
	              "coopgate.conf:2: imap.host: required key is missing\n"
	              "coopgate.conf:2: imap.user: required key is missing\n"
	              "coopgate.conf:2: imap.password_file: required key is "
	              "missing (or give password)\n"
	              "coopgate.conf:3: smtp.host: required key is missing\n"
	              "coopgate.conf:4: xmpp.jid: required key is missing\n"
	              "coopgate.conf:4: xmpp.password_file: required key is "
	              "missing (or give password)\n"
	              "coopgate.conf:5: channels[0].name: required key is "
	              "missing\n"
	              "coopgate.conf:5: channels[0].address: required key is "
	              "missing\n"
	              "coopgate.conf:5: channels[0].room: required key is "
	              "missing\n"
	              "coopgate.conf:6: members[0].address: required key is "
	              "missing\n");
	expect_errors(GATEWAY "xmpp = { mode = \"component\"; };\n",
	              "coopgate.conf:2: xmpp.component_domain: required key is "
	              "missing\n"
	              "coopgate.conf:2: xmpp.component_secret_file: required "
	              "key is missing\n");
	expect_errors(GATEWAY "imap = { host = \"\"; user = \"u\"; password = "
	                      "\"\"; };\n",
	              "coopgate.conf:2: imap.host: must not be empty\n"
	              "coopgate.conf:2: imap.password: must not be empty\n");
}

static void
test_password_and_password_file_exclude_each_other(void **state)
{
	write_file("imap.pass", "hunter2\n", 0600);
	struct cg_config cfg;
	char *got = load_text(GATEWAY "imap = { host = \"h\"; user = \"u\";\n"
	                              "  password_file = \"imap.pass\";\n"
	                              "  password = \"swordfish\"; };\n"
	                              "smtp = { host = \"h\";\n"
	                              "  password = \"swordfish\"; };\n",
	                      &cfg, NULL);
	assert_string_equal(
	    got, "coopgate.conf:4: imap.password: give either "
	         "password or password_file, not both\n"
	         "coopgate.conf:6: smtp.password: set, but smtp.user "
	         "is not (no AUTH without a user)\n");
	/* Neither secret appears in any message. */
	assert_null(strstr(got, "swordfish"));
	assert_null(strstr(got, "hunter2"));
	free(got);
	cg_config_free(&cfg);
}

static void
test_channel_names_addresses_and_rooms(void **state)
{
	expect_errors(
	    GATEWAY
	    "channels = (\n"
	    "  { name = \"Dev Team\"; address = \"dev team@lists.example.org\";"
	    " room = \"dev@conference.example.org/res\"; },\n"
	    "  { name = \"ops\"; address = \"ops@lists.example.org\"; room = "
	    "\"ops@conference.example.org\"; },\n"
	    "  { name = \"ops\"; address = \"OPS@lists.example.org\"; room = "
	    "\"OPS@conference.example.org\"; },\n"
	    "  { name = \"a.b-c_9\"; address = \"x@lists.example.org\"; room = "
	    "\"a\\nb@conference.example.org\"; }\n"
	    ");\n",
	    "coopgate.conf:3: channels[0].name: \"Dev Team\" is not a "
	    "channel name ([a-z0-9][a-z0-9._-]*, at most 64 characters)\n"
	    "coopgate.conf:3: channels[0].address: \"dev "
	    "team@lists.example.org\" is not an address (local@domain)\n"
	    "coopgate.conf:3: channels[0].room: "
	    "\"dev@conference.example.org/res\" is not a bare JID "
	    "(local@domain)\n"
	    "coopgate.conf:5: channels[2].name: \"ops\" is already used by "
	    "channels[1]\n"
	    "coopgate.conf:5: channels[2].address: \"OPS@lists.example.org\" "
	    "is already used by channels[1]\n"
	    "coopgate.conf:5: channels[2].room: "
	    "\"OPS@conference.example.org\" is already used by channels[1]\n"
	    "coopgate.conf:6: channels[3].room: "
	    "\"a\\x0ab@conference.example.org\" is not a bare JID "
	    "(local@domain)\n");
}

static void
test_member_addresses_and_jids(void **state)
{
	expect_errors(
	    GATEWAY "members = (\n"
	            "  { address = \"alice@example.org\"; jid = \"alice "
	            "example.org\"; },\n"
	            "  { address = \"Alice@Example.org\"; },\n"
	            "  { address = \"bob\"; channels = [ 5 ]; },\n"
	            "  { address = \"carol@example.org\"; jid = "
	            "\"carol@example.org\"; channels = []; }\n"
	            ");\n",
	    "coopgate.conf:3: members[0].jid: \"alice example.org\" is "
	    "not a bare JID (local@domain)\n"
	    "coopgate.conf:4: members[1].address: "
	    "\"Alice@Example.org\" is already used by members[0]\n"
	    "coopgate.conf:5: members[2].channels[0]: must be a "
	    "string, not an integer\n"
	    "coopgate.conf:5: members[2].address: \"bob\" is not an "
	    "address (local@domain)\n");
}

static void
test_unknown_choices(void **state)
{
	expect_errors(
	    "gateway = { domain = \"lists example.org\"; };\n"
	    "imap = { host = \"h\"; tls = \"ssl\"; user = \"u\"; "
	    "password = \"p\"; };\n"
	    "xmpp = { jid = \"gw@example.org\"; password = \"p\"; tls = "
	    "\"implicit\"; mode = \"server\"; };\n"
	    "channels = ( { name = \"dev\"; address = "
	    "\"dev@lists.example.org\"; room = \"dev@c.example.org\";\n"
	    "  post_layer = \"admin\"; crm_context = \"body\"; } );\n"
	    "members = ( { address = \"a@example.org\"; layer = "
	    "\"boss\"; delivery = \"weekly\"; } );\n",
	    "coopgate.conf:1: gateway.domain: \"lists example.org\" is "
	    "not a domain name\n"
	    "coopgate.conf:2: imap.tls: \"ssl\" is not one of "
	    "implicit, starttls, none\n"
	    "coopgate.conf:3: xmpp.tls: \"implicit\" is not one of "
	    "required, none\n"
	    "coopgate.conf:3: xmpp.mode: \"server\" is not one of "
	    "client, component\n"
	    "coopgate.conf:5: channels[0].post_layer: \"admin\" is not "
	    "one of guest, partner, member, core\n"
	    "coopgate.conf:5: channels[0].crm_context: \"body\" is not "
	    "one of footer, header, none\n"
	    "coopgate.conf:6: members[0].layer: \"boss\" is not one of "
	    "guest, partner, member, core\n"
	    "coopgate.conf:6: members[0].delivery: \"weekly\" is not "
	    "one of each, digest, none\n");
}

static void
test_ranges(void **state)
{
	expect_errors(
	    GATEWAY "channels = ( { name = \"dev\"; address = "
	            "\"dev@lists.example.org\"; room = \"dev@c.example.org\"; "
	            "chat_batch = -5; } );\n"
	            "outbox = { retry_base = 60; retry_max = 30; max_attempts "
	            "= 0; };\n"
	            "onboarding = { nominations_required = -1; };\n"
	            "box = { quota_mb = -1; };\n"
	            "smtp = { host = \"h\"; max_attachment_size = 0; };\n",
	    "coopgate.conf:2: channels[0].chat_batch: -5 must be 0 or "
	    "more\n"
	    "coopgate.conf:3: outbox.max_attempts: 0 must be 1 or "
	    "more\n"
	    "coopgate.conf:3: outbox.retry_max: 30 must not be less "
	    "than outbox.retry_base (60)\n"
	    "coopgate.conf:4: onboarding.nominations_required: -1 must "
	    "be 0 or more\n"
	    "coopgate.conf:5: box.quota_mb: -1 must be 0 or more\n"
	    "coopgate.conf:6: smtp.max_attachment_size: 0 must be 1 or "
	    "more\n");
}

/* A room that is never quiet: chat_batch_max caps how long a chat line
 * waits for its mail; 5 x chat_batch unless set, never below chat_batch. */
static void
test_chat_batch_max_defaults_to_five_batches_and_not_below_batch(void **state)
{
	(void)state;
	struct cg_config cfg;
	int rc;
	char *got = load_text(
	    GATEWAY "channels = (\n"
	            "  { name = \"dev\"; address = \"dev@lists.example.org\";\n"
	            "    room = \"dev@c.example.org\"; chat_batch = 3; },\n"
	            "  { name = \"ops\"; address = \"ops@lists.example.org\";\n"
	            "    room = \"ops@c.example.org\"; chat_batch = 3;\n"
	            "    chat_batch_max = 3; },\n"
	            "  { name = \"law\"; address = \"law@lists.example.org\";\n"
	            "    room = \"law@c.example.org\"; }\n"
	            ");\n",
	    &cfg, &rc);
	assert_string_equal(got, "");
	assert_int_equal(cfg.channels[0].chat_batch_max, 15);
	assert_int_equal(cfg.channels[1].chat_batch_max, 3);
	assert_int_equal(cfg.channels[2].chat_batch_max, 600);
	free(got);
	cg_config_free(&cfg);
	expect_errors(
	    GATEWAY "channels = (\n"
	            "  { name = \"dev\"; address = \"dev@lists.example.org\";\n"
	            "    room = \"dev@c.example.org\"; chat_batch = 10;\n"
	            "    chat_batch_max = 6; },\n"
	            "  { name = \"ops\"; address = \"ops@lists.example.org\";\n"
	            "    room = \"ops@c.example.org\"; chat_batch_max = 60; }\n"
	            ");\n",
	    "coopgate.conf:5: channels[0].chat_batch_max: 6 must not be "
	    "less than chat_batch (10) of channel dev\n"
	    "coopgate.conf:7: channels[1].chat_batch_max: 60 must not be "
	    "less than chat_batch (120) of channel ops\n");
}

/* ---- the small API ---------------------------------------------------- */

static void
test_names_round_trip(void **state)
{
	enum cg_layer l;
	enum cg_delivery d;
	for (int i = CG_LAYER_GUEST; i <= CG_LAYER_CORE; i++) {
		assert_int_equal(cg_layer_parse(cg_layer_name(i), &l), 0);
		assert_int_equal(l, i);
	}
	assert_string_equal(cg_layer_name(CG_LAYER_PARTNER), "partner");
	assert_int_equal(cg_layer_parse("admin", &l), -1);
	assert_int_equal(cg_layer_parse(NULL, &l), -1);
	for (int i = CG_DELIVERY_EACH; i <= CG_DELIVERY_NONE; i++) {
		assert_int_equal(cg_delivery_parse(cg_delivery_name(i), &d), 0);
		assert_int_equal(d, i);
	}
	assert_string_equal(cg_delivery_name(CG_DELIVERY_DIGEST), "digest");
	assert_int_equal(cg_delivery_parse("Each", &d), -1);
	assert_string_equal(cg_tls_name(CG_TLS_IMPLICIT), "implicit");
	assert_string_equal(cg_tls_name(CG_TLS_STARTTLS), "starttls");
	assert_string_equal(cg_tls_name(CG_TLS_NONE), "none");
}

static void
test_default_path_order(void **state)
{
	char *saved = cg_strdup(getenv("COOPGATE_CONFIG"));
	unsetenv("COOPGATE_CONFIG");
	assert_string_equal(cg_config_default_path("my.conf"), "my.conf");
	assert_string_equal(cg_config_default_path(NULL),
	                    "/etc/coopgate/coopgate.conf");
	write_file("coopgate.conf", GATEWAY, 0600);
	assert_string_equal(cg_config_default_path(NULL), "coopgate.conf");
	setenv("COOPGATE_CONFIG", "/srv/env.conf", 1);
	assert_string_equal(cg_config_default_path(NULL), "/srv/env.conf");
	assert_string_equal(cg_config_default_path("my.conf"), "my.conf");
	if (saved)
		setenv("COOPGATE_CONFIG", saved, 1);
	else
		unsetenv("COOPGATE_CONFIG");
	free(saved);
}

static void
test_free_is_safe_after_failed_load(void **state)
{
	struct cg_config cfg;
	char *got =
	    load_text("gateway = 5;\nchannels = ( 1, 2 );\n", &cfg, NULL);
	assert_string_equal(
	    got, "coopgate.conf:1: gateway: must be a group, not an "
	         "integer\n"
	         "coopgate.conf:2: channels[0]: must be a group, not "
	         "an integer\n"
	         "coopgate.conf:2: channels[1]: must be a group, not "
	         "an integer\n");
	assert_null(cg_config_channel(&cfg, "dev"));
	free(got);
	cg_config_free(&cfg);
	cg_config_free(&cfg); /* zeroed: a second free is harmless */
}

static void
test_inline_password_in_readable_config_is_refused(void **state)
{
	struct cg_config cfg;
	write_file("coopgate.conf",
	           GATEWAY
	           "imap = { host = \"mail.example.org\"; user = \"gw\";\n"
	           "  password = \"swordfish\"; };\n",
	           0640);
	char *got = load_path("coopgate.conf", &cfg, NULL);
	assert_string_equal(
	    got, "coopgate.conf:3: imap.password: an inline secret in a file "
	         "accessible by group or others (mode 640); chmod 600 the "
	         "file or use password_file\n");
	assert_null(strstr(got, "swordfish"));
	free(got);
	cg_config_free(&cfg);
	/* The same file, readable by its owner only, loads. */
	assert_int_equal(chmod("coopgate.conf", 0600), 0);
	got = load_path("coopgate.conf", &cfg, NULL);
	assert_string_equal(got, "");
	assert_string_equal(cfg.imap.password, "swordfish");
	free(got);
	cg_config_free(&cfg);
}

static void
test_secret_file_first_line_is_the_secret(void **state)
{
	struct cg_config cfg;
	write_file("imap.pass", "hunter2\r\nrotated 2024-05-01, ask Bob\n",
	           0600);
	char *got =
	    load_text(GATEWAY "imap = { host = \"mail.example.org\"; user = "
	                      "\"gw\";\n  password_file = \"imap.pass\"; };\n",
	              &cfg, NULL);
	assert_string_equal(got, "");
	assert_string_equal(cfg.imap.password, "hunter2");
	free(got);
	cg_config_free(&cfg);
	char *err = NULL;
	write_file("empty.pass", "\nhunter2\n", 0600);
	assert_null(cg_secret_read("empty.pass", &err));
	assert_non_null(strstr(err, "secret file is empty"));
	free(err);
}

static void
test_posting_sender_proof(void **state)
{
	struct cg_config cfg;
	char *got = load_text(GATEWAY, &cfg, NULL);
	assert_string_equal(got, "");
	assert_int_equal(cfg.posting.sender_proof, 1); /* required */
	assert_null(cfg.posting.dkim_keys_file);
	free(got);
	cg_config_free(&cfg);
	got = load_text(GATEWAY "posting = { sender_proof = \"off\";\n"
	                        "  dkim_keys_file = \"keys.txt\"; };\n",
	                &cfg, NULL);
	assert_string_equal(got, "");
	assert_int_equal(cfg.posting.sender_proof, 0);
	char *want = cg_asprintf("%s/keys.txt", tmp_dir);
	assert_string_equal(cfg.posting.dkim_keys_file, want);
	free(want);
	free(got);
	cg_config_free(&cfg);
	expect_errors(GATEWAY "posting = { sender_proof = \"maybe\"; };\n",
	              "coopgate.conf:2: posting.sender_proof: \"maybe\" is "
	              "not one of required, off\n");
}

/* ---- partners (federation) ------------------------------------------- */

static void
test_partners_checked_with_lines_and_found_by_jid_domain(void **state)
{
	struct cg_config cfg;
	int rc;
	char *got = load_text(
	    GATEWAY
	    "xmpp = { jid = \"gw@example.org\"; password = \"x\"; };\n"
	    "partners = (\n"
	    "  { domain = \"Partner.Example\"; org = \"Partner AG\"; },\n"
	    "  { domain = \"partner.example\"; org = \"Again\"; },\n"
	    "  { domain = \"c.example\"; org = \"C\"; layer = \"boss\"; },\n"
	    "  { domain = \"example.org\"; org = \"Us\"; },\n"
	    "  { domain = \"lists.example.org\"; org = \"Us\"; },\n"
	    "  { domain = \"d.example\"; }\n"
	    ");\n",
	    &cfg, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(got, "coopgate.conf:5: partners[1].domain: "
	                            "\"partner.example\" is already used by "
	                            "partners[0]"));
	assert_non_null(strstr(got, "coopgate.conf:6: partners[2].layer"));
	assert_non_null(strstr(got, "coopgate.conf:7: partners[3].domain: "
	                            "\"example.org\" is the gateway's own XMPP "
	                            "domain"));
	assert_non_null(strstr(got,
	                       "coopgate.conf:8: partners[4].domain: "
	                       "\"lists.example.org\" is the gateway's own "
	                       "domain"));
	assert_non_null(strstr(got, "coopgate.conf:9: partners[5]"));
	assert_non_null(strstr(got, "org"));
	free(got);
	cg_config_free(&cfg);

	got = load_text(GATEWAY "partners = ( { domain = \"B.test\"; org = "
	                        "\"Partner AG\"; } );\n",
	                &cfg, &rc);
	assert_int_equal(rc, 0);
	const struct cg_cfg_partner *p =
	    cg_config_partner(&cfg, "Pat@b.TEST/res");
	assert_non_null(p);
	assert_string_equal(p->org, "Partner AG");
	assert_int_equal(p->layer, CG_LAYER_PARTNER);
	assert_null(cg_config_partner(&cfg, "pat@sub.b.test"));
	assert_null(cg_config_partner(&cfg, "room@conference.a.test/b.test"));
	free(got);
	cg_config_free(&cfg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static void
test_reports_section_is_read_and_checked_with_line_numbers(void **state)
{
	struct cg_config cfg;
	int rc;
	char *got = load_text(GATEWAY "reports = { weekly = \"tue 07:30\";\n"
	                              "  recipients = [ \"a@example.org\" ];\n"
	                              "  unanswered_after = 3600; };\n",
	                      &cfg, &rc);
	assert_string_equal(got, "");
	assert_int_equal(cfg.reports.weekday, 1);
	assert_int_equal(cfg.reports.minute, 7 * 60 + 30);
	assert_int_equal(cfg.reports.nrecipients, 1);
	assert_string_equal(cfg.reports.recipients[0], "a@example.org");
	assert_int_equal(cfg.reports.unanswered_after, 3600);
	free(got);
	cg_config_free(&cfg);
	got = load_text(GATEWAY, &cfg, &rc);
	assert_int_equal(cfg.reports.weekday, -1); /* no schedule */
	assert_int_equal(cfg.reports.recipients_layer, CG_LAYER_CORE);
	assert_int_equal(cfg.reports.unanswered_after, 172800);
	free(got);
	cg_config_free(&cfg);
	expect_errors(GATEWAY "reports = {\n"
	                      "  weekly = \"monday 8\";\n"
	                      "  recipients = \"board\";\n"
	                      "  unanswered_after = 5;\n"
	                      "};\n",
	              "coopgate.conf:3: reports.weekly: \"monday 8\" is not "
	              "DAY HH:MM (e.g. \"mon 08:00\", UTC)\n"
	              "coopgate.conf:4: reports.recipients: \"board\" is no "
	              "layer (guest, partner, member, core) and no list of "
	              "addresses\n"
	              "coopgate.conf:5: reports.unanswered_after: 5 must be "
	              "60 or more\n");
	expect_errors(GATEWAY "reports = { recipients = [ \"x\" ]; };\n",
	              "coopgate.conf:2: reports.recipients: element 1 is no "
	              "mail address\n");
}

int
main(void)
{
	orig_dir = getcwd(NULL, 0);
	const struct CMUnitTest tests[] = {
	    T(test_example_config_loads_clean),
	    T(test_chat_batch_max_defaults_to_five_batches_and_not_below_batch),
	    T(test_reports_section_is_read_and_checked_with_line_numbers),
	    T(test_minimal_config_gets_every_default),
	    T(test_ports_default_by_tls_and_mode),
	    T(test_channel_and_member_defaults),
	    T(test_large_sizes_need_int64),
	    T(test_typo_key_reports_its_line),
	    T(test_port_out_of_range),
	    T(test_lmtp_listener_off_loopback_needs_allow_remote),
	    T(test_lmtp_unix_socket_and_defaults),
	    T(test_channel_address_outside_gateway_domain),
	    T(test_member_unknown_channel),
	    T(test_secret_file_readable_by_others_is_refused),
	    T(test_missing_secret_file_is_named),
	    T(test_relative_paths_resolve_against_config_dir),
	    T(test_all_errors_in_one_file_are_reported),
	    T(test_syntax_error_reports_its_line_and_stops),
	    T(test_missing_config_file),
	    T(test_wrong_types_are_named),
	    T(test_required_keys),
	    T(test_password_and_password_file_exclude_each_other),
	    T(test_channel_names_addresses_and_rooms),
	    T(test_member_addresses_and_jids),
	    T(test_unknown_choices),
	    T(test_ranges),
	    T(test_names_round_trip),
	    T(test_default_path_order),
	    T(test_free_is_safe_after_failed_load),
	    T(test_inline_password_in_readable_config_is_refused),
	    T(test_secret_file_first_line_is_the_secret),
	    T(test_posting_sender_proof),
	    T(test_partners_checked_with_lines_and_found_by_jid_domain),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	free(orig_dir);
	return r;
}
