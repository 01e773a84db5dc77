/*
 * mail_out.c: the mails of due outbox rows, composed in the loop thread
 * for smtp_out.c: a stored message as list mail (with the channel's CRM
 * context and files), a notice (a direct message to one person; a
 * member's copy of a digest is composed as list mail), and a chat batch
 * (the lines of one thread from the room, one mail per recipient).  Each
 * is dot-stuffed once and kept in a small cache while one batch of rows
 * is planned, so every recipient of a post shares the same bytes.
 * compose.c renders the headers and body; this file reads the store.
 *
 * Must never: run in a worker thread, or make two different texts for
 * the rows of one message within a batch.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/attach.h"
#include "bridges/email/compose.h"
#include "bridges/email/crm_headers.h"
#include "bridges/email/bounce_attr.h"
#include "bridges/email/invoice_mail.h"
#include "bridges/email/report_mail.h"
#include "bridges/email/smtp_int.h"
#include "gateway/crm.h"
#include "gateway/gateway.h"
#include "gateway/msg.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

void
email_out_mail_unref(struct mail *m)
{
	if (m && --m->refs == 0) {
		free(m->key);
		free(m->data);
		free(m->list_addr);
		free(m);
	}
}

/* CRLF line ends, leading dots doubled, ".\r\n" at the end. */
static char *
dot_stuff(const char *raw, size_t len, size_t *out_len)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_reserve(&b, len + len / 32 + 8);
	const char *p = raw, *end = raw + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (l && p[0] == '.')
			cg_buf_putc(&b, '.');
		cg_buf_add(&b, p, l);
		cg_buf_add(&b, "\r\n", 2);
		p = nl ? nl + 1 : end;
	}
	cg_buf_add(&b, ".\r\n", 3);
	*out_len = b.len;
	return cg_buf_steal(&b);
}

static int
has_re_prefix(const char *s)
{
	return strncasecmp(s, "re:", 3) == 0;
}

/* The thread's subject stays constant: "Re: <subject>" on replies. */
static char *
thread_subject(const char *thread_subj, const char *msg_subj, int reply)
{
	const char *base = thread_subj && *thread_subj ? thread_subj : msg_subj;
	if (base == NULL)
		return NULL;
	if (!reply || has_re_prefix(base))
		return cg_strdup(base);
	return cg_asprintf("Re: %s", base);
}

