/*
 * attach_in.c: the files of a message the gateway takes in (attach_in.h):
 * into the SchutzBox within the sender's quota, a CG_ATT_FETCH row for a
 * file shared by URL in a room, and the one notice to a sender whose files
 * were over the quota.  Runs inside the ingest transaction, so a message
 * and its files commit together or not at all.
 * Must never: keep a file over the quota, answer mail that may not be
 * answered (CG_MSG_NO_REPLY, set by the email bridge), or let a SchutzBox
 * failure pass as a message without its file.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/attach_in.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/onboarding.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

static const char *
file_name(const struct cg_attachment *a)
{
	return a->name && *a->name ? a->name : "(unnamed file)";
}

/* A file shared by URL in a room: no bytes yet, the bridge fetches them. */
static int
by_url(const struct cg_attachment *a)
{
	return a->url && a->data == NULL;
}

int
cg_attach_in_fetching(const struct cg_msg *m)
{
	for (size_t i = 0; i < m->natt; i++)
		if (by_url(&m->att[i]))
			return 1;
	return 0;
}

/* A file shared by URL: the XMPP bridge fetches it and updates the row. */
static int
store_fetch(struct cg_gateway *gw, const struct cg_attachment *a,
            const struct cg_attach_in *in, int idx)
{
	struct cg_att_row r = {
	    .message_id = in->message_id,
	    .idx = idx,
	    .name = a->name,
	    .type = a->type,
	    .url = a->url,
	    .state = CG_ATT_FETCH,
	};
	return cg_store_attachment_insert(gw->store, &r, NULL, 0);
}

/* Over the quota: a row without bytes whose note says why. */
static int
store_refused(struct cg_gateway *gw, const struct cg_attach_in *in,
              struct cg_att_row *r, int64_t used)
{
	char *u = cg_size_text(used);
	r->state = CG_ATT_REFUSED;
	r->note = cg_asprintf("over the sender's SchutzBox quota: %s of "
	                      "box.quota_mb = %lld MB used",
	                      u, (long long)gw->cfg->box_quota_mb);
	int rc = cg_store_attachment_insert(gw->store, r, NULL, 0);
	cg_info("message %s: file %s (%lld bytes) not kept: %s", in->msgid,
	        r->name ? r->name : "(unnamed file)", (long long)r->size,
	        r->note);
	free(r->note);
	r->note = NULL;
	free(u);
	return rc;
}

/* Bytes: into the box (or the row, without one).  *refused is set when
 * the file was over the sender's quota. */
static int
store_bytes(struct cg_gateway *gw, const struct cg_attachment *a,
            const struct cg_attach_in *in, int idx, int *refused)
{
	struct cg_att_row r = {
	    .message_id = in->message_id,
	    .idx = idx,
	    .name = a->name,
	    .type = a->type,
	    .size = (int64_t)a->size,
	    .state = CG_ATT_STORED,
	};
	const void *data = a->data ? (const void *)a->data : "";
	if (gw->box == NULL)
		return cg_store_attachment_insert(gw->store, &r, data, a->size);
	int64_t used = 0;
	int ok = cg_box_quota_ok(gw->store, in->contact_id, r.size,
	                         gw->cfg->box_quota_mb, &used);
	if (ok < 0)
		return -1;
	if (ok == 0) {
		*refused = 1;
		return store_refused(gw, in, &r, used);
	}
	char id[CG_BOX_ID_LEN + 1];
	char *err = NULL;
	if (cg_box_put_mem(gw->box, data, a->size, a->name, a->type, 0, id,
	                   &err) != 0) {
		cg_warn("message %s: file %s: cannot store it in the "
		        "SchutzBox: %s",
		        in->msgid, file_name(a), err ? err : "unknown error");
		free(err);
		return -1;
	}
	r.blob_id = id;
	return cg_store_attachment_insert(gw->store, &r, NULL, 0);
}

