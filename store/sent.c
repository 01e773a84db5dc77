/*
 * sent.c: the store side of bounce attribution (sent.h): lookups over
 * the message and outbox tables that say whether the gateway really sent
 * a given message to a given address.  Read only.
 *
 * Must never: write a row, or call a message sent to an address that has
 * no email outbox row for it.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"
#include "store/sent.h"

static const char SQL_SENT_MESSAGE[] =
    "SELECT id FROM message WHERE message_id = ?1";

int
cg_store_sent_message(struct cg_store *s, const char *msgid, int64_t *id)
{
	*id = 0;
	size_t n = strlen(msgid);
	char *bare = n >= 2 && msgid[0] == '<' && msgid[n - 1] == '>'
	                 ? cg_strndup(msgid + 1, n - 2)
	                 : cg_strdup(msgid);
	sqlite3_stmt *st = db_stmt(s, SQL_SENT_MESSAGE);
	if (st != NULL)
		db_bind_text(st, 1, bare);
	int rc = db_scalar_checked(s, st, bare, id);
	free(bare);
	return rc;
}

static const char SQL_SENT_TO[] =
    "SELECT count(*) FROM outbox WHERE message_id = ?1 "
    "AND bridge = 'email' AND destination = ?2 COLLATE NOCASE";

int
cg_store_sent_to(struct cg_store *s, int64_t id, const char *address)
{
	sqlite3_stmt *st = db_stmt(s, SQL_SENT_TO);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		db_bind_text(st, 2, address);
	}
	int64_t c = 0;
	if (db_scalar_checked(s, st, address, &c) < 0)
		return -1;
	return c > 0;
}

static const char SQL_SENT_RECIPIENTS[] =
    "SELECT destination FROM outbox WHERE message_id = ?1 "
    "AND bridge = 'email' ORDER BY id LIMIT ?2";

int
cg_store_sent_recipients(struct cg_store *s, int64_t id, size_t max,
                         char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_SENT_RECIPIENTS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = db_col_text(st, 0);
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "recipients of a sent message");
	return 0;
}
