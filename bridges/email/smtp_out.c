/*
 * smtp_out.c: outbox rows to the submission server.
 *
 * Loop thread: deliver() turns the due rows into mails (composed by
 * mail_out.c: one text shared by every recipient, cached for a batch) and
 * jobs; the rows are then CG_INFLIGHT.  Three kinds of mail:
 *   - a stored message as list mail (with the channel's CRM context),
 *   - a notice (a direct message to one person, RFC 3834: envelope
 *     sender <>, no list headers but List-Id); a member's copy of a
 *     digest (digest.c) is a notice too, but composed as list mail,
 *   - a chat batch: the lines of one thread that came from the room,
 *     due together, as one mail per recipient (sent only once the room
 *     has been quiet for chat_batch seconds: a row whose thread has a
 *     later line still waiting is pushed to that line's due time and left
 *     pending; in a room that is never quiet the lines go anyway once the
 *     oldest has waited the channel's chat_batch_max).
 * A job is one mail and its recipients; each recipient carries the
 * outbox rows it answers for (several for a chat batch).
 *
 * Workers (SMTP_WORKERS threads, one connection each) speak SMTP through
 * smtp_client.c (TLS checked, EHLO, STARTTLS, AUTH; MAIL FROM, RCPT TOs
 * and DATA pipelined when offered) and turn its answers into results.
 * Each opens its connection when the daemon starts, before any post, so
 * the first fan-out pays no TLS and AUTH (logged once: "smtp H:P: 3
 * connection(s) open, XVERP offered"), and keeps it (email_conn_next in
 * smtp_plan.c: looked at every 5 s while idle, NOOP now and then, replaced
 * at 60 s or when the server closed it).  A server that cannot be reached
 * is one outage: one log line, deliver() takes no rows (they wait in the
 * outbox, their attempts not counted), the threads try again with a
 * backoff of 1 s doubling to 5 min, and the first that gets through logs
 * "reachable again" and wakes the loop.  A dead server at start delays
 * nothing but the mail.
 *
 * Fan-out: when the server advertises XVERP (Postfix does for clients in
 * smtpd_authorized_verp_clients), a job holds up to EMAIL_XVERP_MAX recipients
 * and goes out as ONE transaction, "MAIL FROM:<dev+bounce@DOMAIN>
 * XVERP=-=": Postfix then writes each copy's envelope sender exactly as
 * email_verp_sender() would ("dev+bounce-alice=example.org@DOMAIN"), so
 * bounces parse the same.  Recipients XVERP cannot name that way (a local
 * part outside atext: the hex form) and every job on a server without
 * XVERP go out one transaction per recipient, as before.
 *
 * Results: a RCPT answered 5xx -> that recipient CG_FAILED, 4xx ->
 * CG_RETRY; a 5xx about the recipient (its RCPT, or DATA / end of data of
 * a one-recipient transaction) also counts one permanent bounce for the
 * address (email_bounce_at_send, from email_smtp_drain in the loop thread);
 * a refused MAIL FROM or a 4xx counts nothing.  The reply to the end of
 * DATA answers every accepted recipient: 250 -> CG_DELIVERED with the
 * queue id of "250 2.0.0 Ok: queued as XYZ".  Nothing is CG_DELIVERED
 * before that reply, so a SIGKILL at any point leaves the rows pending
 * and they go again on restart (SMTP cannot tell; Message-IDs are
 * stable).  A broken
 * connection -> CG_RETRY (before the message went out, the job is tried
 * once more on a new connection first).  Workers post results to a list
 * and write a byte to a pipe the bridge lists in fds();
 * email_smtp_drain() (loop thread) records the rows of every finished
 * job in one store transaction (cg_outbox_complete_many()).  Workers never
 * touch the store or the gateway.
 *
 * Must never: send a row twice within one run (every job is answered
 * exactly once), mark a row delivered before the server took the
 * message, send a credential before the certificate check passed, or
 * block stop() for more than STOP_GRACE_MS plus one join.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bridges/bridge.h"
#include "bridges/email/bounce.h"
#include "bridges/email/fanout.h"
#include "bridges/email/smtp_client.h"
#include "bridges/email/smtp_int.h"
#include "bridges/email/smtp_out.h"
#include "bridges/email/smtp_plan.h"
#include "bridges/email/verp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

/* Exported by libetpan (its mailsasl.h), which installs no header for
 * them: one reference for the bridge's life keeps Cyrus SASL initialised
 * once, instead of per AUTH from several threads. */
