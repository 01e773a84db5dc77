/*
 * report_queries.c: the reports' figures in SQL (CTEs and window
 * functions; nothing loads a period's messages into memory except the
 * topics report's text walk), and the record of reports sent as messages.
 * Definitions: store/report_queries.h; the lines the reports print about
 * them: the files of reports/.
 *
 * "(?1 = 0 OR channel_id = ?1)": channel 0 means every channel.  An
 * author is "c<contact id>", else "a<sender address>".
 * Must never: count a message twice in one figure, or build SQL from data.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"
#include "store/report_queries.h"

#define AUTHOR(m)                                                              \
	"coalesce('c' || " m ".contact_id, 'a' || lower(" m ".sender_addr))"

void
cg_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void
bind_range(sqlite3_stmt *st, int64_t channel_id, int64_t start, int64_t end)
{
	sqlite3_bind_int64(st, 1, channel_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
}

/* Step st to its end; -1 (logged as `what`) unless it ended cleanly. */
static int
finish(struct cg_store *s, sqlite3_stmt *st, int rc, const char *what)
{
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, what);
}

/* ---- activity ---- */

static const char SQL_ACTIVITY_POSTS[] =
    "SELECT count(*), coalesce(sum(m.network = 'email'), 0), "
    "coalesce(sum(m.network = 'xmpp'), 0), count(DISTINCT " AUTHOR(
        "m") ") "
             "FROM message m WHERE (?1 = 0 OR m.channel_id = ?1) "
             "AND m.received >= ?2 AND m.received < ?3";
static const char SQL_ACTIVITY_THREADS[] =
    "SELECT count(*) FROM thread WHERE (?1 = 0 OR channel_id = ?1) "
    "AND created >= ?2 AND created < ?3";
static const char SQL_ACTIVITY_NEW_MEMBERS[] =
    "SELECT count(*) FROM (SELECT contact_id FROM membership "
    "WHERE (?1 = 0 OR channel_id = ?1) GROUP BY contact_id "
    "HAVING min(since) >= ?2 AND min(since) < ?3)";

int
cg_store_report_activity(struct cg_store *s, int64_t channel_id, int64_t start,
                         int64_t end, struct cg_activity_figures *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_ACTIVITY_POSTS);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->posts = sqlite3_column_int64(st, 0);
		out->posts_email = sqlite3_column_int64(st, 1);
		out->posts_chat = sqlite3_column_int64(st, 2);
		out->active_members = sqlite3_column_int64(st, 3);
		rc = SQLITE_DONE;
	}
	if (finish(s, st, rc, "activity: posts") != 0)
		return -1;
	st = db_stmt(s, SQL_ACTIVITY_THREADS);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	if (db_scalar_checked(s, st, "activity: threads", &out->threads) < 0)
		return -1;
	st = db_stmt(s, SQL_ACTIVITY_NEW_MEMBERS);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	if (db_scalar_checked(s, st, "activity: new members",
	                      &out->new_members) < 0)
		return -1;
	return 0;
}

static const char SQL_POSTS_PER_DAY[] =
    "SELECT (received - ?2) / 86400 AS day, count(*) FROM message "
    "WHERE (?1 = 0 OR channel_id = ?1) AND received >= ?2 "
    "AND received < ?3 GROUP BY day";

int
cg_store_report_posts_per_day(struct cg_store *s, int64_t channel_id,
                              int64_t start, int64_t end, int64_t **counts,
                              size_t *ndays)
{
	*ndays = end > start ? (size_t)((end - start + 86399) / 86400) : 0;
	*counts = cg_calloc(*ndays ? *ndays : 1, sizeof **counts);
	sqlite3_stmt *st = db_stmt(s, SQL_POSTS_PER_DAY);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t day = sqlite3_column_int64(st, 0);
		if (day >= 0 && (size_t)day < *ndays)
			(*counts)[day] = sqlite3_column_int64(st, 1);
	}
	return finish(s, st, rc, "activity: posts per day");
}

/* ---- facilitation ---- */

void
cg_unanswered_free(struct cg_unanswered *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].subject);
		free(v[i].starter);
		free(v[i].network);
		free(v[i].channel);
	}
	free(v);
}

