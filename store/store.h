/*
 * store.h: everything coopgate keeps, behind functions.  All SQL lives in
 * the .c files of store/; callers never see a statement.  Backed by SQLite
 * (WAL, foreign keys, busy timeout); the interface is kept free of SQLite types
 * so another backend (PostgreSQL) can follow.
 *
 * Conventions: functions return 0 on success and -1 on error (the error is
 * logged with the object at fault, and cg_store_errmsg() returns it); ids are
 * int64_t, 0 meaning "none".  A lookup returns 1 found / 0 not found / -1
 * error with its result in an out-parameter (0 unless found): an error
 * never reads as "none" (a busy database must not make a duplicate new).
 * Times are unix seconds unless named *_ms.  Strings returned inside
 * structs are owned by the struct and released by its *_free function.
 * Only the thread that opened the store uses it.  The sections below go
 * by entity, each naming the .c file that holds it.
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/names.h"

struct cg_store;

/* ---- open, migrate, transactions (db.c) ---- */
/*
 * Open DATA_DIR/coopgate.db.  With create = 1, create the file if missing;
 * with create = 0 a missing database is an error ("run coopgate init").
 * Pending migrations are applied in one transaction each.  *err (caller
 * frees) explains a failure.
 */
int cg_store_open(const char *data_dir, int create, struct cg_store **out,
                  char **err);
/* Open without migrating, read-only (for inspect/status). */
int cg_store_open_readonly(const char *data_dir, struct cg_store **out,
                           char **err);
void cg_store_close(struct cg_store *s);
/* The long-running daemon's setting: a 512 KiB page cache instead of
 * SQLite's 2 MB default (the daemon's private memory target). */
void cg_store_small_cache(struct cg_store *s);
int cg_store_version(struct cg_store *s); /* PRAGMA user_version */
const char *cg_store_errmsg(struct cg_store *s);
int cg_store_begin(struct cg_store *s);
int cg_store_commit(struct cg_store *s);
void cg_store_rollback(struct cg_store *s);
/* PRAGMA integrity_check == "ok": 0, else -1. */
int cg_store_integrity_check(struct cg_store *s);
/* A savepoint: inside the caller's transaction when one is open, else a
 * transaction of its own (released = committed).  Not nestable. */
int cg_store_savepoint(struct cg_store *s);
int cg_store_savepoint_release(struct cg_store *s);
void cg_store_savepoint_rollback(struct cg_store *s); /* and release */

/* ---- channels (contacts.c) ---- */
struct cg_channel {
	int64_t id;
	char *name, *address, *room, *description;
	enum cg_layer post_layer;
};
void cg_channel_free(struct cg_channel *c);
/* Insert or update the channel named c->name; sets c->id. */
int cg_store_channel_sync(struct cg_store *s, struct cg_channel *c);
/* The id of the channel named `name`: 1 found, 0 unknown, -1 error. */
int cg_store_channel_id(struct cg_store *s, const char *name, int64_t *id);

/* The name of channel `id` (caller frees); NULL when unknown. */
char *cg_store_channel_name(struct cg_store *s, int64_t id);

/* ---- contacts, identities, memberships (contacts.c) ---- */
enum cg_identity_kind { CG_ID_EMAIL, CG_ID_JID };

struct cg_contact {
	int64_t id;
	char *name;
	char *org; /* organisation name, may be NULL */
	enum cg_layer layer;
	int64_t layer_since;
	char *source; /* "config" | "cli" | "auto" */
	char **emails;
	size_t nemails;
	char **jids;
	size_t njids;
	int64_t created;
};
void cg_contact_free(struct cg_contact *c);

struct cg_subscription {
	char *channel;
	enum cg_delivery delivery;
	int64_t since;
	char *source;
};

/* What `member add` and the config sync say about a person. */
struct cg_member_input {
	const char *address; /* required: the email identity */
	const char *name;    /* NULL: leave as is */
	const char *jid;     /* NULL: leave as is */
	const char *org;     /* NULL: leave as is */
	int has_layer;
	enum cg_layer layer;
	const char *const *channels;
	size_t nchannels;
	enum cg_delivery delivery;
	const char *source; /* "config" | "cli" */
};

