/*
 * reports.c: reports as messages.  Builds a report from what a user typed
 * (cg_reports_make), sends it (cg_reports_send: a notice per recipient,
 * marked as a report so the email bridge composes it as
 * multipart/alternative with the HTML kept in report_sent, and the
 * summary to the room as a notice to the room JID), runs the weekly
 * schedule, and answers the search and report commands.
 *
 * Once per period: the weekly schedule records (kind, channel, period) in
 * report_sent in the same transaction as the notices; the unique index
 * makes a restart, or a second daemon on the same store, send nothing
 * twice.  Times are UTC.
 * Must never: send a scheduled report twice, or show a guest a channel it
 * is not subscribed to.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/loop.h"
#include "gateway/onboarding.h"
#include "gateway/reports.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/report_queries.h"
#include "store/search.h"
#include "store/store.h"

#define DAY 86400
#define WEEK (7 * DAY)

int
cg_reports_make(struct cg_store *s, const struct cg_config *cfg,
                const char *kind, const char *channel, const char *period,
                int64_t now, struct cg_report *out, int64_t *channel_id,
                char **why)
{
	memset(out, 0, sizeof *out);
	*why = NULL;
	*channel_id = 0;
	const struct cg_report_kind *k = cg_report_kind(kind);
	if (k == NULL) {
		*why = cg_asprintf("%s: unknown report kind (accepted: %s)",
		                   kind ? kind : "", CG_REPORT_KINDS);
		return CG_EX_USAGE;
	}
	if (k->build == NULL) {
		*why = cg_asprintf("report %s: %s", k->name, k->unavailable);
		return CG_EX_UNAVAILABLE;
	}
	struct cg_report_params p = {.store = s,
	                             .channel = "all",
	                             .unanswered_after =
	                                 cfg->reports.unanswered_after,
	                             .now = now,
	                             .currency = cfg->billing.currency};
	if (channel) {
		const struct cg_cfg_channel *ch =
		    cg_config_channel(cfg, channel);
		if (ch && cg_store_channel_id(s, ch->name, &p.channel_id) < 0) {
			*why =
			    cg_asprintf("%s: %s", channel, cg_store_errmsg(s));
			return CG_EX_SOFTWARE;
		}
		if (p.channel_id == 0) {
			*why = cg_asprintf("%s: unknown channel (see the "
			                   "config's channels)",
			                   channel);
			return CG_EX_DATAERR;
		}
		p.channel = ch->name;
	}
	if (cg_period_parse(period, now, &p.period) != 0) {
		*why = cg_asprintf("%s: malformed period (accepted: %s)",
		                   period, CG_PERIOD_ACCEPTED);
		return CG_EX_USAGE;
	}
	*channel_id = p.channel_id;
	if (cg_report_build(k, &p, out) != 0) {
		*why =
		    cg_asprintf("report %s: %s", k->name, cg_store_errmsg(s));
		return CG_EX_SOFTWARE;
	}
	return CG_EX_OK;
}

/* ---- recipients ---- */

struct addrs {
	char **v;
	size_t n;
	enum cg_layer layer;
};

static void
addrs_add(struct addrs *a, const char *addr)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i], addr) == 0)
			return;
	a->v = cg_realloc(a->v, (a->n + 1) * sizeof *a->v);
	a->v[a->n++] = cg_strdup(addr);
}

static int
add_if_layer(const struct cg_contact *c, void *arg)
{
	struct addrs *a = arg;
	if (c->layer == a->layer && c->nemails > 0)
		addrs_add(a, c->emails[0]);
	return 0;
}

/* reports.recipients: the listed addresses, else the layer's members. */
static int
recipients(struct cg_store *s, const struct cg_config *cfg, struct addrs *a)
{
	memset(a, 0, sizeof *a);
	a->layer = cfg->reports.recipients_layer;
	for (size_t i = 0; i < cfg->reports.nrecipients; i++)
		addrs_add(a, cfg->reports.recipients[i]);
	if (cfg->reports.recipients)
		return 0;
	return cg_store_contact_each(s, NULL, add_if_layer, a);
}

/* ---- sending ---- */

static char *
from_addr(const struct cg_config *cfg, const struct cg_cfg_channel *ch)
{
	return ch ? cg_onboarding_request_addr(ch->address)
	          : cg_asprintf("reports@%s", cfg->gateway.domain);
}

