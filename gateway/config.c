/*
 * config.c: load coopgate.conf (libconfig syntax) into struct cg_config and
 * validate it.  This is the only file that calls libconfig.
 *
 * Loading walks the parsed tree twice.  The first pass reads every key
 * through a per-section table of keys (type, range and choice checks;
 * a key not in the table is an error with its line).  The second pass checks
 * what needs several keys at once: required keys, password xor
 * password_file, channel names, addresses and rooms against each other and
 * against gateway.domain, members' channels; it also reads the secret files.
 * Every problem is collected as "FILE:LINE: key: message" so that one run of
 * `coopgate check-config` shows them all; only a libconfig syntax error stops
 * early, because after one there is no tree to walk.
 *
 * Relative paths in *_file keys and gateway.data_dir are resolved against
 * the directory of the config file, so secrets can live beside the config
 * and the daemon may chdir("/") later.
 *
 * Must never: put a secret's value in a message (type errors name the type,
 * never the value), or free a secret without wiping it.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "gateway/config.h"
#include "lib/log.h"
#include "lib/money.h"
#include "lib/util.h"

#define MB (INT64_C(1024) * 1024)

/* ---- names <-> enums ---------------------------------------------------- */

struct choice {
	const char *name;
	int value;
};

static const struct choice layer_choices[] = {
    {"guest", CG_LAYER_GUEST},
    {"partner", CG_LAYER_PARTNER},
    {"member", CG_LAYER_MEMBER},
    {"core", CG_LAYER_CORE},
    {NULL, 0},
};
static const struct choice delivery_choices[] = {
    {"each", CG_DELIVERY_EACH},
    {"digest", CG_DELIVERY_DIGEST},
    {"none", CG_DELIVERY_NONE},
    {NULL, 0},
};
static const struct choice tls_choices[] = {
    {"implicit", CG_TLS_IMPLICIT},
    {"starttls", CG_TLS_STARTTLS},
    {"none", CG_TLS_NONE},
    {NULL, 0},
};
static const struct choice verp_choices[] = {
    {"xverp", CG_VERP_XVERP},
    {"always", CG_VERP_ALWAYS},
    {"probe", CG_VERP_PROBE},
    {NULL, 0},
};
/* XMPP always negotiates TLS in-band; "none" is for loopback tests. */
static const struct choice xmpp_tls_choices[] = {
    {"required", CG_TLS_STARTTLS},
    {"none", CG_TLS_NONE},
    {NULL, 0},
};
static const struct choice crm_choices[] = {
    {"footer", CG_CRM_FOOTER},
    {"header", CG_CRM_HEADER},
    {"none", CG_CRM_NONE},
    {NULL, 0},
};
static const struct choice xmpp_mode_choices[] = {
    {"client", CG_XMPP_CLIENT},
    {"component", CG_XMPP_COMPONENT},
    {NULL, 0},
};
static const struct choice log_level_choices[] = {
    {"error", CG_LOG_ERROR},
    {"warn", CG_LOG_WARN},
    {"info", CG_LOG_INFO},
    {"debug", CG_LOG_DEBUG},
    {NULL, 0},
};

/* Enum fields are written through the key tables as ints. */
_Static_assert(sizeof(enum cg_layer) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cg_tls) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cg_delivery) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cg_crm_context) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cg_xmpp_mode) == sizeof(int), "enum size");

static const char *
choice_name(const struct choice *c, int value)
{
	for (; c->name; c++)
		if (c->value == value)
			return c->name;
	return "?";
}

static const struct choice *
choice_find(const struct choice *c, const char *name)
{
	for (; name && c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* "implicit, starttls, none" for messages; caller frees. */
static char *
choice_list(const struct choice *c)
{
	struct cg_buf b = CG_BUF_INIT;
	for (const struct choice *p = c; p->name; p++)
		cg_buf_printf(&b, "%s%s", p == c ? "" : ", ", p->name);
	return cg_buf_steal(&b);
}

const char *
cg_tls_name(enum cg_tls t)
{
	return choice_name(tls_choices, (int)t);
}

/* ---- the shapes of names --------------------------------------------------
 */

/* A DNS name: dot-separated labels of letters, digits, '-' (or UTF-8). */
static int
is_domain(const char *s)
{
	size_t label = 0, total = 0;
	for (const char *p = s;; p++, total++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return 0;
			if (c == '\0')
				return total <= 253;
			label = 0;
		} else if ((c < 0x80 && !isalnum(c) && c != '-') ||
		           (label == 0 && c == '-')) {
			return 0;
		} else {
			label++;
		}
	}
}

/* A host to connect to: a name or an address literal, no spaces. */
static int
is_host(const char *s)
{
	if (*s == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '/' || *p == '@')
			return 0;
	return 1;
}

/* An RFC 5322 dot-atom local part (UTF-8 allowed, as with SMTPUTF8). */
static int
is_local_part(const char *s, size_t n)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' && s[i + 1] == '.')
			return 0;
		if (c >= 0x80 || isalnum(c) || c == '.' ||
		    (c != '\0' && strchr(atext, c)))
			continue;
		return 0;
	}
	return 1;
}

/* local@domain, as mail addresses are written in the config. */
static int
is_address(const char *s)
{
	const char *at = strchr(s, '@');
	return at && is_local_part(s, (size_t)(at - s)) && is_domain(at + 1);
}

/* A JID localpart: RFC 7622 forbids spaces and "&'/:<>@. */
static int
is_jid_local(const char *s, size_t n)
{
	if (n == 0 || n > 1023)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || strchr("\"&'/:<>@", c))
			return 0;
	}
	return 1;
}

/* local@domain with no resource: a room, or a person's account. */
static int
is_bare_jid(const char *s)
{
	const char *at = strchr(s, '@');
	return at && is_jid_local(s, (size_t)(at - s)) && is_domain(at + 1);
}

/* local@domain[/resource]: the gateway's own account. */
static int
is_jid(const char *s)
{
	const char *slash = strchr(s, '/');
	if (slash == NULL)
		return is_bare_jid(s);
	if (slash[1] == '\0')
		return 0;
	char *bare = cg_strndup(s, (size_t)(slash - s));
	int ok = is_bare_jid(bare);
	free(bare);
	return ok;
}

/* Channel names become email local parts: [a-z0-9][a-z0-9._-]*. */
static int
is_channel_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 ||
	    !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(c < 0x80 && (islower(c) || isdigit(c))) &&
		    !strchr("._-", c))
			return 0;
	}
	return 1;
}

/* The value double-quoted on one line: quotes, backslashes and control
 * characters escaped, so a message can neither break nor spoof a line. */
static char *
quote(const char *s)
{
	struct cg_buf b = CG_BUF_INIT;
	cg_buf_putc(&b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			cg_buf_putc(&b, '\\');
			cg_buf_putc(&b, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			cg_buf_printf(&b, "\\x%02x", *p);
		} else {
			cg_buf_putc(&b, (char)*p);
		}
	}
	cg_buf_putc(&b, '"');
	return cg_buf_steal(&b);
}

/* ---- collecting errors ------------------------------------------------------
 */

struct loader {
	const char *path; /* the config file, for messages */
	char *dir;        /* its directory, for relative paths */
	const config_setting_t *root;
	struct cg_config *cfg;
	struct cg_config_errors *errs;
	int domain_ok; /* gateway.domain is set and well-formed */
};

static void
add_error(struct cg_config_errors *errs, const char *file, int line,
          char *message)
{
	errs->v = cg_realloc(errs->v, (errs->n + 1) * sizeof *errs->v);
	errs->v[errs->n].file = cg_strdup(file);
	errs->v[errs->n].line = line;
	errs->v[errs->n].message = message;
	errs->n++;
}

/* Report a problem at setting s (NULL: no line applies). */
static void __attribute__((format(printf, 3, 4)))
err_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	struct cg_buf b = CG_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	cg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	const char *file = s && config_setting_source_file(s)
	                       ? config_setting_source_file(s)
	                       : ld->path;
	add_error(ld->errs, file, s ? (int)config_setting_source_line(s) : 0,
	          cg_buf_steal(&b));
}

/* "KEY: "VALUE" why", the value quoted; for values that are not secrets. */
static void __attribute__((format(printf, 5, 6)))
bad_value(struct loader *ld, const config_setting_t *s, const char *key,
          const char *value, const char *fmt, ...)
{
	struct cg_buf b = CG_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	cg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	char *q = quote(value);
	err_at(ld, s, "%s: %s %s", key, q, cg_buf_str(&b));
	free(q);
	cg_buf_free(&b);
}

