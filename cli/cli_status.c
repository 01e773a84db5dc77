/*
 * cli_status.c: `coopgate status`: reads the store the daemon writes
 * (bridge states, outbox) and the pid-file lock.  Read-only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "gateway/config.h"
#include "cli/daemon.h"
#include "lib/util.h"
#include "store/store.h"

static void
format_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

int
cg_cli_status(int argc, char **argv, const char *config_path)
{
	if (argc != 1) {
		fprintf(stderr, "usage: coopgate status\n");
		return CG_EX_USAGE;
	}
	struct cg_cli_env env;
	int rc = cg_cli_open(config_path, CG_CLI_READONLY, &env);
	if (rc != CG_EX_OK)
		return rc;
	struct cg_config *cfg = env.cfg;
	struct cg_store *s = env.store;
	long pid = cg_daemon_running(cfg->gateway.data_dir);
	if (pid)
		printf("daemon: running (pid %ld)\n", pid);
	else
		printf("daemon: not running\n");

	struct cg_bridge_state *bs;
	size_t n;
	char when[32];
	cg_store_bridge_states(s, &bs, &n);
	static const char *const names[] = {"email", "xmpp"};
	for (size_t k = 0; k < 2; k++) {
		const struct cg_bridge_state *b = NULL;
		for (size_t i = 0; i < n; i++)
			if (strcmp(bs[i].name, names[k]) == 0)
				b = &bs[i];
		struct cg_outbox_counts c;
		cg_store_outbox_counts(s, names[k], &c);
		printf("%s: ", names[k]);
		if (b == NULL)
			printf("never started");
		else {
			format_time(b->since, when, sizeof when);
			printf("%s since %s",
			       b->connected && pid ? "connected"
			                           : "disconnected",
			       when);
		}
		printf("; outbox %lld pending, %lld dead\n",
		       (long long)c.pending, (long long)c.dead);
		if (b && b->last_error)
			printf("  last error: %s\n", b->last_error);
	}
	cg_bridge_states_free(bs, n);

	struct cg_outbox_row *dead;
	if (cg_store_outbox_dead_list(s, 5, &dead, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			printf("dead letter %lld: %s %s after %d attempts: "
			       "%s\n",
			       (long long)dead[i].id, dead[i].bridge,
			       dead[i].destination, dead[i].attempts,
			       dead[i].last_error ? dead[i].last_error : "-");
		cg_outbox_rows_free(dead, n);
	}
	cg_cli_close(&env);
	return CG_EX_OK;
}
