/*
 * trim.c: a mail body -> the text a chat room should see: the author's
 * new text.  Owns the rules; the words they look for (attribution verbs,
 * header labels, separator phrases, signature lines per client and
 * language) are data in trim_tables.c.
 *
 * The rules, in the order they are applied:
 *  1. The quoted original below a reply is cut at its first line: a
 *     separator ("-----Original Message-----"), a header block (three or
 *     more of From/Sent/To/Subject, From and a date among them: Outlook,
 *     GMX, Yahoo),
 *     or a dated attribution ("On <date>, <a@b> wrote:") with the
 *     original below it unquoted (Yahoo).  A forward is never cut.
 *  2. A signature is cut at "-- ", or at a bare "--" with at most
 *     TRIM_SHORT_SIG lines below it before a quote.
 *  3. Above that, the text runs to its last line of the author's own:
 *     quotes, attributions ("... wrote:", wrapped over up to three lines)
 *     and phone signatures after it go.  Quotes above it stay (an inline
 *     answer means nothing without the lines it answers); attributions
 *     there go.
 *  4. Trailing blanks go from every line; blank lines stay as written,
 *     except that a dropped line leaves at most one.
 * A mail that is nothing but quotes gives "": the room gets nothing new.
 *
 * Every pass is linear in the mail's size: each line is looked at a
 * bounded number of times (the next non-blank line and the lines to the
 * next quote are precomputed, a line joins at most two others, a header
 * block is looked for in a window of TRIM_HEADER_SPAN lines).
 * Must never: change the words it keeps, reorder lines, or read past the
 * text it was given.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/trim.h"
#include "bridges/email/trim_tables.h"
#include "lib/util.h"

#define TRIM_MAX_ATTRIBUTION 300 /* bytes of a plausible attribution */
#define TRIM_ATTR_LINES 3        /* lines a wrapped attribution spans */
#define TRIM_HEADER_SPAN 10      /* lines a header block spans */
#define TRIM_SHORT_SIG 16        /* lines below a bare "--" to be a sig */
#define TRIM_MAX_SIG_LINE 120    /* bytes of a phone signature line */

enum line_kind { L_TEXT, L_BLANK, L_QUOTE, L_ATTR };

struct line {
	const char *s;  /* not NUL-terminated */
	size_t n;       /* length without trailing blanks */
	size_t raw;     /* length with them (no CR/LF) */
	size_t next_nb; /* index of the next non-blank line after it */
	enum line_kind kind;
};

struct text {
	struct line *l;
	size_t n;
};

/* ---- small tests on (s, n) -------------------------------------------- */

static int
starts_ci(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);
	return n >= m && strncasecmp(s, prefix, m) == 0;
}

static int
contains_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	int first = tolower((unsigned char)needle[0]);
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (tolower((unsigned char)s[i]) == first &&
		    strncasecmp(s + i, needle, m) == 0)
			return 1;
	return 0;
}

static int
contains_any(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (contains_ci(s, n, *list))
			return 1;
	return 0;
}

static int
starts_any(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (starts_ci(s, n, *list))
			return 1;
	return 0;
}

static int
has_char(const char *s, size_t n, int c)
{
	return memchr(s, c, n) != NULL;
}

static int
has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)s[i]))
			return 1;
	return 0;
}

/* Blanks: space, tab, CR and U+00A0 (C2 A0). */
static size_t
blank_at(const char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r'))
		return 1;
	if (n >= 2 && (unsigned char)s[0] == 0xc2 &&
	    (unsigned char)s[1] == 0xa0)
		return 2;
	return 0;
}

