/*
 * fuzz_util.c: the helpers fuzz.h declares (a NUL-terminated copy of the
 * input, a private temporary directory, writing the input to a file there
 * for the parsers that read files: libconfig, the vCard importer).
 *
 * Must never: remove anything but the directory it made and its files.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

static char dir[4096];
static char file[4096 + 64];

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	return cg_strndup((const char *)data, size);
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void
remove_tmpdir(void)
{
	if (dir[0])
		nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_tmpdir(void)
{
	if (dir[0])
		return dir;
	const char *base = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/cgfuzz.XXXXXX",
	         base && *base ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "fuzz: %s: %s\n", dir, strerror(errno));
		abort();
	}
	atexit(remove_tmpdir);
	return dir;
}

const char *
fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	snprintf(file, sizeof file, "%s/%s", fuzz_tmpdir(), name);
	FILE *f = fopen(file, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size) {
		fprintf(stderr, "fuzz: %s: %s\n", file, strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	return file;
}
