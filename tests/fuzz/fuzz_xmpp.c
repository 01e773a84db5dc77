/*
 * fuzz_xmpp.c: the XMPP bridge's stanza helpers (bridges/xmpp/stanza.c).
 * The input is read twice: as a string handed to the URL helpers (origin,
 * host, file name, body URL) and the text cleaner, and as XML parsed by
 * libstrophe into a stanza, which goes through xb_in_parse (a room line
 * as muc.c reads it), the file-URL checks fetch.c and upload.c make on its
 * body and XEP-0066 URL, and xb_slot_parse (an upload slot answer).
 *
 * Must never: connect anywhere (a libstrophe context without a
 * connection).
 */
#include <stdlib.h>
#include <string.h>

#include <strophe.h>

#include "bridges/xmpp/xmpp.h"
#include "tests/fuzz/fuzz.h"

static xmpp_ctx_t *ctx;

/* What fetch.c and upload.c ask of a URL someone shared. */
static void
url_checks(const char *url)
{
	if (url == NULL)
		return;
	free(xb_url_origin(url));
	free(xb_url_host(url));
	free(xb_url_filename(url));
	char *u = xb_body_url(url);
	if (u) {
		free(xb_url_host(u));
		free(xb_url_filename(u));
		free(u);
	}
}

static void
text_checks(const char *s)
{
	char *clean = xb_clean_text(s);
	size_t cps = xb_utf8_count(clean, strlen(clean));
	(void)xb_utf8_offset(clean, cps / 2);
	free(clean);
}

static void
stanza_checks(const char *xml)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	if (st == NULL)
		return;
	struct xb_in in;
	xb_in_parse(st, &in);
	url_checks(in.body);
	url_checks(in.oob_url);
	if (in.body)
		text_checks(in.body);
	xb_in_free(&in);
	struct xb_slot slot;
	if (xb_slot_parse(st, &slot) == 0)
		xb_slot_free(&slot);
	xmpp_stanza_release(st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ctx == NULL) {
		xmpp_initialize();
		ctx = xmpp_ctx_new(NULL, NULL);
	}
	char *s = fuzz_cstr(data, size);
	url_checks(s);
	text_checks(s);
	stanza_checks(s);
	free(s);
	return 0;
}
