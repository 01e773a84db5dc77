/*
 * sender_auth.c: whether a mail really comes from its From address (rules
 * in sender_auth.h): the trusted MTA's Received header recording an
 * authenticated submission (RFC 5321 4.4, RFC 3848), its
 * Authentication-Results (RFC 8601) above that header, or a DKIM
 * signature coopgate verifies itself (dkim.c).  The answer becomes
 * CG_MSG_SENDER_VERIFIED on the normalized message.
 *
 * Must never: trust an Authentication-Results header from another server
 * or one below the trusted MTA's receipt, or read a Received header other
 * than the one the trusted MTA wrote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/dkim.h"
#include "bridges/email/sender_auth.h"
#include "gateway/config.h"
#include "gateway/msg.h"
#include "lib/util.h"

#define MAX_TRACE_READ 200   /* trace headers looked at, from the top */
#define MAX_RECEIVED_READ 32 /* Received headers a submission is read in */

/* ---- Authentication-Results (RFC 8601) ---- */

/* The value with comments and line breaks turned into spaces; quoted
 * strings kept (caller frees). */
static char *
ar_strip_comments(const char *v)
{
	struct cg_buf b = CG_BUF_INIT;
	int depth = 0, quoted = 0;
	for (const char *p = v; *p; p++) {
		char c = *p;
		if (c == '\\' && (quoted || depth) && p[1]) {
			if (quoted) {
				cg_buf_putc(&b, c);
				cg_buf_putc(&b, p[1]);
			}
			p++;
			continue;
		}
		if (quoted) {
			cg_buf_putc(&b, c);
			quoted = c != '"';
			continue;
		}
		if (c == '(') {
			depth++;
			cg_buf_putc(&b, ' ');
			continue;
		}
		if (c == ')' && depth) {
			depth--;
			continue;
		}
		if (depth)
			continue;
		if (c == '"')
			quoted = 1;
		cg_buf_putc(&b, c == '\r' || c == '\n' || c == '\t' ? ' ' : c);
	}
	return cg_buf_steal(&b);
}

/* Next token of a resinfo: "=", a quoted string (unquoted) or an atom
 * (stops at space, '=', ';', '"').  NULL at the end.  Caller frees. */
static char *
ar_token(const char **pp)
{
	const char *p = *pp;
	while (*p == ' ')
		p++;
	if (*p == '\0' || *p == ';') {
		*pp = p;
		return NULL;
	}
	struct cg_buf b = CG_BUF_INIT;
	if (*p == '=') {
		cg_buf_putc(&b, '=');
		p++;
	} else if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			cg_buf_putc(&b, *p);
		}
		if (*p == '"')
			p++;
	} else {
		while (*p && *p != ' ' && *p != '=' && *p != ';' && *p != '"')
			cg_buf_putc(&b, *p++);
	}
	*pp = p;
	return b.data ? cg_buf_steal(&b) : cg_strdup("");
}

/* d and from aligned: equal, or one a subdomain of the other (relaxed
 * alignment without a public-suffix list: both need a dot). */
static int
domains_aligned(const char *d, const char *from)
{
	if (d == NULL || from == NULL || !*d || !*from)
		return 0;
	if (strcasecmp(d, from) == 0)
		return 1;
	if (!strchr(d, '.') || !strchr(from, '.'))
		return 0;
	size_t ld = strlen(d), lf = strlen(from);
	if (lf > ld && from[lf - ld - 1] == '.' &&
	    strcasecmp(from + lf - ld, d) == 0)
		return 1;
	if (ld > lf && d[ld - lf - 1] == '.' &&
	    strcasecmp(d + ld - lf, from) == 0)
		return 1;
	return 0;
}

/* One resinfo ("dkim=pass header.d=example.org ..."): 1 when it vouches
 * for from_domain. */
