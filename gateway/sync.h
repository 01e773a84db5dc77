/* sync.h: make the store match the config's channels and members. */
#ifndef CG_SYNC_H
#define CG_SYNC_H

struct cg_store;
struct cg_config;

/* One transaction; 0 ok, -1 (logged) on error. */
int cg_sync_config(struct cg_store *s, const struct cg_config *cfg);

#endif
