/*
 * test_hostile_mail.c: mails built to crash or stall the reader
 * (bridges/email/mime.c, gateway/msg.c; issue 10, items 2 and 6).  Each
 * is read without a crash and well within HOSTILE_MAX_MS on a loaded box
 * (the unfixed code took 12 s to hours, or overflowed the stack).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridges/email/dsn.h"
#include "bridges/email/mime.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "tests/unit/timebound.h"

#define HOSTILE_MAX_MS (2000 * CG_TEST_SLOWDOWN)

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
head(struct cg_buf *b, const char *subject)
{
	cg_buf_printf(b,
	              "From: Mallory <mallory@example.net>\r\n"
	              "To: dev@lists.example.org\r\n"
	              "Subject: %s\r\n"
	              "Message-ID: <hostile@example.net>\r\n",
	              subject);
}

/* Parse b within the time bound; the test fails on error. */
static void
parse_fast(struct cg_buf *b, struct cg_msg *m)
{
	char *err = NULL;
	memset(m, 0, sizeof *m);
	int64_t t0 = now_ms();
	int r = email_parse(b->data, b->len, m, &err);
	int64_t took = now_ms() - t0;
	if (r != 0)
		fail_msg("parse failed: %s", err ? err : "?");
	if (took > HOSTILE_MAX_MS)
		fail_msg("parse took %lld ms", (long long)took);
}

static void
test_30000_nested_rfc822_is_read_as_unparsed_with_its_subject(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Matryoshka");
	for (int i = 0; i < 30000; i++)
		cg_buf_puts(&b, "Content-Type: message/rfc822\r\n\r\n");
	cg_buf_puts(&b, "Subject: inner\r\n\r\nbody\r\n");
	struct cg_msg m;
	parse_fast(&b, &m);
	assert_true(m.flags & CG_MSG_UNPARSED);
	assert_string_equal(m.subject, "Matryoshka");
	assert_string_equal(m.sender_addr, "mallory@example.net");
	assert_string_equal(m.ext_id, "hostile@example.net");
	assert_string_equal(m.text, EMAIL_UNPARSED_TEXT);
	assert_int_equal(m.natt, 0);
	assert_int_equal(m.rawlen, b.len); /* kept whole for the store */
	struct cg_buf f = CG_BUF_INIT;
	cg_msg_flags_format(m.flags, &f);
	assert_non_null(strstr(cg_buf_str(&f), "unparsed"));
	cg_buf_free(&f);
	cg_msg_free(&m);
	cg_buf_free(&b);
}

static void
test_20000_nested_multiparts_are_read_as_unparsed_quickly(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Nested");
	cg_buf_puts(&b, "MIME-Version: 1.0\r\n");
	for (int i = 0; i < 20000; i++)
		cg_buf_printf(
		    &b,
		    "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n"
		    "\r\n--b%d\r\n",
		    i, i);
	cg_buf_puts(&b, "Content-Type: text/plain\r\n\r\nhi\r\n");
	struct cg_msg m;
	parse_fast(&b, &m);
	assert_true(m.flags & CG_MSG_UNPARSED);
	assert_string_equal(m.subject, "Nested");
	cg_msg_free(&m);
	cg_buf_free(&b);
}