/* The notice's text: which files, the quota and what the sender uses. */
static char *
refused_body(struct cg_gateway *gw, const struct cg_msg *m,
             const struct cg_attach_in *in, const size_t *idx, size_t n,
             int64_t used)
{
	struct cg_buf b = CG_BUF_INIT;
	const char *subject = m->subject ? m->subject : in->subject;
	cg_buf_printf(&b, "Hello,\n\nyour message to %s", in->ch->address);
	if (subject && *subject)
		cg_buf_printf(&b, " (\"%s\")", subject);
	cg_buf_printf(&b,
	              " reaches the list without %s, as %s over your "
	              "SchutzBox quota:\n\n",
	              n == 1 ? "this file" : "these files",
	              n == 1 ? "it is" : "they are");
	for (size_t i = 0; i < n; i++) {
		char *sz = cg_size_text((int64_t)m->att[idx[i]].size);
		cg_buf_printf(&b, "  %s (%s)\n", file_name(&m->att[idx[i]]),
		              sz);
		free(sz);
	}
	char *u = cg_size_text(used);
	cg_buf_printf(&b,
	              "\nEach sender may keep %lld MB of files in the list's "
	              "SchutzBox (box.quota_mb = %lld); yours holds %s.\n\n",
	              (long long)gw->cfg->box_quota_mb,
	              (long long)gw->cfg->box_quota_mb, u);
	free(u);
	if (m->flags & CG_MSG_HELD)
		cg_buf_puts(&b, "The rest of your message is held until you "
		                "may post to the list.\n");
	else
		cg_buf_puts(&b, "The rest of your message went out to the "
		                "list as usual.\n");
	cg_buf_puts(&b, "Please share large files as a link instead.\n");
	return cg_buf_steal(&b);
}

/* One notice for the files of m that were over the quota. */
static int
notify_refused(struct cg_gateway *gw, const struct cg_msg *m,
               const struct cg_attach_in *in, const size_t *idx, size_t n)
{
	if (m->network != CG_NET_EMAIL || !gw->cfg->smtp.present ||
	    (m->flags & (CG_MSG_NO_REPLY | CG_MSG_LOOP)))
		return 0;
	int64_t used = cg_store_box_usage(gw->store, in->contact_id);
	if (used < 0)
		return -1;
	const char *subject = m->subject ? m->subject : in->subject;
	struct cg_notice nt = {
	    .channel_id = in->channel_id,
	    .from_addr = cg_onboarding_request_addr(in->ch->address),
	    .to_addr = cg_strdup(m->sender_addr),
	    .subject =
	        cg_asprintf("%s not passed on: %s", n == 1 ? "File" : "Files",
	                    subject && *subject ? subject : "(no subject)"),
	    .body = refused_body(gw, m, in, idx, n, used),
	    .in_reply_to = cg_strdup(in->msgid),
	    .auto_submitted = cg_strdup("auto-replied"),
	};
	int rc = cg_store_notice_add(gw->store, &nt, gw->cfg->gateway.domain);
	cg_notice_free(&nt);
	if (rc == 0)
		gw->outbox_kick = 1;
	return rc;
}

int
cg_attach_in_store(struct cg_gateway *gw, const struct cg_msg *m,
                   const struct cg_attach_in *in)
{
	size_t *refused = NULL, nrefused = 0;
	int rc = 0;
	for (size_t i = 0; i < m->natt && rc == 0; i++) {
		const struct cg_attachment *a = &m->att[i];
		int over = 0;
		if (by_url(a))
			rc = store_fetch(gw, a, in, (int)i);
		else
			rc = store_bytes(gw, a, in, (int)i, &over);
		if (rc == 0 && over) {
			refused = cg_realloc(refused,
			                     (nrefused + 1) * sizeof *refused);
			refused[nrefused++] = i;
		}
	}
	if (rc == 0 && nrefused)
		rc = notify_refused(gw, m, in, refused, nrefused);
	free(refused);
	return rc;
}
