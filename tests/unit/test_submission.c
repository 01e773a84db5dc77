/*
 * test_submission.c: bridges/email/sender_auth.c. email_auth_results_trusted():
 * which Authentication-Results count (only the trusted MTA's, above its
 * receipt, none when one below claims its id).  email_submission_trusted(),
 * the trusted MTA's Received
 * header as proof of an authenticated submission: which header is read
 * (the delivery hop above it skipped, a forged one below ignored, another
 * server above refused), how a login stands for the From address, and
 * garbage.  The headers are shaped like the test stack's Postfix and
 * Dovecot LMTP write them.
 */
#include "testutil.h"

#include "bridges/email/sender_auth.h"

#define HOST "mail.example.org"

/* Dovecot LMTP's delivery into the mailbox, handed over by Postfix. */
#define LMTP_HOP                                                               \
	" from mail.example.org ([127.0.0.1])\r\n\tby vm with LMTP\r\n\t"      \
	"id aKZ4BfxfBGuwSwAAg+zDdQ\r\n\t(envelope-from <alice@example.org>)"   \
	"\r\n\tfor <dev+request@lists.example.org>; Mon, 23 Nov 2026 "         \
	"15:47:08 +0000"

/* Postfix's header for a submission with SASL, login as given. */
static char *
postfix_submission(const char *login)
{
	return cg_asprintf(
	    " from client.test.example.org (unknown [127.0.0.1])\r\n"
	    "\t(Authenticated sender: %s)\r\n"
	    "\tby mail.example.org (Postfix) with ESMTPSA id 06572A78144\r\n"
	    "\tfor <dev+request@lists.example.org>; Mon, 23 Nov 2026 "
	    "15:47:07 +0000 (UTC)",
	    login);
}

/* The stack's two headers for a submission by login, as From `from`. */
static enum email_submission
submitted(const char *login, const char *from)
{
	char *pf = postfix_submission(login);
	const char *v[2] = {LMTP_HOP, pf};
	enum email_submission r = email_submission_trusted(v, 2, HOST, from);
	free(pf);
	return r;
}

static enum email_submission
one(const char *received, const char *from)
{
	const char *v[1] = {received};
	return email_submission_trusted(v, 1, HOST, from);
}

