/*
 * main.c: the coopgate command line.  Parses the global options, picks the
 * config file and dispatches to a subcommand.  The manual for every command
 * lives here, in usage_text, and in config/coopgate.8.
 * Must never: exit with a code other than the sysexits ones in CONTRACT.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "gateway/config.h"
#include "cli/daemon.h"
#include "lib/log.h"
#include "gateway/sync.h"
#include "lib/util.h"
#include "lib/version.h"
#include "store/box.h"
#include "store/store.h"

struct command {
	const char *name;
	const char *synopsis;
	const char *help;
};

static const struct command commands[] = {
    {"check-config", "check-config",
     "Parse and validate the config file.  Prints FILE:LINE: message for\n"
     "every problem found and exits 78; exits 0 when the file is valid."},
    {"init", "init",
     "Create the data directory (mode 0700), the database migrated to the\n"
     "newest schema, and the SchutzBox master key (mode 0600); sync the\n"
     "config's channels and members.  Safe to run again."},
    {"run", "run [--foreground]",
     "Run the daemon.  With --foreground, stay attached and log to stderr;\n"
     "otherwise detach and log to syslog (facility mail).  SIGTERM/SIGINT\n"
     "stop cleanly; SIGHUP reloads the config (an invalid one is reported\n"
     "and the running config kept)."},
    {"status", "status",
     "Show whether the daemon runs, each bridge's connection state and\n"
     "since when, its last error, the outbox depth and dead letters."},
    {"inspect", "inspect FILE.eml",
     "Show how the gateway sees one mail without storing or sending\n"
     "anything: Channel, From, Contact, Layer, Thread, Flags, Attachments,\n"
     "then the trimmed text the room would get."},
    {"member", "member add|list|show|set-layer|remove ...",
     "Manage contacts and their subscriptions:\n"
     "  member add ADDRESS [--name N] [--jid JID] [--layer L] [--org O]\n"
     "             [--channel C]... [--delivery each|digest|none]\n"
     "  member list [--channel C]\n"
     "  member show ADDRESS\n"
     "  member set-layer ADDRESS guest|partner|member|core\n"
     "  member remove ADDRESS [--channel C]\n"
     "  member billing ADDRESS --street S --postcode P --city C --country CC\n"
     "             [--vat-id V] [--buyer-ref R] [--org O]"},
    {"crm", "crm import FILE.vcf | crm export [FILE.vcf]",
     "Contacts as vCard 4.0 (RFC 6350): FN, N, EMAIL, IMPP:xmpp:, ORG,\n"
     "CATEGORIES (tags), NOTE, X-COOP-LAYER.  import reports a malformed\n"
     "card as FILE:LINE: message, skips it and imports the rest (exit 65\n"
     "when any was skipped); export writes to FILE or stdout."},
    {"box", "box put|get|ls|verify|gc ...",
     "The SchutzBox, the encrypted attachment store:\n"
     "  box put FILE [--name N] [--type T]  store FILE (- : stdin), print\n"
     "                                      its blob id\n"
     "  box get ID [-o FILE]                write the blob to stdout or FILE\n"
     "  box ls                              id, size, refs, created, type, "
     "name\n"
     "  box verify [ID...]                  check every blob (or those "
     "named);\n"
     "                                      print \"ID: reason\" per bad one, "
     "exit 65\n"
     "  box gc [--grace SECONDS]            remove blobs without references\n"
     "                                      stored before the grace (24 h)"},
    {"time",
     "time log MEMBER HOURS RATE_CODE [--for BUYER] [--note N] "
     "[--date D]",
     "Record billable time worked by MEMBER (a worker of a seller in\n"
     "billing.sellers) at RATE_CODE, billed to BUYER (default: the rate's\n"
     "buyer).  HOURS is positive, at most 24, at most three decimals."},
    {"plan", "plan start|stop BUYER PLAN_CODE [--date D] | plan list",
     "Subscriptions: a plan bills each month it runs, pro rata by day in\n"
     "its first and last month."},
    {"asset",
     "asset add FILE --code CODE --name N --price P [--vat R] "
     "[--seller S] | asset list",
     "A digital asset for sale, kept in the SchutzBox; members buy it\n"
     "with !buy CODE in a room or `buy CODE` to CHANNEL+request@."},
    {"invoice", "invoice run|list|show|xml|cancel ...",
     "Billing (XRechnung 3.0 UBL invoices, mailed to the buyer):\n"
     "  invoice run [--period YYYY-MM] [--dry-run]  issue the period's\n"
     "      invoices (default: last month); a buyer without billing data\n"
     "      is skipped with one line saying what is missing (exit 65)\n"
     "  invoice list [--seller S]\n"
     "  invoice show NUMBER     the text of the invoice\n"
     "  invoice xml NUMBER      the XRechnung document, as mailed\n"
     "  invoice cancel NUMBER --reason R   issue a credit note (381)\n"
     "The buyer's data: member billing ADDRESS --street S --postcode P\n"
     "--city C --country CC [--vat-id V] [--buyer-ref R] [--org O]."},
    {"report", "report run KIND [--channel C] [--period P] [--send]",
     "Render a report to stdout: Key: value headline lines, a blank line,\n"
     "then the body.  KIND: activity, facilitation, topics, billing.\n"
     "  --channel C  one channel (default: all)\n"
     "  --period P   YYYY-MM, YYYY-Www or Nd (default 7d: the last 7 days,\n"
     "               UTC)\n"
     "  --send       send it instead: by mail (text and HTML) to\n"
     "               reports.recipients and a summary to the room; a\n"
     "               running daemon is woken to send it at once"},
    {"search", "search WORDS... [--channel C] [--limit N]",
     "Search every stored message of both networks, best first: channel,\n"
     "thread subject, author, network, date and a snippet.  Word forms\n"
     "match (German and English: rechnung finds Rechnungen); the words\n"
     "are words, never query syntax.  --limit: 1 to 100 (default 10)."},
    {NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: coopgate [-c FILE] COMMAND [ARGS]\n"
	           "       coopgate --help | --version | help COMMAND\n\n"
	           "coopgate bridges community channels between email lists "
	           "and XMPP rooms.\n\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %s\n", c->synopsis);
	fprintf(
	    f,
	    "\nOptions:\n"
	    "  -c FILE    config file (default: $COOPGATE_CONFIG, then\n"
	    "             ./coopgate.conf, then /etc/coopgate/coopgate.conf)\n"
	    "  --help     this text;  --version  the version\n\n"
	    "Exit status: 0 ok, 64 usage, 65 bad input data, 69 service\n"
	    "unavailable, 73 cannot create output, 78 configuration error.\n"
	    "See coopgate(8) and coopgate.conf(5).\n");
}

static int
cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return CG_EX_OK;
	}
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0) {
			printf("usage: coopgate [-c FILE] %s\n\n%s\n",
			       c->synopsis, c->help);
			return CG_EX_OK;
		}
	fprintf(stderr, "coopgate: help: %s: no such command\n", argv[1]);
	return CG_EX_USAGE;
}

static int
cmd_check_config(int argc, char **argv, const char *path)
{
	if (argc != 1) {
		fprintf(stderr, "usage: coopgate check-config\n");
		return CG_EX_USAGE;
	}
	int rc;
	struct cg_config *cfg = cg_cli_load_config(path, &rc);
	if (cfg == NULL)
		return rc;
	printf("%s: ok (%zu channel%s, %zu member%s)\n", path, cfg->nchannels,
	       cfg->nchannels == 1 ? "" : "s", cfg->nmembers,
	       cfg->nmembers == 1 ? "" : "s");
	cg_cli_config_free(cfg);
	return CG_EX_OK;
}

/* mkdir -p with mode for the last component; parents get 0755. */
static int
make_dir(const char *path, mode_t mode)
{
	char *p = cg_strdup(path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST) {
				free(p);
				return -1;
			}
			*s = '/';
		}
	free(p);
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return -1;
	return chmod(path, mode);
}

