/*
 * billing.c: the billing tables of schema 012 (see billing.h): buyers'
 * billing data, time, subscriptions, assets, purchases, and issued
 * invoices with their parties and lines.  Prepared statements only.
 * Numbers come from invoice_series inside the caller's transaction, so a
 * rolled-back issue leaves no gap; invoice_line.source is UNIQUE, so an
 * entry can never be billed twice, whatever runs at once.
 * Must never: UPDATE or DELETE an invoice, line or party.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/billing.h"
#include "store/db.h"

static void
col_day(sqlite3_stmt *st, int i, char out[CG_DAY_LEN])
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, CG_DAY_LEN, "%s", t ? (const char *)t : "");
}

static void
bind_day(sqlite3_stmt *st, int i, const char *day)
{
	db_bind_text(st, i, day && *day ? day : NULL);
}

/* Step st to the end, calling row(st, arg) per row; -1 on error. */
static int
each_row(struct cg_store *s, sqlite3_stmt *st, const char *what,
         void (*row)(sqlite3_stmt *, void *), void *arg)
{
	int rc;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(st, arg);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, what);
}

/* A growable array: make room for one more element of size sz. */
static void *
grow(void *v, size_t n, size_t sz)
{
	if ((n & (n - 1)) == 0) /* 0, 1, 2, 4, ...: double */
		v = cg_realloc(v, (n ? n * 2 : 1) * sz);
	return v;
}

void
cg_party_free(struct cg_party *p)
{
	free(p->name);
	free(p->street);
	free(p->postcode);
	free(p->city);
	free(p->country);
	free(p->vat_id);
	free(p->tax_number);
	free(p->email);
	free(p->phone);
	free(p->contact);
	free(p->iban);
	free(p->bic);
	free(p->buyer_ref);
	memset(p, 0, sizeof *p);
}

/* ---- buyers' billing data --------------------------------------------- */

void
cg_billing_data_free(struct cg_billing_data *b)
{
	free(b->street);
	free(b->postcode);
	free(b->city);
	free(b->country);
	free(b->vat_id);
	free(b->buyer_ref);
	free(b->org);
	memset(b, 0, sizeof *b);
}

static const char SQL_BD_SET[] =
    "INSERT INTO billing_party(contact_id, street, postcode, city, country, "
    "vat_id, buyer_ref, org, updated) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9) "
    "ON CONFLICT(contact_id) DO UPDATE SET "
    "street = coalesce(?2, street), postcode = coalesce(?3, postcode), "
    "city = coalesce(?4, city), country = coalesce(?5, country), "
    "vat_id = coalesce(?6, vat_id), buyer_ref = coalesce(?7, buyer_ref), "
    "org = coalesce(?8, org), updated = ?9";

int
cg_store_billing_data_set(struct cg_store *s, int64_t contact_id,
                          const struct cg_billing_data *b)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BD_SET);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	db_bind_text(st, 2, b->street);
	db_bind_text(st, 3, b->postcode);
	db_bind_text(st, 4, b->city);
	db_bind_text(st, 5, b->country);
	db_bind_text(st, 6, b->vat_id);
	db_bind_text(st, 7, b->buyer_ref);
	db_bind_text(st, 8, b->org);
	sqlite3_bind_int64(st, 9, cg_now());
	return db_exec(s, st, "billing data");
}

static const char SQL_BD_GET[] =
    "SELECT street, postcode, city, country, vat_id, buyer_ref, org "
    "FROM billing_party WHERE contact_id = ?1";

int
cg_store_billing_data_get(struct cg_store *s, int64_t contact_id,
                          struct cg_billing_data *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_BD_GET);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->street = db_col_text(st, 0);
		out->postcode = db_col_text(st, 1);
		out->city = db_col_text(st, 2);
		out->country = db_col_text(st, 3);
		out->vat_id = db_col_text(st, 4);
		out->buyer_ref = db_col_text(st, 5);
		out->org = db_col_text(st, 6);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "billing data");
	return rc == SQLITE_ROW;
}

