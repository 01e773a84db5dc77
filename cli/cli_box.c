/*
 * cli_box.c: `coopgate box put|get|ls|verify|gc`: the SchutzBox by hand.
 * Works on the store and the box directly (the daemon may run: SQLite's
 * WAL and the box's write-then-rename make that safe).
 * Must never: leave a partial or unverified file under the name given to
 * `get -o` (it writes FILE.tmp and renames it only when the blob checked
 * out), or print a blob id for something it did not store.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gateway/config.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

static const char box_usage[] =
    "usage: coopgate box put FILE [--name N] [--type T]   (FILE - : stdin)\n"
    "       coopgate box get ID [-o FILE]\n"
    "       coopgate box ls\n"
    "       coopgate box verify [ID...]\n"
    "       coopgate box gc [--grace SECONDS]\n";

static int
bad_usage(const char *what)
{
	if (what)
		fprintf(stderr, "coopgate: box: %s\n", what);
	fputs(box_usage, stderr);
	return CG_EX_USAGE;
}

/* The exit code for a failed box operation. */
static int
exit_code(int r)
{
	switch (r) {
	case CG_BOX_OK:
		return CG_EX_OK;
	case CG_BOX_ENOENT:
	case CG_BOX_ECORRUPT:
	case CG_BOX_EINPUT:
		return CG_EX_DATAERR;
	case CG_BOX_EOUTPUT:
		return CG_EX_CANTCREAT;
	default:
		return CG_EX_UNAVAILABLE;
	}
}

static int
fail(int r, char *err)
{
	fprintf(stderr, "coopgate: box: %s\n", err ? err : "failed");
	free(err);
	return exit_code(r);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int
box_put(struct cg_box *box, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"type", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *type = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 't')
			type = optarg;
		else
			return bad_usage(NULL);
	}
	if (optind != argc - 1)
		return bad_usage("put takes one FILE");
	const char *path = argv[optind];
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "coopgate: box: %s: %s\n", path,
		        strerror(errno));
		return CG_EX_DATAERR;
	}
	if (name == NULL && fd != 0)
		name = base_name(path);
	char id[CG_BOX_ID_LEN + 1], *err = NULL;
	int r = cg_box_put_fd(box, fd, name, type, CG_BOX_REF_MANUAL, id, &err);
	if (fd != 0)
		close(fd);
	if (r != 0) {
		fprintf(stderr, "coopgate: box: %s: %s\n", path, err);
		free(err);
		return exit_code(r);
	}
	printf("%s\n", id);
	return CG_EX_OK;
}

/* Write the blob to path.tmp, then rename: path appears only whole. */
static int
get_to_file(struct cg_box *box, const char *id, const char *path)
{
	char *tmp = cg_asprintf("%s.tmp", path);
	char *err = NULL;
	int rc = CG_EX_OK;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "coopgate: box: %s: %s\n", tmp,
		        strerror(errno));
		free(tmp);
		return CG_EX_CANTCREAT;
	}
	int r = cg_box_get_fd(box, id, fd, &err);
	int synced = r == 0 && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && synced) {
		synced = 0;
		saved = errno;
	}
	if (r != 0)
		rc = fail(r, err);
	else if (!synced || rename(tmp, path) != 0) {
		fprintf(stderr, "coopgate: box: %s: %s\n", path,
		        strerror(synced ? errno : saved));
		rc = CG_EX_CANTCREAT;
	}
	if (rc != CG_EX_OK)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int
box_get(struct cg_box *box, int argc, char **argv)
{
	const char *out = NULL;
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "o:")) != -1) {
		if (c == 'o')
			out = optarg;
		else
			return bad_usage(NULL);
	}
	if (optind != argc - 1)
		return bad_usage("get takes one ID");
	const char *id = argv[optind];
	if (out)
		return get_to_file(box, id, out);
	char *err = NULL;
	int r = cg_box_get_fd(box, id, STDOUT_FILENO, &err);
	return r == 0 ? CG_EX_OK : fail(r, err);
}

