/*
 * compose.c: one outgoing list mail, written whole into one cg_buf so the
 * SMTP sender can hand it over in one write.  Owns header encoding (RFC
 * 2047 words, RFC 2231 file names), folding (RFC 5322), quoted-printable
 * and base64 (RFC 2045) and the list headers the contract names.
 * libetpan's MIME writer is not used: it has no RFC 2047 encoder and does
 * not copy bodies, and a direct writer is shorter than the glue.
 * Must never: write a bare LF or a header line holding a caller's CR/LF
 * (no header injection), send as anyone but the list address, or split a
 * UTF-8 character across encoded words.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridges/email/compose.h"
#include "gateway/msg.h"
#include "lib/util.h"

#define LINE_MAX_HDR 78   /* folded header line, without CRLF */
#define QP_LINE 76        /* quoted-printable line, soft-break '=' included */
#define B64_LINE 76       /* base64 line */
#define WORD_MAX 60       /* one RFC 2047 encoded word */
#define WORD_OVERHEAD 12  /* "=?UTF-8?Q?" + "?=" */
#define NAME_PLAIN_MAX 60 /* longer file names use RFC 2231 */
#define SECTION_MAX 50    /* characters of one RFC 2231 section */

static const char hex[] = "0123456789ABCDEF";

/* ---- header words --------------------------------------------------- */

static int
needs_encoding(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return 1;
	return strstr(s, "=?") != NULL;
}

/* Bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t
utf8_len(const unsigned char *s)
{
	size_t l = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return l;
}

/* RFC 2047 5(3): the characters safe unencoded in a phrase. */
static int
q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	       c == '-' || c == '/';
}

/* s as RFC 2047 Q words of at most WORD_MAX characters. */
static char *
q_words(const char *s)
{
	struct cg_buf out = CG_BUF_INIT, word = CG_BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t l = utf8_len(p);
		char enc[12];
		size_t el = 0;
		for (size_t i = 0; i < l; i++) {
			if (p[i] == ' ') {
				enc[el++] = '_';
			} else if (q_plain(p[i])) {
				enc[el++] = (char)p[i];
			} else {
				enc[el++] = '=';
				enc[el++] = hex[p[i] >> 4];
				enc[el++] = hex[p[i] & 15];
			}
		}
		if (word.len + el > WORD_MAX - WORD_OVERHEAD) {
			cg_buf_printf(&out,
			              "%s=?UTF-8?Q?%s?=", out.len ? " " : "",
			              cg_buf_str(&word));
			cg_buf_reset(&word);
		}
		cg_buf_add(&word, enc, el);
		p += l;
	}
	if (word.len > 0)
		cg_buf_printf(&out, "%s=?UTF-8?Q?%s?=", out.len ? " " : "",
		              cg_buf_str(&word));
	cg_buf_free(&word);
	return cg_buf_steal(&out);
}

/* A copy with control characters as spaces. */
static char *
no_controls(const char *s)
{
	char *c = cg_strdup(s);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return c;
}

char *
email_encode_header_words(const char *utf8)
{
	if (utf8 == NULL)
		return NULL;
	char *s = no_controls(utf8);
	if (!needs_encoding(s))
		return s;
	char *w = q_words(s);
	free(s);
	return w;
}

/* ---- folding -------------------------------------------------------- */

/*
 * "Name: value" CRLF, folded before spaces so lines stay within 78
 * characters where the words allow; never inside a quoted string.
 */
static void
header(struct cg_buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 2;
	const char *p = value;
	cg_buf_printf(b, "%s: ", name);
	int first = 1;
	while (1) {
		/* the next word: up to an unquoted space */
		const char *w = p;
		int q = 0;
		while (*p && (q || *p != ' ')) {
			if (*p == '"' && (p == w || p[-1] != '\\'))
				q = !q;
			p++;
		}
		size_t wl = (size_t)(p - w);
		if (!first && col + 1 + wl > LINE_MAX_HDR) {
			cg_buf_puts(b, "\r\n ");
			col = 1;
		} else if (!first) {
			cg_buf_putc(b, ' ');
			col++;
		}
		cg_buf_add(b, w, wl);
		col += wl;
		first = 0;
		if (*p == '\0')
			break;
		p++; /* the space we may fold at */
	}
	cg_buf_puts(b, "\r\n");
}

