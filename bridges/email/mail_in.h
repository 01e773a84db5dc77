/*
 * mail_in.h: the one step both ways in share (imap_in.c fetching from the
 * gateway's mailbox, lmtp_in.c taking delivery from the MTA): the raw
 * bytes of one delivered copy and its envelope recipient become a
 * normalized cg_msg (mime.c, trim.c), are routed by that recipient
 * (request.c) and handed to cg_gateway_ingest().  One bridge, two ways in:
 * everything after the transport is the same code.
 */
#ifndef EMAIL_MAIL_IN_H
#define EMAIL_MAIL_IN_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/gateway.h"

/* One delivered copy of a mail. */
struct email_copy {
	const char *raw; /* its bytes (not owned) */
	size_t len;
	const char *rcpt;  /* envelope recipient (LMTP RCPT TO); NULL: the
	                      copy's Delivered-To says (IMAP) */
	uint64_t size;     /* full size at the source (>= len when oversize) */
	int oversize;      /* over imap.max_message_size: header only */
	const char *where; /* for log lines: "imap H:P: mailbox M: UID 7" */
};

enum email_take_result {
	EMAIL_TAKEN,      /* committed (stored, duplicate, dropped or handled
	                     outside the pipeline), with extra() */
	EMAIL_UNREADABLE, /* not a mail: nothing written (logged) */
	EMAIL_TAKE_ERROR, /* store error: nothing committed (logged) */
};

/*
 * Parse, route and ingest one copy; extra(gw, arg) runs inside the same
 * transaction (the source's watermark), as in cg_gateway_ingest().
 */
enum email_take_result email_take(struct cg_gateway *gw,
                                  const struct email_copy *c,
                                  cg_ingest_extra_fn *extra, void *arg);

#endif
