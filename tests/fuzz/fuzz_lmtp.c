/*
 * fuzz_lmtp.c: the LMTP server's protocol (bridges/email/lmtp_in.c): the
 * input is what an MTA sends, fed without sockets to serve_input(), the
 * state machine that takes the bytes read and queues the replies, as two
 * clients at once (each gets the whole input, in pieces of varying size,
 * taking turns) sharing a small bound on the DATA held at once, so that
 * 250, 451, 452, 552 and 554 are all within reach of 64 KiB.  Accepted
 * messages go through mail_in.c into a real SQLite store in a private
 * directory; at the end both clients hang up.
 *
 * serve_input() and the client struct are static in lmtp_in.c: this file
 * includes that source file whole to reach them (the archive's lmtp_in.o
 * is then not linked), rather than widening the bridge's interface.
 *
 * Must never: touch the network; leave bytes counted in the bound after
 * every client is gone (abort: a finding).
 */
#include "bridges/email/lmtp_in.c"

#include <stdio.h>

#include "gateway/config.h"
#include "gateway/sync.h"
#include "store/store.h"
#include "tests/fuzz/fuzz.h"

static struct cg_config cfg;
static struct cg_gateway gw;

static void
add_channel(const char *name)
{
	cfg.channels = cg_realloc(cfg.channels,
	                          (cfg.nchannels + 1) * sizeof *cfg.channels);
	struct cg_cfg_channel *ch = &cfg.channels[cfg.nchannels++];
	memset(ch, 0, sizeof *ch);
	ch->name = cg_strdup(name);
	ch->address = cg_asprintf("%s@lists.example.org", name);
	ch->room = cg_asprintf("%s@conference.example.org", name);
	ch->post_layer = CG_LAYER_GUEST;
	ch->chat_batch = 120;
}

static void
close_all(void)
{
	cg_store_close(gw.store);
	free(gw.inflight);
	cg_config_free(&cfg);
}

/* Once per process: a config with channels dev and open, and a store. */
static void
setup(void)
{
	char *err = NULL;
	cg_log_open(1, CG_LOG_ERROR);
	cfg.gateway.domain = cg_strdup("lists.example.org");
	cfg.gateway.data_dir = cg_strdup(fuzz_tmpdir());
	cfg.gateway.log_level = cg_strdup("error");
	cfg.smtp.present = 1;
	cfg.xmpp.present = 1;
	cfg.imap.max_message_size = 16384;
	cfg.lmtp.timeout = 300;
	add_channel("dev");
	add_channel("open");
	if (cg_store_open(fuzz_tmpdir(), 1, &gw.store, &err) != 0 ||
	    cg_sync_config(gw.store, &cfg) != 0) {
		fprintf(stderr, "fuzz_lmtp: %s\n", err ? err : "store");
		abort();
	}
	gw.cfg = &cfg;
	atexit(close_all);
}

/* Give c up to n bytes of p as read_input() would; how many it took. */
static size_t
feed(struct lmtp_conn *c, const uint8_t *p, size_t n)
{
	if (getenv("FUZZ_LMTP_ECHO")) /* to see what a corpus file gets */
		fprintf(stderr, "%s", cg_buf_str(&c->out));
	cg_buf_reset(&c->out); /* the client reads every reply */
	if (c->st == CS_CLOSING || !input_room(c))
		n = 0;
	cg_buf_add(&c->in, p, n);
	serve_input(c);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (gw.store == NULL)
		setup();
	struct email_lmtp *lm = email_lmtp_new(&gw);
	email_lmtp_set_inflight_max(lm, 20000);
	struct lmtp_conn *c[2] = {conn_new(lm, -1, "fuzz-a"),
	                          conn_new(lm, -1, "fuzz-b")};
	size_t off[2] = {0, 0};
	uint32_t r = (uint32_t)size * 2654435761u;
	for (int stall = 0; stall < 4;) {
		int moved = 0;
		for (int i = 0; i < 2; i++) {
			r = r * 1103515245u + 12345u;
			size_t piece = 1 + (r >> 16) % 4096;
			if (piece > size - off[i])
				piece = size - off[i];
			size_t before = c[i]->in_off;
			size_t k = feed(c[i], data + off[i], piece);
			off[i] += k;
			moved |= k > 0 || c[i]->in_off != before;
		}
		stall = moved ? 0 : stall + 1;
	}
	conn_free(c[0]);
	conn_free(c[1]);
	if (lm->inflight != 0)
		abort(); /* bytes counted for clients that are gone */
	email_lmtp_free(lm);
	return 0;
}
