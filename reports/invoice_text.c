/*
 * invoice_text.c: the bodies of an invoice mail, text/plain and
 * text/html, with the same figures as the UBL document: the lines, net,
 * VAT per rate, gross, due date, IBAN and the payment reference (the
 * number); and the one chat line a buyer with a JID gets.
 * Must never: put a caller's string into the HTML unescaped.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/money.h"
#include "lib/util.h"
#include "reports/invoice.h"

static const char *
kind_name(const struct cg_invoice *inv)
{
	return inv->type_code == 381 ? "Credit note" : "Invoice";
}

static const char *
or_empty(const char *s)
{
	return s ? s : "";
}

/* ---- text/plain ---------------------------------------------------- */

static void
text_party(struct cg_buf *b, const char *title, const struct cg_party *p)
{
	cg_buf_printf(b, "%s:\n  %s\n  %s\n  %s %s\n  %s\n", title,
	              or_empty(p->name), or_empty(p->street),
	              or_empty(p->postcode), or_empty(p->city),
	              or_empty(p->country));
	if (p->vat_id && *p->vat_id)
		cg_buf_printf(b, "  VAT id: %s\n", p->vat_id);
	else if (p->tax_number && *p->tax_number)
		cg_buf_printf(b, "  Tax number: %s\n", p->tax_number);
}

static void
text_lines(struct cg_buf *b, const struct cg_invoice *inv)
{
	char q[CG_MONEY_TEXT], p[CG_MONEY_TEXT], n[CG_MONEY_TEXT],
	    v[CG_MONEY_TEXT];
	for (size_t i = 0; i < inv->nlines; i++) {
		const struct cg_invoice_line *l = &inv->lines[i];
		cg_buf_printf(
		    b, "%3zu  %s\n     %s %s x %s %s, VAT %s %%  = %s %s\n",
		    i + 1, l->name, cg_qty_fmt(l->qty_milli, q), l->unit,
		    cg_money_fmt(l->price_cents, p), inv->currency,
		    cg_vat_fmt(l->vat_bp, 0, v), cg_money_fmt(l->net_cents, n),
		    inv->currency);
		if (l->note && *l->note)
			cg_buf_printf(b, "     %s\n", l->note);
		if (*l->period_start)
			cg_buf_printf(b, "     %s to %s\n", l->period_start,
			              l->period_end);
	}
}

static void
text_totals(struct cg_buf *b, const struct cg_invoice *inv)
{
	char a[CG_MONEY_TEXT], r[CG_MONEY_TEXT], v[CG_MONEY_TEXT];
	struct cg_vat_group g[CG_VAT_GROUPS_MAX];
	int n = cg_invoice_vat_groups(inv, g, CG_VAT_GROUPS_MAX);
	cg_buf_printf(b, "\nNet:   %s %s\n", cg_money_fmt(inv->net_cents, a),
	              inv->currency);
	for (int k = 0; k < n; k++)
		cg_buf_printf(b, "VAT %s %% on %s: %s %s\n",
		              cg_vat_fmt(g[k].vat_bp, 0, r),
		              cg_money_fmt(g[k].net_cents, a),
		              cg_money_fmt(g[k].vat_cents, v), inv->currency);
	cg_buf_printf(b, "Gross: %s %s\n", cg_money_fmt(inv->gross_cents, a),
	              inv->currency);
}

