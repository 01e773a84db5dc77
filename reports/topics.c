/*
 * topics.c: the topics report (the seed's Erfolgsfeld report): the
 * period's most distinctive words against the previous period, each with
 * the threads behind it.
 *
 * Words are the search index's (store/search.h: folded, German stem),
 * without English and German stop words, digits or words under three
 * letters.  Each counts once per message.  A word's score is Dunning's
 * log-likelihood (G2) of its message counts in the two periods; only words
 * more frequent in this period than in the previous one, in at least two
 * messages, are kept; the ten best are shown with the three threads of the
 * period that use them most (found through the search index).
 * Counting words is done here, in C: SQL cannot split words; the
 * messages are streamed, never all held.
 * Must never: keep a pointer to a message's text after its callback.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "reports/report.h"
#include "store/report_queries.h"
#include "store/search.h"

#define TOPICS_SHOWN 10
#define TOPIC_THREADS 3

/* Folded (no diacritics) English and German stop words. */
static const char *const STOP[] = {
    "about",  "after",   "again",  "all",      "also",   "and",     "any",
    "are",    "because", "been",   "before",   "being",  "between", "both",
    "but",    "can",     "could",  "did",      "does",   "doing",   "done",
    "down",   "each",    "even",   "few",      "for",    "from",    "get",
    "got",    "had",     "has",    "have",     "having", "her",     "here",
    "hers",   "him",     "his",    "how",      "into",   "its",     "just",
    "let",    "like",    "may",    "more",     "most",   "much",    "must",
    "need",   "not",     "now",    "off",      "once",   "one",     "only",
    "other",  "our",     "out",    "over",     "own",    "please",  "same",
    "she",    "should",  "some",   "such",     "than",   "thank",   "thanks",
    "that",   "the",     "their",  "them",     "then",   "there",   "these",
    "they",   "this",    "those",  "through",  "too",    "under",   "until",
    "use",    "very",    "was",    "way",      "we",     "well",    "were",
    "what",   "when",    "where",  "which",    "while",  "who",     "whom",
    "why",    "will",    "with",   "would",    "yes",    "you",     "your",
    "yours",  "aber",    "alle",   "allem",    "allen",  "aller",   "alles",
    "als",    "also",    "am",     "an",       "ander",  "andere",  "anderen",
    "auch",   "auf",     "aus",    "bei",      "beim",   "bin",     "bis",
    "bist",   "bitte",   "damit",  "dann",     "das",    "dass",    "dein",
    "deine",  "dem",     "den",    "denn",     "der",    "des",     "dich",
    "die",    "dies",    "diese",  "diesem",   "diesen", "dieser",  "dieses",
    "dir",    "doch",    "dort",   "durch",    "ein",    "eine",    "einem",
    "einen",  "einer",   "eines",  "euch",     "euer",   "eure",    "fur",
    "gegen",  "gibt",    "hab",    "habe",     "haben",  "hat",     "hatte",
    "hier",   "ich",     "ihm",    "ihn",      "ihr",    "ihre",    "ihrem",
    "ihren",  "immer",   "ist",    "jede",     "jeder",  "jetzt",   "kann",
    "kein",   "keine",   "konnen", "mal",      "man",    "mehr",    "mein",
    "meine",  "mich",    "mir",    "mit",      "muss",   "nach",    "nicht",
    "nichts", "noch",    "nun",    "nur",      "ob",     "oder",    "ohne",
    "schon",  "sehr",    "sein",   "seine",    "sich",   "sie",     "sind",
    "so",     "soll",    "uber",   "um",       "und",    "uns",     "unser",
    "unsere", "unter",   "viel",   "vom",      "von",    "vor",     "war",
    "waren",  "warum",   "was",    "weil",     "welche", "wenn",    "wer",
    "werden", "wie",     "wieder", "wir",      "wird",   "wo",      "wurde",
    "zu",     "zum",     "zur",    "zwischen", "danke",  "gruss",   "grusse",
    "hallo",  "viele",   "re",     "aw",       "fwd",    "wg",
};

