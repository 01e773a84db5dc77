/*
 * html_text.c: HTML -> readable plain text, for mails that carry no
 * text/plain part.  Owns the tag walk, entities, links and how quotes and
 * signatures of mail clients are rendered (which elements those are is
 * data: trim_tables.c).  A hand-written scanner, not a parser: it never
 * builds a tree, so hostile nesting costs nothing.
 * Must never: read past len, look back over the output more than once per
 * link (every pass is linear in the input), or hand out invalid UTF-8.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/html_text.h"
#include "bridges/email/trim_tables.h"
#include "lib/util.h"

#define HTML_MAX_QUOTE 16      /* "> " levels written */
#define HTML_MAX_CONTAINERS 16 /* quote <div>s followed at once */

/* ---- UTF-8 ------------------------------------------------------------ */

/* The code point of the valid UTF-8 sequence at s (n bytes left) in *cp:
 * its length, or 0 when the bytes there are not valid UTF-8. */
static size_t
utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
	static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = s[0] < 0x80             ? 1
	             : (s[0] & 0xe0) == 0xc0 ? 2
	             : (s[0] & 0xf0) == 0xe0 ? 3
	             : (s[0] & 0xf8) == 0xf0 ? 4
	                                     : 0;
	if (len == 0 || len > n)
		return 0;
	unsigned long v = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static void
put_utf8(struct cg_buf *b, unsigned long cp)
{
	char u[4];
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		cg_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		cg_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		cg_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		cg_buf_add(b, u, 4);
	}
}

