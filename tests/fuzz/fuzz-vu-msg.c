/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-vu-msg.c - libFuzzer target: vhost-user message parsing and
 * dispatch sequences.
 *
 * The input is a list of records:
 *   0x00..0x3f raw:  u16 len, u8 fdspec, len bytes sent as-is with
 *                    fdspec&3 fds (kinds in the upper bits: guest memfd,
 *                    eventfd, pipe, small memfd)
 *   0x40..0x7f msg:  u8 request, u8 flags, u8 len, len payload bytes, sent
 *                    with a correct header, fds as for raw (u8 fdspec)
 *   0x80..0xbf mem:  u16 offset, u8 len, len bytes written to guest memory
 *   0xc0..0xff run:  u8 selector: pop/push on every queue, run watches
 * After every record the back-end dispatches what it has; the run stops
 * when it drops the connection.  Every fd is closed at the end (the fd
 * count is checked by the replay test).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-reader.h"
#include "vu-fuzz.h"
#include "tests/vu-driver/guest-mem.h"

#define GUEST_SIZE 65536

/* One region of guest RAM, mapped once for all runs. */
static int guest_fd = -1;
static uint8_t *guest;

static void guest_init(void)
{
    static FgMem *mem;
    static const FgMemLayout layout = { .nregions = 1, .region_size = GUEST_SIZE };

    if (mem) {
        return;
    }
    mem = fg_mem_new_layout(&layout);
    guest_fd = mem->region[0].fd;
    guest = mem->region[0].host;
}

static unsigned int make_fds(uint8_t spec, int *fds)
{
    unsigned int n = spec & 3;

    for (unsigned int i = 0; i < n; i++) {
        switch ((spec >> (2 + 2 * i)) & 3) {
        case 0:
            fds[i] = dup(guest_fd);
            break;
        case 1:
            fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            break;
        case 2: {
            int p[2];

            if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                abort();
            }
            close(p[1]);
            fds[i] = p[0];
            break;
        }
        default:
            fds[i] = memfd_create("fuzz-small", MFD_CLOEXEC);
            if (fds[i] >= 0 && ftruncate(fds[i], 4096) < 0) {
                abort();
            }
            break;
        }
        if (fds[i] < 0) {
            abort();
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Reader r = { data, size };
    FuzzCtx ctx;
    uint8_t tag;
    bool alive = true;

    guest_init();
    memset(guest, 0, GUEST_SIZE);
    fuzz_ctx_init(&ctx, 4);
    while (alive && rd(&r, &tag, 1)) {
        uint8_t buf[12 + 600];
        int fds[3];
        unsigned int nfds = 0;

        if (tag < 0x40) {
            uint16_t len;
            uint8_t spec;

            if (!rd(&r, &len, 2) || !rd(&r, &spec, 1)) {
                break;
            }
            len %= sizeof(buf);
            if (!rd(&r, buf, len)) {
                break;
            }
            nfds = make_fds(spec, fds);
            alive = fuzz_send(&ctx, buf, len, fds, nfds);
        } else if (tag < 0x80) {
            uint8_t req, flags, len, spec;
            VuMsgHdr hdr;

            if (!rd(&r, &req, 1) || !rd(&r, &flags, 1) || !rd(&r, &len, 1) ||
                !rd(&r, &spec, 1) || !rd(&r, buf + 12, len)) {
                break;
            }
            hdr.request = req % (VHOST_USER_MAX + 2);
            hdr.flags = VHOST_USER_VERSION | (flags & VHOST_USER_NEED_REPLY_MASK);
            hdr.size = len;
            memcpy(buf, &hdr, sizeof(hdr));
            nfds = make_fds(spec, fds);
            alive = fuzz_send(&ctx, buf, sizeof(hdr) + len, fds, nfds);
        } else if (tag < 0xc0) {
            uint16_t off;
            uint8_t len;

            if (!rd(&r, &off, 2) || !rd(&r, &len, 1)) {
                break;
            }
            off %= GUEST_SIZE - 256;
            if (!rd(&r, guest + off, len)) {
                break;
            }
            continue;
        } else {
            uint8_t sel;

            if (!rd(&r, &sel, 1)) {
                break;
            }
            fuzz_run_watches(&ctx);
            for (unsigned int q = 0; q < 4; q++) {
                fuzz_exercise_queue(&ctx, q, 8, &sel, 1);
            }
            continue;
        }
        for (unsigned int i = 0; i < nfds; i++) {
            close(fds[i]);
        }
        if (alive) {
            alive = fuzz_dispatch_pending(&ctx);
        }
    }
    fuzz_ctx_fini(&ctx);
    return 0;
}
