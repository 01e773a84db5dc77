/*
 * cli_member.c: `coopgate member add|list|show|set-layer|remove`.
 * Works on the store directly (the daemon may run: SQLite's WAL and busy
 * timeout make that safe).  Must never: create a channel (channels come
 * from the config), or report success for something it did not change.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "gateway/config.h"
#include "gateway/crm.h"
#include "lib/util.h"
#include "store/store.h"

static const char member_usage[] =
    "usage: coopgate member add ADDRESS [--name N] [--jid JID] [--layer L]\n"
    "                  [--org O] [--channel C]... [--delivery MODE]\n"
    "       coopgate member list [--channel C]\n"
    "       coopgate member show ADDRESS\n"
    "       coopgate member set-layer ADDRESS LAYER\n"
    "       coopgate member remove ADDRESS [--channel C]\n";

static int
bad_usage(const char *what)
{
	if (what)
		fprintf(stderr, "coopgate: member: %s\n", what);
	fputs(member_usage, stderr);
	return CG_EX_USAGE;
}

/* A plausible address: one '@', something on each side, no spaces. */
static int
looks_like_address(const char *a)
{
	const char *at = strchr(a, '@');
	return at && at != a && at[1] && !strchr(at + 1, '@') &&
	       !strpbrk(a, " \t\r\n<>,;\"");
}

struct member_opts {
	const char *name, *jid, *org, *layer, *delivery;
	const char **channels;
	size_t nchannels;
};

static int
parse_opts(int argc, char **argv, struct member_opts *o)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"jid", required_argument, NULL, 'j'},
	    {"layer", required_argument, NULL, 'l'},
	    {"org", required_argument, NULL, 'o'},
	    {"channel", required_argument, NULL, 'C'},
	    {"delivery", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	optind = 0; /* 0: re-initialise GNU getopt (main used "+" ordering) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 'j':
			o->jid = optarg;
			break;
		case 'l':
			o->layer = optarg;
			break;
		case 'o':
			o->org = optarg;
			break;
		case 'd':
			o->delivery = optarg;
			break;
		case 'C':
			o->channels =
			    cg_realloc(o->channels, (o->nchannels + 1) *
			                                sizeof *o->channels);
			o->channels[o->nchannels++] = optarg;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int
check_channels(const struct cg_config *cfg, const struct member_opts *o)
{
	for (size_t i = 0; i < o->nchannels; i++)
		if (cg_config_channel(cfg, o->channels[i]) == NULL) {
			fprintf(stderr,
			        "coopgate: channel %s: no such channel "
			        "in %s\n",
			        o->channels[i], cfg->path);
			return -1;
		}
	return 0;
}

static int64_t
find_member(struct cg_store *s, const char *address)
{
	char *a = cg_lowercase(address);
	int64_t id;
	int found = cg_store_contact_find(s, CG_ID_EMAIL, a, &id);
	/* A partner's person may be known by its JID only (federation). */
	if (found == 0)
		found = cg_store_contact_find(s, CG_ID_JID, a, &id);
	free(a);
	if (found < 0)
		fprintf(stderr, "coopgate: %s: %s\n", address,
		        cg_store_errmsg(s));
	else if (found == 0)
		fprintf(stderr, "coopgate: %s: no such member\n", address);
	return found == 1 ? id : 0;
}

static int
member_add(struct cg_store *s, const struct cg_config *cfg, int argc,
           char **argv)
{
	struct member_opts o = {0};
	int rc = CG_EX_USAGE;
	if (parse_opts(argc, argv, &o) != 0 || optind != argc - 1) {
		free(o.channels);
		return bad_usage("add takes one ADDRESS and options");
	}
	char *addr = cg_lowercase(argv[optind]);
	struct cg_member_input in = {
	    .address = addr,
	    .name = o.name,
	    .jid = o.jid,
	    .org = o.org,
	    .channels = o.channels,
	    .nchannels = o.nchannels,
	    .delivery = CG_DELIVERY_EACH,
	    .source = "cli",
	};
	rc = CG_EX_DATAERR;
	if (!looks_like_address(addr)) {
		fprintf(stderr, "coopgate: %s: not an email address\n", addr);
		goto out;
	}
	if (o.jid && (!looks_like_address(o.jid) || strchr(o.jid, '/'))) {
		fprintf(stderr, "coopgate: %s: not a bare JID\n", o.jid);
		goto out;
	}
	rc = CG_EX_USAGE;
	if (o.layer && cg_layer_parse(o.layer, &in.layer) != 0) {
		fprintf(stderr,
		        "coopgate: %s: unknown layer (guest, partner, "
		        "member, core)\n",
		        o.layer);
		goto out;
	}
	in.has_layer = o.layer != NULL;
	if (o.delivery && cg_delivery_parse(o.delivery, &in.delivery) != 0) {
		fprintf(stderr,
		        "coopgate: %s: unknown delivery mode (each, "
		        "digest, none)\n",
		        o.delivery);
		goto out;
	}
	rc = CG_EX_CONFIG;
	if (check_channels(cfg, &o) != 0)
		goto out;
	int64_t id;
	rc = CG_EX_DATAERR;
	if (cg_store_begin(s) != 0)
		goto out;
	if (cg_store_member_upsert(s, &in, &id) != 0) {
		cg_store_rollback(s);
		fprintf(stderr, "coopgate: %s: %s\n", addr, cg_store_errmsg(s));
		goto out;
	}
	if (cg_store_commit(s) != 0)
		goto out;
	printf("%s: saved", addr);
	for (size_t i = 0; i < o.nchannels; i++)
		printf("%s%s", i ? ", " : "; subscribed to ", o.channels[i]);
	printf("\n");
	rc = CG_EX_OK;
out:
	free(addr);
	free(o.channels);
	return rc;
}

