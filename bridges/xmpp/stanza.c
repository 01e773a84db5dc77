/*
 * stanza.c: building the gateway's room messages and parsing the room's,
 * with no state of its own (unit-tested in tests/unit/test_xmpp_stanza.c).
 *
 * What the room sees from an email (client mode):
 *
 *     [Subject of the thread]          first message of a thread only
 *     > Bob Example: the quoted line   a reply: XEP-0428 fallback quote
 *     Alice Example: the text
 *
 * with <thread> = the thread token (XEP-0201), an XEP-0359 origin-id that
 * is also the message id, and for a reply an XEP-0461 <reply> naming the
 * parent's stanza-id.  Must never: put bytes into a stanza that are not
 * valid XML character data (one bad byte makes the server close the
 * stream, and the row would kill every reconnect).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/xmpp/xmpp.h"
#include "lib/util.h"

/* Length of the UTF-8 sequence at s, or 0 when it is not valid. */
static size_t
utf8_seq(const unsigned char *s, unsigned *cp)
{
	unsigned c = s[0];
	size_t n;
	unsigned v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return n;
}

char *
xb_clean_text(const char *s)
{
	struct cg_buf b = CG_BUF_INIT;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		unsigned cp;
		size_t n = utf8_seq(p, &cp);
		if (n == 0) {
			cg_buf_puts(&b, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		}
		if (cp == '\r') {
			if (p[1] != '\n')
				cg_buf_putc(&b, '\n');
		} else if (cp == '\t' || cp == '\n' || cp >= 0x20) {
			/* U+FFFE/U+FFFF are not XML characters either */
			if (cp != 0xfffe && cp != 0xffff)
				cg_buf_add(&b, p, n);
		}
		p += n;
	}
	char *out = cg_buf_steal(&b);
	return out ? out : cg_strdup("");
}

size_t
xb_utf8_count(const char *s, size_t nbytes)
{
	size_t n = 0;
	for (size_t i = 0; i < nbytes && s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

size_t
xb_utf8_offset(const char *s, size_t cp)
{
	size_t i = 0, n = 0;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == cp)
				return i;
			n++;
		}
	}
	return i;
}

/* s without leading and trailing white space (caller frees). */
static char *
trim_dup(const char *s)
{
	if (s == NULL)
		return cg_strdup("");
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
	             s[n - 1] == '\r'))
		n--;
	return cg_strndup(s, n);
}

/* The first line of s, at most max code points, with "..." when cut. */
static void
add_first_line(struct cg_buf *b, const char *s, size_t max)
{
	char *t = trim_dup(s);
	size_t n = strcspn(t, "\n");
	size_t cut = xb_utf8_offset(t, max);
	if (cut < n) {
		cg_buf_add(b, t, cut);
		cg_buf_puts(b, "...");
	} else {
		cg_buf_add(b, t, n);
		if (t[n])
			cg_buf_puts(b, " ...");
	}
	free(t);
}

/* Text over XB_MAX_TEXT bytes cut on a character boundary, saying so
 * (takes text). */
static char *
cut_long(char *text, const char *where)
{
	if (strlen(text) <= XB_MAX_TEXT)
		return text;
	size_t cut = XB_MAX_TEXT;
	while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	struct cg_buf t = CG_BUF_INIT;
	cg_buf_add(&t, text, cut);
	cg_buf_printf(&t, "\n[...] (cut here%s%s)", where ? ": " : "",
	              where ? where : "");
	free(text);
	return cg_buf_steal(&t);
}

char *
xb_out_body(const struct xb_out *o, size_t *fallback_end)
{
	struct cg_buf b = CG_BUF_INIT;
	*fallback_end = 0;
	if (o->reply_id && o->quote_text) {
		cg_buf_puts(&b, "> ");
		if (o->quote_name && *o->quote_name)
			cg_buf_printf(&b, "%s: ", o->quote_name);
		add_first_line(&b, o->quote_text, 100);
	}
	/* Cleaned apart, so the quote's length in code points is exact. */
	char *quote = xb_clean_text(cg_buf_str(&b));
	cg_buf_reset(&b);
	if (*quote) {
		for (char *p = quote; *p; p++)
			if (*p == '\n')
				*p = ' ';
		cg_buf_printf(&b, "%s\n", quote);
		*fallback_end = xb_utf8_count(b.data, b.len);
	}
	free(quote);
	char *text =
	    cut_long(trim_dup(o->text), "the whole text is in the mail");
	struct cg_buf rest = CG_BUF_INIT;
	if (o->subject && *o->subject)
		cg_buf_printf(&rest, "[%s]\n", o->subject);
	if (o->name && *o->name)
		cg_buf_printf(&rest, "%s: %s", o->name, text);
	else
		cg_buf_puts(&rest, text);
	free(text);
	char *clean = xb_clean_text(cg_buf_str(&rest));
	cg_buf_free(&rest);
	cg_buf_puts(&b, clean);
	free(clean);
	char *out = cg_buf_steal(&b);
	return out ? out : cg_strdup("");
}

