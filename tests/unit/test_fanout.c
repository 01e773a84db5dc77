/*
 * test_fanout.c: batched fan-out without XVERP (bridges/email/fanout.c)
 * and the attribution of reports to shared bounce tokens
 * (bridges/email/bounce_attr.c): how many transactions a post costs,
 * when batches are used, and which reports count for whom.
 */
#include "testutil.h"

#include "bridges/email/bounce_attr.h"
#include "bridges/email/fanout.h"
#include "bridges/email/verp.h"

static size_t
job_size(const size_t *job_of, size_t n, size_t j)
{
	size_t c = 0;
	for (size_t k = 0; k < n; k++)
		c += job_of[k] == j;
	return c;
}

static void
test_a_thousand_members_go_in_ten_transactions_of_a_hundred(void **state)
{
	size_t job_of[1000];
	assert_int_equal(email_fanout_plan(1000, 100, 3, job_of), 10);
	for (size_t j = 0; j < 10; j++)
		assert_int_equal(job_size(job_of, 1000, j), 100);
	for (size_t k = 1; k < 1000; k++) /* in order */
		assert_true(job_of[k] >= job_of[k - 1]);
}

static void
test_a_lowered_limit_makes_smaller_transactions(void **state)
{
	size_t job_of[250];
	assert_int_equal(email_fanout_plan(250, 40, 3, job_of), 7);
	for (size_t j = 0; j < 7; j++)
		assert_true(job_size(job_of, 250, j) <= 40);
	assert_int_equal(email_fanout_plan(5, 0, 3, job_of), 5);
}

static void
test_a_mid_sized_list_is_shared_among_the_workers(void **state)
{
	size_t job_of[150];
	assert_int_equal(email_fanout_plan(150, 100, 3, job_of), 3);
	assert_int_equal(email_fanout_plan(30, 100, 3, job_of), 2);
	assert_int_equal(email_fanout_plan(10, 100, 3, job_of), 1);
}

static void
test_batches_only_without_xverp_or_when_asked(void **state)
{
	assert_true(email_fanout_planned(CG_VERP_XVERP, 0, 1));
	assert_true(email_fanout_planned(CG_VERP_XVERP, -1, 1));
	assert_false(email_fanout_planned(CG_VERP_XVERP, 1, 1));
	assert_true(email_fanout_planned(CG_VERP_PROBE, 1, 1));
	assert_false(email_fanout_planned(CG_VERP_ALWAYS, 0, 1));
	assert_false(email_fanout_planned(CG_VERP_XVERP, 0, 0)); /* notice */
	assert_true(email_fanout_batched(CG_VERP_XVERP, 0, 1, 1, 2));
	assert_false(email_fanout_batched(CG_VERP_XVERP, 1, 1, 1, 2));
	assert_true(email_fanout_batched(CG_VERP_XVERP, 1, 0, 1, 2));
	assert_false(email_fanout_batched(CG_VERP_XVERP, 0, 1, 1, 1));
	assert_false(email_fanout_batched(CG_VERP_ALWAYS, 0, 1, 1, 50));
	assert_true(email_fanout_batched(CG_VERP_PROBE, 1, 1, 1, 50));
}

static void
test_452_too_many_recipients_is_recognised(void **state)
{
	assert_true(email_fanout_too_many(
	    "smtp h:1: RCPT TO: 452 4.5.3 Error: too many recipients"));
	assert_true(email_fanout_too_many("452 Too many recipients"));
	assert_false(email_fanout_too_many("452 4.2.2 mailbox full"));
	assert_false(email_fanout_too_many("450 4.5.3 whatever"));
	assert_false(email_fanout_too_many(NULL));
}

static void
test_after_452_the_limit_is_what_the_server_took(void **state)
{
	struct email_fanout_answer a[20] = {0};
	size_t next;
	for (size_t i = 10; i < 20; i++)
		a[i] =
		    (struct email_fanout_answer){.refused = 1, .too_many = 1};
	assert_int_equal(email_fanout_took(a, 20, &next), 10);
	assert_int_equal(next, 10); /* the rest go in the next transaction */
	a[3].refused = 1;           /* a 5xx does not count toward the limit */
	assert_int_equal(email_fanout_took(a, 20, &next), 9);
	assert_int_equal(next, 10);
}