static int
header_safe(const char *s)
{
	return s && strpbrk(s, "\r\n") == NULL;
}

/* ---- addresses ------------------------------------------------------ */

/* s as a quoted string, with " and \\ escaped. */
static void
quoted_param(struct cg_buf *b, const char *name)
{
	cg_buf_putc(b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			cg_buf_putc(b, '\\');
		cg_buf_putc(b, *p);
	}
	cg_buf_putc(b, '"');
}

/* A display name as a quoted string (ASCII, fits in room) or encoded
 * words, which can fold. */
static char *
display_name(const char *name, size_t room)
{
	char *clean = no_controls(name);
	if (needs_encoding(clean) || strlen(clean) + 2 > room) {
		char *w = q_words(clean);
		free(clean);
		return w;
	}
	struct cg_buf b = CG_BUF_INIT;
	quoted_param(&b, clean);
	free(clean);
	return cg_buf_steal(&b);
}

static char *
local_part(const char *addr)
{
	if (addr == NULL || *addr == '\0')
		return cg_strdup("someone");
	const char *at = strchr(addr, '@');
	return at && at > addr ? cg_strndup(addr, (size_t)(at - addr))
	                       : cg_strdup(addr);
}

/* ---- date ----------------------------------------------------------- */

static void
date_header(struct cg_buf *b, int64_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
	                                   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	                                     "May", "Jun", "Jul", "Aug",
	                                     "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)(t > 0 ? t : cg_now());
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	char *v = cg_asprintf("%s, %d %s %d %02d:%02d:%02d +0000",
	                      days[tm.tm_wday % 7], tm.tm_mday,
	                      months[tm.tm_mon % 12], tm.tm_year + 1900,
	                      tm.tm_hour, tm.tm_min, tm.tm_sec);
	header(b, "Date", v);
	free(v);
}

/* ---- bodies --------------------------------------------------------- */

/* One line (no line end) as quoted-printable, soft breaks at 76. */
static void
qp_line(struct cg_buf *b, const unsigned char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		char tok[3];
		size_t tl;
		int last = i + 1 == n;
		int plain = (c >= 33 && c <= 126 && c != '=') ||
		            ((c == ' ' || c == '\t') && !last);
		/* no '.' or "From " at a line start: dots and mbox */
		if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 &&
		                              memcmp(s + i, "From ", 5) == 0)))
			plain = 0;
		if (plain) {
			tok[0] = (char)c;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		/* room for the token and, unless it ends the line, a '=' */
		if (col + tl + (last ? 0 : 1) > QP_LINE) {
			cg_buf_puts(b, "=\r\n");
			col = 0;
			if (c == '.' || (c == 'F' && n - i >= 5 &&
			                 memcmp(s + i, "From ", 5) == 0)) {
				tok[0] = '=';
				tok[1] = hex[c >> 4];
				tok[2] = hex[c & 15];
				tl = 3;
			}
		}
		cg_buf_add(b, tok, tl);
		col += tl;
	}
	cg_buf_puts(b, "\r\n");
}

/* LF or CRLF text as quoted-printable, CRLF line ends, ending in CRLF. */
static void
qp_text(struct cg_buf *b, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\r\n");
		qp_line(b, (const unsigned char *)p, n);
		p += n;
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	}
}

static void
base64(struct cg_buf *b, const unsigned char *d, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63],
		             i + 1 < n ? tab[(v >> 6) & 63] : '=',
		             i + 2 < n ? tab[v & 63] : '='};
		cg_buf_add(b, q, 4);
		col += 4;
		if (col >= B64_LINE) {
			cg_buf_puts(b, "\r\n");
			col = 0;
		}
	}
	if (col > 0)
		cg_buf_puts(b, "\r\n");
}

/* ---- attachments ---------------------------------------------------- */

static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL;
}

/* A MIME type we can write unquoted: token "/" token, else octet-stream. */
static const char *
safe_type(const char *t)
{
	if (t == NULL || strchr(t, '/') == NULL || strlen(t) > 100)
		return "application/octet-stream";
	for (const char *p = t; *p; p++)
		if (!attr_char((unsigned char)*p) && *p != '/')
			return "application/octet-stream";
	return t;
}

static int
plain_name(const char *name)
{
	return !needs_encoding(name) && strlen(name) <= NAME_PLAIN_MAX;
}

