/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vud-wire.c - vhost-user messages on a Unix socket (see vud-wire.h).
 */
#include "config.h"

#include "vud-wire.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vhost_types.h>

/* SCM_RIGHTS takes at most 253 fds (SCM_MAX_FD). */
#define VUD_SEND_MAX_FDS 253u

int vud_send_bytes(int fd, const void *buf, size_t len, const int *fds, unsigned int nfds,
                   bool dontwait)
{
    g_assert(nfds <= VUD_SEND_MAX_FDS);
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    union {
        char b[CMSG_SPACE(sizeof(int) * VUD_SEND_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    if (nfds) {
        size_t cl = CMSG_SPACE(sizeof(int) * nfds);
        memset(ctl.b, 0, cl);
        mh.msg_control = ctl.b;
        mh.msg_controllen = cl;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    if (dontwait) {
        if (len == 0 && !nfds)
            return 0;
        ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0)
            return -errno;
        return (size_t)r == len ? 0 : -EAGAIN;
    }
    size_t done = 0;
    while (done < len || (len == 0 && nfds && done == 0)) {
        ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)r;
        if (len == 0)
            break;
        /* ancillary data only with the first chunk */
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        iov.iov_base = (uint8_t *)buf + done;
        iov.iov_len = len - done;
    }
    return 0;
}

int vud_send_msg(int fd, uint32_t request, uint32_t flags, uint32_t size, const void *payload,
                 size_t len, const int *fds, unsigned int nfds, bool dontwait)
{
    /* Most messages fit the stack: test loops send thousands of them. */
    uint8_t small[VUD_HDR_SIZE + 512];
    g_autofree uint8_t *big = NULL;
    if (len > sizeof(small) - VUD_HDR_SIZE)
        big = g_malloc(VUD_HDR_SIZE + len);
    uint8_t *buf = big ? big : small;
    memcpy(buf, &request, 4);
    memcpy(buf + 4, &flags, 4);
    memcpy(buf + 8, &size, 4);
    if (len)
        memcpy(buf + VUD_HDR_SIZE, payload, len);
    return vud_send_bytes(fd, buf, VUD_HDR_SIZE + len, fds, nfds, dontwait);
}

int vud_wait_readable(int fd, gint64 deadline)
{
    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left < 0)
            left = 0;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = poll(&pfd, 1, (int)MIN(left, G_MAXINT));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        return 0;
    }
}

/* Keep the fds of one recvmsg() in @msg (beyond VUD_MAX_FDS: closed). */
static void vud_take_fds(struct msghdr *mh, VudMsg *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned int k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (unsigned int i = 0; i < k; i++) {
            int in;
            memcpy(&in, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (msg && msg->nfds < VUD_MAX_FDS)
                msg->fds[msg->nfds++] = in;
            else
                close(in);
        }
    }
}

/* Read exactly @len bytes, collecting fds. Return: 0 or -errno. */
static int vud_read_exact(int fd, void *buf, size_t len, VudMsg *msg, gint64 deadline)
{
    size_t done = 0;
    while (done < len) {
        int r = vud_wait_readable(fd, deadline);
        if (r < 0)
            return r;
        struct iovec iov = { .iov_base = (uint8_t *)buf + done, .iov_len = len - done };
        union {
            char buf[CMSG_SPACE(sizeof(int) * VUD_MAX_FDS)];
            struct cmsghdr align;
        } ctl;
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl),
        };
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        vud_take_fds(&mh, msg);
        if (n == 0)
            return -ECONNRESET;
        done += (size_t)n;
    }
    return 0;
}

void vud_msg_close_fds(VudMsg *msg)
{
    for (unsigned int i = 0; i < msg->nfds; i++)
        if (msg->fds[i] >= 0)
            close(msg->fds[i]);
    msg->nfds = 0;
}

int vud_recv_msg(int fd, VudMsg *msg, int timeout_ms)
{
    memset(msg, 0, offsetof(VudMsg, payload));
    msg->nfds = 0;
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    uint32_t hdr[3];
    int r = vud_read_exact(fd, hdr, sizeof(hdr), msg, deadline);
    if (r < 0) {
        vud_msg_close_fds(msg);
        return r;
    }
    msg->request = hdr[0];
    msg->flags = hdr[1];
    msg->size = hdr[2];
    if (msg->size > VUD_MAX_PAYLOAD) {
        vud_msg_close_fds(msg);
        return -EPROTO;
    }
    r = vud_read_exact(fd, msg->payload.bytes, msg->size, msg, deadline);
    if (r < 0) {
        vud_msg_close_fds(msg);
        return r;
    }
    return 0;
}

bool vud_discard_pending(int fd)
{
    for (;;) {
        char buf[4096];
        union {
            char b[CMSG_SPACE(sizeof(int) * VUD_MAX_FDS)];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl),
        };
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n == 0)
            return true;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno != EAGAIN;
        vud_take_fds(&mh, NULL);
    }
}

void vud_vring_addr(uint8_t out[VUD_VRING_ADDR_SIZE], uint32_t index, uint32_t flags,
                    uint64_t desc_uva, uint64_t used_uva, uint64_t avail_uva, uint64_t log_gpa)
{
    /* struct vhost_vring_addr: index, flags, then the four addresses. */
    uint32_t head[2] = { index, flags };
    uint64_t addr[4] = { desc_uva, used_uva, avail_uva, log_gpa };

    G_STATIC_ASSERT(sizeof(struct vhost_vring_addr) == VUD_VRING_ADDR_SIZE);
    G_STATIC_ASSERT(offsetof(struct vhost_vring_addr, desc_user_addr) == sizeof(head));
    G_STATIC_ASSERT(offsetof(struct vhost_vring_addr, used_user_addr) == sizeof(head) + 8);
    G_STATIC_ASSERT(offsetof(struct vhost_vring_addr, log_guest_addr) == sizeof(head) + 24);
    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), addr, sizeof(addr));
}
