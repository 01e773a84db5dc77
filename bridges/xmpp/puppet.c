/*
 * puppet.c: component mode (XEP-0114): every email sender speaks in a room
 * as an occupant of their own, a "puppet": nick = their display name, JID
 * = their address as a local part of the component's domain,
 * "alice%example.org@gw.example.org/coopgate" (the local part escaped per
 * XEP-0106 where a JID forbids a character; the address's '@' becomes
 * '%').  A puppet joins a room when its sender's first message for it is
 * delivered (the message waits in deliver.c until the room confirms the
 * join), and leaves after XB_PUPPET_IDLE without a message; all leave
 * when the gateway stops.  A nick someone else holds gets a suffix,
 * "Alice Example (2)".  Occupants of our domain that no puppet owns (left
 * behind by a crash: the server cannot know the component went away) are
 * sent away when the listener sees them.
 *
 * Room lines are read by the listener (client.c's self JID, muc.c), never
 * by puppets: each puppet is sent its own copy of every line, ignored.
 * Must never: speak for an address without a puppet of its own, or keep a
 * puppet whose join the room refused as if it were in the room.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "lib/util.h"

#define PUPPET_MAX_NICK 64 /* bytes */
#define PUPPET_NICK_TRIES 5

char *
xb_puppet_bare_jid(const char *address, const char *domain)
{
	char *addr = cg_lowercase(address);
	char *at = strrchr(addr, '@');
	struct cg_buf b = CG_BUF_INIT;
	for (char *p = addr; *p && p != at; p++) {
		switch (*p) {
		case ' ':
		case '"':
		case '&':
		case '\'':
		case '/':
		case ':':
		case '<':
		case '>':
		case '@':
		case '\\':
			cg_buf_printf(&b, "\\%02x", (unsigned char)*p);
			break;
		default:
			if ((unsigned char)*p > ' ' && *p != 0x7f)
				cg_buf_putc(&b, *p);
		}
	}
	if (at)
		cg_buf_printf(&b, "%%%s", at + 1);
	cg_buf_printf(&b, "@%s", domain);
	free(addr);
	return cg_buf_steal(&b);
}

char *
xb_puppet_nick(const char *name)
{
	char *clean = xb_clean_text(name);
	struct cg_buf b = CG_BUF_INIT;
	int space = 0;
	for (const char *p = clean; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n') {
			space = b.len > 0;
			continue;
		}
		if (space)
			cg_buf_putc(&b, ' ');
		space = 0;
		cg_buf_putc(&b, *p);
	}
	free(clean);
	char *nick = cg_buf_steal(&b);
	if (nick == NULL || *nick == '\0') {
		free(nick);
		return cg_strdup("someone");
	}
	size_t cut = strlen(nick);
	if (cut > PUPPET_MAX_NICK) {
		cut = PUPPET_MAX_NICK;
		while (cut > 0 && ((unsigned char)nick[cut] & 0xc0) == 0x80)
			cut--;
		nick[cut] = '\0';
	}
	return nick;
}

struct xb_puppet *
xb_puppet_by_nick(struct xb_room *r, const char *nick)
{
	for (size_t i = 0; nick && i < r->npuppets; i++)
		if (r->puppets[i].state != XB_PUPPET_OUT &&
		    r->puppets[i].nick && strcmp(r->puppets[i].nick, nick) == 0)
			return &r->puppets[i];
	return NULL;
}

struct xb_puppet *
xb_puppet_by_address(struct xb_room *r, const char *address)
{
	for (size_t i = 0; address && i < r->npuppets; i++)
		if (strcasecmp(r->puppets[i].address, address) == 0)
			return &r->puppets[i];
	return NULL;
}

static struct xb_puppet *
puppet_by_jid(struct xb_room *r, const char *jid)
{
	for (size_t i = 0; jid && i < r->npuppets; i++)
		if (strcasecmp(r->puppets[i].jid, jid) == 0)
			return &r->puppets[i];
	return NULL;
}

static void
puppet_free(struct xb_puppet *p)
{
	free(p->address);
	free(p->jid);
	free(p->name);
	free(p->nick);
}

