/*
 * test_dsn.c: delivery status notifications (bridges/email/dsn.c): the
 * failed recipient and whether for good.  Sample reports live in
 * tests/fixtures/mail/ (COOPGATE_FIXTURES overrides the directory).
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

static void
test_dsn_permanent_failure(void **state)
{
	size_t len;
	char *raw = load("dsn_permanent.eml", &len);
	char *rcpt = NULL;
	int permanent = -1;
	assert_int_equal(email_dsn_parse(raw, len, &rcpt, &permanent), 0);
	assert_string_equal(rcpt, "nobody@example.com");
	assert_int_equal(permanent, 1);
	free(rcpt);

	struct cg_msg m;
	char *err = NULL;
	memset(&m, 0, sizeof m);
	assert_int_equal(email_parse(raw, len, &m, &err), 0);
	assert_true(m.flags & CG_MSG_AUTO);
	cg_msg_free(&m);
	free(raw);
}

static void
test_dsn_temporary_failure(void **state)
{
	size_t len;
	char *raw = load("dsn_delayed.eml", &len);
	char *rcpt = NULL;
	int permanent = -1;
	assert_int_equal(email_dsn_parse(raw, len, &rcpt, &permanent), 0);
	assert_string_equal(rcpt, "slow@example.net");
	assert_int_equal(permanent, 0);
	free(rcpt);
	free(raw);
}

static void
test_dsn_absent_or_successful(void **state)
{
	size_t len;
	char *raw = load("latin1_qp.eml", &len);
	char *rcpt = NULL;
	int permanent;
	assert_int_equal(email_dsn_parse(raw, len, &rcpt, &permanent), -1);
	assert_null(rcpt);
	free(raw);

	const char *ok = "From: MAILER-DAEMON@x\r\n"
	                 "Content-Type: multipart/report; boundary=b\r\n\r\n"
	                 "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
	                 "Reporting-MTA: dns; x\r\n\r\n"
	                 "Final-Recipient: rfc822; a@b.example\r\n"
	                 "Action: delivered\r\nStatus: 2.0.0\r\n\r\n--b--\r\n";
	assert_int_equal(email_dsn_parse(ok, strlen(ok), &rcpt, &permanent),
	                 -1);
	assert_null(rcpt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dsn_permanent_failure),
	    cmocka_unit_test(test_dsn_temporary_failure),
	    cmocka_unit_test(test_dsn_absent_or_successful),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