/* Messages read in file order; a stable insertion sort, the list is short. */
static void
sort_errors(struct cg_config_errors *errs)
{
	for (size_t i = 1; i < errs->n; i++) {
		struct cg_config_error e = errs->v[i];
		size_t j = i;
		for (; j > 0 && errs->v[j - 1].line > e.line; j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = e;
	}
}

/* ---- reading keys through tables --------------------------------------------
 */

enum kind {
	K_STR,    /* non-empty string */
	K_TEXT,   /* free text, may be empty */
	K_HOST,   /* a host name */
	K_PATH,   /* non-empty, relative to the config file's directory */
	K_SECRET, /* inline secret: copied, then wiped in libconfig's tree */
	K_NAME,   /* one of key->choices, stored as its name (char *) */
	K_ENUM,   /* one of key->choices, stored as its value (enum) */
	K_INT,    /* int in [min, max] */
	K_INT64,  /* int64_t in [min, max] */
	K_PORT,   /* int 1-65535 */
	K_BOOL,   /* int 0/1 */
	K_OTHER,  /* known, read by the section's own code */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	const struct choice *choices;
	int64_t min, max;
};

/* clang-format off */
#define KEY(n, k, o) {n, k, o, NULL, 0, 0}
#define KEY_CHOICE(n, k, o, c) {n, k, o, c, 0, 0}
#define KEY_RANGE(n, k, o, lo, hi) {n, k, o, NULL, lo, hi}
#define KEY_END {NULL, K_OTHER, 0, NULL, 0, 0}
/* clang-format on */

#define GW(f) offsetof(struct cg_cfg_gateway, f)
static const struct key gateway_keys[] = {
    KEY("domain", K_STR, GW(domain)),
    KEY("data_dir", K_PATH, GW(data_dir)),
    KEY_CHOICE("log_level", K_NAME, GW(log_level), log_level_choices),
    KEY_END,
};

#define IMAP(f) offsetof(struct cg_cfg_imap, f)
static const struct key imap_keys[] = {
    KEY("host", K_HOST, IMAP(host)),
    KEY("port", K_PORT, IMAP(port)),
    KEY_CHOICE("tls", K_ENUM, IMAP(tls), tls_choices),
    KEY("user", K_STR, IMAP(user)),
    KEY("password_file", K_PATH, IMAP(password_file)),
    KEY("password", K_SECRET, IMAP(password)),
    KEY("mailbox", K_STR, IMAP(mailbox)),
    KEY("processed_mailbox", K_STR, IMAP(processed_mailbox)),
    KEY("ca_file", K_PATH, IMAP(ca_file)),
    KEY("trusted_authserv_id", K_STR, IMAP(trusted_authserv_id)),
    KEY_RANGE("max_message_size", K_INT64, IMAP(max_message_size), 1,
              INT64_MAX),
    KEY_RANGE("poll_interval", K_INT, IMAP(poll_interval), 0, 3600000),
    KEY_END,
};

#define SMTP(f) offsetof(struct cg_cfg_smtp, f)
static const struct key smtp_keys[] = {
    KEY("host", K_HOST, SMTP(host)),
    KEY("port", K_PORT, SMTP(port)),
    KEY_CHOICE("tls", K_ENUM, SMTP(tls), tls_choices),
    KEY("user", K_STR, SMTP(user)),
    KEY("password_file", K_PATH, SMTP(password_file)),
    KEY("password", K_SECRET, SMTP(password)),
    KEY("ca_file", K_PATH, SMTP(ca_file)),
    KEY_RANGE("max_attachment_size", K_INT64, SMTP(max_attachment_size), 1,
              INT64_MAX),
    KEY_RANGE("max_recipients", K_INT, SMTP(max_recipients), 1, 1000),
    KEY_CHOICE("verp", K_ENUM, SMTP(verp), verp_choices),
    KEY_END,
};

#define XMPP(f) offsetof(struct cg_cfg_xmpp, f)
static const struct key xmpp_keys[] = {
    KEY("jid", K_STR, XMPP(jid)),
    KEY("password_file", K_PATH, XMPP(password_file)),
    KEY("password", K_SECRET, XMPP(password)),
    KEY("host", K_HOST, XMPP(host)),
    KEY("port", K_PORT, XMPP(port)),
    KEY_CHOICE("tls", K_ENUM, XMPP(tls), xmpp_tls_choices),
    KEY("ca_file", K_PATH, XMPP(ca_file)),
    KEY("nick", K_STR, XMPP(nick)),
    KEY("upload_service", K_STR, XMPP(upload_service)),
    KEY_CHOICE("mode", K_ENUM, XMPP(mode), xmpp_mode_choices),
    KEY("component_domain", K_STR, XMPP(component_domain)),
    KEY("component_secret_file", K_PATH, XMPP(component_secret_file)),
    KEY("fetch_external", K_BOOL, XMPP(fetch_external)),
    KEY_END,
};

#define LMTP(f) offsetof(struct cg_cfg_lmtp, f)
static const struct key lmtp_keys[] = {
    KEY("listen", K_STR, LMTP(listen)),
    KEY("group", K_STR, LMTP(group)),
    KEY("allow_remote", K_BOOL, LMTP(allow_remote)),
    KEY_RANGE("timeout", K_INT, LMTP(timeout), 1, 3600),
    KEY_END,
};

#define CHAN(f) offsetof(struct cg_cfg_channel, f)
static const struct key channel_keys[] = {
    KEY("name", K_STR, CHAN(name)),
    KEY("address", K_STR, CHAN(address)),
    KEY("room", K_STR, CHAN(room)),
    KEY("description", K_TEXT, CHAN(description)),
    KEY_CHOICE("post_layer", K_ENUM, CHAN(post_layer), layer_choices),
    KEY_CHOICE("crm_context", K_ENUM, CHAN(crm_context), crm_choices),
    KEY_RANGE("chat_batch", K_INT, CHAN(chat_batch), 0, INT_MAX),
    KEY_RANGE("chat_batch_max", K_INT, CHAN(chat_batch_max), 0, INT_MAX),
    KEY_END,
};

#define MEMB(f) offsetof(struct cg_cfg_member, f)
static const struct key member_keys[] = {
    KEY("address", K_STR, MEMB(address)),
    KEY("name", K_TEXT, MEMB(name)),
    KEY("jid", K_STR, MEMB(jid)),
    KEY_CHOICE("layer", K_ENUM, MEMB(layer), layer_choices),
    KEY("org", K_TEXT, MEMB(org)),
    KEY("channels", K_OTHER, 0),
    KEY_CHOICE("delivery", K_ENUM, MEMB(delivery), delivery_choices),
    KEY_END,
};

#define PARTNER(f) offsetof(struct cg_cfg_partner, f)
static const struct key partner_keys[] = {
    KEY("domain", K_STR, PARTNER(domain)),
    KEY("org", K_STR, PARTNER(org)),
    KEY_CHOICE("layer", K_ENUM, PARTNER(layer), layer_choices),
    KEY_END,
};

static const struct key onboarding_keys[] = {
    KEY_RANGE("nominations_required", K_INT,
              offsetof(struct cg_config, nominations_required), 0, INT_MAX),
    KEY_END,
};

static const struct choice sender_proof_choices[] = {
    {"required", 1},
    {"off", 0},
    {NULL, 0},
};

#define POSTING(f) offsetof(struct cg_cfg_posting, f)
static const struct key posting_keys[] = {
    KEY_CHOICE("sender_proof", K_ENUM, POSTING(sender_proof),
               sender_proof_choices),
    KEY("dkim_keys_file", K_PATH, POSTING(dkim_keys_file)),
    KEY_END,
};

static const struct key box_keys[] = {
    KEY_RANGE("quota_mb", K_INT64, offsetof(struct cg_config, box_quota_mb), 0,
              INT64_MAX),
    KEY_END,
};

#define OUTBOX(f) offsetof(struct cg_cfg_outbox, f)
static const struct key outbox_keys[] = {
    KEY_RANGE("max_attempts", K_INT, OUTBOX(max_attempts), 1, INT_MAX),
    KEY_RANGE("retry_base", K_INT, OUTBOX(retry_base), 1, INT_MAX),
    KEY_RANGE("retry_max", K_INT, OUTBOX(retry_max), 1, INT_MAX),
    KEY_END,
};

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}

/* Type check; reports "KEY: must be an integer, not a string". */
static int
want_type(struct loader *ld, const config_setting_t *s, const char *key,
          int type)
{
	int t = config_setting_type(s);
	if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
		return 1;
	err_at(ld, s, "%s: must be %s, not %s", key, type_name(type),
	       type_name(t));
	return 0;
}

static char *
resolve_path(const struct loader *ld, const char *v)
{
	if (v[0] == '/')
		return cg_strdup(v);
	return cg_asprintf("%s/%s", ld->dir, v);
}