static void
puppet_remove(struct xb_room *r, struct xb_puppet *p)
{
	size_t i = (size_t)(p - r->puppets);
	puppet_free(p);
	r->puppets[i] = r->puppets[--r->npuppets];
}

void
xb_puppets_forget(struct xb_room *r)
{
	for (size_t i = 0; i < r->npuppets; i++)
		puppet_free(&r->puppets[i]);
	free(r->puppets);
	r->puppets = NULL;
	r->npuppets = 0;
}

static void
send_presence(struct xb_bridge *xb, const char *from, const char *room,
              const char *nick, int join)
{
	char *to = cg_asprintf("%s/%s", room, nick);
	xmpp_stanza_t *p = xmpp_presence_new(xb->ctx);
	xmpp_stanza_set_from(p, from);
	xmpp_stanza_set_to(p, to);
	if (join) {
		xmpp_stanza_t *x = xb_el(xb->ctx, "x", NS_MUC);
		xmpp_stanza_t *h = xb_el(xb->ctx, "history", NULL);
		xmpp_stanza_set_attribute(h, "maxstanzas", "0");
		xmpp_stanza_add_child_ex(x, h, 0);
		xmpp_stanza_add_child_ex(p, x, 0);
	} else {
		xmpp_stanza_set_type(p, "unavailable");
	}
	free(to);
	xb_send_release(xb, p);
}

static void
puppet_join(struct xb_bridge *xb, struct xb_room *r, struct xb_puppet *p)
{
	free(p->nick);
	p->nick = p->nick_tries
	              ? cg_asprintf("%s (%d)", p->name, p->nick_tries + 1)
	              : cg_strdup(p->name);
	p->state = XB_PUPPET_JOINING;
	p->join_sent = cg_mono_ms();
	cg_debug("xmpp: %s: %s joins as %s (%s)", r->jid, p->address, p->nick,
	         p->jid);
	send_presence(xb, p->jid, r->jid, p->nick, 1);
}

struct xb_puppet *
xb_puppet_for(struct xb_bridge *xb, struct xb_room *r, const char *address,
              const char *name)
{
	if (address == NULL || *address == '\0')
		return NULL;
	struct xb_puppet *p = xb_puppet_by_address(r, address);
	if (p == NULL) {
		r->puppets = cg_realloc(r->puppets,
		                        (r->npuppets + 1) * sizeof *r->puppets);
		p = &r->puppets[r->npuppets++];
		memset(p, 0, sizeof *p);
		p->address = cg_lowercase(address);
		char *bare =
		    xb_puppet_bare_jid(address, xb_cfg(xb)->component_domain);
		p->jid = cg_asprintf("%s/coopgate", bare);
		free(bare);
		p->name = xb_puppet_nick(name ? name : address);
		p->state = XB_PUPPET_OUT;
	}
	if (p->state == XB_PUPPET_OUT) {
		p->nick_tries = 0;
		puppet_join(xb, r, p);
	}
	p->last_active = cg_mono_ms();
	return p;
}

static int
has_status(xmpp_stanza_t *st, const char *code)
{
	xmpp_stanza_t *x =
	    xmpp_stanza_get_child_by_name_and_ns(st, "x", NS_MUC_USER);
	for (xmpp_stanza_t *c = x ? xmpp_stanza_get_children(x) : NULL; c;
	     c = xmpp_stanza_get_next(c)) {
		const char *n = xmpp_stanza_get_name(c);
		const char *v = xmpp_stanza_get_attribute(c, "code");
		if (n && strcmp(n, "status") == 0 && v && strcmp(v, code) == 0)
			return 1;
	}
	return 0;
}

