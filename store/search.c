/*
 * search.c: the full-text search of every stored message (schema 013:
 * message_fts over message_search_doc, kept by triggers in the message's
 * own transaction).  Results best first by bm25, weighting the subject
 * and thread above the text and the author, the channel and network names
 * least.
 *
 * User words are words: cg_search_match_expr() splits them with the
 * index's own word splitter and quotes each one, so FTS5 syntax typed by a
 * user (quotes, '*', NEAR, '-', ':', parentheses) never reaches the query
 * parser as syntax.
 * Must never: put user text into SQL other than as a bound value.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"
#include "store/search.h"

#define SEARCH_MAX_WORDS 16
/* A word in fewer messages is rare: bm25 ranks every match at once. */
#define SEARCH_RARE 2000
/* A query with a frequent word matching more messages ranks only the
 * newest this many. */
#define SEARCH_NEWEST 5000

struct expr_ctx {
	struct cg_buf *b;
	int nwords;
};

static int
add_quoted(void *arg, const char *w, size_t n, size_t start, size_t end)
{
	struct expr_ctx *e = arg;
	if (e->nwords == SEARCH_MAX_WORDS)
		return 1;
	/* A folded word holds no '"' (a separator): quoting is enough. */
	cg_buf_printf(e->b, "%s\"%s\"", e->nwords ? " " : "", w);
	e->nwords++;
	return 0;
}

char *
cg_search_match_expr(const char *words)
{
	struct cg_buf b = CG_BUF_INIT;
	struct expr_ctx e = {&b, 0};
	if (words)
		cg_search_words(words, strlen(words), add_quoted, &e);
	if (e.nwords == 0) {
		cg_buf_free(&b);
		return NULL;
	}
	return cg_buf_steal(&b);
}

void
cg_search_hits_free(struct cg_search_hit *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].channel);
		free(v[i].thread_subject);
		free(v[i].author);
		free(v[i].network);
		free(v[i].snippet);
	}
	free(v);
}

/* Columns: subject, body, author, thread, channel, network.  The inner
 * query is FTS5's own: ORDER BY rank (bm25, weights set by schema 013) is
 * sorted inside the index, and snippet() runs only for the rows it
 * yields; CROSS JOIN keeps it the outer loop, so the hits stay in rank
 * order and the filters and LIMIT stop it after `limit` hits.  The inner
 * LIMIT (?6: `limit` unfiltered, else -1 = all) also keeps SQLite from
 * dropping the inner ORDER BY. */
#define SEARCH_SQL(RANK, ORDER)                                                \
	"SELECT m.id, c.name, t.subject, coalesce(nullif(k.name, ''), "        \
	"nullif(m.sender_name, ''), m.sender_addr), m.network, "               \
	"m.received, f.snip, f.score "                                         \
	"FROM (SELECT rowid AS id, "                                           \
	" snippet(message_fts, -1, '[', ']', '...', 12) AS snip, " RANK        \
	" AS score FROM message_fts WHERE message_fts MATCH ?1 "               \
	" AND rowid >= ?7 ORDER BY " ORDER " LIMIT ?6) f "                     \
	"CROSS JOIN message m ON m.id = f.id "                                 \
	"JOIN channel c ON c.id = m.channel_id "                               \
	"JOIN thread t ON t.id = m.thread_id "                                 \
	"LEFT JOIN contact k ON k.id = m.contact_id "                          \
	"WHERE (?2 = 0 OR m.channel_id = ?2) "                                 \
	"AND (?3 = 0 OR m.channel_id IN "                                      \
	"(SELECT channel_id FROM membership WHERE contact_id = ?4)) "          \
	"LIMIT ?5"
static const char SQL_SEARCH[] = SEARCH_SQL("rank", "rank");
/* A query holding a frequent word: the matches from id ?7 on, ranked by
 * bm25 with the words' document counts given (?8, search_rank.c). */
static const char SQL_SEARCH_WINDOW[] = SEARCH_SQL(
    "cg_window_rank(message_fts, ?8, 4.0, 1.0, 1.0, 2.0, 0.2, 0.2)", "score");

