/*
 * request.c: which address each delivered copy was for, and the commands
 * mailed to CHANNEL+request@DOMAIN (and CHANNEL+unsubscribe@, the
 * List-Unsubscribe address).
 *
 * Routing (email_route): the envelope recipient is the one LMTP's RCPT TO
 * named (lmtp_in.c), else the topmost Delivered-To of gateway.domain
 * (Dovecot adds exactly one per delivered copy), else the topmost
 * X-Original-To of it, else the To/Cc addresses.
 *   CHANNEL@            a list post: on to the pipeline (m->channel set);
 *                       over imap.max_message_size: a notice instead
 *   CHANNEL+request@    commands (below)
 *   CHANNEL+unsubscribe@  the command "unsubscribe"
 *   CHANNEL+bounce-TOK@ a delivery report (bounce.c)
 *   anything else @DOMAIN  no such address: a notice (autoreply.c)
 * Everything but list posts is handled in one transaction with the
 * bridge's watermark, and remembered by Message-ID and address
 * (mail_handled) so a re-scan of the mailbox does not run it again.
 *
 * Commands: one per line in the body (the subject counts as a line too),
 * at most 10 lines looked at; blank and quoted ("> ") lines are skipped,
 * the signature ("-- ") ends them, and so does the first line that is no
 * command once a command was found.  subscribe, unsubscribe, each, digest
 * and none change state and are confirmed by a round trip: the gateway
 * mails a token to the From address, and the change happens when the
 * token comes back ("confirm TOKEN" in the subject or a line of the body,
 * within 7 days): receiving the token is the authentication.  help
 * answers at once.  "nominate ADDRESS [partner]" (default member) counts
 * as a nomination (gateway/onboarding.c) by the contact of the From
 * address, and only when the sender is proven (CG_MSG_SENDER_VERIFIED,
 * set here from bridges/email/sender_auth.h: the trusted MTA's record of
 * an authenticated submission, its Authentication-Results, or a DKIM
 * signature aligned with From); else it is refused
 * with the reason.  Mail that is auto-generated is never acted on or
 * answered.  Every answer is a notice from CHANNEL+request@DOMAIN
 * In-Reply-To the command mail, and answers are rationed (reply_allowed):
 * a proven sender gets REPLIES_PER_HOUR an hour, an unproven one only the
 * confirmation token, once a day, so a forged From cannot turn the
 * gateway into a relay that mails third parties.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridges/email/autoreply.h"
#include "bridges/email/bounce.h"
#include "bridges/email/request.h"
#include "bridges/email/sender_auth.h"
#include "bridges/email/request_billing.h"
#include "lib/log.h"
#include "gateway/msg.h"
#include "gateway/onboarding.h"
#include "gateway/reports.h"
#include "lib/util.h"
#include "store/store.h"

#define MAX_COMMAND_LINES 10
#define TOKEN_TTL_S (7 * 86400)
#define TOKEN_HEX 20
/* Answers to one address: a proven sender gets at most this many an hour;
 * an unproven one only the confirmation round trip itself, once a day. */
#define REPLIES_PER_HOUR 5
#define UNPROVEN_REPLIES_PER_DAY 1

enum route_kind {
	R_POST,
	R_REQUEST,
	R_UNSUBSCRIBE,
	R_BOUNCE,
	R_UNKNOWN,
	R_FOREIGN, /* not an address of gateway.domain */
};

struct route {
	enum route_kind kind;
	const struct cg_cfg_channel *ch;
	const char *detail; /* after '+', inside addr */
	size_t detail_len;
};

/* ---- the envelope recipient --------------------------------------------- */

/* "<Dev+Request@Lists.Example.org>" -> "dev+request@lists.example.org". */
static char *
bare_address(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t' || *v == '<')) {
		v++;
		n--;
	}
	size_t k = 0;
	while (k < n && !strchr(" \t\r\n>;,", v[k]))
		k++;
	if (k == 0)
		return NULL;
	char *raw = cg_strndup(v, k);
	char *a = cg_lowercase(raw);
	free(raw);
	return a;
}

static int
in_domain(const struct cg_gateway *gw, const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	return at && at != addr &&
	       strcasecmp(at + 1, gw->cfg->gateway.domain) == 0;
}

/* The value of the topmost `name` header (of the header block) holding
 * an address of gateway.domain; NULL when none (caller frees). */
