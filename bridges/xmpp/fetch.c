/*
 * fetch.c: files shared in a room reach email members.  A room line whose
 * XEP-0066 <url> or whole body is a URL on the upload service (or any
 * https URL with xmpp.fetch_external = true) is stored with an attachment
 * row in state CG_ATT_FETCH (the pipeline does that, and holds the line's
 * mail rows back for up to CG_FETCH_WAIT seconds).  Here the file is
 * fetched (http.c: size-capped at smtp.max_attachment_size, time-capped at
 * XB_FILES_TIMEOUT, TLS verified, no redirects, external URLs never to
 * private addresses), put into the SchutzBox, and the row becomes
 * CG_ATT_STORED; or CG_ATT_LINK with a note (too big, the fetch failed,
 * over the sender's quota: then the sender is told privately), and the
 * mail carries the link.  Either way the line's mail rows are then moved
 * back to when the room's quiet spell ends.
 *
 * After a restart xb_fetch_resume() fetches whatever is still waiting.
 * Must never: write the plaintext to disk (memfd until the box encrypts
 * it), or hold the loop while a file downloads.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bridges/xmpp/http.h"
#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/outbox.h"
#include "lib/util.h"
#include "store/box.h"

#define FETCH_DEFAULT_MAX (10 * 1024 * 1024) /* without an smtp section */

int
xb_fetch_shared(const struct xb_bridge *xb, const struct xb_in *in, char **url,
                char **name)
{
	*url = *name = NULL;
	char *u = NULL;
	if (in->oob_url) {
		char *o = xb_url_origin(in->oob_url);
		if (o)
			u = cg_strdup(in->oob_url);
		free(o);
	}
	if (u == NULL)
		u = xb_body_url(in->body);
	if (u == NULL)
		return 0;
	int ok =
	    xb_upload_url_ours(xb, u) ||
	    (xb_cfg(xb)->fetch_external && strncasecmp(u, "https://", 8) == 0);
	if (!ok) {
		free(u);
		return 0;
	}
	*url = u;
	*name = xb_url_filename(u);
	return 1;
}

static int
queued(struct xb_bridge *xb, int64_t key, int add)
{
	for (size_t i = 0; i < xb->nfetching; i++)
		if (xb->fetching[i] == key) {
			if (!add)
				xb->fetching[i] = xb->fetching[--xb->nfetching];
			return 1;
		}
	if (add) {
		xb->fetching = cg_realloc(
		    xb->fetching, (xb->nfetching + 1) * sizeof *xb->fetching);
		xb->fetching[xb->nfetching++] = key;
	}
	return 0;
}

static void
fetch_one(struct xb_bridge *xb, const struct cg_att_row *a)
{
	int64_t key = a->message_id << 16 | (a->idx & 0xffff);
	if (a->url == NULL || queued(xb, key, 0))
		return;
	struct xb_http_client *h = xb_files_http(xb);
	if (h == NULL)
		return;
	queued(xb, key, 1);
	struct xb_http_job *j = cg_calloc(1, sizeof *j);
	j->kind = XB_HTTP_GET;
	j->url = cg_strdup(a->url);
	j->fd = -1;
	int ours = xb_upload_url_ours(xb, a->url);
	j->external = !ours;
	j->ca_file = ours ? cg_strdup(xb_cfg(xb)->ca_file) : NULL;
	j->max = xb->gw->cfg->smtp.present
	             ? xb->gw->cfg->smtp.max_attachment_size
	             : FETCH_DEFAULT_MAX;
	j->timeout_s = XB_FILES_TIMEOUT;
	j->key2 = a->idx;
	j->message_id = a->message_id;
	j->tag = XB_FILES_FETCH;
	cg_debug("xmpp: message %lld: fetching attachment %d from %s",
	         (long long)a->message_id, a->idx, a->url);
	xb_http_submit(h, j);
}

void
xb_fetch_message(struct xb_bridge *xb, int64_t message_id)
{
	struct cg_att_row *a;
	size_t n;
	if (cg_store_attachments_of(xb->gw->store, message_id, &a, &n) != 0)
		return;
	for (size_t k = 0; k < n; k++)
		if (a[k].state == CG_ATT_FETCH)
			fetch_one(xb, &a[k]);
	cg_att_rows_free(a, n);
}

void
xb_fetch_resume(struct xb_bridge *xb)
{
	struct cg_att_row *a;
	size_t n;
	if (cg_store_attachments_fetching(xb->gw->store, &a, &n) != 0)
		return;
	if (n)
		cg_info("xmpp: fetching %zu file(s) shared in rooms before "
		        "the restart",
		        n);
	for (size_t k = 0; k < n; k++)
		fetch_one(xb, &a[k]);
	cg_att_rows_free(a, n);
}

