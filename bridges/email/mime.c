/*
 * mime.c: one incoming mail -> one cg_msg.  Owns reading RFC 5322 headers,
 * the MIME tree, transfer encodings and charsets (RFC 2045-2047, 2231,
 * 3464, 3676); HTML bodies go through html_text.c.  libetpan does the parsing
 * (mailmime_parse, mailimf_*, mailmime_encoded_phrase_parse, charconv);
 * this file only fills the gaps it leaves (RFC 2231 parameters, flowed
 * text, UTF-8 hygiene).
 * Must never: touch the network or the store, read past a length it was
 * given, recurse or loop without a bound, or hand out text that is not
 * valid UTF-8.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "bridges/email/html_text.h"
#include "bridges/email/mime.h"
#include "bridges/email/mime_int.h"
#include "gateway/msg.h"
#include "lib/utf8.h"
#include "lib/util.h"

#define MIME_MAX_DEPTH 32     /* nesting of multiparts we follow */
#define MIME_MAX_PARTS 1000   /* parts we look at in one mail */
#define MIME_MAX_SECTIONS 64  /* RFC 2231 continuations per parameter */
#define MIME_MAX_NAME 200     /* bytes kept of an attachment name */
#define MIME_MAX_HEADER 16384 /* bytes of a header value we decode */
#define MIME_PAD 16           /* zeroed bytes after a copy we parse */

/* ---- UTF-8 hygiene ---------------------------------------------------- */

static int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = cg_utf8_decode(p + i, n - i, NULL);
		if (l == 0)
			return 0;
		i += l;
	}
	return 1;
}

/* Append s as valid UTF-8: bad bytes become U+FFFD, NULs are dropped. */
static void
utf8_clean_into(struct cg_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	cg_buf_reserve(b, n);
	b->data[b->len] = '\0'; /* reserve alone leaves it unterminated */
	while (i < n) {
		size_t l = cg_utf8_decode(p + i, n - i, NULL);
		if (l == 0) {
			cg_utf8_put(b, 0xfffd);
			i++;
		} else {
			if (p[i] != '\0')
				cg_buf_add(b, p + i, l);
			i += l;
		}
	}
}

/* CRLF and lone CR to LF, in place. */
static void
normalize_newlines(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Control characters (tabs, newlines included) to spaces; for one-line
 * strings such as a subject or a display name.  Trims the ends. */
static char *
one_line(char *s)
{
	if (s == NULL)
		return NULL;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	size_t lead = strspn(s, " ");
	memmove(s, s + lead, n - lead + 1);
	return s;
}

/* ---- charsets --------------------------------------------------------- */

static int
charset_in(const char *cs, const char *const *names)
{
	for (; *names; names++)
		if (strcasecmp(cs, *names) == 0)
			return 1;
	return 0;
}

/* A label we are willing to hand to iconv: short, plain characters. */
static int
charset_sane(const char *cs)
{
	size_t n = strlen(cs);
	if (n == 0 || n > 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)cs[i]) && !strchr("-_.:", cs[i]))
			return 0;
	return 1;
}

static void
charconv_into(struct cg_buf *b, const char *from, const char *data, size_t len)
{
	char *res = NULL;
	size_t rlen = 0;
	int r = charconv_buffer("utf-8", from, data, len, &res, &rlen);
	if (r == MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET)
		r = charconv_buffer("utf-8", "windows-1252", data, len, &res,
		                    &rlen);
	if (r == MAIL_CHARCONV_NO_ERROR) {
		utf8_clean_into(b, res, rlen);
		charconv_buffer_free(res);
	} else {
		utf8_clean_into(b, data, len);
	}
}

char *
email_to_utf8(const char *data, size_t len, const char *charset)
{
	static const char *const ascii[] = {
	    "us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us", NULL};
	static const char *const utf8[] = {"utf-8", "utf8", "unicode-1-1-utf-8",
	                                   NULL};
	static const char *const latin1[] = {
	    "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
	    "l1",         "cp819",     "ibm819",     NULL};
	struct cg_buf b = CG_BUF_INIT;

	if (data == NULL)
		return cg_strdup("");
	if (charset == NULL || *charset == '\0' || charset_in(charset, ascii)) {
		if (utf8_valid(data, len))
			utf8_clean_into(&b, data, len);
		else
			charconv_into(&b, "windows-1252", data, len);
	} else if (charset_in(charset, utf8)) {
		utf8_clean_into(&b, data, len);
	} else if (charset_in(charset, latin1) || !charset_sane(charset)) {
		/* As browsers do: ISO-8859-1 labels mean windows-1252. */
		charconv_into(&b, "windows-1252", data, len);
	} else {
		charconv_into(&b, charset, data, len);
	}
	return cg_buf_steal(&b);
}

/* ---- headers ---------------------------------------------------------- */

char *
email_decode_header(const char *value, size_t len)
{
	struct cg_buf b = CG_BUF_INIT;
	const char *from;
	size_t idx = 0;

	if (value == NULL)
		return NULL;
	if (len > MIME_MAX_HEADER) /* bounds the parser's rescans */
		len = MIME_MAX_HEADER;
	from = utf8_valid(value, len) ? "utf-8" : "windows-1252";
	/*
	 * mailmime_encoded_phrase_parse stops (or fails) at a stray "=?";
	 * take that byte literally and go on.  Each turn advances idx.
	 */
	while (idx < len) {
		size_t before = idx;
		char *part = NULL;
		int r = mailmime_encoded_phrase_parse(from, value, len, &idx,
		                                      "utf-8", &part);
		if (r == MAILIMF_NO_ERROR && part != NULL)
			cg_buf_puts(&b, part);
		free(part);
		if (r != MAILIMF_NO_ERROR || idx <= before) {
			idx = before;
			cg_buf_putc(&b, value[idx]);
			idx++;
		}
	}
	struct cg_buf clean = CG_BUF_INIT;
	utf8_clean_into(&clean, cg_buf_str(&b), b.len);
	cg_buf_free(&b);
	return one_line(cg_buf_steal(&clean));
}

static char *
decode_cstr(const char *s)
{
	return s ? email_decode_header(s, strlen(s)) : NULL;
}

