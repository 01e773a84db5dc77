/*
 * xmpp.h: private to bridges/xmpp/: the XMPP bridge's state, shared by its
 * files.  Nothing outside bridges/xmpp/ includes this header; the rest of
 * coopgate sees only cg_xmpp_bridge_new() (bridges/bridge.h).
 *
 *   client.c    the bridge ops, the libstrophe connection (TLS, SASL,
 *               reconnect with backoff), pumping libstrophe from the loop
 *   muc.c       rooms: join, nick conflicts, instant-room form, occupants,
 *               self-ping (XEP-0410)
 *   mam.c       catch-up from the room's archive (XEP-0313) after a join
 *   inbound.c   room messages -> cg_msg -> cg_gateway_ingest(); XEP-0308
 *               corrections -> cg_gateway_correct()
 *   commands.c  `!help`, `!who`, `!nominate`, `!confirm`, answered
 *               privately
 *   deliver.c   outbox rows -> room messages, in-flight rows, echoes;
 *               notice rows -> chat messages to a person
 *   upload.c    a mail's files -> XEP-0363 upload slots -> room links
 *   fetch.c     files linked in a room -> SchutzBox -> mail
 *   http.c      (http.h) libcurl on a worker thread for upload and fetch
 *   puppet.c    component mode: one occupant per email sender
 *   stanza.c    building and parsing stanzas, URLs, ids (no state)
 *
 * Event flow (all in the loop thread; the loop calls the cg_bridge_ops of
 * client.c, which pump libstrophe, whose handlers call the files below):
 *
 *   1. connect  client.c: TLS (verified) and SASL, or in component mode
 *               the warm-up and the XEP-0114 handshake.  When the session
 *               is up: handlers for <message> (xb_inbound_on_message),
 *               <presence> (xb_muc_on_presence) and <iq> requests (ping,
 *               disco#info), then xb_muc_join() for every room.  When it
 *               drops: every room is out (xb_muc_all_out), every in-flight
 *               row is retried (xb_deliver_retry_all), reconnect with
 *               backoff.
 *   2. join     muc.c: presence to ROOM/NICK without history (a partner's
 *               room: disco#info first); our own presence (status 110)
 *               makes the room XB_ROOM_JOINED; status 201 (we made it):
 *               the configuration form.  A self-ping every few minutes.
 *   3. catch-up mam.c: once joined, xb_mam_catch_up() asks the archive for
 *               what follows the room's watermark, a page at a time; each
 *               result goes through xb_inbound_archived(); the end of the
 *               last page marks the room caught up.
 *   4. inbound  inbound.c: every <message>: an archive result goes to
 *               mam.c; an error to deliver.c; a groupchat line of a
 *               joined room becomes a cg_msg for cg_gateway_ingest() (a
 *               correction: cg_gateway_correct()), a shared file link
 *               goes to fetch.c; our own echoes go to deliver.c.
 *   5. commands commands.c: a line or private message starting with `!`
 *               is never relayed: xb_commands_run() answers the asker
 *               privately.
 *   6. deliver  deliver.c: the outbox hands rows to xb_deliver() (the ops'
 *               deliver); files go up first (upload.c), then the room
 *               message (stanza.c) is sent and the row stays in flight
 *               until the room echoes it with its stanza-id
 *               (xb_deliver_on_echo) or XB_ECHO_TIMEOUT retries it.
 *
 * Trust: every iq and archive query carries an id of 128 random bits
 * (xb_new_id); an answer counts only from the JID it was asked of
 * (xb_answer_ok), an archive result only from the room's bare JID, a
 * message error for a row of ours only from the row's destination
 * (xb_deliver_on_error).
 *
 * Names: everything declared here and in http.h is the bridge's own and
 * starts with xb_ (functions, struct and enum tags) or XB_ (constants);
 * only the NS_* namespace strings do not.  An xmpp_ or XMPP_ name is
 * libstrophe's (strophe.h).
 *
 * Ownership: struct xb_bridge owns every string and array below; the
 * libstrophe context and connection are owned by it too and released only
 * by client.c.  All of it runs in the loop thread.
 */
#ifndef CG_XMPP_H
#define CG_XMPP_H

#include <stddef.h>
#include <stdint.h>

#include <strophe.h>

#include "bridges/bridge.h"
#include "store/store.h"