void mailsasl_ref(void);
void mailsasl_unref(void);

/* ---- small helpers ------------------------------------------------------ */

static size_t
job_rows(const struct job *j)
{
	size_t n = 0;
	for (size_t i = 0; i < j->n; i++)
		n += j->r[i].nrows;
	return n;
}

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
	q->rows += job_rows(j);
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
		q->rows -= job_rows(j);
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
	q->rows += more->rows;
	memset(more, 0, sizeof *more);
}

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		struct rcpt *r = &j->r[i];
		cg_outbox_rows_free(r->rows, r->nrows);
		free(r->addr);
		free(r->far_id);
		free(r->error);
	}
	free(j->r);
	email_out_mail_unref(j->mail);
	free(j);
}

/* Set one recipient's result (takes far_id and error). */
static void
rcpt_result(struct rcpt *r, enum cg_delivery_status st, char *far_id,
            char *error)
{
	free(r->far_id);
	free(r->error);
	r->status = st;
	r->far_id = far_id;
	r->error = error;
	r->bounced = 0;
}

/* The same result for recipients r[0..n) (takes error). */
static void
rcpts_result(struct rcpt *r, size_t n, enum cg_delivery_status st, char *error)
{
	for (size_t i = 0; i < n; i++)
		rcpt_result(&r[i], st, NULL, error ? cg_strdup(error) : NULL);
	free(error);
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

/* ---- the SMTP conversation (worker threads) ----------------------------- */

/* The worker's socket, for stop() to cut (email_smtp_fd_fn). */
static void
set_fd(void *arg, int fd)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->s->mu);
	w->fd = fd;
	pthread_mutex_unlock(&w->s->mu);
}

static void
conn_close(struct worker *w, int quit)
{
	if (w->conn == NULL)
		return;
	email_smtp_client_close(w->conn, quit);
	w->conn = NULL;
	pthread_mutex_lock(&w->s->mu);
	w->s->nconn--;
	pthread_mutex_unlock(&w->s->mu);
}

/* Wake the loop thread: it drains results and state changes. */
static void
wake_loop(struct email_smtp *s)
{
	char b = 1;
	(void)!write(s->pipe[1], &b, 1); /* a full pipe wakes it too */
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

/* "250 ..." -> CG_DELIVERED with the queue id, 4xx -> CG_RETRY, 5xx ->
 * CG_FAILED with the server's text.  about_rcpt: the reply is about this
 * recipient (its RCPT TO, or DATA of a one-recipient transaction), so a
 * 5xx is a bounce of the address (a 4xx is not: the outbox retries). */
static void
result_from_reply(struct email_smtp *s, struct rcpt *r, const char *stage,
                  int code, const char *text, int about_rcpt)
{
	enum cg_delivery_status st = code / 100 == 2   ? CG_DELIVERED
	                             : code / 100 == 5 ? CG_FAILED
	                                               : CG_RETRY;
	if (st == CG_DELIVERED)
		rcpt_result(r, st, queue_id(text), NULL);
	else
		rcpt_result(r, st, NULL,
		            cg_asprintf("%s: %s: %s", s->where, stage,
		                        text ? text : "no reply"));
	r->bounced = st == CG_FAILED && about_rcpt;
}

/*
 * One transaction of mail m to r[0..n) (smtp_client.c), its answers made
 * the recipients' results: every one is set except on
 * EMAIL_SMTP_BROKEN_EARLY, where nothing was delivered.
 */
static enum email_smtp_outcome
send_txn(struct worker *w, const struct mail *m, const char *sender, int xverp,
         struct rcpt *r, size_t n)
{
	struct email_smtp *s = w->s;
	const char **addrs = cg_calloc(n, sizeof *addrs);
	struct email_smtp_answer *a = cg_calloc(n, sizeof *a);
	for (size_t i = 0; i < n; i++)
		addrs[i] = r[i].addr;
	enum email_smtp_outcome o = email_smtp_client_send(
	    w->conn, m->data, m->len, sender, xverp, addrs, n, a);
	for (size_t i = 0; i < n; i++) {
		int at_rcpt = a[i].stage && strcmp(a[i].stage, "RCPT TO") == 0;
		r[i].rcpt.refused = at_rcpt;
		r[i].rcpt.too_many = at_rcpt && a[i].code == 452 &&
		                     email_fanout_too_many(a[i].text);
	}
	for (size_t i = 0; i < n && o != EMAIL_SMTP_BROKEN_EARLY; i++)
		if (a[i].lost)
			rcpt_result(&r[i], CG_RETRY, NULL,
			            cg_asprintf("%s: connection lost after the "
			                        "message was sent (it may "
			                        "have been delivered)",
			                        s->where));
		else if (a[i].stage)
			result_from_reply(s, &r[i], a[i].stage, a[i].code,
			                  a[i].text, a[i].about_rcpt);
	email_smtp_answers_free(a, n);
	free(addrs);
	return o;
}

/* An attempt to connect failed: the outage (and its one log line)
 * begins, or the next attempt moves further out. */
static void
conn_failed(struct email_smtp *s, const char *why)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = cg_mono_ms();
	if (!s->down) {
		cg_error("%s: %s; outgoing mail waits in the outbox, the "
		         "sender threads try again in the background",
		         s->where, why);
		s->down_since = now;
		s->backoff_ms = BACKOFF_MIN_MS;
	}
	if (!s->down || now >= s->down_until) {
		s->down_until = now + s->backoff_ms;
		s->backoff_ms *= 2;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
	}
	char *full = cg_asprintf("%s: %s", s->where, why);
	if (!s->down || s->state_error == NULL ||
	    strcmp(s->state_error, full) != 0) {
		free(s->state_error);
		s->state_error = full;
		full = NULL;
		s->state_changed = 1;
	}
	free(full);
	s->down = 1;
	int changed = s->state_changed;
	pthread_mutex_unlock(&s->mu);
	if (changed)
		wake_loop(s);
}

