/*
 * fuzz_request.c: the CHANNEL+request@ command parser (bridges/email/
 * request.c): the subject read as a command line or a "confirm TOKEN"
 * reply, and the body's command lines.  The input's first line is the
 * subject, the rest the body text.
 *
 * The parser (subject_commands, body_commands) is static in request.c:
 * this file includes that source file whole to reach it (the archive's
 * request.o is then not linked), rather than widening the bridge's
 * interface for a test.
 *
 * Must never: touch a store (only the parser runs).
 */
#include "bridges/email/request.c"

#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *nl = strchr(s, '\n');
	const char *body = "";
	if (nl) {
		*nl = '\0';
		body = nl + 1;
	}
	struct commands cs = {.n = 0};
	subject_commands(s, &cs);
	body_commands(body, &cs);
	commands_free(&cs);
	free(s);
	return 0;
}
