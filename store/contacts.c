/*
 * contacts.c: channels, contacts (persons and organisations; found by
 * identity or by name), identities (email addresses, JIDs), memberships
 * and layer history.
 * Must never: let two contacts own one identity (UNIQUE(kind, value)), or
 * drop a CLI-added membership when syncing the config.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/db.h"

static const char *const id_kinds[] = {"email", "jid"};

void
cg_channel_free(struct cg_channel *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->address);
	free(c->room);
	free(c->description);
	memset(c, 0, sizeof *c);
}

static const char SQL_CHANNEL_SYNC[] =
    "INSERT INTO channel(name, address, room, description, post_layer, "
    "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(name) DO UPDATE SET address = excluded.address, "
    "room = excluded.room, description = excluded.description, "
    "post_layer = excluded.post_layer";
static const char SQL_CHANNEL_ID[] = "SELECT id FROM channel WHERE name = ?1";

int
cg_store_channel_sync(struct cg_store *s, struct cg_channel *c)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CHANNEL_SYNC);
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, c->name);
	db_bind_text(st, 2, c->address);
	db_bind_text(st, 3, c->room);
	db_bind_text(st, 4, c->description);
	db_bind_text(st, 5, db_layer_name(c->post_layer));
	sqlite3_bind_int64(st, 6, cg_now());
	if (db_exec(s, st, c->name) != 0)
		return -1;
	return cg_store_channel_id(s, c->name, &c->id) == 1 ? 0 : -1;
}

int
cg_store_channel_id(struct cg_store *s, const char *name, int64_t *id)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CHANNEL_ID);
	if (st != NULL)
		db_bind_text(st, 1, name);
	return db_scalar_checked(s, st, name, id);
}

static const char SQL_IDENTITY_FIND[] =
    "SELECT contact_id FROM identity WHERE kind = ?1 AND value = ?2";

int
cg_store_contact_find(struct cg_store *s, enum cg_identity_kind kind,
                      const char *value, int64_t *id)
{
	*id = 0;
	if (value == NULL)
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_IDENTITY_FIND);
	if (st != NULL) {
		db_bind_text(st, 1, id_kinds[kind]);
		db_bind_text(st, 2, value);
	}
	return db_scalar_checked(s, st, value, id);
}

static const char SQL_CONTACT_INSERT[] =
    "INSERT INTO contact(kind, name, layer, layer_since, source, created) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?4)";
static const char SQL_IDENTITY_INSERT[] =
    "INSERT INTO identity(contact_id, kind, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(kind, value) DO NOTHING";
static const char SQL_LAYER_HISTORY[] =
    "INSERT INTO layer_history(contact_id, layer, since, reason) "
    "VALUES (?1, ?2, ?3, ?4)";

static int64_t
contact_insert(struct cg_store *s, const char *kind, const char *name,
               enum cg_layer layer, const char *source)
{
	sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_INSERT);
	if (st == NULL)
		return 0;
	int64_t now = cg_now();
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, db_layer_name(layer));
	sqlite3_bind_int64(st, 4, now);
	db_bind_text(st, 5, source);
	if (db_exec(s, st, "insert contact") != 0)
		return 0;
	int64_t id = sqlite3_last_insert_rowid(s->db);
	st = db_stmt(s, SQL_LAYER_HISTORY);
	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, db_layer_name(layer));
	sqlite3_bind_int64(st, 3, now);
	db_bind_text(st, 4, "created");
	return db_exec(s, st, "layer history") == 0 ? id : 0;
}

int
cg_store_contact_identity_add(struct cg_store *s, int64_t contact,
                              enum cg_identity_kind kind, const char *value)
{
	int64_t owner;
	if (cg_store_contact_find(s, kind, value, &owner) < 0)
		return -1;
	if (owner == contact)
		return 0;
	if (owner != 0)
		return db_errorf(s, "%s: already belongs to another contact",
		                 value);
	sqlite3_stmt *st = db_stmt(s, SQL_IDENTITY_INSERT);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact);
	db_bind_text(st, 2, id_kinds[kind]);
	db_bind_text(st, 3, value);
	return db_exec(s, st, value);
}

int64_t
cg_store_contact_auto(struct cg_store *s, enum cg_identity_kind kind,
                      const char *value, const char *name)
{
	int64_t id = contact_insert(s, "person", name, CG_LAYER_GUEST, "auto");
	if (id == 0 || cg_store_contact_identity_add(s, id, kind, value) != 0)
		return 0;
	return id;
}

/* Find or create the organisation contact called name. */
static const char SQL_ORG_FIND[] =
    "SELECT id FROM contact WHERE kind = 'org' AND name = ?1";
