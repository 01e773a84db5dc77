/*
 * test_mime.c: reading mail (bridges/email/mime.c).  Sample mails live in
 * tests/fixtures/mail/ (COOPGATE_FIXTURES overrides the directory); small
 * cases are written inline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridges/email/dsn.h"
#include "bridges/email/mime.h"
#include "gateway/msg.h"
#include "lib/util.h"

/* ---- helpers ---------------------------------------------------------- */

static char *
load(const char *name, size_t *len)
{
	const char *dir = getenv("COOPGATE_FIXTURES");
	char *path =
	    cg_asprintf("%s/%s", dir ? dir : "tests/fixtures/mail", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	struct cg_buf b = CG_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		cg_buf_add(&b, chunk, n);
	fclose(f);
	free(path);
	*len = b.len;
	return cg_buf_steal(&b);
}

static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t l = *p < 0x80             ? 1
		           : (*p & 0xe0) == 0xc0 ? 2
		           : (*p & 0xf0) == 0xe0 ? 3
		           : (*p & 0xf8) == 0xf0 ? 4
		                                 : 0;
		if (l == 0 || (l == 2 && *p < 0xc2))
			return 0;
		for (size_t i = 1; i < l; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += l;
	}
	return 1;
}

/* Parse a fixture; fails the test on error. */
static void
parse_fixture(const char *name, struct cg_msg *m)
{
	size_t len;
	char *raw = load(name, &len);
	char *err = NULL;
	memset(m, 0, sizeof *m);
	int r = email_parse(raw, len, m, &err);
	if (r != 0)
		fail_msg("%s: %s", name, err ? err : "?");
	assert_null(err);
	assert_int_equal(m->rawlen, len);
	assert_memory_equal(m->raw, raw, len);
	free(raw);
}

static int
parse_str(const char *raw, struct cg_msg *m, char **err)
{
	memset(m, 0, sizeof *m);
	*err = NULL;
	return email_parse(raw, strlen(raw), m, err);
}

/* ---- charsets and encodings ------------------------------------------ */

static void
test_latin1_quoted_printable_body_and_encoded_subject_become_utf8(void **state)
{
	struct cg_msg m;
	parse_fixture("latin1_qp.eml", &m);
	assert_int_equal(m.network, CG_NET_EMAIL);
	assert_string_equal(m.ext_id, "20240102091500.GA1234@example.de");
	assert_string_equal(m.sender_addr, "juergen.mueller@example.de");
	assert_string_equal(m.sender_name, "Jürgen Müller");
	assert_string_equal(m.subject, "Grüße aus Köln");
	assert_string_equal(
	    m.text,
	    "Hallo zusammen,\n\nviele Grüße aus Köln! Das Treffen ist am "
	    "Dienstag um 18 Uhr im Café.\nDiese Zeile ist absichtlich sehr "
	    "lang, damit quoted-printable sie mit einem weichen "
	    "Zeilenumbruch umbrechen muss, äöü.\n\nJürgen");
	assert_int_equal(m.received, 1704183300); /* 08:15:00 UTC */
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.natt, 0);
	cg_msg_free(&m);
}

static void
test_iso_8859_1_encoded_word_subject(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(parse_str("From: a@example.org\r\n"
	                           "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n"
	                           "\r\nx\r\n",
	                           &m, &err),
	                 0);
	assert_string_equal(m.subject, "Grüße");
	assert_null(m.ext_id);
	cg_msg_free(&m);
}

static void
test_windows_1252_body_and_8bit_subject(void **state)
{
	struct cg_msg m;
	parse_fixture("cp1252.eml", &m);
	assert_string_equal(m.sender_name, "O'Brien, Pat");
	assert_string_equal(m.subject, "Budget – draft");
	assert_string_equal(m.text, "Hi all,\n\n“Quoted” text – costs 5€ … "
	                            "that’s it.");
	assert_int_equal(m.received, 1704308400); /* 19:00 UTC */
	cg_msg_free(&m);
}

