/*
 * commands.c: room commands.  A room line (or a private message through a
 * room) starting with `!` is a command: it is never relayed, and the answer
 * goes only to the asker, as a private message through the room
 * (type chat to room/nick), so nobody else sees it.
 *
 *   !help                  the commands
 *   !who NAME|ADDRESS      found by email address, JID, or name; what
 *                          it shows depends on the asker's layer (the
 *                          contact of the real bare JID the room shows;
 *                          none: a guest): a guest sees name,
 *                          organisation and layer; a partner or member
 *                          also the layer's date, channels, 30-day
 *                          messages and last seen; core a summary line
 *                          with addresses, then the whole card of
 *                          `coopgate member show` (cg_crm_card)
 *   !nominate ADDRESS [partner]
 *                          a nomination (gateway/onboarding.c) for the
 *                          room's channel by the contact of the asker's
 *                          real bare JID as the room shows it (never by
 *                          nick); no real JID visible: refused
 *   !confirm               release the posts held in the name of the
 *                          asker's contact (real JID) for lack of proof
 *
 *   !search WORDS, !report KIND [PERIOD]
 *                          the archive's top five / a report of the
 *                          room's channel (gateway/reports.c)
 *
 * !time and !buy: commands_billing.c.  Must never: write to the
 * store except through a nomination or commands_billing.c, answer into
 * the room, or show anyone but core a contact's addresses, JIDs, tags,
 * notes, nominators or bounces.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bridges/xmpp/commands_billing.h"
#include "bridges/xmpp/xmpp.h"
#include "gateway/crm.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/onboarding.h"
#include "gateway/reports.h"
#include "lib/util.h"

#define WHO_ACTIVITY_WINDOW (30 * 86400) /* s: "Messages (30 days)" */

static const char HELP[] =
    "coopgate commands (answers come only to you):\n"
    "!help - this list\n"
    "!who NAME|ADDRESS - who someone is: name, organisation and layer; "
    "partners and members also see channels and activity, core members "
    "the whole card (addresses, notes, nominations, bounces)\n"
    "!nominate ADDRESS [partner] - (members) nominate someone as member "
    "(or partner)\n"
    "!confirm - send the messages held in your name for confirmation\n"
    "!time HOURS RATE_CODE [NOTE] - record time you worked\n"
    "!buy ASSET_CODE - (members) buy a digital asset: invoice and file by "
    "mail\n"
    "!search WORDS - the five best messages of the archive (mail and chat)\n"
    "!report KIND [PERIOD] - activity, facilitation or topics of this "
    "channel\n"
    "Lines starting with ! are not passed on to the mailing list.";

static void
reply(struct xb_bridge *xb, const char *to, const char *text)
{
	char *id = xb_new_id("cmd");
	xmpp_stanza_t *m = xmpp_message_new(xb->ctx, "chat", to, id);
	xb_from_self(xb, m);
	free(id);
	xb_add_text_child(m, "body", text);
	/* XEP-0045 7.5: mark a private message sent through a room */
	xmpp_stanza_add_child_ex(m, xb_el(xb->ctx, "x", NS_MUC_USER), 0);
	xb_send_release(xb, m);
}

/* A contact by address, JID or name; 0 when none (or on a store error,
 * logged by the store: the command then answers "unknown"). */
static int64_t
find_contact(struct cg_store *s, const char *arg)
{
	int64_t id = 0;
	int found = 0;
	if (strchr(arg, '@')) {
		char *lower = cg_lowercase(arg);
		found = cg_store_contact_find(s, CG_ID_EMAIL, lower, &id);
		if (found == 0) {
			char *bare = xb_bare_lower(lower);
			found = cg_store_contact_find(s, CG_ID_JID, bare, &id);
			free(bare);
		}
		free(lower);
	}
	if (found == 0)
		found = cg_store_contact_find_name(s, arg, &id);
	return found == 1 ? id : 0;
}

/* The room of the occupant asker (ROOM/NICK), or NULL. */
static struct xb_room *
asker_room(struct xb_bridge *xb, const char *asker)
{
	const char *slash = asker ? strchr(asker, '/') : NULL;
	if (slash == NULL)
		return NULL;
	char *room_jid = cg_strndup(asker, (size_t)(slash - asker));
	struct xb_room *r = xb_muc_room(xb, room_jid);
	free(room_jid);
	return r;
}

const char *
xb_asker_jid(struct xb_bridge *xb, const char *asker)
{
	struct xb_room *r = asker_room(xb, asker);
	const struct xb_occupant *o =
	    r ? xb_muc_occupant(r, strchr(asker, '/') + 1) : NULL;
	return o ? o->jid : NULL;
}

