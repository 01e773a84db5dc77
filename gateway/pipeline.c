/*
 * pipeline.c: the one place that decides what happens to a message.
 *
 *   dedup (external id) -> loop guard -> route (channel) -> sender contact
 *   -> authorize (layer) -> thread -> ONE transaction writing message,
 *   external ids, attachments (into the SchutzBox: attach_in.c), thread,
 *   interaction and one outbox row per destination.  A reply with
 *   nothing for the room (its text trimmed to nothing, no files) gets
 *   no room row; email members still get the mail.
 *
 * A correction (XEP-0308, cg_gateway_correct) updates the stored text, or
 * becomes a message of its own when the original's mail is out already.
 *
 * decide() only reads, so `coopgate inspect` runs exactly the daemon's
 * logic without writing.  Must never: write outside the one transaction,
 * relay an auto-generated message, or merge threads by subject.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/bridge.h"
#include "gateway/attach_in.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/outbox.h"
#include "gateway/onboarding.h"
#include "gateway/partner.h"
#include "gateway/pipeline.h"
#include "lib/util.h"
#include "store/store.h"

struct decision {
	const struct cg_cfg_channel *ch;
	int64_t channel_id;
	int64_t contact_id; /* 0: unknown sender, becomes a guest */
	enum cg_layer layer;
	int64_t parent_id;
	int64_t thread_id; /* 0: a new thread */
	int64_t duplicate_of;
	const struct cg_cfg_partner *partner; /* a partner's JID, or NULL */
	int below_layer; /* held: the sender is below post_layer */
};

/* "cg.TOKEN.N@domain" or "cg.TOKEN@domain" -> TOKEN (caller frees). */
static char *
token_of(const struct cg_gateway *gw, const char *id)
{
	const char *at = strrchr(id, '@');
	if (strncmp(id, "cg.", 3) != 0 || at == NULL ||
	    strcasecmp(at + 1, gw->cfg->gateway.domain) != 0)
		return NULL;
	const char *t = id + 3;
	size_t n = strcspn(t, ".@");
	return n ? cg_strndup(t, n) : NULL;
}

char *
cg_gateway_message_id(const struct cg_gateway *gw, const char *thread_token)
{
	char *r = cg_random_hex(16);
	char *id = cg_asprintf("cg.%s.%s@%s", thread_token, r,
	                       gw->cfg->gateway.domain);
	free(r);
	return id;
}

/* Route by channel name (set by the bridge) or by recipient address. */
static const struct cg_cfg_channel *
route(const struct cg_gateway *gw, const struct cg_msg *m)
{
	if (m->channel)
		return cg_config_channel(gw->cfg, m->channel);
	for (size_t i = 0; i < m->nrcpts; i++)
		for (size_t j = 0; j < gw->cfg->nchannels; j++)
			if (strcasecmp(m->rcpts[i],
			               gw->cfg->channels[j].address) == 0)
				return &gw->cfg->channels[j];
	return NULL;
}

/* A message whose List-Id is one of ours came back: a loop. */
static int
is_loop(const struct cg_gateway *gw, const struct cg_msg *m)
{
	if (m->ext_id) {
		char *tok = token_of(gw, m->ext_id);
		int ours = tok != NULL;
		free(tok);
		if (ours)
			return 1;
	}
	if (m->list_id && cg_has_suffix_ci(m->list_id, gw->cfg->gateway.domain))
		return 1;
	return 0;
}

/* The thread of the message stored under external id (net, id) into
 * *thread_id (0: none): 0 ok, -1 a store error. */
static int
thread_of_extid(struct cg_gateway *gw, const char *net, const char *id,
                int64_t *thread_id)
{
	int64_t msg_id;
	*thread_id = 0;
	int found = cg_store_extid_find(gw->store, net, id, &msg_id);
	if (found <= 0)
		return found;
	struct cg_stored_msg p;
	if (cg_store_message_get(gw->store, msg_id, &p) == 0)
		*thread_id = p.thread_id;
	cg_stored_msg_free(&p);
	return 0;
}

/* A subject for a thread started in the room: its first line, cut short
 * at a word. */
static char *
chat_subject(const char *text)
{
	size_t n = strcspn(text ? text : "", "\r\n");
	if (n > 60) {
		n = 60;
		while (n > 30 && text[n] != ' ')
			n--;
		return cg_asprintf("%.*s...", (int)n, text);
	}
	return n ? cg_strndup(text, n) : cg_strdup("Chat");
}

