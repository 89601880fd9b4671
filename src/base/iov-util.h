/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iov-util.h - gather/scatter between an iovec array and flat memory, for
 * the vhost-user core (guest buffers) and the audio drivers alike.
 *
 * Header-only so that driver modules can use it without daemon symbols.
 * Guest buffers arrive as iovecs split at page boundaries, so a frame may
 * straddle two elements; drivers needing whole frames gather first.
 */
#ifndef VSND_IOV_UTIL_H
#define VSND_IOV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

/* Total bytes of @iov[0..@n). */
static inline size_t vsnd_iov_size(const struct iovec *iov, unsigned int n)
{
    size_t total = 0;

    for (unsigned int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* Copy up to @len bytes between @iov (from byte @offset on) and @buf;
 * @to_iov chooses the direction.  Return: bytes copied. */
static inline size_t vsnd_iov_copy(const struct iovec *iov, unsigned int n, size_t offset,
                                   void *buf, size_t len, bool to_iov)
{
    size_t done = 0;

    for (unsigned int i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;
        char *p;

        if (offset >= l) {
            offset -= l;
            continue;
        }
        p = (char *)iov[i].iov_base + offset;
        l = l - offset < len - done ? l - offset : len - done;
        if (to_iov)
            memcpy(p, (const char *)buf + done, l);
        else
            memcpy((char *)buf + done, p, l);
        done += l;
        offset = 0;
    }
    return done;
}

/* Copy up to @len bytes out of @iov, skipping @offset first. Return: copied. */
static inline size_t vsnd_iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset,
                                     void *buf, size_t len)
{
    return vsnd_iov_copy(iov, n, offset, buf, len, false);
}

/* Copy up to @len bytes into @iov, skipping @offset first. Return: copied. */
static inline size_t vsnd_buf_to_iov(const struct iovec *iov, unsigned int n, size_t offset,
                                     const void *buf, size_t len)
{
    return vsnd_iov_copy(iov, n, offset, (void *)buf, len, true);
}

#endif /* VSND_IOV_UTIL_H */
