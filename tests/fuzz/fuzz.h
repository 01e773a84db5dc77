/*
 * fuzz.h: what every fuzz target in tests/fuzz/ shares.  A target is one
 * file, fuzz_NAME.c, defining LLVMFuzzerTestOneInput(); it is linked
 * either with libFuzzer (make fuzz: clang, -fsanitize=fuzzer,address,
 * undefined) or with replay.c (make fuzz-replay, part of make check: the
 * normal compiler and flags), which feeds it each file of
 * tests/fuzz/corpus/NAME/.
 *
 * Must never: touch the network, or leave files behind outside the
 * directory fuzz_tmpdir() names.
 */
#ifndef CG_FUZZ_H
#define CG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a NUL-terminated string (a NUL inside ends it).  Caller frees. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* A private directory for this process, made on first use under $TMPDIR
 * (else /tmp) and removed at exit.  Static string. */
const char *fuzz_tmpdir(void);

/* Write data to fuzz_tmpdir()/name; the path (static until the next call)
 * or NULL with a message on stderr. */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

#endif