static int
mail_copies(struct cg_store *s, const struct cg_config *cfg,
            const struct cg_report *r, int64_t report_id, int64_t channel_id,
            const struct cg_cfg_channel *ch, size_t *n)
{
	struct addrs a;
	int rc = recipients(s, cfg, &a);
	char *text = cg_report_text(r), *subject = cg_report_subject(r);
	for (size_t i = 0; rc == 0 && i < a.n; i++) {
		struct cg_notice no = {
		    .channel_id = channel_id,
		    .from_addr = from_addr(cfg, ch),
		    .to_addr = cg_strdup(a.v[i]),
		    .subject = cg_strdup(subject),
		    .body = cg_strdup(text),
		    .auto_submitted = cg_strdup("auto-generated"),
		};
		rc = cg_store_notice_add(s, &no, cfg->gateway.domain);
		if (rc == 0)
			rc = cg_store_report_notice_add(s, report_id, no.id);
		cg_notice_free(&no);
	}
	*n = rc == 0 ? a.n : 0;
	cg_strv_free(a.v, a.n);
	free(text);
	free(subject);
	return rc;
}

/* The summary to one channel's room (a notice the XMPP bridge posts). */
static int
room_summary(struct cg_store *s, const struct cg_config *cfg,
             const struct cg_cfg_channel *ch, const struct cg_report *r)
{
	int64_t id;
	int known = cg_store_channel_id(s, ch->name, &id);
	if (known < 0)
		return -1;
	if (!cfg->xmpp.present || ch->room == NULL || known == 0)
		return 0;
	char *summary = cg_report_summary(r);
	struct cg_notice no = {
	    .channel_id = id,
	    .from_addr = from_addr(cfg, ch),
	    .to_addr = cg_strdup(ch->room),
	    .subject = NULL,
	    .body = cg_strdup(summary),
	    .auto_submitted = cg_strdup("auto-generated"),
	};
	no.subject = cg_report_subject(r);
	int rc = cg_store_notice_add_via(s, &no, cfg->gateway.domain, "xmpp",
	                                 ch->room);
	cg_notice_free(&no);
	free(summary);
	return rc;
}

int
cg_reports_send(struct cg_store *s, const struct cg_config *cfg,
                const struct cg_report *r, int64_t channel_id, int scheduled,
                int64_t now, size_t *nrecipients)
{
	*nrecipients = 0;
	const struct cg_cfg_channel *ch =
	    channel_id ? cg_config_channel(cfg, r->channel) : NULL;
	char *html = cg_report_html(r);
	struct cg_report_sent rec = {r->kind,
	                             channel_id,
	                             r->period.label,
	                             r->period.start,
	                             r->period.end,
	                             scheduled,
	                             html};
	int64_t id;
	int rc = cg_store_begin(s);
	int added = rc == 0 ? cg_store_report_sent_add(s, &rec, now, &id) : -1;
	rc = added < 0 ? -1 : 0;
	if (added == 1)
		rc = mail_copies(s, cfg, r, id, channel_id, ch, nrecipients);
	for (size_t i = 0; added == 1 && rc == 0 && i < cfg->nchannels; i++)
		if (ch == NULL || ch == &cfg->channels[i])
			rc = room_summary(s, cfg, &cfg->channels[i], r);
	if (rc == 0)
		rc = cg_store_commit(s);
	if (rc != 0)
		cg_store_rollback(s);
	free(html);
	return rc != 0 ? -1 : added;
}

/* ---- the weekly schedule ---- */

/* The latest instant <= now at the configured weekday and minute. */
static int64_t
last_instant(const struct cg_cfg_reports *rp, int64_t now)
{
	int64_t today = now - now % DAY;
	time_t t = (time_t)today;
	struct tm tm;
	gmtime_r(&t, &tm);
	int64_t monday = today - (int64_t)((tm.tm_wday + 6) % 7) * DAY;
	int64_t at = monday + (int64_t)rp->weekday * DAY + rp->minute * 60;
	return at <= now ? at : at - WEEK;
}

static void schedule_timer(struct cg_loop *l, void *arg);