static int
cmd_init(int argc, char **argv, const char *path)
{
	if (argc != 1) {
		fprintf(stderr, "usage: coopgate init\n");
		return CG_EX_USAGE;
	}
	int rc;
	struct cg_config *cfg = cg_cli_load_config(path, &rc);
	if (cfg == NULL)
		return rc;
	const char *dir = cfg->gateway.data_dir;
	struct cg_store *s = NULL;
	char *err = NULL;
	int created = 0;
	rc = CG_EX_CANTCREAT;
	if (make_dir(dir, 0700) != 0) {
		fprintf(stderr, "coopgate: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (cg_store_open(dir, 1, &s, &err) != 0 ||
	    cg_box_init_key(dir, &created, &err) != 0) {
		fprintf(stderr, "coopgate: %s\n", err);
		goto out;
	}
	if (cg_sync_config(s, cfg) != 0) {
		fprintf(stderr, "coopgate: %s\n", cg_store_errmsg(s));
		goto out;
	}
	printf("%s: database at schema version %d; master key %s\n", dir,
	       cg_store_version(s), created ? "created" : "kept");
	rc = CG_EX_OK;
out:
	free(err);
	cg_store_close(s);
	cg_cli_config_free(cfg);
	return rc;
}

static int
cmd_run(int argc, char **argv, const char *path)
{
	int foreground = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--foreground") == 0 ||
		    strcmp(argv[i], "-f") == 0)
			foreground = 1;
		else {
			fprintf(stderr,
			        "coopgate: run: %s: unknown option\n"
			        "usage: coopgate run [--foreground]\n",
			        argv[i]);
			return CG_EX_USAGE;
		}
	}
	int rc;
	struct cg_config *cfg = cg_cli_load_config(path, &rc);
	if (cfg == NULL)
		return rc;
	return cg_daemon_run(cfg, foreground);
}