/* "dev@lists.example.org" -> "dev.lists.example.org" */
static char *
list_id_of(const char *addr)
{
	char *id = cg_strdup(addr);
	char *at = strchr(id, '@');
	if (at)
		*at = '.';
	return id;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A reply to stored message `parent` of thread `thread_id`: its
 * Message-ID and the References chain up to it. */
static void
reply_ids(struct cg_store *st, int64_t thread_id, int64_t parent, char **irt,
          char ***refs, size_t *nrefs)
{
	struct cg_stored_msg p;
	if (cg_store_message_get(st, parent, &p) == 0) {
		*irt = cg_strdup(p.message_id);
		cg_stored_msg_free(&p);
	}
	if (cg_store_thread_message_ids(st, thread_id, parent, refs, nrefs) !=
	    0)
		return;
	if (*nrefs > MAX_REFS) { /* keep the root and the newest */
		size_t drop = *nrefs - MAX_REFS;
		for (size_t i = 1; i <= drop; i++)
			free((*refs)[i]);
		memmove(*refs + 1, *refs + 1 + drop,
		        (MAX_REFS - 1) * sizeof **refs);
		*nrefs = MAX_REFS;
	}
}

/* The parent's Message-ID and the References chain for message m. */
static void
thread_ids(struct cg_store *st, const struct cg_stored_msg *m,
           const struct cg_thread *t, char **irt, char ***refs, size_t *nrefs)
{
	*irt = NULL;
	*refs = NULL;
	*nrefs = 0;
	int64_t parent = m->parent_id;
	if (parent == 0 && t->root_message_id && t->root_message_id != m->id)
		parent = t->root_message_id;
	if (parent)
		reply_ids(st, m->thread_id, parent, irt, refs, nrefs);
}

/* Compose stored message `id`; NULL with *fail and *err set. */

static struct mail *
mail_new(const char *key, const char *raw, size_t rawlen, const char *list_addr)
{
	struct mail *m = cg_calloc(1, sizeof *m);
	m->refs = 1;
	m->key = cg_strdup(key);
	m->data = dot_stuff(raw, rawlen, &m->len);
	m->list_addr = list_addr ? cg_strdup(list_addr) : NULL;
	return m;
}

/* The channel of id (configured), or NULL with *fail, *err set. */
static const struct cg_cfg_channel *
channel_of(struct email_smtp *s, int64_t channel_id, const char *what,
           enum cg_delivery_status *fail, char **err)
{
	char *chname = cg_store_channel_name(s->gw->store, channel_id);
	const struct cg_cfg_channel *ch =
	    chname ? cg_config_channel(s->gw->cfg, chname) : NULL;
	if (ch == NULL) {
		*fail = CG_FAILED;
		*err = cg_asprintf("%s: channel %s is not configured", what,
		                   chname ? chname : "(gone)");
	}
	free(chname);
	return ch;
}

/* The channel's CRM context about contact into in (footer or headers);
 * free with crm_context_free(). */
struct crm_ctx {
	char *footer;
	char **lines;
	size_t nlines;
};

static void
crm_context(struct email_smtp *s, const struct cg_cfg_channel *ch,
            int64_t contact_id, struct crm_ctx *c)
{
	memset(c, 0, sizeof *c);
	if (contact_id == 0)
		return;
	if (ch->crm_context == CG_CRM_FOOTER)
		c->footer = cg_crm_footer(s->gw->store, contact_id, cg_now());
	else if (ch->crm_context == CG_CRM_HEADER &&
	         email_crm_headers(s->gw->store, contact_id, &c->lines,
	                           &c->nlines) != 0) {
		c->lines = NULL;
		c->nlines = 0;
	}
}

static void
crm_context_free(struct crm_ctx *c)
{
	free(c->footer);
	strv_free(c->lines, c->nlines);
}

/* text, then (after a blank line) the "[File: ...]" lines of the files
 * that are not attached (attach.h). */
static void
body_with_files(struct cg_buf *b, const char *text, const struct cg_buf *lines)
{
	cg_buf_puts(b, text ? text : "");
	if (lines->len == 0)
		return;
	while (b->len &&
	       (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
		b->data[--b->len] = '\0';
	if (b->len)
		cg_buf_puts(b, "\n\n");
	cg_buf_add(b, lines->data, lines->len);
}

/* Compose stored message `id` as list mail; NULL with *fail, *err set. */
static struct mail *
compose_message(struct email_smtp *s, int64_t id, enum cg_delivery_status *fail,
                char **err)
{
	struct cg_store *st = s->gw->store;
	struct cg_stored_msg m;
	struct cg_thread t = {0};
	struct mail *out = NULL;
	char *irt = NULL, *subject = NULL, *list_id = NULL;
	char **refs = NULL;
	size_t nrefs = 0;
	struct email_files files = {0};
	struct cg_buf body = CG_BUF_INIT, lines = CG_BUF_INIT;
	struct crm_ctx crm = {0};

	*fail = CG_RETRY;
	if (cg_store_message_get(st, id, &m) != 0) {
		*err = cg_asprintf("message %lld: cannot load it from the "
		                   "store",
		                   (long long)id);
		return NULL;
	}
	char *what = cg_asprintf("message %lld", (long long)id);
	if (cg_store_thread_get(st, m.thread_id, &t) != 0) {
		*err = cg_asprintf("%s: cannot load its thread", what);
		goto out;
	}
	const struct cg_cfg_channel *ch =
	    channel_of(s, m.channel_id, what, fail, err);
	if (ch == NULL)
		goto out;
	thread_ids(st, &m, &t, &irt, &refs, &nrefs);
	subject = thread_subject(t.subject, m.subject, irt != NULL);
	list_id = list_id_of(ch->address);
	if (email_files_add(s->gw, id, s->cfg->max_attachment_size, m.body,
	                    &files, &lines, err) != 0)
		goto out;
	body_with_files(&body, m.body, &lines);
	crm_context(s, ch, m.contact_id, &crm);
	struct email_compose_in in = {
	    .list_addr = ch->address,
	    .list_id = list_id,
	    .channel = ch->name,
	    .sender_name = m.sender_name,
	    .sender_addr = m.sender_addr,
	    .subject = subject,
	    .body = cg_buf_str(&body),
	    .message_id = m.message_id,
	    .in_reply_to = irt,
	    .refs = (const char *const *)refs,
	    .nrefs = nrefs,
	    .footer = crm.footer,
	    .extra_headers = (const char *const *)crm.lines,
	    .nextra = crm.nlines,
	    .att = files.att,
	    .natt = files.natt,
	    .date = m.received,
	};
	size_t rawlen;
	char *raw = email_compose(&in, &rawlen);
	if (raw == NULL) {
		*fail = CG_FAILED;
		*err = cg_asprintf("%s: cannot compose a mail for list "
		                   "address %s",
		                   what, ch->address);
		goto out;
	}
	char *key = cg_asprintf("m:%lld", (long long)id);
	out = mail_new(key, raw, rawlen, ch->address);
	free(key);
	free(raw);
	cg_debug("%s composed for %s: %zu bytes", what, ch->address, out->len);
out:
	crm_context_free(&crm);
	email_files_free(&files);
	cg_buf_free(&body);
	cg_buf_free(&lines);
	strv_free(refs, nrefs);
	free(irt);
	free(subject);
	free(list_id);
	free(what);
	cg_thread_free(&t);
	cg_stored_msg_free(&m);
	return out;
}

/* Compose notice `id` as a direct message (RFC 3834); NULL with *fail,
 * *err set. */
static struct mail *
compose_notice(struct email_smtp *s, int64_t id, enum cg_delivery_status *fail,
               char **err)
{
	struct cg_notice n;
	struct mail *out = NULL;
	char *list_id = NULL;
	*fail = CG_RETRY;
	if (cg_store_notice_get(s->gw->store, id, &n) != 0) {
		*err = cg_asprintf("notice %lld: cannot load it from the "
		                   "store",
		                   (long long)id);
		return NULL;
	}
	char *raw_inv = NULL; /* an invoice's mail: invoice_mail.c */
	size_t inv_len = 0;
	int inv = email_invoice_mail(s->gw, &n, &raw_inv, &inv_len, err);
	if (inv != 0) {
		char *key = cg_asprintf("n:%lld", (long long)id);
		out = inv > 0 ? mail_new(key, raw_inv, inv_len, NULL) : NULL;
		free(key);
		free(raw_inv);
		cg_notice_free(&n);
		return out;
	}
	const struct cg_cfg_channel *ch = NULL;
	if (n.channel_id) {
		char *chname =
		    cg_store_channel_name(s->gw->store, n.channel_id);
		ch = chname ? cg_config_channel(s->gw->cfg, chname) : NULL;
		if (ch)
			list_id = list_id_of(ch->address);
		free(chname);
	}
	/* A member's copy of a digest is list mail (digest.h), from the
	 * list, with a VERP envelope sender; other notices are direct. */
	int64_t digest_id = 0;
	int digest =
	    ch && cg_store_notice_digest(s->gw->store, id, &digest_id) == 1;
	struct email_compose_in in = {
	    .list_addr = digest ? ch->address : n.from_addr,
	    .list_id = list_id,
	    .channel = digest ? ch->name : NULL,
	    .sender_name = digest ? "Digest" : NULL,
	    .sender_addr = NULL,
	    .to = n.to_addr,
	    .subject = n.subject,
	    .body = n.body ? n.body : "",
	    .message_id = n.message_id,
	    .in_reply_to = n.in_reply_to,
	    .auto_submitted = n.auto_submitted && strcmp(n.auto_submitted,
	                                                 "auto-generated") == 0
	                          ? 1
	                          : 2,
	    .direct = !digest,
	    .date = n.created,
	};
	size_t rawlen;
	/* A report's copy is multipart/alternative (report_mail.c). */
	char *raw = email_report_mail(s->gw->store, id, &in, &rawlen);
	if (raw == NULL) {
		*fail = CG_FAILED;
		*err = cg_asprintf("notice %lld: cannot compose a mail from %s",
		                   (long long)id,
		                   n.from_addr ? n.from_addr : "(none)");
	} else {
		char *key = cg_asprintf("n:%lld", (long long)id);
		/* A VERP probe (bounce_attr.c) has a VERP sender too. */
		int probe =
		    ch && email_bounce_is_probe(ch->address, n.from_addr);
		out = mail_new(key, raw, rawlen,
		               digest || probe ? ch->address : NULL);
		free(key);
		free(raw);
	}
	free(list_id);
	cg_notice_free(&n);
	return out;
}

/* A room line's sender_name is the nick; the contact's name is better. */
/* The person's name from the CRM instead of the nick: 1 when there is
 * one (the gateway vouches for it), 0 when the nick stays. */
static int
contact_name(struct cg_store *st, struct cg_stored_msg *m)
{
	struct cg_contact c;
	if (m->contact_id == 0 ||
	    cg_store_contact_get(st, m->contact_id, &c) != 0)
		return 0;
	int named = c.name && *c.name;
	if (named) {
		free(m->sender_name);
		m->sender_name = c.name;
		c.name = NULL;
	}
	cg_contact_free(&c);
	return named;
}

/* "Bob Example" or the sender address's local part. */
static char *
line_sender(const struct cg_stored_msg *m)
{
	if (m->sender_name && *m->sender_name)
		return cg_strdup(m->sender_name);
	if (m->sender_addr) {
		size_t l = strcspn(m->sender_addr, "@/");
		return cg_strndup(m->sender_addr, l);
	}
	return cg_strdup("someone");
}

/* The text a chat line shows. */
static const char *
line_text(const struct cg_stored_msg *m)
{
	return m->trimmed ? m->trimmed : m->body ? m->body : "";
}

/* The batch's body: one email_chat_line() per message, in order, with
 * the "[File: ...]" lines of its files that are not attached. */
static void
batch_body(struct cg_buf *b, const struct cg_stored_msg *v, const int *verified,
           const struct cg_buf *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *who = line_sender(&v[i]);
		struct cg_buf t = CG_BUF_INIT;
		cg_buf_puts(&t, line_text(&v[i]));
		while (t.len &&
		       (t.data[t.len - 1] == '\n' || t.data[t.len - 1] == '\r'))
			t.data[--t.len] = '\0';
		if (files[i].len) {
			cg_buf_putc(&t, '\n');
			cg_buf_add(&t, files[i].data, files[i].len);
		}
		email_chat_line(b, who, verified[i], cg_buf_str(&t));
		cg_buf_free(&t);
		free(who);
	}
}

/* "Bob Example" when one person spoke, "Bob Example, Alice Example" else
 * (caller frees). */
static char *
batch_senders(const struct cg_stored_msg *v, size_t n, int64_t *contact)
{
	struct cg_buf b = CG_BUF_INIT;
	*contact = n ? v[0].contact_id : 0;
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		for (size_t k = 0; k < i && !seen; k++)
			seen = v[k].contact_id == v[i].contact_id;
		if (seen)
			continue;
		if (v[i].contact_id != *contact)
			*contact = 0;
		char *who = line_sender(&v[i]);
		cg_buf_printf(&b, "%s%s", b.len ? ", " : "", who);
		free(who);
	}
	return cg_buf_steal(&b);
}

/*
 * Compose the chat lines ids[0..n) (one thread, oldest first) as one mail:
 * "Re: <thread subject>", a reply to the thread's last message that was
 * mail, Message-ID "cg.TOKEN.bFIRST-LAST@domain" (stable, and its token
 * names the thread when someone replies to it).
 */
static struct mail *
compose_batch(struct email_smtp *s, const char *key, const int64_t *ids,
              size_t n, enum cg_delivery_status *fail, char **err)
{
	struct cg_store *st = s->gw->store;
	struct cg_stored_msg *v = cg_calloc(n, sizeof *v);
	struct cg_thread t = {0};
	struct mail *out = NULL;
	char *irt = NULL, *subject = NULL, *list_id = NULL, *msgid = NULL;
	char *names = NULL;
	char **refs = NULL;
	size_t nrefs = 0, got = 0;
	struct crm_ctx crm = {0};
	struct cg_buf body = CG_BUF_INIT;
	struct cg_buf *lines = cg_calloc(n, sizeof *lines);
	struct email_files files = {0};
	int *verified = NULL;

	*fail = CG_RETRY;
	for (; got < n; got++)
		if (cg_store_message_get(st, ids[got], &v[got]) != 0) {
			*err = cg_asprintf("message %lld: cannot load it from "
			                   "the store",
			                   (long long)ids[got]);
			goto out;
		}
	verified = cg_calloc(n, sizeof *verified);
	for (size_t i = 0; i < n; i++) /* the person's name, not the nick */
		verified[i] = contact_name(st, &v[i]);
	if (cg_store_thread_get(st, v[0].thread_id, &t) != 0) {
		*err = cg_asprintf("thread %lld: cannot load it",
		                   (long long)v[0].thread_id);
		goto out;
	}
	const struct cg_cfg_channel *ch =
	    channel_of(s, v[0].channel_id, "chat batch", fail, err);
	if (ch == NULL)
		goto out;
	int64_t last;
	if (cg_store_thread_last_email(st, t.id, ids[0], &last) == 1)
		reply_ids(st, t.id, last, &irt, &refs, &nrefs);
	subject = thread_subject(t.subject, v[0].subject, 1);
	list_id = list_id_of(ch->address);
	msgid = cg_asprintf("cg.%s.b%lld-%lld@%s", t.token, (long long)ids[0],
	                    (long long)ids[n - 1], s->gw->cfg->gateway.domain);
	for (size_t i = 0; i < n; i++)
		if (email_files_add(s->gw, ids[i], s->cfg->max_attachment_size,
		                    line_text(&v[i]), &files, &lines[i],
		                    err) != 0)
			goto out;
	int64_t contact;
	names = batch_senders(v, n, &contact);
	batch_body(&body, v, verified, lines, n);
	crm_context(s, ch, contact, &crm);
	struct email_compose_in in = {
	    .list_addr = ch->address,
	    .list_id = list_id,
	    .channel = ch->name,
	    .sender_name = names,
	    .sender_addr = contact && n ? v[0].sender_addr : NULL,
	    .subject = subject,
	    .body = cg_buf_str(&body),
	    .message_id = msgid,
	    .in_reply_to = irt,
	    .refs = (const char *const *)refs,
	    .nrefs = nrefs,
	    .footer = crm.footer,
	    .extra_headers = (const char *const *)crm.lines,
	    .nextra = crm.nlines,
	    .att = files.att,
	    .natt = files.natt,
	    .date = v[n - 1].received,
	};
	size_t rawlen;
	char *raw = email_compose(&in, &rawlen);
	if (raw == NULL) {
		*fail = CG_FAILED;
		*err = cg_asprintf("chat batch: cannot compose a mail for %s",
		                   ch->address);
		goto out;
	}
	out = mail_new(key, raw, rawlen, ch->address);
	free(raw);
	cg_debug("chat batch %s: %zu line(s) of thread %lld, %zu bytes", msgid,
	         n, (long long)t.id, out->len);
out:
	free(verified);
	crm_context_free(&crm);
	cg_buf_free(&body);
	for (size_t i = 0; i < n; i++)
		cg_buf_free(&lines[i]);
	free(lines);
	email_files_free(&files);
	for (size_t i = 0; i < got; i++)
		cg_stored_msg_free(&v[i]);
	free(v);
	strv_free(refs, nrefs);
	free(irt);
	free(subject);
	free(list_id);
	free(msgid);
	free(names);
	cg_thread_free(&t);
	return out;
}

static struct mail *
cache_find(struct email_smtp *s, const char *key)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (s->cache[i] && strcmp(s->cache[i]->key, key) == 0) {
			s->cache[i]->refs++;
			return s->cache[i];
		}
	return NULL;
}