static const char SQL_CONTACT_SET_ORG[] =
    "UPDATE contact SET org_id = ?2 WHERE id = ?1";

static int
contact_set_org(struct cg_store *s, int64_t id, const char *org,
                const char *src)
{
	int64_t org_id = 0;
	if (*org) {
		sqlite3_stmt *st = db_stmt(s, SQL_ORG_FIND);
		if (st == NULL)
			return -1;
		db_bind_text(st, 1, org);
		if (db_scalar_checked(s, st, org, &org_id) < 0)
			return -1;
		if (org_id == 0)
			org_id =
			    contact_insert(s, "org", org, CG_LAYER_GUEST, src);
		if (org_id == 0)
			return -1;
	}
	sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_SET_ORG);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_id(st, 2, org_id);
	return db_exec(s, st, "set organisation");
}

static const char SQL_CONTACT_SET_NAME[] =
    "UPDATE contact SET name = ?2 WHERE id = ?1";
static const char SQL_CONTACT_SET_SOURCE[] =
    "UPDATE contact SET source = ?2 WHERE id = ?1 AND source <> ?2";
static const char SQL_MEMBERSHIP_UPSERT[] =
    "INSERT INTO membership(contact_id, channel_id, delivery, source, "
    "since) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(contact_id, channel_id) DO UPDATE SET "
    "delivery = excluded.delivery, source = excluded.source";
static const char SQL_JID_REMOVE[] =
    "DELETE FROM identity WHERE contact_id = ?1 AND kind = 'jid'";

static int
member_apply(struct cg_store *s, const struct cg_member_input *in, int64_t id)
{
	if (in->name) {
		sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_SET_NAME);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		db_bind_text(st, 2, in->name);
		if (db_exec(s, st, in->address) != 0)
			return -1;
	}
	if (in->jid) {
		/* One JID per contact as the config and CLI name it. */
		sqlite3_stmt *st = db_stmt(s, SQL_JID_REMOVE);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		if (db_exec(s, st, in->address) != 0)
			return -1;
		if (*in->jid && cg_store_contact_identity_add(s, id, CG_ID_JID,
		                                              in->jid) != 0)
			return -1;
	}
	if (in->org && contact_set_org(s, id, in->org, in->source) != 0)
		return -1;
	if (in->has_layer) {
		struct cg_contact c = {0};
		if (cg_store_contact_get(s, id, &c) != 0)
			return -1;
		int change = c.layer != in->layer;
		cg_contact_free(&c);
		if (change && cg_store_contact_set_layer(s, id, in->layer,
		                                         in->source) != 0)
			return -1;
	}
	if (strcmp(in->source, "config") == 0) {
		sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_SET_SOURCE);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		db_bind_text(st, 2, in->source);
		if (db_exec(s, st, in->address) != 0)
			return -1;
	}
	for (size_t i = 0; i < in->nchannels; i++) {
		int64_t ch;
		int known = cg_store_channel_id(s, in->channels[i], &ch);
		if (known < 0)
			return -1;
		if (known == 0)
			return db_errorf(s, "channel %s: no such channel",
			                 in->channels[i]);
		sqlite3_stmt *st = db_stmt(s, SQL_MEMBERSHIP_UPSERT);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, ch);
		db_bind_text(st, 3, cg_delivery_name(in->delivery));
		db_bind_text(st, 4, in->source);
		sqlite3_bind_int64(st, 5, cg_now());
		if (db_exec(s, st, in->channels[i]) != 0)
			return -1;
	}
	return 0;
}

