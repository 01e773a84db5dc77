/*
 * held_confirm.c: posts held because their sender is not proven
 * (schema 009_sender_proof.sql): the confirmation token mailed to the
 * contact, and the contact's unproven posts for "!confirm" in the room.
 *
 * Must never: release by a token that is used, expired or unknown.
 */
#include <stdlib.h>

#include "lib/util.h"
#include "store/db.h"
#include "store/store.h"

static const char SQL_MARK_UNVERIFIED[] =
    "UPDATE held_post SET unverified = 1 WHERE message_id = ?1";
static const char SQL_CONFIRM_ADD[] =
    "INSERT INTO held_confirm(token, message_id, created, expires) "
    "VALUES (?1, ?2, ?3, ?4)";

int
cg_store_held_unverified(struct cg_store *s, int64_t message_id,
                         const char *token, int64_t now, int64_t expires)
{
	sqlite3_stmt *st = db_stmt(s, SQL_MARK_UNVERIFIED);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	if (db_exec(s, st, "unverified held post") != 0)
		return -1;
	if ((st = db_stmt(s, SQL_CONFIRM_ADD)) == NULL)
		return -1;
	db_bind_text(st, 1, token);
	sqlite3_bind_int64(st, 2, message_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires);
	return db_exec(s, st, "held post confirmation");
}

static const char SQL_CONFIRM_TAKE[] =
    "UPDATE held_confirm SET used = ?2 WHERE token = ?1 AND used IS NULL "
    "AND expires > ?2 AND message_id IN (SELECT message_id FROM held_post "
    "WHERE state = 'held') RETURNING message_id";

int
cg_store_held_confirm_take(struct cg_store *s, const char *token, int64_t now,
                           int64_t *message_id)
{
	*message_id = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_CONFIRM_TAKE);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, token);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*message_id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "held post confirmation");
	return *message_id ? 1 : 0;
}

static const char SQL_UNVERIFIED_FOR_CONTACT[] =
    "SELECT message_id FROM held_post WHERE contact_id = ?1 AND "
    "state = 'held' AND unverified = 1 AND expires > ?2 "
    "ORDER BY message_id";

int
cg_store_held_unverified_for_contact(struct cg_store *s, int64_t contact_id,
                                     int64_t now, int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_UNVERIFIED_FOR_CONTACT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	sqlite3_bind_int64(st, 2, now);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = cg_realloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "unverified held posts");
}
