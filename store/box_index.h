/*
 * box_index.h: private to store/box*.c: the SchutzBox index in the store's
 * `blob` and `blob_ref` tables (schema 002_box).  blob.refcount is kept by
 * triggers on blob_ref and attachment.  Functions return 0, CG_BOX_ENOENT
 * where they say so, or CG_BOX_EIO (the store's error message says why).
 */
#ifndef CG_BOX_INDEX_H
#define CG_BOX_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "store/box.h"

/* Begin a transaction unless one is open (*own = 1 when this one began
 * it); end it with cg_box_index_end(): commit when ok, else roll back.
 * Without *own, end does nothing: the caller's transaction decides. */
int cg_box_index_begin(struct cg_store *s, int *own);
int cg_box_index_end(struct cg_store *s, int own, int ok);
/* Insert blob id, or touch an existing row (touched = now; a missing type
 * or name is filled in); with manual_ref, add a manual reference named
 * `name`.  Run inside a transaction with the object check. */
int cg_box_index_add(struct cg_store *s, const char *id, int64_t size,
                     const char *type, const char *name, int manual_ref,
                     int64_t now);
/* One row, or CG_BOX_ENOENT. */
int cg_box_index_get(struct cg_store *s, const char *id,
                     struct cg_box_info *out);
/* Every row, oldest first; returns cb's nonzero value if it stops. */
int cg_box_index_each(struct cg_store *s, cg_box_cb *cb, void *arg);
/* Drop the newest manual reference of id, or CG_BOX_ENOENT. */
int cg_box_index_unref(struct cg_store *s, const char *id);
/* Up to max ids of unreferenced blobs last touched at or before `before`. */
int cg_box_index_unreferenced(struct cg_store *s, int64_t before,
                              char (*ids)[CG_BOX_ID_LEN + 1], size_t max,
                              size_t *n);
/* Delete row id if it is still unreferenced and last touched at or before
 * `before`; CG_BOX_ENOENT when it is gone, referenced or touched since. */
int cg_box_index_delete(struct cg_store *s, const char *id, int64_t before);

#endif
