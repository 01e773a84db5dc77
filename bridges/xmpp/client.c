/*
 * client.c: the XMPP bridge: its ops (bridge.h) and its one libstrophe
 * connection, as a client (default) or as a component (XEP-0114).  TLS is
 * required unless xmpp.tls = "none": the server certificate is verified against
 * xmpp.ca_file and the JID's domain, and a refusal is logged with OpenSSL's
 * reason.  SASL uses the configured password, which nothing here logs
 * (libstrophe's debug lines, which carry the AUTH exchange, are never
 * forwarded).  A lost or failed connection is retried with backoff (1 s
 * doubling to 5 min, with jitter); each attempt uses a fresh libstrophe
 * connection, so no stream-management state or queued stanza survives it: the
 * outbox is the queue.
 *
 * Pumping libstrophe from the gateway's loop: libstrophe has no fd getter,
 * so the socket-option callback records the socket; fds() asks poll() for
 * POLLIN (and POLLOUT while libstrophe's send queue is not empty or the TCP
 * connect is in progress).  When the socket is readable we call
 * xmpp_run_once(ctx, 0) a few times: each call reads at most 4 KiB, and
 * bytes OpenSSL already decrypted do not make the socket readable again.
 * Sends (deliver(), command replies) arm a 0 ms loop timer that flushes the
 * queue, so nothing waits for the next wake-up.  tick() pumps once and
 * otherwise wakes us every second while connected (self-ping, echo
 * time-outs), every 100 ms while connecting.
 *
 * Component mode (xmpp.mode = "component"): the connection is an external
 * component of component_domain, authenticated by the handshake with
 * component_secret (XEP-0114 has no TLS: use it on loopback or a trusted
 * link).  The gateway's own occupant in every room, the "listener" that
 * reads room lines, is gateway@component_domain/coopgate; email senders
 * get occupants of their own (puppet.c).  libstrophe 0.12.2 crashes on the
 * first stanza of a component stream because only xmpp_connect_client()
 * sets up its stream-management state: each connection object therefore
 * first makes a client connection attempt to 127.0.0.1:1 (closed), is
 * pumped until that fails, and only then connects as a component
 * (DESIGN.md).
 *
 * Must never: log the password, accept a certificate that fails
 * verification, or release the connection from inside a libstrophe
 * callback (the callback only marks it; the next pump releases it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/select.h>

#include "bridges/xmpp/http.h"
#include "bridges/xmpp/xmpp.h"
#include "gateway/gateway.h"
#include "lib/log.h"
#include "gateway/loop.h"
#include "lib/util.h"

/*
 * libstrophe hands the socket-option and certificate-failure callbacks no
 * user data, only the connection or the certificate; from both we can get
 * to the libstrophe context (one per bridge; a certificate's connection is
 * not filled in by 0.12.2).  This table is the one piece of state outside
 * struct cg_gateway: it finds the bridge that owns a context.
 */
static struct {
	const xmpp_ctx_t *ctx;
	struct xb_bridge *xb;
} ctx_owners[CG_MAX_BRIDGES];

static void
owner_set(const xmpp_ctx_t *ctx, struct xb_bridge *xb)
{
	for (size_t i = 0; i < CG_MAX_BRIDGES; i++)
		if (ctx_owners[i].ctx == NULL) {
			ctx_owners[i].ctx = ctx;
			ctx_owners[i].xb = xb;
			return;
		}
	cg_error("xmpp: too many bridges");
}

static void
owner_clear(const xmpp_ctx_t *ctx)
{
	for (size_t i = 0; i < CG_MAX_BRIDGES; i++)
		if (ctx_owners[i].ctx == ctx)
			ctx_owners[i].ctx = NULL, ctx_owners[i].xb = NULL;
}

static struct xb_bridge *
owner_of(const xmpp_ctx_t *ctx)
{
	for (size_t i = 0; i < CG_MAX_BRIDGES; i++)
		if (ctx_owners[i].ctx == ctx && ctx)
			return ctx_owners[i].xb;
	return NULL;
}

const struct cg_cfg_xmpp *
xb_cfg(const struct xb_bridge *xb)
{
	return &xb->gw->cfg->xmpp;
}