/* An inline secret is as exposed as the file holding it: refuse one in a
 * file readable by group or others, as for secret files. */
static void
inline_secret_check(struct loader *ld, const config_setting_t *s,
                    const char *key)
{
	const char *file = config_setting_source_file(s)
	                       ? config_setting_source_file(s)
	                       : ld->path;
	struct stat st;
	if (file == NULL || stat(file, &st) != 0 || !(st.st_mode & 077))
		return;
	err_at(ld, s,
	       "%s: an inline secret in a file accessible by group or others "
	       "(mode %o); chmod 600 the file or use %s_file",
	       key, (unsigned)(st.st_mode & 0777),
	       strrchr(key, '.') ? strrchr(key, '.') + 1 : key);
}

static void
read_string(struct loader *ld, const config_setting_t *s, const char *key,
            const struct key *k, void *field)
{
	if (!want_type(ld, s, key, CONFIG_TYPE_STRING))
		return;
	const char *v = config_setting_get_string(s);
	if (*v == '\0' && k->kind != K_TEXT) {
		err_at(ld, s, "%s: must not be empty", key);
		return;
	}
	const struct choice *c;
	char *list;
	switch (k->kind) {
	case K_HOST:
		if (!is_host(v)) {
			bad_value(ld, s, key, v, "is not a host name");
			return;
		}
		/* fall through */
	case K_STR:
	case K_TEXT:
		*(char **)field = cg_strdup(v);
		break;
	case K_PATH:
		*(char **)field = resolve_path(ld, v);
		break;
	case K_SECRET:
		inline_secret_check(ld, s, key);
		*(char **)field = cg_strdup(v);
		/* libconfig frees its tree without wiping; the string is
		 * heap memory it owns and frees right after loading. */
		explicit_bzero((char *)v, strlen(v));
		break;
	case K_NAME:
	case K_ENUM:
		c = choice_find(k->choices, v);
		if (c == NULL) {
			list = choice_list(k->choices);
			bad_value(ld, s, key, v, "is not one of %s", list);
			free(list);
		} else if (k->kind == K_NAME) {
			*(char **)field = cg_strdup(c->name);
		} else {
			memcpy(field, &c->value, sizeof c->value);
		}
		break;
	default:
		abort(); /* read_key sends only string kinds here */
	}
}

static void
read_number(struct loader *ld, const config_setting_t *s, const char *key,
            const struct key *k, void *field)
{
	if (!want_type(ld, s, key, CONFIG_TYPE_INT))
		return;
	long long v = config_setting_get_int64(s);
	if (k->kind == K_PORT) {
		if (v < 1 || v > 65535)
			err_at(ld, s, "%s: %lld is not a port (1-65535)", key,
			       v);
		else
			*(int *)field = (int)v;
		return;
	}
	if (v < k->min)
		err_at(ld, s, "%s: %lld must be %lld or more", key, v,
		       (long long)k->min);
	else if (v > k->max)
		err_at(ld, s, "%s: %lld must be %lld or less", key, v,
		       (long long)k->max);
	else if (k->kind == K_INT)
		*(int *)field = (int)v;
	else
		*(int64_t *)field = v;
}

static void
read_key(struct loader *ld, const config_setting_t *s, const char *key,
         const struct key *k, void *field)
{
	switch (k->kind) {
	case K_INT:
	case K_INT64:
	case K_PORT:
		read_number(ld, s, key, k, field);
		break;
	case K_BOOL:
		if (want_type(ld, s, key, CONFIG_TYPE_BOOL))
			*(int *)field = config_setting_get_bool(s);
		break;
	case K_OTHER:
		break;
	default:
		read_string(ld, s, key, k, field);
		break;
	}
}

/* Read every key of a group into base through the table; unknown keys are
 * errors.  prefix names the group in messages ("imap", "channels[2]"). */
static void
read_group(struct loader *ld, const config_setting_t *group, const char *prefix,
           const struct key *keys, void *base)
{
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s =
		    config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key *k = keys;
		while (k->name && strcmp(k->name, name) != 0)
			k++;
		char *key = cg_asprintf("%s.%s", prefix, name);
		if (k->name == NULL)
			err_at(ld, s, "%s: unknown key", key);
		else
			read_key(ld, s, key, k, (char *)base + k->off);
		free(key);
	}
}

/* ---- sections ------------------------------------------------------------ */

static const config_setting_t *
get(const config_setting_t *group, const char *name)
{
	return group ? config_setting_get_member(group, name) : NULL;
}

/* Report a missing required key at its group's line. */
static int
require(struct loader *ld, const config_setting_t *group, const char *prefix,
        const char *name)
{
	if (get(group, name))
		return 1;
	err_at(ld, group, "%s.%s: required key is missing", prefix, name);
	return 0;
}

static void
read_secret_file(struct loader *ld, const config_setting_t *s, const char *key,
                 const char *file, char **out)
{
	char *err = NULL;
	char *v = cg_secret_read(file, &err);
	if (v == NULL) {
		err_at(ld, s, "%s: %s", key, err);
		free(err);
		return;
	}
	cg_secret_free(*out);
	*out = v;
}

/* password xor password_file; reads the file.  needed: one is required. */
static void
check_password(struct loader *ld, const config_setting_t *g, const char *prefix,
               const char *file, char **password, int needed)
{
	const config_setting_t *ps = get(g, "password");
	const config_setting_t *fs = get(g, "password_file");
	if (ps && fs) {
		err_at(ld, ps,
		       "%s.password: give either password or password_file, "
		       "not both",
		       prefix);
	} else if (!ps && !fs) {
		if (needed)
			err_at(ld, g,
			       "%s.password_file: required key is missing "
			       "(or give password)",
			       prefix);
	} else if (fs && file) {
		char *key = cg_asprintf("%s.password_file", prefix);
		read_secret_file(ld, fs, key, file, password);
		free(key);
	}
}

static void
check_ca_file(struct loader *ld, const config_setting_t *g, const char *prefix,
              const char *file)
{
	if (file && access(file, R_OK) != 0)
		err_at(ld, get(g, "ca_file"), "%s.ca_file: %s: %s", prefix,
		       file, strerror(errno));
}

static void
check_gateway(struct loader *ld, const config_setting_t *g)
{
	struct cg_cfg_gateway *gw = &ld->cfg->gateway;
	if (g == NULL) {
		if (!get(ld->root, "gateway"))
			err_at(ld, NULL,
			       "gateway: required section is missing");
	} else if (require(ld, g, "gateway", "domain") && gw->domain) {
		if (is_domain(gw->domain))
			ld->domain_ok = 1;
		else
			bad_value(ld, get(g, "domain"), "gateway.domain",
			          gw->domain, "is not a domain name");
	}
	if (gw->data_dir == NULL)
		gw->data_dir = cg_strdup("/var/lib/coopgate");
	if (gw->log_level == NULL)
		gw->log_level = cg_strdup("info");
}

static void
check_imap(struct loader *ld, const config_setting_t *g)
{
	struct cg_cfg_imap *im = &ld->cfg->imap;
	if (im->port == 0)
		im->port = im->tls == CG_TLS_IMPLICIT ? 993 : 143;
	if (im->mailbox == NULL)
		im->mailbox = cg_strdup("INBOX");
	/* With LMTP delivery an imap group without host and user only
	 * carries the settings both ways in read (trusted_authserv_id,
	 * max_message_size): no mailbox is fetched. */
	if (im->present && ld->cfg->lmtp.present && !get(g, "host") &&
	    !get(g, "user"))
		im->present = 0;
	if (!im->present)
		return;
	require(ld, g, "imap", "host");
	require(ld, g, "imap", "user");
	check_password(ld, g, "imap", im->password_file, &im->password, 1);
	check_ca_file(ld, g, "imap", im->ca_file);
	if (im->processed_mailbox &&
	    strcmp(im->processed_mailbox, im->mailbox) == 0)
		bad_value(ld, get(g, "processed_mailbox"),
		          "imap.processed_mailbox", im->processed_mailbox,
		          "is the same as imap.mailbox");
}

static void
check_smtp(struct loader *ld, const config_setting_t *g)
{
	struct cg_cfg_smtp *sm = &ld->cfg->smtp;
	if (sm->port == 0 && sm->tls == CG_TLS_STARTTLS)
		sm->port = 587; /* submission */
	else if (sm->port == 0 && sm->tls == CG_TLS_IMPLICIT)
		sm->port = 465; /* submissions */
	else if (sm->port == 0)
		sm->port = 25;
	if (!sm->present)
		return;
	require(ld, g, "smtp", "host");
	const config_setting_t *user = get(g, "user");
	if (user) {
		check_password(ld, g, "smtp", sm->password_file, &sm->password,
		               1);
	} else {
		const config_setting_t *ps = get(g, "password");
		const config_setting_t *fs = get(g, "password_file");
		if (ps || fs)
			err_at(ld, ps ? ps : fs,
			       "smtp.%s: set, but smtp.user is not (no AUTH "
			       "without a user)",
			       ps ? "password" : "password_file");
	}
	check_ca_file(ld, g, "smtp", sm->ca_file);
}

