/*
 * test_invoice_doc.c: exact money (lib/money.c), invoice totals and the
 * XRechnung UBL, text and HTML documents (reports/).  With env
 * INVOICE_OUT_DIR set, the documents written here are also saved there
 * for the official validation (make validate-invoices).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/money.h"
#include "lib/util.h"
#include "reports/invoice.h"

static void
test_money_parse_is_strict_about_decimals(void **state)
{
	int64_t c;
	assert_int_equal(cg_money_parse("80.00", &c), 0);
	assert_int_equal(c, 8000);
	assert_int_equal(cg_money_parse("80.5", &c), 0);
	assert_int_equal(c, 8050);
	assert_int_equal(cg_money_parse("7", &c), 0);
	assert_int_equal(c, 700);
	assert_int_equal(cg_money_parse("-3.10", &c), 0);
	assert_int_equal(c, -310);
	const char *bad[] = {
	    "80.001", "",   ".",    "5.",  "1e3",
	    " 5",     "5 ", "1,50", "--1", "99999999999999999999",
	    NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(cg_money_parse(bad[i], &c), -1);
	int64_t q;
	assert_int_equal(cg_qty_parse("1.25", &q), 0);
	assert_int_equal(q, 1250);
	assert_int_equal(cg_qty_parse("0.125", &q), 0);
	assert_int_equal(q, 125);
	assert_int_equal(cg_qty_parse("1.2345", &q), -1);
	int bp;
	assert_int_equal(cg_vat_parse("19", &bp), 0);
	assert_int_equal(bp, 1900);
	assert_int_equal(cg_vat_parse("5.5", &bp), 0);
	assert_int_equal(bp, 550);
	assert_int_equal(cg_vat_parse("101", &bp), -1);
	assert_int_equal(cg_vat_parse("-7", &bp), -1);
}

static void
test_money_formats_and_rounds_half_up(void **state)
{
	char b[CG_MONEY_TEXT];
	assert_string_equal(cg_money_fmt(8000, b), "80.00");
	assert_string_equal(cg_money_fmt(-5, b), "-0.05");
	assert_string_equal(cg_qty_fmt(1250, b), "1.25");
	assert_string_equal(cg_qty_fmt(2000, b), "2");
	assert_string_equal(cg_vat_fmt(1900, 0, b), "19");
	assert_string_equal(cg_vat_fmt(1900, 1, b), "19.00");
	assert_string_equal(cg_vat_fmt(550, 0, b), "5.5");
	/* 0.333 h x 10.00 = 3.33; 0.125 x 0.10 = 0.0125 -> 0.01; half: up */
	assert_int_equal(cg_line_net(333, 1000), 333);
	assert_int_equal(cg_line_net(125, 10), 1);
	assert_int_equal(cg_line_net(500, 1), 1); /* 0.5 cent -> 1 */
	assert_int_equal(cg_line_net(499, 1), 0);
	assert_int_equal(cg_vat_of(250, 1900), 48); /* 47.5 -> 48 */
	assert_int_equal(cg_vat_of(-250, 1900), -48);
	assert_int_equal(cg_div_round(-5, 10), -1);
}

static void
test_iban_checksum(void **state)
{
	assert_true(cg_iban_valid("DE02120300000000202051"));
	assert_true(cg_iban_valid("DE02 1203 0000 0000 2020 51"));
	assert_true(cg_iban_valid("GB29NWBK60161331926819"));
	assert_false(cg_iban_valid("DE03120300000000202051"));
	assert_false(cg_iban_valid("DE0212030000000020205"));
	assert_false(cg_iban_valid("DE02-12030000000020205"));
	assert_false(cg_iban_valid(""));
	char c[40];
	cg_iban_compact("de02 1203 0000 0000 2020 51", c, sizeof c);
	assert_string_equal(c, "DE02120300000000202051");
}