static const char *
server_name(const struct xb_bridge *xb)
{
	const struct cg_cfg_xmpp *c = xb_cfg(xb);
	if (c->host)
		return c->host;
	if (xb->component || c->jid == NULL || strchr(c->jid, '@') == NULL)
		return "localhost";
	return strchr(c->jid, '@') + 1;
}

void
xb_from_self(struct xb_bridge *xb, xmpp_stanza_t *st)
{
	if (xb->component)
		xmpp_stanza_set_from(st, xb->self_jid);
}

int
xb_jid_is_ours(const struct xb_bridge *xb, const char *jid)
{
	if (jid == NULL)
		return 0;
	char *bare = xb_bare_lower(jid);
	int ours;
	if (xb->component) {
		const char *at = strchr(bare, '@');
		const char *domain = at ? at + 1 : bare;
		ours = strcasecmp(domain, xb_cfg(xb)->component_domain) == 0;
	} else {
		char *me = xb_bare_lower(xb_cfg(xb)->jid);
		ours = me && strcmp(bare, me) == 0;
		free(me);
	}
	free(bare);
	return ours;
}

int
xb_answer_ok(struct xb_bridge *xb, xmpp_stanza_t *st, const char *asked,
             const char *what)
{
	if (xb_iq_answer_from(st, asked))
		return 1;
	const char *from = xmpp_stanza_get_from(st);
	char *clean = xb_clean_text(from ? from : "(nobody)");
	cg_warn("xmpp: ignoring an answer to %s from %s: only %s may answer",
	        what, clean, asked);
	free(clean);
	return 0;
}

/* ---- libstrophe callbacks without user data ---- */

static int
on_sockopt(xmpp_conn_t *conn, void *sock)
{
	struct xb_bridge *xb = owner_of(xmpp_conn_get_context(conn));
	int fd = *(int *)sock;
	/* libstrophe select()s on it: an fd past FD_SETSIZE would corrupt
	 * its fd_set. */
	if (fd >= FD_SETSIZE) {
		cg_error("xmpp: socket %d is beyond select()'s limit %d", fd,
		         FD_SETSIZE);
		return -1;
	}
	if (xb)
		xb->fd = fd;
	return xmpp_sockopt_cb_keepalive(conn, sock);
}

static int
on_certfail(const xmpp_tlscert_t *cert, const char *const errormsg)
{
	struct xb_bridge *xb = owner_of(xmpp_tlscert_get_ctx(cert));
	const char *subject = xmpp_tlscert_get_string(cert, XMPP_CERT_SUBJECT);
	char *why = cg_asprintf("TLS: server certificate refused (%s; "
	                        "subject %s)",
	                        errormsg ? errormsg : "unknown",
	                        subject ? subject : "?");
	if (xb) {
		const struct cg_cfg_xmpp *c = xb_cfg(xb);
		cg_error("xmpp: %s:%d: %s; trusted CAs: %s", server_name(xb),
		         c->port, why,
		         c->ca_file ? c->ca_file : "system store");
		/* The first reason is the one that matters (the chain is
		 * walked, and each level may complain). */
		if (xb->fail_reason == NULL)
			xb->fail_reason = why;
		else
			free(why);
	} else {
		cg_error("xmpp: %s", why);
		free(why);
	}
	return 0; /* never connect anyway */
}

/* libstrophe's own log lines: DEBUG carries every byte sent, SASL
 * included, so it is dropped; the rest goes to our log. */
static void
on_lib_log(void *arg, xmpp_log_level_t level, const char *area, const char *msg)
{
	struct xb_bridge *xb = arg;
	switch (level) {
	case XMPP_LEVEL_DEBUG:
		return;
	case XMPP_LEVEL_INFO:
		cg_debug("xmpp: libstrophe %s: %s", area, msg);
		return;
	case XMPP_LEVEL_WARN:
	case XMPP_LEVEL_ERROR:
		if (xb && xb->lib_error == NULL)
			xb->lib_error =
			    strcmp(area, "auth") == 0
			        ? cg_asprintf("authentication as %s%s failed "
			                      "(%s)",
			                      xb->component ? "component " : "",
			                      xb->component
			                          ? xb_cfg(xb)->component_domain
			                          : xb_cfg(xb)->jid,
			                      msg)
			        : cg_asprintf("%s: %s", area, msg);
		cg_warn("xmpp: libstrophe %s: %s", area, msg);
		return;
	}
}

