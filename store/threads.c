/*
 * threads.c: threads (a subject and its messages across the networks):
 * creating one with its random token, finding one by token, by a
 * client's key or as the room's open chat thread, and the Message-IDs
 * that make its References.  Must never: merge threads by subject, or
 * reuse a token.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_THREAD_GET[] =
    "SELECT channel_id, token, subject, root_message_id, created, "
    "last_activity FROM thread WHERE id = ?1";
static const char SQL_THREAD_CREATE[] =
    "INSERT INTO thread(channel_id, token, subject, created, last_activity) "
    "VALUES (?1, ?2, ?3, ?4, ?4)";
static const char SQL_THREAD_TOUCH[] =
    "UPDATE thread SET last_activity = ?3, "
    "root_message_id = coalesce(root_message_id, ?2) WHERE id = ?1";

static const char SQL_OPEN_CHAT_THREAD[] =
    "SELECT t.id FROM thread t JOIN message m ON m.id = t.root_message_id "
    "WHERE t.channel_id = ?1 AND t.last_activity >= ?2 AND "
    "m.network = 'xmpp' ORDER BY t.last_activity DESC, t.id DESC LIMIT 1";

static const char SQL_THREAD_BY_TOKEN[] =
    "SELECT id FROM thread WHERE token = ?1";

static const char SQL_THREAD_IDS[] =
    "SELECT message_id FROM message WHERE thread_id = ?1 AND id <= ?2 "
    "ORDER BY id";

void
cg_thread_free(struct cg_thread *t)
{
	if (t == NULL)
		return;
	free(t->token);
	free(t->subject);
	memset(t, 0, sizeof *t);
}

int
cg_store_thread_get(struct cg_store *s, int64_t id, struct cg_thread *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_row_by_id(s, SQL_THREAD_GET, id, "thread");
	if (st == NULL)
		return -1;
	out->id = id;
	out->channel_id = sqlite3_column_int64(st, 0);
	out->token = db_col_text(st, 1);
	out->subject = db_col_text(st, 2);
	out->root_message_id = sqlite3_column_int64(st, 3);
	out->created = sqlite3_column_int64(st, 4);
	out->last_activity = sqlite3_column_int64(st, 5);
	db_done(st);
	return 0;
}

int64_t
cg_store_thread_create(struct cg_store *s, int64_t channel_id,
                       const char *subject, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_THREAD_CREATE);
	if (st == NULL)
		return 0;
	/* 12 hex digits: a token that appears in our Message-IDs. */
	char *token = cg_random_hex(12);
	sqlite3_bind_int64(st, 1, channel_id);
	db_bind_text(st, 2, token);
	db_bind_text(st, 3, subject);
	sqlite3_bind_int64(st, 4, now);
	free(token);
	if (db_exec(s, st, "create thread") != 0)
		return 0;
	return sqlite3_last_insert_rowid(s->db);
}

int
cg_store_open_chat_thread(struct cg_store *s, int64_t channel_id, int64_t since,
                          int64_t *thread_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_OPEN_CHAT_THREAD);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, channel_id);
		sqlite3_bind_int64(st, 2, since);
	}
	return db_scalar_checked(s, st, "open chat thread", thread_id);
}

int
cg_store_thread_by_token(struct cg_store *s, const char *token,
                         int64_t *thread_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_THREAD_BY_TOKEN);
	if (st != NULL)
		db_bind_text(st, 1, token);
	return db_scalar_checked(s, st, token, thread_id);
}

int
cg_store_thread_touch(struct cg_store *s, int64_t id, int64_t root_msg,
                      int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_THREAD_TOUCH);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_id(st, 2, root_msg);
	sqlite3_bind_int64(st, 3, now);
	return db_exec(s, st, "touch thread");
}

int
cg_store_thread_message_ids(struct cg_store *s, int64_t thread_id, int64_t upto,
                            char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_THREAD_IDS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, thread_id);
	sqlite3_bind_int64(st, 2, upto);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = db_col_text(st, 0);
	}
	db_done(st);
	return 0;
}

static const char SQL_THREAD_LAST_EMAIL[] =
    "SELECT coalesce((SELECT max(id) FROM message WHERE thread_id = ?1 AND "
    "network = 'email' AND (?2 = 0 OR id < ?2)), "
    "(SELECT root_message_id FROM thread WHERE id = ?1), 0)";

int
cg_store_thread_last_email(struct cg_store *s, int64_t thread_id,
                           int64_t before, int64_t *message_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_THREAD_LAST_EMAIL);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, thread_id);
		sqlite3_bind_int64(st, 2, before);
	}
	if (db_scalar_checked(s, st, "thread's last email", message_id) < 0)
		return -1;
	return *message_id != 0;
}