/* filename*=UTF-8''..., in sections of at most SECTION_MAX characters. */
static void
rfc2231_filename(struct cg_buf *b, const char *name)
{
	struct cg_buf enc = CG_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (attr_char(*p) && *p != '%' && *p != '\'' && *p != '*')
			cg_buf_putc(&enc, (char)*p);
		else
			cg_buf_printf(&enc, "%%%c%c", hex[*p >> 4],
			              hex[*p & 15]);
	const char *s = cg_buf_str(&enc);
	size_t n = enc.len;
	if (n <= SECTION_MAX) {
		cg_buf_printf(b, ";\r\n filename*=UTF-8''%s", s);
	} else {
		size_t off = 0;
		for (int k = 0; off < n; k++) {
			size_t take =
			    n - off > SECTION_MAX ? SECTION_MAX : n - off;
			/* do not cut a %XX in two */
			if (take < n - off && s[off + take - 1] == '%')
				take -= 1;
			else if (take < n - off && s[off + take - 2] == '%')
				take -= 2;
			cg_buf_printf(b, ";\r\n filename*%d*=%s%.*s", k,
			              k == 0 ? "UTF-8''" : "", (int)take,
			              s + off);
			off += take;
		}
	}
	cg_buf_free(&enc);
}

static void
attachment_part(struct cg_buf *b, const char *boundary,
                const struct cg_attachment *a)
{
	const char *type = safe_type(a->type);
	const char *name = a->name && *a->name ? a->name : NULL;
	char *clean = NULL;
	if (name) {
		clean = cg_strdup(name);
		for (char *p = clean; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '_';
	}
	cg_buf_printf(b, "--%s\r\nContent-Type: %s", boundary, type);
	if (clean) {
		cg_buf_puts(b, ";\r\n name=");
		if (plain_name(clean)) {
			quoted_param(b, clean);
		} else {
			/* what Outlook reads: RFC 2047 inside the quotes */
			char *w = email_encode_header_words(clean);
			cg_buf_putc(b, '"');
			for (const char *p = w; *p; p++)
				if (*p == ' ')
					cg_buf_puts(b, "\r\n ");
				else
					cg_buf_putc(b, *p);
			cg_buf_putc(b, '"');
			free(w);
		}
	}
	cg_buf_puts(b, "\r\nContent-Disposition: attachment");
	if (clean) {
		if (plain_name(clean)) {
			cg_buf_puts(b, ";\r\n filename=");
			quoted_param(b, clean);
		} else {
			rfc2231_filename(b, clean);
		}
	}
	cg_buf_puts(b, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	base64(b, a->data, a->data ? a->size : 0);
	free(clean);
}

/* ---- the message ---------------------------------------------------- */

static void
list_headers(struct cg_buf *b, const struct email_compose_in *in,
             const char *local, const char *domain)
{
	char *v;
	if (in->list_id && header_safe(in->list_id)) {
		v = cg_asprintf("<%s>", in->list_id);
		header(b, "List-Id", v);
		free(v);
	}
	if (!in->direct) {
		v = cg_asprintf("<mailto:%s>", in->list_addr);
		header(b, "List-Post", v);
		free(v);
		v = cg_asprintf("<mailto:%s+unsubscribe@%s>", local, domain);
		header(b, "List-Unsubscribe", v);
		free(v);
		v = cg_asprintf("<mailto:%s+request@%s?subject=help>", local,
		                domain);
		header(b, "List-Help", v);
		free(v);
		header(b, "Precedence", "list");
	}
	if (in->auto_submitted == 1)
		header(b, "Auto-Submitted", "auto-generated");
	else if (in->auto_submitted == 2)
		header(b, "Auto-Submitted", "auto-replied");
}

/* s[0..n) as a dot-atom (RFC 5322 3.2.3): atext runs joined by dots. */
static int
dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.'
		        ? s[i + 1] == '.'
		        : !(isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c)))
			return 0;
	}
	return 1;
}

/*
 * X-Original-From for the real sender: an email address as it is, or a
 * JID ("room@conference.example.org/nick", "bob@example.org/phone") as
 * its bare part, which is address-shaped, with the name (or the nick) as
 * the display name, quoted or encoded.  NULL when the sender has no
 * address-shaped part (caller frees).
 */