static int
is_stop(const char *w)
{
	for (size_t i = 0; i < sizeof STOP / sizeof STOP[0]; i++)
		if (strcmp(STOP[i], w) == 0)
			return 1;
	return 0;
}

/* ---- a small hash table of stems ---- */
struct term {
	char *stem;
	char *word;        /* its shortest form seen this period */
	int64_t cur, prev; /* messages holding it */
	int64_t last_msg;  /* the last message counted (once per message) */
	double score;
};

struct terms {
	struct term *v;
	size_t n, cap; /* cap: a power of two */
};

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void terms_grow(struct terms *t);

static struct term *
terms_get(struct terms *t, const char *stem, size_t n)
{
	if (t->n * 2 >= t->cap)
		terms_grow(t);
	size_t i = hash(stem, n) & (t->cap - 1);
	while (t->v[i].stem) {
		if (strlen(t->v[i].stem) == n &&
		    memcmp(t->v[i].stem, stem, n) == 0)
			return &t->v[i];
		i = (i + 1) & (t->cap - 1);
	}
	t->v[i].stem = cg_strndup(stem, n);
	t->v[i].last_msg = -1;
	t->n++;
	return &t->v[i];
}

static void
terms_grow(struct terms *t)
{
	struct terms old = *t;
	t->cap = old.cap ? old.cap * 2 : 1024;
	t->v = cg_calloc(t->cap, sizeof *t->v);
	t->n = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.v[i].stem == NULL)
			continue;
		struct term *e =
		    terms_get(t, old.v[i].stem, strlen(old.v[i].stem));
		free(e->stem);
		*e = old.v[i];
	}
	free(old.v);
}

static void
terms_free(struct terms *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		free(t->v[i].stem);
		free(t->v[i].word);
	}
	free(t->v);
}

/* ---- counting ---- */
struct count_ctx {
	struct terms *terms;
	struct cg_stemmer *stemmer;
	int current; /* 1: this period, 0: the previous */
	int64_t msg; /* messages seen */
};

static int
count_word(void *arg, const char *w, size_t n, size_t start, size_t end)
{
	struct count_ctx *c = arg;
	if (n < 3 || n > 40 || (w[0] >= '0' && w[0] <= '9') || is_stop(w))
		return 0;
	size_t sn;
	const char *stem = cg_stemmer_stem(c->stemmer, w, n, &sn);
	struct term *t = terms_get(c->terms, stem, sn);
	if (t->last_msg == c->msg)
		return 0;
	t->last_msg = c->msg;
	if (!c->current) {
		t->prev++;
		return 0;
	}
	t->cur++;
	if (t->word == NULL || strlen(t->word) > n) {
		free(t->word);
		t->word = cg_strndup(w, n);
	}
	return 0;
}

static int
count_message(void *arg, int64_t thread_id, const char *subject,
              const char *text)
{
	struct count_ctx *c = arg;
	c->msg++;
	if (subject)
		cg_search_words(subject, strlen(subject), count_word, c);
	if (text)
		cg_search_words(text, strlen(text), count_word, c);
	return 0;
}

/* Dunning's G2 for a of c messages against b of d. */
static double
log_likelihood(double a, double b, double c, double d)
{
	double e1 = c * (a + b) / (c + d), e2 = d * (a + b) / (c + d);
	double g = 0;
	if (a > 0)
		g += a * log(a / e1);
	if (b > 0)
		g += b * log(b / e2);
	return 2 * g;
}

static int
by_score(const void *x, const void *y)
{
	const struct term *a = *(const struct term *const *)x;
	const struct term *b = *(const struct term *const *)y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return strcmp(a->stem, b->stem);
}

/* The distinctive terms, best first (pointers into t; caller frees the
 * array). */
