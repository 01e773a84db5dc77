/*
 * mime.h: reading a mail.  email_parse() turns the raw bytes of one
 * message into a cg_msg: sender, subject and body as UTF-8, thread ids,
 * recipients, attachments, auto-generated flags (delivery reports:
 * dsn.h).  Pure functions: no network, no store.  Everything returned is
 * malloc'd and owned by the caller.
 */
#ifndef EMAIL_MIME_H
#define EMAIL_MIME_H

#include <stddef.h>

#include "bridges/email/html_text.h" /* email_html_to_text */

struct cg_msg;

/*
 * Parse raw (len bytes, need not be NUL-terminated) into *out, which must
 * be zeroed.  Sets network, ext_id (Message-ID without <>, NULL if none),
 * sender_addr (lower case), sender_name, subject, text (never NULL; the
 * text/plain body, else the HTML body as readable text), refs (References
 * then In-Reply-To, oldest first, deduplicated), rcpts (To, Cc,
 * Delivered-To, X-Original-To), list_id, att (every part that is not body
 * text), flags (CG_MSG_AUTO), received (Date, 0 if none), raw/rawlen (a
 * copy).  All strings are valid UTF-8.  Returns 0, or -1 with *err set
 * (caller frees) and *out left zeroed when nothing usable was found.
 */
int email_parse(const char *raw, size_t len, struct cg_msg *out, char **err);

/*
 * Before libetpan parses a mail (it recurses once per level, without a
 * limit): one linear pass over the lines measures MIME nesting (*depth:
 * open multiparts and message/rfc822 levels) and *parts, over-estimating
 * rather than under-.  1 when both are within the limits (32 levels, 1,000
 * parts), 0 when not.  email_parse() reads a mail over the limits as its
 * header fields only: flags CG_MSG_UNPARSED, text EMAIL_UNPARSED_TEXT, no
 * attachments; email_dsn_parse() (dsn.c) refuses it.
 */
int email_mime_shape(const char *raw, size_t len, size_t *depth, size_t *parts);
#define EMAIL_UNPARSED_TEXT                                                    \
	"(This mail cannot be shown here: its MIME structure is nested too "   \
	"deeply or has too many parts.  It is kept in the archive.)"

/*
 * What the store keeps of a parsed mail: m->raw without the encoded
 * bodies of the parts email_parse() made attachments of (their headers
 * stay, so the mail still says what it carried).  The files themselves
 * live in the SchutzBox, encrypted, or were refused over the sender's
 * quota; a base64 copy next to them in the database would undo both.
 * Replaces m->raw and m->rawlen; a mail without attachments, or one that
 * no longer parses, is left as it is.
 */
void email_raw_drop_attachments(struct cg_msg *m);

/* Helpers email_parse uses, public for tests and other bridges. */

/* Decode an RFC 2047 header value (folded or not) to UTF-8; raw 8-bit
 * text is taken as UTF-8 when valid, else windows-1252.  Caller frees. */
char *email_decode_header(const char *value, size_t len);
/* Convert bytes in charset (NULL: us-ascii) to valid UTF-8 without NULs.
 * Unknown charsets and ISO-8859-1 are read as windows-1252. Caller frees. */
char *email_to_utf8(const char *data, size_t len, const char *charset);
/* Undo RFC 3676 format=flowed (LF line ends); delsp for DelSp=yes. */
char *email_unflow(const char *text, int delsp);

#endif
