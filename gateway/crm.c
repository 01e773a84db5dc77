/*
 * crm.c: the CRM context outgoing mail carries about its sender: a footer
 * line ("— Alice Example · Example eG · core · 14 messages in 30 days ·
 * member since 2025-03") and the card `!who` and `member show` print.
 * Reads the store only; the email bridge decides where the text goes and
 * writes the X-Coop-Sender-* header form (bridges/email/crm_headers.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/crm.h"
#include "lib/util.h"
#include "store/store.h"

#define CRM_WINDOW (30 * 86400)

static void
format_utc(int64_t t, const char *fmt, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, fmt, &tm);
}

/* "member since" for members and core, else the layer's own name. */
static const char *
since_word(enum cg_layer l)
{
	return l >= CG_LAYER_MEMBER ? "member" : cg_layer_name(l);
}

char *
cg_crm_footer(struct cg_store *s, int64_t contact_id, int64_t now)
{
	struct cg_contact c;
	int64_t count;
	if (contact_id == 0 ||
	    cg_store_interaction_count(s, contact_id, "in", now - CRM_WINDOW,
	                               &count) != 0 ||
	    cg_store_contact_get(s, contact_id, &c) != 0)
		return NULL;
	char since[16];
	format_utc(c.layer_since, "%Y-%m", since, sizeof since);
	const char *name = c.name && *c.name ? c.name
	                   : c.nemails       ? c.emails[0]
	                   : c.njids         ? c.jids[0]
	                                     : "unknown";
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b, "\u2014 %s", name);
	if (c.org && *c.org)
		cg_buf_printf(&b, " \u00b7 %s", c.org);
	cg_buf_printf(&b,
	              " \u00b7 %s \u00b7 %lld message%s in 30 days "
	              "\u00b7 %s since %s",
	              cg_layer_name(c.layer), (long long)count,
	              count == 1 ? "" : "s", since_word(c.layer), since);
	cg_contact_free(&c);
	return cg_buf_steal(&b);
}

/* "Bounces: none" | "score 2.5, last DATE (REASON)" | "suspended since DATE
 * (REASON)"; named when the contact has several addresses. */
static void
card_bounces(struct cg_store *s, const char *address, int name_it,
             struct cg_buf *out)
{
	struct cg_bounce_state b;
	char date[16];
	if (cg_store_bounce_state(s, address, cg_now(), &b) != 0)
		return;
	cg_buf_printf(out, "Bounces: %s%s", name_it ? address : "",
	              name_it ? ": " : "");
	if (b.suspended) {
		format_utc(b.suspended, "%Y-%m-%d", date, sizeof date);
		cg_buf_printf(out, "suspended since %s", date);
	} else if (b.score > 0) {
		format_utc(b.last, "%Y-%m-%d", date, sizeof date);
		cg_buf_printf(out, "score %.1f, last %s", b.score, date);
	} else
		cg_buf_puts(out, "none");
	if ((b.suspended || b.score > 0) && b.last_reason)
		cg_buf_printf(out, " (%s)", b.last_reason);
	cg_buf_putc(out, '\n');
	cg_bounce_state_free(&b);
}

/* Tags, activity, held posts, pending nominations, note. */
static void
card_crm(struct cg_store *s, int64_t id, struct cg_buf *out)
{
	char **tags;
	size_t ntags;
	if (cg_store_contact_tags(s, id, &tags, &ntags) == 0) {
		cg_buf_puts(out, "Tags: ");
		for (size_t i = 0; i < ntags; i++) {
			cg_buf_printf(out, "%s%s", i ? ", " : "", tags[i]);
			free(tags[i]);
		}
		cg_buf_printf(out, "%s\n", ntags ? "" : "-");
		free(tags);
	}
	int64_t now = cg_now(), count, seen, held;
	if (cg_store_interaction_count(s, id, "in", now - CRM_WINDOW, &count) ==
	    0)
		cg_buf_printf(out, "Messages (30 days): %lld\n",
		              (long long)count);
	if (cg_store_contact_last_seen(s, id, &seen) == 0) {
		char when[16] = "never";
		if (seen)
			format_utc(seen, "%Y-%m-%d", when, sizeof when);
		cg_buf_printf(out, "Last seen: %s\n", when);
	}
	if (cg_store_held_count(s, id, &held) == 0 && held)
		cg_buf_printf(out, "Held posts: %lld\n", (long long)held);
	struct cg_nomination *nom;
	size_t nnom;
	if (cg_store_nominations_pending(s, id, &nom, &nnom) == 0) {
		cg_buf_printf(out, "Nominations: %zu", nnom);
		for (size_t i = 0; i < nnom; i++)
			cg_buf_printf(out, "%s%s (%s)", i ? ", " : " by ",
			              nom[i].nominator ? nom[i].nominator : "?",
			              cg_layer_name(nom[i].target));
		cg_buf_putc(out, '\n');
		cg_nominations_free(nom, nnom);
	}
	char *note = NULL;
	if (cg_store_contact_note(s, id, &note) == 0 && note) {
		cg_buf_puts(out, "Note: ");
		for (const char *p = note; *p; p++)
			if (*p == '\n')
				cg_buf_puts(out, "\n  ");
			else
				cg_buf_putc(out, *p);
		cg_buf_putc(out, '\n');
	}
	free(note);
}

int
cg_crm_card(struct cg_store *s, int64_t contact_id, struct cg_buf *out)
{
	struct cg_contact c;
	struct cg_subscription *subs = NULL;
	size_t nsubs = 0;
	if (cg_store_contact_get(s, contact_id, &c) != 0)
		return -1;
	if (cg_store_contact_subscriptions(s, contact_id, &subs, &nsubs) != 0) {
		cg_contact_free(&c);
		return -1;
	}
	char since[16], created[16];
	format_utc(c.layer_since, "%Y-%m-%d", since, sizeof since);
	format_utc(c.created, "%Y-%m-%d", created, sizeof created);
	cg_buf_printf(out, "Name: %s\n", c.name ? c.name : "-");
	for (size_t i = 0; i < c.nemails; i++)
		cg_buf_printf(out, "Email: %s\n", c.emails[i]);
	for (size_t i = 0; i < c.njids; i++)
		cg_buf_printf(out, "JID: %s\n", c.jids[i]);
	cg_buf_printf(out, "Organisation: %s\n", c.org ? c.org : "-");
	cg_buf_printf(out, "Layer: %s since %s\n", cg_layer_name(c.layer),
	              since);
	cg_buf_printf(out, "Source: %s\n", c.source ? c.source : "-");
	cg_buf_printf(out, "Created: %s\n", created);
	for (size_t i = 0; i < nsubs; i++)
		cg_buf_printf(out, "Channel: %s (%s, %s)\n", subs[i].channel,
		              cg_delivery_name(subs[i].delivery),
		              subs[i].source);
	if (nsubs == 0)
		cg_buf_puts(out, "Channel: none\n");
	card_crm(s, contact_id, out);
	for (size_t i = 0; i < c.nemails; i++)
		card_bounces(s, c.emails[i], c.nemails > 1, out);
	cg_subscriptions_free(subs, nsubs);
	cg_contact_free(&c);
	return 0;
}
