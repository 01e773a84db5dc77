/*
 * imap_in.c: mail arriving at the gateway's mailbox, over one IMAP
 * connection (libetpan).
 *
 * Threading: everything here runs in the loop thread.  libetpan blocks, so
 * every call is bounded by a network timeout (IMAP_TIMEOUT_S, set on the
 * session and as mailstream_network_delay): a hung server stalls the loop
 * for at most that long before the connection is dropped and retried.
 * Waiting for new mail does not block: in IDLE the loop polls the socket
 * (email_imap_fds) and calls back here when it is readable.
 *
 * Flow: connect (implicit TLS / STARTTLS / none), verify the certificate
 * chain and host name (tlsverify.c: libetpan checks nothing), LOGIN,
 * SELECT, then fetch every UID above the watermark in UID order, at most
 * IMAP_CHUNK (or IMAP_TURN_MS) per loop turn so signals and the outbox
 * are served in between.  RFC822.SIZE first: over
 * imap.max_message_size only the header is fetched and the
 * message is answered with a notice (request.c, autoreply.c).  Each
 * message goes through mail_in.c, the step LMTP delivery shares: parsed
 * (mime.c), trimmed (trim.c), routed by its own envelope recipient
 * (request.c: +request, +bounce-, unknown addresses are handled there)
 * and list posts handed to
 * cg_gateway_ingest() with a callback that writes the watermark
 * (UIDVALIDITY + last UID) in the same transaction.  Only after that
 * commit is the UID marked processed on the server (\Seen, or moved to
 * imap.processed_mailbox); a third key, the last UID marked, lets a
 * restart mark what a crash left unmarked.  \Seen is never read: a person
 * may read the gateway's mailbox.  A changed UIDVALIDITY re-scans from UID
 * 1; Message-ID dedup in the pipeline keeps that from relaying twice.
 *
 * Poison mail: each try of a UID is counted in the store (imap_try)
 * before the mail is read, and forgotten when the watermark passes it; a
 * mail whose handling crashed the daemon or failed IMAP_MAX_TRIES times
 * is set aside: marked processed without being relayed, with a warning
 * naming its UID and Message-ID.  Mail nested past libetpan's safe depth
 * never gets that far: mime.c reads it as headers only (CG_MSG_UNPARSED).
 *
 * Errors: any IMAP error (including PARSE/STREAM and timeouts) drops the
 * connection and reconnects with exponential backoff (1 s .. 5 min),
 * reporting the state with cg_gateway_bridge_state().  A store error
 * (CG_INGEST_ERROR) leaves the UID unmarked and the watermark unmoved and
 * retries the fetch after STORE_RETRY_MS.
 *
 * Must never: send the password anywhere but in LOGIN over the configured
 * transport, log it, talk to a server whose certificate failed the check,
 * mark a UID processed before its message is committed, or skip a UID
 * that was not processed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "bridges/email/imap_in.h"
#include "bridges/email/mail_in.h"
#include "bridges/email/tlsverify.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/store.h"

#define IMAP_TIMEOUT_S 30
#define IMAP_CHUNK 20                  /* messages per loop turn, */
#define IMAP_TURN_MS 200               /* or this long, whichever first */
#define IDLE_RENEW_MS (28 * 60 * 1000) /* RFC 2177: re-IDLE < 29 min */
#define POLL_MS 30000                  /* servers without IDLE */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define STORE_RETRY_MS 10000
#define STOP_TIMEOUT_S 5
#define IMAP_MAX_TRIES 3 /* then a mail is set aside (marked processed) */
#define MSGID_LOG_MAX 200

enum imap_state {
	ST_DOWN, /* not connected; connect at next_connect */
	ST_BUSY, /* selected, fetching (or waiting for retry_at) */
	ST_IDLE, /* in IDLE: the loop polls the socket */
	ST_POLL, /* selected, no IDLE: fetch again at next_poll */
};