static char *
original_from(const char *sender, const char *sender_name)
{
	if (sender == NULL)
		return NULL;
	size_t bare = strcspn(sender, "/");
	const char *at = memchr(sender, '@', bare);
	if (at == NULL || !dot_atom(sender, (size_t)(at - sender)) ||
	    !dot_atom(at + 1, bare - (size_t)(at + 1 - sender)))
		return NULL;
	const char *who = sender_name && *sender_name ? sender_name
	                  : sender[bare] == '/' && sender[bare + 1]
	                      ? sender + bare + 1
	                      : NULL;
	if (who == NULL)
		return cg_strndup(sender, bare);
	char *dn = display_name(who, LINE_MAX_HDR);
	char *v = cg_asprintf("%s <%.*s>", dn, (int)bare, sender);
	free(dn);
	return v;
}

static void
from_headers(struct cg_buf *b, const struct email_compose_in *in)
{
	if (in->direct) {
		/* a direct message may name its sender: "Seller" <billing@> */
		char *dn = in->sender_name && *in->sender_name
		               ? display_name(in->sender_name, LINE_MAX_HDR)
		               : NULL;
		char *v = dn ? cg_asprintf("%s <%s>", dn, in->list_addr) : NULL;
		header(b, "From", v ? v : in->list_addr);
		free(v);
		free(dn);
		return;
	}
	char *who = in->sender_name && *in->sender_name
	                ? cg_strdup(in->sender_name)
	                : local_part(in->sender_addr);
	char *name =
	    cg_asprintf("%s via %s", who, in->channel ? in->channel : "list");
	/* "From: " + name + " <list_addr>" on one line when it fits */
	size_t room = LINE_MAX_HDR - 6 - strlen(in->list_addr) - 3;
	char *dn = display_name(name, room > LINE_MAX_HDR ? 0 : room);
	char *v = cg_asprintf("%s <%s>", dn, in->list_addr);
	header(b, "From", v);
	free(v);
	free(dn);
	header(b, "Reply-To", in->list_addr);
	v = original_from(in->sender_addr, in->sender_name);
	if (v != NULL)
		header(b, "X-Original-From", v);
	free(v);
	free(name);
	free(who);
}

static void
thread_headers(struct cg_buf *b, const struct email_compose_in *in,
               const char *domain)
{
	char *v;
	if (in->message_id && header_safe(in->message_id)) {
		v = cg_asprintf("<%s>", in->message_id);
	} else {
		char *r = cg_random_hex(24);
		v = cg_asprintf("<%s@%s>", r, domain);
		free(r);
	}
	header(b, "Message-ID", v);
	free(v);
	const char *irt =
	    in->in_reply_to && *in->in_reply_to && header_safe(in->in_reply_to)
	        ? in->in_reply_to
	        : NULL;
	if (irt) {
		v = cg_asprintf("<%s>", irt);
		header(b, "In-Reply-To", v);
		free(v);
	}
	struct cg_buf refs = CG_BUF_INIT;
	int has_irt = 0;
	for (size_t i = 0; in->refs && i < in->nrefs; i++) {
		if (!in->refs[i] || !*in->refs[i] || !header_safe(in->refs[i]))
			continue;
		cg_buf_printf(&refs, "%s<%s>", refs.len ? " " : "",
		              in->refs[i]);
		if (irt && strcmp(irt, in->refs[i]) == 0)
			has_irt = 1;
	}
	if (irt && !has_irt)
		cg_buf_printf(&refs, "%s<%s>", refs.len ? " " : "", irt);
	if (refs.len > 0)
		header(b, "References", cg_buf_str(&refs));
	cg_buf_free(&refs);
}

static void
text_part_headers(struct cg_buf *b)
{
	cg_buf_puts(b, "Content-Type: text/plain; charset=utf-8\r\n"
	               "Content-Transfer-Encoding: quoted-printable\r\n");
}

static void
body_text(struct cg_buf *b, const struct email_compose_in *in)
{
	struct cg_buf t = CG_BUF_INIT;
	cg_buf_puts(&t, in->body ? in->body : "");
	if (in->footer && *in->footer) {
		while (t.len > 0 &&
		       (t.data[t.len - 1] == '\n' || t.data[t.len - 1] == '\r'))
			t.data[--t.len] = '\0';
		cg_buf_puts(&t, "\n\n");
		cg_buf_puts(&t, in->footer);
	}
	qp_text(b, cg_buf_str(&t));
	cg_buf_free(&t);
}