static char *
header_address(const struct cg_gateway *gw, const char *raw, size_t len,
               const char *name)
{
	size_t nl = strlen(name);
	const char *end = raw + len;
	for (const char *p = raw; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (p == eol || (eol == p + 1 && *p == '\r'))
			break; /* end of the header */
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			char *a = bare_address(p + nl + 1,
			                       (size_t)(eol - p - nl - 1));
			if (a && in_domain(gw, a))
				return a;
			free(a);
		}
		p = eol + 1;
	}
	return NULL;
}

static struct route
classify(const struct cg_gateway *gw, const char *addr)
{
	struct route r = {R_FOREIGN, NULL, NULL, 0};
	if (!in_domain(gw, addr))
		return r;
	const char *at = strrchr(addr, '@');
	const char *plus = memchr(addr, '+', (size_t)(at - addr));
	size_t base = (size_t)((plus ? plus : at) - addr);
	r.kind = R_UNKNOWN;
	for (size_t i = 0; i < gw->cfg->nchannels; i++) {
		const char *ca = gw->cfg->channels[i].address;
		if (strncasecmp(ca, addr, base) == 0 && ca[base] == '@' &&
		    strcasecmp(ca + base + 1, at + 1) == 0) {
			r.ch = &gw->cfg->channels[i];
			break;
		}
	}
	if (r.ch == NULL)
		return r;
	if (plus == NULL) {
		r.kind = R_POST;
		return r;
	}
	r.detail = plus + 1;
	r.detail_len = (size_t)(at - plus - 1);
	if (r.detail_len == 7 && strncmp(r.detail, "request", 7) == 0)
		r.kind = R_REQUEST;
	else if (r.detail_len == 11 &&
	         strncmp(r.detail, "unsubscribe", 11) == 0)
		r.kind = R_UNSUBSCRIBE;
	else if (r.detail_len > 7 && strncmp(r.detail, "bounce-", 7) == 0) {
		r.kind = R_BOUNCE;
		r.detail += 7;
		r.detail_len -= 7;
	} else
		r.kind = R_UNKNOWN; /* dev+whatever@: no such address */
	return r;
}

/* The address this copy was delivered to; NULL: none of ours. */
static char *
envelope_recipient(const struct cg_gateway *gw, const struct cg_msg *m)
{
	char *a = header_address(gw, m->raw, m->rawlen, "Delivered-To");
	if (a == NULL)
		a = header_address(gw, m->raw, m->rawlen, "X-Original-To");
	if (a)
		return a;
	/* No envelope header: a list address among To/Cc wins (the
	 * pipeline routes it), else the first address of ours. */
	for (size_t i = 0; i < m->nrcpts; i++)
		if (classify(gw, m->rcpts[i]).kind == R_POST)
			return cg_strdup(m->rcpts[i]);
	for (size_t i = 0; i < m->nrcpts; i++)
		if (in_domain(gw, m->rcpts[i]))
			return cg_strdup(m->rcpts[i]);
	return NULL;
}

/* ---- commands ----------------------------------------------------------- */

enum cmd {
	C_NONE,
	C_SUBSCRIBE,
	C_UNSUBSCRIBE,
	C_EACH,
	C_DIGEST,
	C_NODELIVERY,
	C_HELP,
	C_CONFIRM,
	C_NOMINATE,
	C_TIME, /* request_billing.c */
	C_BUY,
	C_SEARCH, /* search WORDS; report KIND [PERIOD]: gateway/reports.c */
	C_REPORT,
};

static const char *const cmd_names[] = {
    [C_SUBSCRIBE] = "subscribe", [C_UNSUBSCRIBE] = "unsubscribe",
    [C_EACH] = "each",           [C_DIGEST] = "digest",
    [C_NODELIVERY] = "none",     [C_HELP] = "help",
    [C_CONFIRM] = "confirm",     [C_NOMINATE] = "nominate",
    [C_TIME] = "time",           [C_BUY] = "buy",
    [C_SEARCH] = "search",       [C_REPORT] = "report",
};

struct command {
	enum cmd cmd;
	char *arg; /* confirm: the token; nominate: "ADDRESS [LAYER]" (lower
	              case, single spaces) or NULL */
};

struct commands {
	struct command v[MAX_COMMAND_LINES + 2];
	size_t n;
};

