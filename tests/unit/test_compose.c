/*
 * test_compose.c: mail the gateway writes (bridges/email/compose.c).  The
 * headers are checked against CONTRACT.md line by line; everything else is
 * checked by reading the mail back with email_parse (round trip).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bridges/email/compose.h"
#include "bridges/email/mime.h"
#include "gateway/msg.h"
#include "lib/util.h"

static const char *const refs2[] = {"root.1@lists.example.org",
                                    "parent.2@example.com"};

static struct email_compose_in
base_in(void)
{
	struct email_compose_in in = {
	    .list_addr = "dev@lists.example.org",
	    .list_id = "dev.lists.example.org",
	    .channel = "dev",
	    .sender_name = "Alice Example",
	    .sender_addr = "alice@example.com",
	    .to = "dev@lists.example.org",
	    .subject = "Re: Budget 2024",
	    .body = "Hello all,\nthe budget is attached.\n",
	    .message_id = "m.42@lists.example.org",
	    .in_reply_to = "parent.2@example.com",
	    .refs = refs2,
	    .nrefs = 2,
	    .date = 1704183300, /* Tue, 2 Jan 2024 08:15:00 UTC */
	};
	return in;
}

/* The header block (up to the first empty line), NUL-terminated. */
static char *
headers_of(const char *mail)
{
	const char *end = strstr(mail, "\r\n\r\n");
	assert_non_null(end);
	return cg_strndup(mail, (size_t)(end - mail) + 2);
}

static void
assert_starts(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("\"%.80s\" does not start with \"%s\"", s, prefix);
}

static void
assert_has_line(const char *headers, const char *line)
{
	char *want = cg_asprintf("\r\n%s\r\n", line);
	char *hay = cg_asprintf("\r\n%s", headers);
	if (strstr(hay, want) == NULL)
		fail_msg("missing header line \"%s\" in:\n%s", line, headers);
	free(want);
	free(hay);
}

/* Every line ends in CRLF; header lines (both the message's and the
 * parts') are at most 78 characters, body lines at most 76. */
static void
assert_lines_sane(const char *mail, size_t len)
{
	int in_header = 1;
	const char *p = mail, *end = mail + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		assert_true(nl > p && nl[-1] == '\r');
		size_t n = (size_t)(nl - p) - 1;
		if (in_header && n > 78)
			fail_msg("header line of %zu chars: %.*s", n, (int)n,
			         p);
		if (!in_header && n > 76)
			fail_msg("body line of %zu chars: %.*s", n, (int)n, p);
		if (n == 0)
			in_header = 0;
		else if (n >= 2 && p[0] == '-' && p[1] == '-')
			in_header = 1; /* a part's headers follow a boundary */
		p = nl + 1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)mail[i] >= 0x80 || mail[i] == '\0')
			fail_msg("8-bit or NUL byte at %zu", i);
}

static void
parse_back(const char *mail, size_t len, struct cg_msg *m)
{
	char *err = NULL;
	memset(m, 0, sizeof *m);
	if (email_parse(mail, len, m, &err) != 0)
		fail_msg("composed mail does not parse: %s", err);
}