/* Log "N connection(s) open" once, when every thread has tried its first
 * connection and at least one is open (called under mu). */
static void
announce_locked(struct email_smtp *s)
{
	if (s->announced || s->start_left > 0 || s->nconn == 0)
		return;
	s->announced = 1;
	cg_info("%s: %d connection(s) open, XVERP %s", s->where, s->nconn,
	        atomic_load(&s->xverp) == 1 ? "offered" : "not offered");
}

/* w's connection has just been opened: the server is up. */
static void
conn_opened(struct worker *w)
{
	struct email_smtp *s = w->s;
	int64_t now = cg_mono_ms();
	w->opened_ms = w->used_ms = w->checked_ms = now;
	w->xverp = email_smtp_client_xverp(w->conn);
	int before = atomic_exchange(&s->xverp, w->xverp);
	pthread_mutex_lock(&s->mu);
	s->nconn++;
	if (s->down) {
		cg_info("%s: reachable again after %lld s", s->where,
		        (long long)((now - s->down_since + 500) / 1000));
		s->down = 0;
		free(s->state_error);
		s->state_error = NULL;
		s->state_changed = 1;
	}
	s->backoff_ms = BACKOFF_MIN_MS;
	s->down_until = 0;
	if (s->announced && before != -1 && before != w->xverp)
		cg_info("%s: XVERP %s", s->where,
		        w->xverp ? "offered now" : "no longer offered");
	announce_locked(s);
	int changed = s->state_changed;
	pthread_cond_broadcast(&s->cv); /* threads waiting out the outage */
	pthread_mutex_unlock(&s->mu);
	if (changed)
		wake_loop(s);
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

/* Open w's connection (none open), unless the server is down and its
 * backoff has not passed: 0, or -1 with *why ("smtp H:P: ...", caller
 * frees). */
static int
conn_open(struct worker *w, char **why)
{
	struct email_smtp *s = w->s;
	char *raw = NULL;
	*why = NULL;
	if (server_paused(s, why))
		return -1;
	w->conn = email_smtp_client_open(s->cfg, set_fd, w, &raw);
	if (w->conn == NULL) {
		conn_failed(s, raw);
		*why = cg_asprintf("%s: %s", s->where, raw);
		free(raw);
		return -1;
	}
	conn_opened(w);
	return 0;
}

/* w's connection, opened when needed; 0, or -1 with r[0..n) answered. */
static int
conn_get(struct worker *w, struct rcpt *r, size_t n, int *fresh)
{
	char *why = NULL;
	*fresh = 0;
	if (w->conn)
		return 0;
	if (conn_open(w, &why) != 0) {
		rcpts_result(r, n, CG_RETRY, why);
		return -1;
	}
	*fresh = 1;
	return 0;
}

/* An idle thread's step with its connection (email_conn_next): look at
 * it, NOOP it, replace it, or open one. */
static void
conn_keep(struct worker *w, enum email_conn_step step)
{
	struct email_smtp *s = w->s;
	int64_t now = cg_mono_ms();
	char *why = NULL;
	if (step == EMAIL_CONN_WAIT)
		return;
	if (step == EMAIL_CONN_CHECK || step == EMAIL_CONN_NOOP) {
		int noop = step == EMAIL_CONN_NOOP;
		if (email_smtp_client_check(w->conn, noop) == 0) {
			w->checked_ms = now;
			if (noop)
				w->used_ms = now;
			return;
		}
		cg_debug("%s: the server closed a kept connection: opening "
		         "a new one",
		         s->where);
		conn_close(w, 0);
	} else if (step == EMAIL_CONN_RENEW) {
		conn_close(w, 1);
	}
	if (conn_open(w, &why) != 0)
		free(why);
}

/* What an idle thread does next (under mu). */
static enum email_conn_step
idle_step(struct worker *w, int64_t now, int64_t *next)
{
	struct email_conn_clock c = {
	    .open = w->conn != NULL,
	    .opened = w->opened_ms,
	    .used = w->used_ms,
	    .checked = w->checked_ms,
	    .down = w->s->down,
	    .down_until = w->s->down_until,
	};
	return email_conn_next(&c, now, next);
}

/* One transaction, tried once more on a new connection when a kept one
 * turns out stale before anything went out. */
static void
run_txn(struct worker *w, const struct mail *m, const char *sender, int xverp,
        struct rcpt *r, size_t n)
{
	struct email_smtp *s = w->s;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fresh;
		if (atomic_load(&s->force)) {
			rcpts_result(r, n, CG_RETRY,
			             cg_strdup("gateway stopping before the "
			                       "mail was sent"));
			return;
		}
		if (conn_get(w, r, n, &fresh) != 0)
			return;
		if (xverp && !w->xverp) {
			rcpts_result(r, n, CG_RETRY,
			             cg_asprintf("%s: the server stopped "
			                         "offering XVERP",
			                         s->where));
			return;
		}
		enum email_smtp_outcome o = send_txn(w, m, sender, xverp, r, n);
		if (o == EMAIL_SMTP_OK) {
			w->used_ms = w->checked_ms = cg_mono_ms();
			return;
		}
		conn_close(w, 0);
		if (o == EMAIL_SMTP_BROKEN)
			return;
		if (fresh || attempt == 1) {
			rcpts_result(r, n, CG_RETRY,
			             cg_asprintf("%s: connection lost before "
			                         "the message was sent",
			                         s->where));
			return;
		}
	}
}

