/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-ring-fuzz.c - descriptor-chain walking over fuzzed guest memory,
 * shared by fuzz-vu-split and fuzz-vu-packed.
 *
 * Input: byte 0 ring size (1 << (b % 9)), byte 1 feature/option bits,
 * bytes 2..3 the SET_VRING_BASE value's interesting bits, bytes 4..35 the
 * selectors that steer push/unpop/detach, the rest is copied over the two
 * 64 KiB guest regions (the ring, its buffers, indirect tables).  The
 * core's guard pages around every mapping turn any out-of-bounds access
 * into a crash.  With option bit 2 the run reconnects with the inflight
 * area (partly overwritten by fuzz bytes) and pops the resubmissions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vu-ring-fuzz.h"
#include "tests/vu-driver/guest-mem.h"
#include "tests/vu-driver/vud-wire.h"

#define REG_SIZE 65536
#define GPA0 0x10000ull
#define UVA0 0x7f0000010000ull

/* Two adjacent regions, each its own memfd, mapped once for all runs. */
static FgMem *guest;
static uint8_t *mem[2];

static void mem_init(void)
{
    static const FgMemLayout layout = {
        .nregions = 2, .region_size = REG_SIZE, .gpa = GPA0, .uva = UVA0,
        .uva_stride = REG_SIZE, .fd_per_region = true,
    };

    if (guest) {
        return;
    }
    guest = fg_mem_new_layout(&layout);
    for (int i = 0; i < 2; i++) {
        mem[i] = guest->region[i].host;
    }
}

static void u64msg(FuzzCtx *ctx, uint32_t req, uint64_t v)
{
    fuzz_msg(ctx, req, &v, sizeof(v), NULL, 0, NULL, 0, NULL);
}

static void state(FuzzCtx *ctx, uint32_t req, uint32_t index, uint32_t num)
{
    VuMsgState st = { index, num };

    fuzz_msg(ctx, req, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
}

static void setup(FuzzCtx *ctx, uint64_t features, unsigned int num, uint32_t base,
                  const VuMsgInflight *inf, int inflight_fd)
{
    uint8_t m[8 + FG_MAX_REGIONS * FG_MEM_REGION_SIZE];
    int memfds[FG_MAX_REGIONS];
    uint32_t mlen = (uint32_t)fg_mem_table(guest, m, memfds);
    uint8_t a[VUD_VRING_ADDR_SIZE];
    int kick = -1;
    uint64_t proto = 0;

    fuzz_msg(ctx, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, &proto, sizeof(proto),
             NULL);
    u64msg(ctx, VHOST_USER_SET_PROTOCOL_FEATURES, proto);
    u64msg(ctx, VHOST_USER_SET_FEATURES, features | (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
    if (inflight_fd >= 0) {
        fuzz_msg(ctx, VHOST_USER_SET_INFLIGHT_FD, inf, sizeof(*inf), &inflight_fd, 1, NULL, 0,
                 NULL);
    }
    fuzz_msg(ctx, VHOST_USER_SET_MEM_TABLE, m, mlen, memfds, 2, NULL, 0, NULL);
    state(ctx, VHOST_USER_SET_VRING_NUM, 0, num);
    state(ctx, VHOST_USER_SET_VRING_BASE, 0, base);
    vud_vring_addr(a, 0, 0, fg_gpa_to_uva(guest, GPA0), fg_gpa_to_uva(guest, GPA0 + 0x2000),
                   fg_gpa_to_uva(guest, GPA0 + 0x1000), GPA0 + 0x2000);
    fuzz_msg(ctx, VHOST_USER_SET_VRING_ADDR, a, sizeof(a), NULL, 0, NULL, 0, NULL);
    {
        uint64_t v = 0 | VHOST_USER_VRING_NOFD_MASK;

        fuzz_msg(ctx, VHOST_USER_SET_VRING_CALL, &v, sizeof(v), NULL, 0, NULL, 0, NULL);
    }
    kick = eventfd_for_fuzz();
    {
        uint64_t v = 0;

        fuzz_msg(ctx, VHOST_USER_SET_VRING_KICK, &v, sizeof(v), &kick, 1, NULL, 0, NULL);
    }
    close(kick);
    state(ctx, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

int fuzz_ring_one(const uint8_t *data, size_t size, bool packed)
{
    uint8_t sel[32] = { 0 };
    unsigned int num;
    uint8_t opts;
    uint16_t b16 = 0;
    uint64_t features;
    uint32_t base;
    VuMsgInflight inf = { .num_queues = 1, .queue_size = 256 };
    int inflight_fd = -1;
    FuzzCtx ctx;
    size_t rest;

    if (size < 4) {
        return 0;
    }
    mem_init();
    num = 1u << (data[0] % 9);
    opts = data[1];
    memcpy(&b16, data + 2, 2);
    memcpy(sel, data + 4, MIN(sizeof(sel), size - 4));
    data += 4;
    size -= 4;
    data += MIN(sizeof(sel), size);
    size -= MIN(sizeof(sel), size);
    memset(mem[0], 0, REG_SIZE);
    memset(mem[1], 0, REG_SIZE);
    rest = MIN(size, (size_t)REG_SIZE);
    memcpy(mem[0], data, rest);
    if (size > REG_SIZE) {
        memcpy(mem[1], data + REG_SIZE, MIN(size - REG_SIZE, (size_t)REG_SIZE));
    }

    features = (1ull << VIRTIO_F_VERSION_1);
    if (opts & 1) {
        features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
    }
    if (opts & 2) {
        features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
    }
    if (packed) {
        features |= 1ull << 34;
        base = (uint32_t)(b16 % num) | ((uint32_t)(b16 >> 15) << 15) |
               ((uint32_t)(b16 % num) << 16) | ((uint32_t)(b16 >> 15) << 31);
    } else {
        base = b16;
    }

    fuzz_ctx_init(&ctx, 1);
    if (opts & 4) {
        VuMsgInflight r = { 0 };

        fuzz_msg(&ctx, VHOST_USER_GET_INFLIGHT_FD, &inf, sizeof(inf), NULL, 0, &r, sizeof(r),
                 &inflight_fd);
        inf = r;
    }
    setup(&ctx, features, num, base, &inf, inflight_fd);
    fuzz_exercise_queue(&ctx, 0, 2 * num + 4, sel, sizeof(sel));
    fuzz_run_watches(&ctx);

    if (inflight_fd >= 0) {
        /* The back-end "crashes"; the front-end may have scribbled on the
         * inflight area; the next back-end resubmits. */
        uint8_t *p = mmap(NULL, inf.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, inflight_fd, 0);

        fuzz_ctx_fini(&ctx);
        if (p != MAP_FAILED) {
            if (opts & 8) {
                size_t off = sel[0] * 16u % inf.mmap_size;

                memcpy(p + off, sel, MIN(sizeof(sel), inf.mmap_size - off));
            }
            munmap(p, inf.mmap_size);
        }
        fuzz_ctx_init(&ctx, 1);
        setup(&ctx, features, num, base, &inf, inflight_fd);
        fuzz_exercise_queue(&ctx, 0, 2 * num + 4, sel + 16, 16);
        close(inflight_fd);
    }
    {
        VuMsgState st = { 0, 0 };

        fuzz_msg(&ctx, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
    }
    fuzz_ctx_fini(&ctx);
    return 0;
}
