/*
 * test_crm.c: the CRM side: footer and header lines, organisation
 * inference for unknown senders, held posts (notice, release, expiry),
 * onboarding by nomination, Authentication-Results trust, vCard.
 */
#include "testutil.h"

#include <time.h>

#include "bridges/email/crm_headers.h"
#include "gateway/crm.h"
#include "gateway/onboarding.h"
#include "store/report_queries.h"

static int64_t
contact(struct fixture *f, const char *addr)
{
	int64_t id = tu_contact_find(f->gw.store, CG_ID_EMAIL, addr);
	assert_true(id != 0);
	return id;
}

static void
named_member(struct fixture *f, const char *addr, const char *name,
             const char *org, enum cg_layer layer)
{
	const char *chans[1] = {"dev"};
	struct cg_member_input in = {
	    .address = addr,
	    .name = name,
	    .org = org,
	    .has_layer = 1,
	    .layer = layer,
	    .channels = chans,
	    .nchannels = 1,
	    .delivery = CG_DELIVERY_EACH,
	    .source = "cli",
	};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
}

static void
interactions(struct fixture *f, int64_t id, int n, int64_t at)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(cg_store_interaction_add(f->gw.store, id, 0, 0,
		                                          0, "email", "in", at),
		                 0);
}

static char *
month_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char buf[16];
	strftime(buf, sizeof buf, "%Y-%m", &tm);
	return cg_strdup(buf);
}

static void
test_footer_names_org_layer_count_in_30_days_and_member_since(void **st)
{
	struct fixture *f = fixture_new();
	named_member(f, "alice@example.org", "Alice Example", "Example eG",
	             CG_LAYER_CORE);
	int64_t id = contact(f, "alice@example.org");
	int64_t now = cg_now();
	interactions(f, id, 14, now - 3600);
	interactions(f, id, 3, now - 31 * 86400); /* too old */
	assert_int_equal(cg_store_interaction_add(f->gw.store, id, 0, 0, 0,
	                                          "email", "out", now),
	                 0);
	char *footer = cg_crm_footer(f->gw.store, id, now);
	char *m = month_of(now);
	char *want = cg_asprintf("\u2014 Alice Example \u00b7 Example eG "
	                         "\u00b7 core \u00b7 14 messages in 30 days "
	                         "\u00b7 member since %s",
	                         m);
	assert_string_equal(footer, want);
	free(footer);
	free(want);
	free(m);
	assert_null(cg_crm_footer(f->gw.store, 0, now));
	assert_null(cg_crm_footer(f->gw.store, 9999, now));
	fixture_free(f);
}

static void
test_footer_of_a_guest_without_org_says_guest_since(void **st)
{
	struct fixture *f = fixture_new();
	int64_t id = cg_store_contact_auto(f->gw.store, CG_ID_EMAIL,
	                                   "eve@elsewhere.example", "Eve");
	int64_t now = cg_now();
	interactions(f, id, 1, now);
	char *footer = cg_crm_footer(f->gw.store, id, now);
	char *m = month_of(now);
	char *want = cg_asprintf("\u2014 Eve \u00b7 guest \u00b7 1 message in "
	                         "30 days \u00b7 guest since %s",
	                         m);
	assert_string_equal(footer, want);
	free(footer);
	free(want);
	free(m);
	fixture_free(f);
}

static void
test_headers_are_exactly_org_layer_since_with_rfc2047_org(void **st)
{
	struct fixture *f = fixture_new();
	named_member(f, "jo@example.org", "Jo", "Bäckerei Müller eG",
	             CG_LAYER_MEMBER);
	char **lines;
	size_t n;
	assert_int_equal(email_crm_headers(f->gw.store,
	                                   contact(f, "jo@example.org"), &lines,
	                                   &n),
	                 0);
	assert_int_equal(n, 3);
	assert_true(strncmp(lines[0], "X-Coop-Sender-Org: =?UTF-8?Q?", 29) ==
	            0);
	for (const char *p = lines[0]; *p; p++)
		assert_true((unsigned char)*p < 128);
	assert_string_equal(lines[1], "X-Coop-Sender-Layer: member");
	assert_true(strncmp(lines[2], "X-Coop-Sender-Since: ", 21) == 0);
	assert_int_equal(strlen(lines[2]), 21 + 10);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	assert_int_equal(email_crm_headers(f->gw.store, 0, &lines, &n), 0);
	assert_int_equal(n, 0);
	assert_null(lines);
	fixture_free(f);
}

