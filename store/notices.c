/*
 * notices.c: mail the gateway writes to one person (answers to +request,
 * confirmations, auto-replies, held-post notes, a member's copy of a
 * digest): the notice row with its one outbox row, counted per sender
 * for rate limits; and the digests (schema 006: what each covered, which
 * notices are its copies).  Must never: store a notice without its
 * outbox row, or read a failed count as "none sent".
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_NOTICE_INSERT[] =
    "INSERT INTO notice(channel_id, from_addr, to_addr, subject, body, "
    "in_reply_to, auto_submitted, message_id, created) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_NOTICE_ROW[] =
    "INSERT INTO outbox(notice_id, bridge, destination, next_attempt_ms, "
    "created) VALUES (?1, ?2, ?3, ?4, ?5)";

static const char SQL_NOTICE_GET[] =
    "SELECT channel_id, from_addr, to_addr, subject, body, in_reply_to, "
    "auto_submitted, message_id, created FROM notice WHERE id = ?1";

static const char SQL_NOTICE_COUNT[] =
    "SELECT count(*) FROM notice WHERE to_addr = ?1 AND from_addr = ?2 "
    "AND created >= ?3";

void
cg_notice_free(struct cg_notice *n)
{
	if (n == NULL)
		return;
	free(n->from_addr);
	free(n->to_addr);
	free(n->subject);
	free(n->body);
	free(n->in_reply_to);
	free(n->auto_submitted);
	free(n->message_id);
	memset(n, 0, sizeof *n);
}

int
cg_store_notice_add_via(struct cg_store *s, struct cg_notice *n,
                        const char *domain, const char *bridge,
                        const char *destination)
{
	if (n->message_id == NULL) {
		char *r = cg_random_hex(20);
		n->message_id = cg_asprintf("cg.notice.%s@%s", r, domain);
		free(r);
	}
	if (n->auto_submitted == NULL)
		n->auto_submitted = cg_strdup("auto-generated");
	n->created = cg_now();
	sqlite3_stmt *st = db_stmt(s, SQL_NOTICE_INSERT);
	if (st == NULL)
		return -1;
	db_bind_id(st, 1, n->channel_id);
	db_bind_text(st, 2, n->from_addr);
	db_bind_text(st, 3, n->to_addr);
	db_bind_text(st, 4, n->subject);
	db_bind_text(st, 5, n->body);
	db_bind_text(st, 6, n->in_reply_to);
	db_bind_text(st, 7, n->auto_submitted);
	db_bind_text(st, 8, n->message_id);
	sqlite3_bind_int64(st, 9, n->created);
	if (db_exec(s, st, n->to_addr) != 0)
		return -1;
	n->id = sqlite3_last_insert_rowid(s->db);
	st = db_stmt(s, SQL_NOTICE_ROW);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, n->id);
	db_bind_text(st, 2, bridge);
	db_bind_text(st, 3, destination);
	sqlite3_bind_int64(st, 4, cg_now_ms());
	sqlite3_bind_int64(st, 5, n->created);
	return db_exec(s, st, destination);
}

int
cg_store_notice_add(struct cg_store *s, struct cg_notice *n, const char *domain)
{
	if (n->auto_submitted == NULL)
		n->auto_submitted = cg_strdup("auto-replied");
	return cg_store_notice_add_via(s, n, domain, "email", n->to_addr);
}

int
cg_store_notice_get(struct cg_store *s, int64_t id, struct cg_notice *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_row_by_id(s, SQL_NOTICE_GET, id, "notice");
	if (st == NULL)
		return -1;
	out->id = id;
	out->channel_id = sqlite3_column_int64(st, 0);
	out->from_addr = db_col_text(st, 1);
	out->to_addr = db_col_text(st, 2);
	out->subject = db_col_text(st, 3);
	out->body = db_col_text(st, 4);
	out->in_reply_to = db_col_text(st, 5);
	out->auto_submitted = db_col_text(st, 6);
	out->message_id = db_col_text(st, 7);
	out->created = sqlite3_column_int64(st, 8);
	db_done(st);
	return 0;
}

int
cg_store_notice_count(struct cg_store *s, const char *to_addr,
                      const char *from_addr, int64_t since, int64_t *count)
{
	sqlite3_stmt *st = db_stmt(s, SQL_NOTICE_COUNT);
	if (st != NULL) {
		db_bind_text(st, 1, to_addr);
		db_bind_text(st, 2, from_addr);
		sqlite3_bind_int64(st, 3, since);
	}
	return db_scalar_checked(s, st, "notice count", count) < 0 ? -1 : 0;
}

static const char SQL_DIGEST_ADD[] =
    "INSERT INTO digest(channel_id, period_start, period_end, "
    "first_message_id, last_message_id, messages, created) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_DIGEST_MESSAGE_ADD[] =
    "INSERT INTO digest_message(digest_id, message_id) VALUES (?1, ?2)";

static const char SQL_DIGEST_NOTICE_ADD[] =
    "INSERT INTO digest_notice(notice_id, digest_id) VALUES (?1, ?2)";

static const char SQL_NOTICE_DIGEST[] =
    "SELECT digest_id FROM digest_notice WHERE notice_id = ?1";

int
cg_store_digest_add(struct cg_store *s, int64_t channel_id,
                    int64_t period_start, int64_t period_end,
                    const int64_t *ids, size_t n, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_DIGEST_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, channel_id);
	sqlite3_bind_int64(st, 2, period_start);
	sqlite3_bind_int64(st, 3, period_end);
	db_bind_id(st, 4, n ? ids[0] : 0);
	db_bind_id(st, 5, n ? ids[n - 1] : 0);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)n);
	sqlite3_bind_int64(st, 7, cg_now());
	if (db_exec(s, st, "digest") != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	for (size_t i = 0; i < n; i++) {
		st = db_stmt(s, SQL_DIGEST_MESSAGE_ADD);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int64(st, 2, ids[i]);
		if (db_exec(s, st, "digest message") != 0)
			return -1;
	}
	return 0;
}

int
cg_store_digest_notice_add(struct cg_store *s, int64_t digest_id,
                           int64_t notice_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_DIGEST_NOTICE_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, notice_id);
	sqlite3_bind_int64(st, 2, digest_id);
	return db_exec(s, st, "digest notice");
}

int
cg_store_notice_digest(struct cg_store *s, int64_t notice_id,
                       int64_t *digest_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_NOTICE_DIGEST);
	if (st != NULL)
		sqlite3_bind_int64(st, 1, notice_id);
	return db_scalar_checked(s, st, "notice's digest", digest_id);
}
