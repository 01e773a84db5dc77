/*
 * test_xmpp_stanza.c: the XMPP bridge's stanza building and parsing
 * (bridges/xmpp/stanza.c): text made safe for XML, the room body with its
 * subject line and XEP-0428 reply quote counted in code points, and the
 * parts of a room message the bridge relies on.
 */
#include "testutil.h"
#include "bridges/xmpp/xmpp.h"

static void
test_clean_text_keeps_utf8_and_drops_what_xml_forbids(void **state)
{
	char *s = xmpp_clean_text("a\x01"
	                          "b\tc\r\nd\re \xc3\xa4 \xff"
	                          "f");
	assert_string_equal(s, "ab\tc\nd\ne \xc3\xa4 \xef\xbf\xbd"
	                       "f");
	free(s);
	/* overlong encodings and surrogates are not UTF-8 */
	s = xmpp_clean_text("\xc0\xaf|\xed\xa0\x80|\xf0\x9f\x98\x80");
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf"
	                       "\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80");
	free(s);
}

static void
test_utf8_counts_code_points(void **state)
{
	const char *s = "\xc3\xa4x\xf0\x9f\x98\x80y"; /* ä x 😀 y */
	assert_int_equal(xmpp_utf8_count(s, strlen(s)), 4);
	assert_int_equal(xmpp_utf8_offset(s, 0), 0);
	assert_int_equal(xmpp_utf8_offset(s, 1), 2);
	assert_int_equal(xmpp_utf8_offset(s, 2), 3);
	assert_int_equal(xmpp_utf8_offset(s, 3), 7);
	assert_int_equal(xmpp_utf8_offset(s, 9), strlen(s));
}

static void
test_first_message_of_a_thread_carries_its_subject(void **state)
{
	struct xmpp_out o = {.subject = "Plans",
	                     .name = "Alice Example",
	                     .text = "\n  Friday?\n\n"};
	size_t fb;
	char *b = xmpp_out_body(&o, &fb);
	assert_string_equal(b, "[Plans]\nAlice Example: Friday?");
	assert_int_equal(fb, 0);
	free(b);
	o.subject = NULL;
	b = xmpp_out_body(&o, &fb);
	assert_string_equal(b, "Alice Example: Friday?");
	free(b);
}

static void
test_long_text_is_cut_on_a_character_boundary(void **state)
{
	size_t n = XMPP_MAX_TEXT + 100;
	char *text = malloc(n + 1);
	text[0] = 'x';
	for (size_t i = 1; i + 1 < n; i += 2)
		memcpy(text + i, "\xc3\xa4", 2); /* ä */
	text[n - 1] = 'y';
	text[n] = '\0';
	struct xmpp_out o = {.name = "A", .text = text};
	size_t fb;
	char *b = xmpp_out_body(&o, &fb);
	assert_true(strlen(b) < XMPP_MAX_TEXT + 100);
	assert_non_null(strstr(b, "\n[...] (cut here"));
	char *clean = xmpp_clean_text(b); /* nothing to repair: valid UTF-8 */
	assert_string_equal(clean, b);
	free(clean);
	free(b);
	free(text);
}

