/*
 * email_state.c: what the email bridge reads from the store beyond the
 * common calls: a channel's name (for List-* headers and the VERP sender;
 * a message's files are read with store/attachments.c).  The IMAP
 * watermark lives in kv (keys "imap/MAILBOX/uidvalidity",
 * "imap/MAILBOX/last_uid", "imap/MAILBOX/flagged_uid"), written through
 * cg_store_kv_set_int inside the ingest transaction.  Also: the outbox
 * rows of chat lines (batched per thread and recipient until the room is
 * quiet) and the digests (schema 006: what each covered, which notices
 * are its copies).
 * Must never: be called from an SMTP worker thread (only the loop thread
 * touches the store).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_CHANNEL_NAME[] = "SELECT name FROM channel WHERE id = ?1";

char *
cg_store_channel_name(struct cg_store *s, int64_t id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CHANNEL_NAME);
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	char *name = NULL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		name = db_col_text(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_fail(s, "channel name");
	return name;
}

static const char SQL_CHAT_PENDING_AFTER[] =
    "SELECT max(o.next_attempt_ms) FROM outbox o JOIN message m "
    "ON m.id = o.message_id WHERE o.state = 'pending' AND "
    "o.bridge = 'email' AND o.destination = ?2 AND m.thread_id = ?1 AND "
    "m.network = 'xmpp' AND o.next_attempt_ms > ?3";

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

static const char SQL_CHAT_DEFER[] =
    "UPDATE outbox SET next_attempt_ms = ?3 WHERE state = 'pending' AND "
    "bridge = 'email' AND destination = ?2 AND next_attempt_ms < ?3 AND "
    "message_id IN (SELECT id FROM message WHERE thread_id = ?1 AND "
    "network = 'xmpp')";

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

static const char SQL_CHANNEL_MESSAGES_AFTER[] =
    "SELECT id FROM message WHERE channel_id = ?1 AND id > ?2 AND "
    "(flags & ?3) = 0 ORDER BY id LIMIT ?4";

int
cg_store_channel_messages_after(struct cg_store *s, int64_t channel_id,
                                int64_t after, unsigned skip_flags, size_t max,
                                int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_CHANNEL_MESSAGES_AFTER);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, channel_id);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)skip_flags);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = cg_realloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return db_fail(s, "channel messages");
	}
	return 0;
}

static const char SQL_CHANNEL_LAST_MESSAGE[] =
    "SELECT max(id) FROM message WHERE ?1 = 0 OR channel_id = ?1";

int
cg_store_channel_last_message(struct cg_store *s, int64_t channel_id,
                              int64_t *message_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CHANNEL_LAST_MESSAGE);
	if (st != NULL)
		sqlite3_bind_int64(st, 1, channel_id);
	if (db_scalar_checked(s, st, "channel's last message", message_id) < 0)
		return -1;
	return *message_id != 0;
}