xmpp_stanza_t *
xb_el(xmpp_ctx_t *ctx, const char *name, const char *ns)
{
	xmpp_stanza_t *e = xmpp_stanza_new(ctx);
	xmpp_stanza_set_name(e, name);
	if (ns)
		xmpp_stanza_set_ns(e, ns);
	return e;
}

void
xb_add_text_child(xmpp_stanza_t *parent, const char *name, const char *text)
{
	xmpp_ctx_t *ctx = xmpp_stanza_get_context(parent);
	xmpp_stanza_t *e = xb_el(ctx, name, NULL);
	xmpp_stanza_t *t = xmpp_stanza_new(ctx);
	char *clean = xb_clean_text(text);
	xmpp_stanza_set_text(t, clean);
	free(clean);
	xmpp_stanza_add_child_ex(e, t, 0);
	xmpp_stanza_add_child_ex(parent, e, 0);
}

xmpp_stanza_t *
xb_out_stanza(xmpp_ctx_t *ctx, const struct xb_out *o)
{
	size_t fb_end;
	char *body = xb_out_body(o, &fb_end);
	xmpp_stanza_t *m = xmpp_message_new(ctx, "groupchat", o->room, o->id);
	xb_add_text_child(m, "body", body);
	free(body);
	if (o->thread)
		xb_add_text_child(m, "thread", o->thread);
	xmpp_stanza_t *oid = xb_el(ctx, "origin-id", NS_SID);
	xmpp_stanza_set_attribute(oid, "id", o->id);
	xmpp_stanza_add_child_ex(m, oid, 0);
	if (o->reply_id) {
		xmpp_stanza_t *r = xb_el(ctx, "reply", NS_REPLY);
		if (o->reply_to)
			xmpp_stanza_set_attribute(r, "to", o->reply_to);
		xmpp_stanza_set_attribute(r, "id", o->reply_id);
		xmpp_stanza_add_child_ex(m, r, 0);
		if (fb_end) {
			char end[32];
			snprintf(end, sizeof end, "%zu", fb_end);
			xmpp_stanza_t *f = xb_el(ctx, "fallback", NS_FALLBACK);
			xmpp_stanza_set_attribute(f, "for", NS_REPLY);
			xmpp_stanza_t *fb = xb_el(ctx, "body", NULL);
			xmpp_stanza_set_attribute(fb, "start", "0");
			xmpp_stanza_set_attribute(fb, "end", end);
			xmpp_stanza_add_child_ex(f, fb, 0);
			xmpp_stanza_add_child_ex(m, f, 0);
		}
	}
	/* XEP-0334: let the archive keep it (some servers skip bot lines) */
	xmpp_stanza_add_child_ex(m, xb_el(ctx, "store", "urn:xmpp:hints"), 0);
	return m;
}

char *
xb_notice_body(const char *subject, const char *body)
{
	char *s = trim_dup(subject);
	char *b = cut_long(trim_dup(body), NULL);
	char *text = cg_asprintf("%s%s%s", s, *s && *b ? "\n\n" : "", b);
	char *clean = xb_clean_text(text);
	free(text);
	free(s);
	free(b);
	return clean;
}

xmpp_stanza_t *
xb_chat_stanza(xmpp_ctx_t *ctx, const char *to, const char *id,
               const char *text)
{
	xmpp_stanza_t *m = xmpp_message_new(ctx, "chat", to, id);
	xb_add_text_child(m, "body", text);
	xmpp_stanza_t *oid = xb_el(ctx, "origin-id", NS_SID);
	xmpp_stanza_set_attribute(oid, "id", id);
	xmpp_stanza_add_child_ex(m, oid, 0);
	/* XEP-0334: an offline recipient finds it when they come back */
	xmpp_stanza_add_child_ex(m, xb_el(ctx, "store", "urn:xmpp:hints"), 0);
	return m;
}

/* ---- parsing ---- */