static enum cg_ingest_result
ingest(struct fixture *f, struct cg_msg *m, struct cg_ingest_info *info)
{
	enum cg_ingest_result r =
	    cg_gateway_ingest(&f->gw, m, NULL, NULL, info);
	cg_msg_free(m);
	return r;
}

static char *
org_of(struct fixture *f, int64_t id)
{
	struct cg_contact c;
	assert_int_equal(cg_store_contact_get(f->gw.store, id, &c), 0);
	char *org = cg_strdup(c.org);
	cg_contact_free(&c);
	return org;
}

static void
test_unknown_sender_from_a_known_orgs_domain_is_linked_to_it(void **st)
{
	struct fixture *f = fixture_new();
	named_member(f, "alice@example.org", "Alice", "Example eG",
	             CG_LAYER_CORE);
	named_member(f, "gina@gmail.com", "Gina", "Gmail Fans eG",
	             CG_LAYER_MEMBER);
	struct cg_ingest_info info;
	struct cg_msg m = mail("c1@example.org", "carol@example.org",
	                       "open@lists.example.org", "Hi");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	char *org = org_of(f, contact(f, "carol@example.org"));
	assert_string_equal(org, "Example eG");
	free(org);
	m = mail("c2@gmail.com", "gus@gmail.com", "open@lists.example.org",
	         "Hi");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	org = org_of(f, contact(f, "gus@gmail.com"));
	assert_null(org);
	m = mail("c3@other.example", "olga@other.example",
	         "open@lists.example.org", "Hi");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	org = org_of(f, contact(f, "olga@other.example"));
	assert_null(org);
	assert_true(cg_mail_domain_is_free("GMX.de"));
	assert_false(cg_mail_domain_is_free("example.org"));
	fixture_free(f);
}

static int64_t
notices_to(struct fixture *f, const char *to, const char *from)
{
	int64_t n = -1;
	assert_int_equal(cg_store_notice_count(f->gw.store, to, from, 0, &n),
	                 0);
	return n;
}

static void
test_held_post_gets_one_notice_per_channel_per_week(void **st)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	struct cg_ingest_info info;
	struct cg_msg m = mail("h1@x.example", "eve@x.example",
	                       "dev@lists.example.org", "Question");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	assert_int_equal(info.outbox_rows, 0);
	int64_t first = info.message_id;
	m = mail("h2@x.example", "eve@x.example", "dev@lists.example.org",
	         "Again");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	assert_int_equal(
	    notices_to(f, "eve@x.example", "dev+request@lists.example.org"), 1);
	assert_int_equal(
	    tu_held_count(f->gw.store, contact(f, "eve@x.example")), 2);
	/* The notice answers the first held mail and explains nomination. */
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 1000, 10, &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	struct cg_notice no;
	assert_int_equal(
	    cg_store_notice_get(f->gw.store, rows[0].notice_id, &no), 0);
	assert_string_equal(no.to_addr, "eve@x.example");
	assert_string_equal(no.auto_submitted, "auto-replied");
	assert_string_equal(no.in_reply_to, "h1@x.example");
	assert_non_null(strstr(no.body, "nominate eve@x.example"));
	cg_notice_free(&no);
	cg_outbox_rows_free(rows, n);
	(void)first;
	/* Eight days later the next held post is answered again. */
	char *key = cg_strdup("onboarding.held-notice/dev/eve@x.example");
	assert_int_equal(
	    cg_store_kv_set_int(f->gw.store, key, cg_now() - 8 * 86400), 0);
	free(key);
	m = mail("h3@x.example", "eve@x.example", "dev@lists.example.org",
	         "Third");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	assert_int_equal(
	    notices_to(f, "eve@x.example", "dev+request@lists.example.org"), 2);
	fixture_free(f);
}