/* The stored message a reference names into *id (0: none): 0 ok, -1 a
 * store error.  A room line may name a mail's Message-ID. */
static int
ref_message(struct cg_gateway *gw, const struct cg_msg *m, const char *ref,
            int64_t *id)
{
	int found = cg_store_extid_find(gw->store, cg_network_name(m->network),
	                                ref, id);
	if (found == 0 && m->network == CG_NET_XMPP)
		found = cg_store_extid_find(gw->store, "email", ref, id);
	return found < 0 ? -1 : 0;
}

/* Parent = the last reference the store knows; else the thread a token or
 * the xmpp <thread> names.  Never by subject.  0 ok, -1 a store error
 * (the message is not ingested now: it comes again). */
static int
find_thread(struct cg_gateway *gw, const struct cg_msg *m, struct decision *d)
{
	for (size_t i = m->nrefs; i-- > 0;) {
		int64_t id;
		if (ref_message(gw, m, m->refs[i], &id) != 0)
			return -1;
		if (id == 0)
			continue;
		struct cg_stored_msg p;
		if (cg_store_message_get(gw->store, id, &p) != 0)
			continue;
		int same = p.channel_id == d->channel_id;
		if (same) {
			d->parent_id = p.id;
			d->thread_id = p.thread_id;
		}
		cg_stored_msg_free(&p);
		if (same)
			return 0;
	}
	/* An In-Reply-To to a Message-ID we made (a batch, a digest) still
	 * names its thread by token. */
	for (size_t i = m->nrefs; i-- > 0;) {
		char *tok = token_of(gw, m->refs[i]);
		if (tok) {
			int found = cg_store_thread_by_token(gw->store, tok,
			                                     &d->thread_id);
			free(tok);
			if (found != 0)
				return found < 0 ? -1 : 0;
		}
	}
	if (m->thread_key) {
		/* Ours (we sent the thread's lines), else a client's own key
		 * remembered from the thread's first line. */
		int found = cg_store_thread_by_token(gw->store, m->thread_key,
		                                     &d->thread_id);
		if (found == 0)
			return thread_of_extid(gw, "xmpp-thread", m->thread_key,
			                       &d->thread_id);
		return found < 0 ? -1 : 0;
	}
	/* A plain room line joins the room's open chat thread: the latest
	 * thread started in the room, until it has been quiet for a while. */
	if (m->network == CG_NET_XMPP && m->nrefs == 0 &&
	    cg_store_open_chat_thread(gw->store, d->channel_id,
	                              cg_now() - CG_CHAT_THREAD_QUIET,
	                              &d->thread_id) < 0)
		return -1;
	return 0;
}

/* A post without the bridge's proof that it comes from its sender, where
 * proof is asked for (posting.sender_proof). */
static int
unproven(const struct cg_gateway *gw, const struct cg_msg *m)
{
	return gw->cfg->posting.sender_proof &&
	       !(m->flags & CG_MSG_SENDER_VERIFIED);
}

/* Held by layer, or else would go out in a known contact's name: an
 * unproven post goes out only once its sender confirms it.  One held by
 * layer is asked about once its sender is promoted (onboarding.c), so a
 * promotion never releases a post forged in the guest's name. */
static void
flag_held(const struct cg_gateway *gw, struct cg_msg *m, struct decision *d)
{
	if (d->layer < d->ch->post_layer) {
		d->below_layer = 1;
		m->flags |= CG_MSG_HELD;
		if (unproven(gw, m))
			m->flags |= CG_MSG_UNVERIFIED;
	} else if (d->contact_id && unproven(gw, m)) {
		m->flags |= CG_MSG_HELD | CG_MSG_UNVERIFIED;
	}
}

static enum cg_ingest_result
decide(struct cg_gateway *gw, struct cg_msg *m, struct decision *d,
       struct cg_ingest_info *info)
{
	memset(d, 0, sizeof *d);
	memset(info, 0, sizeof *info);
	const char *net = cg_network_name(m->network);

