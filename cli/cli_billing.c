/*
 * cli_billing.c: `coopgate time log`, `plan start|stop|list`, `asset
 * add|list`, `member billing` and `invoice run|list|show|xml|cancel`.
 * The rules are gateway/billing.c's; this file parses arguments, opens
 * the config, store (and SchutzBox) and maps results to exit codes: 64
 * usage, 65 bad data, 69 store unavailable, 78 no billing section.
 * Mail it queues leaves through the running daemon's outbox.
 * Must never: print an invoice's XML other than the bytes stored.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "gateway/billing.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "lib/money.h"
#include "lib/util.h"
#include "store/billing.h"
#include "store/box.h"
#include "store/store.h"

static const char billing_usage[] =
    "usage: coopgate time log MEMBER HOURS RATE_CODE [--for BUYER] [--note N]\n"
    "                         [--date YYYY-MM-DD]\n"
    "       coopgate plan start|stop BUYER PLAN_CODE [--date D]\n"
    "       coopgate plan list\n"
    "       coopgate asset add FILE --code CODE --name N --price P [--vat R]\n"
    "                          [--seller S]\n"
    "       coopgate asset list\n"
    "       coopgate member billing ADDRESS --street S --postcode P --city C\n"
    "                          --country CC [--vat-id V] [--buyer-ref R] "
    "[--org O]\n"
    "       coopgate invoice run [--period YYYY-MM] [--dry-run]\n"
    "       coopgate invoice list [--seller S]\n"
    "       coopgate invoice show NUMBER | invoice xml NUMBER\n"
    "       coopgate invoice cancel NUMBER --reason R\n";

static int
bad_usage(const char *cmd, const char *what)
{
	if (what)
		fprintf(stderr, "coopgate: %s: %s\n", cmd, what);
	fputs(billing_usage, stderr);
	return CG_EX_USAGE;
}

/* Options every billing command may take; each command checks its own. */
struct opts {
	const char *for_, *note, *date, *code, *name, *price, *vat, *seller;
	const char *street, *postcode, *city, *country, *vat_id, *buyer_ref;
	const char *org, *period, *reason;
	int dry_run;
	char **args; /* the positional arguments */
	int nargs;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"for", 1, NULL, 'f'},    {"note", 1, NULL, 'n'},
	    {"date", 1, NULL, 'd'},   {"code", 1, NULL, 'c'},
	    {"name", 1, NULL, 'N'},   {"price", 1, NULL, 'p'},
	    {"vat", 1, NULL, 'v'},    {"seller", 1, NULL, 's'},
	    {"street", 1, NULL, 'S'}, {"postcode", 1, NULL, 'P'},
	    {"city", 1, NULL, 'C'},   {"country", 1, NULL, 'K'},
	    {"vat-id", 1, NULL, 'V'}, {"buyer-ref", 1, NULL, 'R'},
	    {"org", 1, NULL, 'o'},    {"period", 1, NULL, 'm'},
	    {"reason", 1, NULL, 'r'}, {"dry-run", 0, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	const char **slot[128] = {0};
	slot['f'] = &o->for_, slot['n'] = &o->note, slot['d'] = &o->date;
	slot['c'] = &o->code, slot['N'] = &o->name, slot['p'] = &o->price;
	slot['v'] = &o->vat, slot['s'] = &o->seller, slot['S'] = &o->street;
	slot['P'] = &o->postcode, slot['C'] = &o->city;
	slot['K'] = &o->country, slot['V'] = &o->vat_id;
	slot['R'] = &o->buyer_ref, slot['o'] = &o->org;
	slot['m'] = &o->period, slot['r'] = &o->reason;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'D')
			o->dry_run = 1;
		else if (c > 0 && c < 128 && slot[c])
			*slot[c] = optarg;
		else
			return -1;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return 0;
}

/* The config, store and (want_box) SchutzBox as a gateway for the rules;
 * 0 or an exit code. */
static int
open_gateway(const char *path, int want_box, struct cg_gateway *gw)
{
	struct cg_cli_env env;
	memset(gw, 0, sizeof *gw);
	int rc = cg_cli_open(path, want_box ? CG_CLI_BOX : 0, &env);
	if (rc != CG_EX_OK)
		return rc;
	if (!env.cfg->billing.present) {
		fprintf(stderr, "coopgate: %s: no billing section\n", path);
		cg_cli_close(&env);
		return CG_EX_CONFIG;
	}
	gw->cfg = env.cfg;
	gw->store = env.store;
	gw->box = env.box;
	return 0;
}

