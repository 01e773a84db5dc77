/*
 * billing.c: the billing rules (see billing.h): from time entries,
 * subscriptions and purchases to issued invoices, and from an invoice to
 * its credit note; each issued document is rendered once (reports/),
 * stored with its exact bytes, and queued as mail (and chat line) in the
 * same transaction.
 *
 * A run is ONE transaction (BEGIN IMMEDIATE): a second run, in this or
 * another process, waits for it and then finds everything billed; a
 * crash leaves nothing half issued.  Numbers are taken inside it, so a
 * rollback leaves no gap.
 * Must never: issue an invoice without its mail, bill an entry twice,
 * change an issued invoice, or use floating point for money.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/billing.h"
#include "gateway/gateway.h"
#include "gateway/loop.h"
#include "lib/log.h"
#include "lib/money.h"
#include "lib/util.h"
#include "reports/invoice.h"
#include "store/billing.h"
#include "store/store.h"

#define TIMER_MS 5000
#define HOURS_MAX_MILLI 24000

/* ---- days ------------------------------------------------------------ */

static int
parse_day(const char *s, struct tm *tm)
{
	memset(tm, 0, sizeof *tm);
	char *end = strptime(s ? s : "", "%Y-%m-%d", tm);
	if (end == NULL || *end || strlen(s) != 10)
		return -1;
	tm->tm_hour = 12;
	struct tm check = *tm;
	time_t t = timegm(&check);
	return check.tm_mday == tm->tm_mday && t != (time_t)-1 ? 0 : -1;
}

static void
fmt_day(const struct tm *tm, char out[CG_DAY_LEN])
{
	strftime(out, CG_DAY_LEN, "%Y-%m-%d", tm);
}

static void
add_days(const char *day, int n, char out[CG_DAY_LEN])
{
	struct tm tm;
	parse_day(day, &tm);
	time_t t = timegm(&tm) + (time_t)n * 86400;
	gmtime_r(&t, &tm);
	fmt_day(&tm, out);
}

static int
days_in_month(int year, int mon) /* mon 1-12 */
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return d[mon - 1] + (mon == 2 && leap);
}

void
cg_billing_today(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	fmt_day(&tm, out);
}

void
cg_billing_last_month(char out[8])
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int y = tm.tm_year + 1900, m = tm.tm_mon; /* 0-11: last month 1-12 */
	if (m == 0) {
		m = 12;
		y--;
	}
	char t[32];
	snprintf(t, sizeof t, "%04d-%02d", y, m);
	snprintf(out, 8, "%.7s", t);
}

int
cg_billing_period(const char *text, char from[11], char to[11])
{
	int y, m;
	char tail;
	if (text == NULL || strlen(text) != 7 ||
	    sscanf(text, "%4d-%2d%c", &y, &m, &tail) != 2 || y < 1970 ||
	    m < 1 || m > 12)
		return -1;
	char t[64];
	snprintf(t, sizeof t, "%04d-%02d-01", y, m);
	snprintf(from, 11, "%.10s", t);
	snprintf(t, sizeof t, "%04d-%02d-%02d", y, m, days_in_month(y, m));
	snprintf(to, 11, "%.10s", t);
	return 0;
}

/* ---- parties ----------------------------------------------------------- */

static void
seller_party(const struct cg_cfg_seller *s, struct cg_party *p)
{
	p->name = cg_strdup(s->name);
	p->street = cg_strdup(s->street);
	p->postcode = cg_strdup(s->postcode);
	p->city = cg_strdup(s->city);
	p->country = cg_strdup(s->country);
	p->vat_id = cg_strdup(s->vat_id);
	p->tax_number = cg_strdup(s->tax_number);
	p->email = cg_strdup(s->email);
	p->phone = cg_strdup(s->phone);
	p->contact = cg_strdup(s->contact);
	p->iban = cg_strdup(s->iban);
	p->bic = cg_strdup(s->bic);
}

static void
missing(struct cg_buf *b, const char *what, const char *v)
{
	if (v == NULL || *v == '\0')
		cg_buf_printf(b, "%s%s", b->len ? ", " : "", what);
}

/*
 * The buyer's party from its contact and billing data; 1 complete, 0
 * incomplete (*why lists what is missing), -1 store error.  *jid: the
 * contact's first JID or NULL (caller frees).
 */