/* The asker's layer: a guest unless the room shows a real JID that is
 * a contact's. */
static enum cg_layer
asker_layer(struct xb_bridge *xb, const char *asker)
{
	struct cg_store *s = xb->gw->store;
	const char *jid = xb_asker_jid(xb, asker);
	int64_t id = 0;
	struct cg_contact c;
	if (jid == NULL || cg_store_contact_find(s, CG_ID_JID, jid, &id) != 1 ||
	    cg_store_contact_get(s, id, &c) != 0)
		return CG_LAYER_GUEST;
	enum cg_layer l = c.layer;
	cg_contact_free(&c);
	return l;
}

static void
add_date(struct cg_buf *b, int64_t when)
{
	char date[32];
	time_t t = (time_t)when;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	cg_buf_puts(b, date);
}

/* "Name: Org; layer L" -- all a guest sees. */
static void
who_guest_view(const struct cg_contact *c, struct cg_buf *b)
{
	cg_buf_printf(b, "%s: %s; layer %s", c->name ? c->name : "(no name)",
	              c->org ? c->org : "no organisation",
	              cg_layer_name(c->layer));
}

/* A partner's or member's view: the guest's, the layer's date, the
 * channels and the activity; no addresses, JIDs, tags, notes,
 * nominations or bounces. */
