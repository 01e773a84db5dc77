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
static const char SQL_SEARCH[] =
    "SELECT m.id, c.name, t.subject, coalesce(nullif(k.name, ''), "
    "nullif(m.sender_name, ''), m.sender_addr), m.network, "
    "m.received, f.snip, f.score "
    "FROM (SELECT rowid AS id, "
    " snippet(message_fts, -1, '[', ']', '...', 12) AS snip, "
    " rank AS score FROM message_fts WHERE message_fts MATCH ?1 "
    " ORDER BY rank LIMIT ?6) f "
    "CROSS JOIN message m ON m.id = f.id "
    "JOIN channel c ON c.id = m.channel_id "
    "JOIN thread t ON t.id = m.thread_id "
    "LEFT JOIN contact k ON k.id = m.contact_id "
    "WHERE (?2 = 0 OR m.channel_id = ?2) "
    "AND (?3 = 0 OR m.channel_id IN "
    "(SELECT channel_id FROM membership WHERE contact_id = ?4)) "
    "LIMIT ?5";

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

int
cg_store_search(struct cg_store *s, const struct cg_search_query *q,
                struct cg_search_hit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *expr = cg_search_match_expr(q->words);
	if (expr == NULL)
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_SEARCH);
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
