/* test_store.c: migrations, members and config sync in the SQLite store. */
#include "testutil.h"
#include "store/migrations.h"

static void
test_migrations_from_empty_reach_newest_version(void **state)
{
	struct fixture *f = fixture_new();
	assert_int_equal(cg_store_version(f->gw.store),
	                 cg_migrations[cg_migrations_count - 1].version);
	assert_int_equal(cg_store_integrity_check(f->gw.store), 0);
	fixture_free(f);
}

static void
test_reopening_applies_nothing_and_keeps_data(void **state)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	cg_store_close(f->gw.store);
	char *err = NULL;
	assert_int_equal(cg_store_open(f->dir, 0, &f->gw.store, &err), 0);
	assert_int_equal(cg_store_version(f->gw.store),
	                 cg_migrations[cg_migrations_count - 1].version);
	assert_int_not_equal(
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "alice@example.org"), 0);
	fixture_free(f);
}

static void
test_open_without_create_names_missing_database(void **state)
{
	struct cg_store *s = NULL;
	char *err = NULL;
	assert_int_equal(cg_store_open("/tmp/cg-no-such-dir", 0, &s, &err), -1);
	assert_null(s);
	assert_non_null(strstr(err, "/tmp/cg-no-such-dir/coopgate.db"));
	assert_non_null(strstr(err, "coopgate init"));
	free(err);
}

static void
test_store_uses_wal_and_owner_only_file(void **state)
{
	struct fixture *f = fixture_new();
	char *wal = cg_asprintf("%s/coopgate.db-wal", f->dir);
	char *db = cg_asprintf("%s/coopgate.db", f->dir);
	assert_int_equal(access(wal, F_OK), 0);
	char *cmd = cg_asprintf("test \"$(stat -c %%a '%s')\" = 600", db);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(wal);
	free(db);
	fixture_free(f);
}

static void
test_member_upsert_updates_and_subscribes(void **state)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	const char *chans[] = {"open"};
	struct cg_member_input in = {
	    .address = "bob@example.org",
	    .name = "Bob B",
	    .org = "Coop eG",
	    .jid = "bob@example.org",
	    .channels = chans,
	    .nchannels = 1,
	    .delivery = CG_DELIVERY_DIGEST,
	    .source = "cli",
	};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
	struct cg_contact c;
	assert_int_equal(cg_store_contact_get(f->gw.store, id, &c), 0);
	assert_string_equal(c.name, "Bob B");
	assert_string_equal(c.org, "Coop eG");
	assert_int_equal(c.layer, CG_LAYER_MEMBER);
	assert_int_equal(c.njids, 1);
	cg_contact_free(&c);
	assert_int_equal(
	    tu_contact_find(f->gw.store, CG_ID_JID, "BOB@example.org"), id);
	struct cg_subscription *subs;
	size_t n;
	assert_int_equal(
	    cg_store_contact_subscriptions(f->gw.store, id, &subs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(subs[0].channel, "dev");
	assert_int_equal(subs[0].delivery, CG_DELIVERY_EACH);
	assert_string_equal(subs[1].channel, "open");
	assert_int_equal(subs[1].delivery, CG_DELIVERY_DIGEST);
	cg_subscriptions_free(subs, n);
	fixture_free(f);
}

static void
test_subscribing_to_unknown_channel_fails_naming_it(void **state)
{
	struct fixture *f = fixture_new();
	const char *chans[] = {"ops"};
	struct cg_member_input in = {
	    .address = "x@example.org",
	    .channels = chans,
	    .nchannels = 1,
	    .source = "cli",
	};
	int64_t id;
	assert_int_equal(cg_store_begin(f->gw.store), 0);
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), -1);
	cg_store_rollback(f->gw.store);
	assert_non_null(strstr(cg_store_errmsg(f->gw.store), "ops"));
	fixture_free(f);
}

