/*
 * box_file.c: the SchutzBox file backend.  Objects live in ROOT/ab/ID (ab:
 * the id's first two characters, so no directory grows past a few thousand
 * entries per million blobs); a new object is written to ROOT/ab/.ID.XXXXXX,
 * fsynced, renamed over ROOT/ab/ID and the directory fsynced, so a crash
 * leaves either the old state or the whole new object, never a torn one.
 * Must never: see a key or plaintext (it stores what box.c hands it), or
 * leave an object visible before its bytes are on disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "store/box_backend.h"

struct file_ctx {
	char *root;
};

static char *
obj_dir(const struct file_ctx *c, const char *id)
{
	return cg_asprintf("%s/%.2s", c->root, id);
}

static char *
obj_path(const struct file_ctx *c, const char *id)
{
	return cg_asprintf("%s/%.2s/%s", c->root, id, id);
}

static int
fail_errno(const char *path, char **err)
{
	*err = cg_asprintf("%s: %s", path, strerror(errno));
	return CG_BOX_EIO;
}

/* fsync a directory so that a rename or unlink in it is durable. */
static int
sync_dir(const char *dir, char **err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(dir, err);
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r == 0 ? 0 : fail_errno(dir, err);
}

static int
file_create(void *ctx, const char *id, struct cg_box_tmp *tmp, char **err)
{
	struct file_ctx *c = ctx;
	char *dir = obj_dir(c, id);
	int r = CG_BOX_EIO;
	tmp->fd = -1;
	tmp->token = NULL;
	tmp->written = 0;
	if (mkdir(dir, 0700) == 0) {
		/* A new directory entry in root: make it durable too. */
		if (sync_dir(c->root, err) != 0)
			goto out;
	} else if (errno != EEXIST) {
		fail_errno(dir, err);
		goto out;
	}
	tmp->token = cg_asprintf("%s/.%s.XXXXXX", dir, id);
	tmp->fd = mkostemp(tmp->token, O_CLOEXEC);
	if (tmp->fd < 0) {
		fail_errno(tmp->token, err);
		free(tmp->token);
		tmp->token = NULL;
		goto out;
	}
	r = 0;
out:
	free(dir);
	return r;
}

/* Start writing back every WRITEBACK bytes as they come, so that the
 * fsync in put() has little left to do: the disk works while box.c
 * encrypts. */
#define WRITEBACK (8 << 20)

