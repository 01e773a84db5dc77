/*
 * test_pipeline.c: the gateway's decisions on constructed messages: dedup,
 * loop guard, routing, layers, threads, the one transaction, and where
 * attachments go (SchutzBox, quota, files shared by URL).
 */
#include "testutil.h"

static struct fixture *
setup(void)
{
	struct fixture *f = fixture_new();
	fixture_member(f, "alice@example.org", CG_LAYER_CORE, "dev",
	               CG_DELIVERY_EACH);
	fixture_member(f, "bob@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	fixture_member(f, "dora@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_DIGEST);
	fixture_member(f, "nora@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_NONE);
	return f;
}

static enum cg_ingest_result
ingest(struct fixture *f, struct cg_msg *m, struct cg_ingest_info *info)
{
	enum cg_ingest_result r =
	    cg_gateway_ingest(&f->gw, m, NULL, NULL, info);
	cg_msg_free(m);
	return r;
}

static size_t
pending(struct fixture *f, const char *bridge)
{
	struct cg_outbox_counts c;
	assert_int_equal(cg_store_outbox_counts(f->gw.store, bridge, &c), 0);
	return (size_t)c.pending;
}

static void
test_new_post_fans_out_to_each_members_but_not_sender_digest_or_none(void **s)
{
	struct fixture *f = setup();
	struct cg_msg m = mail("root@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Plan");
	struct cg_ingest_info info;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	assert_true(info.new_thread);
	assert_int_equal(info.outbox_rows, 2); /* bob by mail + the room */
	assert_int_equal(pending(f, "email"), 1);
	assert_int_equal(pending(f, "xmpp"), 1);
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email", cg_now_ms(),
	                                     10, &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].destination, "bob@example.org");
	cg_outbox_rows_free(rows, n);
	assert_int_equal(cg_store_outbox_due(f->gw.store, "xmpp", cg_now_ms(),
	                                     10, &rows, &n),
	                 0);
	assert_string_equal(rows[0].destination, "dev@conference.example.org");
	cg_outbox_rows_free(rows, n);
	fixture_free(f);
}

static void
test_same_message_id_is_stored_once(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info a, b;
	struct cg_msg m = mail("dup@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Once");
	assert_int_equal(ingest(f, &m, &a), CG_INGEST_STORED);
	m = mail("dup@example.org", "alice@example.org",
	         "dev@lists.example.org", "Once");
	assert_int_equal(ingest(f, &m, &b), CG_INGEST_DUPLICATE);
	assert_int_equal(b.message_id, a.message_id);
	assert_int_equal(pending(f, "email"), 1);
	fixture_free(f);
}

static void
test_reply_joins_thread_of_last_known_reference(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info root, reply, second;
	struct cg_msg m = mail("root@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Plan");
	ingest(f, &m, &root);
	m = mail("r1@example.org", "bob@example.org", "dev@lists.example.org",
	         "Re: Plan");
	cg_msg_add_ref(&m, "root@example.org");
	ingest(f, &m, &reply);
	assert_false(reply.new_thread);
	assert_int_equal(reply.thread_id, root.thread_id);
	assert_int_equal(reply.parent_id, root.message_id);
	/* References: root, r1, unknown: the parent is r1, the last one the
	 * store knows. */
	m = mail("r2@example.org", "alice@example.org", "dev@lists.example.org",
	         "Re: Plan");
	cg_msg_add_ref(&m, "root@example.org");
	cg_msg_add_ref(&m, "r1@example.org");
	cg_msg_add_ref(&m, "never-seen@example.org");
	ingest(f, &m, &second);
	assert_int_equal(second.thread_id, root.thread_id);
	assert_int_equal(second.parent_id, reply.message_id);
	fixture_free(f);
}

static void
test_unknown_references_start_a_new_thread_even_with_same_subject(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info a, b;
	struct cg_msg m = mail("a@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Plan");
	ingest(f, &m, &a);
	m = mail("b@example.org", "bob@example.org", "dev@lists.example.org",
	         "Re: Plan");
	cg_msg_add_ref(&m, "elsewhere@example.org");
	ingest(f, &m, &b);
	assert_true(b.new_thread);
	assert_int_not_equal(b.thread_id, a.thread_id);
	fixture_free(f);
}

