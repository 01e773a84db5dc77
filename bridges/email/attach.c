/*
 * attach.c: the files of stored messages as the email bridge sends them
 * (attach.h): which go as attachments, and the "[File: ...]" line for
 * each of the others.  A SchutzBox blob is decrypted into a memfd (memory,
 * never a file on disk) and read from there; the composed mail holds it
 * only as long as the mail cache does.
 * Must never: let a mail go without a file it should carry because the
 * box could not be read (that is an error: the row is tried again), or
 * run outside the loop thread (store and box are the loop thread's).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridges/email/attach.h"
#include "gateway/gateway.h"
#include "gateway/msg.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

void
email_files_free(struct email_files *f)
{
	for (size_t i = 0; i < f->natt; i++) {
		free(f->att[i].name);
		free(f->att[i].type);
		free(f->att[i].data);
		free(f->att[i].url);
	}
	free(f->att);
	f->att = NULL;
	f->natt = 0;
}

/* The plaintext of blob `id`, decrypted in memory: 0, or -1 with *why. */
static int
box_read(struct cg_box *box, const char *id, unsigned char **data, size_t *len,
         char **why)
{
	*data = NULL;
	*len = 0;
	char *err = NULL;
	struct stat st;
	int fd = -1, rc = -1;
	if (cg_box_get_memfd(box, id, &fd, &err) != 0) {
		/* The box's messages start with the id we name already. */
		size_t n = strlen(id);
		const char *reason = err ? err : "cannot read it";
		if (strncmp(reason, id, n) == 0 && reason[n] == ':')
			reason += n + 1 + (reason[n + 1] == ' ');
		*why = cg_strdup(reason);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		*why = cg_asprintf("memfd: %s", strerror(errno));
		goto out;
	}
	*len = (size_t)st.st_size;
	*data = cg_malloc(*len ? *len : 1);
	for (size_t got = 0; got < *len;) {
		ssize_t r = pread(fd, *data + got, *len - got, (off_t)got);
		if (r <= 0) {
			*why = cg_asprintf("memfd: %s", r < 0 ? strerror(errno)
			                                      : "short read");
			free(*data);
			*data = NULL;
			*len = 0;
			goto out;
		}
		got += (size_t)r;
	}
	rc = 0;
out:
	free(err);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The file's name: its own, else the last part of its URL. */
static char *
file_name(const struct cg_att_row *a)
{
	if (a->name && *a->name)
		return cg_strdup(a->name);
	if (a->url) {
		size_t end = strcspn(a->url, "?#");
		size_t start = end;
		while (start > 0 && a->url[start - 1] != '/')
			start--;
		if (end > start)
			return cg_strndup(a->url + start, end - start);
	}
	return cg_strdup("unnamed file");
}

/* text is nothing but url (surrounding white space aside). */
static int
text_is_url(const char *text, const char *url)
{
	if (text == NULL || url == NULL)
		return 0;
	text += strspn(text, " \t\r\n");
	size_t n = strlen(url);
	return strncmp(text, url, n) == 0 &&
	       text[n + strspn(text + n, " \t\r\n")] == '\0';
}

void
email_file_line(struct cg_buf *lines, const char *name, int64_t size,
                const char *tail)
{
	cg_buf_printf(lines, "[File: %s", name);
	if (size > 0) {
		char *sz = cg_size_text(size);
		cg_buf_printf(lines, " (%s)", sz);
		free(sz);
	}
	cg_buf_printf(lines, "%s]\n", tail);
}

/* Row a's line, under the name file_name() gives it. */
static void
file_line(struct cg_buf *lines, const struct cg_att_row *a, const char *tail)
{
	char *name = file_name(a);
	email_file_line(lines, name, a->size, tail);
	free(name);
}

/* A file that is not attached: its line, or none when the text already
 * is its link. */
static void
not_attached(struct cg_buf *lines, const struct cg_att_row *a, const char *why,
             const char *text)
{
	if (a->url && a->state != CG_ATT_REFUSED) {
		if (text_is_url(text, a->url))
			return;
		char *t = cg_asprintf(": %s", a->url);
		file_line(lines, a, t);
		free(t);
		return;
	}
	char *t = cg_asprintf(" %s", why);
	file_line(lines, a, t);
	free(t);
}

/* The bytes of a file to attach (box or row): 0, or -1 with *err. */
static int
file_bytes(struct cg_gateway *gw, const struct cg_att_row *a,
           unsigned char **data, size_t *len, char **err)
{
	char *why = NULL;
	if (a->blob_id) {
		if (gw->box == NULL)
			why = cg_strdup("the SchutzBox is not open");
		else if (box_read(gw->box, a->blob_id, data, len, &why) == 0)
			return 0;
		char *name = file_name(a);
		*err = cg_asprintf("message %lld: file %s: SchutzBox blob %s: "
		                   "%s",
		                   (long long)a->message_id, name, a->blob_id,
		                   why);
		free(name);
		free(why);
		return -1;
	}
	if (cg_store_attachment_data(gw->store, a->message_id, a->idx, data,
	                             len) == 0)
		return 0;
	*err = cg_asprintf("message %lld: attachment %d: %s",
	                   (long long)a->message_id, a->idx,
	                   cg_store_errmsg(gw->store));
	return -1;
}

/* Why a file is not attached (its state and size say). */
static char *
why_not(const struct cg_att_row *a, int64_t max_size)
{
	switch (a->state) {
	case CG_ATT_STORED:
		if (a->blob_id == NULL && !a->has_data)
			return cg_strdup("not passed on: its bytes were not "
			                 "kept");
		char *lim = cg_size_text(max_size);
		char *why = cg_asprintf("not attached: over this list's "
		                        "limit of %s",
		                        lim);
		free(lim);
		return why;
	case CG_ATT_FETCH: /* not fetched in time: the link it came as */
		return cg_strdup("not passed on: not fetched");
	case CG_ATT_LINK:
	case CG_ATT_REFUSED:
		break;
	}
	return cg_asprintf("not passed on: %s", a->note ? a->note : "refused");
}

/* One row: attached, or a line; -1 with *err when its bytes are
 * missing. */
static int
one_file(struct cg_gateway *gw, const struct cg_att_row *a, int64_t max_size,
         const char *text, struct email_files *f, struct cg_buf *lines,
         char **err)
{
	if (a->state == CG_ATT_STORED && (a->blob_id || a->has_data) &&
	    a->size <= max_size) {
		unsigned char *data;
		size_t len;
		if (file_bytes(gw, a, &data, &len, err) != 0)
			return -1;
		f->att = cg_realloc(f->att, (f->natt + 1) * sizeof *f->att);
		f->att[f->natt++] = (struct cg_attachment){
		    .name = cg_strdup(a->name),
		    .type = cg_strdup(a->type),
		    .data = data,
		    .size = len,
		};
		return 0;
	}
	char *why = why_not(a, max_size);
	not_attached(lines, a, why, text);
	free(why);
	return 0;
}

int
email_files_add(struct cg_gateway *gw, int64_t message_id, int64_t max_size,
                const char *text, struct email_files *f, struct cg_buf *lines,
                char **err)
{
	struct cg_att_row *rows;
	size_t n;
	if (cg_store_attachments_of(gw->store, message_id, &rows, &n) != 0) {
		*err = cg_asprintf("message %lld: cannot load its files: %s",
		                   (long long)message_id,
		                   cg_store_errmsg(gw->store));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = one_file(gw, &rows[i], max_size, text, f, lines, err);
	cg_att_rows_free(rows, n);
	return rc;
}
