/*
 * billing.h: what the store keeps for billing (schema 012): buyers'
 * billing data, time entries, subscriptions, assets, purchases, issued
 * invoices and credit notes with their lines, the number series, and the
 * invoice runs done.  The rules (who bills whom, what a run issues) are
 * gateway/billing.c's; the documents are rendered by reports/.
 *
 * Conventions as store.h: 0 ok / -1 error; lookups 1 found / 0 not / -1.
 * Money: cents; quantities: thousandths; VAT: basis points; days:
 * "YYYY-MM-DD".  Structs own their strings; free with their *_free.
 * Must never: change or delete an issued invoice (the schema's triggers
 * refuse it too), or hand out a number outside the issuing transaction.
 */
#ifndef CG_STORE_BILLING_H
#define CG_STORE_BILLING_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

#define CG_DAY_LEN 11 /* "YYYY-MM-DD" + NUL */

/* A seller or buyer as it appears on an invoice. */
struct cg_party {
	char *name, *street, *postcode, *city, *country;
	char *vat_id, *tax_number;
	char *email, *phone, *contact;
	char *iban, *bic;
	char *buyer_ref;
};
void cg_party_free(struct cg_party *p);

/* ---- buyers' billing data ---- */
struct cg_billing_data {
	char *street, *postcode, *city, *country, *vat_id, *buyer_ref, *org;
};
void cg_billing_data_free(struct cg_billing_data *b);
/* Set (fields NULL: keep what is stored). */
int cg_store_billing_data_set(struct cg_store *s, int64_t contact_id,
                              const struct cg_billing_data *b);
/* 1 found, 0 none, -1 error. */
int cg_store_billing_data_get(struct cg_store *s, int64_t contact_id,
                              struct cg_billing_data *out);

/* ---- time, plans, assets, purchases ---- */
int cg_store_time_add(struct cg_store *s, int64_t worker_id, int64_t buyer_id,
                      const char *seller, const char *rate, const char *day,
                      int64_t qty_milli, const char *note, int64_t *id);
/* 1 started, 0 already running, -1 error. */
int cg_store_plan_start(struct cg_store *s, int64_t buyer_id, const char *plan,
                        const char *day);
/* 1 stopped (last day billed = day), 0 none running, -1 error. */
int cg_store_plan_stop(struct cg_store *s, int64_t buyer_id, const char *plan,
                       const char *day);
struct cg_plan_row {
	int64_t id, buyer_id;
	char *plan;
	char start[CG_DAY_LEN], stop[CG_DAY_LEN]; /* stop "" when running */
};
void cg_plan_rows_free(struct cg_plan_row *v, size_t n);
/* Every subscription, oldest first. */
int cg_store_plan_list(struct cg_store *s, struct cg_plan_row **out, size_t *n);

struct cg_asset {
	char *code, *name, *blob_id, *file_name, *media_type, *seller;
	int64_t price_cents;
	int vat_bp;
};
void cg_asset_free(struct cg_asset *a);
/* -1 (error names the code) when the code exists. */
int cg_store_asset_add(struct cg_store *s, const struct cg_asset *a);
int cg_store_asset_get(struct cg_store *s, const char *code,
                       struct cg_asset *out); /* 1/0/-1 */
int cg_store_asset_list(struct cg_store *s, struct cg_asset **out, size_t *n);
void cg_assets_free(struct cg_asset *v, size_t n);
int cg_store_purchase_add(struct cg_store *s, int64_t buyer_id,
                          const char *asset, const char *day, int64_t *id);

/* ---- what a run bills ---- */
/* Something billable not billed yet; source is the invoice line's key
 * ("time:ID", "plan:ID:YYYY-MM", "purchase:ID"). */