char *
cg_invoice_text(const struct cg_invoice *inv)
{
	struct cg_buf b = CG_BUF_INIT;
	const struct cg_party *s = &inv->seller_party;
	cg_buf_printf(&b, "%s %s from %s\n\nNumber: %s\nDate: %s\n",
	              kind_name(inv), inv->number, or_empty(s->name),
	              inv->number, inv->issue_day);
	if (inv->type_code == 381)
		cg_buf_printf(&b, "Cancels invoice: %s of %s\nReason: %s\n",
		              or_empty(inv->cancels_number), inv->cancels_day,
		              or_empty(inv->reason));
	cg_buf_printf(&b, "Period: %s to %s\n\n", inv->period_start,
	              inv->period_end);
	text_party(&b, "From", s);
	text_party(&b, "To", &inv->buyer_party);
	cg_buf_puts(&b, "\n");
	text_lines(&b, inv);
	text_totals(&b, inv);
	char iban[40];
	cg_iban_compact(s->iban, iban, sizeof iban);
	if (inv->type_code == 381)
		cg_buf_printf(&b, "\nThe amount is refunded by %s.\n",
		              inv->due_day);
	else
		cg_buf_printf(&b,
		              "\nDue date: %s\nPay to IBAN %s%s%s%s, account "
		              "holder %s\nPayment reference: %s\n",
		              inv->due_day, iban, s->bic ? " (BIC " : "",
		              s->bic ? s->bic : "", s->bic ? ")" : "",
		              or_empty(s->name), inv->number);
	cg_buf_printf(&b,
	              "\nThe XRechnung document is attached as %s.xml.\n"
	              "Questions: %s\n",
	              inv->number, or_empty(s->email));
	return cg_buf_steal(&b);
}

/* ---- text/html ----------------------------------------------------- */

static void
esc(struct cg_buf *b, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&':
			cg_buf_puts(b, "&amp;");
			break;
		case '<':
			cg_buf_puts(b, "&lt;");
			break;
		case '>':
			cg_buf_puts(b, "&gt;");
			break;
		case '"':
			cg_buf_puts(b, "&quot;");
			break;
		case '\'':
			cg_buf_puts(b, "&#39;");
			break;
		default:
			cg_buf_putc(b, *s);
		}
}

/* <tag>escaped text</tag> */
static void
el(struct cg_buf *b, const char *tag, const char *text)
{
	cg_buf_printf(b, "<%s>", tag);
	esc(b, text);
	cg_buf_printf(b, "</%s>", tag);
}

static void
html_party(struct cg_buf *b, const char *title, const struct cg_party *p)
{
	cg_buf_puts(b, "<td>");
	el(b, "strong", title);
	cg_buf_puts(b, "<br>");
	const char *v[] = {p->name, p->street,  p->postcode,
	                   p->city, p->country, p->vat_id};
	for (int i = 0; i < 6; i++) {
		if (v[i] == NULL || *v[i] == '\0')
			continue;
		esc(b, v[i]);
		cg_buf_puts(b, i == 2 ? " " : "<br>");
	}
	cg_buf_puts(b, "</td>");
}

static void
html_lines(struct cg_buf *b, const struct cg_invoice *inv)
{
	char q[CG_MONEY_TEXT], p[CG_MONEY_TEXT], n[CG_MONEY_TEXT],
	    v[CG_MONEY_TEXT];
	cg_buf_puts(b, "<table border=\"1\" cellpadding=\"4\" "
	               "style=\"border-collapse:collapse\">\n<tr><th>#</th>"
	               "<th>Item</th><th>Quantity</th><th>Unit price</th>"
	               "<th>VAT %</th><th>Net</th></tr>\n");
	for (size_t i = 0; i < inv->nlines; i++) {
		const struct cg_invoice_line *l = &inv->lines[i];
		cg_buf_printf(b, "<tr><td>%zu</td><td>", i + 1);
		esc(b, l->name);
		if (l->note && *l->note) {
			cg_buf_puts(b, "<br><small>");
			esc(b, l->note);
			cg_buf_puts(b, "</small>");
		}
		cg_buf_printf(b, "</td><td>%s ", cg_qty_fmt(l->qty_milli, q));
		esc(b, l->unit);
		cg_buf_printf(b,
		              "</td><td align=\"right\">%s</td><td>%s</td>"
		              "<td align=\"right\">%s</td></tr>\n",
		              cg_money_fmt(l->price_cents, p),
		              cg_vat_fmt(l->vat_bp, 0, v),
		              cg_money_fmt(l->net_cents, n));
	}
	cg_buf_puts(b, "</table>\n");
}

