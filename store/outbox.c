/*
 * outbox.c (store side): the outbox table: rows, their claims and
 * results, a message's rows, and the email rows of chat lines batched
 * per thread and recipient until the room is quiet (notices: notices.c;
 * the bridges' connection state: bridge_state.c).
 * The retry policy lives in gateway/outbox.c; this file only reads and
 * writes rows.  Must never: move a row out of 'done' or 'dead'.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

void
cg_outbox_rows_free(struct cg_outbox_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].bridge);
		free(v[i].destination);
		free(v[i].last_error);
	}
	free(v);
}

static const char SQL_OUTBOX_ADD[] =
    "INSERT INTO outbox(message_id, bridge, destination, next_attempt_ms, "
    "created) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";

int
cg_store_outbox_add(struct cg_store *s, int64_t message_id, const char *bridge,
                    const char *destination, int64_t due_ms)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_ADD);
	if (st == NULL)
		return -1;
	db_bind_id(st, 1, message_id);
	db_bind_text(st, 2, bridge);
	db_bind_text(st, 3, destination);
	sqlite3_bind_int64(st, 4, due_ms);
	sqlite3_bind_int64(st, 5, cg_now());
	return db_exec(s, st, destination);
}

#define ROW_COLS                                                               \
	"id, message_id, bridge, destination, attempts, "                      \
	"next_attempt_ms, last_error, notice_id"

static void
row_read(sqlite3_stmt *st, struct cg_outbox_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->message_id = sqlite3_column_int64(st, 1);
	r->bridge = db_col_text(st, 2);
	r->destination = db_col_text(st, 3);
	r->attempts = sqlite3_column_int(st, 4);
	r->next_attempt_ms = sqlite3_column_int64(st, 5);
	r->last_error = db_col_text(st, 6);
	r->notice_id = sqlite3_column_int64(st, 7);
}

static int
rows_read(struct cg_store *s, sqlite3_stmt *st, struct cg_outbox_row **out,
          size_t *n)
{
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = cg_realloc(*out, cap * sizeof **out);
		}
		row_read(st, &(*out)[(*n)++]);
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "outbox");
	return 0;
}

static const char SQL_OUTBOX_DUE[] =
    "SELECT " ROW_COLS " FROM outbox WHERE state = 'pending' AND "
    "bridge = ?1 AND next_attempt_ms <= ?2 ORDER BY next_attempt_ms, id "
    "LIMIT ?3";

int
cg_store_outbox_due(struct cg_store *s, const char *bridge, int64_t now_ms,
                    size_t limit, struct cg_outbox_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_DUE);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, bridge);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	return rows_read(s, st, out, n);
}

static const char SQL_OUTBOX_NEXT[] =
    "SELECT min(next_attempt_ms) FROM outbox WHERE state = 'pending' AND "
    "bridge = ?1";
static const char SQL_OUTBOX_NEXT_ANY[] =
    "SELECT min(next_attempt_ms) FROM outbox WHERE state = 'pending'";

int
cg_store_outbox_next_due(struct cg_store *s, const char *bridge,
                         int64_t *due_ms)
{
	sqlite3_stmt *st =
	    db_stmt(s, bridge ? SQL_OUTBOX_NEXT : SQL_OUTBOX_NEXT_ANY);
	if (st != NULL && bridge)
		db_bind_text(st, 1, bridge);
	if (db_scalar_checked(s, st, "outbox next due", due_ms) < 0)
		return -1;
	return *due_ms != 0;
}

static const char SQL_OUTBOX_DONE[] =
    "UPDATE outbox SET state = 'done', far_id = ?2, done_at = ?3, "
    "attempts = attempts + 1, last_error = NULL "
    "WHERE id = ?1 AND state = 'pending'";
static const char SQL_OUTBOX_RETRY[] =
    "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, "
    "last_error = ?4 WHERE id = ?1 AND state = 'pending'";
static const char SQL_OUTBOX_DEAD[] =
    "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3, "
    "done_at = ?4 WHERE id = ?1 AND state = 'pending'";

int
cg_store_outbox_done(struct cg_store *s, int64_t id, const char *far_id,
                     int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_DONE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, far_id);
	sqlite3_bind_int64(st, 3, now);
	return db_exec(s, st, "outbox done");
}

int
cg_store_outbox_retry(struct cg_store *s, int64_t id, int attempts,
                      int64_t next_ms, const char *error)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_RETRY);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, next_ms);
	db_bind_text(st, 4, error);
	return db_exec(s, st, "outbox retry");
}

int
cg_store_outbox_dead(struct cg_store *s, int64_t id, int attempts,
                     const char *error)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_DEAD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempts);
	db_bind_text(st, 3, error);
	sqlite3_bind_int64(st, 4, cg_now());
	return db_exec(s, st, "outbox dead-letter");
}

static const char SQL_OUTBOX_GET[] =
    "SELECT " ROW_COLS ", state, far_id FROM outbox WHERE id = ?1";

int
cg_store_outbox_get(struct cg_store *s, int64_t id, struct cg_outbox_row *out,
                    enum cg_outbox_state *state, char **far_id)
{
	sqlite3_stmt *st = db_row_by_id(s, SQL_OUTBOX_GET, id, "outbox row");
	if (st == NULL)
		return -1;
	row_read(st, out);
	const char *stt = (const char *)sqlite3_column_text(st, 8);
	*state = strcmp(stt, "done") == 0   ? CG_OUT_DONE
	         : strcmp(stt, "dead") == 0 ? CG_OUT_DEAD
	                                    : CG_OUT_PENDING;
	if (far_id)
		*far_id = db_col_text(st, 9);
	db_done(st);
	return 0;
}

static const char SQL_OUTBOX_COUNTS[] =
    "SELECT coalesce(sum(state = 'pending'), 0), "
    "coalesce(sum(state = 'done'), 0), coalesce(sum(state = 'dead'), 0) "
    "FROM outbox WHERE bridge = ?1";

int
cg_store_outbox_counts(struct cg_store *s, const char *bridge,
                       struct cg_outbox_counts *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_COUNTS);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, bridge);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->pending = sqlite3_column_int64(st, 0);
		out->done = sqlite3_column_int64(st, 1);
		out->dead = sqlite3_column_int64(st, 2);
	}
	db_done(st);
	return 0;
}

static const char SQL_OUTBOX_DEAD_LIST[] =
    "SELECT " ROW_COLS " FROM outbox WHERE state = 'dead' "
    "ORDER BY done_at DESC, id DESC LIMIT ?1";

int
cg_store_outbox_dead_list(struct cg_store *s, size_t limit,
                          struct cg_outbox_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_DEAD_LIST);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	return rows_read(s, st, out, n);
}

static const char SQL_CHAT_PENDING_AFTER[] =
    "SELECT max(o.next_attempt_ms) FROM outbox o JOIN message m "
    "ON m.id = o.message_id WHERE o.state = 'pending' AND "
    "o.bridge = 'email' AND o.destination = ?2 AND m.thread_id = ?1 AND "
    "m.network = 'xmpp' AND o.next_attempt_ms > ?3";

static const char SQL_CHAT_DEFER[] =
    "UPDATE outbox SET next_attempt_ms = ?3 WHERE state = 'pending' AND "
    "bridge = 'email' AND destination = ?2 AND next_attempt_ms < ?3 AND "
    "message_id IN (SELECT id FROM message WHERE thread_id = ?1 AND "
    "network = 'xmpp')";

int
cg_store_email_chat_pending_after(struct cg_store *s, int64_t thread_id,
                                  const char *destination, int64_t now_ms,
                                  int64_t *due_ms)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CHAT_PENDING_AFTER);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, thread_id);
		db_bind_text(st, 2, destination);
		sqlite3_bind_int64(st, 3, now_ms);
	}
	if (db_scalar_checked(s, st, "chat rows pending", due_ms) < 0)
		return -1;
	return *due_ms != 0;
}

int
cg_store_email_chat_defer(struct cg_store *s, int64_t thread_id,
                          const char *destination, int64_t due_ms)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CHAT_DEFER);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, thread_id);
	db_bind_text(st, 2, destination);
	sqlite3_bind_int64(st, 3, due_ms);
	return db_exec(s, st, destination);
}

static const char SQL_MESSAGE_ROWS[] =
    "SELECT id, state FROM outbox WHERE message_id = ?1 AND bridge = ?2 "
    "ORDER BY id";

int
cg_store_message_rows(struct cg_store *s, int64_t message_id,
                      const char *bridge, int64_t **pending, size_t *npending,
                      size_t *ndone)
{
	*pending = NULL;
	*npending = *ndone = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_MESSAGE_ROWS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	db_bind_text(st, 2, bridge);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 1);
		if (state && strcmp(state, "done") == 0) {
			(*ndone)++;
		} else if (state && strcmp(state, "pending") == 0) {
			*pending = cg_realloc(*pending, (*npending + 1) *
			                                    sizeof **pending);
			(*pending)[(*npending)++] = sqlite3_column_int64(st, 0);
		}
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		free(*pending);
		*pending = NULL;
		*npending = *ndone = 0;
		return db_fail(s, "outbox rows of a message");
	}
	return 0;
}

static const char SQL_OUTBOX_RESCHEDULE[] =
    "UPDATE outbox SET next_attempt_ms = ?3 WHERE message_id = ?1 "
    "AND bridge = ?2 AND state = 'pending'";

int
cg_store_outbox_reschedule(struct cg_store *s, int64_t message_id,
                           const char *bridge, int64_t due_ms)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OUTBOX_RESCHEDULE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	db_bind_text(st, 2, bridge);
	sqlite3_bind_int64(st, 3, due_ms);
	return db_exec(s, st, "outbox reschedule");
}
