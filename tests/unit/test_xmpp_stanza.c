/*
 * test_xmpp_stanza.c: the XMPP bridge's stanza building and parsing
 * (bridges/xmpp/stanza.c): text made safe for XML, the room body with its
 * subject line and XEP-0428 reply quote counted in code points, and the
 * parts of a room message the bridge relies on.
 */
#include "testutil.h"
#include "bridges/xmpp/http.h"
#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static void
test_clean_text_keeps_utf8_and_drops_what_xml_forbids(void **state)
{
	char *s = xb_clean_text("a\x01"
	                        "b\tc\r\nd\re \xc3\xa4 \xff"
	                        "f");
	assert_string_equal(s, "ab\tc\nd\ne \xc3\xa4 \xef\xbf\xbd"
	                       "f");
	free(s);
	/* overlong encodings and surrogates are not UTF-8 */
	s = xb_clean_text("\xc0\xaf|\xed\xa0\x80|\xf0\x9f\x98\x80");
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf"
	                       "\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80");
	free(s);
}

static void
test_utf8_counts_code_points(void **state)
{
	const char *s = "\xc3\xa4x\xf0\x9f\x98\x80y"; /* ä x 😀 y */
	assert_int_equal(xb_utf8_count(s, strlen(s)), 4);
	assert_int_equal(xb_utf8_offset(s, 0), 0);
	assert_int_equal(xb_utf8_offset(s, 1), 2);
	assert_int_equal(xb_utf8_offset(s, 2), 3);
	assert_int_equal(xb_utf8_offset(s, 3), 7);
	assert_int_equal(xb_utf8_offset(s, 9), strlen(s));
}

static void
test_first_message_of_a_thread_carries_its_subject(void **state)
{
	struct xb_out o = {.subject = "Plans",
	                   .name = "Alice Example",
	                   .text = "\n  Friday?\n\n"};
	size_t fb;
	char *b = xb_out_body(&o, &fb);
	assert_string_equal(b, "[Plans]\nAlice Example: Friday?");
	assert_int_equal(fb, 0);
	free(b);
	o.subject = NULL;
	b = xb_out_body(&o, &fb);
	assert_string_equal(b, "Alice Example: Friday?");
	free(b);
}

static void
test_long_text_is_cut_on_a_character_boundary(void **state)
{
	size_t n = XB_MAX_TEXT + 100;
	char *text = malloc(n + 1);
	text[0] = 'x';
	for (size_t i = 1; i + 1 < n; i += 2)
		memcpy(text + i, "\xc3\xa4", 2); /* ä */
	text[n - 1] = 'y';
	text[n] = '\0';
	struct xb_out o = {.name = "A", .text = text};
	size_t fb;
	char *b = xb_out_body(&o, &fb);
	assert_true(strlen(b) < XB_MAX_TEXT + 100);
	assert_non_null(strstr(b, "\n[...] (cut here"));
	char *clean = xb_clean_text(b); /* nothing to repair: valid UTF-8 */
	assert_string_equal(clean, b);
	free(clean);
	free(b);
	free(text);
}

static void
test_reply_quote_is_counted_in_code_points(void **state)
{
	struct xb_out o = {.name = "Alice",
	                   .text = "ja",
	                   .reply_id = "sid-1",
	                   .quote_name = "J\xc3\xb6rg",
	                   .quote_text = "Gr\xc3\xbc\xc3\x9f"
	                                 "e\nsecond line"};
	size_t fb;
	char *b = xb_out_body(&o, &fb);
	assert_string_equal(b, "> J\xc3\xb6rg: Gr\xc3\xbc\xc3\x9f"
	                       "e ...\n"
	                       "Alice: ja");
	/* "> Jörg: Grüße ...\n" is 18 code points, 21 bytes */
	assert_int_equal(fb, 18);
	free(b);
}

static void
test_out_stanza_has_thread_origin_id_reply_and_fallback(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	struct xb_out o = {.room = "dev@conference.example.org",
	                   .id = "cg-7-0000abcd",
	                   .name = "A",
	                   .text = "t",
	                   .thread = "tok123",
	                   .reply_id = "sid-9",
	                   .reply_to = "dev@conference.example.org/bob",
	                   .quote_name = "bob",
	                   .quote_text = "q"};
	xmpp_stanza_t *m = xb_out_stanza(ctx, &o);
	assert_string_equal(xmpp_stanza_get_type(m), "groupchat");
	assert_string_equal(xmpp_stanza_get_id(m), "cg-7-0000abcd");
	char *t = xb_child_text(m, "body", NULL);
	assert_string_equal(t, "> bob: q\nA: t");
	free(t);
	t = xb_child_text(m, "thread", NULL);
	assert_string_equal(t, "tok123");
	free(t);
	xmpp_stanza_t *c =
	    xmpp_stanza_get_child_by_name_and_ns(m, "origin-id", NS_SID);
	assert_string_equal(xmpp_stanza_get_attribute(c, "id"),
	                    "cg-7-0000abcd");
	c = xmpp_stanza_get_child_by_name_and_ns(m, "reply", NS_REPLY);
	assert_string_equal(xmpp_stanza_get_attribute(c, "id"), "sid-9");
	assert_string_equal(xmpp_stanza_get_attribute(c, "to"),
	                    "dev@conference.example.org/bob");
	c = xmpp_stanza_get_child_by_name_and_ns(m, "fallback", NS_FALLBACK);
	assert_string_equal(xmpp_stanza_get_attribute(c, "for"), NS_REPLY);
	c = xmpp_stanza_get_child_by_name(c, "body");
	assert_string_equal(xmpp_stanza_get_attribute(c, "start"), "0");
	assert_string_equal(xmpp_stanza_get_attribute(c, "end"), "9");
	xmpp_stanza_release(m);
	xmpp_ctx_free(ctx);
}

