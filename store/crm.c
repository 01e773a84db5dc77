/*
 * crm.c: what the CRM keeps about contacts beyond contacts.c: activity
 * counts, tags, notes, organisations and their mail domains, nominations
 * and held posts (schema 003_crm.sql).
 *
 * An organisation "owns" a mail domain when a config- or CLI-made member
 * of it has an address there; free-mail domains never belong to one.
 * Must never: link a contact to an organisation through a free-mail
 * domain, or release a held post twice.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "store/db.h"

static const char SQL_INTERACTION_COUNT[] =
    "SELECT count(*) FROM interaction WHERE contact_id = ?1 AND "
    "direction = ?2 AND at >= ?3";

int
cg_store_interaction_count(struct cg_store *s, int64_t contact_id,
                           const char *direction, int64_t since, int64_t *count)
{
	sqlite3_stmt *st = db_stmt(s, SQL_INTERACTION_COUNT);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, contact_id);
		db_bind_text(st, 2, direction);
		sqlite3_bind_int64(st, 3, since);
	}
	return db_scalar_checked(s, st, "interaction count", count) < 0 ? -1
	                                                                : 0;
}

static const char SQL_LAST_SEEN[] =
    "SELECT coalesce(max(at), 0) FROM interaction WHERE contact_id = ?1";

int
cg_store_contact_last_seen(struct cg_store *s, int64_t contact_id, int64_t *at)
{
	sqlite3_stmt *st = db_stmt(s, SQL_LAST_SEEN);
	if (st != NULL)
		sqlite3_bind_int64(st, 1, contact_id);
	return db_scalar_checked(s, st, "last seen", at) < 0 ? -1 : 0;
}

static const char SQL_TAGS[] =
    "SELECT tag FROM contact_tag WHERE contact_id = ?1 ORDER BY tag";
static const char SQL_TAG_ADD[] =
    "INSERT INTO contact_tag(contact_id, tag) VALUES (?1, ?2) "
    "ON CONFLICT DO NOTHING";

int
cg_store_contact_tags(struct cg_store *s, int64_t contact_id, char ***out,
                      size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_TAGS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = db_col_text(st, 0);
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "tags");
}

int
cg_store_contact_tag_add(struct cg_store *s, int64_t contact_id,
                         const char *tag)
{
	sqlite3_stmt *st = db_stmt(s, SQL_TAG_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	db_bind_text(st, 2, tag);
	return db_exec(s, st, tag);
}

static const char SQL_NOTE[] = "SELECT notes FROM contact WHERE id = ?1";
static const char SQL_SET_NOTE[] =
    "UPDATE contact SET notes = ?2 WHERE id = ?1";

int
cg_store_contact_note(struct cg_store *s, int64_t contact_id, char **out)
{
	*out = NULL;
	sqlite3_stmt *st = db_row_by_id(s, SQL_NOTE, contact_id, "contact");
	if (st == NULL)
		return -1;
	*out = db_col_text(st, 0);
	db_done(st);
	return 0;
}

int
cg_store_contact_set_note(struct cg_store *s, int64_t contact_id,
                          const char *note)
{
	sqlite3_stmt *st = db_stmt(s, SQL_SET_NOTE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	db_bind_text(st, 2, note && *note ? note : NULL);
	return db_exec(s, st, "note");
}

static const char SQL_SET_NAME[] = "UPDATE contact SET name = ?2 WHERE id = ?1";
static const char SQL_ORG_FIND[] =
    "SELECT id FROM contact WHERE kind = 'org' AND name = ?1";
static const char SQL_ORG_INSERT[] =
    "INSERT INTO contact(kind, name, layer, layer_since, source, created) "
    "VALUES ('org', ?1, 'guest', ?2, 'cli', ?2)";
static const char SQL_LINK_ORG[] =
    "UPDATE contact SET org_id = ?2 WHERE id = ?1";

int
cg_store_contact_set_name(struct cg_store *s, int64_t contact_id,
                          const char *name)
{
	if (name == NULL)
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_SET_NAME);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	db_bind_text(st, 2, name);
	return db_exec(s, st, "name");
}

int
cg_store_contact_link_org(struct cg_store *s, int64_t contact_id,
                          int64_t org_id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_LINK_ORG);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	db_bind_id(st, 2, org_id);
	return db_exec(s, st, "link organisation");
}

int
cg_store_contact_set_org(struct cg_store *s, int64_t contact_id,
                         const char *org)
{
	if (org == NULL)
		return 0;
	int64_t org_id = 0;
	if (*org) {
		sqlite3_stmt *st = db_stmt(s, SQL_ORG_FIND);
		if (st == NULL)
			return -1;
		db_bind_text(st, 1, org);
		if (db_scalar_checked(s, st, org, &org_id) < 0)
			return -1;
		if (org_id == 0) {
			st = db_stmt(s, SQL_ORG_INSERT);
			if (st == NULL)
				return -1;
			db_bind_text(st, 1, org);
			sqlite3_bind_int64(st, 2, cg_now());
			if (db_exec(s, st, org) != 0)
				return -1;
			org_id = sqlite3_last_insert_rowid(s->db);
		}
	}
	return cg_store_contact_link_org(s, contact_id, org_id);
}

/* Mail providers anyone can sign up with: a shared domain says nothing
 * about a person's organisation. */
