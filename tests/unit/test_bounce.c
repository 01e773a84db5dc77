/* test_bounce.c: bounce scores, suspension and +request tokens
 * (store/bounce_state.c, bridges/email/bounce.c). */
#include "testutil.h"

static int64_t
recipients(struct fixture *f, const char *addr)
{
	struct cg_recipient *r;
	size_t n;
	int64_t found = 0;
	int64_t ch = cg_store_channel_id(f->gw.store, "dev");
	assert_int_equal(cg_store_channel_recipients(
	                     f->gw.store, ch, CG_DELIVERY_EACH, 0, &r, &n),
	                 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].address, addr) == 0)
			found = 1;
	cg_recipients_free(r, n);
	return found;
}

static void
test_score_counts_the_last_30_days_only(void **state)
{
	struct fixture *f = fixture_new();
	struct cg_store *s = f->gw.store;
	int64_t now = cg_now();
	const char *a = "bob@example.org";
	assert_int_equal(cg_store_bounce_add(s, a, 1, "old", now - 31 * 86400),
	                 0);
	assert_int_equal(cg_store_bounce_add(s, a, 1, "5.1.1 a", now - 86400),
	                 0);
	assert_int_equal(
	    cg_store_bounce_add(s, "Bob@Example.org", 0, "4.2.2 full", now), 0);
	struct cg_bounce_state b;
	assert_int_equal(cg_store_bounce_state(s, a, now, &b), 0);
	assert_true(b.score > 1.49 && b.score < 1.51);
	assert_int_equal(b.last, now);
	assert_string_equal(b.last_reason, "4.2.2 full");
	assert_int_equal(b.suspended, 0);
	cg_bounce_state_free(&b);
	fixture_free(f);
}

static void
test_five_permanent_bounces_suspend_and_tell_by_xmpp(void **state)
{
	struct fixture *f = fixture_new();
	struct cg_store *s = f->gw.store;
	const char *chans[1] = {"dev"};
	struct cg_member_input in = {
	    .address = "bob@example.org",
	    .jid = "bob@chat.example.org",
	    .has_layer = 1,
	    .layer = CG_LAYER_MEMBER,
	    .channels = chans,
	    .nchannels = 1,
	    .delivery = CG_DELIVERY_EACH,
	    .source = "cli",
	};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(s, &in, &id), 0);
	assert_true(recipients(f, "bob@example.org"));
	for (int i = 0; i < 4; i++)
		cg_gateway_bounce(&f->gw, "bob@example.org", 1, "5.1.1 gone");
	assert_true(recipients(f, "bob@example.org"));
	cg_gateway_bounce(&f->gw, "bob@example.org", 1, "5.1.1 gone");
	assert_false(recipients(f, "bob@example.org"));
	struct cg_bounce_state b;
	assert_int_equal(
	    cg_store_bounce_state(s, "bob@example.org", cg_now(), &b), 0);
	assert_int_not_equal(b.suspended, 0);
	cg_bounce_state_free(&b);
	/* one notice, by XMPP to the JID */
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_outbox_due(s, "xmpp", cg_now_ms() + 1000, 10, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].destination, "bob@chat.example.org");
	assert_int_not_equal(rows[0].notice_id, 0);
	cg_outbox_rows_free(rows, n);
	cg_gateway_bounce(&f->gw, "bob@example.org", 1, "5.1.1 gone");
	assert_int_equal(
	    cg_store_outbox_due(s, "xmpp", cg_now_ms() + 1000, 10, &rows, &n),
	    0);
	assert_int_equal(n, 1); /* told once */
	cg_outbox_rows_free(rows, n);
	/* a confirmed subscribe lifts it */
	assert_int_equal(cg_store_bounce_clear(s, "bob@example.org"), 0);
	assert_true(recipients(f, "bob@example.org"));
	fixture_free(f);
}

static void
test_request_tokens_work_once_and_expire(void **state)
{
	struct fixture *f = fixture_new();
	struct cg_store *s = f->gw.store;
	int64_t ch = cg_store_channel_id(s, "dev");
	int64_t now = cg_now();
	struct cg_request_token t;
	assert_int_equal(cg_store_request_token_add(s, "aaaa", ch,
	                                            "c@example.org",
	                                            "subscribe", now, now + 60),
	                 0);
	assert_int_equal(cg_store_request_token_add(s, "bbbb", ch,
	                                            "c@example.org", "digest",
	                                            now - 700000, now - 1),
	                 0);
	assert_int_equal(cg_store_request_token_take(s, "bbbb", now, &t), 0);
	assert_int_equal(cg_store_request_token_take(s, "cccc", now, &t), 0);
	assert_int_equal(cg_store_request_token_take(s, "aaaa", now, &t), 1);
	assert_int_equal(t.channel_id, ch);
	assert_string_equal(t.address, "c@example.org");
	assert_string_equal(t.action, "subscribe");
	cg_request_token_free(&t);
	assert_int_equal(cg_store_request_token_take(s, "aaaa", now, &t), 0);
	assert_int_equal(cg_store_mail_handled(s, "x@y", "dev+request@l", now),
	                 1);
	assert_int_equal(cg_store_mail_handled(s, "x@y", "dev+request@l", now),
	                 0);
	assert_int_equal(cg_store_mail_handled(s, "x@y", "dev@l", now), 1);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_score_counts_the_last_30_days_only),
	    cmocka_unit_test(
	        test_five_permanent_bounces_suspend_and_tell_by_xmpp),
	    cmocka_unit_test(test_request_tokens_work_once_and_expire),
	};
	return cmocka_run_group_tests_name("bounce", tests, NULL, NULL);
}
