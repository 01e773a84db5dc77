/*
 * test_trim.c: what of a mail reaches the chat room (bridges/email/trim.c).
 *
 * The corpus: every tests/trim/NAME.eml is a whole reply written in the
 * shape a real client produces (see tests/trim/README.md for how they
 * were built), NAME.expected the exact text the room must get.  Each goes
 * through the gateway's own entry points, email_parse() then
 * email_trim(), so HTML-only mails are read by the MIME and HTML code
 * first, as in the daemon.  The directory is found from the working
 * directory (the repo root) or from this binary's place in build/.
 * The other tests pin single rules and the cost on hostile input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridges/email/mime.h"
#include "bridges/email/trim.h"
#include "gateway/msg.h"
#include "lib/util.h"

static void
check(const char *mail, const char *want)
{
	char *got = email_trim(mail);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the corpus ---------------------------------------------------------- */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct cg_buf b = CG_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		cg_buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	char *s = cg_buf_steal(&b);
	return s ? s : cg_strdup("");
}

/* tests/trim from the repo root, or from build/<kind>/tests/. */
static char *
corpus_dir(void)
{
	if (access("tests/trim/README.md", R_OK) == 0)
		return cg_strdup("tests/trim");
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	char *dir = cg_asprintf("%s/../../../tests/trim", exe);
	if (access(dir, R_OK) == 0)
		return dir;
	free(dir);
	return NULL;
}

/* 1 when the case passes; prints what differs when it does not. */
static int
corpus_case(const char *dir, const char *name)
{
	size_t len, elen;
	char *path = cg_asprintf("%s/%s.eml", dir, name);
	char *raw = slurp(path, &len);
	free(path);
	path = cg_asprintf("%s/%s.expected", dir, name);
	char *want = slurp(path, &elen);
	free(path);
	if (raw == NULL || want == NULL) {
		printf("corpus %s: .eml or .expected missing\n", name);
		free(raw);
		free(want);
		return 0;
	}
	while (elen > 0 && want[elen - 1] == '\n')
		want[--elen] = '\0';
	struct cg_msg m = {0};
	char *err = NULL;
	int ok = 0;
	if (email_parse(raw, len, &m, &err) != 0) {
		printf("corpus %s: does not parse: %s\n", name, err);
	} else {
		char *got = email_trim(m.text);
		ok = strcmp(got, want) == 0;
		if (!ok)
			printf("corpus %s:\n--- want\n%s\n--- got\n%s\n---\n",
			       name, want, got);
		free(got);
	}
	cg_msg_free(&m);
	free(err);
	free(raw);
	free(want);
	return ok;
}

static void
test_every_corpus_reply_gives_the_expected_room_text(void **state)
{
	char *dir = corpus_dir();
	assert_non_null(dir);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int cases = 0, passed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
			continue;
		char *name = cg_strndup(e->d_name, n - 4);
		cases++;
		passed += corpus_case(dir, name);
		free(name);
	}
	closedir(d);
	free(dir);
	printf("trim corpus: %d of %d replies as expected\n", passed, cases);
	assert_true(cases >= 80);
	assert_int_equal(passed, cases);
}

/* ---- single rules -------------------------------------------------------- */

static void
test_inline_answer_keeps_the_quotes_it_answers(void **state)
{
	check("Bob Example wrote:\n"
	      "> Can you do Tuesday?\n"
	      "\n"
	      "Yes, after 3pm.\n"
	      "\n"
	      "> And bring the report?\n"
	      "Sure, I'll print it.\n"
	      "\n"
	      "> Thanks\n"
	      "-- \n"
	      "Alice Example\n",
	      "> Can you do Tuesday?\n\nYes, after 3pm.\n\n"
	      "> And bring the report?\nSure, I'll print it.");
}

static void
test_quote_only_mail_relays_nothing(void **state)
{
	check("On Thu, 4 Jan 2024, Bob <bob@example.org> wrote:\n"
	      "> Please read this.\n"
	      "-- \n"
	      "Alice\n",
	      "");
	check("> just a quote\n", "");
}

static void
test_signature_only_mail_is_not_emptied(void **state)
{
	check("-- \nAlice Example\n", "--\nAlice Example");
}

static void
test_crlf_blank_lines_and_empty_input(void **state)
{
	check("\r\n\r\nHi all,\r\n\r\nsee below.  \r\n\r\n> q\r\n\r\n",
	      "Hi all,\n\nsee below.");
	check(NULL, "");
	check("", "");
	check("\n \n\t\n", "");
}