/* ---- time, plans ------------------------------------------------------- */

static const char SQL_TIME_ADD[] =
    "INSERT INTO time_entry(worker_id, buyer_id, seller, rate, day, "
    "qty_milli, note, created) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";

int
cg_store_time_add(struct cg_store *s, int64_t worker_id, int64_t buyer_id,
                  const char *seller, const char *rate, const char *day,
                  int64_t qty_milli, const char *note, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_TIME_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, worker_id);
	sqlite3_bind_int64(st, 2, buyer_id);
	db_bind_text(st, 3, seller);
	db_bind_text(st, 4, rate);
	db_bind_text(st, 5, day);
	sqlite3_bind_int64(st, 6, qty_milli);
	db_bind_text(st, 7, note && *note ? note : NULL);
	sqlite3_bind_int64(st, 8, cg_now());
	if (db_exec(s, st, "time entry") != 0)
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static const char SQL_PLAN_START[] =
    "INSERT INTO plan_subscription(buyer_id, plan, start_day, created) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";

int
cg_store_plan_start(struct cg_store *s, int64_t buyer_id, const char *plan,
                    const char *day)
{
	sqlite3_stmt *st = db_stmt(s, SQL_PLAN_START);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, buyer_id);
	db_bind_text(st, 2, plan);
	db_bind_text(st, 3, day);
	sqlite3_bind_int64(st, 4, cg_now());
	if (db_exec(s, st, plan) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

static const char SQL_PLAN_STOP[] =
    "UPDATE plan_subscription SET stop_day = ?3 WHERE buyer_id = ?1 AND "
    "plan = ?2 AND stop_day IS NULL AND start_day <= ?3";

int
cg_store_plan_stop(struct cg_store *s, int64_t buyer_id, const char *plan,
                   const char *day)
{
	sqlite3_stmt *st = db_stmt(s, SQL_PLAN_STOP);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, buyer_id);
	db_bind_text(st, 2, plan);
	db_bind_text(st, 3, day);
	if (db_exec(s, st, plan) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

void
cg_plan_rows_free(struct cg_plan_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].plan);
	free(v);
}

struct plan_acc {
	struct cg_plan_row *v;
	size_t n;
};

static void
plan_row(sqlite3_stmt *st, void *arg)
{
	struct plan_acc *a = arg;
	a->v = grow(a->v, a->n, sizeof *a->v);
	struct cg_plan_row *r = &a->v[a->n++];
	r->id = sqlite3_column_int64(st, 0);
	r->buyer_id = sqlite3_column_int64(st, 1);
	r->plan = db_col_text(st, 2);
	col_day(st, 3, r->start);
	col_day(st, 4, r->stop);
}

static const char SQL_PLAN_LIST[] =
    "SELECT id, buyer_id, plan, start_day, stop_day FROM plan_subscription "
    "ORDER BY id";

int
cg_store_plan_list(struct cg_store *s, struct cg_plan_row **out, size_t *n)
{
	struct plan_acc a = {NULL, 0};
	int rc = each_row(s, db_stmt(s, SQL_PLAN_LIST), "plans", plan_row, &a);
	*out = a.v;
	*n = a.n;
	return rc;
}

/* ---- assets, purchases ------------------------------------------------- */

void
cg_asset_free(struct cg_asset *a)
{
	free(a->code);
	free(a->name);
	free(a->blob_id);
	free(a->file_name);
	free(a->media_type);
	free(a->seller);
	memset(a, 0, sizeof *a);
}

void
cg_assets_free(struct cg_asset *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cg_asset_free(&v[i]);
	free(v);
}

static const char SQL_ASSET_ADD[] =
    "INSERT INTO asset(code, name, blob_id, file_name, media_type, "
    "price_cents, vat_bp, seller, created) VALUES (?1,?2,?3,?4,?5,?6,?7,"
    "?8,?9)";