/* A copy of a libstrophe string in our allocator (caller frees). */
static char *
own(xmpp_ctx_t *ctx, char *s)
{
	char *r = cg_strdup(s);
	if (s)
		xmpp_free(ctx, s);
	return r;
}

char *
xb_child_text(xmpp_stanza_t *st, const char *name, const char *ns)
{
	xmpp_stanza_t *c =
	    ns ? xmpp_stanza_get_child_by_name_and_ns(st, name, ns)
	       : xmpp_stanza_get_child_by_name(st, name);
	if (c == NULL)
		return NULL;
	return own(xmpp_stanza_get_context(st), xmpp_stanza_get_text(c));
}

char *
xb_bare_lower(const char *jid)
{
	if (jid == NULL)
		return NULL;
	char *b = cg_strndup(jid, strcspn(jid, "/"));
	char *l = cg_lowercase(b);
	free(b);
	return l;
}

/* The attribute `attr` of the first child name/ns whose `match` attribute
 * equals value (any child when match is NULL). */
static char *
child_attr(xmpp_stanza_t *st, const char *name, const char *ns,
           const char *match, const char *value, const char *attr)
{
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
	     c = xmpp_stanza_get_next(c)) {
		const char *cn = xmpp_stanza_get_name(c);
		const char *cns = xmpp_stanza_get_ns(c);
		if (cn == NULL || strcmp(cn, name) != 0 || cns == NULL ||
		    strcmp(cns, ns) != 0)
			continue;
		if (match) {
			const char *v = xmpp_stanza_get_attribute(c, match);
			if (v == NULL || strcasecmp(v, value) != 0)
				continue;
		}
		return cg_strdup(xmpp_stanza_get_attribute(c, attr));
	}
	return NULL;
}

/* The sender's real JID that Prosody's archive (whois = anyone) puts in
 * an <x xmlns=muc#user><item jid/></x> it appends: the LAST such element,
 * since the sender may have put one of its own before it. */
static char *
archived_sender(xmpp_stanza_t *st)
{
	const char *jid = NULL;
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
	     c = xmpp_stanza_get_next(c)) {
		const char *cn = xmpp_stanza_get_name(c);
		const char *cns = xmpp_stanza_get_ns(c);
		if (cn == NULL || strcmp(cn, "x") != 0 || cns == NULL ||
		    strcmp(cns, NS_MUC_USER) != 0)
			continue;
		xmpp_stanza_t *item = xmpp_stanza_get_child_by_name(c, "item");
		jid = item ? xmpp_stanza_get_attribute(item, "jid") : NULL;
	}
	return xb_bare_lower(jid);
}

/* Remove the reply fallback (XEP-0428) from in->body. */
static void
strip_reply_fallback(xmpp_stanza_t *st, struct xb_in *in)
{
	static const char *const nss[] = {NS_FALLBACK, NS_FALLBACK_OLD};
	for (size_t k = 0; k < 2 && in->body; k++) {
		xmpp_stanza_t *f = xmpp_stanza_get_child_by_name_and_ns(
		    st, "fallback", nss[k]);
		if (f == NULL)
			continue;
		const char *for_ = xmpp_stanza_get_attribute(f, "for");
		if (for_ && strcmp(for_, NS_REPLY) != 0)
			continue;
		xmpp_stanza_t *b = xmpp_stanza_get_child_by_name(f, "body");
		if (b == NULL)
			continue;
		const char *s = xmpp_stanza_get_attribute(b, "start");
		const char *e = xmpp_stanza_get_attribute(b, "end");
		if (s == NULL || e == NULL)
			continue;
		char *end1, *end2;
		unsigned long start = strtoul(s, &end1, 10);
		unsigned long end = strtoul(e, &end2, 10);
		if (*end1 || *end2 || end <= start)
			continue;
		size_t bs = xb_utf8_offset(in->body, start);
		size_t be = xb_utf8_offset(in->body, end);
		struct cg_buf out = CG_BUF_INIT;
		cg_buf_add(&out, in->body, bs);
		cg_buf_puts(&out, in->body + be);
		free(in->body);
		in->body = cg_buf_steal(&out);
		if (in->body == NULL)
			in->body = cg_strdup("");
		return;
	}
}

