/*
 * test_outbox.c: retry backoff, dead-lettering and done-marking, driven
 * through a scripted test bridge (the real bridges are covered by the
 * integration tests).
 */
#include "testutil.h"
#include "bridges/bridge.h"
#include "gateway/outbox.h"

struct script {
	enum cg_delivery_status status;
	int calls;
	size_t rows_seen;
};

static int
t_ready(struct cg_bridge *b)
{
	return 1;
}

static size_t
t_deliver(struct cg_bridge *b, struct cg_outbox_item *d, size_t n)
{
	struct script *s = b->impl;
	s->calls++;
	s->rows_seen += n;
	for (size_t i = 0; i < n; i++) {
		d[i].status = s->status;
		if (s->status == CG_DELIVERED)
			d[i].far_id = cg_strdup("queued-as-XYZ");
		else if (s->status != CG_INFLIGHT)
			d[i].error = cg_strdup("451 4.3.0 try later");
	}
	return n;
}

static const struct cg_bridge_ops test_ops = {
    .name = "email",
    .deliver = t_deliver,
    .ready = t_ready,
};

static int64_t
one_row(struct fixture *f)
{
	struct cg_msg m = mail("m1@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Hi");
	fixture_member(f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	f->cfg.xmpp.present = 0;
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_ingest(&f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	assert_int_equal(info.outbox_rows, 1);
	cg_msg_free(&m);
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email", cg_now_ms(),
	                                     10, &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].destination, "bob@example.org");
	int64_t id = rows[0].id;
	cg_outbox_rows_free(rows, n);
	return id;
}

static void
attach(struct fixture *f, struct cg_bridge *b, struct script *s)
{
	b->ops = &test_ops;
	b->gw = &f->gw;
	b->impl = s;
	f->gw.bridges[0] = b;
	f->gw.nbridges = 1;
}

static void
test_backoff_doubles_up_to_the_cap_with_bounded_jitter(void **state)
{
	struct cg_cfg_outbox o = {
	    .max_attempts = 10, .retry_base = 30, .retry_max = 3600};
	/* rnd = 0.5 means no jitter. */
	assert_int_equal(cg_outbox_backoff_ms(&o, 1, 0.5), 30000);
	assert_int_equal(cg_outbox_backoff_ms(&o, 2, 0.5), 60000);
	assert_int_equal(cg_outbox_backoff_ms(&o, 3, 0.5), 120000);
	assert_int_equal(cg_outbox_backoff_ms(&o, 8, 0.5), 3600000);
	assert_int_equal(cg_outbox_backoff_ms(&o, 60, 0.5), 3600000);
	assert_int_equal(cg_outbox_backoff_ms(&o, 1, 0.0), 22500);
	assert_true(cg_outbox_backoff_ms(&o, 1, 0.999999) < 37500);
	assert_true(cg_outbox_backoff_ms(&o, 1, 0.999999) >= 37499);
}

static void
test_delivered_row_is_done_with_far_id(void **state)
{
	struct fixture *f = fixture_new();
	int64_t id = one_row(f);
	struct script s = {.status = CG_DELIVERED};
	struct cg_bridge b;
	attach(f, &b, &s);
	assert_int_equal(cg_outbox_run(&f->gw), 0); /* nothing left due */
	struct cg_outbox_row row;
	enum cg_outbox_state st;
	char *far = NULL;
	assert_int_equal(cg_store_outbox_get(f->gw.store, id, &row, &st, &far),
	                 0);
	assert_int_equal(st, CG_OUT_DONE);
	assert_string_equal(far, "queued-as-XYZ");
	free(far);
	free(row.bridge);
	free(row.destination);
	free(row.last_error);
	/* A done row is never handed out again. */
	cg_outbox_run(&f->gw);
	assert_int_equal(s.calls, 1);
	fixture_free(f);
}

