/*
 * test_xmpp_store.c: the store calls the XMPP bridge adds
 * (store/messages.c, contacts.c, bridge_state.c): a message's external id
 * on one network, a contact found by name for `!who`, the rooms' MAM
 * watermarks, and corrections
 * (XEP-0308) as the pipeline decides them (cg_gateway_correct).
 */
#include "testutil.h"

static void
test_message_extid_by_network(void **state)
{
	struct fixture *f = fixture_new();
	struct cg_msg m = mail("a1@example.org", "x@example.org",
	                       "dev@lists.example.org", "s");
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_ingest(&f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	cg_msg_free(&m);
	char *id = NULL;
	assert_int_equal(
	    cg_store_message_extid(f->gw.store, info.message_id, "xmpp", &id),
	    0);
	assert_null(id);
	assert_int_equal(cg_store_extid_add(f->gw.store, "xmpp-origin", "o1",
	                                    info.message_id),
	                 0);
	assert_int_equal(
	    cg_store_extid_add(f->gw.store, "xmpp", "sid-1", info.message_id),
	    0);
	assert_int_equal(
	    cg_store_message_extid(f->gw.store, info.message_id, "xmpp", &id),
	    0);
	assert_string_equal(id, "sid-1");
	free(id);
	assert_int_equal(
	    cg_store_message_extid(f->gw.store, info.message_id, "email", &id),
	    0);
	assert_string_equal(id, "a1@example.org");
	free(id);
	fixture_free(f);
}

static void
name_member(struct fixture *f, const char *addr, const char *name)
{
	struct cg_member_input in = {
	    .address = addr, .name = name, .source = "cli"};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
}

static void
test_contact_found_by_name_or_unique_part(void **state)
{
	struct fixture *f = fixture_new();
	name_member(f, "alice@example.org", "Alice Example");
	name_member(f, "alina@example.org", "Alina Other");
	name_member(f, "bob@example.org", "Bob 100%");
	int64_t alice =
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "alice@example.org");
	int64_t bob =
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "bob@example.org");
	assert_int_equal(tu_contact_find_name(f->gw.store, "alice example"),
	                 alice);
	assert_int_equal(tu_contact_find_name(f->gw.store, "Example"), alice);
	/* "Ali" names two people: no answer rather than a guess */
	assert_int_equal(tu_contact_find_name(f->gw.store, "Ali"), 0);
	/* LIKE wildcards in the question are literal */
	assert_int_equal(tu_contact_find_name(f->gw.store, "100%"), bob);
	assert_int_equal(tu_contact_find_name(f->gw.store, "%"), bob);
	assert_int_equal(tu_contact_find_name(f->gw.store, "_"), 0);
	assert_int_equal(tu_contact_find_name(f->gw.store, "nobody"), 0);
	fixture_free(f);
}

static void
test_watermark_distinguishes_never_read_from_empty(void **state)
{
	struct fixture *f = fixture_new();
	struct cg_store *s = f->gw.store;
	char *w = (char *)1;
	assert_int_equal(
	    cg_store_xmpp_watermark_get(s, "dev@c.example.org", &w), 0);
	assert_null(w);
	assert_int_equal(
	    cg_store_xmpp_watermark_set(s, "dev@c.example.org", ""), 0);
	assert_int_equal(
	    cg_store_xmpp_watermark_get(s, "dev@c.example.org", &w), 0);
	assert_string_equal(w, "");
	free(w);
	assert_int_equal(
	    cg_store_xmpp_watermark_set(s, "dev@c.example.org", "sid-9"), 0);
	assert_int_equal(
	    cg_store_xmpp_watermark_get(s, "dev@c.example.org", &w), 0);
	assert_string_equal(w, "sid-9");
	free(w);
	/* rooms do not share one */
	assert_int_equal(
	    cg_store_xmpp_watermark_get(s, "ops@c.example.org", &w), 0);
	assert_null(w);
	fixture_free(f);
}