/* A running daemon is woken (cli/daemon.c): invoices a command issued
 * go out at once, not at the billing timer's next turn. */
static void
close_gateway(struct cg_gateway *gw)
{
	cg_daemon_wake(gw->cfg->gateway.data_dir);
	cg_box_close(gw->box);
	cg_store_close(gw->store);
	cg_cli_config_free(gw->cfg);
}

/* Print err for cmd and map a CG_BILL_* result to an exit code. */
static int
result(const char *cmd, int rc, char *err)
{
	if (rc != CG_BILL_OK)
		fprintf(stderr, "coopgate: %s: %s\n", cmd,
		        err ? err : "failed");
	free(err);
	return rc == CG_BILL_OK    ? CG_EX_OK
	       : rc == CG_BILL_BAD ? CG_EX_DATAERR
	                           : CG_EX_UNAVAILABLE;
}

/* ---- time, plan ---------------------------------------------------------- */

static int
time_log(struct cg_gateway *gw, struct opts *o)
{
	if (o->nargs != 4 || strcmp(o->args[0], "log") != 0)
		return bad_usage("time", "time log MEMBER HOURS RATE_CODE");
	char *msg = NULL, *err = NULL;
	int rc = cg_billing_time_log(gw, o->args[1], o->args[2], o->args[3],
	                             o->for_, o->note, o->date, &msg, &err);
	if (rc == CG_BILL_OK)
		printf("%s\n", msg);
	free(msg);
	return result("time log", rc, err);
}

static int
plan_list(struct cg_gateway *gw)
{
	struct cg_plan_row *v;
	size_t n;
	if (cg_store_plan_list(gw->store, &v, &n) != 0)
		return result("plan list", CG_BILL_ERR,
		              cg_strdup(cg_store_errmsg(gw->store)));
	for (size_t i = 0; i < n; i++) {
		struct cg_contact c;
		int ok =
		    cg_store_contact_get(gw->store, v[i].buyer_id, &c) == 0;
		printf("%s\t%s\t%s\t%s\n", v[i].plan,
		       ok && c.nemails ? c.emails[0] : "?", v[i].start,
		       *v[i].stop ? v[i].stop : "running");
		if (ok)
			cg_contact_free(&c);
	}
	cg_plan_rows_free(v, n);
	return CG_EX_OK;
}

static int
plan_cmd(struct cg_gateway *gw, struct opts *o)
{
	if (o->nargs == 1 && strcmp(o->args[0], "list") == 0)
		return plan_list(gw);
	int start = o->nargs == 3 && strcmp(o->args[0], "start") == 0;
	int stop = o->nargs == 3 && strcmp(o->args[0], "stop") == 0;
	if (!start && !stop)
		return bad_usage("plan", "plan start|stop BUYER PLAN | list");
	char *err = NULL;
	int rc = start ? cg_billing_plan_start(gw, o->args[1], o->args[2],
	                                       o->date, &err)
	               : cg_billing_plan_stop(gw, o->args[1], o->args[2],
	                                      o->date, &err);
	if (rc == CG_BILL_OK)
		printf("%s: plan %s %s\n", o->args[1], o->args[2],
		       start ? "started" : "stopped");
	return result(start ? "plan start" : "plan stop", rc, err);
}

/* ---- assets ------------------------------------------------------------- */

static int
asset_check(struct cg_gateway *gw, struct opts *o, struct cg_asset *a)
{
	if (o->code == NULL || o->name == NULL || o->price == NULL)
		return bad_usage("asset add", "--code, --name and --price are "
		                              "required");
	if (cg_money_parse(o->price, &a->price_cents) != 0 ||
	    a->price_cents < 0) {
		fprintf(stderr,
		        "coopgate: asset add: %s: not an amount with "
		        "at most two decimals\n",
		        o->price);
		return CG_EX_DATAERR;
	}
	if (cg_vat_parse(o->vat ? o->vat : "19", &a->vat_bp) != 0) {
		fprintf(stderr, "coopgate: asset add: %s: not a VAT rate\n",
		        o->vat);
		return CG_EX_DATAERR;
	}
	const char *seller = o->seller;
	if (seller == NULL && gw->cfg->billing.nsellers == 1)
		seller = gw->cfg->billing.sellers[0].code;
	if (cg_config_seller(gw->cfg, seller) == NULL) {
		fprintf(stderr,
		        "coopgate: asset add: %s: no such seller "
		        "(--seller S)\n",
		        seller ? seller : "(none)");
		return CG_EX_DATAERR;
	}
	a->seller = cg_strdup(seller);
	return 0;
}

