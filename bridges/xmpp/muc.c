/*
 * muc.c: the channels' rooms (XEP-0045).  Each room is joined with the
 * configured nick and no history; a nick conflict (409) retries with a
 * suffix ("gateway-2", ...); a room we create (status 201) is configured
 * at once, persistent, public and with real JIDs visible to occupants
 * (muc#roomconfig_whois = anyone), which also unlocks it.  Occupants'
 * real JIDs (when the room shows them) are remembered per nick: they are
 * how a room line finds its sender's contact.  Every room is rejoined after
 * a reconnect, after being kicked, and when a self-ping (XEP-0410) says we
 * are no longer in it; a self-ping without answer means the connection is
 * silently gone.  Once a join is confirmed, mam.c catches up with the
 * room's archive.  In component mode the gateway's occupant here is the
 * listener; presence addressed to a puppet goes to puppet.c.
 * A room on a partner's server (its domain is a partner domain or below
 * one: `room = "joint@conference.partner.example"`) is joined over
 * federation but never created or configured by us: a disco#info first
 * says whether it exists (else we wait and ask again), and a join that
 * created it after all (status 201) is left at once.  Server-to-server
 * trouble (remote-server-*) only delays the join; the archive catch-up
 * after it brings what was said meanwhile.
 * Must never: relay anything itself (inbound.c does), treat a room as
 * joined before the room confirmed our own presence (status 110), or
 * create a room on a partner's server.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

#define MAX_NICK_TRIES 5
#define REMOTE_RETRY 5000 /* ms: a partner's room unreachable or missing */

static void room_probe(struct xb_bridge *xb, struct xb_room *r);

/* Whether the room's service is a partner's domain or below one. */
static int
room_is_foreign(const struct cg_config *cfg, const char *room_jid)
{
	const char *d = strchr(room_jid, '@');
	d = d ? d + 1 : room_jid;
	for (size_t i = 0; i < cfg->npartners; i++) {
		const char *p = cfg->partners[i].domain;
		size_t n = strlen(d), k = p ? strlen(p) : 0;
		if (k && n >= k && strcasecmp(d + n - k, p) == 0 &&
		    (n == k || d[n - k - 1] == '.'))
			return 1;
	}
	return 0;
}

void
xb_muc_rooms_init(struct xb_bridge *xb)
{
	const struct cg_config *cfg = xb->gw->cfg;
	xb->rooms =
	    cg_calloc(cfg->nchannels ? cfg->nchannels : 1, sizeof *xb->rooms);
	for (size_t i = 0; i < cfg->nchannels; i++) {
		const struct cg_cfg_channel *ch = &cfg->channels[i];
		if (ch->room == NULL)
			continue;
		char *jid = xb_bare_lower(ch->room);
		if (xb_muc_room(xb, jid)) {
			cg_warn("xmpp: channel %s: room %s is already used by "
			        "another channel",
			        ch->name, jid);
			free(jid);
			continue;
		}
		struct xb_room *r = &xb->rooms[xb->nrooms++];
		r->jid = jid;
		r->channel = cg_strdup(ch->name);
		r->nick = cg_strdup(xb_cfg(xb)->nick);
		r->state = XB_ROOM_OUT;
		r->foreign = room_is_foreign(cfg, jid);
	}
}

static void
occupants_clear(struct xb_room *r)
{
	for (size_t i = 0; i < r->nocc; i++) {
		free(r->occ[i].nick);
		free(r->occ[i].jid);
		free(r->occ[i].occupant_id);
	}
	free(r->occ);
	r->occ = NULL;
	r->nocc = 0;
}

void
xb_muc_rooms_free(struct xb_bridge *xb)
{
	for (size_t i = 0; i < xb->nrooms; i++) {
		struct xb_room *r = &xb->rooms[i];
		occupants_clear(r);
		free(r->jid);
		free(r->channel);
		free(r->nick);
		free(r->error);
		free(r->ping_id);
		free(r->info_id);
		free(r->cfg_id);
		xb_mam_reset(r);
		xb_puppets_forget(r);
	}
	free(xb->rooms);
	xb->rooms = NULL;
	xb->nrooms = 0;
}