int
cg_store_asset_add(struct cg_store *s, const struct cg_asset *a)
{
	sqlite3_stmt *st = db_stmt(s, SQL_ASSET_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, a->code);
	db_bind_text(st, 2, a->name);
	db_bind_text(st, 3, a->blob_id);
	db_bind_text(st, 4, a->file_name);
	db_bind_text(st, 5, a->media_type);
	sqlite3_bind_int64(st, 6, a->price_cents);
	sqlite3_bind_int(st, 7, a->vat_bp);
	db_bind_text(st, 8, a->seller);
	sqlite3_bind_int64(st, 9, cg_now());
	return db_exec(s, st, a->code);
}

#define ASSET_COLS                                                             \
	"code, name, blob_id, file_name, media_type, price_cents, "            \
	"vat_bp, seller"

static void
asset_read(sqlite3_stmt *st, struct cg_asset *a)
{
	a->code = db_col_text(st, 0);
	a->name = db_col_text(st, 1);
	a->blob_id = db_col_text(st, 2);
	a->file_name = db_col_text(st, 3);
	a->media_type = db_col_text(st, 4);
	a->price_cents = sqlite3_column_int64(st, 5);
	a->vat_bp = sqlite3_column_int(st, 6);
	a->seller = db_col_text(st, 7);
}

static const char SQL_ASSET_GET[] =
    "SELECT " ASSET_COLS " FROM asset WHERE code = ?1";

int
cg_store_asset_get(struct cg_store *s, const char *code, struct cg_asset *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_ASSET_GET);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, code);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		asset_read(st, out);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, code);
	return rc == SQLITE_ROW;
}

struct asset_acc {
	struct cg_asset *v;
	size_t n;
};

static void
asset_row(sqlite3_stmt *st, void *arg)
{
	struct asset_acc *a = arg;
	a->v = grow(a->v, a->n, sizeof *a->v);
	asset_read(st, &a->v[a->n++]);
}

static const char SQL_ASSET_LIST[] =
    "SELECT " ASSET_COLS " FROM asset ORDER BY code";

int
cg_store_asset_list(struct cg_store *s, struct cg_asset **out, size_t *n)
{
	struct asset_acc a = {NULL, 0};
	int rc =
	    each_row(s, db_stmt(s, SQL_ASSET_LIST), "assets", asset_row, &a);
	*out = a.v;
	*n = a.n;
	return rc;
}

static const char SQL_PURCHASE_ADD[] =
    "INSERT INTO purchase(buyer_id, asset, day, created) "
    "VALUES (?1, ?2, ?3, ?4)";

int
cg_store_purchase_add(struct cg_store *s, int64_t buyer_id, const char *asset,
                      const char *day, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_PURCHASE_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, buyer_id);
	db_bind_text(st, 2, asset);
	db_bind_text(st, 3, day);
	sqlite3_bind_int64(st, 4, cg_now());
	if (db_exec(s, st, asset) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* ---- unbilled ------------------------------------------------------------ */

void
cg_billables_free(struct cg_billable *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].source);
		free(v[i].seller);
		free(v[i].code);
		free(v[i].note);
		free(v[i].asset_name);
		free(v[i].asset_seller);
	}
	free(v);
}

/* Columns every unbilled query returns, in this order. */
#define BILLABLE_COLS                                                          \
	"source, buyer_id, worker_id, seller, code, day, stop, "               \
	"qty_milli, note, price_cents, vat_bp, asset_name, "                   \
	"asset_seller"

static void
billable_read(sqlite3_stmt *st, struct cg_billable *b)
{
	memset(b, 0, sizeof *b);
	b->source = db_col_text(st, 0);
	b->buyer_id = sqlite3_column_int64(st, 1);
	b->worker_id = sqlite3_column_int64(st, 2);
	b->seller = db_col_text(st, 3);
	b->code = db_col_text(st, 4);
	col_day(st, 5, b->day);
	col_day(st, 6, b->stop);
	b->qty_milli = sqlite3_column_int64(st, 7);
	b->note = db_col_text(st, 8);
	b->price_cents = sqlite3_column_int64(st, 9);
	b->vat_bp = sqlite3_column_int(st, 10);
	b->asset_name = db_col_text(st, 11);
	b->asset_seller = db_col_text(st, 12);
}