static void
test_in_reply_to_our_token_message_id_finds_the_thread(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info a, b;
	struct cg_msg m = mail("a@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Plan");
	ingest(f, &m, &a);
	struct cg_thread t;
	assert_int_equal(cg_store_thread_get(f->gw.store, a.thread_id, &t), 0);
	/* e.g. a batched chat mail whose own id was never stored */
	char *ours = cg_asprintf("cg.%s.batch1@lists.example.org", t.token);
	cg_thread_free(&t);
	m = mail("b@example.org", "bob@example.org", "dev@lists.example.org",
	         "Re: Plan");
	cg_msg_add_ref(&m, ours);
	free(ours);
	ingest(f, &m, &b);
	assert_int_equal(b.thread_id, a.thread_id);
	fixture_free(f);
}

static void
test_auto_generated_loop_and_unrouted_mail_is_dropped(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info info;
	struct cg_msg m = mail("auto@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Out of office");
	m.flags |= CG_MSG_AUTO;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_DROPPED);

	m = mail("x1@example.org", "alice@example.org", "dev@lists.example.org",
	         "Looped");
	m.list_id = cg_strdup("dev.lists.example.org");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_DROPPED);

	m = mail("cg.abc.def@lists.example.org", "alice@example.org",
	         "dev@lists.example.org", "Our own");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_DROPPED);

	m = mail("x2@example.org", "alice@example.org",
	         "nochannel@lists.example.org", "Where");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_DROPPED);
	assert_non_null(strstr(info.reason, "no channel"));
	assert_int_equal(pending(f, "email") + pending(f, "xmpp"), 0);
	fixture_free(f);
}

static void
test_unknown_sender_becomes_guest_and_is_held_in_member_channel(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info info;
	struct cg_msg m = mail("g@example.org", "stranger@example.net",
	                       "dev@lists.example.org", "Hello");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	assert_int_equal(info.outbox_rows, 0);
	int64_t c =
	    tu_contact_find(f->gw.store, CG_ID_EMAIL, "stranger@example.net");
	assert_int_equal(c, info.contact_id);
	struct cg_contact ct;
	assert_int_equal(cg_store_contact_get(f->gw.store, c, &ct), 0);
	assert_int_equal(ct.layer, CG_LAYER_GUEST);
	cg_contact_free(&ct);
	struct cg_stored_msg sm;
	assert_int_equal(
	    cg_store_message_get(f->gw.store, info.message_id, &sm), 0);
	assert_true(sm.flags & CG_MSG_HELD);
	cg_stored_msg_free(&sm);
	/* In the open channel a guest may post. */
	m = mail("g2@example.org", "stranger@example.net",
	         "open@lists.example.org", "Hello");
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	assert_int_equal(info.outbox_rows, 1); /* the room; no email members */
	fixture_free(f);
}

static void
test_chat_line_waits_for_the_batch_window_and_gets_our_message_id(void **s)
{
	struct fixture *f = setup();
	const char *chans[] = {"dev"};
	struct cg_member_input in = {
	    .address = "alice@example.org",
	    .jid = "alice@example.org",
	    .channels = chans,
	    .nchannels = 1,
	    .source = "cli",
	};
	int64_t alice;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &alice), 0);
	struct cg_msg m = {0};
	m.network = CG_NET_XMPP;
	m.ext_id = cg_strdup("origin-1");
	m.channel = cg_strdup("dev");
	m.sender_addr = cg_strdup("alice@example.org");
	m.text = cg_strdup("a chat line");
	struct cg_ingest_info info;
	int64_t before = cg_now_ms();
	assert_int_equal(cg_gateway_ingest(&f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	cg_msg_free(&m);
	assert_int_equal(info.contact_id, alice);
	assert_int_equal(pending(f, "xmpp"), 0); /* never back to the room */
	struct cg_outbox_row *rows;
	size_t n;
	/* Nothing due now: the room must be quiet for chat_batch (120 s). */
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email", cg_now_ms(),
	                                     10, &rows, &n),
	                 0);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     before + 121000, 10, &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].destination, "bob@example.org");
	assert_true(rows[0].next_attempt_ms >= before + 120000);
	cg_outbox_rows_free(rows, n);
	/* The line gets a Message-ID of ours carrying the thread token, and
	 * an email reply to it finds it. */
	struct cg_stored_msg sm;
	struct cg_thread t;
	assert_int_equal(
	    cg_store_message_get(f->gw.store, info.message_id, &sm), 0);
	assert_int_equal(cg_store_thread_get(f->gw.store, sm.thread_id, &t), 0);
	char *prefix = cg_asprintf("cg.%s.", t.token);
	assert_memory_equal(sm.message_id, prefix, strlen(prefix));
	assert_true(cg_has_suffix_ci(sm.message_id, "@lists.example.org"));
	assert_int_equal(tu_extid_find(f->gw.store, "email", sm.message_id),
	                 info.message_id);
	free(prefix);
	cg_thread_free(&t);
	cg_stored_msg_free(&sm);
	fixture_free(f);
}