static size_t
rstrip(const char *s, size_t n)
{
	for (;;) {
		if (n >= 1 &&
		    (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			n--;
		else if (n >= 2 && (unsigned char)s[n - 2] == 0xc2 &&
		         (unsigned char)s[n - 1] == 0xa0)
			n -= 2;
		else
			return n;
	}
}

/* The line without leading blanks and Markdown-ish '*' (Gmail renders
 * Outlook's bold "From:" as "*From:*"). */
static const char *
lead(const struct line *l, size_t *n)
{
	const char *s = l->s;
	size_t k = l->n, b;
	while (k > 0 && ((b = blank_at(s, k)) > 0 || *s == '*')) {
		b = b ? b : 1;
		s += b, k -= b;
	}
	*n = k;
	return s;
}

static int
quoted_text(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 3 && s[i] == ' ')
		i++;
	return i < n && s[i] == '>';
}

/* ---- splitting ---------------------------------------------------------- */

static void
split(const char *text, struct text *t)
{
	size_t cap = 0;
	const char *p = text;
	t->l = NULL;
	t->n = 0;
	while (*p) {
		size_t raw = strcspn(p, "\r\n");
		size_t n = rstrip(p, raw);
		if (t->n == cap) {
			cap = cap ? cap * 2 : 64;
			t->l = cg_realloc(t->l, cap * sizeof *t->l);
		}
		enum line_kind k = n == 0              ? L_BLANK
		                   : quoted_text(p, n) ? L_QUOTE
		                                       : L_TEXT;
		t->l[t->n++] = (struct line){p, n, raw, 0, k};
		p += raw;
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	}
	size_t next = t->n;
	for (size_t i = t->n; i > 0; i--) {
		t->l[i - 1].next_nb = next;
		if (t->l[i - 1].kind != L_BLANK)
			next = i - 1;
	}
}

static int
is(const struct text *t, size_t i, enum line_kind k)
{
	return i < t->n && t->l[i].kind == k;
}

/* ---- attributions ------------------------------------------------------- */

/* "2026-11-02 15:36 ..." (Gmail's old attribution has no verb). */
static int
iso_date_start(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-dd";
	if (n < sizeof shape - 1)
		return 0;
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i])
		                    : s[i] != shape[i])
			return 0;
	return 1;
}

/* A time "10:05" in s. */
static int
has_time(const char *s, size_t n)
{
	for (size_t i = 1; i + 2 < n; i++)
		if (s[i] == ':' && isdigit((unsigned char)s[i - 1]) &&
		    isdigit((unsigned char)s[i + 1]) &&
		    isdigit((unsigned char)s[i + 2]))
			return 1;
	return 0;
}

/* A time "10:05" or a year "2026" in s. */
static int
has_time_or_year(const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i])) {
			if (++run == 4)
				return 1;
			continue;
		}
		if (s[i] == ':' && run > 0 && i + 2 < n &&
		    isdigit((unsigned char)s[i + 1]) &&
		    isdigit((unsigned char)s[i + 2]))
			return 1;
		run = 0;
	}
	return 0;
}

enum attr_strength { ATTR_NONE, ATTR_WEAK, ATTR_STRONG };

/* How surely s (one or more joined lines) is an attribution.  Weak: an
 * attribution when a quote follows.  Strong: even when the original
 * below it is not quoted. */
static enum attr_strength
attribution_strength(const char *s, size_t n)
{
	if (n == 0 || n > TRIM_MAX_ATTRIBUTION || s[n - 1] != ':')
		return ATTR_NONE;
	int verb = contains_any(s, n, trim_attribution_verbs);
	int at = has_char(s, n, '@');
	int iso = iso_date_start(s, n);
	/* "04.11.2026 10:05, Jana Beispiel:" (FairEmail) */
	int dated = isdigit((unsigned char)s[0]) && has_time(s, n);
	if (!verb && !at && !iso && !dated)
		return ATTR_NONE;
	if ((verb && has_time_or_year(s, n) &&
	     (at || starts_any(s, n, trim_attribution_openers) ||
	      has_digit(s, 1))) ||
	    (iso && at))
		return ATTR_STRONG;
	return ATTR_WEAK;
}

static int
ends_sentence(const struct line *l)
{
	return l->n > 0 && strchr(".!?:;", l->s[l->n - 1]) != NULL;
}

