/*
 * gateway.h: the one struct cg_gateway passed around (no other global
 * mutable state), and the calls bridges make into the gateway.
 */
#ifndef CG_GATEWAY_H
#define CG_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config.h"
#include "gateway/msg.h"

struct cg_store;
struct cg_box;
struct cg_loop;
struct cg_bridge;

#define CG_MAX_BRIDGES 4
#define CG_MAX_POLLFDS 1024
/* A room's open chat thread closes after this much quiet (seconds). */
#define CG_CHAT_THREAD_QUIET (30 * 60)
/* A file shared in the room by URL is fetched within this many seconds
 * (bridges/xmpp/fetch.c); the mail rows of its line wait at most this
 * long (or chat_batch, when longer) for it, and are moved to their
 * normal due time once it is fetched. */
#define CG_FETCH_WAIT 90

struct cg_gateway {
	struct cg_config *cfg;  /* owned; replaced on SIGHUP */
	struct cg_store *store; /* owned */
	struct cg_box *box;     /* owned; the SchutzBox (NULL in unit tests
	                           that need none: attachments then stay
	                           in the store's rows) */
	struct cg_loop *loop;   /* owned */
	struct cg_bridge *bridges[CG_MAX_BRIDGES];
	size_t nbridges;
	int outbox_kick;        /* set when new rows are due now */
	int64_t outbox_due;     /* monotonic ms the outbox next wants a run */
	uint64_t reports_timer; /* the weekly reports' check (reports.c) */
	int64_t *inflight;      /* outbox rows a bridge is delivering */
	size_t ninflight;
	/* Which bridge asked for each pollfd of the current loop turn. */
	struct cg_bridge *turn_owner[CG_MAX_POLLFDS];
};

/* What the pipeline decided about one message. */
enum cg_ingest_result {
	CG_INGEST_STORED,    /* stored; outbox rows written */
	CG_INGEST_DUPLICATE, /* already stored: nothing written */
	CG_INGEST_DROPPED,   /* stored nothing on purpose (loop, auto, no
	                        channel); the source may be acknowledged */
	CG_INGEST_ERROR,     /* nothing stored; do not acknowledge */
};

struct cg_ingest_info {
	int64_t message_id; /* stored message (or the duplicate's original) */
	int64_t thread_id;
	int64_t parent_id;
	int64_t contact_id;
	int new_thread;
	size_t outbox_rows;
	const char *reason; /* why dropped/error, static string */
};

/*
 * The pipeline (pipeline.c): dedup, route, thread, authorize, then ONE
 * transaction with message + thread + interaction + outbox rows.  When
 * `extra` is non-NULL it runs inside the same transaction after the message
 * is written (bridges use it to store their watermark atomically); a
 * non-zero return rolls everything back.
 */
typedef int cg_ingest_extra_fn(struct cg_gateway *gw, void *arg);
enum cg_ingest_result cg_gateway_ingest(struct cg_gateway *gw, struct cg_msg *m,
                                        cg_ingest_extra_fn *extra, void *arg,
                                        struct cg_ingest_info *info);
/*
 * A correction (XEP-0308) of stored message `original`, which the bridge
 * has checked comes from the original's author: the stored text becomes
 * m's.  Mail rows of the original that still wait then carry the new
 * text; when one already went out (done, or being sent now), m is also
 * stored as a new message in the original's thread, replying to it, its
 * text marked "(corrected) ", so members get it (info->message_id is then
 * that new message, else the original).  m->ext_id is the correction's own
 * id (dedup: a replayed correction is CG_INGEST_DUPLICATE).  `extra` as in
 * cg_gateway_ingest().
 */
enum cg_ingest_result cg_gateway_correct(struct cg_gateway *gw,
                                         int64_t original, struct cg_msg *m,
                                         cg_ingest_extra_fn *extra, void *arg,
                                         struct cg_ingest_info *info);
/* The same decisions without writing (for `coopgate inspect`). */
enum cg_ingest_result cg_gateway_decide(struct cg_gateway *gw, struct cg_msg *m,
                                        struct cg_ingest_info *info);

/* Bridges report connection state (stored for `coopgate status`). */
void cg_gateway_bridge_state(struct cg_gateway *gw, const char *bridge,
                             int connected, const char *error);
/* A bridge finishes an outbox row it reported as CG_INFLIGHT. */
struct cg_outbox_item;
void cg_outbox_complete(struct cg_gateway *gw, struct cg_outbox_item *d);
/* The same for d[0..n), recorded in one store transaction (a fan-out's
 * thousand results cost one commit, not a thousand). */
void cg_outbox_complete_many(struct cg_gateway *gw, struct cg_outbox_item *d,
                             size_t n);

/* Message-ID for a message created by the gateway: "cg.TOKEN.N@domain". */
char *cg_gateway_message_id(const struct cg_gateway *gw,
                            const char *thread_token);

#endif
