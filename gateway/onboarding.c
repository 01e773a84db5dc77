/*
 * onboarding.c: from guest to member by nomination.  A guest's post to a
 * channel that wants a higher layer is held (pipeline.c calls
 * cg_onboarding_held()); the guest gets one notice per channel per week
 * saying how nomination works; held posts expire after a week.  Members
 * nominate (cg_onboarding_nominate(), called by the +request handler and
 * the room's !nominate); enough distinct nominations promote the guest and
 * release the held posts that are proven to be theirs; for an unproven one
 * (posting.sender_proof) the guest is asked to confirm it, as a member is
 * for an unproven post.  Whether a message's sender is proven is the
 * bridges' decision (CG_MSG_SENDER_VERIFIED); this file only reads it.
 *
 * Must never: accept a nomination from below member, count one nominator
 * twice, or release an unproven post without its sender's confirmation.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/loop.h"
#include "gateway/onboarding.h"
#include "gateway/pipeline.h"
#include "lib/util.h"
#include "store/store.h"

char *
cg_onboarding_request_addr(const char *channel_address)
{
	const char *at = strrchr(channel_address, '@');
	if (at == NULL)
		return cg_asprintf("%s+request", channel_address);
	return cg_asprintf("%.*s+request%s", (int)(at - channel_address),
	                   channel_address, at);
}

/* ---- held posts ---- */

/* text with lines longer than 72 columns wrapped at spaces; indented lines
 * are kept as they are (caller frees). */
static char *
wrap72(const char *text)
{
	struct cg_buf b = CG_BUF_INIT;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *end = line + len;
		if (*line == ' ') {
			cg_buf_add(&b, line, len);
		} else {
			size_t col = 0;
			for (const char *w = line; w < end;) {
				while (w < end && *w == ' ')
					w++;
				size_t wl = 0;
				while (w + wl < end && w[wl] != ' ')
					wl++;
				if (wl == 0)
					break;
				if (col && col + 1 + wl > 72) {
					cg_buf_putc(&b, '\n');
					col = 0;
				} else if (col) {
					cg_buf_putc(&b, ' ');
					col++;
				}
				cg_buf_add(&b, w, wl);
				col += wl;
				w += wl;
			}
		}
		if (*end == '\n')
			cg_buf_putc(&b, '\n');
		line = *end ? end + 1 : end;
	}
	return cg_buf_steal(&b);
}

static char *
held_notice_key(const char *channel, const char *addr)
{
	char *a = cg_lowercase(addr);
	char *k = cg_asprintf("onboarding.held-notice/%s/%s", channel, a);
	free(a);
	return k;
}

/* What a nomination does to the held posts, as the notice says it: with
 * posting.sender_proof only the proven ones go out at once. */
static void
held_notice_release(struct cg_buf *b, const struct cg_gateway *gw,
                    int unverified)
{
	if (!gw->cfg->posting.sender_proof) {
		cg_buf_puts(b, "Once you are nominated, your held messages of "
		               "the last 7 days are delivered; ");
		return;
	}
	cg_buf_printf(b,
	              "Once you are nominated, your held messages of the "
	              "last 7 days that show they come from you are "
	              "delivered; for any other%s you will be asked by "
	              "mail to confirm that you sent it, and it is delivered "
	              "once you do.  ",
	              unverified ? " (nothing shows that you sent this one)"
	                         : "");
}

static char *
held_notice_body(const struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                 int64_t contact_id, const char *addr, const char *subject,
                 int unverified)
{
	enum cg_layer layer = CG_LAYER_GUEST;
	struct cg_contact c;
	if (contact_id &&
	    cg_store_contact_get(gw->store, contact_id, &c) == 0) {
		layer = c.layer;
		cg_contact_free(&c);
	}
	int need = gw->cfg->nominations_required > 0
	               ? gw->cfg->nominations_required
	               : 2;
	char *req = cg_onboarding_request_addr(ch->address);
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b,
	              "Hello,\n\nyour message%s%s%s to %s has been "
	              "received but not passed on: %s takes posts from "
	              "%ss and above, and %s is known here as a %s.\n\n",
	              subject ? " \"" : "", subject ? subject : "",
	              subject ? "\"" : "", ch->address, ch->name,
	              cg_layer_name(ch->post_layer), addr,
	              cg_layer_name(layer));
	cg_buf_printf(&b,
	              "How to join: %d members of the community nominate "
	              "you.  A member sends the line\n\n    nominate %s\n\n"
	              "to %s",
	              need, addr, req);
	if (ch->room)
		cg_buf_printf(&b,
		              ", or writes \"!nominate %s\" in the chat "
		              "room %s",
		              addr, ch->room);
	cg_buf_puts(&b, ".  Ask someone you work with in the community to "
	                "do so.\n\n");
	held_notice_release(&b, gw, unverified);
	cg_buf_puts(&b, "After 7 days a held message expires and is not "
	                "delivered.\n\nThis notice is sent at most once a "
	                "week.\n");
	free(req);
	char *r = wrap72(cg_buf_str(&b));
	cg_buf_free(&b);
	return r;
}

