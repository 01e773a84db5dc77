/*
 * box_backend.h: private to store/box*.c: where the SchutzBox keeps its
 * encrypted objects.  The crypto in box.c sees objects only through this
 * interface, so an S3-compatible backend (libcurl, CURLOPT_AWS_SIGV4) can
 * sit next to the file backend (box_file.c) without touching it.
 *
 * Objects are named by blob id and hold ciphertext only; a backend never
 * sees a key or plaintext.  An object is written to a temporary object
 * first and becomes visible under its id, durably and atomically, with
 * put(): a reader sees the whole object or none.  Every function returns
 * 0, CG_BOX_ENOENT where it says so, or CG_BOX_EIO with *err set (caller
 * frees), naming the object.
 */
#ifndef CG_BOX_BACKEND_H
#define CG_BOX_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/box.h"

/* A temporary object being written with write().  Its fields are the
 * backend's; put() or discard() releases them. */
struct cg_box_tmp {
	int fd;          /* file backend: the temporary file */
	char *token;     /* file backend: its path */
	int64_t written; /* bytes written so far */
};

struct cg_box_obj {
	int64_t size;  /* bytes of ciphertext */
	int64_t mtime; /* when written, unix seconds */
};

typedef int cg_box_list_cb(const char *id, void *arg);

struct cg_box_backend {
	const char *name; /* "file" */
	void *ctx;
	/* A new temporary object for id. */
	int (*create)(void *ctx, const char *id, struct cg_box_tmp *tmp,
	              char **err);
	/* Append n bytes to tmp (a worker thread may call this: it must
	 * not touch anything but tmp). */
	int (*write)(void *ctx, struct cg_box_tmp *tmp, const void *p, size_t n,
	             char **err);
	/* Make tmp (fully written) the object id, durably; an existing
	 * object id is replaced atomically.  Releases tmp, also on error. */
	int (*put)(void *ctx, struct cg_box_tmp *tmp, const char *id,
	           char **err);
	/* Throw tmp away. */
	void (*discard)(void *ctx, struct cg_box_tmp *tmp);
	/* An fd reading object id from its first byte (caller closes), or
	 * CG_BOX_ENOENT. */
	int (*open_read)(void *ctx, const char *id, int *fd, char **err);
	/* Size and time of object id, or CG_BOX_ENOENT. */
	int (*stat)(void *ctx, const char *id, struct cg_box_obj *out,
	            char **err);
	/* Delete object id durably, or CG_BOX_ENOENT. */
	int (*remove)(void *ctx, const char *id, char **err);
	/* Call cb for every object (not the temporary ones), in no
	 * particular order; a nonzero return from cb stops and is returned. */
	int (*list)(void *ctx, cg_box_list_cb *cb, void *arg, char **err);
	/* Remove temporary objects older than `before` (unix seconds) left
	 * by a crash; *removed counts them. */
	int (*sweep)(void *ctx, int64_t before, size_t *removed, char **err);
	void (*close)(void *ctx);
};

/* The file backend: objects in root/ab/abcdef... (root is created 0700 if
 * missing).  NULL with *err on failure; release with ->close(ctx) and
 * free(). */
struct cg_box_backend *cg_box_file_backend(const char *root, char **err);

#endif
