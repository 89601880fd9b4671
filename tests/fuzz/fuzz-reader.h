/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-reader.h - take fixed-size fields off the front of a fuzz input
 * (host byte order).  Header-only.
 */
#ifndef FUZZ_READER_H
#define FUZZ_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct Reader {
    const uint8_t *p;
    size_t left;
} Reader;

/* Copy the next @n bytes to @out.  Return: false (nothing taken) when
 * fewer are left. */
static inline bool rd(Reader *r, void *out, size_t n)
{
    if (r->left < n) {
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

#endif /* FUZZ_READER_H */