struct xb_room *
xb_muc_room(struct xb_bridge *xb, const char *room_jid)
{
	if (room_jid == NULL)
		return NULL;
	for (size_t i = 0; i < xb->nrooms; i++)
		if (strcasecmp(xb->rooms[i].jid, room_jid) == 0)
			return &xb->rooms[i];
	return NULL;
}

const struct xb_occupant *
xb_muc_occupant(const struct xb_room *r, const char *nick)
{
	for (size_t i = 0; nick && i < r->nocc; i++)
		if (strcmp(r->occ[i].nick, nick) == 0)
			return &r->occ[i];
	return NULL;
}

static void
occupant_remove(struct xb_room *r, const char *nick)
{
	for (size_t i = 0; nick && i < r->nocc; i++)
		if (strcmp(r->occ[i].nick, nick) == 0) {
			free(r->occ[i].nick);
			free(r->occ[i].jid);
			free(r->occ[i].occupant_id);
			r->occ[i] = r->occ[--r->nocc];
			return;
		}
}

static void
occupant_set(struct xb_room *r, const char *nick, const char *jid,
             const char *occupant_id)
{
	occupant_remove(r, nick);
	r->occ = cg_realloc(r->occ, (r->nocc + 1) * sizeof *r->occ);
	struct xb_occupant *o = &r->occ[r->nocc++];
	o->nick = cg_strdup(nick);
	o->jid = xb_bare_lower(jid);
	o->occupant_id = cg_strdup(occupant_id);
}

static void
room_out(struct xb_room *r, int64_t retry_at, const char *error)
{
	r->state = XB_ROOM_OUT;
	r->live = 0;
	r->retry_at = retry_at;
	free(r->error);
	r->error = cg_strdup(error);
	free(r->ping_id);
	r->ping_id = NULL;
	free(r->info_id);
	r->info_id = NULL;
	r->exists = 0;
	occupants_clear(r);
	xb_mam_reset(r);
	xb_puppets_forget(r); /* they join again when they next speak */
}

void
xb_muc_rejoin(struct xb_bridge *xb, struct xb_room *r, const char *why)
{
	cg_warn("xmpp: %s: %s; rejoining", r->jid, why);
	room_out(r, 0, NULL);
}

void
xb_muc_all_out(struct xb_bridge *xb)
{
	for (size_t i = 0; i < xb->nrooms; i++) {
		room_out(&xb->rooms[i], 0, NULL);
		xb->rooms[i].nick_tries = 0;
	}
}

int
xb_muc_settled(const struct xb_bridge *xb)
{
	for (size_t i = 0; i < xb->nrooms; i++) {
		const struct xb_room *r = &xb->rooms[i];
		/* a room that failed before does not hold up the others */
		if (r->state != XB_ROOM_JOINED && r->error == NULL)
			return 0;
	}
	return 1;
}

void
xb_muc_join(struct xb_bridge *xb, struct xb_room *r)
{
	if (r->foreign && !r->exists) {
		room_probe(xb, r); /* joins once the room is known to exist */
		return;
	}
	const char *base = xb_cfg(xb)->nick;
	free(r->nick);
	r->nick = r->nick_tries ? cg_asprintf("%s-%d", base, r->nick_tries + 1)
	                        : cg_strdup(base);
	char *to = cg_asprintf("%s/%s", r->jid, r->nick);
	xmpp_stanza_t *p = xmpp_presence_new(xb->ctx);
	xmpp_stanza_set_to(p, to);
	xb_from_self(xb, p);
	xmpp_stanza_t *x = xb_el(xb->ctx, "x", NS_MUC);
	xmpp_stanza_t *h = xb_el(xb->ctx, "history", NULL);
	xmpp_stanza_set_attribute(h, "maxstanzas", "0");
	xmpp_stanza_add_child_ex(x, h, 0);
	xmpp_stanza_add_child_ex(p, x, 0);
	occupants_clear(r);
	r->state = XB_ROOM_JOINING;
	r->live = 0;
	r->join_sent = cg_mono_ms();
	cg_debug("xmpp: joining %s", to);
	free(to);
	xb_send_release(xb, p);
}