static void
check_xmpp(struct loader *ld, const config_setting_t *g)
{
	struct cg_cfg_xmpp *xm = &ld->cfg->xmpp;
	int component = xm->mode == CG_XMPP_COMPONENT;
	if (xm->port == 0)
		xm->port = component ? 5347 : 5222;
	if (xm->nick == NULL)
		xm->nick = cg_strdup("gateway");
	if (!xm->present)
		return;
	if (!component)
		require(ld, g, "xmpp", "jid");
	if (xm->jid && !is_jid(xm->jid))
		bad_value(ld, get(g, "jid"), "xmpp.jid", xm->jid,
		          "is not a JID (local@domain[/resource])");
	check_password(ld, g, "xmpp", xm->password_file, &xm->password,
	               !component);
	check_ca_file(ld, g, "xmpp", xm->ca_file);
	if (xm->upload_service && !is_domain(xm->upload_service))
		bad_value(ld, get(g, "upload_service"), "xmpp.upload_service",
		          xm->upload_service, "is not a domain name");
	if (xm->component_domain && !is_domain(xm->component_domain))
		bad_value(ld, get(g, "component_domain"),
		          "xmpp.component_domain", xm->component_domain,
		          "is not a domain name");
	if (component) {
		require(ld, g, "xmpp", "component_domain");
		if (require(ld, g, "xmpp", "component_secret_file") &&
		    xm->component_secret_file)
			read_secret_file(ld, get(g, "component_secret_file"),
			                 "xmpp.component_secret_file",
			                 xm->component_secret_file,
			                 &xm->component_secret);
	}
}

/* ---- lmtp -----------------------------------------------------------------
 * lmtp.listen is "unix:/PATH" or "ADDRESS:PORT" (an IPv6 address in
 * brackets); a TCP address must be numeric, and loopback unless
 * lmtp.allow_remote = true: the MTA is the only client meant to reach it.
 */

static int
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int
is_ip(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

/* Split "ADDRESS:PORT" / "[V6]:PORT" into lm->host and lm->port; why. */
static const char *
split_host_port(struct cg_cfg_lmtp *lm, const char *v)
{
	const char *colon = strrchr(v, ':');
	if (colon == NULL || colon == v)
		return "is neither \"unix:/PATH\" nor \"ADDRESS:PORT\"";
	const char *h = v, *he = colon;
	if (*h == '[' && he[-1] == ']') {
		h++;
		he--;
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || port < 1 || port > 65535)
		return "has no port (1-65535) after the last ':'";
	lm->host = cg_strndup(h, (size_t)(he - h));
	lm->port = (int)port;
	if (!is_ip(lm->host))
		return "is not a numeric IP address and port";
	return NULL;
}

static void
check_lmtp_group(struct loader *ld, const config_setting_t *g)
{
	struct cg_cfg_lmtp *lm = &ld->cfg->lmtp;
	if (lm->group && getgrnam(lm->group) == NULL)
		bad_value(ld, get(g, "group"), "lmtp.group", lm->group,
		          "is no group on this system");
	else if (lm->group && lm->family != CG_LMTP_UNIX)
		err_at(ld, get(g, "group"),
		       "lmtp.group: only applies to a unix socket");
}

static void
check_lmtp(struct loader *ld, const config_setting_t *g)
{
	struct cg_cfg_lmtp *lm = &ld->cfg->lmtp;
	if (lm->timeout == 0)
		lm->timeout = 300;
	if (!lm->present || !require(ld, g, "lmtp", "listen") || !lm->listen)
		return;
	const config_setting_t *ls = get(g, "listen");
	lm->line = (int)config_setting_source_line(ls);
	const char *why = NULL;
	if (strncmp(lm->listen, "unix:", 5) == 0) {
		lm->family = CG_LMTP_UNIX;
		lm->path = cg_strdup(lm->listen + 5);
		if (lm->path[0] != '/')
			why = "needs an absolute path after \"unix:\"";
		else if (strlen(lm->path) >= 108) /* sun_path */
			why = "is too long for a unix socket path";
	} else {
		lm->family = CG_LMTP_TCP;
		why = split_host_port(lm, lm->listen);
		if (why == NULL && !lm->allow_remote && !is_loopback(lm->host))
			why =
			    "is not a loopback address (set lmtp.allow_remote "
			    "= true to accept mail from other hosts)";
	}
	if (why)
		bad_value(ld, ls, "lmtp.listen", lm->listen, "%s", why);
	check_lmtp_group(ld, g);
}

/* Read a top-level group section (NULL when absent or not a group). */
static const config_setting_t *
read_section(struct loader *ld, const char *name, const struct key *keys,
             void *base, int *present)
{
	const config_setting_t *g = get(ld->root, name);
	if (g == NULL || !want_type(ld, g, name, CONFIG_TYPE_GROUP))
		return NULL;
	if (present)
		*present = 1;
	read_group(ld, g, name, keys, base);
	return g;
}

/* A top-level list of groups (channels, members): its length, or 0. */
static const config_setting_t *
get_list(struct loader *ld, const char *name)
{
	const config_setting_t *l = get(ld->root, name);
	if (l == NULL)
		return NULL;
	int t = config_setting_type(l);
	/* `x = [];` parses as an empty array: accept it as an empty list. */
	if (t == CONFIG_TYPE_ARRAY && config_setting_length(l) == 0)
		return l;
	return want_type(ld, l, name, CONFIG_TYPE_LIST) ? l : NULL;
}

/* The i-th element of a list when it is a group, else NULL (reported). */
static const config_setting_t *
list_group(struct loader *ld, const config_setting_t *l, size_t i,
           const char *key)
{
	const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
	return want_type(ld, e, key, CONFIG_TYPE_GROUP) ? e : NULL;
}

static void
read_channels(struct loader *ld)
{
	struct cg_config *cfg = ld->cfg;
	const config_setting_t *l = get_list(ld, "channels");
	if (l == NULL)
		return;
	cfg->nchannels = (size_t)config_setting_length(l);
	cfg->channels = cg_calloc(cfg->nchannels, sizeof *cfg->channels);
	for (size_t i = 0; i < cfg->nchannels; i++) {
		struct cg_cfg_channel *c = &cfg->channels[i];
		c->post_layer = CG_LAYER_MEMBER;
		c->crm_context = CG_CRM_FOOTER;
		c->chat_batch = 120;
		c->chat_batch_max = -1; /* unset: 5 x chat_batch */
		char *prefix = cg_asprintf("channels[%zu]", i);
		const config_setting_t *e = list_group(ld, l, i, prefix);
		if (e) {
			c->line = (int)config_setting_source_line(e);
			read_group(ld, e, prefix, channel_keys, c);
		}
		if (c->chat_batch_max < 0)
			c->chat_batch_max = c->chat_batch > INT_MAX / 5
			                        ? INT_MAX
			                        : 5 * c->chat_batch;
		free(prefix);
	}
}

static void
read_member_channels(struct loader *ld, const config_setting_t *s,
                     const char *prefix, struct cg_cfg_member *m)
{
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		err_at(ld, s,
		       "%s.channels: must be an array of strings, not %s",
		       prefix, type_name(t));
		return;
	}
	size_t n = (size_t)config_setting_length(s);
	m->channels = cg_calloc(n, sizeof *m->channels);
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned)i);
		char *key = cg_asprintf("%s.channels[%zu]", prefix, i);
		if (want_type(ld, e, key, CONFIG_TYPE_STRING))
			m->channels[m->nchannels++] =
			    cg_strdup(config_setting_get_string(e));
		free(key);
	}
}

static void
read_members(struct loader *ld)
{
	struct cg_config *cfg = ld->cfg;
	const config_setting_t *l = get_list(ld, "members");
	if (l == NULL)
		return;
	cfg->nmembers = (size_t)config_setting_length(l);
	cfg->members = cg_calloc(cfg->nmembers, sizeof *cfg->members);
	for (size_t i = 0; i < cfg->nmembers; i++) {
		struct cg_cfg_member *m = &cfg->members[i];
		m->layer = CG_LAYER_MEMBER;
		m->delivery = CG_DELIVERY_EACH;
		char *prefix = cg_asprintf("members[%zu]", i);
		const config_setting_t *e = list_group(ld, l, i, prefix);
		if (e) {
			m->line = (int)config_setting_source_line(e);
			read_group(ld, e, prefix, member_keys, m);
			const config_setting_t *ch = get(e, "channels");
			if (ch)
				read_member_channels(ld, ch, prefix, m);
		}
		free(prefix);
	}
}

