/*
 * test_smtp_plan.c: how due rows become SMTP jobs (bridges/email/
 * smtp_plan.c): how many transactions a post to many members costs with
 * and without XVERP, which room lines share one batch mail, and what a
 * sender thread does with its kept connection while idle.
 */
#include "testutil.h"

#include "bridges/email/smtp_plan.h"

/* Jobs for n recipients, every one readable unless listed in odd[]. */
static size_t
chunks(size_t n, int xverp, const size_t *odd, size_t nodd, size_t *job_of)
{
	int *readable = cg_calloc(n, sizeof *readable);
	for (size_t k = 0; k < n; k++)
		readable[k] = 1;
	for (size_t k = 0; k < nodd; k++)
		readable[odd[k]] = 0;
	size_t jobs = email_smtp_plan_chunks(readable, n, xverp, 3, job_of);
	free(readable);
	return jobs;
}

/* How many recipients job j has. */
static size_t
job_size(const size_t *job_of, size_t n, size_t j)
{
	size_t c = 0;
	for (size_t k = 0; k < n; k++)
		c += job_of[k] == j;
	return c;
}

static void
test_without_xverp_every_recipient_is_a_transaction(void **state)
{
	size_t job_of[50];
	assert_int_equal(chunks(50, 0, NULL, 0, job_of), 50);
	for (size_t k = 0; k < 50; k++)
		assert_int_equal(job_of[k], k);
}

static void
test_a_large_list_is_shared_among_the_workers(void **state)
{
	size_t *job_of = cg_calloc(1000, sizeof *job_of);
	/* 1,000 members, 3 workers: 334 + 334 + 332, in order. */
	assert_int_equal(chunks(1000, 1, NULL, 0, job_of), 3);
	assert_int_equal(job_size(job_of, 1000, 0), 334);
	assert_int_equal(job_size(job_of, 1000, 1), 334);
	assert_int_equal(job_size(job_of, 1000, 2), 332);
	assert_int_equal(job_of[333], 0);
	assert_int_equal(job_of[334], 1);
	free(job_of);
}

static void
test_no_transaction_exceeds_the_xverp_maximum(void **state)
{
	size_t *job_of = cg_calloc(5001, sizeof *job_of);
	size_t jobs = chunks(5001, 1, NULL, 0, job_of);
	assert_int_equal(jobs, 11);
	for (size_t j = 0; j < jobs; j++)
		assert_true(job_size(job_of, 5001, j) <= EMAIL_XVERP_MAX);
	assert_int_equal(job_size(job_of, 5001, 10), 1);
	free(job_of);
}

static void
test_a_small_list_is_one_transaction(void **state)
{
	size_t job_of[30];
	/* 30 / 3 workers = 10, below the minimum of 20: one job of 20 and
	 * the rest. */
	assert_int_equal(chunks(30, 1, NULL, 0, job_of), 2);
	assert_int_equal(job_size(job_of, 30, 0), EMAIL_XVERP_MIN);
	assert_int_equal(job_size(job_of, 30, 1), 10);
	assert_int_equal(chunks(7, 1, NULL, 0, job_of), 1);
}

static void
test_recipients_xverp_cannot_name_go_alone(void **state)
{
	size_t job_of[10];
	const size_t odd[] = {2, 7};
	/* The shared job is queued when it is complete (at the end here):
	 * the two hex-form recipients go first, each alone. */
	assert_int_equal(chunks(10, 1, odd, 2, job_of), 3);
	assert_int_equal(job_of[2], 0);
	assert_int_equal(job_of[7], 1);
	for (size_t k = 0; k < 10; k++)
		if (k != 2 && k != 7)
			assert_int_equal(job_of[k], 2);
}