void
xb_muc_leave_all(struct xb_bridge *xb)
{
	for (size_t i = 0; i < xb->nrooms; i++) {
		struct xb_room *r = &xb->rooms[i];
		xb_puppets_leave(xb, r);
		if (r->state == XB_ROOM_OUT)
			continue;
		char *to = cg_asprintf("%s/%s", r->jid, r->nick);
		xmpp_stanza_t *p = xmpp_presence_new(xb->ctx);
		xmpp_stanza_set_type(p, "unavailable");
		xmpp_stanza_set_to(p, to);
		xb_from_self(xb, p);
		free(to);
		xb_send_release(xb, p);
	}
}

/* ---- room configuration (status 201: we created it) ---- */

static void
form_field(xmpp_stanza_t *x, const char *var, const char *type,
           const char *value)
{
	xmpp_ctx_t *ctx = xmpp_stanza_get_context(x);
	xmpp_stanza_t *f = xb_el(ctx, "field", NULL);
	xmpp_stanza_set_attribute(f, "var", var);
	if (type)
		xmpp_stanza_set_attribute(f, "type", type);
	xb_add_text_child(f, "value", value);
	xmpp_stanza_add_child_ex(x, f, 0);
}

static void send_config(struct xb_bridge *xb, struct xb_room *r, int instant);

/* The room whose configuration iq has this id, or NULL. */
static struct xb_room *
room_of_config(struct xb_bridge *xb, const char *id)
{
	for (size_t i = 0; id && i < xb->nrooms; i++)
		if (xb->rooms[i].cfg_id && strcmp(xb->rooms[i].cfg_id, id) == 0)
			return &xb->rooms[i];
	return NULL;
}

static int
on_config_result(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	struct xb_room *r = room_of_config(xb, xmpp_stanza_get_id(st));
	if (r == NULL)
		return 0;
	if (!xb_answer_ok(xb, st, r->jid, "a room configuration"))
		return 1; /* keep waiting for the room */
	const char *type = xmpp_stanza_get_type(st);
	if (type && strcmp(type, "result") == 0) {
		cg_info("xmpp: room %s created and configured (persistent, "
		        "public, real JIDs visible)",
		        r->jid);
	} else {
		struct xb_in in;
		xb_in_parse(st, &in);
		cg_warn("xmpp: room %s refused its configuration (%s); "
		        "submitting the default instant-room form",
		        r->jid, in.error_condition ? in.error_condition : "?");
		xb_in_free(&in);
		send_config(xb, r, 1);
	}
	return 0;
}

static int
on_instant_result(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	struct xb_room *r = room_of_config(xb, xmpp_stanza_get_id(st));
	if (r == NULL)
		return 0;
	if (!xb_answer_ok(xb, st, r->jid, "a room configuration"))
		return 1; /* keep waiting for the room */
	const char *type = xmpp_stanza_get_type(st);
	if (type == NULL || strcmp(type, "result") != 0)
		cg_error("xmpp: room %s stays locked: the instant-room form "
		         "was refused",
		         r->jid);
	return 0;
}