int
main(int argc, char **argv)
{
	const char *config_opt = NULL;
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"config", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	/* '+': stop at the subcommand; it parses its own options. */
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return CG_EX_OK;
		case 'V':
			printf("coopgate %s\n", COOPGATE_VERSION);
			return CG_EX_OK;
		default:
			usage(stderr);
			return CG_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return CG_EX_USAGE;
	}
	cg_log_open(1, CG_LOG_WARN);
	const char *path = cg_config_default_path(config_opt);
	const char *cmd = argv[0];
	optind = 0;
	if (strcmp(cmd, "help") == 0)
		return cmd_help(argc, argv);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(argc, argv, path);
	if (strcmp(cmd, "init") == 0)
		return cmd_init(argc, argv, path);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc, argv, path);
	if (strcmp(cmd, "status") == 0)
		return cg_cli_status(argc, argv, path);
	if (strcmp(cmd, "member") == 0)
		return cg_cli_member(argc, argv, path);
	if (strcmp(cmd, "inspect") == 0)
		return cg_cli_inspect(argc, argv, path);
	if (strcmp(cmd, "box") == 0)
		return cg_cli_box(argc, argv, path);
	if (strcmp(cmd, "crm") == 0)
		return cg_cli_crm(argc, argv, path);
	if (strcmp(cmd, "time") == 0 || strcmp(cmd, "plan") == 0 ||
	    strcmp(cmd, "asset") == 0 || strcmp(cmd, "invoice") == 0)
		return cg_cli_billing(argc, argv, path);
	if (strcmp(cmd, "report") == 0)
		return cg_cli_report(argc, argv, path);
	if (strcmp(cmd, "search") == 0)
		return cg_cli_search(argc, argv, path);
	fprintf(stderr, "coopgate: %s: unknown command (see coopgate --help)\n",
	        cmd);
	return CG_EX_USAGE;
}