static void
test_temporary_failure_retries_later_then_dead_letters(void **state)
{
	struct fixture *f = fixture_new();
	int64_t id = one_row(f);
	struct script s = {.status = CG_RETRY};
	struct cg_bridge b;
	attach(f, &b, &s);
	int64_t before = cg_now_ms();
	int64_t wake = cg_outbox_run(&f->gw);
	assert_int_equal(s.calls, 1);
	assert_true(wake > 0);
	struct cg_outbox_row row;
	enum cg_outbox_state st;
	assert_int_equal(cg_store_outbox_get(f->gw.store, id, &row, &st, NULL),
	                 0);
	assert_int_equal(st, CG_OUT_PENDING);
	assert_int_equal(row.attempts, 1);
	assert_string_equal(row.last_error, "451 4.3.0 try later");
	/* The first retry waits 30 s +/- 25%. */
	assert_true(row.next_attempt_ms >= before + 22500);
	assert_true(row.next_attempt_ms <= cg_now_ms() + 37500);
	free(row.bridge);
	free(row.destination);
	free(row.last_error);

	/* Not due yet: not handed out. */
	cg_outbox_run(&f->gw);
	assert_int_equal(s.calls, 1);

	/* Make it due twice more: max_attempts = 3 ends it. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    cg_store_outbox_retry(f->gw.store, id, i + 1, 0, "x"), 0);
		cg_outbox_run(&f->gw);
	}
	assert_int_equal(s.calls, 3);
	assert_int_equal(cg_store_outbox_get(f->gw.store, id, &row, &st, NULL),
	                 0);
	assert_int_equal(st, CG_OUT_DEAD);
	assert_int_equal(row.attempts, 3);
	assert_string_equal(row.last_error, "451 4.3.0 try later");
	free(row.bridge);
	free(row.destination);
	free(row.last_error);
	struct cg_outbox_counts c;
	assert_int_equal(cg_store_outbox_counts(f->gw.store, "email", &c), 0);
	assert_int_equal(c.dead, 1);
	assert_int_equal(c.pending, 0);
	fixture_free(f);
}

static void
test_permanent_failure_dead_letters_at_once(void **state)
{
	struct fixture *f = fixture_new();
	int64_t id = one_row(f);
	struct script s = {.status = CG_FAILED};
	struct cg_bridge b;
	attach(f, &b, &s);
	cg_outbox_run(&f->gw);
	struct cg_outbox_row row;
	enum cg_outbox_state st;
	assert_int_equal(cg_store_outbox_get(f->gw.store, id, &row, &st, NULL),
	                 0);
	assert_int_equal(st, CG_OUT_DEAD);
	assert_int_equal(row.attempts, 1);
	free(row.bridge);
	free(row.destination);
	free(row.last_error);
	fixture_free(f);
}

static void
test_inflight_rows_are_not_handed_out_twice(void **state)
{
	struct fixture *f = fixture_new();
	int64_t id = one_row(f);
	struct script s = {.status = CG_INFLIGHT};
	struct cg_bridge b;
	attach(f, &b, &s);
	cg_outbox_run(&f->gw);
	cg_outbox_run(&f->gw);
	assert_int_equal(s.calls, 1);
	assert_true(cg_outbox_inflight(&f->gw, id));
	/* The bridge completes it later. */
	struct cg_outbox_row row;
	enum cg_outbox_state st;
	assert_int_equal(cg_store_outbox_get(f->gw.store, id, &row, &st, NULL),
	                 0);
	struct cg_outbox_item d = {
	    .row = &row, .status = CG_DELIVERED, .far_id = cg_strdup("Q1")};
	cg_outbox_complete(&f->gw, &d);
	assert_false(cg_outbox_inflight(&f->gw, id));
	free(row.bridge);
	free(row.destination);
	free(row.last_error);
	char *far = NULL;
	assert_int_equal(cg_store_outbox_get(f->gw.store, id, &row, &st, &far),
	                 0);
	assert_int_equal(st, CG_OUT_DONE);
	assert_string_equal(far, "Q1");
	free(far);
	free(row.bridge);
	free(row.destination);
	free(row.last_error);
	fixture_free(f);
}

static void
test_results_completed_together_are_each_recorded(void **state)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "carol@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	struct cg_msg m = mail("m2@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Hi all");
	fixture_member(f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	f->cfg.xmpp.present = 0;
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_ingest(&f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	cg_msg_free(&m);
	struct script s = {.status = CG_INFLIGHT};
	struct cg_bridge b;
	attach(f, &b, &s);
	cg_outbox_run(&f->gw);
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email", cg_now_ms(),
	                                     10, &rows, &n),
	                 0);
	assert_int_equal(n, 2);
	struct cg_outbox_item d[2] = {
	    {.row = &rows[0], .status = CG_DELIVERED, .far_id = cg_strdup("Q")},
	    {.row = &rows[1], .status = CG_FAILED, .error = cg_strdup("550")},
	};
	cg_outbox_complete_many(&f->gw, d, 2);
	for (size_t i = 0; i < 2; i++) {
		enum cg_outbox_state st;
		struct cg_outbox_row row;
		assert_false(cg_outbox_inflight(&f->gw, rows[i].id));
		assert_int_equal(cg_store_outbox_get(f->gw.store, rows[i].id,
		                                     &row, &st, NULL),
		                 0);
		assert_int_equal(st, i == 0 ? CG_OUT_DONE : CG_OUT_DEAD);
		free(row.bridge);
		free(row.destination);
		free(row.last_error);
	}
	cg_outbox_rows_free(rows, n);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_backoff_doubles_up_to_the_cap_with_bounded_jitter),
	    cmocka_unit_test(test_delivered_row_is_done_with_far_id),
	    cmocka_unit_test(
	        test_temporary_failure_retries_later_then_dead_letters),
	    cmocka_unit_test(test_permanent_failure_dead_letters_at_once),
	    cmocka_unit_test(test_inflight_rows_are_not_handed_out_twice),
	    cmocka_unit_test(test_results_completed_together_are_each_recorded),
	};
	return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