static void
send_config(struct xb_bridge *xb, struct xb_room *r, int instant)
{
	free(r->cfg_id);
	r->cfg_id = xb_new_id("cfg");
	const char *id = r->cfg_id;
	xmpp_stanza_t *iq = xmpp_iq_new(xb->ctx, "set", id);
	xmpp_stanza_set_to(iq, r->jid);
	xb_from_self(xb, iq);
	xmpp_stanza_t *q = xb_el(xb->ctx, "query", NS_MUC_OWNER);
	xmpp_stanza_t *x = xb_el(xb->ctx, "x", NS_DATA);
	xmpp_stanza_set_type(x, "submit");
	if (!instant) {
		const struct cg_cfg_channel *ch =
		    cg_config_channel(xb->gw->cfg, r->channel);
		form_field(x, "FORM_TYPE", "hidden",
		           "http://jabber.org/protocol/muc#roomconfig");
		form_field(x, "muc#roomconfig_persistentroom", NULL, "1");
		form_field(x, "muc#roomconfig_publicroom", NULL, "1");
		form_field(x, "muc#roomconfig_whois", NULL, "anyone");
		form_field(x, "muc#roomconfig_roomname", NULL, r->channel);
		if (ch && ch->description)
			form_field(x, "muc#roomconfig_roomdesc", NULL,
			           ch->description);
	}
	xmpp_stanza_add_child_ex(q, x, 0);
	xmpp_stanza_add_child_ex(iq, q, 0);
	xmpp_id_handler_add(
	    xb->conn, instant ? on_instant_result : on_config_result, id, xb);
	xb_send_release(xb, iq);
}

/* ---- presence ---- */

static int
has_status(xmpp_stanza_t *x, const char *code)
{
	for (xmpp_stanza_t *c = x ? xmpp_stanza_get_children(x) : NULL; c;
	     c = xmpp_stanza_get_next(c)) {
		const char *n = xmpp_stanza_get_name(c);
		const char *v = xmpp_stanza_get_attribute(c, "code");
		if (n && strcmp(n, "status") == 0 && v && strcmp(v, code) == 0)
			return 1;
	}
	return 0;
}

static void
join_refused(struct xb_bridge *xb, struct xb_room *r, xmpp_stanza_t *st)
{
	struct xb_in in;
	xb_in_parse(st, &in);
	const char *cond = in.error_condition ? in.error_condition : "error";
	if (strcmp(cond, "conflict") == 0 &&
	    r->nick_tries + 1 < MAX_NICK_TRIES) {
		cg_info("xmpp: %s: nick %s is taken; trying another", r->jid,
		        r->nick);
		r->nick_tries++;
		xb_in_free(&in);
		xb_muc_join(xb, r);
		return;
	}
	char *why = cg_asprintf("join refused: %s", cond);
	cg_error("xmpp: %s: %s (retrying in %d s)", r->jid, why,
	         XB_JOIN_RETRY / 1000);
	room_out(r, cg_mono_ms() + XB_JOIN_RETRY, why);
	r->nick_tries = 0;
	free(why);
	xb_in_free(&in);
}

/* ---- a partner's room: exists? then join; never create ---- */

static void
send_unavailable(struct xb_bridge *xb, struct xb_room *r)
{
	char *to = cg_asprintf("%s/%s", r->jid, r->nick);
	xmpp_stanza_t *p = xmpp_presence_new(xb->ctx);
	xmpp_stanza_set_type(p, "unavailable");
	xmpp_stanza_set_to(p, to);
	xb_from_self(xb, p);
	free(to);
	xb_send_release(xb, p);
}

/* Our join made a room on a partner's server (it vanished between the
 * disco#info and the join): as its creator, destroy it again. */
static void
created_by_mistake(struct xb_bridge *xb, struct xb_room *r)
{
	cg_warn("xmpp: %s: our join created the room on the partner's "
	        "server; destroying it (the gateway creates nothing there)",
	        r->jid);
	char *id = xb_new_id("destroy");
	xmpp_stanza_t *iq = xmpp_iq_new(xb->ctx, "set", id);
	free(id);
	xmpp_stanza_set_to(iq, r->jid);
	xb_from_self(xb, iq);
	xmpp_stanza_t *q = xb_el(xb->ctx, "query", NS_MUC_OWNER);
	xmpp_stanza_add_child_ex(q, xb_el(xb->ctx, "destroy", NULL), 0);
	xmpp_stanza_add_child_ex(iq, q, 0);
	xb_send_release(xb, iq);
	send_unavailable(xb, r);
	room_out(r, cg_mono_ms() + XB_JOIN_RETRY, "the room does not exist");
}

