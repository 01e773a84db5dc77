/*
 * bounce.c: what a failed delivery does (policy; the rows are in
 * store/bounce_state.c).
 *
 * Two ways in: a delivery report mailed to CHANNEL+bounce-TOKEN@DOMAIN
 * (email_bounce_mail, from imap_in.c through request.c's routing), and a
 * 5xx/4xx the SMTP side got while sending (email_bounce_at_send).  Each adds
 * an event: permanent 1.0, temporary 0.5.  The score is the sum over the
 * last 30 days; events older than that drop out (chosen over halving: a
 * score anyone can recompute from the events shown).  At 5.0 the address
 * is suspended once: list mail skips it (store/contacts.c) and the member
 * hears about it over XMPP when they have a JID, since mail to them is
 * what fails.  A confirmed `subscribe` from the address lifts it
 * (request.c).
 *
 * The address comes from the VERP token, not from the report: forwarding
 * may change what the far side calls the recipient, the token is ours.
 * A token counts only when its MAC verifies and it is at most 30 days old
 * (verp.c, email_verp_check): a made-up or altered token is logged
 * and ignored, so nobody can suspend a member with forged reports.
 * A mail to +bounce- that is no RFC 3464 report (a vacation reply sent to
 * the envelope sender) counts nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/bounce.h"
#include "bridges/email/bounce_attr.h"
#include "bridges/email/dsn.h"
#include "bridges/email/mime.h"
#include "bridges/email/verp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/onboarding.h"
#include "gateway/outbox.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

#define REASON_MAX 200

/* The JID to tell about a suspension, or NULL (caller frees). */
static char *
member_jid(struct cg_store *s, const char *address)
{
	int64_t id;
	struct cg_contact c;
	if (cg_store_contact_find(s, CG_ID_EMAIL, address, &id) != 1 ||
	    cg_store_contact_get(s, id, &c) != 0)
		return NULL;
	char *jid = c.njids ? cg_strdup(c.jids[0]) : NULL;
	cg_contact_free(&c);
	return jid;
}

static int
tell_suspended(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
               const char *address, const char *reason)
{
	if (!gw->cfg->xmpp.present)
		return 0;
	int64_t channel_id = 0;
	if (ch && cg_store_channel_id(gw->store, ch->name, &channel_id) < 0)
		return -1;
	char *jid = member_jid(gw->store, address);
	if (jid == NULL)
		return 0;
	char *req = ch ? cg_onboarding_request_addr(ch->address)
	               : cg_asprintf("noreply@%s", gw->cfg->gateway.domain);
	char *subject = cg_asprintf("Mail to %s is suspended", address);
	char *body = cg_asprintf(
	    "Mail to %s keeps bouncing (%s), so the gateway has stopped "
	    "sending list mail there.  Once the mailbox works again, send "
	    "\"subscribe\" from it to %s and confirm: delivery resumes.",
	    address, reason ? reason : "no reason given", req);
	int rc = cg_outbox_chat_notice(gw, ch, channel_id, jid, subject, body,
	                               "auto-generated");
	free(req);
	free(subject);
	free(body);
	free(jid);
	return rc;
}

int
email_bounce_record(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                    const char *address, int permanent, const char *reason)
{
	struct cg_store *s = gw->store;
	int64_t now = cg_now();
	char *addr = cg_lowercase(address);
	struct cg_bounce_state b;
	int rc = -1;
	if (cg_store_bounce_add(s, addr, permanent, reason, now) != 0 ||
	    cg_store_bounce_state(s, addr, now, &b) != 0)
		goto out;
	cg_info("bounce: %s: %s (%s): score %.1f%s", addr,
	        permanent ? "permanent" : "temporary",
	        reason ? reason : "no reason given", b.score,
	        b.suspended ? ", suspended already" : "");
	rc = 0;
	if (!b.suspended && b.score >= CG_BOUNCE_SUSPEND_AT) {
		int r = cg_store_bounce_suspend(s, addr, reason, now);
		if (r < 0)
			rc = -1;
		else if (r == 1) {
			cg_warn("bounce: %s: score %.1f reached %.1f: email "
			        "delivery suspended",
			        addr, b.score, CG_BOUNCE_SUSPEND_AT);
			rc = tell_suspended(gw, ch, addr, reason);
		}
	}
	cg_bounce_state_free(&b);
out:
	free(addr);
	return rc;
}

void
email_bounce_at_send(struct cg_gateway *gw, const char *address, int permanent,
                     const char *reason)
{
	if (address == NULL || strchr(address, '@') == NULL)
		return;
	struct cg_store *s = gw->store;
	if (cg_store_begin(s) != 0) {
		cg_error("bounce: %s: cannot begin a transaction: not counted",
		         address);
		return;
	}
	if (email_bounce_record(gw, NULL, address, permanent, reason) != 0 ||
	    cg_store_commit(s) != 0) {
		cg_store_rollback(s);
		cg_error("bounce: %s: store error: not counted", address);
	}
}

