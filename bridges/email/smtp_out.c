/*
 * smtp_out.c: outbox rows to the submission server.
 *
 * Loop thread: deliver() composes each message once (compose.c; a small
 * cache shared by the rows of a batch, one row per recipient), builds the
 * VERP envelope sender for the row's recipient and queues a job; the row
 * is then CG_INFLIGHT.  Workers post results to a list and write a byte
 * to a pipe the bridge lists in fds(); email_smtp_drain() (loop thread)
 * records each with cg_outbox_complete(), one row at a time, as soon as
 * it arrives, so a crash loses as few "accepted but not yet recorded"
 * rows as possible (those are sent again on restart: SMTP cannot tell).
 *
 * Workers (SMTP_WORKERS threads, one connection each, kept open while
 * there is work and closed after CONN_IDLE_MS): libetpan connects, does
 * TLS (the certificate and host name are checked with tlsverify.c before
 * anything else is sent), EHLO, STARTTLS + EHLO again, AUTH through Cyrus
 * SASL.  libetpan cannot pipeline, so the transaction itself is driven
 * here on libetpan's mailstream: MAIL FROM, RCPT TO and DATA in one write
 * (RFC 2920, when the server offers PIPELINING; else one by one), then
 * the whole dot-stuffed message in one write; TCP_NODELAY is set, so no
 * write waits for a delayed ACK.  Replies: 250 -> CG_DELIVERED with the
 * queue id of "250 2.0.0 Ok: queued as XYZ"; 4xx -> CG_RETRY; 5xx ->
 * CG_FAILED, each with the server's text; a broken connection ->
 * CG_RETRY (before the message went out, the row is tried once more on a
 * new connection first).  Workers never touch the store or the gateway.
 *
 * Must never: send a row twice within one run (every job is answered
 * exactly once), send a credential before the certificate check passed,
 * or block stop() for more than STOP_GRACE_MS plus one join.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "bridges/bridge.h"
#include "bridges/email/compose.h"
#include "bridges/email/smtp_out.h"
#include "bridges/email/tlsverify.h"
#include "gateway/gateway.h"
#include "gateway/log.h"
#include "gateway/msg.h"
#include "gateway/util.h"
#include "store/store.h"

/* Exported by libetpan (its mailsasl.h), which installs no header for
 * them: one reference for the bridge's life keeps Cyrus SASL initialised
 * once, instead of per AUTH from several threads. */
void mailsasl_ref(void);
void mailsasl_unref(void);

#define SMTP_WORKERS 3
#define SMTP_TIMEOUT_S 30
#define WORKER_TAKE 16     /* jobs a worker takes at once */
#define QUEUE_MAX 4096     /* deliver() pauses above this */
#define CONN_IDLE_MS 10000 /* QUIT after this long without work */
#define STOP_GRACE_MS 5000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define CACHE_SLOTS 8
#define MAX_REFS 20 /* References: the root and the newest 19 */

/* One composed message, shared by the jobs of its recipients.  Reference
 * counted in the loop thread only (workers read data, never free it). */
struct mail {
	int refs;
	int64_t message_id;
	char *data; /* dot-stuffed, CRLF, ends with ".\r\n" */
	size_t len;
	char *list_addr;
};

/* One outbox row on its way, and later its result. */
struct job {
	struct job *next;
	struct cg_outbox_row row; /* own copy (bridge.h: INFLIGHT) */
	char *sender;             /* VERP envelope sender */
	struct mail *mail;
	enum cg_delivery_status status;
	char *far_id, *error;
};

struct jobq {
	struct job *head, *tail;
	size_t n;
};

struct worker {
	struct email_smtp *s;
	pthread_t th;
	int running;
	mailsmtp *conn;
	int fd; /* conn's socket or -1; written under s->mu (stop cuts it) */
	int pipelining;
	MMAPString *line;
};