struct todo {
	uint32_t uid;
	uint32_t size;
};

struct email_imap {
	struct cg_gateway *gw;
	const struct cg_cfg_imap *cfg;
	email_imap_hook *between;
	void *between_arg;
	mailimap *imap;
	enum imap_state st;
	int64_t next_connect, backoff_ms, idle_since, next_poll, retry_at;
	int has_idle, has_move, has_uidplus;
	int need_list;
	uint32_t uidvalidity, last_uid, flagged_uid;
	struct todo *todo;
	size_t ntodo, itodo;
	char *k_validity, *k_last, *k_flagged; /* kv keys */
	char *where;                           /* "imap HOST:PORT" */
};

/* ---- errors ----------------------------------------------------------- */

static const char *
imap_code_name(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		return "connection lost";
	case MAILIMAP_ERROR_PARSE:
		return "unparsable server response";
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		return "cannot connect";
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
		return "server refuses "
		       "connections";
	case MAILIMAP_ERROR_SSL:
		return "TLS handshake failed";
	case MAILIMAP_ERROR_STARTTLS:
		return "STARTTLS refused";
	case MAILIMAP_ERROR_LOGIN:
		return "login refused";
	case MAILIMAP_ERROR_SELECT:
		return "cannot select the mailbox";
	case MAILIMAP_ERROR_UID_FETCH:
		return "UID FETCH failed";
	case MAILIMAP_ERROR_UID_STORE:
		return "UID STORE failed";
	case MAILIMAP_ERROR_UID_MOVE:
		return "UID MOVE failed";
	case MAILIMAP_ERROR_UID_COPY:
		return "UID COPY failed";
	case MAILIMAP_ERROR_EXPUNGE:
		return "EXPUNGE failed";
	case MAILIMAP_ERROR_CAPABILITY:
		return "CAPABILITY failed";
	case MAILIMAP_ERROR_EXTENSION:
		return "IDLE failed";
	case MAILIMAP_ERROR_MEMORY:
		return "out of memory";
	default:
		return "IMAP error";
	}
}

/* "WHAT: reason[: server's text]"; the server's text only where it
 * answers the command (a broken stream leaves an older one behind). */
static char *
imap_err(struct email_imap *im, const char *what, int r)
{
	const char *srv = NULL;
	if (im->imap && im->imap->imap_response && r != MAILIMAP_ERROR_STREAM &&
	    r != MAILIMAP_ERROR_PARSE &&
	    r != MAILIMAP_ERROR_CONNECTION_REFUSED && r != MAILIMAP_ERROR_SSL &&
	    r != MAILIMAP_ERROR_MEMORY)
		srv = im->imap->imap_response;
	return cg_asprintf("%s: %s (%d)%s%s", what, imap_code_name(r), r,
	                   srv && *srv ? ": " : "", srv && *srv ? srv : "");
}