static void
test_in_parse_trusts_only_the_rooms_stanza_id_and_strips_fallback(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	const char *xml =
	    "<message xmlns='jabber:client' type='groupchat' "
	    "from='Dev@conference.example.org/bob' id='m1'>"
	    "<body>&gt; Jörg: Grüße\nDanke!</body>"
	    "<thread>tok1</thread>"
	    "<stanza-id xmlns='urn:xmpp:sid:0' by='bob@example.org' id='fake'/>"
	    "<stanza-id xmlns='urn:xmpp:sid:0' by='dev@conference.example.org' "
	    "id='real'/>"
	    "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"
	    "<reply xmlns='urn:xmpp:reply:0' to='x' id='parent'/>"
	    "<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'>"
	    "<body start='0' end='14'/></fallback>"
	    "<delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>"
	    "</message>";
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	assert_non_null(st);
	struct xb_in in;
	xb_in_parse(st, &in);
	assert_string_equal(in.room, "dev@conference.example.org");
	assert_string_equal(in.nick, "bob");
	assert_string_equal(in.stanza_id, "real");
	assert_string_equal(in.origin_id, "o1");
	assert_string_equal(in.reply_id, "parent");
	assert_string_equal(in.thread, "tok1");
	assert_string_equal(in.body, "Danke!");
	assert_true(in.delayed);
	assert_false(in.has_subject);
	xb_in_free(&in);
	xmpp_stanza_release(st);
	xmpp_ctx_free(ctx);
}

static void
test_in_parse_reads_the_error_condition(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(
	    ctx, "<message xmlns='jabber:client' type='error' id='cg-1-x' "
	         "from='dev@conference.example.org'><error type='cancel'>"
	         "<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
	         "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text>"
	         "</error></message>");
	struct xb_in in;
	xb_in_parse(st, &in);
	assert_string_equal(in.type, "error");
	assert_string_equal(in.error_condition, "not-acceptable");
	assert_null(in.nick);
	xb_in_free(&in);
	xmpp_stanza_release(st);
	xmpp_ctx_free(ctx);
}

static void
test_in_parse_reads_a_correction_and_the_archived_sender(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	/* As Prosody archives it (whois = anyone): its own <x> comes last;
	 * an <x> the sender put in first must not be believed. */
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(
	    ctx, "<message xmlns='jabber:client' type='groupchat' "
	         "from='dev@conference.example.org/bob' id='m2' "
	         "to='gateway@example.org/r'>"
	         "<body>the fixed line</body>"
	         "<replace xmlns='urn:xmpp:message-correct:0' id='m1'/>"
	         "<x xmlns='http://jabber.org/protocol/muc#user'>"
	         "<item jid='alice@example.org/x'/></x>"
	         "<x xmlns='http://jabber.org/protocol/muc#user'>"
	         "<item affiliation='none' role='participant' "
	         "jid='Bob@Example.org/phone'/></x></message>");
	struct xb_in in;
	xb_in_parse(st, &in);
	assert_string_equal(in.replace_id, "m1");
	assert_string_equal(in.item_jid, "bob@example.org");
	assert_string_equal(in.to, "gateway@example.org/r");
	xb_in_free(&in);
	xmpp_stanza_release(st);
	xmpp_ctx_free(ctx);
}

static void
test_puppet_jid_escapes_the_address_per_xep0106(void **state)
{
	char *j = xb_puppet_bare_jid("Alice@Example.org", "gw.example.org");
	assert_string_equal(j, "alice%example.org@gw.example.org");
	free(j);
	/* characters a JID's local part may not hold */
	j = xb_puppet_bare_jid("\"o'neil&co\"/x:y<z>@example.org",
	                       "gw.example.org");
	assert_string_equal(j, "\\22o\\27neil\\26co\\22\\2fx\\3ay\\3cz\\3e"
	                       "%example.org@gw.example.org");
	free(j);
	j = xb_puppet_bare_jid("a b\\c@example.org", "gw.example.org");
	assert_string_equal(j, "a\\20b\\5cc%example.org@gw.example.org");
	free(j);
}