/* alice (email) and bob (email and JID bob@example.org), members of dev. */
static void
two_members(struct fixture *f)
{
	fixture_member(f, "alice@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	const char *chans[1] = {"dev"};
	struct cg_member_input in = {.address = "bob@example.org",
	                             .name = "Bob",
	                             .jid = "bob@example.org",
	                             .has_layer = 1,
	                             .layer = CG_LAYER_MEMBER,
	                             .channels = chans,
	                             .nchannels = 1,
	                             .delivery = CG_DELIVERY_EACH,
	                             .source = "cli"};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
}

/* A room line of bob's in channel dev (stanza-id sid), stored. */
static int64_t
room_line(struct fixture *f, const char *sid, const char *text)
{
	struct cg_msg m = {0};
	m.network = CG_NET_XMPP;
	m.ext_id = cg_strdup(sid);
	m.channel = cg_strdup("dev");
	m.sender_addr = cg_strdup("bob@example.org");
	m.sender_name = cg_strdup("bob");
	m.text = cg_strdup(text);
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_ingest(&f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	cg_msg_free(&m);
	return info.message_id;
}

static struct cg_msg
correction(const char *sid, const char *text)
{
	struct cg_msg m = {0};
	m.network = CG_NET_XMPP;
	m.ext_id = cg_strdup(sid);
	m.channel = cg_strdup("dev");
	m.sender_addr = cg_strdup("bob@example.org");
	m.sender_name = cg_strdup("bob");
	m.text = cg_strdup(text);
	m.trimmed = cg_strdup(text);
	return m;
}

static void
test_correction_while_the_mail_waits_only_updates_the_text(void **state)
{
	struct fixture *f = fixture_new();
	two_members(f);
	int64_t id = room_line(f, "sid-1", "teh plan");
	int64_t *pending;
	size_t np, nd;
	assert_int_equal(
	    cg_store_message_rows(f->gw.store, id, "email", &pending, &np, &nd),
	    0);
	assert_int_equal(np, 1); /* alice's, waiting chat_batch */
	assert_int_equal(nd, 0);
	free(pending);
	struct cg_msg c = correction("sid-2", "the plan");
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_correct(&f->gw, id, &c, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	assert_int_equal(info.message_id, id);
	assert_int_equal(info.outbox_rows, 0);
	struct cg_stored_msg m;
	assert_int_equal(cg_store_message_get(f->gw.store, id, &m), 0);
	assert_string_equal(m.body, "the plan");
	assert_string_equal(m.trimmed, "the plan");
	cg_stored_msg_free(&m);
	/* the correction's id now leads to the line: a replay is a duplicate */
	assert_int_equal(tu_extid_find(f->gw.store, "xmpp", "sid-2"), id);
	assert_int_equal(cg_gateway_correct(&f->gw, id, &c, NULL, NULL, &info),
	                 CG_INGEST_DUPLICATE);
	cg_msg_free(&c);
	fixture_free(f);
}

static void
test_correction_after_the_mail_went_out_is_a_new_message(void **state)
{
	struct fixture *f = fixture_new();
	two_members(f);
	int64_t id = room_line(f, "sid-1", "at 5");
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 200 * 1000, 10,
	                                     &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    cg_store_outbox_done(f->gw.store, rows[0].id, "q1", cg_now()), 0);
	cg_outbox_rows_free(rows, n);
	struct cg_msg c = correction("sid-2", "at 6");
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_correct(&f->gw, id, &c, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	assert_int_not_equal(info.message_id, id);
	assert_int_equal(info.outbox_rows, 1); /* alice again */
	struct cg_stored_msg orig, m;
	assert_int_equal(cg_store_message_get(f->gw.store, id, &orig), 0);
	assert_int_equal(cg_store_message_get(f->gw.store, info.message_id, &m),
	                 0);
	assert_string_equal(orig.body, "at 6");
	assert_string_equal(m.trimmed, "(corrected) at 6");
	assert_int_equal(m.parent_id, id);
	assert_int_equal(m.thread_id, orig.thread_id);
	cg_stored_msg_free(&orig);
	cg_stored_msg_free(&m);
	cg_msg_free(&c);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_extid_by_network),
	    cmocka_unit_test(test_contact_found_by_name_or_unique_part),
	    cmocka_unit_test(
	        test_watermark_distinguishes_never_read_from_empty),
	    cmocka_unit_test(
	        test_correction_while_the_mail_waits_only_updates_the_text),
	    cmocka_unit_test(
	        test_correction_after_the_mail_went_out_is_a_new_message),
	};
	return cmocka_run_group_tests_name("xmpp_store", tests, NULL, NULL);
}
