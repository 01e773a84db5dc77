/*
 * mime_int.h: private to bridges/email/: the header and part helpers of
 * mime.c that dsn.c reads delivery reports with.  Each returns what its
 * static counterpart in mime.c does; strings are malloc'd (caller frees).
 */
#ifndef EMAIL_MIME_INT_H
#define EMAIL_MIME_INT_H

#include <stddef.h>

#include <libetpan/libetpan.h>

/* A field value without CR/LF (unfolded), trimmed. */
char *email_mime_unfold(const char *v);
/* Whether optional field o is named name (case-insensitive). */
int email_mime_header_is(const struct mailimf_optional_field *o,
                         const char *name);
/* First token of v, lower case ("auto-replied; x=y" -> "auto-replied"). */
char *email_mime_first_token(const char *v);
/* "type/subtype" in lower case. */
char *email_mime_content_type(struct mailmime_content *ct);
/* The transfer-decoded bytes of a part (NUL-terminated copy). */
char *email_mime_part_bytes(struct mailmime *m, size_t *len);
/* A copy of raw with zeroed slack after it, for libetpan to parse. */
char *email_mime_padded_copy(const char *raw, size_t len);

#endif
