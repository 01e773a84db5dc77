/*
 * config.h: the one typed view of coopgate.conf (libconfig syntax).  Every
 * key of CONTRACT.md's config section has a field here; gateway/config.c is
 * the only code that calls libconfig.
 *
 * Ownership: cg_config_load() fills a struct the caller owns and releases
 * with cg_config_free().  Secrets read from *_file keys live only in the
 * `*_secret` fields; nothing logs them.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/names.h"

enum cg_tls { CG_TLS_IMPLICIT, CG_TLS_STARTTLS, CG_TLS_NONE };
enum cg_crm_context { CG_CRM_FOOTER, CG_CRM_HEADER, CG_CRM_NONE };
enum cg_xmpp_mode { CG_XMPP_CLIENT, CG_XMPP_COMPONENT };
/* smtp.verp: how list mail names its recipients in the envelope sender
 * (bridges/email/fanout.h). */
enum cg_verp_mode { CG_VERP_XVERP, CG_VERP_ALWAYS, CG_VERP_PROBE };

/* The layer and delivery names are lib/names.h's. */
const char *cg_tls_name(enum cg_tls t);

struct cg_cfg_gateway {
	char *domain;    /* "lists.example.org" */
	char *data_dir;  /* default "/var/lib/coopgate" */
	char *log_level; /* error|warn|info|debug, default "info" */
};

struct cg_cfg_imap {
	int present;
	char *host;
	int port;        /* default 993 (implicit), 143 otherwise */
	enum cg_tls tls; /* default implicit */
	char *user;
	char *password_file;       /* NULL when password given inline */
	char *password;            /* the secret (from the file or inline) */
	char *mailbox;             /* default "INBOX" */
	char *processed_mailbox;   /* optional: move here instead of \Seen */
	char *ca_file;             /* NULL: system store */
	char *trusted_authserv_id; /* optional */
	int64_t max_message_size;  /* bytes, default 25 MB */
	int poll_interval;         /* ms; 0 (default): wait with IDLE */
};

struct cg_cfg_smtp {
	int present;
	char *host;
	int port;        /* default 587 (starttls), 465 implicit, 25 none */
	enum cg_tls tls; /* default starttls */
	char *user;      /* optional: no AUTH without it */
	char *password_file;
	char *password;
	char *ca_file;
	int64_t max_attachment_size; /* bytes, default 10 MB */
	int max_recipients;          /* per batched transaction, default 100 */
	enum cg_verp_mode verp;      /* default xverp: XVERP, else batches */
};

/* lmtp = { ... }: mail delivered by the MTA over LMTP (lmtp_in.c). */
enum cg_lmtp_family { CG_LMTP_UNIX, CG_LMTP_TCP };
struct cg_cfg_lmtp {
	int present;
	char *listen; /* as written: "unix:PATH" or "HOST:PORT" */
	enum cg_lmtp_family family;
	char *path;       /* unix: the socket's path */
	char *host;       /* tcp: a numeric address (no brackets) */
	int port;         /* tcp */
	char *group;      /* unix: the socket's group; NULL: "postfix"
	                     when that group exists */
	int allow_remote; /* bool: may a TCP listener leave loopback */
	int timeout;      /* seconds a client may stay silent, 300 */
	int line;         /* line of lmtp.listen, for messages */
};

struct cg_cfg_xmpp {
	int present;
	enum cg_xmpp_mode mode; /* default client */
	char *jid;
	char *password_file;
	char *password;
	char *host;      /* optional */
	int port;        /* default 5222 (client), 5347 (component) */
	enum cg_tls tls; /* "required" -> CG_TLS_STARTTLS, "none" */
	char *ca_file;
	char *nick;             /* default "gateway" */
	char *upload_service;   /* optional */
	char *component_domain; /* component mode */
	char *component_secret_file;
	char *component_secret;
	int fetch_external; /* bool, default 0 */
};

struct cg_cfg_channel {
	char *name;
	char *address; /* must be inside gateway.domain */
	char *room;    /* a bare JID */
	char *description;
	enum cg_layer post_layer;        /* default member */
	enum cg_crm_context crm_context; /* default footer */
	int chat_batch;                  /* seconds, default 120 */
	int chat_batch_max; /* seconds a chat line waits at most for the room
	                       to be quiet; default 5 x chat_batch, never
	                       less than chat_batch */
	int line;           /* line in the config file, for messages */
};

struct cg_cfg_member {
	char *address;
	char *name;
	char *jid;
	enum cg_layer layer; /* default member */
	char *org;
	char **channels;
	size_t nchannels;
	enum cg_delivery delivery; /* default each */
	int line;
};

/* partners = ( { domain; org; layer; } ): a JID of `domain` seen in a
 * room is a contact of organisation `org` at (at least) `layer`. */
struct cg_cfg_partner {
	char *domain; /* lower case */
	char *org;
	enum cg_layer layer; /* default partner */
	int line;
};

struct cg_cfg_outbox {
	int max_attempts; /* default 10, then dead-letter */
	int retry_base;   /* seconds, default 30 */
	int retry_max;    /* seconds, default 3600 */
};

