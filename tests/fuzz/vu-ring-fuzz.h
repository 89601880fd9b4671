/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vu-ring-fuzz.h - the shared ring fuzzing body (split or packed). */
#ifndef VU_RING_FUZZ_H
#define VU_RING_FUZZ_H

#include <stdlib.h>
#include <sys/eventfd.h>

#include <glib.h>

#include "vu-fuzz.h"

static inline int eventfd_for_fuzz(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (fd < 0) {
        abort();
    }
    return fd;
}

int fuzz_ring_one(const uint8_t *data, size_t size, bool packed);

#endif /* VU_RING_FUZZ_H */