static int
on_room_info(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	const char *id = xmpp_stanza_get_id(st);
	struct xb_room *r = NULL;
	for (size_t i = 0; id && i < xb->nrooms && r == NULL; i++)
		if (xb->rooms[i].info_id &&
		    strcmp(xb->rooms[i].info_id, id) == 0)
			r = &xb->rooms[i];
	if (r == NULL || r->state != XB_ROOM_PROBING)
		return 0;
	if (!xb_answer_ok(xb, st, r->jid, "a disco#info query"))
		return 1; /* keep waiting for the room */
	free(r->info_id);
	r->info_id = NULL;
	const char *type = xmpp_stanza_get_type(st);
	if (type && strcmp(type, "result") == 0) {
		r->exists = 1;
		xb_muc_join(xb, r);
		return 0;
	}
	struct xb_in in;
	xb_in_parse(st, &in);
	const char *cond = in.error_condition ? in.error_condition : "error";
	char *why = strcmp(cond, "item-not-found") == 0
	                ? cg_strdup("the room does not exist on the "
	                            "partner's server (the gateway creates "
	                            "nothing there)")
	                : cg_asprintf("the partner's server cannot be "
	                              "reached: %s",
	                              cond);
	cg_warn("xmpp: %s: not joining: %s (asking again in %d s)", r->jid, why,
	        REMOTE_RETRY / 1000);
	room_out(r, cg_mono_ms() + REMOTE_RETRY, why);
	free(why);
	xb_in_free(&in);
	return 0;
}

/* Ask a partner's room whether it exists before joining it. */
static void
room_probe(struct xb_bridge *xb, struct xb_room *r)
{
	free(r->info_id);
	r->info_id = xb_new_id("info");
	xmpp_stanza_t *iq = xmpp_iq_new(xb->ctx, "get", r->info_id);
	xmpp_stanza_set_to(iq, r->jid);
	xb_from_self(xb, iq);
	xmpp_stanza_add_child_ex(iq, xb_el(xb->ctx, "query", NS_DISCO_INFO), 0);
	xmpp_id_handler_add(xb->conn, on_room_info, r->info_id, xb);
	r->state = XB_ROOM_PROBING;
	r->join_sent = cg_mono_ms();
	cg_debug("xmpp: %s: on a partner's server: asking whether it exists",
	         r->jid);
	xb_send_release(xb, iq);
}

static void
self_presence(struct xb_bridge *xb, struct xb_room *r, xmpp_stanza_t *x,
              int unavailable, xmpp_stanza_t *item)
{
	if (unavailable) {
		if (has_status(x, "303") && item &&
		    xmpp_stanza_get_attribute(item, "nick")) {
			free(r->nick);
			r->nick =
			    cg_strdup(xmpp_stanza_get_attribute(item, "nick"));
			return;
		}
		if (xb->stopping) { /* our own leave (component mode) */
			room_out(r, 0, NULL);
			return;
		}
		const char *why = has_status(x, "307")   ? "kicked"
		                  : has_status(x, "301") ? "banned"
		                  : has_status(x, "332") ? "system shutdown"
		                                         : "left the room";
		cg_warn("xmpp: %s: %s; rejoining", r->jid, why);
		room_out(r, cg_mono_ms() + 5000, why);
		return;
	}
	if (r->state == XB_ROOM_JOINING) {
		r->state = XB_ROOM_JOINED;
		r->nick_tries = 0;
		free(r->error);
		r->error = NULL;
		r->ping_at = cg_mono_ms() + XB_PING_INTERVAL;
		cg_info("xmpp: joined %s as %s", r->jid, r->nick);
		xb->gw->outbox_kick = 1; /* rows waiting for the room */
		xb_mam_catch_up(xb, r);
	}
	if (has_status(x, "201") && r->foreign)
		created_by_mistake(xb, r);
	else if (has_status(x, "201"))
		send_config(xb, r, 0);
}