static int
imap_ok(int r)
{
	return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

static void
close_session(struct email_imap *im)
{
	if (im->imap) {
		mailimap_free(im->imap); /* closes the stream */
		im->imap = NULL;
	}
	free(im->todo);
	im->todo = NULL;
	im->ntodo = im->itodo = 0;
}

/* The connection is gone or unusable: report, close, retry later.
 * Takes why. */
static void
lost(struct email_imap *im, char *why, int cert)
{
	char *msg = cg_asprintf("%s: %s", im->where, why);
	free(why);
	if (cert)
		cg_error("%s; not proceeding, retrying in %lld s", msg,
		         (long long)(im->backoff_ms / 1000));
	else
		cg_warn("%s; reconnecting in %lld s", msg,
		        (long long)(im->backoff_ms / 1000));
	cg_gateway_bridge_state(im->gw, "email", 0, msg);
	free(msg);
	close_session(im);
	im->st = ST_DOWN;
	im->next_connect = cg_mono_ms() + im->backoff_ms;
	im->backoff_ms *= 2;
	if (im->backoff_ms > BACKOFF_MAX_MS)
		im->backoff_ms = BACKOFF_MAX_MS;
}

/* ---- watermark -------------------------------------------------------- */

struct mark {
	struct email_imap *im;
	uint32_t uid;
};

/* cg_ingest_extra_fn: runs inside the message's transaction. */
static int
write_mark(struct cg_gateway *gw, void *arg)
{
	const struct mark *mk = arg;
	if (cg_store_kv_set_int(gw->store, mk->im->k_validity,
	                        mk->im->uidvalidity) != 0 ||
	    cg_store_imap_tries_done(gw->store, mk->im->cfg->mailbox,
	                             mk->uid) != 0)
		return -1;
	return cg_store_kv_set_int(gw->store, mk->im->k_last, mk->uid);
}

/* Move the watermark past a UID that carries nothing to ingest. */
static int
advance_only(struct email_imap *im, uint32_t uid)
{
	struct mark mk = {im, uid};
	struct cg_store *s = im->gw->store;
	if (cg_store_begin(s) != 0)
		return -1;
	if (write_mark(im->gw, &mk) != 0 || cg_store_commit(s) != 0) {
		cg_store_rollback(s);
		return -1;
	}
	im->last_uid = uid;
	return 0;
}

static int
load_mark(struct email_imap *im)
{
	struct cg_store *s = im->gw->store;
	int64_t validity = 0, last = 0, flagged = 0;
	if (cg_store_kv_get_int(s, im->k_validity, &validity) != 0 ||
	    cg_store_kv_get_int(s, im->k_last, &last) != 0 ||
	    cg_store_kv_get_int(s, im->k_flagged, &flagged) != 0)
		return -1;
	if (validity != (int64_t)im->uidvalidity) {
		if (validity != 0)
			cg_warn("%s: mailbox %s: UIDVALIDITY changed (%lld -> "
			        "%u): re-scanning from UID 1 (mail already "
			        "stored is not relayed again)",
			        im->where, im->cfg->mailbox,
			        (long long)validity, im->uidvalidity);
		last = flagged = 0;
		if (cg_store_begin(s) != 0)
			return -1;
		if (cg_store_kv_set_int(s, im->k_validity, im->uidvalidity) ||
		    cg_store_kv_set_int(s, im->k_last, 0) ||
		    cg_store_kv_set_int(s, im->k_flagged, 0) ||
		    cg_store_commit(s)) {
			cg_store_rollback(s);
			return -1;
		}
	}
	im->last_uid = (uint32_t)last;
	im->flagged_uid = (uint32_t)(flagged < last ? flagged : last);
	return 0;
}

/* ---- IMAP commands ----------------------------------------------------- */

static int
add_flag(mailimap *imap, struct mailimap_set *set, int seen)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	mailimap_flag_list_add(fl, seen ? mailimap_flag_new_seen()
	                                : mailimap_flag_new_deleted());
	struct mailimap_store_att_flags *sa =
	    mailimap_store_att_flags_new_add_flags_silent(fl);
	int r = mailimap_uid_store(imap, set, sa);
	mailimap_store_att_flags_free(sa);
	return r;
}

/*
 * Mark every processed, not yet marked UID (flagged_uid+1 .. last_uid):
 * \Seen, or moved to processed_mailbox.  Returns 0, or the IMAP error with
 * *why set.
 */