static int
buyer_party(struct cg_gateway *gw, int64_t id, struct cg_party *p, char **jid,
            char **why)
{
	struct cg_contact c;
	struct cg_billing_data bd;
	memset(p, 0, sizeof *p);
	*jid = NULL;
	if (cg_store_contact_get(gw->store, id, &c) != 0)
		return -1;
	if (cg_store_billing_data_get(gw->store, id, &bd) < 0) {
		cg_contact_free(&c);
		return -1;
	}
	p->name = cg_strdup(bd.org ? bd.org : c.org ? c.org : c.name);
	if (p->name == NULL && c.nemails)
		p->name = cg_strdup(c.emails[0]);
	p->email = c.nemails ? cg_strdup(c.emails[0]) : NULL;
	*jid = c.njids ? cg_strdup(c.jids[0]) : NULL;
	p->street = bd.street;
	p->postcode = bd.postcode;
	p->city = bd.city;
	p->country = bd.country;
	p->vat_id = bd.vat_id;
	p->buyer_ref = bd.buyer_ref;
	free(bd.org);
	cg_contact_free(&c);
	struct cg_buf b = CG_BUF_INIT;
	missing(&b, "email address", p->email);
	missing(&b, "street", p->street);
	missing(&b, "postcode", p->postcode);
	missing(&b, "city", p->city);
	missing(&b, "country", p->country);
	*why = b.len ? cg_buf_steal(&b) : NULL;
	cg_buf_free(&b);
	return *why == NULL;
}

/* ---- issuing ----------------------------------------------------------- */

static char *
number_of(const struct cg_cfg_seller *s, int year, int64_t seq)
{
	struct cg_buf b = CG_BUF_INIT;
	const char *series = s->series ? s->series : "";
	const char *y = strstr(series, "{YYYY}");
	if (y) {
		cg_buf_add(&b, series, (size_t)(y - series));
		cg_buf_printf(&b, "%04d%s", year, y + 6);
	} else {
		cg_buf_puts(&b, series);
	}
	cg_buf_printf(&b, "%04lld", (long long)seq);
	return cg_buf_steal(&b);
}

/* Queue the mail (and chat line) of issued invoice inv. */
static int
queue_mail(struct cg_gateway *gw, const struct cg_invoice *inv, const char *jid,
           const char *asset)
{
	const char *domain = gw->cfg->gateway.domain;
	struct cg_notice n = {
	    .from_addr = cg_asprintf("billing@%s", domain),
	    .to_addr = cg_strdup(inv->buyer_party.email),
	    .subject =
	        cg_asprintf("%s %s from %s",
	                    inv->type_code == 381 ? "Credit note" : "Invoice",
	                    inv->number, inv->seller_party.name),
	    .body = cg_strdup(inv->text_body),
	    .auto_submitted = cg_strdup("auto-generated"),
	};
	int rc = cg_store_notice_add(gw->store, &n, domain);
	if (rc == 0)
		rc = cg_store_invoice_notice_add(gw->store, n.id, inv->id,
		                                 asset);
	cg_notice_free(&n);
	if (rc == 0 && jid && gw->cfg->xmpp.present) {
		struct cg_notice c = {
		    .from_addr = cg_asprintf("billing@%s", domain),
		    .to_addr = cg_strdup(jid),
		    .subject = cg_strdup(""),
		    .body = cg_invoice_chat_line(inv),
		    .auto_submitted = cg_strdup("auto-generated"),
		};
		rc =
		    cg_store_notice_add_via(gw->store, &c, domain, "xmpp", jid);
		cg_notice_free(&c);
	}
	gw->outbox_kick = 1;
	return rc;
}

/*
 * Number, render, store and queue inv (lines, parties, period, type set)
 * inside the caller's transaction.  asset: a file to attach, or NULL.
 */