static void
html_totals(struct cg_buf *b, const struct cg_invoice *inv)
{
	char a[CG_MONEY_TEXT], r[CG_MONEY_TEXT], v[CG_MONEY_TEXT];
	struct cg_vat_group g[CG_VAT_GROUPS_MAX];
	int n = cg_invoice_vat_groups(inv, g, CG_VAT_GROUPS_MAX);
	cg_buf_printf(b, "<p>Net: %s ", cg_money_fmt(inv->net_cents, a));
	esc(b, inv->currency);
	for (int k = 0; k < n; k++)
		cg_buf_printf(b, "<br>VAT %s %% on %s: %s",
		              cg_vat_fmt(g[k].vat_bp, 0, r),
		              cg_money_fmt(g[k].net_cents, a),
		              cg_money_fmt(g[k].vat_cents, v));
	cg_buf_printf(b, "<br><strong>Gross: %s ",
	              cg_money_fmt(inv->gross_cents, a));
	esc(b, inv->currency);
	cg_buf_puts(b, "</strong></p>\n");
}

char *
cg_invoice_html(const struct cg_invoice *inv)
{
	struct cg_buf b = CG_BUF_INIT;
	const struct cg_party *s = &inv->seller_party;
	cg_buf_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	                "<title>");
	esc(&b, inv->number);
	cg_buf_puts(&b, "</title></head><body>\n<h1>");
	esc(&b, kind_name(inv));
	cg_buf_puts(&b, " ");
	esc(&b, inv->number);
	cg_buf_puts(&b, "</h1>\n<p>Date: ");
	esc(&b, inv->issue_day);
	cg_buf_puts(&b, "<br>Period: ");
	esc(&b, inv->period_start);
	cg_buf_puts(&b, " to ");
	esc(&b, inv->period_end);
	if (inv->type_code == 381) {
		cg_buf_puts(&b, "<br>Cancels invoice: ");
		esc(&b, inv->cancels_number);
		cg_buf_puts(&b, "<br>Reason: ");
		esc(&b, inv->reason);
	}
	cg_buf_puts(&b, "</p>\n<table><tr>");
	html_party(&b, "From", s);
	html_party(&b, "To", &inv->buyer_party);
	cg_buf_puts(&b, "</tr></table>\n");
	html_lines(&b, inv);
	html_totals(&b, inv);
	char iban[40];
	cg_iban_compact(s->iban, iban, sizeof iban);
	cg_buf_puts(&b, "<p>");
	if (inv->type_code == 381) {
		cg_buf_puts(&b, "The amount is refunded by ");
		esc(&b, inv->due_day);
		cg_buf_puts(&b, ".");
	} else {
		cg_buf_puts(&b, "Due date: ");
		esc(&b, inv->due_day);
		cg_buf_puts(&b, "<br>IBAN: ");
		esc(&b, iban);
		if (s->bic) {
			cg_buf_puts(&b, " (BIC ");
			esc(&b, s->bic);
			cg_buf_puts(&b, ")");
		}
		cg_buf_puts(&b, "<br>Payment reference: ");
		esc(&b, inv->number);
	}
	cg_buf_puts(&b, "</p>\n<p>The XRechnung document is attached as ");
	esc(&b, inv->number);
	cg_buf_puts(&b, ".xml.</p>\n</body></html>\n");
	return cg_buf_steal(&b);
}

char *
cg_invoice_chat_line(const struct cg_invoice *inv)
{
	char g[CG_MONEY_TEXT];
	return cg_asprintf("%s %s from %s: %s %s, %s %s", kind_name(inv),
	                   inv->number, or_empty(inv->seller_party.name),
	                   cg_money_fmt(inv->gross_cents, g), inv->currency,
	                   inv->type_code == 381 ? "refunded by" : "due",
	                   inv->due_day);
}