int
cg_onboarding_held(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                   int64_t channel_id, int64_t message_id, int64_t contact_id,
                   const char *sender_addr, const char *ext_message_id,
                   const char *subject, int unverified, int64_t now)
{
	struct cg_store *s = gw->store;
	if (cg_store_held_add(s, message_id, contact_id, channel_id, now,
	                      now + CG_HELD_TTL) != 0)
		return -1;
	if (unverified && cg_store_held_mark_unverified(s, message_id) != 0)
		return -1;
	if (sender_addr == NULL || strchr(sender_addr, '@') == NULL ||
	    !gw->cfg->smtp.present)
		return 0;
	char *key = held_notice_key(ch->name, sender_addr);
	int64_t last = 0;
	if (cg_store_kv_get_int(s, key, &last) != 0)
		last = 0;
	int rc = 0;
	if (last == 0 || now - last >= CG_HELD_NOTICE_EVERY) {
		struct cg_notice n = {
		    .channel_id = channel_id,
		    .from_addr = cg_onboarding_request_addr(ch->address),
		    .to_addr = cg_strdup(sender_addr),
		    .subject =
		        cg_asprintf("Your message to %s is held", ch->name),
		    .body = held_notice_body(gw, ch, contact_id, sender_addr,
		                             subject, unverified),
		    .in_reply_to = cg_strdup(ext_message_id),
		    .auto_submitted = cg_strdup("auto-replied"),
		};
		rc = cg_store_notice_add(s, &n, gw->cfg->gateway.domain);
		if (rc == 0)
			rc = cg_store_kv_set_int(s, key, now);
		cg_notice_free(&n);
		if (rc == 0)
			gw->outbox_kick = 1;
	}
	free(key);
	return rc;
}

int64_t
cg_onboarding_expire_held(struct cg_gateway *gw, int64_t now)
{
	if (cg_store_begin(gw->store) != 0)
		return -1;
	int64_t n = cg_store_held_expire(gw->store, now);
	if (n < 0 || cg_store_commit(gw->store) != 0) {
		cg_store_rollback(gw->store);
		cg_warn("onboarding: cannot expire held posts: %s",
		        cg_store_errmsg(gw->store));
		return -1;
	}
	if (n > 0)
		cg_info("onboarding: %lld held post%s expired", (long long)n,
		        n == 1 ? "" : "s");
	return n;
}

#define EXPIRE_EVERY_MS (3600 * 1000)

static void
expire_tick(struct cg_loop *l, void *arg)
{
	struct cg_gateway *gw = arg;
	cg_onboarding_expire_held(gw, cg_now());
	cg_loop_timer(l, EXPIRE_EVERY_MS, expire_tick, gw);
}

void
cg_onboarding_timer_start(struct cg_gateway *gw)
{
	cg_loop_timer(gw->loop, 0, expire_tick, gw);
}

/* ---- nomination ---- */

/* A contact's display: name, else first address/JID (caller frees). */
static char *
contact_label(struct cg_store *s, int64_t id)
{
	struct cg_contact c;
	if (cg_store_contact_get(s, id, &c) != 0)
		return cg_strdup("?");
	char *r = cg_strdup(c.name && *c.name ? c.name
	                    : c.nemails       ? c.emails[0]
	                    : c.njids         ? c.jids[0]
	                                      : "?");
	cg_contact_free(&c);
	return r;
}

static char *
contact_email(struct cg_store *s, int64_t id)
{
	struct cg_contact c;
	if (cg_store_contact_get(s, id, &c) != 0)
		return NULL;
	char *r = c.nemails ? cg_strdup(c.emails[0]) : NULL;
	cg_contact_free(&c);
	return r;
}

