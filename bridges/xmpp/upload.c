/*
 * upload.c: a message's files reach the room through the upload service
 * (XEP-0363).  For each attachment in the SchutzBox without a URL yet, one
 * after another: a slot request to xmpp.upload_service; the slot's PUT
 * (http.c, off the loop, with the slot's Authorization/Cookie/Expires
 * headers); the GET URL stored on the attachment row, so a retry of the
 * row, or of another room's row for the same message, does not upload it
 * again.  Then xb_deliver_send() sends the message and one line per file
 * (body = the GET URL, with XEP-0066) to the room.
 *
 * A file the service refuses (too large, over its quota) is named in the
 * message instead ("[File: NAME (SIZE) could not be shared here: WHY]");
 * a failed PUT retries the whole row twice before doing the same.  The
 * row waits at most XB_FILES_UPLOAD_WAIT for its files, then is retried.
 *
 * The upload service's GET URLs decide which room links the gateway
 * fetches (fetch.c): xb_upload_probe() asks for a one-byte slot at session
 * start to learn their origin (a slot costs nothing until used), and every
 * slot teaches it again.
 * A slot answer counts only from the upload service's JID, to a request
 * id of 128 random bits (xb_new_id): anyone else answering would
 * choose where the decrypted file is PUT, and which origin is trusted.
 * Must never: log a slot's PUT URL or headers (they carry credentials), or
 * write a file's plaintext to disk (memfd only).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bridges/xmpp/http.h"
#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/box.h"

#define UPLOAD_PUT_TRIES                                                       \
	3 /* attempts of a row before a PUT failure is                         \
	     reported in the room instead */

struct xb_http_client *
xb_files_http(struct xb_bridge *xb)
{
	if (xb->http == NULL) {
		xb->http = xb_http_new();
		if (xb->http == NULL)
			cg_error("xmpp: cannot start the HTTP worker for "
			         "files");
	}
	return xb->http;
}

static void
learn_origin(struct xb_bridge *xb, const char *get_url)
{
	char *o = xb_url_origin(get_url);
	if (o == NULL)
		return;
	for (size_t i = 0; i < xb->norigins; i++)
		if (strcmp(xb->upload_origins[i], o) == 0) {
			free(o);
			return;
		}
	xb->upload_origins =
	    cg_realloc(xb->upload_origins,
	               (xb->norigins + 1) * sizeof *xb->upload_origins);
	xb->upload_origins[xb->norigins++] = o;
	cg_info("xmpp: files on %s are the upload service's (%s)", o,
	        xb_cfg(xb)->upload_service);
}

int
xb_upload_url_ours(const struct xb_bridge *xb, const char *url)
{
	const char *svc = xb_cfg(xb)->upload_service;
	if (svc == NULL)
		return 0;
	char *o = xb_url_origin(url);
	char *host = xb_url_host(url);
	int ours = host && strcasecmp(host, svc) == 0 && o &&
	           strncmp(o, "https:", 6) == 0;
	for (size_t i = 0; o && !ours && i < xb->norigins; i++)
		ours = strcmp(xb->upload_origins[i], o) == 0;
	free(o);
	free(host);
	return ours;
}

/* Whether st is the upload service's answer; else it is logged and the
 * handler waits on (returns 1) for the real one. */
static int
from_service(struct xb_bridge *xb, xmpp_stanza_t *st)
{
	return xb_answer_ok(xb, st, xb_cfg(xb)->upload_service,
	                    "a slot request");
}

static int
on_probe(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	struct xb_slot slot;
	if (!from_service(xb, st))
		return 1; /* keep waiting for the service */
	const char *type = xmpp_stanza_get_type(st);
	if (type && strcmp(type, "result") == 0 &&
	    xb_slot_parse(st, &slot) == 0) {
		learn_origin(xb, slot.get_url);
		xb_slot_free(&slot);
	} else {
		cg_warn("xmpp: the upload service %s gave no slot: files "
		        "shared in rooms are fetched only from https://%s/",
		        xb_cfg(xb)->upload_service, xb_cfg(xb)->upload_service);
	}
	free(xb->probe_id);
	xb->probe_id = NULL;
	return 0;
}

void
xb_upload_probe(struct xb_bridge *xb)
{
	const char *svc = xb_cfg(xb)->upload_service;
	if (svc == NULL || xb->probe_id || xb->conn == NULL)
		return;
	xb->probe_id = xb_new_id("probe");
	xmpp_stanza_t *iq = xb_slot_request(
	    xb->ctx, svc, xb->probe_id, "coopgate-probe.txt", 1, "text/plain");
	xb_from_self(xb, iq);
	xmpp_id_handler_add(xb->conn, on_probe, xb->probe_id, xb);
	xb_send_release(xb, iq);
}