static int
ar_resinfo_trusted(const char *seg, const char *from_domain)
{
	char **tok = NULL;
	size_t n = 0;
	const char *p = seg;
	char *t;
	while ((t = ar_token(&p)) != NULL) {
		tok = cg_realloc(tok, (n + 1) * sizeof *tok);
		tok[n++] = t;
	}
	int ok = 0;
	if (n >= 3 && strcmp(tok[1], "=") == 0 &&
	    strcasecmp(tok[2], "pass") == 0) {
		size_t ml = strcspn(tok[0], "/ ");
		int dmarc = ml == 5 && strncasecmp(tok[0], "dmarc", 5) == 0;
		int dkim = ml == 4 && strncasecmp(tok[0], "dkim", 4) == 0;
		int from_seen = 0, from_ok = 0, d_ok = 0;
		for (size_t i = 3; i + 2 < n; i++) {
			if (strcmp(tok[i + 1], "=") != 0)
				continue;
			const char *k = tok[i], *v = tok[i + 2];
			if (strcasecmp(k, "header.from") == 0) {
				const char *at = strrchr(v, '@');
				from_seen = 1;
				from_ok |= strcasecmp(at ? at + 1 : v,
				                      from_domain) == 0;
			} else if (strcasecmp(k, "header.d") == 0) {
				d_ok |= domains_aligned(v, from_domain);
			} else if (strcasecmp(k, "header.i") == 0) {
				const char *at = strrchr(v, '@');
				d_ok |= domains_aligned(at ? at + 1 : v,
				                        from_domain);
			}
			i += 2;
		}
		ok = (dmarc && (!from_seen || from_ok)) || (dkim && d_ok);
	}
	for (size_t i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
	return ok;
}

/* Whether value v is from authserv_id: its first token (before any
 * version, ';' or space) equals it. */
static int
ar_from_server(const char *v, const char *authserv_id)
{
	const char *p = v;
	char *id = ar_token(&p);
	int ok = id && strcasecmp(id, authserv_id) == 0;
	free(id);
	return ok;
}

/* The next ';' outside a quoted string, or NULL. */
static char *
ar_next_semicolon(char *p)
{
	int quoted = 0;
	for (; *p; p++) {
		if (quoted && *p == '\\' && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == ';' && !quoted)
			return p;
	}
	return NULL;
}

/* ---- Received: an authenticated submission (RFC 5321 4.4, RFC 3848) ---- */

/* What one Received header says; strings NULL when absent. */
struct received {
	char *from, *by, *with;
	char *login;   /* "(Authenticated sender: LOGIN)" directly before by */
	int nauth;     /* "Authenticated sender" comments anywhere */
	int malformed; /* a clause twice or without value, unclosed comment
	                  or quote, stray ')' */
};

static void
received_free(struct received *r)
{
	free(r->from);
	free(r->by);
	free(r->with);
	free(r->login);
}

static int
rcv_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The comment starting at p ('('): its text, nested comments kept as
 * text, escapes resolved, each run of white space (folding too) one
 * space; *pp after its ')'.  Sets *bad when it is not closed. */
static char *
rcv_comment(const char **pp, int *bad)
{
	struct cg_buf b = CG_BUF_INIT;
	const char *p = *pp;
	int depth = 0;
	for (; *p; p++) {
		char c = *p;
		if (c == '\\' && p[1]) {
			cg_buf_putc(&b, *++p);
			continue;
		}
		if (c == '(' && depth++ == 0)
			continue;
		if (c == ')' && --depth == 0) {
			p++;
			break;
		}
		if (!rcv_space(c))
			cg_buf_putc(&b, c);
		else if (b.len && b.data[b.len - 1] != ' ')
			cg_buf_putc(&b, ' ');
	}
	if (depth > 0)
		*bad = 1;
	*pp = p;
	return b.data ? cg_buf_steal(&b) : cg_strdup("");
}

/* Next token of a Received value: a comment (*comment set), a quoted
 * string or an atom.  NULL at the ';' before the date, at the end, or at
 * something unreadable (*bad set).  Caller frees. */
static char *
rcv_token(const char **pp, int *comment, int *bad)
{
	const char *p = *pp;
	while (rcv_space(*p))
		p++;
	*comment = 0;
	*pp = p;
	if (*p == '\0' || *p == ';')
		return NULL;
	if (*p == ')') {
		*bad = 1;
		return NULL;
	}
	if (*p == '(') {
		*comment = 1;
		return rcv_comment(pp, bad);
	}
	struct cg_buf b = CG_BUF_INIT;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			cg_buf_putc(&b, *p);
		}
		if (*p == '"')
			p++;
		else
			*bad = 1;
	} else {
		while (*p && !rcv_space(*p) && !strchr("();\"", *p))
			cg_buf_putc(&b, *p++);
	}
	*pp = p;
	return b.data ? cg_buf_steal(&b) : cg_strdup("");
}

