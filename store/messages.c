/*
 * messages.c: stored messages and their external ids, a channel's
 * messages (for digests), corrections (XEP-0308) and CRM interactions
 * (threads: threads.c; attachments: attachments.c).  Must never: store one
 * external id twice (PRIMARY KEY (network, ext_id)) or change a stored
 * message's Message-ID.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/db.h"

void
cg_stored_msg_free(struct cg_stored_msg *m)
{
	if (m == NULL)
		return;
	free(m->network);
	free(m->message_id);
	free(m->sender_addr);
	free(m->sender_name);
	free(m->subject);
	free(m->body);
	free(m->trimmed);
	memset(m, 0, sizeof *m);
}

static const char SQL_EXTID_FIND[] =
    "SELECT message_id FROM extid WHERE network = ?1 AND ext_id = ?2";
static const char SQL_EXTID_ADD[] =
    "INSERT INTO extid(network, ext_id, message_id) VALUES (?1, ?2, ?3) "
    "ON CONFLICT DO NOTHING";

int
cg_store_extid_find(struct cg_store *s, const char *network, const char *ext_id,
                    int64_t *message_id)
{
	*message_id = 0;
	if (ext_id == NULL)
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_EXTID_FIND);
	if (st != NULL) {
		db_bind_text(st, 1, network);
		db_bind_text(st, 2, ext_id);
	}
	return db_scalar_checked(s, st, ext_id, message_id);
}

int
cg_store_extid_add(struct cg_store *s, const char *network, const char *ext_id,
                   int64_t message_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_EXTID_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, network);
	db_bind_text(st, 2, ext_id);
	sqlite3_bind_int64(st, 3, message_id);
	return db_exec(s, st, ext_id);
}

static const char SQL_MESSAGE_INSERT[] =
    "INSERT INTO message(channel_id, thread_id, parent_id, contact_id, "
    "network, message_id, sender_addr, sender_name, subject, body, "
    "trimmed, raw, flags, received) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

int
cg_store_message_insert(struct cg_store *s, struct cg_stored_msg *m,
                        const char *raw, size_t rawlen)
{
	sqlite3_stmt *st = db_stmt(s, SQL_MESSAGE_INSERT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, m->channel_id);
	sqlite3_bind_int64(st, 2, m->thread_id);
	db_bind_id(st, 3, m->parent_id);
	db_bind_id(st, 4, m->contact_id);
	db_bind_text(st, 5, m->network);
	db_bind_text(st, 6, m->message_id);
	db_bind_text(st, 7, m->sender_addr);
	db_bind_text(st, 8, m->sender_name);
	db_bind_text(st, 9, m->subject);
	db_bind_text(st, 10, m->body);
	db_bind_text(st, 11, m->trimmed);
	if (raw)
		sqlite3_bind_blob64(st, 12, raw, rawlen, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 12);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)m->flags);
	sqlite3_bind_int64(st, 14, m->received);
	if (db_exec(s, st, m->message_id) != 0)
		return -1;
	m->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static const char SQL_MESSAGE_GET[] =
    "SELECT channel_id, thread_id, parent_id, contact_id, network, "
    "message_id, sender_addr, sender_name, subject, body, trimmed, flags, "
    "received FROM message WHERE id = ?1";

int
cg_store_message_get(struct cg_store *s, int64_t id, struct cg_stored_msg *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_row_by_id(s, SQL_MESSAGE_GET, id, "message");
	if (st == NULL)
		return -1;
	out->id = id;
	out->channel_id = sqlite3_column_int64(st, 0);
	out->thread_id = sqlite3_column_int64(st, 1);
	out->parent_id = sqlite3_column_int64(st, 2);
	out->contact_id = sqlite3_column_int64(st, 3);
	out->network = db_col_text(st, 4);
	out->message_id = db_col_text(st, 5);
	out->sender_addr = db_col_text(st, 6);
	out->sender_name = db_col_text(st, 7);
	out->subject = db_col_text(st, 8);
	out->body = db_col_text(st, 9);
	out->trimmed = db_col_text(st, 10);
	out->flags = (unsigned)sqlite3_column_int64(st, 11);
	out->received = sqlite3_column_int64(st, 12);
	db_done(st);
	return 0;
}

static const char SQL_INTERACTION_ADD[] =
    "INSERT INTO interaction(contact_id, channel_id, thread_id, message_id, "
    "network, direction, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

int
cg_store_interaction_add(struct cg_store *s, int64_t contact_id,
                         int64_t channel_id, int64_t thread_id,
                         int64_t message_id, const char *network,
                         const char *direction, int64_t at)
{
	sqlite3_stmt *st = db_stmt(s, SQL_INTERACTION_ADD);
	if (st == NULL)
		return -1;
	db_bind_id(st, 1, contact_id);
	db_bind_id(st, 2, channel_id);
	db_bind_id(st, 3, thread_id);
	db_bind_id(st, 4, message_id);
	db_bind_text(st, 5, network);
	db_bind_text(st, 6, direction);
	sqlite3_bind_int64(st, 7, at);
	return db_exec(s, st, "interaction");
}

static const char SQL_CHANNEL_MESSAGES_AFTER[] =
    "SELECT id FROM message WHERE channel_id = ?1 AND id > ?2 AND "
    "(flags & ?3) = 0 ORDER BY id LIMIT ?4";

static const char SQL_CHANNEL_LAST_MESSAGE[] =
    "SELECT max(id) FROM message WHERE ?1 = 0 OR channel_id = ?1";

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

static const char SQL_MESSAGE_EXTID[] =
    "SELECT ext_id FROM extid WHERE message_id = ?1 AND network = ?2 "
    "ORDER BY ext_id LIMIT 1";

/* ---- corrections ---- */

static const char SQL_MESSAGE_SET_TEXT[] =
    "UPDATE message SET body = ?2, trimmed = ?3 WHERE id = ?1";

int
cg_store_message_extid(struct cg_store *s, int64_t message_id,
                       const char *network, char **out)
{
	*out = NULL;
	sqlite3_stmt *st = db_stmt(s, SQL_MESSAGE_EXTID);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	db_bind_text(st, 2, network);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = db_col_text(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "external id of a message");
	return 0;
}

int
cg_store_message_set_text(struct cg_store *s, int64_t message_id,
                          const char *body, const char *trimmed)
{
	sqlite3_stmt *st = db_stmt(s, SQL_MESSAGE_SET_TEXT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	db_bind_text(st, 2, body);
	db_bind_text(st, 3, trimmed ? trimmed : body);
	if (db_exec(s, st, "message text") != 0)
		return -1;
	if (sqlite3_changes(s->db) != 1)
		return db_errorf(s, "message %lld: not found",
		                 (long long)message_id);
	return 0;
}
