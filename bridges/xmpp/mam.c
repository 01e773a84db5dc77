/*
 * mam.c: catching up with a room's archive (XEP-0313, with XEP-0059
 * paging) after every join, so lines said while the gateway was stopped
 * or disconnected still reach email members, exactly once.
 *
 * Each room has a watermark in the store: the stanza-id (= archive id) of
 * the last archived line the gateway has read.  After a join we ask the
 * room for what follows it, 50 lines a page, until the room says the
 * result is complete; each line goes through xb_inbound_archived() (ours,
 * commands and lines already stored are skipped: dedup is by stanza-id),
 * and each stored line moves the watermark in its own ingest transaction.
 * At the end of a page the watermark moves to the page's last id (also
 * past lines that were skipped).  A room never read before has no
 * watermark: we do not import its history, only ask for its newest id
 * (an empty archive gives "": next time, everything in it is new).
 * The room's live replay of history on join is not used (we join with
 * maxstanzas=0).  A watermark the archive no longer knows (item-not-found:
 * expired, or the room was destroyed and made again) starts over from the
 * newest id, with a warning.
 *
 * Must never: move the watermark past a line that was not stored (a failed
 * page stops the catch-up and retries it later), or accept a result or an
 * end of page that is not from the room's bare JID (the archive's owner:
 * ROOM/NICK is an occupant) with the query id we gave (xb_new_id: 128
 * random bits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

void
xb_mam_reset(struct xb_room *r)
{
	free(r->mam_id);
	r->mam_id = NULL;
	free(r->mam_newest);
	r->mam_newest = NULL;
	r->mam_seed = 0;
	r->mam_failed = 0;
	r->mam_lines = 0;
	r->caught_up = 0;
	r->mam_retry_at = 0;
}

static struct xb_room *
room_of_query(struct xb_bridge *xb, const char *id)
{
	for (size_t i = 0; id && i < xb->nrooms; i++)
		if (xb->rooms[i].mam_id && strcmp(xb->rooms[i].mam_id, id) == 0)
			return &xb->rooms[i];
	return NULL;
}

/* The watermark alone (pages whose last lines were skipped, seeds). */
static int
watermark_set(struct xb_bridge *xb, struct xb_room *r, const char *id)
{
	struct cg_store *s = xb->gw->store;
	if (cg_store_begin(s) == 0 &&
	    cg_store_xmpp_watermark_set(s, r->jid, id) == 0 &&
	    cg_store_commit(s) == 0)
		return 0;
	cg_store_rollback(s);
	cg_error("xmpp: %s: cannot store the archive watermark: %s", r->jid,
	         cg_store_errmsg(s));
	return -1;
}

static int on_fin(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg);

/* Ask for one page: after `after` ("" or NULL: from the start), or with
 * seed set, only the newest line. */
static void
query(struct xb_bridge *xb, struct xb_room *r, const char *after, int seed)
{
	free(r->mam_id);
	r->mam_id = xb_new_id("mam");
	r->mam_seed = seed;
	r->mam_sent = cg_mono_ms();
	xmpp_stanza_t *iq = xmpp_iq_new(xb->ctx, "set", r->mam_id);
	xmpp_stanza_set_to(iq, r->jid);
	xb_from_self(xb, iq);
	xmpp_stanza_t *q = xb_el(xb->ctx, "query", NS_MAM);
	xmpp_stanza_set_attribute(q, "queryid", r->mam_id);
	xmpp_stanza_t *x = xb_el(xb->ctx, "x", NS_DATA);
	xmpp_stanza_set_type(x, "submit");
	xmpp_stanza_t *f = xb_el(xb->ctx, "field", NULL);
	xmpp_stanza_set_attribute(f, "var", "FORM_TYPE");
	xmpp_stanza_set_attribute(f, "type", "hidden");
	xb_add_text_child(f, "value", NS_MAM);
	xmpp_stanza_add_child_ex(x, f, 0);
	xmpp_stanza_add_child_ex(q, x, 0);
	xmpp_stanza_t *set = xb_el(xb->ctx, "set", NS_RSM);
	char max[16];
	snprintf(max, sizeof max, "%d", seed ? 1 : XB_MAM_PAGE);
	xb_add_text_child(set, "max", max);
	if (seed)
		xmpp_stanza_add_child_ex(set, xb_el(xb->ctx, "before", NULL),
		                         0); /* the last page: the newest */
	else if (after && *after)
		xb_add_text_child(set, "after", after);
	xmpp_stanza_add_child_ex(q, set, 0);
	xmpp_stanza_add_child_ex(iq, q, 0);
	xmpp_id_handler_add(xb->conn, on_fin, r->mam_id, xb);
	cg_debug("xmpp: %s: archive query %s%s%s", r->jid,
	         seed ? "for the newest id" : "after ",
	         seed              ? ""
	         : after && *after ? after
	                           : "(the start)",
	         seed ? "" : "");
	xb_send_release(xb, iq);
}

void
xb_mam_catch_up(struct xb_bridge *xb, struct xb_room *r)
{
	char *w = NULL;
	xb_mam_reset(r);
	if (cg_store_xmpp_watermark_get(xb->gw->store, r->jid, &w) != 0) {
		r->mam_retry_at = cg_mono_ms() + XB_MAM_RETRY;
		return;
	}
	query(xb, r, w, w == NULL);
	free(w);
}