static void
test_contract_headers_exact(void **state)
{
	struct email_compose_in in = base_in();
	size_t len;
	char *mail = email_compose(&in, &len);
	assert_non_null(mail);
	assert_int_equal(strlen(mail), len);
	char *h = headers_of(mail);
	assert_starts(h, "From: \"Alice Example via dev\" "
	                 "<dev@lists.example.org>\r\n");
	assert_has_line(h, "Reply-To: dev@lists.example.org");
	assert_has_line(h, "X-Original-From: \"Alice Example\" "
	                   "<alice@example.com>");
	assert_has_line(h, "To: dev@lists.example.org");
	assert_has_line(h, "Subject: Re: Budget 2024");
	assert_has_line(h, "Date: Tue, 2 Jan 2024 08:15:00 +0000");
	assert_has_line(h, "Message-ID: <m.42@lists.example.org>");
	assert_has_line(h, "In-Reply-To: <parent.2@example.com>");
	assert_has_line(h, "References: <root.1@lists.example.org> "
	                   "<parent.2@example.com>");
	assert_has_line(h, "List-Id: <dev.lists.example.org>");
	assert_has_line(h, "List-Post: <mailto:dev@lists.example.org>");
	assert_has_line(h, "List-Unsubscribe: "
	                   "<mailto:dev+unsubscribe@lists.example.org>");
	assert_has_line(h,
	                "List-Help: "
	                "<mailto:dev+request@lists.example.org?subject=help>");
	assert_has_line(h, "Precedence: list");
	assert_has_line(h, "MIME-Version: 1.0");
	assert_has_line(h, "Content-Type: text/plain; charset=utf-8");
	assert_has_line(h, "Content-Transfer-Encoding: quoted-printable");
	assert_null(strstr(h, "Auto-Submitted"));
	assert_lines_sane(mail, len);
	assert_string_equal(strstr(mail, "\r\n\r\n") + 4,
	                    "Hello all,\r\nthe budget is attached.\r\n");
	free(h);
	free(mail);
}

static void
test_auto_submitted_and_extra_headers(void **state)
{
	const char *extra[] = {"X-Coopgate-Thread: 42",
	                       "X-Evil: a\r\nBcc: victim@example.org",
	                       "no colon here"};
	struct email_compose_in in = base_in();
	in.extra_headers = extra;
	in.nextra = 3;
	in.auto_submitted = 1;
	char *mail = email_compose(&in, NULL);
	char *h = headers_of(mail);
	assert_has_line(h, "Auto-Submitted: auto-generated");
	assert_has_line(h, "X-Coopgate-Thread: 42");
	assert_null(strstr(h, "Bcc"));
	assert_null(strstr(h, "no colon"));
	free(h);
	free(mail);

	in.auto_submitted = 2;
	mail = email_compose(&in, NULL);
	h = headers_of(mail);
	assert_has_line(h, "Auto-Submitted: auto-replied");
	free(h);
	free(mail);

	struct cg_msg m;
	in.auto_submitted = 1;
	mail = email_compose(&in, NULL);
	parse_back(mail, strlen(mail), &m);
	assert_true(m.flags & CG_MSG_AUTO);
	cg_msg_free(&m);
	free(mail);
}

static void
test_non_ascii_name_and_subject_encoded_and_round_trip(void **state)
{
	struct email_compose_in in = base_in();
	in.sender_name = "Jürgen Müller";
	in.subject = "Re: Grüße aus Köln – Planung für das Frühjahrstreffen "
	             "der Genossenschaft 2024";
	size_t len;
	char *mail = email_compose(&in, &len);
	char *h = headers_of(mail);
	assert_starts(h, "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller_via_dev?= "
	                 "<dev@lists.example.org>\r\n");
	assert_non_null(
	    strstr(h, "\r\nSubject: =?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe"));
	assert_lines_sane(mail, len);

	struct cg_msg m;
	parse_back(mail, len, &m);
	assert_string_equal(m.sender_addr, "dev@lists.example.org");
	assert_string_equal(m.sender_name, "Jürgen Müller via dev");
	assert_string_equal(m.subject, in.subject);
	assert_string_equal(m.ext_id, "m.42@lists.example.org");
	assert_int_equal(m.nrefs, 2);
	assert_string_equal(m.refs[0], "root.1@lists.example.org");
	assert_string_equal(m.refs[1], "parent.2@example.com");
	assert_string_equal(m.list_id, "dev.lists.example.org");
	assert_int_equal(m.received, in.date);
	assert_true(m.flags & CG_MSG_AUTO); /* Precedence: list */
	cg_msg_free(&m);
	free(h);
	free(mail);
}