/* A token: TOKEN_HEX lower-case hex digits. */
static char *
read_token(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == ':')
		s++;
	size_t n = 0;
	while (isxdigit((unsigned char)s[n]))
		n++;
	if (n != TOKEN_HEX)
		return NULL;
	char *raw = cg_strndup(s, n);
	char *t = cg_lowercase(raw);
	free(raw);
	return t;
}

/* One line (NUL-terminated, trimmed) as a command; C_NONE when none. */
static enum cmd
parse_line(const char *line, char **arg)
{
	*arg = NULL;
	size_t w = strcspn(line, " \t");
	for (int c = C_SUBSCRIBE; c <= C_REPORT; c++) {
		if (strlen(cmd_names[c]) != w ||
		    strncasecmp(line, cmd_names[c], w) != 0)
			continue;
		const char *rest = line + w;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (c == C_CONFIRM) {
			*arg = read_token(rest);
			return *arg ? C_CONFIRM : C_NONE;
		}
		if (c == C_TIME || c == C_BUY) { /* the rest of the line */
			*arg = *rest ? cg_strdup(rest) : NULL;
			return *arg ? (enum cmd)c : C_NONE;
		}
		if (c == C_SEARCH || c == C_REPORT) {
			*arg = cg_strdup(rest);
			return (enum cmd)c;
		}
		if (c == C_NOMINATE) {
			/* "nominate ADDRESS [partner|member]": the words,
			 * lower case, single spaces; NULL when none */
			struct cg_buf b = CG_BUF_INIT;
			for (int words = 0; *rest && words < 3; words++) {
				size_t k = strcspn(rest, " \t");
				if (b.len)
					cg_buf_putc(&b, ' ');
				for (size_t j = 0; j < k; j++)
					cg_buf_putc(
					    &b, (char)tolower(
					            (unsigned char)rest[j]));
				rest += k;
				while (*rest == ' ' || *rest == '\t')
					rest++;
			}
			/* "nominate" alone: no command (help is sent) */
			*arg = b.len ? cg_buf_steal(&b) : NULL;
			cg_buf_free(&b);
			return *arg ? C_NOMINATE : C_NONE;
		}
		/* "subscribe" alone; "subscribe dev" names the list too. */
		return (enum cmd)c;
	}
	return C_NONE;
}

static void
add_command(struct commands *cs, enum cmd c, char *arg)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].cmd == c &&
		    ((c != C_CONFIRM && c != C_NOMINATE && c != C_TIME &&
		      c != C_BUY && c != C_SEARCH && c != C_REPORT) ||
		     (cs->v[i].arg == NULL && arg == NULL) ||
		     (cs->v[i].arg && arg && strcmp(cs->v[i].arg, arg) == 0))) {
			free(arg);
			return;
		}
	if (cs->n == sizeof cs->v / sizeof *cs->v) {
		free(arg);
		return;
	}
	cs->v[cs->n].cmd = c;
	cs->v[cs->n].arg = arg;
	cs->n++;
}

static void
commands_free(struct commands *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		free(cs->v[i].arg);
	cs->n = 0;
}

/* "Re: AW: dev: confirm TOKEN": the token after "confirm" anywhere; else
 * the subject as a command line when it is one. */
static void
subject_commands(const char *subject, struct commands *cs)
{
	if (subject == NULL)
		return;
	for (const char *p = subject; *p; p++)
		if (strncasecmp(p, "confirm", 7) == 0) {
			char *t = read_token(p + 7);
			if (t) {
				add_command(cs, C_CONFIRM, t);
				return;
			}
		}
	const char *s = subject;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t w = strcspn(s, ":");
		if (s[w] == ':' && w <= 3 && w > 0) {
			s += w + 1; /* Re: AW: Fwd: */
			continue;
		}
		break;
	}
	char *line = cg_strdup(s);
	size_t n = strlen(line);
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	char *arg;
	enum cmd c = parse_line(line, &arg);
	if (c != C_NONE)
		add_command(cs, c, arg);
	free(line);
}

static void
body_commands(const char *text, struct commands *cs)
{
	int looked = 0, found = 0;
	const char *p = text ? text : "";
	while (*p && looked < MAX_COMMAND_LINES) {
		size_t n = strcspn(p, "\n");
		char *line = cg_strndup(p, n);
		p += n + (p[n] == '\n');
		size_t k = strlen(line);
		while (k && strchr(" \t\r", line[k - 1]))
			line[--k] = '\0';
		const char *l = line;
		while (*l == ' ' || *l == '\t')
			l++;
		if (strcmp(line, "--") == 0 || strcmp(line, "-- ") == 0 ||
		    strcmp(l, "--") == 0) {
			free(line);
			break; /* signature */
		}
		if (*l == '\0' || *l == '>') {
			free(line);
			continue;
		}
		looked++;
		char *arg;
		enum cmd c = parse_line(l, &arg);
		free(line);
		if (c == C_NONE) {
			if (found)
				break;
			continue;
		}
		found = 1;
		add_command(cs, c, arg);
	}
}