static void
test_held_posts_expire_after_seven_days(void **st)
{
	struct fixture *f = fixture_new();
	struct cg_ingest_info info;
	struct cg_msg m = mail("e1@x.example", "eve@x.example",
	                       "dev@lists.example.org", "Question");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	int64_t eve = contact(f, "eve@x.example");
	int64_t now = cg_now();
	assert_int_equal(cg_onboarding_expire_held(&f->gw, now + 86400), 0);
	assert_int_equal(tu_held_count(f->gw.store, eve), 1);
	assert_int_equal(
	    cg_onboarding_expire_held(&f->gw, now + CG_HELD_TTL + 1), 1);
	assert_int_equal(tu_held_count(f->gw.store, eve), 0);
	struct cg_stored_msg sm;
	assert_int_equal(
	    cg_store_message_get(f->gw.store, info.message_id, &sm), 0);
	assert_null(sm.body);
	cg_stored_msg_free(&sm);
	fixture_free(f);
}

static struct fixture *
nomination_fixture(void)
{
	struct fixture *f = fixture_new();
	f->cfg.nominations_required = 2;
	named_member(f, "alice@example.org", "Alice", NULL, CG_LAYER_CORE);
	named_member(f, "bob@example.org", "Bob", NULL, CG_LAYER_MEMBER);
	named_member(f, "pat@partner.example", "Pat", NULL, CG_LAYER_PARTNER);
	return f;
}

static enum cg_layer
layer_of(struct fixture *f, const char *addr)
{
	struct cg_contact c;
	assert_int_equal(
	    cg_store_contact_get(f->gw.store, contact(f, addr), &c), 0);
	enum cg_layer l = c.layer;
	cg_contact_free(&c);
	return l;
}

static int
nominate(struct fixture *f, const char *by, const char *who,
         enum cg_layer target, const char *expect_in_reply)
{
	char *reply = NULL;
	int rc = cg_onboarding_nominate(&f->gw, contact(f, by), who, target,
	                                "dev", &reply);
	assert_non_null(reply);
	if (expect_in_reply && !strstr(reply, expect_in_reply))
		fail_msg("reply \"%s\" lacks \"%s\"", reply, expect_in_reply);
	free(reply);
	return rc;
}

static void
test_two_member_nominations_promote_and_release_held_posts(void **st)
{
	struct fixture *f = nomination_fixture();
	struct cg_ingest_info info;
	struct cg_msg m = mail("n1@x.example", "eve@x.example",
	                       "dev@lists.example.org", "Hello all");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	int64_t held = info.message_id;
	assert_int_equal(nominate(f, "alice@example.org", "Eve@X.example",
	                          CG_LAYER_MEMBER, "1 of 2"),
	                 1);
	assert_int_equal(nominate(f, "alice@example.org", "eve@x.example",
	                          CG_LAYER_MEMBER, "already"),
	                 1);
	assert_int_equal(layer_of(f, "eve@x.example"), CG_LAYER_GUEST);
	assert_int_equal(nominate(f, "bob@example.org", "eve@x.example",
	                          CG_LAYER_MEMBER, "is now a member"),
	                 2);
	assert_int_equal(layer_of(f, "eve@x.example"), CG_LAYER_MEMBER);
	struct cg_stored_msg sm;
	assert_int_equal(cg_store_message_get(f->gw.store, held, &sm), 0);
	assert_false(sm.flags & CG_MSG_HELD);
	cg_stored_msg_free(&sm);
	/* Outbox rows like a fresh post: the room and the list members. */
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "xmpp",
	                                     cg_now_ms() + 1000, 10, &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].message_id, held);
	cg_outbox_rows_free(rows, n);
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 1000, 20, &rows, &n),
	                 0);
	size_t list_rows = 0;
	for (size_t i = 0; i < n; i++)
		list_rows += rows[i].message_id == held;
	assert_int_equal(list_rows, 3); /* alice, bob, pat */
	cg_outbox_rows_free(rows, n);
	/* Told: the nominee, and alice (bob got the reply). */
	assert_int_equal(
	    notices_to(f, "eve@x.example", "dev+request@lists.example.org"), 2);
	assert_int_equal(
	    notices_to(f, "alice@example.org", "dev+request@lists.example.org"),
	    1);
	assert_int_equal(
	    notices_to(f, "bob@example.org", "dev+request@lists.example.org"),
	    0);
	assert_int_equal(
	    tu_held_count(f->gw.store, contact(f, "eve@x.example")), 0);
	/* Nothing pending any more. */
	struct cg_nomination *v;
	assert_int_equal(cg_store_nominations_pending(
	                     f->gw.store, contact(f, "eve@x.example"), &v, &n),
	                 0);
	assert_int_equal(n, 0);
	cg_nominations_free(v, n);
	assert_int_equal(nominate(f, "alice@example.org", "eve@x.example",
	                          CG_LAYER_MEMBER, "already"),
	                 0);
	fixture_free(f);
}

