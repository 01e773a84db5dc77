/*
 * lmtp_in.c: an LMTP server (RFC 2033, with RFC 2920 pipelining) for the
 * MTA that delivers the list domain to the gateway: LHLO, MAIL, RCPT,
 * DATA, RSET, NOOP, QUIT.
 *
 * Threading: everything here runs in the loop thread, and nothing
 * blocks: the listener and the clients are non-blocking sockets the loop
 * polls (email_lmtp_fds).  Each client has bounded buffers: a command
 * line longer than LMTP_MAX_LINE ends the connection, the message is
 * read line by line into one buffer of at most imap.max_message_size,
 * and replies the client does not read stop its input (LMTP_OUT_MAX)
 * rather than growing.  A client silent for lmtp.timeout seconds is
 * dropped; at most LMTP_MAX_CLIENTS are served at once (the listener is
 * not polled while full).  So a slow or hostile client costs its own
 * buffers and nothing else.
 *
 * The messages held at once, by all clients together, are bounded too
 * (email_lmtp.inflight, at most max(4 x imap.max_message_size,
 * LMTP_INFLIGHT_MIN) bytes): a client whose next bytes would pass that
 * bound keeps nothing more, reads on to the final "." discarding, and
 * gets 452 4.3.1 per recipient (the MTA retries later).  A client's
 * bytes count from the first one taken until its message is delivered,
 * refused, reset or the client is gone.
 *
 * Delivery: RCPT is answered 550 unless the address has somewhere to go
 * (request.c: a channel or one of its plus-addresses), 452 past
 * LMTP_MAX_RCPTS.  After the final "." every accepted recipient gets its
 * own reply (RFC 2033): the copy for it, with Return-Path and
 * Delivered-To prepended as Dovecot's LMTP writes them, goes through
 * mail_in.c (the IMAP path's parse, route and ingest) with RCPT TO as the
 * routing address; 250 only after its transaction committed, 451 when
 * the store refused it (the MTA keeps it and retries; the Message-ID
 * dedup drops what a retry brings twice), 552 over imap.max_message_size,
 * 554 for bytes that are no mail, 452 when the bound on all messages
 * held at once left no room for it.
 *
 * Must never: answer 250 for a copy that is not committed, store any part
 * of a message whose DATA did not end with CRLF.CRLF, end DATA at
 * anything but CRLF "." CRLF (bare LF is refused: no smuggling), or
 * read without bound.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "bridges/email/lmtp_in.h"
#include "bridges/email/mail_in.h"
#include "bridges/email/request.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

#define LMTP_MAX_CLIENTS 256
#define LMTP_MAX_LINE 2048       /* a command line, CRLF included */
#define LMTP_MAX_RCPTS 100       /* per transaction; then 452 */
#define LMTP_MAX_ERRORS 10       /* bad commands, then 421 */
#define LMTP_OUT_MAX (64 * 1024) /* unread replies: stop reading */
#define LMTP_READ_CHUNK 65536
#define LMTP_ADDR_MAX 512
#define LMTP_INFLIGHT_MIN ((int64_t)64 << 20) /* all clients' DATA */

enum conn_state {
	CS_COMMAND, /* reading command lines */
	CS_DATA,    /* reading the message after 354 */
	CS_CLOSING, /* flush the replies, then close */
};

/* Why a message read after DATA cannot be taken (0: it can); a later
 * fault replaces an earlier, smaller one: a permanent refusal wins over
 * the temporary "no room". */
enum data_fault {
	DF_NONE,
	DF_NO_ROOM, /* all clients' messages at the bound: 452 */
	DF_BARE_LF,
	DF_TOO_BIG,
};