/* The index of an earlier channel whose field equals v, or -1. */
static long
earlier_channel(const struct cg_config *cfg, size_t i, size_t off,
                const char *v)
{
	for (size_t j = 0; j < i; j++) {
		const char *w =
		    *(char *const *)((const char *)&cfg->channels[j] + off);
		if (w && strcasecmp(w, v) == 0)
			return (long)j;
	}
	return -1;
}

static void
check_channel(struct loader *ld, const config_setting_t *e, size_t i)
{
	const struct cg_config *cfg = ld->cfg;
	const struct cg_cfg_channel *c = &cfg->channels[i];
	char *prefix = cg_asprintf("channels[%zu]", i);
	char *key = NULL;
	long j;

	require(ld, e, prefix, "name");
	require(ld, e, prefix, "address");
	require(ld, e, prefix, "room");
	if (c->name) {
		key = cg_asprintf("%s.name", prefix);
		if (!is_channel_name(c->name))
			bad_value(
			    ld, get(e, "name"), key, c->name,
			    "is not a channel name ([a-z0-9][a-z0-9._-]*, "
			    "at most 64 characters)");
		else if ((j = earlier_channel(cfg, i, CHAN(name), c->name)) >=
		         0)
			bad_value(ld, get(e, "name"), key, c->name,
			          "is already used by channels[%ld]", j);
		free(key);
	}
	if (c->address) {
		key = cg_asprintf("%s.address", prefix);
		const char *at = strchr(c->address, '@');
		if (!is_address(c->address))
			bad_value(ld, get(e, "address"), key, c->address,
			          "is not an address (local@domain)");
		else if (ld->domain_ok &&
		         strcasecmp(at + 1, cfg->gateway.domain) != 0)
			bad_value(ld, get(e, "address"), key, c->address,
			          "is not inside gateway.domain \"%s\"",
			          cfg->gateway.domain);
		else if ((j = earlier_channel(cfg, i, CHAN(address),
		                              c->address)) >= 0)
			bad_value(ld, get(e, "address"), key, c->address,
			          "is already used by channels[%ld]", j);
		free(key);
	}
	if (c->room) {
		key = cg_asprintf("%s.room", prefix);
		if (!is_bare_jid(c->room))
			bad_value(ld, get(e, "room"), key, c->room,
			          "is not a bare JID (local@domain)");
		else if ((j = earlier_channel(cfg, i, CHAN(room), c->room)) >=
		         0)
			bad_value(ld, get(e, "room"), key, c->room,
			          "is already used by channels[%ld]", j);
		free(key);
	}
	/* A room that is never quiet still gets its lines mailed. */
	if (c->chat_batch_max < c->chat_batch)
		err_at(ld, get(e, "chat_batch_max"),
		       "%s.chat_batch_max: %d must not be less than "
		       "chat_batch (%d) of channel %s",
		       prefix, c->chat_batch_max, c->chat_batch,
		       c->name ? c->name : "(unnamed)");
	free(prefix);
}

static void
check_member_channels(struct loader *ld, const config_setting_t *e,
                      const char *prefix, const struct cg_cfg_member *m)
{
	const config_setting_t *s = get(e, "channels");
	for (size_t k = 0; k < m->nchannels; k++) {
		const char *name = m->channels[k];
		const config_setting_t *at =
		    config_setting_get_elem(s, (unsigned)k);
		char *q = quote(name);
		int known = 0, twice = 0;
		for (size_t j = 0; j < ld->cfg->nchannels; j++)
			known |= ld->cfg->channels[j].name &&
			         strcmp(ld->cfg->channels[j].name, name) == 0;
		for (size_t j = 0; j < k; j++)
			twice |= strcmp(m->channels[j], name) == 0;
		if (!known)
			err_at(ld, at ? at : s,
			       "%s.channels: unknown channel %s", prefix, q);
		else if (twice)
			err_at(ld, at ? at : s,
			       "%s.channels: channel %s is listed twice",
			       prefix, q);
		free(q);
	}
}

static void
check_member(struct loader *ld, const config_setting_t *e, size_t i)
{
	const struct cg_config *cfg = ld->cfg;
	const struct cg_cfg_member *m = &cfg->members[i];
	char *prefix = cg_asprintf("members[%zu]", i);
	char *key;

	require(ld, e, prefix, "address");
	if (m->address) {
		key = cg_asprintf("%s.address", prefix);
		if (!is_address(m->address)) {
			bad_value(ld, get(e, "address"), key, m->address,
			          "is not an address (local@domain)");
		} else {
			for (size_t j = 0; j < i; j++) {
				if (cfg->members[j].address &&
				    strcasecmp(cfg->members[j].address,
				               m->address) == 0) {
					bad_value(ld, get(e, "address"), key,
					          m->address,
					          "is already used by "
					          "members[%zu]",
					          j);
					break;
				}
			}
		}
		free(key);
	}
	if (m->jid && !is_bare_jid(m->jid)) {
		key = cg_asprintf("%s.jid", prefix);
		bad_value(ld, get(e, "jid"), key, m->jid,
		          "is not a bare JID (local@domain)");
		free(key);
	}
	check_member_channels(ld, e, prefix, m);
	free(prefix);
}

static void
check_lists(struct loader *ld)
{
	const config_setting_t *l = get(ld->root, "channels");
	for (size_t i = 0; i < ld->cfg->nchannels; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(l, (unsigned)i);
		if (config_setting_is_group(e))
			check_channel(ld, e, i);
	}
	l = get(ld->root, "members");
	for (size_t i = 0; i < ld->cfg->nmembers; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(l, (unsigned)i);
		if (config_setting_is_group(e))
			check_member(ld, e, i);
	}
}

/* ---- partners (federation): read and check ---------------------------------
 */

static void
read_partners(struct loader *ld)
{
	struct cg_config *cfg = ld->cfg;
	const config_setting_t *l = get_list(ld, "partners");
	if (l == NULL)
		return;
	cfg->npartners = (size_t)config_setting_length(l);
	cfg->partners = cg_calloc(cfg->npartners, sizeof *cfg->partners);
	for (size_t i = 0; i < cfg->npartners; i++) {
		struct cg_cfg_partner *p = &cfg->partners[i];
		p->layer = CG_LAYER_PARTNER;
		char *prefix = cg_asprintf("partners[%zu]", i);
		const config_setting_t *e = list_group(ld, l, i, prefix);
		if (e) {
			p->line = (int)config_setting_source_line(e);
			read_group(ld, e, prefix, partner_keys, p);
		}
		for (char *c = p->domain; c && *c; c++)
			*c = (char)tolower((unsigned char)*c);
		free(prefix);
	}
}

/* The domain of a JID or address (after '@', before '/'), or NULL. */
static char *
domain_of(const char *jid)
{
	const char *at = jid ? strchr(jid, '@') : NULL;
	const char *d = at ? at + 1 : jid;
	return d ? cg_strndup(d, strcspn(d, "/")) : NULL;
}

/* Why a partner domain cannot be one (the gateway's own), or NULL. */
static const char *
partner_domain_clash(const struct cg_config *cfg, const char *domain)
{
	if (cfg->gateway.domain && strcasecmp(domain, cfg->gateway.domain) == 0)
		return "is the gateway's own domain (gateway.domain)";
	char *own = domain_of(cfg->xmpp.jid);
	int xmpp = own && strcasecmp(domain, own) == 0;
	free(own);
	if (xmpp)
		return "is the gateway's own XMPP domain (xmpp.jid)";
	if (cfg->xmpp.component_domain &&
	    strcasecmp(domain, cfg->xmpp.component_domain) == 0)
		return "is the gateway's component domain";
	return NULL;
}

static void
check_partner(struct loader *ld, const config_setting_t *e, size_t i)
{
	const struct cg_config *cfg = ld->cfg;
	const struct cg_cfg_partner *p = &cfg->partners[i];
	char *prefix = cg_asprintf("partners[%zu]", i);
	require(ld, e, prefix, "domain");
	require(ld, e, prefix, "org");
	if (p->domain) {
		char *key = cg_asprintf("%s.domain", prefix);
		const char *why = partner_domain_clash(cfg, p->domain);
		if (!is_domain(p->domain))
			bad_value(ld, get(e, "domain"), key, p->domain,
			          "is not a domain name");
		else if (why)
			bad_value(ld, get(e, "domain"), key, p->domain, "%s",
			          why);
		for (size_t j = 0; j < i; j++)
			if (cfg->partners[j].domain &&
			    strcmp(cfg->partners[j].domain, p->domain) == 0) {
				bad_value(ld, get(e, "domain"), key, p->domain,
				          "is already used by partners[%zu]",
				          j);
				break;
			}
		free(key);
	}
	free(prefix);
}

