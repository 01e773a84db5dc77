/*
 * email_state.c: what the email bridge reads from the store beyond the
 * common calls: a channel's name (for List-* headers and the VERP sender)
 * and a stored message's attachments (to send them on to members).  The
 * IMAP watermark lives in kv (keys "imap/MAILBOX/uidvalidity",
 * "imap/MAILBOX/last_uid", "imap/MAILBOX/flagged_uid"), written through
 * cg_store_kv_set_int inside the ingest transaction.
 * Must never: write (these are reads), or be called from an SMTP worker
 * thread (only the loop thread touches the store).
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/msg.h"
#include "gateway/util.h"
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

static const char SQL_MESSAGE_ATTACHMENTS[] =
    "SELECT name, type, size, data FROM attachment "
    "WHERE message_id = ?1 ORDER BY idx";

int
cg_store_message_attachments(struct cg_store *s, int64_t message_id,
                             int64_t max_size, struct cg_attachment **out,
                             size_t *n, size_t *skipped)
{
	*out = NULL;
	*n = 0;
	*skipped = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_MESSAGE_ATTACHMENTS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t size = sqlite3_column_int64(st, 2);
		const void *data = sqlite3_column_blob(st, 3);
		size_t len = (size_t)sqlite3_column_bytes(st, 3);
		if (data == NULL || size > max_size ||
		    (int64_t)len > max_size) {
			(*skipped)++;
			continue;
		}
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_attachment *a = &(*out)[(*n)++];
		a->name = db_col_text(st, 0);
		a->type = db_col_text(st, 1);
		a->data = cg_malloc(len);
		memcpy(a->data, data, len);
		a->size = len;
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		cg_attachments_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_fail(s, "message attachments");
	}
	return 0;
}

void
cg_attachments_free(struct cg_attachment *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].type);
		free(v[i].data);
	}
	free(v);
}