void
xb_in_parse(xmpp_stanza_t *st, struct xb_in *in)
{
	memset(in, 0, sizeof *in);
	in->type = cg_strdup(xmpp_stanza_get_type(st));
	in->from = cg_strdup(xmpp_stanza_get_from(st));
	in->id = cg_strdup(xmpp_stanza_get_id(st));
	in->to = cg_strdup(xmpp_stanza_get_to(st));
	if (in->from) {
		in->room = xb_bare_lower(in->from);
		const char *slash = strchr(in->from, '/');
		if (slash)
			in->nick = cg_strdup(slash + 1);
	}
	in->body = xb_child_text(st, "body", NULL);
	xmpp_stanza_t *subj = xmpp_stanza_get_child_by_name(st, "subject");
	in->has_subject = subj != NULL;
	if (subj)
		in->subject = xb_child_text(st, "subject", NULL);
	in->thread = xb_child_text(st, "thread", NULL);
	/* Only the room's stanza-id counts: anyone can add one claiming
	 * another `by` (XEP-0359 security considerations). */
	if (in->room)
		in->stanza_id =
		    child_attr(st, "stanza-id", NS_SID, "by", in->room, "id");
	in->origin_id = child_attr(st, "origin-id", NS_SID, NULL, NULL, "id");
	in->reply_id = child_attr(st, "reply", NS_REPLY, NULL, NULL, "id");
	in->reply_to = child_attr(st, "reply", NS_REPLY, NULL, NULL, "to");
	in->occupant_id =
	    child_attr(st, "occupant-id", NS_OCCUPANT_ID, NULL, NULL, "id");
	in->replace_id =
	    child_attr(st, "replace", NS_CORRECT, NULL, NULL, "id");
	in->item_jid = archived_sender(st);
	xmpp_stanza_t *oob =
	    xmpp_stanza_get_child_by_name_and_ns(st, "x", NS_OOB);
	if (oob)
		in->oob_url = xb_child_text(oob, "url", NULL);
	in->delayed =
	    xmpp_stanza_get_child_by_name_and_ns(st, "delay", NS_DELAY) != NULL;
	if (in->reply_id)
		strip_reply_fallback(st, in);
	xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
	if (err) {
		for (xmpp_stanza_t *c = xmpp_stanza_get_children(err); c;
		     c = xmpp_stanza_get_next(c)) {
			const char *ns = xmpp_stanza_get_ns(c);
			const char *name = xmpp_stanza_get_name(c);
			if (ns && name && strcmp(ns, NS_STANZAS) == 0 &&
			    strcmp(name, "text") != 0) {
				in->error_condition = cg_strdup(name);
				break;
			}
		}
	}
}

void
xb_in_free(struct xb_in *in)
{
	if (in == NULL)
		return;
	free(in->type);
	free(in->from);
	free(in->room);
	free(in->nick);
	free(in->id);
	free(in->body);
	free(in->subject);
	free(in->thread);
	free(in->stanza_id);
	free(in->origin_id);
	free(in->reply_id);
	free(in->reply_to);
	free(in->occupant_id);
	free(in->replace_id);
	free(in->item_jid);
	free(in->to);
	free(in->error_condition);
	free(in->oob_url);
	memset(in, 0, sizeof *in);
}

/* ---- files: XEP-0363 slots, XEP-0066 links, URLs ---- */

xmpp_stanza_t *
xb_slot_request(xmpp_ctx_t *ctx, const char *to, const char *id,
                const char *filename, int64_t size, const char *type)
{
	xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", id);
	xmpp_stanza_set_to(iq, to);
	xmpp_stanza_t *r = xb_el(ctx, "request", NS_UPLOAD);
	char *clean = xb_clean_text(filename && *filename ? filename : "file");
	for (char *c = clean; *c; c++) /* one path segment, one line */
		if (*c == '/' || *c == '\\' || *c == '\n' || *c == '\t')
			*c = '_';
	xmpp_stanza_set_attribute(r, "filename", clean);
	free(clean);
	char n[32];
	snprintf(n, sizeof n, "%lld", (long long)size);
	xmpp_stanza_set_attribute(r, "size", n);
	if (type && *type)
		xmpp_stanza_set_attribute(r, "content-type", type);
	xmpp_stanza_add_child_ex(iq, r, 0);
	return iq;
}

char *
xb_new_id(const char *prefix)
{
	char *r = cg_random_hex(32);
	char *id = cg_asprintf("%s-%s", prefix, r);
	free(r);
	return id;
}

int
xb_iq_answer_from(xmpp_stanza_t *st, const char *jid)
{
	const char *name = xmpp_stanza_get_name(st);
	const char *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);
	return name && strcmp(name, "iq") == 0 && type &&
	       (strcmp(type, "result") == 0 || strcmp(type, "error") == 0) &&
	       from && jid && xb_jid_same(from, jid);
}