static void
check_partners(struct loader *ld)
{
	const config_setting_t *l = get(ld->root, "partners");
	for (size_t i = 0; i < ld->cfg->npartners; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(l, (unsigned)i);
		if (config_setting_is_group(e))
			check_partner(ld, e, i);
	}
}

const struct cg_cfg_partner *
cg_config_partner(const struct cg_config *cfg, const char *jid)
{
	char *d = domain_of(jid);
	const struct cg_cfg_partner *found = NULL;
	for (size_t i = 0; d && i < cfg->npartners && !found; i++)
		if (cfg->partners[i].domain &&
		    strcasecmp(cfg->partners[i].domain, d) == 0)
			found = &cfg->partners[i];
	free(d);
	return found;
}

/* ---- end of partners -------------------------------------------------------
 */

static void
check_outbox(struct loader *ld, const config_setting_t *g)
{
	const struct cg_cfg_outbox *o = &ld->cfg->outbox;
	if (o->retry_max < o->retry_base)
		err_at(ld, get(g, "retry_max") ? get(g, "retry_max") : g,
		       "outbox.retry_max: %d must not be less than "
		       "outbox.retry_base (%d)",
		       o->retry_max, o->retry_base);
}

static void read_billing(struct loader *ld);
static void billing_free(struct cg_cfg_billing *b);

/* ---- reports { weekly; recipients; unanswered_after; } ------------------ */

/* "mon 08:00": 0, or -1 when malformed. */
static int
parse_weekly(const char *v, int *weekday, int *minute)
{
	static const char *const days[] = {"mon", "tue", "wed", "thu",
	                                   "fri", "sat", "sun"};
	int h, m;
	char day[4], end;
	if (sscanf(v, "%3s %d:%d%c", day, &h, &m, &end) != 3 || h < 0 ||
	    h > 23 || m < 0 || m > 59 || strlen(v) < 9 || v[3] != ' ')
		return -1;
	for (int i = 0; i < 7; i++)
		if (strcasecmp(day, days[i]) == 0) {
			*weekday = i;
			*minute = h * 60 + m;
			return 0;
		}
	return -1;
}

static void
read_report_recipients(struct loader *ld, const config_setting_t *r)
{
	struct cg_cfg_reports *rp = &ld->cfg->reports;
	if (config_setting_type(r) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(r);
		enum cg_layer l;
		if (cg_layer_parse(v, &l) != 0)
			bad_value(ld, r, "reports.recipients", v,
			          "is no layer (guest, partner, member, core) "
			          "and no list of addresses");
		else
			rp->recipients_layer = l;
		return;
	}
	if (config_setting_type(r) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(r) != CONFIG_TYPE_LIST) {
		err_at(ld, r,
		       "reports.recipients: a layer (\"core\") or a "
		       "list of addresses expected");
		return;
	}
	int n = config_setting_length(r);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(r, (unsigned)i);
		const char *v = config_setting_get_string(e);
		if (v == NULL || !is_address(v)) {
			err_at(ld, e,
			       "reports.recipients: element %d is no "
			       "mail address",
			       i + 1);
			continue;
		}
		rp->recipients = cg_realloc(
		    rp->recipients, (rp->nrecipients + 1) * sizeof(char *));
		rp->recipients[rp->nrecipients++] = cg_strdup(v);
	}
}

static const struct key reports_keys[] = {
    KEY("weekly", K_OTHER, 0),
    KEY("recipients", K_OTHER, 0),
    KEY_RANGE("unanswered_after", K_INT64,
              offsetof(struct cg_cfg_reports, unanswered_after), 60, INT64_MAX),
    KEY_END,
};

static void
read_reports(struct loader *ld)
{
	struct cg_cfg_reports *rp = &ld->cfg->reports;
	const config_setting_t *g =
	    read_section(ld, "reports", reports_keys, rp, &rp->present);
	if (g == NULL)
		return;
	rp->line = (int)config_setting_source_line(g);
	const config_setting_t *w = get(g, "weekly");
	if (w) {
		const char *v = config_setting_get_string(w);
		if (v == NULL ||
		    parse_weekly(v, &rp->weekday, &rp->minute) != 0)
			bad_value(ld, w, "reports.weekly", v ? v : "",
			          "is not DAY HH:MM (e.g. \"mon 08:00\", UTC)");
	}
	const config_setting_t *r = get(g, "recipients");
	if (r)
		read_report_recipients(ld, r);
}

static const char *const top_level_keys[] = {
    "gateway",  "imap",       "smtp",    "xmpp",   "channels",
    "members",  "onboarding", "box",     "outbox", "posting",
    "partners", "billing",    "reports", "lmtp",   NULL,
};

static void
load_tree(struct loader *ld)
{
	struct cg_config *cfg = ld->cfg;
	int n = config_setting_length(ld->root);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s =
		    config_setting_get_elem(ld->root, (unsigned)i);
		const char *const *k = top_level_keys;
		while (*k && strcmp(*k, config_setting_name(s)) != 0)
			k++;
		if (*k == NULL)
			err_at(ld, s, "%s: unknown key",
			       config_setting_name(s));
	}

	const config_setting_t *gw =
	    read_section(ld, "gateway", gateway_keys, &cfg->gateway, NULL);
	const config_setting_t *im =
	    read_section(ld, "imap", imap_keys, &cfg->imap, &cfg->imap.present);
	const config_setting_t *sm =
	    read_section(ld, "smtp", smtp_keys, &cfg->smtp, &cfg->smtp.present);
	const config_setting_t *xm =
	    read_section(ld, "xmpp", xmpp_keys, &cfg->xmpp, &cfg->xmpp.present);
	const config_setting_t *lm =
	    read_section(ld, "lmtp", lmtp_keys, &cfg->lmtp, &cfg->lmtp.present);
	read_section(ld, "onboarding", onboarding_keys, cfg, NULL);
	read_section(ld, "box", box_keys, cfg, NULL);
	read_section(ld, "posting", posting_keys, &cfg->posting, NULL);
	const config_setting_t *ob =
	    read_section(ld, "outbox", outbox_keys, &cfg->outbox, NULL);
	read_channels(ld);
	read_members(ld);
	read_partners(ld);
	read_reports(ld);

	check_gateway(ld, gw);
	check_imap(ld, im);
	check_smtp(ld, sm);
	check_xmpp(ld, xm);
	check_lmtp(ld, lm);
	check_lists(ld);
	check_partners(ld);
	check_outbox(ld, ob);
	read_billing(ld);
}

static void
set_defaults(struct cg_config *cfg, const char *path)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->path = cg_strdup(path);
	cfg->imap.tls = CG_TLS_IMPLICIT;
	cfg->imap.max_message_size = 25 * MB;
	cfg->smtp.tls = CG_TLS_STARTTLS;
	cfg->smtp.max_attachment_size = 10 * MB;
	cfg->smtp.max_recipients = 100;
	cfg->smtp.verp = CG_VERP_XVERP;
	cfg->xmpp.mode = CG_XMPP_CLIENT;
	cfg->xmpp.tls = CG_TLS_STARTTLS;
	cfg->outbox.max_attempts = 10;
	cfg->outbox.retry_base = 30;
	cfg->outbox.retry_max = 3600;
	cfg->nominations_required = 2;
	cfg->box_quota_mb = 0;
	cfg->posting.sender_proof = 1;
	cfg->reports.weekday = -1;
	cfg->reports.recipients_layer = CG_LAYER_CORE;
	cfg->reports.unanswered_after = 172800;
}

/* The absolute directory holding path (as given when it cannot resolve). */
static char *
config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL   ? cg_strdup(".")
	            : slash == path ? cg_strdup("/")
	                            : cg_strndup(path, (size_t)(slash - path));
	char *abs = realpath(dir, NULL); /* plain malloc, like cg_malloc */
	if (abs == NULL)
		return dir;
	free(dir);
	return abs;
}

static void
parse_file(struct loader *ld, FILE *f)
{
	config_t lc;
	config_init(&lc);
	config_set_include_dir(&lc, ld->dir);
	if (config_read(&lc, f) != CONFIG_TRUE) {
		const char *file =
		    config_error_file(&lc) ? config_error_file(&lc) : ld->path;
		add_error(ld->errs, file, config_error_line(&lc),
		          cg_strdup(config_error_text(&lc)));
	} else {
		ld->root = config_root_setting(&lc);
		load_tree(ld);
	}
	config_destroy(&lc);
}