/* ---- batched fan-out (fanout.h) ---------------------------------------- */

/* Recipients per transaction: a batch (plain bounce address) or an
 * XVERP one, never more than the server said it takes. */
static size_t
txn_limit(struct email_smtp *s, int xverp)
{
	size_t max = xverp ? EMAIL_XVERP_MAX
	             : s->cfg->max_recipients > 0
	                 ? (size_t)s->cfg->max_recipients
	                 : 100;
	int server = atomic_load(&s->server_limit);
	return server > 0 && (size_t)server < max ? (size_t)server : max;
}

/* The server took `took` recipients and refused the next as too many:
 * that is its limit (logged once; a limit is only ever lowered). */
static void
limit_lower(struct email_smtp *s, size_t took)
{
	int cur = atomic_load(&s->server_limit);
	while (cur == 0 || (size_t)cur > took)
		if (atomic_compare_exchange_weak(&s->server_limit, &cur,
		                                 (int)took)) {
			cg_info("%s: server takes %zu recipients per "
			        "transaction: batches lowered to that",
			        s->where, took);
			return;
		}
}

/* A job as transactions of up to txn_limit() recipients with the shared
 * bounce address (XVERP=-= when xverp).  When the server answers 452 too
 * many, the limit is lowered to what it took and the refused ones go in
 * the next transactions: every recipient is answered once. */