/* Every confirmation token mailed to `to`, oldest first (*tokens: caller
 * frees each and the array). */
static size_t
confirm_tokens_to(struct fixture *f, const char *to, char ***tokens)
{
	struct cg_outbox_row *rows;
	size_t n, k = 0;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 1000, 100, &rows,
	                                     &n),
	                 0);
	*tokens = NULL;
	for (size_t i = 0; i < n; i++) {
		struct cg_notice no;
		if (rows[i].notice_id == 0 ||
		    cg_store_notice_get(f->gw.store, rows[i].notice_id, &no) !=
		        0)
			continue;
		const char *t = strstr(no.subject, "? confirm ");
		if (strcmp(no.to_addr, to) == 0 && t) {
			*tokens =
			    cg_realloc(*tokens, (k + 1) * sizeof **tokens);
			(*tokens)[k++] = cg_strdup(t + strlen("? confirm "));
		}
		cg_notice_free(&no);
	}
	cg_outbox_rows_free(rows, n);
	return k;
}

/* The token of the newest confirmation request mailed to `to`, or NULL
 * (caller frees). */
static char *
confirm_token_to(struct fixture *f, const char *to)
{
	char **tokens;
	size_t n = confirm_tokens_to(f, to, &tokens);
	char *token = n ? tokens[n - 1] : NULL;
	if (n)
		tokens[n - 1] = NULL;
	cg_strv_free(tokens, n);
	return token;
}

static int
is_held(struct fixture *f, int64_t message_id)
{
	struct cg_stored_msg sm;
	assert_int_equal(cg_store_message_get(f->gw.store, message_id, &sm), 0);
	int held = (sm.flags & CG_MSG_HELD) != 0;
	cg_stored_msg_free(&sm);
	return held;
}

/*
 * posting.sender_proof: a post in a guest's name that nothing proves is
 * held by layer like any guest post, but the promotion does not release
 * it: the guest is asked to confirm it, and it goes out only then.  Before
 * the promotion neither "!confirm" nor a token releases it.
 */
