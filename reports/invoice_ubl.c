/*
 * invoice_ubl.c: an invoice or credit note as an XRechnung 3.0 UBL
 * document (UBL 2.1 Invoice / CreditNote, CIUS XRechnung of EN 16931).
 * Written with libxml2's xmlTextWriter, so every text and attribute is
 * escaped by the library, never by hand; elements follow the UBL 2.1
 * schema's sequence (the validators check it).
 *
 * What the rules require and where it comes from: BT-10 buyer reference
 * (the buyer's, else the buyer's address), BT-34/BT-49 electronic
 * addresses (scheme EM: the seller's and the buyer's mail), seller
 * contact name, phone and mail (BR-DE-2, 5, 6, 7), seller VAT id or tax
 * number (BR-DE-16), cities and post codes (BR-DE-3, 4, 8, 9), payment
 * means 58 with the IBAN (BR-DE-19, 23), payment terms (BR-CO-25), the
 * invoice period, one tax subtotal per rate (category S, or Z at 0 %).
 * Must never: write an amount through floating point, or a document
 * whose totals differ from the struct's.
 */
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/money.h"
#include "lib/util.h"
#include "reports/invoice.h"

#define NS_INVOICE "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
#define NS_CREDIT "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#define NS_CAC                                                                 \
	"urn:oasis:names:specification:ubl:schema:xsd:"                        \
	"CommonAggregateComponents-2"
#define NS_CBC                                                                 \
	"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
#define PROFILE_ID "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

/* The writer and what every element needs; rc sticks at the first
 * libxml2 failure. */
struct ubl {
	xmlTextWriterPtr w;
	const struct cg_invoice *inv;
	int credit;
	int rc;
};

#define X(s) ((const xmlChar *)(s))

static void
check(struct ubl *u, int r)
{
	if (r < 0)
		u->rc = -1;
}

static void
open_el(struct ubl *u, const char *name)
{
	check(u, xmlTextWriterStartElement(u->w, X(name)));
}

static void
close_el(struct ubl *u)
{
	check(u, xmlTextWriterEndElement(u->w));
}

/* <name>text</name>; nothing when text is NULL or empty. */
static void
text_el(struct ubl *u, const char *name, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	check(u, xmlTextWriterWriteElement(u->w, X(name), X(text)));
}

static void
attr_el(struct ubl *u, const char *name, const char *attr, const char *value,
        const char *text)
{
	open_el(u, name);
	check(u, xmlTextWriterWriteAttribute(u->w, X(attr), X(value)));
	check(u, xmlTextWriterWriteString(u->w, X(text)));
	close_el(u);
}

static void
amount_el(struct ubl *u, const char *name, int64_t cents)
{
	char a[CG_MONEY_TEXT];
	attr_el(u, name, "currencyID", u->inv->currency,
	        cg_money_fmt(cents, a));
}

static void
period_el(struct ubl *u, const char *start, const char *end)
{
	if (!*start && !*end)
		return;
	open_el(u, "cac:InvoicePeriod");
	text_el(u, "cbc:StartDate", start);
	text_el(u, "cbc:EndDate", end);
	close_el(u);
}

static void
tax_category(struct ubl *u, const char *el, int bp)
{
	char p[CG_MONEY_TEXT];
	open_el(u, el);
	text_el(u, "cbc:ID", bp > 0 ? "S" : "Z");
	text_el(u, "cbc:Percent", cg_vat_fmt(bp, 1, p));
	open_el(u, "cac:TaxScheme");
	text_el(u, "cbc:ID", "VAT");
	close_el(u);
	close_el(u);
}

static void
address_el(struct ubl *u, const struct cg_party *p)
{
	open_el(u, "cac:PostalAddress");
	text_el(u, "cbc:StreetName", p->street);
	text_el(u, "cbc:CityName", p->city);
	text_el(u, "cbc:PostalZone", p->postcode);
	open_el(u, "cac:Country");
	text_el(u, "cbc:IdentificationCode", p->country);
	close_el(u);
	close_el(u);
}

