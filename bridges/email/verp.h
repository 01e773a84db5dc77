/*
 * verp.h: the envelope senders of list mail and the tokens in them
 * (verp.c).  Pure functions: no store, no network.
 */
#ifndef EMAIL_VERP_H
#define EMAIL_VERP_H

#include <stddef.h>
#include <stdint.h>

/*
 * VERP.  The envelope sender for recipient rcpt of the list list_addr,
 * sent at unix time now: "LOCAL+bounce-DAY.MAC-RCPT@DOMAIN" (LOCAL@DOMAIN
 * = list_addr).  RCPT names the recipient readably: "alice=example.org"
 * for alice@example.org (local part kept as is, domain in lower case; the
 * last '=' separates them); a local part with characters outside RFC 5322
 * atext is hex-encoded whole instead (lower-case hex, no '=').  DAY is the
 * send day (unix days), MAC 16 hex digits of cg_box_mac over the list,
 * the day and the recipient, so nobody without the key can make a token
 * that counts.  Caller frees.
 */
char *email_verp_sender(const unsigned char *key, const char *list_addr,
                        const char *rcpt, int64_t now);
/* The XVERP base "LOCAL+bounce-DAY.MAC@DOMAIN": with XVERP=-= Postfix
 * makes each copy's sender "LOCAL+bounce-DAY.MAC-alice=example.org@DOMAIN",
 * the form above, with a MAC over the list and the day only (one
 * transaction, many recipients).  Caller frees. */
char *email_xverp_sender(const unsigned char *key, const char *list_addr,
                         int64_t now);
/* Check TOKEN (the part after "+bounce-" up to '@', len bytes) of
 * list_addr at unix time now: 1 when its MAC verifies (either form) and
 * its day is at most 30 days old, with *addr the recipient (caller
 * frees); 0 when not, with *why (static) saying why. */
int email_verp_check(const unsigned char *key, const char *list_addr,
                     const char *token, size_t len, int64_t now, char **addr,
                     const char **why);

/*
 * rcpt as XVERP would name it in email_verp_sender()'s readable form:
 * "local@domain" with the domain in lower case (caller frees); NULL when
 * only the hex form can carry it.
 */
char *email_xverp_rcpt(const char *rcpt);

#endif