static void
deliver_batched(struct worker *w, struct job *j, int xverp)
{
	struct email_smtp *s = w->s;
	char *sender =
	    email_xverp_sender(s->verp_key, j->mail->list_addr, cg_now());
	for (size_t off = 0; off < j->n;) {
		size_t max = txn_limit(s, xverp);
		size_t k = j->n - off < max ? j->n - off : max;
		struct rcpt *r = j->r + off;
		for (size_t i = 0; i < k; i++)
			r[i].rcpt = (struct email_fanout_answer){0};
		run_txn(w, j->mail, sender, xverp, r, k);
		struct email_fanout_answer *a = cg_calloc(k, sizeof *a);
		for (size_t i = 0; i < k; i++)
			a[i] = r[i].rcpt;
		size_t next;
		size_t took = email_fanout_took(a, k, &next);
		free(a);
		if (next < k && took > 0)
			limit_lower(s, took);
		/* The refused ones again, unless nothing went through (they
		 * keep their 452: the outbox retries them later). */
		off += next > 0 ? next : k;
	}
	free(sender);
}

/* A job: one XVERP transaction for all its recipients when the server
 * offers it and each can be named that way, else one per recipient. */
static void
deliver_job(struct worker *w, struct job *j)
{
	const struct mail *m = j->mail;
	int fresh;
	if (conn_get(w, j->r, j->n, &fresh) != 0)
		return;
	int named = 1;
	for (size_t i = 0; i < j->n && named; i++)
		named = j->r[i].readable;
	if (email_fanout_batched(w->s->cfg->verp, w->xverp, named,
	                         m->list_addr != NULL, j->n)) {
		deliver_batched(w, j, 0);
		return;
	}
	if (m->list_addr != NULL && j->n > 1 && w->xverp && named) {
		deliver_batched(w, j, 1);
		return;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct rcpt *r = &j->r[i];
		char *sender =
		    m->list_addr
		        ? email_verp_sender(w->s->verp_key, m->list_addr,
		                            r->addr, cg_now())
		        : cg_strdup(""); /* a notice: <> */
		if (sender == NULL) {
			rcpt_result(
			    r, CG_FAILED, NULL,
			    cg_asprintf("not a mail address: %s", r->addr));
			continue;
		}
		run_txn(w, m, sender, 0, r, 1);
		free(sender);
	}
}

static void
post(struct email_smtp *s, struct job *j)
{
	pthread_mutex_lock(&s->mu);
	int wake = s->done.n == 0; /* else the loop has a wake-up coming */
	q_push(&s->done, j);
	pthread_mutex_unlock(&s->mu);
	if (wake)
		wake_loop(s);
}