static int
mark_processed(struct email_imap *im, char **why)
{
	if (im->flagged_uid >= im->last_uid)
		return 0;
	const char *dest = im->cfg->processed_mailbox;
	struct mailimap_set *set =
	    mailimap_set_new_interval(im->flagged_uid + 1, im->last_uid);
	int r;
	const char *what;
	if (dest && im->has_move) {
		what = "UID MOVE";
		r = mailimap_uid_move(im->imap, set, dest);
	} else if (dest) {
		what = "UID COPY";
		r = mailimap_uid_copy(im->imap, set, dest);
		if (r == MAILIMAP_NO_ERROR) {
			what = "UID STORE \\Deleted";
			r = add_flag(im->imap, set, 0);
		}
		if (r == MAILIMAP_NO_ERROR) {
			what = "EXPUNGE";
			r = im->has_uidplus
			        ? mailimap_uid_expunge(im->imap, set)
			        : mailimap_expunge(im->imap);
		}
	} else {
		what = "UID STORE \\Seen";
		r = add_flag(im->imap, set, 1);
	}
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_err(im, what, r);
		return r;
	}
	im->flagged_uid = im->last_uid;
	if (cg_store_kv_set_int(im->gw->store, im->k_flagged, im->flagged_uid))
		cg_warn("%s: cannot record the last marked UID %u (they are "
		        "marked again after a restart)",
		        im->where, im->flagged_uid);
	return 0;
}

static int
todo_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct todo *)a)->uid;
	uint32_t y = ((const struct todo *)b)->uid;
	return x < y ? -1 : x > y;
}

static void
att_uid_size(struct mailimap_msg_att *ma, uint32_t *uid, uint32_t *size,
             const char **body, size_t *blen)
{
	for (clistiter *it = clist_begin(ma->att_list); it;
	     it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = item->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE && size)
			*size = st->att_data.att_rfc822_size;
		else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
		         body && st->att_data.att_body_section->sec_body_part) {
			*body = st->att_data.att_body_section->sec_body_part;
			*blen = st->att_data.att_body_section->sec_length;
		}
	}
}

/* The UIDs above the watermark with their sizes, in UID order. */
static int
list_new(struct email_imap *im, char **why)
{
	free(im->todo);
	im->todo = NULL;
	im->ntodo = im->itodo = 0;
	/* N:* also answers with the newest message when its UID < N. */
	struct mailimap_set *set =
	    mailimap_set_new_interval(im->last_uid + 1, 0);
	struct mailimap_fetch_type *ft =
	    mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(
	    ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(
	    ft, mailimap_fetch_att_new_rfc822_size());
	clist *res = NULL;
	int r = mailimap_uid_fetch(im->imap, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_err(im, "UID FETCH (list)", r);
		return r;
	}
	size_t cap = 0;
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		uint32_t uid = 0, size = 0;
		att_uid_size(clist_content(it), &uid, &size, NULL, NULL);
		if (uid <= im->last_uid)
			continue;
		if (im->ntodo == cap) {
			cap = cap ? cap * 2 : 64;
			im->todo = cg_realloc(im->todo, cap * sizeof *im->todo);
		}
		im->todo[im->ntodo].uid = uid;
		im->todo[im->ntodo].size = size;
		im->ntodo++;
	}
	mailimap_fetch_list_free(res);
	if (im->ntodo > 1)
		qsort(im->todo, im->ntodo, sizeof *im->todo, todo_cmp);
	return 0;
}

/* The message (or only its header) of uid; *raw NULL when it is gone. */
static int
fetch_raw(struct email_imap *im, uint32_t uid, int header_only, char **raw,
          size_t *len, char **why)
{
	*raw = NULL;
	*len = 0;
	struct mailimap_section *sec = header_only
	                                   ? mailimap_section_new_header()
	                                   : mailimap_section_new(NULL);
	struct mailimap_fetch_type *ft =
	    mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(
	    ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(
	    ft, mailimap_fetch_att_new_body_peek_section(sec));
	struct mailimap_set *set = mailimap_set_new_single(uid);
	clist *res = NULL;
	int r = mailimap_uid_fetch(im->imap, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_err(im, "UID FETCH", r);
		return r;
	}
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		uint32_t u = 0;
		const char *body = NULL;
		size_t blen = 0;
		att_uid_size(clist_content(it), &u, NULL, &body, &blen);
		if (u == uid && body) {
			*raw = cg_malloc(blen + 1);
			memcpy(*raw, body, blen);
			(*raw)[blen] = '\0';
			*len = blen;
			break;
		}
	}
	mailimap_fetch_list_free(res);
	return 0;
}

