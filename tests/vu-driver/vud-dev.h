/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vud-dev.h - a VuDev in the test's own process, on the other end of a
 * socketpair from the test's front-end, with a main loop that is only a
 * table of watches the test runs when it wants.  Shared by the vhost-user
 * core's unit tests (tests/test-vu-common) and its fuzz targets
 * (tests/fuzz/vu-fuzz); the messages go through vud-wire.h, guest memory
 * is guest-mem.h.
 */
#ifndef VSND_TESTS_VUD_DEV_H
#define VSND_TESTS_VUD_DEV_H

#include <stdbool.h>

#include "vu/vu-dev.h"

#define VUD_MAX_WATCHES 64

typedef struct VudWatch {
    int fd;
    VuWatchCb cb;
    void *data;
} VudWatch;

/* The fds the VuDev asked its loop to watch (the loop argument of
 * vud_loop_ops()). */
typedef struct VudWatches {
    VudWatch w[VUD_MAX_WATCHES];
    unsigned int n;
} VudWatches;

const VuLoopOps *vud_loop_ops(void);

/*
 * vud_dev_new() - a socketpair and a VuDev on one end of it.
 * @front: receives the other end (the front-end's; the caller closes it).
 * @watches: the loop (emptied here); every watch is gone after vu_dev_free().
 */
VuDev *vud_dev_new(int *front, unsigned int num_queues, unsigned int max_queue_size,
                   const VuDevIface *iface, void *opaque, VudWatches *watches);

/* Run the callback of every watched fd that is readable within
 * @timeout_ms (one poll()).  Return: callbacks run. */
unsigned int vud_watches_run_ready(VudWatches *watches, VuDev *dev, int timeout_ms);
/* Run every watch's callback once, readable or not (a fuzz target's loop
 * that wakes everything). */
void vud_watches_run_all(VudWatches *watches, VuDev *dev);

#endif /* VSND_TESTS_VUD_DEV_H */