static void
test_submission_by_the_from_address_is_trusted(void **st)
{
	/* the stack's users log in with their local part or full address */
	assert_int_equal(submitted("alice", "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
	assert_int_equal(submitted("alice@example.org", "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
	/* a bare login at the host's own name too */
	assert_int_equal(submitted("alice", "alice@mail.example.org"),
	                 EMAIL_SUBMISSION_OK);
	/* no delivery hop on top (Dovecot LDA, or read before delivery) */
	char *pf = postfix_submission("alice");
	assert_int_equal(one(pf, "alice@example.org"), EMAIL_SUBMISSION_OK);
	free(pf);
	/* ESMTPA (no TLS) and the SMTPUTF8 forms count as well */
	assert_int_equal(one(" from x (unknown [10.0.0.1]) (Authenticated "
	                     "sender: alice) by mail.example.org (Postfix) "
	                     "with ESMTPA id 1; Mon, 1 Jan 2024 00:00:00 +0000",
	                     "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
	assert_int_equal(one(" from x (unknown [10.0.0.1]) (Authenticated "
	                     "sender: alice) by mail.example.org (Postfix) "
	                     "with UTF8SMTPSA id 1; Mon, 1 Jan 2024",
	                     "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
}

static void
test_submission_with_tls_details_in_the_header_is_trusted(void **st)
{
	/* smtpd_tls_received_header = yes: nested comments before the login */
	const char *v[2] = {
	    LMTP_HOP,
	    " from client.test.example.org (unknown [127.0.0.1])\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 "
	    "bits)\r\n\t key-exchange X25519 server-signature ECDSA (P-256)"
	    " server-digest SHA256)\r\n\t(No client certificate requested)"
	    "\r\n\t(Authenticated sender: alice)\r\n\tby mail.example.org "
	    "(Postfix) with ESMTPSA id 06572A78144\r\n\tfor "
	    "<dev+request@lists.example.org>; Mon, 23 Nov 2026 15:47:07 "
	    "+0000 (UTC)",
	};
	assert_int_equal(
	    email_submission_trusted(v, 2, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_OK);
}

static void
test_login_that_is_not_the_from_address_is_refused(void **st)
{
	assert_int_equal(submitted("bob", "alice@example.org"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(submitted("bob@example.org", "alice@example.org"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(submitted("alice@example.org", "alice@evil.example"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	/* a bare login maps to the host's mail domain only */
	assert_int_equal(submitted("alice", "alice@evil.example"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(submitted("alice", "alice@sub.example.org"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(submitted("alice", "alice@org"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(submitted("ali", "alice@example.org"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(submitted("alicex", "alice@example.org"),
	                 EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(
	    submitted("alice@example.org.evil", "alice@example.org"),
	    EMAIL_SUBMISSION_OTHER_LOGIN);
	/* a two-label host: "org" is no mail domain to map into */
	const char *v[1] = {" from x (Authenticated sender: alice) by mail.org "
	                    "(Postfix) with ESMTPSA id 1; date"};
	assert_int_equal(
	    email_submission_trusted(v, 1, "mail.org", "alice@org"),
	    EMAIL_SUBMISSION_OTHER_LOGIN);
	assert_int_equal(
	    email_submission_trusted(v, 1, "mail.org", "alice@mail.org"),
	    EMAIL_SUBMISSION_OK);
}

static void
test_forged_received_below_the_trusted_one_is_ignored(void **st)
{
	/* sent on port 25 without AUTH, carrying a made-up record */
	const char *v[3] = {
	    LMTP_HOP,
	    " from client.test.example.org (unknown [127.0.0.1])\r\n\tby "
	    "mail.example.org (Postfix) with ESMTP id A3B40A78470\r\n\tfor "
	    "<dev+request@lists.example.org>; Mon, 23 Nov 2026 15:47:11 "
	    "+0000 (UTC)",
	    " from client (localhost [127.0.0.1]) (Authenticated sender: "
	    "alice) by\r\n mail.example.org (Postfix) with ESMTPSA id ABC; "
	    "Mon, 1 Jan 2024 00:00:00\r\n +0000",
	};
	assert_int_equal(
	    email_submission_trusted(v, 3, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_NO_AUTH);
	/* bob logged in, the forged record below says alice: bob counts */
	char *pf = postfix_submission("bob");
	v[1] = pf;
	assert_int_equal(
	    email_submission_trusted(v, 3, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_OTHER_LOGIN);
	free(pf);
}

static void
test_received_of_another_host_on_top_is_refused(void **st)
{
	char *pf = postfix_submission("alice");
	/* another relay after the trusted host: its record is not believed */
	const char *relayed[3] = {
	    " from mx.other.example (mx.other.example [192.0.2.1]) by "
	    "mx2.example.org (Postfix) with ESMTPS id 1; Mon, 1 Jan 2024",
	    LMTP_HOP,
	    pf,
	};
	assert_int_equal(
	    email_submission_trusted(relayed, 3, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_RELAYED);
	/* an LMTP delivery handed over by some other host is no skip */
	const char *other_lmtp[2] = {
	    " from mx.other.example ([192.0.2.1]) by vm with LMTP id x; "
	    "Mon, 1 Jan 2024",
	    pf,
	};
	assert_int_equal(
	    email_submission_trusted(other_lmtp, 2, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_RELAYED);
	/* a host whose name only starts like the trusted one */
	const char *lookalike[1] = {
	    " from x (Authenticated sender: alice) by mail.example.org.evil "
	    "(Postfix) with ESMTPSA id 1; date",
	};
	assert_int_equal(
	    email_submission_trusted(lookalike, 1, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_RELAYED);
	/* nothing of the trusted host at all */
	const char *none[1] = {LMTP_HOP};
	assert_int_equal(
	    email_submission_trusted(none, 1, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_NO_RECORD);
	assert_int_equal(
	    email_submission_trusted(NULL, 0, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_NO_RECORD);
	/* no trusted host configured: nothing is believed */
	const char *v[2] = {LMTP_HOP, pf};
	assert_int_equal(
	    email_submission_trusted(v, 2, NULL, "alice@example.org"),
	    EMAIL_SUBMISSION_NO_RECORD);
	assert_int_equal(
	    email_submission_trusted(v, 2, "", "alice@example.org"),
	    EMAIL_SUBMISSION_NO_RECORD);
	free(pf);
}

static void
test_same_host_delivery_hop_is_skipped(void **st)
{
	/* Dovecot on the MTA's host writes "by mail.example.org with LMTP" */
	char *pf = postfix_submission("alice");
	const char *v[2] = {
	    " from mail.example.org ([127.0.0.1]) by mail.example.org with "
	    "LMTP id x (envelope-from <alice@example.org>) for "
	    "<dev+request@lists.example.org>; Mon, 1 Jan 2024",
	    pf,
	};
	assert_int_equal(
	    email_submission_trusted(v, 2, HOST, "alice@example.org"),
	    EMAIL_SUBMISSION_OK);
	free(pf);
}

static void
test_folded_lines_and_case_do_not_matter(void **st)
{
	assert_int_equal(one("\r\n\tfrom client.test.example.org\r\n\t"
	                     "(unknown [127.0.0.1])\r\n\t(Authenticated\r\n\t "
	                     "sender:\r\n\t\tAlice@Example.ORG)\r\n\tBY\r\n\t"
	                     "Mail.Example.Org\r\n\t(Postfix)\r\n\tWITH\r\n\t"
	                     "esmtpsa\r\n\tID 1\r\n\t; date",
	                     "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
	assert_int_equal(one(" from x (AUTHENTICATED SENDER: ALICE) by "
	                     "MAIL.EXAMPLE.ORG with EsmtpSA id 1; date",
	                     "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
	const char *v[2] = {
	    " FROM Mail.Example.ORG ([127.0.0.1])\n\tBY vm WITH lmtp; d",
	    " from x\n (Authenticated sender: alice)\n by mail.example.org\n"
	    " with ESMTPSA; d",
	};
	assert_int_equal(email_submission_trusted(v, 2, "MAIL.example.org",
	                                          "alice@example.org"),
	                 EMAIL_SUBMISSION_OK);
}

static void
test_what_the_header_must_say_exactly(void **st)
{
	const char *from = "alice@example.org";
	/* no authentication recorded */
	assert_int_equal(one(" from x (unknown [127.0.0.1]) by mail.example.org"
	                     " (Postfix) with ESMTPS id 1; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* a login comment, but the MTA says the session had no AUTH (as a
	 * HELO name would, were it not sanitised) */
	assert_int_equal(one(" from x (Authenticated sender: alice) (unknown "
	                     "[1.2.3.4]) by mail.example.org (Postfix) with "
	                     "ESMTP id 1; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* AUTH, but the login comment is not directly before "by" */
	assert_int_equal(one(" from x (Authenticated sender: alice) (unknown "
	                     "[1.2.3.4]) by mail.example.org (Postfix) with "
	                     "ESMTPSA id 1; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* two login comments: ambiguous, whichever is last */
	assert_int_equal(one(" from x (Authenticated sender: alice) (unknown "
	                     "[1.2.3.4]) (Authenticated sender: alice) by "
	                     "mail.example.org with ESMTPSA id 1; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	assert_int_equal(one(" from x (Authenticated sender: alice) (unknown "
	                     "[1.2.3.4]) (Authenticated sender: mallory) by "
	                     "mail.example.org with ESMTPSA id 1; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* a login that is no single word */
	assert_int_equal(one(" from x (Authenticated sender: alice bob) by "
	                     "mail.example.org with ESMTPSA; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	assert_int_equal(one(" from x (Authenticated sender: ) by "
	                     "mail.example.org with ESMTPSA; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* LMTPA is a delivery, not a submission */
	assert_int_equal(one(" from x (Authenticated sender: alice) by "
	                     "mail.example.org with LMTPA; date",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* words in the date part are not clauses */
	assert_int_equal(one(" from x (unknown) by mail.example.org with ESMTP"
	                     "; (Authenticated sender: alice) by "
	                     "mail.example.org with ESMTPSA",
	                     from),
	                 EMAIL_SUBMISSION_NO_AUTH);
	/* the same clause twice: not readable, so not believed */
	assert_int_equal(one(" from x (Authenticated sender: alice) by "
	                     "mail.example.org by mail.example.org with "
	                     "ESMTPSA; date",
	                     from),
	                 EMAIL_SUBMISSION_RELAYED);
	assert_int_equal(one(" from x (Authenticated sender: alice) by "
	                     "mail.example.org with ESMTP with ESMTPSA; date",
	                     from),
	                 EMAIL_SUBMISSION_RELAYED);
	/* unreadable after good clauses: still not believed */
	assert_int_equal(one(" from x (Authenticated sender: alice) by "
	                     "mail.example.org with ESMTPSA ) id 1; date",
	                     from),
	                 EMAIL_SUBMISSION_RELAYED);
	assert_int_equal(one(" from x (Authenticated sender: alice) by "
	                     "mail.example.org with ESMTPSA (unclosed",
	                     from),
	                 EMAIL_SUBMISSION_RELAYED);
	assert_int_equal(one(" from x (Authenticated sender: alice) by "
	                     "mail.example.org with ESMTPSA \"unclosed",
	                     from),
	                 EMAIL_SUBMISSION_RELAYED);
	/* a bad From is never matched */
	assert_int_equal(submitted("alice", "alice"),
	                 EMAIL_SUBMISSION_NO_RECORD);
	assert_int_equal(submitted("alice", NULL), EMAIL_SUBMISSION_NO_RECORD);
}

static void
test_garbage_is_not_trusted_and_does_not_crash(void **st)
{
	const char *from = "alice@example.org";
	static const char *const junk[] = {
	    "",
	    " ",
	    ";",
	    "(",
	    ")",
	    "\"",
	    "\\",
	    "by",
	    " by mail.example.org",
	    " from",
	    " (Authenticated sender: alice) by",
	    " from x (Authenticated sender: alice by mail.example.org with "
	    "ESMTPSA; date",
	    " from x (Authenticated sender: alice)) by mail.example.org "
	    "with ESMTPSA; date",
	    " from x \"(Authenticated sender: alice) by mail.example.org "
	    "with ESMTPSA; date",
	    " from x (Authenticated sender: alice\\) by mail.example.org "
	    "with ESMTPSA; date",
	    " ((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
	    " )))))))))))))))))))))))))))))))))))))))))))))))))))))))",
	    " from x (Authenticated sender: al\x01ice) by mail.example.org "
	    "with ESMTPSA; date",
	};
	for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
		assert_int_not_equal(one(junk[i], from), EMAIL_SUBMISSION_OK);
		/* above a good header, junk is not skipped */
		char *pf = postfix_submission("alice");
		const char *v[2] = {junk[i], pf};
		assert_int_not_equal(email_submission_trusted(v, 2, HOST, from),
		                     EMAIL_SUBMISSION_OK);
		free(pf);
	}
	/* a NULL value is no header to skip */
	char *pf = postfix_submission("alice");
	const char *v[2] = {NULL, pf};
	assert_int_equal(email_submission_trusted(v, 2, HOST, from),
	                 EMAIL_SUBMISSION_RELAYED);
	free(pf);
	/* very long values */
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_puts(&b, " from x");
	for (int i = 0; i < 5000; i++)
		cg_buf_puts(&b, " (comment (nested \\) text))");
	cg_buf_puts(&b, " (Authenticated sender: alice) by mail.example.org "
	                "with ESMTPSA id 1; date");
	assert_int_equal(one(cg_buf_str(&b), from), EMAIL_SUBMISSION_OK);
	cg_buf_reset(&b);
	for (int i = 0; i < 20000; i++)
		cg_buf_putc(&b, '(');
	assert_int_equal(one(cg_buf_str(&b), from), EMAIL_SUBMISSION_RELAYED);
	cg_buf_free(&b);
}

/* Postfix's Received header for a mail from outside (no login). */
#define RECEIPT                                                                \
	" from mx.elsewhere.example (unknown [192.0.2.7])\r\n\tby "            \
	"mail.example.org (Postfix) with ESMTP id 4A1B2C3D\r\n\tfor "          \
	"<dev@lists.example.org>; Mon, 23 Nov 2026 15:47:07 +0000 (UTC)"
#define AR(v)                                                                  \
	{                                                                      \
		1, (char *)(v)                                                 \
	}
#define RCV(v)                                                                 \
	{                                                                      \
		0, (char *)(v)                                                 \
	}

static int
ar_trusted(const struct email_trace *t, size_t n, const char *from)
{
	return email_auth_results_trusted(t, n, HOST, from);
}

/* One Authentication-Results value above the MTA's receipt. */
static int
trusted(const char *v, const char *from)
{
	const struct email_trace t[] = {AR(v), RCV(RECEIPT)};
	return ar_trusted(t, 2, from);
}

static void
test_auth_results_trust_only_our_server_and_aligned_passes(void **st)
{
	assert_true(trusted("mail.example.org; dkim=pass header.d=example.org "
	                    "header.s=sel; spf=fail",
	                    "example.org"));
	assert_true(trusted("mail.example.org 1; dmarc=pass (p=reject dis=none)"
	                    " header.from=example.org",
	                    "example.org"));
	assert_true(trusted("Mail.Example.org;\r\n\tspf=pass smtp.mailfrom="
	                    "a@example.org;\r\n\tdmarc=pass header.from="
	                    "example.org",
	                    "example.org"));
	assert_true(trusted("mail.example.org; dkim=pass (2048-bit key) "
	                    "header.d=example.org",
	                    "lists.example.org"));
	assert_true(trusted("mail.example.org; dkim=pass header.i=@example.org",
	                    "example.org"));
	assert_true(trusted("mail.example.org; dmarc=pass", "example.org"));
	assert_true(trusted("(comment) mail.example.org; dkim = pass "
	                    "header.d = example.org",
	                    "example.org"));
	/* Not enough. */
	assert_false(trusted("mail.example.org; dkim=fail header.d=example.org",
	                     "example.org"));
	assert_false(
	    trusted("mail.example.org; dkim=pass header.d=evil.example",
	            "example.org"));
	assert_false(trusted("mail.example.org; spf=pass smtp.mailfrom="
	                     "example.org",
	                     "example.org"));
	assert_false(trusted("mail.example.org; dmarc=pass header.from="
	                     "evil.example",
	                     "example.org"));
	assert_false(trusted("mail.example.org; dmarc=fail header.from="
	                     "example.org",
	                     "example.org"));
	assert_false(trusted("mail.example.org; none", "example.org"));
	assert_false(trusted("other.example; dkim=pass header.d=example.org",
	                     "example.org"));
	assert_false(
	    trusted("mail.example.org.evil; dmarc=pass", "example.org"));
	assert_false(
	    trusted("mail.example.org; dkim=pass (header.d=example.org)"
	            " header.d=evil.example",
	            "example.org"));
	assert_false(
	    trusted("mail.example.org; dkim=pass reason=\"x; dmarc=pass\""
	            " header.d=evil.example",
	            "example.org"));
	assert_false(trusted("mail.example.org; dkim=pass header.d=org",
	                     "org"
	                     ".example"));
	/* Only the topmost header of our server counts. */
	const struct email_trace two[] = {
	    AR("mail.example.org; dmarc=fail header.from=a.example"),
	    AR("mail.example.org; dmarc=pass header.from=a.example"),
	    RCV(RECEIPT)};
	assert_false(ar_trusted(two, 3, "a.example"));
	const struct email_trace other_first[] = {
	    AR("mx.other; dmarc=fail"), AR("mail.example.org; dmarc=pass"),
	    RCV(RECEIPT)};
	assert_true(ar_trusted(other_first, 3, "a.example"));
	assert_false(
	    email_auth_results_trusted(other_first, 3, NULL, "a.example"));
	/* Garbage is not trusted, and does not crash. */
	assert_false(trusted("", "example.org"));
	assert_false(trusted("mail.example.org", "example.org"));
	assert_false(trusted("mail.example.org; dkim=pass header.d=example.org"
	                     " (unclosed",
	                     "evil.example"));
	assert_false(
	    trusted("mail.example.org; \"unclosed dmarc=pass", "example.org"));
	assert_false(
	    trusted("mail.example.org; =pass ==== ;;;; =", "example.org"));
	struct cg_buf many = CG_BUF_INIT;
	cg_buf_puts(&many, "mail.example.org; dkim=pass");
	for (int i = 0; i < 200; i++)
		cg_buf_puts(&many, " x.y=z");
	cg_buf_puts(&many, " header.d=example.org");
	assert_false(trusted(cg_buf_str(&many), "evil.example"));
	assert_true(trusted(cg_buf_str(&many), "example.org"));
	cg_buf_free(&many);
	assert_false(
	    email_auth_results_trusted(other_first, 3, "", "a.example"));
}

static void
test_auth_results_below_the_receipt_are_forged(void **st)
{
	static const char pass[] = "mail.example.org; dkim=pass "
	                           "header.d=example.org";
	/* The production layout: the delivery hop, the MTA's results, its
	 * receipt. */
	const struct email_trace real[] = {RCV(LMTP_HOP), AR(pass),
	                                   RCV(RECEIPT)};
	assert_true(ar_trusted(real, 3, "example.org"));
	/* Written by the sender: below the receipt, so it came with the
	 * message. */
	const struct email_trace below[] = {RCV(LMTP_HOP), RCV(RECEIPT),
	                                    AR(pass)};
	assert_false(ar_trusted(below, 3, "example.org"));
	/* A genuine-looking one above does not help when one below claims
	 * the same authserv-id (RFC 8601 section 5). */
	const struct email_trace both[] = {
	    AR("mail.example.org; dkim=none"), RCV(RECEIPT),
	    AR("mail.example.org; dmarc=pass header.from=example.org")};
	assert_false(ar_trusted(both, 3, "example.org"));
	const struct email_trace both_pass[] = {AR(pass), RCV(RECEIPT),
	                                        AR(pass)};
	assert_false(ar_trusted(both_pass, 3, "example.org"));
	/* A lower header of some other server is no claim of ours. */
	const struct email_trace other_below[] = {
	    AR(pass), RCV(RECEIPT), AR("mx.other.example; dkim=fail")};
	assert_true(ar_trusted(other_below, 3, "example.org"));
	/* Without the MTA's receipt there is nothing to be above. */
	const struct email_trace no_receipt[] = {AR(pass)};
	assert_false(ar_trusted(no_receipt, 1, "example.org"));
	/* Another relay's header on top: the MTA's record is not the
	 * newest, so its results are not believed either. */
	const struct email_trace relayed[] = {
	    RCV(" from mail.example.org by relay.other.example with ESMTP; "
	        "Mon, 23 Nov 2026 15:47:09 +0000"),
	    AR(pass), RCV(RECEIPT)};
	assert_false(ar_trusted(relayed, 3, "example.org"));
	/* A Received header naming the trusted host, written by the sender
	 * below a real receipt, does not move the line down. */
	const struct email_trace fake_receipt[] = {RCV(RECEIPT), RCV(RECEIPT),
	                                           AR(pass)};
	assert_false(ar_trusted(fake_receipt, 3, "example.org"));
}

static void
test_trace_headers_are_read_in_order_up_to_the_body(void **st)
{
	static const char raw[] =
	    "Received: from a by b with LMTP; x\r\n"
	    "Authentication-Results: mail.example.org;\r\n"
	    "\tdkim=pass header.d=example.org\r\n"
	    "Subject: hi\r\n"
	    "received: from c\r\n by mail.example.org with ESMTP; y\r\n"
	    "\r\n"
	    "Authentication-Results: mail.example.org; dmarc=pass\r\n";
	size_t n = 0;
	struct email_trace *t =
	    email_trace_headers(raw, sizeof raw - 1, 100, &n);
	assert_int_equal(n, 3);
	assert_false(t[0].is_ar);
	assert_true(t[1].is_ar);
	assert_non_null(strstr(t[1].value, "header.d=example.org"));
	assert_false(t[2].is_ar);
	assert_non_null(strstr(t[2].value, "by mail.example.org"));
	email_trace_free(t, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_submission_by_the_from_address_is_trusted),
	    cmocka_unit_test(
	        test_submission_with_tls_details_in_the_header_is_trusted),
	    cmocka_unit_test(
	        test_login_that_is_not_the_from_address_is_refused),
	    cmocka_unit_test(
	        test_forged_received_below_the_trusted_one_is_ignored),
	    cmocka_unit_test(test_received_of_another_host_on_top_is_refused),
	    cmocka_unit_test(test_same_host_delivery_hop_is_skipped),
	    cmocka_unit_test(test_folded_lines_and_case_do_not_matter),
	    cmocka_unit_test(test_what_the_header_must_say_exactly),
	    cmocka_unit_test(test_garbage_is_not_trusted_and_does_not_crash),
	    cmocka_unit_test(
	        test_auth_results_trust_only_our_server_and_aligned_passes),
	    cmocka_unit_test(test_auth_results_below_the_receipt_are_forged),
	    cmocka_unit_test(
	        test_trace_headers_are_read_in_order_up_to_the_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