/* ---- entities --------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned cp;
} entities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},
    {"quot", '"'},      {"apos", '\''},     {"nbsp", ' '},
    {"copy", 0xa9},     {"reg", 0xae},      {"trade", 0x2122},
    {"hellip", 0x2026}, {"mdash", 0x2014},  {"ndash", 0x2013},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"sbquo", 0x201a},
    {"ldquo", 0x201c},  {"rdquo", 0x201d},  {"bdquo", 0x201e},
    {"laquo", 0xab},    {"raquo", 0xbb},    {"euro", 0x20ac},
    {"pound", 0xa3},    {"yen", 0xa5},      {"cent", 0xa2},
    {"sect", 0xa7},     {"deg", 0xb0},      {"plusmn", 0xb1},
    {"times", 0xd7},    {"divide", 0xf7},   {"middot", 0xb7},
    {"bull", 0x2022},   {"para", 0xb6},     {"iexcl", 0xa1},
    {"iquest", 0xbf},   {"shy", 0xad},      {"zwnj", 0x200c},
    {"zwj", 0x200d},    {"thinsp", 0x2009}, {"ensp", 0x2002},
    {"emsp", 0x2003},   {"auml", 0xe4},     {"ouml", 0xf6},
    {"uuml", 0xfc},     {"Auml", 0xc4},     {"Ouml", 0xd6},
    {"Uuml", 0xdc},     {"szlig", 0xdf},    {"eacute", 0xe9},
    {"egrave", 0xe8},   {"ecirc", 0xea},    {"euml", 0xeb},
    {"Eacute", 0xc9},   {"Egrave", 0xc8},   {"aacute", 0xe1},
    {"agrave", 0xe0},   {"acirc", 0xe2},    {"aring", 0xe5},
    {"atilde", 0xe3},   {"aelig", 0xe6},    {"Aacute", 0xc1},
    {"Agrave", 0xc0},   {"Aring", 0xc5},    {"AElig", 0xc6},
    {"ccedil", 0xe7},   {"Ccedil", 0xc7},   {"iacute", 0xed},
    {"igrave", 0xec},   {"icirc", 0xee},    {"iuml", 0xef},
    {"ntilde", 0xf1},   {"Ntilde", 0xd1},   {"oacute", 0xf3},
    {"ograve", 0xf2},   {"ocirc", 0xf4},    {"otilde", 0xf5},
    {"oslash", 0xf8},   {"Oslash", 0xd8},   {"oelig", 0x153},
    {"uacute", 0xfa},   {"ugrave", 0xf9},   {"ucirc", 0xfb},
    {"yacute", 0xfd},   {"yuml", 0xff},     {"Oacute", 0xd3},
    {"Uacute", 0xda},   {"Iacute", 0xcd},   {"Ecirc", 0xca},
    {"larr", 0x2190},   {"rarr", 0x2192},   {"uarr", 0x2191},
    {"darr", 0x2193},   {"hearts", 0x2665}, {"check", 0x2713},
};

/* An entity at s (starting with '&'): bytes used, *cp set; 0 if none. */
static size_t
html_entity(const char *s, size_t n, unsigned long *cp)
{
	size_t i = 1;
	if (n < 3 || s[0] != '&')
		return 0;
	if (s[1] == '#') {
		int hex = i + 1 < n && (s[2] == 'x' || s[2] == 'X');
		unsigned long v = 0;
		size_t start = hex ? 3 : 2, j = start;
		while (j < n && j - start < 8 &&
		       (hex ? isxdigit((unsigned char)s[j])
		            : isdigit((unsigned char)s[j]))) {
			int d = isdigit((unsigned char)s[j])
			            ? s[j] - '0'
			            : tolower((unsigned char)s[j]) - 'a' + 10;
			v = v * (hex ? 16 : 10) + (unsigned long)d;
			j++;
		}
		if (j == start)
			return 0;
		if (j < n && s[j] == ';')
			j++;
		/* Numeric references in 0x80-0x9f mean windows-1252 too. */
		static const unsigned short c1[32] = {
		    0x20ac, 0,      0x201a, 0x192,  0x201e, 0x2026, 0x2020,
		    0x2021, 0x2c6,  0x2030, 0x160,  0x2039, 0x152,  0,
		    0x17d,  0,      0,      0x2018, 0x2019, 0x201c, 0x201d,
		    0x2022, 0x2013, 0x2014, 0x2dc,  0x2122, 0x161,  0x203a,
		    0x153,  0,      0x17e,  0x178};
		if (v >= 0x80 && v <= 0x9f && c1[v - 0x80])
			v = c1[v - 0x80];
		if (v == 0xa0)
			v = ' ';
		*cp = v;
		return j;
	}
	while (i < n && i < 12 && isalnum((unsigned char)s[i]))
		i++;
	if (i == 1 || i >= n || s[i] != ';')
		return 0;
	for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++)
		if (strlen(entities[k].name) == i - 1 &&
		    strncmp(entities[k].name, s + 1, i - 1) == 0) {
			*cp = entities[k].cp;
			return i + 1;
		}
	return 0;
}

struct html_out {
	struct cg_buf b;
	int quote;      /* <blockquote> depth */
	int rest;       /* 1 after a "quoted from here on" marker */
	int pre;        /* inside <pre> */
	int space;      /* a space is pending */
	int newlines;   /* newlines at the end of b */
	char *href;     /* link being written */
	size_t href_at; /* where its text starts in b */
	int divs;       /* open <div>s */
	int ncont;      /* quote <div>s open, their depths in cont[] */
	int cont[HTML_MAX_CONTAINERS];
};

/* "> " levels for the next line. */
static int
ho_depth(const struct html_out *o)
{
	int d = o->quote + o->ncont + o->rest;
	return d > HTML_MAX_QUOTE ? HTML_MAX_QUOTE : d;
}

static void
ho_break(struct html_out *o, int want)
{
	if (o->b.len == 0)
		return;
	while (o->newlines < want) {
		cg_buf_putc(&o->b, '\n');
		o->newlines++;
	}
	o->space = 0;
}