/* Field value without CR/LF (unfolded), trimmed. */
static char *
unfold(const char *v)
{
	struct cg_buf b = CG_BUF_INIT;
	for (; v && *v; v++)
		if (*v != '\r' && *v != '\n')
			cg_buf_putc(&b, *v);
	char *s = cg_buf_steal(&b);
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t lead = 0;
	while (isspace((unsigned char)s[lead]))
		lead++;
	memmove(s, s + lead, n - lead + 1);
	return s;
}

/* Append id to (*ids)[*n], growing by doubling: linear in the ids. */
static void
ids_push(char ***ids, size_t *n, char *id)
{
	if (*n < 4 || (*n & (*n - 1)) == 0)
		*ids = cg_realloc(*ids, (*n < 4 ? 4 : *n * 2) * sizeof **ids);
	(*ids)[(*n)++] = id;
}

/* The <...> ids in v, or the whole value when it has no brackets. */
static void
ids_from_text(const char *v, char ***ids, size_t *n)
{
	char *u = unfold(v);
	const char *p = u;
	int any = 0;
	while ((p = strchr(p, '<')) != NULL) {
		const char *e = strchr(p + 1, '>');
		if (e == NULL)
			break;
		if (e > p + 1 &&
		    memchr(p + 1, ' ', (size_t)(e - p - 1)) == NULL) {
			ids_push(ids, n,
			         cg_strndup(p + 1, (size_t)(e - p - 1)));
			any = 1;
		}
		p = e + 1;
	}
	if (!any && *u && strchr(u, ' ') == NULL && strchr(u, '@')) {
		ids_push(ids, n, cg_strdup(u));
	}
	free(u);
}

static void
ids_from_clist(clist *l, char ***ids, size_t *n)
{
	for (clistiter *c = l ? clist_begin(l) : NULL; c; c = clist_next(c)) {
		const char *id = clist_content(c);
		if (id == NULL || *id == '\0')
			continue;
		ids_push(ids, n, cg_strdup(id));
	}
}

static void
ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void
set_sender(struct cg_msg *out, const char *addr, const char *name)
{
	if (out->sender_addr != NULL || addr == NULL)
		return;
	/* libetpan takes "Bob <bob@x" as the addr-spec "Bob<bob@x" */
	const char *lt = strrchr(addr, '<');
	size_t n;
	if (lt) {
		addr = lt + 1;
		n = strcspn(addr, "> \t\r\n");
	} else {
		n = strlen(addr);
	}
	if (n == 0)
		return;
	struct cg_buf b = CG_BUF_INIT;
	utf8_clean_into(&b, addr, n);
	out->sender_addr = one_line(cg_lowercase(cg_buf_str(&b)));
	cg_buf_free(&b);
	if (name != NULL) {
		out->sender_name = decode_cstr(name);
		if (out->sender_name && *out->sender_name == '\0') {
			free(out->sender_name);
			out->sender_name = NULL;
		}
	}
}

/* From: that libetpan could not parse: "Name <a@b>" or a bare a@b. */
static void
sender_from_text(struct cg_msg *out, const char *v)
{
	char *u = unfold(v);
	char *lt = strrchr(u, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && memchr(lt, '@', (size_t)(gt - lt))) {
		*gt = '\0';
		*lt = '\0';
		char *name = u;
		size_t n = strlen(name);
		while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '"'))
			name[--n] = '\0';
		while (*name == ' ' || *name == '"')
			name++;
		set_sender(out, lt + 1, *name ? name : NULL);
	} else {
		for (char *tok = strtok(u, " \t,;<>\"()"); tok;
		     tok = strtok(NULL, " \t,;<>\"()"))
			if (strchr(tok, '@')) {
				set_sender(out, tok, NULL);
				break;
			}
	}
	free(u);
}

static void
add_mailbox_list(struct cg_msg *out, struct mailimf_mailbox_list *l)
{
	if (l == NULL)
		return;
	for (clistiter *c = clist_begin(l->mb_list); c; c = clist_next(c)) {
		struct mailimf_mailbox *mb = clist_content(c);
		if (mb && mb->mb_addr_spec)
			cg_msg_add_rcpt(out, mb->mb_addr_spec);
	}
}

static void
add_address_list(struct cg_msg *out, struct mailimf_address_list *l)
{
	if (l == NULL)
		return;
	for (clistiter *c = clist_begin(l->ad_list); c; c = clist_next(c)) {
		struct mailimf_address *a = clist_content(c);
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX &&
		    a->ad_data.ad_mailbox)
			cg_msg_add_rcpt(out,
			                a->ad_data.ad_mailbox->mb_addr_spec);
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP &&
		         a->ad_data.ad_group)
			add_mailbox_list(out, a->ad_data.ad_group->grp_mb_list);
	}
}