/* Keep m in the cache; returns m (the caller's reference). */
static struct mail *
cache_put(struct email_smtp *s, struct mail *m)
{
	int slot = s->cache_next;
	s->cache_next = (slot + 1) % CACHE_SLOTS;
	email_out_mail_unref(s->cache[slot]);
	s->cache[slot] = m;
	m->refs++; /* the cache's */
	return m;
}

/* A reference to the mail for outbox row `row` that is no chat line. */
struct mail *
email_out_mail_get(struct email_smtp *s, const struct cg_outbox_row *row,
                   enum cg_delivery_status *fail, char **err)
{
	int notice = row->notice_id != 0;
	int64_t id = notice ? row->notice_id : row->message_id;
	char *key = cg_asprintf("%c:%lld", notice ? 'n' : 'm', (long long)id);
	struct mail *m = cache_find(s, key);
	free(key);
	if (m)
		return m;
	m = notice ? compose_notice(s, id, fail, err)
	           : compose_message(s, id, fail, err);
	return m ? cache_put(s, m) : NULL;
}

/* A reference to the batch mail of chat lines ids[0..n). */
struct mail *
email_out_mail_get_batch(struct email_smtp *s, const int64_t *ids, size_t n,
                         enum cg_delivery_status *fail, char **err)
{
	struct cg_buf k = CG_BUF_INIT;
	cg_buf_puts(&k, "b:");
	for (size_t i = 0; i < n; i++)
		cg_buf_printf(&k, "%s%lld", i ? "," : "", (long long)ids[i]);
	struct mail *m = cache_find(s, cg_buf_str(&k));
	if (m == NULL) {
		m = compose_batch(s, cg_buf_str(&k), ids, n, fail, err);
		if (m)
			cache_put(s, m);
	}
	cg_buf_free(&k);
	return m;
}

void
email_out_cache_clear(struct email_smtp *s)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		email_out_mail_unref(s->cache[i]);
		s->cache[i] = NULL;
	}
}