int
xb_jid_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	const char *ra = strchr(a, '/'), *rb = strchr(b, '/');
	size_t na = ra ? (size_t)(ra - a) : strlen(a);
	size_t nb = rb ? (size_t)(rb - b) : strlen(b);
	if (na != nb || strncasecmp(a, b, na) != 0 || !ra != !rb)
		return 0;
	return ra == NULL || strcmp(ra, rb) == 0;
}

void
xb_slot_free(struct xb_slot *s)
{
	free(s->put_url);
	free(s->get_url);
	for (size_t i = 0; i < XB_SLOT_HEADERS; i++)
		free(s->headers[i]);
	memset(s, 0, sizeof *s);
}

/* XEP-0363 §5: only these may be passed on, without line breaks. */
static int
slot_header_ok(const char *name, const char *value)
{
	static const char *const allowed[] = {"Authorization", "Cookie",
	                                      "Expires"};
	int known = 0;
	for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
		known |= strcasecmp(name, allowed[i]) == 0;
	return known && value && strpbrk(value, "\r\n") == NULL;
}

static int
http_url(const char *u)
{
	return u &&
	       (strncasecmp(u, "https://", 8) == 0 ||
	        strncasecmp(u, "http://", 7) == 0) &&
	       strpbrk(u, " \t\r\n") == NULL;
}

/* An http(s) URL with a well-formed authority (xb_url_origin). */
static int
well_formed_url(const char *u)
{
	char *o = xb_url_origin(u);
	free(o);
	return o != NULL;
}

int
xb_slot_parse(xmpp_stanza_t *iq, struct xb_slot *out)
{
	memset(out, 0, sizeof *out);
	xmpp_stanza_t *slot =
	    xmpp_stanza_get_child_by_name_and_ns(iq, "slot", NS_UPLOAD);
	xmpp_stanza_t *put =
	    slot ? xmpp_stanza_get_child_by_name(slot, "put") : NULL;
	xmpp_stanza_t *get =
	    slot ? xmpp_stanza_get_child_by_name(slot, "get") : NULL;
	const char *pu = put ? xmpp_stanza_get_attribute(put, "url") : NULL;
	const char *gu = get ? xmpp_stanza_get_attribute(get, "url") : NULL;
	if (!well_formed_url(pu) || !well_formed_url(gu) ||
	    strncasecmp(gu, "https://", 8) != 0)
		return -1; /* members fetch it: only https, like clients */
	out->put_url = cg_strdup(pu);
	out->get_url = cg_strdup(gu);
	size_t n = 0;
	for (xmpp_stanza_t *h = xmpp_stanza_get_children(put); h;
	     h = xmpp_stanza_get_next(h)) {
		const char *nm = xmpp_stanza_get_name(h);
		const char *hn = xmpp_stanza_get_attribute(h, "name");
		if (nm == NULL || strcmp(nm, "header") != 0 || hn == NULL)
			continue;
		char *v = xmpp_stanza_get_text(h);
		if (n < XB_SLOT_HEADERS && slot_header_ok(hn, v))
			out->headers[n++] = cg_asprintf("%s: %s", hn, v);
		if (v)
			xmpp_free(xmpp_stanza_get_context(h), v);
	}
	return 0;
}

xmpp_stanza_t *
xb_file_stanza(xmpp_ctx_t *ctx, const char *room, const char *id,
               const char *url, const char *desc, const char *thread)
{
	xmpp_stanza_t *m = xmpp_message_new(ctx, "groupchat", room, id);
	/* The body is the URL alone: clients then show the file inline. */
	xb_add_text_child(m, "body", url);
	if (thread)
		xb_add_text_child(m, "thread", thread);
	xmpp_stanza_t *x = xb_el(ctx, "x", NS_OOB);
	xb_add_text_child(x, "url", url);
	if (desc && *desc)
		xb_add_text_child(x, "desc", desc);
	xmpp_stanza_add_child_ex(m, x, 0);
	xmpp_stanza_t *oid = xb_el(ctx, "origin-id", NS_SID);
	xmpp_stanza_set_attribute(oid, "id", id);
	xmpp_stanza_add_child_ex(m, oid, 0);
	xmpp_stanza_add_child_ex(m, xb_el(ctx, "store", "urn:xmpp:hints"), 0);
	return m;
}

