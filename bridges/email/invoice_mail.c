/*
 * invoice_mail.c: composing an invoice's mail (see invoice_mail.h) from
 * what the store kept when it was issued: the bodies and the XML are the
 * stored bytes, so `coopgate invoice xml` prints exactly what was mailed.
 * Must never: render the invoice again, or send it without its XML.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridges/email/compose.h"
#include "bridges/email/invoice_mail.h"
#include "gateway/gateway.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/billing.h"
#include "store/box.h"
#include "store/store.h"

/* The bought file of asset `code` into a (name, type, bytes); -1 *err. */
static int
asset_file(struct cg_gateway *gw, const char *code, struct cg_attachment *a,
           char **err)
{
	struct cg_asset as;
	if (cg_store_asset_get(gw->store, code, &as) != 1) {
		*err = cg_asprintf("asset %s: not in the store", code);
		return -1;
	}
	int fd = -1, rc = -1;
	if (gw->box == NULL) {
		*err = cg_asprintf("asset %s: no SchutzBox open", code);
	} else if (cg_box_get_memfd(gw->box, as.blob_id, &fd, err) == 0) {
		off_t size = lseek(fd, 0, SEEK_END);
		a->data = cg_malloc(size > 0 ? (size_t)size : 1);
		a->size = size > 0 ? (size_t)size : 0;
		if (pread(fd, a->data, a->size, 0) == (ssize_t)a->size) {
			a->name = cg_strdup(as.file_name);
			a->type = cg_strdup(as.media_type);
			rc = 0;
		} else {
			*err = cg_asprintf("asset %s: cannot read blob %s",
			                   code, as.blob_id);
		}
		close(fd);
	}
	cg_asset_free(&as);
	return rc;
}

static char *
compose(const struct cg_notice *n, const struct cg_invoice *inv,
        const struct cg_attachment *att, size_t natt, size_t *len)
{
	char *reply_to = cg_asprintf("Reply-To: %s", inv->seller_party.email);
	const char *extra[] = {reply_to};
	struct email_compose_in in = {
	    .list_addr = n->from_addr,
	    .sender_name = inv->seller_party.name,
	    .to = n->to_addr,
	    .subject = n->subject,
	    .body = inv->text_body,
	    .html = inv->html_body,
	    .message_id = n->message_id,
	    .extra_headers = extra,
	    .nextra = inv->seller_party.email ? 1 : 0,
	    .att = att,
	    .natt = natt,
	    .auto_submitted = 1,
	    .direct = 1,
	    .date = n->created,
	};
	char *raw = email_compose(&in, len);
	free(reply_to);
	return raw;
}

int
email_invoice_mail(struct cg_gateway *gw, const struct cg_notice *n, char **raw,
                   size_t *len, char **err)
{
	int64_t invoice_id;
	char *asset = NULL;
	int is = cg_store_notice_invoice(gw->store, n->id, &invoice_id, &asset);
	if (is <= 0) {
		if (is < 0)
			*err = cg_strdup(cg_store_errmsg(gw->store));
		return is;
	}
	struct cg_invoice inv;
	struct cg_attachment att[2];
	memset(att, 0, sizeof att);
	size_t natt = 1;
	int rc = -1;
	if (cg_store_invoice_get_id(gw->store, invoice_id, &inv) != 1) {
		*err = cg_asprintf("notice %lld: invoice %lld not in the store",
		                   (long long)n->id, (long long)invoice_id);
		free(asset);
		return -1;
	}
	att[0].name = cg_asprintf("%s.xml", inv.number);
	att[0].type = cg_strdup("application/xml");
	att[0].data = inv.xml;
	att[0].size = inv.xml_len;
	if (asset == NULL || asset_file(gw, asset, &att[natt++], err) == 0) {
		*raw = compose(n, &inv, att, natt, len);
		rc = *raw ? 1 : -1;
		if (*raw == NULL)
			*err = cg_asprintf("%s: cannot compose its mail",
			                   inv.number);
	}
	for (size_t i = 0; i < 2; i++) {
		free(att[i].name);
		free(att[i].type);
		if (i > 0)
			free(att[i].data);
	}
	cg_invoice_free(&inv); /* frees att[0].data */
	free(asset);
	return rc;
}
