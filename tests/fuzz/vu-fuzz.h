/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-fuzz.h - shared pieces of the vhost-user core fuzz targets: a device
 * that accepts everything, front-end helpers that never assert on what
 * the back-end does, and a consumer that pops and completes buffers.  The
 * socketpair, the VuDev's loop, the wire and guest memory are the tests'
 * shared driver (tests/vu-driver).
 */
#ifndef VU_FUZZ_H
#define VU_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vu/vu-dev.h"
#include "vu/vu-msg.h"
#include "tests/vu-driver/vud-dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzCtx {
    int sock;            /* front-end end */
    VuDev *dev;
    VudWatches watches;
} FuzzCtx;

const VuDevIface *fuzz_iface(void);

/* New device over a fresh socketpair (quiet logs, no recv waits). */
void fuzz_ctx_init(FuzzCtx *ctx, unsigned int num_queues);
void fuzz_ctx_fini(FuzzCtx *ctx);
/* Send bytes (+fds, not closed) to the back-end. Return: false if full. */
bool fuzz_send(FuzzCtx *ctx, const void *buf, size_t len, const int *fds, unsigned int nfds);
/* Send a well-formed message and dispatch it; drains any reply. */
bool fuzz_msg(FuzzCtx *ctx, uint32_t req, const void *payload, uint32_t size, const int *fds,
              unsigned int nfds, void *reply, size_t reply_max, int *reply_fd);
/* Dispatch while the back-end has bytes to read. Return: false on drop. */
bool fuzz_dispatch_pending(FuzzCtx *ctx);
void fuzz_drain_replies(FuzzCtx *ctx);
/* Run every watch callback once. */
void fuzz_run_watches(FuzzCtx *ctx);
/* Pop, touch every byte, push/unpop/detach, notify; @sel steers choices. */
unsigned int fuzz_exercise_queue(FuzzCtx *ctx, unsigned int q, unsigned int max,
                                 const uint8_t *sel, size_t nsel);

#endif /* VU_FUZZ_H */
