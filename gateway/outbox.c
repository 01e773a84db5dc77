/*
 * outbox.c: the delivery policy.  Due rows are handed to their bridge in
 * batches; results are recorded one transaction per batch: done (with the
 * far side's id), retry (exponential backoff with jitter), or dead-letter
 * after outbox.max_attempts or on a permanent failure.  A crash between
 * hand-off and recording means the row is delivered again on restart; the
 * far side's dedup (Message-ID, origin-id) keeps that harmless.
 * Must never: drop a row silently, or hand the same row to a bridge twice
 * while it is in flight.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bridges/bridge.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/onboarding.h"
#include "gateway/outbox.h"
#include "lib/util.h"
#include "store/store.h"

/* Rows handed to a bridge at once: a post to 1,000 members in one batch,
 * so it is planned as max_recipients-sized transactions (10 of 100, or 3
 * XVERP ones), not split at 256 rows into 12. */
#define OUTBOX_BATCH 1024

int64_t
cg_outbox_backoff_ms(const struct cg_cfg_outbox *o, int attempts, double rnd)
{
	int64_t base = (int64_t)o->retry_base * 1000;
	int64_t max = (int64_t)o->retry_max * 1000;
	int64_t d = base;
	for (int i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	double jitter = 0.75 + 0.5 * rnd; /* [0.75, 1.25) */
	return (int64_t)((double)d * jitter);
}

static double
random_unit(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (uint32_t)rand();
	return (double)r / 4294967296.0;
}

/*
 * In-flight row ids live in the gateway, sorted, so a batch of a thousand
 * rows costs a thousand binary searches, not a million comparisons.
 */
static size_t
inflight_pos(const struct cg_gateway *gw, int64_t id)
{
	size_t lo = 0, hi = gw->ninflight;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (gw->inflight[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
cg_outbox_inflight(struct cg_gateway *gw, int64_t row_id)
{
	size_t i = inflight_pos(gw, row_id);
	return i < gw->ninflight && gw->inflight[i] == row_id;
}

static void
inflight_add(struct cg_gateway *gw, int64_t id)
{
	size_t i = inflight_pos(gw, id);
	if (i < gw->ninflight && gw->inflight[i] == id)
		return;
	gw->inflight = cg_realloc(gw->inflight,
	                          (gw->ninflight + 1) * sizeof *gw->inflight);
	memmove(gw->inflight + i + 1, gw->inflight + i,
	        (gw->ninflight - i) * sizeof *gw->inflight);
	gw->inflight[i] = id;
	gw->ninflight++;
}

static void
inflight_remove(struct cg_gateway *gw, int64_t id)
{
	size_t i = inflight_pos(gw, id);
	if (i < gw->ninflight && gw->inflight[i] == id) {
		memmove(gw->inflight + i, gw->inflight + i + 1,
		        (gw->ninflight - i - 1) * sizeof *gw->inflight);
		gw->ninflight--;
	}
}

/* Record one result; call inside a transaction. */
static void
record(struct cg_gateway *gw, struct cg_outbox_item *d)
{
	const struct cg_outbox_row *row = d->row;
	const struct cg_cfg_outbox *o = &gw->cfg->outbox;
	int attempts = row->attempts + 1;
	const char *err = d->error ? d->error : "unknown error";
	switch (d->status) {
	case CG_DELIVERED:
		cg_store_outbox_done(gw->store, row->id, d->far_id, cg_now());
		cg_debug("outbox %lld: %s %s delivered%s%s", (long long)row->id,
		         row->bridge, row->destination, d->far_id ? " as " : "",
		         d->far_id ? d->far_id : "");
		break;
	case CG_RETRY:
		if (attempts < o->max_attempts) {
			int64_t next =
			    cg_now_ms() +
			    cg_outbox_backoff_ms(o, attempts, random_unit());
			cg_store_outbox_retry(gw->store, row->id, attempts,
			                      next, err);
			cg_warn("outbox %lld: %s %s: %s (attempt %d, retrying)",
			        (long long)row->id, row->bridge,
			        row->destination, err, attempts);
			break;
		}
		/* out of attempts: dead-letter */
		__attribute__((fallthrough));
	case CG_FAILED:
		cg_store_outbox_dead(gw->store, row->id, attempts, err);
		cg_error("outbox %lld: %s %s: %s (dead letter after %d "
		         "attempt%s)",
		         (long long)row->id, row->bridge, row->destination, err,
		         attempts, attempts == 1 ? "" : "s");
		break;
	case CG_INFLIGHT:
		inflight_add(gw, row->id);
		return;
	}
	free(d->far_id);
	free(d->error);
	d->far_id = d->error = NULL;
}

void
cg_outbox_complete(struct cg_gateway *gw, struct cg_outbox_item *d)
{
	inflight_remove(gw, d->row->id);
	gw->outbox_kick = 1; /* the bridge has room again */
	if (cg_store_begin(gw->store) != 0)
		return;
	record(gw, d);
	cg_store_commit(gw->store);
}

void
cg_outbox_complete_many(struct cg_gateway *gw, struct cg_outbox_item *d,
                        size_t n)
{
	for (size_t i = 0; i < n; i++)
		inflight_remove(gw, d[i].row->id);
	gw->outbox_kick = 1;
	if (n == 0 || cg_store_begin(gw->store) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		record(gw, &d[i]);
	cg_store_commit(gw->store);
}

/* One batch for one bridge; returns how many rows it took. */
static size_t
run_bridge(struct cg_gateway *gw, struct cg_bridge *b)
{
	struct cg_outbox_row *rows;
	size_t n;
	if (cg_store_outbox_due(gw->store, b->ops->name, cg_now_ms(),
	                        OUTBOX_BATCH + gw->ninflight, &rows, &n) != 0)
		return 0;
	struct cg_outbox_item *d = cg_calloc(n, sizeof *d);
	size_t k = 0;
	for (size_t i = 0; i < n && k < OUTBOX_BATCH; i++)
		if (!cg_outbox_inflight(gw, rows[i].id))
			d[k++].row = &rows[i];
	size_t took = k ? b->ops->deliver(b, d, k) : 0;
	if (took > k)
		took = k;
	if (took && cg_store_begin(gw->store) == 0) {
		for (size_t i = 0; i < took; i++)
			record(gw, &d[i]);
		cg_store_commit(gw->store);
	}
	/* A bridge that answered INFLIGHT copied what it needs (bridge.h),
	 * so the batch can go. */
	free(d);
	cg_outbox_rows_free(rows, n);
	return took;
}

int64_t
cg_outbox_run(struct cg_gateway *gw)
{
	for (size_t i = 0; i < gw->nbridges; i++) {
		struct cg_bridge *b = gw->bridges[i];
		if (b->ops->deliver == NULL || !b->ops->ready(b))
			continue;
		/* A full batch means more may be due: go again. */
		while (run_bridge(gw, b) == OUTBOX_BATCH && b->ops->ready(b))
			;
	}
	gw->outbox_kick = 0;
	int64_t next;
	int pending = cg_store_outbox_next_due(gw->store, NULL, &next);
	if (pending < 0) /* look again in a while */
		next = cg_now_ms() + 5000;
	else if (pending == 0)
		return 0;
	int64_t delta = next - cg_now_ms();
	return cg_mono_ms() + (delta > 0 ? delta : 1000);
}

int
cg_outbox_chat_notice(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                      int64_t channel_id, const char *jid, const char *subject,
                      const char *body, const char *auto_submitted)
{
	const char *domain = gw->cfg->gateway.domain;
	struct cg_notice n = {
	    .channel_id = channel_id,
	    .from_addr = ch ? cg_onboarding_request_addr(ch->address)
	                    : cg_asprintf("noreply@%s", domain),
	    .to_addr = cg_strdup(jid),
	    .subject = cg_strdup(subject),
	    .body = cg_strdup(body),
	    .auto_submitted = cg_strdup(auto_submitted),
	};
	int rc = cg_store_notice_add_via(gw->store, &n, domain, "xmpp", jid);
	if (rc == 0)
		gw->outbox_kick = 1;
	cg_notice_free(&n);
	return rc;
}
