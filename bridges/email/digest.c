/*
 * digest.c: the daily digest (see digest.h).  Per channel, kv holds
 * "digest/NAME/due" (unix seconds the current period ends) and
 * "digest/NAME/after" (the last message id an earlier digest covered, or
 * the channel's newest message when digests began): every post goes into
 * exactly one digest, whatever its Date.  At the end of a period, ONE
 * transaction writes the digest row (with the messages it covers), a
 * notice per digest member (their copies, queued in the outbox) and the
 * moved kv marks: a crash before the commit writes it again next time, a
 * crash after it leaves the outbox to deliver the copies.
 * Must never: put a post in two digests, or skip one.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridges/email/attach.h"
#include "bridges/email/digest.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/store.h"

#define DIGEST_DAY 86400
#define DIGEST_MAX_POSTS 500 /* the rest waits for the next digest */
#define DIGEST_SKIP (CG_MSG_HELD | CG_MSG_REQUEST | CG_MSG_BOUNCE | CG_MSG_AUTO)

struct email_digest {
	struct cg_gateway *gw;
	int64_t period;      /* seconds */
	int64_t first_after; /* the newest message when the bridge began */
	int64_t next_check;  /* unix s: no channel is due before (0: now) */
};

struct email_digest *
email_digest_new(struct cg_gateway *gw)
{
	struct email_digest *d = cg_calloc(1, sizeof *d);
	d->gw = gw;
	d->period = DIGEST_DAY;
	/* Before anything is ingested: a channel's first digest starts with
	 * the first post after this. */
	if (cg_store_channel_last_message(gw->store, 0, &d->first_after) < 0)
		cg_warn("digest: cannot read the newest message; digests "
		        "start with the next post");
	const char *env = getenv("COOPGATE_DIGEST_PERIOD");
	if (env && *env) {
		char *end;
		long long v = strtoll(env, &end, 10);
		if (*end == '\0' && v > 0 && v <= DIGEST_DAY * 31) {
			d->period = v;
			cg_info("email: digest period %lld s "
			        "(COOPGATE_DIGEST_PERIOD)",
			        v);
		} else {
			cg_warn("email: COOPGATE_DIGEST_PERIOD=%s is not a "
			        "number of seconds; digests stay daily",
			        env);
		}
	}
	return d;
}

void
email_digest_free(struct email_digest *d)
{
	free(d);
}

static void
utc(int64_t t, const char *fmt, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, fmt, &tm);
}

/* The message's files, a line each: a digest carries none of them, so
 * say where they are (the link, when the room's upload gave one). */