	if (m->ext_id) {
		int found = cg_store_extid_find(gw->store, net, m->ext_id,
		                                &d->duplicate_of);
		if (found < 0) {
			info->reason = "store: cannot look up the message id";
			return CG_INGEST_ERROR;
		}
		if (found) {
			m->flags |= CG_MSG_DUPLICATE;
			info->message_id = d->duplicate_of;
			info->reason = "duplicate: already stored";
			return CG_INGEST_DUPLICATE;
		}
	}
	if (is_loop(gw, m)) {
		m->flags |= CG_MSG_LOOP;
		info->reason = "loop: carries this gateway's own id";
		return CG_INGEST_DROPPED;
	}
	if (m->flags & CG_MSG_AUTO) {
		info->reason = "auto-generated: never relayed";
		return CG_INGEST_DROPPED;
	}
	if (m->flags & CG_MSG_OVERSIZE) {
		info->reason = "oversize: not relayed";
		return CG_INGEST_DROPPED;
	}
	d->ch = route(gw, m);
	int known =
	    d->ch ? cg_store_channel_id(gw->store, d->ch->name, &d->channel_id)
	          : 0;
	if (known < 0) {
		info->reason = "store: cannot look up the channel";
		return CG_INGEST_ERROR;
	}
	if (known == 0) {
		m->flags |= CG_MSG_NOCHANNEL;
		info->reason = "no channel for any recipient address";
		return CG_INGEST_DROPPED;
	}
	enum cg_identity_kind kind =
	    m->network == CG_NET_XMPP ? CG_ID_JID : CG_ID_EMAIL;
	if (cg_store_contact_find(gw->store, kind, m->sender_addr,
	                          &d->contact_id) < 0) {
		info->reason = "store: cannot look up the sender";
		return CG_INGEST_ERROR;
	}
	d->layer = CG_LAYER_GUEST;
	if (d->contact_id) {
		struct cg_contact c;
		if (cg_store_contact_get(gw->store, d->contact_id, &c) == 0)
			d->layer = c.layer;
		cg_contact_free(&c);
	}
	/* Federation: a partner's JID counts at its organisation's layer. */
	if (m->network == CG_NET_XMPP && m->sender_addr) {
		d->partner = cg_config_partner(gw->cfg, m->sender_addr);
		d->layer = cg_partner_layer(d->partner, d->layer);
	}
	flag_held(gw, m, d);
	if (find_thread(gw, m, d) != 0) {
		info->reason = "store: cannot look up the thread";
		return CG_INGEST_ERROR;
	}
	info->contact_id = d->contact_id;
	info->thread_id = d->thread_id;
	info->parent_id = d->parent_id;
	info->new_thread = d->thread_id == 0;
	if (d->below_layer && (m->flags & CG_MSG_UNVERIFIED))
		info->reason =
		    "held: sender below the channel's post_layer and not "
		    "verified (posting.sender_proof); after a promotion it "
		    "still needs the sender's confirmation";
	else if (m->flags & CG_MSG_UNVERIFIED)
		info->reason =
		    "held: sender not verified (posting.sender_proof); "
		    "confirmation requested";
	else if (m->flags & CG_MSG_HELD)
		info->reason = "held: sender below the channel's post_layer";
	return CG_INGEST_STORED;
}

enum cg_ingest_result
cg_gateway_decide(struct cg_gateway *gw, struct cg_msg *m,
                  struct cg_ingest_info *info)
{
	struct decision d;
	return decide(gw, m, &d, info);
}

/* One outbox row per destination other than the message's origin. */
/* Whether a post has anything for the room: a reply whose text was
 * trimmed to nothing (a mail of quotes only) and that brings no files
 * says nothing new there.  The first post of a thread always goes: its
 * subject is news.  Email members get the mail whatever this says. */
static int
post_has_room_news(const char *trimmed, size_t nfiles, int thread_root)
{
	if (thread_root || nfiles > 0 || trimmed == NULL)
		return 1;
	return trimmed[strspn(trimmed, " \t\r\n")] != '\0';
}

/* The outbox rows of a post: the room (when to_room:
 * post_has_room_news()) and each email member but the sender. */
static int
add_destinations(struct cg_gateway *gw, const struct cg_msg *m,
                 const struct decision *d, int64_t msg_id, int to_room,
                 size_t *rows)
{
	int64_t now_ms = cg_now_ms();
	if (m->network != CG_NET_XMPP && to_room && d->ch->room &&
	    gw->cfg->xmpp.present) {
		if (cg_store_outbox_add(gw->store, msg_id, "xmpp", d->ch->room,
		                        now_ms) != 0)
			return -1;
		(*rows)++;
	}
	if (!gw->cfg->smtp.present)
		return 0;
	/* Chat lines wait for the room to be quiet (chat_batch); the email
	 * bridge gathers the thread's due lines into one mail.  A file
	 * shared by URL is fetched first (the XMPP bridge moves the rows to
	 * their normal time once it has it), so members get the file, not
	 * a link, when it can be had. */
	int64_t wait = m->network == CG_NET_XMPP ? d->ch->chat_batch : 0;
	if (cg_attach_in_fetching(m) && wait < CG_FETCH_WAIT)
		wait = CG_FETCH_WAIT;
	int64_t due = now_ms + wait * 1000;
	struct cg_recipient *r;
	size_t n;
	if (cg_store_channel_recipients(gw->store, d->channel_id,
	                                CG_DELIVERY_EACH, d->contact_id, &r,
	                                &n) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (m->sender_addr &&
		    strcasecmp(r[i].address, m->sender_addr) == 0)
			continue;
		rc = cg_store_outbox_add(gw->store, msg_id, "email",
		                         r[i].address, due);
		(*rows)++;
	}
	cg_recipients_free(r, n);
	return rc;
}

