/*
 * deliver.c: outbox rows of bridge "xmpp" (destination = a room JID) become
 * groupchat messages (stanza.c).  A row is CG_INFLIGHT until the room
 * echoes our message back: then the room's stanza-id (mod_muc_mam adds it)
 * and our origin-id are stored as the message's external ids, and the row
 * is done with far_id = the stanza-id.  No echo within 30 s, a message
 * error from the room itself (an error from anyone else is ignored: our
 * ids can be guessed), or a lost connection: the row is retried (the
 * outbox is the queue; libstrophe keeps nothing across a reconnect).
 *
 * The origin-id is "cg-ROW-HASH" (HASH: of the message's Message-ID), the
 * same on every attempt of a row.  So an echo that arrives after its row
 * timed out, or after a restart, still finds its row and marks it done,
 * and a later MAM catch-up can tell what the room already has.
 * Component mode: the message is said by the sender's puppet (puppet.c),
 * without the "Name: " prefix; a puppet not yet in the room is joined
 * first and the stanza waits in the pending row until the room confirms
 * the join (or the row is retried when it refuses).
 * Notice rows (store.h: notice_id set, destination = a member's bare JID,
 * e.g. "your mail is suspended" from bounce.c) are not room messages: one
 * chat message each (deliver_notice), done at once, never waiting for a
 * room.  A notice to a room's JID (a report's summary) is one groupchat
 * message, sent once the room is joined, and not stored as a post.
 * Must never: take a row for a room we are not in (it is retried), or keep
 * a pointer into the outbox batch deliver() was handed (bridge.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static char *
origin_id_for(int64_t row_id, const char *message_id)
{
	return cg_asprintf("cg-%lld-%08" PRIx32, (long long)row_id,
	                   fnv1a(message_id));
}

static void
row_copy(struct cg_outbox_row *dst, const struct cg_outbox_row *src)
{
	*dst = *src;
	dst->bridge = cg_strdup(src->bridge);
	dst->destination = cg_strdup(src->destination);
	dst->last_error = cg_strdup(src->last_error);
}

static void
fail(struct cg_outbox_item *d, enum cg_delivery_status st, const char *why)
{
	d->status = st;
	d->error = cg_strdup(why);
}

static void drop(struct xb_bridge *xb, size_t i);

/* Finish pending row i with a result and forget it. */
static void
finish(struct xb_bridge *xb, size_t i, enum cg_delivery_status status,
       const char *far_id, const char *error)
{
	struct xb_pending *p = &xb->pend[i];
	struct cg_outbox_item it = {
	    .row = &p->row,
	    .status = status,
	    .far_id = cg_strdup(far_id),
	    .error = cg_strdup(error),
	};
	cg_outbox_complete(xb->gw, &it);
	drop(xb, i);
}

/* Forget pending row i without a result (deliver() reports it). */
static void
drop(struct xb_bridge *xb, size_t i)
{
	struct xb_pending *p = &xb->pend[i];
	free(p->row.bridge);
	free(p->row.destination);
	free(p->row.last_error);
	free(p->origin_id);
	for (size_t k = 0; k < p->nheld; k++)
		xmpp_stanza_release(p->held[k]);
	free(p->held);
	free(p->puppet_jid);
	free(p->slot_id);
	for (size_t k = 0; k < p->nup_notes; k++)
		free(p->up_notes[k]);
	free(p->up_notes);
	xb->pend[i] = xb->pend[--xb->npend];
}

void
xb_deliver_finish(struct xb_bridge *xb, size_t i,
                  enum cg_delivery_status status, const char *far_id,
                  const char *error)
{
	finish(xb, i, status, far_id, error);
}

long
xb_deliver_find(struct xb_bridge *xb, int64_t row_id)
{
	for (size_t i = 0; i < xb->npend; i++)
		if (xb->pend[i].row.id == row_id)
			return (long)i;
	return -1;
}

/* Who said it: the name the message carried, else the contact's name,
 * else the address (caller frees). */
static char *
display_name(struct xb_bridge *xb, const struct cg_stored_msg *m)
{
	if (m->sender_name && *m->sender_name)
		return cg_strdup(m->sender_name);
	struct cg_contact c;
	if (m->contact_id &&
	    cg_store_contact_get(xb->gw->store, m->contact_id, &c) == 0) {
		char *n = c.name && *c.name ? cg_strdup(c.name) : NULL;
		cg_contact_free(&c);
		if (n)
			return n;
	}
	return cg_strdup(m->sender_addr);
}

