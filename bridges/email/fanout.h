/*
 * fanout.h: list mail to many recipients without XVERP (fanout.c): which
 * recipients share one transaction with the channel's plain bounce
 * address as envelope sender, and when.  Pure functions: no store, no
 * network, no threads; smtp_out.c asks them when it plans and sends.
 */
#ifndef EMAIL_FANOUT_H
#define EMAIL_FANOUT_H

#include <stddef.h>

#include "gateway/config.h"

#define EMAIL_FANOUT_MIN 20 /* split smaller only to keep workers busy */

/*
 * Whether list mail is planned in batches of email_fanout_plan():
 * mode (smtp.verp) is not "always", and it is "probe" or the server is not
 * known to offer XVERP (server_xverp: -1 not known yet, 0 no, 1 yes).
 * list: the mail has a list address (a notice has not: never batched).
 */
int email_fanout_planned(enum cg_verp_mode mode, int server_xverp, int list);

/*
 * Whether a job of n recipients goes out as transactions with the plain
 * bounce address, now that the connection says whether XVERP is offered
 * (xverp 0/1) and all_named says whether XVERP can name every recipient.
 */
int email_fanout_batched(enum cg_verp_mode mode, int xverp, int all_named,
                         int list, size_t n);

/*
 * Batch planning.  Recipients 0..n-1 of one mail into transactions of
 * ceil(n / workers) recipients, at least EMAIL_FANOUT_MIN and at most max
 * (max 0 counts as 1), in order: job_of[k] is the job of recipient k.
 * Returns the number of jobs.
 */
size_t email_fanout_plan(size_t n, size_t max, size_t workers, size_t *job_of);

/*
 * Whether an SMTP reply ("452 4.5.3 Error: too many recipients") says
 * the transaction has too many recipients (RFC 5321 4.5.3.1.10): the
 * sender then lowers its limit to the recipients taken so far.
 */
int email_fanout_too_many(const char *reply);

/* What a transaction's RCPTs were answered, per recipient. */
struct email_fanout_answer {
	int refused;  /* RCPT TO not answered 2xx */
	int too_many; /* ... answered 452 too many (email_fanout_too_many) */
};

/*
 * After one transaction to a[0..n): *next is the first recipient the
 * server refused as one too many (n when none: all were answered); the
 * result is how many it took before that (refused ones do not count
 * toward its limit: Postfix's smtpd_recipient_limit counts accepted
 * RCPTs).  A result below n with *next < n is the server's limit.
 */
size_t email_fanout_took(const struct email_fanout_answer *a, size_t n,
                         size_t *next);

#endif