struct billable_acc {
	struct cg_billable *v;
	size_t n;
};

static void
billable_row(sqlite3_stmt *st, void *arg)
{
	struct billable_acc *a = arg;
	a->v = grow(a->v, a->n, sizeof *a->v);
	billable_read(st, &a->v[a->n++]);
}

static const char SQL_UNBILLED[] =
    "SELECT " BILLABLE_COLS " FROM ("
    " SELECT 'time:' || t.id AS source, t.buyer_id, t.worker_id, t.seller, "
    "  t.rate AS code, t.day, NULL AS stop, t.qty_milli, t.note, "
    "  0 AS price_cents, 0 AS vat_bp, NULL AS asset_name, "
    "  NULL AS asset_seller, t.id AS ord "
    " FROM time_entry t WHERE t.day BETWEEN ?1 AND ?2"
    " UNION ALL"
    " SELECT 'plan:' || p.id || ':' || substr(?1, 1, 7), p.buyer_id, 0, "
    "  NULL, p.plan, p.start_day, p.stop_day, 0, NULL, 0, 0, NULL, NULL, "
    "  p.id FROM plan_subscription p WHERE p.start_day <= ?2 AND "
    "  (p.stop_day IS NULL OR p.stop_day >= ?1)"
    " UNION ALL"
    " SELECT 'purchase:' || u.id, u.buyer_id, 0, NULL, u.asset, u.day, "
    "  NULL, 1000, NULL, a.price_cents, a.vat_bp, a.name, a.seller, u.id "
    " FROM purchase u JOIN asset a ON a.code = u.asset "
    " WHERE u.day BETWEEN ?1 AND ?2"
    ") WHERE source NOT IN (SELECT source FROM invoice_line "
    "  WHERE source IS NOT NULL) ORDER BY buyer_id, source LIKE 'plan:%', "
    "  day, ord";

int
cg_store_unbilled(struct cg_store *s, const char *from, const char *to,
                  struct cg_billable **out, size_t *n)
{
	struct billable_acc a = {NULL, 0};
	sqlite3_stmt *st = db_stmt(s, SQL_UNBILLED);
	if (st) {
		db_bind_text(st, 1, from);
		db_bind_text(st, 2, to);
	}
	int rc = each_row(s, st, "unbilled entries", billable_row, &a);
	*out = a.v;
	*n = a.n;
	return rc;
}

static const char SQL_UNBILLED_PURCHASE[] =
    "SELECT 'purchase:' || u.id, u.buyer_id, 0, NULL, u.asset, u.day, "
    " NULL, 1000, NULL, a.price_cents, a.vat_bp, a.name, a.seller "
    "FROM purchase u JOIN asset a ON a.code = u.asset WHERE u.id = ?1 AND "
    "NOT EXISTS (SELECT 1 FROM invoice_line WHERE source = 'purchase:' || "
    "u.id)";

int
cg_store_unbilled_purchase(struct cg_store *s, int64_t id,
                           struct cg_billable *out)
{
	struct billable_acc a = {NULL, 0};
	sqlite3_stmt *st = db_stmt(s, SQL_UNBILLED_PURCHASE);
	if (st)
		sqlite3_bind_int64(st, 1, id);
	if (each_row(s, st, "purchase", billable_row, &a) != 0) {
		cg_billables_free(a.v, a.n);
		return -1;
	}
	if (a.n == 0)
		return 0;
	*out = a.v[0];
	free(a.v);
	return 1;
}

/* ---- invoices ------------------------------------------------------------ */

