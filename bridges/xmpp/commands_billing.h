/*
 * commands_billing.h: the room's billing commands (CONTRACT.md):
 *   !time HOURS RATE_CODE [NOTE]  record time for the asker (a worker of a
 *                                 seller), billed to the rate's buyer
 *   !buy ASSET_CODE               buy a digital asset (members and up):
 *                                 its invoice is issued and mailed at
 *                                 once, with the file
 * The asker is the contact of its real bare JID as the room shows it.
 * Answers go to the asker only, saying why when refused.
 */
#ifndef XMPP_COMMANDS_BILLING_H
#define XMPP_COMMANDS_BILLING_H

struct xb_bridge;

/* 1 when cmd is a billing command (handled and answered), else 0.
 * reply(xb, asker, text) sends the private answer. */
int xb_commands_billing(struct xb_bridge *xb, const char *asker,
                        const char *cmd, const char *arg,
                        void (*reply)(struct xb_bridge *, const char *,
                                      const char *));

#endif