static void
test_quoted_printable_body_round_trip(void **state)
{
	struct cg_buf body = CG_BUF_INIT;
	cg_buf_puts(&body, "Grüße, Jürgen! 1+1=2 and a=b\n");
	cg_buf_puts(&body, "trailing space \ntrailing tab\t\n");
	cg_buf_puts(&body, ".a line with a dot\nFrom here on\n\n");
	for (int i = 0; i < 30; i++)
		cg_buf_puts(&body, "lang äöü ");
	cg_buf_puts(&body, "\n");
	for (int i = 0; i < 200; i++)
		cg_buf_putc(&body, (char)('a' + i % 26));
	cg_buf_puts(&body, "\n=====\n€ 🎉 end");
	struct email_compose_in in = base_in();
	in.body = body.data;
	size_t len;
	char *mail = email_compose(&in, &len);
	assert_lines_sane(mail, len);
	assert_non_null(strstr(mail, "trailing space=20\r\n"));
	assert_non_null(strstr(mail, "trailing tab=09\r\n"));
	assert_non_null(strstr(mail, "\r\n=2Ea line"));
	assert_non_null(strstr(mail, "\r\n=46rom here"));

	struct cg_msg m;
	parse_back(mail, len, &m);
	assert_string_equal(m.text, body.data);
	cg_msg_free(&m);
	cg_buf_free(&body);
	free(mail);
}

static void
test_footer_follows_a_blank_line(void **state)
{
	struct email_compose_in in = base_in();
	in.body = "Text\n\n\n";
	in.footer = "--\nYou get this as a member of dev.";
	char *mail = email_compose(&in, NULL);
	struct cg_msg m;
	parse_back(mail, strlen(mail), &m);
	assert_string_equal(m.text,
	                    "Text\n\n--\nYou get this as a member of dev.");
	cg_msg_free(&m);
	free(mail);
}

static void
test_attachments_round_trip(void **state)
{
	unsigned char bin[1000];
	unsigned long x = 7;
	for (size_t i = 0; i < sizeof bin; i++) {
		x = x * 1103515245 + 12345;
		bin[i] = (unsigned char)(x >> 16);
	}
	static const unsigned char pdf[] =
	    "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n%%EOF\n";
	struct cg_attachment att[] = {
	    {(char *)"data.bin", (char *)"application/octet-stream", bin,
	     sizeof bin, NULL},
	    {(char *)"Protokoll der Mitgliederversammlung über das "
	             "Geschäftsjahr 2023 (endgültig).pdf",
	     (char *)"application/pdf", (unsigned char *)pdf, sizeof pdf - 1,
	     NULL},
	    {(char *)"Grüße \"quoted\".txt", (char *)"text/plain",
	     (unsigned char *)"hi\n", 3, NULL},
	    {NULL, (char *)"bad type with spaces", (unsigned char *)"", 0,
	     NULL},
	};
	struct email_compose_in in = base_in();
	in.att = att;
	in.natt = 4;
	size_t len;
	char *mail = email_compose(&in, &len);
	char *h = headers_of(mail);
	assert_non_null(strstr(h, "Content-Type: multipart/mixed;\r\n "
	                          "boundary=\"=_coopgate_"));
	assert_lines_sane(mail, len);

	struct cg_msg m;
	parse_back(mail, len, &m);
	assert_string_equal(m.text, "Hello all,\nthe budget is attached.");
	assert_int_equal(m.natt, 4);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(m.att[i].name, att[i].name);
		assert_string_equal(m.att[i].type, att[i].type);
		assert_int_equal(m.att[i].size, att[i].size);
		assert_memory_equal(m.att[i].data, att[i].data, att[i].size);
	}
	assert_null(m.att[3].name);
	assert_string_equal(m.att[3].type, "application/octet-stream");
	assert_int_equal(m.att[3].size, 0);
	cg_msg_free(&m);
	free(h);
	free(mail);
}

