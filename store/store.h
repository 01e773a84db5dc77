/*
 * store.h: everything coopgate keeps, behind functions.  All SQL lives in
 * the .c files of store/; callers never see a statement.  Backed by SQLite (WAL, foreign
 * keys, busy timeout); the interface is kept free of SQLite types so another
 * backend (PostgreSQL) can follow.
 *
 * Conventions: functions return 0 on success and -1 on error (the error is
 * logged with the object at fault, and cg_store_errmsg() returns it); ids are
 * int64_t, 0 meaning "none".  Times are unix seconds unless named *_ms.
 * Strings returned inside structs are owned by the struct and released by
 * its *_free function.  Only the thread that opened the store uses it.
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config.h"

struct cg_store;

/* ---- open, migrate, transactions ---- */

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
int cg_store_version(struct cg_store *s); /* PRAGMA user_version */
const char *cg_store_errmsg(struct cg_store *s);
int cg_store_begin(struct cg_store *s);
int cg_store_commit(struct cg_store *s);
void cg_store_rollback(struct cg_store *s);
/* PRAGMA integrity_check == "ok": 0, else -1. */
int cg_store_integrity_check(struct cg_store *s);

/* ---- channels ---- */
struct cg_channel {
	int64_t id;
	char *name, *address, *room, *description;
	enum cg_layer post_layer;
};
void cg_channel_free(struct cg_channel *c);
/* Insert or update the channel named c->name; sets c->id. */
int cg_store_channel_sync(struct cg_store *s, struct cg_channel *c);
int64_t cg_store_channel_id(struct cg_store *s, const char *name);

/* ---- contacts, identities, memberships ---- */
enum cg_identity_kind { CG_ID_EMAIL, CG_ID_JID };

struct cg_contact {
	int64_t id;
	char *name;
	char *org;              /* organisation name, may be NULL */
	enum cg_layer layer;
	int64_t layer_since;
	char *source;           /* "config" | "cli" | "auto" */
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
	const char *address;    /* required: the email identity */
	const char *name;       /* NULL: leave as is */
	const char *jid;        /* NULL: leave as is */
	const char *org;        /* NULL: leave as is */
	int has_layer;
	enum cg_layer layer;
	const char *const *channels;
	size_t nchannels;
	enum cg_delivery delivery;
	const char *source;     /* "config" | "cli" */
};

/*
 * Add or update a contact by its email address and subscribe it to the
 * given channels (which must exist: -1 naming the channel otherwise).
 * Sets *contact_id.
 */
int cg_store_member_upsert(struct cg_store *s, const struct cg_member_input *in,
			   int64_t *contact_id);
/* Find a contact by identity; 0 when unknown. */
int64_t cg_store_contact_find(struct cg_store *s, enum cg_identity_kind kind,
			      const char *value);
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

/* ---- threads, messages, external ids ---- */
struct cg_thread {
	int64_t id;
	int64_t channel_id;
	char *token;            /* random, appears in our Message-IDs */
	char *subject;
	int64_t root_message_id;
	int64_t created, last_activity;
};
void cg_thread_free(struct cg_thread *t);
int cg_store_thread_get(struct cg_store *s, int64_t id, struct cg_thread *out);
int64_t cg_store_thread_create(struct cg_store *s, int64_t channel_id,
			       const char *subject, int64_t now);
/* Thread whose token is `token`; 0 when unknown. */
int64_t cg_store_thread_by_token(struct cg_store *s, const char *token);
int cg_store_thread_touch(struct cg_store *s, int64_t id, int64_t root_msg,
			  int64_t now);

struct cg_stored_msg {
	int64_t id;
	int64_t channel_id;
	int64_t thread_id;
	int64_t parent_id;
	int64_t contact_id;
	char *network;          /* "email" | "xmpp" */
	char *message_id;       /* RFC 5322 Message-ID (no <>) used on email */
	char *sender_addr, *sender_name, *subject, *body, *trimmed;
	unsigned flags;
	int64_t received;
};
void cg_stored_msg_free(struct cg_stored_msg *m);

/* Map an external id (network, id) to a stored message; 0 when unknown. */
int64_t cg_store_extid_find(struct cg_store *s, const char *network,
			    const char *ext_id);
int cg_store_extid_add(struct cg_store *s, const char *network,
		       const char *ext_id, int64_t message_id);
/* Insert; m->id is set.  raw may be NULL. */
int cg_store_message_insert(struct cg_store *s, struct cg_stored_msg *m,
			    const char *raw, size_t rawlen);
int cg_store_message_get(struct cg_store *s, int64_t id,
			 struct cg_stored_msg *out);
/* Message-IDs of the thread's messages up to `upto` (inclusive), oldest
 * first, for References.  Caller frees each string and the array. */