static int
plausible_address(const char *a)
{
	const char *at = strchr(a, '@');
	return at && at != a && at[1] && !strchr(at + 1, '@') &&
	       !strpbrk(a, " \t\r\n<>,;\"()/");
}

/* Find the nominee by email, then JID; create an unknown email address
 * as a guest. */
static int64_t
nominee_find(struct cg_store *s, const char *addr)
{
	int64_t id;
	int found = cg_store_contact_find(s, CG_ID_EMAIL, addr, &id);
	if (found == 0)
		found = cg_store_contact_find(s, CG_ID_JID, addr, &id);
	if (found < 0)
		return 0;
	if (found == 0 && plausible_address(addr)) {
		id = cg_store_contact_auto(s, CG_ID_EMAIL, addr, NULL);
		/* Like an unknown sender: the organisation owning its domain.
		 */
		int64_t org = 0;
		if (id &&
		    cg_store_org_by_domain(s, strrchr(addr, '@') + 1, &org) < 0)
			return 0;
		if (org && cg_store_contact_link_org(s, id, org) != 0)
			return 0;
	}
	return id;
}

static int
notify(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
       int64_t channel_id, const char *to, const char *subject,
       const char *body)
{
	if (to == NULL || !gw->cfg->smtp.present)
		return 0;
	struct cg_notice n = {
	    .channel_id = channel_id,
	    .from_addr = cg_onboarding_request_addr(ch->address),
	    .to_addr = cg_strdup(to),
	    .subject = cg_strdup(subject),
	    .body = wrap72(body),
	    .auto_submitted = cg_strdup("auto-generated"),
	};
	int rc = cg_store_notice_add(gw->store, &n, gw->cfg->gateway.domain);
	cg_notice_free(&n);
	return rc;
}

struct promotion {
	const struct cg_cfg_channel *ch;
	int64_t channel_id;
	int64_t nominee;
	int64_t nominator; /* the one acting now: answered by *reply */
	enum cg_layer target;
	char *nominee_label;
	int64_t *voters;
	size_t nvoters;
	struct cg_buf by; /* "Alice, Bob" */
	size_t released;
	size_t asked; /* unproven: the sender is asked to confirm them */
};

static int ask_confirmation(struct cg_gateway *gw,
                            const struct cg_cfg_channel *ch, int64_t channel_id,
                            int64_t message_id, int64_t contact_id,
                            const char *ext_message_id, const char *subject,
                            const char *text, int rationed, int64_t now);