/* Component mode: whether st is addressed to the listener. */
static int
for_listener(const struct xb_bridge *xb, xmpp_stanza_t *st)
{
	char *to = xb_bare_lower(xmpp_stanza_get_to(st));
	char *self = xb_bare_lower(xb->self_jid);
	int yes = to && self && strcmp(to, self) == 0;
	free(to);
	free(self);
	return yes;
}

int
xb_muc_on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	const char *from = xmpp_stanza_get_from(st);
	char *bare = xb_bare_lower(from);
	struct xb_room *r = xb_muc_room(xb, bare);
	free(bare);
	const char *slash = from ? strchr(from, '/') : NULL;
	if (r == NULL || slash == NULL)
		return 1;
	const char *nick = slash + 1;
	const char *type = xmpp_stanza_get_type(st);
	/* Component mode: a puppet's copy is about the puppet or nothing. */
	if (xb->component && !for_listener(xb, st))
		return (
		    xb_puppet_on_presence(xb, r, st, xmpp_stanza_get_to(st)),
		    1);
	if (type && strcmp(type, "error") == 0) {
		if (r->state == XB_ROOM_JOINING && strcmp(nick, r->nick) == 0)
			join_refused(xb, r, st);
		return 1;
	}
	xmpp_stanza_t *x =
	    xmpp_stanza_get_child_by_name_and_ns(st, "x", NS_MUC_USER);
	xmpp_stanza_t *item =
	    x ? xmpp_stanza_get_child_by_name(x, "item") : NULL;
	int unavailable = type && strcmp(type, "unavailable") == 0;
	int self =
	    has_status(x, "110") || (r->nick && strcmp(nick, r->nick) == 0);
	if (unavailable) {
		/* also a rename (303): the new nick's presence follows */
		occupant_remove(r, nick);
	} else {
		char *oid = NULL;
		xmpp_stanza_t *o = xmpp_stanza_get_child_by_name_and_ns(
		    st, "occupant-id", NS_OCCUPANT_ID);
		if (o)
			oid = cg_strdup(xmpp_stanza_get_attribute(o, "id"));
		const char *jid =
		    item ? xmpp_stanza_get_attribute(item, "jid") : NULL;
		occupant_set(r, nick, jid, oid);
		free(oid);
		if (xb->component && !self && jid && xb_jid_is_ours(xb, jid) &&
		    (xb->self_jid == NULL ||
		     strcasecmp(jid, xb->self_jid) != 0))
			xb_puppet_ghost(xb, r, nick, jid);
	}
	if (self)
		self_presence(xb, r, x, unavailable, item);
	return 1;
}

/* ---- self-ping (XEP-0410) ---- */

static int
on_ping_result(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	const char *id = xmpp_stanza_get_id(st);
	struct xb_room *r = NULL;
	for (size_t i = 0; i < xb->nrooms; i++)
		if (xb->rooms[i].ping_id && id &&
		    strcmp(xb->rooms[i].ping_id, id) == 0)
			r = &xb->rooms[i];
	if (r == NULL)
		return 0;
	char *pinged = cg_asprintf("%s/%s", r->jid, r->nick);
	int ok = xb_answer_ok(xb, st, pinged, "a self-ping");
	free(pinged);
	if (!ok)
		return 1; /* keep waiting for the room */
	free(r->ping_id);
	r->ping_id = NULL;
	r->ping_at = cg_mono_ms() + XB_PING_INTERVAL;
	const char *type = xmpp_stanza_get_type(st);
	if (type && strcmp(type, "error") == 0) {
		struct xb_in in;
		xb_in_parse(st, &in);
		/* XEP-0410: these say we are not (or no longer) in the room;
		 * service-unavailable and the like mean we are. */
		if (in.error_condition &&
		    (strcmp(in.error_condition, "not-acceptable") == 0 ||
		     strcmp(in.error_condition, "item-not-found") == 0 ||
		     strcmp(in.error_condition, "not-allowed") == 0)) {
			cg_warn("xmpp: %s: self-ping says we are not in the "
			        "room (%s); rejoining",
			        r->jid, in.error_condition);
			room_out(r, 0, NULL);
		}
		xb_in_free(&in);
	}
	return 0;
}