/* posting = { ... }: what makes a list post count as its sender's. */
struct cg_cfg_posting {
	int sender_proof;     /* posting.sender_proof: 1 "required" (default),
	                         0 "off" (From: alone, the old way) */
	char *dkim_keys_file; /* posting.dkim_keys_file: DKIM keys from a
	                         file instead of DNS (tests, offline) */
};

/* billing { ... } (CONTRACT.md "Billing, invoices and reports").  Amounts
 * are kept as parsed cents, VAT rates as basis points (lib/money.h). */
struct cg_cfg_seller {
	char *code, *name, *street, *postcode, *city, *country;
	char *vat_id, *tax_number; /* at least one */
	char *email, *phone, *contact, *iban, *bic;
	char *series;     /* "EX-{YYYY}-", default "{CODE}-{YYYY}-" */
	int payment_days; /* default 14 */
	char **workers;   /* addresses whose time this seller bills */
	size_t nworkers;
	int line;
};

struct cg_cfg_rate {
	char *code, *name, *unit, *seller, *buyer; /* buyer may be NULL */
	char *price_text, *vat_text;
	int64_t price_cents;
	int vat_bp;
	int line;
};

struct cg_cfg_plan {
	char *code, *name, *seller;
	char *price_text, *vat_text;
	int64_t price_cents;
	int vat_bp;
	int line;
};

struct cg_cfg_billing {
	int present;
	char *currency; /* default "EUR" */
	int run_day;    /* 1-28, default 1 */
	struct cg_cfg_seller *sellers;
	size_t nsellers;
	struct cg_cfg_rate *rates;
	size_t nrates;
	struct cg_cfg_plan *plans;
	size_t nplans;
};

/* reports { weekly; recipients; unanswered_after; } (CONTRACT.md). */
struct cg_cfg_reports {
	int present;
	int weekday; /* weekly: 0 = Monday .. 6 = Sunday; -1: none */
	int minute;  /* weekly: minutes after 00:00 (UTC) */
	enum cg_layer recipients_layer; /* recipients = "core": its members */
	char **recipients; /* recipients = [addresses]; NULL: the layer */
	size_t nrecipients;
	int64_t unanswered_after; /* seconds, default 172800 (2 days) */
	int line;
};

struct cg_config {
	char *path; /* the file loaded */
	struct cg_cfg_gateway gateway;
	struct cg_cfg_imap imap;
	struct cg_cfg_smtp smtp;
	struct cg_cfg_xmpp xmpp;
	struct cg_cfg_lmtp lmtp;
	struct cg_cfg_channel *channels;
	size_t nchannels;
	struct cg_cfg_member *members;
	size_t nmembers;
	struct cg_cfg_outbox outbox;
	struct cg_cfg_posting posting;
	struct cg_cfg_partner *partners;
	size_t npartners;
	int nominations_required; /* onboarding.nominations_required, default 2
	                           */
	int64_t box_quota_mb;     /* box.quota_mb, default 0 = unlimited */
	struct cg_cfg_billing billing;
	struct cg_cfg_reports reports;
};

/* One problem found while loading: "FILE:LINE: message". */
struct cg_config_error {
	char *file;
	int line; /* 0 when no line applies */
	char *message;
};

struct cg_config_errors {
	struct cg_config_error *v;
	size_t n;
};

/*
 * Parse and validate `path`.  Collects every problem found (not only the
 * first) into errs.  Returns 0 when the config is valid, -1 otherwise; on -1
 * cfg may be partially filled and must still be freed.
 */
int cg_config_load(const char *path, struct cg_config *cfg,
                   struct cg_config_errors *errs);
void cg_config_free(struct cg_config *cfg);
/* The member list is needed only until cg_sync_config has written it to
 * the store (the store is what the running daemon reads): the daemon drops
 * it then, which keeps 10,000 members' strings out of its memory. */
void cg_config_drop_members(struct cg_config *cfg);
void cg_config_errors_free(struct cg_config_errors *errs);
/* Print "FILE:LINE: message" lines to the stream. */
void cg_config_errors_print(const struct cg_config_errors *errs, void *stream);

/* Lookup helpers. */
const struct cg_cfg_channel *cg_config_channel(const struct cg_config *cfg,
                                               const char *name);
/* The partner whose domain is the domain of `jid` (a bare or full JID,
 * any case), or NULL. */
const struct cg_cfg_partner *cg_config_partner(const struct cg_config *cfg,
                                               const char *jid);
/* Billing lookups by code (case-sensitive); NULL when unknown. */
const struct cg_cfg_seller *cg_config_seller(const struct cg_config *cfg,
                                             const char *code);
const struct cg_cfg_rate *cg_config_rate(const struct cg_config *cfg,
                                         const char *code);
const struct cg_cfg_plan *cg_config_plan(const struct cg_config *cfg,
                                         const char *code);
/* Pick the config path: -c, then $COOPGATE_CONFIG, ./coopgate.conf,
 * /etc/coopgate/coopgate.conf.  Returns a static or argument string. */
const char *cg_config_default_path(const char *opt);

#endif