/* The parts of an http(s) URL's authority: "host", "host:port" or
 * "[v6]:port", nothing else (no user info, no empty host or port, no
 * bracket without its partner).  Lookup: 1 and a, or 0 when url is not
 * such a URL (a->host freed by the caller). */
struct url_authority {
	int tls;
	int v6;     /* host was "[...]" (kept without the brackets) */
	char *host; /* lower case */
	unsigned port;
};

/* A host name or IPv4 address byte (UTF-8 of an IDN is passed on). */
static int
host_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~' || c >= 0x80;
}

static int
v6_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* The port digits p[0..n): 1..65535, else 0. */
static unsigned
port_value(const char *p, size_t n)
{
	unsigned v = 0;
	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v <= 65535 ? v : 0;
}

static int
url_authority(const char *url, struct url_authority *a)
{
	memset(a, 0, sizeof *a);
	if (!http_url(url))
		return 0;
	a->tls = strncasecmp(url, "https://", 8) == 0;
	const char *h = url + (a->tls ? 8 : 7);
	size_t len = strcspn(h, "/?#");
	size_t hl; /* the host's bytes, brackets included */
	if (len > 0 && h[0] == '[') {
		const char *close = memchr(h, ']', len);
		if (close == NULL || close == h + 1)
			return 0;
		hl = (size_t)(close - h) + 1;
		for (size_t i = 1; i + 1 < hl; i++)
			if (!v6_byte((unsigned char)h[i]))
				return 0;
		a->v6 = 1;
	} else {
		hl = 0;
		while (hl < len && host_byte((unsigned char)h[hl]))
			hl++;
		if (hl == 0)
			return 0;
	}
	if (hl < len && h[hl] != ':')
		return 0; /* '@', a stray bracket, any other byte */
	a->port = hl < len ? port_value(h + hl + 1, len - hl - 1)
	                   : (a->tls ? 443 : 80);
	if (a->port == 0)
		return 0;
	a->host = cg_strndup(h + a->v6, hl - 2 * (size_t)a->v6);
	for (char *c = a->host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return 1;
}

char *
xb_url_origin(const char *url)
{
	struct url_authority a;
	if (!url_authority(url, &a))
		return NULL;
	char *out =
	    cg_asprintf("%s://%s%s%s:%u", a.tls ? "https" : "http",
	                a.v6 ? "[" : "", a.host, a.v6 ? "]" : "", a.port);
	free(a.host);
	return out;
}

char *
xb_url_host(const char *url)
{
	struct url_authority a;
	return url_authority(url, &a) ? a.host : NULL;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

char *
xb_url_filename(const char *url)
{
	if (!http_url(url))
		return NULL;
	size_t end = strcspn(url, "?#");
	const char *host = strstr(url, "://") + 3;
	const char *path = memchr(host, '/', end - (size_t)(host - url));
	if (path == NULL) /* the host alone */
		return NULL;
	size_t first = (size_t)(path - url) + 1;
	size_t start = end;
	while (start > first && url[start - 1] != '/')
		start--;
	if (start == end)
		return NULL;
	char *name = cg_malloc(end - start + 1);
	size_t n = 0;
	for (size_t i = start; i < end; i++) {
		int hi, lo;
		if (url[i] == '%' && i + 2 < end &&
		    (hi = hexval(url[i + 1])) >= 0 &&
		    (lo = hexval(url[i + 2])) >= 0) {
			char c = (char)(hi * 16 + lo);
			name[n++] =
			    c == '/' || c == '\\' || c == '\0' ? '_' : c;
			i += 2;
		} else {
			name[n++] = url[i];
		}
	}
	name[n] = '\0';
	char *clean = xb_clean_text(name);
	free(name);
	for (char *c = clean; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	if (*clean == '\0' || strcmp(clean, ".") == 0 ||
	    strcmp(clean, "..") == 0) {
		free(clean);
		return NULL;
	}
	return clean;
}

char *
xb_body_url(const char *body)
{
	if (body == NULL)
		return NULL;
	while (*body == ' ' || *body == '\t' || *body == '\n' || *body == '\r')
		body++;
	size_t len = strlen(body);
	while (len && strchr(" \t\r\n", body[len - 1]))
		len--;
	char *u = cg_strndup(body, len);
	char *origin = xb_url_origin(u); /* NULL: not an http(s) URL */
	if (origin == NULL) {
		free(u);
		return NULL;
	}
	free(origin);
	return u;
}