static void
join_refused(struct xb_bridge *xb, struct xb_room *r, struct xb_puppet *p,
             xmpp_stanza_t *st)
{
	struct xb_in in;
	xb_in_parse(st, &in);
	const char *cond = in.error_condition ? in.error_condition : "error";
	if (strcmp(cond, "conflict") == 0 &&
	    ++p->nick_tries < PUPPET_NICK_TRIES) {
		cg_info("xmpp: %s: nick %s is taken; %s tries another", r->jid,
		        p->nick, p->address);
		puppet_join(xb, r, p);
	} else {
		char *why = cg_asprintf("%s cannot join %s as %s: %s",
		                        p->address, r->jid, p->nick, cond);
		cg_warn("xmpp: %s", why);
		p->state = XB_PUPPET_OUT;
		xb_deliver_puppet_failed(xb, p->jid, why);
		free(why);
	}
	xb_in_free(&in);
}

int
xb_puppet_on_presence(struct xb_bridge *xb, struct xb_room *r,
                      xmpp_stanza_t *st, const char *to)
{
	struct xb_puppet *p = puppet_by_jid(r, to);
	const char *from = xmpp_stanza_get_from(st);
	const char *slash = from ? strchr(from, '/') : NULL;
	if (p == NULL || slash == NULL || p->state == XB_PUPPET_OUT)
		return p != NULL;
	const char *nick = slash + 1;
	const char *type = xmpp_stanza_get_type(st);
	int self = strcmp(nick, p->nick) == 0 || has_status(st, "110");
	if (!self)
		return 1; /* others' presence: the listener tracks those */
	if (type && strcmp(type, "error") == 0) {
		if (p->state == XB_PUPPET_JOINING)
			join_refused(xb, r, p, st);
		return 1;
	}
	if (type && strcmp(type, "unavailable") == 0) {
		if (has_status(st, "303"))
			return 1; /* a nick change: the new one follows */
		cg_info("xmpp: %s: %s (%s) is no longer in the room", r->jid,
		        p->nick, p->address);
		p->state = XB_PUPPET_OUT;
		return 1;
	}
	if (p->state == XB_PUPPET_JOINING) {
		p->state = XB_PUPPET_JOINED;
		p->last_active = cg_mono_ms();
		cg_info("xmpp: %s: %s joined as %s", r->jid, p->address,
		        p->nick);
		xb_deliver_puppet_joined(xb, p->jid);
	}
	return 1;
}

int64_t
xb_puppet_tick(struct xb_bridge *xb, struct xb_room *r, int64_t now)
{
	int64_t wake = 0;
	for (size_t i = r->npuppets; i-- > 0;) {
		struct xb_puppet *p = &r->puppets[i];
		int64_t due = 0;
		if (p->state == XB_PUPPET_JOINED) {
			due = p->last_active + XB_PUPPET_IDLE;
			if (now >= due) {
				cg_info("xmpp: %s: %s leaves after %d min "
				        "without a message",
				        r->jid, p->nick,
				        XB_PUPPET_IDLE / 60000);
				send_presence(xb, p->jid, r->jid, p->nick, 0);
				puppet_remove(r, p);
				continue;
			}
		} else if (p->state == XB_PUPPET_JOINING) {
			due = p->join_sent + XB_JOIN_TIMEOUT;
			if (now >= due) {
				char *why = cg_asprintf(
				    "%s: no answer to the join of %s", r->jid,
				    p->address);
				cg_warn("xmpp: %s", why);
				p->state = XB_PUPPET_OUT;
				xb_deliver_puppet_failed(xb, p->jid, why);
				free(why);
				continue;
			}
		}
		if (due && (wake == 0 || due < wake))
			wake = due;
	}
	return wake;
}

void
xb_puppets_leave(struct xb_bridge *xb, struct xb_room *r)
{
	for (size_t i = 0; i < r->npuppets; i++)
		if (r->puppets[i].state != XB_PUPPET_OUT)
			send_presence(xb, r->puppets[i].jid, r->jid,
			              r->puppets[i].nick, 0);
	xb_puppets_forget(r);
}

void
xb_puppet_ghost(struct xb_bridge *xb, struct xb_room *r, const char *nick,
                const char *full_jid)
{
	if (puppet_by_jid(r, full_jid))
		return;
	cg_info("xmpp: %s: %s (%s) was left behind; it leaves", r->jid, nick,
	        full_jid);
	send_presence(xb, full_jid, r->jid, nick, 0);
}
