/*
 * smtp_client.c: a plain SMTP client (smtp_client.h) on libetpan's
 * mailsmtp and mailstream.  libetpan connects, does TLS (the certificate
 * and host name are checked with tlsverify.c before anything else is
 * sent), EHLO, STARTTLS + EHLO again, AUTH through Cyrus SASL.  libetpan
 * cannot pipeline, so the transaction itself is driven here on its
 * mailstream: MAIL FROM, the RCPT TOs and DATA in one write (RFC 2920,
 * when the server offers PIPELINING; else one by one), then the whole
 * dot-stuffed message in one write; TCP_NODELAY is set, so no write waits
 * for a delayed ACK.
 *
 * Threads: a client belongs to the one thread using it.  Must never: send
 * a credential before the certificate check passed, send DATA's content
 * when no recipient was taken, or read a reply without a bound.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <libetpan/libetpan.h>

#include "bridges/email/smtp_client.h"
#include "bridges/email/tlsverify.h"
#include "gateway/config.h"
#include "lib/util.h"

#define SMTP_TIMEOUT_S 30

struct email_smtp_client {
	mailsmtp *sm;
	int pipelining;
	int xverp;
	MMAPString *line;
	email_smtp_fd_fn *fd_fn;
	void *fd_arg;
};

static char *
smtp_err(mailsmtp *sm, const char *what, int r)
{
	int srv = sm && sm->response && r != MAILSMTP_ERROR_STREAM &&
	          r != MAILSMTP_ERROR_CONNECTION_REFUSED &&
	          r != MAILSMTP_ERROR_SSL && r != MAILSMTP_ERROR_MEMORY;
	if (srv)
		return cg_asprintf("%s: %s: %d %s", what, mailsmtp_strerror(r),
		                   sm->response_code, sm->response);
	return cg_asprintf("%s: %s", what, mailsmtp_strerror(r));
}

/* Whether the EHLO reply text (libetpan: one extension a line, without
 * the "250-") offers keyword. */
static int
ehlo_offers(const char *text, const char *keyword)
{
	size_t k = strlen(keyword);
	for (const char *p = text; p && *p;) {
		size_t l = strcspn(p, "\r\n");
		if (l >= k && strncasecmp(p, keyword, k) == 0 &&
		    (l == k || p[k] == ' '))
			return 1;
		p += l;
		p += strspn(p, "\r\n");
	}
	return 0;
}

/* Connect, check the certificate, EHLO, STARTTLS, AUTH. */
struct email_smtp_client *
email_smtp_client_open(const struct cg_cfg_smtp *c, email_smtp_fd_fn *fd_fn,
                       void *arg, char **why)
{
	mailsmtp *sm = mailsmtp_new(0, NULL);
	int r;
	mailsmtp_set_timeout(sm, SMTP_TIMEOUT_S);
	if (c->tls == CG_TLS_IMPLICIT)
		r = mailsmtp_ssl_connect_with_callback(
		    sm, c->host, (uint16_t)c->port, email_tls_sni, c->host);
	else
		r = mailsmtp_socket_connect(sm, c->host, (uint16_t)c->port);
	if (r != MAILSMTP_NO_ERROR) {
		*why = smtp_err(sm, "connect", r);
		goto fail;
	}
	int fd = mailstream_low_get_fd(mailstream_get_low(sm->stream));
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fd_fn(arg, fd);
	if (c->tls == CG_TLS_IMPLICIT &&
	    email_tls_verify(sm->stream, c->ca_file, c->host, why) != 0)
		goto fail;
	if ((r = mailesmtp_ehlo(sm)) != MAILSMTP_NO_ERROR) {
		*why = smtp_err(sm, "EHLO", r);
		goto fail;
	}
	if (c->tls == CG_TLS_STARTTLS) {
		if (!(sm->esmtp & MAILSMTP_ESMTP_STARTTLS)) {
			*why = cg_strdup("the server offers no STARTTLS");
			goto fail;
		}
		r = mailsmtp_socket_starttls_with_callback(sm, email_tls_sni,
		                                           c->host);
		if (r != MAILSMTP_NO_ERROR) {
			*why = smtp_err(sm, "STARTTLS", r);
			goto fail;
		}
		if (email_tls_verify(sm->stream, c->ca_file, c->host, why))
			goto fail;
		/* RFC 3207: forget what the server said before TLS. */
		if ((r = mailesmtp_ehlo(sm)) != MAILSMTP_NO_ERROR) {
			*why = smtp_err(sm, "EHLO after STARTTLS", r);
			goto fail;
		}
	}
	/* libetpan keeps the last EHLO's lines but has no flag for XVERP. */
	int xverp = ehlo_offers(sm->response, "XVERP");
	if (c->user) {
		r = mailesmtp_auth_sasl(sm, "PLAIN", c->host, NULL, NULL,
		                        c->user, c->user, c->password, NULL);
		if (r != MAILSMTP_NO_ERROR) {
			char *what = cg_asprintf("AUTH PLAIN as %s", c->user);
			*why = smtp_err(sm, what, r);
			free(what);
			goto fail;
		}
	}
	struct email_smtp_client *cl = cg_calloc(1, sizeof *cl);
	cl->sm = sm;
	cl->pipelining = (sm->esmtp & MAILSMTP_ESMTP_PIPELINING) != 0;
	cl->xverp = xverp;
	cl->line = mmap_string_new("");
	cl->fd_fn = fd_fn;
	cl->fd_arg = arg;
	return cl;
fail:
	fd_fn(arg, -1);
	mailsmtp_free(sm);
	return NULL;
}

