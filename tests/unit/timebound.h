/*
 * timebound.h: the time bounds of the tests that show a pass is linear.
 * Those tests guard against quadratic code that took 10 to 60 s on their
 * inputs; their bounds are set for a plain build on a loaded 2-core box.
 * A sanitizer build runs several times slower, so the bounds grow with it:
 * the tests still catch the quadratic cases, and never flake on ASan.
 */
#ifndef CG_TEST_TIMEBOUND_H
#define CG_TEST_TIMEBOUND_H

#if defined(__SANITIZE_ADDRESS__)
#define CG_TEST_SLOWDOWN 5
#else
#define CG_TEST_SLOWDOWN 1
#endif

#endif
