/*
 * loop.c: the one event loop, after Redis's ae.c.  Each turn: ask the
 * gateway which fds to watch and when it next wants to run (prepare), fold
 * in the timers, poll(), then dispatch signals, timers and ready fds.
 * Signals arrive through a self-pipe, so handlers do nothing but write one
 * byte.  Must never: block anywhere but in poll(), or run a callback from a
 * signal handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "gateway/loop.h"
#include "lib/util.h"

#define LOOP_MAX_FDS 1024 /* the LMTP listener serves many clients */
#define LOOP_MAX_SIGNALS 8

struct cg_timer {
	uint64_t id;
	int64_t when; /* monotonic ms */
	cg_timer_fn *fn;
	void *arg;
};

struct cg_loop {
	int sigpipe[2];
	struct {
		int signo;
		cg_signal_fn *fn;
		void *arg;
	} sig[LOOP_MAX_SIGNALS];
	int nsig;
	struct cg_timer *timers; /* unsorted: there are only a few */
	size_t ntimers;
	uint64_t next_timer_id;
	cg_turn_prepare_fn *prepare;
	cg_turn_ready_fn *ready;
	void *turn_arg;
	int stop;
};

/* The write end of the self-pipe: the only state a signal handler sees. */
static volatile sig_atomic_t loop_sig_fd = -1;

static void
loop_signal_handler(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	if (loop_sig_fd >= 0)
		(void)!write(loop_sig_fd, &b, 1);
	errno = saved;
}

struct cg_loop *
cg_loop_new(void)
{
	struct cg_loop *l = cg_calloc(1, sizeof *l);
	if (pipe2(l->sigpipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		free(l);
		return NULL;
	}
	loop_sig_fd = l->sigpipe[1];
	l->next_timer_id = 1;
	return l;
}

void
cg_loop_free(struct cg_loop *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < l->nsig; i++)
		signal(l->sig[i].signo, SIG_DFL);
	loop_sig_fd = -1;
	close(l->sigpipe[0]);
	close(l->sigpipe[1]);
	free(l->timers);
	free(l);
}

int
cg_loop_on_signal(struct cg_loop *l, int signo, cg_signal_fn *fn, void *arg)
{
	if (l->nsig == LOOP_MAX_SIGNALS)
		return -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = loop_signal_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(signo, &sa, NULL) != 0)
		return -1;
	l->sig[l->nsig].signo = signo;
	l->sig[l->nsig].fn = fn;
	l->sig[l->nsig].arg = arg;
	l->nsig++;
	return 0;
}

uint64_t
cg_loop_timer(struct cg_loop *l, int64_t delay_ms, cg_timer_fn *fn, void *arg)
{
	l->timers = cg_realloc(l->timers, (l->ntimers + 1) * sizeof *l->timers);
	struct cg_timer *t = &l->timers[l->ntimers++];
	t->id = l->next_timer_id++;
	t->when = cg_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	t->arg = arg;
	return t->id;
}

void
cg_loop_timer_cancel(struct cg_loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->ntimers];
			return;
		}
}

void
cg_loop_set_turn(struct cg_loop *l, cg_turn_prepare_fn *prepare,
                 cg_turn_ready_fn *ready, void *arg)
{
	l->prepare = prepare;
	l->ready = ready;
	l->turn_arg = arg;
}

void
cg_loop_stop(struct cg_loop *l)
{
	l->stop = 1;
}

int
cg_loop_stopping(const struct cg_loop *l)
{
	return l->stop;
}

static void
dispatch_signals(struct cg_loop *l)
{
	unsigned char buf[32];
	ssize_t n;
	while ((n = read(l->sigpipe[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			for (int j = 0; j < l->nsig; j++)
				if (l->sig[j].signo == buf[i])
					l->sig[j].fn(l, buf[i], l->sig[j].arg);
}

/* Run every due timer once; a timer may add timers (run next turn). */
static void
dispatch_timers(struct cg_loop *l)
{
	int64_t now = cg_mono_ms();
	size_t n = l->ntimers;
	for (size_t i = 0; i < n && i < l->ntimers;) {
		if (l->timers[i].when > now) {
			i++;
			continue;
		}
		struct cg_timer t = l->timers[i];
		l->timers[i] = l->timers[--l->ntimers];
		n--;
		t.fn(l, t.arg);
	}
}

int
cg_loop_run(struct cg_loop *l)
{
	struct pollfd pfds[LOOP_MAX_FDS];
	while (!l->stop) {
		int npfds = 1;
		pfds[0].fd = l->sigpipe[0];
		pfds[0].events = POLLIN;
		pfds[0].revents = 0;
		int64_t wake = 0;
		if (l->prepare) {
			int extra = 0;
			wake = l->prepare(l, pfds + 1, &extra, LOOP_MAX_FDS - 1,
			                  l->turn_arg);
			npfds += extra;
		}
		for (size_t i = 0; i < l->ntimers; i++)
			if (wake == 0 || l->timers[i].when < wake)
				wake = l->timers[i].when;
		int timeout = -1;
		if (wake) {
			int64_t d = wake - cg_mono_ms();
			timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
		}
		int r = poll(pfds, (nfds_t)npfds, timeout);
		if (r < 0 && errno != EINTR) {
			cg_error("poll: %s", strerror(errno));
			return -1;
		}
		if (r > 0 && (pfds[0].revents & POLLIN))
			dispatch_signals(l);
		dispatch_timers(l);
		if (l->ready && !l->stop)
			l->ready(l, pfds + 1, npfds - 1, l->turn_arg);
	}
	return 0;
}
