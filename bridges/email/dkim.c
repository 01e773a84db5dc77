/*
 * dkim.c: verifying a mail's DKIM signatures with libopendkim (the one
 * file that uses it).  A signature counts only when it verifies and its
 * d= is aligned with the From domain: a valid signature of some other
 * domain proves nothing about the From address.
 *
 * Must never: count a signature whose body hash does not match, or one of
 * a domain not aligned with From.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "bridges/email/dkim.h"
#include "lib/log.h"

#define DKIM_TIMEOUT_S 5 /* per DNS key lookup */

/* d and from aligned: equal, or one a subdomain of the other (both with a
 * dot: relaxed alignment without a public-suffix list). */
static int
aligned(const char *d, const char *from)
{
	if (strcasecmp(d, from) == 0)
		return 1;
	if (!strchr(d, '.') || !strchr(from, '.'))
		return 0;
	size_t ld = strlen(d), lf = strlen(from);
	if (lf > ld && from[lf - ld - 1] == '.' &&
	    strcasecmp(from + lf - ld, d) == 0)
		return 1;
	return ld > lf && d[ld - lf - 1] == '.' &&
	       strcasecmp(d + ld - lf, from) == 0;
}

static DKIM_LIB *
library(const char *keys_file)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	if (lib == NULL)
		return NULL;
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
	unsigned int timeout = DKIM_TIMEOUT_S;
	int ok = dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	                      sizeof flags) == DKIM_STAT_OK &&
	         dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout,
	                      sizeof timeout) == DKIM_STAT_OK;
	if (ok && keys_file) {
		dkim_query_t method = DKIM_QUERY_FILE;
		ok = dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD,
		                  &method, sizeof method) == DKIM_STAT_OK &&
		     dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
		                  (void *)keys_file,
		                  strlen(keys_file)) == DKIM_STAT_OK;
	}
	if (!ok) {
		dkim_close(lib);
		return NULL;
	}
	return lib;
}

/* Whether one of the handle's signatures passed and is aligned. */
static int
any_aligned_pass(DKIM *dkim, const char *from_domain)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		return 0;
	for (int i = 0; i < nsigs; i++) {
		const char *d = (const char *)dkim_sig_getdomain(sigs[i]);
		if (d && DKIM_SIG_CHECK(sigs[i]) && aligned(d, from_domain))
			return 1;
	}
	return 0;
}

int
email_dkim_aligned(const char *raw, size_t len, const char *from_domain,
                   const char *keys_file)
{
	if (raw == NULL || len == 0 || from_domain == NULL || !*from_domain)
		return 0;
	DKIM_LIB *lib = library(keys_file);
	if (lib == NULL) {
		cg_warn("dkim: cannot set up libopendkim%s%s",
		        keys_file ? " with keys file " : "",
		        keys_file ? keys_file : "");
		return -1;
	}
	DKIM_STAT st = DKIM_STAT_OK;
	DKIM *dkim =
	    dkim_verify(lib, (const unsigned char *)"coopgate", NULL, &st);
	int ok = 0;
	if (dkim != NULL) {
		st = dkim_chunk(dkim, (unsigned char *)raw, len);
		if (st == DKIM_STAT_OK)
			st = dkim_chunk(dkim, NULL, 0);
		if (st == DKIM_STAT_OK) {
			bool testkey = false;
			dkim_eom(dkim, &testkey); /* a failure leaves no pass */
			ok = any_aligned_pass(dkim, from_domain);
		}
		dkim_free(dkim);
	}
	dkim_close(lib);
	return ok;
}
