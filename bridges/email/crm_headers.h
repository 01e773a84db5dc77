/*
 * crm_headers.h: the CRM context as mail header lines, for channels with
 * crm_context = "header".  The gateway (gateway/crm.c) owns what is said
 * about a sender; the email bridge owns how a mail header says it.
 */
#ifndef EMAIL_CRM_HEADERS_H
#define EMAIL_CRM_HEADERS_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

/*
 * The header lines: exactly "X-Coop-Sender-Org: ...",
 * "X-Coop-Sender-Layer: ...", "X-Coop-Sender-Since: YYYY-MM-DD" (ASCII;
 * RFC 2047 where needed); the Org line is left out for a contact without
 * an organisation.  *lines is malloc'd (free each and the array); *n = 0
 * for an unknown contact.  0 ok.
 */
int email_crm_headers(struct cg_store *s, int64_t contact_id, char ***lines,
                      size_t *n);

#endif