/* "Authenticated sender: LOGIN": 1 (and *login, caller frees, when
 * LOGIN is one word) or 0 for any other comment. */
static int
rcv_auth_comment(const char *c, char **login)
{
	static const char tag[] = "Authenticated sender:";
	*login = NULL;
	if (strncasecmp(c, tag, sizeof tag - 1) != 0)
		return 0;
	c += sizeof tag - 1;
	while (*c == ' ')
		c++;
	size_t n = strlen(c);
	while (n && c[n - 1] == ' ')
		n--;
	int word = n > 0;
	for (size_t i = 0; i < n && word; i++)
		word = (unsigned char)c[i] > ' ' && c[i] != 0x7f &&
		       !strchr("()<>,;:\"[]\\", c[i]);
	if (word)
		*login = cg_strndup(c, n);
	return 1;
}

/* The clause a keyword opens, or NULL for any other word. */
static char **
rcv_clause(struct received *r, const char *word, char **ignored)
{
	if (strcasecmp(word, "from") == 0)
		return &r->from;
	if (strcasecmp(word, "by") == 0)
		return &r->by;
	if (strcasecmp(word, "with") == 0)
		return &r->with;
	if (strcasecmp(word, "via") == 0 || strcasecmp(word, "id") == 0 ||
	    strcasecmp(word, "for") == 0)
		return ignored;
	return NULL;
}

/* Parse one Received value (up to the ';' before its date) into *r.
 * A clause keyword takes the next word as its value; comments may sit
 * anywhere; other words (extension clauses) are passed over. */
static void
received_parse(const char *v, struct received *r)
{
	memset(r, 0, sizeof *r);
	char *ignored = NULL, **want = NULL;
	char *last_login = NULL; /* the token before was this auth comment */
	int comment, bad = 0;
	const char *p = v;
	char *t;
	while (!bad && (t = rcv_token(&p, &comment, &bad)) != NULL) {
		if (comment) {
			free(last_login);
			r->nauth += rcv_auth_comment(t, &last_login);
			free(t);
			continue;
		}
		char **clause = want ? NULL : rcv_clause(r, t, &ignored);
		if (want) {
			free(*want);
			*want = t;
			want = NULL;
		} else if (clause) {
			if (*clause && clause != &ignored)
				bad = 1; /* the same clause twice */
			if (clause == &r->by) {
				free(r->login);
				r->login = last_login;
				last_login = NULL;
			}
			want = clause;
			free(t);
		} else {
			free(t);
		}
		free(last_login);
		last_login = NULL;
	}
	free(last_login);
	free(ignored);
	r->malformed = bad || want != NULL;
}

static int
word_in(const char *w, const char *const *list)
{
	for (; w && *list; list++)
		if (strcasecmp(w, *list) == 0)
			return 1;
	return 0;
}

/* The final delivery into the mailbox, handed over by the trusted host. */
static int
received_delivery_hop(const struct received *r, const char *trusted_host)
{
	static const char *const lmtp[] = {
	    "LMTP",      "LMTPA",     "LMTPS",      "LMTPSA", "UTF8LMTP",
	    "UTF8LMTPA", "UTF8LMTPS", "UTF8LMTPSA", NULL,
	};
	return !r->malformed && word_in(r->with, lmtp) && r->from &&
	       strcasecmp(r->from, trusted_host) == 0;
}

/* Whether LOGIN stands for from_addr (rule in sender_auth.h). */
static int
login_is_address(const char *login, const char *from_addr,
                 const char *trusted_host)
{
	if (strchr(login, '@'))
		return strcasecmp(login, from_addr) == 0;
	const char *at = strrchr(from_addr, '@');
	size_t ll = strlen(login);
	if (at == NULL || (size_t)(at - from_addr) != ll ||
	    strncasecmp(from_addr, login, ll) != 0)
		return 0;
	const char *domain = at + 1;
	if (strcasecmp(domain, trusted_host) == 0)
		return 1;
	const char *parent = strchr(trusted_host, '.');
	return parent && strchr(parent + 1, '.') &&
	       strcasecmp(domain, parent + 1) == 0;
}

