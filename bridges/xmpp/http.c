/*
 * http.c: the libcurl worker of http.h.  One thread, one job at a time:
 * uploads and fetches are rare next to messages, and a slow one never
 * blocks the loop (only later files wait behind it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bridges/xmpp/http.h"
#include "lib/util.h"
#include "lib/version.h"

#define HTTP_CONNECT_TIMEOUT 10 /* s */

struct xb_http_client {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct xb_http_job *todo, *todo_tail; /* FIFO */
	struct xb_http_job *done;             /* LIFO; order does not matter */
	size_t outstanding;                   /* loop thread only */
	int pipe[2];
	int stop;
};

void
xb_http_job_free(struct xb_http_job *j)
{
	if (j == NULL)
		return;
	free(j->url);
	for (size_t i = 0; i < XB_HTTP_MAX_HEADERS; i++)
		free(j->headers[i]);
	free(j->content_type);
	free(j->ca_file);
	free(j->error);
	free(j->result);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

/* ---- one transfer (worker thread) ---- */

struct xfer {
	struct xb_http_job *job;
	const int *stop; /* the client stops: abort */
	int64_t pos;     /* PUT: bytes read so far */
};

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	ssize_t r = pread(x->job->fd, buf, size * n, (off_t)x->pos);
	if (r < 0)
		return CURL_READFUNC_ABORT;
	x->pos += r;
	return (size_t)r;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct xb_http_job *j = x->job;
	size_t len = size * n;
	if (j->size + (int64_t)len > j->max) {
		j->too_big = 1;
		return 0; /* CURLE_WRITE_ERROR */
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(j->fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	j->size += (int64_t)len;
	return len;
}

static int
v4_private(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
	       (a >> 20) == 0xac1 ||   /* 172.16/12 */
	       (a >> 16) == 0xc0a8 ||  /* 192.168/16 */
	       (a >> 16) == 0xa9fe ||  /* 169.254/16 */
	       (a >> 22) == 0x191 ||   /* 100.64/10 */
	       (a >> 8) == 0xc00000 || /* 192.0.0/24, IETF protocols */
	       (a >> 17) == 0x6309 ||  /* 198.18/15, benchmarking */
	       (a >> 28) >= 0xe;       /* multicast, reserved */
}

/* The IPv4 address in the four bytes at p. */
static uint32_t
v4_at(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int
bytes_are(const unsigned char *p, const unsigned char *want, size_t n)
{
	return memcmp(p, want, n) == 0;
}

/* IPv6 forms that carry an IPv4 address in their last (or, for 6to4,
 * third to sixth) bytes, which a gateway or the kernel may turn into an
 * IPv4 connection: judged by that IPv4 address.  1, and *v4, for one of
 * them. */
static int
v6_embedded_v4(const unsigned char *a, uint32_t *v4)
{
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	static const unsigned char siit[12] = {[8] = 0xff, [9] = 0xff};
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	if (bytes_are(a, mapped, 12) || bytes_are(a, siit, 12) ||
	    bytes_are(a, nat64, 12)) {
		*v4 = v4_at(a + 12);
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x02) { /* 2002::/16, 6to4 */
		*v4 = v4_at(a + 2);
		return 1;
	}
	return 0;
}

static int
v6_private(const unsigned char *a)
{
	static const unsigned char zero[12];
	static const unsigned char nat64_local[6] = {0x00, 0x64, 0xff,
	                                             0x9b, 0x00, 0x01};
	uint32_t v4;
	if (v6_embedded_v4(a, &v4))
		return v4_private(v4);
	return bytes_are(a, zero, 12) || /* ::/96: ::1, ::, v4-compatible */
	       bytes_are(a, nat64_local, 6) || /* 64:ff9b:1::/48 */
	       a[0] == 0xff ||                 /* multicast */
	       (a[0] & 0xfe) == 0xfc ||        /* fc00::/7, unique local */
	       (a[0] == 0xfe &&
	        (a[1] & 0x80) == 0x80); /* fe80::/10 link-local,
	                                   fec0::/10 site-local */
}

int
xb_http_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_private(
		    ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return v6_private(
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	return 1;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
            curl_off_t un)
{
	struct xfer *x = arg;
	return __atomic_load_n(x->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

static curl_socket_t
on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = arg;
	if (purpose != CURLSOCKTYPE_IPCXN ||
	    (x->job->external && xb_http_addr_private(&a->addr))) {
		free(x->job->error);
		x->job->error = cg_strdup(
		    "refused: the address is loopback, private or link-local");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void
run_job(struct xb_http_job *j, const int *stop)
{
	CURL *c = curl_easy_init();
	if (c == NULL) {
		j->error = cg_strdup("cannot start an HTTP transfer");
		return;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	struct xfer x = {.job = j, .stop = stop};
	struct curl_slist *hdrs = NULL;
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "coopgate/" COOPGATE_VERSION);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* never through a proxy named in the environment (http_proxy, ...):
	 * the address checks below must see the real peer */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (j->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, j->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, j->timeout_s);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	for (size_t i = 0; i < XB_HTTP_MAX_HEADERS; i++)
		if (j->headers[i])
			hdrs = curl_slist_append(hdrs, j->headers[i]);
	if (j->kind == XB_HTTP_PUT) {
		if (j->content_type) {
			char *ct =
			    cg_asprintf("Content-Type: %s", j->content_type);
			hdrs = curl_slist_append(hdrs, ct);
			free(ct);
		}
		hdrs = curl_slist_append(hdrs, "Expect:"); /* no 1 s wait */
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		                 (curl_off_t)j->size);
	} else {
		j->fd = memfd_create("coopgate-fetch", MFD_CLOEXEC);
		if (j->fd < 0) {
			j->error = cg_asprintf("cannot hold the file: %s",
			                       strerror(errno));
			goto out;
		}
		j->size = 0;
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
		                 (curl_off_t)j->max);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->status);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		j->too_big = 1;
	if (j->too_big) {
		free(j->error);
		j->error =
		    cg_asprintf("larger than %lld bytes", (long long)j->max);
	} else if (rc != CURLE_OK) {
		if (j->error == NULL) /* else: refused by on_open_socket */
			j->error = cg_strdup(*errbuf ? errbuf
			                             : curl_easy_strerror(rc));
	} else if (j->status < 200 || j->status > 299) {
		j->error =
		    cg_asprintf("the server answered HTTP %ld", j->status);
	} else {
		free(j->error);
		j->error = NULL;
	}
	if (j->kind == XB_HTTP_GET && j->error == NULL) {
		char *ct = NULL;
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		free(j->content_type);
		j->content_type = ct ? cg_strdup(ct) : NULL;
	}
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

static void *
worker(void *arg)
{
	struct xb_http_client *h = arg;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stop && h->todo == NULL)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		struct xb_http_job *j = h->todo;
		h->todo = j->next;
		if (h->todo == NULL)
			h->todo_tail = NULL;
		pthread_mutex_unlock(&h->mu);
		run_job(j, &h->stop);
		pthread_mutex_lock(&h->mu);
		j->next = h->done;
		h->done = j;
		char b = 1;
		ssize_t w = write(h->pipe[1], &b, 1); /* full pipe: already
		                                         signalled */
		(void)w;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* ---- the loop thread's side ---- */

struct xb_http_client *
xb_http_new(void)
{
	static int curl_ready;
	if (!curl_ready) { /* before any thread of ours uses libcurl */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	struct xb_http_client *h = cg_calloc(1, sizeof *h);
	if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->thread, NULL, worker, h) != 0) {
		close(h->pipe[0]);
		close(h->pipe[1]);
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		free(h);
		return NULL;
	}
	return h;
}

static void
free_list(struct xb_http_job *j)
{
	while (j) {
		struct xb_http_job *next = j->next;
		xb_http_job_free(j);
		j = next;
	}
}

void
xb_http_free(struct xb_http_client *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	free_list(h->todo);
	free_list(h->done);
	close(h->pipe[0]);
	close(h->pipe[1]);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

int
xb_http_fd(const struct xb_http_client *h)
{
	return h->pipe[0];
}

void
xb_http_submit(struct xb_http_client *h, struct xb_http_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&h->mu);
	if (h->todo_tail)
		h->todo_tail->next = j;
	else
		h->todo = j;
	h->todo_tail = j;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	h->outstanding++;
}

struct xb_http_job *
xb_http_take_done(struct xb_http_client *h)
{
	char buf[64];
	while (read(h->pipe[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&h->mu);
	struct xb_http_job *j = h->done;
	if (j)
		h->done = j->next;
	pthread_mutex_unlock(&h->mu);
	if (j) {
		j->next = NULL;
		h->outstanding--;
	}
	return j;
}

size_t
xb_http_outstanding(const struct xb_http_client *h)
{
	return h->outstanding;
}
