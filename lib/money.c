/*
 * money.c: exact decimal parsing, formatting and rounding for billing (see
 * money.h), and the IBAN checksum.  Pure functions, no allocation.
 * Must never: use floating point, or round an input string silently.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/money.h"

#define FIXED_MAX (INT64_MAX / 10000)

/* [-]digits[.digits]: the value scaled by 10^decimals; -1 when the string
 * has more decimals, no digit, anything else, or is too large. */
static int
parse_fixed(const char *s, int decimals, int allow_negative, int64_t *out)
{
	if (s == NULL)
		return -1;
	int neg = 0;
	if (*s == '-' && allow_negative) {
		neg = 1;
		s++;
	}
	int64_t v = 0;
	int digits = 0, frac = -1;
	for (; *s; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			return -1;
		if (frac >= 0 && ++frac > decimals)
			return -1;
		if (v > FIXED_MAX)
			return -1;
		v = v * 10 + (*s - '0');
		digits++;
	}
	if (digits == 0 || frac == 0)
		return -1; /* "" "-" "." "5." */
	for (int f = frac < 0 ? 0 : frac; f < decimals; f++)
		v *= 10;
	*out = neg ? -v : v;
	return 0;
}

int
cg_money_parse(const char *s, int64_t *cents)
{
	return parse_fixed(s, 2, 1, cents);
}

int
cg_qty_parse(const char *s, int64_t *milli)
{
	return parse_fixed(s, 3, 1, milli);
}

int
cg_vat_parse(const char *s, int *bp)
{
	int64_t v;
	if (parse_fixed(s, 2, 0, &v) != 0 || v > 10000)
		return -1;
	*bp = (int)v;
	return 0;
}

char *
cg_money_fmt(int64_t cents, char out[CG_MONEY_TEXT])
{
	uint64_t a =
	    cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
	snprintf(out, CG_MONEY_TEXT, "%s%llu.%02llu", cents < 0 ? "-" : "",
	         (unsigned long long)(a / 100), (unsigned long long)(a % 100));
	return out;
}

char *
cg_qty_fmt(int64_t milli, char out[CG_MONEY_TEXT])
{
	uint64_t a =
	    milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
	unsigned frac = (unsigned)(a % 1000);
	int n = snprintf(out, CG_MONEY_TEXT, "%s%llu", milli < 0 ? "-" : "",
	                 (unsigned long long)(a / 1000));
	if (frac) {
		char f[5];
		snprintf(f, sizeof f, ".%03u", frac);
		size_t l = strlen(f);
		while (f[l - 1] == '0')
			f[--l] = '\0';
		snprintf(out + n, CG_MONEY_TEXT - (size_t)n, "%s", f);
	}
	return out;
}

char *
cg_vat_fmt(int bp, int two_decimals, char out[CG_MONEY_TEXT])
{
	if (two_decimals)
		snprintf(out, CG_MONEY_TEXT, "%d.%02d", bp / 100, bp % 100);
	else if (bp % 100 == 0)
		snprintf(out, CG_MONEY_TEXT, "%d", bp / 100);
	else if (bp % 10 == 0)
		snprintf(out, CG_MONEY_TEXT, "%d.%d", bp / 100, bp % 100 / 10);
	else
		snprintf(out, CG_MONEY_TEXT, "%d.%02d", bp / 100, bp % 100);
	return out;
}

int64_t
cg_div_round(int64_t num, int64_t den)
{
	if (num >= 0)
		return (num + den / 2) / den;
	return -((-num + den / 2) / den);
}

int64_t
cg_line_net(int64_t qty_milli, int64_t price_cents)
{
	return cg_div_round(qty_milli * price_cents, 1000);
}

int64_t
cg_vat_of(int64_t net_cents, int bp)
{
	return cg_div_round(net_cents * bp, 10000);
}

void
cg_iban_compact(const char *iban, char *out, size_t n)
{
	size_t k = 0;
	for (const char *p = iban; p && *p && k + 1 < n; p++)
		if (*p != ' ')
			out[k++] = (char)toupper((unsigned char)*p);
	if (n)
		out[k] = '\0';
}

int
cg_iban_valid(const char *iban)
{
	char c[40];
	if (iban == NULL || strlen(iban) >= sizeof c + 8)
		return 0;
	cg_iban_compact(iban, c, sizeof c);
	size_t n = strlen(c);
	if (n < 15 || n > 34 || !isalpha((unsigned char)c[0]) ||
	    !isalpha((unsigned char)c[1]) || !isdigit((unsigned char)c[2]) ||
	    !isdigit((unsigned char)c[3]))
		return 0;
	unsigned rem = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = c[(i + 4) % n]; /* the first four go to the end */
		if (isdigit((unsigned char)ch))
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (isupper((unsigned char)ch))
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return 0;
	}
	return rem == 1;
}
