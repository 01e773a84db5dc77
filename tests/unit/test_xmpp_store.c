/*
 * test_xmpp_store.c: the store calls the XMPP bridge adds
 * (store/xmpp_state.c): a message's external id on one network, and a
 * contact found by name for `!who`.
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
	int64_t alice = cg_store_contact_find(f->gw.store, CG_ID_EMAIL,
	                                      "alice@example.org");
	int64_t bob =
	    cg_store_contact_find(f->gw.store, CG_ID_EMAIL, "bob@example.org");
	assert_int_equal(
	    cg_store_contact_find_name(f->gw.store, "alice example"), alice);
	assert_int_equal(cg_store_contact_find_name(f->gw.store, "Example"),
	                 alice);
	/* "Ali" names two people: no answer rather than a guess */
	assert_int_equal(cg_store_contact_find_name(f->gw.store, "Ali"), 0);
	/* LIKE wildcards in the question are literal */
	assert_int_equal(cg_store_contact_find_name(f->gw.store, "100%"), bob);
	assert_int_equal(cg_store_contact_find_name(f->gw.store, "%"), bob);
	assert_int_equal(cg_store_contact_find_name(f->gw.store, "_"), 0);
	assert_int_equal(cg_store_contact_find_name(f->gw.store, "nobody"), 0);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_extid_by_network),
	    cmocka_unit_test(test_contact_found_by_name_or_unique_part),
	};
	return cmocka_run_group_tests_name("xmpp_store", tests, NULL, NULL);
}