static const char *
find_ci(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (strncasecmp(h + i, needle, k) == 0)
			return h + i;
	return NULL;
}

/* A field of the delivery-status part ("Status", "Diagnostic-Code"),
 * unfolded, value only; NULL when absent (caller frees). */
static char *
dsn_field(const char *raw, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *end = raw + len;
	for (const char *p = raw; p && p < end;) {
		if ((size_t)(end - p) > nl + 1 &&
		    strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			struct cg_buf b = CG_BUF_INIT;
			const char *v = p + nl + 1;
			for (;;) {
				const char *e =
				    memchr(v, '\n', (size_t)(end - v));
				if (e == NULL)
					e = end;
				cg_buf_add(&b, v, (size_t)(e - v));
				if (e + 1 < end &&
				    (e[1] == ' ' || e[1] == '\t')) {
					v = e + 1;
					continue;
				}
				break;
			}
			char *r = cg_buf_steal(&b);
			for (char *q = r; *q; q++)
				if (*q == '\r' || *q == '\n' || *q == '\t')
					*q = ' ';
			return r;
		}
		p = memchr(p, '\n', (size_t)(end - p));
		if (p)
			p++;
	}
	return NULL;
}

/* "5.1.1 user unknown" from the report's Status and Diagnostic-Code. */
static char *
dsn_reason(const char *raw, size_t len)
{
	char *status = dsn_field(raw, len, "Status");
	char *diag = dsn_field(raw, len, "Diagnostic-Code");
	const char *d = diag;
	if (d) { /* "smtp; 550 5.1.1 ..." -> "550 5.1.1 ..." */
		const char *semi = strchr(d, ';');
		d = semi ? semi + 1 : d;
		while (*d == ' ')
			d++;
	}
	const char *st = status;
	while (st && *st == ' ')
		st++;
	char *r =
	    cg_asprintf("%s%s%s", st ? st : "", st && d ? " " : "", d ? d : "");
	free(status);
	free(diag);
	/* One line, single spaces (unfolding left CRs and runs). */
	size_t w = 0;
	for (size_t i = 0; r[i]; i++)
		if (r[i] != ' ' || (w > 0 && r[w - 1] != ' '))
			r[w++] = r[i];
	while (w > 0 && r[w - 1] == ' ')
		w--;
	r[w] = '\0';
	if (strlen(r) > REASON_MAX)
		memcpy(r + REASON_MAX - 3, "...", 4);
	return r;
}

int
email_bounce_mail(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                  const char *token, size_t len, const struct cg_msg *m,
                  const char **what)
{
	char *addr = NULL;
	const char *why = "no channel to check it against";
	/* A shared token (plain bounce address, XVERP): bounce_attr.c. */
	int attr = email_bounce_attr_mail(gw, ch, token, len, m, &addr, what);
	if (attr <= 0)
		return attr;
	unsigned char key[CG_BOX_MAC_KEY_BYTES];
	cg_box_mac_key(gw->box, key);
	int ok = addr || (ch && email_verp_check(key, ch->address, token, len,
	                                         cg_now(), &addr, &why));
	cg_box_wipe(key, sizeof key);
	if (!ok) {
		struct cg_buf shown = CG_BUF_INIT; /* printable, bounded */
		for (size_t i = 0; i < len && i < REASON_MAX; i++)
			cg_buf_putc(&shown, token[i] > ' ' && token[i] < 127
			                        ? token[i]
			                        : '?');
		cg_warn("bounce: %s: token \"%s\": %s: ignored",
		        ch ? ch->address : "(no channel)", cg_buf_str(&shown),
		        why);
		cg_buf_free(&shown);
		*what = "bounce: not a VERP token of ours (forged, expired or "
		        "unattributable): ignored";
		return 0;
	}
	char *reported = NULL;
	int permanent = 0;
	if (email_dsn_parse(m->raw, m->rawlen, &reported, &permanent) != 0) {
		free(addr);
		*what = "bounce address: no delivery failure report: ignored";
		return 0;
	}
	/* Status and Diagnostic-Code of the report part, not of the
	 * returned message's headers. */
	const char *ds = find_ci(m->raw, m->rawlen, "message/delivery-status");
	size_t off = ds ? (size_t)(ds - m->raw) : 0;
	char *reason = dsn_reason(m->raw + off, m->rawlen - off);
	int rc = email_bounce_record(gw, ch, addr, permanent,
	                             *reason ? reason : NULL);
	*what = permanent ? "bounce: permanent failure counted"
	                  : "bounce: temporary failure counted";
	free(reason);
	free(reported);
	free(addr);
	return rc;
}
