/*
 * smtp_int.h: private to the email bridge's outgoing side: the mail, job
 * and worker structures shared by smtp_out.c (queue, workers, planning)
 * and mail_out.c (composing the mails of due rows), and the calls between
 * them.  Threads: a struct mail is reference counted in the loop thread
 * only; workers read its data and never free it.
 */
#ifndef EMAIL_SMTP_INT_H
#define EMAIL_SMTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bridges/bridge.h"
#include "bridges/email/fanout.h"
#include "bridges/email/smtp_out.h"
#include "store/box.h"

#define SMTP_WORKERS 3
#define WORKER_TAKE 16 /* jobs a worker takes at once */
#define QUEUE_MAX 4096 /* deliver() pauses above this many rows */
#define STOP_GRACE_MS 5000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define CACHE_SLOTS 8
#define MAX_REFS 20 /* References: the root and the newest 19 */
#define BATCH_MAX_LINES 200

/* One composed mail, shared by the jobs of its recipients.  Reference
 * counted in the loop thread only (workers read data, never free it). */
struct mail {
	int refs;
	char *key;  /* "m:ID" message, "n:ID" notice, "b:ID,ID,..." batch */
	char *data; /* dot-stuffed, CRLF, ends with ".\r\n" */
	size_t len;
	char *list_addr; /* VERP base; NULL: envelope sender <> (a notice) */
};

/* One recipient of a job and the outbox rows it answers for. */
struct rcpt {
	char *addr;   /* RCPT TO (domain in lower case when readable) */
	int readable; /* XVERP names it as email_verp_sender() does */
	struct cg_outbox_row *rows; /* own copies (bridge.h: INFLIGHT) */
	size_t nrows;
	enum cg_delivery_status status;
	char *far_id, *error;
	int bounced; /* CG_FAILED by a 5xx about this recipient: counts
	                toward its bounce score (email_smtp_drain) */
	struct email_fanout_answer rcpt; /* its RCPT's answer (last try) */
};

/* One mail to some recipients, and later their results. */
struct job {
	struct job *next;
	struct mail *mail;
	struct rcpt *r;
	size_t n;
};

struct jobq {
	struct job *head, *tail;
	size_t n;    /* jobs */
	size_t rows; /* outbox rows in them */
};

struct worker {
	struct email_smtp *s;
	pthread_t th;
	int running;
	struct email_smtp_client *conn; /* NULL: not connected */
	int fd;    /* conn's socket or -1; written under s->mu (stop cuts it) */
	int xverp; /* conn's EHLO offered XVERP */
	/* conn's clock (monotonic ms, smtp_plan.h email_conn_next): opened,
	 * last carried a transaction or NOOP, last looked at. */
	int64_t opened_ms, used_ms, checked_ms;
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
	/* Whether the last connection's EHLO offered XVERP: -1 not known
	 * yet, 0 no, 1 yes (written by workers, read by deliver()). */
	atomic_int xverp;
	/* Recipients per transaction the server takes: 0 not known, else
	 * what it took when it answered 452 too many (fanout.h); a batch
	 * holds up to smtp.max_recipients, an XVERP one EMAIL_XVERP_MAX,
	 * neither more than this.  Only ever lowered, by the workers. */
	atomic_int server_limit;
	/* The key of the VERP tokens (cg_box_mac_key): set at creation,
	 * read by the workers. */
	unsigned char verp_key[CG_BOX_MAC_KEY_BYTES];
	/* Shared, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq queue, done;
	int stopping;
	int64_t down_until, backoff_ms;
	int down;           /* the last connection attempt failed */
	int64_t down_since; /* ... the first of this outage, at */
	int nconn;          /* connections open now */
	int start_left;     /* threads still opening their first connection */
	int announced;      /* "N connection(s) open" was logged */
	int state_changed;  /* down flipped: tell the loop thread */
	char *state_error;  /* why, while down */
	atomic_int force;   /* stop: give up on the rest now */
};

/* ---- mail_out.c (loop thread) ---- */

/* The mail of a due row (a stored message or a notice), from the cache
 * when composed already; NULL with *fail and *err (caller frees) when it
 * cannot be composed.  The caller holds one reference. */
struct mail *email_out_mail_get(struct email_smtp *s,
                                const struct cg_outbox_row *row,
                                enum cg_delivery_status *fail, char **err);
/* The chat batch of messages ids[0..n) (sorted) to one recipient. */
struct mail *email_out_mail_get_batch(struct email_smtp *s, const int64_t *ids,
                                      size_t n, enum cg_delivery_status *fail,
                                      char **err);
void email_out_mail_unref(struct mail *m);
/* Drop the cache's references (after a batch of rows is planned). */
void email_out_cache_clear(struct email_smtp *s);

#endif
