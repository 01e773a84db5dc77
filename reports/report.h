/*
 * report.h: the reports (CONTRACT.md "Billing, invoices and reports"):
 * periods, the registry of kinds, and the document every kind fills and
 * render.c turns into text/plain and text/html.  Reports know the store,
 * never a network: sending them is the gateway's (gateway/reports.c).
 *
 * A report is a list of headline `Key: value` lines, one definition line
 * per figure (so readers trust the numbers), and sections: tables whose
 * one numeric column may be drawn as bars.
 * Ownership: a struct cg_report is filled by cg_report_build() and
 * released with cg_report_free(); renderers return strings the caller
 * frees.
 */
#ifndef CG_REPORT_H
#define CG_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

/* ---- periods ---- */
enum cg_period_kind { CG_PERIOD_DAYS, CG_PERIOD_WEEK, CG_PERIOD_MONTH };

struct cg_period {
	enum cg_period_kind kind;
	int64_t start, end; /* [start, end), unix seconds, UTC days */
	int days;           /* CG_PERIOD_DAYS: N of "Nd" */
	char label[48]; /* "2025-06", "2025-W23", "2025-06-02..2025-06-08" */
};
/* What --period accepts, for the one-line error. */
extern const char CG_PERIOD_ACCEPTED[];
/*
 * "YYYY-MM" (a calendar month, UTC), "YYYY-Www" (an ISO week, Monday
 * 00:00 UTC), "Nd" (1..366: the N days ending with today, UTC) or NULL
 * (= "7d").  0, or -1 when spec is malformed.
 */
int cg_period_parse(const char *spec, int64_t now, struct cg_period *out);
/* The period of the same kind just before p. */
void cg_period_previous(const struct cg_period *p, struct cg_period *out);
/* The ISO week before the one holding `now` (the weekly schedule's). */
void cg_period_last_week(int64_t now, struct cg_period *out);

/* ---- the document ---- */
struct cg_report_section {
	char *title;
	char **cols;
	size_t ncols;
	char **cells; /* row-major, nrows * ncols */
	size_t nrows;
	int bar_col; /* the numeric column drawn as bars; -1: none */
	char *empty; /* said when there is no row */
};

struct cg_report {
	char *kind;    /* "activity" */
	char *channel; /* channel name, or "all" */
	struct cg_period period;
	struct {
		char *key, *value;
	} * head;
	size_t nhead;
	char **defs; /* one line per figure */
	size_t ndefs;
	struct cg_report_section *sec;
	size_t nsec;
	char *attention; /* the room's summary; NULL: nothing needs it */
};
void cg_report_free(struct cg_report *r);
void cg_report_head(struct cg_report *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cg_report_def(struct cg_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A new section with ncols columns (the names follow). */
struct cg_report_section *cg_report_section(struct cg_report *r,
                                            const char *title, int bar_col,
                                            const char *empty, size_t ncols,
                                            ...);
/* A row of sec->ncols cells (strings, copied). */
void cg_report_row(struct cg_report_section *sec, ...);
void cg_report_attention(struct cg_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "3d 4h", "2h 5m", "40m", "12s"; "-" for a negative value. */
char *cg_report_duration(int64_t seconds);
/* "2025-06-02" (UTC). */
void cg_report_date(int64_t t, char out[11]);

/* ---- kinds ---- */
struct cg_report_params {
	struct cg_store *store;
	int64_t channel_id;  /* 0: all channels */
	const char *channel; /* its name, or "all" */
	struct cg_period period;
	int64_t unanswered_after; /* seconds (reports.unanswered_after) */
	int64_t now;
	const char *currency; /* billing.currency; NULL: "EUR" */
};
typedef int cg_report_build_fn(const struct cg_report_params *p,
                               struct cg_report *out);
struct cg_report_kind {
	const char *name;
	cg_report_build_fn *build; /* NULL: not available (yet) */
	const char *unavailable;   /* why, when build is NULL */
	int all_channels; /* 1: the same for every channel (Channel: all) */
};
/* The kinds, for the one-line error: "activity, facilitation, ...". */
extern const char CG_REPORT_KINDS[];
/* The kind named `name`, NULL when unknown. */
const struct cg_report_kind *cg_report_kind(const char *name);
/* Build the report: 0, -1 on a store error. */
int cg_report_build(const struct cg_report_kind *k,
                    const struct cg_report_params *p, struct cg_report *out);

cg_report_build_fn cg_report_activity;
cg_report_build_fn cg_report_facilitation;
cg_report_build_fn cg_report_topics;
cg_report_build_fn cg_report_billing;

/* ---- rendering (render.c) ---- */
/* text/plain: the `Key: value` lines, a blank line, then the body. */
char *cg_report_text(const struct cg_report *r);
/* text/html: the same figures as tables with CSS bars; no script, no
 * external resource. */
char *cg_report_html(const struct cg_report *r);
/* The mail's subject: "Report activity: dev, 2025-W23". */
char *cg_report_subject(const struct cg_report *r);
/* One or two lines for the room: the figures that need attention. */
char *cg_report_summary(const struct cg_report *r);

/* Search hits as text, one numbered entry each: channel, thread
 * subject, author, network, date, then the snippet. */
struct cg_search_hit;
char *cg_search_text(const struct cg_search_hit *h, size_t n);

#endif
