/*
 * cli_crm.c: `coopgate crm import FILE.vcf` and `crm export [FILE.vcf]`:
 * contacts as vCard 4.0 (RFC 6350).
 *
 * Written: BEGIN/VERSION:4.0/FN/N/EMAIL.../IMPP:xmpp:.../ORG/CATEGORIES/
 * NOTE/X-COOP-LAYER/END, CRLF, lines folded at 75 octets (never inside a
 * UTF-8 sequence), text escaped (\\ \, \; \n).  Read: the same (also
 * VERSION:3.0), other properties ignored; an unfolded line's number is
 * that of its first physical line.  A malformed card is reported as
 * "FILE:LINE: message" and skipped, the others are imported (exit 65 when
 * any was skipped).  Contacts are matched by their first email address,
 * else their XMPP address; a new contact without X-COOP-LAYER is a guest.
 * Export then import on an empty database gives the same contacts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "gateway/config.h"
#include "lib/util.h"
#include "store/billing.h"
#include "store/store.h"

static const char crm_usage[] = "usage: coopgate crm import FILE.vcf\n"
                                "       coopgate crm export [FILE.vcf]\n";

/* ---- writing ---- */

/* Text value escaping (RFC 6350 3.4): backslash, comma, semicolon,
 * newline.  CR is dropped. */
static void
put_escaped(struct cg_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\':
			cg_buf_puts(b, "\\\\");
			break;
		case ',':
			cg_buf_puts(b, "\\,");
			break;
		case ';':
			cg_buf_puts(b, "\\;");
			break;
		case '\n':
			cg_buf_puts(b, "\\n");
			break;
		case '\r':
			break;
		default:
			cg_buf_putc(b, *s);
		}
	}
}

/* One content line, folded at 75 octets without splitting a UTF-8
 * sequence, CRLF. */
static void
put_line(FILE *out, const char *line)
{
	size_t col = 0;
	for (const unsigned char *p = (const unsigned char *)line; *p;) {
		size_t n = 1;
		while ((p[n] & 0xC0) == 0x80)
			n++;
		if (col + n > 75) {
			fputs("\r\n ", out);
			col = 1;
		}
		fwrite(p, 1, n, out);
		col += n;
		p += n;
	}
	fputs("\r\n", out);
}

static void
put_prop(FILE *out, const char *name, const char *value)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b, "%s:", name);
	put_escaped(&b, value);
	put_line(out, cg_buf_str(&b));
	cg_buf_free(&b);
}

/* N from a display name: the last word as family name, the rest given. */
static void
put_n(FILE *out, const char *name)
{
	const char *sp = strrchr(name, ' ');
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_puts(&b, "N:");
	put_escaped(&b, sp ? sp + 1 : name);
	cg_buf_putc(&b, ';');
	if (sp) {
		char *given = cg_strndup(name, (size_t)(sp - name));
		put_escaped(&b, given);
		free(given);
	}
	cg_buf_puts(&b, ";;;");
	put_line(out, cg_buf_str(&b));
	cg_buf_free(&b);
}

struct export_ctx {
	struct cg_store *s;
	FILE *out;
	size_t n;
	int failed;
};

/* ADR, X-COOP-VAT-ID, X-COOP-BUYER-REF from the buyer's billing data. */
static int
export_billing(struct export_ctx *x, int64_t id)
{
	struct cg_billing_data b;
	int found = cg_store_billing_data_get(x->s, id, &b);
	if (found < 0) {
		x->failed = 1;
		return -1;
	}
	if (found == 0)
		return 0;
	if (b.street || b.city || b.postcode || b.country) {
		struct cg_buf l = CG_BUF_INIT;
		cg_buf_puts(&l, "ADR:;;");
		const char *v[] = {b.street, b.city, "", b.postcode, b.country};
		for (int i = 0; i < 5; i++) {
			if (i)
				cg_buf_putc(&l, ';');
			put_escaped(&l, v[i] ? v[i] : "");
		}
		put_line(x->out, cg_buf_str(&l));
		cg_buf_free(&l);
	}
	if (b.vat_id)
		put_prop(x->out, "X-COOP-VAT-ID", b.vat_id);
	if (b.buyer_ref)
		put_prop(x->out, "X-COOP-BUYER-REF", b.buyer_ref);
	cg_billing_data_free(&b);
	return 0;
}