/* ---- sending ---- */

static void
on_flush(struct cg_loop *l, void *arg)
{
	struct xb_bridge *xb = arg;
	xb->flush_timer = 0;
	if (xb->conn)
		xmpp_run_once(xb->ctx, 0);
}

void
xb_send_release(struct xb_bridge *xb, xmpp_stanza_t *st)
{
	if (xb->conn && xb->state == XB_ONLINE) {
		xmpp_send(xb->conn, st);
		if (xb->flush_timer == 0 && xb->gw->loop && !xb->stopping)
			xb->flush_timer =
			    cg_loop_timer(xb->gw->loop, 0, on_flush, xb);
	}
	xmpp_stanza_release(st);
}

/* ---- iq: answer pings and disco#info, refuse the rest ---- */

static int
on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct xb_bridge *xb = arg;
	const char *type = xmpp_stanza_get_type(st);
	if (type == NULL ||
	    (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
		return 1;
	xmpp_stanza_t *q = xmpp_stanza_get_children(st);
	while (q && !xmpp_stanza_is_tag(q))
		q = xmpp_stanza_get_next(q);
	const char *ns = q ? xmpp_stanza_get_ns(q) : NULL;
	xmpp_stanza_t *r;
	if (strcmp(type, "get") == 0 && ns && strcmp(ns, NS_PING) == 0) {
		r = xmpp_stanza_reply(st);
		xmpp_stanza_set_type(r, "result");
	} else if (strcmp(type, "get") == 0 && ns &&
	           strcmp(ns, NS_DISCO_INFO) == 0 &&
	           xmpp_stanza_get_attribute(q, "node") == NULL) {
		r = xmpp_stanza_reply(st);
		xmpp_stanza_set_type(r, "result");
		xmpp_stanza_t *query = xb_el(xb->ctx, "query", NS_DISCO_INFO);
		xmpp_stanza_t *id = xb_el(xb->ctx, "identity", NULL);
		xmpp_stanza_set_attribute(id, "category", "client");
		xmpp_stanza_set_attribute(id, "type", "bot");
		xmpp_stanza_set_attribute(id, "name", "coopgate");
		xmpp_stanza_add_child_ex(query, id, 0);
		static const char *const features[] = {
		    NS_DISCO_INFO, NS_PING,  NS_MUC,
		    NS_SID,        NS_REPLY, NS_FALLBACK,
		};
		for (size_t i = 0; i < sizeof features / sizeof *features;
		     i++) {
			xmpp_stanza_t *f = xb_el(xb->ctx, "feature", NULL);
			xmpp_stanza_set_attribute(f, "var", features[i]);
			xmpp_stanza_add_child_ex(query, f, 0);
		}
		xmpp_stanza_add_child_ex(r, query, 0);
	} else {
		r = xmpp_stanza_reply_error(st, "cancel", "service-unavailable",
		                            NULL);
	}
	xb_send_release(xb, r);
	return 1;
}

/* ---- connection ---- */

static const char *
stream_error_name(xmpp_error_type_t t)
{
	switch (t) {
	case XMPP_SE_CONFLICT:
		return "conflict (another session took over)";
	case XMPP_SE_CONN_TIMEOUT:
		return "connection timeout";
	case XMPP_SE_HOST_UNKNOWN:
		return "host unknown";
	case XMPP_SE_NOT_AUTHORIZED:
		return "not authorized";
	case XMPP_SE_POLICY_VIOLATION:
		return "policy violation";
	case XMPP_SE_SYSTEM_SHUTDOWN:
		return "server shutting down";
	case XMPP_SE_SEE_OTHER_HOST:
		return "see other host";
	case XMPP_SE_RESOURCE_CONSTRAINT:
		return "resource constraint";
	default:
		return "stream error";
	}
}

static double
random_unit(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (uint32_t)random();
	return (double)r / 4294967296.0;
}

static void
schedule_reconnect(struct xb_bridge *xb)
{
	int64_t d =
	    (int64_t)((double)xb->backoff_ms * (0.75 + 0.5 * random_unit()));
	xb->reconnect_at = cg_mono_ms() + d;
	xb->backoff_ms *= 2;
	if (xb->backoff_ms > XB_BACKOFF_MAX)
		xb->backoff_ms = XB_BACKOFF_MAX;
	cg_info("xmpp: reconnecting in %lld ms", (long long)d);
}

/* The session is up: handlers, presence, rooms. */
static void
session_started(struct xb_bridge *xb)
{
	xmpp_conn_t *conn = xb->conn;
	xb->state = XB_ONLINE;
	xb->online_since = cg_mono_ms();
	xmpp_handler_add(conn, xb_inbound_on_message, NULL, "message", NULL,
	                 xb);
	xmpp_handler_add(conn, xb_muc_on_presence, NULL, "presence", NULL, xb);
	xmpp_handler_add(conn, on_iq, NULL, "iq", NULL, xb);
	if (xb->component)
		cg_info("xmpp: connected to %s:%d as component %s (XEP-0114, "
		        "no TLS)",
		        server_name(xb), xb_cfg(xb)->port,
		        xb_cfg(xb)->component_domain);
	else
		cg_info("xmpp: connected to %s:%d as %s (%s)", server_name(xb),
		        xb_cfg(xb)->port, xmpp_conn_get_bound_jid(conn),
		        xmpp_conn_is_secured(conn) ? "TLS verified" : "no TLS");
	cg_gateway_bridge_state(xb->gw, "xmpp", 1, NULL);
	if (!xb->component) /* a component has no presence of its own */
		xb_send_release(xb, xmpp_presence_new(xb->ctx));
	for (size_t i = 0; i < xb->nrooms; i++)
		xb_muc_join(xb, &xb->rooms[i]);
	if (!xb->component)
		xb_upload_probe(xb);
	xb_fetch_resume(xb);
}

static void
on_conn(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
        xmpp_stream_error_t *se, void *arg)
{
	struct xb_bridge *xb = arg;
	if (conn != xb->conn)
		return;
	if (event == XMPP_CONN_CONNECT) {
		session_started(xb);
		return;
	}
	if (event == XMPP_CONN_RAW_CONNECT)
		return;
	/* XMPP_CONN_DISCONNECT or XMPP_CONN_FAIL */
	struct cg_buf why = CG_BUF_INIT;
	if (xb->fail_reason)
		cg_buf_puts(&why, xb->fail_reason);
	else if (se)
		cg_buf_printf(&why, "%s%s%s", stream_error_name(se->type),
		              se->text ? ": " : "", se->text ? se->text : "");
	else if (xb->lib_error)
		cg_buf_puts(&why, xb->lib_error);
	else if (error)
		cg_buf_puts(&why, strerror(error));
	else
		cg_buf_puts(&why, "connection closed");
	int was_online = xb->state == XB_ONLINE;
	if (was_online && cg_mono_ms() - xb->online_since > 60 * 1000)
		xb->backoff_ms = XB_BACKOFF_MIN;
	xb->state = XB_DOWN;
	xb->conn_dead = 1;
	xb->fd = -1;
	if (xb->stopping) {
		cg_buf_free(&why);
		return;
	}
	if (was_online)
		cg_warn("xmpp: connection to %s lost: %s", server_name(xb),
		        cg_buf_str(&why));
	else
		cg_warn("xmpp: cannot connect to %s:%d: %s", server_name(xb),
		        xb_cfg(xb)->port, cg_buf_str(&why));
	cg_gateway_bridge_state(xb->gw, "xmpp", 0, cg_buf_str(&why));
	char *retry = cg_asprintf("disconnected: %s", cg_buf_str(&why));
	xb_muc_all_out(xb);
	xb_deliver_retry_all(xb, retry);
	free(retry);
	cg_buf_free(&why);
	schedule_reconnect(xb);
}

static void
conn_release(struct xb_bridge *xb)
{
	if (xb->conn == NULL)
		return;
	xmpp_conn_t *conn = xb->conn;
	/* Releasing a live connection calls on_conn: mark it gone first. */
	xb->conn = NULL;
	xmpp_conn_release(conn);
	xb->fd = -1;
	xb->conn_dead = 0;
}

static void
start_failed(struct xb_bridge *xb)
{
	const struct cg_cfg_xmpp *c = xb_cfg(xb);
	char *why = cg_asprintf("cannot start connecting%s%s",
	                        xb->lib_error ? ": " : "",
	                        xb->lib_error ? xb->lib_error : "");
	cg_warn("xmpp: %s:%d: %s", server_name(xb), c->port, why);
	cg_gateway_bridge_state(xb->gw, "xmpp", 0, why);
	free(why);
	xb->state = XB_DOWN;
	xb->conn_dead = 1;
	schedule_reconnect(xb);
}

/* The warm-up's client attempt failed, as it must (DESIGN.md). */
static void
on_warmup(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
          xmpp_stream_error_t *se, void *arg)
{
	struct xb_bridge *xb = arg;
	if (conn != xb->conn || event == XMPP_CONN_RAW_CONNECT)
		return;
	if (event == XMPP_CONN_CONNECT) {
		/* something answers on 127.0.0.1:1: leave it */
		xmpp_disconnect(conn);
		return;
	}
	xb->warmup = 2;
	xb->fd = -1;
}

/* Component mode, after the warm-up: the XEP-0114 connection. */
static void
component_connect(struct xb_bridge *xb)
{
	const struct cg_cfg_xmpp *c = xb_cfg(xb);
	xb->warmup = 0;
	xb->fd = -1;
	free(xb->lib_error);
	xb->lib_error = NULL;
	cg_debug("xmpp: connecting to %s:%d as component %s", server_name(xb),
	         c->port, c->component_domain);
	if (xmpp_connect_component(xb->conn, server_name(xb),
	                           (unsigned short)c->port, on_conn,
	                           xb) != XMPP_EOK &&
	    xb->state == XB_CONNECTING)
		start_failed(xb);
}

static void
component_start(struct xb_bridge *xb)
{
	const struct cg_cfg_xmpp *c = xb_cfg(xb);
	xmpp_conn_t *conn = xmpp_conn_new(xb->ctx);
	xmpp_conn_set_flags(conn, XMPP_CONN_FLAG_DISABLE_TLS);
	xmpp_conn_set_jid(conn, c->component_domain);
	xmpp_conn_set_pass(conn,
	                   c->component_secret ? c->component_secret : "");
	xmpp_conn_set_sockopt_callback(conn, on_sockopt);
	xb->conn = conn;
	xb->state = XB_CONNECTING;
	xb->warmup = 1;
	if (xmpp_connect_client(conn, "127.0.0.1", 1, on_warmup, xb) !=
	    XMPP_EOK)
		xb->warmup = 2;
}

static void
connect_start(struct xb_bridge *xb)
{
	const struct cg_cfg_xmpp *c = xb_cfg(xb);
	conn_release(xb);
	free(xb->fail_reason);
	free(xb->lib_error);
	xb->fail_reason = xb->lib_error = NULL;
	if (xb->component) {
		component_start(xb);
		return;
	}
	xmpp_conn_t *conn = xmpp_conn_new(xb->ctx);
	long flags = XMPP_CONN_FLAG_DISABLE_SM;
	flags |= c->tls == CG_TLS_NONE ? XMPP_CONN_FLAG_DISABLE_TLS
	                               : XMPP_CONN_FLAG_MANDATORY_TLS;
	xmpp_conn_set_flags(conn, flags);
	xmpp_conn_set_jid(conn, c->jid);
	xmpp_conn_set_pass(conn, c->password ? c->password : "");
	if (c->ca_file)
		xmpp_conn_set_cafile(conn, c->ca_file);
	xmpp_conn_set_certfail_handler(conn, on_certfail);
	xmpp_conn_set_sockopt_callback(conn, on_sockopt);
	xb->conn = conn;
	xb->state = XB_CONNECTING;
	cg_debug("xmpp: connecting to %s:%d as %s (tls %s)", server_name(xb),
	         c->port, c->jid, c->tls == CG_TLS_NONE ? "none" : "required");
	if (xmpp_connect_client(conn, c->host, (unsigned short)c->port, on_conn,
	                        xb) != XMPP_EOK &&
	    xb->state == XB_CONNECTING)
		start_failed(xb);
}

/* Let libstrophe work for up to `rounds` calls; release a dead conn. */
static void
pump(struct xb_bridge *xb, int rounds)
{
	for (int i = 0; i < rounds && xb->conn && !xb->conn_dead; i++) {
		xmpp_run_once(xb->ctx, 0);
		if (xb->warmup == 2) /* outside libstrophe's callbacks */
			component_connect(xb);
	}
	if (xb->conn_dead)
		conn_release(xb);
}

void
xb_conn_lost(struct xb_bridge *xb, const char *why)
{
	if (xb->conn == NULL || xb->state == XB_DOWN)
		return;
	if (xb->fail_reason == NULL)
		xb->fail_reason = cg_strdup(why);
	/* The peer may be gone: do not wait for its </stream>. */
	on_conn(xb->conn, XMPP_CONN_DISCONNECT, 0, NULL, xb);
}

/* ---- bridge ops ---- */

static struct xb_bridge *
impl(struct cg_bridge *b)
{
	return b->impl;
}

static int
xb_start(struct cg_bridge *b)
{
	struct xb_bridge *xb = impl(b);
	xb->backoff_ms = XB_BACKOFF_MIN;
	connect_start(xb);
	return 0;
}

static int
xb_fds(struct cg_bridge *b, struct pollfd *pfds, int max)
{
	struct xb_bridge *xb = impl(b);
	int n = 0;
	if (max > 0 && xb->http && xb_http_outstanding(xb->http) > 0) {
		pfds[n].fd = xb_http_fd(xb->http);
		pfds[n].events = POLLIN;
		pfds[n++].revents = 0;
	}
	if (max <= n || xb->conn == NULL || xb->conn_dead || xb->fd < 0)
		return n;
	pfds += n;
	pfds[0].fd = xb->fd;
	pfds[0].revents = 0;
	if (xmpp_conn_is_connecting(xb->conn))
		pfds[0].events = POLLOUT;
	else
		pfds[0].events =
		    (short)(POLLIN |
		            (xmpp_conn_send_queue_len(xb->conn) > 0 ? POLLOUT
		                                                    : 0));
	return n + 1;
}

static void
xb_on_ready(struct cg_bridge *b, int fd, short revents)
{
	struct xb_bridge *xb = impl(b);
	if (xb->http && fd == xb_http_fd(xb->http)) {
		struct xb_http_job *j;
		while ((j = xb_http_take_done(xb->http)) != NULL) {
			if (j->tag == XB_FILES_UPLOAD)
				xb_upload_done(xb, j);
			else
				xb_fetch_done(xb, j);
			xb_http_job_free(j);
		}
		return;
	}
	/* 4 KiB per call; a 16 KiB TLS record may wait decrypted in OpenSSL
	 * where poll() cannot see it. */
	pump(xb, 8);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

static int64_t
xb_tick(struct cg_bridge *b, int64_t now)
{
	struct xb_bridge *xb = impl(b);
	pump(xb, 1);
	if (xb->stopping)
		return 0;
	if (xb->state == XB_DOWN && xb->conn == NULL && now >= xb->reconnect_at)
		connect_start(xb);
	switch (xb->state) {
	case XB_DOWN:
		return xb->reconnect_at > now ? xb->reconnect_at : now + 100;
	case XB_CONNECTING:
		return now + 100;
	case XB_ONLINE:
		break;
	}
	int64_t wake = now + XB_IDLE_TICK;
	wake = earliest(wake, xb_muc_tick(xb, now));
	wake = earliest(wake, xb_deliver_tick(xb, now));
	return wake;
}

static int
xb_ready(struct cg_bridge *b)
{
	struct xb_bridge *xb = impl(b);
	/* Not waiting for the rooms: deliver() holds back the rows of rooms
	 * still joining and takes the rest (notices to people). */
	return xb->state == XB_ONLINE && !xb->stopping &&
	       xb->npend < XB_MAX_INFLIGHT;
}

static void
xb_stop(struct cg_bridge *b)
{
	struct xb_bridge *xb = impl(b);
	if (xb->flush_timer && xb->gw->loop)
		cg_loop_timer_cancel(xb->gw->loop, xb->flush_timer);
	xb->flush_timer = 0;
	xb_deliver_retry_all(xb, "gateway stopping");
	/* Stopped mid-handshake: let it finish (briefly) and close it
	 * properly.  Released during SASL, libstrophe leaks its SCRAM state
	 * (the handler's user data), which the sanitizer build reports. */
	xb->stopping = 1; /* no flush timer, no line stored from here on */
	int64_t until = cg_mono_ms() + 1000;
	while (xb->conn && xb->state == XB_CONNECTING && !xb->conn_dead &&
	       !xb->warmup && cg_mono_ms() < until)
		xmpp_run_once(xb->ctx, 10);
	if (xb->conn && xb->state == XB_ONLINE) {
		/* Leave the rooms and close the stream politely, briefly (a
		 * component's occupants leave one by one: the server cannot
		 * tell they are gone when the stream closes). */
		if (xb->component)
			xb_muc_leave_all(xb);
		xmpp_disconnect(xb->conn);
		until = cg_mono_ms() + 1000;
		while (xb->conn && !xb->conn_dead && cg_mono_ms() < until)
			xmpp_run_once(xb->ctx, 10);
	}
	xb->stopping = 1;
	conn_release(xb);
	xb->state = XB_DOWN;
	xb_muc_all_out(xb);
	cg_gateway_bridge_state(xb->gw, "xmpp", 0, NULL);
}

static void
xb_destroy(struct cg_bridge *b)
{
	struct xb_bridge *xb = impl(b);
	xb->stopping = 1;
	xb_http_free(xb->http); /* aborts a transfer under way */
	conn_release(xb);
	xb_muc_rooms_free(xb);
	free(xb->pend);
	for (size_t i = 0; i < xb->norigins; i++)
		free(xb->upload_origins[i]);
	free(xb->upload_origins);
	free(xb->probe_id);
	free(xb->fetching);
	free(xb->fail_reason);
	free(xb->lib_error);
	free(xb->self_jid);
	owner_clear(xb->ctx);
	xmpp_ctx_free(xb->ctx);
	xmpp_shutdown();
	free(xb);
}

static const struct cg_bridge_ops xb_ops = {
    .name = "xmpp",
    .start = xb_start,
    .fds = xb_fds,
    .on_ready = xb_on_ready,
    .tick = xb_tick,
    .deliver = xb_deliver,
    .ready = xb_ready,
    .stop = xb_stop,
    .destroy = xb_destroy,
};

struct cg_bridge *
cg_xmpp_bridge_new(struct cg_gateway *gw)
{
	const struct cg_cfg_xmpp *c = &gw->cfg->xmpp;
	if (!c->present)
		return NULL;
	struct xb_bridge *xb = cg_calloc(1, sizeof *xb);
	xb->base.ops = &xb_ops;
	xb->base.gw = gw;
	xb->base.impl = xb;
	xb->gw = gw;
	xb->fd = -1;
	xb->state = XB_DOWN;
	xb->backoff_ms = XB_BACKOFF_MIN;
	if (c->mode == CG_XMPP_COMPONENT) {
		xb->component = 1;
		xb->self_jid =
		    cg_asprintf("gateway@%s/coopgate", c->component_domain);
		if (c->tls != CG_TLS_NONE)
			cg_warn("xmpp: component mode: XEP-0114 streams are "
			        "not encrypted, so xmpp.tls does not apply; "
			        "keep %s:%d on loopback or a trusted network",
			        server_name(xb), c->port);
	}
	xmpp_initialize();
	xb->log.handler = on_lib_log;
	xb->log.userdata = xb;
	xb->ctx = xmpp_ctx_new(NULL, &xb->log);
	owner_set(xb->ctx, xb);
	xb_muc_rooms_init(xb);
	return &xb->base;
}
