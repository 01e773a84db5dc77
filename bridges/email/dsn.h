/*
 * dsn.h: delivery status notifications (RFC 3464), read by bounce.c
 * (dsn.c).  A pure function: no network, no store.
 */
#ifndef EMAIL_DSN_H
#define EMAIL_DSN_H

#include <stddef.h>

/*
 * Read an RFC 3464 delivery-status report (multipart/report with a
 * message/delivery-status part).  On the first recipient whose Action is
 * failed/delayed or whose Status is 4.x.x/5.x.x, sets *recipient (lower
 * case, caller frees; Original-Recipient preferred over Final-Recipient)
 * and *permanent (1 for 5.x.x / failed, 0 for 4.x.x / delayed) and
 * returns 0.  Returns -1 when there is no such report or no failure in it.
 */
int email_dsn_parse(const char *raw, size_t len, char **recipient,
                    int *permanent);

#endif