int
cg_config_load(const char *path, struct cg_config *cfg,
               struct cg_config_errors *errs)
{
	struct cg_config_errors discard = {NULL, 0};
	if (errs == NULL)
		errs = &discard;
	errs->v = NULL;
	errs->n = 0;
	set_defaults(cfg, path);

	struct loader ld = {.path = path, .cfg = cfg, .errs = errs};
	struct stat st;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		add_error(errs, path, 0, cg_strdup(strerror(errno)));
	} else if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		add_error(errs, path, 0, cg_strdup(strerror(EISDIR)));
	} else {
		ld.dir = config_dir(path);
		parse_file(&ld, f);
		free(ld.dir);
	}
	if (f)
		fclose(f);

	sort_errors(errs);
	int r = errs->n ? -1 : 0;
	cg_config_errors_free(&discard);
	return r;
}

/* ---- freeing, printing, lookups ------------------------------------------ */

void
cg_config_drop_members(struct cg_config *cfg)
{
	for (size_t i = 0; i < cfg->nmembers; i++) {
		struct cg_cfg_member *m = &cfg->members[i];
		free(m->address);
		free(m->name);
		free(m->jid);
		free(m->org);
		for (size_t j = 0; j < m->nchannels; j++)
			free(m->channels[j]);
		free(m->channels);
	}
	free(cfg->members);
	cfg->members = NULL;
	cfg->nmembers = 0;
}

void
cg_config_free(struct cg_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->gateway.domain);
	free(cfg->gateway.data_dir);
	free(cfg->gateway.log_level);

	free(cfg->imap.host);
	free(cfg->imap.user);
	free(cfg->imap.password_file);
	cg_secret_free(cfg->imap.password);
	free(cfg->imap.mailbox);
	free(cfg->imap.processed_mailbox);
	free(cfg->imap.ca_file);
	free(cfg->imap.trusted_authserv_id);
	free(cfg->posting.dkim_keys_file);

	free(cfg->smtp.host);
	free(cfg->smtp.user);
	free(cfg->smtp.password_file);
	cg_secret_free(cfg->smtp.password);
	free(cfg->smtp.ca_file);

	free(cfg->xmpp.jid);
	free(cfg->xmpp.password_file);
	cg_secret_free(cfg->xmpp.password);
	free(cfg->xmpp.host);
	free(cfg->xmpp.ca_file);
	free(cfg->xmpp.nick);
	free(cfg->xmpp.upload_service);
	free(cfg->xmpp.component_domain);
	free(cfg->xmpp.component_secret_file);
	cg_secret_free(cfg->xmpp.component_secret);

	free(cfg->lmtp.listen);
	free(cfg->lmtp.path);
	free(cfg->lmtp.host);
	free(cfg->lmtp.group);

	for (size_t i = 0; i < cfg->nchannels; i++) {
		free(cfg->channels[i].name);
		free(cfg->channels[i].address);
		free(cfg->channels[i].room);
		free(cfg->channels[i].description);
	}
	free(cfg->channels);
	cg_config_drop_members(cfg);
	for (size_t i = 0; i < cfg->npartners; i++) {
		free(cfg->partners[i].domain);
		free(cfg->partners[i].org);
	}
	free(cfg->partners);
	billing_free(&cfg->billing);
	for (size_t i = 0; i < cfg->reports.nrecipients; i++)
		free(cfg->reports.recipients[i]);
	free(cfg->reports.recipients);
	memset(cfg, 0, sizeof *cfg);
}

void
cg_config_errors_free(struct cg_config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].message);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

void
cg_config_errors_print(const struct cg_config_errors *errs, void *stream)
{
	FILE *f = stream ? stream : stderr;
	for (size_t i = 0; i < errs->n; i++) {
		const struct cg_config_error *e = &errs->v[i];
		if (e->line > 0)
			fprintf(f, "%s:%d: %s\n", e->file, e->line, e->message);
		else
			fprintf(f, "%s: %s\n", e->file, e->message);
	}
}

/* Channel names are lowercase; the lookup ignores case, as mail does. */
const struct cg_cfg_channel *
cg_config_channel(const struct cg_config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->nchannels; i++)
		if (cfg->channels[i].name &&
		    strcasecmp(cfg->channels[i].name, name) == 0)
			return &cfg->channels[i];
	return NULL;
}

const char *
cg_config_default_path(const char *opt)
{
	if (opt && *opt)
		return opt;
	const char *env = getenv("COOPGATE_CONFIG");
	if (env && *env)
		return env;
	if (access("coopgate.conf", F_OK) == 0)
		return "coopgate.conf";
	return "/etc/coopgate/coopgate.conf";
}

/* ---- billing { currency, run_day, sellers, rates, plans } ---------------
 * Self-contained: read after the rest, checked against itself and the
 * member addresses only.  Amounts must have at most two decimals, IBANs a
 * valid checksum, sellers a VAT id or tax number, and rates and plans a
 * seller that exists. */

#define SELLER(f) offsetof(struct cg_cfg_seller, f)
static const struct key seller_keys[] = {
    KEY("code", K_STR, SELLER(code)),
    KEY("name", K_STR, SELLER(name)),
    KEY("street", K_STR, SELLER(street)),
    KEY("postcode", K_STR, SELLER(postcode)),
    KEY("city", K_STR, SELLER(city)),
    KEY("country", K_STR, SELLER(country)),
    KEY("vat_id", K_STR, SELLER(vat_id)),
    KEY("tax_number", K_STR, SELLER(tax_number)),
    KEY("email", K_STR, SELLER(email)),
    KEY("phone", K_STR, SELLER(phone)),
    KEY("contact", K_STR, SELLER(contact)),
    KEY("iban", K_STR, SELLER(iban)),
    KEY("bic", K_STR, SELLER(bic)),
    KEY("series", K_STR, SELLER(series)),
    KEY_RANGE("payment_days", K_INT, SELLER(payment_days), 0, 365),
    KEY("workers", K_OTHER, 0),
    KEY_END,
};

#define RATE(f) offsetof(struct cg_cfg_rate, f)
static const struct key rate_keys[] = {
    KEY("code", K_STR, RATE(code)),    KEY("name", K_STR, RATE(name)),
    KEY("unit", K_STR, RATE(unit)),    KEY("price", K_STR, RATE(price_text)),
    KEY("vat", K_STR, RATE(vat_text)), KEY("seller", K_STR, RATE(seller)),
    KEY("buyer", K_STR, RATE(buyer)),  KEY_END,
};

#define PLAN(f) offsetof(struct cg_cfg_plan, f)
static const struct key plan_keys[] = {
    KEY("code", K_STR, PLAN(code)),        KEY("name", K_STR, PLAN(name)),
    KEY("price", K_STR, PLAN(price_text)), KEY("vat", K_STR, PLAN(vat_text)),
    KEY("seller", K_STR, PLAN(seller)),    KEY_END,
};

#define BILL(f) offsetof(struct cg_cfg_billing, f)
static const struct key billing_keys[] = {
    KEY("currency", K_STR, BILL(currency)),
    KEY_RANGE("run_day", K_INT, BILL(run_day), 1, 28),
    KEY("sellers", K_OTHER, 0),
    KEY("rates", K_OTHER, 0),
    KEY("plans", K_OTHER, 0),
    KEY_END,
};

/* The elements of billing.NAME (a list of groups), each read through
 * keys into v[i] (elem bytes each); returns the list or NULL. */
static const config_setting_t *
read_billing_list(struct loader *ld, const config_setting_t *g,
                  const char *name, const struct key *keys, void **v, size_t *n,
                  size_t elem, size_t line_off)
{
	const config_setting_t *l = get(g, name);
	char *key = cg_asprintf("billing.%s", name);
	int empty_array = l && config_setting_type(l) == CONFIG_TYPE_ARRAY &&
	                  config_setting_length(l) == 0;
	if (l == NULL ||
	    (!empty_array && !want_type(ld, l, key, CONFIG_TYPE_LIST))) {
		free(key);
		return NULL;
	}
	*n = (size_t)config_setting_length(l);
	*v = cg_calloc(*n ? *n : 1, elem);
	for (size_t i = 0; i < *n; i++) {
		char *prefix = cg_asprintf("%s[%zu]", key, i);
		const config_setting_t *e = list_group(ld, l, i, prefix);
		if (e) {
			char *base = (char *)*v + i * elem;
			*(int *)(base + line_off) =
			    (int)config_setting_source_line(e);
			read_group(ld, e, prefix, keys, base);
		}
		free(prefix);
	}
	free(key);
	return l;
}