static int
export_one(const struct cg_contact *c, void *arg)
{
	struct export_ctx *x = arg;
	put_line(x->out, "BEGIN:VCARD");
	put_line(x->out, "VERSION:4.0");
	const char *fn = c->name && *c->name ? c->name
	                 : c->nemails        ? c->emails[0]
	                 : c->njids          ? c->jids[0]
	                                     : "";
	put_prop(x->out, "FN", fn);
	if (c->name && *c->name)
		put_n(x->out, c->name);
	for (size_t i = 0; i < c->nemails; i++)
		put_prop(x->out, "EMAIL", c->emails[i]);
	for (size_t i = 0; i < c->njids; i++) {
		char *v = cg_asprintf("IMPP:xmpp:%s", c->jids[i]);
		put_line(x->out, v);
		free(v);
	}
	if (c->org && *c->org)
		put_prop(x->out, "ORG", c->org);
	char **tags;
	size_t ntags;
	if (cg_store_contact_tags(x->s, c->id, &tags, &ntags) != 0) {
		x->failed = 1;
		return 1;
	}
	if (ntags) {
		struct cg_buf b = CG_BUF_INIT;
		cg_buf_puts(&b, "CATEGORIES:");
		for (size_t i = 0; i < ntags; i++) {
			if (i)
				cg_buf_putc(&b, ',');
			put_escaped(&b, tags[i]);
			free(tags[i]);
		}
		put_line(x->out, cg_buf_str(&b));
		cg_buf_free(&b);
	}
	free(tags);
	char *note = NULL;
	if (cg_store_contact_note(x->s, c->id, &note) != 0) {
		x->failed = 1;
		return 1;
	}
	if (note)
		put_prop(x->out, "NOTE", note);
	free(note);
	if (export_billing(x, c->id) != 0)
		return 1;
	put_prop(x->out, "X-COOP-LAYER", cg_layer_name(c->layer));
	put_line(x->out, "END:VCARD");
	x->n++;
	return 0;
}

static int
crm_export(struct cg_store *s, const char *path)
{
	FILE *out = stdout;
	if (path && strcmp(path, "-") != 0) {
		out = fopen(path, "wb");
		if (out == NULL) {
			fprintf(stderr, "coopgate: %s: %s\n", path,
			        strerror(errno));
			return CG_EX_CANTCREAT;
		}
	}
	struct export_ctx x = {.s = s, .out = out};
	int rc = cg_store_contact_each(s, NULL, export_one, &x);
	int werr = ferror(out);
	if (out != stdout)
		werr |= fclose(out) != 0;
	else
		werr |= fflush(out) != 0;
	if (rc != 0 || x.failed) {
		fprintf(stderr, "coopgate: export: %s\n", cg_store_errmsg(s));
		return CG_EX_UNAVAILABLE;
	}
	if (werr) {
		fprintf(stderr, "coopgate: %s: write failed\n",
		        path ? path : "stdout");
		return CG_EX_CANTCREAT;
	}
	if (out != stdout)
		printf("%s: %zu contact%s exported\n", path, x.n,
		       x.n == 1 ? "" : "s");
	return CG_EX_OK;
}

/* ---- reading ---- */

struct card {
	int line; /* of BEGIN:VCARD */
	int version_seen;
	char *fn;
	char *n_name; /* "Given Family" from N */
	char **emails;
	size_t nemails;
	char **jids;
	size_t njids;
	char *org;
	char **tags;
	size_t ntags;
	char *note;
	int has_layer;
	enum cg_layer layer;
	struct cg_billing_data bill; /* ADR, X-COOP-VAT-ID, X-COOP-BUYER-REF */
	int has_bill;
	char *error; /* first problem: "LINE: message" */
	int error_line;
};