struct email_smtp {
	struct cg_gateway *gw;
	const struct cg_cfg_smtp *cfg;
	email_smtp_state_fn *state_fn;
	void *state_arg;
	char *where; /* "smtp HOST:PORT" */
	int started;
	int pipe[2];
	struct worker w[SMTP_WORKERS];
	/* Loop thread only. */
	struct mail *cache[CACHE_SLOTS];
	int cache_next;
	/* Shared, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq queue, done;
	int stopping;
	int64_t down_until, backoff_ms;
	int down;          /* the last connection attempt failed */
	int state_changed; /* down flipped: tell the loop thread */
	char *state_error; /* why, while down */
	atomic_int force;  /* stop: give up on the rest now */
};

/* ---- small helpers ------------------------------------------------------ */

static void
q_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct job *
q_pop(struct jobq *q)
{
	struct job *j = q->head;
	if (j) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		j->next = NULL;
	}
	return j;
}

static void
q_append(struct jobq *q, struct jobq *more)
{
	if (more->head == NULL)
		return;
	if (q->tail)
		q->tail->next = more->head;
	else
		q->head = more->head;
	q->tail = more->tail;
	q->n += more->n;
	memset(more, 0, sizeof *more);
}

static void
mail_unref(struct mail *m)
{
	if (m && --m->refs == 0) {
		free(m->data);
		free(m->list_addr);
		free(m);
	}
}

static void
job_free(struct job *j)
{
	free(j->row.bridge);
	free(j->row.destination);
	free(j->row.last_error);
	free(j->sender);
	free(j->far_id);
	free(j->error);
	mail_unref(j->mail);
	free(j);
}

static void
job_result(struct job *j, enum cg_delivery_status st, char *far_id, char *error)
{
	free(j->far_id);
	free(j->error);
	j->status = st;
	j->far_id = far_id;
	j->error = error;
}