void
cg_invoice_free(struct cg_invoice *inv)
{
	free(inv->number);
	free(inv->seller);
	free(inv->currency);
	free(inv->cancels_number);
	free(inv->reason);
	cg_party_free(&inv->seller_party);
	cg_party_free(&inv->buyer_party);
	for (size_t i = 0; i < inv->nlines; i++) {
		free(inv->lines[i].source);
		free(inv->lines[i].name);
		free(inv->lines[i].note);
		free(inv->lines[i].unit);
	}
	free(inv->lines);
	free(inv->xml);
	free(inv->text_body);
	free(inv->html_body);
	memset(inv, 0, sizeof *inv);
}

void
cg_invoices_free(struct cg_invoice *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cg_invoice_free(&v[i]);
	free(v);
}

static const char SQL_SERIES_NEXT[] =
    "INSERT INTO invoice_series(seller, year, last) VALUES (?1, ?2, 1) "
    "ON CONFLICT(seller, year) DO UPDATE SET last = last + 1 "
    "RETURNING last";

int
cg_store_invoice_next_seq(struct cg_store *s, const char *seller, int year,
                          int64_t *seq)
{
	sqlite3_stmt *st = db_stmt(s, SQL_SERIES_NEXT);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, seller);
	sqlite3_bind_int(st, 2, year);
	if (db_scalar_checked(s, st, "invoice number series", seq) < 0)
		return -1;
	return *seq > 0 ? 0 : -1;
}

static const char SQL_INVOICE_ADD[] =
    "INSERT INTO invoice(number, type_code, seller, buyer_id, issue_day, "
    "due_day, period_start, period_end, currency, net_cents, vat_cents, "
    "gross_cents, cancels, reason, xml, text_body, html_body, created) "
    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
    "?18)";
static const char SQL_PARTY_ADD[] =
    "INSERT INTO invoice_party(invoice_id, role, name, street, postcode, "
    "city, country, vat_id, tax_number, email, phone, contact, iban, bic, "
    "buyer_ref) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)";
static const char SQL_LINE_ADD[] =
    "INSERT INTO invoice_line(invoice_id, idx, source, name, note, unit, "
    "qty_milli, price_cents, vat_bp, net_cents, period_start, period_end) "
    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";

static int
party_insert(struct cg_store *s, int64_t id, const char *role,
             const struct cg_party *p)
{
	sqlite3_stmt *st = db_stmt(s, SQL_PARTY_ADD);
	if (st == NULL)
		return -1;
	const char *v[] = {p->name,     p->street,  p->postcode,   p->city,
	                   p->country,  p->vat_id,  p->tax_number, p->email,
	                   p->phone,    p->contact, p->iban,       p->bic,
	                   p->buyer_ref};
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, role);
	for (int i = 0; i < 13; i++)
		db_bind_text(st, 3 + i, v[i]);
	return db_exec(s, st, "invoice party");
}

static int
line_insert(struct cg_store *s, int64_t id, int idx,
            const struct cg_invoice_line *l)
{
	sqlite3_stmt *st = db_stmt(s, SQL_LINE_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, idx);
	db_bind_text(st, 3, l->source);
	db_bind_text(st, 4, l->name);
	db_bind_text(st, 5, l->note);
	db_bind_text(st, 6, l->unit);
	sqlite3_bind_int64(st, 7, l->qty_milli);
	sqlite3_bind_int64(st, 8, l->price_cents);
	sqlite3_bind_int(st, 9, l->vat_bp);
	sqlite3_bind_int64(st, 10, l->net_cents);
	bind_day(st, 11, l->period_start);
	bind_day(st, 12, l->period_end);
	return db_exec(s, st, l->source ? l->source : "invoice line");
}