static int
print_line(const struct cg_contact *c, void *arg)
{
	printf("%-32s %-8s %-24s %s\n", c->nemails ? c->emails[0] : "-",
	       cg_layer_name(c->layer), c->name ? c->name : "-",
	       c->org ? c->org : "-");
	return 0;
}

static int
member_list(struct cg_store *s, const struct cg_config *cfg, int argc,
            char **argv)
{
	struct member_opts o = {0};
	if (parse_opts(argc, argv, &o) != 0 || optind != argc ||
	    o.nchannels > 1 || o.name || o.jid || o.org || o.layer) {
		free(o.channels);
		return bad_usage("list takes only --channel C");
	}
	const char *ch = o.nchannels ? o.channels[0] : NULL;
	int rc = check_channels(cfg, &o) == 0 ? CG_EX_OK : CG_EX_CONFIG;
	free(o.channels);
	if (rc != CG_EX_OK)
		return rc;
	if (cg_store_contact_each(s, ch, print_line, NULL) != 0)
		return CG_EX_UNAVAILABLE;
	return CG_EX_OK;
}

static int
member_show(struct cg_store *s, int argc, char **argv)
{
	if (argc != 2)
		return bad_usage("show takes one ADDRESS");
	int64_t id = find_member(s, argv[1]);
	if (id == 0)
		return CG_EX_DATAERR;
	struct cg_buf card = CG_BUF_INIT;
	int rc = cg_crm_card(s, id, &card) == 0 ? CG_EX_OK : CG_EX_UNAVAILABLE;
	fputs(cg_buf_str(&card), stdout);
	cg_buf_free(&card);
	return rc;
}

static int
member_set_layer(struct cg_store *s, int argc, char **argv)
{
	if (argc != 3)
		return bad_usage("set-layer takes ADDRESS LAYER");
	enum cg_layer l;
	if (cg_layer_parse(argv[2], &l) != 0) {
		fprintf(stderr,
		        "coopgate: %s: unknown layer (guest, partner, "
		        "member, core)\n",
		        argv[2]);
		return CG_EX_USAGE;
	}
	int64_t id = find_member(s, argv[1]);
	if (id == 0)
		return CG_EX_DATAERR;
	if (cg_store_contact_set_layer(s, id, l, "cli") != 0)
		return CG_EX_UNAVAILABLE;
	printf("%s: layer %s\n", argv[1], cg_layer_name(l));
	return CG_EX_OK;
}

static int
member_remove(struct cg_store *s, const struct cg_config *cfg, int argc,
              char **argv)
{
	struct member_opts o = {0};
	if (parse_opts(argc, argv, &o) != 0 || optind != argc - 1 ||
	    o.nchannels > 1) {
		free(o.channels);
		return bad_usage("remove takes ADDRESS [--channel C]");
	}
	const char *ch = o.nchannels ? o.channels[0] : NULL;
	int rc = check_channels(cfg, &o) == 0 ? CG_EX_OK : CG_EX_CONFIG;
	free(o.channels);
	if (rc != CG_EX_OK)
		return rc;
	const char *addr = argv[optind];
	int64_t id = find_member(s, addr);
	if (id == 0)
		return CG_EX_DATAERR;
	int r = cg_store_member_remove(s, id, ch);
	if (r < 0)
		return CG_EX_UNAVAILABLE;
	if (r == 0) {
		fprintf(stderr, "coopgate: %s: not subscribed to %s\n", addr,
		        ch);
		return CG_EX_DATAERR;
	}
	if (ch)
		printf("%s: unsubscribed from %s\n", addr, ch);
	else
		printf("%s: removed\n", addr);
	return CG_EX_OK;
}

int
cg_cli_member(int argc, char **argv, const char *config_path)
{
	if (argc < 2)
		return bad_usage(NULL);
	const char *sub = argv[1];
	if (strcmp(sub, "billing") == 0) /* cli_billing.c */
		return cg_cli_billing(argc, argv, config_path);
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "show") &&
	    strcmp(sub, "set-layer") && strcmp(sub, "remove")) {
		fprintf(stderr, "coopgate: member %s: unknown subcommand\n",
		        sub);
		return bad_usage(NULL);
	}
	struct cg_cli_env env;
	int rc = cg_cli_open(config_path, 0, &env);
	if (rc != CG_EX_OK)
		return rc;
	struct cg_config *cfg = env.cfg;
	struct cg_store *s = env.store;
	argc--;
	argv++;
	if (strcmp(sub, "add") == 0)
		rc = member_add(s, cfg, argc, argv);
	else if (strcmp(sub, "list") == 0)
		rc = member_list(s, cfg, argc, argv);
	else if (strcmp(sub, "show") == 0)
		rc = member_show(s, argc, argv);
	else if (strcmp(sub, "set-layer") == 0)
		rc = member_set_layer(s, argc, argv);
	else
		rc = member_remove(s, cfg, argc, argv);
	cg_cli_close(&env);
	return rc;
}