/* A seller, a buyer whose name needs escaping, and n lines. */
static void
sample(struct cg_invoice *inv, int type, size_t n)
{
	memset(inv, 0, sizeof *inv);
	inv->number = cg_strdup(type == 381 ? "EX-2024-0002" : "EX-2024-0001");
	inv->type_code = type;
	inv->seller = cg_strdup("coop");
	strcpy(inv->issue_day, "2024-12-01");
	strcpy(inv->due_day, "2024-12-15");
	strcpy(inv->period_start, "2024-11-01");
	strcpy(inv->period_end, "2024-11-30");
	inv->currency = cg_strdup("EUR");
	struct cg_party *s = &inv->seller_party, *b = &inv->buyer_party;
	s->name = cg_strdup("Example eG");
	s->street = cg_strdup("Hauptstr. 1");
	s->postcode = cg_strdup("10115");
	s->city = cg_strdup("Berlin");
	s->country = cg_strdup("DE");
	s->vat_id = cg_strdup("DE123456789");
	s->email = cg_strdup("billing@example.org");
	s->phone = cg_strdup("+49 30 123456");
	s->contact = cg_strdup("Billing office");
	s->iban = cg_strdup("DE02 1203 0000 0000 2020 51");
	s->bic = cg_strdup("BYLADEM1001");
	b->name = cg_strdup("Müller & Söhne <\"Bau\"> GmbH");
	b->street = cg_strdup("Straße des 17. Juni 1");
	b->postcode = cg_strdup("10623");
	b->city = cg_strdup("Berlin");
	b->country = cg_strdup("DE");
	b->email = cg_strdup("bob@example.org");
	b->buyer_ref = cg_strdup("PO-4711");
	if (type == 381) {
		inv->cancels_number = cg_strdup("EX-2024-0001");
		strcpy(inv->cancels_day, "2024-12-01");
		inv->reason = cg_strdup("Wrong rate & hours");
	}
	inv->lines = cg_calloc(n, sizeof *inv->lines);
	inv->nlines = n;
	static const int rates[] = {1900, 700, 1900, 0};
	for (size_t i = 0; i < n; i++) {
		struct cg_invoice_line *l = &inv->lines[i];
		l->name = cg_asprintf("Development & <review> %zu", i + 1);
		l->unit = cg_strdup(i % 2 ? "C62" : "HUR");
		l->qty_milli = 1000 + 333 * (int64_t)i;
		l->price_cents = 8000 + 7 * (int64_t)i;
		l->vat_bp = rates[i % 4];
		if (i == 0)
			l->note = cg_strdup("pairing \"quotes\" é");
	}
	assert_int_equal(cg_invoice_total(inv), 0);
}

static void
save(const char *name, const unsigned char *xml, size_t len)
{
	const char *dir = getenv("INVOICE_OUT_DIR");
	if (dir == NULL || *dir == '\0')
		return;
	char *path = cg_asprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(xml, 1, len, f), len);
	fclose(f);
	free(path);
}

static void
test_totals_many_lines_mixed_rates(void **state)
{
	struct cg_invoice inv;
	sample(&inv, 380, 100);
	int64_t net = 0, vat19 = 0, vat7 = 0;
	for (size_t i = 0; i < inv.nlines; i++) {
		const struct cg_invoice_line *l = &inv.lines[i];
		/* qty x price / 1000, half up, by hand */
		int64_t p = l->qty_milli * l->price_cents;
		assert_int_equal(l->net_cents, (p + 500) / 1000);
		net += l->net_cents;
		if (l->vat_bp == 1900)
			vat19 += l->net_cents;
		else if (l->vat_bp == 700)
			vat7 += l->net_cents;
	}
	int64_t vat =
	    (vat19 * 1900 + 5000) / 10000 + (vat7 * 700 + 5000) / 10000;
	assert_int_equal(inv.net_cents, net);
	assert_int_equal(inv.vat_cents, vat);
	assert_int_equal(inv.gross_cents, net + vat);
	struct cg_vat_group g[CG_VAT_GROUPS_MAX];
	assert_int_equal(cg_invoice_vat_groups(&inv, g, CG_VAT_GROUPS_MAX), 3);
	assert_int_equal(g[0].vat_bp, 0);
	assert_int_equal(g[0].vat_cents, 0);
	assert_int_equal(g[1].vat_bp, 700);
	assert_int_equal(g[2].vat_bp, 1900);
	assert_int_equal(g[0].net_cents + g[1].net_cents + g[2].net_cents, net);
	cg_invoice_free(&inv);
}

/* Offset of needle in hay, asserting it is there. */
static size_t
at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);
	if (p == NULL)
		fail_msg("missing: %s", needle);
	return (size_t)(p - hay);
}

