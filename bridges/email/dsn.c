/*
 * dsn.c: delivery status notifications (RFC 3464): which recipient a
 * multipart/report names as failed or delayed, and whether for good.
 * libetpan parses the MIME tree and the per-recipient field blocks; the
 * header helpers are mime.c's (mime_int.h).
 *
 * Must never: read past the length it was given, follow nesting deeper
 * than DSN_MAX_DEPTH, or take a report of success for a failure.
 */
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "bridges/email/dsn.h"
#include "bridges/email/mime.h"
#include "bridges/email/mime_int.h"
#include "lib/util.h"

#define DSN_MAX_DEPTH 32 /* as mime.c's MIME_MAX_DEPTH */

static struct mailmime *
find_type(struct mailmime *m, const char *want, int depth)
{
	if (m == NULL || depth > DSN_MAX_DEPTH)
		return NULL;
	char *type = email_mime_content_type(m->mm_content_type);
	int hit = strcmp(type, want) == 0;
	free(type);
	if (hit)
		return m;
	if (m->mm_type == MAILMIME_MULTIPLE) {
		clist *l = m->mm_data.mm_multipart.mm_mp_list;
		for (clistiter *c = l ? clist_begin(l) : NULL; c;
		     c = clist_next(c)) {
			struct mailmime *f =
			    find_type(clist_content(c), want, depth + 1);
			if (f)
				return f;
		}
	} else if (m->mm_type == MAILMIME_MESSAGE && depth == 0) {
		return find_type(m->mm_data.mm_message.mm_msg_mime, want,
		                 depth + 1);
	}
	return NULL;
}

/* "rfc822; User@Example.org" -> "user@example.org". */
static char *
dsn_address(const char *v)
{
	char *u = email_mime_unfold(v);
	const char *semi = strchr(u, ';');
	const char *a = semi ? semi + 1 : u;
	while (*a == ' ' || *a == '\t' || *a == '<')
		a++;
	char *r = cg_strndup(a, strcspn(a, " \t>"));
	free(u);
	if (*r == '\0' || strchr(r, '@') == NULL) {
		free(r);
		return NULL;
	}
	char *l = cg_lowercase(r);
	free(r);
	return l;
}

/* One per-recipient block: 1 found (permanent or not), 0 none. */
static int
dsn_block(struct mailimf_fields *f, char **recipient, int *permanent)
{
	char *final = NULL, *orig = NULL, *status = NULL, *action = NULL;
	int found = 0;
	for (clistiter *c = clist_begin(f->fld_list); c; c = clist_next(c)) {
		struct mailimf_field *fl = clist_content(c);
		struct mailimf_optional_field *o =
		    fl->fld_data.fld_optional_field;
		if (fl->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD || !o ||
		    !o->fld_value)
			continue;
		if (email_mime_header_is(o, "Final-Recipient") && !final)
			final = dsn_address(o->fld_value);
		else if (email_mime_header_is(o, "Original-Recipient") && !orig)
			orig = dsn_address(o->fld_value);
		else if (email_mime_header_is(o, "Status") && !status)
			status = email_mime_first_token(o->fld_value);
		else if (email_mime_header_is(o, "Action") && !action)
			action = email_mime_first_token(o->fld_value);
	}
	int perm = -1;
	if (status && (status[0] == '5' || status[0] == '4') &&
	    status[1] == '.')
		perm = status[0] == '5';
	else if (action && strcmp(action, "failed") == 0)
		perm = 1;
	else if (action && strcmp(action, "delayed") == 0)
		perm = 0;
	if (perm >= 0 && (orig || final)) {
		*recipient = orig ? orig : final;
		if (orig)
			free(final);
		*permanent = perm;
		found = 1;
	} else {
		free(final);
		free(orig);
	}
	free(status);
	free(action);
	return found;
}

int
email_dsn_parse(const char *raw, size_t len, char **recipient, int *permanent)
{
	struct mailmime *mime = NULL;
	size_t idx = 0;
	int found = 0;

	*recipient = NULL;
	*permanent = 0;
	if (raw == NULL || len == 0)
		return -1;
	size_t depth, parts;
	if (!email_mime_shape(raw, len, &depth, &parts))
		return -1; /* no report of ours nests that deep */
	char *copy = email_mime_padded_copy(raw, len);
	if (mailmime_parse(copy, len, &idx, &mime) != MAILIMF_NO_ERROR) {
		free(copy);
		return -1;
	}
	struct mailmime *ds = find_type(mime, "message/delivery-status", 0);
	if (ds == NULL) {
		mailmime_free(mime);
		free(copy);
		return -1;
	}
	size_t n;
	char *data = email_mime_part_bytes(ds, &n);
	size_t pos = 0;
	/* Blocks of fields separated by blank lines: bounded by the bytes. */
	while (pos < n && !found) {
		size_t before = pos;
		struct mailimf_fields *f = NULL;
		if (mailimf_optional_fields_parse(data, n, &pos, &f) ==
		    MAILIMF_NO_ERROR) {
			found = dsn_block(f, recipient, permanent);
			mailimf_fields_free(f);
		}
		while (pos < n && (data[pos] == '\r' || data[pos] == '\n' ||
		                   data[pos] == ' ' || data[pos] == '\t'))
			pos++;
		if (pos == before) { /* not a field: skip the line */
			const char *nl = memchr(data + pos, '\n', n - pos);
			pos = nl ? (size_t)(nl - data) + 1 : n;
		}
	}
	free(data);
	mailmime_free(mime);
	free(copy);
	return found ? 0 : -1;
}
