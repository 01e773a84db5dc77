/*
 * request.h: routing each delivered copy of a mail by its own envelope
 * recipient, and the CHANNEL+request@ commands.
 *
 * One mail to dev@ and dev+request@ arrives as two copies with one
 * Message-ID; each carries its own Delivered-To.  email_route() looks at
 * that first (else X-Original-To, else To/Cc) and sends list posts on to
 * the pipeline with m->channel set, while +request, +unsubscribe,
 * +bounce-TOKEN, unknown addresses of gateway.domain and oversize posts
 * are handled here, outside the pipeline, so its Message-ID dedup cannot
 * swallow them.
 */
#ifndef EMAIL_REQUEST_H
#define EMAIL_REQUEST_H

#include <stdint.h>

#include "gateway/gateway.h"

enum email_route_result {
	EMAIL_ROUTE_PIPELINE, /* a list post (or not ours): cg_gateway_ingest */
	EMAIL_ROUTE_DONE,     /* handled; committed together with extra() */
	EMAIL_ROUTE_ERROR,    /* store error: nothing committed */
};

/*
 * Route m (parsed from the copy's raw bytes, m->raw; size: the full size
 * on the server, oversize: only the header was fetched) by its envelope
 * recipient: `envelope` when given (LMTP's RCPT TO), else the copy's
 * Delivered-To (IMAP).  For a list post
 * sets m->channel and returns EMAIL_ROUTE_PIPELINE; otherwise handles the
 * mail in one transaction that also runs extra(gw, arg) (the bridge's
 * watermark).  *what (static) says what was done, for the log.
 */
enum email_route_result email_route(struct cg_gateway *gw, struct cg_msg *m,
                                    const char *envelope, uint64_t size,
                                    int oversize, cg_ingest_extra_fn *extra,
                                    void *arg, const char **what);

/* 1 when mail to addr has somewhere to go: a channel's address or one
 * of its plus-addresses (+request, +unsubscribe, +bounce-TOKEN); 0 for
 * any other address, of gateway.domain or not (LMTP answers RCPT 550). */
int email_route_accepts(const struct cg_gateway *gw, const char *addr);

/*
 * What email_route() would do with m, without doing it (for `coopgate
 * inspect`): sets m->channel for a list post (or a plus-address of a
 * channel) and returns a static description, or NULL for a list post or a
 * mail not addressed to us, which the pipeline decides.
 */
const char *email_route_peek(const struct cg_gateway *gw, struct cg_msg *m);

#endif
