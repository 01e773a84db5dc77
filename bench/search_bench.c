/*
 * search_bench.c: the figures of bench/search.sh.  Generates a store of N
 * messages (default 1,000,000) directly through store/ (no servers): 5
 * channels, 500 authors, threads of a few replies, German and English
 * texts from a Zipf-distributed vocabulary over 12 months.  Then times:
 * the backfill of the search index (what migration 013 does), searches
 * (p50/p99 over 300 queries of one or two words), and each report for one
 * month.  Prints figures; exits 1 when a target is missed.  A DATA_DIR
 * holding a store generated before (the file `generated`) is reused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "reports/report.h"
#include "store/search.h"
#include "store/store.h"

#define MONTH0 1735689600 /* 2025-01-01 UTC */
#define VOCAB 20000

static char *words[VOCAB];
static double zipf_cdf[VOCAB];

static const char *const SYL[] = {
    "ber", "rech", "nung",  "gen",  "os",   "sen", "schaft", "strom",
    "ko",  "in",   "voice", "meet", "ing",  "gar", "ten",    "plan",
    "ung", "pro",  "jekt",  "ver",  "trag", "mit", "glied",  "er",
    "ta",  "lo",   "mi",    "ra",   "du",   "fe",  "ki",     "na",
    "so",  "wu",   "ze",    "tion", "al",   "ly",  "st",     "ar"};

static double
clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void
vocabulary(void)
{
	double sum = 0;
	for (int i = 0; i < VOCAB; i++) {
		struct cg_buf b = CG_BUF_INIT;
		int n = 2 + i % 3, x = i * 7919 + 13;
		for (int k = 0; k < n; k++, x /= 40)
			cg_buf_puts(&b, SYL[(x + k * 17) % 40]);
		words[i] = cg_buf_steal(&b);
		sum += 1.0 / (i + 1);
		zipf_cdf[i] = sum;
	}
	for (int i = 0; i < VOCAB; i++)
		zipf_cdf[i] /= sum;
}

static const char *
word(void)
{
	double r = (double)random() / RAND_MAX;
	int lo = 0, hi = VOCAB - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return words[lo];
}

static char *
sentence(int n)
{
	struct cg_buf b = CG_BUF_INIT;
	for (int i = 0; i < n; i++)
		cg_buf_printf(&b, "%s%s", i ? " " : "", word());
	cg_buf_puts(&b, ".");
	return cg_buf_steal(&b);
}

static int64_t contacts[500];
static int64_t channels[5];

static void
people(struct cg_store *s)
{
	static const char *const names[] = {"dev", "core", "garden", "shop",
	                                    "events"};
	for (int c = 0; c < 5; c++) {
		struct cg_channel ch = {0,    (char *)names[c], NULL, NULL,
		                        NULL, CG_LAYER_GUEST};
		ch.address = cg_asprintf("%s@lists.example.org", names[c]);
		cg_store_channel_sync(s, &ch);
		channels[c] = ch.id;
		free(ch.address);
	}
	for (int i = 0; i < 500; i++) {
		char *addr = cg_asprintf("p%d@example.org", i);
		const char *chans[1] = {names[i % 5]};
		struct cg_member_input in = {.address = addr,
		                             .name = addr,
		                             .has_layer = 1,
		                             .layer = CG_LAYER_MEMBER,
		                             .channels = chans,
		                             .nchannels = 1,
		                             .delivery = CG_DELIVERY_EACH,
		                             .source = "cli"};
		cg_store_member_upsert(s, &in, &contacts[i]);
		free(addr);
	}
}

