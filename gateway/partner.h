/*
 * partner.h: partners over XMPP federation (config `partners`): a JID of a
 * partner's domain is a contact of that organisation at (at least) the
 * partner's layer.
 */
#ifndef CG_PARTNER_H
#define CG_PARTNER_H

#include <stdint.h>

#include "gateway/config.h"
#include "store/store.h"

/* The layer a sender counts at: its stored layer, raised to the partner's
 * layer when it is a partner's JID (the config never lowers one). */
enum cg_layer cg_partner_layer(const struct cg_cfg_partner *p,
                               enum cg_layer stored);
/* Inside the ingest transaction: make contact_id the partner's contact:
 * linked to the partner organisation when it has none, and its layer
 * raised to the partner's when below.  0, or -1 on a store error. */
int cg_partner_apply(struct cg_store *s, const struct cg_cfg_partner *p,
                     int64_t contact_id);

#endif
