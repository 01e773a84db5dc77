/*
 * autoreply.h: the notices the gateway sends back to a person whose mail it
 * did not relay: mail to an address in gateway.domain that is no channel,
 * and mail over imap.max_message_size.  Never to auto-generated mail
 * (Auto-Submitted, Precedence, mailer-daemon, reports), never to an
 * address of the gateway's own domain.
 */
#ifndef EMAIL_AUTOREPLY_H
#define EMAIL_AUTOREPLY_H

#include <stdint.h>

struct cg_gateway;
struct cg_cfg_channel;
struct cg_msg;

/* Whether mail m may be answered at all (not auto-generated, a sender
 * outside gateway.domain). */
int email_may_answer(const struct cg_gateway *gw, const struct cg_msg *m);
/* Sets CG_MSG_NO_REPLY on m when email_may_answer() says no, so the
 * gateway can tell without asking the email bridge. */
void email_mark_answerable(const struct cg_gateway *gw, struct cg_msg *m);

/* m went to rcpt, an address of gateway.domain that names no channel:
 * one polite notice, at most one per sender per 24 h.  Runs inside the
 * caller's transaction; *what (static) says what happened.  0 ok, -1
 * store error. */
int email_autoreply_unknown(struct cg_gateway *gw, const struct cg_msg *m,
                            const char *rcpt, const char **what);

/* m (size bytes) to channel ch was over the limit (max bytes): a notice
 * "your message to X was not relayed: N MB is above the M MB limit".
 * As above. */
int email_autoreply_oversize(struct cg_gateway *gw,
                             const struct cg_cfg_channel *ch,
                             const struct cg_msg *m, uint64_t size,
                             uint64_t max, const char **what);

#endif
