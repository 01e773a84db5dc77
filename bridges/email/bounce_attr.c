/*
 * bounce_attr.c: attributing delivery reports that come back to a shared
 * token (bounce_attr.h).  A batched post (fanout.c) carries the channel's
 * plain bounce address "LOCAL+bounce-DAY.MAC@DOMAIN", an XVERP post
 * "LOCAL+bounce-DAY.MAC-RCPT@DOMAIN" with a MAC over list and day only:
 * every member can read such a token in their own copy's Return-Path, so
 * the token alone proves nothing about whose mail bounced.  A report
 * counts for a recipient only when the message it returns (its
 * Message-ID) is one the gateway sent to that recipient (an outbox row:
 * message + recipient).  A plain report that names nobody, or somebody
 * the message did not go to, leads to a VERP probe: a short notice with
 * a per-recipient VERP sender to each recipient of that message (at most
 * one a day each), whose own bounce then counts with a personal MAC.
 *
 * Must never: count a report for an address the returned message did not
 * go to, or probe anyone for a Message-ID the gateway never sent.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/bounce_attr.h"
#include "bridges/email/dsn.h"
#include "bridges/email/verp.h"
#include "gateway/gateway.h"
#include "gateway/msg.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/sent.h"
#include "store/store.h"

#define ATTR_DAY_S 86400
#define ATTR_VALID_DAYS 30  /* as verp.c: a bounce may come this late */
#define PROBE_MAX 1000      /* recipients probed for one report */
#define PROBE_EVERY_S 86400 /* one probe a day per recipient */

enum email_attr
email_bounce_attribute(int xverp, const char *named, int msg_known,
                       int sent_to_named)
{
	if (!msg_known)
		return EMAIL_ATTR_IGNORE;
	if (named && sent_to_named)
		return EMAIL_ATTR_COUNT;
	return xverp ? EMAIL_ATTR_IGNORE : EMAIL_ATTR_PROBE;
}

static const char *
find_ci(const char *h, const char *end, const char *needle)
{
	size_t k = strlen(needle);
	for (const char *p = h; p + k <= end; p++)
		if (strncasecmp(p, needle, k) == 0)
			return p;
	return NULL;
}

/* After the header block that starts at p: the first byte of its body. */
static const char *
skip_headers(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p == '\n' && p + 1 < end &&
		    (p[1] == '\n' ||
		     (p[1] == '\r' && p + 2 < end && p[2] == '\n')))
			return p + (p[1] == '\n' ? 2 : 3);
	return end;
}

char *
email_dsn_returned_msgid(const char *raw, size_t len)
{
	const char *end = raw + len;
	const char *part = find_ci(raw, end, "text/rfc822-headers");
	if (part == NULL)
		part = find_ci(raw, end, "message/rfc822");
	if (part == NULL)
		return NULL;
	const char *h = skip_headers(part, end); /* the part's own headers */
	const char *hend = skip_headers(h, end); /* the returned headers */
	for (const char *p = h; p < hend;) {
		const char *nl = memchr(p, '\n', (size_t)(hend - p));
		const char *eol = nl ? nl : hend;
		if (eol - p > 11 && strncasecmp(p, "Message-ID:", 11) == 0) {
			const char *v = p + 11;
			while (v < eol &&
			       (*v == ' ' || *v == '\t' || *v == '<'))
				v++;
			const char *e = v;
			while (e < eol && *e != '>' && *e != ' ' && *e != '\r')
				e++;
			return e > v ? cg_strndup(v, (size_t)(e - v)) : NULL;
		}
		p = nl ? nl + 1 : hend;
	}
	return NULL;
}

/* "LOCAL+bounce-" .. "@" of an envelope sender, or NULL. */
static const char *
token_of(const char *sender, size_t *len)
{
	const char *t = strstr(sender, "+bounce-");
	const char *at = strrchr(sender, '@');
	if (t == NULL || at == NULL || at < t)
		return NULL;
	t += strlen("+bounce-");
	*len = (size_t)(at - t);
	return t;
}

static int
same_token(const char *sender, const char *token, size_t len)
{
	size_t l = 0;
	const char *t = sender ? token_of(sender, &l) : NULL;
	return t && l == len &&
	       cg_box_mac_equal((const unsigned char *)t,
	                        (const unsigned char *)token, len);
}

int
email_bounce_plain_token(const unsigned char *key, const char *list_addr,
                         const char *token, size_t len, int64_t now)
{
	int64_t day = 0;
	size_t i = 0;
	while (i < len && i < 9 && token[i] >= '0' && token[i] <= '9')
		day = day * 10 + (token[i++] - '0');
	if (i == 0 || i >= len || token[i] != '.' || memchr(token, '-', len))
		return 0;
	int64_t today = now / ATTR_DAY_S;
	if (day > today + 1 || today - day > ATTR_VALID_DAYS)
		return 0;
	char *want = email_xverp_sender(key, list_addr, day * ATTR_DAY_S);
	int ok = same_token(want, token, len);
	free(want);
	return ok;
}