static int
asset_add(struct cg_gateway *gw, struct opts *o)
{
	struct cg_asset a = {0};
	if (o->nargs != 2)
		return bad_usage("asset add", "asset add FILE --code CODE ...");
	int rc = asset_check(gw, o, &a);
	if (rc != 0) {
		cg_asset_free(&a);
		return rc;
	}
	const char *path = o->args[1];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char id[CG_BOX_ID_LEN + 1], *err = NULL;
	if (fd < 0) {
		perror(path);
		cg_asset_free(&a);
		return CG_EX_DATAERR;
	}
	int r =
	    cg_box_put_fd(gw->box, fd, base, NULL, CG_BOX_REF_MANUAL, id, &err);
	close(fd);
	if (r == 0) {
		a.code = cg_strdup(o->code);
		a.name = cg_strdup(o->name);
		a.blob_id = cg_strdup(id);
		a.file_name = cg_strdup(base);
		rc = cg_store_asset_add(gw->store, &a) == 0 ? CG_EX_OK
		                                            : CG_EX_DATAERR;
		if (rc == CG_EX_OK)
			printf("asset %s: %s (%s), blob %s\n", a.code, a.name,
			       o->price, id);
		else
			fprintf(stderr, "coopgate: asset add: %s: %s\n",
			        o->code, cg_store_errmsg(gw->store));
	} else {
		fprintf(stderr, "coopgate: asset add: %s: %s\n", path, err);
		rc = CG_EX_UNAVAILABLE;
	}
	free(err);
	cg_asset_free(&a);
	return rc;
}

static int
asset_cmd(struct cg_gateway *gw, struct opts *o)
{
	if (o->nargs >= 1 && strcmp(o->args[0], "add") == 0)
		return asset_add(gw, o);
	if (o->nargs != 1 || strcmp(o->args[0], "list") != 0)
		return bad_usage("asset", NULL);
	struct cg_asset *v;
	size_t n;
	char p[CG_MONEY_TEXT], r[CG_MONEY_TEXT];
	if (cg_store_asset_list(gw->store, &v, &n) != 0)
		return CG_EX_UNAVAILABLE;
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s\t%s\tVAT %s %%\t%s\t%s\n", v[i].code, v[i].name,
		       cg_money_fmt(v[i].price_cents, p),
		       cg_vat_fmt(v[i].vat_bp, 0, r), v[i].seller,
		       v[i].file_name);
	cg_assets_free(v, n);
	return CG_EX_OK;
}

/* ---- member billing ------------------------------------------------------ */

static int
member_billing(struct cg_gateway *gw, struct opts *o)
{
	if (o->nargs != 2)
		return bad_usage("member billing",
		                 "member billing ADDRESS ...");
	const char *addr = o->args[1];
	int64_t id;
	int found = cg_store_contact_find(gw->store, CG_ID_EMAIL, addr, &id);
	if (found < 0) {
		fprintf(stderr, "coopgate: member billing: %s: %s\n", addr,
		        cg_store_errmsg(gw->store));
		return CG_EX_SOFTWARE;
	}
	if (found == 0) {
		fprintf(stderr,
		        "coopgate: member billing: %s: no such member\n", addr);
		return CG_EX_DATAERR;
	}
	if (o->country && (strlen(o->country) != 2 || o->country[0] < 'A' ||
	                   o->country[0] > 'Z' || o->country[1] < 'A' ||
	                   o->country[1] > 'Z')) {
		fprintf(stderr,
		        "coopgate: member billing: %s: not a "
		        "two-letter country code (DE)\n",
		        o->country);
		return CG_EX_DATAERR;
	}
	struct cg_billing_data b = {
	    (char *)o->street,  (char *)o->postcode, (char *)o->city,
	    (char *)o->country, (char *)o->vat_id,   (char *)o->buyer_ref,
	    (char *)o->org,
	};
	if (cg_store_billing_data_set(gw->store, id, &b) != 0)
		return result("member billing", CG_BILL_ERR,
		              cg_strdup(cg_store_errmsg(gw->store)));
	printf("%s: billing data saved\n", addr);
	return CG_EX_OK;
}

/* ---- invoices --------------------------------------------------------------
 */

