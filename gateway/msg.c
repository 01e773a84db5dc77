/*
 * msg.c: the normalized message's small helpers.  Owns nothing beyond the
 * cg_msg it is handed; must never interpret a message (that is pipeline.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/msg.h"
#include "lib/util.h"

const char *
cg_network_name(enum cg_network n)
{
	return n == CG_NET_XMPP ? "xmpp" : "email";
}

void
cg_msg_flags_format(unsigned flags, struct cg_buf *out)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{CG_MSG_AUTO, "auto-generated"}, {CG_MSG_BOUNCE, "bounce"},
		{CG_MSG_DUPLICATE, "duplicate"}, {CG_MSG_OVERSIZE, "oversize"},
		{CG_MSG_HELD, "held"},           {CG_MSG_LOOP, "loop"},
		{CG_MSG_REQUEST, "request"},     {CG_MSG_NOCHANNEL, "no-channel"},
		{CG_MSG_UNVERIFIED, "unverified"},
	};
	int first = 1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & names[i].flag) {
			if (!first)
				cg_buf_puts(out, ",");
			cg_buf_puts(out, names[i].name);
			first = 0;
		}
	if (first)
		cg_buf_puts(out, "none");
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
cg_msg_free(struct cg_msg *m)
{
	if (m == NULL)
		return;
	free(m->ext_id);
	free(m->channel);
	free(m->sender_addr);
	free(m->sender_name);
	free(m->subject);
	free(m->text);
	free(m->trimmed);
	free_strv(m->refs, m->nrefs);
	free_strv(m->rcpts, m->nrcpts);
	for (size_t i = 0; i < m->natt; i++) {
		free(m->att[i].name);
		free(m->att[i].type);
		free(m->att[i].data);
		free(m->att[i].url);
	}
	free(m->att);
	free(m->thread_key);
	free(m->list_id);
	free(m->raw);
	memset(m, 0, sizeof *m);
}

void
cg_msg_add_ref(struct cg_msg *m, const char *id)
{
	if (id == NULL || *id == '\0')
		return;
	for (size_t i = 0; i < m->nrefs; i++)
		if (strcmp(m->refs[i], id) == 0)
			return;
	m->refs = cg_realloc(m->refs, (m->nrefs + 1) * sizeof *m->refs);
	m->refs[m->nrefs++] = cg_strdup(id);
}

void
cg_msg_add_rcpt(struct cg_msg *m, const char *addr)
{
	if (addr == NULL || *addr == '\0')
		return;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (strcasecmp(m->rcpts[i], addr) == 0)
			return;
	m->rcpts = cg_realloc(m->rcpts, (m->nrcpts + 1) * sizeof *m->rcpts);
	m->rcpts[m->nrcpts++] = cg_lowercase(addr);
}
