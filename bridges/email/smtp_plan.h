/*
 * smtp_plan.h: how due rows become SMTP jobs, as pure functions
 * (smtp_plan.c): which recipients share one XVERP transaction, which
 * chat lines go out together as one batch mail, and what a sender thread
 * does with its kept connection while it has no work.  No store, no
 * network, no threads: smtp_out.c feeds them what it loaded and acts on
 * the result.
 */
#ifndef EMAIL_SMTP_PLAN_H
#define EMAIL_SMTP_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define EMAIL_XVERP_MAX 500 /* recipients per XVERP transaction */
#define EMAIL_XVERP_MIN 20  /* ... split smaller only to keep workers busy */

/*
 * XVERP chunking.  Recipients 0..n-1 of one mail, readable[k] nonzero
 * when XVERP can name recipient k (email_xverp_rcpt).  With xverp (the
 * server offers it) the readable ones share transactions of
 * ceil(readable / workers) recipients, at least EMAIL_XVERP_MIN and at
 * most EMAIL_XVERP_MAX, in order; every other recipient, and every one
 * without xverp, is a transaction of its own.  job_of[k] is the job of
 * recipient k, jobs numbered in the order they are to be queued (a shared
 * job when it is full or at the end).  Returns the number of jobs.
 */
size_t email_smtp_plan_chunks(const int *readable, size_t n, int xverp,
                              size_t workers, size_t *job_of);

/* One due row that is a line said in a room. */
struct email_chat_row {
	int64_t thread;   /* its thread */
	int64_t msg;      /* its stored message */
	const char *dest; /* the recipient's address */
	int taken;        /* in a job already, answered, or left pending */
};

/*
 * Chat batching.  The rows of v[i]'s thread to v[i]'s recipient (the
 * address compared without case) among v[i..n) not taken: their indexes
 * into idx (in order; returns how many), and the message ids of the first
 * max of them, sorted, into ids (*nids): those make one batch mail, the
 * rest wait for the next.  idx and ids hold n - i entries.
 */
size_t email_smtp_plan_chat(const struct email_chat_row *v, size_t n, size_t i,
                            size_t max, size_t *idx, int64_t *ids,
                            size_t *nids);

/*
 * Kept connections.  Each sender thread opens its connection when the
 * daemon starts and keeps it: while idle, its socket is looked at every
 * EMAIL_CONN_CHECK_MS (nothing sent), a NOOP goes out when it has carried
 * nothing for EMAIL_CONN_NOOP_MS (Postfix counts NOOPs toward
 * smtpd_junk_command_limit, default 100: a few per connection's life),
 * and it is replaced once it is EMAIL_CONN_MAX_AGE_MS old, well before
 * a server's idle timeout (Postfix: smtpd_timeout, 300 s).
 */
#define EMAIL_CONN_CHECK_MS 5000
#define EMAIL_CONN_NOOP_MS 20000
#define EMAIL_CONN_MAX_AGE_MS 60000

/* What one sender thread knows about its connection (monotonic ms). */
struct email_conn_clock {
	int open;           /* a connection is open */
	int64_t opened;     /* ... since */
	int64_t used;       /* its last transaction or NOOP */
	int64_t checked;    /* its last look (or use) */
	int down;           /* the server is down: no attempt before ... */
	int64_t down_until; /* ... this (the backoff) */
};

enum email_conn_step {
	EMAIL_CONN_WAIT,  /* nothing to do before *next */
	EMAIL_CONN_OPEN,  /* none open: open one */
	EMAIL_CONN_CHECK, /* look at the socket */
	EMAIL_CONN_NOOP,  /* look, and send NOOP */
	EMAIL_CONN_RENEW, /* old enough: QUIT and open a new one */
};

/* What an idle sender thread does at now; with EMAIL_CONN_WAIT, *next is
 * when to ask again. */
enum email_conn_step email_conn_next(const struct email_conn_clock *c,
                                     int64_t now, int64_t *next);

#endif