static const char *const free_mail[] = {
    "gmail.com",       "googlemail.com", "outlook.com",   "outlook.de",
    "hotmail.com",     "hotmail.de",     "live.com",      "live.de",
    "msn.com",         "yahoo.com",      "yahoo.de",      "ymail.com",
    "gmx.de",          "gmx.net",        "gmx.at",        "gmx.ch",
    "gmx.com",         "web.de",         "t-online.de",   "posteo.de",
    "posteo.net",      "mailbox.org",    "icloud.com",    "me.com",
    "mac.com",         "protonmail.com", "protonmail.ch", "proton.me",
    "pm.me",           "aol.com",        "aol.de",        "freenet.de",
    "arcor.de",        "online.de",      "email.de",      "mail.de",
    "vodafonemail.de", "tutanota.com",   "tutanota.de",   "tuta.io",
    "zoho.com",        "yandex.com",     "yandex.ru",     "mail.ru",
    "fastmail.com",    "fastmail.fm",    "hey.com",       "riseup.net",
    "disroot.org",
};

int
cg_mail_domain_is_free(const char *domain)
{
	if (domain == NULL)
		return 0;
	for (size_t i = 0; i < sizeof free_mail / sizeof *free_mail; i++)
		if (strcasecmp(domain, free_mail[i]) == 0)
			return 1;
	return 0;
}

/* Organisations whose config/CLI members have an address at ?1. */
static const char SQL_ORG_BY_DOMAIN[] =
    "SELECT DISTINCT c.org_id FROM contact c JOIN identity i ON "
    "i.contact_id = c.id AND i.kind = 'email' WHERE c.kind = 'person' "
    "AND c.source IN ('config','cli') AND c.org_id IS NOT NULL AND "
    "lower(substr(i.value, instr(i.value, '@') + 1)) = lower(?1) LIMIT 2";

int
cg_store_org_by_domain(struct cg_store *s, const char *domain, int64_t *org_id)
{
	*org_id = 0;
	if (domain == NULL || *domain == '\0' || cg_mail_domain_is_free(domain))
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_ORG_BY_DOMAIN);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, domain);
	int64_t org = 0;
	int rows = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		org = sqlite3_column_int64(st, 0);
		rows++;
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, domain);
	*org_id = rows == 1 ? org : 0; /* two organisations: nobody's */
	return rows == 1;
}

static const char SQL_NOMINATION_ADD[] =
    "INSERT INTO nomination(nominee_id, nominator_id, channel_id, "
    "target_layer, created) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT DO NOTHING";

int
cg_store_nomination_add(struct cg_store *s, int64_t nominee, int64_t nominator,
                        int64_t channel_id, enum cg_layer target, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_NOMINATION_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, nominee);
	sqlite3_bind_int64(st, 2, nominator);
	db_bind_id(st, 3, channel_id);
	db_bind_text(st, 4, db_layer_name(target));
	sqlite3_bind_int64(st, 5, now);
	if (db_exec(s, st, "nomination") != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

static const char SQL_NOMINATIONS_PENDING[] =
    "SELECT n.nominator_id, coalesce(p.name, (SELECT value FROM identity "
    "i WHERE i.contact_id = p.id ORDER BY i.kind, i.id LIMIT 1)), "
    "p.layer, n.target_layer, n.created FROM nomination n "
    "JOIN contact c ON c.id = n.nominee_id "
    "JOIN contact p ON p.id = n.nominator_id "
    "WHERE n.nominee_id = ?1 AND " LAYER_RANK(
        "n.target_layer") " > " LAYER_RANK("c.layer") " ORDER BY n.created, "
                                                      "n.id";

int
cg_store_nominations_pending(struct cg_store *s, int64_t nominee,
                             struct cg_nomination **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_NOMINATIONS_PENDING);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, nominee);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_nomination *v = &(*out)[(*n)++];
		v->nominator_id = sqlite3_column_int64(st, 0);
		v->nominator = db_col_text(st, 1);
		v->nominator_layer =
		    db_layer_parse((const char *)sqlite3_column_text(st, 2));
		v->target =
		    db_layer_parse((const char *)sqlite3_column_text(st, 3));
		v->created = sqlite3_column_int64(st, 4);
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "nominations");
}

