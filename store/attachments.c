/*
 * attachments.c: attachment rows beyond their first insert (schema 007):
 * where each file is (SchutzBox blob, the row's own bytes, a URL), what
 * became of a file shared by URL in a room (fetch, link, refused), and
 * the usage the per-contact SchutzBox quota counts.
 * Must never: point an attachment at a blob that does not exist (the
 * foreign key refuses it, and the box's refcount triggers rely on it).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char *const state_names[] = {
    [CG_ATT_STORED] = "stored",
    [CG_ATT_FETCH] = "fetch",
    [CG_ATT_LINK] = "link",
    [CG_ATT_REFUSED] = "refused",
};

const char *
cg_att_state_name(enum cg_att_state st)
{
	return (unsigned)st < sizeof state_names / sizeof *state_names
	           ? state_names[st]
	           : "stored";
}

static enum cg_att_state
state_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof state_names / sizeof *state_names;
	     i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum cg_att_state)i;
	return CG_ATT_STORED;
}

void
cg_att_row_free(struct cg_att_row *a)
{
	free(a->name);
	free(a->type);
	free(a->blob_id);
	free(a->url);
	free(a->note);
	memset(a, 0, sizeof *a);
}

void
cg_att_rows_free(struct cg_att_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cg_att_row_free(&v[i]);
	free(v);
}

static const char SQL_ATT_INSERT[] =
    "INSERT INTO attachment(message_id, idx, name, type, size, data, "
    "blob_id, url, state, note) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

int
cg_store_attachment_insert(struct cg_store *s, const struct cg_att_row *a,
                           const void *data, size_t len)
{
	sqlite3_stmt *st = db_stmt(s, SQL_ATT_INSERT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->message_id);
	sqlite3_bind_int(st, 2, a->idx);
	db_bind_text(st, 3, a->name);
	db_bind_text(st, 4, a->type);
	sqlite3_bind_int64(st, 5, a->size);
	if (data)
		sqlite3_bind_blob64(st, 6, data, len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	db_bind_text(st, 7, a->blob_id);
	db_bind_text(st, 8, a->url);
	db_bind_text(st, 9, cg_att_state_name(a->state));
	db_bind_text(st, 10, a->note);
	return db_exec(s, st, "attachment");
}

#define ATT_COLUMNS                                                            \
	"message_id, idx, name, type, size, blob_id, data IS NOT NULL, url, "  \
	"state, note"

static void
row_read(sqlite3_stmt *st, struct cg_att_row *a)
{
	a->message_id = sqlite3_column_int64(st, 0);
	a->idx = sqlite3_column_int(st, 1);
	a->name = db_col_text(st, 2);
	a->type = db_col_text(st, 3);
	a->size = sqlite3_column_int64(st, 4);
	a->blob_id = db_col_text(st, 5);
	a->has_data = sqlite3_column_int(st, 6);
	a->url = db_col_text(st, 7);
	char *state = db_col_text(st, 8);
	a->state = state_parse(state);
	free(state);
	a->note = db_col_text(st, 9);
}

static int
rows_read(struct cg_store *s, sqlite3_stmt *st, struct cg_att_row **out,
          size_t *n)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		row_read(st, &(*out)[(*n)++]);
	}
	db_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	cg_att_rows_free(*out, *n);
	*out = NULL;
	*n = 0;
	return db_fail(s, "attachments");
}

static const char SQL_ATT_OF[] =
    "SELECT " ATT_COLUMNS " FROM attachment WHERE message_id = ?1 "
    "ORDER BY idx";

int
cg_store_attachments_of(struct cg_store *s, int64_t message_id,
                        struct cg_att_row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_ATT_OF);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	return rows_read(s, st, out, n);
}

static const char SQL_ATT_ONE[] =
    "SELECT " ATT_COLUMNS " FROM attachment WHERE message_id = ?1 "
    "AND idx = ?2";

int
cg_store_attachment_get(struct cg_store *s, int64_t message_id, int idx,
                        struct cg_att_row *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_ATT_ONE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int(st, 2, idx);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_read(st, out);
	db_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return db_errorf(s, "attachment %lld/%d: not found",
		                 (long long)message_id, idx);
	return db_fail(s, "attachment");
}

static const char SQL_ATT_FETCHING[] =
    "SELECT " ATT_COLUMNS " FROM attachment WHERE state = "
    "'fetch' ORDER BY message_id, idx";

int
cg_store_attachments_fetching(struct cg_store *s, struct cg_att_row **out,
                              size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_ATT_FETCHING);
	if (st == NULL)
		return -1;
	return rows_read(s, st, out, n);
}

static const char SQL_ATT_DATA[] =
    "SELECT data FROM attachment WHERE message_id = ?1 AND idx = ?2 "
    "AND data IS NOT NULL";

int
cg_store_attachment_data(struct cg_store *s, int64_t message_id, int idx,
                         unsigned char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_ATT_DATA);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int(st, 2, idx);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*data = cg_malloc(*len ? *len : 1);
		if (*len)
			memcpy(*data, sqlite3_column_blob(st, 0), *len);
	}
	db_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return db_errorf(s, "attachment %lld/%d: holds no bytes",
		                 (long long)message_id, idx);
	return db_fail(s, "attachment data");
}

static const char SQL_ATT_UPDATE[] =
    "UPDATE attachment SET state = ?3, size = ?4, name = ?5, type = ?6, "
    "blob_id = ?7, url = ?8, note = ?9, "
    "data = CASE WHEN ?7 IS NULL THEN data END "
    "WHERE message_id = ?1 AND idx = ?2";

int
cg_store_attachment_update(struct cg_store *s, const struct cg_att_row *a)
{
	sqlite3_stmt *st = db_stmt(s, SQL_ATT_UPDATE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->message_id);
	sqlite3_bind_int(st, 2, a->idx);
	db_bind_text(st, 3, cg_att_state_name(a->state));
	sqlite3_bind_int64(st, 4, a->size);
	db_bind_text(st, 5, a->name);
	db_bind_text(st, 6, a->type);
	db_bind_text(st, 7, a->blob_id);
	db_bind_text(st, 8, a->url);
	db_bind_text(st, 9, a->note);
	if (db_exec(s, st, "attachment") != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return db_errorf(s, "attachment %lld/%d: not found",
		                 (long long)a->message_id, a->idx);
	return 0;
}

/* Distinct blobs, so a file sent twice counts once. */
static const char SQL_BOX_USAGE[] =
    "SELECT coalesce(sum(size), 0) FROM blob WHERE id IN "
    "(SELECT a.blob_id FROM attachment a JOIN message m "
    "ON m.id = a.message_id WHERE m.contact_id = ?1 "
    "AND a.blob_id IS NOT NULL)";

int64_t
cg_store_box_usage(struct cg_store *s, int64_t contact_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BOX_USAGE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	int64_t used = -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		used = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW)
		return db_fail(s, "SchutzBox usage");
	return used;
}