int
cg_store_invoice_insert(struct cg_store *s, struct cg_invoice *inv)
{
	sqlite3_stmt *st = db_stmt(s, SQL_INVOICE_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, inv->number);
	sqlite3_bind_int(st, 2, inv->type_code);
	db_bind_text(st, 3, inv->seller);
	sqlite3_bind_int64(st, 4, inv->buyer_id);
	db_bind_text(st, 5, inv->issue_day);
	db_bind_text(st, 6, inv->due_day);
	db_bind_text(st, 7, inv->period_start);
	db_bind_text(st, 8, inv->period_end);
	db_bind_text(st, 9, inv->currency);
	sqlite3_bind_int64(st, 10, inv->net_cents);
	sqlite3_bind_int64(st, 11, inv->vat_cents);
	sqlite3_bind_int64(st, 12, inv->gross_cents);
	db_bind_id(st, 13, inv->cancels);
	db_bind_text(st, 14, inv->reason);
	sqlite3_bind_blob(st, 15, inv->xml, (int)inv->xml_len,
	                  SQLITE_TRANSIENT);
	db_bind_text(st, 16, inv->text_body);
	db_bind_text(st, 17, inv->html_body);
	inv->created = cg_now();
	sqlite3_bind_int64(st, 18, inv->created);
	if (db_exec(s, st, inv->number) != 0)
		return -1;
	inv->id = sqlite3_last_insert_rowid(s->db);
	if (party_insert(s, inv->id, "seller", &inv->seller_party) != 0 ||
	    party_insert(s, inv->id, "buyer", &inv->buyer_party) != 0)
		return -1;
	for (size_t i = 0; i < inv->nlines; i++)
		if (line_insert(s, inv->id, (int)i, &inv->lines[i]) != 0)
			return -1;
	return 0;
}

#define INVOICE_COLS                                                           \
	"i.id, i.number, i.type_code, i.seller, i.buyer_id, "                  \
	"i.issue_day, i.due_day, i.period_start, i.period_end, "               \
	"i.currency, i.net_cents, i.vat_cents, i.gross_cents, "                \
	"i.cancels, c.number, c.issue_day, i.reason, i.created"

static void
invoice_head_read(sqlite3_stmt *st, struct cg_invoice *inv)
{
	memset(inv, 0, sizeof *inv);
	inv->id = sqlite3_column_int64(st, 0);
	inv->number = db_col_text(st, 1);
	inv->type_code = sqlite3_column_int(st, 2);
	inv->seller = db_col_text(st, 3);
	inv->buyer_id = sqlite3_column_int64(st, 4);
	col_day(st, 5, inv->issue_day);
	col_day(st, 6, inv->due_day);
	col_day(st, 7, inv->period_start);
	col_day(st, 8, inv->period_end);
	inv->currency = db_col_text(st, 9);
	inv->net_cents = sqlite3_column_int64(st, 10);
	inv->vat_cents = sqlite3_column_int64(st, 11);
	inv->gross_cents = sqlite3_column_int64(st, 12);
	inv->cancels = sqlite3_column_int64(st, 13);
	inv->cancels_number = db_col_text(st, 14);
	col_day(st, 15, inv->cancels_day);
	inv->reason = db_col_text(st, 16);
	inv->created = sqlite3_column_int64(st, 17);
}

static const char SQL_PARTIES[] =
    "SELECT role, name, street, postcode, city, country, vat_id, "
    "tax_number, email, phone, contact, iban, bic, buyer_ref "
    "FROM invoice_party WHERE invoice_id = ?1";

static void
party_row(sqlite3_stmt *st, void *arg)
{
	struct cg_invoice *inv = arg;
	const unsigned char *role = sqlite3_column_text(st, 0);
	struct cg_party *p = role && strcmp((const char *)role, "seller") == 0
	                         ? &inv->seller_party
	                         : &inv->buyer_party;
	char **f[] = {&p->name,     &p->street,  &p->postcode,   &p->city,
	              &p->country,  &p->vat_id,  &p->tax_number, &p->email,
	              &p->phone,    &p->contact, &p->iban,       &p->bic,
	              &p->buyer_ref};
	for (int i = 0; i < 13; i++)
		*f[i] = db_col_text(st, 1 + i);
}