static void
test_puppet_nick_is_one_clean_line(void **state)
{
	char *n = xb_puppet_nick("  Alice \n\t Example ");
	assert_string_equal(n, "Alice Example");
	free(n);
	n = xb_puppet_nick(" \x01 ");
	assert_string_equal(n, "someone");
	free(n);
	/* long names are cut on a character boundary */
	char name[200];
	memset(name, 0, sizeof name);
	for (size_t i = 0; i + 2 < 150; i += 2)
		memcpy(name + i, "\xc3\xa4", 2); /* ä */
	n = xb_puppet_nick(name);
	assert_true(strlen(n) <= 64);
	assert_int_equal(strlen(n) % 2, 0);
	free(n);
}

static void
test_notice_is_one_clean_chat_message(void **state)
{
	char *b = xb_notice_body(" Mail to bob is suspended\n",
	                         "\nIt keeps\r\nbouncing.\x01\n\n");
	assert_string_equal(b,
	                    "Mail to bob is suspended\n\nIt keeps\nbouncing.");
	free(b);
	b = xb_notice_body(NULL, "only a body");
	assert_string_equal(b, "only a body");
	free(b);
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *m =
	    xb_chat_stanza(ctx, "bob@example.org", "cg-notice-9", "hi <there>");
	assert_string_equal(xmpp_stanza_get_type(m), "chat");
	assert_string_equal(xmpp_stanza_get_to(m), "bob@example.org");
	assert_string_equal(xmpp_stanza_get_id(m), "cg-notice-9");
	char *body = xb_child_text(m, "body", NULL);
	assert_string_equal(body, "hi <there>");
	free(body);
	xmpp_stanza_t *oid =
	    xmpp_stanza_get_child_by_name_and_ns(m, "origin-id", NS_SID);
	assert_non_null(oid);
	assert_string_equal(xmpp_stanza_get_attribute(oid, "id"),
	                    "cg-notice-9");
	xmpp_stanza_release(m);
	xmpp_ctx_free(ctx);
}

/* ---- files ---- */

static void
test_slot_parse_keeps_only_the_allowed_headers(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(
	    ctx, "<iq xmlns='jabber:client' type='result' id='up-1-0'>"
	         "<slot xmlns='urn:xmpp:http:upload:0'>"
	         "<put url='https://up.example.org/put/abc/a.pdf'>"
	         "<header name='Authorization'>Bearer s3cr3t</header>"
	         "<header name='X-Evil'>1</header>"
	         "<header name='Cookie'>a=b\r\nX-Injected: 1</header>"
	         "<header name='Expires'>Tue, 1 Dec 2026 00:00:00 GMT</header>"
	         "</put><get url='https://up.example.org/get/abc/a.pdf'/>"
	         "</slot></iq>");
	struct xb_slot slot;
	assert_int_equal(xb_slot_parse(st, &slot), 0);
	assert_string_equal(slot.put_url,
	                    "https://up.example.org/put/abc/a.pdf");
	assert_string_equal(slot.get_url,
	                    "https://up.example.org/get/abc/a.pdf");
	assert_string_equal(slot.headers[0], "Authorization: Bearer s3cr3t");
	assert_string_equal(slot.headers[1],
	                    "Expires: Tue, 1 Dec 2026 00:00:00 GMT");
	assert_null(slot.headers[2]); /* X-Evil and the split Cookie: gone */
	xb_slot_free(&slot);
	xmpp_stanza_release(st);
	/* a GET URL that is not https, or no put: no slot */
	st = xmpp_stanza_new_from_string(
	    ctx, "<iq xmlns='jabber:client' type='result' id='x'>"
	         "<slot xmlns='urn:xmpp:http:upload:0'>"
	         "<put url='https://up.example.org/p'/>"
	         "<get url='http://up.example.org/g'/></slot></iq>");
	assert_int_equal(xb_slot_parse(st, &slot), -1);
	xmpp_stanza_release(st);
	st = xmpp_stanza_new_from_string(
	    ctx, "<iq xmlns='jabber:client' type='result' id='x'>"
	         "<slot xmlns='urn:xmpp:http:upload:0'>"
	         "<get url='https://up.example.org/g'/></slot></iq>");
	assert_int_equal(xb_slot_parse(st, &slot), -1);
	xmpp_stanza_release(st);
	xmpp_ctx_free(ctx);
}

