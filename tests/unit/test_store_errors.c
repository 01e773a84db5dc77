/*
 * test_store_errors.c: a store that fails never reads as "not there".
 * Lookups answer 1 found / 0 not found / -1 error; when the duplicate
 * check cannot be made the pipeline refuses the message (the source is
 * not acknowledged, it comes again) rather than relaying it twice.
 *
 * The failures are real SQLite ones, made by its hooks: an authorizer
 * that denies reading one table (as a damaged table would fail), and a
 * progress handler that interrupts every statement (as an I/O error or
 * a database that stays busy would).  (A second connection cannot lock
 * a WAL database against readers while the store has it open.)
 */
#include <sqlite3.h>

#include "store/db.h"
#include "testutil.h"

static struct fixture *
setup(void)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "open",
	               CG_DELIVERY_EACH);
	return f;
}

/* A line said in the room of channel open: the room's stanza-id is its
 * only identity (its stored Message-ID is made fresh each time, so only
 * the lookup of the stanza-id can tell a replay). */
static enum cg_ingest_result
room_line(struct fixture *f, const char *stanza_id, struct cg_ingest_info *info)
{
	struct cg_msg m = {
	    .network = CG_NET_XMPP,
	    .channel = cg_strdup("open"),
	    .ext_id = cg_strdup(stanza_id),
	    .sender_addr = cg_strdup("carol@example.net"),
	    .sender_name = cg_strdup("carol"),
	    .text = cg_strdup("hello from the room"),
	    .received = cg_now(),
	};
	enum cg_ingest_result r =
	    cg_gateway_ingest(&f->gw, &m, NULL, NULL, info);
	cg_msg_free(&m);
	return r;
}

static struct cg_msg
post(const char *msgid)
{
	struct cg_msg m = {
	    .network = CG_NET_EMAIL,
	    .ext_id = cg_strdup(msgid),
	    .sender_addr = cg_strdup("alice@example.org"),
	    .subject = cg_strdup("Once only"),
	    .text = cg_strdup("Please read this once."),
	    .received = cg_now(),
	};
	m.rcpts = cg_calloc(1, sizeof *m.rcpts);
	m.rcpts[m.nrcpts++] = cg_strdup("dev@lists.example.org");
	return m;
}

static enum cg_ingest_result
ingest(struct fixture *f, const char *msgid, struct cg_ingest_info *info)
{
	struct cg_msg m = post(msgid);
	enum cg_ingest_result r =
	    cg_gateway_ingest(&f->gw, &m, NULL, NULL, info);
	cg_msg_free(&m);
	return r;
}

static int64_t
outbox_rows(struct fixture *f)
{
	int64_t n = 0;
	const char *bridges[] = {"email", "xmpp"};
	for (size_t i = 0; i < 2; i++) {
		struct cg_outbox_counts c;
		assert_int_equal(
		    cg_store_outbox_counts(f->gw.store, bridges[i], &c), 0);
		n += c.pending + c.done + c.dead;
	}
	return n;
}

/* Reading table extid is refused: the dedup lookup fails as it would on
 * a damaged table, while every write still works. */
static int
deny_extid_reads(void *arg, int action, const char *table, const char *col,
                 const char *db, const char *trigger)
{
	(void)arg, (void)col, (void)db, (void)trigger;
	if (action == SQLITE_READ && table && strcmp(table, "extid") == 0)
		return SQLITE_DENY;
	return SQLITE_OK;
}

static void
test_a_failing_duplicate_check_never_relays_a_line_twice(void **state)
{
	struct fixture *f = setup();
	struct cg_ingest_info info;
	assert_int_equal(room_line(f, "stanza-1", &info), CG_INGEST_STORED);
	int64_t first = info.message_id, rows = outbox_rows(f);
	assert_true(rows > 0);

	/* The line comes again (the room's archive is read after a
	 * reconnect) while the store cannot answer "seen before?". */
	sqlite3_set_authorizer(f->gw.store->db, deny_extid_reads, NULL);
	assert_int_equal(room_line(f, "stanza-1", &info), CG_INGEST_ERROR);
	sqlite3_set_authorizer(f->gw.store->db, NULL, NULL);
	assert_int_equal(outbox_rows(f), rows);

	/* Once the store answers again, the replay is a duplicate. */
	assert_int_equal(room_line(f, "stanza-1", &info), CG_INGEST_DUPLICATE);
	assert_int_equal(info.message_id, first);
	assert_int_equal(outbox_rows(f), rows);
	fixture_free(f);
}

/* Every statement of the store fails from now on. */
static int
interrupt_everything(void *arg)
{
	(void)arg;
	return 1;
}

static void
test_a_failing_database_makes_lookups_fail_not_answer_none(void **state)
{
	struct fixture *f = setup();
	struct cg_ingest_info info;
	assert_int_equal(ingest(f, "known@example.org", &info),
	                 CG_INGEST_STORED);
	int64_t rows = outbox_rows(f);
	struct cg_store *s = f->gw.store;
	sqlite3_progress_handler(s->db, 1, interrupt_everything, NULL);
	int64_t id = 42;
	assert_int_equal(
	    cg_store_extid_find(s, "email", "known@example.org", &id), -1);
	assert_int_equal(id, 0);
	assert_int_equal(
	    cg_store_contact_find(s, CG_ID_EMAIL, "alice@example.org", &id),
	    -1);
	assert_int_equal(cg_store_channel_id(s, "dev", &id), -1);
	assert_int_equal(cg_store_thread_by_token(s, "nothing", &id), -1);
	assert_int_equal(cg_store_open_chat_thread(s, 1, 0, &id), -1);
	assert_int_equal(cg_store_outbox_next_due(s, NULL, &id), -1);
	assert_int_equal(cg_store_held_count(s, 1, &id), -1);
	assert_int_equal(ingest(f, "known@example.org", &info),
	                 CG_INGEST_ERROR);
	sqlite3_progress_handler(s->db, 0, NULL, NULL);
	assert_int_equal(ingest(f, "known@example.org", &info),
	                 CG_INGEST_DUPLICATE);
	assert_int_equal(outbox_rows(f), rows);
	fixture_free(f);
}

static void
test_lookups_tell_found_from_not_found(void **state)
{
	struct fixture *f = setup();
	struct cg_store *s = f->gw.store;
	int64_t id = 42;
	assert_int_equal(cg_store_channel_id(s, "dev", &id), 1);
	assert_true(id > 0);
	assert_int_equal(cg_store_channel_id(s, "nowhere", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(cg_store_extid_find(s, "email", "no@example.org", &id),
	                 0);
	assert_int_equal(
	    cg_store_contact_find(s, CG_ID_EMAIL, "bob@example.org", &id), 1);
	assert_int_equal(cg_store_contact_find(s, CG_ID_EMAIL, NULL, &id), 0);
	assert_int_equal(cg_store_outbox_next_due(s, NULL, &id), 0);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_a_failing_duplicate_check_never_relays_a_line_twice),
	    cmocka_unit_test(
	        test_a_failing_database_makes_lookups_fail_not_answer_none),
	    cmocka_unit_test(test_lookups_tell_found_from_not_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
