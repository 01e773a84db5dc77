/*
 * fanout.c: the rules of batched fan-out (fanout.h).  A post to many
 * members goes out as few SMTP transactions when the server offers no
 * XVERP: each carries up to smtp.max_recipients recipients and the
 * channel's plain bounce address (email_xverp_sender: a VERP-shaped
 * address whose MAC covers list and day only), so the bounces that come
 * back are still recognisably ours and are attributed from their DSN
 * (bounce_attr.c).  smtp_out.c applies these rules; this file decides.
 *
 * When the server answers 452 "too many recipients" to a RCPT, what it
 * took before is its limit (email_fanout_took): smtp_out.c lowers its
 * transactions to that and sends the rest in the following ones.
 *
 * Must never: put more than max recipients in one transaction, batch a
 * notice (envelope sender <>), or batch when smtp.verp is "always".
 */
#include <string.h>
#include <strings.h>

#include "bridges/email/fanout.h"

int
email_fanout_planned(enum cg_verp_mode mode, int server_xverp, int list)
{
	if (!list || mode == CG_VERP_ALWAYS)
		return 0;
	return mode == CG_VERP_PROBE || server_xverp != 1;
}

int
email_fanout_batched(enum cg_verp_mode mode, int xverp, int all_named, int list,
                     size_t n)
{
	if (!list || n < 2 || mode == CG_VERP_ALWAYS)
		return 0;
	return mode == CG_VERP_PROBE || !xverp || !all_named;
}

size_t
email_fanout_plan(size_t n, size_t max, size_t workers, size_t *job_of)
{
	if (max == 0)
		max = 1;
	if (workers == 0)
		workers = 1;
	size_t chunk = (n + workers - 1) / workers;
	if (chunk < EMAIL_FANOUT_MIN)
		chunk = EMAIL_FANOUT_MIN;
	if (chunk > max)
		chunk = max;
	for (size_t k = 0; k < n; k++)
		job_of[k] = k / chunk;
	return (n + chunk - 1) / chunk;
}

int
email_fanout_too_many(const char *reply)
{
	if (reply == NULL)
		return 0;
	const char *p = strstr(reply, "452");
	if (p == NULL)
		return 0;
	for (const char *q = p; *q; q++)
		if (strncasecmp(q, "too many recipients", 19) == 0 ||
		    strncmp(q, "4.5.3", 5) == 0)
			return 1;
	return 0;
}

size_t
email_fanout_took(const struct email_fanout_answer *a, size_t n, size_t *next)
{
	size_t took = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i].too_many) {
			*next = i;
			return took;
		}
		took += !a[i].refused;
	}
	*next = n;
	return took;
}