static int
issue(struct cg_gateway *gw, struct cg_invoice *inv,
      const struct cg_cfg_seller *sel, const char *jid, const char *asset,
      char **err)
{
	if (cg_invoice_total(inv) != 0) {
		*err = cg_asprintf("seller %s: more than %d VAT rates on one "
		                   "invoice",
		                   sel->code, CG_VAT_GROUPS_MAX);
		return CG_BILL_BAD;
	}
	cg_billing_today(inv->issue_day);
	add_days(inv->issue_day, sel->payment_days, inv->due_day);
	inv->seller = cg_strdup(sel->code);
	inv->currency = cg_strdup(gw->cfg->billing.currency);
	int64_t seq;
	int year = atoi(inv->issue_day);
	if (cg_store_invoice_next_seq(gw->store, sel->code, year, &seq) != 0)
		goto store_err;
	inv->number = number_of(sel, year, seq);
	inv->xml = cg_invoice_ubl(inv, &inv->xml_len);
	if (inv->xml == NULL) {
		*err = cg_asprintf("%s: cannot write the XRechnung document",
		                   inv->number);
		return CG_BILL_ERR;
	}
	inv->text_body = cg_invoice_text(inv);
	inv->html_body = cg_invoice_html(inv);
	if (cg_store_invoice_insert(gw->store, inv) != 0 ||
	    queue_mail(gw, inv, jid, asset) != 0)
		goto store_err;
	return CG_BILL_OK;
store_err:
	*err = cg_strdup(cg_store_errmsg(gw->store));
	return CG_BILL_ERR;
}

/* ---- lines from what was sold ---------------------------------------- */

static struct cg_invoice_line *
line_add(struct cg_invoice *inv)
{
	inv->lines =
	    cg_realloc(inv->lines, (inv->nlines + 1) * sizeof *inv->lines);
	struct cg_invoice_line *l = &inv->lines[inv->nlines++];
	memset(l, 0, sizeof *l);
	return l;
}

static char *
contact_label(struct cg_gateway *gw, int64_t id)
{
	struct cg_contact c;
	if (id == 0 || cg_store_contact_get(gw->store, id, &c) != 0)
		return NULL;
	char *s = cg_strdup(c.name ? c.name : c.nemails ? c.emails[0] : NULL);
	cg_contact_free(&c);
	return s;
}

/* The month's share of a plan: days active in [from, to] of the month. */
static void
plan_line(const struct cg_cfg_plan *p, const struct cg_billable *b,
          const char *from, const char *to, struct cg_invoice_line *l)
{
	const char *start = strcmp(b->day, from) > 0 ? b->day : from;
	const char *end = *b->stop && strcmp(b->stop, to) < 0 ? b->stop : to;
	struct tm a, z;
	parse_day(start, &a);
	parse_day(end, &z);
	int days = z.tm_mday - a.tm_mday + 1;
	int dim = days_in_month(a.tm_year + 1900, a.tm_mon + 1);
	l->name = cg_strdup(p->name);
	l->unit = cg_strdup("MON");
	l->qty_milli = 1000;
	l->price_cents = cg_div_round(p->price_cents * days, dim);
	l->vat_bp = p->vat_bp;
	snprintf(l->period_start, CG_DAY_LEN, "%s", start);
	snprintf(l->period_end, CG_DAY_LEN, "%s", end);
	if (days != dim)
		l->note = cg_asprintf("%d of %d days", days, dim);
}

/* The seller of billable b and its line in inv; NULL seller (and *err)
 * when the config no longer knows its rate, plan or seller. */
static const struct cg_cfg_seller *
billable_line(struct cg_gateway *gw, const struct cg_billable *b,
              const char *from, const char *to, struct cg_invoice_line *l)
{
	const struct cg_config *cfg = gw->cfg;
	l->source = cg_strdup(b->source);
	if (strncmp(b->source, "time:", 5) == 0) {
		const struct cg_cfg_rate *r = cg_config_rate(cfg, b->code);
		if (r == NULL)
			return NULL;
		char *who = contact_label(gw, b->worker_id);
		l->name = cg_strdup(r->name);
		l->unit = cg_strdup(r->unit);
		l->qty_milli = b->qty_milli;
		l->price_cents = r->price_cents;
		l->vat_bp = r->vat_bp;
		l->note = cg_asprintf("%s%s%s%s%s", b->day, who ? ", " : "",
		                      who ? who : "", b->note ? ": " : "",
		                      b->note ? b->note : "");
		snprintf(l->period_start, CG_DAY_LEN, "%s", b->day);
		snprintf(l->period_end, CG_DAY_LEN, "%s", b->day);
		free(who);
		return cg_config_seller(cfg, b->seller);
	}
	if (strncmp(b->source, "plan:", 5) == 0) {
		const struct cg_cfg_plan *p = cg_config_plan(cfg, b->code);
		if (p == NULL)
			return NULL;
		plan_line(p, b, from, to, l);
		return cg_config_seller(cfg, p->seller);
	}
	l->name = cg_strdup(b->asset_name);
	l->unit = cg_strdup("C62");
	l->qty_milli = 1000;
	l->price_cents = b->price_cents;
	l->vat_bp = b->vat_bp;
	snprintf(l->period_start, CG_DAY_LEN, "%s", b->day);
	snprintf(l->period_end, CG_DAY_LEN, "%s", b->day);
	return cg_config_seller(cfg, b->asset_seller);
}

