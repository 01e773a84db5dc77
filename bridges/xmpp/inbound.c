/*
 * inbound.c: every message stanza the connection receives.  A groupchat
 * line with a body, from someone else, in one of the channels' rooms,
 * becomes one cg_msg for cg_gateway_ingest():
 *
 *   channel      the room's channel
 *   sender_addr  the occupant's real bare JID when the room shows it, else
 *                "room@service/#OCCUPANT-ID" (XEP-0421), else
 * "room@service/nick" sender_name  the nick ext_id       the room's stanza-id
 * (dedup across reconnects), else the origin-id; the origin-id is also stored
 * ("xmpp-origin") thread_key   <thread>;  refs: the XEP-0461 reply's id text
 * the body without the reply fallback quote
 *
 * Not relayed: our own echoes (our nick; deliver.c completes their rows), lines
 * starting with `!` (commands.c answers them privately), lines without a
 * body, subject changes, errors, and delayed lines that arrive before the
 * room's subject (join history, which we ask not to get anyway).
 * Must never: relay a line of ours, or a line of a room we did not join.
 */
#include <stdlib.h>
#include <string.h>

#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "gateway/log.h"
#include "gateway/msg.h"
#include "gateway/util.h"

/* Stores the origin-id inside the ingest transaction. */
struct origin_arg {
	const struct cg_ingest_info *info;
	const char *origin_id;
};

static int
store_origin(struct cg_gateway *gw, void *arg)
{
	struct origin_arg *oa = arg;
	if (oa->origin_id == NULL || oa->info->message_id == 0)
		return 0;
	return cg_store_extid_add(gw->store, "xmpp-origin", oa->origin_id,
	                          oa->info->message_id);
}

static char *
sender_of(const struct xmpp_room *r, const struct xmpp_in *in)
{
	const struct xmpp_occupant *o = muc_occupant(r, in->nick);
	if (o && o->jid)
		return cg_strdup(o->jid);
	const char *oid = in->occupant_id ? in->occupant_id
	                  : o             ? o->occupant_id
	                                  : NULL;
	if (oid)
		return cg_asprintf("%s/#%s", r->jid, oid);
	return cg_asprintf("%s/%s", r->jid, in->nick);
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
ingest(struct xmpp_bridge *xb, struct xmpp_room *r, struct xmpp_in *in)
{
	struct cg_msg m = {0};
	m.network = CG_NET_XMPP;
	m.ext_id = cg_strdup(in->stanza_id ? in->stanza_id : in->origin_id);
	m.channel = cg_strdup(r->channel);
	m.sender_addr = sender_of(r, in);
	m.sender_name = cg_strdup(in->nick);
	m.text = xmpp_clean_text(in->body);
	m.trimmed = cg_strdup(m.text);
	m.thread_key = cg_strdup(in->thread);
	if (in->reply_id)
		cg_msg_add_ref(&m, in->reply_id);
	m.received = cg_now();
	struct cg_ingest_info info;
	struct origin_arg oa = {.info = &info, .origin_id = in->origin_id};
	enum cg_ingest_result res =
	    cg_gateway_ingest(xb->gw, &m, store_origin, &oa, &info);
	switch (res) {
	case CG_INGEST_STORED:
		cg_info(
		    "xmpp: %s: line from %s (%s) stored as message %lld, "
		    "thread %lld%s%s, %zu outbox row(s)%s%s",
		    r->jid, in->nick, m.sender_addr, (long long)info.message_id,
		    (long long)info.thread_id, info.new_thread ? " (new)" : "",
		    info.parent_id ? " (a reply)" : "", info.outbox_rows,
		    info.reason ? ": " : "", info.reason ? info.reason : "");
		break;
	case CG_INGEST_DUPLICATE:
		cg_debug("xmpp: %s: %s: already stored", r->jid, m.ext_id);
		break;
	case CG_INGEST_DROPPED:
		cg_info("xmpp: %s: line from %s dropped: %s", r->jid, in->nick,
		        info.reason ? info.reason : "?");
		break;
	case CG_INGEST_ERROR:
		cg_error("xmpp: %s: line from %s (%s) NOT stored: %s", r->jid,
		         in->nick, m.ext_id ? m.ext_id : "no id",
		         info.reason ? info.reason : "?");
		break;
	}
	cg_msg_free(&m);
}

static void
on_groupchat(struct xmpp_bridge *xb, struct xmpp_room *r, struct xmpp_in *in)
{
	if (in->has_subject && in->body == NULL) {
		r->live = 1; /* the subject ends the join's history */
		return;
	}
	if (in->nick == NULL)
		return; /* the room itself speaking (status changes) */
	/* Ours: only our nick counts (anyone can claim an origin-id). */
	if (r->nick && strcmp(in->nick, r->nick) == 0) {
		deliver_on_echo(xb, in->origin_id, in->stanza_id);
		return;
	}
	if (in->body == NULL || blank(in->body))
		return;
	if (r->state != ROOM_JOINED || (in->delayed && !r->live)) {
		cg_debug("xmpp: %s: skipping a line from %s sent before we "
		         "joined",
		         r->jid, in->nick);
		return;
	}
	if (is_command(in->body)) {
		commands_run(xb, in->from, in->body);
		return;
	}
	ingest(xb, r, in);
}

int
inbound_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xmpp_bridge *xb = arg;
	struct xmpp_in in;
	xmpp_in_parse(st, &in);
	const char *type = in.type ? in.type : "normal";
	struct xmpp_room *r = muc_room(xb, in.room);
	if (strcmp(type, "error") == 0) {
		cg_warn("xmpp: message error from %s: %s",
		        in.from ? in.from : "?",
		        in.error_condition ? in.error_condition : "?");
		deliver_on_error(xb, in.id, in.error_condition);
	} else if (strcmp(type, "groupchat") == 0) {
		if (r)
			on_groupchat(xb, r, &in);
	} else if (r && in.nick && in.body && is_command(in.body)) {
		/* a private message through one of our rooms */
		commands_run(xb, in.from, in.body);
	}
	xmpp_in_free(&in);
	return 1;
}