/* Delivered-To / X-Original-To, or a To/Cc libetpan left unparsed. */
static void
add_rcpts_text(struct cg_msg *out, const char *v)
{
	char *u = unfold(v);
	size_t idx = 0;
	struct mailimf_address_list *l = NULL;
	if (mailimf_address_list_parse(u, strlen(u), &idx, &l) ==
	    MAILIMF_NO_ERROR) {
		add_address_list(out, l);
		mailimf_address_list_free(l);
	} else {
		/* Unparseable: every <a@b> or bare a@b token. */
		for (char *tok = strtok(u, " \t,;<>\"()"); tok;
		     tok = strtok(NULL, " \t,;<>\"()"))
			if (strchr(tok, '@') && tok[0] != '@')
				cg_msg_add_rcpt(out, tok);
	}
	free(u);
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
date_to_unix(const struct mailimf_date_time *dt)
{
	int year = dt->dt_year;
	if (year >= 0 && year < 50)
		year += 2000;
	else if (year >= 50 && year < 1000)
		year += 1900;
	if (year < 1970 || year > 9999 || dt->dt_month < 1 ||
	    dt->dt_month > 12 || dt->dt_day < 1 || dt->dt_day > 31 ||
	    dt->dt_hour < 0 || dt->dt_hour > 23 || dt->dt_min < 0 ||
	    dt->dt_min > 59 || dt->dt_sec < 0 || dt->dt_sec > 60 ||
	    dt->dt_zone < -2400 || dt->dt_zone > 2400)
		return 0;
	int zone = dt->dt_zone < 0 ? -dt->dt_zone : dt->dt_zone;
	int64_t off = (int64_t)(zone / 100) * 3600 + (zone % 100) * 60;
	if (dt->dt_zone < 0)
		off = -off;
	int64_t t = days_from_civil(year, dt->dt_month, dt->dt_day) * 86400 +
	            dt->dt_hour * 3600 + dt->dt_min * 60 + dt->dt_sec - off;
	return t > 0 ? t : 0;
}

static int
header_is(const struct mailimf_optional_field *o, const char *name)
{
	return o && o->fld_name && strcasecmp(o->fld_name, name) == 0;
}

/* First token of v, lower case ("auto-replied; x=y" -> "auto-replied"). */
static char *
first_token(const char *v)
{
	char *u = unfold(v);
	u[strcspn(u, " \t;(")] = '\0';
	char *l = cg_lowercase(u);
	free(u);
	return l;
}

static int
auto_header(const struct mailimf_optional_field *o)
{
	int is_auto = 0;
	if (header_is(o, "Auto-Submitted")) {
		char *t = first_token(o->fld_value);
		is_auto = strcmp(t, "no") != 0;
		free(t);
	} else if (header_is(o, "Precedence")) {
		char *t = first_token(o->fld_value);
		is_auto = strcmp(t, "bulk") == 0 || strcmp(t, "junk") == 0 ||
		          strcmp(t, "list") == 0 ||
		          strcmp(t, "auto_reply") == 0;
		free(t);
	} else if (header_is(o, "X-Autoreply") ||
	           header_is(o, "X-Autorespond")) {
		is_auto = 1;
	}
	return is_auto;
}

static void
read_optional(struct cg_msg *out, const struct mailimf_optional_field *o,
              char ***refs, size_t *nrefs, char ***irt, size_t *nirt)
{
	if (o == NULL || o->fld_value == NULL)
		return;
	if (auto_header(o)) {
		out->flags |= CG_MSG_AUTO;
	} else if (header_is(o, "List-Id") && out->list_id == NULL) {
		char *u = unfold(o->fld_value);
		char *lt = strrchr(u, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		if (lt && gt)
			out->list_id =
			    cg_strndup(lt + 1, (size_t)(gt - lt - 1));
		else
			out->list_id = cg_strdup(u);
		free(u);
	} else if (header_is(o, "Message-ID") && out->ext_id == NULL) {
		char **ids = NULL;
		size_t n = 0;
		ids_from_text(o->fld_value, &ids, &n);
		if (n > 0)
			out->ext_id = cg_strdup(ids[0]);
		ids_free(ids, n);
	} else if (header_is(o, "References")) {
		ids_from_text(o->fld_value, refs, nrefs);
	} else if (header_is(o, "In-Reply-To")) {
		ids_from_text(o->fld_value, irt, nirt);
	} else if (header_is(o, "From")) {
		sender_from_text(out, o->fld_value);
	} else if (header_is(o, "To") || header_is(o, "Cc")) {
		add_rcpts_text(out, o->fld_value);
	}
}

static void
read_headers(struct mailimf_fields *f, struct cg_msg *out)
{
	char **refs = NULL, **irt = NULL;
	size_t nrefs = 0, nirt = 0;
	clistiter *c;

	for (c = clist_begin(f->fld_list); c; c = clist_next(c)) {
		struct mailimf_field *fl = clist_content(c);
		switch (fl->fld_type) {
		case MAILIMF_FIELD_FROM:
			if (fl->fld_data.fld_from &&
			    fl->fld_data.fld_from->frm_mb_list) {
				clist *l =
				    fl->fld_data.fld_from->frm_mb_list->mb_list;
				struct mailimf_mailbox *mb =
				    clist_begin(l)
				        ? clist_content(clist_begin(l))
				        : NULL;
				if (mb)
					set_sender(out, mb->mb_addr_spec,
					           mb->mb_display_name);
			}
			break;
		case MAILIMF_FIELD_TO:
			if (fl->fld_data.fld_to)
				add_address_list(
				    out, fl->fld_data.fld_to->to_addr_list);
			break;
		case MAILIMF_FIELD_CC:
			if (fl->fld_data.fld_cc)
				add_address_list(
				    out, fl->fld_data.fld_cc->cc_addr_list);
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (out->ext_id == NULL &&
			    fl->fld_data.fld_message_id &&
			    fl->fld_data.fld_message_id->mid_value &&
			    *fl->fld_data.fld_message_id->mid_value)
				out->ext_id = cg_strdup(
				    fl->fld_data.fld_message_id->mid_value);
			break;
		case MAILIMF_FIELD_REFERENCES:
			if (fl->fld_data.fld_references)
				ids_from_clist(
				    fl->fld_data.fld_references->mid_list,
				    &refs, &nrefs);
			break;
		case MAILIMF_FIELD_IN_REPLY_TO:
			if (fl->fld_data.fld_in_reply_to)
				ids_from_clist(
				    fl->fld_data.fld_in_reply_to->mid_list,
				    &irt, &nirt);
			break;
		case MAILIMF_FIELD_SUBJECT:
			if (out->subject == NULL && fl->fld_data.fld_subject)
				out->subject = decode_cstr(
				    fl->fld_data.fld_subject->sbj_value);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (out->received == 0 && fl->fld_data.fld_orig_date &&
			    fl->fld_data.fld_orig_date->dt_date_time)
				out->received = date_to_unix(
				    fl->fld_data.fld_orig_date->dt_date_time);
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			read_optional(out, fl->fld_data.fld_optional_field,
			              &refs, &nrefs, &irt, &nirt);
			break;
		default:
			break;
		}
	}
	/* Delivered-To and X-Original-To after To and Cc, in header order. */
	for (c = clist_begin(f->fld_list); c; c = clist_next(c)) {
		struct mailimf_field *fl = clist_content(c);
		struct mailimf_optional_field *o =
		    fl->fld_data.fld_optional_field;
		if (fl->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD &&
		    (header_is(o, "Delivered-To") ||
		     header_is(o, "X-Original-To")) &&
		    o->fld_value)
			add_rcpts_text(out, o->fld_value);
	}
	for (size_t i = 0; i < nrefs; i++)
		cg_msg_add_ref(out, refs[i]);
	for (size_t i = 0; i < nirt; i++)
		cg_msg_add_ref(out, irt[i]);
	ids_free(refs, nrefs);
	ids_free(irt, nirt);

	if (out->sender_addr) {
		const char *at = strchr(out->sender_addr, '@');
		size_t local = at ? (size_t)(at - out->sender_addr)
		                  : strlen(out->sender_addr);
		if ((local == 13 &&
		     strncmp(out->sender_addr, "mailer-daemon", 13) == 0) ||
		    (local == 10 &&
		     strncmp(out->sender_addr, "postmaster", 10) == 0))
			out->flags |= CG_MSG_AUTO;
	}
}

/* ---- MIME parameters (RFC 2231, which libetpan 1.9.4 does not do) ---- */

struct param {
	const char *name;
	const char *value;
};

static void
pct_decode_into(struct cg_buf *b, const char *s)
{
	for (; *s; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], '\0'};
			cg_buf_putc(b, (char)strtol(hex, NULL, 16));
			s += 2;
		} else {
			cg_buf_putc(b, *s);
		}
	}
}

