/*
 * box_index.c: the SQL of the SchutzBox: blob rows, manual references,
 * gc candidates and the per-contact quota.  The bytes and the crypto live
 * in box.c / box_file.c.
 * Must never: delete a row that is referenced (the delete re-checks
 * refcount, and attachment.blob_id's foreign key would refuse it anyway).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/box_index.h"
#include "store/db.h"

int
cg_box_index_begin(struct cg_store *s, int *own)
{
	*own = sqlite3_get_autocommit(s->db) != 0;
	return *own ? cg_store_begin(s) : 0;
}

int
cg_box_index_end(struct cg_store *s, int own, int ok)
{
	if (!own)
		return 0;
	if (ok && cg_store_commit(s) == 0)
		return 0;
	cg_store_rollback(s);
	return ok ? -1 : 0;
}

static const char SQL_BLOB_ADD[] =
    "INSERT INTO blob(id, size, type, name, refcount, created, touched) "
    "VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5) "
    "ON CONFLICT(id) DO UPDATE SET touched = excluded.touched, "
    "type = coalesce(blob.type, excluded.type), "
    "name = coalesce(blob.name, excluded.name)";
static const char SQL_BLOB_REF_ADD[] =
    "INSERT INTO blob_ref(blob_id, kind, name, created) "
    "VALUES (?1, 'manual', ?2, ?3)";

int
cg_box_index_add(struct cg_store *s, const char *id, int64_t size,
                 const char *type, const char *name, int manual_ref,
                 int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BLOB_ADD);
	if (st == NULL)
		return CG_BOX_EIO;
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, size);
	db_bind_text(st, 3, type);
	db_bind_text(st, 4, name);
	sqlite3_bind_int64(st, 5, now);
	if (db_exec(s, st, id) != 0)
		return CG_BOX_EIO;
	if (!manual_ref)
		return 0;
	st = db_stmt(s, SQL_BLOB_REF_ADD);
	if (st == NULL)
		return CG_BOX_EIO;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, now);
	return db_exec(s, st, id) == 0 ? 0 : CG_BOX_EIO;
}

#define BLOB_COLUMNS "id, size, type, name, refcount, created, touched"
static const char SQL_BLOB_GET[] =
    "SELECT " BLOB_COLUMNS " FROM blob WHERE id = ?1";
static const char SQL_BLOB_EACH[] =
    "SELECT " BLOB_COLUMNS " FROM blob ORDER BY created, id";

static void
read_row(sqlite3_stmt *st, struct cg_box_info *out)
{
	const unsigned char *id = sqlite3_column_text(st, 0);
	memset(out, 0, sizeof *out);
	if (id && strlen((const char *)id) == CG_BOX_ID_LEN)
		memcpy(out->id, id, CG_BOX_ID_LEN + 1);
	out->size = sqlite3_column_int64(st, 1);
	out->type = db_col_text(st, 2);
	out->name = db_col_text(st, 3);
	out->refs = sqlite3_column_int64(st, 4);
	out->created = sqlite3_column_int64(st, 5);
	out->touched = sqlite3_column_int64(st, 6);
}

int
cg_box_index_get(struct cg_store *s, const char *id, struct cg_box_info *out)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BLOB_GET);
	memset(out, 0, sizeof *out);
	if (st == NULL)
		return CG_BOX_EIO;
	db_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_row(st, out);
	db_done(st);
	if (rc == SQLITE_DONE)
		return CG_BOX_ENOENT;
	if (rc != SQLITE_ROW) {
		db_fail(s, id);
		return CG_BOX_EIO;
	}
	return 0;
}

int
cg_box_index_each(struct cg_store *s, cg_box_cb *cb, void *arg)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BLOB_EACH);
	if (st == NULL)
		return CG_BOX_EIO;
	int rc, stop = 0;
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cg_box_info info;
		read_row(st, &info);
		stop = cb(&info, arg);
		cg_box_info_free(&info);
	}
	if (stop == 0 && rc != SQLITE_DONE) {
		db_fail(s, "blob index");
		stop = CG_BOX_EIO;
	}
	db_done(st);
	return stop;
}

static const char SQL_BLOB_UNREF[] =
    "DELETE FROM blob_ref WHERE id = (SELECT max(id) FROM blob_ref "
    "WHERE blob_id = ?1 AND kind = 'manual')";

int
cg_box_index_unref(struct cg_store *s, const char *id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BLOB_UNREF);
	if (st == NULL)
		return CG_BOX_EIO;
	db_bind_text(st, 1, id);
	if (db_exec(s, st, id) != 0)
		return CG_BOX_EIO;
	return sqlite3_changes(s->db) > 0 ? 0 : CG_BOX_ENOENT;
}

static const char SQL_BLOB_UNREFERENCED[] =
    "SELECT id FROM blob WHERE refcount <= 0 AND touched <= ?1 "
    "ORDER BY id LIMIT ?2";

int
cg_box_index_unreferenced(struct cg_store *s, int64_t before,
                          char (*ids)[CG_BOX_ID_LEN + 1], size_t max, size_t *n)
{
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_BLOB_UNREFERENCED);
	if (st == NULL)
		return CG_BOX_EIO;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		if (id && strlen((const char *)id) == CG_BOX_ID_LEN)
			memcpy(ids[(*n)++], id, CG_BOX_ID_LEN + 1);
	}
	db_done(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_fail(s, "blob gc");
		return CG_BOX_EIO;
	}
	return 0;
}

static const char SQL_BLOB_DELETE[] =
    "DELETE FROM blob WHERE id = ?1 AND refcount <= 0 AND touched <= ?2";

int
cg_box_index_delete(struct cg_store *s, const char *id, int64_t before)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BLOB_DELETE);
	if (st == NULL)
		return CG_BOX_EIO;
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, before);
	if (db_exec(s, st, id) != 0)
		return CG_BOX_EIO;
	return sqlite3_changes(s->db) > 0 ? 0 : CG_BOX_ENOENT;
}

static const char SQL_ATTACHMENT_LINK[] =
    "UPDATE attachment SET blob_id = ?3, data = NULL "
    "WHERE message_id = ?1 AND idx = ?2 "
    "AND EXISTS (SELECT 1 FROM blob WHERE id = ?3)";

int
cg_box_attachment_link(struct cg_store *s, int64_t message_id, int idx,
                       const char *id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_ATTACHMENT_LINK);
	if (st == NULL)
		return CG_BOX_EIO;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int(st, 2, idx);
	db_bind_text(st, 3, id);
	if (db_exec(s, st, id) != 0)
		return CG_BOX_EIO;
	return sqlite3_changes(s->db) > 0 ? 0 : CG_BOX_ENOENT;
}

int
cg_box_quota_ok(struct cg_store *s, int64_t contact_id, int64_t size,
                int64_t quota_mb, int64_t *used_out)
{
	if (quota_mb <= 0)
		return 1;
	int64_t used = cg_store_box_usage(s, contact_id);
	if (used < 0)
		return -1;
	if (used_out)
		*used_out = used;
	int64_t limit = quota_mb > INT64_MAX / (1024 * 1024)
	                    ? INT64_MAX
	                    : quota_mb * 1024 * 1024;
	return size >= 0 && used <= limit && size <= limit - used;
}