static void
test_base64_utf8_body_and_b_encoded_subject(void **state)
{
	struct cg_msg m;
	parse_fixture("base64_utf8.eml", &m);
	assert_string_equal(m.subject, "Привет");
	assert_string_equal(m.text, "Привет! 日本語のテキスト. Emoji: 🎉\n"
	                            "Zweite Zeile mit Umlauten: äöüß");
	cg_msg_free(&m);
}

static void
test_unknown_charset_is_read_as_latin1(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(
	    parse_str("From: a@example.org\r\n"
	              "Content-Type: text/plain; charset=x-no-such-set\r\n"
	              "Content-Transfer-Encoding: 8bit\r\n\r\n"
	              "Gr\xfc\xdf"
	              "e\r\n",
	              &m, &err),
	    0);
	assert_string_equal(m.text, "Grüße");
	cg_msg_free(&m);
}

static void
test_invalid_utf8_is_replaced_and_nul_dropped(void **state)
{
	struct cg_msg m;
	char *err;
	const char raw[] = "From: a@example.org\r\n"
	                   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	                   "ok \xff\xfe bad\0nul\r\n";
	memset(&m, 0, sizeof m);
	assert_int_equal(email_parse(raw, sizeof raw - 1, &m, &err), 0);
	assert_string_equal(m.text, "ok \xef\xbf\xbd\xef\xbf\xbd badnul");
	assert_true(valid_utf8(m.text));
	cg_msg_free(&m);
}

static void
test_8bit_headers_utf8_or_latin1(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(parse_str("From: J\xc3\xbcrgen <j@example.org>\r\n"
	                           "Subject: Gr\xfc\xdf"
	                           "e\r\n\r\nx\r\n",
	                           &m, &err),
	                 0);
	assert_string_equal(m.sender_name, "Jürgen");
	assert_string_equal(m.subject, "Grüße");
	cg_msg_free(&m);
}

static void
test_stray_encoded_word_marker_kept_literally(void **state)
{
	char *s = email_decode_header("What =? is =?utf-8?q?this?=", 27);
	assert_string_equal(s, "What =? is this");
	free(s);
	s = email_decode_header("=?utf-8?q?a?= =?utf-8?q?b?=  c", 30);
	assert_string_equal(s, "ab c");
	free(s);
}

/* ---- body choice ------------------------------------------------------ */

static void
test_alternative_prefers_text_plain(void **state)
{
	struct cg_msg m;
	parse_fixture("gmail_alternative.eml", &m);
	assert_string_equal(m.sender_name, "Alice Example");
	assert_string_equal(m.ext_id, "CAKx=abc+def@mail.gmail.com");
	assert_string_equal(m.text,
	                    "Thanks, the notes look good to me – see you "
	                    "Tuesday.\n\nOn Thu, 4 Jan 2024 at 18:02, Bob "
	                    "<bob@example.org> wrote:\n\n> Here are the notes "
	                    "from today.\n>");
	assert_int_equal(m.natt, 0);
	cg_msg_free(&m);
}

static void
test_html_only_becomes_readable_text(void **state)
{
	struct cg_msg m;
	parse_fixture("outlook_html_only.eml", &m);
	/* Word's <p class=MsoNormal> are lines (margin 0), a <p> without a
	 * class a paragraph. */
	assert_string_equal(m.text, "Hallo Team,\n"
	                            "die Agenda für Montag:\n\n"
	                            "- Budget & Planung\n"
	                            "- Neue Mitglieder – Vorstellung\n"
	                            "- Sonstiges → offen\n\n"
	                            "Details unter der Agenda-Seite "
	                            "<https://example.org/agenda?id=1&x=2>.\n\n"
	                            "Grüße\nMaria");
	cg_msg_free(&m);
}