/* ---- the run ------------------------------------------------------------ */

/* One invoice being put together: a seller, a buyer and lines. */
struct draft {
	const struct cg_cfg_seller *seller;
	int64_t buyer_id;
	struct cg_invoice inv;
};

struct run {
	struct cg_gateway *gw;
	const char *from, *to;
	struct draft *d;
	size_t nd;
};

static struct draft *
draft_for(struct run *r, const struct cg_cfg_seller *s, int64_t buyer)
{
	for (size_t i = 0; i < r->nd; i++)
		if (r->d[i].seller == s && r->d[i].buyer_id == buyer)
			return &r->d[i];
	r->d = cg_realloc(r->d, (r->nd + 1) * sizeof *r->d);
	struct draft *d = &r->d[r->nd++];
	memset(d, 0, sizeof *d);
	d->seller = s;
	d->buyer_id = buyer;
	d->inv.type_code = 380;
	d->inv.buyer_id = buyer;
	snprintf(d->inv.period_start, CG_DAY_LEN, "%s", r->from);
	snprintf(d->inv.period_end, CG_DAY_LEN, "%s", r->to);
	return d;
}

static void
drafts_free(struct run *r)
{
	for (size_t i = 0; i < r->nd; i++)
		cg_invoice_free(&r->d[i].inv);
	free(r->d);
}

/* Sort the billables into drafts; entries whose rate, plan or seller the
 * config lost are reported and left unbilled. */
static void
collect(struct run *r, struct cg_billable *v, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		struct cg_invoice_line l;
		memset(&l, 0, sizeof l);
		const struct cg_cfg_seller *s =
		    billable_line(r->gw, &v[i], r->from, r->to, &l);
		if (s == NULL) {
			if (out)
				fprintf(out,
				        "%s: %s: not billed: its rate, "
				        "plan or seller is not in the "
				        "config\n",
				        v[i].source, v[i].code);
			free(l.source);
			free(l.name);
			free(l.note);
			free(l.unit);
			continue;
		}
		struct draft *d = draft_for(r, s, v[i].buyer_id);
		*line_add(&d->inv) = l;
	}
}

static int
run_drafts(struct run *r, int dry_run, FILE *out, int *issued, int *skipped,
           char **err)
{
	int64_t last_skipped = 0;
	char g[CG_MONEY_TEXT];
	for (size_t i = 0; i < r->nd; i++) {
		struct draft *d = &r->d[i];
		char *jid = NULL, *why = NULL;
		int ok = buyer_party(r->gw, d->buyer_id, &d->inv.buyer_party,
		                     &jid, &why);
		if (ok < 0) {
			*err = cg_strdup(cg_store_errmsg(r->gw->store));
			return CG_BILL_ERR;
		}
		if (ok == 0) {
			if (out && last_skipped != d->buyer_id)
				fprintf(out,
				        "%s: skipped: billing data "
				        "missing: %s (coopgate member "
				        "billing)\n",
				        d->inv.buyer_party.email
				            ? d->inv.buyer_party.email
				            : d->inv.buyer_party.name,
				        why);
			if (last_skipped != d->buyer_id)
				(*skipped)++;
			last_skipped = d->buyer_id;
			free(why);
			free(jid);
			continue;
		}
		seller_party(d->seller, &d->inv.seller_party);
		int rc = CG_BILL_OK;
		if (dry_run) {
			cg_invoice_total(&d->inv);
			if (out)
				fprintf(out,
				        "would issue: %s -> %s: %zu "
				        "line(s), gross %s %s\n",
				        d->seller->code,
				        d->inv.buyer_party.email, d->inv.nlines,
				        cg_money_fmt(d->inv.gross_cents, g),
				        r->gw->cfg->billing.currency);
		} else {
			rc = issue(r->gw, &d->inv, d->seller, jid, NULL, err);
			if (rc == CG_BILL_OK && out)
				fprintf(out,
				        "%s: %s -> %s: gross %s %s, due "
				        "%s\n",
				        d->inv.number, d->seller->code,
				        d->inv.buyer_party.email,
				        cg_money_fmt(d->inv.gross_cents, g),
				        d->inv.currency, d->inv.due_day);
		}
		free(jid);
		if (rc != CG_BILL_OK)
			return rc;
		/* stored and queued: the documents are not needed here again */
		free(d->inv.xml);
		free(d->inv.text_body);
		free(d->inv.html_body);
		d->inv.xml = NULL;
		d->inv.text_body = d->inv.html_body = NULL;
		(*issued)++;
	}
	return CG_BILL_OK;
}

