/*
 * crm_headers.c: the X-Coop-Sender-* header lines of a sender's CRM
 * context (see crm_headers.h).  Reads the contact from the store; encodes
 * non-ASCII organisation names with RFC 2047 (compose.c's encoder).
 *
 * Must never: write a raw non-ASCII byte or a line break into a header.
 */
#include <stdlib.h>
#include <time.h>

#include "bridges/email/compose.h"
#include "bridges/email/crm_headers.h"
#include "lib/util.h"
#include "store/store.h"

static void
add_line(char ***lines, size_t *n, char *line)
{
	*lines = cg_realloc(*lines, (*n + 1) * sizeof **lines);
	(*lines)[(*n)++] = line;
}

int
email_crm_headers(struct cg_store *s, int64_t contact_id, char ***lines,
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
	add_line(
	    lines, n,
	    cg_asprintf("X-Coop-Sender-Layer: %s", cg_layer_name(c.layer)));
	time_t since = (time_t)c.layer_since;
	struct tm tm;
	char day[16];
	gmtime_r(&since, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	add_line(lines, n, cg_asprintf("X-Coop-Sender-Since: %s", day));
	cg_contact_free(&c);
	return 0;
}