static void
test_encode_header_words(void **state)
{
	char *s = email_encode_header_words("Plain ASCII, stays");
	assert_string_equal(s, "Plain ASCII, stays");
	free(s);
	s = email_encode_header_words("line\r\nbreak");
	assert_string_equal(s, "line  break");
	free(s);
	s = email_encode_header_words("looks =?like?= a word");
	assert_non_null(strstr(s, "=?UTF-8?Q?"));
	free(s);
	assert_null(email_encode_header_words(NULL));

	const char *inputs[] = {
	    "Grüße",
	    ("日本語のテキストはとても長くなることがありますので、"
	     "エンコードされた単語に分割されます"),
	    "Ünïcödé with spaces, commas; and \"quotes\" = fun_stuff?",
	    "🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉"};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		s = email_encode_header_words(inputs[i]);
		/* words of at most 60 characters, ASCII only */
		for (const char *w = s; *w;) {
			size_t n = strcspn(w, " ");
			assert_true(n <= 60);
			assert_true(strncmp(w, "=?UTF-8?Q?", 10) == 0);
			w += n;
			while (*w == ' ')
				w++;
		}
		for (const char *p = s; *p; p++)
			assert_true((unsigned char)*p < 0x80);
		char *back = email_decode_header(s, strlen(s));
		assert_string_equal(back, inputs[i]);
		free(back);
		free(s);
	}
}

static void
test_long_headers_fold_within_78(void **state)
{
	const char *many[20];
	char *ids[20];
	for (int i = 0; i < 20; i++) {
		ids[i] =
		    cg_asprintf("id.%d.abcdefghij@host%d.example.org", i, i);
		many[i] = ids[i];
	}
	struct email_compose_in in = base_in();
	in.refs = many;
	in.nrefs = 20;
	in.in_reply_to = "not.in.refs@example.net";
	in.subject = "A plain ASCII subject that is much longer than one line "
	             "of a mail header may be, so it has to be folded twice or "
	             "more";
	in.sender_name = "Someone With A Really Remarkably Long Display Name "
	                 "Indeed";
	size_t len;
	char *mail = email_compose(&in, &len);
	assert_lines_sane(mail, len);

	struct cg_msg m;
	parse_back(mail, len, &m);
	assert_string_equal(m.subject, in.subject);
	assert_string_equal(m.sender_name, "Someone With A Really Remarkably "
	                                   "Long Display Name Indeed via dev");
	assert_int_equal(m.nrefs, 21);
	for (int i = 0; i < 20; i++)
		assert_string_equal(m.refs[i], ids[i]);
	assert_string_equal(m.refs[20], "not.in.refs@example.net");
	cg_msg_free(&m);
	free(mail);
	for (int i = 0; i < 20; i++)
		free(ids[i]);
}

static void
test_display_name_quoting_and_defaults(void **state)
{
	struct email_compose_in in = base_in();
	in.sender_name = "Bob \"The Builder\" O\\Brien";
	char *mail = email_compose(&in, NULL);
	assert_starts(mail,
	              "From: \"Bob \\\"The Builder\\\" O\\\\Brien via dev\" "
	              "<dev@lists.example.org>\r\n");
	struct cg_msg m;
	parse_back(mail, strlen(mail), &m);
	assert_string_equal(m.sender_name,
	                    "Bob \"The Builder\" O\\Brien via dev");
	cg_msg_free(&m);
	free(mail);

	in.sender_name = NULL;
	in.subject = NULL;
	in.message_id = NULL;
	in.in_reply_to = NULL;
	in.nrefs = 0;
	mail = email_compose(&in, NULL);
	char *h = headers_of(mail);
	assert_starts(h, "From: \"alice via dev\" <dev@lists.example.org>\r\n");
	assert_has_line(h, "X-Original-From: alice@example.com");
	assert_null(strstr(h, "Subject:"));
	assert_null(strstr(h, "In-Reply-To:"));
	assert_null(strstr(h, "References:"));
	const char *mid = strstr(h, "\r\nMessage-ID: <");
	assert_non_null(mid);
	assert_non_null(strstr(mid, "@lists.example.org>\r\n"));
	free(h);
	free(mail);

	in.list_addr = "no-at-sign";
	assert_null(email_compose(&in, NULL));
	in.list_addr = NULL;
	assert_null(email_compose(&in, NULL));
}