/* The parent's stanza-id, author and text, for a XEP-0461 reply. */
struct parent_info {
	char *stanza_id;
	char *reply_to;
	char *name;
	char *text;
};

static void
parent_load(struct xb_bridge *xb, const struct xb_room *r, int64_t parent_id,
            struct parent_info *pi)
{
	memset(pi, 0, sizeof *pi);
	if (parent_id == 0 ||
	    cg_store_message_extid(xb->gw->store, parent_id, "xmpp",
	                           &pi->stanza_id) != 0 ||
	    pi->stanza_id == NULL)
		return;
	struct cg_stored_msg p;
	if (cg_store_message_get(xb->gw->store, parent_id, &p) != 0)
		return;
	/* An email line was said in the room by us (component mode: by its
	 * sender's puppet); a room line by its nick (sender_name is the nick
	 * for those). */
	int from_room =
	    p.network && strcmp(p.network, "xmpp") == 0 && p.sender_name;
	pi->name = display_name(xb, &p);
	if (from_room) {
		pi->reply_to = cg_asprintf("%s/%s", r->jid, p.sender_name);
	} else if (xb->component) {
		struct xb_puppet *pp =
		    xb_puppet_by_address((struct xb_room *)r, p.sender_addr);
		char *nick = pp && pp->nick ? cg_strdup(pp->nick)
		                            : xb_puppet_nick(pi->name);
		pi->reply_to = cg_asprintf("%s/%s", r->jid, nick);
		free(nick);
	} else {
		pi->reply_to = cg_asprintf("%s/%s", r->jid, r->nick);
	}
	pi->text = cg_strdup(p.trimmed ? p.trimmed : p.body);
	cg_stored_msg_free(&p);
}

static void
parent_free(struct parent_info *pi)
{
	free(pi->stanza_id);
	free(pi->reply_to);
	free(pi->name);
	free(pi->text);
}

/* A notice row (destination = a person's bare JID): one chat message,
 * done once handed to the server (a chat message has no echo); far_id is
 * its id.  Component mode: said by the listener JID. */
static void
deliver_notice(struct xb_bridge *xb, struct cg_outbox_item *d)
{
	const struct cg_outbox_row *row = d->row;
	const char *to = row->destination;
	struct xb_room *room = to ? xb_muc_room(xb, to) : NULL;
	if (room && room->state != XB_ROOM_JOINED) {
		fail(d, CG_RETRY, "room not joined yet");
		return;
	}
	if (to == NULL || strchr(to, '@') == NULL || strchr(to, '/')) {
		char *why = cg_asprintf("a notice goes to a person's bare JID, "
		                        "not to %s",
		                        to ? to : "(none)");
		fail(d, CG_FAILED, why);
		free(why);
		return;
	}
	struct cg_notice n;
	if (cg_store_notice_get(xb->gw->store, row->notice_id, &n) != 0) {
		fail(d, CG_FAILED, "the notice is no longer stored");
		return;
	}
	char *id = cg_asprintf("cg-notice-%lld", (long long)row->id);
	char *text = xb_notice_body(n.subject, n.body);
	xmpp_stanza_t *st = xb_chat_stanza(xb->ctx, to, id, text);
	/* To a room (a report's summary): said by us in the room; our own
	 * echo is not relayed (inbound.c). */
	if (room)
		xmpp_stanza_set_type(st, "groupchat");
	xb_from_self(xb, st);
	xb_send_release(xb, st);
	cg_debug("xmpp: outbox %lld: notice %lld sent to %s as %s",
	         (long long)row->id, (long long)n.id, to, id);
	d->status = CG_DELIVERED;
	d->far_id = id;
	free(text);
	cg_notice_free(&n);
}

/* Whether a row must wait (untaken) for its room's first join: before
 * every room is settled (xb_muc_settled), a room row for a room still
 * joining would only burn an attempt. */
static int
waits_for_join(struct xb_bridge *xb, const struct cg_outbox_row *row)
{
	if (row->notice_id != 0)
		return 0;
	struct xb_room *r = xb_muc_room(xb, row->destination);
	return r && r->state != XB_ROOM_JOINED && r->error == NULL;
}

/*
 * The message's files: a line of their own (body = the GET URL, XEP-0066)
 * for each one uploaded, appended to st[0..n); a note in `text` for each
 * one that is not in the room (no upload service, refused, too big).
 */