static struct timespec
deadline_in(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* ---- VERP -----------------------------------------------------------------
 */

static int
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

char *
email_verp_sender(const char *list_addr, const char *rcpt)
{
	const char *at = strrchr(list_addr, '@');
	const char *rat = rcpt ? strrchr(rcpt, '@') : NULL;
	if (at == NULL || at == list_addr || rat == NULL || rat == rcpt ||
	    rat[1] == '\0')
		return NULL;
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_add(&b, list_addr, (size_t)(at - list_addr));
	cg_buf_puts(&b, "+bounce-");
	int readable = 1;
	for (const char *p = rcpt; p < rat; p++)
		if (!atext((unsigned char)*p))
			readable = 0;
	if (readable) {
		cg_buf_add(&b, rcpt, (size_t)(rat - rcpt));
		cg_buf_putc(&b, '=');
		char *dom = cg_lowercase(rat + 1);
		cg_buf_puts(&b, dom);
		free(dom);
	} else {
		static const char hx[] = "0123456789abcdef";
		for (const unsigned char *p = (const unsigned char *)rcpt; *p;
		     p++) {
			cg_buf_putc(&b, hx[*p >> 4]);
			cg_buf_putc(&b, hx[*p & 15]);
		}
	}
	cg_buf_puts(&b, at);
	return cg_buf_steal(&b);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	                              : -1;
}

char *
email_verp_recipient(const char *token, size_t len)
{
	if (token == NULL || len == 0)
		return NULL;
	const char *eq = NULL;
	for (size_t i = 0; i < len; i++)
		if (token[i] == '=')
			eq = token + i;
	if (eq) { /* local=domain */
		if (eq == token || eq == token + len - 1)
			return NULL;
		struct cg_buf b = CG_BUF_INIT;
		cg_buf_add(&b, token, (size_t)(eq - token));
		cg_buf_putc(&b, '@');
		cg_buf_add(&b, eq + 1, len - (size_t)(eq + 1 - token));
		return cg_buf_steal(&b);
	}
	if (len % 2)
		return NULL;
	char *out = cg_malloc(len / 2 + 1);
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(token[i]), lo = hexval(token[i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[i / 2] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	if (strchr(out, '@') == NULL) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- composing (loop thread) -------------------------------------------- */

/* CRLF line ends, leading dots doubled, ".\r\n" at the end. */
static char *
dot_stuff(const char *raw, size_t len, size_t *out_len)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_reserve(&b, len + len / 32 + 8);
	const char *p = raw, *end = raw + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (l && p[0] == '.')
			cg_buf_putc(&b, '.');
		cg_buf_add(&b, p, l);
		cg_buf_add(&b, "\r\n", 2);
		p = nl ? nl + 1 : end;
	}
	cg_buf_add(&b, ".\r\n", 3);
	*out_len = b.len;
	return cg_buf_steal(&b);
}

static int
has_re_prefix(const char *s)
{
	return strncasecmp(s, "re:", 3) == 0;
}

/* The thread's subject stays constant: "Re: <subject>" on replies. */
static char *
thread_subject(const char *thread_subj, const char *msg_subj, int reply)
{
	const char *base = thread_subj && *thread_subj ? thread_subj : msg_subj;
	if (base == NULL)
		return NULL;
	if (!reply || has_re_prefix(base))
		return cg_strdup(base);
	return cg_asprintf("Re: %s", base);
}

/* "dev@lists.example.org" -> "dev.lists.example.org" */
static char *
list_id_of(const char *addr)
{
	char *id = cg_strdup(addr);
	char *at = strchr(id, '@');
	if (at)
		*at = '.';
	return id;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The parent's Message-ID and the References chain for message m. */
static void
thread_ids(struct cg_store *st, const struct cg_stored_msg *m,
           const struct cg_thread *t, char **irt, char ***refs, size_t *nrefs)
{
	*irt = NULL;
	*refs = NULL;
	*nrefs = 0;
	int64_t parent = m->parent_id;
	if (parent == 0 && t->root_message_id && t->root_message_id != m->id)
		parent = t->root_message_id;
	if (parent == 0)
		return;
	struct cg_stored_msg p;
	if (cg_store_message_get(st, parent, &p) == 0) {
		*irt = cg_strdup(p.message_id);
		cg_stored_msg_free(&p);
	}
	if (cg_store_thread_message_ids(st, m->thread_id, parent, refs,
	                                nrefs) != 0)
		return;
	if (*nrefs > MAX_REFS) { /* keep the root and the newest */
		size_t drop = *nrefs - MAX_REFS;
		for (size_t i = 1; i <= drop; i++)
			free((*refs)[i]);
		memmove(*refs + 1, *refs + 1 + drop,
		        (MAX_REFS - 1) * sizeof **refs);
		*nrefs = MAX_REFS;
	}
}

/* Compose stored message `id`; NULL with *fail and *err set. */
static struct mail *
mail_compose(struct email_smtp *s, int64_t id, enum cg_delivery_status *fail,
             char **err)
{
	struct cg_store *st = s->gw->store;
	struct cg_stored_msg m;
	struct cg_thread t = {0};
	struct mail *out = NULL;
	char *chname = NULL, *irt = NULL, *subject = NULL, *list_id = NULL;
	char **refs = NULL;
	size_t nrefs = 0, natt = 0, skipped = 0;
	struct cg_attachment *att = NULL;

	*fail = CG_RETRY;
	if (cg_store_message_get(st, id, &m) != 0) {
		*err = cg_asprintf("message %lld: cannot load it from the "
		                   "store",
		                   (long long)id);
		return NULL;
	}
	if (cg_store_thread_get(st, m.thread_id, &t) != 0) {
		*err = cg_asprintf("message %lld: cannot load its thread",
		                   (long long)id);
		goto out;
	}
	chname = cg_store_channel_name(st, m.channel_id);
	const struct cg_cfg_channel *ch =
	    chname ? cg_config_channel(s->gw->cfg, chname) : NULL;
	if (ch == NULL) {
		*fail = CG_FAILED;
		*err = cg_asprintf("message %lld: channel %s is not configured",
		                   (long long)id, chname ? chname : "(gone)");
		goto out;
	}
	thread_ids(st, &m, &t, &irt, &refs, &nrefs);
	subject = thread_subject(t.subject, m.subject, irt != NULL);
	list_id = list_id_of(ch->address);
	if (cg_store_message_attachments(st, id, s->cfg->max_attachment_size,
	                                 &att, &natt, &skipped) != 0) {
		*err = cg_asprintf("message %lld: cannot load its "
		                   "attachments",
		                   (long long)id);
		goto out;
	}
	if (skipped)
		cg_info("message %lld: %zu attachment(s) over "
		        "smtp.max_attachment_size or in the SchutzBox not "
		        "attached",
		        (long long)id, skipped);
	struct email_compose_in in = {
	    .list_addr = ch->address,
	    .list_id = list_id,
	    .channel = ch->name,
	    .sender_name = m.sender_name,
	    .sender_addr = m.sender_addr,
	    .subject = subject,
	    .body = m.body ? m.body : "",
	    .message_id = m.message_id,
	    .in_reply_to = irt,
	    .refs = (const char *const *)refs,
	    .nrefs = nrefs,
	    .att = att,
	    .natt = natt,
	    .date = m.received,
	};
	size_t rawlen;
	char *raw = email_compose(&in, &rawlen);
	if (raw == NULL) {
		*fail = CG_FAILED;
		*err = cg_asprintf("message %lld: cannot compose a mail for "
		                   "list address %s",
		                   (long long)id, ch->address);
		goto out;
	}
	out = cg_calloc(1, sizeof *out);
	out->refs = 1;
	out->message_id = id;
	out->data = dot_stuff(raw, rawlen, &out->len);
	out->list_addr = cg_strdup(ch->address);
	free(raw);
	cg_debug("message %lld composed for %s: %zu bytes", (long long)id,
	         ch->address, out->len);
out:
	cg_attachments_free(att, natt);
	strv_free(refs, nrefs);
	free(irt);
	free(subject);
	free(list_id);
	free(chname);
	cg_thread_free(&t);
	cg_stored_msg_free(&m);
	return out;
}

/* A reference to the composed message `id` (cached per batch). */
static struct mail *
mail_get(struct email_smtp *s, int64_t id, enum cg_delivery_status *fail,
         char **err)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (s->cache[i] && s->cache[i]->message_id == id) {
			s->cache[i]->refs++;
			return s->cache[i];
		}
	struct mail *m = mail_compose(s, id, fail, err);
	if (m == NULL)
		return NULL;
	int slot = s->cache_next;
	s->cache_next = (slot + 1) % CACHE_SLOTS;
	mail_unref(s->cache[slot]);
	s->cache[slot] = m;
	m->refs++; /* the cache's */
	return m;
}

static void
cache_clear(struct email_smtp *s)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		mail_unref(s->cache[i]);
		s->cache[i] = NULL;
	}
}