static void
test_promotion_asks_the_sender_to_confirm_an_unproven_held_post(void **st)
{
	struct fixture *f = nomination_fixture();
	f->cfg.posting.sender_proof = 1;
	struct cg_ingest_info info;
	struct cg_msg m = mail("p1@x.example", "eve@x.example",
	                       "dev@lists.example.org", "Proven");
	m.flags |= CG_MSG_SENDER_VERIFIED;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	int64_t proven = info.message_id;
	m = mail("f1@x.example", "eve@x.example", "dev@lists.example.org",
	         "Forged");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	int64_t forged = info.message_id;
	assert_non_null(strstr(info.reason, "post_layer and not verified"));
	assert_int_equal(
	    tu_held_count(f->gw.store, contact(f, "eve@x.example")), 2);
	/* held by layer: the nomination notice, no confirmation request yet,
	 * and "!confirm" finds nothing to release */
	assert_null(confirm_token_to(f, "eve@x.example"));
	char *reply = NULL;
	assert_int_equal(cg_onboarding_confirm_contact(
	                     &f->gw, contact(f, "eve@x.example"), &reply),
	                 0);
	free(reply);
	assert_true(is_held(f, forged));
	assert_int_equal(nominate(f, "alice@example.org", "eve@x.example",
	                          CG_LAYER_MEMBER, "1 of 2"),
	                 1);
	assert_int_equal(
	    nominate(f, "bob@example.org", "eve@x.example", CG_LAYER_MEMBER,
	             "1 held message released; 1 more waits for the sender's "
	             "confirmation"),
	    2);
	assert_false(is_held(f, proven));
	assert_true(is_held(f, forged));
	char *token = confirm_token_to(f, "eve@x.example");
	assert_non_null(token);
	/* an unknown token releases nothing; the mailed one does */
	assert_int_equal(cg_onboarding_confirm_token(&f->gw, "0000", &reply),
	                 0);
	assert_int_equal(cg_onboarding_confirm_token(&f->gw, token, &reply), 1);
	free(reply);
	assert_false(is_held(f, forged));
	assert_int_equal(
	    tu_held_count(f->gw.store, contact(f, "eve@x.example")), 0);
	free(token);
	fixture_free(f);
}

/*
 * A wave of unproven posts in a member's name does not turn into a wave of
 * mail to the member: three confirmation requests an hour, the other posts
 * held unasked.  Each answer releases its post and brings the request for
 * the next one; "!confirm" releases all that are left.
 */
static void
test_confirmation_requests_are_rationed_and_each_answer_asks_the_next(void **st)
{
	struct fixture *f = nomination_fixture();
	f->cfg.posting.sender_proof = 1;
	int64_t ids[10];
	for (int i = 0; i < 10; i++) {
		char mid[32];
		snprintf(mid, sizeof mid, "wave%d@x.example", i);
		struct cg_msg m =
		    mail(mid, "bob@example.org", "dev@lists.example.org",
		         "In Bob's name");
		struct cg_ingest_info info;
		assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
		assert_non_null(strstr(info.reason, "not verified"));
		ids[i] = info.message_id;
	}
	int64_t bob = contact(f, "bob@example.org");
	assert_int_equal(tu_held_count(f->gw.store, bob), 10);
	char **tokens;
	size_t n = confirm_tokens_to(f, "bob@example.org", &tokens);
	assert_int_equal(n, 3);
	/* an answer releases its post and mails the request for the fourth */
	char *reply = NULL;
	assert_int_equal(cg_onboarding_confirm_token(&f->gw, tokens[0], &reply),
	                 1);
	assert_non_null(strstr(reply, "9 more in your name wait"));
	free(reply);
	cg_strv_free(tokens, n);
	assert_false(is_held(f, ids[0]));
	assert_true(is_held(f, ids[3]));
	n = confirm_tokens_to(f, "bob@example.org", &tokens);
	assert_int_equal(n, 4);
	assert_int_equal(cg_onboarding_confirm_token(&f->gw, tokens[3], &reply),
	                 1);
	free(reply);
	cg_strv_free(tokens, n);
	assert_false(is_held(f, ids[3]));
	assert_true(is_held(f, ids[1]) && is_held(f, ids[2]));
	assert_int_equal(confirm_tokens_to(f, "bob@example.org", &tokens), 5);
	cg_strv_free(tokens, 5);
	/* "!confirm" (a proven occupant) releases the eight left, asked or not
	 */
	assert_int_equal(cg_onboarding_confirm_contact(&f->gw, bob, &reply), 8);
	free(reply);
	for (int i = 0; i < 10; i++)
		assert_false(is_held(f, ids[i]));
	assert_int_equal(tu_held_count(f->gw.store, bob), 0);
	fixture_free(f);
}

