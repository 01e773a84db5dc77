/*
 * cli_report.c: `coopgate report run KIND [--channel C] [--period P]
 * [--send]` and `coopgate search WORDS... [--channel C] [--limit N]`.
 * A report prints to stdout (text/plain: `Key: value` lines, a blank
 * line, the body); with --send it is written to the store as messages and
 * a running daemon is woken (cg_daemon_wake) to send them at once.
 * Must never: pass the user's words to the index as query syntax (the
 * store quotes them).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "gateway/config.h"
#include "gateway/reports.h"
#include "lib/util.h"
#include "store/search.h"
#include "store/store.h"

static const char REPORT_USAGE[] =
    "usage: coopgate report run KIND [--channel C] [--period P] [--send]\n";
static const char SEARCH_USAGE[] =
    "usage: coopgate search WORDS... [--channel C] [--limit N]\n";

struct report_args {
	const char *kind, *channel, *period;
	int send;
};

static int
parse_report(int argc, char **argv, struct report_args *a)
{
	static const struct option opts[] = {
	    {"channel", required_argument, NULL, 'c'},
	    {"period", required_argument, NULL, 'p'},
	    {"send", no_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof *a);
	int c;
	optind = 0; /* 0: re-initialise GNU getopt (main used "+" ordering) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			a->channel = optarg;
		else if (c == 'p')
			a->period = optarg;
		else if (c == 's')
			a->send = 1;
		else
			return -1;
	}
	if (optind != argc - 1) {
		fprintf(stderr,
		        "coopgate: report run: name one KIND "
		        "(accepted: %s)\n",
		        CG_REPORT_KINDS);
		return -1;
	}
	a->kind = argv[optind];
	return 0;
}

static int
open_store(const struct cg_config *cfg, struct cg_store **s)
{
	char *err = NULL;
	if (cg_store_open(cfg->gateway.data_dir, 0, s, &err) == 0)
		return 0;
	fprintf(stderr, "coopgate: %s\n", err);
	free(err);
	return -1;
}

static int
send_report(struct cg_store *s, const struct cg_config *cfg,
            const struct cg_report *r, int64_t channel_id)
{
	size_t n;
	if (cg_reports_send(s, cfg, r, channel_id, 0, cg_now(), &n) < 0) {
		fprintf(stderr, "coopgate: report %s: cannot store it: %s\n",
		        r->kind, cg_store_errmsg(s));
		return CG_EX_SOFTWARE;
	}
	int woken = cg_daemon_wake(cfg->gateway.data_dir);
	printf("report %s (%s, %s): %zu mail(s) and the room summary queued; "
	       "%s\n",
	       r->kind, r->channel, r->period.label, n,
	       woken ? "the daemon sends them now"
	             : "the daemon sends them when it runs");
	return CG_EX_OK;
}

static int
report_run(int argc, char **argv, const char *config_path)
{
	struct report_args a;
	if (parse_report(argc, argv, &a) != 0) {
		fputs(REPORT_USAGE, stderr);
		return CG_EX_USAGE;
	}
	int rc;
	struct cg_config *cfg = cg_cli_load_config(config_path, &rc);
	if (cfg == NULL)
		return rc;
	struct cg_store *s = NULL;
	struct cg_report r;
	int64_t channel_id;
	char *why = NULL;
	if (open_store(cfg, &s) != 0)
		rc = CG_EX_UNAVAILABLE;
	else
		rc = cg_reports_make(s, cfg, a.kind, a.channel, a.period,
		                     cg_now(), &r, &channel_id, &why);
	if (why)
		fprintf(stderr, "coopgate: %s\n", why);
	else if (rc == CG_EX_OK && a.send)
		rc = send_report(s, cfg, &r, channel_id);
	else if (rc == CG_EX_OK) {
		char *text = cg_report_text(&r);
		fputs(text, stdout);
		free(text);
	}
	if (why == NULL && s)
		cg_report_free(&r);
	free(why);
	cg_store_close(s);
	cg_cli_config_free(cfg);
	return rc;
}

int
cg_cli_report(int argc, char **argv, const char *config_path)
{
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		fputs(REPORT_USAGE, stderr);
		return CG_EX_USAGE;
	}
	return report_run(argc - 1, argv + 1, config_path);
}

/* ---- search ---- */

struct search_args {
	const char *channel;
	long limit;
	struct cg_buf words;
};

static int
parse_search(int argc, char **argv, struct search_args *a)
{
	static const struct option opts[] = {
	    {"channel", required_argument, NULL, 'c'},
	    {"limit", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	optind = 0; /* 0: re-initialise GNU getopt (main used "+" ordering) */
	/* '-': words keep their place; "-foo" after "--" is a word too. */
	while ((c = getopt_long(argc, argv, "-", opts, NULL)) != -1) {
		if (c == 'c')
			a->channel = optarg;
		else if (c == 'n') {
			char *end;
			a->limit = strtol(optarg, &end, 10);
			if (*end || a->limit < 1 || a->limit > 100) {
				fprintf(stderr,
				        "coopgate: search: --limit "
				        "%s: a number from 1 to 100 "
				        "expected\n",
				        optarg);
				return -1;
			}
		} else if (c == 1)
			cg_buf_printf(&a->words, "%s ", optarg);
		else
			return -1;
	}
	for (; optind < argc; optind++)
		cg_buf_printf(&a->words, "%s ", argv[optind]);
	return 0;
}

static int
search_print(struct cg_store *s, const struct cg_config *cfg,
             struct search_args *a)
{
	int64_t channel_id = 0;
	if (a->channel) {
		const struct cg_cfg_channel *ch =
		    cg_config_channel(cfg, a->channel);
		if (ch && cg_store_channel_id(s, ch->name, &channel_id) < 0)
			return CG_EX_SOFTWARE;
		if (channel_id == 0) {
			fprintf(stderr,
			        "coopgate: search: %s: unknown channel "
			        "(see the config's channels)\n",
			        a->channel);
			return CG_EX_DATAERR;
		}
	}
	struct cg_search_query q = {cg_buf_str(&a->words), channel_id, 0, 0,
	                            (size_t)a->limit};
	struct cg_search_hit *h;
	size_t n;
	if (cg_store_search(s, &q, &h, &n) != 0) {
		fprintf(stderr, "coopgate: search: %s\n", cg_store_errmsg(s));
		return CG_EX_SOFTWARE;
	}
	char *text = cg_search_text(h, n);
	fputs(text, stdout);
	free(text);
	cg_search_hits_free(h, n);
	return CG_EX_OK;
}

int
cg_cli_search(int argc, char **argv, const char *config_path)
{
	struct search_args a = {NULL, 10, CG_BUF_INIT};
	int rc = CG_EX_USAGE;
	char *expr = NULL;
	if (parse_search(argc, argv, &a) != 0) {
		fputs(SEARCH_USAGE, stderr);
		goto out;
	}
	expr = cg_search_match_expr(cg_buf_str(&a.words));
	if (expr == NULL) {
		fprintf(stderr,
		        "coopgate: search: no word to search for "
		        "(letters or digits)\n%s",
		        SEARCH_USAGE);
		goto out;
	}
	struct cg_config *cfg = cg_cli_load_config(config_path, &rc);
	if (cfg == NULL)
		goto out;
	struct cg_store *s = NULL;
	if (open_store(cfg, &s) != 0)
		rc = CG_EX_UNAVAILABLE;
	else
		rc = search_print(s, cfg, &a);
	cg_store_close(s);
	cg_cli_config_free(cfg);
out:
	free(expr);
	cg_buf_free(&a.words);
	return rc;
}