void
cg_nominations_free(struct cg_nomination *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].nominator);
	free(v);
}

static const char SQL_HELD_ADD[] =
    "INSERT INTO held_post(message_id, contact_id, channel_id, held_at, "
    "expires) VALUES (?1, ?2, ?3, ?4, ?5)";

int
cg_store_held_add(struct cg_store *s, int64_t message_id, int64_t contact_id,
                  int64_t channel_id, int64_t now, int64_t expires)
{
	sqlite3_stmt *st = db_stmt(s, SQL_HELD_ADD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	db_bind_id(st, 2, contact_id);
	sqlite3_bind_int64(st, 3, channel_id);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, expires);
	return db_exec(s, st, "held post");
}

static const char SQL_HELD_FOR_CONTACT[] =
    "SELECT h.message_id FROM held_post h JOIN channel ch ON "
    "ch.id = h.channel_id WHERE h.contact_id = ?1 AND h.state = 'held' "
    "AND h.unverified = 0 "
    "AND h.expires > ?3 AND " LAYER_RANK(
        "ch.post_layer") " <= ?2 "
                         "ORDER BY h.message_id";

int
cg_store_held_for_contact(struct cg_store *s, int64_t contact_id,
                          enum cg_layer layer, int64_t now, int64_t **ids,
                          size_t *n)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_HELD_FOR_CONTACT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	sqlite3_bind_int(st, 2, (int)layer);
	sqlite3_bind_int64(st, 3, now);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = cg_realloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(s, "held posts");
}

static const char SQL_HELD_RELEASE[] =
    "UPDATE held_post SET state = 'released', changed = ?2 WHERE "
    "message_id = ?1 AND state = 'held'";
static const char SQL_MESSAGE_UNHOLD[] =
    "UPDATE message SET flags = flags & ~?2 WHERE id = ?1";

int
cg_store_held_release(struct cg_store *s, int64_t message_id, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_HELD_RELEASE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int64(st, 2, now);
	if (db_exec(s, st, "release held post") != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return db_errorf(s, "message %lld: not held",
		                 (long long)message_id);
	st = db_stmt(s, SQL_MESSAGE_UNHOLD);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, message_id);
	sqlite3_bind_int64(st, 2, 1 << 4); /* CG_MSG_HELD (gateway/msg.h) */
	return db_exec(s, st, "release held post");
}

static const char SQL_HELD_EXPIRE_BODIES[] =
    "UPDATE message SET body = NULL, trimmed = NULL, raw = NULL WHERE id "
    "IN (SELECT message_id FROM held_post WHERE state = 'held' AND "
    "expires <= ?1)";
static const char SQL_HELD_EXPIRE[] =
    "UPDATE held_post SET state = 'expired', changed = ?1 WHERE "
    "state = 'held' AND expires <= ?1";

int64_t
cg_store_held_expire(struct cg_store *s, int64_t now)
{
	sqlite3_stmt *st = db_stmt(s, SQL_HELD_EXPIRE_BODIES);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (db_exec(s, st, "expire held posts") != 0)
		return -1;
	st = db_stmt(s, SQL_HELD_EXPIRE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (db_exec(s, st, "expire held posts") != 0)
		return -1;
	return sqlite3_changes(s->db);
}

static const char SQL_HELD_COUNT[] =
    "SELECT count(*) FROM held_post WHERE contact_id = ?1 AND "
    "state = 'held'";

int
cg_store_held_count(struct cg_store *s, int64_t contact_id, int64_t *count)
{
	sqlite3_stmt *st = db_stmt(s, SQL_HELD_COUNT);
	if (st != NULL)
		sqlite3_bind_int64(st, 1, contact_id);
	return db_scalar_checked(s, st, "held count", count) < 0 ? -1 : 0;
}
