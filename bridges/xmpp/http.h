/*
 * http.h: private to bridges/xmpp/: HTTP for files (libcurl), off the
 * loop thread.  XEP-0363 uploads (PUT a SchutzBox file to the slot the
 * upload service gave) and fetches of files shared in a room (GET into
 * memory, size- and time-capped).
 *
 * One worker thread runs the jobs one after another; a finished job is
 * handed back through a pipe the bridge watches (xb_http_fd()), and
 * xb_http_take_done() returns it on the loop thread.  TLS: peer certificate
 * and host name are always verified (ca_file when set, else the system's
 * CAs); redirects are not followed; a job for a URL that is not the
 * upload service's (`external`) may not connect to loopback, private or
 * link-local addresses (no requests into the gateway's own network on a
 * room member's behalf).  Proxies named in the environment are never
 * used (the address check must see the real peer).
 *
 * Ownership: a job belongs to the caller until xb_http_submit(), to the
 * worker until it comes back from xb_http_take_done(), then to the caller
 * again (xb_http_job_free()).  The worker touches nothing but the job.
 */
#ifndef CG_XMPP_HTTP_H
#define CG_XMPP_HTTP_H

#include <stddef.h>
#include <stdint.h>

enum xb_http_kind { XB_HTTP_PUT, XB_HTTP_GET };

#define XB_HTTP_MAX_HEADERS 4

struct xb_http_job {
	enum xb_http_kind kind;
	char *url;
	char *headers[XB_HTTP_MAX_HEADERS]; /* "Name: value" (PUT), or NULL */
	char *content_type; /* PUT: sent; GET: what the server said */
	char *ca_file;      /* NULL: the system's CAs */
	int external;       /* refuse private/loopback addresses */
	int fd;             /* PUT: the body (read from offset 0); GET: a
	                       memfd receiving it (the worker creates it) */
	int64_t size;       /* PUT: bytes to send; GET: bytes received */
	int64_t max;        /* GET: give up above this many bytes */
	long timeout_s;     /* whole transfer */
	/* results */
	long status; /* HTTP status, 0 when none */
	int too_big; /* GET: over max */
	char *error; /* NULL: success (2xx); else why, for a log
	                line and a note (no secrets: URLs of slots
	                are not in it) */
	/* the caller's: what the job is for (freed with the job) */
	int64_t key1, key2;
	int64_t message_id;
	int tag;
	char *result; /* e.g. the GET URL of an upload's slot */
	struct xb_http_job *next;
};

struct xb_http_client;
struct xb_http_client *xb_http_new(void);
void xb_http_free(struct xb_http_client *h); /* waits for the running job */
/* The fd to poll for POLLIN while jobs are out. */
int xb_http_fd(const struct xb_http_client *h);
/* Queue a job (the worker owns it until it comes back). */
void xb_http_submit(struct xb_http_client *h, struct xb_http_job *job);
/* A finished job, or NULL; drains the pipe. */
struct xb_http_job *xb_http_take_done(struct xb_http_client *h);
/* Jobs submitted and not yet taken back. */
size_t xb_http_outstanding(const struct xb_http_client *h);
void xb_http_job_free(struct xb_http_job *job);
/* Whether an address is one a room member must not make us reach
 * (loopback, private, link-local, site-local, CGNAT, multicast,
 * reserved, IETF-protocol and benchmarking ranges; IPv6 forms carrying an
 * IPv4 address -- mapped, SIIT, NAT64, 6to4 -- by that address; IPv4-
 * compatible ::/96 and local-use NAT64 64:ff9b:1::/48 always). */
struct sockaddr;
int xb_http_addr_private(const struct sockaddr *sa);

#endif