static struct cg_msg
room_line(const char *id, const char *text, const char *thread_key)
{
	struct cg_msg m = {0};
	m.network = CG_NET_XMPP;
	m.ext_id = cg_strdup(id);
	m.channel = cg_strdup("open");
	m.sender_addr = cg_strdup("carol@example.org");
	m.text = cg_strdup(text);
	m.thread_key = cg_strdup(thread_key);
	return m;
}

static void
test_plain_room_lines_share_the_open_chat_thread_until_quiet(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info a, b, c;
	struct cg_msg m = room_line("s1", "Anyone up for lunch today?", NULL);
	assert_int_equal(ingest(f, &m, &a), CG_INGEST_STORED);
	assert_true(a.new_thread);
	m = room_line("s2", "yes", NULL);
	ingest(f, &m, &b);
	assert_int_equal(b.thread_id, a.thread_id);
	/* The thread takes its subject from its first line. */
	struct cg_thread t;
	assert_int_equal(cg_store_thread_get(f->gw.store, a.thread_id, &t), 0);
	assert_string_equal(t.subject, "Anyone up for lunch today?");
	cg_thread_free(&t);
	/* 31 minutes of quiet close it: the next line starts a new one. */
	assert_int_equal(cg_store_thread_touch(f->gw.store, a.thread_id, 0,
	                                       cg_now() - 31 * 60),
	                 0);
	m = room_line("s3", "new topic", NULL);
	ingest(f, &m, &c);
	assert_true(c.new_thread);
	assert_int_not_equal(c.thread_id, a.thread_id);
	fixture_free(f);
}

static void
test_email_threads_are_not_the_open_chat_thread(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info a, b;
	struct cg_msg m = mail("e1@example.org", "alice@example.org",
	                       "open@lists.example.org", "By mail");
	ingest(f, &m, &a);
	m = room_line("s1", "a room line", NULL);
	ingest(f, &m, &b);
	assert_true(b.new_thread);
	assert_int_not_equal(b.thread_id, a.thread_id);
	fixture_free(f);
}

static void
test_a_client_thread_key_finds_its_thread_again(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info a, b, c;
	struct cg_msg m = room_line("s1", "first", "client-thread-1");
	ingest(f, &m, &a);
	m = room_line("s2", "other topic", "client-thread-2");
	ingest(f, &m, &b);
	assert_int_not_equal(b.thread_id, a.thread_id);
	m = room_line("s3", "back to the first", "client-thread-1");
	ingest(f, &m, &c);
	assert_int_equal(c.thread_id, a.thread_id);
	fixture_free(f);
}

static int
failing_extra(struct cg_gateway *gw, void *arg)
{
	return -1;
}

static void
test_failure_inside_the_transaction_writes_nothing(void **s)
{
	struct fixture *f = setup();
	struct cg_msg m = mail("tx@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Atomic");
	struct cg_ingest_info info;
	assert_int_equal(
	    cg_gateway_ingest(&f->gw, &m, failing_extra, NULL, &info),
	    CG_INGEST_ERROR);
	cg_msg_free(&m);
	assert_int_equal(tu_extid_find(f->gw.store, "email", "tx@example.org"),
	                 0);
	assert_int_equal(pending(f, "email") + pending(f, "xmpp"), 0);
	fixture_free(f);
}

/* ---- attachments: SchutzBox, quota, files shared by URL ---- */

