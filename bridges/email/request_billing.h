/*
 * request_billing.h: the billing commands mailed to CHANNEL+request@
 * (CONTRACT.md): "time HOURS RATE_CODE [NOTE]" records time for the
 * sender (a worker of a seller), "buy ASSET_CODE" buys a digital asset
 * (members and up; invoice and file come by mail).  request.c parses the
 * lines and checks that the sender is authenticated; the rules are
 * gateway/billing.c's.
 */
#ifndef EMAIL_REQUEST_BILLING_H
#define EMAIL_REQUEST_BILLING_H

struct cg_gateway;
struct cg_buf;

/* Carry out one command by `sender` (arg: the rest of its line) inside
 * the caller's transaction; the answer (one paragraph) is added to reply.
 * Returns a short result for the log (static). */
const char *email_billing_command(struct cg_gateway *gw, const char *sender,
                                  int buy, const char *arg,
                                  struct cg_buf *reply);

#endif