/* Namespaces used here. */
#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_OWNER "http://jabber.org/protocol/muc#owner"
#define NS_DATA "jabber:x:data"
#define NS_SID "urn:xmpp:sid:0"
#define NS_REPLY "urn:xmpp:reply:0"
#define NS_FALLBACK "urn:xmpp:fallback:0"
#define NS_FALLBACK_OLD "urn:xmpp:feature-fallback:0"
#define NS_DELAY "urn:xmpp:delay"
#define NS_PING "urn:xmpp:ping"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_OCCUPANT_ID "urn:xmpp:occupant-id:0"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_MAM "urn:xmpp:mam:2"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_CORRECT "urn:xmpp:message-correct:0"
#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define NS_OOB "jabber:x:oob"

/* Timings, in ms. */
#define XB_BACKOFF_MIN 1000
#define XB_BACKOFF_MAX (5 * 60 * 1000)
#define XB_ECHO_TIMEOUT 30000 /* room echo of a delivered row */
#define XB_JOIN_TIMEOUT 30000 /* self-presence after a join */
#define XB_JOIN_RETRY 30000   /* after a refused join */
#ifndef XB_PING_INTERVAL      /* -D for a build that tests silent drops */
#define XB_PING_INTERVAL (4 * 60 * 1000)
#define XB_PING_TIMEOUT 60000
#endif
#define XB_IDLE_TICK 1000 /* wake-up while connected and idle */
#define XB_MAX_INFLIGHT 64
#define XB_MAM_PAGE 50       /* lines per archive page (Prosody's max) */
#define XB_MAM_RETRY 30000   /* after a failed catch-up */
#define XB_MAM_TIMEOUT 60000 /* no answer to an archive query */
#ifndef XB_PUPPET_IDLE       /* -D for a build that tests the leave */
#define XB_PUPPET_IDLE (60 * 60 * 1000) /* a quiet puppet leaves */
#endif
/* Longest text (bytes) put into one room message: a stanza over the
 * server's size limit makes it close the stream, and the row would break
 * every reconnect until it dead-letters. */
#define XB_MAX_TEXT (16 * 1024)

struct xb_in;

struct xb_occupant {
	char *nick;
	char *jid;         /* real bare JID (lower case) or NULL */
	char *occupant_id; /* XEP-0421 or NULL */
};

enum xb_room_state {
	XB_ROOM_OUT,     /* not joined; join at retry_at */
	XB_ROOM_PROBING, /* a partner's room: disco#info sent (muc.c) */
	XB_ROOM_JOINING, /* presence sent, waiting for our own */
	XB_ROOM_JOINED,
};

struct xb_room {
	char *jid;      /* bare room JID, lower case */
	char *channel;  /* the channel's name */
	char *nick;     /* the nick we use (config nick, maybe suffixed) */
	int nick_tries; /* conflicts seen in this join */
	enum xb_room_state state;
	int live;          /* subject seen: the join history is over */
	int64_t retry_at;  /* mono ms: next join attempt (XB_ROOM_OUT) */
	int64_t join_sent; /* mono ms */
	char *error;       /* why the last join failed, or NULL */
	int foreign;       /* on a partner's server: never created by us */
	char *info_id;     /* its disco#info before a join, or NULL */
	int exists;        /* foreign: disco#info found it (until room_out) */
	int64_t ping_at;   /* mono ms: next self-ping */
	char *ping_id;     /* self-ping awaiting its answer, or NULL */
	char *cfg_id;      /* the last room configuration iq, or NULL */
	int64_t ping_sent;
	struct xb_occupant *occ;
	size_t nocc;
	/* MAM catch-up (mam.c) */
	char *mam_id;         /* running archive query (iq id = queryid) */
	int mam_seed;         /* it only asks for the newest id */
	int64_t mam_sent;     /* mono ms: when it was sent */
	char *mam_newest;     /* seed: the newest id seen */
	int mam_failed;       /* a line of this catch-up was not stored */
	size_t mam_lines;     /* lines stored by this catch-up */
	int caught_up;        /* the archive is read: live lines move the
	                         watermark */
	int64_t mam_retry_at; /* mono ms: next try after a failure (0: no) */
	/* component mode (puppet.c): the email senders in this room */
	struct xb_puppet *puppets;
	size_t npuppets;
};

enum xb_puppet_state { XB_PUPPET_OUT, XB_PUPPET_JOINING, XB_PUPPET_JOINED };