static void
read_seller_workers(struct loader *ld, const config_setting_t *e,
                    const char *prefix, struct cg_cfg_seller *s)
{
	const config_setting_t *w = get(e, "workers");
	if (w == NULL)
		return;
	int t = config_setting_type(w);
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		err_at(ld, w, "%s.workers: must be an array of addresses",
		       prefix);
		return;
	}
	size_t n = (size_t)config_setting_length(w);
	s->workers = cg_calloc(n ? n : 1, sizeof *s->workers);
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *a =
		    config_setting_get_elem(w, (unsigned)i);
		char *key = cg_asprintf("%s.workers[%zu]", prefix, i);
		if (want_type(ld, a, key, CONFIG_TYPE_STRING)) {
			const char *v = config_setting_get_string(a);
			if (!is_address(v))
				bad_value(ld, a, key, v,
				          "is not an address (local@domain)");
			else
				s->workers[s->nworkers++] = cg_strdup(v);
		}
		free(key);
	}
}

static void
check_seller(struct loader *ld, const config_setting_t *e, size_t i)
{
	struct cg_cfg_seller *s = &ld->cfg->billing.sellers[i];
	char *prefix = cg_asprintf("billing.sellers[%zu]", i);
	static const char *const required[] = {
	    "code",  "name",  "street",  "postcode", "city", "country",
	    "email", "phone", "contact", "iban",     NULL};
	for (int k = 0; required[k]; k++)
		require(ld, e, prefix, required[k]);
	if (!s->vat_id && !s->tax_number)
		err_at(ld, e, "%s: seller %s has neither vat_id nor tax_number",
		       prefix, s->code ? s->code : "(no code)");
	if (s->iban && !cg_iban_valid(s->iban))
		bad_value(ld, get(e, "iban"), "billing.sellers[].iban", s->iban,
		          "is not a valid IBAN (checksum)");
	if (s->country && (strlen(s->country) != 2 ||
	                   !isupper((unsigned char)s->country[0]) ||
	                   !isupper((unsigned char)s->country[1])))
		bad_value(ld, get(e, "country"), "billing.sellers[].country",
		          s->country, "is not a two-letter country code (DE)");
	if (s->email && !is_address(s->email))
		bad_value(ld, get(e, "email"), "billing.sellers[].email",
		          s->email, "is not an address (local@domain)");
	for (size_t j = 0; j < i && s->code; j++)
		if (ld->cfg->billing.sellers[j].code &&
		    strcmp(ld->cfg->billing.sellers[j].code, s->code) == 0)
			bad_value(ld, get(e, "code"), "billing.sellers[].code",
			          s->code,
			          "is already used by billing.sellers[%zu]", j);
	read_seller_workers(ld, e, prefix, s);
	if (s->payment_days == 0 && !get(e, "payment_days"))
		s->payment_days = 14;
	if (s->series == NULL && s->code)
		s->series = cg_asprintf("%s-{YYYY}-", s->code);
	free(prefix);
}

/* price and vat of a rate or plan: two decimals at most, a known
 * seller. */
static void
check_priced(struct loader *ld, const config_setting_t *e, const char *prefix,
             const char *price, const char *vat, const char *seller,
             int64_t *cents, int *bp)
{
	require(ld, e, prefix, "code");
	require(ld, e, prefix, "name");
	if (require(ld, e, prefix, "price") && price &&
	    (cg_money_parse(price, cents) != 0 || *cents < 0))
		bad_value(ld, get(e, "price"), "price", price,
		          "is not an amount with at most two decimals "
		          "(\"80.00\")");
	if (vat == NULL)
		*bp = 1900;
	else if (cg_vat_parse(vat, bp) != 0)
		bad_value(ld, get(e, "vat"), "vat", vat,
		          "is not a VAT rate in percent (\"19\", \"7\")");
	if (require(ld, e, prefix, "seller") && seller &&
	    cg_config_seller(ld->cfg, seller) == NULL)
		bad_value(ld, get(e, "seller"), "seller", seller,
		          "is not the code of a seller in billing.sellers");
}

static void
check_billing_lists(struct loader *ld, const config_setting_t *sl,
                    const config_setting_t *rl, const config_setting_t *pl)
{
	struct cg_cfg_billing *b = &ld->cfg->billing;
	for (size_t i = 0; sl && i < b->nsellers; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(sl, (unsigned)i);
		if (config_setting_is_group(e))
			check_seller(ld, e, i);
	}
	for (size_t i = 0; rl && i < b->nrates; i++) {
		struct cg_cfg_rate *r = &b->rates[i];
		const config_setting_t *e =
		    config_setting_get_elem(rl, (unsigned)i);
		char *prefix = cg_asprintf("billing.rates[%zu]", i);
		if (config_setting_is_group(e)) {
			check_priced(ld, e, prefix, r->price_text, r->vat_text,
			             r->seller, &r->price_cents, &r->vat_bp);
			if (r->unit == NULL)
				r->unit = cg_strdup("HUR");
			if (r->buyer && !is_address(r->buyer))
				bad_value(ld, get(e, "buyer"), "buyer",
				          r->buyer,
				          "is not an address (local@domain)");
		}
		free(prefix);
	}
	for (size_t i = 0; pl && i < b->nplans; i++) {
		struct cg_cfg_plan *p = &b->plans[i];
		const config_setting_t *e =
		    config_setting_get_elem(pl, (unsigned)i);
		char *prefix = cg_asprintf("billing.plans[%zu]", i);
		if (config_setting_is_group(e))
			check_priced(ld, e, prefix, p->price_text, p->vat_text,
			             p->seller, &p->price_cents, &p->vat_bp);
		free(prefix);
	}
}

static void
read_billing(struct loader *ld)
{
	struct cg_cfg_billing *b = &ld->cfg->billing;
	b->run_day = 1;
	const config_setting_t *g =
	    read_section(ld, "billing", billing_keys, b, &b->present);
	if (b->currency == NULL)
		b->currency = cg_strdup("EUR");
	if (g == NULL)
		return;
	const config_setting_t *sl = read_billing_list(
	    ld, g, "sellers", seller_keys, (void **)&b->sellers, &b->nsellers,
	    sizeof *b->sellers, offsetof(struct cg_cfg_seller, line));
	const config_setting_t *rl = read_billing_list(
	    ld, g, "rates", rate_keys, (void **)&b->rates, &b->nrates,
	    sizeof *b->rates, offsetof(struct cg_cfg_rate, line));
	const config_setting_t *pl = read_billing_list(
	    ld, g, "plans", plan_keys, (void **)&b->plans, &b->nplans,
	    sizeof *b->plans, offsetof(struct cg_cfg_plan, line));
	check_billing_lists(ld, sl, rl, pl);
}

static void
billing_free(struct cg_cfg_billing *b)
{
	free(b->currency);
	for (size_t i = 0; i < b->nsellers; i++) {
		struct cg_cfg_seller *s = &b->sellers[i];
		char *f[] = {s->code,  s->name,    s->street,  s->postcode,
		             s->city,  s->country, s->vat_id,  s->tax_number,
		             s->email, s->phone,   s->contact, s->iban,
		             s->bic,   s->series};
		for (size_t k = 0; k < sizeof f / sizeof *f; k++)
			free(f[k]);
		for (size_t k = 0; k < s->nworkers; k++)
			free(s->workers[k]);
		free(s->workers);
	}
	free(b->sellers);
	for (size_t i = 0; i < b->nrates; i++) {
		struct cg_cfg_rate *r = &b->rates[i];
		free(r->code);
		free(r->name);
		free(r->unit);
		free(r->seller);
		free(r->buyer);
		free(r->price_text);
		free(r->vat_text);
	}
	free(b->rates);
	for (size_t i = 0; i < b->nplans; i++) {
		struct cg_cfg_plan *p = &b->plans[i];
		free(p->code);
		free(p->name);
		free(p->seller);
		free(p->price_text);
		free(p->vat_text);
	}
	free(b->plans);
}

const struct cg_cfg_seller *
cg_config_seller(const struct cg_config *cfg, const char *code)
{
	for (size_t i = 0; code && i < cfg->billing.nsellers; i++)
		if (cfg->billing.sellers[i].code &&
		    strcmp(cfg->billing.sellers[i].code, code) == 0)
			return &cfg->billing.sellers[i];
	return NULL;
}

const struct cg_cfg_rate *
cg_config_rate(const struct cg_config *cfg, const char *code)
{
	for (size_t i = 0; code && i < cfg->billing.nrates; i++)
		if (cfg->billing.rates[i].code &&
		    strcmp(cfg->billing.rates[i].code, code) == 0)
			return &cfg->billing.rates[i];
	return NULL;
}

const struct cg_cfg_plan *
cg_config_plan(const struct cg_config *cfg, const char *code)
{
	for (size_t i = 0; code && i < cfg->billing.nplans; i++)
		if (cfg->billing.plans[i].code &&
		    strcmp(cfg->billing.plans[i].code, code) == 0)
			return &cfg->billing.plans[i];
	return NULL;
}
