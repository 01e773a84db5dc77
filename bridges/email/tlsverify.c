/*
 * tlsverify.c: certificate chain and host name checks for libetpan's TLS
 * streams, with GnuTLS.  libetpan (GnuTLS build) verifies nothing, so this
 * is the only thing standing between the gateway's IMAP/SMTP passwords and
 * anyone in the middle: every TLS connection is checked here before a
 * credential is sent.
 * Must never: accept a chain that does not end in one of the configured
 * trust anchors, accept a leaf that does not name the host we dialled, or
 * keep state between calls (the SMTP workers call it from their threads).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>

#include "bridges/email/tlsverify.h"
#include "lib/util.h"

static int
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

void
email_tls_sni(struct mailstream_ssl_context *ctx, void *host)
{
	const char *h = host;
	if (h == NULL || *h == '\0' || is_ip_literal(h))
		return;
	char *copy = cg_strdup(h); /* the libetpan API takes a char * */
	mailstream_ssl_set_server_name(ctx, copy);
	free(copy);
}

/* The DER certificates the server sent, as GnuTLS certificates. */
static int
import_chain(mailstream *stream, gnutls_x509_crt_t **out, unsigned *n,
             char **why)
{
	*out = NULL;
	*n = 0;
	carray *chain = mailstream_get_certificate_chain(stream);
	if (chain == NULL || carray_count(chain) == 0) {
		if (chain)
			mailstream_certificate_chain_free(chain);
		*why = cg_strdup("certificate not trusted: the server sent "
		                 "no certificate");
		return -1;
	}
	unsigned count = carray_count(chain);
	gnutls_x509_crt_t *crts = cg_calloc(count, sizeof *crts);
	int rc = 0;
	for (unsigned i = 0; i < count; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = {(unsigned char *)der->str,
		                    (unsigned)der->len};
		int r = gnutls_x509_crt_init(&crts[i]);
		if (r >= 0)
			r = gnutls_x509_crt_import(crts[i], &d,
			                           GNUTLS_X509_FMT_DER);
		if (r < 0) {
			*why = cg_asprintf("certificate not trusted: "
			                   "certificate %u of the chain: %s",
			                   i, gnutls_strerror(r));
			if (crts[i])
				gnutls_x509_crt_deinit(crts[i]);
			count = i;
			rc = -1;
			break;
		}
	}
	mailstream_certificate_chain_free(chain);
	if (rc != 0) {
		for (unsigned i = 0; i < count; i++)
			gnutls_x509_crt_deinit(crts[i]);
		free(crts);
		return -1;
	}
	*out = crts;
	*n = count;
	return 0;
}

static char *
status_text(unsigned status)
{
	gnutls_datum_t out = {NULL, 0};
	char *s;
	if (gnutls_certificate_verification_status_print(
	        status, GNUTLS_CRT_X509, &out, 0) == 0 &&
	    out.data) {
		s = cg_asprintf("certificate not trusted: %s",
		                (const char *)out.data);
		gnutls_free(out.data);
		size_t n = strlen(s); /* GnuTLS ends it with a space */
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
			s[--n] = '\0';
	} else
		s = cg_asprintf("certificate not trusted: status 0x%x", status);
	return s;
}

int
email_tls_verify(mailstream *stream, const char *ca_file, const char *host,
                 char **why)
{
	*why = NULL;
	const char *anchors = ca_file ? ca_file : EMAIL_TLS_SYSTEM_CA;
	gnutls_x509_crt_t *crts;
	unsigned n;
	if (import_chain(stream, &crts, &n, why) != 0)
		return -1;

	gnutls_x509_trust_list_t tl = NULL;
	int rc = -1;
	int r = gnutls_x509_trust_list_init(&tl, 0);
	if (r < 0) {
		*why = cg_asprintf("certificate not trusted: %s",
		                   gnutls_strerror(r));
		goto out;
	}
	r = gnutls_x509_trust_list_add_trust_file(tl, anchors, NULL,
	                                          GNUTLS_X509_FMT_PEM, 0, 0);
	if (r <= 0) {
		*why = cg_asprintf("certificate not trusted: no trust "
		                   "anchors in %s%s%s",
		                   anchors, r < 0 ? ": " : "",
		                   r < 0 ? gnutls_strerror(r) : "");
		goto out;
	}
	/* The chain up to an anchor, and a leaf fit for a TLS server. */
	gnutls_typed_vdata_st purpose = {
	    .type = GNUTLS_DT_KEY_PURPOSE_OID,
	    .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER,
	    .size = 0,
	};
	unsigned status = 0;
	r = gnutls_x509_trust_list_verify_crt2(tl, crts, n, &purpose, 1, 0,
	                                       &status, NULL);
	if (r < 0) {
		*why = cg_asprintf("certificate not trusted: %s",
		                   gnutls_strerror(r));
		goto out;
	}
	if (status != 0) {
		*why = status_text(status);
		goto out;
	}
	/* Handles IP literals too (matched against IP SANs). */
	if (!gnutls_x509_crt_check_hostname(crts[0], host)) {
		*why = cg_asprintf("certificate does not match host name %s",
		                   host);
		goto out;
	}
	rc = 0;
out:
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	return rc;
}