static struct term **
rank(struct terms *t, int64_t ncur, int64_t nprev, size_t *n)
{
	struct term **best = cg_calloc(t->n + 1, sizeof *best);
	*n = 0;
	for (size_t i = 0; i < t->cap; i++) {
		struct term *e = &t->v[i];
		if (e->stem == NULL || e->cur < 2)
			continue;
		/* More frequent now than before (the previous may be empty). */
		if (nprev > 0 && (double)e->cur / (double)ncur <=
		                     (double)e->prev / (double)nprev)
			continue;
		e->score = log_likelihood((double)e->cur, (double)e->prev,
		                          (double)ncur,
		                          (double)(nprev > 0 ? nprev : 1));
		best[(*n)++] = e;
	}
	qsort(best, *n, sizeof *best, by_score);
	return best;
}

static int
threads_of(const struct cg_report_params *p, const struct term *e,
           struct cg_buf *out)
{
	struct cg_term_thread *th;
	size_t n;
	if (cg_store_report_term_threads(p->store, p->channel_id,
	                                 p->period.start, p->period.end,
	                                 e->word, TOPIC_THREADS, &th, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		cg_buf_printf(out, "%s%s (%lld)", i ? "; " : "",
		              th[i].subject ? th[i].subject : "(no subject)",
		              (long long)th[i].messages);
	cg_term_threads_free(th, n);
	return 0;
}

static int
show(const struct cg_report_params *p, struct cg_report *r, struct term **best,
     size_t n)
{
	struct cg_report_section *s = cg_report_section(
	    r, "Distinctive words", 1, "no word stands out", 4, "Word",
	    "Messages", "Previous period", "Threads");
	int rc = 0;
	for (size_t i = 0; i < n && i < TOPICS_SHOWN && rc == 0; i++) {
		struct cg_buf th = CG_BUF_INIT;
		rc = threads_of(p, best[i], &th);
		char *cur = cg_asprintf("%lld", (long long)best[i]->cur);
		char *prev = cg_asprintf("%lld", (long long)best[i]->prev);
		cg_report_row(s, best[i]->word, cur, prev, cg_buf_str(&th));
		free(cur);
		free(prev);
		cg_buf_free(&th);
	}
	return rc;
}

int
cg_report_topics(const struct cg_report_params *p, struct cg_report *r)
{
	struct terms t = {0};
	struct cg_stemmer *st = cg_stemmer_new();
	if (st == NULL)
		return -1;
	struct cg_period prev;
	cg_period_previous(&p->period, &prev);
	struct count_ctx c = {&t, st, 0, 0};
	int rc = cg_store_report_texts(p->store, p->channel_id, prev.start,
	                               prev.end, count_message, &c);
	int64_t nprev = c.msg;
	c.current = 1;
	if (rc == 0)
		rc = cg_store_report_texts(p->store, p->channel_id,
		                           p->period.start, p->period.end,
		                           count_message, &c);
	int64_t ncur = c.msg - nprev;
	size_t n = 0;
	struct term **best = rc == 0 ? rank(&t, ncur, nprev, &n) : NULL;
	cg_report_head(r, "Messages", "%lld", (long long)ncur);
	cg_report_head(r, "Previous period", "%s (%lld messages)", prev.label,
	               (long long)nprev);
	cg_report_head(r, "Top words", "%s%s%s%s%s",
	               n > 0 ? best[0]->word : "-", n > 1 ? ", " : "",
	               n > 1 ? best[1]->word : "", n > 2 ? ", " : "",
	               n > 2 ? best[2]->word : "");
	cg_report_def(r, "Distinctive words: words (any form: German and "
	                 "English stems) in more messages of this period than "
	                 "of the previous one, ranked by log-likelihood (G2); "
	                 "stop words left out.");
	if (rc == 0)
		rc = show(p, r, best, n);
	free(best);
	terms_free(&t);
	cg_stemmer_free(st);
	return rc;
}