/* ---- the SMTP conversation (worker threads) ----------------------------- */

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

static void
set_fd(struct worker *w, int fd)
{
	pthread_mutex_lock(&w->s->mu);
	w->fd = fd;
	pthread_mutex_unlock(&w->s->mu);
}

static void
conn_close(struct worker *w, int quit)
{
	if (w->conn == NULL)
		return;
	if (quit)
		mailsmtp_quit(w->conn);
	set_fd(w, -1); /* before close: stop() never cuts a reused fd */
	mailsmtp_free(w->conn);
	w->conn = NULL;
}

/* Connect, check the certificate, EHLO, STARTTLS, AUTH. */
static int
smtp_open(struct worker *w, char **why)
{
	const struct cg_cfg_smtp *c = w->s->cfg;
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
	set_fd(w, fd);
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
	w->conn = sm;
	w->pipelining = (sm->esmtp & MAILSMTP_ESMTP_PIPELINING) != 0;
	return 0;
fail:
	set_fd(w, -1);
	mailsmtp_free(sm);
	return -1;
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
read_reply(struct worker *w, int *code, char **text)
{
	struct cg_buf t = CG_BUF_INIT;
	*code = 0;
	*text = NULL;
	for (;;) {
		char *line =
		    mailstream_read_line_remove_eol(w->conn->stream, w->line);
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

/* "250 2.0.0 Ok: queued as 4XyZ" -> "4XyZ" */
static char *
queue_id(const char *text)
{
	const char *p = strstr(text, "queued as ");
	if (p == NULL)
		return NULL;
	p += strlen("queued as ");
	size_t n = strcspn(p, " ;/\r\n");
	return n ? cg_strndup(p, n) : NULL;
}

static void
result_from_reply(struct email_smtp *s, struct job *j, const char *stage,
                  int code, const char *text)
{
	enum cg_delivery_status st = code / 100 == 2   ? CG_DELIVERED
	                             : code / 100 == 5 ? CG_FAILED
	                                               : CG_RETRY;
	if (st == CG_DELIVERED)
		job_result(j, st, queue_id(text), NULL);
	else
		job_result(j, st, NULL,
		           cg_asprintf("%s: %s: %s", s->where, stage,
		                       text ? text : "no reply"));
}

enum send_outcome {
	SEND_OK,           /* answered; the connection goes on */
	SEND_BROKEN_EARLY, /* connection broke before the message went out */
	SEND_BROKEN,       /* connection unusable now */
};

/*
 * One transaction for one job.  The result is set in every case except
 * SEND_BROKEN_EARLY, where nothing was delivered and the caller decides.
 */
static enum send_outcome
send_one(struct worker *w, struct job *j)
{
	struct email_smtp *s = w->s;
	mailstream *st = w->conn->stream;
	static const char *const stage[3] = {"MAIL FROM", "RCPT TO", "DATA"};
	char *cmd[3];
	int code[3] = {0, 0, 0};
	char *text[3] = {NULL, NULL, NULL};
	enum send_outcome out = SEND_OK;
	cmd[0] = cg_asprintf("MAIL FROM:<%s>\r\n", j->sender);
	cmd[1] = cg_asprintf("RCPT TO:<%s>\r\n", j->row.destination);
	cmd[2] = cg_strdup("DATA\r\n");

	if (w->pipelining) { /* RFC 2920: one write, then the replies */
		struct cg_buf b = CG_BUF_INIT;
		for (int i = 0; i < 3; i++)
			cg_buf_puts(&b, cmd[i]);
		int bad = write_all(st, b.data, b.len);
		cg_buf_free(&b);
		for (int i = 0; i < 3 && !bad; i++)
			bad = read_reply(w, &code[i], &text[i]);
		if (bad) {
			out = SEND_BROKEN_EARLY;
			goto done;
		}
	} else {
		for (int i = 0; i < 3; i++) {
			if (i > 0 && code[i - 1] / 100 != 2)
				break;
			if (write_all(st, cmd[i], strlen(cmd[i])) != 0 ||
			    read_reply(w, &code[i], &text[i]) != 0) {
				out = SEND_BROKEN_EARLY;
				goto done;
			}
		}
	}
	int failed = code[0] / 100 != 2 ? 0 : code[1] / 100 != 2 ? 1 : -1;
	if (code[2] == 354 && failed < 0) {
		int fc;
		char *ft = NULL;
		if (write_all(st, j->mail->data, j->mail->len) != 0 ||
		    read_reply(w, &fc, &ft) != 0) {
			job_result(j, CG_RETRY, NULL,
			           cg_asprintf("%s: connection lost after the "
			                       "message was sent (it may have "
			                       "been delivered)",
			                       s->where));
			free(ft);
			out = SEND_BROKEN;
			goto done;
		}
		result_from_reply(s, j, "end of data", fc, ft);
		if (fc == 421)
			out = SEND_BROKEN;
		free(ft);
		goto done;
	}
	if (code[2] == 354) { /* DATA taken although a recipient was not */
		int fc;
		char *ft = NULL;
		if (write_all(st, ".\r\n", 3) != 0 ||
		    read_reply(w, &fc, &ft) != 0)
			out = SEND_BROKEN;
		free(ft);
	}
	if (failed < 0)
		failed = 2;
	result_from_reply(s, j, stage[failed], code[failed], text[failed]);
	for (int i = 0; i < 3; i++)
		if (code[i] == 421)
			out = SEND_BROKEN;
	if (out == SEND_OK) { /* close the failed transaction */
		int rc;
		char *rt = NULL;
		if (write_all(st, "RSET\r\n", 6) != 0 ||
		    read_reply(w, &rc, &rt) != 0 || rc / 100 != 2)
			out = SEND_BROKEN;
		free(rt);
	}
done:
	for (int i = 0; i < 3; i++) {
		free(cmd[i]);
		free(text[i]);
	}
	return out;
}

/* A worker could not reach the server: pause deliveries, tell the loop. */
static void
conn_failed(struct email_smtp *s, const char *why)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = cg_mono_ms();
	if (!s->down || now >= s->down_until) {
		cg_error("%s: %s; pausing deliveries for %lld s", s->where, why,
		         (long long)(s->backoff_ms / 1000));
		s->down_until = now + s->backoff_ms;
		s->backoff_ms *= 2;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
	}
	if (!s->down || s->state_error == NULL ||
	    strcmp(s->state_error, why) != 0) {
		free(s->state_error);
		s->state_error = cg_asprintf("%s: %s", s->where, why);
		s->state_changed = 1;
	}
	s->down = 1;
	pthread_mutex_unlock(&s->mu);
}

static void
conn_ok(struct email_smtp *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->down) {
		s->down = 0;
		free(s->state_error);
		s->state_error = NULL;
		s->state_changed = 1;
		cg_info("%s: reachable again", s->where);
	}
	s->backoff_ms = BACKOFF_MIN_MS;
	s->down_until = 0;
	pthread_mutex_unlock(&s->mu);
}

static int
server_paused(struct email_smtp *s, char **why)
{
	pthread_mutex_lock(&s->mu);
	int paused = s->down && cg_mono_ms() < s->down_until;
	if (paused)
		*why = cg_strdup(s->state_error ? s->state_error : s->where);
	pthread_mutex_unlock(&s->mu);
	return paused;
}

static void
deliver_job(struct worker *w, struct job *j)
{
	struct email_smtp *s = w->s;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *why = NULL;
		int fresh = 0;
		if (atomic_load(&s->force)) {
			job_result(j, CG_RETRY, NULL,
			           cg_strdup("gateway stopping before the mail "
			                     "was sent"));
			return;
		}
		if (w->conn == NULL) {
			if (server_paused(s, &why)) {
				job_result(j, CG_RETRY, NULL, why);
				return;
			}
			if (smtp_open(w, &why) != 0) {
				conn_failed(s, why);
				job_result(
				    j, CG_RETRY, NULL,
				    cg_asprintf("%s: %s", s->where, why));
				free(why);
				return;
			}
			conn_ok(s);
			fresh = 1;
		}
		enum send_outcome o = send_one(w, j);
		if (o == SEND_OK)
			return;
		conn_close(w, 0);
		if (o == SEND_BROKEN)
			return;
		/* Nothing went out: a stale connection gets one more try. */
		if (fresh || attempt == 1) {
			job_result(j, CG_RETRY, NULL,
			           cg_asprintf("%s: connection lost before the "
			                       "message was sent",
			                       s->where));
			return;
		}
	}
}