int
email_smtp_client_xverp(const struct email_smtp_client *cl)
{
	return cl->xverp;
}

void
email_smtp_client_close(struct email_smtp_client *cl, int quit)
{
	if (cl == NULL)
		return;
	if (quit)
		mailsmtp_quit(cl->sm);
	cl->fd_fn(cl->fd_arg, -1); /* before close: never cut a reused fd */
	mailsmtp_free(cl->sm);
	mmap_string_free(cl->line);
	free(cl);
}

static int read_reply(struct email_smtp_client *cl, int *code, char **text);
static int write_all(mailstream *st, const char *p, size_t n);

/* smtp_client.h.  An idle connection has nothing to read: anything there
 * (a 421, the server's FIN, a TLS alert) means it is gone. */
int
email_smtp_client_check(struct email_smtp_client *cl, int noop)
{
	mailstream *st = cl->sm->stream;
	if (st == NULL || st->read_buffer_len > 0)
		return -1;
	int fd = mailstream_low_get_fd(mailstream_get_low(st));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (fd < 0 || poll(&p, 1, 0) != 0)
		return -1;
	if (!noop)
		return 0;
	int code;
	char *text = NULL;
	int bad = write_all(st, "NOOP\r\n", 6) != 0 ||
	          read_reply(cl, &code, &text) != 0 || code / 100 != 2;
	free(text);
	return bad ? -1 : 0;
}

void
email_smtp_answers_free(struct email_smtp_answer *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		free(a[i].text);
	free(a);
}

static int
write_all(mailstream *st, const char *p, size_t n)
{
	if (n && mailstream_write(st, p, n) < 0)
		return -1;
	return mailstream_flush(st);
}

/* One reply (all its lines): *code and *text ("250 2.0.0 Ok: ..."). */
static int
read_reply(struct email_smtp_client *cl, int *code, char **text)
{
	struct cg_buf t = CG_BUF_INIT;
	*code = 0;
	*text = NULL;
	for (;;) {
		char *line =
		    mailstream_read_line_remove_eol(cl->sm->stream, cl->line);
		size_t l = line ? strlen(line) : 0;
		if (line == NULL || l < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9') {
			cg_buf_free(&t);
			*code = 0;
			return -1;
		}
		*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		        (line[2] - '0');
		if (t.len)
			cg_buf_puts(&t, " / ");
		cg_buf_puts(&t, line);
		if (l == 3 || line[3] != '-')
			break;
	}
	*text = cg_buf_steal(&t);
	return 0;
}

/* A reply about one recipient at `stage`. */
static void
answer_set(struct email_smtp_answer *a, const char *stage, int code,
           const char *text, int about_rcpt)
{
	free(a->text);
	a->stage = stage;
	a->code = code;
	a->text = text ? cg_strdup(text) : NULL;
	a->about_rcpt = about_rcpt;
}

/* Replies of one transaction: [0] MAIL, [1..n] RCPT, [n+1] DATA. */
struct replies {
	int *code;
	char **text;
	size_t n; /* 2 + recipients */
};

static void
replies_free(struct replies *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->text[i]);
	free(p->code);
	free(p->text);
}

/*
 * Send MAIL FROM, RCPT TO r[0..n), DATA and read their replies: all in one
 * write with PIPELINING, else one by one (stopping after a refused MAIL
 * and leaving out DATA when no recipient was taken).  -1: the connection
 * broke (nothing was delivered).
 */
