/*
 * db.c: opening the SQLite store, migrations, transactions, the
 * prepared-statement cache and the key/value table.
 *
 * The schema lives in store/schema/NNN_name.sql, compiled in; each pending
 * migration runs in its own transaction and sets PRAGMA user_version to its
 * number, so a crash mid-migration leaves the previous version intact.
 * Must never: build SQL from data (prepared statements only), or be used
 * from two threads.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/db.h"
#include "store/migrations.h"

int
db_fail(struct cg_store *s, const char *what)
{
	free(s->err);
	s->err =
	    cg_asprintf("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	cg_error("%s", s->err);
	return -1;
}

int
db_errorf(struct cg_store *s, const char *fmt, ...)
{
	struct cg_buf b = CG_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	cg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(s->err);
	s->err = cg_buf_steal(&b);
	cg_error("%s", s->err);
	return -1;
}

sqlite3_stmt *
db_row_by_id(struct cg_store *s, const char *sql, int64_t id, const char *what)
{
	sqlite3_stmt *st = db_stmt(s, sql);
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_done(st);
		free(s->err);
		s->err = cg_asprintf("%s %lld: not found", what, (long long)id);
		return NULL;
	}
	return st;
}

const char *
cg_store_errmsg(struct cg_store *s)
{
	return s->err ? s->err : "no error";
}

sqlite3_stmt *
db_stmt(struct cg_store *s, const char *sql)
{
	for (int i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	                       NULL) != SQLITE_OK) {
		db_fail(s, "prepare");
		return NULL;
	}
	if (s->ncache == s->capcache) {
		s->capcache = s->capcache ? s->capcache * 2 : 64;
		s->cache = cg_realloc(s->cache,
		                      (size_t)s->capcache * sizeof *s->cache);
	}
	s->cache[s->ncache].sql = sql;
	s->cache[s->ncache].st = st;
	s->ncache++;
	return st;
}

void
db_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

void
db_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void
db_bind_id(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

char *
db_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? cg_strdup((const char *)t) : NULL;
}

int
db_exec(struct cg_store *s, sqlite3_stmt *st, const char *what)
{
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_fail(s, what);
		db_done(st);
		return -1;
	}
	db_done(st);
	return 0;
}

int
db_scalar_checked(struct cg_store *s, sqlite3_stmt *st, const char *what,
                  int64_t *out)
{
	*out = 0;
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, what);
	return rc == SQLITE_ROW ? 1 : 0;
}

const char *
db_layer_name(enum cg_layer l)
{
	return cg_layer_name(l);
}

enum cg_layer
db_layer_parse(const char *str)
{
	enum cg_layer l = CG_LAYER_GUEST;
	if (str)
		cg_layer_parse(str, &l);
	return l;
}

static int
exec_sql(struct cg_store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		free(s->err);
		s->err = cg_asprintf("%s: %s: %s", s->path, what,
		                     msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
cg_store_version(struct cg_store *s)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

/* Apply every migration newer than user_version, each in a transaction. */
static int
migrate(struct cg_store *s)
{
	int have = cg_store_version(s);
	if (have < 0)
		return db_fail(s, "read schema version");
	int newest = cg_migrations_count
	                 ? cg_migrations[cg_migrations_count - 1].version
	                 : 0;
	if (have > newest) {
		/* Not logged: the caller reports it (once). */
		free(s->err);
		s->err = cg_asprintf("%s: schema version %d is newer than this "
		                     "coopgate knows (%d); upgrade coopgate",
		                     s->path, have, newest);
		return -1;
	}
	for (int i = 0; i < cg_migrations_count; i++) {
		const struct cg_migration *m = &cg_migrations[i];
		if (m->version <= have)
			continue;
		char *what = cg_asprintf("migration %s", m->name);
		char *ver = cg_asprintf("PRAGMA user_version = %d", m->version);
		int r = exec_sql(s, "BEGIN IMMEDIATE", what);
		if (r == 0)
			r = exec_sql(s, m->sql, what);
		if (r == 0)
			r = exec_sql(s, ver, what);
		if (r == 0)
			r = exec_sql(s, "COMMIT", what);
		else
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		free(ver);
		free(what);
		if (r != 0)
			return -1;
		cg_debug("store: applied migration %s", m->name);
	}
	return 0;
}