/* Messages, time-ordered over 12 months; 1 in 5 starts a thread. */
static void
generate(struct cg_store *s, long n)
{
	int64_t open_thread[5] = {0};
	char mid[64];
	cg_store_begin(s);
	for (long i = 0; i < n; i++) {
		int c = (int)(random() % 5);
		int64_t at =
		    MONTH0 + (int64_t)((double)i / (double)n * 365 * 86400);
		char *subject = NULL;
		if (open_thread[c] == 0 || random() % 5 == 0) {
			subject = sentence(3);
			open_thread[c] =
			    cg_store_thread_create(s, channels[c], subject, at);
		}
		char *text = sentence(8 + (int)(random() % 22));
		int who = (int)(random() % 500);
		snprintf(mid, sizeof mid, "b%ld@bench", i);
		char addr[32];
		snprintf(addr, sizeof addr, "p%d@example.org", who);
		struct cg_stored_msg m = {.channel_id = channels[c],
		                          .thread_id = open_thread[c],
		                          .contact_id = contacts[who],
		                          .network = i % 3 ? "email" : "xmpp",
		                          .message_id = mid,
		                          .sender_addr = addr,
		                          .subject = subject,
		                          .body = text,
		                          .trimmed = text,
		                          .received = at};
		cg_store_message_insert(s, &m, NULL, 0);
		cg_store_thread_touch(s, open_thread[c], subject ? m.id : 0,
		                      at);
		free(subject);
		free(text);
		if (i % 20000 == 19999) {
			cg_store_commit(s);
			cg_store_begin(s);
		}
	}
	cg_store_commit(s);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Wall times; cpu[]: this process's CPU time (the box may be shared). */
static double
searches(struct cg_store *s, double *p50, double *cpu50, double *cpu99)
{
	enum { Q = 300 };
	double t[Q], cpu[Q];
	for (int i = 0; i < Q; i++) {
		char *q = i % 2 ? cg_asprintf("%s %s", word(), word())
		                : cg_strdup(words[random() % VOCAB]);
		struct cg_search_query sq = {.words = q, .limit = 10};
		struct cg_search_hit *h;
		size_t n;
		double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		cg_store_search(s, &sq, &h, &n);
		t[i] = now_s() - t0;
		cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (getenv("SEARCH_BENCH_SLOW") && t[i] >= 0.050)
			printf("slow search: %.1f ms '%s'\n", t[i] * 1e3, q);
		cg_search_hits_free(h, n);
		free(q);
	}
	qsort(t, Q, sizeof t[0], cmp_double);
	qsort(cpu, Q, sizeof cpu[0], cmp_double);
	*p50 = t[Q / 2];
	*cpu50 = cpu[Q / 2];
	*cpu99 = cpu[Q * 99 / 100];
	return t[Q * 99 / 100];
}

/* Generate n messages, then time the index's backfill. */
static int
fill(struct cg_store *s, long n)
{
	double t0 = now_s();
	generate(s, n);
	double gen = now_s() - t0;
	printf("store: %ld messages written (indexed as they come) in %.1f s: "
	       "%.0f messages/s\n",
	       n, gen, n / gen);
	t0 = now_s();
	cg_store_begin(s);
	cg_store_search_rebuild(s);
	cg_store_commit(s);
	double bf = now_s() - t0;
	printf("search index backfill: %.0f messages/s (target >= 20000), "
	       "index %.0f MB\n",
	       n / bf, (double)cg_store_search_index_bytes(s) / 1e6);
	return n / bf < 20000;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: search_bench DATA_DIR [MESSAGES]\n");
		return 64;
	}
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	struct cg_store *s;
	char *err;
	if (cg_store_open(argv[1], 1, &s, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	srandom(42);
	vocabulary();
	int fail = 0;
	char *mark = cg_asprintf("%s/generated", argv[1]);
	if (access(mark, F_OK) == 0) {
		printf("store: reusing the %ld messages of %s\n", n, argv[1]);
	} else {
		people(s);
		fail |= fill(s, n);
		FILE *f = fopen(mark, "w");
		if (f)
			fclose(f);
	}
	free(mark);
	/* Search as the daemon does: with its small page cache
	 * (SEARCH_BENCH_CACHE=default: SQLite's 2 MB, to compare). */
	const char *cache = getenv("SEARCH_BENCH_CACHE");
	if (cache == NULL || strcmp(cache, "default") != 0)
		cg_store_small_cache(s);
	printf("search: page cache %s\n", cache && strcmp(cache, "default") == 0
	                                      ? "SQLite's default (2 MB)"
	                                      : "the daemon's (512 KiB)");
	double t0;
	srandom(7); /* the same queries on a generated or reused store */
	double p50, c50, c99, p99 = searches(s, &p50, &c50, &c99);
	printf("search: p50 %.1f ms, p99 %.1f ms (target < 50); CPU time "
	       "p50 %.1f ms, p99 %.1f ms\n",
	       p50 * 1e3, p99 * 1e3, c50 * 1e3, c99 * 1e3);
	fail |= p99 >= 0.050;
	static const char *const kinds[] = {"activity", "facilitation",
	                                    "topics"};
	for (int k = 0; k < 3; k++) {
		struct cg_report_params p = {.store = s,
		                             .channel = "all",
		                             .unanswered_after = 172800,
		                             .now = MONTH0 + 400 * 86400};
		cg_period_parse("2025-06", p.now, &p.period);
		struct cg_report r;
		t0 = now_s();
		int rc = cg_report_build(cg_report_kind(kinds[k]), &p, &r);
		double dt = now_s() - t0;
		printf("report %s for 2025-06 (all channels): %.2f s "
		       "(target < 2)%s\n",
		       kinds[k], dt, rc ? " FAILED" : "");
		fail |= rc != 0 || dt >= 2.0;
		cg_report_free(&r);
	}
	cg_store_close(s);
	return fail;
}