static void
test_config_sync_keeps_cli_members_and_drops_removed_config_ones(void **st)
{
	struct fixture *f = fixture_new();
	struct cg_config *cfg = &f->cfg;
	cfg->members = cg_calloc(1, sizeof *cfg->members);
	cfg->nmembers = 1;
	cfg->members[0].address = cg_strdup("carol@example.org");
	cfg->members[0].name = cg_strdup("Carol");
	cfg->members[0].layer = CG_LAYER_CORE;
	cfg->members[0].channels = cg_calloc(1, sizeof(char *));
	cfg->members[0].channels[0] = cg_strdup("dev");
	cfg->members[0].nchannels = 1;
	assert_int_equal(cg_sync_config(f->gw.store, cfg), 0);
	fixture_member(f, "dave@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	int64_t dev = tu_channel_id(f->gw.store, "dev");
	struct cg_recipient *r;
	size_t n;
	assert_int_equal(cg_store_channel_recipients(
	                     f->gw.store, dev, CG_DELIVERY_EACH, 0, &r, &n),
	                 0);
	assert_int_equal(n, 2);
	cg_recipients_free(r, n);

	/* Carol leaves the config: her config subscription goes, Dave's
	 * CLI subscription stays, Carol's contact stays. */
	cfg->nmembers = 0;
	assert_int_equal(cg_sync_config(f->gw.store, cfg), 0);
	cfg->nmembers = 1;
	assert_int_equal(cg_store_channel_recipients(
	                     f->gw.store, dev, CG_DELIVERY_EACH, 0, &r, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].address, "dave@example.org");
	cg_recipients_free(r, n);
	assert_int_not_equal(
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "carol@example.org"), 0);
	fixture_free(f);
}

static void
test_config_wins_for_what_it_names(void **state)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "carol@example.org", CG_LAYER_GUEST, NULL,
	               CG_DELIVERY_EACH);
	struct cg_config *cfg = &f->cfg;
	cfg->members = cg_calloc(1, sizeof *cfg->members);
	cfg->nmembers = 1;
	cfg->members[0].address = cg_strdup("carol@example.org");
	cfg->members[0].name = cg_strdup("Carol From Config");
	cfg->members[0].layer = CG_LAYER_CORE;
	assert_int_equal(cg_sync_config(f->gw.store, cfg), 0);
	int64_t id =
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "carol@example.org");
	struct cg_contact c;
	assert_int_equal(cg_store_contact_get(f->gw.store, id, &c), 0);
	assert_string_equal(c.name, "Carol From Config");
	assert_int_equal(c.layer, CG_LAYER_CORE);
	assert_string_equal(c.source, "config");
	cg_contact_free(&c);
	fixture_free(f);
}

static void
test_an_identity_belongs_to_one_contact(void **state)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "a@example.org", CG_LAYER_MEMBER, NULL,
	               CG_DELIVERY_EACH);
	struct cg_member_input in = {
	    .address = "b@example.org",
	    .jid = "a@example.org",
	    .source = "cli",
	};
	int64_t id;
	/* a@example.org as a JID is a different identity kind: allowed. */
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
	in.address = "c@example.org";
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), -1);
	assert_non_null(
	    strstr(cg_store_errmsg(f->gw.store), "already belongs"));
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrations_from_empty_reach_newest_version),
	    cmocka_unit_test(test_reopening_applies_nothing_and_keeps_data),
	    cmocka_unit_test(test_open_without_create_names_missing_database),
	    cmocka_unit_test(test_store_uses_wal_and_owner_only_file),
	    cmocka_unit_test(test_member_upsert_updates_and_subscribes),
	    cmocka_unit_test(
	        test_subscribing_to_unknown_channel_fails_naming_it),
	    cmocka_unit_test(
	        test_config_sync_keeps_cli_members_and_drops_removed_config_ones),
	    cmocka_unit_test(test_config_wins_for_what_it_names),
	    cmocka_unit_test(test_an_identity_belongs_to_one_contact),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
