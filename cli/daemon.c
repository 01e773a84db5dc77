/*
 * daemon.c: `coopgate run`.  Opens the store, syncs the config, takes the
 * pid-file lock (one daemon per data dir), starts the bridges and runs the
 * loop.  SIGTERM/SIGINT stop after the item in flight; SIGHUP reloads the
 * config, keeping the old one when the new one is invalid.
 * Must never: start with an invalid config, or log a secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "bridges/bridge.h"
#include "cli/daemon.h"
#include "gateway/billing.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/loop.h"
#include "gateway/onboarding.h"
#include "gateway/outbox.h"
#include "gateway/reports.h"
#include "gateway/sync.h"
#include "lib/util.h"
#include "lib/version.h"
#include "store/box.h"
#include "store/store.h"

static int64_t
turn_prepare(struct cg_loop *l, struct pollfd *pfds, int *npfds, int max,
             void *arg)
{
	struct cg_gateway *gw = arg;
	int64_t wake = 0, now = cg_mono_ms();
	int n = 0;
	if (max > CG_MAX_POLLFDS)
		max = CG_MAX_POLLFDS;
	for (size_t i = 0; i < gw->nbridges; i++) {
		struct cg_bridge *b = gw->bridges[i];
		int k = b->ops->fds(b, pfds + n, max - n);
		for (int j = 0; j < k; j++)
			gw->turn_owner[n + j] = b;
		n += k;
		int64_t w = b->ops->tick(b, now);
		if (w && (wake == 0 || w < wake))
			wake = w;
	}
	*npfds = n;
	/* The outbox is read only when something changed (new rows, a
	 * finished delivery, a bridge that connected) or rows fall due. */
	if (gw->outbox_kick || gw->outbox_due == 0 || now >= gw->outbox_due)
		gw->outbox_due = cg_outbox_run(gw);
	if (gw->outbox_due == 0)
		gw->outbox_due = now + 60000; /* nothing pending: look again */
	if (wake == 0 || gw->outbox_due < wake)
		wake = gw->outbox_due;
	return wake;
}

static void
turn_ready(struct cg_loop *l, struct pollfd *pfds, int npfds, void *arg)
{
	struct cg_gateway *gw = arg;
	for (int i = 0; i < npfds && !cg_loop_stopping(l); i++)
		if (pfds[i].revents)
			gw->turn_owner[i]->ops->on_ready(
			    gw->turn_owner[i], pfds[i].fd, pfds[i].revents);
	if (gw->outbox_kick)
		gw->outbox_due = cg_outbox_run(gw);
}

/* SIGUSR1 (cg_daemon_wake): a command wrote to the store; read the
 * outbox and the schedules now.  Billing's schedule goes here too. */
static void
on_wake(struct cg_loop *l, int signo, void *arg)
{
	struct cg_gateway *gw = arg;
	cg_debug("wake-up: reading the outbox and the schedules");
	gw->outbox_kick = 1;
	cg_reports_schedule(gw);
}

int
cg_daemon_wake(const char *data_dir)
{
	long pid = cg_daemon_running(data_dir);
	/* 1: the lock is held but no pid was readable: signal nobody. */
	return pid > 1 && kill((pid_t)pid, CG_LOOP_WAKE_SIGNAL) == 0;
}

static void
on_stop(struct cg_loop *l, int signo, void *arg)
{
	cg_info("signal %d: stopping", signo);
	cg_loop_stop(l);
}

static void
bridges_stop(struct cg_gateway *gw)
{
	for (size_t i = 0; i < gw->nbridges; i++) {
		struct cg_bridge *b = gw->bridges[i];
		b->ops->stop(b);
		b->ops->destroy(b);
	}
	gw->nbridges = 0;
}