/* CRM: an unknown sender from a domain a known organisation owns (its
 * config/CLI members' addresses; never free mail) belongs to it. */
static int
link_org_by_domain(struct cg_store *s, int64_t contact_id, const char *addr)
{
	const char *at = strrchr(addr, '@');
	int64_t org;
	int found = at ? cg_store_org_by_domain(s, at + 1, &org) : 0;
	if (found <= 0)
		return found;
	return cg_store_contact_link_org(s, contact_id, org);
}

static int
write_message(struct cg_gateway *gw, struct cg_msg *m, struct decision *d,
              struct cg_ingest_info *info)
{
	struct cg_store *s = gw->store;
	const char *net = cg_network_name(m->network);
	int64_t now = cg_now();
	int rc = -1, new_client_thread = 0;
	char *msgid = NULL;
	struct cg_thread t = {0};

	if (d->contact_id == 0 && m->sender_addr) {
		d->contact_id = cg_store_contact_auto(
		    s, m->network == CG_NET_XMPP ? CG_ID_JID : CG_ID_EMAIL,
		    m->sender_addr, m->sender_name);
		if (d->contact_id == 0)
			return -1;
		if (m->network == CG_NET_EMAIL &&
		    link_org_by_domain(s, d->contact_id, m->sender_addr) != 0)
			return -1;
	}
	if (cg_partner_apply(s, d->partner, d->contact_id) != 0)
		return -1;
	if (d->thread_id == 0) {
		char *subject = m->subject || m->network != CG_NET_XMPP
		                    ? cg_strdup(m->subject)
		                    : chat_subject(m->text);
		d->thread_id =
		    cg_store_thread_create(s, d->channel_id, subject, now);
		free(subject);
		if (d->thread_id == 0)
			return -1;
		info->new_thread = 1;
		new_client_thread = m->thread_key != NULL;
	}
	if (cg_store_thread_get(s, d->thread_id, &t) != 0)
		return -1;
	/* Mail keeps its own Message-ID; everything else gets one of ours
	 * carrying the thread token. */
	msgid = m->network == CG_NET_EMAIL && m->ext_id
	            ? cg_strdup(m->ext_id)
	            : cg_gateway_message_id(gw, t.token);
	struct cg_stored_msg sm = {
	    .channel_id = d->channel_id,
	    .thread_id = d->thread_id,
	    .parent_id = d->parent_id,
	    .contact_id = d->contact_id,
	    .network = (char *)net,
	    .message_id = msgid,
	    .sender_addr = m->sender_addr,
	    .sender_name = m->sender_name,
	    .subject = m->subject ? m->subject : t.subject,
	    .body = m->text,
	    .trimmed = m->trimmed ? m->trimmed : m->text,
	    .flags = m->flags,
	    .received = m->received ? m->received : now,
	};
	if (cg_store_message_insert(s, &sm, m->raw, m->rawlen) != 0)
		goto out;
	if (m->ext_id && cg_store_extid_add(s, net, m->ext_id, sm.id) != 0)
		goto out;
	/* A client's own <thread> key finds this thread again. */
	if (new_client_thread &&
	    cg_store_extid_add(s, "xmpp-thread", m->thread_key, sm.id) != 0)
		goto out;
	/* Our Message-ID is how email replies find this message. */
	if (cg_store_extid_add(s, "email", msgid, sm.id) != 0)
		goto out;
	struct cg_attach_in files = {
	    .ch = d->ch,
	    .channel_id = d->channel_id,
	    .message_id = sm.id,
	    .contact_id = d->contact_id,
	    .msgid = msgid,
	    .subject = sm.subject,
	};
	if (cg_attach_in_store(gw, m, &files) != 0)
		goto out;
	if (cg_store_thread_touch(s, d->thread_id, sm.id, now) != 0)
		goto out;
	if (cg_store_interaction_add(s, d->contact_id, d->channel_id,
	                             d->thread_id, sm.id, net, "in", now) != 0)
		goto out;
	int to_room = post_has_room_news(sm.trimmed, m->natt, info->new_thread);
	if (!(m->flags & CG_MSG_HELD) &&
	    add_destinations(gw, m, d, sm.id, to_room, &info->outbox_rows) != 0)
		goto out;
	/* An unproven post waits for its sender's confirmation, one below
	 * post_layer for a nomination, and one that is both for both, the
	 * confirmation asked for after the promotion (gateway/onboarding.c). */
	if ((m->flags & CG_MSG_UNVERIFIED) && !d->below_layer &&
	    cg_onboarding_unverified(gw, d->ch, d->channel_id, sm.id,
	                             d->contact_id, msgid, sm.subject,
	                             sm.trimmed, now) != 0)
		goto out;
	if (d->below_layer &&
	    cg_onboarding_held(
	        gw, d->ch, d->channel_id, sm.id, d->contact_id,
	        m->network == CG_NET_EMAIL ? m->sender_addr : NULL, msgid,
	        sm.subject, (m->flags & CG_MSG_UNVERIFIED) != 0, now) != 0)
		goto out;
	info->message_id = sm.id;
	info->thread_id = d->thread_id;
	info->contact_id = d->contact_id;
	rc = 0;
out:
	free(msgid);
	cg_thread_free(&t);
	return rc;
}