/* "want*N" or "want*N*": N, and *ext when the section is extended. */
static int
param_section(const char *name, const char *want, int *ext)
{
	size_t wl = strlen(want);
	if (strncasecmp(name, want, wl) != 0 || name[wl] != '*' ||
	    !isdigit((unsigned char)name[wl + 1]))
		return -1;
	char *end;
	long n = strtol(name + wl + 1, &end, 10);
	if (n < 0 || n >= MIME_MAX_SECTIONS)
		return -1;
	*ext = *end == '*';
	if (*end == '*')
		end++;
	return *end == '\0' ? (int)n : -1;
}

/* charset'language'%XX-value, as bytes in *raw; the charset returned. */
static char *
split_extended(const char *v, struct cg_buf *raw)
{
	const char *q1 = strchr(v, '\''),
	           *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
	if (q1 == NULL || q2 == NULL) {
		pct_decode_into(raw, v);
		return NULL;
	}
	pct_decode_into(raw, q2 + 1);
	return q1 > v ? cg_strndup(v, (size_t)(q1 - v)) : NULL;
}

static char *
param_lookup(const struct param *p, size_t n, const char *want)
{
	size_t wl = strlen(want);
	struct cg_buf raw = CG_BUF_INIT;
	char *charset = NULL, *res;
	int found = 0;

	for (size_t i = 0; i < n; i++)
		if (strncasecmp(p[i].name, want, wl) == 0 &&
		    strcmp(p[i].name + wl, "*") == 0) {
			charset = split_extended(p[i].value, &raw);
			found = 1;
			break;
		}
	for (int k = 0; !found || k > 0; k++) {
		int hit = 0;
		for (size_t i = 0; i < n && !hit; i++) {
			int ext;
			if (param_section(p[i].name, want, &ext) != k)
				continue;
			hit = 1;
			if (ext && k == 0)
				charset = split_extended(p[i].value, &raw);
			else if (ext)
				pct_decode_into(&raw, p[i].value);
			else
				cg_buf_puts(&raw, p[i].value);
		}
		if (!hit)
			break;
		found = 1;
		if (k + 1 >= MIME_MAX_SECTIONS)
			break;
	}
	if (found) {
		res = email_to_utf8(raw.data ? raw.data : "", raw.len,
		                    charset ? charset : "utf-8");
		free(charset);
		cg_buf_free(&raw);
		return one_line(res);
	}
	cg_buf_free(&raw);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(p[i].name, want) == 0)
			return decode_cstr(p[i].value);
	return NULL;
}

static struct param *
content_params(struct mailmime_content *ct, size_t *n)
{
	struct param *p = NULL;
	*n = 0;
	if (ct == NULL || ct->ct_parameters == NULL)
		return NULL;
	for (clistiter *c = clist_begin(ct->ct_parameters); c;
	     c = clist_next(c)) {
		struct mailmime_parameter *mp = clist_content(c);
		if (mp == NULL || mp->pa_name == NULL || mp->pa_value == NULL)
			continue;
		p = cg_realloc(p, (*n + 1) * sizeof *p);
		p[(*n)++] = (struct param){mp->pa_name, mp->pa_value};
	}
	return p;
}

static struct mailmime_disposition *
part_disposition(struct mailmime *m)
{
	if (m->mm_mime_fields == NULL)
		return NULL;
	for (clistiter *c = clist_begin(m->mm_mime_fields->fld_list); c;
	     c = clist_next(c)) {
		struct mailmime_field *f = clist_content(c);
		if (f->fld_type == MAILMIME_FIELD_DISPOSITION)
			return f->fld_data.fld_disposition;
	}
	return NULL;
}

static struct param *
disposition_params(struct mailmime_disposition *d, size_t *n)
{
	struct param *p = NULL;
	*n = 0;
	if (d == NULL || d->dsp_parms == NULL)
		return NULL;
	for (clistiter *c = clist_begin(d->dsp_parms); c; c = clist_next(c)) {
		struct mailmime_disposition_parm *dp = clist_content(c);
		struct param one = {NULL, NULL};
		if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
			one =
			    (struct param){"filename", dp->pa_data.pa_filename};
		else if (dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER &&
		         dp->pa_data.pa_parameter)
			one =
			    (struct param){dp->pa_data.pa_parameter->pa_name,
			                   dp->pa_data.pa_parameter->pa_value};
		if (one.name == NULL || one.value == NULL)
			continue;
		p = cg_realloc(p, (*n + 1) * sizeof *p);
		p[(*n)++] = one;
	}
	return p;
}

/* ---- parts ------------------------------------------------------------ */