/* ?1 channel, ?2 start, ?3 end, ?4 unanswered_after. */
static const char SQL_UNANSWERED[] =
    "WITH cand AS ("
    " SELECT t.id, t.subject, t.created, t.channel_id, r.network, "
    " coalesce(nullif(k.name, ''), nullif(r.sender_name, ''), "
    "  r.sender_addr) AS starter, " AUTHOR(
        "r") " AS who "
             " FROM thread t JOIN message r ON r.id = t.root_message_id "
             " LEFT JOIN contact k ON k.id = r.contact_id "
             " WHERE (?1 = 0 OR t.channel_id = ?1) AND t.created < ?3 - ?4 "
             " AND (t.created >= ?2 - ?4 OR t.last_activity >= ?2)), "
             "firsts AS MATERIALIZED ("
             " SELECT cand.*, (SELECT min(m.received) FROM message m "
             "  WHERE m.thread_id = cand.id AND m.received < ?3 "
             "  AND " AUTHOR("m") " IS NOT cand.who) AS first_reply FROM cand) "
                                  "SELECT f.id, f.subject, f.starter, "
                                  "f.network, c.name, f.created, "
                                  "f.first_reply FROM firsts f JOIN channel c "
                                  "ON c.id = f.channel_id "
                                  "WHERE f.first_reply IS NULL "
                                  "OR (f.first_reply - f.created > ?4 AND "
                                  "f.first_reply >= ?2) "
                                  "ORDER BY f.created, f.id";

int
cg_store_report_unanswered(struct cg_store *s, int64_t channel_id,
                           int64_t start, int64_t end, int64_t after,
                           struct cg_unanswered **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_UNANSWERED);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	sqlite3_bind_int64(st, 4, after);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_unanswered *u = &(*out)[(*n)++];
		u->thread_id = sqlite3_column_int64(st, 0);
		u->subject = db_col_text(st, 1);
		u->starter = db_col_text(st, 2);
		u->network = db_col_text(st, 3);
		u->channel = db_col_text(st, 4);
		u->started = sqlite3_column_int64(st, 5);
		u->first_reply = sqlite3_column_int64(st, 6);
	}
	return finish(s, st, rc, "facilitation: unanswered threads");
}

/* Nearest rank: the median is the ceil(n/2)-th delay, p90 the
 * ceil(9n/10)-th. */
static const char SQL_FIRST_REPLY[] =
    "WITH th AS ("
    " SELECT t.id, t.created, " AUTHOR(
        "r") " AS who "
             " FROM thread t JOIN message r ON r.id = t.root_message_id "
             " WHERE (?1 = 0 OR t.channel_id = ?1) AND t.created >= ?2 "
             " AND t.created < ?3), "
             "d AS MATERIALIZED (SELECT (SELECT min(m.received) FROM message m "
             " WHERE m.thread_id = th.id AND m.received < ?3 "
             " AND " AUTHOR(
                 "m") " IS NOT th.who) - th.created AS delay FROM th), "
                      "r AS (SELECT delay, row_number() OVER (ORDER BY delay) "
                      "AS rn, "
                      " count(*) OVER () AS n FROM d WHERE delay IS NOT NULL) "
                      "SELECT (SELECT count(*) FROM th), coalesce(max(n), 0), "
                      "coalesce(max(CASE WHEN rn = (n + 1) / 2 THEN delay "
                      "END), -1), "
                      "coalesce(max(CASE WHEN rn = (9 * n + 9) / 10 THEN delay "
                      "END), -1) "
                      "FROM r";

int
cg_store_report_first_reply(struct cg_store *s, int64_t channel_id,
                            int64_t start, int64_t end,
                            struct cg_first_reply *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_FIRST_REPLY);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->threads = sqlite3_column_int64(st, 0);
		out->replied = sqlite3_column_int64(st, 1);
		out->median = sqlite3_column_int64(st, 2);
		out->p90 = sqlite3_column_int64(st, 3);
		rc = SQLITE_DONE;
	}
	return finish(s, st, rc, "facilitation: first reply");
}

/* ?1 channel, ?2..?6 starts of periods -4..0, ?7 the end.  Grouped by
 * the author's contact (else address) before any name is looked up: the
 * name (contact's, else the greatest sender name or address) is joined
 * only for the authors that went quiet. */
static const char SQL_WENT_QUIET[] =
    "WITH p AS ("
    " SELECT m.contact_id AS cid, "
    "  CASE WHEN m.contact_id IS NULL THEN lower(m.sender_addr) END AS addr, "
    "  coalesce(nullif(m.sender_name, ''), m.sender_addr) AS sname, "
    "  CASE WHEN m.received >= ?6 THEN 4 WHEN m.received >= ?5 THEN 3 "
    "  WHEN m.received >= ?4 THEN 2 WHEN m.received >= ?3 THEN 1 "
    "  ELSE 0 END AS b "
    " FROM message m WHERE (?1 = 0 OR m.channel_id = ?1) "
    " AND m.received >= ?2 AND m.received < ?7), "
    "a AS (SELECT cid, max(sname) AS sname FROM p GROUP BY cid, addr "
    " HAVING max(b = 0) AND max(b = 1) AND max(b = 2) AND max(b = 3) "
    " AND NOT max(b = 4)) "
    "SELECT coalesce(nullif(k.name, ''), a.sname) FROM a "
    "LEFT JOIN contact k ON k.id = a.cid ORDER BY 1";

