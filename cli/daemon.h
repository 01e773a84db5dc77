/* daemon.h: `coopgate run`: the process around the event loop. */
#ifndef CG_DAEMON_H
#define CG_DAEMON_H

struct cg_config;

/* Takes ownership of cfg.  Returns a sysexits code. */
int cg_daemon_run(struct cg_config *cfg, int foreground);

/* Pid of the daemon holding DATA_DIR/coopgate.pid, or 0 when none runs. */
long cg_daemon_running(const char *data_dir);

#endif