static void
tax_scheme_el(struct ubl *u, const char *id, const char *scheme)
{
	if (id == NULL || *id == '\0')
		return;
	open_el(u, "cac:PartyTaxScheme");
	text_el(u, "cbc:CompanyID", id);
	open_el(u, "cac:TaxScheme");
	text_el(u, "cbc:ID", scheme);
	close_el(u);
	close_el(u);
}

static void
party_el(struct ubl *u, const char *role, const struct cg_party *p, int seller)
{
	open_el(u, role);
	open_el(u, "cac:Party");
	if (p->email && *p->email)
		attr_el(u, "cbc:EndpointID", "schemeID", "EM", p->email);
	address_el(u, p);
	tax_scheme_el(u, p->vat_id, "VAT");
	if (seller)
		tax_scheme_el(u, p->tax_number, "FC");
	open_el(u, "cac:PartyLegalEntity");
	text_el(u, "cbc:RegistrationName", p->name);
	close_el(u);
	if (seller) {
		open_el(u, "cac:Contact");
		text_el(u, "cbc:Name", p->contact);
		text_el(u, "cbc:Telephone", p->phone);
		text_el(u, "cbc:ElectronicMail", p->email);
		close_el(u);
	}
	close_el(u);
	close_el(u);
}

static void
payment_el(struct ubl *u)
{
	const struct cg_invoice *inv = u->inv;
	const struct cg_party *s = &inv->seller_party;
	open_el(u, "cac:PaymentMeans");
	text_el(u, "cbc:PaymentMeansCode", "58");
	if (u->credit)
		text_el(u, "cbc:PaymentDueDate", inv->due_day);
	text_el(u, "cbc:PaymentID", inv->number);
	open_el(u, "cac:PayeeFinancialAccount");
	char iban[40];
	cg_iban_compact(s->iban, iban, sizeof iban);
	text_el(u, "cbc:ID", iban);
	text_el(u, "cbc:Name", s->name);
	if (s->bic && *s->bic) {
		open_el(u, "cac:FinancialInstitutionBranch");
		text_el(u, "cbc:ID", s->bic);
		close_el(u);
	}
	close_el(u);
	close_el(u);
	open_el(u, "cac:PaymentTerms");
	char *note =
	    u->credit
	        ? cg_asprintf("Credit note for invoice %s: the amount "
	                      "is refunded by %s.",
	                      inv->cancels_number ? inv->cancels_number : "",
	                      inv->due_day)
	        : cg_asprintf("Payable without deduction by %s.", inv->due_day);
	text_el(u, "cbc:Note", note);
	free(note);
	close_el(u);
}

static void
totals_el(struct ubl *u)
{
	const struct cg_invoice *inv = u->inv;
	struct cg_vat_group g[CG_VAT_GROUPS_MAX];
	int n = cg_invoice_vat_groups(inv, g, CG_VAT_GROUPS_MAX);
	if (n < 0) {
		u->rc = -1;
		return;
	}
	open_el(u, "cac:TaxTotal");
	amount_el(u, "cbc:TaxAmount", inv->vat_cents);
	for (int k = 0; k < n; k++) {
		open_el(u, "cac:TaxSubtotal");
		amount_el(u, "cbc:TaxableAmount", g[k].net_cents);
		amount_el(u, "cbc:TaxAmount", g[k].vat_cents);
		tax_category(u, "cac:TaxCategory", g[k].vat_bp);
		close_el(u);
	}
	close_el(u);
	open_el(u, "cac:LegalMonetaryTotal");
	amount_el(u, "cbc:LineExtensionAmount", inv->net_cents);
	amount_el(u, "cbc:TaxExclusiveAmount", inv->net_cents);
	amount_el(u, "cbc:TaxInclusiveAmount", inv->gross_cents);
	amount_el(u, "cbc:PayableAmount", inv->gross_cents);
	close_el(u);
}