struct lmtp_conn {
	struct email_lmtp *lm;
	int fd;
	char *peer;
	enum conn_state st;
	struct cg_buf in; /* bytes read, not yet used */
	size_t in_off;
	struct cg_buf out; /* replies not yet written */
	size_t out_off;
	int64_t deadline;
	int lhlo, errors;
	char *from; /* MAIL FROM (NULL: no transaction) */
	char **rcpts;
	size_t nrcpts;
	struct cg_buf msg; /* the message, dot-unstuffed */
	int64_t held;      /* bytes of msg counted in lm->inflight */
	int64_t data_len;  /* bytes of the message read, kept or not */
	int bol;           /* msg is at the beginning of a line */
	int prev_cr;       /* the last byte taken was CR */
	enum data_fault fault;
};

struct email_lmtp {
	struct cg_gateway *gw;
	const struct cg_cfg_lmtp *cfg;
	int listen_fd;
	struct lmtp_conn **conns;
	size_t nconns;
	int64_t inflight;     /* sum of the clients' held */
	int64_t inflight_max; /* the bound on inflight */
};

/* ---- replies and closing --------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
reply(struct lmtp_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cg_buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	cg_buf_add(&c->out, "\r\n", 2);
}

/* Drop the message read so far and give its bytes back to the bound. */
static void
msg_discard(struct lmtp_conn *c)
{
	cg_buf_free(&c->msg);
	c->lm->inflight -= c->held;
	c->held = 0;
	assert(c->lm->inflight >= 0);
}

static void
reset_transaction(struct lmtp_conn *c)
{
	free(c->from);
	c->from = NULL;
	for (size_t i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->rcpts);
	c->rcpts = NULL;
	c->nrcpts = 0;
	msg_discard(c);
	c->data_len = 0;
	c->fault = DF_NONE;
}

static void
conn_free(struct lmtp_conn *c)
{
	reset_transaction(c);
	if (c->fd >= 0)
		close(c->fd);
	cg_buf_free(&c->in);
	cg_buf_free(&c->out);
	free(c->peer);
	free(c);
}

static void
drop(struct email_lmtp *lm, size_t i)
{
	conn_free(lm->conns[i]);
	lm->conns[i] = lm->conns[--lm->nconns];
}

static size_t
conn_index(const struct email_lmtp *lm, int fd)
{
	for (size_t i = 0; i < lm->nconns; i++)
		if (lm->conns[i]->fd == fd)
			return i;
	return SIZE_MAX;
}

/* Write what the socket takes now: 0, or -1 when the client is gone. */
static int
flush(struct lmtp_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off,
		                 c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->out_off += (size_t)n;
	}
	cg_buf_reset(&c->out);
	c->out_off = 0;
	return 0;
}

/* ---- the envelope ------------------------------------------------------ */

/* The address in "<...>" after the verb's colon ("MAIL FROM:<a@b> ..."),
 * lower-cased when asked; NULL when there is none or it holds bytes an
 * address cannot (caller frees).  *rest: after the '>'. */
static char *
path_arg(const char *arg, int lower, const char **rest)
{
	while (*arg == ' ')
		arg++;
	const char *open = *arg == '<' ? arg : NULL;
	const char *close = open ? strchr(open, '>') : NULL;
	if (close == NULL || close - open - 1 > LMTP_ADDR_MAX)
		return NULL;
	for (const char *p = open + 1; p < close; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == 0x7f)
			return NULL;
	*rest = close + 1;
	char *a = cg_strndup(open + 1, (size_t)(close - open - 1));
	if (!lower)
		return a;
	char *l = cg_lowercase(a);
	free(a);
	return l;
}

/* SIZE=N among MAIL's parameters: N, or -1 when not given. */
static long long
size_param(const char *p)
{
	for (; (p = strcasestr(p, "SIZE=")) != NULL; p += 5)
		if (p[-1] == ' ')
			return strtoll(p + 5, NULL, 10);
	return -1;
}