static void
test_attribution_wrapped_over_three_lines(void **state)
{
	check("Ok.\n\nAm Mo., 2. Nov. 2026 um 10:11 Uhr schrieb Tom\n"
	      "Muster via dev <\ndev@lists.example.org>:\n\n> Frage\n",
	      "Ok.");
}

static void
test_text_above_an_attribution_is_not_taken_for_its_start(void **state)
{
	check("Thanks, sounds good\nBob <bob@example.org> wrote:\n> q\n",
	      "Thanks, sounds good");
	check("See you\non Monday\n\nOn Mon, 2 Nov 2026, Bob wrote:\n> q\n",
	      "See you\non Monday");
}

static void
test_header_words_in_prose_do_not_cut(void **state)
{
	check("From: the board\nTo: everyone\nPlease vote by Friday.\n",
	      "From: the board\nTo: everyone\nPlease vote by Friday.");
}

static int
has_words(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 1;
	return 0;
}

static void
test_plain_words_are_never_dropped(void **state)
{
	static const char *const pieces[] = {
	    "> quoted\n",
	    ">\n",
	    "-- \n",
	    "\n",
	    "\r\n",
	    "text ",
	    "word\n",
	    "On 1 Jan 2024, Bob <b@x> wrote:\n",
	    "Sent from my iPhone\n",
	    "-----Original Message-----\n",
	    "From: a\nSent: b\nSubject: c\n",
	    "________________________________\n",
	    " \t "};
	unsigned long x = 42;
	for (int round = 0; round < 2000; round++) {
		char buf[1024] = "";
		size_t len = 0;
		int n = 1 + (int)((x >> 16) % 12);
		for (int i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			const char *p = pieces[(x >> 16) % (sizeof pieces /
			                                    sizeof pieces[0])];
			size_t pl = strlen(p);
			if (len + pl >= sizeof buf)
				break;
			memcpy(buf + len, p, pl + 1);
			len += pl;
		}
		char *got = email_trim(buf);
		/* A mail that starts with words keeps them. */
		if (strncmp(buf, "word\n", 5) == 0 && !has_words(got))
			fail_msg("words dropped from \"%s\"", buf);
		free(got);
	}
}

/* ---- cost on hostile input ----------------------------------------------- */

static void
time_trim(const char *text, double limit)
{
	double t0 = now_s();
	char *got = email_trim(text);
	double took = now_s() - t0;
	free(got);
	if (took > limit)
		fail_msg("trim took %.2f s (limit %.1f s)", took, limit);
}

static char *
repeat(const char *piece, size_t times)
{
	size_t n = strlen(piece);
	char *s = cg_malloc(n * times + 1);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * n, piece, n);
	s[n * times] = '\0';
	return s;
}

static void
test_many_signature_lines_trim_in_linear_time(void **state)
{
	/* 320,000 lines: 81 s with the quadratic look-ahead. */
	char *s = repeat("Sent from my iPhone\n", 320000);
	time_trim(s, 3.0);
	free(s);
	s = repeat("On 1 Jan 2024, Bob <b@x> wrote:\n\n", 100000);
	time_trim(s, 3.0);
	free(s);
}

static void
test_one_megabyte_single_line_trims_fast(void **state)
{
	char *s = repeat("word ", 200000);
	time_trim(s, 1.0);
	free(s);
	s = repeat("From: a ", 200000);
	time_trim(s, 1.0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_every_corpus_reply_gives_the_expected_room_text),
	    cmocka_unit_test(test_inline_answer_keeps_the_quotes_it_answers),
	    cmocka_unit_test(test_quote_only_mail_relays_nothing),
	    cmocka_unit_test(test_signature_only_mail_is_not_emptied),
	    cmocka_unit_test(test_crlf_blank_lines_and_empty_input),
	    cmocka_unit_test(test_attribution_wrapped_over_three_lines),
	    cmocka_unit_test(
	        test_text_above_an_attribution_is_not_taken_for_its_start),
	    cmocka_unit_test(test_header_words_in_prose_do_not_cut),
	    cmocka_unit_test(test_plain_words_are_never_dropped),
	    cmocka_unit_test(test_many_signature_lines_trim_in_linear_time),
	    cmocka_unit_test(test_one_megabyte_single_line_trims_fast),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
