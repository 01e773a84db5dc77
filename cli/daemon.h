/* daemon.h: `coopgate run`: the process around the event loop. */
#ifndef CG_DAEMON_H
#define CG_DAEMON_H

struct cg_config;

/* Takes ownership of cfg.  Returns a sysexits code. */
int cg_daemon_run(struct cg_config *cfg, int foreground);

/* Pid of the daemon holding DATA_DIR/coopgate.pid, or 0 when none runs. */
long cg_daemon_running(const char *data_dir);

/*
 * Wake the daemon running on DATA_DIR (SIGUSR1 to the pid in
 * DATA_DIR/coopgate.pid): it reads the outbox and its schedules at once,
 * so what a command just wrote to the store is sent now, not at the next
 * timer.  1 when a daemon was signalled, 0 when none runs.
 */
int cg_daemon_wake(const char *data_dir);

#endif