/* n bytes that neither compress nor repeat, "%PDF" first. */
static unsigned char *
filler(size_t n, unsigned seed)
{
	unsigned char *p = cg_malloc(n ? n : 1);
	uint32_t x = 2463534242u ^ seed;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	if (n >= 4)
		memcpy(p, "%PDF", 4);
	return p;
}

static void
add_file(struct cg_msg *m, const char *name, size_t size, unsigned seed)
{
	m->att = cg_realloc(m->att, (m->natt + 1) * sizeof *m->att);
	m->att[m->natt++] = (struct cg_attachment){
	    .name = cg_strdup(name),
	    .type = cg_strdup("application/pdf"),
	    .data = filler(size, seed),
	    .size = size,
	};
}

/* A reply (to "root@example.org") whose room text is `trimmed`. */
static struct cg_msg
reply_trimmed_to(const char *id, const char *trimmed)
{
	struct cg_msg m =
	    mail(id, "bob@example.org", "dev@lists.example.org", "Re: Plan");
	cg_msg_add_ref(&m, "root@example.org");
	free(m.text);
	m.text = cg_strdup("> hello\n");
	m.trimmed = cg_strdup(trimmed);
	return m;
}

static void
test_a_reply_of_quotes_only_reaches_email_members_but_not_the_room(void **s)
{
	struct fixture *f = setup();
	struct cg_ingest_info root, quotes, files, text;
	struct cg_msg m = mail("root@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Plan");
	m.trimmed = cg_strdup(""); /* a thread's first post always goes */
	ingest(f, &m, &root);
	assert_int_equal(pending(f, "xmpp"), 1);
	m = reply_trimmed_to("q@example.org", " \n");
	assert_int_equal(ingest(f, &m, &quotes), CG_INGEST_STORED);
	assert_int_equal(quotes.outbox_rows, 1); /* alice by mail, no room */
	assert_int_equal(pending(f, "xmpp"), 1);
	assert_int_equal(pending(f, "email"), 2);
	m = reply_trimmed_to("f@example.org", "");
	add_file(&m, "plan.pdf", 100, 3); /* the file is news */
	assert_int_equal(ingest(f, &m, &files), CG_INGEST_STORED);
	assert_int_equal(pending(f, "xmpp"), 2);
	m = reply_trimmed_to("t@example.org", "Fine by me.");
	assert_int_equal(ingest(f, &m, &text), CG_INGEST_STORED);
	assert_int_equal(pending(f, "xmpp"), 3);
	fixture_free(f);
}

/* The plaintext of blob id, read back through the box. */
static unsigned char *
box_bytes(struct fixture *f, const char *id, size_t *len)
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	char *err = NULL;
	if (cg_box_get_fd(f->gw.box, id, fileno(tmp), &err) != 0)
		fail_msg("cg_box_get_fd: %s", err);
	off_t n = lseek(fileno(tmp), 0, SEEK_END);
	assert_true(n >= 0);
	unsigned char *p = cg_malloc((size_t)n + 1);
	assert_int_equal(pread(fileno(tmp), p, (size_t)n, 0), n);
	fclose(tmp);
	*len = (size_t)n;
	return p;
}

static void
test_mail_attachment_is_kept_encrypted_in_the_schutzbox(void **s)
{
	struct fixture *f = setup();
	fixture_box(f);
	struct cg_msg m = mail("att@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Minutes");
	add_file(&m, "minutes.pdf", 70000, 1);
	unsigned char *want = filler(70000, 1);
	struct cg_ingest_info info;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	struct cg_att_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_attachments_of(f->gw.store, info.message_id, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].state, CG_ATT_STORED);
	assert_string_equal(rows[0].name, "minutes.pdf");
	assert_int_equal(rows[0].size, 70000);
	assert_false(rows[0].has_data); /* no plaintext in the database */
	assert_non_null(rows[0].blob_id);
	assert_true(cg_box_id_valid(rows[0].blob_id));
	size_t len;
	unsigned char *got = box_bytes(f, rows[0].blob_id, &len);
	assert_int_equal(len, 70000);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
	cg_att_rows_free(rows, n);
	assert_int_equal(info.outbox_rows, 2); /* bob + the room */
	fixture_free(f);
}

