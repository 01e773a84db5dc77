/*
 * invoice.h: invoices and credit notes as documents.  Pure functions from
 * a loaded struct cg_invoice (store/billing.h) to bytes: the XRechnung 3.0
 * UBL document (invoice_ubl.c, libxml2's xmlTextWriter), the text/plain
 * and text/html bodies of its mail (invoice_text.c), and the totals the
 * three of them and the store agree on (invoice_totals.c).
 * No store, no network, no clock: the same struct gives the same bytes.
 */
#ifndef CG_REPORTS_INVOICE_H
#define CG_REPORTS_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include "store/billing.h"

#define CG_XRECHNUNG_ID                                                        \
	"urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3." \
	"0"

/* The VAT breakdown (EN 16931 BG-23): per rate, the sum of that rate's
 * line nets and the VAT on that sum, rounded half up once. */
struct cg_vat_group {
	int vat_bp;
	int64_t net_cents, vat_cents;
};
/* Groups of inv's lines into out (at most max, ascending rate); returns
 * how many (at most max: more rates than that are an error, -1). */
int cg_invoice_vat_groups(const struct cg_invoice *inv,
                          struct cg_vat_group *out, int max);
#define CG_VAT_GROUPS_MAX 8
/* Set each line's net (qty x price, half up) and inv's net, VAT and
 * gross from its lines; -1 with more than CG_VAT_GROUPS_MAX rates. */
int cg_invoice_total(struct cg_invoice *inv);

/* The UBL document (Invoice 380 or CreditNote 381), UTF-8; *len its
 * length; caller frees.  NULL when libxml2 fails. */
unsigned char *cg_invoice_ubl(const struct cg_invoice *inv, size_t *len);
/* The mail's text/plain and text/html bodies (caller frees). */
char *cg_invoice_text(const struct cg_invoice *inv);
char *cg_invoice_html(const struct cg_invoice *inv);
/* The one-line chat summary: "Invoice NUMBER from SELLER: 95.20 EUR,
 * due 2024-12-15" (caller frees). */
char *cg_invoice_chat_line(const struct cg_invoice *inv);

#endif
