/*
 * pipeline.h: what the pipeline (pipeline.c) offers the rest of the
 * gateway, not the bridges (their calls are in gateway.h).
 */
#ifndef CG_PIPELINE_H
#define CG_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

struct cg_gateway;

/* Release one held message: clear the held state and write the outbox
 * rows of a fresh post (*rows added).  Inside the caller's transaction
 * (onboarding.c, after a promotion or a confirmation). */
int cg_gateway_release_held(struct cg_gateway *gw, int64_t message_id,
                            size_t *rows);

#endif
