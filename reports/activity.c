/*
 * activity.c: the activity report: posts (by email, by chat), active and
 * new members, threads started, and a bar per day.  The figures come
 * from store/report_queries.c; each is defined in one line of the report.
 * Must never: count in C what SQL can count.
 */
#include <stdlib.h>

#include "lib/util.h"
#include "reports/report.h"
#include "store/report_queries.h"

static void
activity_defs(struct cg_report *r)
{
	cg_report_def(r, "Posts: messages stored in the period, "
	                 "by email and by chat (XMPP).");
	cg_report_def(r, "Active members: distinct authors of those posts.");
	cg_report_def(r, "New members: people whose first subscription "
	                 "(to this channel, or to any for all) began in the "
	                 "period.");
	cg_report_def(r, "Threads: threads started in the period.");
}

static int
per_day(const struct cg_report_params *p, struct cg_report *r)
{
	int64_t *counts;
	size_t ndays;
	if (cg_store_report_posts_per_day(p->store, p->channel_id,
	                                  p->period.start, p->period.end,
	                                  &counts, &ndays) != 0) {
		free(counts);
		return -1;
	}
	struct cg_report_section *s =
	    cg_report_section(r, "Posts per day", 1, NULL, 2, "Day", "Posts");
	for (size_t i = 0; i < ndays; i++) {
		char day[11];
		cg_report_date(p->period.start + (int64_t)i * 86400, day);
		char *n = cg_asprintf("%lld", (long long)counts[i]);
		cg_report_row(s, day, n);
		free(n);
	}
	free(counts);
	return 0;
}

int
cg_report_activity(const struct cg_report_params *p, struct cg_report *r)
{
	struct cg_activity_figures f;
	if (cg_store_report_activity(p->store, p->channel_id, p->period.start,
	                             p->period.end, &f) != 0)
		return -1;
	cg_report_head(r, "Posts", "%lld", (long long)f.posts);
	cg_report_head(r, "Posts by email", "%lld", (long long)f.posts_email);
	cg_report_head(r, "Posts by chat", "%lld", (long long)f.posts_chat);
	cg_report_head(r, "Active members", "%lld",
	               (long long)f.active_members);
	cg_report_head(r, "New members", "%lld", (long long)f.new_members);
	cg_report_head(r, "Threads", "%lld", (long long)f.threads);
	activity_defs(r);
	if (f.posts == 0)
		cg_report_attention(r, "no posts in %s", p->period.label);
	return per_day(p, r);
}