static void
bridges_start(struct cg_gateway *gw)
{
	struct cg_bridge *b;
	if ((gw->cfg->imap.present || gw->cfg->smtp.present ||
	     gw->cfg->lmtp.present) &&
	    (b = cg_email_bridge_new(gw)) != NULL)
		gw->bridges[gw->nbridges++] = b;
	if (gw->cfg->xmpp.present && (b = cg_xmpp_bridge_new(gw)) != NULL)
		gw->bridges[gw->nbridges++] = b;
	for (size_t i = 0; i < gw->nbridges; i++)
		gw->bridges[i]->ops->start(gw->bridges[i]);
}

static void
on_reload(struct cg_loop *l, int signo, void *arg)
{
	struct cg_gateway *gw = arg;
	struct cg_config *cfg = cg_calloc(1, sizeof *cfg);
	struct cg_config_errors errs = {0};
	cg_info("SIGHUP: reloading %s", gw->cfg->path);
	if (cg_config_load(gw->cfg->path, cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			cg_error("%s:%d: %s (keeping the running config)",
			         errs.v[i].file, errs.v[i].line,
			         errs.v[i].message);
		cg_config_errors_free(&errs);
		cg_config_free(cfg);
		free(cfg);
		return;
	}
	cg_config_errors_free(&errs);
	if (cg_sync_config(gw->store, cfg) != 0) {
		cg_error("%s: cannot apply to the store (keeping the running "
		         "config)",
		         cfg->path);
		cg_config_free(cfg);
		free(cfg);
		return;
	}
	cg_config_drop_members(cfg);
	bridges_stop(gw);
	cg_config_free(gw->cfg);
	free(gw->cfg);
	gw->cfg = cfg;
	enum cg_log_level lvl;
	if (cg_log_level_parse(cfg->gateway.log_level, &lvl) == 0)
		cg_log_set_level(lvl);
	bridges_start(gw);
	cg_info("reloaded %s", cfg->path);
}

static char *
pid_path(const char *data_dir)
{
	return cg_asprintf("%s/coopgate.pid", data_dir);
}

long
cg_daemon_running(const char *data_dir)
{
	char *path = pid_path(data_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0;
	long pid = 0;
	/* Locked by someone: the daemon runs and wrote its pid. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		char buf[32] = {0};
		if (read(fd, buf, sizeof buf - 1) > 0)
			pid = strtol(buf, NULL, 10);
		if (pid <= 0)
			pid = 1;
	}
	close(fd);
	return pid;
}

/* Hold an exclusive lock on the pid file for the daemon's life. */
static int
pid_lock(const char *data_dir)
{
	char *path = pid_path(data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "coopgate: %s: %s\n", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
		        "coopgate: %s: another coopgate runs on this "
		        "data directory\n",
		        path);
		free(path);
		close(fd);
		return -1;
	}
	free(path);
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
detach(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

/*
 * libstrophe (OpenSSL) loads OpenSSL's default trust for every connection,
 * besides xmpp.ca_file: the bundle file (SSL_CERT_FILE, else
 * /usr/lib/ssl/cert.pem), parsed whole into ~0.7 MB of heap per connection,
 * and the hashed directory (SSL_CERT_DIR, else /usr/lib/ssl/certs), read one
 * certificate at a time when a chain asks for it.  Debian's two hold the
 * same certificates (update-ca-certificates writes both), so the daemon
 * uses the directory alone.  The email bridge (GnuTLS) and libcurl name
 * their trust explicitly and do not read this variable.
 */
static void
trust_directory_only(void)
{
	setenv("SSL_CERT_FILE", "/nonexistent/coopgate-uses-SSL_CERT_DIR", 1);
}

/* Give back freed heap: after a burst (a fan-out, a large mail, a report)
 * glibc keeps the freed pages; an idle daemon should not. */
#define TIDY_MS 5000

static void
on_tidy(struct cg_loop *l, void *arg)
{
	struct mallinfo2 mi = mallinfo2();
	if (mi.fordblks > 256 * 1024)
		malloc_trim(0);
	cg_loop_timer(l, TIDY_MS, on_tidy, arg);
}

int
cg_daemon_run(struct cg_config *cfg, int foreground)
{
	struct cg_gateway gw = {.cfg = cfg};
	char *err = NULL;
	int rc = CG_EX_OK;

	/* cg_box_open refuses a bad master key (cg_box_check_key). */
	if (cg_store_open(cfg->gateway.data_dir, 0, &gw.store, &err) != 0 ||
	    (gw.box = cg_box_open(cfg->gateway.data_dir, gw.store, &err)) ==
	        NULL) {
		fprintf(stderr, "coopgate: %s\n", err);
		free(err);
		cg_store_close(gw.store);
		cg_config_free(cfg);
		free(cfg);
		return CG_EX_UNAVAILABLE;
	}
	if (cg_sync_config(gw.store, cfg) != 0) {
		fprintf(stderr,
		        "coopgate: %s: cannot sync channels and "
		        "members: %s\n",
		        cfg->path, cg_store_errmsg(gw.store));
		rc = CG_EX_CONFIG;
		goto out;
	}
	long other = cg_daemon_running(cfg->gateway.data_dir);
	if (other) {
		fprintf(stderr,
		        "coopgate: %s: another coopgate (pid %ld) runs "
		        "on this data directory\n",
		        cfg->gateway.data_dir, other);
		rc = CG_EX_UNAVAILABLE;
		goto out;
	}
	/* The store holds the members now; parsing and syncing a large
	 * member list leaves freed heap behind: give it back before the long
	 * run. */
	cg_config_drop_members(cfg);
	cg_store_small_cache(gw.store);
	trust_directory_only();
	malloc_trim(0);
	if (!foreground && detach() != 0) {
		fprintf(stderr, "coopgate: cannot detach: %s\n",
		        strerror(errno));
		rc = CG_EX_SOFTWARE;
		goto out;
	}
	int lockfd = pid_lock(cfg->gateway.data_dir);
	if (lockfd < 0) {
		rc = CG_EX_UNAVAILABLE;
		goto out;
	}
	enum cg_log_level lvl = CG_LOG_INFO;
	cg_log_level_parse(cfg->gateway.log_level, &lvl);
	cg_log_open(foreground, lvl);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(cg_now_ms() ^ getpid())); /* MIME boundaries */

	gw.loop = cg_loop_new();
	cg_loop_on_signal(gw.loop, SIGTERM, on_stop, &gw);
	cg_loop_on_signal(gw.loop, SIGINT, on_stop, &gw);
	cg_loop_on_signal(gw.loop, SIGHUP, on_reload, &gw);
	cg_loop_on_signal(gw.loop, CG_LOOP_WAKE_SIGNAL, on_wake, &gw);
	cg_loop_set_turn(gw.loop, turn_prepare, turn_ready, &gw);
	bridges_start(&gw);
	/* CRM: held posts expire after 7 days (checked hourly). */
	cg_onboarding_timer_start(&gw);
	/* billing: last month's invoices on run_day; rows the CLI queued */
	cg_billing_timer_start(&gw);
	/* Weekly reports: what is due now (a missed week), then on time. */
	cg_reports_schedule(&gw);
	cg_loop_timer(gw.loop, TIDY_MS, on_tidy, &gw);
	cg_info("coopgate %s running: %zu channel(s), data in %s",
	        COOPGATE_VERSION, gw.cfg->nchannels, gw.cfg->gateway.data_dir);
	if (cg_loop_run(gw.loop) != 0)
		rc = CG_EX_SOFTWARE;
	bridges_stop(&gw);
	cg_loop_free(gw.loop);
	cg_info("stopped");
	close(lockfd);
out:
	cg_box_close(gw.box);
	cg_store_close(gw.store);
	free(gw.inflight);
	cg_config_free(gw.cfg);
	free(gw.cfg);
	return rc;
}