static void
strv_add(char ***v, size_t *n, char *s)
{
	*v = cg_realloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
card_reset(struct card *c)
{
	free(c->fn);
	free(c->n_name);
	strv_free(c->emails, c->nemails);
	strv_free(c->jids, c->njids);
	free(c->org);
	strv_free(c->tags, c->ntags);
	free(c->note);
	cg_billing_data_free(&c->bill);
	free(c->error);
	memset(c, 0, sizeof *c);
}

static void
card_error(struct card *c, int line, const char *msg)
{
	if (c->error)
		return;
	c->error = cg_strdup(msg);
	c->error_line = line;
}

/* Split a text value at unescaped `sep` (0: no split) and unescape each
 * part.  Returns the parts. */
static char **
split_unescape(const char *v, char sep, size_t *n)
{
	char **parts = NULL;
	*n = 0;
	struct cg_buf b = CG_BUF_INIT;
	for (const char *p = v;; p++) {
		if (*p == '\0' || (sep && *p == sep)) {
			strv_add(&parts, n,
			         b.data ? cg_buf_steal(&b) : cg_strdup(""));
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '\\' && p[1]) {
			p++;
			cg_buf_putc(&b, *p == 'n' || *p == 'N' ? '\n' : *p);
			continue;
		}
		cg_buf_putc(&b, *p);
	}
	cg_buf_free(&b);
	return parts;
}

static char *
unescape(const char *v)
{
	size_t n;
	char **p = split_unescape(v, 0, &n);
	char *r = p[0];
	free(p);
	return r;
}

static char *
trimmed_copy(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return cg_strndup(s, n);
}

static int
plausible_address(const char *a)
{
	const char *at = strchr(a, '@');
	return at && at != a && at[1] && !strchr(at + 1, '@') &&
	       !strpbrk(a, " \t\r\n<>,;\"()/");
}

/* The name part of a content line: "item1.EMAIL;TYPE=work" -> "EMAIL". */
static char *
prop_name(const char *line, size_t len)
{
	size_t n = strcspn(line, ";:");
	if (n > len)
		n = len;
	const char *dot = memchr(line, '.', n);
	const char *start = dot ? dot + 1 : line;
	return cg_strndup(start, n - (size_t)(start - line));
}

/* The value after the first ':' outside a quoted parameter value. */
static const char *
prop_value(const char *line)
{
	int quoted = 0;
	for (const char *p = line; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ':' && !quoted)
			return p + 1;
	}
	return NULL;
}

/* Replace *field with the trimmed value when it is not empty. */
static void
bill_field(char **field, const char *v)
{
	char *t = trimmed_copy(v);
	if (*t) {
		free(*field);
		*field = t;
	} else {
		free(t);
	}
}

/* ADR (RFC 6350 6.3.1: post office box; extended; street; locality;
 * region; postal code; country) and the billing ids of a buyer. */
static void
card_billing(struct card *c, const char *name, const char *v)
{
	c->has_bill = 1;
	if (strcasecmp(name, "X-COOP-VAT-ID") == 0) {
		char *u = unescape(v);
		bill_field(&c->bill.vat_id, u);
		free(u);
		return;
	}
	if (strcasecmp(name, "X-COOP-BUYER-REF") == 0) {
		char *u = unescape(v);
		bill_field(&c->bill.buyer_ref, u);
		free(u);
		return;
	}
	size_t n;
	char **p = split_unescape(v, ';', &n);
	if (n > 2)
		bill_field(&c->bill.street, p[2]);
	if (n > 3)
		bill_field(&c->bill.city, p[3]);
	if (n > 5)
		bill_field(&c->bill.postcode, p[5]);
	if (n > 6)
		bill_field(&c->bill.country, p[6]);
	strv_free(p, n);
}

