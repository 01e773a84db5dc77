/*
 * cli_inspect.c: `coopgate inspect FILE.eml`: run one mail through the same
 * parsing, routing, threading, flagging and trimming the daemon runs, with
 * the live store opened read-only, and print what the gateway sees.
 * Must never: write to the store or send anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/autoreply.h"
#include "bridges/email/mime.h"
#include "bridges/email/request.h"
#include "bridges/email/trim.h"
#include "cli/cli.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "lib/util.h"
#include "store/store.h"

static char *
read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "coopgate: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct cg_buf b = CG_BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		cg_buf_add(&b, chunk, n);
		if (b.len > max) {
			fprintf(stderr,
			        "coopgate: %s: larger than "
			        "imap.max_message_size (%zu bytes)\n",
			        path, max);
			fclose(f);
			cg_buf_free(&b);
			return NULL;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "coopgate: %s: read error\n", path);
		cg_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return cg_buf_steal(&b);
}

static void
print_report(struct cg_gateway *gw, const struct cg_msg *m,
             const struct cg_ingest_info *info)
{
	struct cg_buf flags = CG_BUF_INIT;
	cg_msg_flags_format(m->flags, &flags);
	printf("Channel: %s\n", m->channel ? m->channel : "none");
	printf("From: %s%s%s%s\n", m->sender_name ? m->sender_name : "",
	       m->sender_name ? " <" : "",
	       m->sender_addr ? m->sender_addr : "-",
	       m->sender_name ? ">" : "");
	struct cg_contact c = {0};
	if (info->contact_id &&
	    cg_store_contact_get(gw->store, info->contact_id, &c) == 0) {
		printf("Contact: %s%s%s\n", c.name ? c.name : "-",
		       c.org ? ", " : "", c.org ? c.org : "");
		printf("Layer: %s\n", cg_layer_name(c.layer));
	} else {
		printf("Contact: unknown (would become a guest)\n");
		printf("Layer: guest\n");
	}
	cg_contact_free(&c);
	if (m->flags & CG_MSG_DUPLICATE)
		printf("Thread: duplicate of stored message %lld\n",
		       (long long)info->message_id);
	else if (info->thread_id == 0)
		printf("Thread: new\n");
	else {
		struct cg_stored_msg p = {0};
		if (info->parent_id &&
		    cg_store_message_get(gw->store, info->parent_id, &p) == 0)
			printf("Thread: %lld, parent <%s>\n",
			       (long long)info->thread_id, p.message_id);
		else
			printf("Thread: %lld\n", (long long)info->thread_id);
		cg_stored_msg_free(&p);
	}
	printf("Flags: %s\n", cg_buf_str(&flags));
	if (info->reason)
		printf("Decision: %s\n", info->reason);
	printf("Attachments: %zu", m->natt);
	for (size_t i = 0; i < m->natt; i++)
		printf("%s%s (%s, %zu bytes)", i ? ", " : ": ",
		       m->att[i].name ? m->att[i].name : "unnamed",
		       m->att[i].type ? m->att[i].type : "?", m->att[i].size);
	printf("\n\n%s\n", m->trimmed ? m->trimmed : "");
	cg_buf_free(&flags);
}

int
cg_cli_inspect(int argc, char **argv, const char *config_path)
{
	if (argc != 2) {
		fprintf(stderr, "usage: coopgate inspect FILE.eml\n");
		return CG_EX_USAGE;
	}
	int rc;
	struct cg_config *cfg = cg_cli_load_config(config_path, &rc);
	if (cfg == NULL)
		return rc;
	struct cg_gateway gw = {.cfg = cfg};
	char *err = NULL, *raw = NULL;
	size_t len = 0;
	struct cg_msg m = {0};
	if (cg_store_open_readonly(cfg->gateway.data_dir, &gw.store, &err)) {
		fprintf(stderr, "coopgate: %s\n", err);
		rc = CG_EX_UNAVAILABLE;
		goto out;
	}
	size_t max = (size_t)cfg->imap.max_message_size;
	raw = read_file(argv[1], max ? max : (size_t)25 << 20, &len);
	if (raw == NULL) {
		rc = CG_EX_DATAERR;
		goto out;
	}
	if (email_parse(raw, len, &m, &err) != 0) {
		fprintf(stderr, "coopgate: %s: %s\n", argv[1], err);
		rc = CG_EX_DATAERR;
		goto out;
	}
	m.trimmed = email_trim(m.text);
	email_mark_answerable(&gw, &m);
	struct cg_ingest_info info = {0};
	/* The daemon routes each copy by its envelope recipient first. */
	const char *routed = email_route_peek(&gw, &m);
	if (routed)
		info.reason = routed;
	else
		cg_gateway_decide(&gw, &m, &info);
	print_report(&gw, &m, &info);
	rc = CG_EX_OK;
out:
	cg_msg_free(&m);
	free(raw);
	free(err);
	cg_store_close(gw.store);
	cg_cli_config_free(cfg);
	return rc;
}