static void
test_without_452_every_recipient_is_answered(void **state)
{
	struct email_fanout_answer a[5] = {{.refused = 1}};
	size_t next;
	assert_int_equal(email_fanout_took(a, 5, &next), 4);
	assert_int_equal(next, 5);
}

static void
test_a_report_counts_only_for_a_recipient_of_the_returned_message(void **state)
{
	/* plain bounce address */
	assert_int_equal(email_bounce_attribute(0, "a@x.org", 1, 1),
	                 EMAIL_ATTR_COUNT);
	assert_int_equal(email_bounce_attribute(0, "a@x.org", 1, 0),
	                 EMAIL_ATTR_PROBE);
	assert_int_equal(email_bounce_attribute(0, NULL, 1, 0),
	                 EMAIL_ATTR_PROBE);
	assert_int_equal(email_bounce_attribute(0, "a@x.org", 0, 0),
	                 EMAIL_ATTR_IGNORE);
	assert_int_equal(email_bounce_attribute(0, NULL, 0, 0),
	                 EMAIL_ATTR_IGNORE);
	/* XVERP: the token names someone the message never went to */
	assert_int_equal(email_bounce_attribute(1, "a@x.org", 1, 1),
	                 EMAIL_ATTR_COUNT);
	assert_int_equal(email_bounce_attribute(1, "a@x.org", 1, 0),
	                 EMAIL_ATTR_IGNORE);
	assert_int_equal(email_bounce_attribute(1, "a@x.org", 0, 0),
	                 EMAIL_ATTR_IGNORE);
}

static const char REPORT[] =
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    " boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
    "failed\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@x.org\r\n"
    "Action: failed\r\nStatus: 5.1.1\r\n\r\n--B\r\n"
    "Content-Type: text/rfc822-headers\r\n\r\nFrom: b@x.org\r\n"
    "Message-ID: <post.1@x.org>\r\nSubject: hi\r\n\r\n--B--\r\n";

static void
test_the_returned_message_id_is_read_from_the_report(void **state)
{
	char *id = email_dsn_returned_msgid(REPORT, sizeof REPORT - 1);
	assert_string_equal(id, "post.1@x.org");
	free(id);
	assert_null(email_dsn_returned_msgid("Subject: x\r\n\r\nhi", 16));
}

static void
test_shared_and_personal_tokens_are_told_apart(void **state)
{
	unsigned char key[32] = {1, 2, 3};
	int64_t now = 1700000000;
	char *plain = email_xverp_sender(key, "dev@l.org", now);
	char *mine = email_verp_sender(key, "dev@l.org", "a@x.org", now);
	const char *t = strstr(plain, "+bounce-") + 8;
	size_t len = (size_t)(strrchr(plain, '@') - t);
	assert_true(email_bounce_plain_token(key, "dev@l.org", t, len, now));
	assert_false(email_bounce_plain_token(key, "other@l.org", t, len, now));
	assert_false(email_bounce_plain_token(key, "dev@l.org", t, len,
	                                      now + 40 * 86400));
	const char *p = strstr(mine, "+bounce-") + 8;
	size_t plen = (size_t)(strrchr(mine, '@') - p);
	assert_false(email_bounce_plain_token(key, "dev@l.org", p, plen, now));
	assert_true(
	    email_bounce_personal_token(key, "dev@l.org", p, plen, "a@x.org"));
	/* the XVERP form: the shared stamp with a recipient appended */
	char *x = cg_asprintf("%.*s-a=x.org", (int)len, t);
	assert_false(email_bounce_personal_token(key, "dev@l.org", x, strlen(x),
	                                         "a@x.org"));
	free(x);
	free(plain);
	free(mine);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_a_thousand_members_go_in_ten_transactions_of_a_hundred),
	    cmocka_unit_test(test_a_lowered_limit_makes_smaller_transactions),
	    cmocka_unit_test(test_a_mid_sized_list_is_shared_among_the_workers),
	    cmocka_unit_test(test_batches_only_without_xverp_or_when_asked),
	    cmocka_unit_test(test_452_too_many_recipients_is_recognised),
	    cmocka_unit_test(test_after_452_the_limit_is_what_the_server_took),
	    cmocka_unit_test(test_without_452_every_recipient_is_answered),
	    cmocka_unit_test(
	        test_a_report_counts_only_for_a_recipient_of_the_returned_message),
	    cmocka_unit_test(
	        test_the_returned_message_id_is_read_from_the_report),
	    cmocka_unit_test(test_shared_and_personal_tokens_are_told_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