int
cg_store_member_upsert(struct cg_store *s, const struct cg_member_input *in,
                       int64_t *contact_id)
{
	int64_t id;
	int found = cg_store_contact_find(s, CG_ID_EMAIL, in->address, &id);
	if (found < 0)
		return -1;
	if (found == 0) {
		id = contact_insert(s, "person", in->name,
		                    in->has_layer ? in->layer : CG_LAYER_MEMBER,
		                    in->source);
		if (id == 0 || cg_store_contact_identity_add(s, id, CG_ID_EMAIL,
		                                             in->address))
			return -1;
	}
	if (member_apply(s, in, id) != 0)
		return -1;
	*contact_id = id;
	return 0;
}

void
cg_contact_free(struct cg_contact *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->org);
	free(c->source);
	for (size_t i = 0; i < c->nemails; i++)
		free(c->emails[i]);
	free(c->emails);
	for (size_t i = 0; i < c->njids; i++)
		free(c->jids[i]);
	free(c->jids);
	memset(c, 0, sizeof *c);
}

static const char SQL_CONTACT_GET[] =
    "SELECT c.name, o.name, c.layer, c.layer_since, c.source, c.created "
    "FROM contact c LEFT JOIN contact o ON o.id = c.org_id "
    "WHERE c.id = ?1";
static const char SQL_CONTACT_IDENTITIES[] =
    "SELECT kind, value FROM identity WHERE contact_id = ?1 ORDER BY id";

int
cg_store_contact_get(struct cg_store *s, int64_t id, struct cg_contact *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = db_row_by_id(s, SQL_CONTACT_GET, id, "contact");
	if (st == NULL)
		return -1;
	out->id = id;
	out->name = db_col_text(st, 0);
	out->org = db_col_text(st, 1);
	out->layer = db_layer_parse((const char *)sqlite3_column_text(st, 2));
	out->layer_since = sqlite3_column_int64(st, 3);
	out->source = db_col_text(st, 4);
	out->created = sqlite3_column_int64(st, 5);
	db_done(st);
	st = db_stmt(s, SQL_CONTACT_IDENTITIES);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		char *v = db_col_text(st, 1);
		if (strcmp(kind, "email") == 0) {
			out->emails = cg_realloc(
			    out->emails, (out->nemails + 1) * sizeof(char *));
			out->emails[out->nemails++] = v;
		} else {
			out->jids = cg_realloc(out->jids, (out->njids + 1) *
			                                      sizeof(char *));
			out->jids[out->njids++] = v;
		}
	}
	db_done(st);
	return 0;
}

static const char SQL_SUBSCRIPTIONS[] =
    "SELECT ch.name, m.delivery, m.since, m.source FROM membership m "
    "JOIN channel ch ON ch.id = m.channel_id WHERE m.contact_id = ?1 "
    "ORDER BY ch.name";

int
cg_store_contact_subscriptions(struct cg_store *s, int64_t id,
                               struct cg_subscription **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_SUBSCRIPTIONS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*out = cg_realloc(*out, (*n + 1) * sizeof **out);
		struct cg_subscription *sub = &(*out)[(*n)++];
		sub->channel = db_col_text(st, 0);
		sub->delivery = CG_DELIVERY_EACH;
		cg_delivery_parse((const char *)sqlite3_column_text(st, 1),
		                  &sub->delivery);
		sub->since = sqlite3_column_int64(st, 2);
		sub->source = db_col_text(st, 3);
	}
	db_done(st);
	return 0;
}