static const char SQL_LINES[] =
    "SELECT source, name, note, unit, qty_milli, price_cents, vat_bp, "
    "net_cents, period_start, period_end FROM invoice_line "
    "WHERE invoice_id = ?1 ORDER BY idx";

static void
line_row(sqlite3_stmt *st, void *arg)
{
	struct cg_invoice *inv = arg;
	inv->lines = grow(inv->lines, inv->nlines, sizeof *inv->lines);
	struct cg_invoice_line *l = &inv->lines[inv->nlines++];
	l->source = db_col_text(st, 0);
	l->name = db_col_text(st, 1);
	l->note = db_col_text(st, 2);
	l->unit = db_col_text(st, 3);
	l->qty_milli = sqlite3_column_int64(st, 4);
	l->price_cents = sqlite3_column_int64(st, 5);
	l->vat_bp = sqlite3_column_int(st, 6);
	l->net_cents = sqlite3_column_int64(st, 7);
	col_day(st, 8, l->period_start);
	col_day(st, 9, l->period_end);
}

static const char SQL_DOCS[] =
    "SELECT xml, text_body, html_body FROM invoice WHERE id = ?1";

static int
invoice_rest(struct cg_store *s, struct cg_invoice *inv)
{
	sqlite3_stmt *st = db_stmt(s, SQL_PARTIES);
	if (st)
		sqlite3_bind_int64(st, 1, inv->id);
	if (each_row(s, st, inv->number, party_row, inv) != 0)
		return -1;
	st = db_stmt(s, SQL_LINES);
	if (st)
		sqlite3_bind_int64(st, 1, inv->id);
	if (each_row(s, st, inv->number, line_row, inv) != 0)
		return -1;
	st = db_row_by_id(s, SQL_DOCS, inv->id, "invoice");
	if (st == NULL)
		return -1;
	inv->xml_len = (size_t)sqlite3_column_bytes(st, 0);
	inv->xml = cg_malloc(inv->xml_len + 1);
	if (inv->xml_len)
		memcpy(inv->xml, sqlite3_column_blob(st, 0), inv->xml_len);
	inv->xml[inv->xml_len] = '\0';
	inv->text_body = db_col_text(st, 1);
	inv->html_body = db_col_text(st, 2);
	db_done(st);
	return 0;
}

static int
invoice_load(struct cg_store *s, sqlite3_stmt *st, const char *what,
             struct cg_invoice *out)
{
	memset(out, 0, sizeof *out);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		invoice_head_read(st, out);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, what);
	if (rc == SQLITE_DONE)
		return 0;
	if (invoice_rest(s, out) != 0) {
		cg_invoice_free(out);
		return -1;
	}
	return 1;
}

static const char SQL_INVOICE_BY_NUMBER[] =
    "SELECT " INVOICE_COLS " FROM invoice i LEFT JOIN invoice c "
    "ON c.id = i.cancels WHERE i.number = ?1";
static const char SQL_INVOICE_BY_ID[] =
    "SELECT " INVOICE_COLS " FROM invoice i LEFT JOIN invoice c "
    "ON c.id = i.cancels WHERE i.id = ?1";

int
cg_store_invoice_get(struct cg_store *s, const char *number,
                     struct cg_invoice *out)
{
	sqlite3_stmt *st = db_stmt(s, SQL_INVOICE_BY_NUMBER);
	if (st)
		db_bind_text(st, 1, number);
	return invoice_load(s, st, number, out);
}

int
cg_store_invoice_get_id(struct cg_store *s, int64_t id, struct cg_invoice *out)
{
	sqlite3_stmt *st = db_stmt(s, SQL_INVOICE_BY_ID);
	if (st)
		sqlite3_bind_int64(st, 1, id);
	return invoice_load(s, st, "invoice", out);
}

static const char SQL_CANCELLED_BY[] =
    "SELECT number FROM invoice WHERE cancels = ?1";

