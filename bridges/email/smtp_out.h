/*
 * smtp_out.h: the email bridge's outgoing side: outbox rows (one per
 * recipient: list mail, notices, chat lines batched per thread, digest
 * copies) composed once per mail and handed to the submission server
 * (smtp.* in the config) by a few worker threads with ESMTP PIPELINING,
 * many recipients per transaction when the server offers XVERP.  bridge.c
 * owns it; the functions below are called from the loop thread only.
 * Results come back through a pipe (email_smtp_fd) and are recorded with
 * cg_outbox_complete_many() in the loop thread, one store transaction
 * for every result a wake-up brings.
 */
#ifndef EMAIL_SMTP_OUT_H
#define EMAIL_SMTP_OUT_H

#include <stddef.h>
#include <stdint.h>

struct cg_gateway;
struct cg_outbox_item;
struct email_smtp;

/* Called in the loop thread when a worker could not reach the server
 * (error, e.g. "smtp localhost:587: AUTH PLAIN as gateway: 535 ...") or
 * reached it again after such a failure (error NULL). */
typedef void email_smtp_state_fn(void *arg, const char *error);

/* Uses gw->cfg->smtp (valid until email_smtp_free()). */
struct email_smtp *email_smtp_new(struct cg_gateway *gw,
                                  email_smtp_state_fn *state, void *arg);
/* Start the workers and the result pipe; -1 (logged) on failure.  The
 * workers open their connections in the background: a server that is
 * down does not hold up the start. */
int email_smtp_start(struct email_smtp *s);
/* The read end of the result pipe (-1 before start). */
int email_smtp_fd(const struct email_smtp *s);
/* Record every result the workers have posted (cg_outbox_complete). */
void email_smtp_drain(struct email_smtp *s);
/* Whether deliver() takes rows now: started, not stopping, queue not
 * full, server not down (after an outage the workers reconnect in the
 * background and email_smtp_drain() sets gw->outbox_kick). */
int email_smtp_ready(struct email_smtp *s);
/* Queue the rows: each becomes CG_INFLIGHT (or CG_FAILED/CG_RETRY when
 * its mail cannot be composed).  Chat lines whose thread has a later line
 * still waiting are left pending (their due time moved to that line's):
 * those items are moved to the end of d, and the count returned (how many
 * it took) leaves them out. */
size_t email_smtp_deliver(struct email_smtp *s, struct cg_outbox_item *d,
                          size_t n);
/* Monotonic ms at which the loop should call again (0: no wish; the
 * pipe tells it when the server is reachable again). */
int64_t email_smtp_tick(struct email_smtp *s, int64_t now_mono_ms);
/* Stop taking rows, let the workers finish the queue for a few seconds,
 * then cut their connections, join them and record every result (rows
 * not tried are recorded as CG_RETRY). */
void email_smtp_stop(struct email_smtp *s);
void email_smtp_free(struct email_smtp *s);

#endif
