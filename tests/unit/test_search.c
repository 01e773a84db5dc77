/*
 * test_search.c: the search of every stored message: German and English
 * word forms, ranking, the fields of a result, a guest's channels, user
 * words that look like FTS5 syntax, and the index following corrections.
 */
#include <sqlite3.h>

#include "history.h"
#include "store/migrations.h"
#include "store/search.h"

#define T0 1748736000 /* 2025-06-01 00:00 UTC */

static size_t
hits(struct fixture *f, const char *words, struct cg_search_hit **h)
{
	struct cg_search_query q = {.words = words};
	size_t n;
	assert_int_equal(cg_store_search(f->gw.store, &q, h, &n), 0);
	return n;
}

/* The subjects of the hits for words, joined by '|'. */
static char *
found(struct fixture *f, const char *words)
{
	struct cg_search_hit *h;
	size_t n = hits(f, words, &h);
	struct cg_buf b = CG_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		cg_buf_printf(&b, "%s%s", i ? "|" : "", h[i].thread_subject);
	cg_search_hits_free(h, n);
	return cg_buf_steal(&b);
}

static void
assert_found(struct fixture *f, const char *words, const char *want)
{
	char *got = found(f, words);
	if (strcmp(got, want) != 0)
		fail_msg("search \"%s\": got \"%s\", want \"%s\"", words, got,
		         want);
	free(got);
}

static struct fixture *
corpus(void)
{
	struct fixture *f = fixture_new();
	int64_t a =
	    person(f, "alice@example.org", "Alice", CG_LAYER_MEMBER, "dev");
	post(f, 0, a, "alice@example.org", "email", "Juni",
	     "Die Rechnungen für Juni sind verschickt.", T0);
	post(f, 0, a, "alice@example.org", "xmpp", "Strom",
	     "Wir beziehen seit Mai Ökostrom.", T0 + 60);
	post(f, 0, a, "alice@example.org", "email", "Treffen",
	     "Das Treffen der Genossenschaften ist am Freitag.", T0 + 120);
	post(f, 0, a, "alice@example.org", "email", "Billing",
	     "The invoices are attached.", T0 + 180);
	post(f, 0, a, "alice@example.org", "xmpp", "Garden",
	     "Separate the waste, please.", T0 + 240);
	return f;
}

static void
test_german_and_english_word_forms_match(void **state)
{
	struct fixture *f = corpus();
	assert_found(f, "rechnung", "Juni");
	assert_found(f, "Rechnungen", "Juni");
	assert_found(f, "ökostrom", "Strom");
	assert_found(f, "OKOSTROM", "Strom");
	assert_found(f, "genossenschaft", "Treffen");
	assert_found(f, "invoice", "Billing");
	assert_found(f, "invoiced", "Billing");
	/* Stems, not substrings: "rat" is not in "Separate". */
	assert_found(f, "rat", "");
	fixture_free(f);
}

static void
test_all_words_are_required(void **state)
{
	struct fixture *f = corpus();
	assert_found(f, "rechnung juni", "Juni");
	assert_found(f, "rechnung ökostrom", "");
	fixture_free(f);
}

static void
test_subject_match_ranks_above_a_mention_in_the_text(void **state)
{
	struct fixture *f = fixture_new();
	int64_t a =
	    person(f, "alice@example.org", "Alice", CG_LAYER_MEMBER, "dev");
	post(f, 0, a, "alice@example.org", "email", "Picknick",
	     "Beim Picknick reden wir auch kurz über das Budget.", T0);
	post(f, 0, a, "alice@example.org", "email", "Budget 2026",
	     "Der Budget-Entwurf: das Budget steigt.", T0 + 60);
	assert_found(f, "budget", "Budget 2026|Picknick");
	fixture_free(f);
}