int
cg_store_report_went_quiet(struct cg_store *s, int64_t channel_id,
                           const int64_t bounds[6], char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_WENT_QUIET);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, channel_id);
	for (int i = 0; i < 6; i++)
		sqlite3_bind_int64(st, 2 + i, bounds[i]);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*names = cg_realloc(*names, (*n + 1) * sizeof **names);
		(*names)[(*n)++] = db_col_text(st, 0);
	}
	return finish(s, st, rc, "facilitation: went quiet");
}

/* ---- topics ---- */

static const char SQL_TEXTS[] =
    "SELECT thread_id, subject, coalesce(trimmed, body) FROM message "
    "WHERE (?1 = 0 OR channel_id = ?1) AND received >= ?2 "
    "AND received < ?3";

int
cg_store_report_texts(struct cg_store *s, int64_t channel_id, int64_t start,
                      int64_t end, cg_report_text_cb *cb, void *arg)
{
	sqlite3_stmt *st = db_stmt(s, SQL_TEXTS);
	if (st == NULL)
		return -1;
	bind_range(st, channel_id, start, end);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *subj = (const char *)sqlite3_column_text(st, 1);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		if (cb(arg, sqlite3_column_int64(st, 0), subj, text) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	return finish(s, st, rc, "topics: texts");
}

void
cg_term_threads_free(struct cg_term_thread *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].subject);
	free(v);
}

/* The rowid range of the period's messages bounds the index scan: a
 * frequent word's doclist is read only where the period's ids are. */
static const char SQL_TERM_THREADS[] =
    "WITH r AS (SELECT min(id) AS lo, max(id) AS hi FROM message "
    " WHERE received >= ?2 AND received < ?3) "
    "SELECT t.id, t.subject, count(*) AS n FROM message_fts "
    "JOIN message m ON m.id = message_fts.rowid "
    "JOIN thread t ON t.id = m.thread_id "
    "WHERE message_fts MATCH ?4 "
    "AND message_fts.rowid >= (SELECT lo FROM r) "
    "AND message_fts.rowid <= (SELECT hi FROM r) "
    "AND (?1 = 0 OR m.channel_id = ?1) "
    "AND m.received >= ?2 AND m.received < ?3 "
    "GROUP BY t.id ORDER BY n DESC, t.id LIMIT ?5";

int
cg_store_report_term_threads(struct cg_store *s, int64_t channel_id,
                             int64_t start, int64_t end, const char *word,
                             size_t max, struct cg_term_thread **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_TERM_THREADS);
	if (st == NULL)
		return -1;
	/* A folded word holds no '"': quoted, it is one word to FTS5. */
	char *expr = cg_asprintf("\"%s\"", word);
	bind_range(st, channel_id, start, end);
	db_bind_text(st, 4, expr);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)max);
	free(expr);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_term_thread *t = &(*out)[(*n)++];
		t->thread_id = sqlite3_column_int64(st, 0);
		t->subject = db_col_text(st, 1);
		t->messages = sqlite3_column_int64(st, 2);
	}
	return finish(s, st, rc, "topics: threads of a word");
}

/* ---- billing ---- */

/* ?1 start, ?2 end (unix seconds): days in [date(?1), date(?2)).  Credit
 * notes (type 381) count negative.  A worker is its name, else its first
 * email address. */
void
cg_billing_docs_free(struct cg_billing_doc *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].seller);
		free(v[i].number);
		free(v[i].currency);
		free(v[i].day);
	}
	free(v);
}

void
cg_billing_hours_free(struct cg_billing_hours *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].seller);
		free(v[i].worker);
		free(v[i].rate);
		free(v[i].since);
	}
	free(v);
}

static void
bind_days(sqlite3_stmt *st, int64_t start, int64_t end)
{
	sqlite3_bind_int64(st, 1, start);
	sqlite3_bind_int64(st, 2, end);
}

