/* test_bounce.c: bounce scores, suspension and +request tokens
 * (store/bounce_state.c, bridges/email/bounce.c). */
#include "testutil.h"

#include "bridges/email/bounce.h"
#include "bridges/email/mime.h"
#include "bridges/email/verp.h"
#include "gateway/msg.h"

#define LIST "dev@lists.example.org"
#define DAY 86400

/* The token of a VERP sender: between "+bounce-" and '@'. */
static char *
token_of(const char *sender)
{
	const char *p = strstr(sender, "+bounce-");
	assert_non_null(p);
	p += 8;
	return cg_strndup(p, strcspn(p, "@"));
}

static int
check(const unsigned char *key, const char *tok, int64_t now, char **addr)
{
	const char *why = NULL;
	int r = email_verp_check(key, LIST, tok, strlen(tok), now, addr, &why);
	if (r == 0)
		assert_non_null(why);
	return r;
}

static int64_t
recipients(struct fixture *f, const char *addr)
{
	struct cg_recipient *r;
	size_t n;
	int64_t found = 0;
	int64_t ch = tu_channel_id(f->gw.store, "dev");
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
		email_bounce_at_send(&f->gw, "bob@example.org", 1,
		                     "5.1.1 gone");
	assert_true(recipients(f, "bob@example.org"));
	email_bounce_at_send(&f->gw, "bob@example.org", 1, "5.1.1 gone");
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
	email_bounce_at_send(&f->gw, "bob@example.org", 1, "5.1.1 gone");
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
	int64_t ch = tu_channel_id(s, "dev");
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

static void
test_verp_token_names_the_recipient_and_verifies(void **state)
{
	struct fixture *f = fixture_new();
	fixture_box(f);
	unsigned char key[CG_BOX_MAC_KEY_BYTES];
	cg_box_mac_key(f->gw.box, key);
	int64_t now = cg_now();
	char *sender = email_verp_sender(key, LIST, "Bob@Example.ORG", now);
	assert_non_null(strstr(sender, "-Bob=example.org@lists.example.org"));
	char *tok = token_of(sender), *addr = NULL;
	assert_int_equal(check(key, tok, now, &addr), 1);
	assert_string_equal(addr, "Bob@example.org");
	free(addr);
	/* 29 days later it still counts; after 30 days it has expired */
	assert_int_equal(check(key, tok, now + 29 * DAY, &addr), 1);
	free(addr);
	assert_int_equal(check(key, tok, now + 32 * DAY, &addr), 0);
	assert_null(addr);
	/* a quoted local part: the hex form verifies too */
	char *q = email_verp_sender(key, LIST, "\"a b\"@example.org", now);
	char *qt = token_of(q);
	assert_int_equal(check(key, qt, now, &addr), 1);
	assert_string_equal(addr, "\"a b\"@example.org");
	free(addr);
	free(q);
	free(qt);
	free(tok);
	free(sender);
	fixture_free(f);
}

static void
test_forged_or_altered_verp_tokens_do_not_verify(void **state)
{
	struct fixture *f = fixture_new();
	fixture_box(f);
	unsigned char key[CG_BOX_MAC_KEY_BYTES], other[CG_BOX_MAC_KEY_BYTES];
	cg_box_mac_key(f->gw.box, key);
	cg_box_mac_key(NULL, other); /* random: another installation */
	int64_t now = cg_now();
	char *sender = email_verp_sender(key, LIST, "bob@example.org", now);
	char *tok = token_of(sender), *addr = NULL;
	/* the old plain form, another recipient, a changed MAC or day */
	assert_int_equal(check(key, "bob=example.org", now, &addr), 0);
	char *carol = cg_strdup(tok);
	char *dash = strchr(carol, '-');
	char *swapped =
	    cg_asprintf("%.*s-carol=example.org", (int)(dash - carol), carol);
	assert_int_equal(check(key, swapped, now, &addr), 0);
	char *mac = strchr(tok, '.') + 1, was = mac[0];
	mac[0] = was == '0' ? '1' : '0';
	assert_int_equal(check(key, tok, now, &addr), 0);
	mac[0] = was;
	assert_int_equal(check(key, tok, now, &addr), 1);
	free(addr);
	tok[0] = tok[0] == '9' ? '8' : (char)(tok[0] + 1);
	assert_int_equal(check(key, tok, now, &addr), 0);
	/* another key (another gateway) does not verify ours */
	tok[0] = sender[strlen("dev+bounce-")];
	assert_int_equal(check(other, tok, now, &addr), 0);
	assert_null(addr);
	free(swapped);
	free(carol);
	free(tok);
	free(sender);
	fixture_free(f);
}

/* Postfix's XVERP=-= appends "-LOCAL=DOMAIN" to the sender's local part:
 * that token verifies by its shared MAC, for whichever recipient. */
static void
test_xverp_expansion_verifies(void **state)
{
	struct fixture *f = fixture_new();
	fixture_box(f);
	unsigned char key[CG_BOX_MAC_KEY_BYTES];
	cg_box_mac_key(f->gw.box, key);
	int64_t now = cg_now();
	char *base = email_xverp_sender(key, LIST, now);
	const char *at = strchr(base, '@');
	char *expanded =
	    cg_asprintf("%.*s-erin=example.org%s", (int)(at - base), base, at);
	char *tok = token_of(expanded), *addr = NULL;
	assert_int_equal(check(key, tok, now, &addr), 1);
	assert_string_equal(addr, "erin@example.org");
	free(addr);
	/* the shared MAC of another list does not verify here */
	const char *why;
	assert_int_equal(email_verp_check(key, "ops@lists.example.org", tok,
	                                  strlen(tok), now, &addr, &why),
	                 0);
	free(tok);
	free(expanded);
	free(base);
	fixture_free(f);
}

static char *
dsn(const char *to)
{
	return cg_asprintf(
	    "From: MAILER-DAEMON@example.org\r\nTo: %s\r\n"
	    "Subject: Undelivered\r\nMessage-ID: <d%ld@example.org>\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\n"
	    "gone\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; example.org\r\n\r\n"
	    "Final-Recipient: rfc822; bob@example.org\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\n\r\n--r--\r\n",
	    to, random());
}

static void
test_forged_bounces_do_not_count_and_real_ones_do(void **state)
{
	struct fixture *f = fixture_new();
	fixture_box(f);
	const struct cg_cfg_channel *ch = &f->cfg.channels[0];
	unsigned char key[CG_BOX_MAC_KEY_BYTES];
	cg_box_mac_key(f->gw.box, key);
	char *today = cg_asprintf("%lld.0123456789abcdef-bob=example.org",
	                          (long long)(cg_now() / DAY));
	const char *forged[] = {"bob=example.org", today,
	                        "20000.0123456789abcdef-bob=example.org"};
	for (int i = 0; i < 6; i++) {
		const char *tok = forged[i % 3];
		char *raw = dsn(tok);
		struct cg_msg m = {0};
		assert_int_equal(email_parse(raw, strlen(raw), &m, NULL), 0);
		const char *what = NULL;
		assert_int_equal(
		    email_bounce_mail(&f->gw, ch, tok, strlen(tok), &m, &what),
		    0);
		assert_non_null(strstr(what, "ignored"));
		cg_msg_free(&m);
		free(raw);
	}
	struct cg_bounce_state b;
	assert_int_equal(
	    cg_store_bounce_state(f->gw.store, "bob@example.org", cg_now(), &b),
	    0);
	assert_true(b.score == 0.0);
	cg_bounce_state_free(&b);
	free(today);
	char *sender =
	    email_verp_sender(key, ch->address, "bob@example.org", cg_now());
	char *tok = token_of(sender), *raw = dsn(sender);
	struct cg_msg m = {0};
	assert_int_equal(email_parse(raw, strlen(raw), &m, NULL), 0);
	const char *what = NULL;
	assert_int_equal(
	    email_bounce_mail(&f->gw, ch, tok, strlen(tok), &m, &what), 0);
	assert_string_equal(what, "bounce: permanent failure counted");
	assert_int_equal(
	    cg_store_bounce_state(f->gw.store, "bob@example.org", cg_now(), &b),
	    0);
	assert_true(b.score == 1.0);
	cg_bounce_state_free(&b);
	cg_msg_free(&m);
	free(raw);
	free(tok);
	free(sender);
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
	    cmocka_unit_test(test_verp_token_names_the_recipient_and_verifies),
	    cmocka_unit_test(test_forged_or_altered_verp_tokens_do_not_verify),
	    cmocka_unit_test(test_xverp_expansion_verifies),
	    cmocka_unit_test(test_forged_bounces_do_not_count_and_real_ones_do),
	};
	return cmocka_run_group_tests_name("bounce", tests, NULL, NULL);
}
