/*
 * partner.c: partners over XMPP federation.  The pipeline asks here what a
 * partner's JID counts as, and makes its contact that organisation's, at
 * that layer, the first time (and each time) it speaks.  A nomination or
 * `member set-layer` may raise the contact above the partner's layer; the
 * config never lowers it, and an organisation set by hand is kept.
 * Must never: lower a layer, or touch a contact that is not a partner's.
 */
#include <stdlib.h>

#include "gateway/partner.h"
#include "lib/log.h"

enum cg_layer
cg_partner_layer(const struct cg_cfg_partner *p, enum cg_layer stored)
{
	return p && p->layer > stored ? p->layer : stored;
}

int
cg_partner_apply(struct cg_store *s, const struct cg_cfg_partner *p,
                 int64_t contact_id)
{
	struct cg_contact c;
	if (p == NULL || contact_id == 0)
		return 0;
	if (cg_store_contact_get(s, contact_id, &c) != 0)
		return -1;
	int rc = 0;
	if (c.org == NULL || *c.org == '\0') {
		rc = cg_store_contact_set_org(s, contact_id, p->org);
		if (rc == 0)
			cg_info("partner: %s is a contact of %s",
			        c.njids  ? c.jids[0]
			        : c.name ? c.name
			                 : "?",
			        p->org);
	}
	if (rc == 0 && c.layer < p->layer)
		rc = cg_store_contact_set_layer(s, contact_id, p->layer,
		                                "partner");
	cg_contact_free(&c);
	return rc;
}
