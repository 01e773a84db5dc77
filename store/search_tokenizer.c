/*
 * search_tokenizer.c: the "cg_stem" FTS5 tokenizer of the search index
 * (schema 013) and the word splitter the topics report counts with.  The
 * only user of libstemmer.
 *
 * A word is a run of letters and digits (UTF-8).  Each word is folded:
 * lower case, and the Latin-1 / Latin Extended-A letters lose their
 * diacritics ("Ökostrom" -> "okostrom", "ß" -> "ss").  A word of letters
 * is then stemmed twice, by the German and the English Snowball stemmers:
 * the German stem is the token, the English one (when it differs) a
 * colocated synonym (FTS5_TOKEN_COLOCATED).  A query is tokenized the same
 * way, so "rechnung" meets "Rechnungen" through the German stem and
 * "invoices" meets "invoice" through the English one.  Why stemming and not
 * the trigram tokenizer: store/README.md, "Search".
 *
 * Must never: read past nText, emit an empty token, or keep a pointer to
 * the text after xTokenize returns.  One tokenizer instance is used by one
 * connection (the stemmers are not thread-safe).
 */
#include <libstemmer.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/db.h"
#include "store/search.h"

#define WORD_MAX 64 /* bytes of a folded word kept; the rest is cut */

struct stem_tokenizer {
	struct sb_stemmer *de, *en;
};

/* Base letters of U+00C0..U+00FF; '-' separates, '1' = "ae", '2' = "th",
 * '3' = "ss". */
static const char LATIN1[] = "aaaaaa1ceeeeiiiidnooooo-ouuuuy23"
                             "aaaaaa1ceeeeiiiidnooooo-ouuuuy2y";
/* Base letters of U+0100..U+017F. */
static const char LATIN_EXT_A[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllll"
    "nnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* Decode one UTF-8 sequence at p (n bytes left); its length in *len (1 for
 * a malformed byte, which then counts as U+FFFD). */
static unsigned
utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	unsigned c = p[0];
	size_t need = c < 0x80    ? 1
	              : c >= 0xf0 ? 4
	              : c >= 0xe0 ? 3
	              : c >= 0xc0 ? 2
	                          : 0;
	if (need == 0 || need > n) {
		*len = 1;
		return 0xfffd;
	}
	if (need == 1) {
		*len = 1;
		return c;
	}
	unsigned cp = c & (0xff >> (need + 1));
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*len = 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*len = need;
	return cp;
}

/* Whether code point cp separates words. */
static int
is_separator(unsigned cp)
{
	if (cp < 0x80)
		return !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
		         (cp >= 'A' && cp <= 'Z'));
	return cp < 0xc0 || cp == 0xd7 || cp == 0xf7 || cp == 0xfffd ||
	       (cp >= 0x2000 && cp <= 0x206f) ||
	       (cp >= 0x3000 && cp <= 0x303f) ||
	       (cp >= 0xfe30 && cp <= 0xfe4f) ||
	       (cp >= 0xff00 && cp <= 0xff0f) || cp == 0xfeff;
}

/* Append the folded form of cp (raw bytes src[0..len) when no fold is
 * known) to w, at most WORD_MAX bytes. */
static void
fold_into(struct cg_buf *w, unsigned cp, const unsigned char *src, size_t len)
{
	char tmp[3] = {0, 0, 0};
	if (cp < 0x80) {
		tmp[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
	} else if (cp >= 0xc0 && cp <= 0xff) {
		char b = LATIN1[cp - 0xc0];
		if (b == '1')
			memcpy(tmp, "ae", 2);
		else if (b == '2')
			memcpy(tmp, "th", 2);
		else if (b == '3')
			memcpy(tmp, "ss", 2);
		else
			tmp[0] = b;
	} else if (cp >= 0x100 && cp <= 0x17f) {
		tmp[0] = LATIN_EXT_A[cp - 0x100];
	}
	const char *add = tmp[0] ? tmp : (const char *)src;
	size_t n = tmp[0] ? strlen(tmp) : len;
	if (w->len + n <= WORD_MAX)
		cg_buf_add(w, add, n);
}

int
cg_search_words(const char *text, size_t n, cg_search_word_cb *cb, void *arg)
{
	const unsigned char *p = (const unsigned char *)text;
	struct cg_buf w = CG_BUF_INIT;
	size_t start = 0, i = 0;
	int rc = 0;
	while (rc == 0 && i <= n) {
		size_t len = 1;
		unsigned cp = i < n ? utf8_next(p + i, n - i, &len) : ' ';
		if (i < n && !is_separator(cp)) {
			if (w.len == 0)
				start = i;
			fold_into(&w, cp, p + i, len);
		} else if (w.len > 0) {
			rc = cb(arg, cg_buf_str(&w), w.len, start, i);
			w.len = 0;
		}
		i += len;
	}
	cg_buf_free(&w);
	return rc;
}

/* Whether the word holds a digit (then it is not stemmed). */
static int
has_digit(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] >= '0' && w[i] <= '9')
			return 1;
	return 0;
}

