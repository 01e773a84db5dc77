/*
 * trim_bench.c: reply-trimming throughput, for bench/trim.sh.  Reads every
 * .eml file in DIR, parses each once (email_parse) and times email_trim over
 * the parsed texts, then over a 1 MB mail with no line break; also the whole
 * path (parse + trim) over the corpus.  Prints MB/s of text; asserts
 * nothing.
 *   trim_bench DIR [SECONDS]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridges/email/mime.h"
#include "bridges/email/trim.h"
#include "gateway/msg.h"
#include "lib/util.h"

struct mail {
	char *raw, *text;
	size_t rawlen;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct cg_buf b = CG_BUF_INIT;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		cg_buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return cg_buf_steal(&b);
}

static size_t
load(const char *dir, struct mail **out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0, cap = 0;
	*out = NULL;
	while (d && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		char *path = cg_asprintf("%s/%s", dir, e->d_name);
		struct mail m = {0};
		m.raw = slurp(path, &m.rawlen);
		free(path);
		struct cg_msg msg = {0};
		char *err = NULL;
		if (m.raw == NULL || email_parse(m.raw, m.rawlen, &msg, &err)) {
			free(err);
			free(m.raw);
			continue;
		}
		m.text = cg_strdup(msg.text);
		cg_msg_free(&msg);
		if (n == cap) {
			cap = cap ? cap * 2 : 128;
			*out = cg_realloc(*out, cap * sizeof **out);
		}
		(*out)[n++] = m;
	}
	if (d)
		closedir(d);
	return n;
}

/* Rounds of fn over the mails until secs have passed: MB/s. */
static double
rate(struct mail *m, size_t n, int parse, double secs)
{
	double bytes = 0, t0 = now_s(), t;
	do {
		for (size_t i = 0; i < n; i++) {
			if (parse) {
				struct cg_msg msg = {0};
				char *err = NULL;
				if (email_parse(m[i].raw, m[i].rawlen, &msg,
				                &err) == 0)
					free(email_trim(msg.text));
				cg_msg_free(&msg);
				free(err);
				bytes += (double)m[i].rawlen;
			} else {
				free(email_trim(m[i].text));
				bytes += (double)strlen(m[i].text);
			}
		}
		t = now_s() - t0;
	} while (t < secs);
	return bytes / t / (1024.0 * 1024.0);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: trim_bench DIR [SECONDS]\n");
		return 64;
	}
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	struct mail *m;
	size_t n = load(argv[1], &m);
	if (n == 0) {
		fprintf(stderr, "trim_bench: %s: no mail to read\n", argv[1]);
		return 66;
	}
	printf("trim: corpus of %zu replies: trim %.1f MB/s, parse + trim "
	       "%.1f MB/s\n",
	       n, rate(m, n, 0, secs), rate(m, n, 1, secs));
	struct mail big = {0};
	big.text = cg_malloc((1 << 20) + 1);
	for (size_t i = 0; i < 1 << 20; i++)
		big.text[i] = "word "[i % 5];
	big.text[1 << 20] = '\0';
	printf("trim: 1 MB single-line mail: trim %.1f MB/s\n",
	       rate(&big, 1, 0, secs));
	free(big.text);
	for (size_t i = 0; i < n; i++) {
		free(m[i].raw);
		free(m[i].text);
	}
	free(m);
	return 0;
}
