/*
 * inbound.c: every message stanza the connection receives.  A groupchat
 * line with a body, from someone else, in one of the channels' rooms,
 * becomes one cg_msg for cg_gateway_ingest():
 *
 *   channel      the room's channel
 *   sender_addr  the occupant's real bare JID.  A room that does not show
 *                it (semi-anonymous, the gateway no moderator) gets no
 *                line of that sender relayed: refused with a log line
 *                saying why, since a nick is never an identity.  Remote
 *                occupants (partners over federation) are found the same
 *                way; the pipeline makes a partner's JID its contact.
 *   sender_name  the nick
 *   ext_id       the room's stanza-id (dedup across reconnects and the
 *                archive), else the origin-id; the origin-id is also
 *                stored ("xmpp-origin")
 *   thread_key   <thread>;  refs: the XEP-0461 reply's id
 *   text         the body without the reply fallback quote
 *
 * The same happens to lines read from the room's archive after a join
 * (mam.c hands them to xb_inbound_archived()); there the sender's real JID is
 * the one the archive recorded, never today's occupant of that nick.  Each
 * stored line moves the room's MAM watermark in its own ingest
 * transaction (live lines only once the archive has been read, so a crash
 * during a catch-up never skips what it had not read yet).
 *
 * A XEP-0308 correction (<replace id=.../>) of a stored line by the same
 * sender (its real JID, as the original was stored) goes
 * to cg_gateway_correct(); a correction claiming someone else's line is
 * ignored and logged.
 *
 * Not relayed: our own echoes (our nick, or in component mode a puppet's;
 * deliver.c completes their rows), lines starting with `!` (commands.c
 * answers live ones privately; archived ones are old), lines without a
 * body, subject changes, errors, and delayed lines that arrive before the
 * room's subject (join history, which we ask not to get anyway: the
 * archive is how we catch up).  In component mode only the copies sent to
 * the listener count (each puppet gets one too).
 * Must never: relay a line of ours, or a line of a room we did not join.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/msg.h"
#include "lib/util.h"

/* What goes into the ingest transaction besides the message. */
struct ingest_arg {
	const struct cg_ingest_info *info;
	const char *origin_id;
	const char *room;
	const char *watermark; /* the room's new MAM watermark, or NULL */
};

static int
ingest_extra(struct cg_gateway *gw, void *arg)
{
	struct ingest_arg *a = arg;
	if (a->origin_id && a->info->message_id &&
	    cg_store_extid_add(gw->store, "xmpp-origin", a->origin_id,
	                       a->info->message_id) != 0)
		return -1;
	if (a->watermark &&
	    cg_store_xmpp_watermark_set(gw->store, a->room, a->watermark) != 0)
		return -1;
	return 0;
}

/* The sender's real bare JID: the archive's record for an archived line,
 * else what the room showed for the nick; NULL when the room hides it
 * (a nick or an occupant-id alone is never an identity). */
static char *
sender_of(const struct xb_room *r, const struct xb_in *in, int archived)
{
	/* An archived line's nick may belong to someone else today. */
	if (archived)
		return cg_strdup(in->item_jid);
	const struct xb_occupant *o = xb_muc_occupant(r, in->nick);
	return o && o->jid ? cg_strdup(o->jid) : NULL;
}

static int
is_command(const char *body)
{
	while (*body == ' ' || *body == '\t' || *body == '\n')
		body++;
	return *body == '!';
}

static int
blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

static void
msg_of(struct xb_bridge *xb, const struct xb_room *r, const struct xb_in *in,
       int archived, struct cg_msg *m)
{
	memset(m, 0, sizeof *m);
	m->network = CG_NET_XMPP;
	m->ext_id = cg_strdup(in->stanza_id ? in->stanza_id : in->origin_id);
	m->channel = cg_strdup(r->channel);
	m->sender_addr = sender_of(r, in, archived);
	if (!strchr(m->sender_addr, '/')) /* a real JID: server-authenticated */
		m->flags |= CG_MSG_SENDER_VERIFIED;
	m->sender_name = cg_strdup(in->nick);
	m->text = xb_clean_text(in->body);
	m->trimmed = cg_strdup(m->text);
	m->thread_key = cg_strdup(in->thread);
	if (in->reply_id)
		cg_msg_add_ref(m, in->reply_id);
	m->received = cg_now();
	/* A file shared by URL: fetched once stored (fetch.c). */
	char *url, *name;
	if (xb_fetch_shared(xb, in, &url, &name)) {
		m->att = cg_calloc(1, sizeof *m->att);
		m->att[0].url = url;
		m->att[0].name = name;
		m->natt = 1;
	}
}