/* ---- carrying them out -------------------------------------------------- */

struct request {
	struct cg_gateway *gw;
	const struct cg_cfg_channel *ch;
	int64_t channel_id;
	const struct cg_msg *m;
	char *request_addr; /* CHANNEL+request@DOMAIN */
	struct cg_buf reply;
	char *token; /* the one token handed out, for the subject */
	int ntokens;
	int token_proven;     /* a token that came back: the sender reads mail
	                         at this address */
	const char *silenced; /* why the answer is not sent, or NULL */
	const char *result;   /* for the log */
};

static int
is_subscribed(struct cg_store *s, int64_t contact_id, const char *channel,
              enum cg_delivery *mode)
{
	struct cg_subscription *subs = NULL;
	size_t n = 0;
	int yes = 0;
	if (contact_id == 0 ||
	    cg_store_contact_subscriptions(s, contact_id, &subs, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(subs[i].channel, channel) == 0) {
			yes = 1;
			if (mode)
				*mode = subs[i].delivery;
		}
	cg_subscriptions_free(subs, n);
	return yes;
}

static void
help_text(struct request *rq)
{
	const struct cg_cfg_channel *ch = rq->ch;
	cg_buf_printf(&rq->reply,
	              "Commands for the list %s (%s), one per line, sent to "
	              "%s:\n\n"
	              "  subscribe     receive the list's mail\n"
	              "  unsubscribe   stop receiving it\n"
	              "  each          every message as it comes\n"
	              "  digest        one mail a day\n"
	              "  none          no mail (stay a member, read in the "
	              "room)\n"
	              "  help          this text\n"
	              "  nominate ADDRESS [partner]\n"
	              "                (members) nominate someone as member "
	              "or partner\n\n"
	              "Changes are confirmed: the gateway mails you a token, "
	              "and the change happens when you reply to that mail "
	              "(or send \"confirm TOKEN\") within 7 days.  A "
	              "nomination counts only from mail whose sender the "
	              "mail server has authenticated (DMARC, DKIM, or your "
	              "login when you sent it).\n",
	              ch->address, ch->description ? ch->description : ch->name,
	              rq->request_addr);
	if (ch->room)
		cg_buf_printf(&rq->reply,
		              "The list's chat room is xmpp:%s?join\n",
		              ch->room);
}

/* A state change: hand out a token to the sender. */
static int
ask_confirmation(struct request *rq, enum cmd c)
{
	struct cg_store *s = rq->gw->store;
	const char *who = rq->m->sender_addr;
	int64_t id;
	if (cg_store_contact_find(s, CG_ID_EMAIL, who, &id) < 0)
		return -1;
	enum cg_delivery mode = CG_DELIVERY_EACH;
	int member = is_subscribed(s, id, rq->ch->name, &mode);
	struct cg_bounce_state b = {0};
	if (cg_store_bounce_state(s, who, cg_now(), &b) != 0)
		return -1;
	int suspended = b.suspended != 0;
	cg_bounce_state_free(&b);
	if (c == C_SUBSCRIBE && member && !suspended) {
		cg_buf_printf(&rq->reply,
		              "subscribe: %s is subscribed to %s "
		              "already.\n",
		              who, rq->ch->address);
		return 0;
	}
	if (c != C_SUBSCRIBE && !member) {
		cg_buf_printf(&rq->reply, "%s: %s is not subscribed to %s.\n",
		              cmd_names[c], who, rq->ch->address);
		return 0;
	}
	char *token = cg_random_hex(TOKEN_HEX);
	int64_t now = cg_now();
	if (cg_store_request_token_add(s, token, rq->channel_id, who,
	                               cmd_names[c], now,
	                               now + TOKEN_TTL_S) != 0) {
		free(token);
		return -1;
	}
	cg_buf_printf(&rq->reply,
	              "%s: to confirm, reply to this mail (keep the subject) "
	              "or send the line\n\n    confirm %s\n\nto %s within 7 "
	              "days.  If you did not ask for this, ignore this mail: "
	              "nothing changes.\n",
	              cmd_names[c], token, rq->request_addr);
	rq->ntokens++;
	free(rq->token);
	rq->token = token;
	rq->result = "confirmation requested";
	return 0;
}

static int
apply_token(struct request *rq, const struct cg_request_token *t)
{
	struct cg_store *s = rq->gw->store;
	const char *name = rq->ch->name;
	int64_t id;
	if (cg_store_contact_find(s, CG_ID_EMAIL, t->address, &id) < 0)
		return -1;
	if (strcmp(t->action, "subscribe") == 0) {
		const char *chans[1] = {name};
		struct cg_member_input in = {
		    .address = t->address,
		    .has_layer = id == 0, /* a new person starts as guest */
		    .layer = CG_LAYER_GUEST,
		    .channels = chans,
		    .nchannels = 1,
		    .delivery = CG_DELIVERY_EACH,
		    .source = "auto",
		};
		if (cg_store_member_upsert(s, &in, &id) != 0 ||
		    cg_store_bounce_clear(s, t->address) != 0)
			return -1;
		cg_buf_printf(&rq->reply, "%s is now subscribed to %s.\n",
		              t->address, rq->ch->address);
		rq->result = "subscribed";
		return 0;
	}
	if (strcmp(t->action, "unsubscribe") == 0) {
		int r = id ? cg_store_member_remove(s, id, name) : 0;
		if (r < 0)
			return -1;
		cg_buf_printf(&rq->reply,
		              r ? "%s is now unsubscribed from %s.\n"
		                : "%s was not subscribed to %s.\n",
		              t->address, rq->ch->address);
		rq->result = "unsubscribed";
		return 0;
	}
	enum cg_delivery d;
	if (cg_delivery_parse(t->action, &d) != 0)
		return 0;
	int r =
	    id ? cg_store_membership_set_delivery(s, id, rq->channel_id, d) : 0;
	if (r < 0)
		return -1;
	cg_buf_printf(&rq->reply,
	              r ? "%s now gets %s with delivery \"%s\".\n"
	                : "%s is not subscribed to %s.\n",
	              t->address, rq->ch->address, t->action);
	rq->result = "delivery mode set";
	return 0;
}

static int
confirm(struct request *rq, const char *token)
{
	/* The answer to "did you send this?" (onboarding.h): the token
	 * coming back from the member's mailbox is the proof. */
	char *released = NULL;
	int h = cg_onboarding_confirm_token(rq->gw, token, &released);
	if (h != 0) {
		if (h > 0) {
			cg_buf_printf(&rq->reply, "%s\n", released);
			rq->token_proven = 1;
		}
		free(released);
		rq->result = "held post confirmed";
		return h < 0 ? -1 : 0;
	}
	struct cg_request_token t;
	int r = cg_store_request_token_take(rq->gw->store, token, cg_now(), &t);
	if (r < 0)
		return -1;
	if (r == 0 || t.channel_id != rq->channel_id) {
		cg_buf_printf(
		    &rq->reply,
		    "confirm %s: no such request (tokens expire after "
		    "7 days and work once); nothing changed.\n",
		    token);
		cg_request_token_free(&t);
		rq->result = "unknown token";
		return 0;
	}
	rq->token_proven = 1;
	int rc = apply_token(rq, &t);
	cg_request_token_free(&t);
	return rc;
}

/* Whether the mail's sender is proven for a nomination
 * (CG_MSG_SENDER_VERIFIED, set by email_route from sender_auth.h); else
 * *why (caller frees) says what is missing. */
static int
sender_authenticated(struct request *rq, char **why)
{
	const struct cg_config *cfg = rq->gw->cfg;
	const char *asid = cfg->imap.trusted_authserv_id;
	*why = NULL;
	if (rq->m->flags & CG_MSG_SENDER_VERIFIED)
		return 1;
	if (asid == NULL || *asid == '\0') {
		*why = cg_strdup(
		    "this gateway trusts no mail server's "
		    "Authentication-Results (imap.trusted_authserv_id is not "
		    "set), so it cannot tell who sent a mail; nominations "
		    "need an authenticated sender.  Nominate in the chat "
		    "room with \"!nominate ADDRESS\" instead");
		return 0;
	}
	char *missing = NULL;
	email_sender_proven(cfg, rq->m, &missing);
	*why = cg_asprintf(
	    "%s.  Nominations need an authenticated sender: send from your "
	    "address through %s's submission service, logged in as yourself",
	    missing ? missing : "your mail is not authenticated", asid);
	free(missing);
	return 0;
}

/* "nominate ADDRESS [partner|member]" */
static int
nominate(struct request *rq, const char *arg)
{
	char *address = NULL;
	enum cg_layer target = CG_LAYER_MEMBER;
	if (arg) {
		size_t k = strcspn(arg, " ");
		/* "<dave@example.org>," as people write it */
		size_t i0 = arg[0] == '<';
		size_t i1 = k;
		while (i1 > i0 && strchr(">.,;:", arg[i1 - 1]))
			i1--;
		if (i1 > i0)
			address = cg_strndup(arg + i0, i1 - i0);
		const char *layer = arg[k] ? arg + k + 1 : NULL;
		if (layer && strcmp(layer, "partner") == 0)
			target = CG_LAYER_PARTNER;
		else if (layer && strcmp(layer, "member") != 0) {
			cg_buf_printf(&rq->reply,
			              "nominate %s: \"%s\" is no layer to "
			              "nominate for (member or partner); "
			              "nothing changed.\n",
			              arg, layer);
			free(address);
			rq->result = "nomination refused";
			return 0;
		}
	}
	if (address == NULL) {
		cg_buf_puts(&rq->reply,
		            "nominate: whom?  Send \"nominate ADDRESS\" (as "
		            "member) or \"nominate ADDRESS partner\".\n");
		rq->result = "nomination refused";
		return 0;
	}
	char *why;
	if (!sender_authenticated(rq, &why)) {
		cg_buf_printf(&rq->reply,
		              "nominate %s: %s.  Nothing was "
		              "recorded.\n",
		              address, why);
		free(why);
		free(address);
		rq->result = "nomination refused: sender not authenticated";
		return 0;
	}
	struct cg_store *s = rq->gw->store;
	int64_t who;
	if (cg_store_contact_find(s, CG_ID_EMAIL, rq->m->sender_addr, &who) <
	    0) {
		free(address);
		return -1;
	}
	char *answer = NULL;
	int r = cg_onboarding_nominate(rq->gw, who, address, target,
	                               rq->ch->name, &answer);
	cg_buf_printf(&rq->reply, "nominate %s: %s\n", address,
	              answer ? answer : "");
	free(answer);
	free(address);
	rq->result = r == 2   ? "nomination: promoted"
	             : r == 1 ? "nomination recorded"
	             : r == 0 ? "nomination refused"
	                      : "nomination failed (store)";
	return 0;
}

/*
 * Whether the answer may go out: the From address may be forged, and the
 * gateway must not become a relay that mails a third party on anyone's
 * say-so.  A proven sender (CG_MSG_SENDER_VERIFIED), or one who just sent
 * back a token we mailed to that address, gets up to REPLIES_PER_HOUR
 * answers an hour.  An unproven one gets only a confirmation token (the
 * round trip that proves the address is theirs), at most once a day;
 * help, refusals and the like are not sent.  1: send, 0: not (the reason
 * in rq->silenced), -1: store error.
 */
static int
reply_allowed(struct request *rq)
{
	struct cg_store *s = rq->gw->store;
	const char *to = rq->m->sender_addr;
	int64_t now = cg_now();
	int proven =
	    (rq->m->flags & CG_MSG_SENDER_VERIFIED) || rq->token_proven;
	int64_t n = 0;
	if (proven) {
		if (cg_store_notice_count(s, to, rq->request_addr, now - 3600,
		                          &n) < 0)
			return -1;
		if (n < REPLIES_PER_HOUR)
			return 1;
		rq->silenced = "over the hourly limit for this address";
		return 0;
	}
	if (rq->ntokens == 0) {
		rq->silenced = "sender not proven";
		return 0;
	}
	if (cg_store_notice_count(s, to, rq->request_addr, now - 86400, &n) < 0)
		return -1;
	if (n < UNPROVEN_REPLIES_PER_DAY)
		return 1;
	rq->silenced = "sender not proven, one confirmation a day";
	return 0;
}

/* The answer that is not sent goes to the log, on one line, so an admin
 * still sees why a request was refused. */
static void
log_silenced(struct request *rq)
{
	struct cg_buf b = CG_BUF_INIT;
	const char *r = cg_buf_str(&rq->reply);
	for (size_t i = 0; r[i] && b.len < 600; i++)
		cg_buf_putc(&b, r[i] == '\n' || r[i] == '\r' ? ' ' : r[i]);
	cg_info("%s: %s: answer to %s not sent (%s): %s", rq->request_addr,
	        rq->result, rq->m->sender_addr, rq->silenced, cg_buf_str(&b));
	cg_buf_free(&b);
}

/* "time ..." / "buy ...": for an authenticated sender only. */
static int
billing_command(struct request *rq, enum cmd c, const char *arg)
{
	char *why;
	if (!sender_authenticated(rq, &why)) {
		cg_buf_printf(&rq->reply, "%s: %s.  Nothing was recorded.\n",
		              cmd_names[c], why);
		free(why);
		rq->result =
		    "billing command refused: sender not authenticated";
		return 0;
	}
	rq->result = email_billing_command(rq->gw, rq->m->sender_addr,
	                                   c == C_BUY, arg, &rq->reply);
	return 0;
}

/* search / report: the answer from gateway/reports.c, for the sender's
 * contact (a guest or stranger searches only its own channels). */
static void
reports_answer(struct request *rq, enum cmd c, const char *arg)
{
	int64_t who = 0; /* a store error: answered as for a stranger */
	cg_store_contact_find(rq->gw->store, CG_ID_EMAIL, rq->m->sender_addr,
	                      &who);
	char *t = cg_reports_command(rq->gw, rq->ch->name, who, cmd_names[c],
	                             arg ? arg : "");
	cg_buf_printf(&rq->reply, "> %s %s\n\n%s", cmd_names[c], arg ? arg : "",
	              t ? t : "");
	free(t);
	rq->result = "answered";
}

static int
send_reply(struct request *rq)
{
	const char *domain = rq->gw->cfg->gateway.domain;
	struct cg_notice n = {
	    .channel_id = rq->channel_id,
	    .from_addr = cg_strdup(rq->request_addr),
	    .to_addr = cg_strdup(rq->m->sender_addr),
	    .subject =
	        rq->ntokens == 1
	            ? cg_asprintf("%s: confirm %s", rq->ch->name, rq->token)
	            : cg_asprintf("%s: your request", rq->ch->name),
	    .body = cg_buf_steal(&rq->reply),
	    .in_reply_to = cg_strdup(rq->m->ext_id),
	    .auto_submitted = cg_strdup("auto-replied"),
	};
	int rc = cg_store_notice_add(rq->gw->store, &n, domain);
	if (rc == 0)
		rq->gw->outbox_kick = 1;
	cg_notice_free(&n);
	return rc;
}

/* Inside the caller's transaction. */
static int
handle_request(struct cg_gateway *gw, const struct cg_cfg_channel *ch,
               const struct cg_msg *m, int unsubscribe_address,
               const char **what)
{
	if (!email_may_answer(gw, m)) {
		*what = "request: auto-generated mail: commands ignored";
		return 0;
	}
	int64_t channel_id;
	if (cg_store_channel_id(gw->store, ch->name, &channel_id) < 0)
		return -1;
	struct request rq = {
	    .gw = gw,
	    .ch = ch,
	    .channel_id = channel_id,
	    .m = m,
	    .request_addr =
	        cg_asprintf("%s+request@%s", ch->name, gw->cfg->gateway.domain),
	    .reply = CG_BUF_INIT,
	    .result = "answered",
	};
	struct commands cs = {.n = 0};
	if (unsubscribe_address)
		add_command(&cs, C_UNSUBSCRIBE, NULL);
	else {
		subject_commands(m->subject, &cs);
		body_commands(m->text, &cs);
	}
	int rc = 0;
	if (cs.n == 0) {
		cg_buf_puts(&rq.reply, "No command found in your mail.\n\n");
		help_text(&rq);
		rq.result = "no command: help sent";
	}
	for (size_t i = 0; i < cs.n && rc == 0; i++) {
		switch (cs.v[i].cmd) {
		case C_HELP:
			help_text(&rq);
			if (cs.n == 1)
				rq.result = "help sent";
			break;
		case C_CONFIRM:
			rc = confirm(&rq, cs.v[i].arg);
			break;
		case C_NOMINATE:
			rc = nominate(&rq, cs.v[i].arg);
			break;
		case C_TIME:
		case C_BUY:
			rc = billing_command(&rq, cs.v[i].cmd, cs.v[i].arg);
			break;
		case C_SEARCH:
		case C_REPORT:
			reports_answer(&rq, cs.v[i].cmd, cs.v[i].arg);
			break;
		default:
			rc = ask_confirmation(&rq, cs.v[i].cmd);
			break;
		}
		if (i + 1 < cs.n)
			cg_buf_puts(&rq.reply, "\n");
	}
	int allowed = rc == 0 ? reply_allowed(&rq) : 0;
	if (allowed < 0)
		rc = -1;
	else if (allowed)
		rc = send_reply(&rq);
	else if (rc == 0)
		log_silenced(&rq);
	commands_free(&cs);
	cg_buf_free(&rq.reply);
	free(rq.token);
	free(rq.request_addr);
	*what = rq.result;
	return rc;
}

/* ---- routing ------------------------------------------------------------ */

static int
handle(struct cg_gateway *gw, const struct route *r, struct cg_msg *m,
       const char *rcpt, uint64_t size, const char **what)
{
	switch (r->kind) {
	case R_REQUEST:
		return handle_request(gw, r->ch, m, 0, what);
	case R_UNSUBSCRIBE:
		return handle_request(gw, r->ch, m, 1, what);
	case R_BOUNCE:
		return email_bounce_mail(gw, r->ch, r->detail, r->detail_len, m,
		                         what);
	case R_POST: /* oversize */
		return email_autoreply_oversize(
		    gw, r->ch, m, size,
		    (uint64_t)gw->cfg->imap.max_message_size, what);
	default:
		return email_autoreply_unknown(gw, m, rcpt, what);
	}
}

const char *
email_route_peek(const struct cg_gateway *gw, struct cg_msg *m)
{
	char *rcpt = envelope_recipient(gw, m);
	struct route r = classify(gw, rcpt);
	free(rcpt);
	email_sender_mark(gw->cfg, m);
	if (r.ch && m->channel == NULL)
		m->channel = cg_strdup(r.ch->name);
	switch (r.kind) {
	case R_REQUEST:
		return "+request commands: answered by mail, not relayed";
	case R_UNSUBSCRIBE:
		return "+unsubscribe: a request to leave, not relayed";
	case R_BOUNCE:
		return "+bounce: a delivery report, counted, not relayed";
	case R_UNKNOWN:
		return "no such address: the sender gets one notice a day";
	default:
		return NULL;
	}
}

int
email_route_accepts(const struct cg_gateway *gw, const char *addr)
{
	switch (classify(gw, addr).kind) {
	case R_POST:
	case R_REQUEST:
	case R_UNSUBSCRIBE:
	case R_BOUNCE:
		return 1;
	default:
		return 0;
	}
}

enum email_route_result
email_route(struct cg_gateway *gw, struct cg_msg *m, const char *envelope,
            uint64_t size, int oversize, cg_ingest_extra_fn *extra, void *arg,
            const char **what)
{
	*what = NULL;
	char *rcpt =
	    envelope ? cg_lowercase(envelope) : envelope_recipient(gw, m);
	struct route r = classify(gw, rcpt);
	/* Who really sent it: read by the pipeline (list posts) and by the
	 * commands below (nominations, answers). */
	email_sender_mark(gw->cfg, m);
	if (r.kind == R_FOREIGN || (r.kind == R_POST && !oversize)) {
		if (r.kind == R_POST && m->channel == NULL)
			m->channel = cg_strdup(r.ch->name);
		free(rcpt);
		return EMAIL_ROUTE_PIPELINE;
	}
	struct cg_store *s = gw->store;
	enum email_route_result res = EMAIL_ROUTE_ERROR;
	if (cg_store_begin(s) != 0) {
		*what = "store: cannot begin transaction";
		free(rcpt);
		return res;
	}
	/* The same copy again (a re-scan): done with already. */
	int fresh =
	    m->ext_id ? cg_store_mail_handled(s, m->ext_id, rcpt, cg_now()) : 1;
	int rc = fresh < 0 ? -1 : 0;
	if (fresh == 0)
		*what = "handled before: skipped";
	else if (fresh > 0)
		rc = handle(gw, &r, m, rcpt, size, what);
	if (rc == 0 && extra && extra(gw, arg) != 0)
		rc = -1;
	if (rc == 0 && cg_store_commit(s) == 0)
		res = EMAIL_ROUTE_DONE;
	else {
		cg_store_rollback(s);
		*what = "store: cannot record the mail's handling";
	}
	free(rcpt);
	return res;
}