static void
test_empty_plain_alternative_falls_back_to_html(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(
	    parse_str("From: a@example.org\r\n"
	              "Content-Type: multipart/alternative; boundary=b\r\n"
	              "\r\n--b\r\nContent-Type: text/plain\r\n\r\n \r\n"
	              "--b\r\nContent-Type: text/html\r\n\r\n"
	              "<p>Only&nbsp;here</p>\r\n--b--\r\n",
	              &m, &err),
	    0);
	assert_string_equal(m.text, "Only here");
	cg_msg_free(&m);
}

static void
test_html_quotes_entities_and_whitespace(void **state)
{
	const char *h =
	    "<div>Yes&#33; &lt;ok&gt; &#x20AC;5 &amp;&unknown; "
	    "caf&eacute;</div>\n<div><br></div><div>Second\n   line "
	    "<b>bold</b></div><blockquote><div>Quoted "
	    "<i>text</i></div><div>more</div></blockquote>"
	    "<p>After <a href=\"https://x.example/\">https://x.example</a>"
	    "</p><pre>  keep\n    this</pre><script>var x = '<p>';</script>"
	    "<STYLE>p{}</STYLE>End &#150; done";
	char *t = email_html_to_text(h, strlen(h));
	assert_string_equal(t, "Yes! <ok> €5 &&unknown; café\n\n"
	                       "Second line bold\n"
	                       "> Quoted text\n"
	                       "> more\n\n"
	                       "After https://x.example\n\n"
	                       "  keep\n    this\n"
	                       "End – done");
	free(t);
}

static void
test_format_flowed_is_unwrapped(void **state)
{
	struct cg_msg m;
	parse_fixture("flowed.eml", &m);
	assert_string_equal(
	    m.text,
	    "This is a long paragraph that the mail client wrapped at "
	    "seventy-two characters, and it should come back as one line "
	    "after unwrapping by the parser.\n"
	    "From the start, this line was space-stuffed.\n\n"
	    "> Quoted text that was also wrapped by the client.\n\n"
	    "-- \nCarol");
	cg_msg_free(&m);
}

static void
test_format_flowed_delsp_yes(void **state)
{
	struct cg_msg m;
	parse_fixture("flowed_delsp.eml", &m);
	assert_string_equal(m.text, "This word is split: extraordinary and so "
	                            "is this one here.");
	cg_msg_free(&m);
}

/* ---- threading, recipients, lists ------------------------------------- */

static void
test_references_then_in_reply_to_in_order_without_duplicates(void **state)
{
	struct cg_msg m;
	parse_fixture("thread_rcpts.eml", &m);
	assert_int_equal(m.nrefs, 3);
	assert_string_equal(m.refs[0], "root@example.org");
	assert_string_equal(m.refs[1], "reply.1@example.net");
	assert_string_equal(m.refs[2], "reply.2@example.org");
	assert_string_equal(m.list_id, "dev.lists.example.org");
	assert_int_equal(m.received, 1704959999); /* 07:59:59 UTC */
	cg_msg_free(&m);

	char *err;
	assert_int_equal(parse_str("From: a@example.org\r\n"
	                           "In-Reply-To: <parent@x>\r\n"
	                           "References: <root@x>\r\n\r\nx\r\n",
	                           &m, &err),
	                 0);
	assert_int_equal(m.nrefs, 2);
	assert_string_equal(m.refs[0], "root@x");
	assert_string_equal(m.refs[1], "parent@x");
	cg_msg_free(&m);
}

static void
test_malformed_thread_headers_still_yield_ids(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(
	    parse_str("From: a@example.org\r\n"
	              "Message-ID: no-brackets@example.org\r\n"
	              "In-Reply-To: <p@x> (Alice's message of Mon)\r\n"
	              "References: <r1@x> garbage <r2@x>\r\n\r\nx\r\n",
	              &m, &err),
	    0);
	assert_string_equal(m.ext_id, "no-brackets@example.org");
	assert_int_equal(m.nrefs, 3);
	assert_string_equal(m.refs[0], "r1@x");
	assert_string_equal(m.refs[1], "r2@x");
	assert_string_equal(m.refs[2], "p@x");
	cg_msg_free(&m);
}