/* Whether the contact receives the channel's mail already. */
static int
subscribed(struct cg_store *s, int64_t contact, const char *channel)
{
	struct cg_subscription *v;
	size_t n;
	int yes = 0;
	if (cg_store_contact_subscriptions(s, contact, &v, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		yes |= strcmp(v[i].channel, channel) == 0;
	cg_subscriptions_free(v, n);
	return yes;
}

/* Held post message_id in contact's name, not proven to be theirs and
 * not asked about yet (cg_store_held_unconfirmed): the confirmation
 * request goes to them now, as for a member's unproven post (its channel:
 * the post's own).  0 asked (or rationed), 1 its channel is gone, -1
 * store error. */
static int
ask_for_held(struct cg_gateway *gw, int64_t contact_id, int64_t message_id,
             int rationed)
{
	struct cg_stored_msg sm;
	if (cg_store_message_get(gw->store, message_id, &sm) != 0)
		return -1;
	char *name = cg_store_channel_name(gw->store, sm.channel_id);
	const struct cg_cfg_channel *ch =
	    name ? cg_config_channel(gw->cfg, name) : NULL;
	int rc = 1;
	if (ch == NULL)
		cg_warn("message %lld: channel %s is no longer configured",
		        (long long)message_id, name ? name : "?");
	else
		rc = ask_confirmation(gw, ch, sm.channel_id, message_id,
		                      contact_id, sm.message_id, sm.subject,
		                      sm.trimmed, rationed, cg_now());
	free(name);
	cg_stored_msg_free(&sm);
	return rc;
}

/* Held post message_id of the promoted nominee, not proven to be theirs:
 * asked about now. */
static int
ask_after_promotion(struct cg_gateway *gw, struct promotion *p,
                    int64_t message_id)
{
	int rc = ask_for_held(gw, p->nominee, message_id, 1);
	if (rc == 0)
		p->asked++;
	return rc < 0 ? -1 : 0;
}

/* The nominee's held posts its new layer allows: the proven ones go out,
 * for the others the sender is asked first. */
static int
release_on_promotion(struct cg_gateway *gw, struct promotion *p)
{
	struct cg_store *s = gw->store;
	int64_t *ids;
	size_t n;
	int rc = 0;
	if (cg_store_held_for_contact(s, p->nominee, p->target, cg_now(), &ids,
	                              &n) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t rows = 0;
		rc = cg_gateway_release_held(gw, ids[i], &rows);
		p->released++;
	}
	free(ids);
	if (rc != 0 ||
	    cg_store_held_unconfirmed(s, p->nominee, cg_now(), &ids, &n) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ask_after_promotion(gw, p, ids[i]);
	free(ids);
	return rc;
}

static int
promote(struct cg_gateway *gw, struct promotion *p)
{
	struct cg_store *s = gw->store;
	char *reason = cg_asprintf("nominated by %s", cg_buf_str(&p->by));
	int rc = cg_store_contact_set_layer(s, p->nominee, p->target, reason);
	free(reason);
	if (rc != 0 || release_on_promotion(gw, p) != 0)
		return -1;
	const char *layer = cg_layer_name(p->target);
	char *subject =
	    cg_asprintf("You are now a %s of %s", layer, p->ch->name);
	/* Posting is not reading: a guest is not subscribed, and only the
	 * person themselves may subscribe (with the confirmation round
	 * trip), so say how. */
	char *req = cg_onboarding_request_addr(p->ch->address);
	char *how = subscribed(s, p->nominee, p->ch->name)
	                ? cg_strdup("")
	                : cg_asprintf("To receive the mail of %s, send "
	                              "\"subscribe\" to %s (you will be "
	                              "asked to confirm).\n",
	                              p->ch->address, req);
	char *asked =
	    p->asked ? cg_asprintf("%zu held message%s in your name did not "
	                           "show that you sent %s: each goes out "
	                           "once you confirm it (we have mailed you "
	                           "about it).\n",
	                           p->asked, p->asked == 1 ? "" : "s",
	                           p->asked == 1 ? "it" : "them")
	             : cg_strdup("");
	char *body = cg_asprintf(
	    "Hello,\n\nyou have been nominated by %s and are now a %s: "
	    "you can post to %s.\n%s%s%s",
	    cg_buf_str(&p->by), layer, p->ch->address,
	    p->released ? "Your held messages have been delivered.\n" : "",
	    asked, how);
	free(asked);
	free(req);
	free(how);
	char *to = contact_email(s, p->nominee);
	rc = notify(gw, p->ch, p->channel_id, to, subject, body);
	free(to);
	free(subject);
	free(body);
	subject = cg_asprintf("%s is now a %s", p->nominee_label, layer);
	body = cg_asprintf("Hello,\n\n%s is now a %s of the community, "
	                   "nominated by %s.\n",
	                   p->nominee_label, layer, cg_buf_str(&p->by));
	for (size_t i = 0; i < p->nvoters && rc == 0; i++) {
		if (p->voters[i] == p->nominator)
			continue;
		to = contact_email(s, p->voters[i]);
		rc = notify(gw, p->ch, p->channel_id, to, subject, body);
		free(to);
	}
	free(subject);
	free(body);
	return rc;
}

/* Count the distinct member+ nominators for target or higher; fills
 * p->voters and p->by. */
static int
count_votes(struct cg_store *s, struct promotion *p)
{
	struct cg_nomination *v;
	size_t n;
	if (cg_store_nominations_pending(s, p->nominee, &v, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].target < p->target ||
		    v[i].nominator_layer < CG_LAYER_MEMBER)
			continue;
		int seen = 0;
		for (size_t j = 0; j < p->nvoters && !seen; j++)
			seen = p->voters[j] == v[i].nominator_id;
		if (seen)
			continue;
		p->voters =
		    cg_realloc(p->voters, (p->nvoters + 1) * sizeof *p->voters);
		p->voters[p->nvoters++] = v[i].nominator_id;
		cg_buf_printf(&p->by, "%s%s", p->by.len ? ", " : "",
		              v[i].nominator ? v[i].nominator : "?");
	}
	cg_nominations_free(v, n);
	return 0;
}

static const struct cg_cfg_channel *
nomination_channel(const struct cg_config *cfg, const char *name)
{
	if (name)
		return cg_config_channel(cfg, name);
	return cfg->nchannels ? &cfg->channels[0] : NULL;
}

/* The nomination itself, inside the transaction: 2 promoted, 1 recorded,
 * 0 refused, -1 error. */
static int
nominate_tx(struct cg_gateway *gw, struct promotion *p, char **reply)
{
	struct cg_store *s = gw->store;
	struct cg_contact nominee;
	if (cg_store_contact_get(s, p->nominee, &nominee) != 0)
		return -1;
	enum cg_layer now_layer = nominee.layer;
	cg_contact_free(&nominee);
	if (now_layer >= p->target) {
		*reply = cg_asprintf("%s is already a %s.", p->nominee_label,
		                     cg_layer_name(now_layer));
		return 0;
	}
	int added = cg_store_nomination_add(s, p->nominee, p->nominator,
	                                    p->channel_id, p->target, cg_now());
	if (added < 0 || count_votes(s, p) != 0)
		return -1;
	int need = gw->cfg->nominations_required > 0
	               ? gw->cfg->nominations_required
	               : 2;
	if ((int)p->nvoters < need) {
		*reply = cg_asprintf("%s %s as %s (%zu of %d nominations).",
		                     added ? "Nominated"
		                           : "You have already "
		                             "nominated",
		                     p->nominee_label, cg_layer_name(p->target),
		                     p->nvoters, need);
		return 1;
	}
	if (promote(gw, p) != 0)
		return -1;
	char *asked = p->asked ? cg_asprintf("; %zu more wait%s for the "
	                                     "sender's confirmation",
	                                     p->asked, p->asked == 1 ? "s" : "")
	                       : cg_strdup("");
	*reply = cg_asprintf("%s is now a %s (nominated by %s); %zu held "
	                     "message%s released%s.",
	                     p->nominee_label, cg_layer_name(p->target),
	                     cg_buf_str(&p->by), p->released,
	                     p->released == 1 ? "" : "s", asked);
	free(asked);
	return 2;
}

int
cg_onboarding_nominate(struct cg_gateway *gw, int64_t nominator_contact,
                       const char *nominee_address, enum cg_layer target,
                       const char *channel, char **reply)
{
	struct cg_store *s = gw->store;
	*reply = NULL;
	if (target != CG_LAYER_PARTNER && target != CG_LAYER_MEMBER) {
		*reply = cg_strdup("A nomination is for partner or member.");
		return 0;
	}
	struct cg_contact who;
	if (nominator_contact == 0 ||
	    cg_store_contact_get(s, nominator_contact, &who) != 0) {
		*reply = cg_strdup("Only members can nominate; this sender is "
		                   "not known as one.");
		return 0;
	}
	enum cg_layer who_layer = who.layer;
	cg_contact_free(&who);
	if (who_layer < CG_LAYER_MEMBER) {
		*reply = cg_asprintf("Only members can nominate; you are a %s.",
		                     cg_layer_name(who_layer));
		return 0;
	}
	const struct cg_cfg_channel *ch = nomination_channel(gw->cfg, channel);
	if (ch == NULL) {
		*reply = cg_asprintf("%s: no such channel.",
		                     channel ? channel : "(none)");
		return 0;
	}
	char *addr = cg_lowercase(nominee_address ? nominee_address : "");
	if (!plausible_address(addr)) {
		*reply =
		    cg_asprintf("\"%s\" is not an address to nominate.", addr);
		free(addr);
		return 0;
	}
	struct promotion p = {
	    .ch = ch,
	    .nominator = nominator_contact,
	    .target = target,
	};
	int rc = -1;
	if (cg_store_channel_id(s, ch->name, &p.channel_id) < 0 ||
	    cg_store_savepoint(s) != 0)
		goto out;
	p.nominee = nominee_find(s, addr);
	if (p.nominee == 0) {
		cg_store_savepoint_rollback(s);
		goto out;
	}
	if (p.nominee == nominator_contact) {
		cg_store_savepoint_rollback(s);
		*reply = cg_strdup("You cannot nominate yourself.");
		rc = 0;
		goto out;
	}
	p.nominee_label = contact_label(s, p.nominee);
	rc = nominate_tx(gw, &p, reply);
	if (rc < 0 || cg_store_savepoint_release(s) != 0) {
		cg_store_savepoint_rollback(s);
		free(*reply);
		*reply = NULL;
		rc = -1;
		goto out;
	}
	if (rc == 2) {
		cg_info("onboarding: %s is now a %s (nominated by %s)", addr,
		        cg_layer_name(target), cg_buf_str(&p.by));
		gw->outbox_kick = 1;
	}
out:
	if (rc < 0) {
		cg_warn("onboarding: nomination of %s failed: %s", addr,
		        cg_store_errmsg(s));
		*reply = cg_strdup("The nomination could not be recorded; "
		                   "please try again later.");
	}
	free(addr);
	free(p.nominee_label);
	free(p.voters);
	cg_buf_free(&p.by);
	return rc;
}

/* ---- posts held because their sender is not proven ---- */

#define CONFIRM_TOKEN_HEX 20

/* The request mailed to the contact (caller frees). */
static char *
confirm_body(const struct cg_cfg_channel *ch, const char *subject,
             const char *text, const char *token)
{
	size_t n = strcspn(text ? text : "", "\n");
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b,
	              "Hello,\n\na message in your name reached %s, but "
	              "nothing shows that you sent it, so it is held:\n\n"
	              "    Subject: %s\n    %.*s%s\n\n"
	              "If you sent it, reply to this mail (keep the subject: "
	              "it carries \"confirm %s\")",
	              ch->address, subject ? subject : "(none)",
	              (int)(n > 200 ? 200 : n), text ? text : "",
	              n > 200 ? "..." : "", token);
	if (ch->room)
		cg_buf_printf(&b,
		              ", or write \"!confirm\" in the chat room "
		              "%s",
		              ch->room);
	cg_buf_puts(&b,
	            ", and it goes out.  If you did not send it, ignore "
	            "this mail: the message expires in 7 days.\n\nTo skip "
	            "this step, send from your address through your mail "
	            "server's submission service, logged in, or with DKIM.\n");
	char *r = wrap72(cg_buf_str(&b));
	cg_buf_free(&b);
	return r;
}

/* Confirmation requests mailed to one address an hour (with the
 * channel's other +request answers): a wave of forged posts in a member's
 * name mails them this many, not one per post.  The others wait unasked
 * (cg_store_held_unconfirmed): the next one is asked about when the
 * member answers a request, and "!confirm" in the room releases them all. */
#define CONFIRMS_PER_HOUR 3

/* Whether the request for held post message_id may not be mailed to `to`
 * now: 1 rationed (the post is marked unproven, no token), 0 go ahead, -1
 * store error. */
static int
confirmation_rationed(struct cg_store *s, const char *to, const char *from,
                      int64_t message_id, int64_t now)
{
	int64_t n = 0;
	if (cg_store_notice_count(s, to, from, now - 3600, &n) < 0)
		return -1;
	if (n < CONFIRMS_PER_HOUR)
		return 0;
	cg_info("onboarding: held message %lld: no confirmation request "
	        "mailed to %s (%d an hour at most); it is asked about when "
	        "the sender answers one, or released by !confirm",
	        (long long)message_id, to, CONFIRMS_PER_HOUR);
	return cg_store_held_mark_unverified(s, message_id) == 0 ? 1 : -1;
}

/* Held post message_id (unproven): its confirmation token, and the
 * request to the contact's own address (rationed: CONFIRMS_PER_HOUR). */
static int
ask_confirmation(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                 int64_t channel_id, int64_t message_id, int64_t contact_id,
                 const char *ext_message_id, const char *subject,
                 const char *text, int rationed, int64_t now)
{
	struct cg_store *s = gw->store;
	char *to = contact_email(s, contact_id);
	if (to && gw->cfg->smtp.present && rationed) {
		char *from = cg_onboarding_request_addr(ch->address);
		int r = confirmation_rationed(s, to, from, message_id, now);
		free(from);
		if (r != 0) {
			free(to);
			return r < 0 ? -1 : 0;
		}
	}
	char *token = cg_random_hex(CONFIRM_TOKEN_HEX);
	int rc = cg_store_held_unverified(s, message_id, token, now,
	                                  now + CG_HELD_TTL);
	if (rc == 0 && to && gw->cfg->smtp.present) {
		struct cg_notice n = {
		    .channel_id = channel_id,
		    .from_addr = cg_onboarding_request_addr(ch->address),
		    .to_addr = to,
		    .subject = cg_asprintf("Did you send this to %s? "
		                           "confirm %s",
		                           ch->name, token),
		    .body = confirm_body(ch, subject, text, token),
		    .in_reply_to = cg_strdup(ext_message_id),
		    .auto_submitted = cg_strdup("auto-replied"),
		};
		to = NULL;
		rc = cg_store_notice_add(s, &n, gw->cfg->gateway.domain);
		cg_notice_free(&n);
		if (rc == 0)
			gw->outbox_kick = 1;
	}
	free(to);
	free(token);
	return rc;
}

int
cg_onboarding_unverified(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
                         int64_t channel_id, int64_t message_id,
                         int64_t contact_id, const char *ext_message_id,
                         const char *subject, const char *text, int64_t now)
{
	if (cg_store_held_add(gw->store, message_id, contact_id, channel_id,
	                      now, now + CG_HELD_TTL) != 0)
		return -1;
	return ask_confirmation(gw, ch, channel_id, message_id, contact_id,
	                        ext_message_id, subject, text, 1, now);
}

int
cg_onboarding_confirm_token(struct cg_gateway *gw, const char *token,
                            char **reply)
{
	int64_t id = 0;
	size_t rows = 0;
	*reply = NULL;
	int r = cg_store_held_confirm_take(gw->store, token, cg_now(), &id);
	if (r <= 0)
		return r;
	struct cg_stored_msg sm;
	if (cg_store_message_get(gw->store, id, &sm) != 0)
		return -1;
	int64_t contact_id = sm.contact_id;
	cg_stored_msg_free(&sm);
	if (cg_gateway_release_held(gw, id, &rows) != 0)
		return -1;
	cg_info("onboarding: held message %lld confirmed by its sender",
	        (long long)id);
	gw->outbox_kick = 1;
	/* The token came back from the member's mailbox: the next post that
	 * waits unasked (rationed) is asked about now, one per answer. */
	int64_t *ids = NULL;
	size_t n = 0, asked = 0, waiting = 0;
	if (cg_store_held_unconfirmed(gw->store, contact_id, cg_now(), &ids,
	                              &n) != 0)
		return -1;
	for (size_t i = 0; i < n && asked == 0; i++) {
		int a = ask_for_held(gw, contact_id, ids[i], 0);
		if (a < 0) {
			free(ids);
			return -1;
		}
		asked += a == 0;
	}
	free(ids);
	if (!asked) {
		*reply = cg_strdup("Thank you: your message is confirmed and "
		                   "goes out now.");
		return 1;
	}
	if (cg_store_held_unverified_for_contact(gw->store, contact_id,
	                                         cg_now(), &ids, &waiting) != 0)
		return -1;
	free(ids);
	*reply = cg_asprintf(
	    "Thank you: your message is confirmed and goes out now.  "
	    "%zu more in your name wait%s for confirmation; the request for "
	    "one more is on its way.",
	    waiting, waiting == 1 ? "s" : "");
	return 1;
}

int
cg_onboarding_confirm_contact(struct cg_gateway *gw, int64_t contact_id,
                              char **reply)
{
	struct cg_store *s = gw->store;
	int64_t *ids = NULL;
	size_t n = 0, rows = 0;
	int rc = cg_store_begin(s);
	if (rc == 0)
		rc = cg_store_held_unverified_for_contact(s, contact_id,
		                                          cg_now(), &ids, &n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cg_gateway_release_held(gw, ids[i], &rows);
	free(ids);
	if (rc != 0 || cg_store_commit(s) != 0) {
		cg_store_rollback(s);
		cg_warn("onboarding: cannot release confirmed posts: %s",
		        cg_store_errmsg(s));
		*reply = cg_strdup("Your held messages could not be released; "
		                   "please try again later.");
		return -1;
	}
	if (n)
		gw->outbox_kick = 1;
	*reply = n ? cg_asprintf("Confirmed: %zu held message%s go%s out now.",
	                         n, n == 1 ? "" : "s", n == 1 ? "es" : "")
	           : cg_strdup("No message in your name is waiting for "
	                       "confirmation.");
	return (int)n;
}