static int
file_write(void *ctx, struct cg_box_tmp *tmp, const void *p, size_t n,
           char **err)
{
	const unsigned char *b = p;
	size_t left = n;
	while (left > 0) {
		ssize_t k = write(tmp->fd, b, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail_errno(tmp->token, err);
		b += k;
		left -= (size_t)k;
	}
	int64_t before = tmp->written;
	tmp->written += (int64_t)n;
	if (before / WRITEBACK != tmp->written / WRITEBACK) {
		off64_t end = tmp->written / WRITEBACK * WRITEBACK;
		/* A hint: failure only means fsync does all the work. */
		sync_file_range(tmp->fd, end - WRITEBACK, WRITEBACK,
		                SYNC_FILE_RANGE_WRITE);
	}
	return 0;
}

static void
file_discard(void *ctx, struct cg_box_tmp *tmp)
{
	if (tmp->fd >= 0)
		close(tmp->fd);
	if (tmp->token)
		unlink(tmp->token);
	free(tmp->token);
	tmp->fd = -1;
	tmp->token = NULL;
}

static int
file_put(void *ctx, struct cg_box_tmp *tmp, const char *id, char **err)
{
	struct file_ctx *c = ctx;
	char *path = obj_path(c, id);
	char *dir = obj_dir(c, id);
	int r = CG_BOX_EIO;
	if (fsync(tmp->fd) != 0) {
		fail_errno(tmp->token, err);
		goto out;
	}
	int cr = close(tmp->fd);
	tmp->fd = -1;
	if (cr != 0) {
		fail_errno(tmp->token, err);
		goto out;
	}
	if (rename(tmp->token, path) != 0) {
		fail_errno(path, err);
		goto out;
	}
	free(tmp->token);
	tmp->token = NULL;
	r = sync_dir(dir, err);
out:
	file_discard(ctx, tmp);
	free(path);
	free(dir);
	return r;
}

static int
file_open_read(void *ctx, const char *id, int *fd, char **err)
{
	char *path = obj_path(ctx, id);
	int r = 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		r = errno == ENOENT ? CG_BOX_ENOENT : fail_errno(path, err);
	else
		posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	free(path);
	return r;
}

static int
file_stat(void *ctx, const char *id, struct cg_box_obj *out, char **err)
{
	char *path = obj_path(ctx, id);
	struct stat st;
	int r = 0;
	if (stat(path, &st) != 0)
		r = errno == ENOENT ? CG_BOX_ENOENT : fail_errno(path, err);
	else {
		out->size = st.st_size;
		out->mtime = st.st_mtime;
	}
	free(path);
	return r;
}

static int
file_remove(void *ctx, const char *id, char **err)
{
	char *path = obj_path(ctx, id);
	char *dir = obj_dir(ctx, id);
	int r;
	if (unlink(path) != 0)
		r = errno == ENOENT ? CG_BOX_ENOENT : fail_errno(path, err);
	else
		r = sync_dir(dir, err);
	free(path);
	free(dir);
	return r;
}

static int
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

/*
 * Call visit(dir path, entry name) for every entry of every ROOT/ab
 * directory; a nonzero return stops the walk and is returned.
 */
typedef int visit_fn(const char *dir, const char *sub, const char *name,
                     void *arg);

static int
walk(struct file_ctx *c, visit_fn *visit, void *arg, char **err)
{
	DIR *root = opendir(c->root);
	if (root == NULL)
		return errno == ENOENT ? 0 : fail_errno(c->root, err);
	int r = 0;
	struct dirent *d;
	while (r == 0 && (d = readdir(root)) != NULL) {
		if (!is_hex(d->d_name, 2))
			continue;
		char *dir = cg_asprintf("%s/%s", c->root, d->d_name);
		DIR *sub = opendir(dir);
		if (sub == NULL) {
			if (errno != ENOTDIR && errno != ENOENT)
				r = fail_errno(dir, err);
			free(dir);
			continue;
		}
		struct dirent *e;
		while (r == 0 && (e = readdir(sub)) != NULL)
			r = visit(dir, d->d_name, e->d_name, arg);
		closedir(sub);
		free(dir);
	}
	closedir(root);
	return r;
}

struct list_arg {
	cg_box_list_cb *cb;
	void *arg;
};

static int
list_visit(const char *dir, const char *sub, const char *name, void *arg)
{
	struct list_arg *la = arg;
	if (!is_hex(name, CG_BOX_ID_LEN) || strncmp(name, sub, 2) != 0)
		return 0;
	return la->cb(name, la->arg);
}

static int
file_list(void *ctx, cg_box_list_cb *cb, void *arg, char **err)
{
	struct list_arg la = {cb, arg};
	return walk(ctx, list_visit, &la, err);
}

struct sweep_arg {
	int64_t before;
	size_t removed;
};

static int
sweep_visit(const char *dir, const char *sub, const char *name, void *arg)
{
	struct sweep_arg *sa = arg;
	/* Temporary objects: ".ID.XXXXXX". */
	if (name[0] != '.' || strlen(name) != 1 + CG_BOX_ID_LEN + 7)
		return 0;
	char *path = cg_asprintf("%s/%s", dir, name);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_mtime < sa->before && unlink(path) == 0)
		sa->removed++;
	free(path);
	return 0;
}

static int
file_sweep(void *ctx, int64_t before, size_t *removed, char **err)
{
	struct sweep_arg sa = {before, 0};
	int r = walk(ctx, sweep_visit, &sa, err);
	*removed = sa.removed;
	return r;
}

static void
file_close(void *ctx)
{
	struct file_ctx *c = ctx;
	if (c) {
		free(c->root);
		free(c);
	}
}

struct cg_box_backend *
cg_box_file_backend(const char *root, char **err)
{
	if (mkdir(root, 0700) != 0 && errno != EEXIST) {
		fail_errno(root, err);
		return NULL;
	}
	struct file_ctx *c = cg_calloc(1, sizeof *c);
	c->root = cg_strdup(root);
	struct cg_box_backend *b = cg_calloc(1, sizeof *b);
	b->name = "file";
	b->ctx = c;
	b->create = file_create;
	b->write = file_write;
	b->put = file_put;
	b->discard = file_discard;
	b->open_read = file_open_read;
	b->stat = file_stat;
	b->remove = file_remove;
	b->list = file_list;
	b->sweep = file_sweep;
	b->close = file_close;
	return b;
}
