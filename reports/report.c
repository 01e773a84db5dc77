/*
 * report.c: the registry of report kinds, periods, and the document the
 * kinds fill (report.h).  Periods are UTC: a month from its 1st, an ISO
 * week from its Monday, "Nd" the N days ending with today.
 * Must never: accept a period it cannot name back in its label.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"
#include "reports/report.h"
#include "store/report_queries.h"

#define DAY 86400

/* billing is channel-independent: a --channel (or the room asked in) is
 * accepted and ignored, and the report says Channel: all. */
static const struct cg_report_kind KINDS[] = {
    {"activity", cg_report_activity, NULL, 0},
    {"facilitation", cg_report_facilitation, NULL, 0},
    {"topics", cg_report_topics, NULL, 0},
    {"billing", cg_report_billing, NULL, 1},
};

const char CG_REPORT_KINDS[] = "activity, facilitation, topics, billing";
const char CG_PERIOD_ACCEPTED[] =
    "YYYY-MM, YYYY-Www or Nd (e.g. 2025-06, 2025-W23, 7d)";

const struct cg_report_kind *
cg_report_kind(const char *name)
{
	for (size_t i = 0; name && i < sizeof KINDS / sizeof KINDS[0]; i++)
		if (strcmp(KINDS[i].name, name) == 0)
			return &KINDS[i];
	return NULL;
}

int
cg_report_build(const struct cg_report_kind *k,
                const struct cg_report_params *p, struct cg_report *out)
{
	memset(out, 0, sizeof *out);
	out->kind = cg_strdup(k->name);
	out->channel =
	    cg_strdup(p->channel && !k->all_channels ? p->channel : "all");
	out->period = p->period;
	cg_report_head(out, "Report", "%s", k->name);
	cg_report_head(out, "Channel", "%s", out->channel);
	cg_report_head(out, "Period", "%s", p->period.label);
	return k->build ? k->build(p, out) : -1;
}

/* ---- periods ---- */

static int64_t
utc_day(int y, int mon, int mday)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon, .tm_mday = mday};
	return (int64_t)timegm(&tm);
}