/*
 * Add or update a contact by its email address and subscribe it to the
 * given channels (which must exist: -1 naming the channel otherwise).
 * Sets *contact_id.
 */
int cg_store_member_upsert(struct cg_store *s, const struct cg_member_input *in,
                           int64_t *contact_id);
/* Find a contact by identity: 1 found (*id set), 0 unknown, -1 error. */
int cg_store_contact_find(struct cg_store *s, enum cg_identity_kind kind,
                          const char *value, int64_t *id);
/* Create an automatic guest contact for an unknown sender. */
int64_t cg_store_contact_auto(struct cg_store *s, enum cg_identity_kind kind,
                              const char *value, const char *name);
int cg_store_contact_get(struct cg_store *s, int64_t id,
                         struct cg_contact *out);
int cg_store_contact_subscriptions(struct cg_store *s, int64_t id,
                                   struct cg_subscription **out, size_t *n);
void cg_subscriptions_free(struct cg_subscription *v, size_t n);
int cg_store_contact_set_layer(struct cg_store *s, int64_t id,
                               enum cg_layer layer, const char *reason);
/* Remove a contact's subscription to channel, or the contact itself when
 * channel is NULL.  Returns 1 when something was removed, 0 when not. */
int cg_store_member_remove(struct cg_store *s, int64_t contact_id,
                           const char *channel);
/* Contacts, optionally only those subscribed to channel, ordered by
 * address.  cb returns nonzero to stop. */
typedef int cg_contact_cb(const struct cg_contact *c, void *arg);
int cg_store_contact_each(struct cg_store *s, const char *channel,
                          cg_contact_cb *cb, void *arg);
/* Drop config-sourced memberships no longer in the config (called after
 * syncing; CLI additions are kept).  keep: contact ids synced now. */
int cg_store_config_prune(struct cg_store *s, const int64_t *keep, size_t n);

/* Recipients of a channel with a given delivery mode: email addresses and
 * contact ids, excluding contact `except` (0: none). */
struct cg_recipient {
	int64_t contact_id;
	char *address;
};
int cg_store_channel_recipients(struct cg_store *s, int64_t channel_id,
                                enum cg_delivery mode, int64_t except,
                                struct cg_recipient **out, size_t *n);
void cg_recipients_free(struct cg_recipient *v, size_t n);
/* Add an identity to a contact; -1 when another contact owns it. */
int cg_store_contact_identity_add(struct cg_store *s, int64_t contact_id,
                                  enum cg_identity_kind kind,
                                  const char *value);
/* Set the delivery mode of an existing membership: 1 changed, 0 not a
 * member, -1 error. */
int cg_store_membership_set_delivery(struct cg_store *s, int64_t contact_id,
                                     int64_t channel_id, enum cg_delivery d);
/* A person whose name is `name` (case-insensitive), else the only one
 * whose name contains it: 1 found, 0 none or ambiguous, -1 error. */
int cg_store_contact_find_name(struct cg_store *s, const char *name,
                               int64_t *id);

/* ---- threads (threads.c) ---- */
struct cg_thread {
	int64_t id;
	int64_t channel_id;
	char *token; /* random, appears in our Message-IDs */
	char *subject;
	int64_t root_message_id;
	int64_t created, last_activity;
};
void cg_thread_free(struct cg_thread *t);
int cg_store_thread_get(struct cg_store *s, int64_t id, struct cg_thread *out);
int64_t cg_store_thread_create(struct cg_store *s, int64_t channel_id,
                               const char *subject, int64_t now);
/* The channel's latest thread started in the room (root from xmpp) and
 * active at or after `since`: 1 found, 0 none, -1 error. */
int cg_store_open_chat_thread(struct cg_store *s, int64_t channel_id,
                              int64_t since, int64_t *thread_id);
/* Thread whose token is `token`: 1 found, 0 unknown, -1 error. */
int cg_store_thread_by_token(struct cg_store *s, const char *token,
                             int64_t *thread_id);
