/*
 * test_html_text.c: HTML mail bodies as readable text
 * (bridges/email/html_text.c): how the quotes and signatures of mail
 * clients come out, and that hostile markup costs only its size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridges/email/html_text.h"
#include "lib/util.h"

static void
check(const char *html, const char *want)
{
	char *got = email_html_to_text(html, strlen(html));
	assert_string_equal(got, want);
	free(got);
}

static void
test_gmail_attribution_and_quote_come_out_quoted(void **state)
{
	check("<div dir=\"ltr\">Yes.</div><div class=\"gmail_quote\"><div "
	      "dir=\"ltr\" class=\"gmail_attr\">On Wed, Bob &lt;<a "
	      "href=\"mailto:bob@example.org\">bob@example.org</a>&gt; "
	      "wrote:<br></div><blockquote class=\"gmail_quote\">Lunch?"
	      "</blockquote></div>",
	      "Yes.\n> On Wed, Bob <bob@example.org> wrote:\n> Lunch?");
}

static void
test_thunderbird_cite_prefix_ends_with_its_div(void **state)
{
	check("<p>Agreed.</p><div class=\"moz-cite-prefix\">On 1/2/26, Bob "
	      "wrote:<div>x</div></div><p>After the quote.</p>",
	      "Agreed.\n\n> On 1/2/26, Bob wrote:\n> x\n\nAfter the quote.");
}

static void
test_outlook_reply_block_quotes_everything_after_it(void **state)
{
	check("<div>Sure.</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> "
	      "Bob<br><b>Sent:</b> Monday</div><div>Original text</div>",
	      "Sure.\n\n> From: Bob\n> Sent: Monday\n> Original text");
	/* Outlook prefixes ids when the mail is quoted again. */
	check("<div>Ok</div><div id=\"x_divRplyFwdMsg\">From: Bob</div>",
	      "Ok\n> From: Bob");
}

static void
test_yahoo_quoted_div(void **state)
{
	check("<div>Fine.</div><div class=\"yahoo_quoted other\"><div>On "
	      "Wed, Bob wrote:</div><div>Shall we?</div></div>",
	      "Fine.\n> On Wed, Bob wrote:\n> Shall we?");
}

static void
test_signature_blocks_are_set_off_by_dashes(void **state)
{
	check("<div>Thanks</div><div class=\"gmail_signature\">Anna<br>Coop"
	      "</div>",
	      "Thanks\n--\nAnna\nCoop");
	check("<p>Hi</p><pre class=\"moz-signature\">Anna</pre>",
	      "Hi\n\n--\nAnna");
}

static void
test_ordinary_divs_and_classes_are_not_quotes(void **state)
{
	check("<div class=\"gmail_quote_x\">a</div><div id=\"divRply\">b</div>"
	      "<div class=\"note\">c</div>",
	      "a\nb\nc");
}

static void
test_unclosed_quote_divs_stay_bounded(void **state)
{
	struct cg_buf b = CG_BUF_INIT;
	for (int i = 0; i < 1000; i++)
		cg_buf_puts(&b, "<div class=\"yahoo_quoted\">");
	cg_buf_puts(&b, "deep");
	char *got = email_html_to_text(b.data, b.len);
	assert_string_equal(got, ">>>>>>>>>>>>>>>> deep");
	free(got);
	cg_buf_free(&b);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
time_html(const char *html, size_t len, double limit)
{
	double t0 = now_s();
	char *got = email_html_to_text(html, len);
	double took = now_s() - t0;
	free(got);
	if (took > limit)
		fail_msg("html_to_text took %.2f s (limit %.1f s)", took,
		         limit);
}

static void
test_long_link_text_and_href_convert_in_linear_time(void **state)
{
	/* A link whose text repeats the start of its long href: the
	 * "does the text show the address" check was text x href. */
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_puts(&b, "<a href=\"mailto:");
	for (int i = 0; i < 50000; i++)
		cg_buf_puts(&b, "aa");
	cg_buf_puts(&b, "b\">");
	for (int i = 0; i < 500000; i++)
		cg_buf_puts(&b, "aa");
	cg_buf_puts(&b, "</a>");
	time_html(b.data, b.len, 2.0);
	cg_buf_free(&b);
}

static void
test_many_links_and_comments_convert_in_linear_time(void **state)
{
	struct cg_buf b = CG_BUF_INIT;
	for (int i = 0; i < 50000; i++)
		cg_buf_puts(&b,
		            "<a href=\"http://x.example/p\">http://x.exa</a>"
		            "<!-- c --><div class=\"a b c\">t</div>");
	time_html(b.data, b.len, 2.0);
	cg_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gmail_attribution_and_quote_come_out_quoted),
	    cmocka_unit_test(test_thunderbird_cite_prefix_ends_with_its_div),
	    cmocka_unit_test(
	        test_outlook_reply_block_quotes_everything_after_it),
	    cmocka_unit_test(test_yahoo_quoted_div),
	    cmocka_unit_test(test_signature_blocks_are_set_off_by_dashes),
	    cmocka_unit_test(test_ordinary_divs_and_classes_are_not_quotes),
	    cmocka_unit_test(test_unclosed_quote_divs_stay_bounded),
	    cmocka_unit_test(
	        test_long_link_text_and_href_convert_in_linear_time),
	    cmocka_unit_test(
	        test_many_links_and_comments_convert_in_linear_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
