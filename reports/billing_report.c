/*
 * billing_report.c: the billing report: per seller, the invoices and
 * credit notes issued in the period with net, VAT and gross (credit notes
 * negative), hours by worker and rate, and open (unbilled) time.  The
 * figures come from store/report_queries.c; each is defined in one line
 * of the report.  Billing is the same for every channel: the report is
 * always for all (report.c's registry says so).
 * Must never: count money in floating point, or a credit note as income.
 */
#include <stdlib.h>

#include "lib/money.h"
#include "lib/util.h"
#include "reports/report.h"
#include "store/report_queries.h"

static void
billing_defs(struct cg_report *r)
{
	cg_report_def(r, "Channel: billing is the same for every channel; a "
	                 "channel asked for is ignored, the figures are for "
	                 "all.");
	cg_report_def(r, "Invoiced net, VAT, gross: invoices issued in the "
	                 "period less the credit notes issued in it.");
	cg_report_def(r, "Credit notes: the credit notes issued in the "
	                 "period, counted negative (their gross).");
	cg_report_def(r, "Hours: time entries dated in the period, by seller, "
	                 "worker and rate; unbilled: on no invoice yet.");
	cg_report_def(r, "Unbilled hours: time entries dated before the "
	                 "period's end that are on no invoice line yet.");
}

static char *
money_text(int64_t cents, const char *currency)
{
	char m[CG_MONEY_TEXT];
	return cg_asprintf("%s %s", cg_money_fmt(cents, m), currency);
}

static const char *
hours_text(int64_t milli, char out[CG_MONEY_TEXT])
{
	return cg_qty_fmt(milli, out);
}

static int
documents(const struct cg_report_params *p, struct cg_report *r)
{
	struct cg_billing_doc *d;
	size_t n;
	if (cg_store_report_billing_docs(p->store, p->period.start,
	                                 p->period.end, &d, &n) != 0)
		return -1;
	struct cg_report_section *s = cg_report_section(
	    r, "Invoices and credit notes", -1,
	    "no invoice or credit note issued in the period", 8, "Seller",
	    "Number", "Type", "Issued", "Net", "VAT", "Gross", "Currency");
	for (size_t i = 0; i < n; i++) {
		char net[CG_MONEY_TEXT], vat[CG_MONEY_TEXT],
		    gross[CG_MONEY_TEXT];
		cg_report_row(s, d[i].seller, d[i].number,
		              d[i].type_code == 381 ? "credit note" : "invoice",
		              d[i].day, cg_money_fmt(d[i].net, net),
		              cg_money_fmt(d[i].vat, vat),
		              cg_money_fmt(d[i].gross, gross), d[i].currency);
	}
	cg_billing_docs_free(d, n);
	return 0;
}

static void
seller_row(struct cg_report_section *s, const char *seller,
           const struct cg_billing_sum *b)
{
	char net[CG_MONEY_TEXT], vat[CG_MONEY_TEXT], gross[CG_MONEY_TEXT],
	    credit[CG_MONEY_TEXT];
	char *inv = cg_asprintf("%lld", (long long)b->invoices);
	char *cn = cg_asprintf("%lld", (long long)b->credit_notes);
	cg_report_row(s, seller, inv, cn, cg_money_fmt(b->net, net),
	              cg_money_fmt(b->vat, vat), cg_money_fmt(b->gross, gross),
	              cg_money_fmt(b->credit_gross, credit));
	free(inv);
	free(cn);
}

static int
totals(const struct cg_report_params *p, struct cg_report *r,
       const char *currency)
{
	char **sellers;
	struct cg_billing_sum *per, all;
	size_t n;
	if (cg_store_report_billing_sums(p->store, p->period.start,
	                                 p->period.end, &sellers, &per, &n,
	                                 &all) != 0)
		return -1;
	char *gross = money_text(all.gross, currency);
	char *net = money_text(all.net, currency);
	char *vat = money_text(all.vat, currency);
	char *credit = money_text(all.credit_gross, currency);
	cg_report_head(r, "Invoiced gross", "%s", gross);
	cg_report_head(r, "Invoiced net", "%s", net);
	cg_report_head(r, "VAT", "%s", vat);
	cg_report_head(r, "Invoices", "%lld", (long long)all.invoices);
	cg_report_head(r, "Credit notes", "%lld (%s)",
	               (long long)all.credit_notes, credit);
	free(gross);
	free(net);
	free(vat);
	free(credit);
	struct cg_report_section *s = cg_report_section(
	    r, "By seller", -1, "no seller issued anything in the period", 7,
	    "Seller", "Invoices", "Credit notes", "Net", "VAT", "Gross",
	    "Credited");
	for (size_t i = 0; i < n; i++)
		seller_row(s, sellers[i], &per[i]);
	cg_strv_free(sellers, n);
	free(per);
	return 0;
}

static void
hours_rows(struct cg_report_section *s, const struct cg_billing_hours *h,
           size_t n, int open)
{
	for (size_t i = 0; i < n; i++) {
		char a[CG_MONEY_TEXT], b[CG_MONEY_TEXT];
		cg_report_row(s, h[i].seller, h[i].worker, h[i].rate,
		              hours_text(h[i].milli, a),
		              open ? h[i].since
		                   : hours_text(h[i].unbilled_milli, b));
	}
}

static int
hours(const struct cg_report_params *p, struct cg_report *r)
{
	struct cg_billing_hours *h;
	size_t n;
	int64_t total;
	if (cg_store_report_billing_hours(p->store, p->period.start,
	                                  p->period.end, &h, &n, &total) != 0)
		return -1;
	char t[CG_MONEY_TEXT];
	cg_report_head(r, "Hours", "%s", hours_text(total, t));
	struct cg_report_section *s = cg_report_section(
	    r, "Hours by worker and rate", -1, "no time dated in the period", 5,
	    "Seller", "Worker", "Rate", "Hours", "Unbilled");
	hours_rows(s, h, n, 0);
	cg_billing_hours_free(h, n);
	return 0;
}

static int
open_time(const struct cg_report_params *p, struct cg_report *r)
{
	struct cg_billing_hours *h;
	size_t n;
	int64_t total;
	if (cg_store_report_billing_open(p->store, p->period.end, &h, &n,
	                                 &total) != 0)
		return -1;
	char t[CG_MONEY_TEXT];
	cg_report_head(r, "Unbilled hours", "%s", hours_text(total, t));
	if (total > 0)
		cg_report_attention(r, "%s hours of time not invoiced yet",
		                    hours_text(total, t));
	struct cg_report_section *s =
	    cg_report_section(r, "Open (unbilled) time", -1, "no open time", 5,
	                      "Seller", "Worker", "Rate", "Hours", "Since");
	hours_rows(s, h, n, 1);
	cg_billing_hours_free(h, n);
	return 0;
}

int
cg_report_billing(const struct cg_report_params *p, struct cg_report *r)
{
	const char *currency = p->currency ? p->currency : "EUR";
	billing_defs(r);
	if (totals(p, r, currency) != 0 || documents(p, r) != 0 ||
	    hours(p, r) != 0 || open_time(p, r) != 0)
		return -1;
	return 0;
}
