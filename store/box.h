/*
 * box.h: the SchutzBox, coopgate's encrypted attachment store.  For now it
 * owns the master key (created by `coopgate init`); blob put/get arrive with
 * the SchutzBox issue behind this same header.  All libsodium use lives in
 * store/box*.c.
 */
#ifndef CG_BOX_H
#define CG_BOX_H

/*
 * Create DATA_DIR/keys (0700) and DATA_DIR/keys/master.key (0600, 32 random
 * bytes) unless the key exists; an existing key is never overwritten.
 * Returns 0, or -1 with *err (caller frees).  *created is set to 1 when a new
 * key was written.
 */
int cg_box_init_key(const char *data_dir, int *created, char **err);
/* Check that the master key exists, has the right size and mode. */
int cg_box_check_key(const char *data_dir, char **err);

#endif