/* May line above join the attribution that starts with line first? */
static int
joins_above(const struct line *above, const struct line *first, int alone)
{
	if (above->kind != L_TEXT || ends_sentence(above))
		return 0;
	size_t an, fn;
	const char *a = lead(above, &an), *f = lead(first, &fn);
	if (an == 0)
		return 0;
	/* "... Tom Muster via dev <" above "dev@lists.example.org>:" */
	if (alone && strchr("<(", a[an - 1]) != NULL)
		return 1;
	int hint = has_digit(a, an) || has_char(a, an, '@') ||
	           contains_any(a, an, trim_attribution_verbs);
	if (!hint)
		return 0;
	if (!alone) /* the lines below are no attribution on their own */
		return 1;
	char last = a[an - 1], c = fn ? f[0] : 'A';
	return strchr("<(\"", last) != NULL || islower((unsigned char)c) ||
	       isdigit((unsigned char)c) || c == '<' ||
	       starts_any(a, an, trim_attribution_openers) ||
	       isdigit((unsigned char)a[0]);
}

/* Lines first..last joined by spaces, leading blanks off, into buf. */
static size_t
join_span(const struct text *t, size_t first, size_t last, char *buf,
          size_t cap)
{
	size_t len = 0;
	for (size_t i = first; i <= last; i++) {
		size_t n;
		const char *s = lead(&t->l[i], &n);
		if (len + n + 1 >= cap)
			return cap; /* too long to be one */
		if (len > 0)
			buf[len++] = ' ';
		memcpy(buf + len, s, n);
		len += n;
	}
	return len;
}

struct attr {
	size_t first; /* first line of the attribution */
	enum attr_strength strength;
};

/* The attribution that ends at line e (its ':'), if any. */
static struct attr
attribution_ending_at(const struct text *t, size_t e)
{
	struct attr a = {e, ATTR_NONE};
	char buf[TRIM_ATTR_LINES * (TRIM_MAX_ATTRIBUTION + 1) + 1];
	const struct line *l = &t->l[e];
	if (l->kind != L_TEXT || l->n > TRIM_MAX_ATTRIBUTION ||
	    l->s[l->n - 1] != ':')
		return a;
	size_t len = join_span(t, e, e, buf, sizeof buf);
	a.strength = attribution_strength(buf, len);
	while (e - a.first + 1 < TRIM_ATTR_LINES && a.first > 0 &&
	       joins_above(&t->l[a.first - 1], &t->l[a.first],
	                   a.strength != ATTR_NONE)) {
		len = join_span(t, a.first - 1, e, buf, sizeof buf);
		enum attr_strength s = attribution_strength(buf, len);
		if (s == ATTR_NONE)
			break;
		a.first--;
		a.strength = s;
	}
	return a;
}

/* "On <date>, <a@b> wrote:   Shall we meet?" (Yahoo on Android runs
 * the attribution and the original into one line): strong or none. */
static int
attribution_runs_on(const struct line *l)
{
	size_t n;
	const char *s = lead(l, &n);
	if (l->kind != L_TEXT || n > 2 * TRIM_MAX_ATTRIBUTION ||
	    !starts_any(s, n, trim_attribution_openers))
		return 0;
	for (const char *const *v = trim_attribution_verbs; *v; v++) {
		size_t m = strlen(*v);
		for (size_t i = 0; i + m < n && i < TRIM_MAX_ATTRIBUTION; i++)
			if (strncasecmp(s + i, *v, m) == 0 && s[i + m] == ':')
				return attribution_strength(s, i + m + 1) ==
				       ATTR_STRONG;
	}
	return 0;
}

/* Marks attribution lines L_ATTR; *cut: the first strong one with the
 * original unquoted below it, or t->n. */
static void
mark_attributions(struct text *t, size_t *cut)
{
	*cut = t->n;
	for (size_t e = 0; e < t->n; e++) {
		struct attr a = attribution_ending_at(t, e);
		if (a.strength == ATTR_NONE && attribution_runs_on(&t->l[e])) {
			t->l[e].kind = L_ATTR;
			*cut = e < *cut ? e : *cut;
			continue;
		}
		if (a.strength == ATTR_NONE)
			continue;
		size_t below = t->l[e].next_nb;
		int quote = below >= t->n || is(t, below, L_QUOTE);
		if (!quote && a.strength != ATTR_STRONG)
			continue;
		for (size_t i = a.first; i <= e; i++)
			t->l[i].kind = L_ATTR;
		if (!quote && a.first < *cut)
			*cut = a.first;
	}
}