/* ---- one message ------------------------------------------------------- */

/* 0: processed (watermark moved); -1: store error, nothing moved. */
static int
ingest_one(struct email_imap *im, const struct todo *t, const char *raw,
           size_t len, int oversize)
{
	char *where = cg_asprintf("%s: mailbox %s: UID %u", im->where,
	                          im->cfg->mailbox, t->uid);
	struct email_copy c = {raw, len, NULL, t->size, oversize, where};
	struct mark mk = {im, t->uid};
	enum email_take_result r = email_take(im->gw, &c, write_mark, &mk);
	free(where);
	if (r == EMAIL_UNREADABLE)
		return advance_only(im, t->uid);
	if (r == EMAIL_TAKE_ERROR)
		return -1;
	im->last_uid = t->uid;
	return 0;
}

/* The Message-ID of raw's header block for a log line, printable ASCII
 * only, "" when none (caller frees).  One pass, no MIME parsing. */
static char *
raw_message_id(const char *raw, size_t len)
{
	for (size_t pos = 0; pos < len;) {
		const char *s = raw + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + 1;
		if (n == 0 || (n == 1 && s[0] == '\r'))
			break; /* end of the header block */
		if (n < 11 || strncasecmp(s, "Message-ID:", 11) != 0)
			continue;
		struct cg_buf b = CG_BUF_INIT;
		for (size_t i = 11; i < n && b.len < MSGID_LOG_MAX; i++)
			if (s[i] > ' ' && s[i] < 127 && s[i] != '<' &&
			    s[i] != '>')
				cg_buf_putc(&b, s[i]);
		return b.len ? cg_buf_steal(&b) : cg_strdup("");
	}
	return cg_strdup("");
}

/* A mail that failed (or crashed the daemon) IMAP_MAX_TRIES times: move
 * past it so it does not block the mailbox, and say which it was. */
static int
set_aside(struct email_imap *im, const struct todo *t, const char *raw,
          size_t len)
{
	char *id = raw_message_id(raw, len);
	cg_warn("%s: mailbox %s: UID %u <%s>: not handled after %d tries: "
	        "set aside (marked processed, not relayed)",
	        im->where, im->cfg->mailbox, t->uid, id, IMAP_MAX_TRIES);
	free(id);
	return advance_only(im, t->uid);
}

/* Count this try of t in the store first (it survives a crash), then
 * ingest it, or set it aside when it had its tries. */
static int
try_one(struct email_imap *im, const struct todo *t, const char *raw,
        size_t len, int oversize)
{
	int64_t tries = cg_store_imap_try(im->gw->store, im->cfg->mailbox,
	                                  im->uidvalidity, t->uid);
	if (tries < 0)
		return -1;
	if (tries > IMAP_MAX_TRIES)
		return set_aside(im, t, raw, len);
	return ingest_one(im, t, raw, len, oversize);
}

/*
 * Fetch and ingest up to IMAP_CHUNK listed messages, for at most about
 * IMAP_TURN_MS (at least one message).  0: done with the chunk; 1: store
 * error (stop, retry later); -1: an IMAP error, *why set.
 */
