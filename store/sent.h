/*
 * sent.h: what the gateway mailed to whom, as bounce attribution asks it
 * (store/sent.c, over the message and outbox tables): which stored
 * message a returned Message-ID is, whether it went to an address, and
 * to whom it went.
 */
#ifndef CG_STORE_SENT_H
#define CG_STORE_SENT_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

/* The stored message whose Message-ID is msgid (with or without <>):
 * 1 found (*id), 0 none, -1 error. */
int cg_store_sent_message(struct cg_store *s, const char *msgid, int64_t *id);
/* Whether message id has an email outbox row for address (any case):
 * 1 yes, 0 no, -1 error. */
int cg_store_sent_to(struct cg_store *s, int64_t id, const char *address);
/* The email recipients of message id (at most max), into *out (caller
 * frees each and the array) and *n: 0, or -1 on error. */
int cg_store_sent_recipients(struct cg_store *s, int64_t id, size_t max,
                             char ***out, size_t *n);

#endif