static void
test_slot_with_a_broken_url_is_no_slot(void **state)
{
	static const char *const urls[][2] = {
	    {"https://[x", "https://up.example.org/g/a.pdf"},
	    {"https://up.example.org/p/a.pdf", "https://[::1"},
	    {"https://u@up.example.org/p", "https://up.example.org/g/a.pdf"},
	    {"https://up.example.org/p/a.pdf", "http://up.example.org/g"},
	};
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
		char *xml = cg_asprintf(
		    "<iq type='result' id='up-1'>"
		    "<slot xmlns='urn:xmpp:http:upload:0'><put url='%s'/>"
		    "<get url='%s'/></slot></iq>",
		    urls[i][0], urls[i][1]);
		xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
		struct xb_slot slot;
		if (xb_slot_parse(st, &slot) != -1)
			fail_msg("a slot: put %s, get %s", urls[i][0],
			         urls[i][1]);
		xmpp_stanza_release(st);
		free(xml);
	}
	xmpp_ctx_free(ctx);
}

static void
test_every_stanza_id_is_unguessable(void **state)
{
	/* slot requests, archive queries, room configuration, self-pings,
	 * command answers: 128 random bits each, nothing countable */
	static const char *const prefixes[] = {"up", "mam", "cfg", "ping",
	                                       "cmd"};
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		size_t n = strlen(prefixes[i]);
		char *a = xb_new_id(prefixes[i]);
		char *b = xb_new_id(prefixes[i]);
		assert_int_equal(strlen(a), n + 1 + 32);
		assert_int_equal(strncmp(a, prefixes[i], n), 0);
		assert_int_equal(a[n], '-');
		assert_int_equal(strspn(a + n + 1, "0123456789abcdef"), 32);
		assert_string_not_equal(a, b);
		free(a);
		free(b);
	}
}

static void
test_jids_are_the_same_only_with_the_same_resource(void **state)
{
	const char *room = "dev@conference.example.org";
	assert_true(xb_jid_same(room, "Dev@Conference.Example.ORG"));
	assert_true(
	    xb_jid_same("dev@c.example.org/Nick", "DEV@c.example.org/Nick"));
	/* an occupant of the room is not the room */
	assert_false(xb_jid_same(room, "dev@conference.example.org/mallory"));
	assert_false(xb_jid_same("dev@conference.example.org/", room));
	assert_false(
	    xb_jid_same("dev@c.example.org/Nick", "dev@c.example.org/nick"));
	assert_false(xb_jid_same(room, "dev@conference.example.org.evil"));
	assert_false(xb_jid_same(room, "ev@conference.example.org"));
	assert_false(xb_jid_same(room, NULL));
	assert_false(xb_jid_same(NULL, room));
}

/* A bridge with one room whose archive query `mam-q` asks for the newest
 * id only (mam.c's seed step: it stores nothing). */
static void
seed_query_room(struct xb_bridge *xb, struct xb_room *r)
{
	memset(xb, 0, sizeof *xb);
	memset(r, 0, sizeof *r);
	r->jid = "dev@conference.example.org";
	r->state = XB_ROOM_JOINED;
	r->mam_id = cg_strdup("mam-q");
	r->mam_seed = 1;
	xb->rooms = r;
	xb->nrooms = 1;
}

static int
mam_result(xmpp_ctx_t *ctx, struct xb_bridge *xb, const char *from,
           const char *queryid)
{
	char *xml = cg_asprintf(
	    "<message from='%s' to='gw@example.org/r'>"
	    "<result xmlns='urn:xmpp:mam:2' queryid='%s' id='forged-1'>"
	    "<forwarded xmlns='urn:xmpp:forward:0'>"
	    "<message type='groupchat' from='dev@conference.example.org/alice'>"
	    "<body>hi</body></message></forwarded></result></message>",
	    from, queryid);
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	assert_non_null(st);
	int rc = xb_mam_on_message(xb, st);
	xmpp_stanza_release(st);
	free(xml);
	return rc;
}

static void
test_only_the_room_itself_answers_for_its_archive(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	struct xb_bridge xb;
	struct xb_room r;
	seed_query_room(&xb, &r);
	/* an occupant's private message through the room (ROOM/NICK),
	 * another entity, nobody, the wrong query: not taken */
	static const char *const forgers[] = {
	    "dev@conference.example.org/mallory",
	    "mallory@example.org/x",
	    "conference.example.org",
	};
	for (size_t i = 0; i < sizeof forgers / sizeof *forgers; i++) {
		assert_int_equal(mam_result(ctx, &xb, forgers[i], "mam-q"), 1);
		if (r.mam_newest)
			fail_msg("took an archive result from %s", forgers[i]);
	}
	assert_int_equal(
	    mam_result(ctx, &xb, "dev@conference.example.org", "mam-x"), 1);
	assert_null(r.mam_newest);
	/* the room's own answer is taken */
	assert_int_equal(
	    mam_result(ctx, &xb, "dev@conference.example.org", "mam-q"), 1);
	assert_non_null(r.mam_newest);
	assert_string_equal(r.mam_newest, "forged-1");
	r.jid = NULL; /* not ours to free */
	xb_mam_reset(&r);
	xmpp_ctx_free(ctx);
}