/* Over the quota: the sharer is told privately (a notice by chat). */
static void
tell_over_quota(struct xb_bridge *xb, const struct cg_stored_msg *m,
                const struct cg_cfg_channel *ch, const char *name, int64_t size,
                int64_t used)
{
	const char *jid = m->sender_addr;
	if (jid == NULL || strchr(jid, '@') == NULL || strchr(jid, '/'))
		return; /* the room hides who it is */
	char *sz = cg_size_text(size), *u = cg_size_text(used);
	char *subject = cg_asprintf("%s was not stored", name);
	char *body = cg_asprintf(
	    "%s (%s) is over your SchutzBox quota of %lld MB (%s used), so "
	    "the gateway did not keep a copy: email members of %s get the "
	    "link instead of the file.",
	    name, sz, (long long)xb->gw->cfg->box_quota_mb, u,
	    ch ? ch->name : "the channel");
	cg_outbox_chat_notice(xb->gw, ch, m->channel_id, jid, subject, body,
	                      "auto-replied");
	free(subject);
	free(body);
	free(sz);
	free(u);
}

/* "application/pdf; charset=x" -> "application/pdf" (caller frees). */
static char *
media_type(const char *ct)
{
	if (ct == NULL)
		return NULL;
	size_t n = strcspn(ct, "; \t");
	return n ? cg_strndup(ct, n) : NULL;
}

/* Keep the fetched file: the box, then the row, in one transaction. */
static int
keep(struct xb_bridge *xb, struct xb_http_job *j, struct cg_att_row *a)
{
	struct cg_store *s = xb->gw->store;
	char id[CG_BOX_ID_LEN + 1];
	char *err = NULL;
	if (xb->gw->box == NULL || cg_store_begin(s) != 0)
		return -1;
	if (lseek(j->fd, 0, SEEK_SET) != 0 ||
	    cg_box_put_fd(xb->gw->box, j->fd, a->name, a->type, 0, id, &err) !=
	        0) {
		cg_error("xmpp: message %lld: attachment %d: cannot store it "
		         "in the SchutzBox: %s",
		         (long long)a->message_id, a->idx,
		         err ? err : "seek failed");
		free(err);
		cg_store_rollback(s);
		return -1;
	}
	free(a->blob_id);
	a->blob_id = cg_strdup(id);
	a->state = CG_ATT_STORED;
	a->size = j->size;
	if (cg_store_attachment_update(s, a) != 0 || cg_store_commit(s) != 0) {
		cg_store_rollback(s);
		return -1;
	}
	return 0;
}

void
xb_fetch_done(struct xb_bridge *xb, struct xb_http_job *j)
{
	struct cg_store *s = xb->gw->store;
	queued(xb, j->message_id << 16 | (j->key2 & 0xffff), 0);
	struct cg_att_row row, *a = &row;
	struct cg_stored_msg m;
	if (cg_store_attachment_get(s, j->message_id, (int)j->key2, a) != 0)
		return;
	if (a->state != CG_ATT_FETCH ||
	    cg_store_message_get(s, j->message_id, &m) != 0) {
		cg_att_row_free(a);
		return;
	}
	char *chname = cg_store_channel_name(s, m.channel_id);
	const struct cg_cfg_channel *ch =
	    chname ? cg_config_channel(xb->gw->cfg, chname) : NULL;
	free(chname);
	const char *name = a->name ? a->name : "the file";
	if (a->type == NULL)
		a->type = media_type(j->content_type);
	char *why = NULL;
	if (j->too_big) {
		char *lim = cg_size_text(j->max);
		why = cg_asprintf("larger than the mail limit of %s "
		                  "(smtp.max_attachment_size)",
		                  lim);
		free(lim);
	} else if (j->error) {
		why = cg_asprintf("could not be fetched: %s", j->error);
	} else {
		int64_t used = 0;
		int ok = cg_box_quota_ok(s, m.contact_id, j->size,
		                         xb->gw->cfg->box_quota_mb, &used);
		if (ok == 0) {
			why = cg_asprintf("over the sender's SchutzBox quota "
			                  "of %lld MB",
			                  (long long)xb->gw->cfg->box_quota_mb);
			tell_over_quota(xb, &m, ch, name, j->size, used);
		} else if (ok < 0 || keep(xb, j, a) != 0) {
			why = cg_strdup("could not be stored");
		}
	}
	if (why) {
		a->state = CG_ATT_LINK;
		free(a->note);
		a->note = why;
		if (cg_store_attachment_update(s, a) != 0)
			cg_error("xmpp: message %lld: attachment %d: %s",
			         (long long)a->message_id, a->idx,
			         cg_store_errmsg(s));
		cg_info("xmpp: message %lld: %s %s: mail carries the link",
		        (long long)a->message_id, name, why);
	} else {
		cg_info("xmpp: message %lld: %s fetched (%lld bytes) into the "
		        "SchutzBox as %.12s",
		        (long long)a->message_id, name, (long long)a->size,
		        a->blob_id);
	}
	/* The mail waits no longer than the room's quiet spell. */
	int batch = ch ? ch->chat_batch : 0;
	int64_t due = (m.received + batch) * 1000;
	if (due < cg_now_ms())
		due = cg_now_ms();
	if (cg_store_outbox_reschedule(s, m.id, "email", due) == 0)
		xb->gw->outbox_kick = 1;
	cg_stored_msg_free(&m);
	cg_att_row_free(a);
}