static void
file_lines(struct xb_bridge *xb, struct xb_pending *p,
           const struct cg_thread *t, struct cg_buf *text, xmpp_stanza_t ***st,
           size_t *n)
{
	struct cg_att_row *a;
	size_t na;
	for (size_t k = 0; k < p->nup_notes; k++)
		cg_buf_printf(text, "\n[File: %s]", p->up_notes[k]);
	if (cg_store_attachments_of(xb->gw->store, p->row.message_id, &a,
	                            &na) != 0)
		return;
	for (size_t k = 0; k < na; k++) {
		const char *name = a[k].name ? a[k].name : "unnamed file";
		if (a[k].url && a[k].state == CG_ATT_STORED) {
			char *id =
			    cg_asprintf("%s-f%d", p->origin_id, a[k].idx);
			xmpp_stanza_t *f =
			    xb_file_stanza(xb->ctx, p->row.destination, id,
			                   a[k].url, name, t->token);
			free(id);
			*st = cg_realloc(*st, (*n + 1) * sizeof **st);
			(*st)[(*n)++] = f;
		} else if (a[k].state == CG_ATT_REFUSED) {
			cg_buf_printf(text, "\n[File: %s not passed on: %s]",
			              name, a[k].note ? a[k].note : "refused");
		} else if (xb_cfg(xb)->upload_service == NULL) {
			char *sz = cg_size_text(a[k].size);
			cg_buf_printf(text,
			              "\n[File: %s (%s) sent by mail; this "
			              "room has no upload service]",
			              name, sz);
			free(sz);
		}
	}
	cg_att_rows_free(a, na);
}

/* Send pending row i; on failure *status and *why (caller frees) say
 * what to report, and the row is still pending. */
static int
send_row(struct xb_bridge *xb, size_t i, enum cg_delivery_status *status,
         char **why)
{
	struct xb_pending *p = &xb->pend[i];
	p->uploading = 0;
	struct xb_room *r = xb_muc_room(xb, p->row.destination);
	*status = CG_RETRY;
	if (r == NULL || r->state != XB_ROOM_JOINED) {
		*why = cg_strdup("room not joined");
		return -1;
	}
	struct cg_stored_msg m;
	struct cg_thread t = {0};
	if (cg_store_message_get(xb->gw->store, p->row.message_id, &m) != 0) {
		*status = CG_FAILED;
		*why = cg_strdup("the message is no longer stored");
		return -1;
	}
	if (cg_store_thread_get(xb->gw->store, m.thread_id, &t) != 0) {
		cg_stored_msg_free(&m);
		*why = cg_strdup(cg_store_errmsg(xb->gw->store));
		return -1;
	}
	struct parent_info pi;
	parent_load(xb, r, m.parent_id, &pi);
	char *name = display_name(xb, &m);
	/* Component mode: the sender's own occupant says it. */
	struct xb_puppet *pup =
	    xb->component ? xb_puppet_for(xb, r, m.sender_addr, name) : NULL;
	xmpp_stanza_t **st = cg_calloc(1, sizeof *st);
	size_t nst = 1;
	struct cg_buf text = CG_BUF_INIT;
	cg_buf_puts(&text, m.trimmed ? m.trimmed : m.body ? m.body : "");
	file_lines(xb, p, &t, &text, &st, &nst);
	struct xb_out o = {
	    .room = r->jid,
	    .id = p->origin_id,
	    .subject = t.root_message_id == m.id ? t.subject : NULL,
	    .name = pup ? NULL : name,
	    .text = cg_buf_str(&text),
	    .thread = t.token,
	    .reply_id = pi.stanza_id,
	    .reply_to = pi.reply_to,
	    .quote_name = pi.name,
	    .quote_text = pi.text,
	};
	st[0] = xb_out_stanza(xb->ctx, &o);
	p->deadline = cg_mono_ms() + XB_ECHO_TIMEOUT;
	for (size_t k = 0; k < nst; k++) {
		if (pup)
			xmpp_stanza_set_from(st[k], pup->jid);
		else
			xb_from_self(xb, st[k]);
	}
	if (pup) {
		free(p->puppet_jid);
		p->puppet_jid = cg_strdup(pup->jid);
	}
	if (pup && pup->state != XB_PUPPET_JOINED) {
		p->held = st; /* sent when the puppet is in */
		p->nheld = nst;
		st = NULL;
		cg_debug("xmpp: outbox %lld: message %lld waits for %s to "
		         "join %s",
		         (long long)p->row.id, (long long)m.id, pup->nick,
		         r->jid);
	} else {
		for (size_t k = 0; k < nst; k++)
			xb_send_release(xb, st[k]);
		cg_debug("xmpp: outbox %lld: message %lld sent to %s as "
		         "%s%s%s%s",
		         (long long)p->row.id, (long long)m.id, r->jid,
		         p->origin_id, pi.stanza_id ? ", replying to " : "",
		         pi.stanza_id ? pi.stanza_id : "",
		         nst > 1 ? ", with its files" : "");
	}
	free(st);
	cg_buf_free(&text);
	parent_free(&pi);
	free(name);
	cg_thread_free(&t);
	cg_stored_msg_free(&m);
	return 0;
}