int
cg_billing_run(struct cg_gateway *gw, const char *period, int dry_run,
               FILE *out, int *issued, int *skipped, char **err)
{
	char from[11], to[11], today[11];
	*issued = *skipped = 0;
	if (cg_billing_period(period, from, to) != 0) {
		*err = cg_asprintf("%s: not a period (YYYY-MM)",
		                   period ? period : "");
		return CG_BILL_BAD;
	}
	cg_billing_today(today);
	if (strcmp(from, today) > 0) {
		*err = cg_asprintf("%s: the period is in the future", period);
		return CG_BILL_BAD;
	}
	if (!dry_run && cg_store_begin(gw->store) != 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		return CG_BILL_ERR;
	}
	struct cg_billable *v = NULL;
	size_t n = 0;
	struct run r = {gw, from, to, NULL, 0};
	int rc = CG_BILL_ERR;
	if (cg_store_unbilled(gw->store, from, to, &v, &n) != 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		goto out;
	}
	collect(&r, v, n, out);
	rc = run_drafts(&r, dry_run, out, issued, skipped, err);
	if (rc == CG_BILL_OK && !dry_run &&
	    (cg_store_invoice_run_begin(gw->store, period) < 0 ||
	     cg_store_invoice_run_finish(gw->store, period) != 0 ||
	     cg_store_commit(gw->store) != 0)) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		rc = CG_BILL_ERR;
	}
out:
	if (rc != CG_BILL_OK && !dry_run)
		cg_store_rollback(gw->store);
	cg_billables_free(v, n);
	drafts_free(&r);
	if (rc == CG_BILL_OK && *skipped)
		return CG_BILL_BAD;
	return rc;
}

/* ---- time, plans ----------------------------------------------------------
 */

/* The contact with email address or JID `who`; 0 unknown. */
static int64_t
contact_of(struct cg_gateway *gw, const char *who)
{
	int64_t id = 0;
	if (who == NULL)
		return 0;
	int found = cg_store_contact_find(gw->store, CG_ID_EMAIL, who, &id);
	if (found == 0)
		cg_store_contact_find(gw->store, CG_ID_JID, who, &id);
	return id; /* a store error: 0, logged by the store */
}

/* The seller whose workers include one of worker's addresses; the
 * rate's seller when it does. */
static const struct cg_cfg_seller *
seller_of_worker(struct cg_gateway *gw, int64_t worker,
                 const struct cg_cfg_rate *rate)
{
	struct cg_contact c;
	if (cg_store_contact_get(gw->store, worker, &c) != 0)
		return NULL;
	const struct cg_cfg_seller *found = NULL;
	const struct cg_cfg_billing *b = &gw->cfg->billing;
	for (size_t i = 0; i < b->nsellers; i++)
		for (size_t k = 0; k < b->sellers[i].nworkers; k++)
			for (size_t e = 0; e < c.nemails; e++)
				if (strcasecmp(b->sellers[i].workers[k],
				               c.emails[e]) == 0 &&
				    (found == NULL ||
				     strcmp(b->sellers[i].code, rate->seller) ==
				         0))
					found = &b->sellers[i];
	cg_contact_free(&c);
	return found;
}

static int
bad(char **err, char *msg)
{
	*err = msg;
	return CG_BILL_BAD;
}

