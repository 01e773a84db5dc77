/*
 * testutil.h: shared set-up for the cmocka unit tests: a temp data dir with
 * a migrated store (and, on request, its SchutzBox), and a hand-built
 * config with two channels.
 */
#ifndef CG_TESTUTIL_H
#define CG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/sync.h"
#include "lib/util.h"
#include "store/box.h"
#include "store/store.h"

/* Lookups for tests: the id found, 0 when none; a store error fails the
 * test (the store returns 1/0/-1 with an out-parameter). */
static inline int64_t
tu_channel_id(struct cg_store *s, const char *name)
{
	int64_t id;
	assert_true(cg_store_channel_id(s, name, &id) >= 0);
	return id;
}

static inline int64_t
tu_contact_find(struct cg_store *s, enum cg_identity_kind kind,
                const char *value)
{
	int64_t id;
	assert_true(cg_store_contact_find(s, kind, value, &id) >= 0);
	return id;
}

static inline int64_t
tu_contact_find_name(struct cg_store *s, const char *name)
{
	int64_t id;
	assert_true(cg_store_contact_find_name(s, name, &id) >= 0);
	return id;
}

static inline int64_t
tu_extid_find(struct cg_store *s, const char *network, const char *ext_id)
{
	int64_t id;
	assert_true(cg_store_extid_find(s, network, ext_id, &id) >= 0);
	return id;
}

static inline int64_t
tu_held_count(struct cg_store *s, int64_t contact_id)
{
	int64_t n;
	assert_int_equal(cg_store_held_count(s, contact_id, &n), 0);
	return n;
}

struct fixture {
	char dir[64];
	struct cg_config cfg;
	struct cg_gateway gw;
};

static inline void
fixture_channel(struct cg_config *cfg, const char *name, enum cg_layer post)
{
	cfg->channels = cg_realloc(cfg->channels, (cfg->nchannels + 1) *
	                                              sizeof *cfg->channels);
	struct cg_cfg_channel *c = &cfg->channels[cfg->nchannels++];
	memset(c, 0, sizeof *c);
	c->name = cg_strdup(name);
	c->address = cg_asprintf("%s@lists.example.org", name);
	c->room = cg_asprintf("%s@conference.example.org", name);
	c->post_layer = post;
	c->chat_batch = 120;
	c->chat_batch_max = 600;
}

/* A store with channels dev (post: member) and open (post: guest). */
static inline struct fixture *
fixture_new(void)
{
	struct fixture *f = cg_calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/cgtest.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cfg.gateway.domain = cg_strdup("lists.example.org");
	f->cfg.gateway.data_dir = cg_strdup(f->dir);
	f->cfg.gateway.log_level = cg_strdup("error");
	f->cfg.smtp.present = 1;
	f->cfg.xmpp.present = 1;
	f->cfg.outbox.max_attempts = 3;
	f->cfg.outbox.retry_base = 30;
	f->cfg.outbox.retry_max = 3600;
	fixture_channel(&f->cfg, "dev", CG_LAYER_MEMBER);
	fixture_channel(&f->cfg, "open", CG_LAYER_GUEST);
	char *err = NULL;
	assert_int_equal(cg_store_open(f->dir, 1, &f->gw.store, &err), 0);
	assert_int_equal(cg_sync_config(f->gw.store, &f->cfg), 0);
	f->gw.cfg = &f->cfg;
	return f;
}

static inline void
fixture_member(struct fixture *f, const char *addr, enum cg_layer layer,
               const char *channel, enum cg_delivery d)
{
	const char *chans[1] = {channel};
	struct cg_member_input in = {
	    .address = addr,
	    .name = addr,
	    .has_layer = 1,
	    .layer = layer,
	    .channels = chans,
	    .nchannels = channel ? 1 : 0,
	    .delivery = d,
	    .source = "cli",
	};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
}

/* Open the SchutzBox of the fixture's data dir as the daemon does
 * (gw.box; attachments then go into it). */
static inline void
fixture_box(struct fixture *f)
{
	char *err = NULL;
	int created;
	assert_int_equal(cg_box_init_key(f->dir, &created, &err), 0);
	f->gw.box = cg_box_open(f->dir, f->gw.store, &err);
	if (f->gw.box == NULL)
		fail_msg("cg_box_open: %s", err);
}

static inline void
fixture_free(struct fixture *f)
{
	cg_box_close(f->gw.box);
	cg_store_close(f->gw.store);
	char *cmd = cg_asprintf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->gw.inflight);
	cg_config_free(&f->cfg);
	free(f);
}

/* A parsed-looking email message. */
static inline struct cg_msg
mail(const char *id, const char *from, const char *to, const char *subject)
{
	struct cg_msg m = {0};
	m.network = CG_NET_EMAIL;
	m.ext_id = cg_strdup(id);
	m.sender_addr = cg_strdup(from);
	m.subject = cg_strdup(subject);
	m.text = cg_strdup("hello");
	cg_msg_add_rcpt(&m, to);
	return m;
}

#endif