/* Component mode: an email sender as an occupant of one room. */
struct xb_puppet {
	char *address; /* email address (lower case): who this is */
	char *jid;     /* full JID: local%domain@component_domain/coopgate */
	char *name;    /* the nick wanted (display name) */
	char *nick;    /* the nick used (name, maybe suffixed) */
	int nick_tries;
	enum xb_puppet_state state;
	int64_t join_sent;   /* mono ms */
	int64_t last_active; /* mono ms: joined or spoke */
};

/* An outbox row handed to us as CG_INFLIGHT: our own copy (bridge.h). */
struct xb_pending {
	struct cg_outbox_row row;
	char *origin_id;
	int64_t deadline; /* mono ms: no echo by then -> retry */
	/* component mode: the message (and its file lines) wait for its
	 * puppet's join */
	xmpp_stanza_t **held;
	size_t nheld;
	char *puppet_jid;
	/* XEP-0363 (upload.c): the message's files go up before it is
	 * sent; then uploading is cleared and xb_deliver_send() runs */
	int uploading;
	int up_idx;      /* attachment in hand (-1: none yet) */
	char *slot_id;   /* the slot request's iq id, or NULL */
	char **up_notes; /* "NAME (SIZE) could not be shared here: WHY" */
	size_t nup_notes;
};

enum xb_conn_state { XB_DOWN, XB_CONNECTING, XB_ONLINE };

struct xb_bridge {
	struct cg_bridge base; /* base.impl == this */
	struct cg_gateway *gw;
	xmpp_ctx_t *ctx;
	xmpp_log_t log;    /* libstrophe's logger, userdata = this */
	xmpp_conn_t *conn; /* NULL while down */
	int fd;            /* the socket libstrophe uses, or -1 */
	enum xb_conn_state state;
	int64_t online_since; /* mono ms */
	int conn_dead;        /* conn disconnected: release at next pump */
	int64_t reconnect_at; /* mono ms */
	int64_t backoff_ms;
	char *fail_reason;    /* why this attempt failed (TLS, auth, ...) */
	char *lib_error;      /* libstrophe's last error line */
	uint64_t flush_timer; /* loop timer that flushes the send queue */
	int stopping;
	struct xb_room *rooms;
	size_t nrooms;
	struct xb_pending *pend;
	size_t npend;
	int component;  /* xmpp.mode = "component" (XEP-0114) */
	char *self_jid; /* component: the listener's full JID */
	int warmup;     /* component: the DESIGN.md warm-up runs */
	/* files (upload.c, fetch.c) */
	struct xb_http_client *http; /* libcurl worker, started on first use */
	char **upload_origins;       /* "https://host:port" of the upload
	                                service's GET URLs seen in slots */
	size_t norigins;
	char *probe_id;    /* the slot request that learns them */
	int64_t *fetching; /* message_id << 16 | idx being fetched */
	size_t nfetching;
};

/* client.c */
const struct cg_cfg_xmpp *xb_cfg(const struct xb_bridge *xb);
/* Send a stanza and make sure it is flushed soon; releases st. */
void xb_send_release(struct xb_bridge *xb, xmpp_stanza_t *st);
/* Whether st is the answer (iq result or error) of exactly `asked`, the
 * JID our iq went to.  Anyone can send a stanza carrying one of our ids
 * (libstrophe's id handlers do not look at `from`): any other sender is
 * logged (`what`: "an archive query") and the id handler should return 1
 * to keep waiting for the real answer. */
int xb_answer_ok(struct xb_bridge *xb, xmpp_stanza_t *st, const char *asked,
                 const char *what);
/* Give up on the connection (silent drop, fatal error): reconnect. */
void xb_conn_lost(struct xb_bridge *xb, const char *why);
/* Component mode: set the listener's JID as `from` (client: nothing). */
void xb_from_self(struct xb_bridge *xb, xmpp_stanza_t *st);
/* Whether a real JID is the gateway's own (client: our account;
 * component: any JID of the component's domain). */
int xb_jid_is_ours(const struct xb_bridge *xb, const char *jid);

