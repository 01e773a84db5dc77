/*
 * sync.c: bring the store in line with the config: channels and the
 * `members` seed list.  The config wins for what it names; members added
 * by the CLI or by commands survive; a member dropped from the config loses
 * the subscriptions the config gave it, never its history.
 * Must never: run outside one transaction (a half-synced store is worse
 * than an old one).
 */
#include <stdlib.h>

#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/sync.h"
#include "lib/util.h"
#include "store/store.h"

static int
sync_channels(struct cg_store *s, const struct cg_config *cfg)
{
	for (size_t i = 0; i < cfg->nchannels; i++) {
		const struct cg_cfg_channel *c = &cfg->channels[i];
		struct cg_channel ch = {
		    .name = c->name,
		    .address = c->address,
		    .room = c->room,
		    .description = c->description,
		    .post_layer = c->post_layer,
		};
		if (cg_store_channel_sync(s, &ch) != 0)
			return -1;
	}
	return 0;
}

static int
sync_members(struct cg_store *s, const struct cg_config *cfg)
{
	int64_t *keep = cg_calloc(cfg->nmembers + 1, sizeof *keep);
	int rc = 0;
	for (size_t i = 0; i < cfg->nmembers && rc == 0; i++) {
		const struct cg_cfg_member *m = &cfg->members[i];
		struct cg_member_input in = {
		    .address = m->address,
		    .name = m->name,
		    .jid = m->jid ? m->jid : "",
		    .org = m->org ? m->org : "",
		    .has_layer = 1,
		    .layer = m->layer,
		    .channels = (const char *const *)m->channels,
		    .nchannels = m->nchannels,
		    .delivery = m->delivery,
		    .source = "config",
		};
		rc = cg_store_member_upsert(s, &in, &keep[i]);
	}
	if (rc == 0)
		rc = cg_store_config_prune(s, keep, cfg->nmembers);
	free(keep);
	return rc;
}

int
cg_sync_config(struct cg_store *s, const struct cg_config *cfg)
{
	if (cg_store_begin(s) != 0)
		return -1;
	if (sync_channels(s, cfg) != 0 || sync_members(s, cfg) != 0) {
		cg_store_rollback(s);
		return -1;
	}
	return cg_store_commit(s);
}
