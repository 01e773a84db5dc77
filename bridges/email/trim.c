/*
 * trim.c: a mail body -> the text a chat room should see.  Owns the
 * heuristics for quoted text, attribution lines, Outlook tails, signatures
 * and mobile signatures, tuned on what real clients write (Gmail,
 * Thunderbird, Apple Mail, Outlook; English, German, French, Spanish,
 * Dutch, Italian, Portuguese, Swedish).
 * Must never: return an empty text for a mail with words in it, change
 * the words it keeps, or loop beyond the lines it was given.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/trim.h"
#include "lib/util.h"

#define TRIM_MAX_ATTRIBUTION 300 /* bytes of a plausible "On ... wrote:" */
#define TRIM_OUTLOOK_SPAN 8      /* lines an Outlook header block spans */
#define TRIM_SHORT_SIG 16        /* lines after a bare "--" to be a sig */

struct line {
	const char *s; /* not NUL-terminated */
	size_t n;      /* length without trailing blanks */
	size_t raw;    /* length with them */
	int drop;
};

struct text {
	struct line *l;
	size_t n;
};

static const char *const from_keys[] = {
    "From:", "Von:",  "De:",  "De :", "Van:",
    "Da:",   "Från:", "Fra:", "Od:",  NULL};
static const char *const date_keys[] = {
    "Sent:",    "Date:",       "Gesendet:",  "Datum:",   "Envoyé :", "Envoyé:",
    "Enviado:", "Enviado el:", "Verzonden:", "Inviato:", "Data:",    "Skickat:",
    "Sendt:",   "Wysłano:",    "Odesláno:",  NULL};
static const char *const subject_keys[] = {
    "Subject:",   "Betreff:", "Objet :",  "Objet:", "Asunto:",
    "Onderwerp:", "Oggetto:", "Assunto:", "Ämne:",  "Emne:",
    "Temat:",     "Předmět:", NULL};
static const char *const original_markers[] = {
    "Original Message",  "Ursprüngliche Nachricht", "Message d'origine",
    "Mensaje original",  "Oorspronkelijk bericht",  "Messaggio originale",
    "Mensagem original", "Originalmeddelande",      NULL};
static const char *const forward_markers[] = {
    "Forwarded message",
    "Begin forwarded message",
    "Weitergeleitete Nachricht",
    "Message transféré",
    "Mensaje reenviado",
    "Doorgestuurd bericht",
    "Messaggio inoltrato",
    "Mensagem encaminhada",
    "Vidarebefordrat meddelande",
    "Ursprüngliche Nachricht weitergeleitet",
    NULL};
static const char *const attribution_prefixes[] = {
    "On ", "Am ",  "Le ",     "El ",  "Op ", "Il ",
    "Em ", "Den ", "W dniu ", "Dne ", NULL};
static const char *const attribution_verbs[] = {
    "wrote",    "schrieb", "écrit",     "escribió", "schreef", "scritto",
    "escreveu", "skrev",   "kirjoitti", "napisał",  "napsal",  NULL};
static const char *const mobile_prefixes[] = {"Sent from my ",
                                              "Sent from Mail for Windows",
                                              "Sent from Outlook",
                                              "Sent from Yahoo Mail",
                                              "Sent from ProtonMail",
                                              "Sent from Proton Mail",
                                              "Sent with ProtonMail",
                                              "Sent with Proton Mail",
                                              "Get Outlook for ",
                                              "Gesendet von meinem ",
                                              "Gesendet von Mail für Windows",
                                              "Gesendet von Outlook",
                                              "Holen Sie sich Outlook für ",
                                              "Envoyé de mon ",
                                              "Envoyé depuis mon ",
                                              "Obtenir Outlook pour ",
                                              "Enviado desde mi ",
                                              "Enviado do meu ",
                                              "Obtener Outlook para ",
                                              "Verstuurd vanaf mijn ",
                                              "Verzonden vanaf mijn ",
                                              "Inviato da iPhone",
                                              "Inviato da Outlook",
                                              "Inviato dal mio ",
                                              "Skickat från min ",
                                              "Sendt fra min ",
                                              NULL};

/* ---- small string tests on (s, n) ------------------------------------ */