/* muc.c */
void xb_muc_rooms_init(struct xb_bridge *xb);
void xb_muc_rooms_free(struct xb_bridge *xb);
struct xb_room *xb_muc_room(struct xb_bridge *xb, const char *room_jid);
void xb_muc_join(struct xb_bridge *xb, struct xb_room *r);
void xb_muc_all_out(struct xb_bridge *xb); /* connection lost */
/* Send unavailable presence for us and every puppet (stopping). */
void xb_muc_leave_all(struct xb_bridge *xb);
/* We are no longer in the room: join again at the next tick. */
void xb_muc_rejoin(struct xb_bridge *xb, struct xb_room *r, const char *why);
int xb_muc_on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg);
/* Joins, join timeouts and self-pings due at now; returns the next
 * mono ms it wants to run (0: none). */
int64_t xb_muc_tick(struct xb_bridge *xb, int64_t now);
/* The occupant's real bare JID (NULL when the room hides it). */
const struct xb_occupant *xb_muc_occupant(const struct xb_room *r,
                                          const char *nick);
/* Whether every room is joined or waiting after a refusal (so rows for
 * joined rooms can go; rows for refused rooms are retried). */
int xb_muc_settled(const struct xb_bridge *xb);

/* deliver.c */
size_t xb_deliver(struct cg_bridge *b, struct cg_outbox_item *d, size_t n);
/* Our own message came back from the room: 1 when it was one of ours. */
int xb_deliver_on_echo(struct xb_bridge *xb, const char *origin_id,
                       const char *stanza_id);
/* Whether an origin-id is one deliver.c gave a line of ours (checked
 * against its outbox row and message, not just its form). */
int xb_deliver_is_ours(struct xb_bridge *xb, const char *origin_id);
/* Component mode: the puppet is in the room: send what waits for it;
 * or it could not join: retry those rows. */
void xb_deliver_puppet_joined(struct xb_bridge *xb, const char *puppet_jid);
void xb_deliver_puppet_failed(struct xb_bridge *xb, const char *puppet_jid,
                              const char *why);
/* A message error `from` someone for our stanza `id`: acted on (the row
 * retried, its room maybe rejoined: 1) only when from is the row's
 * destination (the room's bare JID, or a direct message's recipient);
 * else ignored (0), as is an id that is no row of ours. */
int xb_deliver_on_error(struct xb_bridge *xb, const char *from, const char *id,
                        const char *condition);
int64_t xb_deliver_tick(struct xb_bridge *xb, int64_t now);
/* Finish every in-flight row as CG_RETRY with `why`. */
void xb_deliver_retry_all(struct xb_bridge *xb, const char *why);

/* inbound.c */
int xb_inbound_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg);
/* A line from the room's archive (mam.c): stored unless it is ours, a
 * command, or already stored; moves the room's watermark. */
void xb_inbound_archived(struct xb_bridge *xb, struct xb_room *r,
                         struct xb_in *in);

/* mam.c */
/* Read what the archive has after the room's watermark (after a join). */
void xb_mam_catch_up(struct xb_bridge *xb, struct xb_room *r);
/* A <result/> of one of our archive queries: 1 when st was one. */
int xb_mam_on_message(struct xb_bridge *xb, xmpp_stanza_t *st);
/* Forget a running query (the room was left). */
void xb_mam_reset(struct xb_room *r);

/* puppet.c (component mode) */
/* The puppet of `address` in r, joining it when it is not in the room;
 * NULL when none can be made. */
struct xb_puppet *xb_puppet_for(struct xb_bridge *xb, struct xb_room *r,
                                const char *address, const char *name);
struct xb_puppet *xb_puppet_by_nick(struct xb_room *r, const char *nick);
struct xb_puppet *xb_puppet_by_address(struct xb_room *r, const char *address);
/* Presence addressed to a puppet: 1 when it was about a puppet. */
int xb_puppet_on_presence(struct xb_bridge *xb, struct xb_room *r,
                          xmpp_stanza_t *st, const char *to);
/* Idle puppets leave; returns the next mono ms it wants to run. */
int64_t xb_puppet_tick(struct xb_bridge *xb, struct xb_room *r, int64_t now);
/* An occupant of our domain that no puppet owns (left behind by a crash)
 * is sent away. */
void xb_puppet_ghost(struct xb_bridge *xb, struct xb_room *r, const char *nick,
                     const char *full_jid);
/* Every puppet of r leaves (stop), or is forgotten (connection lost). */
void xb_puppets_leave(struct xb_bridge *xb, struct xb_room *r);
void xb_puppets_forget(struct xb_room *r);
/* "alice%example.org@DOMAIN": the puppet JID's local part escaped per
 * XEP-0106 (caller frees). */
