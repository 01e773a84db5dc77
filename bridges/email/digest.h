/*
 * digest.h: digests for members whose delivery is "digest": once per
 * period (a day, at 00:00 UTC) each channel with new posts gets one digest
 * per such member: a plain-text mail (text/plain, not multipart/digest:
 * every mail client shows it, and it quotes the trimmed text the room saw)
 * listing the posts stored since the channel's previous digest, each
 * post's files as "[File: NAME (SIZE): URL]" lines (a digest attaches
 * none; without a link the line says they came in the list's own mail).
 * Each copy
 * is a notice (store: digest_notice) and leaves through the outbox; it is
 * composed as list mail (mail_out.c) with a VERP envelope sender.
 *
 * Testing knob: env COOPGATE_DIGEST_PERIOD=SECONDS, read once when the
 * bridge starts, replaces the day (periods then start at multiples of it
 * since the epoch).  Loop thread only.
 */
#ifndef EMAIL_DIGEST_H
#define EMAIL_DIGEST_H

#include <stdint.h>

struct cg_gateway;
struct email_digest;

struct email_digest *email_digest_new(struct cg_gateway *gw);
void email_digest_free(struct email_digest *d);
/* Write the digests that are due (one transaction per channel); returns
 * the monotonic ms of the next period's end. */
int64_t email_digest_tick(struct email_digest *d, int64_t now_mono_ms);
/* The digest's body for messages ids[0..n) of channel `channel`, UTF-8,
 * LF line ends (caller frees). */
char *email_digest_body(struct cg_gateway *gw, const char *channel,
                        const int64_t *ids, size_t n, int64_t start,
                        int64_t end);

#endif