static void
card_property(struct card *c, const char *line, int lineno)
{
	const char *v = prop_value(line);
	if (v == NULL) {
		card_error(c, lineno, "no ':' in the content line");
		return;
	}
	char *name = prop_name(line, (size_t)(v - 1 - line));
	char msg[160];
	if (strcasecmp(name, "VERSION") == 0) {
		if (strcmp(v, "4.0") != 0 && strcmp(v, "3.0") != 0) {
			snprintf(msg, sizeof msg,
			         "VERSION %.40s: only vCard "
			         "4.0 (or 3.0) is read",
			         v);
			card_error(c, lineno, msg);
		}
		c->version_seen = 1;
	} else if (strcasecmp(name, "FN") == 0) {
		free(c->fn);
		c->fn = unescape(v);
	} else if (strcasecmp(name, "N") == 0) {
		size_t n;
		char **p = split_unescape(v, ';', &n);
		struct cg_buf b = CG_BUF_INIT;
		if (n > 1 && *p[1])
			cg_buf_puts(&b, p[1]);
		if (*p[0])
			cg_buf_printf(&b, "%s%s", b.len ? " " : "", p[0]);
		free(c->n_name);
		c->n_name = cg_buf_steal(&b);
		strv_free(p, n);
	} else if (strcasecmp(name, "EMAIL") == 0) {
		char *u = unescape(v);
		char *t = trimmed_copy(u);
		free(u);
		char *a = cg_lowercase(t);
		free(t);
		if (!plausible_address(a)) {
			snprintf(msg, sizeof msg,
			         "EMAIL %.60s: not an email "
			         "address",
			         a);
			card_error(c, lineno, msg);
			free(a);
		} else {
			strv_add(&c->emails, &c->nemails, a);
		}
	} else if (strcasecmp(name, "IMPP") == 0) {
		if (strncasecmp(v, "xmpp:", 5) == 0) {
			char *jid = cg_strndup(v + 5, strcspn(v + 5, "?"));
			char *l = cg_lowercase(jid);
			free(jid);
			if (!plausible_address(l)) {
				snprintf(msg, sizeof msg,
				         "IMPP %.60s: not a "
				         "bare JID",
				         v);
				card_error(c, lineno, msg);
				free(l);
			} else {
				strv_add(&c->jids, &c->njids, l);
			}
		}
	} else if (strcasecmp(name, "ORG") == 0) {
		size_t n;
		char **p = split_unescape(v, ';', &n);
		free(c->org);
		c->org = cg_strdup(p[0]);
		strv_free(p, n);
	} else if (strcasecmp(name, "CATEGORIES") == 0) {
		size_t n;
		char **p = split_unescape(v, ',', &n);
		for (size_t i = 0; i < n; i++) {
			char *t = trimmed_copy(p[i]);
			if (*t)
				strv_add(&c->tags, &c->ntags, t);
			else
				free(t);
		}
		strv_free(p, n);
	} else if (strcasecmp(name, "NOTE") == 0) {
		free(c->note);
		c->note = unescape(v);
	} else if (strcasecmp(name, "ADR") == 0 ||
	           strcasecmp(name, "X-COOP-VAT-ID") == 0 ||
	           strcasecmp(name, "X-COOP-BUYER-REF") == 0) {
		card_billing(c, name, v);
	} else if (strcasecmp(name, "X-COOP-LAYER") == 0) {
		if (cg_layer_parse(v, &c->layer) != 0) {
			snprintf(msg, sizeof msg,
			         "X-COOP-LAYER %.40s: unknown "
			         "layer (guest, partner, member, core)",
			         v);
			card_error(c, lineno, msg);
		}
		c->has_layer = 1;
	}
	free(name);
}