char *xb_puppet_bare_jid(const char *address, const char *domain);
/* A nick made of a display name (caller frees). */
char *xb_puppet_nick(const char *name);

/* deliver.c */
/* Build and send pending row i's room message (and a line per uploaded
 * file); on failure the row is finished with a retry. */
void xb_deliver_send(struct xb_bridge *xb, size_t i);
/* The pending row with this outbox id, or -1. */
long xb_deliver_find(struct xb_bridge *xb, int64_t row_id);
/* Finish pending row i (bridge.h: CG_RETRY, CG_FAILED, ...). */
void xb_deliver_finish(struct xb_bridge *xb, size_t i,
                       enum cg_delivery_status status, const char *far_id,
                       const char *error);

/* upload.c: XEP-0363, SchutzBox file -> upload service -> GET URL */
/* Start uploading pending row i's files; 0 when there is nothing to
 * upload (send at once), 1 when the row now waits for uploads. */
int xb_upload_start(struct xb_bridge *xb, size_t i);
/* Learn the upload service's URL origin (client mode, at session start). */
void xb_upload_probe(struct xb_bridge *xb);
/* Whether a URL is on the upload service (its domain or an origin seen
 * in its slots). */
int xb_upload_url_ours(const struct xb_bridge *xb, const char *url);
/* A finished HTTP job of either kind (client.c's on_ready). */
struct xb_http_job;
void xb_upload_done(struct xb_bridge *xb, struct xb_http_job *job);
/* The libcurl worker, started when first needed (NULL when it cannot
 * start: logged). */
struct xb_http_client *xb_files_http(struct xb_bridge *xb);
#define XB_FILES_UPLOAD 1 /* xb_http_job.tag */
#define XB_FILES_FETCH 2
#define XB_FILES_TIMEOUT 60         /* s, one transfer */
#define XB_FILES_UPLOAD_WAIT 150000 /* ms a row may wait for its uploads */

/* fetch.c: a file shared in the room -> SchutzBox -> mail */
/* Fetch the CG_ATT_FETCH attachments of a stored message. */
void xb_fetch_message(struct xb_bridge *xb, int64_t message_id);
/* Fetch every attachment still waiting (after a restart). */
void xb_fetch_resume(struct xb_bridge *xb);
/* The attachment a room line shares (url, file name), or 0 when it
 * shares none the gateway may fetch. */
int xb_fetch_shared(const struct xb_bridge *xb, const struct xb_in *in,
                    char **url, char **name);
void xb_fetch_done(struct xb_bridge *xb, struct xb_http_job *job);

/* commands.c */
/* Answer a `!command` line from `asker` (room/nick or a JID) privately. */
void xb_commands_run(struct xb_bridge *xb, const char *asker, const char *line);
/* The real bare JID of the occupant asker (ROOM/NICK) as the room shows
 * it (never the nick), or NULL (commands.c). */
const char *xb_asker_jid(struct xb_bridge *xb, const char *asker);

/* ---- stanza.c: no state, unit-tested ---- */

/* Text safe for an XML stanza: valid UTF-8 (bad bytes become U+FFFD),
 * no control characters but tab and newline, CRLF -> LF.  Caller frees. */
char *xb_clean_text(const char *s);
/* Code points in the first nbytes of UTF-8 s. */
size_t xb_utf8_count(const char *s, size_t nbytes);
/* Byte offset of code point index cp in s (strlen(s) when past the end). */
size_t xb_utf8_offset(const char *s, size_t cp);

/* What the gateway says in a room. */
struct xb_out {
	const char *room;       /* bare room JID */
	const char *id;         /* message id and XEP-0359 origin-id */
	const char *subject;    /* the thread's subject: first message only */
	const char *name;       /* who wrote it */
	const char *text;       /* what they wrote */
	const char *thread;     /* XEP-0201 thread (our thread token) */
	const char *reply_id;   /* XEP-0461: the parent's stanza-id */
	const char *reply_to;   /* XEP-0461: room/nick of the parent's author */
	const char *quote_name; /* fallback quote of the parent */
	const char *quote_text;
};
/* The body; *fallback_end: code points of the reply quote (0: none).
 * Caller frees. */