static void
note(struct xb_pending *p, const struct cg_att_row *a, const char *why)
{
	char *sz = cg_size_text(a->size);
	p->up_notes =
	    cg_realloc(p->up_notes, (p->nup_notes + 1) * sizeof *p->up_notes);
	p->up_notes[p->nup_notes++] =
	    cg_asprintf("%s (%s) could not be shared here: %s",
	                a->name ? a->name : "unnamed file", sz, why);
	free(sz);
}

static int on_slot(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg);

/* Ask for the slot of the next file after p->up_idx; 0 when none is
 * left. */
static int
next_file(struct xb_bridge *xb, struct xb_pending *p)
{
	struct cg_att_row *a;
	size_t n;
	if (xb_cfg(xb)->upload_service == NULL ||
	    cg_store_attachments_of(xb->gw->store, p->row.message_id, &a, &n))
		return 0;
	int asked = 0;
	for (size_t k = 0; k < n && !asked; k++) {
		if (a[k].idx <= p->up_idx || a[k].url ||
		    a[k].state != CG_ATT_STORED ||
		    (a[k].blob_id == NULL && !a[k].has_data))
			continue;
		p->up_idx = a[k].idx;
		free(p->slot_id);
		p->slot_id = xb_new_id("up");
		xmpp_stanza_t *iq = xb_slot_request(
		    xb->ctx, xb_cfg(xb)->upload_service, p->slot_id, a[k].name,
		    a[k].size, a[k].type);
		xb_from_self(xb, iq);
		xmpp_id_handler_add(xb->conn, on_slot, p->slot_id, xb);
		xb_send_release(xb, iq);
		cg_debug("xmpp: outbox %lld: asking %s for a slot for "
		         "attachment %d (%lld bytes)",
		         (long long)p->row.id, xb_cfg(xb)->upload_service,
		         a[k].idx, (long long)a[k].size);
		asked = 1;
	}
	cg_att_rows_free(a, n);
	return asked;
}

int
xb_upload_start(struct xb_bridge *xb, size_t i)
{
	struct xb_pending *p = &xb->pend[i];
	if (!next_file(xb, p))
		return 0;
	p->uploading = 1;
	p->deadline = cg_mono_ms() + XB_FILES_UPLOAD_WAIT;
	return 1;
}

/* Go on with the next file of row i, or send it. */
static void
advance(struct xb_bridge *xb, size_t i)
{
	struct xb_pending *p = &xb->pend[i];
	free(p->slot_id);
	p->slot_id = NULL;
	if (!next_file(xb, p))
		xb_deliver_send(xb, i);
}

static long
pending_by_slot(struct xb_bridge *xb, const char *id)
{
	for (size_t i = 0; id && i < xb->npend; i++)
		if (xb->pend[i].slot_id && strcmp(xb->pend[i].slot_id, id) == 0)
			return (long)i;
	return -1;
}

