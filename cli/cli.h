/*
 * cli.h: the subcommands.  Each takes its own argv (argv[0] is the command
 * name) and the config path chosen by main.c, and returns a sysexits code.
 * Errors go to stderr, one line each, naming the object at fault.
 */
#ifndef CG_CLI_H
#define CG_CLI_H

struct cg_config;
struct cg_store;
struct cg_box;

int cg_cli_member(int argc, char **argv, const char *config_path);
int cg_cli_status(int argc, char **argv, const char *config_path);
int cg_cli_inspect(int argc, char **argv, const char *config_path);
int cg_cli_box(int argc, char **argv, const char *config_path);
int cg_cli_crm(int argc, char **argv, const char *config_path);
/* time, plan, asset, invoice, and `member billing` (cli_billing.c) */
int cg_cli_billing(int argc, char **argv, const char *config_path);
int cg_cli_report(int argc, char **argv, const char *config_path);
int cg_cli_search(int argc, char **argv, const char *config_path);

/* Load and validate the config, printing every error; NULL on failure
 * (*rc set to the exit code). */
struct cg_config *cg_cli_load_config(const char *path, int *rc);
void cg_cli_config_free(struct cg_config *cfg);

/* What most subcommands need: the config, its store, maybe the SchutzBox. */
struct cg_cli_env {
	struct cg_config *cfg;
	struct cg_store *store;
	struct cg_box *box; /* with CG_CLI_BOX only */
};
enum { CG_CLI_READONLY = 1, CG_CLI_BOX = 2 };
/* Load the config and open its store (read-only with CG_CLI_READONLY)
 * and, with CG_CLI_BOX, the SchutzBox; every error printed.  0, or the
 * exit code (78 config, 69 store or box) with env all NULL.  Release
 * with cg_cli_close() (safe on a failed open). */
int cg_cli_open(const char *config_path, unsigned flags,
                struct cg_cli_env *env);
void cg_cli_close(struct cg_cli_env *env);

#endif