/* Store one card (in its own transaction).  0 ok, -1 with *err set. */
static int
card_store(struct cg_store *s, const struct card *c, char **err)
{
	const char *name = c->fn && *c->fn ? c->fn : c->n_name;
	/* FN standing in for a missing name is the contact's address. */
	for (size_t i = 0; name && i < c->nemails; i++)
		if (strcasecmp(name, c->emails[i]) == 0)
			name = NULL;
	for (size_t i = 0; name && i < c->njids; i++)
		if (strcasecmp(name, c->jids[i]) == 0)
			name = NULL;
	if (name && !*name)
		name = NULL;
	if (cg_store_begin(s) != 0)
		goto fail;
	int64_t id;
	int found =
	    c->nemails
	        ? cg_store_contact_find(s, CG_ID_EMAIL, c->emails[0], &id)
	        : cg_store_contact_find(s, CG_ID_JID, c->jids[0], &id);
	if (found < 0)
		goto fail;
	int is_new = found == 0;
	/* An address of somebody else: say so here, not as a store error. */
	for (size_t i = 0; i < c->nemails + c->njids; i++) {
		int mail = i < c->nemails;
		const char *v = mail ? c->emails[i] : c->jids[i - c->nemails];
		int64_t owner;
		if (cg_store_contact_find(s, mail ? CG_ID_EMAIL : CG_ID_JID, v,
		                          &owner) < 0)
			goto fail;
		if (owner != 0 && owner != id) {
			cg_store_rollback(s);
			*err = cg_asprintf("%s: already belongs to another "
			                   "contact",
			                   v);
			return -1;
		}
	}
	if (c->nemails) {
		struct cg_member_input in = {
		    .address = c->emails[0],
		    .name = name,
		    .org = c->org,
		    .has_layer = c->has_layer || is_new,
		    .layer = c->has_layer ? c->layer : CG_LAYER_GUEST,
		    .delivery = CG_DELIVERY_EACH,
		    .source = "cli",
		};
		if (cg_store_member_upsert(s, &in, &id) != 0)
			goto fail;
	} else {
		if (is_new && (id = cg_store_contact_auto(
		                   s, CG_ID_JID, c->jids[0], name)) == 0)
			goto fail;
		if (cg_store_contact_set_name(s, id, name) != 0 ||
		    cg_store_contact_set_org(s, id, c->org) != 0)
			goto fail;
		if (c->has_layer &&
		    cg_store_contact_set_layer(s, id, c->layer, "cli") != 0)
			goto fail;
	}
	for (size_t i = 1; i < c->nemails; i++)
		if (cg_store_contact_identity_add(s, id, CG_ID_EMAIL,
		                                  c->emails[i]) != 0)
			goto fail;
	for (size_t i = 0; i < c->njids; i++)
		if (cg_store_contact_identity_add(s, id, CG_ID_JID,
		                                  c->jids[i]) != 0)
			goto fail;
	for (size_t i = 0; i < c->ntags; i++)
		if (cg_store_contact_tag_add(s, id, c->tags[i]) != 0)
			goto fail;
	if (c->note && cg_store_contact_set_note(s, id, c->note) != 0)
		goto fail;
	if (c->has_bill && cg_store_billing_data_set(s, id, &c->bill) != 0)
		goto fail;
	if (cg_store_commit(s) != 0)
		goto fail;
	return 0;
fail:
	*err = cg_strdup(cg_store_errmsg(s));
	cg_store_rollback(s);
	return -1;
}

struct importer {
	struct cg_store *s;
	const char *path;
	struct card card;
	int in_card;
	size_t imported, skipped;
};

static void
skip(struct importer *im, int line, const char *msg)
{
	fprintf(stderr, "%s:%d: %s\n", im->path, line, msg);
	im->skipped++;
}

static void
card_end(struct importer *im, int lineno)
{
	struct card *c = &im->card;
	if (c->error == NULL && !c->version_seen)
		card_error(c, c->line, "card without VERSION");
	if (c->error == NULL && c->nemails == 0 && c->njids == 0)
		card_error(c, c->line,
		           "card without EMAIL or IMPP:xmpp: "
		           "address");
	if (c->error == NULL && !c->fn && !c->n_name)
		card_error(c, c->line, "card without FN");
	if (c->error) {
		skip(im, c->error_line, c->error);
	} else {
		char *err = NULL;
		if (card_store(im->s, c, &err) == 0) {
			im->imported++;
		} else {
			skip(im, c->line, err ? err : "cannot store");
		}
		free(err);
	}
	card_reset(c);
	im->in_card = 0;
}