void
xb_deliver_send(struct xb_bridge *xb, size_t i)
{
	enum cg_delivery_status st;
	char *why = NULL;
	if (send_row(xb, i, &st, &why) != 0)
		finish(xb, i, st, NULL, why);
	free(why);
}

static void
deliver_one(struct xb_bridge *xb, struct cg_outbox_item *d)
{
	const struct cg_outbox_row *row = d->row;
	if (row->notice_id != 0) {
		deliver_notice(xb, d);
		return;
	}
	struct xb_room *r = xb_muc_room(xb, row->destination);
	if (r == NULL) {
		fail(d, CG_FAILED, "no channel has this room");
		return;
	}
	if (r->state != XB_ROOM_JOINED) {
		char *why =
		    cg_asprintf("room not joined%s%s", r->error ? ": " : "",
		                r->error ? r->error : "");
		fail(d, CG_RETRY, why);
		free(why);
		return;
	}
	struct cg_stored_msg m;
	if (cg_store_message_get(xb->gw->store, row->message_id, &m) != 0) {
		fail(d, CG_FAILED, "the message is no longer stored");
		return;
	}
	char *origin = origin_id_for(row->id, m.message_id);
	cg_stored_msg_free(&m);
	/* From here on the row is ours (in flight) until finish(). */
	xb->pend = cg_realloc(xb->pend, (xb->npend + 1) * sizeof *xb->pend);
	size_t i = xb->npend++;
	struct xb_pending *p = &xb->pend[i];
	memset(p, 0, sizeof *p);
	row_copy(&p->row, row);
	p->origin_id = origin;
	p->up_idx = -1;
	p->deadline = cg_mono_ms() + XB_ECHO_TIMEOUT;
	d->status = CG_INFLIGHT;
	enum cg_delivery_status st;
	char *why = NULL;
	if (xb_upload_start(xb, i) == 0 && send_row(xb, i, &st, &why) != 0) {
		drop(xb, i); /* reported through d, not completed */
		d->status = st;
		d->error = why;
	}
}

/*
 * Until every room is settled, only notice rows and rows of joined (or
 * refused) rooms are taken: those are moved to the front of d (stably;
 * bridge.h lets deliver() reorder the batch, the first rows it returns
 * are the ones recorded) and the rest stay pending untouched.  A room
 * row in flight counts against XB_MAX_INFLIGHT; a notice row is done
 * at once and does not.
 */
size_t
xb_deliver(struct cg_bridge *b, struct cg_outbox_item *d, size_t n)
{
	struct xb_bridge *xb = b->impl;
	if (!xb_muc_settled(xb)) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (waits_for_join(xb, d[i].row))
				continue;
			struct cg_outbox_item t = d[i];
			memmove(&d[k + 1], &d[k], (i - k) * sizeof *d);
			d[k++] = t;
		}
		n = k;
	}
	size_t i;
	for (i = 0; i < n; i++) {
		if (xb->state != XB_ONLINE ||
		    (xb->npend >= XB_MAX_INFLIGHT && d[i].row->notice_id == 0))
			break;
		deliver_one(xb, &d[i]);
	}
	return i;
}

/* Store the ids the room gave our message: stanza-id and origin-id; and
 * once the room's archive is read, the stanza-id is its watermark (a
 * catch-up need not page through our own lines again). */
static void
record_ids(struct xb_bridge *xb, int64_t message_id, const char *room,
           const char *origin_id, const char *stanza_id)
{
	struct cg_store *s = xb->gw->store;
	struct xb_room *r = xb_muc_room(xb, room);
	if (cg_store_begin(s) != 0)
		return;
	int rc = 0;
	if (stanza_id)
		rc = cg_store_extid_add(s, "xmpp", stanza_id, message_id);
	if (rc == 0)
		rc =
		    cg_store_extid_add(s, "xmpp-origin", origin_id, message_id);
	if (rc == 0 && stanza_id && r && r->caught_up)
		rc = cg_store_xmpp_watermark_set(s, r->jid, stanza_id);
	if (rc == 0 && cg_store_commit(s) == 0)
		return;
	cg_store_rollback(s);
	cg_error("xmpp: cannot store the ids of message %lld: %s",
	         (long long)message_id, cg_store_errmsg(s));
}

