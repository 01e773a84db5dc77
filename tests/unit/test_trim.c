/*
 * test_trim.c: what of a mail reaches the chat room (bridges/email/trim.c).
 * Each case is a reply as a real client writes it, with the exact text the
 * room should see.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bridges/email/trim.h"

static void
check(const char *mail, const char *want)
{
	char *got = email_trim(mail);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_gmail_reply_above_quote(void **state)
{
	check("Thanks, sounds good.\n"
	      "\n"
	      "On Thu, 4 Jan 2024 at 18:02, Bob <bob@example.org> wrote:\n"
	      "\n"
	      "> Here are the notes from today.\n"
	      ">\n"
	      "> Bob\n",
	      "Thanks, sounds good.");
}

static void
test_gmail_attribution_wrapped_over_two_lines(void **state)
{
	check("Sure, I'll bring the projector.\n"
	      "\n"
	      "On Thu, 4 Jan 2024 at 18:02, Bob Example via dev <\n"
	      "dev@lists.example.org> wrote:\n"
	      "\n"
	      "> Who has a projector?\n",
	      "Sure, I'll bring the projector.");
}

static void
test_thunderbird_german_with_greeting(void **state)
{
	check("Passt für mich.\n"
	      "\n"
	      "Viele Grüße\n"
	      "Anna\n"
	      "\n"
	      "Am 04.01.24 um 18:02 schrieb Bob Beispiel:\n"
	      "> Hier die Notizen.\n"
	      "> -- \n"
	      "> Bob\n",
	      "Passt für mich.\n\nViele Grüße\nAnna");
}

static void
test_apple_mail_iphone(void **state)
{
	check("Yes!\n"
	      "\n"
	      "Sent from my iPhone\n"
	      "\n"
	      "> On 4. Jan 2024, at 18:02, Bob <bob@example.org> wrote:\n"
	      "> \n"
	      "> Lunch on Friday?\n",
	      "Yes!");
}

static void
test_outlook_original_message(void **state)
{
	check("I agree with the proposal.\n"
	      "\n"
	      "Best,\n"
	      "Carl\n"
	      "\n"
	      "-----Original Message-----\n"
	      "From: Bob <bob@example.org>\n"
	      "Sent: Thursday, January 4, 2024 6:02 PM\n"
	      "To: dev@lists.example.org\n"
	      "Subject: Proposal\n"
	      "\n"
	      "Here is the proposal.\n",
	      "I agree with the proposal.\n\nBest,\nCarl");
}

static void
test_outlook_underscore_separator(void **state)
{
	check("Agreed, let's do it.\n"
	      "\n"
	      "________________________________\n"
	      "From: Bob <bob@example.org>\n"
	      "Sent: Thursday, January 4, 2024 18:02\n"
	      "To: dev <dev@lists.example.org>\n"
	      "Subject: Plan\n"
	      "\n"
	      "The plan is attached.\n",
	      "Agreed, let's do it.");
}

static void
test_outlook_german_header_block(void **state)
{
	check("Danke, ist erledigt.\n"
	      "\n"
	      "Mit freundlichen Grüßen\n"
	      "Maria Schmidt\n"
	      "\n"
	      "Von: Bob Beispiel <bob@example.org>\n"
	      "Gesendet: Donnerstag, 4. Januar 2024 18:02\n"
	      "An: dev@lists.example.org\n"
	      "Betreff: Rechnung\n"
	      "\n"
	      "Bitte die Rechnung prüfen.\n",
	      "Danke, ist erledigt.\n\nMit freundlichen Grüßen\nMaria Schmidt");
}

static void
test_outlook_block_rendered_bold_by_gmail(void **state)
{
	check("Ok for me.\n"
	      "\n"
	      "*From:* Bob <bob@example.org>\n"
	      "*Sent:* Thursday, January 4, 2024 6:02 PM\n"
	      "*To:* dev@lists.example.org\n"
	      "*Subject:* Notes\n"
	      "\n"
	      "Notes\n",
	      "Ok for me.");
}

static void
test_french_gmail(void **state)
{
	check("D'accord, merci.\n"
	      "\n"
	      "Le jeu. 4 janv. 2024 à 18:02, Bob <bob@example.org> a écrit :\n"
	      "\n"
	      "> Voici les notes.\n",
	      "D'accord, merci.");
}

static void
test_spanish_dutch_italian_portuguese_swedish(void **state)
{
	check("Perfecto.\n\nEl jue, 4 ene 2024 a las 18:02, Bob "
	      "(<bob@example.org>) escribió:\n> Aquí están las notas.\n",
	      "Perfecto.");
	check("Prima.\n\nOp do 4 jan. 2024 om 18:02 schreef Bob "
	      "<bob@example.org>:\n> Hier zijn de notities.\n",
	      "Prima.");
	check("Va bene.\n\nIl giorno gio 4 gen 2024 alle ore 18:02 Bob "
	      "<bob@example.org> ha scritto:\n> Ecco le note.\n",
	      "Va bene.");
	check("Combinado.\n\nEm qui., 4 de jan. de 2024 às 18:02, Bob "
	      "<bob@example.org> escreveu:\n> Aqui estão as notas.\n",
	      "Combinado.");
	check("Låter bra.\n\nDen tors 4 jan. 2024 kl 18:02 skrev Bob "
	      "<bob@example.org>:\n> Här är anteckningarna.\n",
	      "Låter bra.");
}

static void
test_inline_replies_keep_own_text(void **state)
{
	check("Bob Example wrote:\n"
	      "> Can you do Tuesday?\n"
	      "\n"
	      "Yes, after 3pm.\n"
	      "\n"
	      "> And bring the report?\n"
	      "> It's on the shared drive.\n"
	      "Sure, I'll print it.\n"
	      "\n"
	      "-- \n"
	      "Alice Example\n"
	      "Coop Board\n",
	      "Yes, after 3pm.\n\nSure, I'll print it.");
}

static void
test_signature_after_dash_dash_space(void **state)
{
	check("See you then.\n"
	      "-- \n"
	      "Alice Example\n"
	      "https://example.org\n",
	      "See you then.");
	check("Thanks\n--\nBob\n", "Thanks");
}

static void
test_thunderbird_top_post_with_signature(void **state)
{
	check("Reply on top.\n"
	      "\n"
	      "-- \n"
	      "Sig line\n"
	      "\n"
	      "On 04.01.24 18:02, Bob wrote:\n"
	      "> old text\n",
	      "Reply on top.");
}

static void
test_mobile_signatures(void **state)
{
	check("Ok\n\nVon meinem iPhone gesendet\n", "Ok");
	check("Ok\n\nGet Outlook for Android<https://aka.ms/ghei36>\n", "Ok");
	check("Ok\n\nGet Outlook for iOS\n", "Ok");
	check("Ok\n\nSent from Mail for Windows\n", "Ok");
	check("Ok\nSent from my Samsung Galaxy smartphone.\n", "Ok");
	check("Ok\n\nSent from my Android device\n", "Ok");
	check("Ok\n\nInviato da iPhone\n", "Ok");
	check("Ok\n\nDiese Nachricht wurde von meinem Android Mobiltelefon "
	      "mit GMX Mail gesendet.\n",
	      "Ok");
	check("Von meinem Standpunkt aus ist das ok.\n",
	      "Von meinem Standpunkt aus ist das ok.");
}

static void
test_all_quoted_returns_text_minus_signature(void **state)
{
	check("On Thu, 4 Jan 2024, Bob <bob@example.org> wrote:\n"
	      "> Please read this.\n"
	      "> Thanks\n"
	      "-- \n"
	      "Alice\n",
	      "On Thu, 4 Jan 2024, Bob <bob@example.org> wrote:\n"
	      "> Please read this.\n"
	      "> Thanks");
}

static void
test_signature_only_is_not_emptied(void **state)
{
	check("-- \nAlice Example\n", "--\nAlice Example");
}

static void
test_forwarded_message_is_kept(void **state)
{
	check("FYI\n"
	      "\n"
	      "---------- Forwarded message ---------\n"
	      "From: Bob <bob@example.org>\n"
	      "Date: Thu, 4 Jan 2024 at 18:02\n"
	      "Subject: Notes\n"
	      "To: <dev@lists.example.org>\n"
	      "\n"
	      "The notes.\n",
	      "FYI\n\n"
	      "---------- Forwarded message ---------\n"
	      "From: Bob <bob@example.org>\n"
	      "Date: Thu, 4 Jan 2024 at 18:02\n"
	      "Subject: Notes\n"
	      "To: <dev@lists.example.org>\n\n"
	      "The notes.");
}

static void
test_words_like_wrote_in_text_are_kept(void **state)
{
	check("On Monday Bob wrote the report.\nIt is fine.\n",
	      "On Monday Bob wrote the report.\nIt is fine.");
	check("Thanks!\nBob wrote:\n> q\n", "Thanks!");
}

static void
test_crlf_and_blank_lines(void **state)
{
	check("\r\n\r\nHi all,\r\n\r\n\r\nsee below.\r\n\r\n> q\r\n\r\n",
	      "Hi all,\n\nsee below.");
	check(NULL, "");
	check("", "");
	check("\n \n\t\n", "");
}

static int
has_words(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 1;
	return 0;
}

static void
test_never_empty_for_a_mail_with_words(void **state)
{
	static const char *const pieces[] = {
	    "> quoted\n",
	    ">\n",
	    "-- \n",
	    "--\n",
	    "\n",
	    "\r\n",
	    "text ",
	    "On 1 Jan 2024, Bob <b@x> wrote:\n",
	    "Sent from my iPhone\n",
	    "-----Original Message-----\n",
	    "From: a\nSent: b\nSubject: c\n",
	    "________________________________\n",
	    "Am 1.1. schrieb A:\n",
	    "word\n",
	    " \t "};
	unsigned long x = 42;
	for (int round = 0; round < 2000; round++) {
		char buf[1024] = "";
		size_t len = 0;
		int n = 1 + (int)((x >> 16) % 12);
		for (int i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			const char *p = pieces[(x >> 16) % (sizeof pieces /
			                                    sizeof pieces[0])];
			size_t pl = strlen(p);
			if (len + pl >= sizeof buf)
				break;
			memcpy(buf + len, p, pl + 1);
			len += pl;
		}
		char *got = email_trim(buf);
		if (has_words(buf) && !has_words(got))
			fail_msg("empty trim for \"%s\"", buf);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gmail_reply_above_quote),
	    cmocka_unit_test(test_gmail_attribution_wrapped_over_two_lines),
	    cmocka_unit_test(test_thunderbird_german_with_greeting),
	    cmocka_unit_test(test_apple_mail_iphone),
	    cmocka_unit_test(test_outlook_original_message),
	    cmocka_unit_test(test_outlook_underscore_separator),
	    cmocka_unit_test(test_outlook_german_header_block),
	    cmocka_unit_test(test_outlook_block_rendered_bold_by_gmail),
	    cmocka_unit_test(test_french_gmail),
	    cmocka_unit_test(test_spanish_dutch_italian_portuguese_swedish),
	    cmocka_unit_test(test_inline_replies_keep_own_text),
	    cmocka_unit_test(test_signature_after_dash_dash_space),
	    cmocka_unit_test(test_thunderbird_top_post_with_signature),
	    cmocka_unit_test(test_mobile_signatures),
	    cmocka_unit_test(test_all_quoted_returns_text_minus_signature),
	    cmocka_unit_test(test_signature_only_is_not_emptied),
	    cmocka_unit_test(test_forwarded_message_is_kept),
	    cmocka_unit_test(test_words_like_wrote_in_text_are_kept),
	    cmocka_unit_test(test_crlf_and_blank_lines),
	    cmocka_unit_test(test_never_empty_for_a_mail_with_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