static void
test_a_hit_names_channel_thread_author_network_date_and_snippet(void **state)
{
	struct fixture *f = corpus();
	struct cg_search_hit *h;
	assert_int_equal(hits(f, "ökostrom", &h), 1);
	assert_string_equal(h[0].channel, "dev");
	assert_string_equal(h[0].thread_subject, "Strom");
	assert_string_equal(h[0].author, "Alice");
	assert_string_equal(h[0].network, "xmpp");
	assert_int_equal(h[0].date, T0 + 60);
	assert_non_null(strstr(h[0].snippet, "[Ökostrom]"));
	cg_search_hits_free(h, 1);
	fixture_free(f);
}

static void
test_query_syntax_from_users_is_only_words(void **state)
{
	struct fixture *f = corpus();
	static const char *const hostile[] = {
	    "\"",          "\"rechnung",   "rechnung\"",
	    "*",           "rech*",        "NEAR(a b)",
	    "NEAR",        "-rechnung",    "(rechnung",
	    "rechnung)",   "subject:x",    "AND",
	    "OR NOT",      "^juni",        "\"\"\"",
	    "' OR 1=1 --", "a:b:c",        "{subject body}: x",
	    "+",           "rechnung AND", "\\",
	    "%",           ")(",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		struct cg_search_hit *h;
		size_t n = hits(f, hostile[i], &h); /* asserts success */
		cg_search_hits_free(h, n);
	}
	/* The words in them still count as words. */
	assert_found(f, "(rechnung", "Juni");
	assert_found(f, "-rechnung", "Juni");
	assert_found(f, "rech*", "");
	assert_found(f, "NEAR(rechnung juni)", "");
	char *e = cg_search_match_expr("a\"b NEAR(c) *");
	assert_string_equal(e, "\"a\" \"b\" \"near\" \"c\"");
	free(e);
	assert_null(cg_search_match_expr(" * ( ) \" - "));
	fixture_free(f);
}

static void
test_a_guest_sees_only_the_channels_it_is_subscribed_to(void **state)
{
	struct fixture *f = fixture_new();
	int64_t a =
	    person(f, "alice@example.org", "Alice", CG_LAYER_MEMBER, "dev");
	int64_t g =
	    person(f, "guest@example.net", "Guest", CG_LAYER_GUEST, "open");
	post_full(f, "dev", 0, a, "alice@example.org", "email", "Intern",
	          "Das Budget ist vertraulich.", T0);
	post_full(f, "open", 0, a, "alice@example.org", "email", "Offen",
	          "Das Budget ist öffentlich.", T0 + 1);
	struct cg_search_query q = {
	    .words = "budget", .restricted = 1, .reader = g};
	struct cg_search_hit *h;
	size_t n;
	assert_int_equal(cg_store_search(f->gw.store, &q, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].channel, "open");
	cg_search_hits_free(h, n);
	q.reader = 0; /* an unknown sender reads nothing */
	assert_int_equal(cg_store_search(f->gw.store, &q, &h, &n), 0);
	assert_int_equal(n, 0);
	q.restricted = 0;
	assert_int_equal(cg_store_search(f->gw.store, &q, &h, &n), 0);
	assert_int_equal(n, 2);
	cg_search_hits_free(h, n);
	fixture_free(f);
}

static void
test_the_index_follows_a_correction(void **state)
{
	struct fixture *f = corpus();
	struct cg_search_hit *h;
	assert_int_equal(hits(f, "ökostrom", &h), 1);
	int64_t id = h[0].message_id;
	cg_search_hits_free(h, 1);
	assert_int_equal(cg_store_message_set_text(f->gw.store, id,
	                                           "Wir beziehen Windstrom.",
	                                           "Wir beziehen Windstrom."),
	                 0);
	assert_found(f, "ökostrom", "");
	assert_found(f, "windstrom", "Strom");
	fixture_free(f);
}

/* A store at schema 7 (before the index) holding one message, written
 * with SQLite directly as an older coopgate left it. */