/* ---- the quoted tail: separators and header blocks ---------------------- */

/* The header field line l starts with ("Von:", "De :", "*From:*"). */
static int
header_field(const struct line *l, enum trim_field *field)
{
	size_t n;
	const char *s = lead(l, &n);
	for (const struct trim_label *lb = trim_header_labels; lb->label;
	     lb++) {
		size_t m = strlen(lb->label);
		if (!starts_ci(s, n, lb->label))
			continue;
		size_t k = m, b = 0;
		while (k < n && (s[k] == '*' || (b = blank_at(s + k, n - k)))) {
			k += s[k] == '*' ? 1 : b;
		}
		if (k < n && s[k] == ':') {
			*field = lb->field;
			return 1;
		}
	}
	return 0;
}

/* Line i opens a block of header fields: From, a date and one more. */
static int
header_block(const struct text *t, size_t i)
{
	unsigned seen = 0;
	int others = 0;
	enum trim_field f;
	if (!is(t, i, L_TEXT) || !header_field(&t->l[i], &f))
		return 0;
	for (size_t k = i; k < t->n && k < i + TRIM_HEADER_SPAN; k++) {
		if (t->l[k].kind == L_BLANK)
			continue;
		if (t->l[k].kind != L_TEXT || !header_field(&t->l[k], &f)) {
			if (++others > 1)
				break;
			continue;
		}
		seen |= 1u << f;
	}
	int n = 0;
	for (unsigned b = seen; b; b >>= 1)
		n += b & 1;
	return (seen & (1u << TRIM_FIELD_FROM)) &&
	       (seen & (1u << TRIM_FIELD_DATE)) && n >= 3;
}

/* "-----Original Message-----" and its translations. */
static int
original_marker(const struct line *l)
{
	size_t n;
	const char *s = lead(l, &n);
	return n >= 5 && n <= TRIM_MAX_ATTRIBUTION &&
	       (s[0] == '-' || s[0] == '_') && s[1] == s[0] &&
	       contains_any(s, n, trim_original_markers);
}

/* "________________________________" (Outlook) or a line of dashes. */
static int
rule_line(const struct line *l)
{
	size_t n;
	const char *s = lead(l, &n);
	if (n < 10 || (s[0] != '_' && s[0] != '-'))
		return 0;
	for (size_t k = 0; k < n; k++)
		if (s[k] != s[0])
			return 0;
	return 1;
}

/* First line of the quoted original below a top-posted reply, or cut.
 * A forward marker and the header fields below it are skipped: a
 * forwarded mail is kept. */
static size_t
find_tail(const struct text *t, size_t cut)
{
	int forward = 0;
	for (size_t i = 0; i < cut; i++) {
		const struct line *l = &t->l[i];
		enum trim_field f;
		if (l->kind == L_BLANK)
			continue;
		if (forward && l->kind == L_TEXT && header_field(l, &f))
			continue;
		forward = l->kind == L_TEXT && l->n <= TRIM_MAX_ATTRIBUTION &&
		          contains_any(l->s, l->n, trim_forward_markers);
		if (l->kind != L_TEXT || forward)
			continue;
		if (original_marker(l))
			return i;
		if (rule_line(l) && header_block(t, l->next_nb))
			return i;
		if (header_block(t, i))
			return i;
	}
	return cut;
}

/* ---- signatures --------------------------------------------------------- */

/* "-- " (or a bare "--" with a short block below it) before end. */
static size_t
find_signature(const struct text *t, size_t end)
{
	size_t below = 0; /* non-blank lines below, up to a quote */
	size_t bare = end;
	for (size_t i = end; i > 0; i--) {
		const struct line *l = &t->l[i - 1];
		if (l->kind == L_QUOTE)
			below = 0;
		else if (l->n == 2 && memcmp(l->s, "--", 2) == 0 &&
		         below <= TRIM_SHORT_SIG)
			bare = i - 1;
		else if (l->kind != L_BLANK)
			below++;
	}
	for (size_t i = 0; i < end; i++) {
		const struct line *l = &t->l[i];
		if (i == bare ||
		    (l->n == 2 && l->raw >= 3 && memcmp(l->s, "-- ", 3) == 0))
			return i;
	}
	return end;
}