static void
test_ubl_invoice_order_and_escaping(void **state)
{
	struct cg_invoice inv;
	sample(&inv, 380, 3);
	size_t len;
	unsigned char *x = cg_invoice_ubl(&inv, &len);
	assert_non_null(x);
	const char *s = (const char *)x;
	save("unit-invoice.xml", x, len);
	assert_true(at(s, "<ubl:Invoice") < at(s, CG_XRECHNUNG_ID));
	/* the UBL 2.1 sequence */
	const char *order[] = {
	    "<cbc:CustomizationID>",
	    "<cbc:ID>EX-2024-0001</cbc:ID>",
	    "<cbc:IssueDate>2024-12-01",
	    "<cbc:DueDate>2024-12-15",
	    "<cbc:InvoiceTypeCode>380",
	    "<cbc:DocumentCurrencyCode>EUR",
	    "<cbc:BuyerReference>PO-4711",
	    "<cac:InvoicePeriod>",
	    "<cac:AccountingSupplierParty>",
	    "<cbc:EndpointID schemeID=\"EM\">billing@example.org",
	    "<cbc:CompanyID>DE123456789",
	    "<cac:Contact>",
	    "<cac:AccountingCustomerParty>",
	    "<cac:PaymentMeans>",
	    "<cbc:PaymentMeansCode>58",
	    "<cbc:ID>DE02120300000000202051",
	    "<cac:PaymentTerms>",
	    "<cac:TaxTotal>",
	    "<cac:LegalMonetaryTotal>",
	    "<cac:InvoiceLine>",
	    NULL};
	size_t last = 0;
	for (int i = 0; order[i]; i++) {
		size_t p = at(s, order[i]);
		if (p < last)
			fail_msg("out of order: %s", order[i]);
		last = p;
	}
	/* escaping by the writer; UTF-8 kept as is */
	at(s, "Müller &amp; Söhne &lt;&quot;Bau&quot;&gt; GmbH");
	at(s, "Development &amp; &lt;review&gt; 1");
	at(s, "<cbc:Note>pairing &quot;quotes&quot; é</cbc:Note>");
	at(s, "<cbc:StreetName>Straße des 17. Juni 1<");
	at(s,
	   "<cbc:InvoicedQuantity unitCode=\"HUR\">1</cbc:InvoicedQuantity>");
	char g[CG_MONEY_TEXT];
	char *payable = cg_asprintf("<cbc:PayableAmount currencyID=\"EUR\">%s<",
	                            cg_money_fmt(inv.gross_cents, g));
	at(s, payable);
	free(payable);
	free(x);
	cg_invoice_free(&inv);
}

static void
test_ubl_credit_note_references_invoice(void **state)
{
	struct cg_invoice inv;
	sample(&inv, 381, 4);
	size_t len;
	unsigned char *x = cg_invoice_ubl(&inv, &len);
	assert_non_null(x);
	const char *s = (const char *)x;
	save("unit-creditnote.xml", x, len);
	at(s, "<ubl:CreditNote");
	at(s, "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>");
	assert_null(strstr(s, "<cbc:DueDate>"));
	size_t br = at(s, "<cac:BillingReference>");
	assert_true(at(s, "<cac:InvoicePeriod>") < br);
	assert_true(br < at(s, "<cac:AccountingSupplierParty>"));
	at(s, "<cbc:ID>EX-2024-0001</cbc:ID>");
	at(s, "<cac:CreditNoteLine>");
	at(s, "<cbc:CreditedQuantity unitCode=");
	at(s, "<cbc:Note>Wrong rate &amp; hours</cbc:Note>");
	at(s, "<cbc:ID>Z</cbc:ID>"); /* the 0 % line */
	free(x);
	cg_invoice_free(&inv);
}

static void
test_text_and_html_bodies_carry_the_figures(void **state)
{
	struct cg_invoice inv;
	sample(&inv, 380, 2);
	char g[CG_MONEY_TEXT];
	cg_money_fmt(inv.gross_cents, g);
	char *t = cg_invoice_text(&inv);
	at(t, "Invoice EX-2024-0001 from Example eG");
	at(t, "Due date: 2024-12-15");
	at(t, "IBAN DE02120300000000202051");
	at(t, "Payment reference: EX-2024-0001");
	struct cg_vat_group vg[CG_VAT_GROUPS_MAX];
	assert_int_equal(cg_invoice_vat_groups(&inv, vg, CG_VAT_GROUPS_MAX), 2);
	char vl[128], n1[CG_MONEY_TEXT], v1[CG_MONEY_TEXT];
	snprintf(vl, sizeof vl, "VAT 7 %% on %s: %s EUR",
	         cg_money_fmt(vg[0].net_cents, n1),
	         cg_money_fmt(vg[0].vat_cents, v1));
	at(t, vl);
	at(t, g);
	char *h = cg_invoice_html(&inv);
	at(h, "Müller &amp; Söhne &lt;&quot;Bau&quot;&gt; GmbH");
	at(h, g);
	assert_null(strstr(h, "<review>"));
	char *c = cg_invoice_chat_line(&inv);
	at(c, "EX-2024-0001");
	at(c, "due 2024-12-15");
	free(t);
	free(h);
	free(c);
	cg_invoice_free(&inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_money_parse_is_strict_about_decimals),
	    cmocka_unit_test(test_money_formats_and_rounds_half_up),
	    cmocka_unit_test(test_iban_checksum),
	    cmocka_unit_test(test_totals_many_lines_mixed_rates),
	    cmocka_unit_test(test_ubl_invoice_order_and_escaping),
	    cmocka_unit_test(test_ubl_credit_note_references_invoice),
	    cmocka_unit_test(test_text_and_html_bodies_carry_the_figures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