/* "type/subtype" in lower case. */
static char *
content_type_str(struct mailmime_content *ct)
{
	const char *type = "application";
	if (ct == NULL || ct->ct_type == NULL)
		return cg_strdup("text/plain");
	struct mailmime_type *t = ct->ct_type;
	if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	    t->tp_data.tp_discrete_type) {
		struct mailmime_discrete_type *d = t->tp_data.tp_discrete_type;
		switch (d->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			type = "text";
			break;
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			type = "image";
			break;
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			type = "audio";
			break;
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			type = "video";
			break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			type = d->dt_extension ? d->dt_extension : type;
			break;
		default:
			break;
		}
	} else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
	           t->tp_data.tp_composite_type) {
		struct mailmime_composite_type *c =
		    t->tp_data.tp_composite_type;
		if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE)
			type = "message";
		else if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART)
			type = "multipart";
		else if (c->ct_token)
			type = c->ct_token;
	}
	char *s = cg_asprintf("%s/%s", type,
	                      ct->ct_subtype ? ct->ct_subtype : "octet-stream");
	char *l = cg_lowercase(s);
	free(s);
	struct cg_buf b = CG_BUF_INIT;
	utf8_clean_into(&b, l, strlen(l));
	free(l);
	return one_line(cg_buf_steal(&b));
}

/* The transfer-decoded bytes of a part (NUL-terminated copy). */
static char *
part_bytes(struct mailmime *m, size_t *len)
{
	struct mailmime_data *d =
	    m->mm_type == MAILMIME_SINGLE ? m->mm_data.mm_single : m->mm_body;
	*len = 0;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT ||
	    d->dt_data.dt_text.dt_data == NULL)
		return cg_strdup("");
	const char *src = d->dt_data.dt_text.dt_data;
	size_t srclen = d->dt_data.dt_text.dt_length;
	if (!d->dt_encoded || m->mm_type != MAILMIME_SINGLE) {
		*len = srclen;
		return cg_strndup(src, srclen);
	}
	size_t idx = 0, rlen = 0;
	char *res = NULL;
	if (mailmime_part_parse(src, srclen, &idx, d->dt_encoding, &res,
	                        &rlen) != MAILIMF_NO_ERROR) {
		*len = srclen;
		return cg_strndup(src, srclen);
	}
	char *copy = cg_strndup(res, rlen);
	mailmime_decoded_part_free(res);
	*len = rlen;
	return copy;
}

/* <meta charset=...> in the first bytes of an HTML part without one. */
static char *
html_sniff_charset(const char *s, size_t n)
{
	if (n > 4096)
		n = 4096;
	for (size_t i = 0; i + 8 < n; i++) {
		if (strncasecmp(s + i, "charset=", 8) != 0)
			continue;
		size_t j = i + 8;
		while (j < n && (s[j] == '"' || s[j] == '\'' || s[j] == ' '))
			j++;
		size_t k = j;
		while (k < n && k - j < 40 &&
		       (isalnum((unsigned char)s[k]) || strchr("-_.:", s[k])))
			k++;
		if (k > j)
			return cg_strndup(s + j, k - j);
	}
	return NULL;
}

static char *
part_text(struct mailmime *m, int html)
{
	size_t len, np;
	char *bytes = part_bytes(m, &len);
	struct param *p = content_params(m->mm_content_type, &np);
	char *charset = param_lookup(p, np, "charset");
	if (charset == NULL && html)
		charset = html_sniff_charset(bytes, len);
	char *text = email_to_utf8(bytes, len, charset);
	free(bytes);
	free(charset);
	normalize_newlines(text);
	if (html) {
		char *t = email_html_to_text(text, strlen(text));
		free(text);
		text = t;
	} else {
		char *format = param_lookup(p, np, "format");
		char *delsp = param_lookup(p, np, "delsp");
		if (format && strcasecmp(format, "flowed") == 0) {
			char *t = email_unflow(
			    text, delsp && strcasecmp(delsp, "yes") == 0);
			free(text);
			text = t;
		}
		free(format);
		free(delsp);
	}
	free(p);
	return text;
}

/* A file name safe to show and to store: no path, no control bytes. */
static char *
clean_name(char *name)
{
	if (name == NULL)
		return NULL;
	char *base = name;
	for (char *s = name; *s; s++)
		if (*s == '/' || *s == '\\')
			base = s + 1;
	memmove(name, base, strlen(base) + 1);
	one_line(name);
	size_t n = strlen(name);
	if (n > MIME_MAX_NAME) {
		n = MIME_MAX_NAME;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
		name[n] = '\0';
	}
	if (*name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		free(name);
		return NULL;
	}
	return name;
}

/* Where a part's encoded body lies in the buffer that was parsed. */
struct span {
	size_t off, len;
};

struct walk {
	struct cg_msg *out;
	struct cg_buf text;
	int parts;
	/* email_raw_drop_attachments(): only note where each attachment's
	 * body lies in base[0..baselen), decode nothing */
	int spans_only;
	const char *base;
	size_t baselen;
	struct span *spans;
	size_t nspans;
};

static void
add_span(struct walk *w, struct mailmime *m)
{
	struct mailmime_data *d =
	    m->mm_type == MAILMIME_SINGLE ? m->mm_data.mm_single : m->mm_body;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT ||
	    d->dt_data.dt_text.dt_data == NULL)
		return;
	uintptr_t p = (uintptr_t)d->dt_data.dt_text.dt_data;
	uintptr_t b = (uintptr_t)w->base;
	size_t n = d->dt_data.dt_text.dt_length;
	if (p < b || p - b > w->baselen || n > w->baselen - (p - b))
		return; /* not in the buffer (libetpan copied it) */
	w->spans = cg_realloc(w->spans, (w->nspans + 1) * sizeof *w->spans);
	w->spans[w->nspans++] = (struct span){p - b, n};
}

static void
add_attachment(struct walk *w, struct mailmime *m, const char *type, char *name)
{
	if (w->spans_only) {
		add_span(w, m);
		free(name);
		return;
	}
	struct cg_msg *out = w->out;
	size_t len;
	char *data = part_bytes(m, &len);
	out->att = cg_realloc(out->att, (out->natt + 1) * sizeof *out->att);
	struct cg_attachment *a = &out->att[out->natt++];
	a->name = clean_name(name);
	a->type = cg_strdup(type);
	a->data = (unsigned char *)data;
	a->url = NULL;
	a->size = len;
}

static char *
part_filename(struct mailmime *m, struct mailmime_disposition *d)
{
	size_t n;
	struct param *p = disposition_params(d, &n);
	char *name = param_lookup(p, n, "filename");
	free(p);
	if (name == NULL) {
		p = content_params(m->mm_content_type, &n);
		name = param_lookup(p, n, "name");
		free(p);
	}
	return name;
}

