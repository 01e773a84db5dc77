/*
 * util.h: the few helpers every module uses: allocation that cannot return
 * NULL, a growable byte buffer (cg_buf, after Postfix's vstring and Redis's
 * sds), clocks, and sysexits codes.  No fixed-size string buffers elsewhere:
 * build strings in a cg_buf.
 */
#ifndef CG_UTIL_H
#define CG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes from sysexits.h, as promised by the contract. */
#define CG_EX_OK 0
#define CG_EX_USAGE 64
#define CG_EX_DATAERR 65
#define CG_EX_UNAVAILABLE 69
#define CG_EX_SOFTWARE 70
#define CG_EX_CANTCREAT 73
#define CG_EX_CONFIG 78

/* Abort with a message on out-of-memory; never return NULL. */
void *cg_malloc(size_t n);
void *cg_calloc(size_t n, size_t size);
void *cg_realloc(void *p, size_t n);
char *cg_strdup(const char *s); /* NULL in, NULL out */
char *cg_strndup(const char *s, size_t n);
char *cg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable, always NUL-terminated byte buffer.  The caller owns it and
 * frees it with cg_buf_free() (or takes the data with cg_buf_steal()).
 */
struct cg_buf {
	char *data;
	size_t len;
	size_t cap;
};
#define CG_BUF_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}
void cg_buf_reserve(struct cg_buf *b, size_t extra);
void cg_buf_add(struct cg_buf *b, const void *p, size_t n);
void cg_buf_puts(struct cg_buf *b, const char *s);
void cg_buf_putc(struct cg_buf *b, char c);
void cg_buf_printf(struct cg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cg_buf_vprintf(struct cg_buf *b, const char *fmt, va_list ap);
void cg_buf_reset(struct cg_buf *b);
const char *cg_buf_str(struct cg_buf *b); /* "" for an empty buffer */
char *cg_buf_steal(struct cg_buf *b);     /* caller frees; b is reset */
void cg_buf_free(struct cg_buf *b);

/* Clocks: wall clock in seconds/ms since the epoch, monotonic in ms. */
int64_t cg_now(void);
int64_t cg_now_ms(void);
int64_t cg_mono_ms(void);

/* Lower-case ASCII copy (caller frees). */
char *cg_lowercase(const char *s);
/* Case-insensitive ASCII test of suffix. */
int cg_has_suffix_ci(const char *s, const char *suffix);
/* Random lowercase hex string of n characters (caller frees). */
char *cg_random_hex(size_t n);
/* A size for people: "512 bytes", "3.9 kB" (below 0.1 MB), "1.2 MB",
 * "10 MB" (no ".0"); MB and kB are 1024-based, as the config's limits.
 * Caller frees. */
char *cg_size_text(int64_t bytes);

/*
 * Read a secret file: refuses (returns NULL with *err set, caller frees err)
 * a file that is not a regular file or is readable/writable by group or
 * others.  The secret is the file's first line (without its line end);
 * the lines after it are not read.  The caller frees the result with
 * cg_secret_free(), which wipes it.
 */
char *cg_secret_read(const char *path, char **err);
void cg_secret_free(char *s);
/* The same permission check without reading: 0 ok, -1 with *err set. */
int cg_secret_check(const char *path, char **err);

#endif