static void
ho_char(struct html_out *o, unsigned long cp)
{
	if (cp == '\n' && o->pre) {
		cg_buf_putc(&o->b, '\n');
		o->newlines++;
		o->space = 0;
		return;
	}
	if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f') {
		if (o->pre)
			cg_buf_putc(&o->b, (char)cp), o->newlines = 0;
		else if (o->b.len > 0 && o->newlines == 0)
			o->space = 1;
		return;
	}
	if (cp == 0xad || cp == 0x200b || cp == 0x200c || cp == 0x200d ||
	    cp == 0xfeff)
		return;
	if (o->b.len == 0 || o->newlines > 0) {
		int depth = ho_depth(o);
		for (int i = 0; i < depth; i++)
			cg_buf_putc(&o->b, '>');
		if (depth > 0)
			cg_buf_putc(&o->b, ' ');
	} else if (o->space) {
		cg_buf_putc(&o->b, ' ');
	}
	o->space = 0;
	o->newlines = 0;
	put_utf8(&o->b, cp);
}

static void
ho_str(struct html_out *o, const char *s)
{
	for (; *s; s++)
		ho_char(o, (unsigned char)*s);
}

/* Case-insensitive search for needle in s[0..n): linear in n + the
 * needle's length (both folded to lower case, then glibc's two-way
 * memmem), so a long link text or a long href costs no more than its
 * bytes. */
static const char *
find_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	if (m > n)
		return NULL;
	char *hay = cg_malloc(n + 1), *nee = cg_malloc(m + 1);
	for (size_t i = 0; i < n; i++)
		hay[i] = (char)tolower((unsigned char)s[i]);
	for (size_t i = 0; i < m; i++)
		nee[i] = (char)tolower((unsigned char)needle[i]);
	const char *at = memmem(hay, n, nee, m);
	const char *found = at ? s + (at - hay) : NULL;
	free(hay);
	free(nee);
	return found;
}

/* The same for short fixed needles ("-->", "</script"): no copies. */
static const char *
find_short_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	int first = tolower((unsigned char)needle[0]);
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (tolower((unsigned char)s[i]) == first &&
		    strncasecmp(s + i, needle, m) == 0)
			return s + i;
	return NULL;
}

/* Attribute value (entities decoded) from the inside of a tag. */
static char *
tag_attr(const char *a, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i + nl < n; i++) {
		if (strncasecmp(a + i, name, nl) != 0 ||
		    (i > 0 && !isspace((unsigned char)a[i - 1])))
			continue;
		size_t j = i + nl;
		while (j < n && isspace((unsigned char)a[j]))
			j++;
		if (j >= n || a[j] != '=')
			continue;
		j++;
		while (j < n && isspace((unsigned char)a[j]))
			j++;
		char q = j < n && (a[j] == '"' || a[j] == '\'') ? a[j] : 0;
		if (q)
			j++;
		size_t k = j;
		while (k < n && (q ? a[k] != q : !isspace((unsigned char)a[k])))
			k++;
		struct cg_buf b = CG_BUF_INIT;
		for (size_t x = j; x < k;) {
			unsigned long cp;
			size_t used = html_entity(a + x, k - x, &cp);
			if (used) {
				put_utf8(&b, cp);
				x += used;
			} else {
				cg_buf_putc(&b, a[x++]);
			}
		}
		return cg_buf_steal(&b);
	}
	return NULL;
}

static int
tag_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(name, *list) == 0)
			return 1;
	return 0;
}

static void
link_end(struct html_out *o)
{
	if (o->href == NULL)
		return;
	const char *text = o->b.data ? o->b.data + o->href_at : "";
	while (*text == ' ' || *text == '\n' || *text == '>')
		text++;
	const char *h = o->href;
	if (strncasecmp(h, "mailto:", 7) == 0)
		h += 7;
	size_t hl = strlen(h);
	while (hl > 0 && h[hl - 1] == '/')
		hl--;
	if (o->href_at <= o->b.len && *text &&
	    !find_ci(text, strlen(text), h) &&
	    !(strlen(text) >= hl && strncasecmp(text, h, hl) == 0)) {
		ho_str(o, " <");
		ho_str(o, o->href);
		ho_str(o, ">");
	}
	free(o->href);
	o->href = NULL;
}