static int
process_chunk(struct email_imap *im, char **why)
{
	size_t end = im->itodo + IMAP_CHUNK;
	if (end > im->ntodo)
		end = im->ntodo;
	/* Back to the loop soon: signals and the outbox wait meanwhile. */
	int64_t budget_end = cg_mono_ms() + IMAP_TURN_MS;
	for (; im->itodo < end && cg_mono_ms() < budget_end; im->itodo++) {
		const struct todo *t = &im->todo[im->itodo];
		if (t->uid <= im->last_uid)
			continue;
		int64_t max = im->cfg->max_message_size;
		int oversize = max > 0 && (int64_t)t->size > max;
		char *raw;
		size_t len;
		int r = fetch_raw(im, t->uid, oversize, &raw, &len, why);
		if (r != 0)
			return -1;
		int rc;
		if (raw == NULL) {
			cg_info("%s: mailbox %s: UID %u vanished before it was "
			        "fetched",
			        im->where, im->cfg->mailbox, t->uid);
			rc = advance_only(im, t->uid);
		} else
			rc = try_one(im, t, raw, len, oversize);
		free(raw);
		if (rc != 0)
			return 1;
		if (im->between)
			im->between(im->between_arg);
	}
	return 0;
}

/* ---- states ------------------------------------------------------------ */

static void
enter_idle(struct email_imap *im)
{
	int64_t now = cg_mono_ms();
	/* imap.poll_interval trades IDLE for a short poll: Dovecot batches
	 * IDLE notices for 500 ms, a poll every 100 ms sees mail sooner. */
	if (!im->has_idle || im->cfg->poll_interval > 0) {
		im->st = ST_POLL;
		im->next_poll =
		    now + (im->cfg->poll_interval > 0 ? im->cfg->poll_interval
		                                      : POLL_MS);
		return;
	}
	int r = mailimap_idle(im->imap);
	if (r != MAILIMAP_NO_ERROR) {
		lost(im, imap_err(im, "IDLE", r), 0);
		return;
	}
	im->st = ST_IDLE;
	im->idle_since = now;
}

/* One step of work while selected: list, or ingest a chunk, or IDLE. */
static void
work(struct email_imap *im)
{
	char *why = NULL;
	int r;
	if (im->need_list) {
		if ((r = list_new(im, &why)) != 0) {
			lost(im, why, 0);
			return;
		}
		im->need_list = 0;
		if (im->ntodo == 0) {
			enter_idle(im);
			return;
		}
	}
	r = process_chunk(im, &why);
	if (r < 0) {
		lost(im, why, 0);
		return;
	}
	if (r == 1) {
		cg_warn("%s: mailbox %s: store error; UID %u and later are "
		        "fetched again in %d s",
		        im->where, im->cfg->mailbox, im->last_uid + 1,
		        STORE_RETRY_MS / 1000);
		im->retry_at = cg_mono_ms() + STORE_RETRY_MS;
		im->need_list = 1;
	} else if (im->itodo >= im->ntodo)
		im->need_list = 1; /* anything that came meanwhile? */
	if ((r = mark_processed(im, &why)) != 0)
		lost(im, why, 0);
}