static void
send_due(struct cg_gateway *gw, int64_t instant, int64_t now)
{
	static const char *const kinds[] = {"activity", "facilitation",
	                                    "topics"};
	struct cg_period week;
	cg_period_last_week(instant, &week);
	for (size_t c = 0; c < gw->cfg->nchannels; c++) {
		const char *chan = gw->cfg->channels[c].name;
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
			if (cg_store_report_sent_count(gw->store, kinds[k],
			                               week.label) < 0)
				return;
			struct cg_report r;
			int64_t id;
			char *why;
			if (cg_reports_make(gw->store, gw->cfg, kinds[k], chan,
			                    week.label, now, &r, &id,
			                    &why) != 0) {
				cg_error("reports: %s", why);
				free(why);
				continue;
			}
			size_t n;
			int sent = cg_reports_send(gw->store, gw->cfg, &r, id,
			                           1, now, &n);
			if (sent == 1) {
				cg_info("reports: %s %s %s sent to %zu "
				        "recipient(s)",
				        kinds[k], chan, week.label, n);
				gw->outbox_kick = 1;
			}
			cg_report_free(&r);
		}
	}
}

void
cg_reports_schedule(struct cg_gateway *gw)
{
	const struct cg_cfg_reports *rp = &gw->cfg->reports;
	if (rp->weekday < 0)
		return;
	int64_t now = cg_now();
	int64_t instant = last_instant(rp, now);
	send_due(gw, instant, now);
	/* Look again at the next instant, at least hourly (clock changes). */
	int64_t next = instant + WEEK - now;
	if (next > 3600)
		next = 3600;
	if (gw->loop == NULL)
		return;
	if (gw->reports_timer)
		cg_loop_timer_cancel(gw->loop, gw->reports_timer);
	gw->reports_timer =
	    cg_loop_timer(gw->loop, next * 1000, schedule_timer, gw);
}

static void
schedule_timer(struct cg_loop *l, void *arg)
{
	struct cg_gateway *gw = arg;
	gw->reports_timer = 0; /* fired: nothing to cancel */
	cg_reports_schedule(gw);
}

/* ---- answers to commands ---- */

char *
cg_reports_search_answer(struct cg_store *s, const char *words,
                         int64_t channel_id, int restricted, int64_t reader,
                         size_t limit)
{
	struct cg_search_query q = {words, channel_id, restricted, reader,
	                            limit};
	struct cg_search_hit *h;
	size_t n;
	char *expr = cg_search_match_expr(words);
	free(expr);
	if (expr == NULL)
		return cg_strdup("search: give the words to look for, "
		                 "e.g. \"search invoice june\"\n");
	if (cg_store_search(s, &q, &h, &n) != 0)
		return cg_strdup("search: the archive cannot be read now; "
		                 "try again later\n");
	char *text = cg_search_text(h, n);
	cg_search_hits_free(h, n);
	return text;
}

char *
cg_reports_answer(struct cg_store *s, const struct cg_config *cfg,
                  const char *kind, const char *channel, const char *period)
{
	struct cg_report r;
	int64_t id;
	char *why;
	if (cg_reports_make(s, cfg, kind, channel, period, cg_now(), &r, &id,
	                    &why) != 0) {
		char *line = cg_asprintf("%s\n", why);
		free(why);
		return line;
	}
	char *text = cg_report_text(&r);
	cg_report_free(&r);
	return text;
}

/* The asker's layer: guest when unknown. */
static enum cg_layer
asker_layer(struct cg_store *s, int64_t asker)
{
	struct cg_contact c;
	if (asker == 0 || cg_store_contact_get(s, asker, &c) != 0)
		return CG_LAYER_GUEST;
	enum cg_layer l = c.layer;
	cg_contact_free(&c);
	return l;
}

char *
cg_reports_command(struct cg_gateway *gw, const char *channel, int64_t asker,
                   const char *cmd, const char *arg)
{
	int guest = asker_layer(gw->store, asker) == CG_LAYER_GUEST;
	if (strcasecmp(cmd, "search") == 0)
		return cg_reports_search_answer(gw->store, arg, 0, guest, asker,
		                                5);
	if (strcasecmp(cmd, "report") != 0)
		return NULL;
	if (guest)
		return cg_strdup("report: reports are for members\n");
	char *kind = cg_strndup(arg, strcspn(arg, " \t"));
	const char *period = arg + strlen(kind);
	period += strspn(period, " \t");
	char *text =
	    cg_reports_answer(gw->store, gw->cfg, *kind ? kind : "activity",
	                      channel, *period ? period : NULL);
	free(kind);
	return text;
}