/* A message error for our stanza id, as it reaches the bridge. */
static void
message_error(xmpp_ctx_t *ctx, struct xb_bridge *xb, const char *from,
              const char *id)
{
	char *from_attr =
	    from ? cg_asprintf(" from='%s'", from) : cg_strdup("");
	char *xml = cg_asprintf(
	    "<message xmlns='jabber:client' type='error' id='%s'%s "
	    "to='gateway@example.org/r'><error type='auth'>"
	    "<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
	    "</error></message>",
	    id, from_attr);
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	assert_non_null(st);
	assert_int_equal(xb_inbound_on_message(NULL, st, xb), 1);
	xmpp_stanza_release(st);
	free(xml);
	free(from_attr);
}

/* The outbox row of the dev room (a post by alice), in flight on xb. */
static void
room_row_in_flight(struct fixture *f, struct xb_bridge *xb, struct xb_room *r)
{
	fixture_member(f, "alice@example.org", CG_LAYER_MEMBER, "dev",
	               CG_DELIVERY_EACH);
	struct cg_msg m = mail("e1@example.org", "alice@example.org",
	                       "dev@lists.example.org", "Plans");
	struct cg_ingest_info info;
	assert_int_equal(cg_gateway_ingest(&f->gw, &m, NULL, NULL, &info),
	                 CG_INGEST_STORED);
	cg_msg_free(&m);
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_outbox_due(f->gw.store, "xmpp", INT64_MAX, 10, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	memset(xb, 0, sizeof *xb);
	memset(r, 0, sizeof *r);
	r->jid = "dev@conference.example.org";
	r->state = XB_ROOM_JOINED;
	xb->rooms = r;
	xb->nrooms = 1;
	xb->gw = &f->gw;
	xb->pend = cg_calloc(1, sizeof *xb->pend);
	xb->npend = 1;
	struct xb_pending *p = &xb->pend[0];
	p->row = rows[0];
	rows[0].bridge = rows[0].destination = rows[0].last_error = NULL;
	p->origin_id = cg_asprintf("cg-%lld-0badcafe", (long long)p->row.id);
	assert_string_equal(p->row.destination, "dev@conference.example.org");
	cg_outbox_rows_free(rows, n);
}

/*
 * Our stanza ids can be guessed (cg-ROW-HASH): a message error counts only
 * from the row's destination, the room's bare JID.  Anyone else (an
 * occupant speaking as ROOM/NICK, another entity, the MUC service, a look-
 * alike domain, nobody) changes nothing: no retry, no rejoin.
 */
static void
test_message_error_counts_only_from_the_rows_room(void **state)
{
	struct fixture *f = fixture_new();
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	struct xb_bridge xb;
	struct xb_room r;
	room_row_in_flight(f, &xb, &r);
	char *id = cg_strdup(xb.pend[0].origin_id);
	static const char *const forgers[] = {
	    "mallory@example.org/x",
	    "mallory@example.org",
	    "dev@conference.example.org/mallory",
	    "conference.example.org",
	    "dev@conference.example.org.evil",
	    "ev@conference.example.org",
	    "dev@example.org",
	    NULL,
	};
	for (size_t i = 0; i < sizeof forgers / sizeof *forgers; i++) {
		message_error(ctx, &xb, forgers[i], id);
		if (xb.npend != 1 || r.state != XB_ROOM_JOINED)
			fail_msg("acted on an error from %s",
			         forgers[i] ? forgers[i] : "(nobody)");
	}
	struct cg_outbox_row *rows;
	size_t n;
	assert_int_equal(
	    cg_store_outbox_due(f->gw.store, "xmpp", INT64_MAX, 10, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].attempts, 0);
	cg_outbox_rows_free(rows, n);
	/* the room itself (its domain in any case): retried, rejoined */
	message_error(ctx, &xb, "dev@Conference.Example.ORG", id);
	assert_int_equal(xb.npend, 0);
	assert_int_equal(r.state, XB_ROOM_OUT);
	assert_int_equal(
	    cg_store_outbox_due(f->gw.store, "xmpp", INT64_MAX, 10, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].attempts, 1);
	assert_non_null(strstr(rows[0].last_error, "forbidden"));
	cg_outbox_rows_free(rows, n);
	free(id);
	free(xb.pend);
	free(r.error);
	xmpp_ctx_free(ctx);
	fixture_free(f);
}

static int
answer_from(xmpp_ctx_t *ctx, const char *xml, const char *service)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	assert_non_null(st);
	int ok = xb_iq_answer_from(st, service);
	xmpp_stanza_release(st);
	return ok;
}