/* How many of the newest SEARCH_RARE messages hold one quoted word, and
 * the oldest of them: FTS5 walks the word's list backwards and stops. */
static const char SQL_WORD_DOCS[] =
    "SELECT count(*), coalesce(min(id), 0) FROM (SELECT rowid AS id "
    "FROM message_fts WHERE message_fts MATCH ?1 "
    "ORDER BY rowid DESC LIMIT ?2)";
static const char SQL_MAX_ID[] = "SELECT coalesce(max(id), 0) FROM message";

struct docs_ctx {
	struct cg_store *s;
	struct cg_buf *docs; /* one number per word, as cg_window_rank's */
	int nwords, frequent, err;
	int64_t max_id;
	char *rarest;       /* the quoted word in fewest messages */
	double rarest_docs; /* its messages (estimated when frequent) */
};

/* Appends word w's number of messages: exact under SEARCH_RARE, else
 * (frequent) minus the fraction of ids its newest SEARCH_RARE span. */
static int
add_word_docs(void *arg, const char *w, size_t n, size_t start, size_t end)
{
	struct docs_ctx *d = arg;
	if (d->nwords == SEARCH_MAX_WORDS)
		return 1;
	sqlite3_stmt *st = db_stmt(d->s, SQL_WORD_DOCS);
	if (st == NULL)
		return d->err = 1;
	char *quoted = cg_asprintf("\"%s\"", w);
	db_bind_text(st, 1, quoted);
	sqlite3_bind_int(st, 2, SEARCH_RARE);
	int64_t count = 0, oldest = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		count = sqlite3_column_int64(st, 0);
		oldest = sqlite3_column_int64(st, 1);
	}
	db_done(st);
	if (rc != SQLITE_ROW) {
		free(quoted);
		return d->err = db_fail(d->s, "search: a word's messages");
	}
	if (d->max_id == 0 &&
	    db_scalar_checked(d->s, db_stmt(d->s, SQL_MAX_ID),
	                      "search: the newest message", &d->max_id) < 0) {
		free(quoted);
		return d->err = -1;
	}
	double span = (double)(d->max_id - oldest + 1);
	double share = span > count ? (double)count / span : 1.0;
	const char *sep = d->nwords++ ? "," : "";
	if (count < SEARCH_RARE)
		cg_buf_printf(d->docs, "%s%lld", sep, (long long)count);
	else
		cg_buf_printf(d->docs, "%s-%.6f", sep, share);
	d->frequent |= count >= SEARCH_RARE;
	double est =
	    count < SEARCH_RARE ? (double)count : share * (double)d->max_id;
	if (d->rarest == NULL || est < d->rarest_docs) {
		free(d->rarest);
		d->rarest = quoted;
		d->rarest_docs = est;
		return 0;
	}
	free(quoted);
	return 0;
}

/* Where the ranked window of a query with a frequent word starts: the id
 * of the SEARCH_NEWEST-th newest message holding its rarest word (?1, ?5:
 * SEARCH_NEWEST - 1), so that at most SEARCH_NEWEST matches are ranked;
 * for a reader restricted to some channels, of its SEARCH_NEWEST-th newest
 * match it may see (?1: the whole query).  No row when there are fewer.
 * Ids grow with time.  FTS5 walks the lists backwards and stops there. */
static const char SQL_FLOOR[] =
    "SELECT rowid FROM message_fts WHERE message_fts MATCH ?1 "
    "ORDER BY rowid DESC LIMIT 1 OFFSET ?5";
static const char SQL_FLOOR_FILTERED[] =
    "SELECT m.id FROM message_fts CROSS JOIN message m "
    "ON m.id = message_fts.rowid WHERE message_fts MATCH ?1 "
    "AND (?2 = 0 OR m.channel_id = ?2) "
    "AND (?3 = 0 OR m.channel_id IN "
    "(SELECT channel_id FROM membership WHERE contact_id = ?4)) "
    "ORDER BY message_fts.rowid DESC LIMIT 1 OFFSET ?5";

/* 1 with *floor set when the window is shorter than all time, 0 when it
 * is not (then all matches are ranked), -1 on error.  rarest: the quoted
 * rarest word of expr. */
