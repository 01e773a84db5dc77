/*
 * msg.h: the normalized message (cg_msg).  Each bridge turns what it
 * receives into one cg_msg; the gateway (pipeline.c) decides everything else.
 * A cg_msg owns all its strings; cg_msg_free() releases them.
 */
#ifndef CG_MSG_H
#define CG_MSG_H

#include <stddef.h>
#include <stdint.h>

enum cg_network { CG_NET_EMAIL = 1, CG_NET_XMPP = 2 };
const char *cg_network_name(enum cg_network n); /* "email" | "xmpp" */

/* Flags set by bridges (parsing) and the pipeline (decisions). */
enum cg_msg_flag {
	CG_MSG_AUTO = 1 << 0,      /* auto-generated: never relay */
	CG_MSG_BOUNCE = 1 << 1,    /* a DSN to +bounce-TOKEN */
	CG_MSG_DUPLICATE = 1 << 2, /* external id already stored */
	CG_MSG_OVERSIZE = 1 << 3,  /* over imap.max_message_size */
	CG_MSG_HELD = 1 << 4,      /* sender below the channel's post_layer */
	CG_MSG_LOOP = 1 << 5,      /* carries our own Message-ID / List-Id */
	CG_MSG_REQUEST = 1 << 6,   /* to CHANNEL+request@: commands */
	CG_MSG_NOCHANNEL = 1 << 7, /* no known channel address */
	CG_MSG_UNPARSED = 1 << 8,  /* MIME nested or split past the limits
	                              (mime.c): headers read, body not
	                              parsed; the room gets the subject */
	CG_MSG_SENDER_VERIFIED = 1 << 9, /* the bridge proved the sender:
	                                   mail by sender_auth.h, a room
	                                   line by the occupant's real JID */
	CG_MSG_UNVERIFIED = 1 << 10,     /* held: a known sender without that
	                                    proof (posting.sender_proof) */
	/* Bits 11-12 are free. */
	CG_MSG_NO_REPLY = 1 << 13, /* the bridge says: never answer the sender
	                              (a robot, our own domain, no address) */
};
/* Comma-separated flag names into buf ("auto-generated,duplicate"). */
struct cg_buf;
void cg_msg_flags_format(unsigned flags, struct cg_buf *out);

struct cg_attachment {
	char *name; /* file name, may be NULL */
	char *type; /* "application/pdf" */
	unsigned char *data;
	size_t size;
	char *url; /* xmpp: a file shared by URL, to be fetched (data
	              NULL); the pipeline stores it as CG_ATT_FETCH */
};

struct cg_msg {
	enum cg_network network;
	char *ext_id;      /* Message-ID without <> (email); origin-id or
	                      stanza-id (xmpp) */
	char *channel;     /* channel name, set by the bridge or router */
	char *sender_addr; /* email address or bare/real JID, lower case */
	char *sender_name; /* display name, UTF-8, may be NULL */
	char *subject;     /* UTF-8, may be NULL */
	char *text;        /* full text, UTF-8 */
	char *trimmed;     /* text for the room (quotes/signature trimmed) */
	char **refs;       /* ids this replies to, oldest first */
	size_t nrefs;
	char **rcpts; /* recipient addresses seen (To, Cc, Delivered-To,
	                 X-Original-To), lower case */
	size_t nrcpts;
	struct cg_attachment *att;
	size_t natt;
	unsigned flags;
	char *thread_key; /* xmpp <thread> value, if any */
	char *list_id;    /* email List-Id value without <>, if any */
	char *raw;        /* the original bytes (email), kept in the store */
	size_t rawlen;
	int64_t received; /* unix seconds */
};

void cg_msg_free(struct cg_msg *m); /* frees members, not m; NULL ok */
/*
 * What a message keeps of hostile header lists, so that threading and
 * routing stay cheap: the first reference (the thread's root) and the
 * newest ones up to CG_MSG_MAX_REFS in all, the first CG_MSG_MAX_RCPTS
 * recipients.  Both skip NULL, "" and duplicates (recipients: ignoring
 * case; stored in lower case).  Linear in the number of calls.
 */
#define CG_MSG_MAX_REFS 100
#define CG_MSG_MAX_RCPTS 1000
void cg_msg_add_ref(struct cg_msg *m, const char *id);
void cg_msg_add_rcpt(struct cg_msg *m, const char *addr);

#endif