int
cg_billing_time_log(struct cg_gateway *gw, const char *worker,
                    const char *hours, const char *rate_code, const char *buyer,
                    const char *note, const char *day, char **msg, char **err)
{
	int64_t qty;
	char today[11], d[11];
	if (cg_qty_parse(hours, &qty) != 0 || qty <= 0)
		return bad(err, cg_asprintf("%s: hours must be a positive "
		                            "number (\"1.5\")",
		                            hours ? hours : ""));
	if (qty > HOURS_MAX_MILLI)
		return bad(err, cg_asprintf("%s: more than 24 hours in one "
		                            "entry",
		                            hours));
	const struct cg_cfg_rate *rate = cg_config_rate(gw->cfg, rate_code);
	if (rate == NULL)
		return bad(err, cg_asprintf("%s: no such rate in billing.rates",
		                            rate_code ? rate_code : ""));
	int64_t wid = contact_of(gw, worker);
	if (wid == 0)
		return bad(err, cg_asprintf("%s: no such member", worker));
	const struct cg_cfg_seller *s = seller_of_worker(gw, wid, rate);
	if (s == NULL)
		return bad(err, cg_asprintf("%s: not a worker of any seller "
		                            "(billing.sellers[].workers)",
		                            worker));
	const char *b = buyer ? buyer : rate->buyer;
	if (b == NULL)
		return bad(err, cg_asprintf("rate %s has no default buyer: "
		                            "name one (--for BUYER)",
		                            rate->code));
	int64_t bid = contact_of(gw, b);
	if (bid == 0)
		return bad(err, cg_asprintf("%s: no such member", b));
	cg_billing_today(today);
	snprintf(d, sizeof d, "%s", day ? day : today);
	struct tm tm;
	if (parse_day(d, &tm) != 0)
		return bad(err, cg_asprintf("%s: not a date (YYYY-MM-DD)", d));
	if (strcmp(d, today) > 0)
		return bad(err,
		           cg_asprintf("%s: the date is in the future", d));
	int64_t id;
	if (cg_store_time_add(gw->store, wid, bid, s->code, rate->code, d, qty,
	                      note, &id) != 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		return CG_BILL_ERR;
	}
	char q[CG_MONEY_TEXT];
	*msg = cg_asprintf("time entry %lld: %s h %s (%s) on %s for %s, billed "
	                   "by %s%s%s",
	                   (long long)id, cg_qty_fmt(qty, q), rate->code,
	                   rate->name, d, b, s->code, note && *note ? ": " : "",
	                   note && *note ? note : "");
	return CG_BILL_OK;
}

static int
plan_args(struct cg_gateway *gw, const char *buyer, const char *plan,
          const char *day, int64_t *bid, char d[11], char **err)
{
	if (cg_config_plan(gw->cfg, plan) == NULL)
		return bad(err, cg_asprintf("%s: no such plan in billing.plans",
		                            plan));
	*bid = contact_of(gw, buyer);
	if (*bid == 0)
		return bad(err, cg_asprintf("%s: no such member", buyer));
	char today[11];
	cg_billing_today(today);
	snprintf(d, 11, "%s", day ? day : today);
	struct tm tm;
	if (parse_day(d, &tm) != 0)
		return bad(err, cg_asprintf("%s: not a date (YYYY-MM-DD)", d));
	return CG_BILL_OK;
}

int
cg_billing_plan_start(struct cg_gateway *gw, const char *buyer,
                      const char *plan, const char *day, char **err)
{
	int64_t bid;
	char d[11];
	int rc = plan_args(gw, buyer, plan, day, &bid, d, err);
	if (rc != CG_BILL_OK)
		return rc;
	rc = cg_store_plan_start(gw->store, bid, plan, d);
	if (rc < 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		return CG_BILL_ERR;
	}
	return rc ? CG_BILL_OK
	          : bad(err, cg_asprintf("%s: plan %s is running already",
	                                 buyer, plan));
}

int
cg_billing_plan_stop(struct cg_gateway *gw, const char *buyer, const char *plan,
                     const char *day, char **err)
{
	int64_t bid;
	char d[11];
	int rc = plan_args(gw, buyer, plan, day, &bid, d, err);
	if (rc != CG_BILL_OK)
		return rc;
	rc = cg_store_plan_stop(gw->store, bid, plan, d);
	if (rc < 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		return CG_BILL_ERR;
	}
	return rc ? CG_BILL_OK
	          : bad(err, cg_asprintf("%s: no running plan %s started on "
	                                 "or before %s",
	                                 buyer, plan, d));
}

/* ---- buying, cancelling -------------------------------------------------- */

