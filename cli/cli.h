/*
 * cli.h: the subcommands.  Each takes its own argv (argv[0] is the command
 * name) and the config path chosen by main.c, and returns a sysexits code.
 * Errors go to stderr, one line each, naming the object at fault.
 */
#ifndef CG_CLI_H
#define CG_CLI_H

struct cg_config;

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

#endif
