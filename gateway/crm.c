/*
 * crm.c: the CRM context outgoing mail carries about its sender: a footer
 * line ("— Alice Example · Example eG · core · 14 messages in 30 days ·
 * member since 2025-03") or X-Coop-Sender-* header lines.  Reads the store
 * only; the email bridge decides where the text goes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridges/email/compose.h"
#include "gateway/crm.h"
#include "gateway/util.h"
#include "store/store.h"

#define CRM_WINDOW (30 * 86400)

static void
format_utc(int64_t t, const char *fmt, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, fmt, &tm);
}

/* "member since" for members and core, else the layer's own name. */
static const char *
since_word(enum cg_layer l)
{
	return l >= CG_LAYER_MEMBER ? "member" : cg_layer_name(l);
}

char *
cg_crm_footer(struct cg_store *s, int64_t contact_id, int64_t now)
{
	struct cg_contact c;
	if (contact_id == 0 || cg_store_contact_get(s, contact_id, &c) != 0)
		return NULL;
	int64_t count = cg_store_interaction_count(s, contact_id, "in",
						   now - CRM_WINDOW);
	char since[16];
	format_utc(c.layer_since, "%Y-%m", since, sizeof since);
	const char *name = c.name && *c.name ? c.name :
			   c.nemails	     ? c.emails[0] :
			   c.njids	     ? c.jids[0] :
					       "unknown";
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_printf(&b, "\u2014 %s", name);
	if (c.org && *c.org)
		cg_buf_printf(&b, " \u00b7 %s", c.org);
	cg_buf_printf(&b, " \u00b7 %s \u00b7 %lld message%s in 30 days "
		      "\u00b7 %s since %s", cg_layer_name(c.layer),
		      (long long)count, count == 1 ? "" : "s",
		      since_word(c.layer), since);
	cg_contact_free(&c);
	return cg_buf_steal(&b);
}

static void
add_line(char ***lines, size_t *n, char *line)
{
	*lines = cg_realloc(*lines, (*n + 1) * sizeof **lines);
	(*lines)[(*n)++] = line;
}

int
cg_crm_headers(struct cg_store *s, int64_t contact_id, char ***lines,
	       size_t *n)
{
	*lines = NULL;
	*n = 0;
	struct cg_contact c;
	if (contact_id == 0 || cg_store_contact_get(s, contact_id, &c) != 0)
		return 0;
	if (c.org && *c.org) {
		char *org = email_encode_header_words(c.org);
		add_line(lines, n, cg_asprintf("X-Coop-Sender-Org: %s", org));
		free(org);
	}
	add_line(lines, n, cg_asprintf("X-Coop-Sender-Layer: %s",
				       cg_layer_name(c.layer)));
	char since[16];
	format_utc(c.layer_since, "%Y-%m-%d", since, sizeof since);
	add_line(lines, n, cg_asprintf("X-Coop-Sender-Since: %s", since));
	cg_contact_free(&c);
	return 0;
}