static void
cmd_mail(struct lmtp_conn *c, const char *arg)
{
	const char *rest = NULL;
	int64_t max = c->lm->gw->cfg->imap.max_message_size;
	if (!c->lhlo) {
		reply(c, "503 5.5.1 Say LHLO first");
		return;
	}
	if (c->from) {
		reply(c, "503 5.5.1 Nested MAIL command");
		return;
	}
	char *from = strncasecmp(arg, "FROM:", 5) == 0
	                 ? path_arg(arg + 5, 0, &rest)
	                 : NULL;
	if (from == NULL) {
		reply(c, "501 5.5.4 Syntax: MAIL FROM:<address>");
		c->errors++;
		return;
	}
	long long size = size_param(rest);
	if (max > 0 && size > max) {
		reply(c,
		      "552 5.3.4 Message size exceeds the limit (%lld bytes)",
		      (long long)max);
		free(from);
		return;
	}
	c->from = from;
	reply(c, "250 2.1.0 Ok");
}

static void
cmd_rcpt(struct lmtp_conn *c, const char *arg)
{
	const char *rest = NULL;
	if (c->from == NULL) {
		reply(c, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	char *to = strncasecmp(arg, "TO:", 3) == 0 ? path_arg(arg + 3, 1, &rest)
	                                           : NULL;
	if (to == NULL || *to == '\0') {
		reply(c, "501 5.5.4 Syntax: RCPT TO:<address>");
		c->errors++;
		free(to);
		return;
	}
	if (!email_route_accepts(c->lm->gw, to))
		reply(c, "550 5.1.1 <%s>: no such list address", to);
	else if (c->nrcpts >= LMTP_MAX_RCPTS)
		reply(c, "452 4.5.3 Too many recipients");
	else {
		c->rcpts =
		    cg_realloc(c->rcpts, (c->nrcpts + 1) * sizeof *c->rcpts);
		c->rcpts[c->nrcpts++] = to;
		reply(c, "250 2.1.5 Ok");
		return;
	}
	free(to);
}

static void
cmd_data(struct lmtp_conn *c)
{
	if (c->from == NULL)
		reply(c, "503 5.5.1 Need MAIL command");
	else if (c->nrcpts == 0)
		reply(c, "503 5.5.1 No valid recipients");
	else {
		reply(c, "354 End data with <CR><LF>.<CR><LF>");
		c->st = CS_DATA;
		c->bol = 1;
		c->prev_cr = 0;
		c->fault = DF_NONE;
		msg_discard(c);
		c->data_len = 0;
	}
}

static void
cmd_lhlo(struct lmtp_conn *c, const char *arg)
{
	if (*arg == '\0') {
		reply(c, "501 5.5.4 Syntax: LHLO hostname");
		c->errors++;
		return;
	}
	reset_transaction(c);
	c->lhlo = 1;
	const char *domain = c->lm->gw->cfg->gateway.domain;
	reply(c, "250-%s", domain ? domain : "coopgate");
	reply(c, "250-PIPELINING");
	reply(c, "250-SIZE %lld",
	      (long long)c->lm->gw->cfg->imap.max_message_size);
	reply(c, "250-ENHANCEDSTATUSCODES");
	reply(c, "250 8BITMIME");
}

static int
verb_is(const char *line, size_t n, const char *verb)
{
	size_t k = strlen(verb);
	return n >= k && strncasecmp(line, verb, k) == 0 &&
	       (n == k || line[k] == ' ');
}

/* One command line (CRLF removed, NUL-terminated). */
static void
command(struct lmtp_conn *c, const char *line, size_t n)
{
	const char *arg = n > 5 ? line + 5 : "";
	if (verb_is(line, n, "LHLO"))
		cmd_lhlo(c, arg);
	else if (verb_is(line, n, "MAIL"))
		cmd_mail(c, arg);
	else if (verb_is(line, n, "RCPT"))
		cmd_rcpt(c, arg);
	else if (verb_is(line, n, "DATA"))
		cmd_data(c);
	else if (verb_is(line, n, "RSET")) {
		reset_transaction(c);
		reply(c, "250 2.0.0 Ok");
	} else if (verb_is(line, n, "NOOP"))
		reply(c, "250 2.0.0 Ok");
	else if (verb_is(line, n, "QUIT")) {
		reply(c, "221 2.0.0 Bye");
		c->st = CS_CLOSING;
	} else if (verb_is(line, n, "HELO") || verb_is(line, n, "EHLO")) {
		reply(c, "500 5.5.1 This is LMTP: say LHLO");
		c->errors++;
	} else {
		reply(c, "500 5.5.2 Command not recognized");
		c->errors++;
	}
	if (c->errors >= LMTP_MAX_ERRORS && c->st != CS_CLOSING) {
		reply(c, "421 4.7.0 Too many errors; closing");
		c->st = CS_CLOSING;
	}
}

/* ---- the message ------------------------------------------------------- */

/* One recipient's copy: Return-Path and Delivered-To first, as an LMTP
 * delivery agent writes them, then the message as received. */
static char *
copy_for(const struct lmtp_conn *c, const char *rcpt, size_t *len)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_reserve(&b, c->msg.len + strlen(rcpt) + strlen(c->from) + 40);
	cg_buf_printf(&b, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", c->from,
	              rcpt);
	cg_buf_add(&b, c->msg.data, c->msg.len);
	*len = b.len;
	return cg_buf_steal(&b);
}

static void
deliver_one(struct lmtp_conn *c, const char *rcpt)
{
	size_t len;
	char *raw = copy_for(c, rcpt, &len);
	char *where = cg_asprintf("lmtp %s: <%s>", c->peer, rcpt);
	struct email_copy copy = {raw, len, rcpt, len, 0, where};
	enum email_take_result r = email_take(c->lm->gw, &copy, NULL, NULL);
	free(where);
	free(raw);
	if (r == EMAIL_TAKEN)
		reply(c, "250 2.0.0 <%s> Ok", rcpt);
	else if (r == EMAIL_UNREADABLE)
		reply(c, "554 5.6.0 <%s> Message cannot be read as a mail",
		      rcpt);
	else
		reply(c,
		      "451 4.3.0 <%s> Cannot store the message now; try "
		      "again later",
		      rcpt);
}

/* The final "." arrived: one reply per accepted recipient. */
static void
end_of_data(struct lmtp_conn *c)
{
	int64_t max = c->lm->gw->cfg->imap.max_message_size;
	for (size_t i = 0; i < c->nrcpts; i++) {
		if (c->fault == DF_TOO_BIG)
			reply(c,
			      "552 5.3.4 <%s> Message size exceeds the limit "
			      "(%lld bytes)",
			      c->rcpts[i], (long long)max);
		else if (c->fault == DF_BARE_LF)
			reply(c, "554 5.6.0 <%s> Bare <LF> in the message",
			      c->rcpts[i]);
		else if (c->fault == DF_NO_ROOM)
			reply(c,
			      "452 4.3.1 <%s> Insufficient system storage; try "
			      "again later",
			      c->rcpts[i]);
		else
			deliver_one(c, c->rcpts[i]);
	}
	if (c->fault == DF_NONE)
		c->lm->gw->outbox_kick = 1;
	reset_transaction(c);
	c->st = CS_COMMAND;
}

/* The message cannot be taken: keep nothing of it, read on to the ".". */
static void
data_fault(struct lmtp_conn *c, enum data_fault f)
{
	if (f > c->fault)
		c->fault = f;
	msg_discard(c);
}

static void
msg_add(struct lmtp_conn *c, const char *p, size_t n)
{
	struct email_lmtp *lm = c->lm;
	int64_t max = lm->gw->cfg->imap.max_message_size;
	c->data_len += (int64_t)n;
	if (max > 0 && c->data_len > max)
		data_fault(c, DF_TOO_BIG);
	else if (c->fault != DF_NONE)
		return;
	else if (lm->inflight + (int64_t)n > lm->inflight_max) {
		cg_warn("lmtp %s: messages held by all clients at the bound "
		        "(%lld bytes): this one refused with 452",
		        c->peer, (long long)lm->inflight_max);
		data_fault(c, DF_NO_ROOM);
	} else {
		cg_buf_add(&c->msg, p, n);
		c->held += (int64_t)n;
		lm->inflight += (int64_t)n;
	}
}

/*
 * Take message bytes from p[0..n): returns how many were used.  Only a
 * line start needs a look ahead (".", ".." or ".\r\n"); anything else is
 * copied up to and including its LF, so at most 2 bytes wait for more.
 */
static size_t
data_bytes(struct lmtp_conn *c, const char *p, size_t n)
{
	size_t used = 0;
	while (used < n && c->st == CS_DATA) {
		const char *s = p + used;
		size_t left = n - used;
		if (c->bol && s[0] == '.') {
			if (left < 3)
				return used; /* ".", ".\r": wait */
			if (s[1] == '\r' && s[2] == '\n') {
				end_of_data(c);
				return used + 3;
			}
			used++; /* dot-unstuffing: drop the first dot */
			s++;
			left--;
		}
		const char *lf = memchr(s, '\n', left);
		size_t k = lf ? (size_t)(lf - s) + 1 : left;
		int cr = k >= 2 ? s[k - 2] == '\r' : c->prev_cr;
		if (lf && !cr)
			data_fault(c, DF_BARE_LF);
		msg_add(c, s, k);
		c->prev_cr = s[k - 1] == '\r';
		c->bol = lf != NULL;
		used += k;
	}
	return used;
}

/* ---- reading ------------------------------------------------------------ */

/* Serve the complete lines in c->in; stop at DATA's end of input, at a
 * close, or while replies wait unread. */
static void
serve_input(struct lmtp_conn *c)
{
	while (c->in_off < c->in.len && c->st != CS_CLOSING &&
	       c->out.len - c->out_off < LMTP_OUT_MAX) {
		const char *s = c->in.data + c->in_off;
		size_t left = c->in.len - c->in_off;
		if (c->st == CS_DATA) {
			size_t k = data_bytes(c, s, left);
			c->in_off += k;
			if (k == 0)
				break;
			continue;
		}
		const char *lf = memchr(s, '\n', left);
		if (lf == NULL) {
			if (left >= LMTP_MAX_LINE) {
				reply(c, "500 5.5.2 Line too long; closing");
				c->st = CS_CLOSING;
			}
			break;
		}
		size_t k = (size_t)(lf - s);
		c->in_off += k + 1;
		if (k == 0 || s[k - 1] != '\r') {
			reply(c, "500 5.5.2 Bare <LF> received; closing");
			c->st = CS_CLOSING;
			break;
		}
		if (k > LMTP_MAX_LINE) {
			reply(c, "500 5.5.2 Line too long; closing");
			c->st = CS_CLOSING;
			break;
		}
		char *line = cg_strndup(s, k - 1);
		command(c, line, k - 1);
		free(line);
	}
	/* Keep only what is still to be used. */
	if (c->in_off == c->in.len) {
		cg_buf_reset(&c->in);
		c->in_off = 0;
	} else if (c->in_off > LMTP_READ_CHUNK) {
		memmove(c->in.data, c->in.data + c->in_off,
		        c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
}

/* Read what is there: 0, or -1 when the client is gone (or hung up
 * mid-transaction: nothing of it is kept). */
/* Whether more input may be read now (not while what was read waits for
 * replies to be read). */
static int
input_room(const struct lmtp_conn *c)
{
	return c->in.len - c->in_off < LMTP_MAX_LINE + LMTP_READ_CHUNK;
}

static int
read_input(struct lmtp_conn *c)
{
	if (!input_room(c))
		return 0;
	cg_buf_reserve(&c->in, LMTP_READ_CHUNK);
	ssize_t n = recv(c->fd, c->in.data + c->in.len, LMTP_READ_CHUNK, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
		           ? 0
		           : -1;
	if (n == 0)
		return -1;
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	c->deadline = cg_mono_ms() + (int64_t)c->lm->cfg->timeout * 1000;
	return 0;
}

/* ---- the listener ------------------------------------------------------- */

static int
nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A client with its greeting queued; the protocol (serve_input) needs no
 * socket: fd may be -1 (tests/fuzz/fuzz_lmtp.c). */
static struct lmtp_conn *
conn_new(struct email_lmtp *lm, int fd, const char *peer)
{
	struct lmtp_conn *c = cg_calloc(1, sizeof *c);
	c->lm = lm;
	c->fd = fd;
	c->peer = cg_strdup(peer);
	c->deadline = cg_mono_ms() + (int64_t)lm->cfg->timeout * 1000;
	const char *domain = lm->gw->cfg->gateway.domain;
	reply(c, "220 %s LMTP coopgate ready", domain ? domain : "coopgate");
	return c;
}

void
email_lmtp_adopt(struct email_lmtp *lm, int fd, const char *peer)
{
	if (nonblocking(fd) != 0) {
		close(fd);
		return;
	}
	struct lmtp_conn *c = conn_new(lm, fd, peer);
	lm->conns = cg_realloc(lm->conns, (lm->nconns + 1) * sizeof *lm->conns);
	lm->conns[lm->nconns++] = c;
	if (flush(c) != 0)
		drop(lm, lm->nconns - 1);
}

static char *
peer_name(const struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		return cg_asprintf("%s:%u", host, ntohs(a->sin_port));
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		return cg_asprintf("[%s]:%u", host, ntohs(a->sin6_port));
	}
	return cg_strdup("unix");
}

static void
accept_clients(struct email_lmtp *lm)
{
	while (lm->nconns < LMTP_MAX_CLIENTS) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(lm->listen_fd, (struct sockaddr *)&ss, &sl,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				cg_warn("lmtp %s: accept: %s", lm->cfg->listen,
				        strerror(errno));
			return;
		}
		char *peer = peer_name(&ss);
		email_lmtp_adopt(lm, fd, peer);
		free(peer);
	}
}

/* The group of a unix socket: lmtp.group, else "postfix" when it exists;
 * -1: leave it. */
static gid_t
socket_group(const struct email_lmtp *lm)
{
	const char *name = lm->cfg->group ? lm->cfg->group : "postfix";
	struct group *g = getgrnam(name);
	if (g == NULL && lm->cfg->group)
		cg_warn("lmtp %s: group %s does not exist", lm->cfg->listen,
		        name);
	return g ? g->gr_gid : (gid_t)-1;
}

static int
bind_unix(struct email_lmtp *lm, int fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = lm->cfg->path;
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	struct stat st;
	/* A socket left by a killed run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	mode_t old = umask(0117); /* created 0660, no window wider */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r != 0)
		return -1;
	gid_t gid = socket_group(lm);
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0)
		cg_warn("lmtp %s: cannot give the socket to group %u: %s",
		        lm->cfg->listen, (unsigned)gid, strerror(errno));
	return chmod(path, 0660);
}