static int
buy_issue(struct cg_gateway *gw, int64_t buyer_id, const struct cg_asset *a,
          char **msg, char **err)
{
	char today[11], g[CG_MONEY_TEXT];
	cg_billing_today(today);
	const struct cg_cfg_seller *s = cg_config_seller(gw->cfg, a->seller);
	if (s == NULL)
		return bad(err, cg_asprintf("%s: its seller %s is not in the "
		                            "config",
		                            a->code, a->seller));
	struct run r = {gw, today, today, NULL, 0};
	struct draft *d = draft_for(&r, s, buyer_id);
	char *jid = NULL, *why = NULL;
	int rc = buyer_party(gw, buyer_id, &d->inv.buyer_party, &jid, &why);
	if (rc == 0)
		rc = bad(err, cg_asprintf("billing data missing: %s (ask the "
		                          "billing office to add it)",
		                          why));
	else if (rc < 0)
		rc = CG_BILL_ERR;
	else
		rc = CG_BILL_OK;
	int64_t pid;
	struct cg_billable b;
	if (rc == CG_BILL_OK &&
	    (cg_store_purchase_add(gw->store, buyer_id, a->code, today, &pid) !=
	         0 ||
	     cg_store_unbilled_purchase(gw->store, pid, &b) != 1))
		rc = CG_BILL_ERR;
	if (rc == CG_BILL_OK) {
		billable_line(gw, &b, today, today, line_add(&d->inv));
		struct cg_billable *one = cg_malloc(sizeof *one);
		*one = b;
		cg_billables_free(one, 1);
		seller_party(s, &d->inv.seller_party);
		rc = issue(gw, &d->inv, s, jid, a->code, err);
	}
	if (rc == CG_BILL_OK)
		*msg = cg_asprintf("%s bought: invoice %s, %s %s, due %s; the "
		                   "file comes by mail with the invoice",
		                   a->name, d->inv.number,
		                   cg_money_fmt(d->inv.gross_cents, g),
		                   d->inv.currency, d->inv.due_day);
	else if (rc == CG_BILL_ERR && *err == NULL)
		*err = cg_strdup(cg_store_errmsg(gw->store));
	free(jid);
	free(why);
	drafts_free(&r);
	return rc;
}

int
cg_billing_buy(struct cg_gateway *gw, int64_t buyer_id, const char *code,
               char **msg, char **err)
{
	struct cg_contact c;
	*err = NULL;
	if (cg_store_contact_get(gw->store, buyer_id, &c) != 0)
		return bad(err, cg_strdup("unknown buyer"));
	enum cg_layer layer = c.layer;
	cg_contact_free(&c);
	if (layer < CG_LAYER_MEMBER)
		return bad(err, cg_asprintf("only members may buy (you are "
		                            "%s)",
		                            cg_layer_name(layer)));
	struct cg_asset a;
	int found = cg_store_asset_get(gw->store, code, &a);
	if (found <= 0)
		return found < 0 ? CG_BILL_ERR
		                 : bad(err, cg_asprintf("%s: no such asset",
		                                        code ? code : ""));
	/* a savepoint: inside the caller's transaction when one is open
	 * (a mail command is handled inside the mail's) */
	int rc = CG_BILL_ERR;
	if (cg_store_savepoint(gw->store) == 0) {
		rc = buy_issue(gw, buyer_id, &a, msg, err);
		if (rc == CG_BILL_OK &&
		    cg_store_savepoint_release(gw->store) != 0)
			rc = CG_BILL_ERR;
		if (rc != CG_BILL_OK)
			cg_store_savepoint_rollback(gw->store);
	}
	if (rc == CG_BILL_ERR && *err == NULL)
		*err = cg_strdup(cg_store_errmsg(gw->store));
	cg_asset_free(&a);
	return rc;
}

/* The credit note of orig: its lines and parties as issued. */
static void
credit_from(const struct cg_invoice *orig, const char *reason,
            struct cg_invoice *cn)
{
	memset(cn, 0, sizeof *cn);
	cn->type_code = 381;
	cn->buyer_id = orig->buyer_id;
	cn->cancels = orig->id;
	cn->cancels_number = cg_strdup(orig->number);
	snprintf(cn->cancels_day, CG_DAY_LEN, "%s", orig->issue_day);
	cn->reason = cg_strdup(reason);
	snprintf(cn->period_start, CG_DAY_LEN, "%s", orig->period_start);
	snprintf(cn->period_end, CG_DAY_LEN, "%s", orig->period_end);
	const struct cg_party *p = &orig->buyer_party;
	struct cg_party *q = &cn->buyer_party;
	q->name = cg_strdup(p->name);
	q->street = cg_strdup(p->street);
	q->postcode = cg_strdup(p->postcode);
	q->city = cg_strdup(p->city);
	q->country = cg_strdup(p->country);
	q->vat_id = cg_strdup(p->vat_id);
	q->email = cg_strdup(p->email);
	q->buyer_ref = cg_strdup(p->buyer_ref);
	for (size_t i = 0; i < orig->nlines; i++) {
		const struct cg_invoice_line *o = &orig->lines[i];
		struct cg_invoice_line *l = line_add(cn);
		*l = *o;
		l->source = NULL;
		l->name = cg_strdup(o->name);
		l->note = cg_strdup(o->note);
		l->unit = cg_strdup(o->unit);
	}
}