char *xb_out_body(const struct xb_out *o, size_t *fallback_end);
xmpp_stanza_t *xb_out_stanza(xmpp_ctx_t *ctx, const struct xb_out *o);

/* A notice (store.h) as one chat message's text: "Subject\n\nBody",
 * trimmed, cut at XB_MAX_TEXT, cleaned.  Caller frees. */
char *xb_notice_body(const char *subject, const char *body);
/* <message type='chat' to=TO id=ID> with text as its body and ID as its
 * XEP-0359 origin-id. */
xmpp_stanza_t *xb_chat_stanza(xmpp_ctx_t *ctx, const char *to, const char *id,
                              const char *text);

/* What a room message says (all strings malloc'd or NULL). */
struct xb_in {
	char *type;
	char *from;
	char *room; /* bare JID of from, lower case */
	char *nick; /* resource of from */
	char *id;
	char *body; /* reply fallback removed */
	char *subject;
	char *thread;
	char *stanza_id; /* by = room */
	char *origin_id;
	char *reply_id;
	char *reply_to;
	char *occupant_id;
	char *replace_id; /* XEP-0308: the id of the corrected line */
	char *item_jid;   /* archived line: the sender's real JID */
	char *to;
	char *error_condition; /* type='error': the defined condition */
	char *oob_url;         /* XEP-0066 <x><url> */
	int has_subject;
	int delayed;
};
void xb_in_parse(xmpp_stanza_t *st, struct xb_in *in);
void xb_in_free(struct xb_in *in);

/* Files (XEP-0363 upload slots, XEP-0066 links). */
#define XB_SLOT_HEADERS 3
struct xb_slot {
	char *put_url;
	char *get_url;                  /* https only */
	char *headers[XB_SLOT_HEADERS]; /* "Name: value": Authorization,
	                                     Cookie, Expires only */
};
/* <iq type='get'><request filename size content-type/></iq> to the upload
 * service; the file name is cleaned to one line, one path segment. */
xmpp_stanza_t *xb_slot_request(xmpp_ctx_t *ctx, const char *to, const char *id,
                               const char *filename, int64_t size,
                               const char *type);
/* An id for a stanza of ours that nobody can guess: prefix-<32 hex
 * digits, 128 random bits>.  Every iq and MAM query id is one: answers to
 * them are acted on (a slot answer decides where a file is PUT, an archive
 * result becomes a stored line).  Caller frees. */
char *xb_new_id(const char *prefix);
/* Whether two JIDs are the same: local part and domain compared without
 * case, the resource exactly; a bare JID never equals a full one. */
int xb_jid_same(const char *a, const char *b);
/* Whether st is an answer (iq result or error) from exactly jid: an id
 * handler of libstrophe fires for any stanza with the id, from anyone. */
int xb_iq_answer_from(xmpp_stanza_t *st, const char *jid);
/* The slot of an iq result: 0, or -1 when it has no usable put/get URL. */
int xb_slot_parse(xmpp_stanza_t *iq, struct xb_slot *out);
void xb_slot_free(struct xb_slot *s);
/* A room message sharing a file: body = url, XEP-0066 <x><url><desc>,
 * origin-id = id, thread when set. */
xmpp_stanza_t *xb_file_stanza(xmpp_ctx_t *ctx, const char *room, const char *id,
                              const char *url, const char *desc,
                              const char *thread);
/* "https://host:port" of an http(s) URL, host lower case, default port
 * filled in; NULL when it is not one: user info, an empty host or port, a
 * port beyond 65535, a bracket without its partner, a byte no host name
 * has.  Caller frees. */
char *xb_url_origin(const char *url);
/* The host of an http(s) URL (lower case, no brackets), or NULL. */
char *xb_url_host(const char *url);
/* The URL's last path segment, percent-decoded and cleaned (no '/', one
 * line), or NULL when it has none.  Caller frees. */
char *xb_url_filename(const char *url);
/* The body when it is nothing but one http(s) URL (surrounding blanks
 * allowed), else NULL.  Caller frees. */
char *xb_body_url(const char *body);

/* Small helpers. */
char *xb_child_text(xmpp_stanza_t *st, const char *name, const char *ns);
char *xb_bare_lower(const char *jid); /* caller frees */
xmpp_stanza_t *xb_el(xmpp_ctx_t *ctx, const char *name, const char *ns);
void xb_add_text_child(xmpp_stanza_t *parent, const char *name,
                       const char *text);

#endif
