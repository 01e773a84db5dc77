/*
 * box_pipe.h: private to store/box*.c: hand full buffers from the calling
 * thread to one worker thread, so that hashing or writing one chunk runs
 * while the next is read and en- or decrypted.  A few buffers circulate:
 * memory stays constant.  The worker only ever runs `fn`; it never touches
 * the store.  If no thread can be started, fn runs in the caller.
 */
#ifndef CG_BOX_PIPE_H
#define CG_BOX_PIPE_H

#include <stddef.h>

struct cg_box_pipe;
/* Consume n bytes at p; nonzero stops the pipe (returned by finish). */
typedef int cg_box_pipe_fn(void *arg, const unsigned char *p, size_t n);

/* A pipe of buffers of bufsize bytes feeding fn(arg, ...). */
struct cg_box_pipe *cg_box_pipe_start(size_t bufsize, cg_box_pipe_fn *fn,
                                      void *arg);
/* The next buffer to fill (waits for a free one); NULL once fn failed. */
unsigned char *cg_box_pipe_buf(struct cg_box_pipe *p);
/* Hand the buffer from cg_box_pipe_buf(), holding n bytes, to fn. */
void cg_box_pipe_push(struct cg_box_pipe *p, size_t n);
/* Wait until fn has consumed everything pushed, stop the worker, free
 * the pipe; returns the first nonzero fn result, or 0. */
int cg_box_pipe_finish(struct cg_box_pipe *p);

#endif