static int
envelope(struct email_smtp_client *cl, const char *mail_cmd,
         const char *const *r, size_t n, struct replies *p)
{
	mailstream *st = cl->sm->stream;
	p->n = n + 2;
	p->code = cg_calloc(p->n, sizeof *p->code);
	p->text = cg_calloc(p->n, sizeof *p->text);
	struct cg_buf b = CG_BUF_INIT;
	if (cl->pipelining) { /* RFC 2920: one write, then the replies */
		cg_buf_puts(&b, mail_cmd);
		for (size_t i = 0; i < n; i++)
			cg_buf_printf(&b, "RCPT TO:<%s>\r\n", r[i]);
		cg_buf_puts(&b, "DATA\r\n");
		int bad = write_all(st, b.data, b.len);
		for (size_t i = 0; i < p->n && !bad; i++)
			bad = read_reply(cl, &p->code[i], &p->text[i]);
		cg_buf_free(&b);
		return bad ? -1 : 0;
	}
	int taken = 0;
	for (size_t i = 0; i < p->n; i++) {
		cg_buf_reset(&b);
		if (i == 0)
			cg_buf_puts(&b, mail_cmd);
		else if (i <= n)
			cg_buf_printf(&b, "RCPT TO:<%s>\r\n", r[i - 1]);
		else if (taken)
			cg_buf_puts(&b, "DATA\r\n");
		else
			break;
		if (write_all(st, b.data, b.len) != 0 ||
		    read_reply(cl, &p->code[i], &p->text[i]) != 0) {
			cg_buf_free(&b);
			return -1;
		}
		if (i == 0 && p->code[0] / 100 != 2)
			break;
		if (i > 0 && p->code[i] / 100 == 2)
			taken = 1;
	}
	cg_buf_free(&b);
	return 0;
}

/* smtp_client.h */
enum email_smtp_outcome
email_smtp_client_send(struct email_smtp_client *cl, const char *data,
                       size_t len, const char *sender, int xverp,
                       const char *const *r, size_t n,
                       struct email_smtp_answer *answer)
{
	mailstream *st = cl->sm->stream;
	enum email_smtp_outcome out = EMAIL_SMTP_OK;
	char *mail_cmd = cg_asprintf("MAIL FROM:<%s>%s\r\n", sender,
	                             xverp ? " XVERP=-=" : "");
	struct replies p = {0};
	if (envelope(cl, mail_cmd, r, n, &p) != 0) {
		free(mail_cmd);
		replies_free(&p);
		return EMAIL_SMTP_BROKEN_EARLY;
	}
	free(mail_cmd);
	int data_code = p.code[n + 1];
	size_t taken = 0;
	if (p.code[0] / 100 != 2) { /* MAIL refused: for everyone */
		for (size_t i = 0; i < n; i++)
			answer_set(&answer[i], "MAIL FROM", p.code[0],
			           p.text[0], 0);
	} else {
		for (size_t i = 0; i < n; i++)
			if (p.code[i + 1] / 100 == 2)
				taken++;
			else
				answer_set(&answer[i], "RCPT TO", p.code[i + 1],
				           p.text[i + 1], 1);
	}
	if (data_code == 354 && taken) {
		int fc;
		char *ft = NULL;
		if (write_all(st, data, len) != 0 ||
		    read_reply(cl, &fc, &ft) != 0) {
			for (size_t i = 0; i < n; i++)
				if (p.code[i + 1] / 100 == 2)
					answer[i].lost = 1;
			free(ft);
			replies_free(&p);
			return EMAIL_SMTP_BROKEN;
		}
		/* The one reply that completes every accepted recipient. */
		for (size_t i = 0; i < n; i++)
			if (p.code[i + 1] / 100 == 2)
				answer_set(&answer[i], "end of data", fc, ft,
				           n == 1);
		if (fc == 421)
			out = EMAIL_SMTP_BROKEN;
		free(ft);
		replies_free(&p);
		return out;
	}
	if (data_code == 354) { /* DATA taken although no recipient was */
		int fc;
		char *ft = NULL;
		if (write_all(st, ".\r\n", 3) != 0 ||
		    read_reply(cl, &fc, &ft) != 0)
			out = EMAIL_SMTP_BROKEN;
		free(ft);
	}
	if (taken) /* DATA refused: the accepted ones get its answer */
		for (size_t i = 0; i < n; i++)
			if (p.code[i + 1] / 100 == 2)
				answer_set(&answer[i], "DATA", data_code,
				           p.text[n + 1], n == 1);
	for (size_t i = 0; i < p.n; i++)
		if (p.code[i] == 421)
			out = EMAIL_SMTP_BROKEN;
	if (out == EMAIL_SMTP_OK) { /* close the failed transaction */
		int rc;
		char *rt = NULL;
		if (write_all(st, "RSET\r\n", 6) != 0 ||
		    read_reply(cl, &rc, &rt) != 0 || rc / 100 != 2)
			out = EMAIL_SMTP_BROKEN;
		free(rt);
	}
	replies_free(&p);
	return out;
}
