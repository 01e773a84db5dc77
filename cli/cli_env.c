/*
 * cli_env.c: what every subcommand opens first: the config (every error
 * printed with its line) and its store, and the SchutzBox when asked
 * (cli.h: cg_cli_open()).  One place, so each command opens them the same
 * way and fails with the same exit codes (78 config, 69 store or box).
 *
 * Must never: keep anything open after cg_cli_close(), or print a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gateway/config.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

struct cg_config *
cg_cli_load_config(const char *path, int *rc)
{
	struct cg_config *cfg = cg_calloc(1, sizeof *cfg);
	struct cg_config_errors errs = {0};
	if (cg_config_load(path, cfg, &errs) != 0) {
		cg_config_errors_print(&errs, stderr);
		cg_config_errors_free(&errs);
		cg_config_free(cfg);
		free(cfg);
		*rc = CG_EX_CONFIG;
		return NULL;
	}
	cg_config_errors_free(&errs);
	*rc = CG_EX_OK;
	return cfg;
}

void
cg_cli_config_free(struct cg_config *cfg)
{
	if (cfg) {
		cg_config_free(cfg);
		free(cfg);
	}
}

int
cg_cli_open(const char *config_path, unsigned flags, struct cg_cli_env *env)
{
	int rc;
	memset(env, 0, sizeof *env);
	env->cfg = cg_cli_load_config(config_path, &rc);
	if (env->cfg == NULL)
		return rc;
	const char *dir = env->cfg->gateway.data_dir;
	char *err = NULL;
	int bad = (flags & CG_CLI_READONLY)
	              ? cg_store_open_readonly(dir, &env->store, &err)
	              : cg_store_open(dir, 0, &env->store, &err);
	if (!bad && (flags & CG_CLI_BOX) &&
	    (env->box = cg_box_open(dir, env->store, &err)) == NULL)
		bad = 1;
	if (!bad)
		return CG_EX_OK;
	fprintf(stderr, "coopgate: %s\n", err ? err : "cannot open the store");
	free(err);
	cg_cli_close(env);
	return CG_EX_UNAVAILABLE;
}

void
cg_cli_close(struct cg_cli_env *env)
{
	cg_box_close(env->box);
	cg_store_close(env->store);
	cg_cli_config_free(env->cfg);
	memset(env, 0, sizeof *env);
}
