/*
 * billing.h: the billing rules (CONTRACT.md "Billing, invoices and
 * reports").  Who bills whom: time by a worker of a seller is billed by
 * that seller to the entry's buyer (the rate's default buyer unless
 * given); plans and assets by their seller.  One invoice per seller,
 * buyer and period, numbered gaplessly per seller and year inside the
 * transaction that issues it; each time entry, subscription month and
 * purchase is billed exactly once (the store refuses a second time).
 * Every invoice leaves as a notice mail from billing@DOMAIN (the email
 * bridge composes it with its XRechnung attachment) and, for a buyer with
 * a JID, a private chat line.
 *
 * Results: CG_BILL_OK, CG_BILL_BAD (bad input: *err says what, nothing
 * changed; exit 65), CG_BILL_ERR (the store failed: *err).
 */
#ifndef CG_GATEWAY_BILLING_H
#define CG_GATEWAY_BILLING_H

#include <stdint.h>
#include <stdio.h>

struct cg_gateway;

enum { CG_BILL_OK = 0, CG_BILL_ERR = -1, CG_BILL_BAD = -2 };

/* "YYYY-MM" -> first and last day ("YYYY-MM-DD"); -1 when malformed. */
int cg_billing_period(const char *text, char from[11], char to[11]);
/* Today (local time) as "YYYY-MM-DD", and last month as "YYYY-MM". */
void cg_billing_today(char out[11]);
void cg_billing_last_month(char out[8]);

/*
 * Issue the invoices of period ("YYYY-MM"; not in the future).  One line
 * per invoice issued (or, dry_run, that would be) and per buyer skipped
 * for missing billing data goes to out (may be NULL).  *issued and
 * *skipped count them.  Returns CG_BILL_OK, CG_BILL_BAD (period, or any
 * buyer skipped: the rest were issued), CG_BILL_ERR.
 */
int cg_billing_run(struct cg_gateway *gw, const char *period, int dry_run,
                   FILE *out, int *issued, int *skipped, char **err);

/* Record time: worker (an address or JID of a contact) worked hours
 * ("1.5") at rate; buyer NULL: the rate's buyer; day NULL: today.  *id
 * the entry.  The text confirming it in *msg (caller frees). */
int cg_billing_time_log(struct cg_gateway *gw, const char *worker,
                        const char *hours, const char *rate, const char *buyer,
                        const char *note, const char *day, char **msg,
                        char **err);

/* Subscriptions: start/stop plan for buyer on day (NULL: today). */
int cg_billing_plan_start(struct cg_gateway *gw, const char *buyer,
                          const char *plan, const char *day, char **err);
int cg_billing_plan_stop(struct cg_gateway *gw, const char *buyer,
                         const char *plan, const char *day, char **err);

/* buyer (contact id) buys asset code: a purchase, its invoice issued at
 * once and mailed with the file.  Only contacts at layer member or above.
 * *msg: the confirmation (number, gross) for the buyer. */
int cg_billing_buy(struct cg_gateway *gw, int64_t buyer_id, const char *code,
                   char **msg, char **err);

/* A credit note (381) cancelling invoice `number`, mailed like an
 * invoice; *credit its number (caller frees). */
int cg_billing_cancel(struct cg_gateway *gw, const char *number,
                      const char *reason, char **credit, char **err);

/* The daemon: every few seconds, issue last month's invoices once on or
 * after billing.run_day (recorded in the store), and look for outbox rows
 * another process (the CLI) queued. */
void cg_billing_timer_start(struct cg_gateway *gw);

#endif