static const char SQL_BILLING_DOCS[] =
    "SELECT seller, number, type_code, issue_day, currency, "
    "CASE type_code WHEN 381 THEN -net_cents ELSE net_cents END, "
    "CASE type_code WHEN 381 THEN -vat_cents ELSE vat_cents END, "
    "CASE type_code WHEN 381 THEN -gross_cents ELSE gross_cents END "
    "FROM invoice WHERE issue_day >= date(?1, 'unixepoch') "
    "AND issue_day < date(?2, 'unixepoch') ORDER BY seller, issue_day, id";

int
cg_store_report_billing_docs(struct cg_store *s, int64_t start, int64_t end,
                             struct cg_billing_doc **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_BILLING_DOCS);
	if (st == NULL)
		return -1;
	bind_days(st, start, end);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_billing_doc *d = &(*out)[(*n)++];
		d->seller = db_col_text(st, 0);
		d->number = db_col_text(st, 1);
		d->type_code = sqlite3_column_int(st, 2);
		d->day = db_col_text(st, 3);
		d->currency = db_col_text(st, 4);
		d->net = sqlite3_column_int64(st, 5);
		d->vat = sqlite3_column_int64(st, 6);
		d->gross = sqlite3_column_int64(st, 7);
	}
	return finish(s, st, rc, "billing: documents");
}

/* Per seller, and (window over the groups) over all sellers. */
static const char SQL_BILLING_SUMS[] =
    "WITH d AS (SELECT seller, type_code, "
    "CASE type_code WHEN 381 THEN -1 ELSE 1 END AS sg, net_cents, "
    "vat_cents, gross_cents FROM invoice "
    "WHERE issue_day >= date(?1, 'unixepoch') "
    "AND issue_day < date(?2, 'unixepoch')), "
    "g AS (SELECT seller, sum(type_code = 380) AS inv, "
    "sum(type_code = 381) AS cn, sum(sg * net_cents) AS net, "
    "sum(sg * vat_cents) AS vat, sum(sg * gross_cents) AS gross, "
    "sum(CASE type_code WHEN 381 THEN -gross_cents ELSE 0 END) AS cgross "
    "FROM d GROUP BY seller) "
    "SELECT seller, inv, cn, net, vat, gross, cgross, sum(inv) OVER (), "
    "sum(cn) OVER (), sum(net) OVER (), sum(vat) OVER (), "
    "sum(gross) OVER (), sum(cgross) OVER () FROM g ORDER BY seller";

static void
read_sum(sqlite3_stmt *st, int col, struct cg_billing_sum *out)
{
	out->invoices = sqlite3_column_int64(st, col);
	out->credit_notes = sqlite3_column_int64(st, col + 1);
	out->net = sqlite3_column_int64(st, col + 2);
	out->vat = sqlite3_column_int64(st, col + 3);
	out->gross = sqlite3_column_int64(st, col + 4);
	out->credit_gross = sqlite3_column_int64(st, col + 5);
}

int
cg_store_report_billing_sums(struct cg_store *s, int64_t start, int64_t end,
                             char ***sellers, struct cg_billing_sum **per,
                             size_t *n, struct cg_billing_sum *all)
{
	*sellers = NULL;
	*per = NULL;
	*n = 0;
	memset(all, 0, sizeof *all);
	sqlite3_stmt *st = db_stmt(s, SQL_BILLING_SUMS);
	if (st == NULL)
		return -1;
	bind_days(st, start, end);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*sellers = cg_realloc(*sellers, (*n + 1) * sizeof **sellers);
		*per = cg_realloc(*per, (*n + 1) * sizeof **per);
		(*sellers)[*n] = db_col_text(st, 0);
		read_sum(st, 1, &(*per)[*n]);
		read_sum(st, 7, all);
		(*n)++;
	}
	return finish(s, st, rc, "billing: totals");
}

static const char SQL_BILLING_HOURS[] =
    "SELECT t.seller, coalesce(nullif(k.name, ''), (SELECT min(i.value) "
    "FROM identity i WHERE i.contact_id = k.id AND i.kind = 'email'), "
    "'#' || k.id) AS worker, t.rate, sum(t.qty_milli), "
    "sum(CASE WHEN l.source IS NULL THEN t.qty_milli ELSE 0 END), "
    "min(t.day), sum(sum(t.qty_milli)) OVER () "
    "FROM time_entry t JOIN contact k ON k.id = t.worker_id "
    "LEFT JOIN invoice_line l ON l.source = 'time:' || t.id "
    "WHERE t.day >= date(?1, 'unixepoch') AND t.day < date(?2, 'unixepoch') "
    "GROUP BY t.seller, t.worker_id, t.rate ORDER BY t.seller, worker, t.rate";

