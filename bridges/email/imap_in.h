/*
 * imap_in.h: the email bridge's incoming side: one IMAP connection to the
 * gateway's mailbox (imap.* in the config), driven from the loop thread.
 * bridge.c owns it and forwards the loop's calls (fds/on_ready/tick).
 */
#ifndef EMAIL_IMAP_IN_H
#define EMAIL_IMAP_IN_H

#include <poll.h>
#include <stdint.h>

struct cg_gateway;
struct email_imap;

/* Called between two ingested messages (bridge.c drains SMTP results
 * there, so a long fetch does not hold back recording them). */
typedef void email_imap_hook(void *arg);

/* Uses gw->cfg->imap (which must stay valid until email_imap_free()). */
struct email_imap *email_imap_new(struct cg_gateway *gw,
                                  email_imap_hook *between, void *arg);
/* Connect at the next tick. */
void email_imap_start(struct email_imap *im);
/* The IDLE socket while idling: 0 or 1 pollfd. */
int email_imap_fds(struct email_imap *im, struct pollfd *pfds, int max);
/* Whether fd is the one email_imap_fds() listed. */
int email_imap_owns_fd(const struct email_imap *im, int fd);
void email_imap_on_ready(struct email_imap *im, int fd, short revents);
/* Connect, fetch, re-IDLE, poll as due; returns the monotonic ms of the
 * next wish (0: none). */
int64_t email_imap_tick(struct email_imap *im, int64_t now_mono_ms);
/* Whether the mailbox is selected now. */
int email_imap_connected(const struct email_imap *im);
/* Leave IDLE, mark what is processed, LOGOUT, close. */
void email_imap_stop(struct email_imap *im);
void email_imap_free(struct email_imap *im);

#endif