/* Does attribute value v (of attribute attr) name marker value want?
 * class: one of its words; id: the id, or one Outlook prefixed when it
 * quoted the mail again ("x_divRplyFwdMsg"); else the whole value. */
static int
attr_names(const char *attr, const char *v, const char *want)
{
	size_t wl = strlen(want);
	if (strcasecmp(attr, "class") == 0) {
		for (const char *p = v; *p;) {
			size_t n = strcspn(p, " \t\r\n");
			if (n == wl && strncasecmp(p, want, wl) == 0)
				return 1;
			p += n;
			p += strspn(p, " \t\r\n");
		}
		return 0;
	}
	size_t vl = strlen(v);
	if (strcasecmp(attr, "id") == 0 && vl > wl && v[vl - wl - 1] == '_')
		v += vl - wl;
	return strcasecmp(v, want) == 0;
}

/* The entry of trim_html_markers an opening tag matches, or NULL. */
static const struct trim_html_marker *
tag_marker(const char *name, const char *attrs, size_t alen)
{
	const struct trim_html_marker *mk;
	for (mk = trim_html_markers; mk->tag; mk++) {
		if (strcasecmp(mk->tag, name) != 0)
			continue;
		char *v = tag_attr(attrs, alen, mk->attr);
		int yes = v && attr_names(mk->attr, v, mk->value);
		free(v);
		if (yes)
			return mk;
	}
	return NULL;
}

/* Quote containers, "quoted from here on" and signature blocks. */
static void
html_marker(struct html_out *o, const char *name, int closing,
            const char *attrs, size_t alen)
{
	int div = strcasecmp(name, "div") == 0;
	if (closing) {
		if (!div)
			return;
		if (o->ncont > 0 && o->cont[o->ncont - 1] >= o->divs) {
			ho_break(o, 1);
			o->ncont--;
		}
		if (o->divs > 0)
			o->divs--;
		return;
	}
	if (div)
		o->divs++;
	const struct trim_html_marker *mk = tag_marker(name, attrs, alen);
	if (mk == NULL)
		return;
	ho_break(o, 1);
	if (mk->kind == TRIM_HTML_QUOTE && div &&
	    o->ncont < HTML_MAX_CONTAINERS) {
		o->cont[o->ncont++] = o->divs;
	} else if (mk->kind == TRIM_HTML_QUOTE_REST) {
		o->rest = 1;
	} else if (mk->kind == TRIM_HTML_SIGNATURE) {
		ho_str(o, "--");
		ho_break(o, 1);
	}
}

static void
html_tag(struct html_out *o, const char *name, int closing, const char *attrs,
         size_t alen)
{
	static const char *const para[] = {"p",  "h1", "h2",    "h3", "h4",
	                                   "h5", "h6", "table", "hr", "ul",
	                                   "ol", "dl", NULL};
	static const char *const line[] = {
	    "div",    "tr",     "dt",      "dd",     "section",    "article",
	    "header", "footer", "address", "center", "form",       "fieldset",
	    "nav",    "aside",  "main",    "figure", "figcaption", "caption",
	    "body",   "tbody",  "thead",   NULL};

	html_marker(o, name, closing, attrs, alen);
	if (strcasecmp(name, "br") == 0) {
		if (o->b.len == 0)
			return;
		cg_buf_putc(&o->b, '\n');
		o->newlines++;
		o->space = 0;
	} else if (strcasecmp(name, "blockquote") == 0) {
		ho_break(o, 1);
		o->quote += closing ? (o->quote > 0 ? -1 : 0) : 1;
		if (o->quote > 16)
			o->quote = 16;
	} else if (strcasecmp(name, "pre") == 0) {
		ho_break(o, 1);
		o->pre = !closing;
	} else if (strcasecmp(name, "li") == 0) {
		ho_break(o, 1);
		if (!closing)
			ho_str(o, "- ");
	} else if (strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0) {
		if (!closing && o->newlines == 0 && o->b.len > 0)
			o->space = 1;
	} else if (strcasecmp(name, "a") == 0) {
		if (closing) {
			link_end(o);
		} else {
			free(o->href);
			o->href = tag_attr(attrs, alen, "href");
			if (o->href && strncasecmp(o->href, "http", 4) != 0 &&
			    strncasecmp(o->href, "mailto:", 7) != 0) {
				free(o->href);
				o->href = NULL;
			}
			o->href_at = o->b.len;
		}
	} else if (tag_in(name, para)) {
		ho_break(o, 2);
	} else if (tag_in(name, line)) {
		ho_break(o, 1);
	}
}

