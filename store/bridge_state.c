/*
 * bridge_state.c: what the store keeps for the bridges about the
 * networks rather than about messages: each bridge's connection state
 * (for `coopgate status`), the XMPP rooms' archive watermarks, the tries
 * of each IMAP UID (poison mail) and mail handled outside the pipeline.
 * The IMAP watermark itself lives in kv (db.c: keys
 * "imap/MAILBOX/uidvalidity", "imap/MAILBOX/last_uid",
 * "imap/MAILBOX/flagged_uid"), written inside the ingest transaction.
 * Must never: move a watermark outside the transaction that stores what
 * it covers.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_BRIDGE_STATE_SET[] =
    "INSERT INTO bridge_state(name, connected, since, last_error, updated) "
    "VALUES (?1, ?2, ?3, ?4, ?3) ON CONFLICT(name) DO UPDATE SET "
    "since = CASE WHEN connected = excluded.connected THEN since "
    "ELSE excluded.since END, connected = excluded.connected, "
    "last_error = coalesce(excluded.last_error, last_error), "
    "updated = excluded.updated";
static const char SQL_BRIDGE_STATES[] =
    "SELECT name, connected, since, last_error, updated FROM bridge_state "
    "ORDER BY name";

int
cg_store_bridge_state_set(struct cg_store *s, const char *name, int connected,
                          const char *last_error, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BRIDGE_STATE_SET);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name);
	sqlite3_bind_int(st, 2, connected);
	sqlite3_bind_int64(st, 3, now);
	db_bind_text(st, 4, last_error);
	return db_exec(s, st, name);
}

int
cg_store_bridge_states(struct cg_store *s, struct cg_bridge_state **out,
                       size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_BRIDGE_STATES);
	if (st == NULL)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_bridge_state *b = &(*out)[(*n)++];
		b->name = db_col_text(st, 0);
		b->connected = sqlite3_column_int(st, 1);
		b->since = sqlite3_column_int64(st, 2);
		b->last_error = db_col_text(st, 3);
		b->updated = sqlite3_column_int64(st, 4);
	}
	db_done(st);
	return 0;
}

void
cg_bridge_states_free(struct cg_bridge_state *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].last_error);
	}
	free(v);
}

/* ---- MAM watermark ---- */

static char *
watermark_key(const char *room)
{
	return cg_asprintf("xmpp/%s/last_stanza_id", room);
}

int
cg_store_xmpp_watermark_get(struct cg_store *s, const char *room, char **out)
{
	char *key = watermark_key(room);
	int rc = cg_store_kv_get(s, key, out);
	free(key);
	return rc;
}

int
cg_store_xmpp_watermark_set(struct cg_store *s, const char *room,
                            const char *stanza_id)
{
	char *key = watermark_key(room);
	int rc = cg_store_kv_set(s, key, stanza_id ? stanza_id : "");
	free(key);
	return rc;
}

static const char SQL_HANDLED[] =
    "INSERT INTO mail_handled(ext_id, kind, at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT DO NOTHING";

static const char SQL_IMAP_TRY[] =
    "INSERT INTO imap_try(mailbox, uidvalidity, uid, tries) "
    "VALUES (?1, ?2, ?3, 1) ON CONFLICT DO UPDATE SET tries = tries + 1 "
    "RETURNING tries";

static const char SQL_IMAP_TRIES_DONE[] =
    "DELETE FROM imap_try WHERE mailbox = ?1 AND uid <= ?2";

int
cg_store_mail_handled(struct cg_store *s, const char *ext_id, const char *kind,
                      int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_HANDLED);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, ext_id);
	db_bind_text(st, 2, kind);
	sqlite3_bind_int64(st, 3, now);
	if (db_exec(s, st, ext_id) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

int64_t
cg_store_imap_try(struct cg_store *s, const char *mailbox, int64_t uidvalidity,
                  int64_t uid)
{
	sqlite3_stmt *st = db_stmt(s, SQL_IMAP_TRY);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, mailbox);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, uid);
	int64_t tries = -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		tries = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW) {
		db_fail(s, "imap try");
		return -1;
	}
	return tries;
}

int
cg_store_imap_tries_done(struct cg_store *s, const char *mailbox, int64_t uid)
{
	sqlite3_stmt *st = db_stmt(s, SQL_IMAP_TRIES_DONE);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, mailbox);
	sqlite3_bind_int64(st, 2, uid);
	return db_exec(s, st, mailbox);
}