static void
post(struct email_smtp *s, struct job *j)
{
	pthread_mutex_lock(&s->mu);
	int wake = s->done.n == 0; /* else the loop has a wake-up coming */
	q_push(&s->done, j);
	pthread_mutex_unlock(&s->mu);
	char b = 1;
	if (wake) /* a full pipe wakes the loop too */
		(void)!write(s->pipe[1], &b, 1);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct email_smtp *s = w->s;
	struct job *batch[WORKER_TAKE];
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (atomic_load(&s->force))
			break;
		if (s->queue.n == 0) {
			if (s->stopping)
				break;
			if (w->conn == NULL) {
				pthread_cond_wait(&s->cv, &s->mu);
				continue;
			}
			struct timespec ts = deadline_in(CONN_IDLE_MS);
			int r = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
			if (r == ETIMEDOUT && s->queue.n == 0 && !s->stopping) {
				pthread_mutex_unlock(&s->mu);
				conn_close(w, 1);
				pthread_mutex_lock(&s->mu);
			}
			continue;
		}
		/* A fair share, so all connections work on a big fan-out. */
		size_t share = (s->queue.n + SMTP_WORKERS - 1) / SMTP_WORKERS;
		if (share > WORKER_TAKE)
			share = WORKER_TAKE;
		size_t k = 0;
		while (k < share && s->queue.n)
			batch[k++] = q_pop(&s->queue);
		pthread_mutex_unlock(&s->mu);
		for (size_t i = 0; i < k; i++) {
			deliver_job(w, batch[i]);
			post(s, batch[i]);
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	conn_close(w, !atomic_load(&s->force));
	return NULL;
}

/* ---- the interface (loop thread) ---------------------------------------- */

struct email_smtp *
email_smtp_new(struct cg_gateway *gw, email_smtp_state_fn *state, void *arg)
{
	struct email_smtp *s = cg_calloc(1, sizeof *s);
	s->gw = gw;
	s->cfg = &gw->cfg->smtp;
	s->state_fn = state;
	s->state_arg = arg;
	s->where = cg_asprintf("smtp %s:%d", s->cfg->host, s->cfg->port);
	s->pipe[0] = s->pipe[1] = -1;
	s->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	atomic_init(&s->force, 0);
	for (int i = 0; i < SMTP_WORKERS; i++) {
		s->w[i].s = s;
		s->w[i].fd = -1;
	}
	return s;
}

int
email_smtp_start(struct email_smtp *s)
{
	if (s->started)
		return 0;
	if (pipe2(s->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		cg_error("%s: pipe: %s", s->where, strerror(errno));
		return -1;
	}
	mailsasl_ref();
	s->stopping = 0;
	atomic_store(&s->force, 0);
	for (int i = 0; i < SMTP_WORKERS; i++) {
		struct worker *w = &s->w[i];
		w->line = mmap_string_new("");
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			cg_error("%s: cannot start worker thread %d", s->where,
			         i);
			mmap_string_free(w->line);
			w->line = NULL;
			continue;
		}
		w->running = 1;
	}
	s->started = 1;
	cg_info("%s: %d sender thread(s) ready", s->where, SMTP_WORKERS);
	return 0;
}

int
email_smtp_fd(const struct email_smtp *s)
{
	return s->started ? s->pipe[0] : -1;
}

void
email_smtp_drain(struct email_smtp *s)
{
	if (!s->started)
		return;
	char buf[256];
	while (read(s->pipe[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&s->mu);
	struct jobq done = s->done;
	memset(&s->done, 0, sizeof s->done);
	int changed = s->state_changed;
	char *err = changed ? cg_strdup(s->state_error) : NULL;
	s->state_changed = 0;
	int idle = s->queue.n == 0;
	pthread_mutex_unlock(&s->mu);
	if (changed && s->state_fn)
		s->state_fn(s->state_arg, err);
	free(err);
	struct job *j;
	while ((j = q_pop(&done)) != NULL) {
		struct cg_outbox_item it = {
		    .row = &j->row,
		    .status = j->status,
		    .far_id = j->far_id,
		    .error = j->error,
		};
		j->far_id = j->error = NULL; /* record() takes them */
		cg_outbox_complete(s->gw, &it);
		free(it.far_id);
		free(it.error);
		job_free(j);
	}
	/* Nothing queued: no batch shares a composed mail any more. */
	if (idle)
		cache_clear(s);
}

int
email_smtp_ready(struct email_smtp *s)
{
	if (!s->started)
		return 0;
	pthread_mutex_lock(&s->mu);
	int ok = !s->stopping && s->queue.n < QUEUE_MAX &&
	         !(s->down && cg_mono_ms() < s->down_until);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static void
row_copy(struct cg_outbox_row *dst, const struct cg_outbox_row *src)
{
	*dst = *src;
	dst->bridge = cg_strdup(src->bridge);
	dst->destination = cg_strdup(src->destination);
	dst->last_error = cg_strdup(src->last_error);
}

size_t
email_smtp_deliver(struct email_smtp *s, struct cg_outbox_item *d, size_t n)
{
	struct jobq add = {0};
	for (size_t i = 0; i < n; i++) {
		const struct cg_outbox_row *row = d[i].row;
		enum cg_delivery_status fail;
		char *err = NULL;
		struct mail *m = mail_get(s, row->message_id, &fail, &err);
		if (m == NULL) {
			d[i].status = fail;
			d[i].error = err;
			continue;
		}
		char *sender =
		    email_verp_sender(m->list_addr, row->destination);
		if (sender == NULL) {
			mail_unref(m);
			d[i].status = CG_FAILED;
			d[i].error = cg_asprintf("not a mail address: %s",
			                         row->destination);
			continue;
		}
		struct job *j = cg_calloc(1, sizeof *j);
		row_copy(&j->row, row);
		j->sender = sender;
		j->mail = m;
		j->status = CG_RETRY;
		q_push(&add, j);
		d[i].status = CG_INFLIGHT;
	}
	pthread_mutex_lock(&s->mu);
	q_append(&s->queue, &add);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return n;
}

int64_t
email_smtp_tick(struct email_smtp *s, int64_t now)
{
	if (!s->started)
		return 0;
	pthread_mutex_lock(&s->mu);
	int64_t until = s->down ? s->down_until : 0;
	pthread_mutex_unlock(&s->mu);
	return until > now ? until : 0;
}

void
email_smtp_stop(struct email_smtp *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	size_t queued = s->queue.n;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (queued)
		cg_info("%s: stopping: %zu mail(s) still queued, waiting up "
		        "to %d s",
		        s->where, queued, STOP_GRACE_MS / 1000);
	struct timespec deadline = deadline_in(STOP_GRACE_MS);
	int left = 0;
	for (int i = 0; i < SMTP_WORKERS; i++)
		if (s->w[i].running &&
		    pthread_timedjoin_np(s->w[i].th, NULL, &deadline) == 0)
			s->w[i].running = 0;
		else if (s->w[i].running)
			left++;
	if (left) {
		cg_warn("%s: %d sender thread(s) still busy after %d s: "
		        "cutting their connections",
		        s->where, left, STOP_GRACE_MS / 1000);
		atomic_store(&s->force, 1);
		pthread_mutex_lock(&s->mu);
		for (int i = 0; i < SMTP_WORKERS; i++)
			if (s->w[i].fd >= 0)
				shutdown(s->w[i].fd, SHUT_RDWR);
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		for (int i = 0; i < SMTP_WORKERS; i++)
			if (s->w[i].running) {
				pthread_join(s->w[i].th, NULL);
				s->w[i].running = 0;
			}
	}
	/* Rows no worker took: answered, so the outbox retries them. */
	pthread_mutex_lock(&s->mu);
	struct job *j;
	while ((j = q_pop(&s->queue)) != NULL) {
		job_result(j, CG_RETRY, NULL,
		           cg_strdup("gateway stopping before the mail was "
		                     "sent"));
		q_push(&s->done, j);
	}
	pthread_mutex_unlock(&s->mu);
	email_smtp_drain(s);
	cache_clear(s);
	for (int i = 0; i < SMTP_WORKERS; i++)
		if (s->w[i].line) {
			mmap_string_free(s->w[i].line);
			s->w[i].line = NULL;
		}
	close(s->pipe[0]);
	close(s->pipe[1]);
	s->pipe[0] = s->pipe[1] = -1;
	mailsasl_unref();
	s->started = 0;
}

void
email_smtp_free(struct email_smtp *s)
{
	if (s == NULL)
		return;
	email_smtp_stop(s);
	cache_clear(s);
	free(s->state_error);
	free(s->where);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
