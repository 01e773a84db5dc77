/*
 * utf8.h: reading and writing one UTF-8 sequence.  The MIME reader
 * (bridges/email/mime.c) and the HTML reader (bridges/email/html_text.c)
 * both decode untrusted bytes and write code points; they share these.
 * Pure functions, no state.
 * Must never: accept an overlong form, a surrogate or a code point past
 * U+10FFFF, or read past the n bytes it is given.
 */
#ifndef CG_UTF8_H
#define CG_UTF8_H

#include <stddef.h>

#include "lib/util.h"

/* The valid UTF-8 sequence at s (n bytes left): its length, and its code
 * point in *cp when cp is not NULL; 0 when the bytes there are not valid
 * UTF-8 (or n is 0). */
size_t cg_utf8_decode(const unsigned char *s, size_t n, unsigned long *cp);

/* Append code point cp to b as UTF-8; NUL, surrogates and values past
 * U+10FFFF become U+FFFD. */
void cg_utf8_put(struct cg_buf *b, unsigned long cp);

#endif
