/*
 * facilitation.c: the facilitation report: threads left unanswered, time
 * to the first reply (median and p90), members who went quiet.  Figures
 * from store/report_queries.c; each defined in one line of the report.
 * Must never: call a thread answered because its starter wrote again.
 */
#include <stdlib.h>

#include "lib/util.h"
#include "reports/report.h"
#include "store/report_queries.h"

static void
facilitation_defs(struct cg_report *r, const char *after)
{
	cg_report_def(
	    r,
	    "Unanswered: a thread in which nobody but its starter "
	    "wrote for more than %s after it started; listed while it "
	    "waits, and in the period its late first reply came.",
	    after);
	cg_report_def(r, "First reply: the first message in a thread by "
	                 "someone other than its starter; median and p90 "
	                 "(nearest rank) over the threads started in the "
	                 "period that got one before its end.");
	cg_report_def(r, "Went quiet: members who posted in each of the four "
	                 "previous periods and not in this one.");
}

/* Age of a waiting thread (at the period's end, or now if sooner), or
 * when its late reply came. */
static char *
age_text(const struct cg_unanswered *u, const struct cg_report_params *p)
{
	if (u->first_reply) {
		char *d = cg_report_duration(u->first_reply - u->started);
		char *t = cg_asprintf("answered after %s", d);
		free(d);
		return t;
	}
	int64_t at = p->period.end < p->now ? p->period.end : p->now;
	return cg_report_duration(at - u->started);
}

static int
unanswered(const struct cg_report_params *p, struct cg_report *r,
           const char *after)
{
	struct cg_unanswered *u;
	size_t n, waiting = 0;
	if (cg_store_report_unanswered(p->store, p->channel_id, p->period.start,
	                               p->period.end, p->unanswered_after, &u,
	                               &n) != 0)
		return -1;
	struct cg_report_section *s = cg_report_section(
	    r, "Unanswered threads", -1, "no thread waits for an answer", 5,
	    "Subject", "Started by", "Network", "Channel", "Age");
	struct cg_buf names = CG_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		char *age = age_text(&u[i], p);
		const char *subj = u[i].subject ? u[i].subject : "(no subject)";
		cg_report_row(s, subj, u[i].starter, u[i].network, u[i].channel,
		              age);
		free(age);
		if (u[i].first_reply == 0 && waiting++ < 3)
			cg_buf_printf(&names, "%s\"%s\"",
			              waiting > 1 ? ", " : "", subj);
	}
	cg_report_head(r, "Unanswered", "%zu", n);
	if (waiting)
		cg_report_attention(
		    r, "%zu thread%s unanswered for more than %s: %s%s",
		    waiting, waiting == 1 ? "" : "s", after, cg_buf_str(&names),
		    waiting > 3 ? ", ..." : "");
	cg_buf_free(&names);
	cg_unanswered_free(u, n);
	return 0;
}

static int
first_reply(const struct cg_report_params *p, struct cg_report *r)
{
	struct cg_first_reply f;
	if (cg_store_report_first_reply(p->store, p->channel_id,
	                                p->period.start, p->period.end,
	                                &f) != 0)
		return -1;
	char *med = cg_report_duration(f.median);
	char *p90 = cg_report_duration(f.p90);
	cg_report_head(r, "Median first reply", "%s", med);
	cg_report_head(r, "P90 first reply", "%s", p90);
	cg_report_head(r, "Threads started", "%lld", (long long)f.threads);
	cg_report_head(r, "Threads with a reply", "%lld", (long long)f.replied);
	free(med);
	free(p90);
	return 0;
}

static int
went_quiet(const struct cg_report_params *p, struct cg_report *r)
{
	struct cg_period per[5];
	per[4] = p->period;
	for (int i = 3; i >= 0; i--)
		cg_period_previous(&per[i + 1], &per[i]);
	int64_t bounds[6] = {per[0].start, per[1].start, per[2].start,
	                     per[3].start, per[4].start, per[4].end};
	char **names;
	size_t n;
	if (cg_store_report_went_quiet(p->store, p->channel_id, bounds, &names,
	                               &n) != 0)
		return -1;
	struct cg_report_section *s = cg_report_section(
	    r, "Went quiet", -1, "nobody went quiet", 1, "Member");
	for (size_t i = 0; i < n; i++)
		cg_report_row(s, names[i]);
	cg_report_head(r, "Went quiet", "%zu", n);
	cg_strv_free(names, n);
	return 0;
}

int
cg_report_facilitation(const struct cg_report_params *p, struct cg_report *r)
{
	char *after = cg_report_duration(p->unanswered_after);
	int rc = unanswered(p, r, after);
	if (rc == 0)
		rc = first_reply(p, r);
	if (rc == 0)
		rc = went_quiet(p, r);
	facilitation_defs(r, after);
	free(after);
	return rc;
}
