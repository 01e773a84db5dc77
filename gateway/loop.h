/*
 * loop.h: the one event loop (after Redis's ae.c): a poll() over the signal
 * self-pipe and the fds each bridge asks for, plus a small timer list.
 * Single-threaded; callbacks run in the loop thread.
 */
#ifndef CG_LOOP_H
#define CG_LOOP_H

#include <signal.h>
#include <stdint.h>

/*
 * The wake-up: a command run while the daemon runs (report --send,
 * invoices, member changes) writes to the store, then sends this signal to
 * the pid in DATA_DIR/coopgate.pid (cli/daemon.c: cg_daemon_wake).  The
 * daemon watches it with cg_loop_on_signal() like any signal: through the
 * self-pipe, so the poll() returns at once and the handler runs in the
 * loop, never in signal context.
 */
#define CG_LOOP_WAKE_SIGNAL SIGUSR1

struct cg_loop;
typedef void cg_timer_fn(struct cg_loop *l, void *arg);
typedef void cg_signal_fn(struct cg_loop *l, int signo, void *arg);

struct cg_loop *cg_loop_new(void);
void cg_loop_free(struct cg_loop *l);
/* Watch SIGTERM/SIGINT/SIGHUP etc. through the self-pipe. */
int cg_loop_on_signal(struct cg_loop *l, int signo, cg_signal_fn *fn,
                      void *arg);
/* One-shot timer after delay_ms; returns an id > 0. */
uint64_t cg_loop_timer(struct cg_loop *l, int64_t delay_ms, cg_timer_fn *fn,
                       void *arg);
void cg_loop_timer_cancel(struct cg_loop *l, uint64_t id);
/* Run until cg_loop_stop(); `turn` is called every turn with the fds poll()
 * returned (the daemon, cli/daemon.c, sets it). */
typedef int64_t cg_turn_prepare_fn(struct cg_loop *l, struct pollfd *pfds,
                                   int *npfds, int max, void *arg);
typedef void cg_turn_ready_fn(struct cg_loop *l, struct pollfd *pfds, int npfds,
                              void *arg);
void cg_loop_set_turn(struct cg_loop *l, cg_turn_prepare_fn *prepare,
                      cg_turn_ready_fn *ready, void *arg);
int cg_loop_run(struct cg_loop *l);
void cg_loop_stop(struct cg_loop *l);
int cg_loop_stopping(const struct cg_loop *l);

#endif
