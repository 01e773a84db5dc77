/*
 * sender_auth.h: whether a mail really comes from its From address.  The
 * email bridge decides it here and records the answer as
 * CG_MSG_SENDER_VERIFIED on the normalized message; the gateway only reads
 * that flag (list posts, nominations, +request answers).
 *
 * Three proofs, each tied to the trusted MTA (imap.trusted_authserv_id,
 * which must be the MTA's host name as it writes it after "by" in its
 * Received header and its authserv-id in Authentication-Results) or to
 * coopgate's own check:
 *   1. the MTA's record of an authenticated submission by the From
 *      address (email_submission_trusted);
 *   2. the MTA's Authentication-Results (RFC 8601) with dmarc=pass or a
 *      dkim=pass aligned with the From domain (email_auth_results_trusted);
 *   3. a DKIM signature aligned with the From domain that coopgate
 *      verifies itself (bridges/email/dkim.h).
 * All of this assumes that every mail reaches the gateway's mailbox
 * through the trusted MTA, and that the MTA strips incoming
 * Authentication-Results headers carrying its own authserv-id
 * (OpenDKIM and OpenDMARC do).
 *
 * Must never: believe a header the sender could have written: only the
 * trusted host's own Received header is read, and only
 * Authentication-Results above it.
 */
#ifndef EMAIL_SENDER_AUTH_H
#define EMAIL_SENDER_AUTH_H

#include <stddef.h>

struct cg_config;
struct cg_msg;

/* One trace header, in header order (topmost first): a Received or an
 * Authentication-Results field.  value: without "Name:", folded lines
 * kept (the parsers unfold). */
struct email_trace {
	int is_ar; /* 1 Authentication-Results, 0 Received */
	char *value;
};

/* The mail's Received and Authentication-Results fields (of the header
 * block of raw), topmost first, at most max of them (caller frees with
 * email_trace_free). */
struct email_trace *email_trace_headers(const char *raw, size_t len, size_t max,
                                        size_t *n);
void email_trace_free(struct email_trace *t, size_t n);

/*
 * Whether the trusted MTA's Authentication-Results vouch for from_domain.
 * Walking down from the top, Received headers that record the final
 * delivery into the mailbox handed over by trusted_host are passed over
 * (see email_submission_trusted); the first other Received header must be
 * trusted_host's own ("by" trusted_host): the receipt.  Another relay's
 * header above it, or none at all: 0.  Only Authentication-Results above
 * the receipt count, and only the topmost one whose authserv-id is
 * trusted_host; when any header below the receipt claims that
 * authserv-id, the sender wrote one and none is believed (RFC 8601 §5).
 * Trusted (1) when the deciding header says dmarc=pass (with header.from
 * = from_domain when given) or dkim=pass with header.d (or header.i's
 * domain) aligned with from_domain (equal, or one a subdomain of the
 * other).  0 otherwise, also when trusted_host is NULL or empty.
 */
int email_auth_results_trusted(const struct email_trace *t, size_t n,
                               const char *trusted_host,
                               const char *from_domain);

/*
 * The trusted MTA's record of an authenticated submission (Postfix with
 * smtpd_sasl_authenticated_header = yes writes "(Authenticated sender:
 * LOGIN)" and "by HOST (Postfix) with ESMTPSA" into the Received header
 * it adds).  `received` are the Received field values in header order,
 * topmost (newest) first; `from_addr` is the From address.
 *
 * Walking down from the top, a header is skipped only when it records
 * the final delivery into the mailbox handed over by the trusted host:
 * "with" LMTP, LMTPA, LMTPS or LMTPSA (or their UTF8 forms) and "from"
 * equal to trusted_host (Dovecot LMTP writes "from LHLO-NAME ... by
 * ITS-HOST with LMTP", and Postfix's LHLO name is myhostname).  The
 * first header not skipped must be the trusted host's ("by" equals
 * trusted_host); it alone is read, so a Received header the sender wrote
 * lower down never counts, and any other header above it (another
 * relay, or one that cannot be parsed) means the record is not believed.
 * That header proves an authenticated submission when its "with" is
 * ESMTPA, ESMTPSA, UTF8SMTPA or UTF8SMTPSA (RFC 3848, RFC 6531: only the
 * MTA writes it), it holds exactly one "(Authenticated sender: LOGIN)"
 * comment, directly before "by", and LOGIN stands for from_addr:
 *   - LOGIN with '@': LOGIN equals from_addr;
 *   - LOGIN without '@': LOGIN@D equals from_addr, where D is
 *     trusted_host itself or trusted_host without its first label when
 *     that still has a dot (mail.example.org: example.org, but never
 *     "org" for mail.org).
 * All comparisons ignore ASCII case.  An MTA that serves several domains
 * with bare logins must log users in with their full address.
 */
enum email_submission {
	EMAIL_SUBMISSION_OK = 0,      /* authenticated as from_addr */
	EMAIL_SUBMISSION_NO_RECORD,   /* no Received header of trusted_host */
	EMAIL_SUBMISSION_RELAYED,     /* another header above trusted_host's */
	EMAIL_SUBMISSION_NO_AUTH,     /* trusted_host's records no login */
	EMAIL_SUBMISSION_OTHER_LOGIN, /* the login does not stand for From */
};
enum email_submission email_submission_trusted(const char *const *received,
                                               size_t n,
                                               const char *trusted_host,
                                               const char *from_addr);

/*
 * Whether m (parsed, m->raw and m->sender_addr set) is proven to come
 * from its From address by one of the three proofs, under cfg's
 * imap.trusted_authserv_id and posting.dkim_keys_file.  1 proven, 0 not:
 * then *why (caller frees, may be NULL) says what is missing, in a
 * sentence for the sender.
 */
int email_sender_proven(const struct cg_config *cfg, const struct cg_msg *m,
                        char **why);

/* Set CG_MSG_SENDER_VERIFIED on m when email_sender_proven(). */
void email_sender_mark(const struct cg_config *cfg, struct cg_msg *m);

#endif
