/*
 * bounce_attr.h: whose bounce a delivery report is when its VERP token
 * does not name the recipient with a MAC of its own (bounce_attr.c): the
 * plain bounce address of a batched post, and XVERP tokens, whose MACs
 * cover only list and day, so any member can read one in the
 * Return-Path of their own copy.
 */
#ifndef EMAIL_BOUNCE_ATTR_H
#define EMAIL_BOUNCE_ATTR_H

#include <stddef.h>
#include <stdint.h>

struct cg_gateway;
struct cg_cfg_channel;
struct cg_msg;

/* What a report to a shared token leads to. */
enum email_attr {
	EMAIL_ATTR_COUNT,  /* a bounce of the named recipient */
	EMAIL_ATTR_PROBE,  /* nobody to blame: probe the message's recipients */
	EMAIL_ATTR_IGNORE, /* not a message of ours to anyone: nothing */
};

/*
 * The rule.  named: the recipient the report (or the XVERP token) names,
 * or NULL; msg_known: the returned message's Message-ID is one the
 * gateway sent; sent_to_named: the outbox has a row for that message and
 * named.  A report counts only for a recipient the returned message
 * really went to; an XVERP token (xverp) that names someone else is a
 * forgery and is ignored; a plain report naming nobody or a stranger
 * leads to a probe of the message's recipients.
 */
enum email_attr email_bounce_attribute(int xverp, const char *named,
                                       int msg_known, int sent_to_named);

/* The Message-ID (no <>) of the message returned in a report (its
 * text/rfc822-headers or message/rfc822 part), or NULL (caller frees). */
char *email_dsn_returned_msgid(const char *raw, size_t len);

/* Whether token (len bytes) is the plain bounce address's "DAY.MAC" of
 * list_addr (email_xverp_sender) at most 30 days old at unix time now. */
int email_bounce_plain_token(const unsigned char *key, const char *list_addr,
                             const char *token, size_t len, int64_t now);

/* Whether token names rcpt with a MAC of its own (email_verp_sender),
 * not the XVERP form whose MAC covers list and day only. */
int email_bounce_personal_token(const unsigned char *key, const char *list_addr,
                                const char *token, size_t len,
                                const char *rcpt);

/* Whether a notice from from_addr is a VERP probe of list_addr (sent
 * from "LOCAL+bounce@DOMAIN"): it goes out with a per-recipient VERP
 * sender, not <>. */
int email_bounce_is_probe(const char *list_addr, const char *from_addr);

/*
 * A report to CHANNEL+bounce-TOKEN, in the caller's transaction, when the
 * token is a shared one: 1 with *addr (caller frees) the recipient it is
 * attributed to (bounce.c counts it); 0 with *what (static) when nothing
 * is counted (ignored, or probes queued); -1 a store error; 2 when the
 * token names its recipient with its own MAC or is none of ours (bounce.c
 * decides as before).
 */
int email_bounce_attr_mail(struct cg_gateway *gw,
                           const struct cg_cfg_channel *ch, const char *token,
                           size_t len, const struct cg_msg *m, char **addr,
                           const char **what);

#endif
