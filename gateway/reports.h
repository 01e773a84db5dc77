/*
 * reports.h: reports as messages (gateway/reports.c): a report built from
 * what a user typed (kind, channel, period), sent by mail to the
 * recipients of `reports.recipients` (multipart/alternative: text and
 * HTML, composed by the email bridge) with a summary for the room; the
 * weekly schedule (`reports.weekly`), once per period; and the answers to
 * `!search` / `!report` in rooms and `search` / `report` by mail.
 *
 * Ownership: strings handed back are the caller's.
 */
#ifndef CG_GATEWAY_REPORTS_H
#define CG_GATEWAY_REPORTS_H

#include <stdint.h>

#include "reports/report.h"

struct cg_config;
struct cg_gateway;
struct cg_store;

/*
 * Build report `kind` for `channel` (NULL: all) and `period` (NULL: 7d).
 * Returns a sysexits code: 0; CG_EX_USAGE for an unknown kind or a
 * malformed period, CG_EX_DATAERR for an unknown channel,
 * CG_EX_UNAVAILABLE for a kind not available yet, CG_EX_SOFTWARE on a
 * store error; *why (caller frees) is then one line saying what is
 * accepted.  *channel_id: 0 for all.
 */
int cg_reports_make(struct cg_store *s, const struct cg_config *cfg,
                    const char *kind, const char *channel, const char *period,
                    int64_t now, struct cg_report *out, int64_t *channel_id,
                    char **why);

/*
 * Send a built report: one notice per recipient (its HTML kept with the
 * report, report_sent) and its summary to the room of the channel (every
 * room for all channels), in one transaction.  scheduled = 1: at most
 * once per kind, channel and period.  1 sent, 0 sent before (scheduled),
 * -1 on error.  *nrecipients: how many mails.
 */
int cg_reports_send(struct cg_store *s, const struct cg_config *cfg,
                    const struct cg_report *r, int64_t channel_id,
                    int scheduled, int64_t now, size_t *nrecipients);

/* The weekly schedule: send what is due (the last full ISO week, for
 * each channel and kind) and arm the next check.  Called at start, on a
 * wake-up and by its timer. */
void cg_reports_schedule(struct cg_gateway *gw);

/* `!search WORDS`, `search WORDS`: the top `limit` hits as text for
 * `reader` (restricted: a guest, who reads only its channels). */
char *cg_reports_search_answer(struct cg_store *s, const char *words,
                               int64_t channel_id, int restricted,
                               int64_t reader, size_t limit);
/* `!report KIND`, `report KIND [PERIOD]`: the text report for a channel,
 * or the one line saying what is accepted. */
char *cg_reports_answer(struct cg_store *s, const struct cg_config *cfg,
                        const char *kind, const char *channel,
                        const char *period);

/*
 * A `search WORDS` or `report KIND [PERIOD]` command sent through
 * `channel` by contact `asker` (0: unknown), from a room (`!search`: top
 * five) or by mail: the answer text, or NULL when cmd is neither.  A
 * guest (or an unknown sender) searches only the channels it is
 * subscribed to and gets no report.  Caller frees.
 */
char *cg_reports_command(struct cg_gateway *gw, const char *channel,
                         int64_t asker, const char *cmd, const char *arg);

#endif
