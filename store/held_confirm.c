/*
 * held_confirm.c: posts held because their sender is not proven
 * (schema 009_sender_proof.sql): the confirmation token mailed to the
 * contact, and the contact's unproven posts for "!confirm" in the room.
 * An unproven post also held by layer gets its token only once its
 * sender may post there (promoted: cg_store_held_unconfirmed()); until
 * then neither a token nor "!confirm" finds it.
 *
 * Must never: release by a token that is used, expired or unknown, or
 * release a post its sender's layer may not (yet) make.
 */
#include <stdlib.h>

#include "lib/util.h"
#include "store/db.h"
#include "store/store.h"

/* The held post's channel lets its sender post now: its post_layer is at
 * most the contact's layer (h: held_post). */
#define SENDER_MAY_POST                                                        \
	"EXISTS (SELECT 1 FROM channel ch JOIN contact c ON c.id = "           \
	"h.contact_id WHERE ch.id = h.channel_id AND " LAYER_RANK(             \
	    "ch.post_layer") " <= " LAYER_RANK("c.layer") ")"

static const char SQL_MARK_UNVERIFIED[] =
    "UPDATE held_post SET unverified = 1 WHERE message_id = ?1";
static const char SQL_CONFIRM_ADD[] =
    "INSERT INTO held_confirm(token, message_id, created, expires) "
    "VALUES (?1, ?2, ?3, ?4)";

int
cg_store_held_mark_unverified(struct cg_store *s, int64_t message_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_MARK_UNVERIFIED);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	return db_exec(s, st, "unverified held post");
}

int
cg_store_held_unverified(struct cg_store *s, int64_t message_id,
                         const char *token, int64_t now, int64_t expires)
{
	if (cg_store_held_mark_unverified(s, message_id) != 0)
		return -1;
	sqlite3_stmt *st = db_stmt(s, SQL_CONFIRM_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, token);
	sqlite3_bind_int64(st, 2, message_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires);
	return db_exec(s, st, "held post confirmation");
}

static const char SQL_CONFIRM_TAKE[] =
    "UPDATE held_confirm SET used = ?2 WHERE token = ?1 AND used IS NULL "
    "AND expires > ?2 AND message_id IN (SELECT h.message_id FROM "
    "held_post h WHERE h.state = 'held' AND " SENDER_MAY_POST ") "
    "RETURNING message_id";

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
    "SELECT h.message_id FROM held_post h WHERE h.contact_id = ?1 AND "
    "h.state = 'held' AND h.unverified = 1 AND h.expires > ?2 "
    "AND " SENDER_MAY_POST " ORDER BY h.message_id";

static const char SQL_UNCONFIRMED[] =
    "SELECT h.message_id FROM held_post h WHERE h.contact_id = ?1 AND "
    "h.state = 'held' AND h.unverified = 1 AND h.expires > ?2 "
    "AND " SENDER_MAY_POST " AND NOT EXISTS (SELECT 1 FROM held_confirm k "
    "WHERE k.message_id = h.message_id) ORDER BY h.message_id";

static int
ids_read(struct cg_store *s, const char *sql, int64_t contact_id, int64_t now,
         int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, sql);
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
	if (rc == SQLITE_DONE)
		return 0;
	free(*ids);
	*ids = NULL;
	*n = 0;
	return db_fail(s, "unverified held posts");
}

int
cg_store_held_unverified_for_contact(struct cg_store *s, int64_t contact_id,
                                     int64_t now, int64_t **ids, size_t *n)
{
	return ids_read(s, SQL_UNVERIFIED_FOR_CONTACT, contact_id, now, ids, n);
}

int
cg_store_held_unconfirmed(struct cg_store *s, int64_t contact_id, int64_t now,
                          int64_t **ids, size_t *n)
{
	return ids_read(s, SQL_UNCONFIRMED, contact_id, now, ids, n);
}