enum cg_ingest_result
cg_gateway_ingest(struct cg_gateway *gw, struct cg_msg *m,
                  cg_ingest_extra_fn *extra, void *arg,
                  struct cg_ingest_info *info)
{
	struct decision d;
	enum cg_ingest_result r = decide(gw, m, &d, info);
	if (r == CG_INGEST_ERROR)
		return r;
	if (r == CG_INGEST_STORED && !m->ext_id && m->network == CG_NET_EMAIL)
		cg_debug("mail from %s has no Message-ID; one is assigned",
		         m->sender_addr ? m->sender_addr : "(unknown)");
	if (cg_store_begin(gw->store) != 0) {
		info->reason = "store: cannot begin transaction";
		return CG_INGEST_ERROR;
	}
	if (r == CG_INGEST_STORED && write_message(gw, m, &d, info) != 0) {
		cg_store_rollback(gw->store);
		info->reason = "store: cannot write message";
		return CG_INGEST_ERROR;
	}
	/* The bridge's watermark moves in the same transaction, also for
	 * messages dropped on purpose: they are done with. */
	if (extra && extra(gw, arg) != 0) {
		cg_store_rollback(gw->store);
		info->reason = "store: cannot record source position";
		return CG_INGEST_ERROR;
	}
	if (cg_store_commit(gw->store) != 0) {
		cg_store_rollback(gw->store);
		info->reason = "store: commit failed";
		return CG_INGEST_ERROR;
	}
	if (info->outbox_rows)
		gw->outbox_kick = 1;
	return r;
}

/* Whether some mail of message `id` went out already (done, or handed to
 * the email bridge right now), so a correction must be a mail of its own. */
static int
mail_went_out(struct cg_gateway *gw, int64_t id, int *out)
{
	int64_t *pending;
	size_t npending, ndone;
	if (cg_store_message_rows(gw->store, id, "email", &pending, &npending,
	                          &ndone) != 0)
		return -1;
	*out = ndone > 0;
	for (size_t i = 0; i < npending && !*out; i++)
		*out = cg_outbox_inflight(gw, pending[i]);
	free(pending);
	return 0;
}

/* XEP-0308 (gateway.h): update the stored text; a new message when the
 * original's mail is out.  Decided here, written in one transaction. */
