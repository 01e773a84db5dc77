/*
 * xmpp_state.c: what the XMPP bridge reads from the store beyond the
 * common calls: the external id a message has on one network (the room's
 * stanza-id a XEP-0461 reply must name) and a contact found by name (for
 * `!who NAME`).  The bridge writes its ids with cg_store_extid_add():
 * network "xmpp" holds the room's stanza-ids (or an origin-id when the room
 * gives none), "xmpp-origin" the XEP-0359 origin-ids.
 * Must never: write (these are reads).
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/util.h"
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

int64_t
cg_store_contact_find_name(struct cg_store *s, const char *name)
{
	if (name == NULL || *name == '\0')
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_BY_NAME);
	if (st == NULL)
		return 0;
	db_bind_text(st, 1, name);
	int64_t id = db_scalar(s, st, name);
	if (id)
		return id;
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
		return 0;
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
		db_fail(s, "find contact by name");
	return n == 1 ? found : 0;
}
