/*
 * onboarding.h: how a guest becomes a partner or member: posts below a
 * channel's post_layer are held (one explanatory notice per channel per
 * week, expiry after 7 days), members nominate (onboarding.
 * nominations_required distinct members or core), and the promotion
 * releases the held posts.  Who may act is decided on authenticated
 * identity only: cg_auth_results_trusted() or cg_submission_trusted()
 * for mail, the occupant's real JID for XMPP.  Implemented in
 * gateway/onboarding.c (release in gateway/pipeline.c).
 */
#ifndef CG_ONBOARDING_H
#define CG_ONBOARDING_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config.h"

struct cg_gateway;

#define CG_HELD_TTL (7 * 86400)        /* held posts expire after */
#define CG_HELD_NOTICE_EVERY (7 * 86400) /* one notice per channel per */

/*
 * `nominator_contact` (authenticated by the caller) nominates the person
 * at nominee_address (an email address or a JID; an unknown email address
 * becomes a guest contact) for `target` (CG_LAYER_PARTNER or
 * CG_LAYER_MEMBER) in `channel` (a channel name; NULL: the first
 * configured).  The nominator must be member or core.  When
 * nominations_required distinct member+ contacts have nominated the
 * nominee for target or higher, the nominee is promoted (layer_history
 * "nominated by A, B"), the nominee and the other nominators get a notice
 * by email, and the nominee's held posts are released.  *reply (caller
 * frees, always set) is the answer for the nominator.
 * Returns 2 promoted, 1 nomination recorded (or already recorded), 0
 * refused (*reply says why), -1 store error (nothing written).
 * Runs in a savepoint: inside the caller's open transaction (the +request
 * handler's), else in a transaction of its own.  The caller has checked
 * who the nominator is (cg_auth_results_trusted() or
 * cg_submission_trusted() for mail; the occupant's real JID for XMPP) and looked the contact up by it.
 */
int cg_onboarding_nominate(struct cg_gateway *gw, int64_t nominator_contact,
			   const char *nominee_address, enum cg_layer target,
			   const char *channel, char **reply);

/*
 * Whether a mail's Authentication-Results (RFC 8601) vouch for its From
 * domain: `values` are the header field values (without "Name:", folded
 * lines allowed) in header order, topmost first; only the topmost one
 * whose authserv-id equals `authserv_id` (case-insensitive) counts — lower
 * ones may have come with the message.  Trusted (1) when it says
 * dmarc=pass (with header.from = from_domain when given) or dkim=pass with
 * header.d (or header.i's domain) aligned with from_domain (equal, or one
 * a subdomain of the other).  0 otherwise, also when authserv_id is NULL
 * or empty.
 */
int cg_auth_results_trusted(const char *const *values, size_t n,
			    const char *authserv_id, const char *from_domain);

/*
 * The other proof of a mail's sender: the trusted MTA's record of an
 * authenticated submission (Postfix with smtpd_sasl_authenticated_header
 * = yes writes "(Authenticated sender: LOGIN)" and "by HOST (Postfix)
 * with ESMTPSA" into the Received header it adds).  `received` are the
 * Received field values (without "Received:", folded lines allowed) in
 * header order, topmost (newest) first; `trusted_host` is
 * imap.trusted_authserv_id, which must be the MTA's host name as it
 * writes it after "by" (Postfix: myhostname); `from_addr` is the From
 * address.
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
 * All comparisons ignore ASCII case.  This assumes, like the
 * Authentication-Results proof, that every mail reaches the gateway's
 * mailbox through the trusted MTA, and that the MTA's bare logins are
 * users of its own mail domain (an MTA that serves several domains with
 * bare logins must log users in with their full address).
 */
enum cg_submission {
	CG_SUBMISSION_OK = 0,     /* authenticated as from_addr */
	CG_SUBMISSION_NO_RECORD,  /* no Received header of trusted_host */
	CG_SUBMISSION_RELAYED,    /* another header above trusted_host's */
	CG_SUBMISSION_NO_AUTH,    /* trusted_host's records no login */
	CG_SUBMISSION_OTHER_LOGIN, /* the login does not stand for From */
};
enum cg_submission cg_submission_trusted(const char *const *received,
					 size_t n, const char *trusted_host,
					 const char *from_addr);

/*
 * Pipeline hook, inside the ingest transaction: message `message_id` from
 * contact `contact_id` in channel `ch` was held.  Records it (expiry
 * now + CG_HELD_TTL) and, for an email sender not told in the last week
 * about this channel, adds the explanatory notice (from CHANNEL+request@,
 * Auto-Submitted: auto-replied, In-Reply-To the held message).
 */
int cg_onboarding_held(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
		       int64_t channel_id, int64_t message_id,
		       int64_t contact_id, const char *sender_addr,
		       const char *ext_message_id, const char *subject,
		       int64_t now);

/* Release one held message: clear the held state and write the outbox
 * rows of a fresh post (*rows added).  Inside the caller's transaction.
 * Implemented in gateway/pipeline.c. */
int cg_gateway_release_held(struct cg_gateway *gw, int64_t message_id,
			    size_t *rows);

/* Expire held posts older than CG_HELD_TTL (own transaction); returns how
 * many expired or -1.  cg_onboarding_timer_start() runs it now and hourly
 * on the daemon's loop. */
int64_t cg_onboarding_expire_held(struct cg_gateway *gw, int64_t now);
void cg_onboarding_timer_start(struct cg_gateway *gw);

/* CHANNEL+request@DOMAIN for a channel address (caller frees). */
char *cg_onboarding_request_addr(const char *channel_address);

#endif
