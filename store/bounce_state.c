/*
 * bounce_state.c: the store side of bounces and mail commands (schema
 * 005_bounce.sql): bounce events and the score they add up to, suspended
 * addresses, +request confirmation tokens (mail handled outside the
 * pipeline and IMAP tries: bridge_state.c).  The policy (weights,
 * when to suspend, whom to tell) lives in bridges/email/bounce.c and request.c;
 * this file only reads and writes rows.
 *
 * The score is the sum of the weights of the events of the last 30 days
 * (CG_BOUNCE_WINDOW_S): older events drop out, there is no halving.  A
 * suspension is a row per address that the recipients query
 * (contacts.c, SQL_RECIPIENTS) excludes, whatever the memberships say.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_BOUNCE_ADD[] =
    "INSERT INTO bounce_event(address, at, permanent, weight, reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";

int
cg_store_bounce_add(struct cg_store *s, const char *address, int permanent,
                    const char *reason, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_BOUNCE_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, permanent ? 1 : 0);
	sqlite3_bind_double(st, 4, permanent ? 1.0 : 0.5);
	db_bind_text(st, 5, reason);
	return db_exec(s, st, address);
}

static const char SQL_BOUNCE_SCORE[] =
    "SELECT coalesce(sum(weight), 0) FROM bounce_event "
    "WHERE address = ?1 AND at > ?2";
static const char SQL_BOUNCE_LAST[] =
    "SELECT at, reason FROM bounce_event WHERE address = ?1 "
    "ORDER BY at DESC, id DESC LIMIT 1";
static const char SQL_BOUNCE_SUSPENDED[] =
    "SELECT since FROM bounce_suspension WHERE address = ?1";

int
cg_store_bounce_state(struct cg_store *s, const char *address, int64_t now,
                      struct cg_bounce_state *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_BOUNCE_SCORE);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	sqlite3_bind_int64(st, 2, now - CG_BOUNCE_WINDOW_S);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out->score = sqlite3_column_double(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW)
		return db_fail(s, "bounce score");
	st = db_stmt(s, SQL_BOUNCE_LAST);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->last = sqlite3_column_int64(st, 0);
		out->last_reason = db_col_text(st, 1);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "last bounce");
	st = db_stmt(s, SQL_BOUNCE_SUSPENDED);
	if (st != NULL)
		db_bind_text(st, 1, address);
	return db_scalar_checked(s, st, "bounce suspension", &out->suspended) <
	               0
	           ? -1
	           : 0;
}

void
cg_bounce_state_free(struct cg_bounce_state *b)
{
	if (b == NULL)
		return;
	free(b->last_reason);
	memset(b, 0, sizeof *b);
}

static const char SQL_SUSPEND[] =
    "INSERT INTO bounce_suspension(address, since, reason) "
    "VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

int
cg_store_bounce_suspend(struct cg_store *s, const char *address,
                        const char *reason, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_SUSPEND);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	sqlite3_bind_int64(st, 2, now);
	db_bind_text(st, 3, reason);
	if (db_exec(s, st, address) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

static const char SQL_UNSUSPEND[] =
    "DELETE FROM bounce_suspension WHERE address = ?1";
static const char SQL_BOUNCE_FORGET[] =
    "DELETE FROM bounce_event WHERE address = ?1";

int
cg_store_bounce_clear(struct cg_store *s, const char *address)
{
	sqlite3_stmt *st = db_stmt(s, SQL_UNSUSPEND);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	if (db_exec(s, st, address) != 0)
		return -1;
	st = db_stmt(s, SQL_BOUNCE_FORGET);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, address);
	return db_exec(s, st, address);
}

static const char SQL_TOKEN_ADD[] =
    "INSERT INTO request_token(token, channel_id, address, action, "
    "created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int
cg_store_request_token_add(struct cg_store *s, const char *token,
                           int64_t channel_id, const char *address,
                           const char *action, int64_t now, int64_t expires)
{
	sqlite3_stmt *st = db_stmt(s, SQL_TOKEN_ADD);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, token);
	sqlite3_bind_int64(st, 2, channel_id);
	db_bind_text(st, 3, address);
	db_bind_text(st, 4, action);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, expires);
	return db_exec(s, st, address);
}

void
cg_request_token_free(struct cg_request_token *t)
{
	if (t == NULL)
		return;
	free(t->address);
	free(t->action);
	memset(t, 0, sizeof *t);
}

static const char SQL_TOKEN_GET[] =
    "SELECT channel_id, address, action FROM request_token "
    "WHERE token = ?1 AND used IS NULL AND expires > ?2";
static const char SQL_TOKEN_USE[] =
    "UPDATE request_token SET used = ?2 WHERE token = ?1";

int
cg_store_request_token_take(struct cg_store *s, const char *token, int64_t now,
                            struct cg_request_token *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_stmt(s, SQL_TOKEN_GET);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, token);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->channel_id = sqlite3_column_int64(st, 0);
		out->address = db_col_text(st, 1);
		out->action = db_col_text(st, 2);
	}
	db_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(s, "request token");
	st = db_stmt(s, SQL_TOKEN_USE);
	if (st != NULL) {
		db_bind_text(st, 1, token);
		sqlite3_bind_int64(st, 2, now);
		if (db_exec(s, st, "request token") == 0)
			return 1;
	}
	cg_request_token_free(out);
	return -1;
}