static void
test_nomination_needs_a_member_and_is_not_for_oneself(void **st)
{
	struct fixture *f = nomination_fixture();
	assert_int_equal(nominate(f, "pat@partner.example", "new@x.example",
	                          CG_LAYER_MEMBER, "Only members"),
	                 0);
	assert_int_equal(nominate(f, "bob@example.org", "bob@example.org",
	                          CG_LAYER_MEMBER, "yourself"),
	                 0);
	assert_int_equal(nominate(f, "bob@example.org", "not an address",
	                          CG_LAYER_MEMBER, "not an address"),
	                 0);
	assert_int_equal(nominate(f, "bob@example.org", "x@y.example",
	                          CG_LAYER_CORE, "partner or member"),
	                 0);
	char *reply;
	assert_int_equal(cg_onboarding_nominate(&f->gw, 0, "x@y.example",
	                                        CG_LAYER_MEMBER, NULL, &reply),
	                 0);
	free(reply);
	/* A partner's nomination does not count towards the two. */
	assert_int_equal(nominate(f, "alice@example.org", "new@x.example",
	                          CG_LAYER_PARTNER, "1 of 2"),
	                 1);
	assert_int_equal(layer_of(f, "new@x.example"), CG_LAYER_GUEST);
	/* The pending nomination shows who nominated. */
	struct cg_nomination *v;
	size_t n;
	assert_int_equal(cg_store_nominations_pending(
	                     f->gw.store, contact(f, "new@x.example"), &v, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].nominator, "Alice");
	assert_int_equal(v[0].target, CG_LAYER_PARTNER);
	cg_nominations_free(v, n);
	/* A member nomination counts for partner too. */
	assert_int_equal(nominate(f, "bob@example.org", "new@x.example",
	                          CG_LAYER_MEMBER, "1 of 2"),
	                 1);
	assert_int_equal(nominate(f, "bob@example.org", "new@x.example",
	                          CG_LAYER_PARTNER, "is now a partner"),
	                 2);
	assert_int_equal(layer_of(f, "new@x.example"), CG_LAYER_PARTNER);
	fixture_free(f);
}

static void
test_nomination_joins_the_callers_transaction(void **st)
{
	struct fixture *f = nomination_fixture();
	/* As the +request handler does: its transaction, then rolled back. */
	assert_int_equal(cg_store_begin(f->gw.store), 0);
	assert_int_equal(nominate(f, "alice@example.org", "tx@x.example",
	                          CG_LAYER_MEMBER, "1 of 2"),
	                 1);
	cg_store_rollback(f->gw.store);
	assert_int_equal(
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "tx@x.example"), 0);
	assert_int_equal(cg_store_begin(f->gw.store), 0);
	assert_int_equal(nominate(f, "alice@example.org", "tx@x.example",
	                          CG_LAYER_MEMBER, "1 of 2"),
	                 1);
	assert_int_equal(nominate(f, "bob@example.org", "tx@x.example",
	                          CG_LAYER_MEMBER, "now a member"),
	                 2);
	assert_int_equal(cg_store_commit(f->gw.store), 0);
	assert_int_equal(layer_of(f, "tx@x.example"), CG_LAYER_MEMBER);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_footer_names_org_layer_count_in_30_days_and_member_since),
	    cmocka_unit_test(
	        test_footer_of_a_guest_without_org_says_guest_since),
	    cmocka_unit_test(
	        test_headers_are_exactly_org_layer_since_with_rfc2047_org),
	    cmocka_unit_test(
	        test_unknown_sender_from_a_known_orgs_domain_is_linked_to_it),
	    cmocka_unit_test(
	        test_held_post_gets_one_notice_per_channel_per_week),
	    cmocka_unit_test(test_held_posts_expire_after_seven_days),
	    cmocka_unit_test(
	        test_two_member_nominations_promote_and_release_held_posts),
	    cmocka_unit_test(
	        test_promotion_asks_the_sender_to_confirm_an_unproven_held_post),
	    cmocka_unit_test(
	        test_confirmation_requests_are_rationed_and_each_answer_asks_the_next),
	    cmocka_unit_test(
	        test_nomination_needs_a_member_and_is_not_for_oneself),
	    cmocka_unit_test(test_nomination_joins_the_callers_transaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
