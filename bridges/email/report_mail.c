/*
 * report_mail.c: a report sent by mail (CONTRACT.md "Report message"):
 * the headers of a notice (compose.c: From the channel's request address,
 * Auto-Submitted: auto-generated, no list headers but List-Id), then
 * multipart/alternative with the text/plain part first (the `Key: value`
 * lines, readable anywhere) and the text/html part last (the part mail
 * clients prefer to show), both UTF-8 quoted-printable.  The HTML comes
 * from the store (report_sent.html), written by reports/render.c.
 * Must never: send a report without its text part.
 */
#include <stdlib.h>
#include <string.h>

#include "bridges/email/compose.h"
#include "bridges/email/report_mail.h"
#include "lib/util.h"
#include "store/report_queries.h"

static const char MIME_LINE[] = "MIME-Version: 1.0\r\n";

static void
part(struct cg_buf *b, const char *boundary, const char *type, const char *body)
{
	cg_buf_printf(b,
	              "--%s\r\nContent-Type: %s; charset=utf-8\r\n"
	              "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	              boundary, type);
	email_compose_qp(b, body);
}

/* The headers of raw up to and including its MIME-Version line. */
static size_t
header_length(const char *raw)
{
	const char *m = strstr(raw, MIME_LINE);
	const char *end = strstr(raw, "\r\n\r\n");
	if (m == NULL || (end && m > end))
		return 0;
	return (size_t)(m - raw) + sizeof MIME_LINE - 1;
}

char *
email_report_mail(struct cg_store *st, int64_t notice_id,
                  const struct email_compose_in *in, size_t *len)
{
	char *html;
	int found = cg_store_report_notice_html(st, notice_id, &html);
	if (found < 0)
		return NULL;
	if (found == 0)
		return email_compose(in, len);
	size_t rawlen;
	char *raw = email_compose(in, &rawlen);
	size_t hlen = raw ? header_length(raw) : 0;
	if (hlen == 0) {
		free(raw);
		free(html);
		return NULL;
	}
	char *r = cg_random_hex(24);
	char *boundary = cg_asprintf("=_coopgate_alt_%s", r);
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_add(&b, raw, hlen);
	cg_buf_printf(&b,
	              "Content-Type: multipart/alternative;\r\n"
	              " boundary=\"%s\"\r\n\r\n"
	              "This is a multi-part message in MIME format.\r\n",
	              boundary);
	part(&b, boundary, "text/plain", in->body ? in->body : "");
	part(&b, boundary, "text/html", html);
	cg_buf_printf(&b, "--%s--\r\n", boundary);
	free(r);
	free(boundary);
	free(raw);
	free(html);
	if (len)
		*len = b.len;
	return cg_buf_steal(&b);
}