void
cg_subscriptions_free(struct cg_subscription *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].channel);
		free(v[i].source);
	}
	free(v);
}

static const char SQL_SET_LAYER[] =
    "UPDATE contact SET layer = ?2, layer_since = ?3 WHERE id = ?1";

int
cg_store_contact_set_layer(struct cg_store *s, int64_t id, enum cg_layer layer,
                           const char *reason)
{
	int64_t now = cg_now();
	sqlite3_stmt *st = db_stmt(s, SQL_SET_LAYER);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, db_layer_name(layer));
	sqlite3_bind_int64(st, 3, now);
	if (db_exec(s, st, "set layer") != 0)
		return -1;
	st = db_stmt(s, SQL_LAYER_HISTORY);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, db_layer_name(layer));
	sqlite3_bind_int64(st, 3, now);
	db_bind_text(st, 4, reason);
	return db_exec(s, st, "layer history");
}

static const char SQL_MEMBERSHIP_REMOVE[] =
    "DELETE FROM membership WHERE contact_id = ?1 AND channel_id = "
    "(SELECT id FROM channel WHERE name = ?2)";
static const char SQL_CONTACT_REMOVE[] = "DELETE FROM contact WHERE id = ?1";

int
cg_store_member_remove(struct cg_store *s, int64_t contact_id,
                       const char *channel)
{
	sqlite3_stmt *st =
	    db_stmt(s, channel ? SQL_MEMBERSHIP_REMOVE : SQL_CONTACT_REMOVE);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	if (channel)
		db_bind_text(st, 2, channel);
	if (db_exec(s, st, "remove member") != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

static const char SQL_CONTACTS_ALL[] =
    "SELECT c.id FROM contact c LEFT JOIN identity i ON i.contact_id = c.id "
    "AND i.kind = 'email' WHERE c.kind = 'person' GROUP BY c.id "
    "ORDER BY min(i.value), c.id";
static const char SQL_CONTACTS_CHANNEL[] =
    "SELECT c.id FROM contact c JOIN membership m ON m.contact_id = c.id "
    "JOIN channel ch ON ch.id = m.channel_id AND ch.name = ?1 "
    "LEFT JOIN identity i ON i.contact_id = c.id AND i.kind = 'email' "
    "GROUP BY c.id ORDER BY min(i.value), c.id";

int
cg_store_contact_each(struct cg_store *s, const char *channel,
                      cg_contact_cb *cb, void *arg)
{
	sqlite3_stmt *st =
	    db_stmt(s, channel ? SQL_CONTACTS_CHANNEL : SQL_CONTACTS_ALL);
	if (st == NULL)
		return -1;
	if (channel)
		db_bind_text(st, 1, channel);
	/* Collect ids first: the callback may use the store. */
	int64_t *ids = NULL;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		ids = cg_realloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct cg_contact c;
		if (cg_store_contact_get(s, ids[i], &c) != 0) {
			r = -1;
			break;
		}
		if (cb(&c, arg))
			r = 1;
		cg_contact_free(&c);
	}
	free(ids);
	return r < 0 ? -1 : 0;
}

static const char SQL_CONFIG_MEMBERSHIPS[] =
    "SELECT contact_id, channel_id FROM membership WHERE source = 'config'";
static const char SQL_MEMBERSHIP_DELETE[] =
    "DELETE FROM membership WHERE contact_id = ?1 AND channel_id = ?2";

int
cg_store_config_prune(struct cg_store *s, const int64_t *keep, size_t n)
{
	/* A config member dropped from the file loses its config-made
	 * subscriptions; the contact (and its history) stays. */
	sqlite3_stmt *st = db_stmt(s, SQL_CONFIG_MEMBERSHIPS);
	if (st == NULL)
		return -1;
	int64_t(*drop)[2] = NULL;
	size_t ndrop = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t c = sqlite3_column_int64(st, 0);
		int kept = 0;
		for (size_t i = 0; i < n && !kept; i++)
			kept = keep[i] == c;
		if (!kept) {
			drop = cg_realloc(drop, (ndrop + 1) * sizeof *drop);
			drop[ndrop][0] = c;
			drop[ndrop][1] = sqlite3_column_int64(st, 1);
			ndrop++;
		}
	}
	db_done(st);
	int r = 0;
	for (size_t i = 0; i < ndrop && r == 0; i++) {
		st = db_stmt(s, SQL_MEMBERSHIP_DELETE);
		if (st == NULL) {
			r = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, drop[i][0]);
		sqlite3_bind_int64(st, 2, drop[i][1]);
		r = db_exec(s, st, "prune membership");
	}
	free(drop);
	return r;
}