static void
day_text(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

void
cg_report_date(int64_t t, char out[11])
{
	day_text(t, out, 11);
}

static void
label_days(struct cg_period *p)
{
	char a[16], b[16];
	day_text(p->start, a, sizeof a);
	day_text(p->end - 1, b, sizeof b);
	snprintf(p->label, sizeof p->label, "%s..%s", a, b);
}

static void
set_month(struct cg_period *p, int y, int mon)
{
	p->kind = CG_PERIOD_MONTH;
	p->start = utc_day(y, mon, 1);
	p->end = utc_day(y, mon + 1, 1);
	time_t t = (time_t)p->start;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(p->label, sizeof p->label, "%Y-%m", &tm);
}

static void
set_week(struct cg_period *p, int64_t monday)
{
	p->kind = CG_PERIOD_WEEK;
	p->start = monday;
	p->end = monday + 7 * DAY;
	time_t t = (time_t)monday;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(p->label, sizeof p->label, "%G-W%V", &tm);
}

/* Monday 00:00 UTC of ISO week w of year y. */
static int64_t
iso_monday(int y, int w)
{
	int64_t jan4 = utc_day(y, 0, 4);
	time_t t = (time_t)jan4;
	struct tm tm;
	gmtime_r(&t, &tm);
	int since_monday = (tm.tm_wday + 6) % 7;
	return jan4 - (int64_t)since_monday * DAY + (int64_t)(w - 1) * 7 * DAY;
}

static int
weeks_in(int y)
{
	/* The week of Dec 28 is always the year's last. */
	time_t t = (time_t)utc_day(y, 11, 28);
	struct tm tm;
	char buf[8];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%V", &tm);
	return atoi(buf);
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

int
cg_period_parse(const char *spec, int64_t now, struct cg_period *out)
{
	memset(out, 0, sizeof *out);
	if (spec == NULL)
		spec = "7d";
	size_t n = strlen(spec);
	if (n >= 2 && n <= 4 && spec[n - 1] == 'd' && all_digits(spec, n - 1)) {
		int days = atoi(spec);
		if (days < 1 || days > 366)
			return -1;
		out->kind = CG_PERIOD_DAYS;
		out->days = days;
		out->end = now - now % DAY + DAY;
		out->start = out->end - (int64_t)days * DAY;
		label_days(out);
		return 0;
	}
	if (n == 7 && spec[4] == '-' && all_digits(spec, 4) &&
	    all_digits(spec + 5, 2)) {
		int y = atoi(spec), m = atoi(spec + 5);
		if (y < 1970 || m < 1 || m > 12)
			return -1;
		set_month(out, y, m - 1);
		return 0;
	}
	if (n == 8 && spec[4] == '-' && spec[5] == 'W' && all_digits(spec, 4) &&
	    all_digits(spec + 6, 2)) {
		int y = atoi(spec), w = atoi(spec + 6);
		if (y < 1970 || w < 1 || w > weeks_in(y))
			return -1;
		set_week(out, iso_monday(y, w));
		return 0;
	}
	return -1;
}

void
cg_period_previous(const struct cg_period *p, struct cg_period *out)
{
	*out = *p;
	if (p->kind == CG_PERIOD_MONTH) {
		time_t t = (time_t)p->start;
		struct tm tm;
		gmtime_r(&t, &tm);
		set_month(out, tm.tm_year + 1900, tm.tm_mon - 1);
	} else if (p->kind == CG_PERIOD_WEEK) {
		set_week(out, p->start - 7 * DAY);
	} else {
		out->end = p->start;
		out->start = p->start - (int64_t)p->days * DAY;
		label_days(out);
	}
}

void
cg_period_last_week(int64_t now, struct cg_period *out)
{
	int64_t today = now - now % DAY;
	time_t t = (time_t)today;
	struct tm tm;
	gmtime_r(&t, &tm);
	int64_t monday = today - (int64_t)((tm.tm_wday + 6) % 7) * DAY;
	memset(out, 0, sizeof *out);
	set_week(out, monday - 7 * DAY);
}

/* ---- the document ---- */

static void
section_free(struct cg_report_section *s)
{
	free(s->title);
	cg_strv_free(s->cols, s->ncols);
	cg_strv_free(s->cells, s->nrows * s->ncols);
	free(s->empty);
}

void
cg_report_free(struct cg_report *r)
{
	if (r == NULL)
		return;
	free(r->kind);
	free(r->channel);
	for (size_t i = 0; i < r->nhead; i++) {
		free(r->head[i].key);
		free(r->head[i].value);
	}
	free(r->head);
	cg_strv_free(r->defs, r->ndefs);
	for (size_t i = 0; i < r->nsec; i++)
		section_free(&r->sec[i]);
	free(r->sec);
	free(r->attention);
	memset(r, 0, sizeof *r);
}

static char *
vformat(const char *fmt, va_list ap)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_vprintf(&b, fmt, ap);
	return cg_buf_steal(&b);
}

void
cg_report_head(struct cg_report *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->head = cg_realloc(r->head, (r->nhead + 1) * sizeof *r->head);
	r->head[r->nhead].key = cg_strdup(key);
	r->head[r->nhead].value = vformat(fmt, ap);
	r->nhead++;
	va_end(ap);
}

void
cg_report_def(struct cg_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->defs = cg_realloc(r->defs, (r->ndefs + 1) * sizeof *r->defs);
	r->defs[r->ndefs++] = vformat(fmt, ap);
	va_end(ap);
}

void
cg_report_attention(struct cg_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(r->attention);
	r->attention = vformat(fmt, ap);
	va_end(ap);
}

struct cg_report_section *
cg_report_section(struct cg_report *r, const char *title, int bar_col,
                  const char *empty, size_t ncols, ...)
{
	r->sec = cg_realloc(r->sec, (r->nsec + 1) * sizeof *r->sec);
	struct cg_report_section *s = &r->sec[r->nsec++];
	memset(s, 0, sizeof *s);
	s->title = cg_strdup(title);
	s->bar_col = bar_col;
	s->empty = cg_strdup(empty ? empty : "none");
	s->ncols = ncols;
	s->cols = cg_calloc(ncols, sizeof *s->cols);
	va_list ap;
	va_start(ap, ncols);
	for (size_t i = 0; i < ncols; i++)
		s->cols[i] = cg_strdup(va_arg(ap, const char *));
	va_end(ap);
	return s;
}

void
cg_report_row(struct cg_report_section *s, ...)
{
	size_t at = s->nrows * s->ncols;
	s->cells = cg_realloc(s->cells, (at + s->ncols) * sizeof *s->cells);
	va_list ap;
	va_start(ap, s);
	for (size_t i = 0; i < s->ncols; i++) {
		const char *v = va_arg(ap, const char *);
		s->cells[at + i] = cg_strdup(v ? v : "");
	}
	va_end(ap);
	s->nrows++;
}

char *
cg_report_duration(int64_t sec)
{
	if (sec < 0)
		return cg_strdup("-");
	if (sec >= DAY)
		return cg_asprintf("%lldd %lldh", (long long)(sec / DAY),
		                   (long long)(sec % DAY / 3600));
	if (sec >= 3600)
		return cg_asprintf("%lldh %lldm", (long long)(sec / 3600),
		                   (long long)(sec % 3600 / 60));
	if (sec >= 60)
		return cg_asprintf("%lldm", (long long)(sec / 60));
	return cg_asprintf("%llds", (long long)sec);
}