int cg_store_thread_touch(struct cg_store *s, int64_t id, int64_t root_msg,
                          int64_t now);
/* Message-IDs of the thread's messages up to `upto` (inclusive), oldest
 * first, for References.  Caller frees each string and the array. */
int cg_store_thread_message_ids(struct cg_store *s, int64_t thread_id,
                                int64_t upto, char ***out, size_t *n);
/* The newest message of the thread that came by email with an id below
 * `before` (0: any), else the thread's root: 1 found, 0 none, -1 error. */
int cg_store_thread_last_email(struct cg_store *s, int64_t thread_id,
                               int64_t before, int64_t *message_id);

/* ---- messages, external ids (messages.c) ---- */
struct cg_stored_msg {
	int64_t id;
	int64_t channel_id;
	int64_t thread_id;
	int64_t parent_id;
	int64_t contact_id;
	char *network;    /* "email" | "xmpp" */
	char *message_id; /* RFC 5322 Message-ID (no <>) used on email */
	char *sender_addr, *sender_name, *subject, *body, *trimmed;
	unsigned flags;
	int64_t received;
};
void cg_stored_msg_free(struct cg_stored_msg *m);

/* Map an external id (network, id) to a stored message: 1 found, 0
 * unknown, -1 error (dedup: an error must never read as "new"). */
int cg_store_extid_find(struct cg_store *s, const char *network,
                        const char *ext_id, int64_t *message_id);
int cg_store_extid_add(struct cg_store *s, const char *network,
                       const char *ext_id, int64_t message_id);
/* Insert; m->id is set.  raw may be NULL. */
int cg_store_message_insert(struct cg_store *s, struct cg_stored_msg *m,
                            const char *raw, size_t rawlen);
int cg_store_message_get(struct cg_store *s, int64_t id,
                         struct cg_stored_msg *out);

int cg_store_interaction_add(struct cg_store *s, int64_t contact_id,
                             int64_t channel_id, int64_t thread_id,
                             int64_t message_id, const char *network,
                             const char *direction, int64_t at);
/*
 * Digests (schema 006).  The ids of channel's messages after message
 * `after` (0: all) with none of skip_flags, oldest first, at most max
 * (caller frees *ids); the channel's newest message id (channel_id 0:
 * of any channel): 1 found, 0 none, -1 error.
 */
int cg_store_channel_messages_after(struct cg_store *s, int64_t channel_id,
                                    int64_t after, unsigned skip_flags,
                                    size_t max, int64_t **ids, size_t *n);
int cg_store_channel_last_message(struct cg_store *s, int64_t channel_id,
                                  int64_t *message_id);

/* One external id of message `message_id` on `network` ("xmpp": the room's
 * stanza-id; "xmpp-origin": an XEP-0359 origin-id) into *out (caller frees;
 * NULL when it has none).  0 ok, -1 on a store error. */
int cg_store_message_extid(struct cg_store *s, int64_t message_id,
                           const char *network, char **out);
/* A correction (XEP-0308): the stored message's body and trimmed text
 * become the new ones. */
int cg_store_message_set_text(struct cg_store *s, int64_t message_id,
                              const char *body, const char *trimmed);

/* ---- attachments across the networks (schema 007, attachments.c) ---- */
enum cg_att_state {
	CG_ATT_STORED,  /* bytes in the SchutzBox (blob_id) or in the row */
	CG_ATT_FETCH,   /* a URL shared in the room, still to be fetched */
	CG_ATT_LINK,    /* not kept: mail carries url instead; note: why */
	CG_ATT_REFUSED, /* not kept, nothing to link to; note: why */
};
const char *cg_att_state_name(enum cg_att_state st);
struct cg_att_row {
	int64_t message_id;
	int idx;
	char *name;    /* file name, may be NULL */
	char *type;    /* media type, may be NULL */
	int64_t size;  /* bytes; 0 while a fetch is pending */
	char *blob_id; /* in the SchutzBox, or NULL */
	int has_data;  /* the row itself holds the bytes (no box) */
	char *url;     /* XEP-0363 GET URL we uploaded it to, or the URL
	                  shared in the room; may be NULL */
	enum cg_att_state state;
	char *note; /* why LINK/REFUSED, may be NULL */
};
void cg_att_rows_free(struct cg_att_row *v, size_t n);
/* Insert one row with every column of a (data/len: bytes kept in the row,
 * NULL when in the box or not kept).  The blob must exist. */