static void
test_lines_of_one_thread_to_one_member_share_a_mail(void **state)
{
	struct email_chat_row v[] = {
	    {.thread = 1, .msg = 30, .dest = "bob@example.org"},
	    {.thread = 1, .msg = 10, .dest = "carol@example.org"},
	    {.thread = 2, .msg = 11, .dest = "bob@example.org"},
	    {.thread = 1, .msg = 20, .dest = "BOB@example.org"},
	    {.thread = 1, .msg = 25, .dest = "bob@example.org", .taken = 1},
	};
	size_t idx[5], nids;
	int64_t ids[5];
	assert_int_equal(email_smtp_plan_chat(v, 5, 0, 200, idx, ids, &nids),
	                 2);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 3);
	assert_int_equal(nids, 2);
	assert_int_equal(ids[0], 20); /* oldest first */
	assert_int_equal(ids[1], 30);
}

static void
test_a_long_chat_is_cut_into_batches(void **state)
{
	struct email_chat_row v[5];
	for (size_t j = 0; j < 5; j++)
		v[j] = (struct email_chat_row){.thread = 4,
		                               .msg = (int64_t)(50 - j),
		                               .dest = "a@b.example"};
	size_t idx[5], nids;
	int64_t ids[5];
	assert_int_equal(email_smtp_plan_chat(v, 5, 0, 3, idx, ids, &nids), 5);
	assert_int_equal(nids, 3); /* the other two wait for the next mail */
	assert_int_equal(ids[0], 48);
	assert_int_equal(ids[2], 50);
}

static void
test_a_thread_opens_its_connection_before_any_work(void **state)
{
	struct email_conn_clock c = {0};
	int64_t next;
	assert_int_equal(email_conn_next(&c, 1000, &next), EMAIL_CONN_OPEN);
}

static void
test_an_idle_connection_is_looked_at_every_five_seconds(void **state)
{
	struct email_conn_clock c = {
	    .open = 1, .opened = 1000, .used = 1000, .checked = 1000};
	int64_t next;
	assert_int_equal(email_conn_next(&c, 3000, &next), EMAIL_CONN_WAIT);
	assert_int_equal(next, 1000 + EMAIL_CONN_CHECK_MS);
	assert_int_equal(email_conn_next(&c, 6000, &next), EMAIL_CONN_CHECK);
	c.checked = 16000; /* looked at, carried nothing for 20 s: NOOP */
	assert_int_equal(email_conn_next(&c, 21000, &next), EMAIL_CONN_NOOP);
}

static void
test_a_connection_is_replaced_at_sixty_seconds_even_when_busy(void **state)
{
	struct email_conn_clock c = {
	    .open = 1, .opened = 1000, .used = 59000, .checked = 59000};
	int64_t next;
	assert_int_equal(email_conn_next(&c, 60000, &next), EMAIL_CONN_WAIT);
	assert_int_equal(next, 61000); /* not the next look at 64 s */
	assert_int_equal(email_conn_next(&c, 61000, &next), EMAIL_CONN_RENEW);
}

static void
test_a_server_that_is_down_is_not_tried_before_its_backoff(void **state)
{
	struct email_conn_clock c = {.down = 1, .down_until = 9000};
	int64_t next;
	assert_int_equal(email_conn_next(&c, 5000, &next), EMAIL_CONN_WAIT);
	assert_int_equal(next, 9000); /* no busy loop */
	assert_int_equal(email_conn_next(&c, 9000, &next), EMAIL_CONN_OPEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_without_xverp_every_recipient_is_a_transaction),
	    cmocka_unit_test(test_a_large_list_is_shared_among_the_workers),
	    cmocka_unit_test(test_no_transaction_exceeds_the_xverp_maximum),
	    cmocka_unit_test(test_a_small_list_is_one_transaction),
	    cmocka_unit_test(test_recipients_xverp_cannot_name_go_alone),
	    cmocka_unit_test(
	        test_lines_of_one_thread_to_one_member_share_a_mail),
	    cmocka_unit_test(test_a_long_chat_is_cut_into_batches),
	    cmocka_unit_test(
	        test_a_thread_opens_its_connection_before_any_work),
	    cmocka_unit_test(
	        test_an_idle_connection_is_looked_at_every_five_seconds),
	    cmocka_unit_test(
	        test_a_connection_is_replaced_at_sixty_seconds_even_when_busy),
	    cmocka_unit_test(
	        test_a_server_that_is_down_is_not_tried_before_its_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