static void
test_without_a_box_the_bytes_stay_in_the_row(void **s)
{
	struct fixture *f = setup();
	struct cg_msg m = mail("nobox@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Minutes");
	add_file(&m, "minutes.pdf", 1000, 2);
	struct cg_ingest_info info;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	struct cg_att_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_attachments_of(f->gw.store, info.message_id, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_true(rows[0].has_data);
	assert_null(rows[0].blob_id);
	cg_att_rows_free(rows, n);
	fixture_free(f);
}

/* The notices waiting to go out by mail. */
static size_t
notices(struct fixture *f, struct cg_notice *out, size_t max)
{
	struct cg_outbox_row *rows;
	size_t n, k = 0;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     cg_now_ms() + 1000, 100, &rows,
	                                     &n),
	                 0);
	for (size_t i = 0; i < n; i++)
		if (rows[i].notice_id && k < max)
			assert_int_equal(cg_store_notice_get(f->gw.store,
			                                     rows[i].notice_id,
			                                     &out[k++]),
			                 0);
	cg_outbox_rows_free(rows, n);
	return k;
}

static void
test_files_over_the_quota_are_refused_and_the_sender_told_once(void **s)
{
	struct fixture *f = setup();
	fixture_box(f);
	f->cfg.box_quota_mb = 1;
	struct cg_msg m = mail("quota@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Holiday");
	add_file(&m, "minutes.pdf", 100 * 1024, 3);
	add_file(&m, "video.mp4", 2 * 1024 * 1024, 4);
	add_file(&m, "photos.zip", 1536 * 1024, 5);
	struct cg_ingest_info info;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	/* The message still goes out, without the two files. */
	assert_int_equal(info.outbox_rows, 2);
	struct cg_att_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_attachments_of(f->gw.store, info.message_id, &rows, &n),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].state, CG_ATT_STORED);
	assert_non_null(rows[0].blob_id);
	for (size_t i = 1; i < 3; i++) {
		assert_int_equal(rows[i].state, CG_ATT_REFUSED);
		assert_null(rows[i].blob_id);
		assert_false(rows[i].has_data);
		assert_string_equal(rows[i].note,
		                    "over the sender's SchutzBox quota: 100 kB "
		                    "of box.quota_mb = 1 MB used");
	}
	assert_int_equal(rows[1].size, 2 * 1024 * 1024);
	cg_att_rows_free(rows, n);
	assert_int_equal(cg_store_box_usage(f->gw.store, info.contact_id),
	                 100 * 1024);
	/* ONE notice, naming both files, the quota and the usage. */
	struct cg_notice nt[4];
	assert_int_equal(notices(f, nt, 4), 1);
	assert_string_equal(nt[0].to_addr, "alice@example.org");
	assert_string_equal(nt[0].from_addr, "dev+request@lists.example.org");
	assert_string_equal(nt[0].in_reply_to, "quota@example.org");
	assert_string_equal(nt[0].auto_submitted, "auto-replied");
	assert_string_equal(nt[0].subject, "Files not passed on: Holiday");
	assert_non_null(strstr(nt[0].body, "  video.mp4 (2 MB)\n"));
	assert_non_null(strstr(nt[0].body, "  photos.zip (1.5 MB)\n"));
	assert_null(strstr(nt[0].body, "minutes.pdf"));
	assert_non_null(strstr(nt[0].body, "(box.quota_mb = 1)"));
	assert_non_null(strstr(nt[0].body, "yours holds 100 kB"));
	assert_non_null(strstr(nt[0].body, "went out to the list"));
	cg_notice_free(&nt[0]);
	fixture_free(f);
}

static void
test_a_failing_schutzbox_stores_nothing_so_the_mail_is_tried_again(void **s)
{
	struct fixture *f = setup();
	fixture_box(f);
	/* The box's directory becomes a file: every put fails. */
	char *cmd =
	    cg_asprintf("rm -rf '%s/box' && touch '%s/box'", f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	struct cg_msg m = mail("boxfail@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Minutes");
	add_file(&m, "minutes.pdf", 5000, 6);
	struct cg_ingest_info info;
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_ERROR);
	assert_int_equal(
	    tu_extid_find(f->gw.store, "email", "boxfail@example.org"), 0);
	assert_int_equal(pending(f, "email") + pending(f, "xmpp"), 0);
	fixture_free(f);
}