static int
starts_ci(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);
	return n >= m && strncasecmp(s, prefix, m) == 0;
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
contains_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (strncasecmp(s + i, needle, m) == 0)
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

/* The line without leading blanks and Markdown-ish '*' (Gmail renders
 * Outlook's bold "From:" as "*From:*"). */
static const char *
lead(const struct line *l, size_t *n)
{
	const char *s = l->s;
	size_t k = l->n;
	while (k > 0 && (*s == ' ' || *s == '\t' || *s == '*'))
		s++, k--;
	*n = k;
	return s;
}

static int
blank(const struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return 0;
	return 1;
}

static int
quoted(const struct line *l)
{
	size_t i = 0;
	while (i < l->n && i < 3 && l->s[i] == ' ')
		i++;
	return i < l->n && l->s[i] == '>';
}

/* ---- splitting ------------------------------------------------------- */

static void
split(const char *text, struct text *t)
{
	size_t cap = 0;
	const char *p = text;
	t->l = NULL;
	t->n = 0;
	while (*p) {
		size_t raw = strcspn(p, "\r\n");
		size_t n = raw;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (t->n == cap) {
			cap = cap ? cap * 2 : 64;
			t->l = cg_realloc(t->l, cap * sizeof *t->l);
		}
		t->l[t->n++] = (struct line){p, n, raw, 0};
		p += raw;
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	}
}

/* ---- what the lines are ---------------------------------------------- */

static int
forward_marker_above(const struct text *t, size_t i)
{
	while (i > 0) {
		i--;
		if (blank(&t->l[i]))
			continue;
		return contains_any(t->l[i].s, t->l[i].n, forward_markers);
	}
	return 0;
}

/* "From: ..." followed by a date and a subject line (Outlook). */
static int
outlook_block(const struct text *t, size_t i)
{
	size_t n;
	const char *s = lead(&t->l[i], &n);
	if (!starts_any(s, n, from_keys) || forward_marker_above(t, i))
		return 0;
	int date = 0, subject = 0;
	for (size_t k = i + 1; k < t->n && k <= i + TRIM_OUTLOOK_SPAN; k++) {
		s = lead(&t->l[k], &n);
		date |= starts_any(s, n, date_keys);
		subject |= starts_any(s, n, subject_keys);
	}
	return date && subject;
}

static int
original_marker(const struct line *l)
{
	size_t n;
	const char *s = lead(l, &n);
	return n >= 5 && (s[0] == '-' || s[0] == '_') &&
	       contains_any(s, n, original_markers);
}

/* "________________________________" with a From: line below it. */
static int
underscore_separator(const struct text *t, size_t i)
{
	const struct line *l = &t->l[i];
	if (l->n < 20)
		return 0;
	for (size_t k = 0; k < l->n; k++)
		if (l->s[k] != '_')
			return 0;
	for (size_t k = i + 1; k < t->n; k++) {
		size_t n;
		const char *s = lead(&t->l[k], &n);
		if (n == 0)
			continue;
		return starts_any(s, n, from_keys);
	}
	return 0;
}

/* First line of the quoted tail (Outlook style), or t->n. */
static size_t
find_cut(const struct text *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (quoted(&t->l[i]))
			continue;
		if (original_marker(&t->l[i]) || underscore_separator(t, i) ||
		    outlook_block(t, i))
			return i;
	}
	return t->n;
}

/* "-- " (or, near the end, a bare "--") before end: its index, or end. */
static size_t
find_signature(const struct text *t, size_t end)
{
	for (size_t i = 0; i < end; i++)
		if (t->l[i].n == 2 && t->l[i].raw > 2 &&
		    memcmp(t->l[i].s, "--", 2) == 0 && t->l[i].s[2] == ' ')
			return i;
	for (size_t i = end; i > 0; i--) {
		const struct line *l = &t->l[i - 1];
		if (l->n == 2 && memcmp(l->s, "--", 2) == 0)
			return end - (i - 1) <= TRIM_SHORT_SIG ? i - 1 : end;
	}
	return end;
}