static void
test_only_the_upload_service_answers_a_slot_request(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	const char *svc = "upload.example.org";
	assert_true(answer_from(ctx,
	                        "<iq type='result' id='up-1' "
	                        "from='upload.example.org'/>",
	                        svc));
	assert_true(answer_from(ctx,
	                        "<iq type='error' id='up-1' "
	                        "from='Upload.Example.ORG'/>",
	                        svc));
	/* anyone else, a resource of it, nobody, or no iq answer */
	static const char *const spoofed[] = {
	    "<iq type='result' id='up-1' from='mallory@example.org/x'/>",
	    "<iq type='result' id='up-1' from='example.org'/>",
	    "<iq type='result' id='up-1' from='upload.example.org/r'/>",
	    "<iq type='result' id='up-1' from='x.upload.example.org'/>",
	    "<iq type='result' id='up-1'/>",
	    "<iq type='set' id='up-1' from='upload.example.org'/>",
	    "<message type='result' id='up-1' from='upload.example.org'/>",
	};
	for (size_t i = 0; i < sizeof spoofed / sizeof *spoofed; i++)
		if (answer_from(ctx, spoofed[i], svc))
			fail_msg("accepted: %s", spoofed[i]);
	assert_false(
	    answer_from(ctx, "<iq type='result' id='up-1' from='a'/>", NULL));
	xmpp_ctx_free(ctx);
}

static void
test_slot_request_names_one_clean_file(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *iq =
	    xb_slot_request(ctx, "upload.example.org", "i1", "../etc/pass\nwd",
	                    1234, "application/pdf");
	xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(
	    iq, "request", "urn:xmpp:http:upload:0");
	assert_non_null(r);
	assert_string_equal(xmpp_stanza_get_attribute(r, "filename"),
	                    ".._etc_pass_wd");
	assert_string_equal(xmpp_stanza_get_attribute(r, "size"), "1234");
	assert_string_equal(xmpp_stanza_get_attribute(r, "content-type"),
	                    "application/pdf");
	assert_string_equal(xmpp_stanza_get_to(iq), "upload.example.org");
	xmpp_stanza_release(iq);
	xmpp_ctx_free(ctx);
}

static void
test_file_stanza_is_the_url_with_oob(void **state)
{
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *m =
	    xb_file_stanza(ctx, "dev@conference.example.org", "cg-1-ab-f0",
	                   "https://up.example.org/g/a.pdf", "a.pdf", "tok");
	char *body = xb_child_text(m, "body", NULL);
	assert_string_equal(body, "https://up.example.org/g/a.pdf");
	free(body);
	struct xb_in in;
	xmpp_stanza_set_from(m, "dev@conference.example.org/gateway");
	xb_in_parse(m, &in);
	assert_string_equal(in.oob_url, "https://up.example.org/g/a.pdf");
	assert_string_equal(in.origin_id, "cg-1-ab-f0");
	assert_string_equal(in.thread, "tok");
	xb_in_free(&in);
	xmpp_stanza_release(m);
	xmpp_ctx_free(ctx);
}

static void
test_url_origin_host_and_file_name(void **state)
{
	char *s;
	s = xb_url_origin("https://Up.Example.org/file_share/x/a.pdf");
	assert_string_equal(s, "https://up.example.org:443");
	free(s);
	s = xb_url_origin("http://127.0.0.1:5280/x");
	assert_string_equal(s, "http://127.0.0.1:5280");
	free(s);
	s = xb_url_origin("https://[::1]:8443/x");
	assert_string_equal(s, "https://[::1]:8443");
	free(s);
	s = xb_url_host("https://[::1]:8443/x");
	assert_string_equal(s, "::1");
	free(s);
	assert_null(xb_url_origin("https://user@evil.example/x"));
	assert_null(xb_url_origin("ftp://example.org/x"));
	assert_null(xb_url_origin("https:///x"));
	s = xb_url_filename("https://h.example/share/uuid/Gr%C3%BC%C3%9Fe%20"
	                    "2026.pdf?token=1#frag");
	assert_string_equal(s, "Grüße 2026.pdf");
	free(s);
	s = xb_url_filename("https://h.example/a/..%2F..%2Fetc%2Fpasswd");
	assert_string_equal(s, ".._.._etc_passwd");
	free(s);
	assert_null(xb_url_filename("https://h.example/"));
	assert_null(xb_url_filename("https://h.example"));
	assert_null(xb_url_filename("https://h.example/dir/"));
	s = xb_url_filename("https://h.example/x%2");
	assert_string_equal(s, "x%2");
	free(s);
}

static void
test_malformed_authorities_are_not_urls(void **state)
{
	/* issue 10 item 1: "https://[x" once crashed the daemon */
	static const char *const bad[] = {
	    "https://[x",      "https://[::1",     "https://[",
	    "https://[]",      "https://[]:443/",  "https://[::1]x/",
	    "https://[::1]:/", "https://[::1]:0/", "https://[::1]:65536",
	    "https://x]:80/",  "https://a[b/",     "https://:443/",
	    "https://h:/",     "https://h:12x/",   "https://h:123456/",
	    "https://u@h/",    "https://h:1@e/",   "https://[fe80::1%25e]/",
	    "https://h\\e/",   "https://h!/",      "http://",
	    "https://?x",      "https://#",        "https://[:::::]]:1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *o = xb_url_origin(bad[i]);
		char *h = xb_url_host(bad[i]);
		if (o || h)
			fail_msg("%s: origin %s, host %s", bad[i], o ? o : "-",
			         h ? h : "-");
		assert_null(xb_body_url(bad[i]));
		free(xb_url_filename(bad[i])); /* any answer, no crash */
	}
	char *s = xb_url_origin("https://H.example:0443/a");
	assert_string_equal(s, "https://h.example:443");
	free(s);
	s = xb_url_host("http://[::FFFF:10.0.0.1]/");
	assert_string_equal(s, "::ffff:10.0.0.1");
	free(s);
}

