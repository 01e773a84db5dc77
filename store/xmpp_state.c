/*
 * xmpp_state.c: what the XMPP bridge keeps in the store beyond the common
 * calls: the external id a message has on one network (the room's
 * stanza-id a XEP-0461 reply must name), a contact found by name (for
 * `!who NAME`), each room's MAM watermark (kv), and the writes a
 * correction (XEP-0308) needs: a message's new text, and whether its mail
 * already went out.  The bridge writes its ids with cg_store_extid_add():
 * network "xmpp" holds the room's stanza-ids (or an origin-id when the room
 * gives none), "xmpp-origin" the XEP-0359 origin-ids.
 * Must never: open a transaction of its own (the callers' writes belong
 * to the pipeline's, or to the bridge's, one transaction).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_MESSAGE_EXTID[] =
    "SELECT ext_id FROM extid WHERE message_id = ?1 AND network = ?2 "
    "ORDER BY ext_id LIMIT 1";

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

static const char SQL_CONTACT_BY_NAME[] =
    "SELECT id FROM contact WHERE kind = 'person' AND name = ?1 "
    "COLLATE NOCASE ORDER BY id LIMIT 1";
/* Two rows are enough to know the match is not unique. */
static const char SQL_CONTACT_NAME_LIKE[] =
    "SELECT id FROM contact WHERE kind = 'person' AND "
    "name LIKE '%' || ?1 || '%' ESCAPE '\\' ORDER BY id LIMIT 2";

int
cg_store_contact_find_name(struct cg_store *s, const char *name, int64_t *id)
{
	*id = 0;
	if (name == NULL || *name == '\0')
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_BY_NAME);
	if (st != NULL)
		db_bind_text(st, 1, name);
	int found_exact = db_scalar_checked(s, st, name, id);
	if (found_exact != 0)
		return found_exact;
	/* A part of a name ("Alice") when only one contact has it. */
	struct cg_buf pat = CG_BUF_INIT;
	for (const char *p = name; *p; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			cg_buf_putc(&pat, '\\');
		cg_buf_putc(&pat, *p);
	}
	st = db_stmt(s, SQL_CONTACT_NAME_LIKE);
	if (st == NULL) {
		cg_buf_free(&pat);
		return -1;
	}
	db_bind_text(st, 1, cg_buf_str(&pat));
	int64_t found = 0;
	int n = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = sqlite3_column_int64(st, 0);
		n++;
	}
	db_done(st);
	cg_buf_free(&pat);
	if (rc != SQLITE_DONE)
		return db_fail(s, "find contact by name");
	*id = n == 1 ? found : 0;
	return n == 1;
}

/* ---- corrections ---- */

static const char SQL_MESSAGE_SET_TEXT[] =
    "UPDATE message SET body = ?2, trimmed = ?3 WHERE id = ?1";

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
