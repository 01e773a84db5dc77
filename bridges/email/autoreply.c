/*
 * autoreply.c: notices to the sender of mail the gateway did not relay
 * (see autoreply.h).  The notices are rows (store: notice + outbox) the
 * email bridge sends as direct mail with Auto-Submitted: auto-replied and
 * an empty envelope sender, so they can neither loop nor bounce back.
 *
 * Unknown address: from noreply@DOMAIN, at most one per sender per 24 h
 * (counted with cg_store_notice_count), whatever address was tried: a
 * spammer's forged sender gets one mail a day at most.
 * Oversize: from CHANNEL+request@DOMAIN, one per mail (the caller's
 * Message-ID bookkeeping keeps a re-scan from answering twice).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/autoreply.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/store.h"

#define UNKNOWN_EVERY_S 86400

int
email_may_answer(const struct cg_gateway *gw, const struct cg_msg *m)
{
	if (m->flags & (CG_MSG_AUTO | CG_MSG_LOOP))
		return 0;
	const char *a = m->sender_addr;
	const char *at = a ? strrchr(a, '@') : NULL;
	if (at == NULL || at == a || at[1] == '\0')
		return 0;
	if (strcasecmp(at + 1, gw->cfg->gateway.domain) == 0)
		return 0;
	static const char *const robots[] = {"mailer-daemon", "postmaster",
	                                     "noreply",       "no-reply",
	                                     "bounce",        "bounces"};
	size_t local = (size_t)(at - a);
	for (size_t i = 0; i < sizeof robots / sizeof *robots; i++)
		if (strlen(robots[i]) == local &&
		    strncasecmp(a, robots[i], local) == 0)
			return 0;
	return 1;
}

void
email_mark_answerable(const struct cg_gateway *gw, struct cg_msg *m)
{
	if (!email_may_answer(gw, m))
		m->flags |= CG_MSG_NO_REPLY;
}

static int
add_notice(struct cg_gateway *gw, struct cg_notice *n)
{
	int rc = cg_store_notice_add(gw->store, n, gw->cfg->gateway.domain);
	if (rc == 0)
		gw->outbox_kick = 1;
	return rc;
}

int
email_autoreply_unknown(struct cg_gateway *gw, const struct cg_msg *m,
                        const char *rcpt, const char **what)
{
	if (!email_may_answer(gw, m)) {
		*what = "no such address; auto-generated: not answered";
		return 0;
	}
	const char *domain = gw->cfg->gateway.domain;
	char *from = cg_asprintf("noreply@%s", domain);
	int64_t since = cg_now() - UNKNOWN_EVERY_S;
	int64_t sent = 0;
	if (cg_store_notice_count(gw->store, m->sender_addr, from, since,
	                          &sent) != 0) {
		free(from);
		return -1;
	}
	int rc = 0;
	if (sent > 0) {
		*what = "no such address; answered within 24 h already";
		free(from);
		return 0;
	}
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b,
	              "Hello,\n\n"
	              "your message to %s was not delivered: there is no "
	              "such list at %s.\n",
	              rcpt, domain);
	if (gw->cfg->nchannels) {
		cg_buf_puts(&b, "\nThe lists here are:\n");
		for (size_t i = 0; i < gw->cfg->nchannels; i++) {
			const struct cg_cfg_channel *ch = &gw->cfg->channels[i];
			cg_buf_printf(&b, "  %s%s%s\n", ch->address,
			              ch->description ? "  " : "",
			              ch->description ? ch->description : "");
		}
		cg_buf_puts(&b, "\nSend \"help\" to LIST+request@... for how "
		                "to subscribe.\n");
	}
	cg_buf_puts(&b, "\nThis is an automatic answer; you will get at most "
	                "one a day.\n");
	struct cg_notice n = {
	    .from_addr = from,
	    .to_addr = cg_strdup(m->sender_addr),
	    .subject = cg_asprintf("Not delivered: %s", rcpt),
	    .body = cg_buf_steal(&b),
	    .in_reply_to = cg_strdup(m->ext_id),
	    .auto_submitted = cg_strdup("auto-replied"),
	};
	rc = add_notice(gw, &n);
	*what = "no such address: sender notified";
	cg_notice_free(&n);
	return rc;
}

int
email_autoreply_oversize(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                         const struct cg_msg *m, uint64_t size, uint64_t max,
                         const char **what)
{
	if (!email_may_answer(gw, m)) {
		*what = "oversize: not relayed; auto-generated: not answered";
		return 0;
	}
	int64_t channel_id;
	if (cg_store_channel_id(gw->store, ch->name, &channel_id) < 0)
		return -1;
	char *have = cg_size_text((int64_t)size);
	char *limit = cg_size_text((int64_t)max);
	struct cg_notice n = {
	    .channel_id = channel_id,
	    .from_addr =
	        cg_asprintf("%s+request@%s", ch->name, gw->cfg->gateway.domain),
	    .to_addr = cg_strdup(m->sender_addr),
	    .subject = cg_asprintf("Not relayed: %s",
	                           m->subject ? m->subject : "(no subject)"),
	    .body = cg_asprintf(
	        "Hello,\n\n"
	        "your message to %s was not relayed: %s is above the %s "
	        "limit.\n\n"
	        "Please send large files as a link, or share them in the "
	        "room %s.\n",
	        ch->address, have, limit, ch->room ? ch->room : "of the list"),
	    .in_reply_to = cg_strdup(m->ext_id),
	    .auto_submitted = cg_strdup("auto-replied"),
	};
	int rc = add_notice(gw, &n);
	*what = "oversize: not relayed; sender notified";
	cg_notice_free(&n);
	free(have);
	free(limit);
	return rc;
}
