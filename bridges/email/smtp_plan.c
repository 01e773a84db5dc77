/*
 * smtp_plan.c: the planning of SMTP jobs (smtp_plan.h) as pure functions,
 * so the rules that decide how many transactions a post costs and which
 * room lines share a mail can be tested without a server.
 *
 * The clock of a kept connection (email_conn_next) lives here for the
 * same reason.
 *
 * Must never: put a recipient XVERP cannot name into a shared
 * transaction, exceed EMAIL_XVERP_MAX recipients in one, batch lines of
 * different threads or recipients into one mail, or have a thread try a
 * server that is down before its backoff has passed.
 */
#include <stdlib.h>
#include <strings.h>

#include "bridges/email/smtp_plan.h"

/* Recipients per shared XVERP job: a few jobs for the workers, none too
 * big; 1 when the server offers no XVERP. */
static size_t
chunk_size(int xverp, size_t workers, size_t readable)
{
	if (!xverp)
		return 1;
	if (workers == 0)
		workers = 1;
	size_t c = (readable + workers - 1) / workers;
	return c < EMAIL_XVERP_MIN   ? EMAIL_XVERP_MIN
	       : c > EMAIL_XVERP_MAX ? EMAIL_XVERP_MAX
	                             : c;
}

size_t
email_smtp_plan_chunks(const int *readable, size_t n, int xverp, size_t workers,
                       size_t *job_of)
{
	size_t nreadable = 0;
	for (size_t k = 0; k < n; k++)
		nreadable += readable[k] != 0;
	size_t chunk = chunk_size(xverp, workers, nreadable);
	size_t jobs = 0, open_from = 0, open_n = 0;
	for (size_t k = 0; k < n; k++) {
		if (!readable[k] || chunk == 1) {
			job_of[k] = jobs++;
			continue;
		}
		if (open_n == 0)
			open_from = k;
		job_of[k] = (size_t)-1; /* numbered when queued */
		if (++open_n < chunk)
			continue;
		for (size_t x = open_from; x <= k; x++)
			if (job_of[x] == (size_t)-1)
				job_of[x] = jobs;
		jobs++;
		open_n = 0;
	}
	if (open_n) {
		for (size_t x = open_from; x < n; x++)
			if (job_of[x] == (size_t)-1)
				job_of[x] = jobs;
		jobs++;
	}
	return jobs;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

size_t
email_smtp_plan_chat(const struct email_chat_row *v, size_t n, size_t i,
                     size_t max, size_t *idx, int64_t *ids, size_t *nids)
{
	size_t k = 0;
	for (size_t j = i; j < n; j++)
		if (!v[j].taken && v[j].thread == v[i].thread &&
		    strcasecmp(v[j].dest, v[i].dest) == 0)
			idx[k++] = j;
	*nids = 0;
	for (size_t x = 0; x < k && *nids < max; x++)
		ids[(*nids)++] = v[idx[x]].msg;
	qsort(ids, *nids, sizeof *ids, cmp_id);
	return k;
}

enum email_conn_step
email_conn_next(const struct email_conn_clock *c, int64_t now, int64_t *next)
{
	*next = now;
	if (!c->open) {
		if (c->down && now < c->down_until) {
			*next = c->down_until;
			return EMAIL_CONN_WAIT;
		}
		return EMAIL_CONN_OPEN;
	}
	int64_t renew = c->opened + EMAIL_CONN_MAX_AGE_MS;
	if (now >= renew)
		return EMAIL_CONN_RENEW;
	int64_t look = c->checked + EMAIL_CONN_CHECK_MS;
	if (now >= look)
		return now - c->used >= EMAIL_CONN_NOOP_MS ? EMAIL_CONN_NOOP
		                                           : EMAIL_CONN_CHECK;
	*next = look < renew ? look : renew;
	return EMAIL_CONN_WAIT;
}