static void
format_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
print_blob(const struct cg_box_info *b, void *arg)
{
	char when[32];
	format_time(b->created, when, sizeof when);
	printf("%s %12lld %4lld %s %s %s\n", b->id, (long long)b->size,
	       (long long)b->refs, when, b->type ? b->type : "-",
	       b->name ? b->name : "-");
	return 0;
}

static int
box_ls(struct cg_box *box, int argc, char **argv)
{
	if (argc != 1)
		return bad_usage("ls takes no arguments");
	char *err = NULL;
	int r = cg_box_each(box, print_blob, NULL, &err);
	return r == 0 ? CG_EX_OK : fail(r, err);
}

struct verify_count {
	struct cg_box *box;
	size_t ok, bad;
	int worst; /* the most serious failure seen */
};

static void
verify_one(struct verify_count *vc, const char *id)
{
	char *err = NULL;
	int r = cg_box_verify(vc->box, id, &err);
	if (r == 0) {
		vc->ok++;
		return;
	}
	/* "ID: reason", on stdout: the report verify was asked for. */
	printf("%s\n", err);
	free(err);
	vc->bad++;
	if (exit_code(r) == CG_EX_UNAVAILABLE || vc->worst == 0)
		vc->worst = exit_code(r);
}

static int
verify_cb(const struct cg_box_info *b, void *arg)
{
	verify_one(arg, b->id);
	return 0;
}

static int
box_verify(struct cg_box *box, int argc, char **argv)
{
	struct verify_count vc = {box, 0, 0, 0};
	char *err = NULL;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			verify_one(&vc, argv[i]);
	} else {
		int r = cg_box_each(box, verify_cb, &vc, &err);
		if (r != 0)
			return fail(r, err);
	}
	fflush(stdout);
	if (vc.bad) {
		fprintf(stderr, "coopgate: box: %zu of %zu blob%s bad\n",
		        vc.bad, vc.ok + vc.bad, vc.ok + vc.bad == 1 ? "" : "s");
		return vc.worst;
	}
	printf("%zu blob%s ok\n", vc.ok, vc.ok == 1 ? "" : "s");
	return CG_EX_OK;
}

static int
box_gc(struct cg_box *box, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"grace", required_argument, NULL, 'g'},
	    {NULL, 0, NULL, 0},
	};
	int64_t grace = CG_BOX_GC_GRACE_DEFAULT;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'g')
			return bad_usage(NULL);
		char *end;
		errno = 0;
		long long v = strtoll(optarg, &end, 10);
		if (errno || end == optarg || *end || v < 0) {
			fprintf(stderr,
			        "coopgate: box: --grace %s: not a "
			        "number of seconds\n",
			        optarg);
			return CG_EX_USAGE;
		}
		grace = v;
	}
	if (optind != argc)
		return bad_usage("gc takes only --grace SECONDS");
	size_t removed;
	char *err = NULL;
	int r = cg_box_gc(box, grace, &removed, &err);
	if (r != 0)
		return fail(r, err);
	printf("%zu blob%s removed\n", removed, removed == 1 ? "" : "s");
	return CG_EX_OK;
}

int
cg_cli_box(int argc, char **argv, const char *config_path)
{
	if (argc < 2)
		return bad_usage(NULL);
	const char *sub = argv[1];
	int (*run)(struct cg_box *, int, char **) = NULL;
	if (strcmp(sub, "put") == 0)
		run = box_put;
	else if (strcmp(sub, "get") == 0)
		run = box_get;
	else if (strcmp(sub, "ls") == 0)
		run = box_ls;
	else if (strcmp(sub, "verify") == 0)
		run = box_verify;
	else if (strcmp(sub, "gc") == 0)
		run = box_gc;
	else {
		fprintf(stderr, "coopgate: box %s: unknown subcommand\n", sub);
		fputs(box_usage, stderr);
		return CG_EX_USAGE;
	}
	struct cg_cli_env env;
	int rc = cg_cli_open(config_path, CG_CLI_BOX, &env);
	if (rc != CG_EX_OK)
		return rc;
	rc = run(env.box, argc - 1, argv + 1);
	cg_cli_close(&env);
	return rc;
}