/* The text part; with in->html, text and HTML as multipart/alternative. */
static void
text_parts(struct cg_buf *b, const struct email_compose_in *in)
{
	if (in->html == NULL) {
		text_part_headers(b);
		cg_buf_puts(b, "\r\n");
		body_text(b, in);
		return;
	}
	char *r = cg_random_hex(24);
	cg_buf_printf(b,
	              "Content-Type: multipart/alternative;\r\n"
	              " boundary=\"=_alt_%s\"\r\n\r\n--=_alt_%s\r\n",
	              r, r);
	text_part_headers(b);
	cg_buf_puts(b, "\r\n");
	body_text(b, in);
	cg_buf_printf(b,
	              "--=_alt_%s\r\nContent-Type: text/html; "
	              "charset=utf-8\r\nContent-Transfer-Encoding: "
	              "quoted-printable\r\n\r\n",
	              r);
	qp_text(b, in->html);
	cg_buf_printf(b, "--=_alt_%s--\r\n", r);
	free(r);
}

char *
email_compose(const struct email_compose_in *in, size_t *len)
{
	const char *at =
	    in && in->list_addr ? strchr(in->list_addr, '@') : NULL;
	if (at == NULL || at == in->list_addr || !header_safe(in->list_addr))
		return NULL;
	char *local = cg_strndup(in->list_addr, (size_t)(at - in->list_addr));
	const char *domain = at + 1;
	struct cg_buf b = CG_BUF_INIT;

	from_headers(&b, in);
	header(&b, "To",
	       in->to && header_safe(in->to) ? in->to : in->list_addr);
	if (in->subject) {
		char *s = email_encode_header_words(in->subject);
		header(&b, "Subject", s);
		free(s);
	}
	date_header(&b, in->date);
	thread_headers(&b, in, domain);
	list_headers(&b, in, local, domain);
	for (size_t i = 0; in->extra_headers && i < in->nextra; i++) {
		const char *h = in->extra_headers[i];
		const char *colon = h ? strchr(h, ':') : NULL;
		if (!colon || colon == h || !header_safe(h) ||
		    needs_encoding(h))
			continue;
		char *name = cg_strndup(h, (size_t)(colon - h));
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		header(&b, name, v);
		free(name);
	}
	cg_buf_puts(&b, "MIME-Version: 1.0\r\n");
	if (in->natt == 0 || in->att == NULL) {
		text_parts(&b, in);
	} else {
		char *r = cg_random_hex(24);
		char *boundary = cg_asprintf("=_coopgate_%s", r);
		free(r);
		cg_buf_printf(&b,
		              "Content-Type: multipart/mixed;\r\n"
		              " boundary=\"%s\"\r\n\r\n"
		              "This is a multi-part message in MIME format.\r\n"
		              "--%s\r\n",
		              boundary, boundary);
		text_parts(&b, in);
		for (size_t i = 0; i < in->natt; i++)
			attachment_part(&b, boundary, &in->att[i]);
		cg_buf_printf(&b, "--%s--\r\n", boundary);
		free(boundary);
	}
	free(local);
	if (len)
		*len = b.len;
	return cg_buf_steal(&b);
}

/* ---- chat lines in one mail ------------------------------------------ */

void
email_chat_line(struct cg_buf *b, const char *name, int verified,
                const char *text)
{
	char *who = no_controls(name && *name ? name : "someone");
	cg_buf_printf(b, "%s%s:", verified ? "" : EMAIL_CHAT_UNVERIFIED, who);
	free(who);
	size_t n = text ? strlen(text) : 0;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	int first = 1;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - text - i) : n - i;
		if (len > 0 && text[i + len - 1] == '\r')
			len--;
		/* the first line after the name, every other one indented:
		 * only a speaker's line starts at the margin */
		cg_buf_puts(b, first ? " " : "\n" EMAIL_CHAT_INDENT);
		cg_buf_add(b, text + i, len);
		first = 0;
		i += (nl ? (size_t)(nl - text - i) + 1 : n - i);
	}
	cg_buf_putc(b, '\n');
}

/* For report_mail.c: the same quoted-printable as the text parts here. */
void
email_compose_qp(struct cg_buf *b, const char *text)
{
	qp_text(b, text);
}
