/*
 * search.h: the full-text search of every stored message, both networks
 * (store/search.c, schema 013), and the word splitting and stemming it is
 * built on (store/search_tokenizer.c), which the topics report counts with.
 *
 * Ownership: cg_store_search() hands back an array the caller releases
 * with cg_search_hits_free(); cg_stemmer_stem() returns a pointer into the
 * stemmer, valid until its next call.
 */
#ifndef CG_SEARCH_H
#define CG_SEARCH_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;

/* ---- words ---- */

/*
 * Called for each word of a text: w is the folded word (lower case, no
 * diacritics; NUL-terminated, n bytes), [start, end) its bytes in the
 * text.  Return 0 to go on; anything else stops and is returned.
 */
typedef int cg_search_word_cb(void *arg, const char *w, size_t n, size_t start,
                              size_t end);
int cg_search_words(const char *text, size_t n, cg_search_word_cb *cb,
                    void *arg);

/* The German stem of a folded word (the index's main token). */
struct cg_stemmer;
struct cg_stemmer *cg_stemmer_new(void); /* NULL when libstemmer fails */
void cg_stemmer_free(struct cg_stemmer *st);
const char *cg_stemmer_stem(struct cg_stemmer *st, const char *word, size_t n,
                            size_t *len);

/* ---- search ---- */

struct cg_search_query {
	const char *words;  /* as the user typed them: never FTS5 syntax */
	int64_t channel_id; /* 0: every channel the reader may read */
	/* A guest reads only the channels it is subscribed to: restricted = 1
	 * and reader = its contact (0: an unknown sender, who reads none). */
	int restricted;
	int64_t reader;
	size_t limit; /* 0: 10 */
};

struct cg_search_hit {
	int64_t message_id;
	char *channel;        /* channel name */
	char *thread_subject; /* the thread's subject (may be NULL) */
	char *author;  /* contact's name, else sender name, else address */
	char *network; /* "email" | "xmpp" */
	int64_t date;  /* received, unix seconds */
	char *snippet; /* matched words in [brackets] */
	double score;  /* bm25: lower is better */
};
void cg_search_hits_free(struct cg_search_hit *v, size_t n);

/*
 * The user's words as an FTS5 expression: each word a quoted string, all
 * required (AND); quotes, '*', NEAR, '-', ':' and parentheses are only
 * characters.  NULL when no word is left (caller frees).
 */
char *cg_search_match_expr(const char *words);

/* Best first (bm25).  A query holding a word in 2,000 messages or more
 * ranks only the newest 5,000 messages holding its rarest word
 * (store/README.md, "Frequent words").  No word to search for: 0 with
 * *n = 0. */
int cg_store_search(struct cg_store *s, const struct cg_search_query *q,
                    struct cg_search_hit **out, size_t *n);

/* Index every stored message again (what migration 013 does once). */
int cg_store_search_rebuild(struct cg_store *s);

/* The index's size in bytes (its shadow data table), for the figures. */
int64_t cg_store_search_index_bytes(struct cg_store *s);

#endif