int cg_store_attachment_insert(struct cg_store *s, const struct cg_att_row *a,
                               const void *data, size_t len);
/* The attachments of a message, by idx. */
int cg_store_attachments_of(struct cg_store *s, int64_t message_id,
                            struct cg_att_row **out, size_t *n);
/* One attachment; -1 (error recorded) when there is no such row.
 * Release with cg_att_row_free(). */
int cg_store_attachment_get(struct cg_store *s, int64_t message_id, int idx,
                            struct cg_att_row *out);
void cg_att_row_free(struct cg_att_row *a);
/* The bytes held in the row (has_data), malloc'd; -1 when none. */
int cg_store_attachment_data(struct cg_store *s, int64_t message_id, int idx,
                             unsigned char **data, size_t *len);
/* Every attachment in state CG_ATT_FETCH (to fetch again after a
 * restart), oldest message first. */
int cg_store_attachments_fetching(struct cg_store *s, struct cg_att_row **out,
                                  size_t *n);
/* Write back what changed: state, size, name, type, blob_id, url, note
 * of row (a->message_id, a->idx) become a's (a NULL string clears it). */
int cg_store_attachment_update(struct cg_store *s, const struct cg_att_row *a);
/* Bytes of SchutzBox blobs referenced by the attachments of the contact's
 * messages (each distinct blob once): the quota's usage; -1 on error. */
int64_t cg_store_box_usage(struct cg_store *s, int64_t contact_id);

/* ---- outbox (outbox.c) ---- */
/* Move the pending rows of message_id for bridge to due_ms. */
int cg_store_outbox_reschedule(struct cg_store *s, int64_t message_id,
                               const char *bridge, int64_t due_ms);

enum cg_outbox_state { CG_OUT_PENDING, CG_OUT_DONE, CG_OUT_DEAD };

struct cg_outbox_row {
	int64_t id;
	int64_t message_id; /* a stored message, or 0 for a notice */
	int64_t notice_id;  /* a notice (see below), or 0 */
	char *bridge;       /* "email" | "xmpp" */
	char *destination;  /* recipient address or room JID */
	int attempts;
	int64_t next_attempt_ms;
	char *last_error;
};
void cg_outbox_rows_free(struct cg_outbox_row *v, size_t n);

int cg_store_outbox_add(struct cg_store *s, int64_t message_id,
                        const char *bridge, const char *destination,
                        int64_t due_ms);
/* Pending rows of `bridge` due at now_ms, oldest first, at most limit. */
int cg_store_outbox_due(struct cg_store *s, const char *bridge, int64_t now_ms,
                        size_t limit, struct cg_outbox_row **out, size_t *n);
/* Earliest next_attempt_ms of a pending row of bridge (NULL: any): 1 one
 * is pending, 0 none (*due_ms 0), -1 error. */
int cg_store_outbox_next_due(struct cg_store *s, const char *bridge,
                             int64_t *due_ms);
int cg_store_outbox_done(struct cg_store *s, int64_t id, const char *far_id,
                         int64_t now);
int cg_store_outbox_retry(struct cg_store *s, int64_t id, int attempts,
                          int64_t next_ms, const char *error);
int cg_store_outbox_dead(struct cg_store *s, int64_t id, int attempts,
                         const char *error);
int cg_store_outbox_get(struct cg_store *s, int64_t id,
                        struct cg_outbox_row *out, enum cg_outbox_state *state,
                        char **far_id);
struct cg_outbox_counts {
	int64_t pending, done, dead;
};
int cg_store_outbox_counts(struct cg_store *s, const char *bridge,
                           struct cg_outbox_counts *out);
/* Dead letters, newest first, at most limit. */
int cg_store_outbox_dead_list(struct cg_store *s, size_t limit,
                              struct cg_outbox_row **out, size_t *n);