static void
line_el(struct ubl *u, size_t i)
{
	const struct cg_invoice_line *l = &u->inv->lines[i];
	char id[24], q[CG_MONEY_TEXT];
	snprintf(id, sizeof id, "%zu", i + 1);
	open_el(u, u->credit ? "cac:CreditNoteLine" : "cac:InvoiceLine");
	text_el(u, "cbc:ID", id);
	text_el(u, "cbc:Note", l->note);
	attr_el(u, u->credit ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity",
	        "unitCode", l->unit, cg_qty_fmt(l->qty_milli, q));
	amount_el(u, "cbc:LineExtensionAmount", l->net_cents);
	period_el(u, l->period_start, l->period_end);
	open_el(u, "cac:Item");
	text_el(u, "cbc:Name", l->name);
	tax_category(u, "cac:ClassifiedTaxCategory", l->vat_bp);
	close_el(u);
	open_el(u, "cac:Price");
	amount_el(u, "cbc:PriceAmount", l->price_cents);
	close_el(u);
	close_el(u);
}

static void
header_el(struct ubl *u)
{
	const struct cg_invoice *inv = u->inv;
	text_el(u, "cbc:CustomizationID", CG_XRECHNUNG_ID);
	text_el(u, "cbc:ProfileID", PROFILE_ID);
	text_el(u, "cbc:ID", inv->number);
	text_el(u, "cbc:IssueDate", inv->issue_day);
	if (!u->credit)
		text_el(u, "cbc:DueDate", inv->due_day);
	text_el(u, u->credit ? "cbc:CreditNoteTypeCode" : "cbc:InvoiceTypeCode",
	        u->credit ? "381" : "380");
	text_el(u, "cbc:Note", inv->reason);
	text_el(u, "cbc:DocumentCurrencyCode", inv->currency);
	const struct cg_party *b = &inv->buyer_party;
	text_el(u, "cbc:BuyerReference",
	        b->buyer_ref && *b->buyer_ref ? b->buyer_ref : b->email);
	period_el(u, inv->period_start, inv->period_end);
	if (u->credit && inv->cancels_number) {
		open_el(u, "cac:BillingReference");
		open_el(u, "cac:InvoiceDocumentReference");
		text_el(u, "cbc:ID", inv->cancels_number);
		text_el(u, "cbc:IssueDate", inv->cancels_day);
		close_el(u);
		close_el(u);
	}
}

static void
document(struct ubl *u)
{
	check(u, xmlTextWriterStartDocument(u->w, "1.0", "UTF-8", NULL));
	check(u, xmlTextWriterStartElementNS(
	             u->w, X("ubl"), X(u->credit ? "CreditNote" : "Invoice"),
	             X(u->credit ? NS_CREDIT : NS_INVOICE)));
	check(u, xmlTextWriterWriteAttribute(u->w, X("xmlns:cac"), X(NS_CAC)));
	check(u, xmlTextWriterWriteAttribute(u->w, X("xmlns:cbc"), X(NS_CBC)));
	header_el(u);
	party_el(u, "cac:AccountingSupplierParty", &u->inv->seller_party, 1);
	party_el(u, "cac:AccountingCustomerParty", &u->inv->buyer_party, 0);
	payment_el(u);
	totals_el(u);
	for (size_t i = 0; i < u->inv->nlines; i++)
		line_el(u, i);
	close_el(u);
	check(u, xmlTextWriterEndDocument(u->w));
}

unsigned char *
cg_invoice_ubl(const struct cg_invoice *inv, size_t *len)
{
	xmlBufferPtr buf = xmlBufferCreate();
	if (buf == NULL)
		return NULL;
	xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
	if (w == NULL) {
		xmlBufferFree(buf);
		return NULL;
	}
	struct ubl u = {w, inv, inv->type_code == 381, 0};
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterSetIndentString(w, X("  "));
	document(&u);
	xmlFreeTextWriter(w); /* flushes into buf */
	unsigned char *out = NULL;
	if (u.rc == 0) {
		size_t n = (size_t)xmlBufferLength(buf);
		out = cg_malloc(n + 1);
		memcpy(out, xmlBufferContent(buf), n);
		out[n] = '\0';
		*len = n;
	}
	xmlBufferFree(buf);
	return out;
}