static void
test_recipients_from_to_cc_delivered_to_and_x_original_to(void **state)
{
	struct cg_msg m;
	parse_fixture("thread_rcpts.eml", &m);
	const char *want[] = {
	    "dev@lists.example.org", "frank@example.com",
	    "gina@example.com",      "hank@example.com",
	    "erin@example.com",      "dev+request@lists.example.org"};
	assert_int_equal(m.nrcpts, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(m.rcpts[i], want[i]);
	cg_msg_free(&m);
}

static void
test_missing_message_id_and_subject_are_fine(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(
	    parse_str("From: Bob <bob@example.org>\n\nhello\n", &m, &err), 0);
	assert_null(m.ext_id);
	assert_null(m.subject);
	assert_int_equal(m.received, 0);
	assert_string_equal(m.text, "hello");
	cg_msg_free(&m);
}

static void
test_unparseable_from_still_gives_an_address(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(parse_str("From: Bob Smith <Bob@Example.org\r\n"
	                           "\r\nhi\r\n",
	                           &m, &err),
	                 0);
	assert_string_equal(m.sender_addr, "bob@example.org");
	cg_msg_free(&m);
}

static void
test_missing_from_is_an_error(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(parse_str("Subject: hi\r\n\r\nbody\r\n", &m, &err),
	                 -1);
	assert_string_equal(err, "no From header");
	assert_null(m.text);
	free(err);
	assert_int_equal(parse_str("just some words\nno header\n", &m, &err),
	                 -1);
	assert_non_null(strstr(err, "not a MIME message"));
	free(err);
}

/* ---- attachments ------------------------------------------------------ */

static void
test_attachments_name_type_size_and_bytes(void **state)
{
	static const unsigned char pdf[] =
	    "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n"
	    "endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
	struct cg_msg m;
	parse_fixture("attachments.eml", &m);
	assert_string_equal(m.text, "Please find the invoice attached.");
	assert_int_equal(m.natt, 4);

	assert_string_equal(m.att[0].name, "invoice.pdf");
	assert_string_equal(m.att[0].type, "application/pdf");
	assert_int_equal(m.att[0].size, sizeof pdf - 1);
	assert_memory_equal(m.att[0].data, pdf, sizeof pdf - 1);

	/* inline with a file name, RFC 2231 single section */
	assert_string_equal(m.att[1].name, "Grüße aus Köln.png");
	assert_string_equal(m.att[1].type, "image/png");
	assert_int_equal(m.att[1].size, 29);
	assert_memory_equal(m.att[1].data, "\x89PNG\r\n\x1a\n", 8);

	/* text/plain with disposition attachment, RFC 2231 continuations */
	assert_string_equal(m.att[2].name, "über die Sitzung.txt");
	assert_string_equal(m.att[2].type, "text/plain");
	assert_int_equal(m.att[2].size, 19);
	assert_memory_equal(m.att[2].data, "Notes file content.", 19);

	/* message/rfc822 kept whole, named after its subject */
	assert_string_equal(m.att[3].name, "Forwarded thing.eml");
	assert_string_equal(m.att[3].type, "message/rfc822");
	assert_non_null(strstr((char *)m.att[3].data, "Forwarded body."));
	cg_msg_free(&m);
}

static void
test_attachment_names_lose_paths_and_decode_rfc2047(void **state)
{
	struct cg_msg m;
	char *err;
	assert_int_equal(
	    parse_str("From: a@example.org\r\n"
	              "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	              "--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
	              "--b\r\nContent-Type: application/octet-stream\r\n"
	              "Content-Disposition: attachment; "
	              "filename=\"../../etc/passwd\"\r\n\r\nx\r\n"
	              "--b\r\nContent-Type: application/pdf; "
	              "name=\"=?ISO-8859-1?Q?Gr=FC=DFe.pdf?=\"\r\n"
	              "Content-Disposition: attachment; "
	              "filename=\"=?ISO-8859-1?Q?Gr=FC=DFe.pdf?=\"\r\n"
	              "\r\ny\r\n--b--\r\n",
	              &m, &err),
	    0);
	assert_int_equal(m.natt, 2);
	assert_string_equal(m.att[0].name, "passwd");
	assert_string_equal(m.att[1].name, "Grüße.pdf");
	cg_msg_free(&m);
}

static void
test_the_kept_mail_has_no_file_bytes_but_its_text_and_part_headers(void **state)
{
	struct cg_msg m;
	parse_fixture("attachments.eml", &m);
	email_raw_drop_attachments(&m);
	assert_int_equal(strlen(m.raw), m.rawlen);
	static const char *const gone[] = {
	    "JVBERi0x", "iVBORw0K", "Notes file content.", "Forwarded body."};
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
		assert_null(strstr(m.raw, gone[i]));
	static const char *const kept[] = {
	    "Message-ID: <att.1@example.org>",
	    "Please find the invoice attached.",
	    "<p>Please find the <b>invoice</b> attached.</p>",
	    "filename=\"invoice.pdf\"", "--mixed-boundary--"};
	for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
		assert_non_null(strstr(m.raw, kept[i]));
	/* still a mail: the same text, the same files, now empty */
	struct cg_msg again = {0};
	char *err = NULL;
	assert_int_equal(email_parse(m.raw, m.rawlen, &again, &err), 0);
	assert_string_equal(again.text, m.text);
	assert_int_equal(again.natt, 4);
	assert_string_equal(again.att[0].name, "invoice.pdf");
	assert_int_equal(again.att[0].size, 0);
	cg_msg_free(&again);
	cg_msg_free(&m);
}

static void
test_a_mail_without_files_is_kept_as_it_came(void **state)
{
	struct cg_msg m;
	char *err;
	const char *raw = "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
	assert_int_equal(parse_str(raw, &m, &err), 0);
	email_raw_drop_attachments(&m);
	assert_int_equal(m.rawlen, strlen(raw));
	assert_string_equal(m.raw, raw);
	cg_msg_free(&m);
}

/* ---- auto-generated mail --------------------------------------------- */

static void
test_auto_generated_flags(void **state)
{
	static const struct {
		const char *headers;
		unsigned flags;
	} cases[] = {
	    {"From: a@example.org\r\nAuto-Submitted: auto-replied\r\n",
	     CG_MSG_AUTO},
	    {"From: a@example.org\r\nAuto-Submitted: auto-generated; "
	     "owner-email=x@y\r\n",
	     CG_MSG_AUTO},
	    {"From: a@example.org\r\nAuto-Submitted: no\r\n", 0},
	    {"From: a@example.org\r\nAuto-Submitted: No (a person)\r\n", 0},
	    {"From: a@example.org\r\nPrecedence: bulk\r\n", CG_MSG_AUTO},
	    {"From: a@example.org\r\nPrecedence: junk\r\n", CG_MSG_AUTO},
	    {"From: a@example.org\r\nPrecedence: List\r\n", CG_MSG_AUTO},
	    {"From: a@example.org\r\nPrecedence: first-class\r\n", 0},
	    {"From: MAILER-DAEMON@mx.example.org\r\n", CG_MSG_AUTO},
	    {"From: Mail System <Postmaster@example.org>\r\n", CG_MSG_AUTO},
	    {"From: postmaster-not@example.org\r\n", 0},
	    {"From: a@example.org\r\nContent-Type: multipart/report; "
	     "report-type=delivery-status; boundary=b\r\n",
	     CG_MSG_AUTO},
	    {"From: a@example.org\r\nX-Autoreply: yes\r\n", CG_MSG_AUTO},
	    {"From: a@example.org\r\n", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cg_msg m;
		char *err;
		char *raw = cg_asprintf("%s\r\nbody\r\n", cases[i].headers);
		assert_int_equal(parse_str(raw, &m, &err), 0);
		if (m.flags != cases[i].flags)
			fail_msg("case %zu: flags %u, want %u", i, m.flags,
			         cases[i].flags);
		cg_msg_free(&m);
		free(raw);
	}
}

/* ---- hostile input --------------------------------------------------- */

static void
check_sane(const char *raw, size_t len)
{
	struct cg_msg m;
	char *err = NULL;
	memset(&m, 0, sizeof m);
	int r = email_parse(raw, len, &m, &err);
	if (r == 0) {
		assert_null(err);
		assert_non_null(m.text);
		assert_true(valid_utf8(m.text));
		assert_non_null(m.sender_addr);
		assert_true(valid_utf8(m.sender_addr));
		if (m.subject)
			assert_true(valid_utf8(m.subject));
		if (m.sender_name)
			assert_true(valid_utf8(m.sender_name));
		for (size_t i = 0; i < m.natt; i++)
			if (m.att[i].name)
				assert_true(valid_utf8(m.att[i].name));
	} else {
		assert_int_equal(r, -1);
		assert_non_null(err);
		assert_null(m.raw);
		assert_null(m.sender_addr);
	}
	free(err);
	cg_msg_free(&m);
	char *rcpt = NULL;
	int permanent;
	if (email_dsn_parse(raw, len, &rcpt, &permanent) == 0)
		assert_non_null(rcpt);
	free(rcpt);
}

static void
test_truncated_fixtures_never_crash(void **state)
{
	static const char *const names[] = {
	    "latin1_qp.eml",         "cp1252.eml",
	    "base64_utf8.eml",       "gmail_alternative.eml",
	    "outlook_html_only.eml", "flowed.eml",
	    "flowed_delsp.eml",      "thread_rcpts.eml",
	    "attachments.eml",       "dsn_permanent.eml",
	    "dsn_delayed.eml"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t len;
		char *raw = load(names[k], &len);
		for (size_t cut = 0; cut <= len; cut++) {
			/* a fresh heap copy so ASan sees reads past the end */
			char *copy = cg_malloc(cut ? cut : 1);
			memcpy(copy, raw, cut);
			check_sane(copy, cut);
			free(copy);
		}
		free(raw);
	}
}

static void
test_hostile_inputs_never_crash(void **state)
{
	struct cg_buf b = CG_BUF_INIT;

	check_sane("", 0);
	check_sane("\0\0\0", 3);
	check_sane("From:", 5);
	check_sane("From: <>\r\n\r\n", 12);
	check_sane(
	    "From: a@b\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n"
	    "\r\n--\r\n--\r\n",
	    strlen("From: a@b\r\nContent-Type: multipart/mixed; "
	           "boundary=\"\"\r\n\r\n--\r\n--\r\n"));

	/* deeply nested multiparts */
	cg_buf_puts(&b, "From: a@example.org\r\n");
	for (int i = 0; i < 200; i++)
		cg_buf_printf(&b,
		              "Content-Type: multipart/mixed; boundary=b%d"
		              "\r\n\r\n--b%d\r\n",
		              i, i);
	cg_buf_puts(&b, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	check_sane(b.data, b.len);

	/* a long header full of encoded-word starts */
	cg_buf_reset(&b);
	cg_buf_puts(&b, "From: a@example.org\r\nSubject: ");
	for (int i = 0; i < 5000; i++)
		cg_buf_puts(&b, "=?");
	cg_buf_puts(&b, "\r\n\r\nx\r\n");
	check_sane(b.data, b.len);

	/* bad base64, bad QP, odd charsets, unterminated multipart */
	cg_buf_reset(&b);
	cg_buf_puts(&b, "From: a@b.example\r\nContent-Transfer-Encoding: "
	                "base64\r\nContent-Type: text/plain; "
	                "charset=\"../../etc//x\"\r\n\r\n!!!!====****\r\n");
	check_sane(b.data, b.len);
	cg_buf_reset(&b);
	cg_buf_puts(&b, "From: a@b.example\r\nContent-Transfer-Encoding: "
	                "quoted-printable\r\nContent-Type: text/plain; "
	                "charset=utf-16\r\n\r\n=\r\n=Z=0=\r\n=F");
	check_sane(b.data, b.len);
	cg_buf_reset(&b);
	cg_buf_puts(&b, "From: a@b.example\r\nContent-Type: multipart/"
	                "alternative; boundary=q\r\n\r\n--q\r\nContent-Type: "
	                "text/html\r\n\r\n<a href=\"x<p <script>\r\n<!--");
	check_sane(b.data, b.len);

	/* pseudo-random bytes behind a valid header (deterministic) */
	unsigned long x = 12345;
	for (int round = 0; round < 200; round++) {
		cg_buf_reset(&b);
		cg_buf_puts(&b, "From: a@b.example\r\nContent-Type: multipart/"
		                "mixed; boundary=z\r\n\r\n--z\r\n");
		for (int i = 0; i < 400; i++) {
			x = x * 1103515245 + 12345;
			static const char alphabet[] =
			    "--z\r\n:;=?<>&#\"'/ abcQB\x80\xff\xc3\x00";
			cg_buf_putc(
			    &b, alphabet[(x >> 16) % (sizeof alphabet - 1)]);
		}
		check_sane(b.data, b.len);
	}
	cg_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_latin1_quoted_printable_body_and_encoded_subject_become_utf8),
	    cmocka_unit_test(test_iso_8859_1_encoded_word_subject),
	    cmocka_unit_test(test_windows_1252_body_and_8bit_subject),
	    cmocka_unit_test(test_base64_utf8_body_and_b_encoded_subject),
	    cmocka_unit_test(test_unknown_charset_is_read_as_latin1),
	    cmocka_unit_test(test_invalid_utf8_is_replaced_and_nul_dropped),
	    cmocka_unit_test(test_8bit_headers_utf8_or_latin1),
	    cmocka_unit_test(test_stray_encoded_word_marker_kept_literally),
	    cmocka_unit_test(test_alternative_prefers_text_plain),
	    cmocka_unit_test(test_html_only_becomes_readable_text),
	    cmocka_unit_test(test_empty_plain_alternative_falls_back_to_html),
	    cmocka_unit_test(test_html_quotes_entities_and_whitespace),
	    cmocka_unit_test(test_format_flowed_is_unwrapped),
	    cmocka_unit_test(test_format_flowed_delsp_yes),
	    cmocka_unit_test(
	        test_references_then_in_reply_to_in_order_without_duplicates),
	    cmocka_unit_test(test_malformed_thread_headers_still_yield_ids),
	    cmocka_unit_test(
	        test_recipients_from_to_cc_delivered_to_and_x_original_to),
	    cmocka_unit_test(test_missing_message_id_and_subject_are_fine),
	    cmocka_unit_test(test_unparseable_from_still_gives_an_address),
	    cmocka_unit_test(test_missing_from_is_an_error),
	    cmocka_unit_test(test_attachments_name_type_size_and_bytes),
	    cmocka_unit_test(
	        test_attachment_names_lose_paths_and_decode_rfc2047),
	    cmocka_unit_test(
	        test_the_kept_mail_has_no_file_bytes_but_its_text_and_part_headers),
	    cmocka_unit_test(test_a_mail_without_files_is_kept_as_it_came),
	    cmocka_unit_test(test_auto_generated_flags),
	    cmocka_unit_test(test_truncated_fixtures_never_crash),
	    cmocka_unit_test(test_hostile_inputs_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