static int
bind_tcp(struct email_lmtp *lm, int *fd)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	if (inet_pton(AF_INET, lm->cfg->host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)lm->cfg->port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, lm->cfg->host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)lm->cfg->port);
		sl = sizeof *a6;
	} else {
		errno = EINVAL;
		return -1;
	}
	*fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -1;
	int one = 1;
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	return bind(*fd, (struct sockaddr *)&ss, sl);
}

int
email_lmtp_listen(struct email_lmtp *lm)
{
	int fd = -1, r;
	if (lm->cfg->family == CG_LMTP_UNIX) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            0);
		r = fd < 0 ? -1 : bind_unix(lm, fd);
	} else
		r = bind_tcp(lm, &fd);
	if (r == 0)
		r = listen(fd, 128);
	if (r != 0) {
		cg_error("lmtp %s: cannot listen: %s", lm->cfg->listen,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	lm->listen_fd = fd;
	cg_info("lmtp %s: listening", lm->cfg->listen);
	return 0;
}

/* ---- the interface ------------------------------------------------------ */

struct email_lmtp *
email_lmtp_new(struct cg_gateway *gw)
{
	struct email_lmtp *lm = cg_calloc(1, sizeof *lm);
	lm->gw = gw;
	lm->cfg = &gw->cfg->lmtp;
	lm->listen_fd = -1;
	int64_t max = gw->cfg->imap.max_message_size;
	lm->inflight_max = max > INT64_MAX / 4           ? INT64_MAX
	                   : max > LMTP_INFLIGHT_MIN / 4 ? 4 * max
	                                                 : LMTP_INFLIGHT_MIN;
	return lm;
}

int
email_lmtp_fds(struct email_lmtp *lm, struct pollfd *pfds, int max)
{
	int n = 0;
	if (lm->listen_fd >= 0 && lm->nconns < LMTP_MAX_CLIENTS && n < max) {
		pfds[n].fd = lm->listen_fd;
		pfds[n].events = POLLIN;
		pfds[n++].revents = 0;
	}
	for (size_t i = 0; i < lm->nconns && n < max; i++) {
		struct lmtp_conn *c = lm->conns[i];
		short ev = 0;
		if (c->st != CS_CLOSING &&
		    c->out.len - c->out_off < LMTP_OUT_MAX)
			ev |= POLLIN;
		if (c->out_off < c->out.len)
			ev |= POLLOUT;
		pfds[n].fd = c->fd;
		pfds[n].events = ev;
		pfds[n++].revents = 0;
	}
	return n;
}

int
email_lmtp_owns_fd(const struct email_lmtp *lm, int fd)
{
	return fd >= 0 &&
	       (fd == lm->listen_fd || conn_index(lm, fd) != SIZE_MAX);
}

void
email_lmtp_on_ready(struct email_lmtp *lm, int fd, short revents)
{
	if (fd == lm->listen_fd) {
		accept_clients(lm);
		return;
	}
	size_t i = conn_index(lm, fd);
	if (i == SIZE_MAX)
		return;
	struct lmtp_conn *c = lm->conns[i];
	int gone = 0;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		gone = c->st != CS_CLOSING && read_input(c) != 0;
	if (!gone)
		serve_input(c);
	if (flush(c) != 0)
		gone = 1;
	if (gone && (c->from || c->st == CS_DATA))
		cg_info("lmtp %s: client left mid-transaction: nothing of it "
		        "kept",
		        c->peer);
	if (gone || (c->st == CS_CLOSING && c->out_off >= c->out.len))
		drop(lm, i);
}

int64_t
email_lmtp_tick(struct email_lmtp *lm, int64_t now)
{
	int64_t next = 0;
	for (size_t i = 0; i < lm->nconns;) {
		struct lmtp_conn *c = lm->conns[i];
		if (now >= c->deadline) {
			cg_info("lmtp %s: silent for %d s: closed", c->peer,
			        lm->cfg->timeout);
			reply(c, "421 4.4.2 Timeout; closing");
			(void)flush(c);
			drop(lm, i);
			continue;
		}
		if (next == 0 || c->deadline < next)
			next = c->deadline;
		i++;
	}
	return next;
}

int
email_lmtp_clients(const struct email_lmtp *lm)
{
	return (int)lm->nconns;
}

int64_t
email_lmtp_inflight(const struct email_lmtp *lm)
{
	return lm->inflight;
}

void
email_lmtp_set_inflight_max(struct email_lmtp *lm, int64_t bytes)
{
	lm->inflight_max = bytes;
}

void
email_lmtp_stop(struct email_lmtp *lm)
{
	while (lm->nconns) {
		struct lmtp_conn *c = lm->conns[lm->nconns - 1];
		reply(c, "421 4.3.2 Shutting down");
		(void)flush(c);
		drop(lm, lm->nconns - 1);
	}
	if (lm->listen_fd >= 0) {
		close(lm->listen_fd);
		lm->listen_fd = -1;
		if (lm->cfg->family == CG_LMTP_UNIX && lm->cfg->path)
			unlink(lm->cfg->path);
	}
}

void
email_lmtp_free(struct email_lmtp *lm)
{
	if (lm == NULL)
		return;
	email_lmtp_stop(lm);
	free(lm->conns);
	free(lm);
}
