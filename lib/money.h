/*
 * money.h: exact decimal money for billing.  Amounts are int64_t cents,
 * quantities int64_t thousandths (1.25 h = 1250), VAT rates int basis
 * points (19 % = 1900).  Never floating point.  Parsing is strict: a
 * string with more decimals than the unit holds is an error, never
 * rounded away.  Rounding (line nets, VAT) is half up, away from zero.
 * Also the IBAN checksum (ISO 13616, mod 97).
 * Must never: accept "1e3", " 5", "5." or an amount that overflows.
 */
#ifndef CG_MONEY_H
#define CG_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define CG_MONEY_TEXT 32 /* room for any formatted amount, NUL included */

/* "80.00", "80.5", "80", "-3.10" -> cents.  0, or -1 (more than two
 * decimals, no digits, junk, overflow). */
int cg_money_parse(const char *s, int64_t *cents);
/* "1.25", "2", "0.125" -> thousandths.  0 or -1 (as above, 3 decimals). */
int cg_qty_parse(const char *s, int64_t *milli);
/* A VAT rate in percent, "19", "7", "5.5", "0" -> basis points (at most
 * two decimals, 0 to 100 %).  0 or -1. */
int cg_vat_parse(const char *s, int *bp);

/* cents -> "80.00", "-3.10" into out (CG_MONEY_TEXT bytes); returns out. */
char *cg_money_fmt(int64_t cents, char out[CG_MONEY_TEXT]);
/* thousandths -> "1.25", "2", "0.125": no trailing zeros. */
char *cg_qty_fmt(int64_t milli, char out[CG_MONEY_TEXT]);
/* basis points -> "19", "5.5", "19.00" when two_decimals. */
char *cg_vat_fmt(int bp, int two_decimals, char out[CG_MONEY_TEXT]);

/* num / den rounded half up (away from zero); den > 0. */
int64_t cg_div_round(int64_t num, int64_t den);
/* Line net: quantity (thousandths) x unit price (cents), to the cent. */
int64_t cg_line_net(int64_t qty_milli, int64_t price_cents);
/* VAT on a net amount at rate bp, to the cent. */
int64_t cg_vat_of(int64_t net_cents, int bp);

/* 1 when iban (spaces allowed) has a country code, check digits, a
 * 11-30 character alphanumeric account part and a valid mod-97 sum. */
int cg_iban_valid(const char *iban);
/* The IBAN without spaces, upper case, into out (size n). */
void cg_iban_compact(const char *iban, char *out, size_t n);

#endif
