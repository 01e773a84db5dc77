/*
 * report_queries.h: the figures of the reports (reports/), computed in SQL
 * (store/report_queries.c) for one channel (channel_id; 0: all channels)
 * and a period [start, end) in unix seconds; and the record of reports
 * sent as messages (schema 013: report_sent, report_notice).
 *
 * A message's author is its contact, else its sender address (lower
 * case).  A thread's starter is the author of its root message.
 * Ownership: arrays and strings handed back are the caller's, released
 * with the matching *_free.
 */
#ifndef CG_REPORT_QUERIES_H
#define CG_REPORT_QUERIES_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

/* ---- activity ---- */
struct cg_activity_figures {
	int64_t posts, posts_email, posts_chat;
	int64_t active_members; /* distinct authors of the period's posts */
	int64_t new_members;    /* first membership (of the channel) began */
	int64_t threads;        /* threads started */
};
int cg_store_report_activity(struct cg_store *s, int64_t channel_id,
                             int64_t start, int64_t end,
                             struct cg_activity_figures *out);
/* Posts per day of 86400 s from start: *counts[ndays] (caller frees). */
int cg_store_report_posts_per_day(struct cg_store *s, int64_t channel_id,
                                  int64_t start, int64_t end, int64_t **counts,
                                  size_t *ndays);

/* ---- facilitation ---- */
struct cg_unanswered {
	int64_t thread_id;
	char *subject, *starter, *network, *channel;
	int64_t started;
	int64_t first_reply; /* 0: nobody else wrote before the period's end */
};
void cg_unanswered_free(struct cg_unanswered *v, size_t n);
/*
 * Threads in which nobody but the starter wrote for more than `after`
 * seconds since the start: those still waiting at `end` (started before
 * end - after, and started at most `after` before the period or written
 * in during it), and those whose late first reply came in the period.
 * Oldest first.
 */
int cg_store_report_unanswered(struct cg_store *s, int64_t channel_id,
                               int64_t start, int64_t end, int64_t after,
                               struct cg_unanswered **out, size_t *n);
/*
 * First reply (the first message by someone other than the starter,
 * before `end`) of the threads started in the period: how many threads,
 * how many got one, the median and p90 delay in seconds (nearest rank;
 * -1 when none got one).
 */
struct cg_first_reply {
	int64_t threads, replied, median, p90;
};
int cg_store_report_first_reply(struct cg_store *s, int64_t channel_id,
                                int64_t start, int64_t end,
                                struct cg_first_reply *out);
/* Authors who posted in each of the four periods before the current one
 * and not in it: bounds[0..4] the starts of periods -4..0, bounds[5] the
 * current one's end.  Names sorted (caller frees with cg_strv_free). */
int cg_store_report_went_quiet(struct cg_store *s, int64_t channel_id,
                               const int64_t bounds[6], char ***names,
                               size_t *n);
void cg_strv_free(char **v, size_t n);

/* ---- topics ---- */
/* Each message of the period: its thread, subject and trimmed text. */
typedef int cg_report_text_cb(void *arg, int64_t thread_id, const char *subject,
                              const char *text);
int cg_store_report_texts(struct cg_store *s, int64_t channel_id, int64_t start,
                          int64_t end, cg_report_text_cb *cb, void *arg);
struct cg_term_thread {
	int64_t thread_id;
	char *subject;
	int64_t
	    messages; /* the period's messages of the thread with the word */
};
void cg_term_threads_free(struct cg_term_thread *v, size_t n);
/* The threads whose messages of the period hold `word` (any form of it:
 * the search index), most messages first, at most max. */
int cg_store_report_term_threads(struct cg_store *s, int64_t channel_id,
                                 int64_t start, int64_t end, const char *word,
                                 size_t max, struct cg_term_thread **out,
                                 size_t *n);

/* ---- billing (schema 012; the same for every channel) ---- */
/* Days: an invoice's issue day or a time entry's day, "YYYY-MM-DD", in
 * [start, end) taken as UTC days.  Money in cents; credit notes (type
 * 381) count negative; hours in thousandths. */
struct cg_billing_doc {
	char *seller, *number, *currency;
	int type_code; /* 380 invoice, 381 credit note */
	char *day;
	int64_t net, vat, gross; /* credit notes negative */
};
void cg_billing_docs_free(struct cg_billing_doc *v, size_t n);
/* The invoices and credit notes issued in the period, by seller, day. */
int cg_store_report_billing_docs(struct cg_store *s, int64_t start, int64_t end,
                                 struct cg_billing_doc **out, size_t *n);
struct cg_billing_sum {
	int64_t invoices, credit_notes;
	int64_t net, vat, gross; /* net of credit notes */
	int64_t credit_gross;    /* the credit notes' gross, negative */
};
/* Per seller (names in *sellers, sorted) and over all (*all). */
int cg_store_report_billing_sums(struct cg_store *s, int64_t start, int64_t end,
                                 char ***sellers, struct cg_billing_sum **per,
                                 size_t *n, struct cg_billing_sum *all);
struct cg_billing_hours {
	char *seller, *worker, *rate; /* worker: name, else address */
	int64_t milli;                /* hours (thousandths) */
	int64_t unbilled_milli;       /* of those, on no invoice line */
	char *since;                  /* the earliest day */
};
void cg_billing_hours_free(struct cg_billing_hours *v, size_t n);
/* Time entries dated in the period, by seller, worker and rate; *total
 * the hours of all of them. */
int cg_store_report_billing_hours(struct cg_store *s, int64_t start,
                                  int64_t end, struct cg_billing_hours **out,
                                  size_t *n, int64_t *total);
/* Open time: entries dated before `end` on no invoice line yet (now),
 * by seller, worker and rate; *total the hours of all of them. */
int cg_store_report_billing_open(struct cg_store *s, int64_t end,
                                 struct cg_billing_hours **out, size_t *n,
                                 int64_t *total);

/* ---- reports sent as messages ---- */
struct cg_report_sent {
	const char *kind;
	int64_t channel_id; /* 0: all */
	const char *period; /* label: "2025-W23" */
	int64_t period_start, period_end;
	int scheduled; /* 1: the weekly schedule (once per period) */
	const char *html;
};
/*
 * Record a report about to be sent; *id set.  Returns 1 when recorded, 0
 * when a scheduled one for this kind, channel and period exists already
 * (then nothing is written), -1 on error.  Run it in the transaction that
 * adds the report's notices.
 */
int cg_store_report_sent_add(struct cg_store *s, const struct cg_report_sent *r,
                             int64_t now, int64_t *id);
/* Notice `notice_id` is a recipient's copy of report `report_id`. */
int cg_store_report_notice_add(struct cg_store *s, int64_t report_id,
                               int64_t notice_id);
/* The HTML part of the report whose copy notice `notice_id` is: 1 found
 * (*html: caller frees), 0 when the notice is no report, -1 on error. */
int cg_store_report_notice_html(struct cg_store *s, int64_t notice_id,
                                char **html);
/* How many scheduled reports of kind for the period exist (tests). */
int64_t cg_store_report_sent_count(struct cg_store *s, const char *kind,
                                   const char *period);

#endif