int
cg_store_invoice_cancelled_by(struct cg_store *s, int64_t id, char **number)
{
	*number = NULL;
	sqlite3_stmt *st = db_stmt(s, SQL_CANCELLED_BY);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*number = db_col_text(st, 0);
	db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
	           ? 0
	           : db_fail(s, "credit note");
}

struct invoice_acc {
	struct cg_invoice *v;
	size_t n;
};

static void
invoice_row(sqlite3_stmt *st, void *arg)
{
	struct invoice_acc *a = arg;
	a->v = grow(a->v, a->n, sizeof *a->v);
	invoice_head_read(st, &a->v[a->n++]);
}

static const char SQL_INVOICE_LIST[] =
    "SELECT " INVOICE_COLS " FROM invoice i LEFT JOIN invoice c "
    "ON c.id = i.cancels WHERE ?1 IS NULL OR i.seller = ?1 ORDER BY i.id";

int
cg_store_invoice_list(struct cg_store *s, const char *seller,
                      struct cg_invoice **out, size_t *n)
{
	struct invoice_acc a = {NULL, 0};
	sqlite3_stmt *st = db_stmt(s, SQL_INVOICE_LIST);
	if (st)
		db_bind_text(st, 1, seller);
	int rc = each_row(s, st, "invoices", invoice_row, &a);
	*out = a.v;
	*n = a.n;
	return rc;
}

static const char SQL_INVOICE_NOTICE_ADD[] =
    "INSERT INTO invoice_notice(notice_id, invoice_id, asset) "
    "VALUES (?1, ?2, ?3)";

int
cg_store_invoice_notice_add(struct cg_store *s, int64_t notice_id,
                            int64_t invoice_id, const char *asset)
{
	sqlite3_stmt *st = db_stmt(s, SQL_INVOICE_NOTICE_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, notice_id);
	sqlite3_bind_int64(st, 2, invoice_id);
	db_bind_text(st, 3, asset);
	return db_exec(s, st, "invoice notice");
}

static const char SQL_NOTICE_INVOICE[] =
    "SELECT invoice_id, asset FROM invoice_notice WHERE notice_id = ?1";

int
cg_store_notice_invoice(struct cg_store *s, int64_t notice_id,
                        int64_t *invoice_id, char **asset)
{
	*invoice_id = 0;
	*asset = NULL;
	sqlite3_stmt *st = db_stmt(s, SQL_NOTICE_INVOICE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, notice_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*invoice_id = sqlite3_column_int64(st, 0);
		*asset = db_col_text(st, 1);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "invoice notice");
	return rc == SQLITE_ROW;
}

static const char SQL_RUN_BEGIN[] =
    "INSERT INTO invoice_run(period, started) VALUES (?1, ?2) "
    "ON CONFLICT DO NOTHING";
static const char SQL_RUN_FINISH[] =
    "UPDATE invoice_run SET finished = ?2 WHERE period = ?1";

int
cg_store_invoice_run_begin(struct cg_store *s, const char *period)
{
	sqlite3_stmt *st = db_stmt(s, SQL_RUN_BEGIN);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, period);
	sqlite3_bind_int64(st, 2, cg_now());
	if (db_exec(s, st, period) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

int
cg_store_invoice_run_finish(struct cg_store *s, const char *period)
{
	sqlite3_stmt *st = db_stmt(s, SQL_RUN_FINISH);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, period);
	sqlite3_bind_int64(st, 2, cg_now());
	return db_exec(s, st, period);
}

static const char SQL_RUN_DONE[] =
    "SELECT count(*) FROM invoice_run WHERE period = ?1 AND "
    "finished IS NOT NULL";

int
cg_store_invoice_run_done(struct cg_store *s, const char *period)
{
	sqlite3_stmt *st = db_stmt(s, SQL_RUN_DONE);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, period);
	int64_t n;
	if (db_scalar_checked(s, st, period, &n) < 0)
		return -1;
	return n > 0;
}
