/*
 * db.h: private to store/: the SQLite handle, the prepared-statement cache
 * and binding helpers shared by the .c files of store/.  Nothing outside store/
 * includes this file.
 */
#ifndef CG_DB_H
#define CG_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/store.h"

struct cg_store {
	sqlite3 *db;
	char *path;
	int readonly;
	char *err; /* last error message */
	struct db_cached {
		const char *sql; /* the static string: cached by address */
		sqlite3_stmt *st;
	} * cache; /* grows: one entry per SQL string used */
	int ncache, capcache;
};

/*
 * A ready statement for a static SQL string, reset and with bindings
 * cleared; NULL on error (logged).  Never finalize it; it lives as long as
 * the store.  Call db_done() after stepping.
 */
sqlite3_stmt *db_stmt(struct cg_store *s, const char *sql);
void db_done(sqlite3_stmt *st);
/* Record and log an error naming `what`; returns -1. */
int db_fail(struct cg_store *s, const char *what);
/* Record (and log) an error message of our own; returns -1. */
int db_errorf(struct cg_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Bind id to ?1 of sql and step to its row: the statement, positioned on
 * the row (call db_done() after reading), or NULL with the error
 * "WHAT ID: not found" recorded (not logged: absence is often expected).
 */
sqlite3_stmt *db_row_by_id(struct cg_store *s, const char *sql, int64_t id,
                           const char *what);

void db_bind_text(sqlite3_stmt *st, int i, const char *v); /* NULL -> NULL */
void db_bind_id(sqlite3_stmt *st, int i, int64_t v);       /* 0 -> NULL */
char *db_col_text(sqlite3_stmt *st, int i);                /* malloc'd/NULL */
/* Run a statement expected to return no rows; -1 on error. */
int db_exec(struct cg_store *s, sqlite3_stmt *st, const char *what);
/* The first column of the first row into *out: 1 a row, 0 no row (*out 0),
 * -1 an error (logged; st may be NULL after a failed db_stmt()).  An error
 * never reads as a value: use this wherever "none" and "failed" differ. */
int db_scalar_checked(struct cg_store *s, sqlite3_stmt *st, const char *what,
                      int64_t *out);

/* Register the cg_stem FTS5 tokenizer (search_tokenizer.c) on s->db. */
int db_search_register(struct cg_store *s);
/* Adds the ranking function cg_window_rank (search_rank.c) to FTS5. */
int db_search_rank_register(struct cg_store *s, fts5_api *api);

const char *db_layer_name(enum cg_layer l);
/* Layer order as SQL: guest 0 .. core 3. */
#define LAYER_RANK(col)                                                        \
	"(CASE " col " WHEN 'guest' THEN 0 WHEN 'partner' THEN 1 WHEN "        \
	"'member' THEN 2 ELSE 3 END)"
enum cg_layer db_layer_parse(const char *s);

#endif