struct emit_ctx {
	struct stem_tokenizer *t;
	void *fts_ctx;
	int (*token)(void *, int, const char *, int, int, int);
};

static int
emit_word(void *arg, const char *w, size_t n, size_t start, size_t end)
{
	struct emit_ctx *e = arg;
	if (has_digit(w, n))
		return e->token(e->fts_ctx, 0, w, (int)n, (int)start, (int)end);
	const sb_symbol *de =
	    sb_stemmer_stem(e->t->de, (const sb_symbol *)w, (int)n);
	int nde = sb_stemmer_length(e->t->de);
	if (de == NULL || nde <= 0) {
		de = (const sb_symbol *)w;
		nde = (int)n;
	}
	int rc = e->token(e->fts_ctx, 0, (const char *)de, nde, (int)start,
	                  (int)end);
	const sb_symbol *en =
	    sb_stemmer_stem(e->t->en, (const sb_symbol *)w, (int)n);
	int nen = sb_stemmer_length(e->t->en);
	/* de points into the German stemmer's own buffer: still valid. */
	if (rc == SQLITE_OK && en && nen > 0 &&
	    (nen != nde || memcmp(en, de, (size_t)nen) != 0))
		rc = e->token(e->fts_ctx, FTS5_TOKEN_COLOCATED,
		              (const char *)en, nen, (int)start, (int)end);
	return rc;
}

static int
tok_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out)
{
	struct stem_tokenizer *t = cg_calloc(1, sizeof *t);
	t->de = sb_stemmer_new("german", "UTF_8");
	t->en = sb_stemmer_new("english", "UTF_8");
	if (t->de == NULL || t->en == NULL) {
		sb_stemmer_delete(t->de);
		sb_stemmer_delete(t->en);
		free(t);
		return SQLITE_ERROR;
	}
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

static void
tok_delete(Fts5Tokenizer *p)
{
	struct stem_tokenizer *t = (struct stem_tokenizer *)p;
	sb_stemmer_delete(t->de);
	sb_stemmer_delete(t->en);
	free(t);
}

static int
tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
             int (*token)(void *, int, const char *, int, int, int))
{
	struct emit_ctx e = {(struct stem_tokenizer *)p, ctx, token};
	if (text == NULL || n <= 0)
		return SQLITE_OK;
	return cg_search_words(text, (size_t)n, emit_word, &e);
}

/* The FTS5 API of db (NULL when SQLite was built without FTS5). */
static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	return api;
}

int
db_search_register(struct cg_store *s)
{
	static fts5_tokenizer tok = {tok_create, tok_delete, tok_tokenize};
	fts5_api *api = fts5_api_of(s->db);
	if (api == NULL)
		return db_errorf(s, "%s: SQLite has no FTS5", s->path);
	if (api->xCreateTokenizer(api, "cg_stem", NULL, &tok, NULL) !=
	    SQLITE_OK)
		return db_fail(s, "register the cg_stem tokenizer");
	return 0;
}

/* ---- stems for callers outside SQLite (the topics report) ---- */

struct cg_stemmer {
	struct stem_tokenizer t;
};

struct cg_stemmer *
cg_stemmer_new(void)
{
	Fts5Tokenizer *p;
	if (tok_create(NULL, NULL, 0, &p) != SQLITE_OK)
		return NULL;
	return (struct cg_stemmer *)p;
}

void
cg_stemmer_free(struct cg_stemmer *st)
{
	if (st)
		tok_delete((Fts5Tokenizer *)st);
}

const char *
cg_stemmer_stem(struct cg_stemmer *st, const char *word, size_t n, size_t *len)
{
	if (has_digit(word, n)) {
		*len = n;
		return word;
	}
	const sb_symbol *de =
	    sb_stemmer_stem(st->t.de, (const sb_symbol *)word, (int)n);
	int nde = sb_stemmer_length(st->t.de);
	if (de == NULL || nde <= 0) {
		*len = n;
		return word;
	}
	*len = (size_t)nde;
	return (const char *)de;
}
