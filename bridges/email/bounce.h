/*
 * bounce.h: failed deliveries.  Mail to CHANNEL+bounce-TOKEN@DOMAIN (the
 * VERP envelope sender of list mail) is read as an RFC 3464 report; the
 * SMTP side reports 5xx answers through email_bounce_at_send().
 * Both raise the address's bounce score: permanent 1.0, temporary 0.5,
 * summed over the last 30 days (older events drop out).  At 5.0 the
 * address is suspended: the recipients query skips it, and the member is
 * told over XMPP when they have a JID.
 */
#ifndef EMAIL_BOUNCE_H
#define EMAIL_BOUNCE_H

#include <stddef.h>

struct cg_gateway;
struct cg_cfg_channel;
struct cg_msg;

/* Record one bounce inside the caller's transaction (no begin/commit):
 * the event, and at the threshold the suspension and its notice.
 * ch may be NULL (unknown channel).  0 ok, -1 store error. */
int email_bounce_record(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                        const char *address, int permanent, const char *reason);

/*
 * A delivery to `address` failed at send time (smtp_out.c): permanent
 * (5xx) or temporary.  Raises the address's bounce score (permanent 1.0,
 * temporary 0.5, decaying after 30 days); at 5.0 email delivery to that
 * member is suspended.  Its own transaction; a store error is logged and
 * the event not counted.  (The gateway never calls it: bounce scores are
 * the email bridge's decision.)
 */
void email_bounce_at_send(struct cg_gateway *gw, const char *address,
                          int permanent, const char *reason);

/* A mail that arrived for CHANNEL+bounce-TOKEN (token: len bytes, not
 * NUL-terminated), inside the caller's transaction.  Mail that is no
 * delivery report (a vacation reply to the envelope sender) counts
 * nothing.  *what (static) says what was done.  0 ok, -1 store error. */
int email_bounce_mail(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                      const char *token, size_t len, const struct cg_msg *m,
                      const char **what);

#endif