static void
who_member_view(struct cg_store *s, const struct cg_contact *c,
                struct cg_buf *b)
{
	who_guest_view(c, b);
	cg_buf_puts(b, " since ");
	add_date(b, c->layer_since);
	struct cg_subscription *subs;
	size_t n;
	if (cg_store_contact_subscriptions(s, c->id, &subs, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			cg_buf_printf(b, "%s%s", i ? ", " : "; channels ",
			              subs[i].channel);
		cg_subscriptions_free(subs, n);
	}
	int64_t now = cg_now(), count, seen;
	if (cg_store_interaction_count(s, c->id, "in",
	                               now - WHO_ACTIVITY_WINDOW, &count) == 0)
		cg_buf_printf(b, "\nMessages (30 days): %lld",
		              (long long)count);
	if (cg_store_contact_last_seen(s, c->id, &seen) != 0)
		return;
	cg_buf_puts(b, "\nLast seen: ");
	if (seen)
		add_date(b, seen);
	else
		cg_buf_puts(b, "never");
}

/* Core's view: the summary line with addresses, then the whole card, as
 * `coopgate member show` prints it. */
static void
who_core_view(struct cg_store *s, const struct cg_contact *c, struct cg_buf *b)
{
	cg_buf_puts(b, c->name ? c->name : "(no name)");
	if (c->nemails)
		cg_buf_printf(b, " <%s>", c->emails[0]);
	cg_buf_printf(b, ": %s; layer %s since ",
	              c->org ? c->org : "no organisation",
	              cg_layer_name(c->layer));
	add_date(b, c->layer_since);
	for (size_t i = 0; i < c->njids; i++)
		cg_buf_printf(b, "%s%s", i ? ", " : "; XMPP ", c->jids[i]);
	cg_buf_putc(b, '\n');
	cg_crm_card(s, c->id, b);
	while (b->len && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
}

static void
who(struct xb_bridge *xb, const char *asker, const char *arg)
{
	if (*arg == '\0') {
		reply(xb, asker, "Usage: !who NAME|ADDRESS");
		return;
	}
	struct cg_store *s = xb->gw->store;
	int64_t id = find_contact(s, arg);
	struct cg_contact c;
	if (id <= 0 || cg_store_contact_get(s, id, &c) != 0) {
		char *t = cg_asprintf("!who: nobody known as %s", arg);
		reply(xb, asker, t);
		free(t);
		return;
	}
	struct cg_buf b = CG_BUF_INIT;
	switch (asker_layer(xb, asker)) {
	case CG_LAYER_CORE:
		who_core_view(s, &c, &b);
		break;
	case CG_LAYER_MEMBER:
	case CG_LAYER_PARTNER:
		who_member_view(s, &c, &b);
		break;
	default:
		who_guest_view(&c, &b);
		break;
	}
	reply(xb, asker, cg_buf_str(&b));
	cg_buf_free(&b);
	cg_contact_free(&c);
}

/* asker: ROOM/NICK.  The nominator is the contact of the occupant's real
 * bare JID, as the room told us in its presence. */
static void
nominate(struct xb_bridge *xb, const char *asker, const char *arg)
{
	char *address = cg_strndup(arg, strcspn(arg, " \t"));
	const char *layer = arg + strlen(address);
	while (isspace((unsigned char)*layer))
		layer++;
	enum cg_layer target = CG_LAYER_MEMBER;
	if (*address == '\0') {
		reply(xb, asker, "Usage: !nominate ADDRESS [partner]");
		free(address);
		return;
	}
	if (strcasecmp(layer, "partner") == 0)
		target = CG_LAYER_PARTNER;
	else if (*layer && strcasecmp(layer, "member") != 0) {
		reply(xb, asker, "Usage: !nominate ADDRESS [partner]");
		free(address);
		return;
	}
	struct xb_room *r = asker_room(xb, asker);
	const char *jid = xb_asker_jid(xb, asker);
	if (r == NULL || jid == NULL) {
		reply(xb, asker,
		      "!nominate: nominations need your real JID to be "
		      "visible in the room; nothing was recorded.");
		free(address);
		return;
	}
	struct cg_gateway *gw = xb->gw;
	int64_t who;
	char *answer = NULL;
	int rc = cg_store_contact_find(gw->store, CG_ID_JID, jid, &who);
	if (rc >= 0)
		rc = cg_onboarding_nominate(gw, who, address, target,
		                            r->channel, &answer);
	cg_info("xmpp: !nominate %s by %s (%s): %s", address, jid, r->channel,
	        rc == 2   ? "promoted"
	        : rc == 1 ? "recorded"
	        : rc == 0 ? "refused"
	                  : "failed");
	char *t =
	    cg_asprintf("!nominate %s: %s", address, answer ? answer : "");
	reply(xb, asker, t);
	free(t);
	free(answer);
	free(address);
}

/* "!confirm": the asker's real JID, authenticated by the XMPP server,
 * vouches for the posts held in its contact's name. */
static void
confirm(struct xb_bridge *xb, const char *asker)
{
	const char *jid = xb_asker_jid(xb, asker);
	int64_t who = 0;
	if (jid == NULL ||
	    cg_store_contact_find(xb->gw->store, CG_ID_JID, jid, &who) != 1) {
		reply(xb, asker,
		      "!confirm: your real JID must be visible in "
		      "the room and known here; nothing released.");
		return;
	}
	char *answer = NULL;
	cg_onboarding_confirm_contact(xb->gw, who, &answer);
	char *t = cg_asprintf("!confirm: %s", answer);
	reply(xb, asker, t);
	free(t);
	free(answer);
}

/* !search WORDS, !report KIND [PERIOD] (gateway/reports.c), as the
 * contact of the asker's real JID when the room shows it. */
static char *
reports_command(struct xb_bridge *xb, const char *asker, const char *cmd,
                const char *arg)
{
	struct xb_room *r = asker_room(xb, asker);
	const char *jid = xb_asker_jid(xb, asker);
	int64_t who = 0; /* a store error: answered as for a stranger */
	if (jid)
		cg_store_contact_find(xb->gw->store, CG_ID_JID, jid, &who);
	char *t =
	    cg_reports_command(xb->gw, r ? r->channel : NULL, who, cmd, arg);
	return t ? t : cg_strdup("?");
}

void
xb_commands_run(struct xb_bridge *xb, const char *asker, const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	if (*line == '!')
		line++;
	size_t n = strcspn(line, " \t\r\n");
	char *cmd = cg_strndup(line, n);
	const char *rest = line + n;
	while (isspace((unsigned char)*rest))
		rest++;
	char *arg = cg_strndup(rest, strcspn(rest, "\r\n"));
	for (size_t k = strlen(arg);
	     k > 0 && isspace((unsigned char)arg[k - 1]);)
		arg[--k] = '\0';
	cg_info("xmpp: command !%s from %s", cmd, asker);
	if (strcasecmp(cmd, "help") == 0) {
		reply(xb, asker, HELP);
	} else if (strcasecmp(cmd, "who") == 0) {
		who(xb, asker, arg);
	} else if (strcasecmp(cmd, "nominate") == 0) {
		nominate(xb, asker, arg);
	} else if (strcasecmp(cmd, "confirm") == 0) {
		confirm(xb, asker);
	} else if (xb_commands_billing(xb, asker, cmd, arg, reply)) {
		/* !time, !buy: commands_billing.c */
	} else if (strcasecmp(cmd, "search") == 0 ||
	           strcasecmp(cmd, "report") == 0) {
		char *t = reports_command(xb, asker, cmd, arg);
		reply(xb, asker, t);
		free(t);
	} else {
		char *t = cg_asprintf("Unknown command !%s. Try !help.", cmd);
		reply(xb, asker, t);
		free(t);
	}
	free(cmd);
	free(arg);
}