static void
append_body(struct walk *w, char *text)
{
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	const char *s = text;
	while (*s == '\n')
		s++;
	if (*s) {
		if (w->text.len > 0)
			cg_buf_puts(&w->text, "\n\n");
		cg_buf_puts(&w->text, s);
	}
	free(text);
}

static void walk_part(struct walk *w, struct mailmime *m, int depth);

/* The child of a multipart/alternative holding text/plain, if any. */
static int
has_plain(struct mailmime *m, int depth)
{
	if (m == NULL || depth > MIME_MAX_DEPTH)
		return 0;
	char *type = content_type_str(m->mm_content_type);
	int yes = 0;
	if (m->mm_type == MAILMIME_SINGLE) {
		struct mailmime_disposition *d = part_disposition(m);
		yes = strcmp(type, "text/plain") == 0 &&
		      !(d && d->dsp_type &&
		        d->dsp_type->dsp_type ==
		            MAILMIME_DISPOSITION_TYPE_ATTACHMENT);
	} else if (m->mm_type == MAILMIME_MULTIPLE) {
		clist *l = m->mm_data.mm_multipart.mm_mp_list;
		int alt = strcmp(type, "multipart/alternative") == 0;
		for (clistiter *c = l ? clist_begin(l) : NULL; c && !yes;
		     c = clist_next(c)) {
			yes = has_plain(clist_content(c), depth + 1);
			if (!alt)
				break;
		}
	}
	free(type);
	return yes;
}

static int
only_space(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

static void
walk_alternative(struct walk *w, clist *l, int depth)
{
	struct mailmime *plain = NULL, *last = NULL;
	for (clistiter *c = clist_begin(l); c; c = clist_next(c)) {
		struct mailmime *child = clist_content(c);
		if (plain == NULL && has_plain(child, depth + 1))
			plain = child;
		last = child;
	}
	if (plain != NULL) {
		size_t before = w->text.len;
		walk_part(w, plain, depth + 1);
		/* An empty text/plain next to real HTML: use the HTML. */
		if (!only_space(cg_buf_str(&w->text) + before) || last == plain)
			return;
		w->text.len = before;
		if (w->text.data)
			w->text.data[before] = '\0';
	}
	if (last != NULL)
		walk_part(w, last, depth + 1);
}

static void
walk_single(struct walk *w, struct mailmime *m)
{
	char *type = content_type_str(m->mm_content_type);
	struct mailmime_disposition *d = part_disposition(m);
	int attach =
	    d && d->dsp_type &&
	    d->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
	char *name = part_filename(m, d);
	int plain = strcmp(type, "text/plain") == 0;
	int html = strcmp(type, "text/html") == 0;

	if ((plain || html) && !attach && name == NULL) {
		append_body(w, part_text(m, html));
	} else if (strcmp(type, "application/pgp-signature") == 0 ||
	           strcmp(type, "application/pkcs7-signature") == 0 ||
	           strcmp(type, "application/x-pkcs7-signature") == 0) {
		free(name); /* a signature is not a file anyone sent */
	} else {
		add_attachment(w, m, type, name);
	}
	free(type);
}

static void
walk_message(struct walk *w, struct mailmime *m)
{
	char *name = part_filename(m, part_disposition(m));
	if (name == NULL) {
		struct mailimf_fields *f = m->mm_data.mm_message.mm_fields;
		for (clistiter *c = f ? clist_begin(f->fld_list) : NULL; c;
		     c = clist_next(c)) {
			struct mailimf_field *fl = clist_content(c);
			if (fl->fld_type == MAILIMF_FIELD_SUBJECT &&
			    fl->fld_data.fld_subject) {
				char *s = decode_cstr(
				    fl->fld_data.fld_subject->sbj_value);
				if (s && *s)
					name = cg_asprintf("%s.eml", s);
				free(s);
				break;
			}
		}
	}
	add_attachment(w, m, "message/rfc822",
	               name ? name : cg_strdup("message.eml"));
}

static void
walk_part(struct walk *w, struct mailmime *m, int depth)
{
	if (m == NULL || depth > MIME_MAX_DEPTH || w->parts >= MIME_MAX_PARTS)
		return;
	w->parts++;
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		walk_single(w, m);
		break;
	case MAILMIME_MESSAGE:
		walk_message(w, m);
		break;
	case MAILMIME_MULTIPLE: {
		clist *l = m->mm_data.mm_multipart.mm_mp_list;
		char *type = content_type_str(m->mm_content_type);
		if (l && strcmp(type, "multipart/alternative") == 0)
			walk_alternative(w, l, depth);
		else
			for (clistiter *c = l ? clist_begin(l) : NULL; c;
			     c = clist_next(c))
				walk_part(w, clist_content(c), depth + 1);
		free(type);
		break;
	}
	default:
		break;
	}
}

/* ---- the shape of a mail, measured before libetpan parses it -----------
 *
 * libetpan's mailmime_parse recurses once per nesting level without a
 * limit (30,000 nested message/rfc822 parts overflow the stack) and takes
 * seconds over thousands of nested multiparts.  mime_shape() measures
 * nesting and parts with one pass over the lines, keeping a stack of open
 * multipart boundaries and message/rfc822 levels no deeper than the limit.
 * It over-estimates rather than under-estimates: a Content-Type header
 * naming message/rfc822 anywhere in its value opens a level, a boundary
 * longer than SHAPE_BOUNDARY is matched by its prefix, and each delimiter
 * line counts as a part.
 */

#define SHAPE_BOUNDARY 200 /* bytes of a boundary compared */
#define SHAPE_TYPE 1024    /* bytes of a Content-Type value read */

struct shape_level {
	char boundary[SHAPE_BOUNDARY + 1]; /* "" for a message/rfc822 level */
	size_t blen;
};

struct shape {
	struct shape_level lv[MIME_MAX_DEPTH + 1];
	size_t depth; /* open levels */
	int too_deep;
	size_t parts;
	int in_headers;
	int in_type; /* reading a (folded) Content-Type value */
	struct cg_buf type;
};

static int
starts_ci(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && strncasecmp(s, prefix, k) == 0;
}