static const char SQL_RECIPIENTS[] =
    "SELECT m.contact_id, (SELECT value FROM identity i WHERE "
    "i.contact_id = m.contact_id AND i.kind = 'email' ORDER BY i.id "
    "LIMIT 1) AS addr FROM membership m WHERE m.channel_id = ?1 AND "
    "m.delivery = ?2 AND m.contact_id IS NOT ?3 AND addr IS NOT NULL "
    /* bounces (005_bounce.sql): suspended addresses get no list mail */
    "AND NOT EXISTS (SELECT 1 FROM bounce_suspension b WHERE "
    "b.address = addr) "
    "ORDER BY addr";

int
cg_store_channel_recipients(struct cg_store *s, int64_t channel_id,
                            enum cg_delivery mode, int64_t except,
                            struct cg_recipient **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = db_stmt(s, SQL_RECIPIENTS);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, channel_id);
	db_bind_text(st, 2, cg_delivery_name(mode));
	db_bind_id(st, 3, except);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = cg_realloc(*out, cap * sizeof **out);
		}
		(*out)[*n].contact_id = sqlite3_column_int64(st, 0);
		(*out)[*n].address = db_col_text(st, 1);
		(*n)++;
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "channel recipients");
	return 0;
}

void
cg_recipients_free(struct cg_recipient *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].address);
	free(v);
}

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

static const char SQL_CONTACT_BY_NAME[] =
    "SELECT id FROM contact WHERE kind = 'person' AND name = ?1 "
    "COLLATE NOCASE ORDER BY id LIMIT 1";
/* Two rows are enough to know the match is not unique. */
static const char SQL_CONTACT_NAME_LIKE[] =
    "SELECT id FROM contact WHERE kind = 'person' AND "
    "name LIKE '%' || ?1 || '%' ESCAPE '\\' ORDER BY id LIMIT 2";

int
cg_store_contact_find_name(struct cg_store *s, const char *name, int64_t *id)
{
	*id = 0;
	if (name == NULL || *name == '\0')
		return 0;
	sqlite3_stmt *st = db_stmt(s, SQL_CONTACT_BY_NAME);
	if (st != NULL)
		db_bind_text(st, 1, name);
	int found_exact = db_scalar_checked(s, st, name, id);
	if (found_exact != 0)
		return found_exact;
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
		return -1;
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
		return db_fail(s, "find contact by name");
	*id = n == 1 ? found : 0;
	return n == 1;
}

static const char SQL_SET_DELIVERY[] =
    "UPDATE membership SET delivery = ?3 WHERE contact_id = ?1 AND "
    "channel_id = ?2";

int
cg_store_membership_set_delivery(struct cg_store *s, int64_t contact_id,
                                 int64_t channel_id, enum cg_delivery d)
{
	sqlite3_stmt *st = db_stmt(s, SQL_SET_DELIVERY);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, contact_id);
	sqlite3_bind_int64(st, 2, channel_id);
	db_bind_text(st, 3, cg_delivery_name(d));
	if (db_exec(s, st, "membership delivery") != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}