static int
invoice_run(struct cg_gateway *gw, struct opts *o)
{
	char last[8];
	cg_billing_last_month(last);
	int issued, skipped;
	char *err = NULL;
	int rc = cg_billing_run(gw, o->period ? o->period : last, o->dry_run,
	                        stdout, &issued, &skipped, &err);
	if (rc == CG_BILL_OK || (rc == CG_BILL_BAD && err == NULL)) {
		printf("%s %d invoice(s)%s",
		       o->dry_run ? "would issue" : "issued", issued,
		       skipped ? "" : "\n");
		if (skipped)
			printf(", skipped %d buyer(s)\n", skipped);
		return skipped ? CG_EX_DATAERR : CG_EX_OK;
	}
	return result("invoice run", rc, err);
}

static int
invoice_list(struct cg_gateway *gw, struct opts *o)
{
	struct cg_invoice *v;
	size_t n;
	char g[CG_MONEY_TEXT];
	if (cg_store_invoice_list(gw->store, o->seller, &v, &n) != 0)
		return CG_EX_UNAVAILABLE;
	for (size_t i = 0; i < n; i++) {
		struct cg_contact c;
		int ok =
		    cg_store_contact_get(gw->store, v[i].buyer_id, &c) == 0;
		printf("%s\t%s\t%s\t%s\t%s %s\t%s%s\n", v[i].number,
		       v[i].type_code == 381 ? "credit" : "invoice",
		       v[i].issue_day, ok && c.nemails ? c.emails[0] : "?",
		       cg_money_fmt(v[i].gross_cents, g), v[i].currency,
		       v[i].seller, v[i].cancels_number ? "" : "");
		if (ok)
			cg_contact_free(&c);
	}
	cg_invoices_free(v, n);
	return CG_EX_OK;
}

static int
invoice_one(struct cg_gateway *gw, struct opts *o, int xml)
{
	if (o->nargs != 2)
		return bad_usage("invoice", "invoice show|xml NUMBER");
	struct cg_invoice inv;
	int found = cg_store_invoice_get(gw->store, o->args[1], &inv);
	if (found <= 0) {
		if (found == 0)
			fprintf(stderr,
			        "coopgate: invoice: %s: no such invoice\n",
			        o->args[1]);
		return found == 0 ? CG_EX_DATAERR : CG_EX_UNAVAILABLE;
	}
	if (xml)
		fwrite(inv.xml, 1, inv.xml_len, stdout);
	else
		fputs(inv.text_body, stdout);
	cg_invoice_free(&inv);
	return CG_EX_OK;
}

static int
invoice_cmd(struct cg_gateway *gw, struct opts *o)
{
	const char *sub = o->nargs ? o->args[0] : "";
	if (strcmp(sub, "run") == 0 && o->nargs == 1)
		return invoice_run(gw, o);
	if (strcmp(sub, "list") == 0 && o->nargs == 1)
		return invoice_list(gw, o);
	if (strcmp(sub, "show") == 0 || strcmp(sub, "xml") == 0)
		return invoice_one(gw, o, sub[0] == 'x');
	if (strcmp(sub, "cancel") == 0 && o->nargs == 2) {
		char *credit = NULL, *err = NULL;
		int rc =
		    cg_billing_cancel(gw, o->args[1], o->reason, &credit, &err);
		if (rc == CG_BILL_OK)
			printf("%s: cancelled by credit note %s\n", o->args[1],
			       credit);
		free(credit);
		return result("invoice cancel", rc, err);
	}
	return bad_usage("invoice", NULL);
}

int
cg_cli_billing(int argc, char **argv, const char *config_path)
{
	const char *cmd = argv[0];
	int member = strcmp(cmd, "member") == 0; /* "member billing ..." */
	struct opts o = {0};
	if (argc < 2 || parse(argc, argv, &o) != 0)
		return bad_usage(cmd, NULL);
	struct cg_gateway gw;
	int rc = open_gateway(config_path, strcmp(cmd, "asset") == 0, &gw);
	if (rc != 0)
		return rc;
	if (member)
		rc = member_billing(&gw, &o);
	else if (strcmp(cmd, "time") == 0)
		rc = time_log(&gw, &o);
	else if (strcmp(cmd, "plan") == 0)
		rc = plan_cmd(&gw, &o);
	else if (strcmp(cmd, "asset") == 0)
		rc = asset_cmd(&gw, &o);
	else
		rc = invoice_cmd(&gw, &o);
	close_gateway(&gw);
	return rc;
}