/* The outbox row an origin-id of our form ("cg-ROW-HASH", or a file
 * line's "cg-ROW-HASH-fN") names. */
struct origin_row {
	struct cg_outbox_row row;
	enum cg_outbox_state state;
	char *expect; /* the origin-id of the row's line; NULL when the row
	                 is not xmpp's or its message is gone */
};

/* -1: not of our form; 0: no such row; 1: o is filled (origin_row_free). */
static int
origin_row(struct xb_bridge *xb, const char *origin_id, struct origin_row *o)
{
	long long row_id;
	unsigned hash;
	if (origin_id == NULL || strncmp(origin_id, "cg-", 3) != 0 ||
	    sscanf(origin_id, "cg-%lld-%8x", &row_id, &hash) != 2)
		return -1;
	o->expect = NULL;
	if (cg_store_outbox_get(xb->gw->store, row_id, &o->row, &o->state,
	                        NULL) != 0)
		return 0;
	struct cg_stored_msg m;
	if (strcmp(o->row.bridge, "xmpp") == 0 &&
	    cg_store_message_get(xb->gw->store, o->row.message_id, &m) == 0) {
		o->expect = origin_id_for(row_id, m.message_id);
		cg_stored_msg_free(&m);
	}
	return 1;
}

static void
origin_row_free(struct origin_row *o)
{
	free(o->expect);
	free(o->row.bridge);
	free(o->row.destination);
	free(o->row.last_error);
}

/* An echo of ours whose row is not in flight (timed out, or sent before a
 * restart): find the row by the origin-id. */
static int
late_echo(struct xb_bridge *xb, const char *origin_id, const char *stanza_id)
{
	struct origin_row o;
	int found = origin_row(xb, origin_id, &o);
	if (found < 0)
		return 0;
	if (found == 0)
		return 1; /* ours by its form; nothing left to do */
	if (o.expect && strcmp(o.expect, origin_id) == 0) {
		record_ids(xb, o.row.message_id, o.row.destination, origin_id,
		           stanza_id);
		if (o.state == CG_OUT_PENDING) {
			struct cg_outbox_item it = {
			    .row = &o.row,
			    .status = CG_DELIVERED,
			    .far_id =
			        cg_strdup(stanza_id ? stanza_id : origin_id),
			};
			cg_info("xmpp: outbox %lld: late echo from %s: "
			        "delivered",
			        (long long)o.row.id, o.row.destination);
			cg_outbox_complete(xb->gw, &it);
		}
	}
	origin_row_free(&o);
	return 1;
}

int
xb_deliver_is_ours(struct xb_bridge *xb, const char *origin_id)
{
	struct origin_row o;
	if (origin_row(xb, origin_id, &o) <= 0)
		return 0;
	int ours = 0;
	if (o.expect) {
		size_t n = strlen(o.expect);
		/* the row's line, or one of its file lines ("-fN") */
		ours = strncmp(origin_id, o.expect, n) == 0 &&
		       (origin_id[n] == '\0' ||
		        strncmp(origin_id + n, "-f", 2) == 0);
	}
	origin_row_free(&o);
	return ours;
}

int
xb_deliver_on_echo(struct xb_bridge *xb, const char *origin_id,
                   const char *stanza_id)
{
	if (origin_id == NULL)
		return 0;
	for (size_t i = 0; i < xb->npend; i++) {
		struct xb_pending *p = &xb->pend[i];
		if (strcmp(p->origin_id, origin_id) != 0)
			continue;
		record_ids(xb, p->row.message_id, p->row.destination, origin_id,
		           stanza_id);
		cg_debug("xmpp: outbox %lld: echoed by %s as %s",
		         (long long)p->row.id, p->row.destination,
		         stanza_id ? stanza_id : "(no stanza-id)");
		finish(xb, i, CG_DELIVERED, stanza_id ? stanza_id : origin_id,
		       NULL);
		return 1;
	}
	if (strncmp(origin_id, "cg-", 3) == 0)
		return late_echo(xb, origin_id, stanza_id);
	return 0;
}

