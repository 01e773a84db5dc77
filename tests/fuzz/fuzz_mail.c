/*
 * fuzz_mail.c: the email bridge's normalize path, from the raw bytes of
 * one mail to a cg_msg and back to an outgoing mail: email_parse (libetpan
 * MIME, charsets, RFC 2047, HTML to text), email_trim, email_dsn_parse,
 * email_compose of what was read (as smtp_out.c does for a list post),
 * email_parse of that composed mail, email_raw_drop_attachments.
 *
 * Must never: accept a composed mail that no longer parses (abort(): a
 * finding).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridges/email/compose.h"
#include "bridges/email/dsn.h"
#include "bridges/email/mime.h"
#include "bridges/email/trim.h"
#include "gateway/msg.h"
#include "tests/fuzz/fuzz.h"

static void
compose_round_trip(const struct cg_msg *m)
{
	struct email_compose_in in = {
	    .list_addr = "dev@lists.example.org",
	    .list_id = "dev.lists.example.org",
	    .channel = "dev",
	    .sender_name = m->sender_name,
	    .sender_addr = m->sender_addr ? m->sender_addr : "x@example.org",
	    .subject = m->subject,
	    .body = m->trimmed,
	    .message_id = m->ext_id,
	    .in_reply_to = m->nrefs ? m->refs[m->nrefs - 1] : NULL,
	    .refs = (const char *const *)m->refs,
	    .nrefs = m->nrefs,
	    .att = m->att,
	    .natt = m->natt,
	    .date = m->received,
	};
	size_t len = 0;
	char *raw = email_compose(&in, &len);
	if (raw == NULL) {
		fprintf(stderr, "fuzz_mail: email_compose gave nothing\n");
		abort();
	}
	struct cg_msg again = {0};
	char *err = NULL;
	if (email_parse(raw, len, &again, &err) != 0) {
		fprintf(stderr,
		        "fuzz_mail: the composed mail does not parse: "
		        "%s\n",
		        err ? err : "?");
		abort();
	}
	cg_msg_free(&again);
	free(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_msg m = {0};
	char *err = NULL;
	if (email_parse((const char *)data, size, &m, &err) != 0) {
		free(err);
		return 0;
	}
	m.trimmed = email_trim(m.text);
	char *rcpt = NULL;
	int permanent = 0;
	if (email_dsn_parse(m.raw, m.rawlen, &rcpt, &permanent) == 0)
		free(rcpt);
	compose_round_trip(&m);
	email_raw_drop_attachments(&m);
	cg_msg_free(&m);
	return 0;
}