enum cg_ingest_result
cg_gateway_correct(struct cg_gateway *gw, int64_t original, struct cg_msg *m,
                   cg_ingest_extra_fn *extra, void *arg,
                   struct cg_ingest_info *info)
{
	struct cg_store *s = gw->store;
	const char *net = cg_network_name(m->network);
	memset(info, 0, sizeof *info);
	int seen = cg_store_extid_find(s, net, m->ext_id, &info->message_id);
	if (seen < 0) {
		info->reason = "store: cannot look up the message id";
		return CG_INGEST_ERROR;
	}
	if (seen) {
		info->reason = "duplicate: already stored";
		return CG_INGEST_DUPLICATE;
	}
	struct cg_stored_msg o;
	int out = 0;
	if (cg_store_message_get(s, original, &o) != 0 ||
	    mail_went_out(gw, original, &out) != 0) {
		info->reason = "store: cannot read the corrected message";
		return CG_INGEST_ERROR;
	}
	char *name = cg_store_channel_name(s, o.channel_id);
	struct decision d = {
	    .ch = name ? cg_config_channel(gw->cfg, name) : NULL,
	    .channel_id = o.channel_id,
	    .contact_id = o.contact_id,
	    .parent_id = o.id,
	    .thread_id = o.thread_id,
	};
	free(name);
	enum cg_ingest_result r = CG_INGEST_STORED;
	info->message_id = original;
	info->thread_id = o.thread_id;
	if (cg_store_begin(s) != 0) {
		cg_stored_msg_free(&o);
		info->reason = "store: cannot begin transaction";
		return CG_INGEST_ERROR;
	}
	int rc = cg_store_message_set_text(s, original, m->text,
	                                   m->trimmed ? m->trimmed : m->text);
	if (rc == 0 && out && d.ch) {
		/* The mail is out: members get the new text as a reply. */
		char *t = cg_asprintf("(corrected) %s",
		                      m->trimmed ? m->trimmed : m->text);
		free(m->trimmed);
		m->trimmed = t;
		m->flags |= o.flags & CG_MSG_HELD;
		rc = write_message(gw, m, &d, info);
		info->parent_id = original;
	} else if (rc == 0 && m->ext_id) {
		rc = cg_store_extid_add(s, net, m->ext_id, original);
	}
	cg_stored_msg_free(&o);
	if (rc == 0 && extra && extra(gw, arg) != 0)
		rc = -1;
	if (rc != 0 || cg_store_commit(s) != 0) {
		cg_store_rollback(s);
		info->reason = "store: cannot record the correction";
		return CG_INGEST_ERROR;
	}
	if (info->outbox_rows)
		gw->outbox_kick = 1;
	return r;
}

/* post_has_room_news() for a stored post; 1 when the store cannot say
 * (a line too many in the room beats a lost one). */
static int
held_has_room_news(struct cg_store *s, const struct cg_stored_msg *sm)
{
	struct cg_thread t = {0};
	struct cg_att_row *files = NULL;
	size_t nfiles = 0;
	int root = 1;
	if (cg_store_thread_get(s, sm->thread_id, &t) == 0)
		root = t.root_message_id == sm->id;
	cg_thread_free(&t);
	if (cg_store_attachments_of(s, sm->id, &files, &nfiles) != 0)
		return 1;
	cg_att_rows_free(files, nfiles);
	return post_has_room_news(sm->trimmed, nfiles, root);
}

/* CRM: a held post whose sender was promoted goes out like a fresh post
 * (pipeline.h). */
int
cg_gateway_release_held(struct cg_gateway *gw, int64_t message_id, size_t *rows)
{
	struct cg_stored_msg sm;
	if (cg_store_message_get(gw->store, message_id, &sm) != 0)
		return -1;
	char *name = cg_store_channel_name(gw->store, sm.channel_id);
	struct decision d = {
	    .ch = name ? cg_config_channel(gw->cfg, name) : NULL,
	    .channel_id = sm.channel_id,
	    .contact_id = sm.contact_id,
	};
	struct cg_msg m = {
	    .network = sm.network && strcmp(sm.network, "xmpp") == 0
	                   ? CG_NET_XMPP
	                   : CG_NET_EMAIL,
	    .sender_addr = sm.sender_addr,
	};
	int rc = -1;
	if (d.ch == NULL)
		cg_warn("message %lld: channel %s is no longer configured",
		        (long long)message_id, name ? name : "?");
	else if (cg_store_held_release(gw->store, message_id, cg_now()) == 0)
		rc = add_destinations(gw, &m, &d, message_id,
		                      held_has_room_news(gw->store, &sm), rows);
	free(name);
	cg_stored_msg_free(&sm);
	return rc;
}

/* Declared in gateway.h, was missing: the bridges' connection state for
 * `coopgate status` (added by the email bridge's author). */
void
cg_gateway_bridge_state(struct cg_gateway *gw, const char *bridge,
                        int connected, const char *error)
{
	if (connected)
		gw->outbox_kick = 1; /* rows waiting for this bridge can go */
	if (cg_store_bridge_state_set(gw->store, bridge, connected, error,
	                              cg_now()) != 0)
		cg_warn("%s: cannot record the bridge state", bridge);
}