void
xb_deliver_puppet_joined(struct xb_bridge *xb, const char *puppet_jid)
{
	int64_t now = cg_mono_ms();
	for (size_t i = 0; i < xb->npend; i++) {
		struct xb_pending *p = &xb->pend[i];
		if (p->held == NULL || p->puppet_jid == NULL ||
		    strcasecmp(p->puppet_jid, puppet_jid) != 0)
			continue;
		p->deadline = now + XB_ECHO_TIMEOUT;
		cg_debug("xmpp: outbox %lld: sent as %s, its sender now in %s",
		         (long long)p->row.id, p->origin_id,
		         p->row.destination);
		for (size_t k = 0; k < p->nheld; k++)
			xb_send_release(xb, p->held[k]);
		free(p->held);
		p->held = NULL;
		p->nheld = 0;
	}
}

void
xb_deliver_puppet_failed(struct xb_bridge *xb, const char *puppet_jid,
                         const char *why)
{
	for (size_t i = xb->npend; i-- > 0;) {
		struct xb_pending *p = &xb->pend[i];
		if (p->held && p->puppet_jid &&
		    strcasecmp(p->puppet_jid, puppet_jid) == 0)
			finish(xb, i, CG_RETRY, NULL, why);
	}
}

/*
 * Whether a message error from `from` may speak for pending row p.  Our
 * origin-ids can be guessed (cg-ROW-HASH), so only the row's destination
 * counts: a room row's errors come from the room's bare JID itself (the
 * room, or a server on its way, answering for it; an occupant speaks as
 * ROOM/NICK and is not the room); a direct message's from the recipient,
 * any resource.  JIDs compare without case, as xb_jid_same() does.
 */
static int
error_from_destination(struct xb_bridge *xb, const struct xb_pending *p,
                       const char *from)
{
	const char *dest = p->row.destination;
	if (from == NULL || dest == NULL)
		return 0;
	if (xb_muc_room(xb, dest) != NULL || p->row.notice_id == 0)
		return xb_jid_same(from, dest);
	char *a = xb_bare_lower(from), *b = xb_bare_lower(dest);
	int same = strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

int
xb_deliver_on_error(struct xb_bridge *xb, const char *from, const char *id,
                    const char *cond)
{
	for (size_t i = 0; id && i < xb->npend; i++) {
		struct xb_pending *p = &xb->pend[i];
		if (strcmp(p->origin_id, id) != 0)
			continue;
		if (!error_from_destination(xb, p, from)) {
			cg_warn("xmpp: outbox %lld: ignoring an error for it "
			        "from %s: it went to %s",
			        (long long)p->row.id, from ? from : "(nobody)",
			        p->row.destination);
			return 0;
		}
		char *why = cg_asprintf("the room refused the message: %s",
		                        cond ? cond : "error");
		/* not-acceptable/forbidden: we are not (or no longer) an
		 * occupant: rejoin before the retry.  remote-server-*: the
		 * room is on a partner's server we lost; when that server
		 * is back we are no occupant there any more. */
		struct xb_room *r = xb_muc_room(xb, p->row.destination);
		if (r && cond &&
		    (strncmp(cond, "remote-server-", 14) == 0 ||
		     strcmp(cond, "not-acceptable") == 0 ||
		     strcmp(cond, "forbidden") == 0 ||
		     strcmp(cond, "item-not-found") == 0))
			xb_muc_rejoin(xb, r, why);
		finish(xb, i, CG_RETRY, NULL, why);
		free(why);
		return 1;
	}
	return 0;
}

int64_t
xb_deliver_tick(struct xb_bridge *xb, int64_t now)
{
	int64_t wake = 0;
	for (size_t i = xb->npend; i-- > 0;) {
		struct xb_pending *p = &xb->pend[i];
		if (p->deadline <= now) {
			char *why =
			    p->uploading
			        ? cg_asprintf("its files could not be uploaded "
			                      "within %d s",
			                      XB_FILES_UPLOAD_WAIT / 1000)
			        : cg_asprintf("no echo from %s within %d s",
			                      p->row.destination,
			                      XB_ECHO_TIMEOUT / 1000);
			finish(xb, i, CG_RETRY, NULL, why);
			free(why);
		} else if (wake == 0 || p->deadline < wake) {
			wake = p->deadline;
		}
	}
	return wake;
}

void
xb_deliver_retry_all(struct xb_bridge *xb, const char *why)
{
	while (xb->npend > 0)
		finish(xb, xb->npend - 1, CG_RETRY, NULL, why);
}
