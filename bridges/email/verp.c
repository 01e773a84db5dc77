/*
 * verp.c: VERP envelope senders and their tokens (verp.h): encoding a
 * recipient into "LOCAL+bounce-DAY.MAC-RCPT@DOMAIN", the XVERP base and
 * the readable recipient form Postfix appends, and checking a token that
 * comes back in a bounce (its MAC, its age).  Pure functions over
 * strings and the MAC key: used by the outgoing side (smtp_out.c) and by
 * bounce handling (bounce.c), which no longer depend on each other.
 *
 * Must never: accept a token whose MAC does not verify or that is older
 * than VERP_VALID_DAYS, or decode a recipient that was not encoded.
 */
#include <stdlib.h>
#include <string.h>

#include "bridges/email/verp.h"
#include "lib/util.h"
#include "store/box.h"

#define VERP_DAY_S 86400
#define VERP_VALID_DAYS 30 /* a bounce may come this long after sending */
#define VERP_MAC_HEX 16    /* hex digits of the MAC in a VERP token */

static int
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	                              : -1;
}

/* The recipient part of a token ("alice=example.org", or hex), decoded;
 * NULL when it is none (caller frees). */
static char *
verp_decode(const char *token, size_t len)
{
	if (token == NULL || len == 0)
		return NULL;
	const char *eq = NULL;
	for (size_t i = 0; i < len; i++)
		if (token[i] == '=')
			eq = token + i;
	if (eq) { /* local=domain */
		if (eq == token || eq == token + len - 1)
			return NULL;
		struct cg_buf b = CG_BUF_INIT;
		cg_buf_add(&b, token, (size_t)(eq - token));
		cg_buf_putc(&b, '@');
		cg_buf_add(&b, eq + 1, len - (size_t)(eq + 1 - token));
		return cg_buf_steal(&b);
	}
	if (len % 2)
		return NULL;
	char *out = cg_malloc(len / 2 + 1);
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(token[i]), lo = hexval(token[i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[i / 2] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	if (strchr(out, '@') == NULL) {
		free(out);
		return NULL;
	}
	return out;
}

/* The recipient part for rcpt: readable "local=domain" or hex. */
static void
verp_encode(struct cg_buf *b, const char *rcpt, const char *rat)
{
	int readable = 1;
	for (const char *p = rcpt; p < rat; p++)
		if (!atext((unsigned char)*p))
			readable = 0;
	if (readable) {
		cg_buf_add(b, rcpt, (size_t)(rat - rcpt));
		cg_buf_putc(b, '=');
		char *dom = cg_lowercase(rat + 1);
		cg_buf_puts(b, dom);
		free(dom);
		return;
	}
	static const char hx[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)rcpt; *p; p++) {
		cg_buf_putc(b, hx[*p >> 4]);
		cg_buf_putc(b, hx[*p & 15]);
	}
}

/* "DAY.MAC": the MAC over the list, the day and the recipient (lower
 * case), or over list and day alone when rcpt is NULL (XVERP). */
static void
verp_stamp(struct cg_buf *out, const unsigned char *key, const char *list_addr,
           const char *rcpt, int64_t day)
{
	char *list = cg_lowercase(list_addr);
	char *who = rcpt ? cg_lowercase(rcpt) : NULL;
	struct cg_buf m = CG_BUF_INIT;
	cg_buf_printf(&m, "coopgate-verp-1\n%s\n%s\n%lld\n%s",
	              who ? "rcpt" : "xverp", list, (long long)day,
	              who ? who : "");
	unsigned char mac[CG_BOX_MAC_BYTES];
	cg_box_mac(key, m.data, m.len, mac);
	static const char hx[] = "0123456789abcdef";
	cg_buf_printf(out, "%lld.", (long long)day);
	for (size_t i = 0; i < VERP_MAC_HEX / 2; i++) {
		cg_buf_putc(out, hx[mac[i] >> 4]);
		cg_buf_putc(out, hx[mac[i] & 15]);
	}
	cg_buf_free(&m);
	free(list);
	free(who);
}

char *
email_verp_sender(const unsigned char *key, const char *list_addr,
                  const char *rcpt, int64_t now)
{
	const char *at = strrchr(list_addr, '@');
	const char *rat = rcpt ? strrchr(rcpt, '@') : NULL;
	if (at == NULL || at == list_addr || rat == NULL || rat == rcpt ||
	    rat[1] == '\0')
		return NULL;
	struct cg_buf tail = CG_BUF_INIT;
	verp_encode(&tail, rcpt, rat);
	/* the MAC covers the address exactly as the bounce will name it */
	char *named = verp_decode(tail.data, tail.len);
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_add(&b, list_addr, (size_t)(at - list_addr));
	cg_buf_puts(&b, "+bounce-");
	verp_stamp(&b, key, list_addr, named ? named : rcpt, now / VERP_DAY_S);
	cg_buf_putc(&b, '-');
	cg_buf_add(&b, tail.data, tail.len);
	cg_buf_puts(&b, at);
	free(named);
	cg_buf_free(&tail);
	return cg_buf_steal(&b);
}

char *
email_xverp_sender(const unsigned char *key, const char *list_addr, int64_t now)
{
	const char *at = strrchr(list_addr, '@');
	if (at == NULL || at == list_addr)
		return NULL;
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_add(&b, list_addr, (size_t)(at - list_addr));
	cg_buf_puts(&b, "+bounce-");
	verp_stamp(&b, key, list_addr, NULL, now / VERP_DAY_S);
	cg_buf_puts(&b, at);
	return cg_buf_steal(&b);
}

/* "DAY.MAC" at the start of token: the day, or -1 when it is not that. */
static int64_t
verp_day(const char *token, size_t len, size_t *stamp_len)
{
	size_t i = 0;
	int64_t day = 0;
	while (i < len && i < 9 && token[i] >= '0' && token[i] <= '9')
		day = day * 10 + (token[i++] - '0');
	if (i == 0 || i >= len || token[i] != '.')
		return -1;
	size_t mac = ++i;
	while (i < len && hexval(token[i]) >= 0)
		i++;
	if (i - mac != VERP_MAC_HEX || i >= len || token[i] != '-')
		return -1;
	*stamp_len = i;
	return day;
}

int
email_verp_check(const unsigned char *key, const char *list_addr,
                 const char *token, size_t len, int64_t now, char **addr,
                 const char **why)
{
	*addr = NULL;
	size_t sl = 0;
	int64_t day = verp_day(token, len, &sl);
	char *named =
	    day < 0 ? NULL : verp_decode(token + sl + 1, len - sl - 1);
	if (named == NULL) {
		*why = "not a VERP token of ours";
		return 0;
	}
	int64_t today = now / VERP_DAY_S;
	if (day > today + 1 || today - day > VERP_VALID_DAYS) {
		free(named);
		*why = "VERP token expired";
		return 0;
	}
	int ok = 0;
	for (int shared = 0; shared < 2 && !ok; shared++) {
		struct cg_buf want = CG_BUF_INIT;
		verp_stamp(&want, key, list_addr, shared ? NULL : named, day);
		ok = want.len == sl &&
		     cg_box_mac_equal((const unsigned char *)want.data,
		                      (const unsigned char *)token, sl);
		cg_buf_free(&want);
	}
	if (!ok) {
		free(named);
		*why = "VERP token does not verify (forged?)";
		return 0;
	}
	*addr = named;
	return 1;
}

/*
 * rcpt as XVERP would name it in email_verp_sender()'s readable form:
 * "local@domain" with the domain in lower case (caller frees); NULL when
 * only the hex form can carry it.
 */
char *
email_xverp_rcpt(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	if (at == NULL || at == rcpt || at[1] == '\0')
		return NULL;
	for (const char *p = rcpt; p < at; p++)
		if (!atext((unsigned char)*p))
			return NULL;
	char *dom = cg_lowercase(at + 1);
	char *out = cg_asprintf("%.*s@%s", (int)(at - rcpt), rcpt, dom);
	free(dom);
	return out;
}