static const char SQL_BILLING_OPEN[] =
    "SELECT t.seller, coalesce(nullif(k.name, ''), (SELECT min(i.value) "
    "FROM identity i WHERE i.contact_id = k.id AND i.kind = 'email'), "
    "'#' || k.id) AS worker, t.rate, sum(t.qty_milli), sum(t.qty_milli), "
    "min(t.day), sum(sum(t.qty_milli)) OVER () "
    "FROM time_entry t JOIN contact k ON k.id = t.worker_id "
    "WHERE t.day < date(?2, 'unixepoch') AND NOT EXISTS (SELECT 1 "
    "FROM invoice_line l WHERE l.source = 'time:' || t.id) "
    "GROUP BY t.seller, t.worker_id, t.rate ORDER BY t.seller, worker, t.rate";

static int
hours_rows(struct cg_store *s, const char *sql, int64_t start, int64_t end,
           struct cg_billing_hours **out, size_t *n, int64_t *total)
{
	*out = NULL;
	*n = 0;
	*total = 0;
	sqlite3_stmt *st = db_stmt(s, sql);
	if (st == NULL)
		return -1;
	bind_days(st, start, end);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_billing_hours *h = &(*out)[(*n)++];
		h->seller = db_col_text(st, 0);
		h->worker = db_col_text(st, 1);
		h->rate = db_col_text(st, 2);
		h->milli = sqlite3_column_int64(st, 3);
		h->unbilled_milli = sqlite3_column_int64(st, 4);
		h->since = db_col_text(st, 5);
		*total = sqlite3_column_int64(st, 6);
	}
	return finish(s, st, rc, "billing: hours");
}

int
cg_store_report_billing_hours(struct cg_store *s, int64_t start, int64_t end,
                              struct cg_billing_hours **out, size_t *n,
                              int64_t *total)
{
	return hours_rows(s, SQL_BILLING_HOURS, start, end, out, n, total);
}

int
cg_store_report_billing_open(struct cg_store *s, int64_t end,
                             struct cg_billing_hours **out, size_t *n,
                             int64_t *total)
{
	return hours_rows(s, SQL_BILLING_OPEN, 0, end, out, n, total);
}

/* ---- reports sent ---- */

static const char SQL_SENT_ADD[] =
    "INSERT INTO report_sent(kind, channel_id, channel_key, period, "
    "period_start, period_end, scheduled, html, created) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING";

int
cg_store_report_sent_add(struct cg_store *s, const struct cg_report_sent *r,
                         int64_t now, int64_t *id)
{
	*id = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_SENT_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, r->kind);
	db_bind_id(st, 2, r->channel_id);
	sqlite3_bind_int64(st, 3, r->channel_id);
	db_bind_text(st, 4, r->period);
	sqlite3_bind_int64(st, 5, r->period_start);
	sqlite3_bind_int64(st, 6, r->period_end);
	sqlite3_bind_int(st, 7, r->scheduled ? 1 : 0);
	db_bind_text(st, 8, r->html ? r->html : "");
	sqlite3_bind_int64(st, 9, now);
	if (db_exec(s, st, "record a report sent") != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	*id = sqlite3_last_insert_rowid(s->db);
	return 1;
}

static const char SQL_NOTICE_ADD[] =
    "INSERT INTO report_notice(notice_id, report_id) VALUES (?1, ?2)";

int
cg_store_report_notice_add(struct cg_store *s, int64_t report_id,
                           int64_t notice_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_NOTICE_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, notice_id);
	sqlite3_bind_int64(st, 2, report_id);
	return db_exec(s, st, "report notice");
}

static const char SQL_NOTICE_HTML[] =
    "SELECT r.html FROM report_notice n "
    "JOIN report_sent r ON r.id = n.report_id WHERE n.notice_id = ?1";

int
cg_store_report_notice_html(struct cg_store *s, int64_t notice_id, char **html)
{
	*html = NULL;
	sqlite3_stmt *st = db_stmt(s, SQL_NOTICE_HTML);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, notice_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*html = db_col_text(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "report of a notice");
	return rc == SQLITE_ROW && *html ? 1 : 0;
}

static const char SQL_SENT_COUNT[] =
    "SELECT count(*) FROM report_sent WHERE kind = ?1 AND period = ?2 "
    "AND scheduled = 1";

int64_t
cg_store_report_sent_count(struct cg_store *s, const char *kind,
                           const char *period)
{
	sqlite3_stmt *st = db_stmt(s, SQL_SENT_COUNT);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, period);
	int64_t n;
	return db_scalar_checked(s, st, "reports sent", &n) < 0 ? -1 : n;
}