int
email_bounce_personal_token(const unsigned char *key, const char *list_addr,
                            const char *token, size_t len, const char *rcpt)
{
	int64_t day = 0;
	for (size_t i = 0;
	     i < len && i < 9 && token[i] >= '0' && token[i] <= '9'; i++)
		day = day * 10 + (token[i] - '0');
	char *want = email_verp_sender(key, list_addr, rcpt, day * ATTR_DAY_S);
	int ok = same_token(want, token, len);
	free(want);
	return ok;
}

static char *
probe_from(const char *list_addr)
{
	const char *at = strrchr(list_addr, '@');
	return cg_asprintf("%.*s+bounce%s", (int)(at ? at - list_addr : 0),
	                   list_addr, at ? at : "");
}

int
email_bounce_is_probe(const char *list_addr, const char *from_addr)
{
	if (list_addr == NULL || from_addr == NULL)
		return 0;
	char *want = probe_from(list_addr);
	int is = strcasecmp(want, from_addr) == 0;
	free(want);
	return is;
}

/* Queue a VERP probe to each recipient of message id not probed today. */
static int
probe(struct cg_gateway *gw, const struct cg_cfg_channel *ch, int64_t id)
{
	struct cg_store *s = gw->store;
	char **to = NULL;
	size_t n = 0;
	if (cg_store_sent_recipients(s, id, PROBE_MAX, &to, &n) != 0)
		return -1;
	int64_t channel_id = 0;
	if (cg_store_channel_id(s, ch->name, &channel_id) < 0)
		return -1;
	char *from = probe_from(ch->address);
	int64_t now = cg_now();
	int rc = 0;
	size_t sent = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t c = 0;
		if (cg_store_notice_count(s, to[i], from, now - PROBE_EVERY_S,
		                          &c) != 0) {
			rc = -1;
			break;
		}
		if (c > 0)
			continue;
		struct cg_notice nt = {
		    .channel_id = channel_id,
		    .from_addr = cg_strdup(from),
		    .to_addr = cg_strdup(to[i]),
		    .subject = cg_asprintf("Checking mail delivery for %s",
		                           ch->address),
		    .body = cg_asprintf(
		        "Mail from %s to some of its members bounced, and the "
		        "report does not say to whom.  This short message "
		        "checks whether mail reaches you; nothing to do.\n",
		        ch->address),
		    .auto_submitted = cg_strdup("auto-generated"),
		};
		rc = cg_store_notice_add(s, &nt, gw->cfg->gateway.domain);
		sent += rc == 0;
		cg_notice_free(&nt);
	}
	if (sent)
		gw->outbox_kick = 1;
	if (rc == 0)
		cg_info("bounce: %s: report names no recipient of message "
		        "%lld: VERP probe to %zu recipient(s)",
		        ch->address, (long long)id, sent);
	for (size_t i = 0; i < n; i++)
		free(to[i]);
	free(to);
	free(from);
	return rc;
}

int
email_bounce_attr_mail(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                       const char *token, size_t len, const struct cg_msg *m,
                       char **addr, const char **what)
{
	*addr = NULL;
	if (ch == NULL)
		return 2;
	unsigned char key[CG_BOX_MAC_KEY_BYTES];
	cg_box_mac_key(gw->box, key);
	int64_t now = cg_now();
	char *named = NULL;
	const char *why = NULL;
	int plain = email_bounce_plain_token(key, ch->address, token, len, now);
	int shared =
	    !plain &&
	    email_verp_check(key, ch->address, token, len, now, &named, &why) &&
	    !email_bounce_personal_token(key, ch->address, token, len, named);
	cg_box_wipe(key, sizeof key);
	if (!plain && !shared) {
		free(named);
		return 2;
	}
	char *reported = NULL;
	int permanent = 0;
	if (email_dsn_parse(m->raw, m->rawlen, &reported, &permanent) != 0) {
		free(named);
		*what = "bounce address: no delivery failure report: ignored";
		return 0;
	}
	const char *who = plain ? reported : named;
	char *msgid = email_dsn_returned_msgid(m->raw, m->rawlen);
	int64_t id = 0;
	int known = msgid ? cg_store_sent_message(gw->store, msgid, &id) : 0;
	int to = known == 1 && who ? cg_store_sent_to(gw->store, id, who) : 0;
	int rc = known < 0 || to < 0 ? -1 : 0;
	enum email_attr a = email_bounce_attribute(!plain, who, known == 1, to);
	if (rc == 0 && a == EMAIL_ATTR_COUNT) {
		*addr = cg_strdup(who);
		rc = 1;
	} else if (rc == 0 && a == EMAIL_ATTR_PROBE) {
		rc = probe(gw, ch, id);
		*what = "bounce: names no recipient of the returned message: "
		        "VERP probe queued";
	} else if (rc == 0) {
		cg_warn("bounce: %s: report for %s returns message %s, which "
		        "the gateway did not send there: ignored",
		        ch->address, who ? who : "(nobody)",
		        msgid ? msgid : "(none)");
		*what = "bounce: the returned message was not sent to the "
		        "address reported: ignored";
	}
	free(msgid);
	free(reported);
	free(named);
	return rc;
}