static void
test_2000_flat_parts_are_over_the_part_limit(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Many");
	cg_buf_puts(&b, "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	for (int i = 0; i < 2000; i++)
		cg_buf_puts(&b,
		            "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n");
	cg_buf_puts(&b, "--x--\r\n");
	size_t depth, parts;
	assert_int_equal(email_mime_shape(b.data, b.len, &depth, &parts), 0);
	struct cg_msg m;
	parse_fast(&b, &m);
	assert_true(m.flags & CG_MSG_UNPARSED);
	cg_msg_free(&m);
	cg_buf_free(&b);
}

/* No false alarm: forwarded mails side by side, a multipart inside a
 * multipart, boundaries reused after they closed. */
static void
test_ordinary_nesting_is_parsed_as_usual(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Forwards");
	cg_buf_puts(&b,
	            "Content-Type: multipart/mixed; boundary=out\r\n\r\n"
	            "--out\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n");
	for (int i = 0; i < 40; i++)
		cg_buf_printf(&b,
		              "--out\r\nContent-Type: message/rfc822\r\n\r\n"
		              "From: x%d@example.org\r\nSubject: fwd %d\r\n"
		              "Content-Type: multipart/alternative; "
		              "boundary=\"in\"\r\n\r\n"
		              "--in\r\nContent-Type: text/plain\r\n\r\nt\r\n"
		              "--in\r\nContent-Type: text/html\r\n\r\n<p>t\r\n"
		              "--in--\r\n",
		              i, i);
	cg_buf_puts(&b, "--out--\r\n");
	size_t depth, parts;
	assert_int_equal(email_mime_shape(b.data, b.len, &depth, &parts), 1);
	assert_int_equal(depth, 3); /* out, rfc822, in */
	struct cg_msg m;
	parse_fast(&b, &m);
	assert_false(m.flags & CG_MSG_UNPARSED);
	assert_int_equal(m.natt, 40);
	assert_non_null(strstr(m.text, "See below."));
	cg_msg_free(&m);
	cg_buf_free(&b);
}

static void
test_nested_mail_to_the_bounce_address_is_no_report(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Undelivered");
	cg_buf_puts(&b, "Content-Type: multipart/report; "
	                "report-type=delivery-status; boundary=r\r\n\r\n"
	                "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
	                "Final-Recipient: rfc822; bob@example.org\r\n"
	                "Action: failed\r\nStatus: 5.1.1\r\n\r\n"
	                "--r\r\n");
	for (int i = 0; i < 30000; i++)
		cg_buf_puts(&b, "Content-Type: message/rfc822\r\n\r\n");
	char *rcpt = NULL;
	int permanent = 0;
	int64_t t0 = now_ms();
	assert_int_equal(email_dsn_parse(b.data, b.len, &rcpt, &permanent), -1);
	assert_true(now_ms() - t0 < HOSTILE_MAX_MS);
	assert_null(rcpt);
	cg_buf_free(&b);
}

static void
test_100000_references_keep_the_root_and_the_newest(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Re: long thread");
	cg_buf_puts(&b, "References:");
	for (int i = 0; i < 100000; i++)
		cg_buf_printf(&b, " <r%d@example.org>\r\n", i);
	cg_buf_puts(&b, "In-Reply-To: <r99999@example.org>\r\n\r\nhi\r\n");
	struct cg_msg m;
	parse_fast(&b, &m);
	assert_int_equal(m.nrefs, CG_MSG_MAX_REFS);
	assert_string_equal(m.refs[0], "r0@example.org");
	assert_string_equal(m.refs[1], "r99901@example.org");
	assert_string_equal(m.refs[m.nrefs - 1], "r99999@example.org");
	cg_msg_free(&m);
	cg_buf_free(&b);
}

static void
test_100000_cc_keep_the_first_thousand(void **state)
{
	(void)state;
	struct cg_buf b = CG_BUF_INIT;
	head(&b, "Everyone");
	cg_buf_puts(&b, "Cc: ");
	for (int i = 0; i < 100000; i++)
		cg_buf_printf(&b, "%su%d@example.org", i ? ",\r\n " : "", i);
	cg_buf_puts(&b, "\r\n\r\nhi\r\n");
	struct cg_msg m;
	parse_fast(&b, &m);
	assert_int_equal(m.nrcpts, CG_MSG_MAX_RCPTS);
	assert_string_equal(m.rcpts[0], "dev@lists.example.org");
	assert_string_equal(m.rcpts[1], "u0@example.org");
	cg_msg_free(&m);
	cg_buf_free(&b);
}

static void
test_add_ref_and_rcpt_dedup_and_stay_linear(void **state)
{
	(void)state;
	struct cg_msg m = {0};
	int64_t t0 = now_ms();
	for (int i = 0; i < 200000; i++) {
		char id[32];
		snprintf(id, sizeof id, "id%d@x", i % 150000);
		cg_msg_add_ref(&m, id);
		cg_msg_add_rcpt(&m, id);
	}
	cg_msg_add_rcpt(&m, "ID0@X"); /* a duplicate, ignoring case */
	assert_true(now_ms() - t0 < HOSTILE_MAX_MS);
	assert_int_equal(m.nrefs, CG_MSG_MAX_REFS);
	assert_int_equal(m.nrcpts, CG_MSG_MAX_RCPTS);
	assert_string_equal(m.rcpts[0], "id0@x");
	cg_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_30000_nested_rfc822_is_read_as_unparsed_with_its_subject),
	    cmocka_unit_test(
	        test_20000_nested_multiparts_are_read_as_unparsed_quickly),
	    cmocka_unit_test(test_2000_flat_parts_are_over_the_part_limit),
	    cmocka_unit_test(test_ordinary_nesting_is_parsed_as_usual),
	    cmocka_unit_test(
	        test_nested_mail_to_the_bounce_address_is_no_report),
	    cmocka_unit_test(
	        test_100000_references_keep_the_root_and_the_newest),
	    cmocka_unit_test(test_100000_cc_keep_the_first_thousand),
	    cmocka_unit_test(test_add_ref_and_rcpt_dedup_and_stay_linear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
