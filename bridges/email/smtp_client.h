/*
 * smtp_client.h: a plain SMTP client on libetpan (smtp_client.c): one
 * connection to the submission server (TLS checked, EHLO, STARTTLS, AUTH)
 * and one transaction at a time on it, pipelined when the server offers
 * it.  It knows mail data, envelope addresses and reply codes only: no
 * store, no gateway, no outbox rows.  Used by smtp_out.c's workers, one
 * client per worker thread.
 */
#ifndef EMAIL_SMTP_CLIENT_H
#define EMAIL_SMTP_CLIENT_H

#include <stddef.h>

struct cg_cfg_smtp;
struct email_smtp_client;

/* Called with the connection's socket once connected and with -1 before
 * it is closed (smtp_out.c publishes it so stop() can cut it). */
typedef void email_smtp_fd_fn(void *arg, int fd);

/* Connect to c's server, check its certificate, EHLO, STARTTLS, AUTH:
 * the client, or NULL with *why (caller frees).  c outlives it. */
struct email_smtp_client *email_smtp_client_open(const struct cg_cfg_smtp *c,
                                                 email_smtp_fd_fn *fd_fn,
                                                 void *arg, char **why);
/* Whether the server's last EHLO offered XVERP. */
int email_smtp_client_xverp(const struct email_smtp_client *cl);
/*
 * Whether an idle connection is still usable: 0 yes, -1 no (the server
 * closed it, said something unasked such as 421, or did not answer).
 * Without noop only the socket is looked at (nothing is sent); with noop
 * a NOOP must be answered 250 too.
 */
int email_smtp_client_check(struct email_smtp_client *cl, int noop);
/* QUIT first when quit; then close and free. */
void email_smtp_client_close(struct email_smtp_client *cl, int quit);

/* What a transaction says about one recipient. */
struct email_smtp_answer {
	const char *stage; /* "MAIL FROM", "RCPT TO", "DATA", "end of data";
	                      NULL: no answer (see lost) */
	int code;          /* the reply's code (0: none) */
	char *text;        /* the reply's lines, " / " between (owned) */
	int about_rcpt;    /* the reply is about this recipient */
	int lost;          /* connection lost after the message was sent */
};
void email_smtp_answers_free(struct email_smtp_answer *a, size_t n);

enum email_smtp_outcome {
	EMAIL_SMTP_OK,           /* answered; the connection goes on */
	EMAIL_SMTP_BROKEN_EARLY, /* broke before the message went out */
	EMAIL_SMTP_BROKEN,       /* connection unusable now */
};

/*
 * One transaction: data (dot-stuffed, ending ".\r\n") to rcpts[0..n) with
 * envelope sender `sender` ("" for <>), XVERP=-= when xverp.  Every
 * answer[i] is set except on EMAIL_SMTP_BROKEN_EARLY, where nothing was
 * delivered and the caller decides.
 */
enum email_smtp_outcome
email_smtp_client_send(struct email_smtp_client *cl, const char *data,
                       size_t len, const char *sender, int xverp,
                       const char *const *rcpts, size_t n,
                       struct email_smtp_answer *answer);

#endif
