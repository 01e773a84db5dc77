/*
 * lmtp_in.h: the email bridge's second way in: the MTA delivers the list
 * domain over LMTP (RFC 2033) to a socket of the gateway (lmtp.* in the
 * config), served in the loop thread beside imap_in.c.  bridge.c owns it
 * and forwards the loop's calls (fds/on_ready/tick).
 */
#ifndef EMAIL_LMTP_IN_H
#define EMAIL_LMTP_IN_H

#include <poll.h>
#include <stdint.h>

struct cg_gateway;
struct email_lmtp;

/* Uses gw->cfg->lmtp (valid until email_lmtp_free()); listens nowhere
 * yet. */
struct email_lmtp *email_lmtp_new(struct cg_gateway *gw);
/* Create the listening socket (unix: mode 0660, lmtp.group); 0, or -1
 * with the reason logged. */
int email_lmtp_listen(struct email_lmtp *lm);
/* Serve an already connected socket (tests: one end of a socketpair);
 * takes fd. */
void email_lmtp_adopt(struct email_lmtp *lm, int fd, const char *peer);
/* The listener and every client that has something to read or write. */
int email_lmtp_fds(struct email_lmtp *lm, struct pollfd *pfds, int max);
/* Whether fd is the listener or a client's. */
int email_lmtp_owns_fd(const struct email_lmtp *lm, int fd);
void email_lmtp_on_ready(struct email_lmtp *lm, int fd, short revents);
/* Drop clients past their timeout; the monotonic ms of the next one
 * (0: none). */
int64_t email_lmtp_tick(struct email_lmtp *lm, int64_t now_mono_ms);
/* How many clients are connected. */
int email_lmtp_clients(const struct email_lmtp *lm);
/* Bytes of DATA all clients hold now, and the bound on them (default
 * max(4 x imap.max_message_size, 64 MiB); tests lower it). */
int64_t email_lmtp_inflight(const struct email_lmtp *lm);
void email_lmtp_set_inflight_max(struct email_lmtp *lm, int64_t bytes);
/* Close every client (421) and the listener (unlinking a unix socket). */
void email_lmtp_stop(struct email_lmtp *lm);
void email_lmtp_free(struct email_lmtp *lm);

#endif
