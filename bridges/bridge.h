/*
 * bridge.h: the one interface every bridge (email, xmpp) implements.
 *
 * A bridge turns what it receives into cg_msg values and hands each to
 * cg_gateway_ingest(); it delivers outbox rows the gateway gives it.  The
 * gateway's loop (gateway/loop.c) owns the poll(): each turn it asks every
 * bridge for the fds it wants watched and the time it next wants to run.
 * A bridge never touches another bridge or the database directly except
 * through the store functions it is handed via the gateway.
 *
 * Threads: a bridge may run blocking work (libetpan) in a worker thread of
 * its own, but then reports back through a pipe fd it lists in fds(); only
 * the loop thread calls these functions and the store.
 */
#ifndef CG_BRIDGE_H
#define CG_BRIDGE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct cg_gateway;
struct cg_outbox_row;

enum cg_delivery_status {
	CG_DELIVERED, /* handed over; far_id set when the far side gave one */
	CG_RETRY,     /* temporary failure: retry with backoff */
	CG_FAILED,    /* permanent failure: dead-letter now */
	CG_INFLIGHT,  /* the bridge reports later via cg_outbox_complete()
	                 with a cg_delivery and row of its own: the ones
	                 handed to deliver() are freed when it returns */
};

/* One outbox row handed to a bridge, with room for the result. */
struct cg_outbox_item {
	const struct cg_outbox_row *row;
	enum cg_delivery_status status;
	char *far_id; /* set by the bridge (malloc'd), may stay NULL */
	char *error;  /* set by the bridge (malloc'd) on RETRY/FAILED */
};

struct cg_bridge;

struct cg_bridge_ops {
	const char *name; /* "email", "xmpp": also the outbox's bridge column */
	/* Connect (or start trying to); 0 ok.  Failure to connect is not an
	 * error here: the bridge retries with backoff and reports its state
	 * with cg_gateway_bridge_state(). */
	int (*start)(struct cg_bridge *b);
	/* Fill up to max pollfds to watch this turn; return how many. */
	int (*fds)(struct cg_bridge *b, struct pollfd *pfds, int max);
	/* A watched fd is ready (revents as poll() reported). */
	void (*on_ready)(struct cg_bridge *b, int fd, short revents);
	/* Timers: called every loop turn; return the monotonic ms at which it
	 * wants to be called again at the latest (0: no wish). */
	int64_t (*tick)(struct cg_bridge *b, int64_t now_mono_ms);
	/* Deliver n due outbox rows; fill each status.  Return how many rows
	 * it took (it may take fewer than n, e.g. while disconnected: the
	 * rest stay pending untouched).  It may reorder d first: the first
	 * rows returned are the ones recorded. */
	size_t (*deliver)(struct cg_bridge *b, struct cg_outbox_item *d,
	                  size_t n);
	/* Whether deliver() can be called now (connected, not busy). */
	int (*ready)(struct cg_bridge *b);
	/* Stop: finish what is in flight if quick, close connections. */
	void (*stop)(struct cg_bridge *b);
	void (*destroy)(struct cg_bridge *b);
};

struct cg_bridge {
	const struct cg_bridge_ops *ops;
	struct cg_gateway *gw;
	void *impl; /* the bridge's own state */
};

/* Constructors of the bridges that exist (NULL when not configured). */
struct cg_bridge *cg_email_bridge_new(struct cg_gateway *gw);
struct cg_bridge *cg_xmpp_bridge_new(struct cg_gateway *gw);

#endif
