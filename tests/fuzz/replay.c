/*
 * replay.c: a main() for a fuzz target without libFuzzer.  Usage:
 *
 *   replay [-t SECONDS] DIR...
 *
 * Feeds LLVMFuzzerTestOneInput() every regular file of each DIR (the
 * target's corpus, tests/fuzz/corpus/NAME/), each in a child process of
 * its own, and fails (exit 1) when one crashes, exits non-zero (a
 * sanitizer report) or runs longer than SECONDS (default 2): the inputs of
 * past findings must stay handled, fast.  Prints one line per failure and
 * a summary with the slowest input.
 *
 * Must never: stop at the first failure (every failing input is named),
 * or leave a child running.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
read_all(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	size_t cap = 65536, n = 0;
	uint8_t *b = malloc(cap);
	size_t got;
	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap *= 2);
			if (nb == NULL)
				free(b);
			b = nb;
		}
	}
	int bad = ferror(f) || b == NULL;
	fclose(f);
	if (bad) {
		free(b);
		return -1;
	}
	*out = b;
	*len = n;
	return 0;
}

/* In the child: one input, then exit 0 (a crash never gets there). */
static void
child(const char *path)
{
	uint8_t *data;
	size_t len;
	if (read_all(path, &data, &len) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	exit(0);
}

/* 0 when the input ran clean within the bound; its time in *secs. */
static int
run_one(const char *path, double bound, double *secs)
{
	double t0 = now();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "replay: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child(path);
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		*secs = now() - t0;
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "replay: waitpid: %s\n",
			        strerror(errno));
			return -1;
		}
		if (*secs > bound) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("replay: FAIL %s: still running after %.1f s "
			       "(bound %.1f s)\n",
			       path, *secs, bound);
			return -1;
		}
		usleep(*secs < 0.1 ? 1000 : 20000);
	}
	if (WIFSIGNALED(status)) {
		printf("replay: FAIL %s: killed by signal %d (%s) after %.2f "
		       "s\n",
		       path, WTERMSIG(status), strsignal(WTERMSIG(status)),
		       *secs);
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		printf("replay: FAIL %s: exit status %d after %.2f s "
		       "(sanitizer report above)\n",
		       path, WEXITSTATUS(status), *secs);
		return -1;
	}
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

struct tally {
	int files, failed;
	double slowest;
	char slowest_path[4096];
};

static void
run_dir(const char *dir, double bound, struct tally *t)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		printf("replay: FAIL %s: %s\n", dir, strerror(errno));
		t->failed++;
		return;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			double secs = 0;
			t->files++;
			if (run_one(path, bound, &secs) != 0)
				t->failed++;
			if (secs > t->slowest) {
				t->slowest = secs;
				snprintf(t->slowest_path,
				         sizeof t->slowest_path, "%s", path);
			}
		}
		free(names[i]);
	}
	free(names);
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

int
main(int argc, char **argv)
{
	double bound = 2.0;
	int opt;
	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't' || (bound = atof(optarg)) <= 0) {
			fprintf(stderr, "usage: replay [-t SECONDS] DIR...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: replay [-t SECONDS] DIR...\n");
		return 2;
	}
	/* The children's temporary files (fuzz_tmpdir) go in here, so a
	 * child killed mid-input leaves nothing behind. */
	const char *base = getenv("TMPDIR");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/cgreplay.XXXXXX",
	         base && *base ? base : "/tmp");
	if (mkdtemp(tmp) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", tmp, strerror(errno));
		return 2;
	}
	setenv("TMPDIR", tmp, 1);
	struct tally t = {0};
	for (int i = optind; i < argc; i++)
		run_dir(argv[i], bound, &t);
	nftw(tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("replay: %s: %d input%s, %d failed; slowest %.2f s (%s)\n",
	       argv[optind], t.files, t.files == 1 ? "" : "s", t.failed,
	       t.slowest, t.slowest_path[0] ? t.slowest_path : "-");
	return t.failed || t.files == 0 ? 1 : 0;
}