static int
mobile_signature(const struct line *l)
{
	size_t n;
	const char *s = lead(l, &n);
	if (n > 120)
		return 0;
	/* "Von meinem Standpunkt aus ..." is text; the signature ends in
	 * "gesendet". */
	if (starts_ci(s, n, "Von meinem ") ||
	    starts_ci(s, n, "Diese Nachricht wurde von meinem "))
		return contains_ci(s, n, "gesendet");
	return starts_any(s, n, mobile_prefixes);
}

/* The next non-blank, non-dropped line from i on is quoted (or absent). */
static int
quote_follows(const struct text *t, size_t i, size_t end)
{
	for (; i < end; i++) {
		if (t->l[i].drop || blank(&t->l[i]))
			continue;
		return quoted(&t->l[i]);
	}
	return 1;
}

static int
has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)s[i]))
			return 1;
	return 0;
}

static int
attribution_text(const char *s, size_t n, int quote_below)
{
	if (n == 0 || n > TRIM_MAX_ATTRIBUTION || s[n - 1] != ':' ||
	    !contains_any(s, n, attribution_verbs))
		return 0;
	if (quote_below)
		return 1;
	/* Without a quote below, only a dated "On <date> ... wrote:". */
	return starts_any(s, n, attribution_prefixes) && has_digit(s, n);
}

/* Lines (1 or 2) of an attribution starting at i, 0 if none. */
static size_t
attribution(const struct text *t, size_t i, size_t end)
{
	size_t n;
	const char *s = lead(&t->l[i], &n);
	if (quoted(&t->l[i]) || n == 0)
		return 0;
	if (attribution_text(s, n, quote_follows(t, i + 1, end)))
		return 1;
	if (i + 1 >= end || blank(&t->l[i + 1]) || quoted(&t->l[i + 1]) ||
	    !starts_any(s, n, attribution_prefixes))
		return 0;
	size_t n2;
	const char *s2 = lead(&t->l[i + 1], &n2);
	/* "Thanks!" above "Bob wrote:" is text; "On <date> ... <" above
	 * "a@b> wrote:" is Gmail wrapping its attribution. */
	if (attribution_text(s2, n2, quote_follows(t, i + 2, end)) &&
	    (!has_digit(s, n) || strchr(".!?", s[n - 1])))
		return 0;
	char *joined = cg_asprintf("%.*s %.*s", (int)n, s, (int)n2, s2);
	int yes = attribution_text(joined, strlen(joined),
	                           quote_follows(t, i + 2, end));
	free(joined);
	return yes ? 2 : 0;
}

/* ---- output ---------------------------------------------------------- */

/* Kept lines; a run of blank or dropped lines between two kept lines
 * becomes one blank line. */
static char *
join(const struct text *t, size_t from, size_t to, int skip_dropped)
{
	struct cg_buf b = CG_BUF_INIT;
	int gap = 0;
	for (size_t i = from; i < to; i++) {
		const struct line *l = &t->l[i];
		if ((skip_dropped && l->drop) || blank(l)) {
			gap = 1;
			continue;
		}
		if (b.len > 0)
			cg_buf_puts(&b, gap ? "\n\n" : "\n");
		cg_buf_add(&b, l->s, l->n);
		gap = 0;
	}
	return cg_buf_steal(&b);
}

char *
email_trim(const char *text)
{
	struct text t;
	split(text ? text : "", &t);

	size_t cut = find_cut(&t);
	size_t sig = find_signature(&t, cut);
	for (size_t i = sig; i < t.n; i++)
		t.l[i].drop = 1;
	for (size_t i = 0; i < sig; i++)
		if (mobile_signature(&t.l[i]))
			t.l[i].drop = 1;
	for (size_t i = 0; i < sig; i++) {
		size_t a = attribution(&t, i, sig);
		for (size_t k = 0; k < a; k++)
			t.l[i + k].drop = 1;
		if (a > 1)
			i += a - 1;
	}
	for (size_t i = 0; i < sig; i++)
		if (quoted(&t.l[i]))
			t.l[i].drop = 1;

	char *out = join(&t, 0, t.n, 1);
	if (*out == '\0') {
		/* All quoted: the mail minus its signature, else all of it. */
		free(out);
		out = join(&t, 0, sig, 0);
		if (*out == '\0') {
			free(out);
			out = join(&t, 0, t.n, 0);
		}
	}
	free(t.l);
	return out;
}
