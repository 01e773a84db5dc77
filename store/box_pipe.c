/*
 * box_pipe.c: a bounded hand-over of buffers from the caller to one worker
 * thread (box_pipe.h).  The SchutzBox hashes at about half the speed it
 * encrypts, so a get hashes in the worker while the caller decrypts and
 * writes, and a put writes in the worker while the caller encrypts.
 * Must never: let the caller fill a buffer the worker still reads (slots
 * are used in order and at most NBUF are in flight), deliver signals to
 * the worker (it runs with all of them blocked), or keep plaintext in the
 * buffers it frees (they are wiped).
 */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>

#include "lib/util.h"
#include "store/box_pipe.h"

#define NBUF 3

struct cg_box_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* any change of produced, consumed or done */
	pthread_t thread;
	int threaded;
	cg_box_pipe_fn *fn;
	void *arg;
	size_t bufsize;
	unsigned char *buf[NBUF];
	size_t len[NBUF];
	unsigned long long produced, consumed; /* slot = count % NBUF */
	int done;                              /* the caller pushes no more */
	int rc;                                /* fn's first failure */
};

static void *
worker(void *arg)
{
	struct cg_box_pipe *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->consumed == p->produced && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->consumed == p->produced)
			break; /* done and drained */
		size_t slot = (size_t)(p->consumed % NBUF), n = p->len[slot];
		int failed = p->rc;
		pthread_mutex_unlock(&p->mu);
		/* After a failure, buffers are only released. */
		int r = failed ? 0 : p->fn(p->arg, p->buf[slot], n);
		pthread_mutex_lock(&p->mu);
		if (r != 0 && p->rc == 0)
			p->rc = r;
		p->consumed++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct cg_box_pipe *
cg_box_pipe_start(size_t bufsize, cg_box_pipe_fn *fn, void *arg)
{
	struct cg_box_pipe *p = cg_calloc(1, sizeof *p);
	p->fn = fn;
	p->arg = arg;
	p->bufsize = bufsize;
	for (int i = 0; i < NBUF; i++)
		p->buf[i] = cg_malloc(bufsize);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->threaded = pthread_create(&p->thread, NULL, worker, p) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

unsigned char *
cg_box_pipe_buf(struct cg_box_pipe *p)
{
	if (!p->threaded)
		return p->rc ? NULL : p->buf[0];
	pthread_mutex_lock(&p->mu);
	while (p->produced - p->consumed == NBUF)
		pthread_cond_wait(&p->cv, &p->mu);
	int failed = p->rc;
	unsigned char *b = p->buf[p->produced % NBUF];
	pthread_mutex_unlock(&p->mu);
	return failed ? NULL : b;
}

void
cg_box_pipe_push(struct cg_box_pipe *p, size_t n)
{
	if (!p->threaded) {
		if (p->rc == 0)
			p->rc = p->fn(p->arg, p->buf[0], n);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->len[p->produced % NBUF] = n;
	p->produced++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int
cg_box_pipe_finish(struct cg_box_pipe *p)
{
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->done = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	int rc = p->rc;
	for (int i = 0; i < NBUF; i++) {
		sodium_memzero(p->buf[i], p->bufsize);
		free(p->buf[i]);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}