/* Position of needle (lower case) in s[0..n) ignoring case, or -1. */
static long
find_ci_at(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return (long)i;
	return -1;
}

/* Open a level; 0 when that is one too many. */
static int
shape_push(struct shape *sh, const char *boundary, size_t blen)
{
	if (sh->depth >= MIME_MAX_DEPTH) {
		sh->too_deep = 1;
		return 0;
	}
	struct shape_level *l = &sh->lv[sh->depth++];
	l->blen = blen > SHAPE_BOUNDARY ? SHAPE_BOUNDARY : blen;
	memcpy(l->boundary, boundary, l->blen);
	l->boundary[l->blen] = '\0';
	sh->parts++;
	return 1;
}

/* The boundary parameter of a Content-Type value, into *b / *blen. */
static int
type_boundary(const char *v, size_t n, const char **b, size_t *blen)
{
	long at = find_ci_at(v, n, "boundary=");
	if (at < 0)
		return 0;
	const char *p = v + at + 9, *end = v + n;
	if (p < end && *p == '"') {
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		*b = p + 1;
		*blen = q ? (size_t)(q - p - 1) : (size_t)(end - p - 1);
	} else {
		*b = p;
		*blen = strcspn(p, " \t;\r\n");
		if (*blen > (size_t)(end - p))
			*blen = (size_t)(end - p);
	}
	return *blen > 0;
}

/* The end of a header block: what its Content-Type opens.  0: too deep. */
static int
shape_header_end(struct shape *sh)
{
	const char *v = cg_buf_str(&sh->type);
	size_t n = sh->type.len, blen;
	const char *b;
	int ok = 1;
	sh->in_headers = 0;
	if (find_ci_at(v, n, "message/rfc822") >= 0) {
		ok = shape_push(sh, "", 0);
		sh->in_headers = 1; /* the body is a message: headers again */
	} else if (find_ci_at(v, n, "multipart/") >= 0 &&
	           type_boundary(v, n, &b, &blen)) {
		ok = shape_push(sh, b, blen);
	}
	sh->type.len = 0;
	sh->in_type = 0;
	return ok;
}

/* A line "--BOUNDARY" or "--BOUNDARY--" of an open multipart: close what
 * it ends.  1 when it was one. */
static int
shape_delimiter(struct shape *sh, const char *s, size_t n)
{
	if (n < 2 || s[0] != '-' || s[1] != '-')
		return 0;
	for (size_t i = sh->depth; i-- > 0;) {
		const struct shape_level *l = &sh->lv[i];
		if (l->blen == 0 || n - 2 < l->blen ||
		    memcmp(s + 2, l->boundary, l->blen) != 0)
			continue;
		int close = n - 2 - l->blen >= 2 && s[2 + l->blen] == '-' &&
		            s[3 + l->blen] == '-';
		sh->depth = close ? i : i + 1;
		sh->in_headers = !close;
		sh->in_type = 0;
		sh->type.len = 0;
		if (!close)
			sh->parts++;
		return 1;
	}
	return 0;
}

/* One header line (no line end).  0: too deep. */
static int
shape_header_line(struct shape *sh, const char *s, size_t n)
{
	if (n == 0)
		return shape_header_end(sh);
	if (s[0] == ' ' || s[0] == '\t') {
		if (sh->in_type && sh->type.len < SHAPE_TYPE)
			cg_buf_add(&sh->type, s, n);
		return 1;
	}
	size_t k = strlen("content-type");
	sh->in_type = 0;
	if (starts_ci(s, n, "content-type")) {
		size_t i = k;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i < n && s[i] == ':') {
			sh->in_type = 1;
			sh->type.len = 0;
			cg_buf_add(&sh->type, s + i + 1,
			           n - i - 1 < SHAPE_TYPE ? n - i - 1
			                                  : SHAPE_TYPE);
		}
	}
	return 1;
}

int
email_mime_shape(const char *raw, size_t len, size_t *depth, size_t *parts)
{
	struct shape *sh = cg_calloc(1, sizeof *sh);
	sh->parts = 1;
	sh->in_headers = 1;
	sh->type = (struct cg_buf)CG_BUF_INIT;
	size_t deepest = 0;
	int ok = 1;
	for (size_t pos = 0; pos < len && ok;) {
		const char *s = raw + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (!shape_delimiter(sh, s, n) && sh->in_headers)
			ok = shape_header_line(sh, s, n);
		if (sh->depth > deepest)
			deepest = sh->depth;
		if (sh->parts > MIME_MAX_PARTS)
			ok = 0;
	}
	*depth = sh->too_deep ? deepest + 1 : deepest;
	*parts = sh->parts;
	cg_buf_free(&sh->type);
	free(sh);
	return ok;
}

/* ---- the message ------------------------------------------------------ */

static int
fail(struct cg_msg *out, char **err, char *msg)
{
	cg_msg_free(out);
	if (err)
		*err = msg;
	else
		free(msg);
	return -1;
}

/*
 * libetpan 1.9.4 reads a byte past the end of a part that ends in a
 * truncated "=X" quoted-printable escape; parse a copy with zeroed slack.
 */
static char *
padded_copy(const char *raw, size_t len)
{
	char *copy = cg_calloc(len + MIME_PAD, 1);
	memcpy(copy, raw, len);
	return copy;
}

/*
 * A mail past the shape limits: its header fields only (libetpan reads
 * those without recursion), the flag, and one line for the room instead
 * of the body.  The raw bytes are kept as they came.
 */
static int
parse_unparsed(const char *raw, size_t len, struct cg_msg *out, char **err)
{
	size_t hlen = 0;
	while (hlen < len) { /* the header block ends at the first empty line */
		const char *nl = memchr(raw + hlen, '\n', len - hlen);
		if (nl == NULL) {
			hlen = len;
			break;
		}
		size_t start = hlen;
		hlen = (size_t)(nl - raw) + 1;
		if (nl == raw + start ||
		    (nl == raw + start + 1 && raw[start] == '\r'))
			break;
	}
	char *copy = padded_copy(raw, len);
	size_t idx = 0;
	struct mailimf_fields *f = NULL;
	if (mailimf_fields_parse(copy, hlen, &idx, &f) != MAILIMF_NO_ERROR ||
	    f == NULL || f->fld_list == NULL || clist_isempty(f->fld_list)) {
		if (f)
			mailimf_fields_free(f);
		free(copy);
		return fail(out, err,
		            cg_strdup("not a MIME message: no header fields"));
	}
	out->network = CG_NET_EMAIL;
	read_headers(f, out);
	mailimf_fields_free(f);
	if (out->sender_addr == NULL) {
		free(copy);
		return fail(out, err, cg_strdup("no From header"));
	}
	out->flags |= CG_MSG_UNPARSED;
	out->text = cg_strdup(EMAIL_UNPARSED_TEXT);
	out->raw = copy;
	out->rawlen = len;
	return 0;
}