static void
test_reply_quote_is_counted_in_code_points(void **state)
{
	struct xmpp_out o = {.name = "Alice",
	                     .text = "ja",
	                     .reply_id = "sid-1",
	                     .quote_name = "J\xc3\xb6rg",
	                     .quote_text = "Gr\xc3\xbc\xc3\x9f"
	                                   "e\nsecond line"};
	size_t fb;
	char *b = xmpp_out_body(&o, &fb);
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
	struct xmpp_out o = {.room = "dev@conference.example.org",
	                     .id = "cg-7-0000abcd",
	                     .name = "A",
	                     .text = "t",
	                     .thread = "tok123",
	                     .reply_id = "sid-9",
	                     .reply_to = "dev@conference.example.org/bob",
	                     .quote_name = "bob",
	                     .quote_text = "q"};
	xmpp_stanza_t *m = xmpp_out_stanza(ctx, &o);
	assert_string_equal(xmpp_stanza_get_type(m), "groupchat");
	assert_string_equal(xmpp_stanza_get_id(m), "cg-7-0000abcd");
	char *t = xmpp_child_text(m, "body", NULL);
	assert_string_equal(t, "> bob: q\nA: t");
	free(t);
	t = xmpp_child_text(m, "thread", NULL);
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
	struct xmpp_in in;
	xmpp_in_parse(st, &in);
	assert_string_equal(in.room, "dev@conference.example.org");
	assert_string_equal(in.nick, "bob");
	assert_string_equal(in.stanza_id, "real");
	assert_string_equal(in.origin_id, "o1");
	assert_string_equal(in.reply_id, "parent");
	assert_string_equal(in.thread, "tok1");
	assert_string_equal(in.body, "Danke!");
	assert_true(in.delayed);
	assert_false(in.has_subject);
	xmpp_in_free(&in);
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
	struct xmpp_in in;
	xmpp_in_parse(st, &in);
	assert_string_equal(in.type, "error");
	assert_string_equal(in.error_condition, "not-acceptable");
	assert_null(in.nick);
	xmpp_in_free(&in);
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
	struct xmpp_in in;
	xmpp_in_parse(st, &in);
	assert_string_equal(in.replace_id, "m1");
	assert_string_equal(in.item_jid, "bob@example.org");
	assert_string_equal(in.to, "gateway@example.org/r");
	xmpp_in_free(&in);
	xmpp_stanza_release(st);
	xmpp_ctx_free(ctx);
}

static void
test_puppet_jid_escapes_the_address_per_xep0106(void **state)
{
	char *j = puppet_bare_jid("Alice@Example.org", "gw.example.org");
	assert_string_equal(j, "alice%example.org@gw.example.org");
	free(j);
	/* characters a JID's local part may not hold */
	j = puppet_bare_jid("\"o'neil&co\"/x:y<z>@example.org",
	                    "gw.example.org");
	assert_string_equal(j, "\\22o\\27neil\\26co\\22\\2fx\\3ay\\3cz\\3e"
	                       "%example.org@gw.example.org");
	free(j);
	j = puppet_bare_jid("a b\\c@example.org", "gw.example.org");
	assert_string_equal(j, "a\\20b\\5cc%example.org@gw.example.org");
	free(j);
}

static void
test_puppet_nick_is_one_clean_line(void **state)
{
	char *n = puppet_nick("  Alice \n\t Example ");
	assert_string_equal(n, "Alice Example");
	free(n);
	n = puppet_nick(" \x01 ");
	assert_string_equal(n, "someone");
	free(n);
	/* long names are cut on a character boundary */
	char name[200];
	memset(name, 0, sizeof name);
	for (size_t i = 0; i + 2 < 150; i += 2)
		memcpy(name + i, "\xc3\xa4", 2); /* ä */
	n = puppet_nick(name);
	assert_true(strlen(n) <= 64);
	assert_int_equal(strlen(n) % 2, 0);
	free(n);
}

static void
test_notice_is_one_clean_chat_message(void **state)
{
	char *b = xmpp_notice_body(" Mail to bob is suspended\n",
	                           "\nIt keeps\r\nbouncing.\x01\n\n");
	assert_string_equal(b, "Mail to bob is suspended\n\nIt keeps\nbouncing.");
	free(b);
	b = xmpp_notice_body(NULL, "only a body");
	assert_string_equal(b, "only a body");
	free(b);
	xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
	xmpp_stanza_t *m =
	    xmpp_chat_stanza(ctx, "bob@example.org", "cg-notice-9", "hi <there>");
	assert_string_equal(xmpp_stanza_get_type(m), "chat");
	assert_string_equal(xmpp_stanza_get_to(m), "bob@example.org");
	assert_string_equal(xmpp_stanza_get_id(m), "cg-notice-9");
	char *body = xmpp_child_text(m, "body", NULL);
	assert_string_equal(body, "hi <there>");
	free(body);
	xmpp_stanza_t *oid =
	    xmpp_stanza_get_child_by_name_and_ns(m, "origin-id", NS_SID);
	assert_non_null(oid);
	assert_string_equal(xmpp_stanza_get_attribute(oid, "id"), "cg-notice-9");
	xmpp_stanza_release(m);
	xmpp_ctx_free(ctx);
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
	};
	int rc = cmocka_run_group_tests_name("xmpp_stanza", tests, NULL, NULL);
	xmpp_shutdown();
	return rc;
}