static void
connect_and_select(struct email_imap *im)
{
	const struct cg_cfg_imap *c = im->cfg;
	char *why = NULL;
	int r;
	im->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(im->imap, IMAP_TIMEOUT_S);
	if (c->tls == CG_TLS_IMPLICIT)
		r = mailimap_ssl_connect_with_callback(im->imap, c->host,
		                                       (uint16_t)c->port,
		                                       email_tls_sni, c->host);
	else
		r = mailimap_socket_connect(im->imap, c->host,
		                            (uint16_t)c->port);
	if (!imap_ok(r)) {
		lost(im, imap_err(im, "connect", r), 0);
		return;
	}
	if (c->tls == CG_TLS_STARTTLS) {
		r = mailimap_socket_starttls_with_callback(
		    im->imap, email_tls_sni, c->host);
		if (r != MAILIMAP_NO_ERROR) {
			lost(im, imap_err(im, "STARTTLS", r), 0);
			return;
		}
	}
	if (c->tls != CG_TLS_NONE &&
	    email_tls_verify(im->imap->imap_stream, c->ca_file, c->host,
	                     &why) != 0) {
		lost(im, why, 1);
		return;
	}
	r = mailimap_login(im->imap, c->user, c->password);
	if (r != MAILIMAP_NO_ERROR) {
		char *what = cg_asprintf("LOGIN as %s", c->user);
		lost(im, imap_err(im, what, r), 0);
		free(what);
		return;
	}
	/* After STARTTLS and LOGIN the capabilities may differ: ask again. */
	struct mailimap_capability_data *caps = NULL;
	r = mailimap_capability(im->imap, &caps);
	if (r != MAILIMAP_NO_ERROR) {
		lost(im, imap_err(im, "CAPABILITY", r), 0);
		return;
	}
	mailimap_capability_data_free(caps);
	im->has_idle = mailimap_has_idle(im->imap);
	im->has_move = mailimap_has_extension(im->imap, "MOVE");
	im->has_uidplus = mailimap_has_uidplus(im->imap);
	if (c->processed_mailbox) {
		/* Refused when it exists already: that is fine. */
		r = mailimap_create(im->imap, c->processed_mailbox);
		if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_ERROR_CREATE) {
			lost(im, imap_err(im, "CREATE", r), 0);
			return;
		}
	}
	r = mailimap_select(im->imap, c->mailbox);
	if (r != MAILIMAP_NO_ERROR || im->imap->imap_selection_info == NULL) {
		char *what = cg_asprintf("SELECT %s", c->mailbox);
		lost(im, imap_err(im, what, r ? r : MAILIMAP_ERROR_SELECT), 0);
		free(what);
		return;
	}
	im->uidvalidity = im->imap->imap_selection_info->sel_uidvalidity;
	if (load_mark(im) != 0) {
		lost(im, cg_strdup("store: cannot read the UID watermark"), 0);
		return;
	}
	char wait[64];
	if (c->poll_interval > 0)
		snprintf(wait, sizeof wait, "; polling every %d ms",
		         c->poll_interval);
	else
		snprintf(wait, sizeof wait, "%s",
		         im->has_idle ? "" : "; no IDLE: polling every 30 s");
	cg_info("%s: connected as %s%s, mailbox %s (UIDVALIDITY %u, last UID "
	        "%u)%s",
	        im->where, c->user, c->tls == CG_TLS_NONE ? " without TLS" : "",
	        c->mailbox, im->uidvalidity, im->last_uid, wait);
	cg_gateway_bridge_state(im->gw, "email", 1, NULL);
	im->backoff_ms = BACKOFF_MIN_MS;
	im->st = ST_BUSY;
	im->need_list = 1;
	im->retry_at = 0;
	/* Mark what a previous run processed but could not mark. */
	if ((r = mark_processed(im, &why)) != 0) {
		lost(im, why, 0);
		return;
	}
	work(im);
}

/* IDLE ended by data, by the renewal timer or by buffered input. */
static void
wake(struct email_imap *im)
{
	int r = mailimap_idle_done(im->imap);
	if (r != MAILIMAP_NO_ERROR) {
		lost(im, imap_err(im, "IDLE DONE", r), 0);
		return;
	}
	im->st = ST_BUSY;
	im->need_list = 1;
	work(im);
}

/* ---- the interface ----------------------------------------------------- */

struct email_imap *
email_imap_new(struct cg_gateway *gw, email_imap_hook *between, void *arg)
{
	struct email_imap *im = cg_calloc(1, sizeof *im);
	im->gw = gw;
	im->cfg = &gw->cfg->imap;
	im->between = between;
	im->between_arg = arg;
	im->st = ST_DOWN;
	im->next_connect = INT64_MAX;
	im->backoff_ms = BACKOFF_MIN_MS;
	im->k_validity = cg_asprintf("imap/%s/uidvalidity", im->cfg->mailbox);
	im->k_last = cg_asprintf("imap/%s/last_uid", im->cfg->mailbox);
	im->k_flagged = cg_asprintf("imap/%s/flagged_uid", im->cfg->mailbox);
	im->where = cg_asprintf("imap %s:%d", im->cfg->host, im->cfg->port);
	return im;
}