int
email_parse(const char *raw, size_t len, struct cg_msg *out, char **err)
{
	struct mailmime *mime = NULL;
	size_t idx = 0;
	char *copy;
	int r;

	if (err)
		*err = NULL;
	if (raw == NULL || len == 0)
		return fail(out, err, cg_strdup("empty message"));
	size_t depth, parts;
	if (!email_mime_shape(raw, len, &depth, &parts))
		return parse_unparsed(raw, len, out, err);
	copy = padded_copy(raw, len);
	r = mailmime_parse(copy, len, &idx, &mime);
	if (r != MAILIMF_NO_ERROR || mime == NULL) {
		free(copy);
		return fail(
		    out, err,
		    cg_asprintf("not a MIME message: libetpan error %d", r));
	}
	struct mailimf_fields *f = mime->mm_type == MAILMIME_MESSAGE
	                               ? mime->mm_data.mm_message.mm_fields
	                               : NULL;
	if (f == NULL || f->fld_list == NULL || clist_isempty(f->fld_list)) {
		mailmime_free(mime);
		free(copy);
		return fail(out, err,
		            cg_strdup("not a MIME message: no header fields"));
	}
	out->network = CG_NET_EMAIL;
	read_headers(f, out);
	if (out->sender_addr == NULL) {
		mailmime_free(mime);
		free(copy);
		return fail(out, err, cg_strdup("no From header"));
	}

	struct mailmime *body = mime->mm_data.mm_message.mm_msg_mime;
	if (body && body->mm_content_type) {
		char *type = content_type_str(body->mm_content_type);
		if (strcmp(type, "multipart/report") == 0)
			out->flags |= CG_MSG_AUTO;
		free(type);
	}
	struct walk w = {.out = out, .text = CG_BUF_INIT};
	walk_part(&w, body, 0);
	out->text = cg_buf_steal(&w.text);
	mailmime_free(mime);
	out->raw = copy; /* NUL-terminated, like every string here */
	out->rawlen = len;
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

void
email_raw_drop_attachments(struct cg_msg *m)
{
	if (m->raw == NULL || m->rawlen == 0 || m->natt == 0 ||
	    (m->flags & CG_MSG_UNPARSED))
		return;
	char *copy = padded_copy(m->raw, m->rawlen);
	struct mailmime *mime = NULL;
	size_t idx = 0;
	if (mailmime_parse(copy, m->rawlen, &idx, &mime) != MAILIMF_NO_ERROR ||
	    mime == NULL || mime->mm_type != MAILMIME_MESSAGE) {
		if (mime)
			mailmime_free(mime);
		free(copy);
		return;
	}
	struct walk w = {
	    .out = m,
	    .spans_only = 1,
	    .base = copy,
	    .baselen = m->rawlen,
	};
	walk_part(&w, mime->mm_data.mm_message.mm_msg_mime, 0);
	mailmime_free(mime);
	cg_buf_free(&w.text);
	qsort(w.spans, w.nspans, sizeof *w.spans, span_cmp);
	struct cg_buf kept = CG_BUF_INIT;
	size_t at = 0;
	for (size_t i = 0; i < w.nspans; i++) {
		if (w.spans[i].off < at) /* overlapping: dropped already */
			continue;
		cg_buf_add(&kept, copy + at, w.spans[i].off - at);
		at = w.spans[i].off + w.spans[i].len;
	}
	cg_buf_add(&kept, copy + at, m->rawlen - at);
	free(w.spans);
	free(copy);
	free(m->raw);
	m->rawlen = kept.len;
	m->raw = cg_buf_steal(&kept);
}

/* ---- shared with dsn.c (mime_int.h) ---------------------------------- */

char *
email_mime_unfold(const char *v)
{
	return unfold(v);
}

int
email_mime_header_is(const struct mailimf_optional_field *o, const char *name)
{
	return header_is(o, name);
}

char *
email_mime_first_token(const char *v)
{
	return first_token(v);
}

char *
email_mime_content_type(struct mailmime_content *ct)
{
	return content_type_str(ct);
}

char *
email_mime_part_bytes(struct mailmime *m, size_t *len)
{
	return part_bytes(m, len);
}

char *
email_mime_padded_copy(const char *raw, size_t len)
{
	return padded_copy(raw, len);
}

/* ---- format=flowed (RFC 3676) ----------------------------------------- */

char *
email_unflow(const char *text, int delsp)
{
	struct cg_buf b = CG_BUF_INIT;
	int open = 0, open_depth = 0;
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		int depth = 0;
		while ((size_t)depth < n && line[depth] == '>')
			depth++;
		const char *c = line + depth;
		size_t cn = n - (size_t)depth;
		if (cn > 0 && c[0] == ' ') /* space-stuffing */
			c++, cn--;
		int sig = cn == 3 && memcmp(c, "-- ", 3) == 0;
		int flowed = !sig && cn > 0 && c[cn - 1] == ' ';
		if (open && depth != open_depth) {
			cg_buf_putc(&b, '\n');
			open = 0;
		}
		if (!open) {
			for (int i = 0; i < depth; i++)
				cg_buf_putc(&b, '>');
			if (depth > 0 && cn > 0)
				cg_buf_putc(&b, ' ');
		}
		cg_buf_add(&b, c, flowed && delsp ? cn - 1 : cn);
		if (flowed) {
			open = 1;
			open_depth = depth;
		} else {
			cg_buf_putc(&b, '\n');
			open = 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (open)
		cg_buf_putc(&b, '\n');
	return cg_buf_steal(&b);
}