static void
digest_files(struct cg_gateway *gw, int64_t message_id, struct cg_buf *b)
{
	struct cg_att_row *a;
	size_t n;
	if (cg_store_attachments_of(gw->store, message_id, &a, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char *tail;
		if (a[i].state == CG_ATT_REFUSED)
			tail = cg_asprintf(" not passed on: %s",
			                   a[i].note ? a[i].note : "refused");
		else if (a[i].url)
			tail = cg_asprintf(": %s", a[i].url);
		else
			tail = cg_strdup(": in the list's own mail, not in "
			                 "digests");
		email_file_line(b, a[i].name ? a[i].name : "unnamed file",
		                a[i].size, tail);
		free(tail);
	}
	cg_att_rows_free(a, n);
}

char *
email_digest_body(struct cg_gateway *gw, const char *channel,
                  const int64_t *ids, size_t n, int64_t start, int64_t end)
{
	struct cg_buf b = CG_BUF_INIT;
	char from[32], to[32];
	utc(start, "%Y-%m-%d %H:%M", from, sizeof from);
	utc(end, "%Y-%m-%d %H:%M", to, sizeof to);
	cg_buf_printf(&b, "%s digest: %zu message%s, %s to %s UTC\n", channel,
	              n, n == 1 ? "" : "s", from, to);
	for (size_t i = 0; i < n; i++) {
		struct cg_stored_msg m;
		if (cg_store_message_get(gw->store, ids[i], &m) != 0)
			continue;
		char when[32];
		utc(m.received, "%Y-%m-%d %H:%M UTC", when, sizeof when);
		cg_buf_puts(&b, "\n------------------------------------------"
		                "----------------------------\n");
		cg_buf_printf(&b, "Message %zu\n", i + 1);
		if (m.sender_name && *m.sender_name)
			cg_buf_printf(&b, "From: %s <%s>\n", m.sender_name,
			              m.sender_addr ? m.sender_addr : "");
		else
			cg_buf_printf(&b, "From: %s\n",
			              m.sender_addr ? m.sender_addr : "");
		cg_buf_printf(&b, "Date: %s\n", when);
		if (m.subject)
			cg_buf_printf(&b, "Subject: %s\n", m.subject);
		cg_buf_puts(&b, "\n");
		const char *text = m.trimmed ? m.trimmed : m.body ? m.body : "";
		cg_buf_puts(&b, text);
		if (b.len && b.data[b.len - 1] != '\n')
			cg_buf_putc(&b, '\n');
		digest_files(gw, ids[i], &b);
		cg_stored_msg_free(&m);
	}
	return cg_buf_steal(&b);
}

/* One channel's digest for the period ending at `end`, in one
 * transaction; 0 ok. */
static int
channel_digest(struct email_digest *d, const struct cg_cfg_channel *ch,
               int64_t chan_id, int64_t start, int64_t end, int64_t after,
               const char *k_due, const char *k_after)
{
	struct cg_gateway *gw = d->gw;
	struct cg_store *st = gw->store;
	int64_t *ids = NULL;
	size_t n = 0, nr = 0;
	struct cg_recipient *r = NULL;
	char *body = NULL, *subject = NULL;
	int rc = -1;
	if (cg_store_channel_messages_after(st, chan_id, after, DIGEST_SKIP,
	                                    DIGEST_MAX_POSTS, &ids, &n) != 0 ||
	    cg_store_channel_recipients(st, chan_id, CG_DELIVERY_DIGEST, 0, &r,
	                                &nr) != 0)
		goto out;
	if (cg_store_begin(st) != 0)
		goto out;
	int64_t next = end + d->period;
	int64_t now = cg_now();
	if (next <= now) /* the daemon was down for periods: skip them */
		next = now - now % d->period + d->period;
	if (cg_store_kv_set_int(st, k_due, next) != 0)
		goto rollback;
	if (n && nr) {
		int64_t digest_id;
		char day[16];
		utc(start, "%Y-%m-%d", day, sizeof day);
		body = email_digest_body(gw, ch->name, ids, n, start, end);
		subject = cg_asprintf("%s digest, %s (%zu message%s)", ch->name,
		                      day, n, n == 1 ? "" : "s");
		if (cg_store_digest_add(st, chan_id, start, end, ids, n,
		                        &digest_id) != 0)
			goto rollback;
		for (size_t i = 0; i < nr; i++) {
			struct cg_notice no = {
			    .channel_id = chan_id,
			    .from_addr = ch->address,
			    .to_addr = r[i].address,
			    .subject = subject,
			    .body = body,
			    .auto_submitted = (char *)"auto-generated",
			};
			int bad =
			    cg_store_notice_add(st, &no,
			                        gw->cfg->gateway.domain) ||
			    cg_store_digest_notice_add(st, digest_id, no.id);
			free(no.message_id);
			if (bad)
				goto rollback;
		}
		if (cg_store_kv_set_int(st, k_after, ids[n - 1]) != 0)
			goto rollback;
	}
	if (cg_store_commit(st) != 0)
		goto rollback;
	if (n && nr) {
		cg_info("%s: digest of %zu message(s) for %zu member(s)",
		        ch->name, n, nr);
		gw->outbox_kick = 1;
	}
	rc = 0;
	goto out;
rollback:
	cg_store_rollback(st);
	cg_error("%s: cannot write the digest: %s", ch->name,
	         cg_store_errmsg(st));
out:
	free(ids);
	free(body);
	free(subject);
	cg_recipients_free(r, nr);
	return rc;
}

int64_t
email_digest_tick(struct email_digest *d, int64_t now_mono)
{
	struct cg_gateway *gw = d->gw;
	int64_t now = cg_now();
	int64_t soonest = 0;
	if (d->next_check && now < d->next_check) /* tick runs every turn */
		return now_mono + (d->next_check - now) * 1000;
	for (size_t i = 0; i < gw->cfg->nchannels; i++) {
		const struct cg_cfg_channel *ch = &gw->cfg->channels[i];
		int64_t chan_id;
		if (cg_store_channel_id(gw->store, ch->name, &chan_id) != 1)
			continue;
		char *k_due = cg_asprintf("digest/%s/due", ch->name);
		char *k_after = cg_asprintf("digest/%s/after", ch->name);
		int64_t due = 0, after = 0;
		cg_store_kv_get_int(gw->store, k_due, &due);
		cg_store_kv_get_int(gw->store, k_after, &after);
		if (due == 0) { /* digests begin: from the next post on */
			due = now - now % d->period + d->period;
			after = d->first_after;
			if (cg_store_kv_set_int(gw->store, k_after, after) ||
			    cg_store_kv_set_int(gw->store, k_due, due))
				due = now + 60;
		} else if (now >= due &&
		           channel_digest(d, ch, chan_id, due - d->period, due,
		                          after, k_due, k_after) == 0) {
			cg_store_kv_get_int(gw->store, k_due, &due);
		} else if (now >= due) {
			due = now + 60; /* the store failed: try again soon */
		}
		if (soonest == 0 || due < soonest)
			soonest = due;
		free(k_due);
		free(k_after);
	}
	d->next_check = soonest ? soonest : now + 60;
	if (soonest == 0)
		return 0;
	return now_mono + (soonest > now ? soonest - now : 1) * 1000;
}