static void
old_store(const char *dir)
{
	char *path = cg_asprintf("%s/coopgate.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; i < cg_migrations_count; i++)
		if (cg_migrations[i].version <= 7)
			assert_int_equal(sqlite3_exec(db, cg_migrations[i].sql,
			                              NULL, NULL, NULL),
			                 SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "INSERT INTO channel(id, name, address, created) "
	                 "VALUES (1, 'dev', 'dev@lists.example.org', 0);"
	                 "INSERT INTO thread(id, channel_id, token, subject, "
	                 "created, last_activity) VALUES (1, 1, 't', "
	                 "'Treffen', 0, 0);"
	                 "INSERT INTO message(channel_id, thread_id, network, "
	                 "message_id, sender_addr, body, trimmed, received) "
	                 "VALUES (1, 1, 'email', 'old@x', 'a@example.org', "
	                 "'Treffen der Genossenschaften', 'Treffen der "
	                 "Genossenschaften', 0);"
	                 "PRAGMA user_version = 7;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

static void
test_messages_stored_before_the_index_are_indexed_by_the_migration(void **state)
{
	char dir[] = "/tmp/cgsearch.XXXXXX";
	assert_non_null(mkdtemp(dir));
	old_store(dir);
	struct cg_store *s;
	char *err = NULL;
	assert_int_equal(cg_store_open(dir, 0, &s, &err), 0);
	assert_true(cg_store_version(s) >= 13);
	struct cg_search_query q = {.words = "genossenschaft"};
	struct cg_search_hit *h;
	size_t n;
	assert_int_equal(cg_store_search(s, &q, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].thread_subject, "Treffen");
	cg_search_hits_free(h, n);
	cg_store_close(s);
	char *cmd = cg_asprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* ---- the tokenizer choice: cg_stem against FTS5's trigram ----
 * A small constructed corpus, queries with the documents a reader wants;
 * both indexes hold the same texts.  The figures go to store/README.md
 * ("Search"). */
static const char *const CORPUS[] = {
    /* 0 */ "Die Rechnung für Mai ist bezahlt.",
    /* 1 */ "Alle Rechnungen liegen im Ordner.",
    /* 2 */ "Die Berechnung der Kosten dauert.",
    /* 3 */ "Der Strom fällt heute aus.",
    /* 4 */ "Wir beziehen seit Mai Ökostrom.",
    /* 5 */ "Herr Stromberg kommt später.",
    /* 6 */ "Der Rat tagt am Montag.",
    /* 7 */ "Separate the paper and the glass.",
    /* 8 */ "Die Beratung ist kostenlos.",
    /* 9 */ "I would rather stay at home.",
    /* 10 */ "The art exhibition opens on Friday.",
    /* 11 */ "We start at nine.",
    /* 12 */ "The apartment has two rooms.",
    /* 13 */ "Die Genossenschaften treffen sich.",
    /* 14 */ "Unsere Genossenschaft wächst.",
    /* 15 */ "The invoices are attached.",
    /* 16 */ "Invoice 42 is paid.",
    /* 17 */ "Der Ökostromanbieter wurde gewechselt.",
    /* 18 */ "Die Strompreise steigen.",
    /* 19 */ "Der Garten braucht Wasser.",
};
static const struct {
	const char *q;
	int relevant[4]; /* -1 ends */
} QUERIES[] = {
    {"rechnung", {0, 1, -1}},
    {"strom", {3, 18, -1}},
    {"rat", {6, -1}},
    {"art", {10, -1}},
    {"genossenschaft", {13, 14, -1}},
    {"ökostrom", {4, 17, -1}},
    {"invoice", {15, 16, -1}},
};
#define NCORPUS (sizeof CORPUS / sizeof CORPUS[0])

struct judged {
	int hits, right, wanted;
};

static void
judge(struct judged *j, const int *relevant, const int64_t *got, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		j->hits++;
		for (const int *r = relevant; *r >= 0; r++)
			j->right += got[i] == *r + 1;
	}
	for (const int *r = relevant; *r >= 0; r++)
		j->wanted++;
}

static size_t
trigram_hits(sqlite3 *db, const char *q, int64_t *got)
{
	sqlite3_stmt *st;
	char *expr = cg_asprintf("\"%s\"", q);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT rowid FROM tri WHERE "
	                                    "tri MATCH ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, expr, -1, SQLITE_TRANSIENT);
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW && n < NCORPUS)
		got[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	free(expr);
	return n;
}

static int64_t
trigram_index(struct fixture *f, sqlite3 **db)
{
	char *path = cg_asprintf("%s/coopgate.db", f->dir);
	assert_int_equal(sqlite3_open(path, db), SQLITE_OK);
	free(path);
	assert_int_equal(
	    sqlite3_exec(*db,
	                 "CREATE VIRTUAL TABLE tri USING fts5(body, "
	                 "tokenize = 'trigram case_sensitive 0');"
	                 "INSERT INTO tri(rowid, body) "
	                 "SELECT id, trimmed FROM message;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(*db, "SELECT sum(length(block)) FROM tri_data", -1,
	                   &st, NULL);
	sqlite3_step(st);
	int64_t bytes = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return bytes;
}

static void
test_stemming_is_more_precise_than_trigrams(void **state)
{
	struct fixture *f = fixture_new();
	for (size_t i = 0; i < NCORPUS; i++) /* ids 1..N, no subject */
		post(f, 0, 0, "a@x.org", "email", NULL, CORPUS[i],
		     T0 + (int64_t)i);
	sqlite3 *db;
	int64_t tri_bytes = trigram_index(f, &db);
	int64_t stem_bytes = cg_store_search_index_bytes(f->gw.store);
	struct judged stem = {0}, tri = {0};
	for (size_t i = 0; i < sizeof QUERIES / sizeof QUERIES[0]; i++) {
		int64_t got[NCORPUS];
		size_t n = trigram_hits(db, QUERIES[i].q, got);
		judge(&tri, QUERIES[i].relevant, got, n);
		struct cg_search_hit *h;
		n = hits(f, QUERIES[i].q, &h);
		for (size_t k = 0; k < n; k++)
			got[k] = h[k].message_id;
		judge(&stem, QUERIES[i].relevant, got, n);
		cg_search_hits_free(h, n);
	}
	sqlite3_close(db);
	printf("search tokenizers on %zu texts, %zu queries:\n"
	       "  cg_stem: precision %d/%d, recall %d/%d, index %lld bytes "
	       "(6 columns)\n"
	       "  trigram: precision %d/%d, recall %d/%d, index %lld bytes "
	       "(text only)\n",
	       NCORPUS, sizeof QUERIES / sizeof QUERIES[0], stem.right,
	       stem.hits, stem.right, stem.wanted, (long long)stem_bytes,
	       tri.right, tri.hits, tri.right, tri.wanted,
	       (long long)tri_bytes);
	assert_true(stem.right * tri.hits > tri.right * stem.hits);
	assert_true(stem_bytes < tri_bytes);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_german_and_english_word_forms_match),
	    cmocka_unit_test(test_all_words_are_required),
	    cmocka_unit_test(
	        test_subject_match_ranks_above_a_mention_in_the_text),
	    cmocka_unit_test(
	        test_a_hit_names_channel_thread_author_network_date_and_snippet),
	    cmocka_unit_test(test_query_syntax_from_users_is_only_words),
	    cmocka_unit_test(
	        test_a_guest_sees_only_the_channels_it_is_subscribed_to),
	    cmocka_unit_test(test_the_index_follows_a_correction),
	    cmocka_unit_test(
	        test_messages_stored_before_the_index_are_indexed_by_the_migration),
	    cmocka_unit_test(test_stemming_is_more_precise_than_trigrams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