/* A chat sender is a JID, often "room@conference/nick": X-Original-From
 * is its bare part as the address and the nick as an encoded display name,
 * never the raw nick (which may hold "<", ",", quotes or non-ASCII). */
static void
test_original_from_of_a_room_nick_is_a_proper_address(void **state)
{
	struct email_compose_in in = base_in();
	in.sender_name = NULL;
	in.sender_addr =
	    "dev@conference.example.org/Eve <eve@evil.example>, \"x";
	size_t len;
	char *mail = email_compose(&in, &len);
	char *h = headers_of(mail);
	assert_has_line(h, "X-Original-From: \"Eve <eve@evil.example>, \\\"x\" "
	                   "<dev@conference.example.org>");
	free(h);
	free(mail);
	in.sender_addr = "dev@conference.example.org/J\xc3\xbcrgen";
	mail = email_compose(&in, &len);
	h = headers_of(mail);
	assert_has_line(h, "X-Original-From: =?UTF-8?Q?J=C3=BCrgen?= "
	                   "<dev@conference.example.org>");
	free(h);
	free(mail);
	/* no address-shaped part: no header at all */
	in.sender_addr = "not an address";
	mail = email_compose(&in, &len);
	h = headers_of(mail);
	assert_null(strstr(h, "X-Original-From"));
	free(h);
	free(mail);
	in.sender_addr = "bob@example.org/phone";
	in.sender_name = "Bob Example";
	mail = email_compose(&in, &len);
	h = headers_of(mail);
	assert_has_line(h,
	                "X-Original-From: \"Bob Example\" <bob@example.org>");
	free(h);
	free(mail);
}

/* In a batched mail only a speaker's line starts at the margin: a guest
 * cannot write a line that passes for a member's, by nick or by text. */
static void
test_batched_chat_lines_mark_who_is_who(void **state)
{
	struct cg_buf b = CG_BUF_INIT;
	email_chat_line(&b, "Alice Example", 1, "Hello\nsecond line\n");
	email_chat_line(&b, "Alice Example", 0,
	                "I resign.\nAlice Example: really, I do\n");
	email_chat_line(&b, "Alice Example: fake\nBob", 0, "hi");
	email_chat_line(&b, "Bob Example", 1,
	                "[File: a.pdf (3 kB): https://x]");
	assert_string_equal(cg_buf_str(&b),
	                    "Alice Example: Hello\n"
	                    "  second line\n"
	                    "[guest] Alice Example: I resign.\n"
	                    "  Alice Example: really, I do\n"
	                    "[guest] Alice Example: fake Bob: hi\n"
	                    "Bob Example: [File: a.pdf (3 kB): https://x]\n");
	/* every line at the margin is a speaker's: a verified name or the
	 * [guest] mark */
	int lines = 0;
	for (const char *p = cg_buf_str(&b); *p; p = strchr(p, '\n') + 1) {
		if (*p != ' ') {
			assert_true(strncmp(p, "Alice Example: ", 15) == 0 ||
			            strncmp(p, "Bob Example: ", 13) == 0 ||
			            strncmp(p, EMAIL_CHAT_UNVERIFIED,
			                    strlen(EMAIL_CHAT_UNVERIFIED)) ==
			                0);
			lines++;
		}
	}
	assert_int_equal(lines, 4);
	cg_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contract_headers_exact),
	    cmocka_unit_test(test_auto_submitted_and_extra_headers),
	    cmocka_unit_test(
	        test_non_ascii_name_and_subject_encoded_and_round_trip),
	    cmocka_unit_test(test_quoted_printable_body_round_trip),
	    cmocka_unit_test(test_footer_follows_a_blank_line),
	    cmocka_unit_test(test_attachments_round_trip),
	    cmocka_unit_test(test_encode_header_words),
	    cmocka_unit_test(test_long_headers_fold_within_78),
	    cmocka_unit_test(test_display_name_quoting_and_defaults),
	    cmocka_unit_test(
	        test_original_from_of_a_room_nick_is_a_proper_address),
	    cmocka_unit_test(test_batched_chat_lines_mark_who_is_who),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
