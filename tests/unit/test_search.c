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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
