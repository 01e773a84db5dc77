/*
 * dkim.h: coopgate's own DKIM check (RFC 6376) of a received mail, with
 * Debian's libopendkim.  The only file that uses libopendkim is dkim.c.
 */
#ifndef EMAIL_DKIM_H
#define EMAIL_DKIM_H

#include <stddef.h>

/*
 * Whether raw (a whole mail, CRLF or LF line ends) carries a DKIM
 * signature that verifies (header and body hash) and whose d= domain is
 * aligned with from_domain (equal, or one a subdomain of the other).
 * Keys come from DNS, or from keys_file when not NULL (libopendkim's
 * file query method: one "SELECTOR._domainkey.DOMAIN KEY-RECORD" a line;
 * for tests and offline use).  1 aligned pass, 0 none, -1 the library
 * failed.  A DNS lookup blocks for at most a few seconds.
 */
int email_dkim_aligned(const char *raw, size_t len, const char *from_domain,
                       const char *keys_file);

#endif
