/*
 * commands_billing.c: !time and !buy in a room (see commands_billing.h);
 * the rules are gateway/billing.c's, this file finds the asker and words
 * the answer.  Must never: record time or a purchase for anyone but the
 * asker's own contact, or answer into the room.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/xmpp/commands_billing.h"
#include "bridges/xmpp/xmpp.h"
#include "gateway/billing.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

/* "1.5 DEV pairing" -> hours, rate, note (the rest); -1 when short. */
static int
split_time(const char *arg, char **hours, char **rate, const char **note)
{
	size_t a = strcspn(arg, " \t");
	const char *r = arg + a;
	while (isspace((unsigned char)*r))
		r++;
	size_t b = strcspn(r, " \t");
	if (a == 0 || b == 0)
		return -1;
	*hours = cg_strndup(arg, a);
	*rate = cg_strndup(r, b);
	*note = r + b;
	while (isspace((unsigned char)**note))
		(*note)++;
	return 0;
}

static char *
time_cmd(struct xb_bridge *xb, const char *jid, const char *arg)
{
	char *hours, *rate, *msg = NULL, *err = NULL, *out;
	const char *note;
	if (split_time(arg, &hours, &rate, &note) != 0)
		return cg_strdup("Usage: !time HOURS RATE_CODE [NOTE]");
	int rc = cg_billing_time_log(xb->gw, jid, hours, rate, NULL, note, NULL,
	                             &msg, &err);
	out = rc == CG_BILL_OK ? cg_asprintf("!time: recorded %s", msg)
	                       : cg_asprintf("!time: refused: %s", err);
	cg_info("xmpp: !time by %s: %s", jid, rc == CG_BILL_OK ? msg : err);
	free(msg);
	free(err);
	free(hours);
	free(rate);
	return out;
}

static char *
buy_cmd(struct xb_bridge *xb, const char *jid, const char *arg)
{
	if (*arg == '\0' || strpbrk(arg, " \t"))
		return cg_strdup("Usage: !buy ASSET_CODE");
	int64_t id = 0; /* a store error: refused like a stranger */
	cg_store_contact_find(xb->gw->store, CG_ID_JID, jid, &id);
	if (id == 0)
		return cg_strdup("!buy: refused: only members may buy, and "
		                 "your JID is not a member's");
	char *msg = NULL, *err = NULL;
	int rc = cg_billing_buy(xb->gw, id, arg, &msg, &err);
	char *out = rc == CG_BILL_OK ? cg_asprintf("!buy: %s", msg)
	                             : cg_asprintf("!buy: refused: %s", err);
	cg_info("xmpp: !buy %s by %s: %s", arg, jid,
	        rc == CG_BILL_OK ? msg : err);
	free(msg);
	free(err);
	return out;
}

int
xb_commands_billing(struct xb_bridge *xb, const char *asker, const char *cmd,
                    const char *arg,
                    void (*reply)(struct xb_bridge *, const char *,
                                  const char *))
{
	int is_time = strcasecmp(cmd, "time") == 0;
	if (!is_time && strcasecmp(cmd, "buy") != 0)
		return 0;
	const char *jid = xb_asker_jid(xb, asker);
	char *out;
	if (jid == NULL)
		out =
		    cg_asprintf("!%s needs your real JID to be visible in the "
		                "room; nothing was recorded.",
		                cmd);
	else if (!xb->gw->cfg->billing.present)
		out = cg_asprintf("!%s: billing is not configured here.", cmd);
	else
		out = is_time ? time_cmd(xb, jid, arg) : buy_cmd(xb, jid, arg);
	reply(xb, asker, out);
	free(out);
	return 1;
}