int cg_store_thread_message_ids(struct cg_store *s, int64_t thread_id,
				int64_t upto, char ***out, size_t *n);
int cg_store_attachment_add(struct cg_store *s, int64_t message_id, int idx,
			    const char *name, const char *type,
			    const void *data, size_t size);

int cg_store_interaction_add(struct cg_store *s, int64_t contact_id,
			     int64_t channel_id, int64_t thread_id,
			     int64_t message_id, const char *network,
			     const char *direction, int64_t at);

/* ---- outbox ---- */
enum cg_outbox_state { CG_OUT_PENDING, CG_OUT_DONE, CG_OUT_DEAD };

struct cg_outbox_row {
	int64_t id;
	int64_t message_id;     /* a stored message, or 0 for a notice */
	int64_t notice_id;      /* a notice (see below), or 0 */
	char *bridge;           /* "email" | "xmpp" */
	char *destination;      /* recipient address or room JID */
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
/* Earliest next_attempt_ms of a pending row of bridge (NULL: any); 0 when
 * none is pending. */
int64_t cg_store_outbox_next_due(struct cg_store *s, const char *bridge);
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

/* ---- notices: mail the gateway writes to one person ---- */
struct cg_notice {
	int64_t id;
	int64_t channel_id;     /* 0: none (e.g. mail to an unknown address) */
	char *from_addr;        /* "dev+request@lists.example.org" */
	char *to_addr;
	char *subject, *body;   /* UTF-8 */
	char *in_reply_to;      /* Message-ID answered, no <>; may be NULL */
	char *auto_submitted;   /* "auto-replied" | "auto-generated" */
	char *message_id;       /* ours, no <> */
	int64_t created;
};
void cg_notice_free(struct cg_notice *n);
/* Store a notice and its outbox row (bridge "email", due now); n->id and
 * n->message_id (when NULL: generated at the gateway's domain) are set.
 * Run it inside the caller's transaction when it belongs with other
 * writes. */
int cg_store_notice_add(struct cg_store *s, struct cg_notice *n,
			const char *domain);
int cg_store_notice_get(struct cg_store *s, int64_t id, struct cg_notice *out);
/* Notices to `to_addr` from `from_addr` created since `since` (rate
 * limits: "one auto-reply per channel per week"). */
int64_t cg_store_notice_count(struct cg_store *s, const char *to_addr,
			      const char *from_addr, int64_t since);

/* ---- bridge state (for `coopgate status`) ---- */
struct cg_bridge_state {
	char *name;
	int connected;
	int64_t since;          /* when connected/disconnected */
	char *last_error;       /* may be NULL */
	int64_t updated;
};
int cg_store_bridge_state_set(struct cg_store *s, const char *name,
			      int connected, const char *last_error,
			      int64_t now);
int cg_store_bridge_states(struct cg_store *s, struct cg_bridge_state **out,
			   size_t *n);
void cg_bridge_states_free(struct cg_bridge_state *v, size_t n);

/* ---- small key/value state (IMAP watermarks, daemon pid, ...) ---- */
int cg_store_kv_get(struct cg_store *s, const char *key, char **value);
int cg_store_kv_set(struct cg_store *s, const char *key, const char *value);
int cg_store_kv_get_int(struct cg_store *s, const char *key, int64_t *v);
int cg_store_kv_set_int(struct cg_store *s, const char *key, int64_t v);

/* ---- email bridge (store/email_state.c) ---- */
/* The name of channel `id` (caller frees); NULL when unknown. */
char *cg_store_channel_name(struct cg_store *s, int64_t id);
/* The attachments of a stored message that hold their bytes (not yet moved
 * to the SchutzBox), in order, at most max_size bytes each (larger ones are
 * left out and counted in *skipped).  Release with cg_attachments_free(). */
struct cg_attachment;
int cg_store_message_attachments(struct cg_store *s, int64_t message_id,
				 int64_t max_size, struct cg_attachment **out,
				 size_t *n, size_t *skipped);
void cg_attachments_free(struct cg_attachment *v, size_t n);

/* ---- xmpp bridge (store/xmpp_state.c) ---- */
/* One external id of message `message_id` on `network` ("xmpp": the room's
 * stanza-id; "xmpp-origin": an XEP-0359 origin-id) into *out (caller frees;
 * NULL when it has none).  0 ok, -1 on a store error. */
int cg_store_message_extid(struct cg_store *s, int64_t message_id,
			   const char *network, char **out);
/* A person whose name is `name` (case-insensitive), else the only one
 * whose name contains it; 0 when none or ambiguous. */
int64_t cg_store_contact_find_name(struct cg_store *s, const char *name);

#endif
