/*
 * search_rank.c: cg_window_rank(), the FTS5 ranking function of a search
 * that matches too many messages to rank them all (store/search.c ranks
 * only the newest of them).  It is FTS5's bm25 with every word's inverse
 * document frequency taken as 1: bm25 reads the whole list of documents
 * of each word to count them once per query, which for a word in most
 * messages costs more than the search itself.  For one word the order is
 * bm25's (the frequency is a constant factor); for several, each counts
 * the same.  Arguments: the column weights, as bm25's.
 * Must never: allocate per row, or read outside the row being ranked.
 */
#include <math.h>
#include <stdlib.h>

#include "store/db.h"

#define RANK_K1 1.2
#define RANK_B 0.75

struct rank_query {
	double avg_tokens; /* tokens per row, all columns */
	int nphrase;
	double *idf;  /* per phrase */
	double *freq; /* per phrase, this row */
};

/* bm25's inverse document frequency of each phrase, from the numbers of
 * `docs` (see above); a phrase without one counts as in no row. */
static void
rank_idf(struct rank_query *q, const char *docs, double rows)
{
	const char *p = docs ? docs : "";
	for (int i = 0; i < q->nphrase; i++) {
		char *end;
		double n = strtod(p, &end);
		p = end == p ? p : end;
		while (*p == ',' || *p == ' ')
			p++;
		if (n < 0)
			n = -n * rows;
		double idf = log((rows - n + 0.5) / (n + 0.5));
		q->idf[i] = idf > 0 ? idf : 1e-6;
	}
}

static struct rank_query *
rank_query(const Fts5ExtensionApi *api, Fts5Context *fts, const char *docs)
{
	struct rank_query *q = api->xGetAuxdata(fts, 0);
	if (q)
		return q;
	sqlite3_int64 rows = 0, tokens = 0;
	if (api->xRowCount(fts, &rows) != SQLITE_OK ||
	    api->xColumnTotalSize(fts, -1, &tokens) != SQLITE_OK)
		return NULL;
	int nphrase = api->xPhraseCount(fts);
	q = calloc(1, sizeof *q + 2 * (size_t)nphrase * sizeof(double));
	if (q == NULL)
		return NULL;
	q->avg_tokens = rows > 0 ? (double)tokens / (double)rows : 1;
	q->nphrase = nphrase;
	q->idf = (double *)(q + 1);
	q->freq = q->idf + nphrase;
	rank_idf(q, docs, (double)rows);
	if (api->xSetAuxdata(fts, q, free) != SQLITE_OK)
		return NULL; /* xSetAuxdata freed it */
	return q;
}

static void
window_rank(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
            int nval, sqlite3_value **val)
{
	const char *docs =
	    nval > 0 ? (const char *)sqlite3_value_text(val[0]) : NULL;
	struct rank_query *q = rank_query(api, fts, docs);
	int ninst = 0, len = 0;
	if (q == NULL || api->xInstCount(fts, &ninst) != SQLITE_OK ||
	    api->xColumnSize(fts, -1, &len) != SQLITE_OK) {
		sqlite3_result_error(ctx, "cg_window_rank: no row data", -1);
		return;
	}
	for (int i = 0; i < q->nphrase; i++)
		q->freq[i] = 0;
	for (int i = 0; i < ninst; i++) {
		int phrase, col, off;
		if (api->xInst(fts, i, &phrase, &col, &off) != SQLITE_OK)
			continue;
		double w =
		    col + 1 < nval ? sqlite3_value_double(val[col + 1]) : 1.0;
		q->freq[phrase] += w;
	}
	double norm = RANK_K1 * (1 - RANK_B + RANK_B * len / q->avg_tokens);
	double score = 0;
	for (int i = 0; i < q->nphrase; i++)
		score += q->idf[i] * q->freq[i] * (RANK_K1 + 1) /
		         (q->freq[i] + norm);
	sqlite3_result_double(ctx, -score);
}

int
db_search_rank_register(struct cg_store *s, fts5_api *api)
{
	if (api->xCreateFunction(api, "cg_window_rank", NULL, window_rank,
	                         NULL) != SQLITE_OK)
		return db_fail(s, "register the cg_window_rank function");
	return 0;
}