/* The thread's first connection, opened when the daemon starts. */
static void
start_done(struct worker *w)
{
	struct email_smtp *s = w->s;
	conn_keep(w, EMAIL_CONN_OPEN);
	pthread_mutex_lock(&s->mu);
	s->start_left--;
	announce_locked(s);
	pthread_mutex_unlock(&s->mu);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct email_smtp *s = w->s;
	struct job *batch[WORKER_TAKE];
	start_done(w);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (atomic_load(&s->force))
			break;
		if (s->queue.n == 0) {
			if (s->stopping)
				break;
			int64_t now = cg_mono_ms(), next;
			enum email_conn_step step = idle_step(w, now, &next);
			if (step == EMAIL_CONN_WAIT) {
				struct timespec ts = deadline_in(next - now);
				pthread_cond_timedwait(&s->cv, &s->mu, &ts);
			} else {
				pthread_mutex_unlock(&s->mu);
				conn_keep(w, step);
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
	atomic_init(&s->xverp, -1);
	atomic_init(&s->server_limit, 0);
	cg_box_mac_key(gw->box, s->verp_key);
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
	s->announced = 0;
	s->start_left = SMTP_WORKERS; /* before any thread runs */
	atomic_store(&s->force, 0);
	for (int i = 0; i < SMTP_WORKERS; i++) {
		struct worker *w = &s->w[i];
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			cg_error("%s: cannot start worker thread %d", s->where,
			         i);
			pthread_mutex_lock(&s->mu);
			s->start_left--;
			announce_locked(s);
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		w->running = 1;
	}
	s->started = 1;
	cg_debug("%s: %d sender thread(s) started, opening their connections",
	         s->where, SMTP_WORKERS);
	return 0;
}

int
email_smtp_fd(const struct email_smtp *s)
{
	return s->started ? s->pipe[0] : -1;
}

/* A 5xx about r's address at send time: one permanent bounce event
 * (bounce.c), with the server's reply as the reason. */
static void
count_bounce(struct email_smtp *s, const struct rcpt *r)
{
	char *reason = cg_strdup(r->error ? r->error : "refused (5xx)");
	if (strlen(reason) > 200)
		memcpy(reason + 197, "...", 4);
	email_bounce_at_send(s->gw, r->addr, 1, reason);
	free(reason);
}

/* The rows of the finished jobs, recorded in one store transaction;
 * then the bounces (each opens its own), once per recipient. */
static void
record_done(struct email_smtp *s, struct jobq *done)
{
	size_t n = 0, k = 0;
	for (struct job *j = done->head; j; j = j->next)
		for (size_t i = 0; i < j->n; i++)
			n += j->r[i].nrows;
	struct cg_outbox_item *it = cg_calloc(n ? n : 1, sizeof *it);
	for (struct job *j = done->head; j; j = j->next)
		for (size_t i = 0; i < j->n; i++)
			for (size_t x = 0; x < j->r[i].nrows; x++)
				it[k++] = (struct cg_outbox_item){
				    .row = &j->r[i].rows[x],
				    .status = j->r[i].status,
				    .far_id = cg_strdup(j->r[i].far_id),
				    .error = cg_strdup(j->r[i].error),
				};
	cg_outbox_complete_many(s->gw, it, n); /* takes far_id, error */
	for (size_t i = 0; i < n; i++) {
		free(it[i].far_id);
		free(it[i].error);
	}
	free(it);
	struct job *j;
	while ((j = q_pop(done)) != NULL) {
		for (size_t i = 0; i < j->n; i++)
			if (j->r[i].bounced && j->r[i].status == CG_FAILED)
				count_bounce(s, &j->r[i]);
		job_free(j);
	}
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
	if (changed && err == NULL)
		s->gw->outbox_kick = 1; /* reachable again: rows may go */
	free(err);
	record_done(s, &done);
	/* Nothing queued: no batch shares a composed mail any more. */
	if (idle)
		email_out_cache_clear(s);
}

int
email_smtp_ready(struct email_smtp *s)
{
	if (!s->started)
		return 0;
	pthread_mutex_lock(&s->mu);
	int ok = !s->stopping && s->queue.rows < QUEUE_MAX && !s->down;
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

/* What deliver() decided for one item. */
struct plan {
	struct mail *mail; /* a reference, or NULL */
	int64_t thread;    /* a chat line: its thread, else 0 */
	int64_t msg;       /* a chat line: its message */
	int64_t last_ms;   /* a chat line: mailed by then at the latest
	                      (received + the channel's chat_batch_max) */
	int skip;          /* left pending: the room is not quiet yet */
	int used;          /* in a job, or answered */
};

/* When chat line m is mailed at the latest, however busy the room: its
 * channel's chat_batch_max after it came (a channel no longer configured:
 * now, and the mail says why it cannot go). */
static int64_t
chat_last_ms(struct email_smtp *s, const struct cg_stored_msg *m)
{
	char *chname = cg_store_channel_name(s->gw->store, m->channel_id);
	const struct cg_cfg_channel *ch =
	    chname ? cg_config_channel(s->gw->cfg, chname) : NULL;
	free(chname);
	return ch ? (m->received + ch->chat_batch_max) * 1000 : 0;
}

/* Item i of a batch as a chat line (its thread) or a mail of its own. */
static void
plan_item(struct email_smtp *s, struct cg_outbox_item *d, size_t i,
          struct plan *p)
{
	const struct cg_outbox_row *row = d[i].row;
	enum cg_delivery_status fail;
	char *err = NULL;
	if (row->notice_id == 0 && i > 0 && p[i - 1].thread &&
	    d[i - 1].row->message_id == row->message_id) {
		p[i].thread = p[i - 1].thread; /* rows of one line, together */
		p[i].msg = p[i - 1].msg;
		p[i].last_ms = p[i - 1].last_ms;
		return;
	}
	if (row->notice_id == 0) {
		struct cg_stored_msg m;
		if (cg_store_message_get(s->gw->store, row->message_id, &m) !=
		    0) {
			d[i].status = CG_RETRY;
			d[i].error = cg_asprintf("message %lld: cannot load it "
			                         "from the store",
			                         (long long)row->message_id);
			p[i].used = 1;
			return;
		}
		int chat = m.network && strcmp(m.network, "xmpp") == 0;
		if (chat) {
			p[i].thread = m.thread_id;
			p[i].msg = m.id;
			p[i].last_ms = chat_last_ms(s, &m);
		}
		cg_stored_msg_free(&m);
		if (chat)
			return;
	}
	p[i].mail = email_out_mail_get(s, row, &fail, &err);
	if (p[i].mail == NULL) {
		d[i].status = fail;
		d[i].error = err;
		p[i].used = 1;
	}
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * The chat lines of item i's thread for its destination in this batch:
 * left pending (pushed to the later line's due time) while a later line of
 * the thread still waits, else one batch mail for all of them.  A room
 * that is never quiet would push them forever: once the oldest of them has
 * waited its chat_batch_max they go as they are, and the later lines make
 * the next batch.
 */
static void
plan_chat(struct email_smtp *s, struct cg_outbox_item *d, size_t n, size_t i,
          struct plan *p, int64_t now_ms)
{
	const char *dest = d[i].row->destination;
	size_t *idx = cg_calloc(n - i, sizeof *idx);
	int64_t *ids = cg_calloc(n - i, sizeof *ids);
	struct email_chat_row *v = cg_calloc(n, sizeof *v);
	for (size_t j = i; j < n; j++)
		v[j] = (struct email_chat_row){
		    .thread = p[j].thread,
		    .msg = p[j].msg,
		    .dest = d[j].row->destination,
		    .taken = p[j].used || p[j].skip || p[j].thread == 0,
		};
	size_t nids;
	size_t k =
	    email_smtp_plan_chat(v, n, i, BATCH_MAX_LINES, idx, ids, &nids);
	free(v);
	int64_t last = INT64_MAX;
	for (size_t x = 0; x < k; x++)
		if (p[idx[x]].last_ms < last)
			last = p[idx[x]].last_ms;
	struct cg_store *st = s->gw->store;
	int64_t later;
	int quiet = cg_store_email_chat_pending_after(st, p[i].thread, dest,
	                                              now_ms, &later);
	if (quiet > 0 && now_ms >= last)
		quiet =
		    0; /* waited chat_batch_max: the room will not be quiet */
	if (quiet != 0) { /* a later line, or a store error: not now */
		if (quiet > 0)
			cg_store_email_chat_defer(st, p[i].thread, dest,
			                          later < last ? later : last);
		for (size_t x = 0; x < k; x++)
			p[idx[x]].skip = 1;
		goto out;
	}
	enum cg_delivery_status fail;
	char *err = NULL;
	struct mail *m = email_out_mail_get_batch(s, ids, nids, &fail, &err);
	for (size_t x = 0; x < k; x++) {
		size_t j = idx[x];
		int in =
		    bsearch(&p[j].msg, ids, nids, sizeof *ids, cmp_id) != NULL;
		if (!in) /* over BATCH_MAX_LINES: the next batch */
			p[j].skip = 1;
		else if (m == NULL) {
			d[j].status = fail;
			d[j].error = cg_strdup(err);
			p[j].used = 1;
		} else {
			p[j].mail = m;
			m->refs++;
		}
	}
	email_out_mail_unref(m);
	free(err);
out:
	free(idx);
	free(ids);
}

static struct rcpt *
rcpt_find(struct rcpt *r, size_t n, const char *dest)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(r[i].rows[0].destination, dest) == 0)
			return &r[i];
	return NULL;
}

static struct job *
job_new(struct mail *m)
{
	struct job *j = cg_calloc(1, sizeof *j);
	j->mail = m;
	m->refs++;
	return j;
}

/* Jobs for the items sharing item i's mail. */
static void
plan_jobs(struct email_smtp *s, struct cg_outbox_item *d, size_t n, size_t i,
          struct plan *p, struct jobq *add)
{
	struct mail *m = p[i].mail;
	int batch = m->key[0] == 'b';
	struct rcpt *r = cg_calloc(n - i, sizeof *r);
	size_t nr = 0;
	for (size_t j = i; j < n; j++) {
		if (p[j].used || p[j].skip || p[j].mail != m)
			continue;
		p[j].used = 1;
		d[j].status = CG_INFLIGHT;
		const struct cg_outbox_row *row = d[j].row;
		struct rcpt *x =
		    batch ? rcpt_find(r, nr, row->destination) : NULL;
		if (x == NULL) {
			x = &r[nr++];
			x->addr = m->list_addr
			              ? email_xverp_rcpt(row->destination)
			              : NULL;
			x->readable = x->addr != NULL;
			if (x->addr == NULL)
				x->addr = cg_strdup(row->destination);
			x->status = CG_RETRY;
		}
		x->rows = cg_realloc(x->rows, (x->nrows + 1) * sizeof *x->rows);
		row_copy(&x->rows[x->nrows++], row);
	}
	int *readable = cg_calloc(nr ? nr : 1, sizeof *readable);
	size_t *job_of = cg_calloc(nr ? nr : 1, sizeof *job_of);
	for (size_t k = 0; k < nr; k++)
		readable[k] = r[k].readable;
	size_t njobs =
	    email_fanout_planned(s->cfg->verp, atomic_load(&s->xverp),
	                         m->list_addr != NULL)
	        ? email_fanout_plan(nr, txn_limit(s, 0), SMTP_WORKERS, job_of)
	        : email_smtp_plan_chunks(readable, nr,
	                                 atomic_load(&s->xverp) != 0,
	                                 SMTP_WORKERS, job_of);
	struct job **jobs = cg_calloc(njobs ? njobs : 1, sizeof *jobs);
	for (size_t k = 0; k < nr; k++) {
		struct job *j = jobs[job_of[k]];
		if (j == NULL)
			j = jobs[job_of[k]] = job_new(m);
		j->r = cg_realloc(j->r, (j->n + 1) * sizeof *j->r);
		j->r[j->n++] = r[k];
	}
	for (size_t x = 0; x < njobs; x++)
		q_push(add, jobs[x]);
	free(jobs);
	free(job_of);
	free(readable);
	free(r);
}

size_t
email_smtp_deliver(struct email_smtp *s, struct cg_outbox_item *d, size_t n)
{
	struct plan *p = cg_calloc(n ? n : 1, sizeof *p);
	struct jobq add = {0};
	int64_t now_ms = cg_now_ms();
	for (size_t i = 0; i < n; i++)
		plan_item(s, d, i, p);
	for (size_t i = 0; i < n; i++)
		if (p[i].thread && !p[i].used && !p[i].skip && !p[i].mail)
			plan_chat(s, d, n, i, p, now_ms);
	for (size_t i = 0; i < n; i++)
		if (p[i].mail && !p[i].used && !p[i].skip)
			plan_jobs(s, d, n, i, p, &add);
	for (size_t i = 0; i < n; i++)
		email_out_mail_unref(p[i].mail);
	/* Rows left pending go last: the outbox records the first `took`
	 * items only (bridge.h) and leaves the rest untouched. */
	size_t took = 0;
	for (size_t i = 0; i < n; i++)
		if (!p[i].skip) {
			struct cg_outbox_item t = d[took];
			d[took++] = d[i];
			d[i] = t;
		}
	free(p);
	pthread_mutex_lock(&s->mu);
	q_append(&s->queue, &add);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return took;
}

/* Nothing to wait for: a thread that reaches the server again after an
 * outage wakes the loop through the pipe (email_smtp_drain). */
int64_t
email_smtp_tick(struct email_smtp *s, int64_t now)
{
	(void)s;
	(void)now;
	return 0;
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
		rcpts_result(j->r, j->n, CG_RETRY,
		             cg_strdup("gateway stopping before the mail "
		                       "was sent"));
		q_push(&s->done, j);
	}
	pthread_mutex_unlock(&s->mu);
	email_smtp_drain(s);
	email_out_cache_clear(s);
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
	email_out_cache_clear(s);
	free(s->state_error);
	free(s->where);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	cg_box_wipe(s->verp_key, sizeof s->verp_key);
	free(s);
}