static void
test_a_file_shared_by_url_is_fetched_before_the_mail_goes(void **s)
{
	struct fixture *f = setup();
	fixture_box(f);
	f->cfg.channels[0].chat_batch = 10; /* dev: shorter than the fetch */
	const char *chans[] = {"dev"};
	struct cg_member_input in = {
	    .address = "alice@example.org",
	    .jid = "alice@example.org",
	    .channels = chans,
	    .nchannels = 1,
	    .source = "cli",
	};
	int64_t alice;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &alice), 0);
	struct cg_msg m = {0};
	m.network = CG_NET_XMPP;
	m.ext_id = cg_strdup("origin-url");
	m.channel = cg_strdup("dev");
	m.sender_addr = cg_strdup("alice@example.org");
	m.text = cg_strdup("https://upload.example.org/x/photo.jpg");
	m.att = cg_calloc(1, sizeof *m.att);
	m.natt = 1;
	m.att[0].name = cg_strdup("photo.jpg");
	m.att[0].type = cg_strdup("image/jpeg");
	m.att[0].url = cg_strdup("https://upload.example.org/x/photo.jpg");
	struct cg_ingest_info info;
	int64_t before = cg_now_ms();
	assert_int_equal(ingest(f, &m, &info), CG_INGEST_STORED);
	int64_t after = cg_now_ms();
	struct cg_att_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_attachments_of(f->gw.store, info.message_id, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].state, CG_ATT_FETCH);
	assert_string_equal(rows[0].url,
	                    "https://upload.example.org/x/photo.jpg");
	assert_string_equal(rows[0].name, "photo.jpg");
	assert_int_equal(rows[0].size, 0);
	assert_null(rows[0].blob_id);
	cg_att_rows_free(rows, n);
	assert_int_equal(cg_store_attachments_fetching(f->gw.store, &rows, &n),
	                 0);
	assert_int_equal(n, 1);
	cg_att_rows_free(rows, n);
	/* Not due after chat_batch (10 s), only after CG_FETCH_WAIT. */
	struct cg_outbox_row *due;
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     after + (CG_FETCH_WAIT - 1) * 1000,
	                                     10, &due, &n),
	                 0);
	assert_int_equal(n, 0);
	free(due);
	assert_int_equal(cg_store_outbox_due(f->gw.store, "email",
	                                     after + CG_FETCH_WAIT * 1000, 10,
	                                     &due, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(due[0].destination, "bob@example.org");
	assert_true(due[0].next_attempt_ms >= before + CG_FETCH_WAIT * 1000);
	cg_outbox_rows_free(due, n);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_new_post_fans_out_to_each_members_but_not_sender_digest_or_none),
	    cmocka_unit_test(test_same_message_id_is_stored_once),
	    cmocka_unit_test(test_reply_joins_thread_of_last_known_reference),
	    cmocka_unit_test(
	        test_unknown_references_start_a_new_thread_even_with_same_subject),
	    cmocka_unit_test(
	        test_in_reply_to_our_token_message_id_finds_the_thread),
	    cmocka_unit_test(
	        test_auto_generated_loop_and_unrouted_mail_is_dropped),
	    cmocka_unit_test(
	        test_unknown_sender_becomes_guest_and_is_held_in_member_channel),
	    cmocka_unit_test(
	        test_chat_line_waits_for_the_batch_window_and_gets_our_message_id),
	    cmocka_unit_test(
	        test_failure_inside_the_transaction_writes_nothing),
	    cmocka_unit_test(
	        test_plain_room_lines_share_the_open_chat_thread_until_quiet),
	    cmocka_unit_test(test_email_threads_are_not_the_open_chat_thread),
	    cmocka_unit_test(test_a_client_thread_key_finds_its_thread_again),
	    cmocka_unit_test(
	        test_mail_attachment_is_kept_encrypted_in_the_schutzbox),
	    cmocka_unit_test(test_without_a_box_the_bytes_stay_in_the_row),
	    cmocka_unit_test(
	        test_files_over_the_quota_are_refused_and_the_sender_told_once),
	    cmocka_unit_test(
	        test_a_failing_schutzbox_stores_nothing_so_the_mail_is_tried_again),
	    cmocka_unit_test(
	        test_a_file_shared_by_url_is_fetched_before_the_mail_goes),
	    cmocka_unit_test(
	        test_a_reply_of_quotes_only_reaches_email_members_but_not_the_room),
	};
	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
