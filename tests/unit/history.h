/*
 * history.h: a constructed message history for the search and report
 * tests: posts written straight into the store (no bridge), at chosen
 * times, by chosen people, on either network.
 */
#ifndef CG_TEST_HISTORY_H
#define CG_TEST_HISTORY_H

#include "testutil.h"

/* A contact with one address at `layer` subscribed to channel (may be
 * NULL); its id. */
static inline int64_t
person(struct fixture *f, const char *addr, const char *name,
       enum cg_layer layer, const char *channel)
{
	const char *chans[1] = {channel};
	struct cg_member_input in = {
	    .address = addr,
	    .name = name,
	    .has_layer = 1,
	    .layer = layer,
	    .channels = chans,
	    .nchannels = channel ? 1 : 0,
	    .delivery = CG_DELIVERY_EACH,
	    .source = "cli",
	};
	int64_t id;
	assert_int_equal(cg_store_member_upsert(f->gw.store, &in, &id), 0);
	return id;
}

/* A post by `who` (contact id; 0 = unknown sender `addr`) at time `at`
 * in `thread` (0: starts a thread with `subject` in `channel`); returns
 * the thread id. */
static inline int64_t
post_full(struct fixture *f, const char *channel, int64_t thread, int64_t who,
          const char *addr, const char *network, const char *subject,
          const char *text, int64_t at)
{
	struct cg_store *s = f->gw.store;
	static int serial;
	int64_t ch = tu_channel_id(s, channel);
	assert_true(ch > 0);
	int first = thread == 0;
	if (first)
		thread = cg_store_thread_create(s, ch, subject, at);
	char *mid = cg_asprintf("m%d.%lld@test", ++serial, (long long)at);
	struct cg_stored_msg m = {
	    .channel_id = ch,
	    .thread_id = thread,
	    .contact_id = who,
	    .network = (char *)network,
	    .message_id = mid,
	    .sender_addr = (char *)addr,
	    .sender_name = (char *)addr,
	    .subject = (char *)subject,
	    .body = (char *)text,
	    .trimmed = (char *)text,
	    .received = at,
	};
	assert_int_equal(cg_store_message_insert(s, &m, NULL, 0), 0);
	assert_int_equal(cg_store_thread_touch(s, thread, first ? m.id : 0, at),
	                 0);
	free(mid);
	return thread;
}

static inline int64_t
post(struct fixture *f, int64_t thread, int64_t who, const char *addr,
     const char *network, const char *subject, const char *text, int64_t at)
{
	return post_full(f, "dev", thread, who, addr, network, subject, text,
	                 at);
}

#endif
