/*
 * bridge.c: the email bridge: cg_email_bridge_new() and the cg_bridge_ops
 * the loop calls.  It only wires the parts together: two ways in, both in
 * the loop thread and both through mail_in.c (imap_in.c fetching from the
 * gateway's mailbox, lmtp_in.c taking delivery from the MTA), and
 * smtp_out.c (outbox rows out, worker threads reporting through a pipe).
 * Each part may be absent when its config group is.  The bridge's state for
 * `coopgate status` is the IMAP connection's (the SMTP side, connecting on
 * demand, only adds its last error); without IMAP it is the SMTP side's
 * (with LMTP alone: connected while the socket listens).
 *
 * Must never: call the store from anywhere but the loop thread.
 */
#include <stdlib.h>

#include <libetpan/libetpan.h>

#include "bridges/bridge.h"
#include "bridges/email/digest.h"
#include "bridges/email/imap_in.h"
#include "bridges/email/lmtp_in.h"
#include "bridges/email/smtp_out.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

#define EMAIL_NETWORK_TIMEOUT_S 30

struct email_bridge {
	struct cg_gateway *gw;
	struct email_imap *imap;     /* NULL without imap = {...} */
	struct email_lmtp *lmtp;     /* NULL without lmtp = {...} */
	struct email_smtp *smtp;     /* NULL without smtp = {...} */
	struct email_digest *digest; /* with smtp: the daily digests */
};

static struct email_bridge *
impl(struct cg_bridge *b)
{
	return b->impl;
}

/* Between two ingested mails: record what the SMTP workers finished. */
static void
drain_hook(void *arg)
{
	struct email_bridge *e = arg;
	if (e->smtp)
		email_smtp_drain(e->smtp);
}

static void
smtp_state(void *arg, const char *error)
{
	struct email_bridge *e = arg;
	if (e->imap == NULL) {
		cg_gateway_bridge_state(e->gw, "email", error == NULL, error);
		return;
	}
	/* Keep the IMAP side's connected flag; record the SMTP error. */
	if (error)
		cg_gateway_bridge_state(e->gw, "email",
		                        email_imap_connected(e->imap), error);
}

static int
email_start(struct cg_bridge *b)
{
	struct email_bridge *e = impl(b);
	if (e->smtp && email_smtp_start(e->smtp) != 0)
		cg_error("email: cannot start the SMTP senders; outgoing mail "
		         "waits in the outbox");
	if (e->lmtp && email_lmtp_listen(e->lmtp) != 0)
		cg_gateway_bridge_state(e->gw, "email", 0,
		                        "lmtp: cannot listen (see the log)");
	else if (e->imap == NULL)
		cg_gateway_bridge_state(e->gw, "email", 1, NULL);
	if (e->imap)
		email_imap_start(e->imap);
	return 0;
}

static int
email_fds(struct cg_bridge *b, struct pollfd *pfds, int max)
{
	struct email_bridge *e = impl(b);
	int n = 0;
	int fd = e->smtp ? email_smtp_fd(e->smtp) : -1;
	if (fd >= 0 && n < max) {
		pfds[n].fd = fd;
		pfds[n].events = POLLIN;
		pfds[n].revents = 0;
		n++;
	}
	if (e->imap)
		n += email_imap_fds(e->imap, pfds + n, max - n);
	if (e->lmtp)
		n += email_lmtp_fds(e->lmtp, pfds + n, max - n);
	return n;
}

static void
email_on_ready(struct cg_bridge *b, int fd, short revents)
{
	struct email_bridge *e = impl(b);
	if (e->smtp && fd == email_smtp_fd(e->smtp))
		email_smtp_drain(e->smtp);
	else if (e->imap && email_imap_owns_fd(e->imap, fd))
		email_imap_on_ready(e->imap, fd, revents);
	else if (e->lmtp && email_lmtp_owns_fd(e->lmtp, fd))
		email_lmtp_on_ready(e->lmtp, fd, revents);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

static int64_t
email_tick(struct cg_bridge *b, int64_t now)
{
	struct email_bridge *e = impl(b);
	int64_t wake = 0;
	if (e->imap)
		wake = earliest(wake, email_imap_tick(e->imap, now));
	if (e->lmtp)
		wake = earliest(wake, email_lmtp_tick(e->lmtp, now));
	if (e->smtp)
		wake = earliest(wake, email_smtp_tick(e->smtp, now));
	if (e->digest)
		wake = earliest(wake, email_digest_tick(e->digest, now));
	return wake;
}

static size_t
email_deliver(struct cg_bridge *b, struct cg_outbox_item *d, size_t n)
{
	struct email_bridge *e = impl(b);
	return e->smtp ? email_smtp_deliver(e->smtp, d, n) : 0;
}

static int
email_ready(struct cg_bridge *b)
{
	struct email_bridge *e = impl(b);
	return e->smtp && email_smtp_ready(e->smtp);
}

static void
email_stop(struct cg_bridge *b)
{
	struct email_bridge *e = impl(b);
	if (e->smtp)
		email_smtp_stop(e->smtp);
	if (e->imap)
		email_imap_stop(e->imap);
	if (e->lmtp)
		email_lmtp_stop(e->lmtp);
}

static void
email_destroy(struct cg_bridge *b)
{
	struct email_bridge *e = impl(b);
	email_imap_free(e->imap);
	email_lmtp_free(e->lmtp);
	email_smtp_free(e->smtp);
	email_digest_free(e->digest);
	free(e);
	free(b);
}

static const struct cg_bridge_ops email_ops = {
    .name = "email",
    .start = email_start,
    .fds = email_fds,
    .on_ready = email_on_ready,
    .tick = email_tick,
    .deliver = email_deliver,
    .ready = email_ready,
    .stop = email_stop,
    .destroy = email_destroy,
};

struct cg_bridge *
cg_email_bridge_new(struct cg_gateway *gw)
{
	const struct cg_config *cfg = gw->cfg;
	if (!cfg->imap.present && !cfg->smtp.present && !cfg->lmtp.present)
		return NULL;
	/* libetpan's default network timeout is minutes; the IMAP side runs
	 * in the loop thread, so bound every blocking call (a libetpan
	 * global: set here, before any thread of ours uses libetpan). */
	mailstream_network_delay.tv_sec = EMAIL_NETWORK_TIMEOUT_S;
	mailstream_network_delay.tv_usec = 0;
	struct email_bridge *e = cg_calloc(1, sizeof *e);
	e->gw = gw;
	if (cfg->imap.present)
		e->imap = email_imap_new(gw, drain_hook, e);
	if (cfg->lmtp.present)
		e->lmtp = email_lmtp_new(gw);
	if (cfg->smtp.present) {
		e->smtp = email_smtp_new(gw, smtp_state, e);
		e->digest = email_digest_new(gw);
	}
	struct cg_bridge *b = cg_calloc(1, sizeof *b);
	b->ops = &email_ops;
	b->gw = gw;
	b->impl = e;
	return b;
}