static enum email_submission
received_judge(const struct received *r, const char *trusted_host,
               const char *from_addr)
{
	static const char *const authenticated[] = {
	    "ESMTPA", "ESMTPSA", "UTF8SMTPA", "UTF8SMTPSA", NULL,
	};
	if (!word_in(r->with, authenticated) || r->nauth != 1 ||
	    r->login == NULL)
		return EMAIL_SUBMISSION_NO_AUTH;
	return login_is_address(r->login, from_addr, trusted_host)
	           ? EMAIL_SUBMISSION_OK
	           : EMAIL_SUBMISSION_OTHER_LOGIN;
}

enum email_submission
email_submission_trusted(const char *const *received, size_t n,
                         const char *trusted_host, const char *from_addr)
{
	if (trusted_host == NULL || *trusted_host == '\0' ||
	    from_addr == NULL || strchr(from_addr, '@') == NULL)
		return EMAIL_SUBMISSION_NO_RECORD;
	for (size_t i = 0; i < n; i++) {
		struct received r;
		received_parse(received[i] ? received[i] : ")", &r);
		int skip = received_delivery_hop(&r, trusted_host);
		enum email_submission res = EMAIL_SUBMISSION_RELAYED;
		if (!skip && !r.malformed && r.by &&
		    strcasecmp(r.by, trusted_host) == 0)
			res = received_judge(&r, trusted_host, from_addr);
		received_free(&r);
		if (!skip)
			return res;
	}
	return EMAIL_SUBMISSION_NO_RECORD;
}

/* ---- the trace headers of a mail ---- */

/* The length of header name `name` when line p starts with "name:", else 0. */
static size_t
field_is(const char *p, const char *eol, const char *name)
{
	size_t nl = strlen(name);
	return (size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
	               p[nl] == ':'
	           ? nl
	           : 0;
}

struct email_trace *
email_trace_headers(const char *raw, size_t len, size_t max, size_t *n)
{
	struct email_trace *t = NULL;
	*n = 0;
	const char *end = raw ? raw + len : NULL;
	for (const char *p = raw; p && p < end && *n < max;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (p == eol || (eol == p + 1 && *p == '\r'))
			break; /* end of the header */
		size_t nl = field_is(p, eol, "Received");
		int is_ar = 0;
		if (nl == 0 &&
		    (nl = field_is(p, eol, "Authentication-Results")))
			is_ar = 1;
		if (nl == 0) {
			p = eol + 1;
			continue;
		}
		const char *q = eol;
		/* continuation lines start with white space */
		while (q + 1 < end && (q[1] == ' ' || q[1] == '\t')) {
			const char *e =
			    memchr(q + 1, '\n', (size_t)(end - q - 1));
			q = e ? e : end;
		}
		t = cg_realloc(t, (*n + 1) * sizeof *t);
		t[*n].is_ar = is_ar;
		t[*n].value = cg_strndup(p + nl + 1, (size_t)(q - p - nl - 1));
		(*n)++;
		p = q < end ? q + 1 : end;
	}
	return t;
}

void
email_trace_free(struct email_trace *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].value);
	free(t);
}

/* ---- Authentication-Results above the trusted MTA's receipt ---- */

/* The index of the Received header trusted_host added on receipt (the
 * first one from the top that is not the final delivery hop), or -1 when
 * there is none or another relay's header comes first. */
static long
receipt_index(const struct email_trace *t, size_t n, const char *trusted_host)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].is_ar)
			continue;
		struct received r;
		received_parse(t[i].value ? t[i].value : ")", &r);
		int skip = received_delivery_hop(&r, trusted_host);
		int ours = !skip && !r.malformed && r.by &&
		           strcasecmp(r.by, trusted_host) == 0;
		received_free(&r);
		if (!skip)
			return ours ? (long)i : -1;
	}
	return -1;
}

/* The resinfos of one header value: 1 when one vouches for from_domain. */
static int
ar_value_trusted(const char *value, const char *from_domain)
{
	char *v = ar_strip_comments(value);
	int ok = 0;
	char *seg = ar_next_semicolon(v);
	while (seg && !ok) {
		char *next = ar_next_semicolon(seg + 1);
		if (next)
			*next = '\0';
		ok = ar_resinfo_trusted(seg + 1, from_domain);
		seg = next;
	}
	free(v);
	return ok;
}

/* Whether t[i] is an Authentication-Results header of authserv_id. */
static int
ar_is_ours(const struct email_trace *t, size_t i, const char *authserv_id)
{
	if (!t[i].is_ar || t[i].value == NULL)
		return 0;
	char *v = ar_strip_comments(t[i].value);
	int ours = ar_from_server(v, authserv_id);
	free(v);
	return ours;
}