static void
logical_line(struct importer *im, const char *line, int lineno)
{
	if (*line == '\0')
		return;
	if (strcasecmp(line, "BEGIN:VCARD") == 0) {
		if (im->in_card) {
			card_error(&im->card, lineno,
			           "BEGIN:VCARD inside a "
			           "card (missing END:VCARD)");
			card_end(im, lineno);
		}
		im->in_card = 1;
		im->card.line = lineno;
		return;
	}
	if (strcasecmp(line, "END:VCARD") == 0) {
		if (!im->in_card)
			skip(im, lineno, "END:VCARD without BEGIN:VCARD");
		else
			card_end(im, lineno);
		return;
	}
	if (!im->in_card) {
		skip(im, lineno, "content outside BEGIN:VCARD ... END:VCARD");
		return;
	}
	card_property(&im->card, line, lineno);
}

static int
crm_import(struct cg_store *s, const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (in == NULL) {
		fprintf(stderr, "coopgate: %s: %s\n", path, strerror(errno));
		return CG_EX_DATAERR;
	}
	struct importer im = {.s = s, .path = path};
	struct cg_buf logical = CG_BUF_INIT;
	int logical_no = 0, lineno = 0;
	char *raw = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&raw, &cap, in)) >= 0) {
		lineno++;
		while (len > 0 &&
		       (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
			raw[--len] = '\0';
		if ((raw[0] == ' ' || raw[0] == '\t') && logical_no) {
			cg_buf_add(&logical, raw + 1, (size_t)len - 1);
			continue;
		}
		if (logical_no)
			logical_line(&im, cg_buf_str(&logical), logical_no);
		cg_buf_reset(&logical);
		cg_buf_add(&logical, raw, (size_t)len);
		logical_no = lineno;
	}
	if (logical_no)
		logical_line(&im, cg_buf_str(&logical), logical_no);
	if (im.in_card) {
		card_error(&im.card, im.card.line, "card without END:VCARD");
		card_end(&im, lineno);
	}
	free(raw);
	cg_buf_free(&logical);
	int rerr = ferror(in);
	if (in != stdin)
		fclose(in);
	if (rerr) {
		fprintf(stderr, "coopgate: %s: read error\n", path);
		return CG_EX_DATAERR;
	}
	printf("%s: %zu contact%s imported, %zu skipped\n", path, im.imported,
	       im.imported == 1 ? "" : "s", im.skipped);
	return im.skipped ? CG_EX_DATAERR : CG_EX_OK;
}

int
cg_cli_crm(int argc, char **argv, const char *config_path)
{
	if (argc < 2) {
		fputs(crm_usage, stderr);
		return CG_EX_USAGE;
	}
	const char *sub = argv[1];
	int is_import = strcmp(sub, "import") == 0;
	if (!is_import && strcmp(sub, "export") != 0) {
		fprintf(stderr, "coopgate: crm %s: unknown subcommand\n", sub);
		fputs(crm_usage, stderr);
		return CG_EX_USAGE;
	}
	if ((is_import && argc != 3) || (!is_import && argc > 3)) {
		fprintf(stderr, "coopgate: crm: %s\n",
		        is_import ? "import takes one FILE.vcf"
		                  : "export takes at most one FILE.vcf");
		fputs(crm_usage, stderr);
		return CG_EX_USAGE;
	}
	struct cg_cli_env env;
	int rc = cg_cli_open(config_path, 0, &env);
	if (rc != CG_EX_OK)
		return rc;
	rc = is_import ? crm_import(env.store, argv[2])
	               : crm_export(env.store, argc == 3 ? argv[2] : NULL);
	cg_cli_close(&env);
	return rc;
}
