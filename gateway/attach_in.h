/*
 * attach_in.h: the files of a message the gateway takes in.  pipeline.c
 * calls this inside the ingest transaction, after the message row:
 *   - bytes (an email attachment) go into the SchutzBox when it is open
 *     (gw->box), within the sender's quota (box.quota_mb); a file over it
 *     is kept as a CG_ATT_REFUSED row with a note, and the sender gets
 *     one notice per message naming the files, the quota and the usage;
 *     without a box (unit tests) the bytes stay in the row;
 *   - a file shared by URL in a room (url set, data NULL) becomes a
 *     CG_ATT_FETCH row the XMPP bridge fetches; the message's mail rows
 *     wait for it (cg_attach_in_fetching, CG_FETCH_WAIT).
 */
#ifndef CG_ATTACH_IN_H
#define CG_ATTACH_IN_H

#include <stdint.h>

struct cg_gateway;
struct cg_msg;
struct cg_cfg_channel;

/* Where the message's files belong. */
struct cg_attach_in {
	const struct cg_cfg_channel *ch;
	int64_t channel_id;
	int64_t message_id;  /* the stored message */
	int64_t contact_id;  /* its sender: whose quota */
	const char *msgid;   /* its Message-ID, no <> (the notice answers it) */
	const char *subject; /* the thread's subject, for the notice */
};

/*
 * Store m's attachments as rows of in->message_id (idx = position in
 * m->att).  0, or -1 when the SchutzBox or the store failed (logged,
 * naming the message and the file): the caller rolls the ingest back, so
 * the source is tried again and nothing is lost.
 */
int cg_attach_in_store(struct cg_gateway *gw, const struct cg_msg *m,
                       const struct cg_attach_in *in);

/* 1 when m carries a file shared by URL that is still to be fetched. */
int cg_attach_in_fetching(const struct cg_msg *m);

#endif
