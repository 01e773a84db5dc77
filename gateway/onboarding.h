/*
 * onboarding.h: how a guest becomes a partner or member: posts below a
 * channel's post_layer are held (one explanatory notice per channel per
 * week, expiry after 7 days), members nominate (onboarding.
 * nominations_required distinct members or core), and the promotion
 * releases the held posts.  Who may act is decided on authenticated
 * identity only: the bridges' CG_MSG_SENDER_VERIFIED (the email bridge's
 * bridges/email/sender_auth.h, the occupant's real JID for XMPP).
 * Implemented in gateway/onboarding.c (release in gateway/pipeline.c).
 */
#ifndef CG_ONBOARDING_H
#define CG_ONBOARDING_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config.h"

struct cg_gateway;

#define CG_HELD_TTL (7 * 86400)          /* held posts expire after */
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
 * by email, and the nominee's held posts are released: the proven ones;
 * for each unproven one the nominee is mailed a confirmation request (as
 * by cg_onboarding_unverified) and it goes out once confirmed.  *reply (caller
 * frees, always set) is the answer for the nominator.
 * Returns 2 promoted, 1 nomination recorded (or already recorded), 0
 * refused (*reply says why), -1 store error (nothing written).
 * Runs in a savepoint: inside the caller's open transaction (the +request
 * handler's), else in a transaction of its own.  The caller has checked
 * who the nominator is (CG_MSG_SENDER_VERIFIED: bridges/email/sender_auth.h
 * for mail, the occupant's real JID for XMPP) and looked the contact up
 * by it.
 */
int cg_onboarding_nominate(struct cg_gateway *gw, int64_t nominator_contact,
                           const char *nominee_address, enum cg_layer target,
                           const char *channel, char **reply);

/*
 * Pipeline hook, inside the ingest transaction: message `message_id` from
 * contact `contact_id` in channel `ch` was held (its sender below
 * post_layer).  Records it (expiry now + CG_HELD_TTL), `unverified` when
 * nothing proves its sender (CG_MSG_UNVERIFIED: a promotion then does not
 * release it but mails the confirmation request), and, for an email
 * sender not told in the last week about this channel, adds the
 * explanatory notice (from CHANNEL+request@, Auto-Submitted:
 * auto-replied, In-Reply-To the held message).
 */
int cg_onboarding_held(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                       int64_t channel_id, int64_t message_id,
                       int64_t contact_id, const char *sender_addr,
                       const char *ext_message_id, const char *subject,
                       int unverified, int64_t now);

/*
 * Pipeline hook, inside the ingest transaction: message `message_id` was
 * held because it came in the name of contact `contact_id` without proof
 * (CG_MSG_UNVERIFIED).  Records it with a confirmation token and mails
 * the contact's own address a short request (from CHANNEL+request@,
 * "confirm TOKEN" in its subject): a reply releases the post
 * (cg_onboarding_confirm_token), and so does "!confirm" in the room
 * (cg_onboarding_confirm_contact).  At most 3 such requests an hour go
 * to one address: a wave of forged posts in a member's name leaves the
 * rest waiting unasked (logged), asked about one by one as the member
 * answers.  Such a post is never released by a promotion and expires
 * like any held post.  One also held by layer is
 * recorded by cg_onboarding_held() instead and asked about after the
 * promotion; neither a token nor "!confirm" releases a post in a
 * channel its sender may not post to.
 */
int cg_onboarding_unverified(struct cg_gateway *gw,
                             const struct cg_cfg_channel *ch,
                             int64_t channel_id, int64_t message_id,
                             int64_t contact_id, const char *ext_message_id,
                             const char *subject, const char *text,
                             int64_t now);

/* A confirmation token came back: release its post (inside the caller's
 * transaction), and mail the request for the sender's next unproven post
 * that waits unasked, if any.  1 released (*reply says so), 0 no such
 * token, -1 store error.  *reply: caller frees, set for 1 only. */
int cg_onboarding_confirm_token(struct cg_gateway *gw, const char *token,
                                char **reply);

/* "!confirm" from a verified occupant: release every unproven post held
 * in contact's name, in a transaction of its own.  Returns how many or
 * -1; *reply (caller frees, always set) is the answer. */
int cg_onboarding_confirm_contact(struct cg_gateway *gw, int64_t contact_id,
                                  char **reply);

/* Expire held posts older than CG_HELD_TTL (own transaction); returns how
 * many expired or -1.  cg_onboarding_timer_start() runs it now and hourly
 * on the daemon's loop. */
int64_t cg_onboarding_expire_held(struct cg_gateway *gw, int64_t now);
void cg_onboarding_timer_start(struct cg_gateway *gw);

/* CHANNEL+request@DOMAIN for a channel address (caller frees). */
char *cg_onboarding_request_addr(const char *channel_address);

#endif