static int
store_open(const char *data_dir, int flags, int create, struct cg_store **out,
           char **err)
{
	struct cg_store *s = cg_calloc(1, sizeof *s);
	s->path = cg_asprintf("%s/coopgate.db", data_dir);
	s->readonly = !(flags & SQLITE_OPEN_READWRITE);
	*out = NULL;
	if (!create && access(s->path, F_OK) != 0) {
		*err = cg_asprintf("%s: no database (run 'coopgate init')",
		                   s->path);
		goto fail;
	}
	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		*err =
		    cg_asprintf("%s: %s", s->path,
		                s->db ? sqlite3_errmsg(s->db) : "open failed");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	if (!s->readonly) {
		if (exec_sql(s, "PRAGMA journal_mode = WAL", "enable WAL") ||
		    exec_sql(s, "PRAGMA synchronous = NORMAL", "synchronous"))
			goto fail_err;
	}
	if (exec_sql(s, "PRAGMA foreign_keys = ON", "foreign keys"))
		goto fail_err;
	/* Before migrating: schema 013's index needs its tokenizer. */
	if (db_search_register(s) != 0)
		goto fail_err;
	if (!s->readonly && migrate(s) != 0)
		goto fail_err;
	*out = s;
	return 0;
fail_err:
	*err = cg_strdup(s->err);
fail:
	cg_store_close(s);
	return -1;
}

int
cg_store_open(const char *data_dir, int create, struct cg_store **out,
              char **err)
{
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (create) {
		/* The database holds private mail: owner only. */
		mode_t old = umask(077);
		int r = store_open(data_dir, flags, create, out, err);
		umask(old);
		return r;
	}
	return store_open(data_dir, flags, create, out, err);
}

int
cg_store_open_readonly(const char *data_dir, struct cg_store **out, char **err)
{
	return store_open(data_dir, SQLITE_OPEN_READONLY, 0, out, err);
}

void
cg_store_close(struct cg_store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	free(s->cache);
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
	free(s->err);
	free(s);
}

void
cg_store_small_cache(struct cg_store *s)
{
	/* Negative: KiB.  SQLite's default is 2 MB of page cache per
	 * connection; the daemon's working set (outbox, recent threads,
	 * members of one channel) is far smaller, and the OS page cache
	 * keeps the file hot anyway (bench/search.sh: the 1,000,000-message
	 * search p99 does not change with it). */
	if (exec_sql(s, "PRAGMA cache_size = -512", "cache size") != 0)
		cg_warn("%s: cannot lower the page cache: %s", s->path, s->err);
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

int
cg_store_begin(struct cg_store *s)
{
	return db_exec(s, db_stmt(s, SQL_BEGIN), "begin transaction");
}

int
cg_store_commit(struct cg_store *s)
{
	return db_exec(s, db_stmt(s, SQL_COMMIT), "commit");
}

void
cg_store_rollback(struct cg_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		db_exec(s, db_stmt(s, SQL_ROLLBACK), "rollback");
}

int
cg_store_integrity_check(struct cg_store *s)
{
	sqlite3_stmt *st;
	int ok = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st,
	                       NULL) != SQLITE_OK)
		return db_fail(s, "integrity check");
	if (sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0)
		ok = 0;
	sqlite3_finalize(st);
	return ok;
}

static const char SQL_KV_GET[] = "SELECT value FROM kv WHERE key = ?1";
static const char SQL_KV_SET[] =
    "INSERT INTO kv(key, value) VALUES (?1, ?2) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value";

int
cg_store_kv_get(struct cg_store *s, const char *key, char **value)
{
	sqlite3_stmt *st = db_stmt(s, SQL_KV_GET);
	*value = NULL;
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = db_col_text(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, key);
	return 0;
}

int
cg_store_kv_set(struct cg_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = db_stmt(s, SQL_KV_SET);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, key);
	db_bind_text(st, 2, value);
	return db_exec(s, st, key);
}

int
cg_store_kv_get_int(struct cg_store *s, const char *key, int64_t *v)
{
	char *str;
	*v = 0;
	if (cg_store_kv_get(s, key, &str) != 0)
		return -1;
	if (str)
		*v = strtoll(str, NULL, 10);
	free(str);
	return 0;
}

int
cg_store_kv_set_int(struct cg_store *s, const char *key, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)v);
	return cg_store_kv_set(s, key, buf);
}

static const char SQL_SAVEPOINT[] = "SAVEPOINT cg_crm";
static const char SQL_SAVEPOINT_RELEASE[] = "RELEASE cg_crm";
static const char SQL_SAVEPOINT_ROLLBACK[] = "ROLLBACK TO cg_crm";

int
cg_store_savepoint(struct cg_store *s)
{
	return db_exec(s, db_stmt(s, SQL_SAVEPOINT), "savepoint");
}

int
cg_store_savepoint_release(struct cg_store *s)
{
	return db_exec(s, db_stmt(s, SQL_SAVEPOINT_RELEASE), "release");
}

void
cg_store_savepoint_rollback(struct cg_store *s)
{
	if (db_exec(s, db_stmt(s, SQL_SAVEPOINT_ROLLBACK), "rollback to") == 0)
		db_exec(s, db_stmt(s, SQL_SAVEPOINT_RELEASE), "release");
}