static void
self_ping(struct xb_bridge *xb, struct xb_room *r, int64_t now)
{
	free(r->ping_id);
	r->ping_id = xb_new_id("ping");
	r->ping_sent = now;
	xmpp_stanza_t *iq = xmpp_iq_new(xb->ctx, "get", r->ping_id);
	char *to = cg_asprintf("%s/%s", r->jid, r->nick);
	xmpp_stanza_set_to(iq, to);
	xb_from_self(xb, iq);
	free(to);
	xmpp_stanza_add_child_ex(iq, xb_el(xb->ctx, "ping", NS_PING), 0);
	xmpp_id_handler_add(xb->conn, on_ping_result, r->ping_id, xb);
	xb_send_release(xb, iq);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

int64_t
xb_muc_tick(struct xb_bridge *xb, int64_t now)
{
	int64_t wake = 0;
	for (size_t i = 0; i < xb->nrooms && xb->state == XB_ONLINE; i++) {
		struct xb_room *r = &xb->rooms[i];
		switch (r->state) {
		case XB_ROOM_OUT:
			if (now >= r->retry_at)
				xb_muc_join(xb, r);
			else
				wake = earliest(wake, r->retry_at);
			break;
		case XB_ROOM_PROBING:
			if (now - r->join_sent >= XB_JOIN_TIMEOUT)
				room_out(r, now, "no answer from the room");
			wake = earliest(wake, r->join_sent + XB_JOIN_TIMEOUT);
			break;
		case XB_ROOM_JOINING:
			if (now - r->join_sent >= XB_JOIN_TIMEOUT) {
				cg_warn("xmpp: %s: no answer to our join; "
				        "trying again",
				        r->jid);
				room_out(r, now, "no answer to join");
				xb_muc_join(xb, r);
			}
			wake = earliest(wake, r->join_sent + XB_JOIN_TIMEOUT);
			break;
		case XB_ROOM_JOINED:
			if (r->mam_id && now - r->mam_sent >= XB_MAM_TIMEOUT) {
				cg_warn("xmpp: %s: no answer to an archive "
				        "query within %d s; asking again",
				        r->jid, XB_MAM_TIMEOUT / 1000);
				xb_mam_catch_up(xb, r);
			} else if (r->mam_retry_at && now >= r->mam_retry_at) {
				xb_mam_catch_up(xb, r);
			} else if (r->mam_retry_at) {
				wake = earliest(wake, r->mam_retry_at);
			}
			if (r->mam_id)
				wake = earliest(wake,
				                r->mam_sent + XB_MAM_TIMEOUT);
			if (r->ping_id &&
			    now - r->ping_sent >= XB_PING_TIMEOUT) {
				char *why = cg_asprintf(
				    "no answer to a self-ping in %s "
				    "within %d s",
				    r->jid, XB_PING_TIMEOUT / 1000);
				xb_conn_lost(xb, why);
				free(why);
				return now;
			}
			if (r->ping_id == NULL && now >= r->ping_at)
				self_ping(xb, r, now);
			if (xb->component)
				wake =
				    earliest(wake, xb_puppet_tick(xb, r, now));
			wake = earliest(wake, r->ping_id ? r->ping_sent +
			                                       XB_PING_TIMEOUT
			                                 : r->ping_at);
			break;
		}
	}
	return wake;
}