struct cg_billable {
	char *source;
	int64_t buyer_id;
	int64_t worker_id;     /* time: who worked; else 0 */
	char *seller;          /* time: stored seller; plan/asset: NULL */
	char *code;            /* rate, plan or asset code */
	char day[CG_DAY_LEN];  /* time/purchase day; plan: start */
	char stop[CG_DAY_LEN]; /* plan: stop day or "" */
	int64_t qty_milli;     /* time only */
	char *note;
	/* asset purchases: price and VAT as stored with the asset */
	int64_t price_cents;
	int vat_bp;
	char *asset_name, *asset_seller;
};
void cg_billables_free(struct cg_billable *v, size_t n);
/* Time entries and purchases with a day in [from, to], and subscriptions
 * overlapping it (one row each, source "plan:ID:" + the month of from),
 * none of whose source is on an invoice line yet; ordered by buyer. */
int cg_store_unbilled(struct cg_store *s, const char *from, const char *to,
                      struct cg_billable **out, size_t *n);
/* The unbilled purchase `id` alone. */
int cg_store_unbilled_purchase(struct cg_store *s, int64_t id,
                               struct cg_billable *out); /* 1/0/-1 */

/* ---- invoices ---- */
struct cg_invoice_line {
	char *source; /* NULL on a credit note */
	char *name, *note, *unit;
	int64_t qty_milli, price_cents, net_cents;
	int vat_bp;
	char period_start[CG_DAY_LEN], period_end[CG_DAY_LEN]; /* "" none */
};

struct cg_invoice {
	int64_t id;
	char *number;
	int type_code; /* 380 invoice, 381 credit note */
	char *seller;  /* seller code */
	int64_t buyer_id;
	char issue_day[CG_DAY_LEN], due_day[CG_DAY_LEN];
	char period_start[CG_DAY_LEN], period_end[CG_DAY_LEN];
	char *currency;
	int64_t net_cents, vat_cents, gross_cents;
	int64_t cancels; /* credit note: the invoice id, else 0 */
	char *cancels_number;
	char cancels_day[CG_DAY_LEN];
	char *reason;
	struct cg_party seller_party, buyer_party;
	struct cg_invoice_line *lines;
	size_t nlines;
	unsigned char *xml; /* the document mailed */
	size_t xml_len;
	char *text_body, *html_body;
	int64_t created;
};
void cg_invoice_free(struct cg_invoice *inv);

/* The next number of seller's series for year, inside the caller's
 * transaction (rolled back with it: no gaps). */
int cg_store_invoice_next_seq(struct cg_store *s, const char *seller, int year,
                              int64_t *seq);
/* Insert inv with its parties and lines (inside the caller's
 * transaction); sets inv->id.  -1 when a line's source is billed
 * already or the number exists. */
int cg_store_invoice_insert(struct cg_store *s, struct cg_invoice *inv);
/* Load everything of invoice `number`; 1/0/-1. */
int cg_store_invoice_get(struct cg_store *s, const char *number,
                         struct cg_invoice *out);
int cg_store_invoice_get_id(struct cg_store *s, int64_t id,
                            struct cg_invoice *out);
/* The credit note cancelling invoice id: its number (caller frees) or
 * NULL; -1 on error. */
int cg_store_invoice_cancelled_by(struct cg_store *s, int64_t id,
                                  char **number);
/* Invoices (headers and totals only), optionally of one seller (NULL:
 * all), oldest first. */
int cg_store_invoice_list(struct cg_store *s, const char *seller,
                          struct cg_invoice **out, size_t *n);
void cg_invoices_free(struct cg_invoice *v, size_t n);

/* Notice `notice_id` is the mail of invoice `invoice_id` (asset: a file
 * to attach, may be NULL). */
int cg_store_invoice_notice_add(struct cg_store *s, int64_t notice_id,
                                int64_t invoice_id, const char *asset);
/* Which invoice (and asset, caller frees, may be NULL) notice_id
 * carries; 1/0/-1. */
int cg_store_notice_invoice(struct cg_store *s, int64_t notice_id,
                            int64_t *invoice_id, char **asset);

/* Invoice runs: begin is 1 when the period was not run before (now
 * recorded), 0 when it was; finish records the end. */
int cg_store_invoice_run_begin(struct cg_store *s, const char *period);
int cg_store_invoice_run_finish(struct cg_store *s, const char *period);
/* 1 when a run of period finished, 0 when not, -1 on error. */
int cg_store_invoice_run_done(struct cg_store *s, const char *period);

#endif
