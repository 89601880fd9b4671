/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * byte-ring.h - a bounded byte FIFO between a driver thread and the main
 * thread (the caller provides the locking), with iovec ends.
 *
 * The threaded drivers stage audio here: playback writes go in from guest
 * iovecs and come out in process(); capture goes the other way.  Pushing
 * into a full ring drops the oldest data in whole units (a period), which
 * is how a capture overrun loses audio.  Header-only: used by modules.
 */
#ifndef VSND_AUDIO_BYTE_RING_H
#define VSND_AUDIO_BYTE_RING_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "iov-util.h"

typedef struct VsndRing {
    uint8_t *buf;
    size_t cap, head, fill;
} VsndRing;

static inline void vsnd_ring_init(VsndRing *r, size_t cap)
{
    r->buf = g_malloc(cap);
    r->cap = cap;
    r->head = r->fill = 0;
}

static inline void vsnd_ring_clear(VsndRing *r)
{
    g_free(r->buf);
    memset(r, 0, sizeof(*r));
}

static inline size_t vsnd_ring_room(const VsndRing *r)
{
    return r->cap - r->fill;
}

/* The contiguous stretch at logical offset @off (from head), at most @len. */
static inline uint8_t *vsnd_ring_span(const VsndRing *r, size_t off, size_t *len)
{
    size_t pos = (r->head + off) % r->cap;

    *len = MIN(*len, r->cap - pos);
    return r->buf + pos;
}

/**
 * vsnd_ring_push() - append @len bytes of @src.
 * @drop_unit: when full, the oldest data is dropped this many bytes at a
 *             time (at least 1) to make room.
 * Return: the number of bytes dropped (0: no overrun).
 */
static inline size_t vsnd_ring_push(VsndRing *r, const uint8_t *src, size_t len,
                                    size_t drop_unit)
{
    size_t dropped = 0;

    while (len > 0) {
        size_t n = MIN(len, vsnd_ring_room(r));
        uint8_t *dst;

        if (n == 0) {
            size_t drop = MIN(MAX(drop_unit, (size_t)1), r->fill);
            r->head = (r->head + drop) % r->cap;
            r->fill -= drop;
            dropped += drop;
            continue;
        }
        dst = vsnd_ring_span(r, r->fill, &n);
        memcpy(dst, src, n);
        r->fill += n;
        src += n;
        len -= n;
    }
    return dropped;
}

/* Append @len bytes gathered from @iov; the caller checked the room. */
static inline void vsnd_ring_push_iov(VsndRing *r, const struct iovec *iov, unsigned int n,
                                      size_t len)
{
    for (size_t done = 0; done < len;) {
        size_t l = len - done;
        uint8_t *dst = vsnd_ring_span(r, r->fill, &l);
        vsnd_iov_to_buf(iov, n, done, dst, l);
        r->fill += l;
        done += l;
    }
}

/* Remove @len (<= fill) bytes into @dst, or just drop them if NULL. */
static inline void vsnd_ring_pop(VsndRing *r, uint8_t *dst, size_t len)
{
    for (size_t done = 0; done < len;) {
        size_t l = len - done;
        const uint8_t *src = vsnd_ring_span(r, 0, &l);
        if (dst)
            memcpy(dst + done, src, l);
        r->head = (r->head + l) % r->cap;
        r->fill -= l;
        done += l;
    }
}

/* Remove @len (<= fill) bytes, scattering them into @iov. */
static inline void vsnd_ring_pop_iov(VsndRing *r, const struct iovec *iov, unsigned int n,
                                     size_t len)
{
    for (size_t done = 0; done < len;) {
        size_t l = len - done;
        const uint8_t *src = vsnd_ring_span(r, 0, &l);
        vsnd_buf_to_iov(iov, n, done, src, l);
        r->head = (r->head + l) % r->cap;
        r->fill -= l;
        done += l;
    }
}

#endif /* VSND_AUDIO_BYTE_RING_H */
