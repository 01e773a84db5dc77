/*
 * mail_in.c: one delivered copy -> parsed, trimmed cg_msg -> routed by its
 * envelope recipient -> ingested, for both ways mail comes in (imap_in.c,
 * lmtp_in.c).  See mail_in.h.
 *
 * Threading: the loop thread only (it writes to the store).
 * Must never: commit anything when the store refuses part of it, or route
 * a copy by anything but the recipient it was delivered to.
 */
#include <stdlib.h>

#include "bridges/email/autoreply.h"
#include "bridges/email/mail_in.h"
#include "bridges/email/mime.h"
#include "bridges/email/request.h"
#include "bridges/email/trim.h"
#include "gateway/msg.h"
#include "lib/log.h"

static const char *
result_name(enum cg_ingest_result r)
{
	switch (r) {
	case CG_INGEST_STORED:
		return "stored";
	case CG_INGEST_DUPLICATE:
		return "duplicate";
	case CG_INGEST_DROPPED:
		return "dropped";
	default:
		return "store error";
	}
}

static const char *
sender_of(const struct cg_msg *m)
{
	return m->sender_addr ? m->sender_addr : "(unknown sender)";
}

/* Read the copy into m: 0, or -1 when it is no mail (logged). */
static int
normalize(struct cg_gateway *gw, const struct email_copy *c, struct cg_msg *m)
{
	char *err = NULL;
	if (email_parse(c->raw, c->len, m, &err) != 0) {
		cg_warn("%s: unreadable mail (%s): skipped", c->where,
		        err ? err : "no reason given");
		free(err);
		return -1;
	}
	email_mark_answerable(gw, m);
	if (c->oversize) {
		m->flags |= CG_MSG_OVERSIZE;
		cg_info("%s from %s: %llu bytes, over imap.max_message_size "
		        "(%lld): body not downloaded",
		        c->where, sender_of(m), (unsigned long long)c->size,
		        (long long)gw->cfg->imap.max_message_size);
	}
	m->trimmed = email_trim(m->text);
	return 0;
}

/* A list post: through the pipeline. */
static enum email_take_result
ingest_post(struct cg_gateway *gw, const struct email_copy *c, struct cg_msg *m,
            cg_ingest_extra_fn *extra, void *arg)
{
	/* The store keeps the mail without its files' bytes: they go to
	 * the SchutzBox (encrypted) or are refused over the quota. */
	email_raw_drop_attachments(m);
	struct cg_ingest_info info;
	enum cg_ingest_result r = cg_gateway_ingest(gw, m, extra, arg, &info);
	cg_log(r == CG_INGEST_ERROR ? CG_LOG_ERROR : CG_LOG_INFO,
	       "%s <%s> from %s: %s%s%s", c->where, m->ext_id ? m->ext_id : "",
	       sender_of(m), result_name(r), info.reason ? ": " : "",
	       info.reason ? info.reason : "");
	return r == CG_INGEST_ERROR ? EMAIL_TAKE_ERROR : EMAIL_TAKEN;
}

enum email_take_result
email_take(struct cg_gateway *gw, const struct email_copy *c,
           cg_ingest_extra_fn *extra, void *arg)
{
	struct cg_msg m = {0};
	if (normalize(gw, c, &m) != 0) {
		cg_msg_free(&m);
		return EMAIL_UNREADABLE;
	}
	/* Each copy by its own envelope recipient: commands, bounces,
	 * unknown addresses and oversize posts are handled outside the
	 * pipeline (request.c), so its Message-ID dedup cannot swallow a
	 * +request copy of a list post. */
	const char *what = NULL;
	enum email_route_result rr = email_route(
	    gw, &m, c->rcpt, c->size, c->oversize, extra, arg, &what);
	enum email_take_result res;
	if (rr == EMAIL_ROUTE_PIPELINE)
		res = ingest_post(gw, c, &m, extra, arg);
	else {
		cg_log(rr == EMAIL_ROUTE_ERROR ? CG_LOG_ERROR : CG_LOG_INFO,
		       "%s <%s> from %s: %s", c->where,
		       m.ext_id ? m.ext_id : "", sender_of(&m),
		       what ? what : "handled");
		res = rr == EMAIL_ROUTE_ERROR ? EMAIL_TAKE_ERROR : EMAIL_TAKEN;
	}
	cg_msg_free(&m);
	return res;
}