/*
 * Chat batching.  Rows of the email bridge for the xmpp-origin messages of
 * thread `thread_id` to `destination`: the latest next_attempt_ms of such a
 * row still pending and due after now_ms into *due_ms (1 one, 0 none: the
 * room is quiet, -1 error); and moving the pending ones that are due
 * earlier to due_ms (the batch then leaves with the later line).
 */
int cg_store_email_chat_pending_after(struct cg_store *s, int64_t thread_id,
                                      const char *destination, int64_t now_ms,
                                      int64_t *due_ms);
int cg_store_email_chat_defer(struct cg_store *s, int64_t thread_id,
                              const char *destination, int64_t due_ms);
/* The outbox rows of message_id for bridge: the ids of those pending
 * (caller frees *pending) and how many are done. */
int cg_store_message_rows(struct cg_store *s, int64_t message_id,
                          const char *bridge, int64_t **pending,
                          size_t *npending, size_t *ndone);

/* ---- notices (notices.c): mail the gateway writes to one person; digests
 * ---- */
struct cg_notice {
	int64_t id;
	int64_t channel_id; /* 0: none (e.g. mail to an unknown address) */
	char *from_addr;    /* "dev+request@lists.example.org" */
	char *to_addr;
	char *subject, *body; /* UTF-8 */
	char *in_reply_to;    /* Message-ID answered, no <>; may be NULL */
	char *auto_submitted; /* "auto-replied" | "auto-generated" */
	char *message_id;     /* ours, no <> */
	int64_t created;
};
void cg_notice_free(struct cg_notice *n);
/* Store a notice and its outbox row (bridge "email", due now); n->id and
 * n->message_id (when NULL: generated at the gateway's domain) are set.
 * Run it inside the caller's transaction when it belongs with other
 * writes. */
int cg_store_notice_add(struct cg_store *s, struct cg_notice *n,
                        const char *domain);
/* The same delivered by `bridge` to `destination` (e.g. "xmpp", a JID):
 * notice row + that one outbox row (auto_submitted defaults to
 * "auto-generated" here). */
int cg_store_notice_add_via(struct cg_store *s, struct cg_notice *n,
                            const char *domain, const char *bridge,
                            const char *destination);
int cg_store_notice_get(struct cg_store *s, int64_t id, struct cg_notice *out);
/* Notices to `to_addr` from `from_addr` created since `since` into
 * *count (rate limits: "one auto-reply per sender a day").  0 ok, -1 a
 * store error: never read an error as "none sent yet". */
int cg_store_notice_count(struct cg_store *s, const char *to_addr,
                          const char *from_addr, int64_t since, int64_t *count);
/* Record a digest of channel covering messages ids[0..n); sets *id. */
int cg_store_digest_add(struct cg_store *s, int64_t channel_id,
                        int64_t period_start, int64_t period_end,
                        const int64_t *ids, size_t n, int64_t *id);
/* Notice `notice_id` is a member's copy of digest `digest_id`. */
int cg_store_digest_notice_add(struct cg_store *s, int64_t digest_id,
                               int64_t notice_id);
/* The digest whose copy notice `notice_id` is: 1 found, 0 none, -1
 * error. */
int cg_store_notice_digest(struct cg_store *s, int64_t notice_id,
                           int64_t *digest_id);

/* ---- crm (crm.c, held_confirm.c): activity, tags, notes, organisations,
 * nominations, held posts ---- */
/* Interactions of a contact in `direction` ("in" | "out") at or after
 * since into *count: 0 ok, -1 error. */
int cg_store_interaction_count(struct cg_store *s, int64_t contact_id,
                               const char *direction, int64_t since,
                               int64_t *count);
/* Time of the contact's latest interaction into *at (0 when none): 0 ok,
 * -1 error. */
int cg_store_contact_last_seen(struct cg_store *s, int64_t contact_id,
                               int64_t *at);
/* Tags, sorted (caller frees each and the array). */
int cg_store_contact_tags(struct cg_store *s, int64_t contact_id, char ***out,
                          size_t *n);
