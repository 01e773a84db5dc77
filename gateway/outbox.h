/*
 * outbox.h: delivering outbox rows through the bridges, with retries.
 * A row is pending until a bridge reports it delivered (done, with the far
 * side's id) or it fails permanently / too often (dead, keeping the error).
 */
#ifndef CG_OUTBOX_H
#define CG_OUTBOX_H

#include <stdint.h>

struct cg_gateway;
struct cg_cfg_outbox;

/*
 * Delay in ms before attempt number `attempts` + 1, after `attempts` failed
 * ones: base * 2^(attempts-1), capped at max, with jitter in [-25%, +25%]
 * drawn from `rnd` (uniform in [0, 1)).
 */
int64_t cg_outbox_backoff_ms(const struct cg_cfg_outbox *o, int attempts,
                             double rnd);
/* Deliver what is due on every ready bridge; returns the monotonic ms at
 * which rows next fall due (0: none pending). */
int64_t cg_outbox_run(struct cg_gateway *gw);
/* Rows of a bridge being delivered right now are not handed out twice. */
int cg_outbox_inflight(struct cg_gateway *gw, int64_t row_id);

/*
 * A notice to one person by XMPP chat (outbox bridge "xmpp", destination
 * their bare JID), from the channel's request address (noreply@domain
 * without a channel), and wake the outbox.  subject and body are the
 * caller's (copied).  auto_submitted: "auto-replied" or "auto-generated".
 */
struct cg_cfg_channel;
int cg_outbox_chat_notice(struct cg_gateway *gw,
                          const struct cg_cfg_channel *ch, int64_t channel_id,
                          const char *jid, const char *subject,
                          const char *body, const char *auto_submitted);

#endif