static enum cg_ingest_result
ingest(struct xb_bridge *xb, struct xb_room *r, struct xb_in *in, int archived,
       const char *watermark)
{
	struct cg_msg m;
	msg_of(xb, r, in, archived, &m);
	const char *how = archived ? " (from the archive)" : "";
	struct cg_ingest_info info;
	struct ingest_arg a = {.info = &info,
	                       .origin_id = in->origin_id,
	                       .room = r->jid,
	                       .watermark = watermark};
	enum cg_ingest_result res =
	    cg_gateway_ingest(xb->gw, &m, ingest_extra, &a, &info);
	switch (res) {
	case CG_INGEST_STORED:
		cg_info("xmpp: %s: line from %s (%s)%s stored as message %lld, "
		        "thread %lld%s%s, %zu outbox row(s)%s%s",
		        r->jid, in->nick, m.sender_addr, how,
		        (long long)info.message_id, (long long)info.thread_id,
		        info.new_thread ? " (new)" : "",
		        info.parent_id ? " (a reply)" : "", info.outbox_rows,
		        info.reason ? ": " : "",
		        info.reason ? info.reason : "");
		if (m.natt)
			xb_fetch_message(xb, info.message_id);
		break;
	case CG_INGEST_DUPLICATE:
		cg_debug("xmpp: %s: %s%s: already stored", r->jid, m.ext_id,
		         how);
		break;
	case CG_INGEST_DROPPED:
		cg_info("xmpp: %s: line from %s%s dropped: %s", r->jid,
		        in->nick, how, info.reason ? info.reason : "?");
		break;
	case CG_INGEST_ERROR:
		cg_error("xmpp: %s: line from %s (%s)%s NOT stored: %s", r->jid,
		         in->nick, m.ext_id ? m.ext_id : "no id", how,
		         info.reason ? info.reason : "?");
		break;
	}
	cg_msg_free(&m);
	return res;
}

/* The stored line a correction names: by origin-id (what clients put in
 * <replace id>), else by the room's stanza-id: 1 found, 0 unknown, -1 a
 * store error. */
static int
corrected_line(struct xb_bridge *xb, const char *id, int64_t *orig)
{
	int found = cg_store_extid_find(xb->gw->store, "xmpp-origin", id, orig);
	if (found == 0)
		found = cg_store_extid_find(xb->gw->store, "xmpp", id, orig);
	return found;
}

/* XEP-0308: the original's sender corrects it. */
static enum cg_ingest_result
correct(struct xb_bridge *xb, struct xb_room *r, struct xb_in *in, int archived,
        const char *watermark)
{
	struct cg_store *s = xb->gw->store;
	int64_t orig, channel_id;
	int found = corrected_line(xb, in->replace_id, &orig);
	if (found < 0 || cg_store_channel_id(s, r->channel, &channel_id) < 0)
		return CG_INGEST_ERROR;
	if (found == 0) {
		cg_info("xmpp: %s: %s corrects a line we never stored (%s); "
		        "taking it as a new line",
		        r->jid, in->nick, in->replace_id);
		return ingest(xb, r, in, archived, watermark);
	}
	struct cg_msg m;
	msg_of(xb, r, in, archived, &m);
	struct cg_stored_msg o;
	if (cg_store_message_get(s, orig, &o) != 0) {
		cg_msg_free(&m);
		return CG_INGEST_ERROR;
	}
	int same = o.network && strcmp(o.network, "xmpp") == 0 &&
	           o.channel_id == channel_id && o.sender_addr &&
	           strcasecmp(o.sender_addr, m.sender_addr) == 0;
	enum cg_ingest_result res = CG_INGEST_DROPPED;
	if (!same) {
		cg_warn("xmpp: %s: ignoring a correction by %s (%s) of message "
		        "%lld, which %s wrote",
		        r->jid, in->nick, m.sender_addr, (long long)orig,
		        o.sender_addr ? o.sender_addr : "someone else");
		goto out;
	}
	struct cg_ingest_info info;
	struct ingest_arg a = {.info = &info,
	                       .origin_id = in->origin_id,
	                       .room = r->jid,
	                       .watermark = watermark};
	res = cg_gateway_correct(xb->gw, orig, &m, ingest_extra, &a, &info);
	if (res == CG_INGEST_STORED && info.message_id == orig)
		cg_info("xmpp: %s: %s corrected message %lld: stored text "
		        "updated (its mail had not gone out)",
		        r->jid, in->nick, (long long)orig);
	else if (res == CG_INGEST_STORED)
		cg_info("xmpp: %s: %s corrected message %lld after its mail "
		        "went out: stored as message %lld, %zu outbox row(s)",
		        r->jid, in->nick, (long long)orig,
		        (long long)info.message_id, info.outbox_rows);
	else if (res == CG_INGEST_DUPLICATE)
		cg_debug("xmpp: %s: correction %s: already stored", r->jid,
		         m.ext_id ? m.ext_id : "?");
	else
		cg_error("xmpp: %s: correction by %s of message %lld NOT "
		         "stored: %s",
		         r->jid, in->nick, (long long)orig,
		         info.reason ? info.reason : "?");
out:
	cg_stored_msg_free(&o);
	cg_msg_free(&m);
	return res;
}