static int
phone_signature(const struct line *l)
{
	size_t n;
	const char *s = lead(l, &n);
	if (l->kind != L_TEXT || n > TRIM_MAX_SIG_LINE)
		return 0;
	for (const struct trim_signature *sg = trim_signatures; sg->prefix;
	     sg++)
		if (starts_ci(s, n, sg->prefix) &&
		    (sg->word == NULL || contains_ci(s, n, sg->word)))
			return 1;
	return n <= TRIM_MAX_SIG_LINE / 2 &&
	       contains_any(s, n, trim_signature_devices) &&
	       contains_any(s, n, trim_signature_sent);
}

/* ---- output ------------------------------------------------------------- */

/* A quoted attribution ("> On ... wrote:", Apple Mail) or an empty
 * quote line: what a kept quote may start with and lose. */
static int
quote_head(const struct line *l)
{
	if (l->kind != L_QUOTE)
		return 0;
	const char *s = l->s;
	size_t n = l->n;
	while (n > 0 && (*s == '>' || *s == ' '))
		s++, n--;
	return n == 0 || attribution_strength(s, n) != ATTR_NONE;
}

/* The author's lines from..to: dropped attribution lines leave at most
 * one blank line. */
static char *
join(const struct text *t, size_t from, size_t to)
{
	struct cg_buf b = CG_BUF_INIT;
	size_t blanks = 0;
	int dropped = 0;
	for (size_t i = from; i <= to && i < t->n; i++) {
		const struct line *l = &t->l[i];
		if (l->kind == L_BLANK) {
			blanks++;
			continue;
		}
		if (l->kind == L_ATTR) {
			dropped = 1;
			continue;
		}
		if (b.len > 0) {
			size_t gap = dropped ? (blanks > 0) : blanks;
			for (size_t k = 0; k <= gap; k++)
				cg_buf_putc(&b, '\n');
		}
		cg_buf_add(&b, l->s, l->n);
		blanks = 0;
		dropped = 0;
	}
	return cg_buf_steal(&b);
}

static char *
join_all(const struct text *t)
{
	struct cg_buf b = CG_BUF_INIT;
	size_t first = 0, last = t->n;
	while (first < t->n && t->l[first].kind == L_BLANK)
		first++;
	while (last > first && t->l[last - 1].kind == L_BLANK)
		last--;
	for (size_t i = first; i < last; i++) {
		if (i > first)
			cg_buf_putc(&b, '\n');
		cg_buf_add(&b, t->l[i].s, t->l[i].n);
	}
	return cg_buf_steal(&b);
}

static int
any_quote(const struct text *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->l[i].kind == L_QUOTE || t->l[i].kind == L_ATTR)
			return 1;
	return 0;
}

char *
email_trim(const char *text)
{
	struct text t;
	split(text ? text : "", &t);

	size_t end;
	mark_attributions(&t, &end);
	end = find_tail(&t, end);
	int tail = end < t.n;
	end = find_signature(&t, end);

	/* The author's last line: below it only quotes, attributions,
	 * blank lines and phone signatures. */
	size_t last = end;
	while (last > 0) {
		const struct line *l = &t.l[last - 1];
		if (l->kind == L_TEXT && !phone_signature(l))
			break;
		last--;
	}
	char *out;
	if (last == 0) {
		/* Nothing new: "" for a quote, the text for a signature. */
		out = tail || any_quote(&t) ? cg_strdup("") : join_all(&t);
	} else {
		size_t first = 0;
		while (first < last && (t.l[first].kind == L_BLANK ||
		                        t.l[first].kind == L_ATTR))
			first++;
		while (first < last && quote_head(&t.l[first]))
			first++;
		out = join(&t, first, last - 1);
	}
	free(t.l);
	return out;
}