int cg_store_contact_tag_add(struct cg_store *s, int64_t contact_id,
                             const char *tag);
/* The free-text note (caller frees; NULL when none). */
int cg_store_contact_note(struct cg_store *s, int64_t contact_id, char **out);
int cg_store_contact_set_note(struct cg_store *s, int64_t contact_id,
                              const char *note); /* NULL/"" clears */
/* Set the name (NULL: leave); the organisation by name (NULL: leave, "":
 * none), creating the organisation contact when new. */
int cg_store_contact_set_name(struct cg_store *s, int64_t contact_id,
                              const char *name);
int cg_store_contact_set_org(struct cg_store *s, int64_t contact_id,
                             const char *org);
/* The organisation owning mail domain `domain`: the one whose config/CLI
 * members have addresses there: 1 found, 0 none or more than one, -1
 * error. */
int cg_store_org_by_domain(struct cg_store *s, const char *domain,
                           int64_t *org_id);
/* Link a contact to an organisation contact (0: unlink). */
int cg_store_contact_link_org(struct cg_store *s, int64_t contact_id,
                              int64_t org_id);
/* A free-mail domain (gmail.com, gmx.de, ...): never an organisation's. */
int cg_mail_domain_is_free(const char *domain);

/* Nominations.  add: 1 recorded, 0 already there, -1 error. */
int cg_store_nomination_add(struct cg_store *s, int64_t nominee,
                            int64_t nominator, int64_t channel_id,
                            enum cg_layer target, int64_t now);
struct cg_nomination {
	int64_t nominator_id;
	char *nominator; /* name, else first address */
	enum cg_layer nominator_layer;
	enum cg_layer target;
	int64_t created;
};
/* Nominations of `nominee` for a layer above its current one, oldest
 * first. */
int cg_store_nominations_pending(struct cg_store *s, int64_t nominee,
                                 struct cg_nomination **out, size_t *n);
void cg_nominations_free(struct cg_nomination *v, size_t n);

/* Held posts (pipeline: sender below post_layer). */
int cg_store_held_add(struct cg_store *s, int64_t message_id,
                      int64_t contact_id, int64_t channel_id, int64_t now,
                      int64_t expires);
/* Messages of contact still held (not released, not expired at now), in
 * channels whose post_layer <= layer, oldest first. */
int cg_store_held_for_contact(struct cg_store *s, int64_t contact_id,
                              enum cg_layer layer, int64_t now, int64_t **ids,
                              size_t *n);
/* Mark released and clear CG_MSG_HELD in message.flags. */
int cg_store_held_release(struct cg_store *s, int64_t message_id, int64_t now);
/* Held posts whose time ran out become 'expired' (their body and raw
 * bytes are dropped).  Returns how many, or -1. */
int64_t cg_store_held_expire(struct cg_store *s, int64_t now);
/* Posts of the contact still held into *count: 0 ok, -1 error. */
int cg_store_held_count(struct cg_store *s, int64_t contact_id, int64_t *count);
/* Posts held because their sender is not proven (store/held_confirm.c):
 * mark held post message_id unverified (no promotion releases it), with
 * or without its confirmation token (without: also held by layer, the
 * token comes once the sender may post there); take a token: 1 valid
 * (now used, *message_id set; the post still held), 0 unknown, used or
 * expired, or the sender may not post there, -1 error; the contact's
 * unverified posts still held in channels it may post to, oldest first
 * (all, or only those without a token yet: unconfirmed). */
int cg_store_held_mark_unverified(struct cg_store *s, int64_t message_id);
int cg_store_held_unverified(struct cg_store *s, int64_t message_id,
                             const char *token, int64_t now, int64_t expires);
int cg_store_held_confirm_take(struct cg_store *s, const char *token,
                               int64_t now, int64_t *message_id);
int cg_store_held_unverified_for_contact(struct cg_store *s, int64_t contact_id,
                                         int64_t now, int64_t **ids, size_t *n);
int cg_store_held_unconfirmed(struct cg_store *s, int64_t contact_id,
                              int64_t now, int64_t **ids, size_t *n);

