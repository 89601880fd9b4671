/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vud-wire.h - the vhost-user wire as a front-end speaks it, shared by
 * every test that plays the front-end: the harness's fake QEMU
 * (tests/harness/fake-frontend), the vhost-user core's unit tests
 * (tests/test-vu-common) and the core's fuzz targets (tests/fuzz/vu-fuzz).
 *
 * A message is a 12-byte header {request, flags, size} in host byte order
 * and @size payload bytes; fds travel as SCM_RIGHTS with the first
 * sendmsg() (vhost-user.rst "Message Specification").  Nothing here
 * trusts the back-end: what it sends back is returned, never asserted, and
 * errors are negative errno values, so a fuzz target can use it too.
 * Payload encoders for the requests whose layout every caller needs
 * (SET_VRING_ADDR; SET_MEM_TABLE is fg_mem_table() in guest-mem.h) use
 * the kernel's uapi structures, not the product's, so that the tests
 * check the product against the protocol rather than against itself.
 */
#ifndef VSND_TESTS_VUD_WIRE_H
#define VSND_TESTS_VUD_WIRE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VUD_HDR_SIZE 12u
#define VUD_MAX_PAYLOAD 4096u
#define VUD_MAX_FDS 8u
#define VUD_VERSION 0x1u
#define VUD_FLAG_REPLY (1u << 2)
#define VUD_FLAG_NEED_REPLY (1u << 3)
#define VUD_VRING_NOFD (1u << 8)

/* A received message. */
typedef struct VudMsg {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
    union {
        uint64_t u64;
        uint8_t bytes[VUD_MAX_PAYLOAD];
    } payload;
    int fds[VUD_MAX_FDS];   /* owned by the receiver of the message: close them */
    unsigned int nfds;
} VudMsg;

/*
 * vud_send_bytes() - put @len bytes on socket @fd, @nfds fds with the first.
 * Blocking (@dontwait false): partial sends are completed, EINTR retried.
 * With @dontwait one sendmsg(): a send that does not fit whole is -EAGAIN.
 * Return: 0 or -errno.
 */
int vud_send_bytes(int fd, const void *buf, size_t len, const int *fds, unsigned int nfds,
                   bool dontwait);
/* Header {request, flags, size} + @len payload bytes (@len may differ from
 * @size: malformed messages). Return: as vud_send_bytes(). */
int vud_send_msg(int fd, uint32_t request, uint32_t flags, uint32_t size, const void *payload,
                 size_t len, const int *fds, unsigned int nfds, bool dontwait);

/* Wait until @fd is readable or the monotonic @deadline (µs) passes.
 * Return: 0, -ETIMEDOUT or -errno. */
int vud_wait_readable(int fd, gint64 deadline);
/* Read one message (header, then payload) within @timeout_ms in all
 * (0: what is already there).  Return: 0, -ETIMEDOUT, -ECONNRESET (peer
 * closed), -EPROTO (size above VUD_MAX_PAYLOAD) or -errno; on failure no
 * fd is left open. */
int vud_recv_msg(int fd, VudMsg *msg, int timeout_ms);
void vud_msg_close_fds(VudMsg *msg);
/* Read and throw away what is waiting on @fd without blocking, closing
 * every fd it carries.  Return: true if the peer closed (or the socket
 * failed), false once nothing more is waiting. */
bool vud_discard_pending(int fd);

/* SET_VRING_ADDR payload (struct vhost_vring_addr, 40 bytes). */
#define VUD_VRING_ADDR_SIZE 40u
void vud_vring_addr(uint8_t out[VUD_VRING_ADDR_SIZE], uint32_t index, uint32_t flags,
                    uint64_t desc_uva, uint64_t used_uva, uint64_t avail_uva, uint64_t log_gpa);

#endif /* VSND_TESTS_VUD_WIRE_H */
