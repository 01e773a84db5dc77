/*
 * tlsverify.h: checking the server of a libetpan TLS stream.  libetpan
 * built with GnuTLS completes a handshake with any certificate at all, so
 * every IMAP and SMTP connection calls email_tls_verify() right after the
 * handshake (implicit TLS or STARTTLS) and before it sends a single
 * credential.  Used from the loop thread (IMAP) and the SMTP workers; the
 * functions keep no state and are safe to call from several threads.
 */
#ifndef EMAIL_TLSVERIFY_H
#define EMAIL_TLSVERIFY_H

struct mailstream_ssl_context;
struct _mailstream;

/*
 * For the *_with_callback connect functions: sets the TLS server name
 * (SNI) to `host` (a const char *), unless host is an IP address literal
 * (RFC 6066 allows names only).
 */
void email_tls_sni(struct mailstream_ssl_context *ctx, void *host);

/*
 * Verify the peer of the TLS stream: its chain against the PEM trust
 * anchors in ca_file (NULL: the system store), and that the leaf names
 * `host` (a DNS name or an IP address).  Returns 0 when trusted; else -1
 * with *why set (caller frees) to a reason without secrets, such as
 * "certificate not trusted: The certificate issuer is unknown." or
 * "certificate does not match host name mail.example.org".
 */
int email_tls_verify(struct _mailstream *stream, const char *ca_file,
                     const char *host, char **why);

/* The system store used when ca_file is NULL (for messages). */
#define EMAIL_TLS_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

#endif