/* ---- bounces and +request tokens (bounce_state.c) ---- */
#define CG_BOUNCE_WINDOW_S (30 * 86400) /* events older than this drop out */
#define CG_BOUNCE_SUSPEND_AT 5.0
/* Record one failed delivery (permanent: weight 1.0, else 0.5). */
int cg_store_bounce_add(struct cg_store *s, const char *address, int permanent,
                        const char *reason, int64_t now);
struct cg_bounce_state {
	double score;      /* sum of weights since now - window */
	int64_t last;      /* latest event (any age); 0: never */
	char *last_reason; /* its reason, may be NULL */
	int64_t suspended; /* since when; 0: not suspended */
};
int cg_store_bounce_state(struct cg_store *s, const char *address, int64_t now,
                          struct cg_bounce_state *out);
void cg_bounce_state_free(struct cg_bounce_state *b);
/* Suspend: 1 newly suspended, 0 already was, -1 error. */
int cg_store_bounce_suspend(struct cg_store *s, const char *address,
                            const char *reason, int64_t now);
/* Lift a suspension and forget the events (the address proved to work). */
int cg_store_bounce_clear(struct cg_store *s, const char *address);
/* Confirmation tokens of +request commands. */
int cg_store_request_token_add(struct cg_store *s, const char *token,
                               int64_t channel_id, const char *address,
                               const char *action, int64_t now,
                               int64_t expires);
struct cg_request_token {
	int64_t channel_id;
	char *address;
	char *action; /* subscribe|unsubscribe|each|digest|none */
};
void cg_request_token_free(struct cg_request_token *t);
/* Take a token: 1 valid (now marked used, *out filled), 0 unknown,
 * expired or used, -1 error. */
int cg_store_request_token_take(struct cg_store *s, const char *token,
                                int64_t now, struct cg_request_token *out);

/* ---- bridge state (bridge_state.c): connections, watermarks, tries ---- */
/* Record that mail ext_id was handled as `kind`: 1 new, 0 seen before,
 * -1 error. */
int cg_store_mail_handled(struct cg_store *s, const char *ext_id,
                          const char *kind, int64_t now);
/* Tries of a mailbox UID (schema 008): count one more and return the
 * count so far (1 on the first), or -1 on error.  _done forgets the tries
 * of every UID up to `uid` (the watermark passed them). */
int64_t cg_store_imap_try(struct cg_store *s, const char *mailbox,
                          int64_t uidvalidity, int64_t uid);
int cg_store_imap_tries_done(struct cg_store *s, const char *mailbox,
                             int64_t uid);

struct cg_bridge_state {
	char *name;
	int connected;
	int64_t since;    /* when connected/disconnected */
	char *last_error; /* may be NULL */
	int64_t updated;
};
int cg_store_bridge_state_set(struct cg_store *s, const char *name,
                              int connected, const char *last_error,
                              int64_t now);
int cg_store_bridge_states(struct cg_store *s, struct cg_bridge_state **out,
                           size_t *n);
void cg_bridge_states_free(struct cg_bridge_state *v, size_t n);
/* The MAM watermark of a room (XEP-0313): the stanza-id of the last
 * archived line the gateway has read, in kv "xmpp/ROOM/last_stanza_id".
 * get: *out NULL when the room was never read, "" when its archive was
 * empty then (caller frees).  set: call it inside the transaction that
 * stores the line. */
int cg_store_xmpp_watermark_get(struct cg_store *s, const char *room,
                                char **out);
int cg_store_xmpp_watermark_set(struct cg_store *s, const char *room,
                                const char *stanza_id);

/* ---- small key/value state (db.c: IMAP watermarks, daemon pid, ...) ---- */
int cg_store_kv_get(struct cg_store *s, const char *key, char **value);
int cg_store_kv_set(struct cg_store *s, const char *key, const char *value);
int cg_store_kv_get_int(struct cg_store *s, const char *key, int64_t *v);
int cg_store_kv_set_int(struct cg_store *s, const char *key, int64_t v);

#endif