int
email_auth_results_trusted(const struct email_trace *t, size_t n,
                           const char *trusted_host, const char *from_domain)
{
	if (trusted_host == NULL || *trusted_host == '\0' ||
	    from_domain == NULL || *from_domain == '\0')
		return 0;
	long receipt = receipt_index(t, n, trusted_host);
	if (receipt < 0)
		return 0;
	/* One below the receipt came with the message: all are suspect. */
	for (size_t i = (size_t)receipt + 1; i < n; i++)
		if (ar_is_ours(t, i, trusted_host))
			return 0;
	/* The topmost header of our server decides alone. */
	for (size_t i = 0; i < (size_t)receipt; i++)
		if (ar_is_ours(t, i, trusted_host))
			return ar_value_trusted(t[i].value, from_domain);
	return 0;
}

/* ---- the three proofs together ---- */

/* What the trusted MTA's Received header failed to show. */
static char *
submission_missing(enum email_submission sub, const char *host,
                   const char *addr)
{
	switch (sub) {
	case EMAIL_SUBMISSION_RELAYED:
		return cg_asprintf("the Received header of %s is not the "
		                   "topmost one (another server handled your "
		                   "mail after it), so its record is not "
		                   "believed",
		                   host);
	case EMAIL_SUBMISSION_NO_AUTH:
		return cg_asprintf("%s received it without SMTP "
		                   "authentication (no login recorded)",
		                   host);
	case EMAIL_SUBMISSION_OTHER_LOGIN:
		return cg_asprintf("%s received it from a login that is not "
		                   "%s",
		                   host, addr);
	default:
		return cg_asprintf("it carries no Received header of %s", host);
	}
}

/* The submission proof over the top Received headers of t. */
static enum email_submission
submission_of(const struct email_trace *t, size_t n, const char *host,
              const char *addr)
{
	const char *v[MAX_RECEIVED_READ];
	size_t k = 0;
	for (size_t i = 0; i < n && k < MAX_RECEIVED_READ; i++)
		if (!t[i].is_ar)
			v[k++] = t[i].value;
	return email_submission_trusted(v, k, host, addr);
}

int
email_sender_proven(const struct cg_config *cfg, const struct cg_msg *m,
                    char **why)
{
	const char *host = cfg->imap.trusted_authserv_id;
	const char *addr = m->sender_addr;
	const char *at = addr ? strrchr(addr, '@') : NULL;
	const char *domain = at ? at + 1 : "";
	if (why)
		*why = NULL;
	if (*domain == '\0') {
		if (why)
			*why = cg_strdup("your mail has no From address");
		return 0;
	}
	size_t n = 0;
	struct email_trace *t =
	    email_trace_headers(m->raw, m->rawlen, MAX_TRACE_READ, &n);
	enum email_submission sub = EMAIL_SUBMISSION_NO_RECORD;
	int ok = 0;
	if (host && *host) {
		ok = email_auth_results_trusted(t, n, host, domain);
		if (!ok)
			sub = submission_of(t, n, host, addr);
		ok = ok || sub == EMAIL_SUBMISSION_OK;
	}
	email_trace_free(t, n);
	if (!ok)
		ok = email_dkim_aligned(m->raw, m->rawlen, domain,
		                        cfg->posting.dkim_keys_file) == 1;
	if (ok || why == NULL)
		return ok;
	if (host == NULL || *host == '\0') {
		*why = cg_asprintf("this gateway trusts no mail server's "
		                   "Authentication-Results "
		                   "(imap.trusted_authserv_id is not set) and "
		                   "your mail carries no DKIM signature of %s "
		                   "it could verify, so it cannot tell who "
		                   "sent it",
		                   domain);
		return 0;
	}
	char *missing = submission_missing(sub, host, addr);
	*why = cg_asprintf(
	    "your mail carries no Authentication-Results from %s showing "
	    "dmarc=pass or an aligned dkim=pass for %s, no DKIM signature of "
	    "%s that verifies, and no record by %s of an authenticated "
	    "submission by %s: %s",
	    host, domain, domain, host, addr, missing);
	free(missing);
	return 0;
}

void
email_sender_mark(const struct cg_config *cfg, struct cg_msg *m)
{
	if (email_sender_proven(cfg, m, NULL))
		m->flags |= CG_MSG_SENDER_VERIFIED;
}