/* Every URL of up to 5 bytes from an alphabet of delimiters after the
 * scheme: no crash (ASan watches), and a host exactly when an origin. */
static void
test_url_helpers_agree_on_every_short_authority(void **state)
{
	static const char alphabet[] = "[]:@/?#1a.%";
	const size_t k = sizeof alphabet - 1;
	char url[16];
	for (size_t len = 0; len <= 5; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= k;
		for (size_t n = 0; n < total; n++) {
			size_t v = n;
			memcpy(url, "https://", 8);
			for (size_t i = 0; i < len; i++, v /= k)
				url[8 + i] = alphabet[v % k];
			url[8 + len] = '\0';
			char *o = xb_url_origin(url);
			char *h = xb_url_host(url);
			if ((o == NULL) != (h == NULL))
				fail_msg("%s: origin %s, host %s", url,
				         o ? o : "-", h ? h : "-");
			free(o);
			free(h);
			free(xb_url_filename(url));
			free(xb_body_url(url));
		}
	}
}

static void
test_body_url_is_a_lone_url(void **state)
{
	char *s = xb_body_url("  https://h.example/a.pdf\n");
	assert_string_equal(s, "https://h.example/a.pdf");
	free(s);
	assert_null(xb_body_url("see https://h.example/a.pdf"));
	assert_null(xb_body_url("https://h.example/a.pdf and more"));
	assert_null(xb_body_url("hello"));
	assert_null(xb_body_url(NULL));
}

static int
v4_private(const char *a)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, a, &sa.sin_addr), 1);
	return xb_http_addr_private((struct sockaddr *)&sa);
}

static int
v6_private(const char *a)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, a, &sa.sin6_addr), 1);
	return xb_http_addr_private((struct sockaddr *)&sa);
}

static void
test_external_fetches_never_reach_private_addresses(void **state)
{
	static const struct {
		const char *addr;
		int private_;
	} table[] = {
	    /* IPv4 */
	    {"127.0.0.1", 1},
	    {"10.1.2.3", 1},
	    {"172.16.0.1", 1},
	    {"172.31.255.255", 1},
	    {"192.168.1.1", 1},
	    {"169.254.169.254", 1},
	    {"0.0.0.0", 1},
	    {"100.64.0.1", 1},
	    {"224.0.0.1", 1},
	    {"255.255.255.255", 1},
	    {"192.0.0.1", 1}, /* 192.0.0.0/24 */
	    {"192.0.0.255", 1},
	    {"198.18.0.1", 1}, /* 198.18.0.0/15 */
	    {"198.19.255.254", 1},
	    {"93.184.216.34", 0},
	    {"172.32.0.1", 0},
	    {"192.0.1.1", 0},
	    {"198.17.255.255", 0},
	    {"198.20.0.1", 0},
	    {"8.8.8.8", 0},
	    /* IPv6 */
	    {"::1", 1},
	    {"::", 1},
	    {"fe80::1", 1},
	    {"fd00::1", 1},
	    {"fc00::1", 1},
	    {"ff02::1", 1},
	    {"fec0::1", 1}, /* site-local */
	    {"feff::1", 1},
	    {"::ffff:127.0.0.1", 1},
	    {"::ffff:10.0.0.1", 1},
	    {"::127.0.0.1", 1},        /* IPv4-compatible */
	    {"::8.8.8.8", 1},          /* deprecated: never dialled */
	    {"::ffff:0:127.0.0.1", 1}, /* SIIT */
	    {"::ffff:0:192.168.0.1", 1},
	    {"64:ff9b::127.0.0.1", 1}, /* NAT64 */
	    {"64:ff9b::10.0.0.1", 1},
	    {"64:ff9b::169.254.169.254", 1},
	    {"64:ff9b:1::1", 1}, /* local-use NAT64 */
	    {"64:ff9b:1:ffff::8.8.8.8", 1},
	    {"2002:7f00:1::1", 1}, /* 6to4 of 127.0.0.1 */
	    {"2002:a00:1::", 1},   /* 6to4 of 10.0.0.1 */
	    {"2002:c0a8:101::1", 1},
	    {"2001:db8::1", 0},
	    {"2a00:1450:4001:80b::200e", 0},
	    {"::ffff:8.8.8.8", 0},
	    {"::ffff:0:8.8.8.8", 0},
	    {"64:ff9b::8.8.8.8", 0},
	    {"2002:808:808::1", 0}, /* 6to4 of 8.8.8.8 */
	    {"fe7f::1", 0},
	};
	for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
		const char *a = table[i].addr;
		int got = strchr(a, ':') ? v6_private(a) : v4_private(a);
		if (got != table[i].private_)
			fail_msg("%s: private %d, want %d", a, got,
			         table[i].private_);
	}
}