static int
cancel_checks(struct cg_gateway *gw, const char *number,
              const struct cg_invoice *orig, int found, char **err)
{
	if (found < 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		return CG_BILL_ERR;
	}
	if (found == 0)
		return bad(err, cg_asprintf("%s: no such invoice", number));
	if (orig->type_code == 381)
		return bad(err, cg_asprintf("%s: is a credit note; only "
		                            "invoices can be cancelled",
		                            number));
	char *by = NULL;
	if (cg_store_invoice_cancelled_by(gw->store, orig->id, &by) != 0)
		return CG_BILL_ERR;
	if (by) {
		*err = cg_asprintf("%s: already cancelled by %s", number, by);
		free(by);
		return CG_BILL_BAD;
	}
	if (cg_config_seller(gw->cfg, orig->seller) == NULL)
		return bad(err, cg_asprintf("%s: its seller %s is not in the "
		                            "config",
		                            number, orig->seller));
	return CG_BILL_OK;
}

int
cg_billing_cancel(struct cg_gateway *gw, const char *number, const char *reason,
                  char **credit, char **err)
{
	struct cg_invoice orig, cn;
	*err = NULL;
	if (reason == NULL || *reason == '\0')
		return bad(err, cg_strdup("a reason is required (--reason R)"));
	if (cg_store_begin(gw->store) != 0) {
		*err = cg_strdup(cg_store_errmsg(gw->store));
		return CG_BILL_ERR;
	}
	int found = cg_store_invoice_get(gw->store, number, &orig);
	int rc = cancel_checks(gw, number, &orig, found, err);
	if (rc == CG_BILL_OK) {
		const struct cg_cfg_seller *s =
		    cg_config_seller(gw->cfg, orig.seller);
		credit_from(&orig, reason, &cn);
		/* the seller as on the invoice, the bank data as today */
		seller_party(s, &cn.seller_party);
		free(cn.seller_party.name);
		cn.seller_party.name = cg_strdup(orig.seller_party.name);
		char *jid = NULL, *why = NULL;
		struct cg_party tmp;
		if (buyer_party(gw, orig.buyer_id, &tmp, &jid, &why) >= 0)
			cg_party_free(&tmp);
		free(why);
		rc = issue(gw, &cn, s, jid, NULL, err);
		free(jid);
		if (rc == CG_BILL_OK && cg_store_commit(gw->store) != 0)
			rc = CG_BILL_ERR;
		if (rc == CG_BILL_OK)
			*credit = cg_strdup(cn.number);
		cg_invoice_free(&cn);
	}
	if (rc != CG_BILL_OK)
		cg_store_rollback(gw->store);
	if (rc == CG_BILL_ERR && *err == NULL)
		*err = cg_strdup(cg_store_errmsg(gw->store));
	if (found > 0)
		cg_invoice_free(&orig);
	return rc;
}

/* ---- the daemon's timer ----------------------------------------------------
 */

static void
billing_tick(struct cg_loop *l, void *arg)
{
	struct cg_gateway *gw = arg;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (gw->cfg->billing.present &&
	    tm.tm_mday >= gw->cfg->billing.run_day) {
		char period[8];
		cg_billing_last_month(period);
		/* recorded as done in the run's own transaction: a crash
		 * before its commit leaves it to the next start */
		if (cg_store_invoice_run_done(gw->store, period) == 0) {
			int issued, skipped;
			char *err = NULL;
			int rc = cg_billing_run(gw, period, 0, NULL, &issued,
			                        &skipped, &err);
			if (rc == CG_BILL_ERR)
				cg_error("billing: invoice run %s: %s", period,
				         err);
			else
				cg_info("billing: invoice run %s: %d issued, "
				        "%d buyer(s) skipped",
				        period, issued, skipped);
			free(err);
		}
	}
	gw->outbox_kick = 1; /* rows the CLI may have queued */
	cg_loop_timer(l, TIMER_MS, billing_tick, gw);
}

void
cg_billing_timer_start(struct cg_gateway *gw)
{
	cg_loop_timer(gw->loop, 0, billing_tick, gw);
}