/* The file's plaintext in an anonymous memory file (never on disk). */
static int
file_fd(struct xb_bridge *xb, const struct cg_att_row *a, char **err)
{
	int fd = -1;
	if (a->blob_id && xb->gw->box) {
		cg_box_get_memfd(xb->gw->box, a->blob_id, &fd, err);
		return fd;
	}
	if (!a->has_data) {
		*err = cg_strdup("its bytes are not stored");
		return -1;
	}
	/* a row from before the SchutzBox held files: its own bytes */
	fd = memfd_create("coopgate-upload", MFD_CLOEXEC);
	if (fd < 0) {
		*err = cg_asprintf("cannot hold the file: %s", strerror(errno));
		return -1;
	}
	unsigned char *data;
	size_t len;
	int rc = -1;
	if (cg_store_attachment_data(xb->gw->store, a->message_id, a->idx,
	                             &data, &len) == 0) {
		rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
		if (rc)
			*err = cg_asprintf("cannot hold the file: %s",
			                   strerror(errno));
		free(data);
	} else {
		*err = cg_strdup(cg_store_errmsg(xb->gw->store));
	}
	if (rc != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
on_slot(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	long i = pending_by_slot(xb, xmpp_stanza_get_id(st));
	if (i < 0)
		return 0; /* the row gave up waiting */
	if (!from_service(xb, st))
		return 1; /* keep waiting for the service */
	struct xb_pending *p = &xb->pend[i];
	struct cg_att_row row, *f = NULL;
	if (cg_store_attachment_get(xb->gw->store, p->row.message_id, p->up_idx,
	                            &row) == 0)
		f = &row;
	const char *type = xmpp_stanza_get_type(st);
	struct xb_slot slot = {0};
	char *err = NULL;
	if (f == NULL) {
		advance(xb, (size_t)i);
		goto out;
	}
	if (type == NULL || strcmp(type, "result") != 0) {
		struct xb_in in;
		xb_in_parse(st, &in);
		char *why = cg_asprintf("the upload service refused it (%s)",
		                        in.error_condition ? in.error_condition
		                                           : "error");
		cg_warn("xmpp: outbox %lld: attachment %d: %s",
		        (long long)p->row.id, f->idx, why);
		note(p, f, why);
		free(why);
		xb_in_free(&in);
		advance(xb, (size_t)i);
		goto out;
	}
	if (xb_slot_parse(st, &slot) != 0) {
		note(p, f, "the upload service gave no usable slot");
		advance(xb, (size_t)i);
		goto out;
	}
	learn_origin(xb, slot.get_url);
	struct xb_http_client *h = xb_files_http(xb);
	int fd = h ? file_fd(xb, f, &err) : -1;
	if (fd < 0) {
		char *why = cg_asprintf("attachment %d: %s", f->idx,
		                        err ? err : "no HTTP worker");
		xb_deliver_finish(xb, (size_t)i, CG_RETRY, NULL, why);
		free(why);
		goto out;
	}
	struct xb_http_job *j = cg_calloc(1, sizeof *j);
	j->kind = XB_HTTP_PUT;
	j->url = slot.put_url;
	slot.put_url = NULL;
	for (size_t k = 0; k < XB_SLOT_HEADERS && k < XB_HTTP_MAX_HEADERS;
	     k++) {
		j->headers[k] = slot.headers[k];
		slot.headers[k] = NULL;
	}
	j->content_type =
	    cg_strdup(f->type ? f->type : "application/octet-stream");
	j->ca_file = cg_strdup(xb_cfg(xb)->ca_file);
	j->fd = fd;
	j->size = f->size;
	j->timeout_s = XB_FILES_TIMEOUT;
	j->key1 = p->row.id;
	j->key2 = f->idx;
	j->tag = XB_FILES_UPLOAD;
	j->result = slot.get_url;
	slot.get_url = NULL;
	j->message_id = p->row.message_id;
	xb_http_submit(h, j);
out:
	free(err);
	xb_slot_free(&slot);
	if (f)
		cg_att_row_free(f);
	return 0;
}

/* Record the GET URL of attachment (message_id, idx). */
static void
store_url(struct xb_bridge *xb, int64_t message_id, int idx, const char *url)
{
	struct cg_att_row a;
	if (cg_store_attachment_get(xb->gw->store, message_id, idx, &a) != 0)
		return;
	free(a.url);
	a.url = cg_strdup(url);
	if (cg_store_attachment_update(xb->gw->store, &a) != 0)
		cg_error("xmpp: message %lld: cannot store the URL of "
		         "attachment %d: %s",
		         (long long)message_id, idx,
		         cg_store_errmsg(xb->gw->store));
	cg_att_row_free(&a);
}

void
xb_upload_done(struct xb_bridge *xb, struct xb_http_job *j)
{
	long i = xb_deliver_find(xb, j->key1);
	struct xb_pending *p = i >= 0 ? &xb->pend[i] : NULL;
	int current = p && p->uploading && p->up_idx == (int)j->key2;
	if (j->error == NULL) {
		store_url(xb, j->message_id, (int)j->key2, j->result);
		cg_info("xmpp: message %lld: attachment %d uploaded (%lld "
		        "bytes): %s",
		        (long long)j->message_id, (int)j->key2,
		        (long long)j->size, j->result);
		if (current)
			advance(xb, (size_t)i);
		return;
	}
	cg_warn("xmpp: message %lld: attachment %d: upload failed: %s",
	        (long long)j->message_id, (int)j->key2, j->error);
	if (!current)
		return;
	if (p->row.attempts + 1 < UPLOAD_PUT_TRIES) {
		char *why = cg_asprintf("upload of attachment %d failed: %s",
		                        (int)j->key2, j->error);
		xb_deliver_finish(xb, (size_t)i, CG_RETRY, NULL, why);
		free(why);
		return;
	}
	struct cg_att_row a;
	if (cg_store_attachment_get(xb->gw->store, p->row.message_id,
	                            (int)j->key2, &a) == 0) {
		char *why = cg_asprintf("the upload failed (%s)", j->error);
		note(p, &a, why);
		free(why);
		cg_att_row_free(&a);
	}
	advance(xb, (size_t)i);
}
