/*
 * invoice_mail.h: the mail of an invoice or credit note (CONTRACT.md
 * "Invoice message"): a notice row the gateway linked to an invoice
 * (store: invoice_notice), composed as a direct message from
 * "SELLER" <billing@DOMAIN>, Reply-To the seller's address, with the
 * stored text/plain and text/html bodies, the stored XRechnung document
 * as NUMBER.xml and, for a purchase, the bought file from the SchutzBox.
 * Loop thread only (reads the store and the SchutzBox).
 */
#ifndef EMAIL_INVOICE_MAIL_H
#define EMAIL_INVOICE_MAIL_H

#include <stddef.h>

struct cg_gateway;
struct cg_notice;

/*
 * 1: notice n carries an invoice and *raw (length *len) holds the whole message
 * (caller frees); 0: it is no invoice's mail; -1: it is, but the store or
 * the SchutzBox failed (*err, caller frees: try again later).
 */
int email_invoice_mail(struct cg_gateway *gw, const struct cg_notice *n,
                       char **raw, size_t *len, char **err);

#endif