/* Text without trailing spaces on lines and with at most one blank line
 * in a row; no blank lines at either end. */
static char *
tidy_lines(const char *s)
{
	struct cg_buf b = CG_BUF_INIT;
	int blank = 0;
	while (*s) {
		size_t n = strcspn(s, "\n");
		size_t m = n;
		while (m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t'))
			m--;
		if (m == 0) {
			blank++;
		} else {
			if (b.len > 0)
				cg_buf_puts(&b, blank ? "\n\n" : "\n");
			cg_buf_add(&b, s, m);
			blank = 0;
		}
		s += n;
		if (*s == '\n')
			s++;
	}
	return cg_buf_steal(&b);
}

char *
email_html_to_text(const char *html, size_t len)
{
	static const char *const skip[] = {"script", "style",    "head",
	                                   "title",  "template", "noscript",
	                                   "object", NULL};
	struct html_out o = {.b = CG_BUF_INIT};
	size_t i = 0;

	while (i < len) {
		char c = html[i];
		if (c == '&') {
			unsigned long cp;
			size_t used = html_entity(html + i, len - i, &cp);
			if (used) {
				ho_char(&o, cp);
				i += used;
				continue;
			}
		}
		if (c != '<') {
			unsigned long cp;
			size_t l = utf8_next((const unsigned char *)html + i,
			                     len - i, &cp);
			ho_char(&o, l ? cp : 0xfffd);
			i += l ? l : 1;
			continue;
		}
		if (len - i >= 4 && memcmp(html + i, "<!--", 4) == 0) {
			const char *e =
			    find_short_ci(html + i + 4, len - i - 4, "-->");
			i = e ? (size_t)(e - html) + 3 : len;
			continue;
		}
		size_t j = i + 1;
		int closing = j < len && html[j] == '/';
		if (closing)
			j++;
		size_t ns = j;
		while (j < len && j - ns < 16 &&
		       isalnum((unsigned char)html[j]))
			j++;
		if (j == ns &&
		    !(ns < len && (html[ns] == '!' || html[ns] == '?'))) {
			ho_char(&o, '<'); /* a lone '<' in text */
			i++;
			continue;
		}
		char name[17];
		memcpy(name, html + ns, j - ns);
		name[j - ns] = '\0';
		size_t as = j;
		char q = 0;
		while (j < len && (q || html[j] != '>')) {
			if (q && html[j] == q)
				q = 0;
			else if (!q && (html[j] == '"' || html[j] == '\''))
				q = html[j];
			j++;
		}
		size_t ae = j;
		i = j < len ? j + 1 : len;
		if (!closing && tag_in(name, skip)) {
			char end[20];
			snprintf(end, sizeof end, "</%s", name);
			const char *e = find_short_ci(html + i, len - i, end);
			if (e == NULL) {
				i = len;
			} else {
				const char *gt =
				    memchr(e, '>', (size_t)(html + len - e));
				i = gt ? (size_t)(gt - html) + 1 : len;
			}
			continue;
		}
		if (*name)
			html_tag(&o, name, closing, html + as, ae - as);
	}
	link_end(&o);
	char *t = tidy_lines(cg_buf_str(&o.b));
	cg_buf_free(&o.b);
	return t;
}
