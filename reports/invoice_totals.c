/*
 * invoice_totals.c: the figures of an invoice, the way EN 16931 checks
 * them (BR-CO-10..17): line net = quantity x price rounded half up to
 * the cent; per VAT rate, VAT = sum of its line nets x rate, rounded half
 * up once; net = sum of line nets; gross = net + VAT.
 * Must never: round a line's VAT on its own, or use floating point.
 */
#include "lib/money.h"
#include "reports/invoice.h"

int
cg_invoice_vat_groups(const struct cg_invoice *inv, struct cg_vat_group *out,
                      int max)
{
	int n = 0;
	for (size_t i = 0; i < inv->nlines; i++) {
		const struct cg_invoice_line *l = &inv->lines[i];
		int k = 0;
		while (k < n && out[k].vat_bp < l->vat_bp)
			k++;
		if (k == n || out[k].vat_bp != l->vat_bp) {
			if (n == max)
				return -1;
			for (int j = n; j > k; j--)
				out[j] = out[j - 1];
			out[k] = (struct cg_vat_group){l->vat_bp, 0, 0};
			n++;
		}
		out[k].net_cents += l->net_cents;
	}
	for (int k = 0; k < n; k++)
		out[k].vat_cents = cg_vat_of(out[k].net_cents, out[k].vat_bp);
	return n;
}

int
cg_invoice_total(struct cg_invoice *inv)
{
	inv->net_cents = 0;
	for (size_t i = 0; i < inv->nlines; i++) {
		struct cg_invoice_line *l = &inv->lines[i];
		l->net_cents = cg_line_net(l->qty_milli, l->price_cents);
		inv->net_cents += l->net_cents;
	}
	struct cg_vat_group g[CG_VAT_GROUPS_MAX];
	int n = cg_invoice_vat_groups(inv, g, CG_VAT_GROUPS_MAX);
	if (n < 0)
		return -1;
	inv->vat_cents = 0;
	for (int k = 0; k < n; k++)
		inv->vat_cents += g[k].vat_cents;
	inv->gross_cents = inv->net_cents + inv->vat_cents;
	return 0;
}