static enum cg_ingest_result
relay(struct xb_bridge *xb, struct xb_room *r, struct xb_in *in, int archived,
      const char *watermark)
{
	char *who = sender_of(r, in, archived);
	if (who == NULL) {
		cg_warn("xmpp: %s: line from %s%s refused: the room does not "
		        "show the gateway its sender's real JID, and a nick "
		        "alone is never an identity",
		        r->jid, in->nick,
		        archived ? " (from the archive)" : "");
		return CG_INGEST_DROPPED;
	}
	free(who);
	if (in->replace_id)
		return correct(xb, r, in, archived, watermark);
	return ingest(xb, r, in, archived, watermark);
}

/* Our own nick, or (component mode) one of our puppets'. */
static int
nick_is_ours(struct xb_room *r, const char *nick)
{
	return (r->nick && strcmp(nick, r->nick) == 0) ||
	       xb_puppet_by_nick(r, nick) != NULL;
}

static void
on_groupchat(struct xb_bridge *xb, struct xb_room *r, struct xb_in *in)
{
	if (in->has_subject && in->body == NULL) {
		r->live = 1; /* the subject ends the join's history */
		return;
	}
	if (in->nick == NULL)
		return; /* the room itself speaking (status changes) */
	/* Ours: only our nicks, or an occupant the room shows with one of
	 * our JIDs, complete a row (anyone can claim an origin-id). */
	const struct xb_occupant *o = xb_muc_occupant(r, in->nick);
	if (nick_is_ours(r, in->nick) ||
	    (o && o->jid && xb_jid_is_ours(xb, o->jid))) {
		xb_deliver_on_echo(xb, in->origin_id, in->stanza_id);
		return;
	}
	/* A puppet's line echoed while we stop (its puppet already left):
	 * never a room line.  Nothing else is stored while stopping
	 * either: the archive brings it after the restart. */
	if (xb->stopping || xb_deliver_is_ours(xb, in->origin_id))
		return;
	if (in->body == NULL || blank(in->body))
		return;
	if (r->state != XB_ROOM_JOINED || (in->delayed && !r->live)) {
		cg_debug("xmpp: %s: skipping a line from %s sent before we "
		         "joined",
		         r->jid, in->nick);
		return;
	}
	if (is_command(in->body)) {
		xb_commands_run(xb, in->from, in->body);
		return;
	}
	relay(xb, r, in, 0, r->caught_up ? in->stanza_id : NULL);
}

void
xb_inbound_archived(struct xb_bridge *xb, struct xb_room *r, struct xb_in *in)
{
	if (in->nick == NULL || in->stanza_id == NULL)
		return;
	int ours = in->item_jid ? xb_jid_is_ours(xb, in->item_jid)
	                        : nick_is_ours(r, in->nick);
	/* A puppet's line archived before a restart: its nick is no longer
	 * known, but its origin-id still names our outbox row. */
	if (!ours)
		ours = xb_deliver_is_ours(xb, in->origin_id);
	if (ours) {
		/* an echo we missed: completes its row (deliver.c) */
		xb_deliver_on_echo(xb, in->origin_id, in->stanza_id);
		return;
	}
	if (in->body == NULL || blank(in->body))
		return;
	if (is_command(in->body)) {
		cg_debug("xmpp: %s: not answering an old command from %s",
		         r->jid, in->nick);
		return;
	}
	switch (relay(xb, r, in, 1, in->stanza_id)) {
	case CG_INGEST_STORED:
		r->mam_lines++;
		break;
	case CG_INGEST_ERROR:
		r->mam_failed = 1;
		break;
	default:
		break;
	}
}

/* Component mode: a stanza for one of the puppets, not the listener. */
static int
not_for_listener(const struct xb_bridge *xb, const struct xb_in *in)
{
	if (!xb->component)
		return 0;
	char *to = xb_bare_lower(in->to);
	char *self = xb_bare_lower(xb->self_jid);
	int other = to == NULL || strcmp(to, self) != 0;
	free(to);
	free(self);
	return other;
}

int
xb_inbound_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	if (xb_mam_on_message(xb, st))
		return 1;
	struct xb_in in;
	xb_in_parse(st, &in);
	const char *type = in.type ? in.type : "normal";
	struct xb_room *r = xb_muc_room(xb, in.room);
	if (strcmp(type, "error") == 0) {
		cg_warn("xmpp: message error from %s: %s",
		        in.from ? in.from : "?",
		        in.error_condition ? in.error_condition : "?");
		xb_deliver_on_error(xb, in.from, in.id, in.error_condition);
	} else if (not_for_listener(xb, &in)) {
		/* a puppet's copy: the listener has its own */
	} else if (strcmp(type, "groupchat") == 0) {
		if (r)
			on_groupchat(xb, r, &in);
	} else if (r && in.nick && in.body && is_command(in.body)) {
		/* a private message through one of our rooms */
		xb_commands_run(xb, in.from, in.body);
	}
	xb_in_free(&in);
	return 1;
}
