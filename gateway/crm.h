/*
 * crm.h: CRM context about a sender, as outgoing mail carries it.
 * Implemented in gateway/crm.c.
 */
#ifndef CG_CRM_H
#define CG_CRM_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

/*
 * The footer line for channels with crm_context = "footer", e.g.
 * "— Alice Example · Example eG · core · 14 messages in 30 days · member
 * since 2025-03" (caller frees); NULL for an unknown contact.  The
 * organisation is left out when there is none; the count is the contact's
 * incoming interactions since now - 30 days; "member since" (members and
 * core), "partner since", "guest since" give the month of layer_since.
 */
char *cg_crm_footer(struct cg_store *s, int64_t contact_id, int64_t now);

/*
 * The contact's card, as `member show` prints it and `!who` answers it:
 * "Name:", "Email:", "JID:", "Organisation:", "Layer: L since DATE",
 * "Source:", "Created:", "Channel:" lines, tags, 30-day messages, last
 * seen, held posts, nominations, note, bounces; appended to out, one line
 * each.  0, or -1 when the contact cannot be read.
 */
struct cg_buf;
int cg_crm_card(struct cg_store *s, int64_t contact_id, struct cg_buf *out);

#endif