static int
search_floor(struct cg_store *s, const struct cg_search_query *q,
             const char *expr, const char *rarest, int64_t *floor)
{
	int filtered = q->channel_id != 0 || q->restricted;
	sqlite3_stmt *st =
	    db_stmt(s, filtered ? SQL_FLOOR_FILTERED : SQL_FLOOR);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, filtered ? expr : rarest);
	if (filtered) {
		sqlite3_bind_int64(st, 2, q->channel_id);
		sqlite3_bind_int(st, 3, q->restricted ? 1 : 0);
		sqlite3_bind_int64(st, 4, q->reader);
	}
	sqlite3_bind_int64(st, 5, SEARCH_NEWEST - 1);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*floor = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "search: the newest matches");
	return rc == SQLITE_ROW;
}

static void
hit_read(sqlite3_stmt *st, struct cg_search_hit *h)
{
	h->message_id = sqlite3_column_int64(st, 0);
	h->channel = db_col_text(st, 1);
	h->thread_subject = db_col_text(st, 2);
	h->author = db_col_text(st, 3);
	h->network = db_col_text(st, 4);
	h->date = sqlite3_column_int64(st, 5);
	h->snippet = db_col_text(st, 6);
	h->score = sqlite3_column_double(st, 7);
}

/* The statement ranking q's matches, bound but for ?1 and ?7; *floor
 * the lowest id it ranks.  NULL on error. */
static sqlite3_stmt *
search_stmt(struct cg_store *s, const struct cg_search_query *q,
            const char *expr, int64_t *floor)
{
	struct cg_buf docs = CG_BUF_INIT;
	struct docs_ctx d = {s, &docs, 0, 0, 0, 0, NULL, 0};
	cg_search_words(q->words, strlen(q->words), add_word_docs, &d);
	sqlite3_stmt *st = NULL;
	*floor = 0;
	if (d.err == 0 && !d.frequent)
		st = db_stmt(s, SQL_SEARCH);
	else if (d.err == 0 && search_floor(s, q, expr, d.rarest, floor) >= 0 &&
	         (st = db_stmt(s, SQL_SEARCH_WINDOW)) != NULL)
		db_bind_text(st, 8, cg_buf_str(&docs));
	cg_buf_free(&docs);
	free(d.rarest);
	return st;
}

int
cg_store_search(struct cg_store *s, const struct cg_search_query *q,
                struct cg_search_hit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *expr = cg_search_match_expr(q->words);
	if (expr == NULL)
		return 0;
	int64_t floor;
	sqlite3_stmt *st = search_stmt(s, q, expr, &floor);
	if (st == NULL) {
		free(expr);
		return -1;
	}
	size_t limit = q->limit ? q->limit : 10;
	db_bind_text(st, 1, expr);
	sqlite3_bind_int64(st, 2, q->channel_id);
	sqlite3_bind_int(st, 3, q->restricted ? 1 : 0);
	sqlite3_bind_int64(st, 4, q->reader);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)limit);
	int filtered = q->channel_id != 0 || q->restricted;
	sqlite3_bind_int64(st, 6, filtered ? -1 : (sqlite3_int64)limit);
	sqlite3_bind_int64(st, 7, floor);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		memset(&(*out)[*n], 0, sizeof **out);
		hit_read(st, &(*out)[(*n)++]);
	}
	db_done(st);
	free(expr);
	if (rc != SQLITE_DONE) {
		cg_search_hits_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_fail(s, "search");
	}
	return 0;
}

static const char SQL_INDEX_BYTES[] =
    "SELECT coalesce(sum(length(block)), 0) FROM message_fts_data";

int64_t
cg_store_search_index_bytes(struct cg_store *s)
{
	int64_t n;
	if (db_scalar_checked(s, db_stmt(s, SQL_INDEX_BYTES),
	                      "search index size", &n) < 0)
		return -1;
	return n;
}

static const char SQL_REBUILD[] =
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')";

int
cg_store_search_rebuild(struct cg_store *s)
{
	return db_exec(s, db_stmt(s, SQL_REBUILD), "rebuild the search index");
}