/* A partner's file on its own server's upload service: never the gateway's
 * upload service (so an external fetch, under the private-address guard),
 * shared only with xmpp.fetch_external; the gateway's own upload service
 * (by name or by a learned origin) is ours. */
static void
test_a_partners_upload_service_is_external(void **state)
{
	struct cg_config cfg;
	struct cg_gateway gw;
	struct xb_bridge xb;
	memset(&cfg, 0, sizeof cfg);
	memset(&gw, 0, sizeof gw);
	memset(&xb, 0, sizeof xb);
	gw.cfg = &cfg;
	xb.gw = &gw;
	cfg.xmpp.upload_service = "upload.a.test";
	char *learned = "https://127.9.7.1:5443";
	xb.upload_origins = &learned;
	xb.norigins = 1;
	const char *partner = "https://127.9.7.2:5443/file_share/x/offer.pdf";
	assert_false(xb_upload_url_ours(&xb, partner));
	assert_false(xb_upload_url_ours(
	    &xb, "https://upload.b.test/file_share/x/a.pdf"));
	assert_true(xb_upload_url_ours(
	    &xb, "https://127.9.7.1:5443/file_share/x/a.pdf"));
	assert_true(xb_upload_url_ours(
	    &xb, "https://upload.a.test/file_share/x/a.pdf"));
	struct xb_in in;
	memset(&in, 0, sizeof in);
	in.body = (char *)partner;
	char *url, *name;
	assert_int_equal(xb_fetch_shared(&xb, &in, &url, &name), 0);
	assert_null(url);
	cfg.xmpp.fetch_external = 1;
	assert_int_equal(xb_fetch_shared(&xb, &in, &url, &name), 1);
	assert_string_equal(url, partner);
	assert_string_equal(name, "offer.pdf");
	free(url);
	free(name);
	/* and its address, loopback in the test fixture, is refused */
	assert_true(v4_private("127.9.7.2"));
}

int
main(void)
{
	xmpp_initialize();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_clean_text_keeps_utf8_and_drops_what_xml_forbids),
	    cmocka_unit_test(test_utf8_counts_code_points),
	    cmocka_unit_test(
	        test_first_message_of_a_thread_carries_its_subject),
	    cmocka_unit_test(test_long_text_is_cut_on_a_character_boundary),
	    cmocka_unit_test(test_reply_quote_is_counted_in_code_points),
	    cmocka_unit_test(
	        test_out_stanza_has_thread_origin_id_reply_and_fallback),
	    cmocka_unit_test(
	        test_in_parse_trusts_only_the_rooms_stanza_id_and_strips_fallback),
	    cmocka_unit_test(test_in_parse_reads_the_error_condition),
	    cmocka_unit_test(
	        test_in_parse_reads_a_correction_and_the_archived_sender),
	    cmocka_unit_test(test_puppet_jid_escapes_the_address_per_xep0106),
	    cmocka_unit_test(test_puppet_nick_is_one_clean_line),
	    cmocka_unit_test(test_notice_is_one_clean_chat_message),
	    cmocka_unit_test(test_slot_parse_keeps_only_the_allowed_headers),
	    cmocka_unit_test(test_slot_with_a_broken_url_is_no_slot),
	    cmocka_unit_test(test_every_stanza_id_is_unguessable),
	    cmocka_unit_test(
	        test_jids_are_the_same_only_with_the_same_resource),
	    cmocka_unit_test(test_only_the_room_itself_answers_for_its_archive),
	    cmocka_unit_test(test_message_error_counts_only_from_the_rows_room),
	    cmocka_unit_test(
	        test_only_the_upload_service_answers_a_slot_request),
	    cmocka_unit_test(test_slot_request_names_one_clean_file),
	    cmocka_unit_test(test_file_stanza_is_the_url_with_oob),
	    cmocka_unit_test(test_url_origin_host_and_file_name),
	    cmocka_unit_test(test_malformed_authorities_are_not_urls),
	    cmocka_unit_test(test_url_helpers_agree_on_every_short_authority),
	    cmocka_unit_test(test_body_url_is_a_lone_url),
	    cmocka_unit_test(
	        test_external_fetches_never_reach_private_addresses),
	    cmocka_unit_test(test_a_partners_upload_service_is_external),
	};
	int rc = cmocka_run_group_tests_name("xmpp_stanza", tests, NULL, NULL);
	xmpp_shutdown();
	return rc;
}
