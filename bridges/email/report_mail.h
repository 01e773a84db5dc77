/*
 * report_mail.h: a report's copy for one recipient as a mail
 * (multipart/alternative: text/plain, then text/html), the composition
 * the outbox uses for a notice that is a report (gateway/reports.c).
 */
#ifndef EMAIL_REPORT_MAIL_H
#define EMAIL_REPORT_MAIL_H

#include <stddef.h>
#include <stdint.h>

struct cg_store;
struct email_compose_in;

/*
 * The mail for notice `notice_id` composed from `in` (compose.h): when
 * the notice is a report's copy, its headers as email_compose() writes
 * them and a multipart/alternative body of in->body (text) and the
 * report's HTML; otherwise exactly email_compose().  Caller frees; NULL
 * as email_compose() or on a store error.
 */
char *email_report_mail(struct cg_store *st, int64_t notice_id,
                        const struct email_compose_in *in, size_t *len);

#endif
