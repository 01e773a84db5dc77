/*
 * util.c: allocation, the growable cg_buf, clocks, secret files.
 * Must never: return NULL from an allocator, or leave a secret in memory it
 * frees (cg_secret_free wipes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <ctype.h>
#include <sys/random.h>

#include "lib/util.h"

static void
oom(size_t n)
{
	fprintf(stderr, "coopgate: out of memory (%zu bytes)\n", n);
	abort();
}

void *
cg_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *
cg_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *
cg_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *
cg_strdup(const char *s)
{
	return s ? cg_strndup(s, strlen(s)) : NULL;
}

char *
cg_strndup(const char *s, size_t n)
{
	char *d = cg_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
cg_asprintf(const char *fmt, ...)
{
	struct cg_buf b = CG_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	cg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return cg_buf_steal(&b);
}

void
cg_buf_reserve(struct cg_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2)
			oom(SIZE_MAX);
		cap *= 2;
	}
	b->data = cg_realloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0';
}

void
cg_buf_add(struct cg_buf *b, const void *p, size_t n)
{
	cg_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
cg_buf_puts(struct cg_buf *b, const char *s)
{
	cg_buf_add(b, s, strlen(s));
}

void
cg_buf_putc(struct cg_buf *b, char c)
{
	cg_buf_add(b, &c, 1);
}

void
cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	cg_buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cg_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
cg_buf_reset(struct cg_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *
cg_buf_str(struct cg_buf *b)
{
	return b->data ? b->data : "";
}

char *
cg_buf_steal(struct cg_buf *b)
{
	char *d = b->data ? b->data : cg_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void
cg_buf_free(struct cg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int64_t
cg_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
cg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
cg_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
cg_lowercase(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = cg_strdup(s);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int
cg_has_suffix_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

char *
cg_random_hex(size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[64];
	char *d = cg_malloc(n + 1);
	size_t i = 0;
	while (i < n) {
		size_t want = (n - i + 1) / 2;
		if (want > sizeof r)
			want = sizeof r;
		if (getrandom(r, want, 0) != (ssize_t)want)
			abort();
		for (size_t j = 0; j < want && i < n; j++) {
			d[i++] = hex[r[j] >> 4];
			if (i < n)
				d[i++] = hex[r[j] & 15];
		}
	}
	d[n] = '\0';
	return d;
}

char *
cg_size_text(int64_t bytes)
{
	if (bytes < 1000)
		return cg_asprintf("%lld byte%s", (long long)bytes,
		                   bytes == 1 ? "" : "s");
	int mb = bytes >= 1024 * 1024 / 10;
	double v = (double)bytes / (mb ? 1024.0 * 1024.0 : 1024.0);
	char *t = cg_asprintf("%.1f %s", v, mb ? "MB" : "kB");
	/* "10.0 MB" reads better as "10 MB" */
	char *dot = strstr(t, ".0 ");
	if (dot)
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
	return t;
}

static int
secret_stat(int fd, const char *path, char **err)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*err = cg_asprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = cg_asprintf("%s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		*err = cg_asprintf("%s: secret file is accessible by group or "
		                   "others (mode %03o); chmod 600 it",
		                   path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

int
cg_secret_check(const char *path, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = cg_asprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	int r = secret_stat(fd, path, err);
	close(fd);
	return r;
}

char *
cg_secret_read(const char *path, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = cg_asprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (secret_stat(fd, path, err) != 0) {
		close(fd);
		return NULL;
	}
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		*err = cg_asprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((size_t)n == sizeof buf - 1) {
		*err = cg_asprintf("%s: secret file too long", path);
		explicit_bzero(buf, sizeof buf);
		return NULL;
	}
	/* The secret is the first line; what follows is not read. */
	buf[n] = '\0';
	size_t first = strcspn(buf, "\r\n");
	char *s = cg_strndup(buf, first);
	explicit_bzero(buf, sizeof buf);
	if (first == 0) {
		*err = cg_asprintf("%s: secret file is empty (the first line "
		                   "is the secret)",
		                   path);
		cg_secret_free(s);
		return NULL;
	}
	return s;
}

void
cg_secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}