void
email_imap_start(struct email_imap *im)
{
	im->st = ST_DOWN;
	im->next_connect = 0;
}

static int
idle_fd(const struct email_imap *im)
{
	return im->st == ST_IDLE && im->imap ? mailimap_idle_get_fd(im->imap)
	                                     : -1;
}

int
email_imap_fds(struct email_imap *im, struct pollfd *pfds, int max)
{
	int fd = idle_fd(im);
	if (fd < 0 || max < 1)
		return 0;
	pfds[0].fd = fd;
	pfds[0].events = POLLIN;
	pfds[0].revents = 0;
	return 1;
}

int
email_imap_owns_fd(const struct email_imap *im, int fd)
{
	return fd >= 0 && fd == idle_fd(im);
}

void
email_imap_on_ready(struct email_imap *im, int fd, short revents)
{
	if (im->st == ST_IDLE && fd == idle_fd(im))
		wake(im);
}

int64_t
email_imap_tick(struct email_imap *im, int64_t now)
{
	enum imap_state before = im->st;
	switch (im->st) {
	case ST_DOWN:
		if (now >= im->next_connect)
			connect_and_select(im);
		break;
	case ST_BUSY:
		if (now >= im->retry_at)
			work(im);
		break;
	case ST_IDLE:
		/* Input libetpan already read does not make the fd readable. */
		if (im->imap->imap_stream->read_buffer_len > 0 ||
		    now - im->idle_since >= IDLE_RENEW_MS)
			wake(im);
		break;
	case ST_POLL:
		if (now >= im->next_poll) {
			/* NOOP first: a server reports new mail at the end of a
			 * command, so a bare UID FETCH would see it a poll
			 * late. */
			int r = mailimap_noop(im->imap);
			if (r != MAILIMAP_NO_ERROR) {
				lost(im, imap_err(im, "NOOP", r), 0);
				break;
			}
			im->st = ST_BUSY;
			im->need_list = 1;
			work(im);
		}
		break;
	}
	now = cg_mono_ms();
	/* A new state may bring a new fd: come back before polling long. */
	if (im->st != before)
		return now;
	switch (im->st) {
	case ST_DOWN:
		return im->next_connect == INT64_MAX ? 0 : im->next_connect;
	case ST_BUSY:
		return im->retry_at > now ? im->retry_at : now;
	case ST_IDLE:
		return im->idle_since + IDLE_RENEW_MS;
	case ST_POLL:
		return im->next_poll;
	}
	return 0;
}

int
email_imap_connected(const struct email_imap *im)
{
	return im->st != ST_DOWN;
}

void
email_imap_stop(struct email_imap *im)
{
	if (im->imap) {
		/* Leaving should not take the full network timeout. */
		mailstream_low *low = mailstream_get_low(im->imap->imap_stream);
		if (low)
			mailstream_low_set_timeout(low, STOP_TIMEOUT_S);
		int ok = 1;
		if (im->st == ST_IDLE)
			ok = mailimap_idle_done(im->imap) == MAILIMAP_NO_ERROR;
		char *why = NULL;
		if (ok && mark_processed(im, &why) != 0) {
			cg_warn("%s: %s (marked at the next start)", im->where,
			        why);
			free(why);
			ok = 0;
		}
		if (ok)
			mailimap_logout(im->imap);
		close_session(im);
		cg_info("%s: logged out", im->where);
		cg_gateway_bridge_state(im->gw, "email", 0, NULL);
	}
	im->st = ST_DOWN;
	im->next_connect = INT64_MAX;
}

void
email_imap_free(struct email_imap *im)
{
	if (im == NULL)
		return;
	close_session(im);
	free(im->k_validity);
	free(im->k_last);
	free(im->k_flagged);
	free(im->where);
	free(im);
}
