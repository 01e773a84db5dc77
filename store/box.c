/*
 * box.c: SchutzBox master key.  Must never: overwrite an existing key (every
 * blob would become unreadable), or create it readable by anyone but the
 * owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/util.h"
#include "store/box.h"

#define MASTER_KEY_BYTES crypto_kdf_KEYBYTES

static char *
key_path(const char *data_dir)
{
	return cg_asprintf("%s/keys/master.key", data_dir);
}

int
cg_box_check_key(const char *data_dir, char **err)
{
	char *path = key_path(data_dir);
	struct stat st;
	int r = -1;
	if (stat(path, &st) != 0)
		*err = cg_asprintf("%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_size != MASTER_KEY_BYTES)
		*err = cg_asprintf("%s: not a SchutzBox master key (%d bytes "
				   "expected)", path, MASTER_KEY_BYTES);
	else if (st.st_mode & 077)
		*err = cg_asprintf("%s: master key is accessible by group or "
				   "others (mode %03o); chmod 600 it",
				   path, (unsigned)(st.st_mode & 0777));
	else
		r = 0;
	free(path);
	return r;
}

int
cg_box_init_key(const char *data_dir, int *created, char **err)
{
	*created = 0;
	if (sodium_init() < 0) {
		*err = cg_strdup("libsodium: initialisation failed");
		return -1;
	}
	char *dir = cg_asprintf("%s/keys", data_dir);
	char *path = key_path(data_dir);
	char *tmp = cg_asprintf("%s.tmp", path);
	unsigned char key[MASTER_KEY_BYTES];
	int r = -1, fd = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*err = cg_asprintf("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (access(path, F_OK) == 0) {
		r = cg_box_check_key(data_dir, err);
		goto out;
	}
	crypto_kdf_keygen(key);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key ||
	    fsync(fd) != 0) {
		*err = cg_asprintf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	/* link() fails if another init won the race: never overwrite. */
	if (link(tmp, path) != 0) {
		*err = cg_asprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	*created = 1;
	r = 0;
out:
	sodium_memzero(key, sizeof key);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(dir);
	free(path);
	free(tmp);
	return r;
}