int
xb_mam_on_message(struct xb_bridge *xb, xmpp_stanza_t *st)
{
	xmpp_stanza_t *res =
	    xmpp_stanza_get_child_by_name_and_ns(st, "result", NS_MAM);
	if (res == NULL)
		return 0;
	struct xb_room *r =
	    room_of_query(xb, xmpp_stanza_get_attribute(res, "queryid"));
	const char *from = xmpp_stanza_get_from(st);
	const char *id = xmpp_stanza_get_attribute(res, "id");
	if (r == NULL || id == NULL) {
		cg_debug("xmpp: an archive result that we did not ask for");
		return 1;
	}
	/* Only the room itself (its bare JID: the archive's owner) answers
	 * for its archive; an occupant's private message through the room
	 * comes from ROOM/NICK. */
	if (!xb_jid_same(from, r->jid)) {
		char *clean = xb_clean_text(from ? from : "(nobody)");
		cg_warn("xmpp: %s: ignoring an archive result from %s: only "
		        "the room may answer",
		        r->jid, clean);
		free(clean);
		return 1;
	}
	if (r->mam_seed) {
		free(r->mam_newest);
		r->mam_newest = cg_strdup(id);
		return 1;
	}
	xmpp_stanza_t *fwd =
	    xmpp_stanza_get_child_by_name_and_ns(res, "forwarded", NS_FORWARD);
	xmpp_stanza_t *m =
	    fwd ? xmpp_stanza_get_child_by_name(fwd, "message") : NULL;
	if (m == NULL)
		return 1;
	struct xb_in in;
	xb_in_parse(m, &in);
	/* The archive's id is the line's stanza-id. */
	free(in.stanza_id);
	in.stanza_id = cg_strdup(id);
	if (in.room && strcmp(in.room, r->jid) == 0 && in.type &&
	    strcmp(in.type, "groupchat") == 0)
		xb_inbound_archived(xb, r, &in);
	xb_in_free(&in);
	return 1;
}

static void
fin_error(struct xb_bridge *xb, struct xb_room *r, xmpp_stanza_t *st)
{
	struct xb_in in;
	xb_in_parse(st, &in);
	const char *cond = in.error_condition ? in.error_condition : "error";
	if (strcmp(cond, "item-not-found") == 0 && !r->mam_seed) {
		cg_warn("xmpp: %s: the archive no longer has the last line we "
		        "read (expired, or the room was made again); lines "
		        "said while we were away may be missing; starting "
		        "from the newest",
		        r->jid);
		query(xb, r, NULL, 1);
	} else if (strcmp(cond, "feature-not-implemented") == 0 ||
	           strcmp(cond, "service-unavailable") == 0) {
		cg_warn("xmpp: %s: the room keeps no archive (%s): lines said "
		        "while the gateway is away are not caught up",
		        r->jid, cond);
		free(r->mam_id);
		r->mam_id = NULL;
		r->caught_up = 1;
	} else {
		cg_warn("xmpp: %s: archive query refused (%s); trying again in "
		        "%d s",
		        r->jid, cond, XB_MAM_RETRY / 1000);
		free(r->mam_id);
		r->mam_id = NULL;
		r->mam_retry_at = cg_mono_ms() + XB_MAM_RETRY;
	}
	xb_in_free(&in);
}

static void
seed_done(struct xb_bridge *xb, struct xb_room *r)
{
	free(r->mam_id);
	r->mam_id = NULL;
	const char *w = r->mam_newest ? r->mam_newest : "";
	if (watermark_set(xb, r, w) != 0) {
		r->mam_retry_at = cg_mono_ms() + XB_MAM_RETRY;
		return;
	}
	r->caught_up = 1;
	cg_info("xmpp: %s: archive read: starting after %s", r->jid,
	        *w ? w : "(an empty archive)");
}

static int
on_fin(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	struct xb_room *r = room_of_query(xb, xmpp_stanza_get_id(st));
	if (r == NULL)
		return 0; /* the room was left meanwhile */
	if (!xb_answer_ok(xb, st, r->jid, "an archive query"))
		return 1; /* keep waiting for the room */
	const char *type = xmpp_stanza_get_type(st);
	if (type == NULL || strcmp(type, "result") != 0) {
		fin_error(xb, r, st);
		return 0;
	}
	if (r->mam_seed) {
		seed_done(xb, r);
		return 0;
	}
	xmpp_stanza_t *fin =
	    xmpp_stanza_get_child_by_name_and_ns(st, "fin", NS_MAM);
	xmpp_stanza_t *set =
	    fin ? xmpp_stanza_get_child_by_name_and_ns(fin, "set", NS_RSM)
	        : NULL;
	char *last = set ? xb_child_text(set, "last", NULL) : NULL;
	const char *complete =
	    fin ? xmpp_stanza_get_attribute(fin, "complete") : NULL;
	free(r->mam_id);
	r->mam_id = NULL;
	if (r->mam_failed) {
		cg_error("xmpp: %s: a line of the archive could not be stored; "
		         "reading it again in %d s",
		         r->jid, XB_MAM_RETRY / 1000);
		r->mam_retry_at = cg_mono_ms() + XB_MAM_RETRY;
	} else if (last && watermark_set(xb, r, last) != 0) {
		r->mam_retry_at = cg_mono_ms() + XB_MAM_RETRY;
	} else if (last && !(complete && strcmp(complete, "true") == 0)) {
		query(xb, r, last, 0); /* the next page */
	} else {
		r->caught_up = 1;
		cg_info("xmpp: %s: caught up with the archive: %zu line(s) "
		        "stored",
		        r->jid, r->mam_lines);
	}
	free(last);
	return 0;
}
