/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-msg.c - vhost-user message framing and the one validation table.
 *
 * Theory of operation (vhost-user.rst: "Message Specification",
 * "Communication", and every "Front-end message types" entry):
 *
 * A message is a 12-byte header {request, flags, size} followed by @size
 * payload bytes.  File descriptors arrive as SCM_RIGHTS ancillary data on
 * the recvmsg() that returns the first header byte; we receive them with
 * MSG_CMSG_CLOEXEC and never look for them later in the stream.
 *
 * Framing errors (wrong version bit, reply flag set on a request, payload
 * larger than any request can carry, truncated ancillary data, EOF in the
 * middle of a message) cannot be resynchronised and drop the connection.
 *
 * Every known request has exactly one row in vu_rules[]: the accepted
 * payload size range, the accepted number of fds and where its vring
 * index lives.  vu_msg_validate() applies the row and the few per-request
 * rules that depend on the payload (memory-table region count == fd
 * count, the no-fd bit of KICK/CALL/ERR, config payload length).  A
 * request without a row is "unknown": the caller answers it with an error
 * if the front-end asked for a reply and otherwise ignores it.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "vu-msg.h"

#define U64 ((uint32_t)sizeof(uint64_t))
#define STATE ((uint32_t)sizeof(VuMsgState))

/* {name, size_min, size_max, fds_min, fds_max, idx, has_reply} */
static const VuMsgRule vu_rules[VHOST_USER_MAX] = {
    [VHOST_USER_GET_FEATURES] = { "GET_FEATURES", 0, 0, 0, 0, VU_IDX_NONE, true },
    [VHOST_USER_SET_FEATURES] = { "SET_FEATURES", U64, U64, 0, 0, VU_IDX_NONE, false },
    [VHOST_USER_SET_OWNER] = { "SET_OWNER", 0, 0, 0, 0, VU_IDX_NONE, false },
    [VHOST_USER_RESET_OWNER] = { "RESET_OWNER", 0, 0, 0, 0, VU_IDX_NONE, false },
    [VHOST_USER_SET_MEM_TABLE] = { "SET_MEM_TABLE", 8 + sizeof(VuMsgMemRegion),
                                   sizeof(VuMsgMemory), 1, VHOST_MEMORY_BASELINE_NREGIONS,
                                   VU_IDX_NONE, false },
    [VHOST_USER_SET_LOG_BASE] = { "SET_LOG_BASE", sizeof(VuMsgLog), sizeof(VuMsgLog), 1, 1,
                                  VU_IDX_NONE, true },
    [VHOST_USER_SET_LOG_FD] = { "SET_LOG_FD", 0, U64, 1, 1, VU_IDX_NONE, false },
    [VHOST_USER_SET_VRING_NUM] = { "SET_VRING_NUM", STATE, STATE, 0, 0, VU_IDX_STATE, false },
    [VHOST_USER_SET_VRING_ADDR] = { "SET_VRING_ADDR", sizeof(VuMsgVringAddr),
                                    sizeof(VuMsgVringAddr), 0, 0, VU_IDX_STATE, false },
    [VHOST_USER_SET_VRING_BASE] = { "SET_VRING_BASE", STATE, STATE, 0, 0, VU_IDX_STATE, false },
    [VHOST_USER_GET_VRING_BASE] = { "GET_VRING_BASE", STATE, STATE, 0, 0, VU_IDX_STATE, true },
    [VHOST_USER_SET_VRING_KICK] = { "SET_VRING_KICK", U64, U64, 0, 1, VU_IDX_U64, false },
    [VHOST_USER_SET_VRING_CALL] = { "SET_VRING_CALL", U64, U64, 0, 1, VU_IDX_U64, false },
    [VHOST_USER_SET_VRING_ERR] = { "SET_VRING_ERR", U64, U64, 0, 1, VU_IDX_U64, false },
    [VHOST_USER_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", 0, 0, 0, 0, VU_IDX_NONE,
                                           true },
    [VHOST_USER_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", U64, U64, 0, 0,
                                           VU_IDX_NONE, false },
    [VHOST_USER_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", 0, 0, 0, 0, VU_IDX_NONE, true },
    [VHOST_USER_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", STATE, STATE, 0, 0, VU_IDX_STATE,
                                      false },
    [VHOST_USER_GET_CONFIG] = { "GET_CONFIG", VU_MSG_CONFIG_HDR_SIZE, sizeof(VuMsgConfig), 0, 0,
                                VU_IDX_NONE, true },
    [VHOST_USER_SET_CONFIG] = { "SET_CONFIG", VU_MSG_CONFIG_HDR_SIZE, sizeof(VuMsgConfig), 0, 0,
                                VU_IDX_NONE, false },
    [VHOST_USER_GET_INFLIGHT_FD] = { "GET_INFLIGHT_FD", VU_MSG_INFLIGHT_PACKED_SIZE,
                                     sizeof(VuMsgInflight), 0, 0, VU_IDX_NONE, true },
    [VHOST_USER_SET_INFLIGHT_FD] = { "SET_INFLIGHT_FD", VU_MSG_INFLIGHT_PACKED_SIZE,
                                     sizeof(VuMsgInflight), 1, 1, VU_IDX_NONE, false },
    [VHOST_USER_RESET_DEVICE] = { "RESET_DEVICE", 0, 0, 0, 0, VU_IDX_NONE, false },
    [VHOST_USER_GET_MAX_MEM_SLOTS] = { "GET_MAX_MEM_SLOTS", 0, 0, 0, 0, VU_IDX_NONE, true },
    [VHOST_USER_ADD_MEM_REG] = { "ADD_MEM_REG", sizeof(VuMsgMemRegionSingle),
                                 sizeof(VuMsgMemRegionSingle), 1, 1, VU_IDX_NONE, false },
    /* The spec allows (and says to close) one stray fd here. */
    [VHOST_USER_REM_MEM_REG] = { "REM_MEM_REG", sizeof(VuMsgMemRegionSingle),
                                 sizeof(VuMsgMemRegionSingle), 0, 1, VU_IDX_NONE, false },
    [VHOST_USER_SET_STATUS] = { "SET_STATUS", U64, U64, 0, 0, VU_IDX_NONE, false },
    [VHOST_USER_GET_STATUS] = { "GET_STATUS", 0, 0, 0, 0, VU_IDX_NONE, true },
    [VHOST_USER_SET_DEVICE_STATE_FD] = { "SET_DEVICE_STATE_FD", sizeof(VuMsgDeviceState),
                                         sizeof(VuMsgDeviceState), 1, 1, VU_IDX_NONE, true },
    [VHOST_USER_CHECK_DEVICE_STATE] = { "CHECK_DEVICE_STATE", 0, 0, 0, 0, VU_IDX_NONE, true },
};

/* Names of requests we do not implement, for logs only. */
static const char *const vu_unknown_names[VHOST_USER_MAX] = {
    [VHOST_USER_SEND_RARP] = "SEND_RARP",
    [VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
    [VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
    [VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
    [VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
    [VHOST_USER_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
    [VHOST_USER_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
    [VHOST_USER_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
    [VHOST_USER_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
    [VHOST_USER_POSTCOPY_END] = "POSTCOPY_END",
    [VHOST_USER_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
    [VHOST_USER_VRING_KICK] = "VRING_KICK",
    [VHOST_USER_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
};

const VuMsgRule *vu_msg_rule(uint32_t request)
{
    if (request >= VHOST_USER_MAX || !vu_rules[request].name) {
        return NULL;
    }
    return &vu_rules[request];
}

const char *vu_msg_request_name(uint32_t request)
{
    const VuMsgRule *rule = vu_msg_rule(request);

    if (rule) {
        return rule->name;
    }
    if (request < VHOST_USER_MAX && vu_unknown_names[request]) {
        return vu_unknown_names[request];
    }
    return "UNKNOWN";
}

unsigned int vu_msg_vring_index(const VuMsg *msg, const VuMsgRule *rule)
{
    switch (rule->idx) {
    case VU_IDX_STATE:
        return msg->payload.state.index;
    case VU_IDX_U64:
        return (unsigned int)(msg->payload.u64 & VHOST_USER_VRING_IDX_MASK);
    case VU_IDX_NONE:
    default:
        return 0;
    }
}

int vu_msg_validate(const VuMsg *msg, unsigned int num_queues, const char **why)
{
    const VuMsgRule *rule = vu_msg_rule(msg->hdr.request);
    uint32_t size = msg->hdr.size;

    *why = NULL;
    if (!rule) {
        *why = "unknown request";
        return -ENOSYS;
    }
    if (size < rule->size_min || size > rule->size_max) {
        *why = "bad payload size";
        return -EPROTO;
    }
    if (msg->fd_num < rule->fds_min || msg->fd_num > rule->fds_max) {
        *why = "wrong number of file descriptors";
        return -EPROTO;
    }
    if (rule->idx != VU_IDX_NONE && vu_msg_vring_index(msg, rule) >= num_queues) {
        *why = "vring index out of range";
        return -EPROTO;
    }

    switch (msg->hdr.request) {
    case VHOST_USER_SET_MEM_TABLE: {
        uint32_t n = msg->payload.memory.nregions;

        if (n == 0 || n > VHOST_MEMORY_BASELINE_NREGIONS) {
            *why = "bad number of memory regions";
            return -EPROTO;
        }
        if (size != 8 + n * (uint32_t)sizeof(VuMsgMemRegion)) {
            *why = "memory table size does not match region count";
            return -EPROTO;
        }
        if (msg->fd_num != n) {
            *why = "memory table fd count does not match region count";
            return -EPROTO;
        }
        break;
    }
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR: {
        uint64_t v = msg->payload.u64;
        bool nofd = v & VHOST_USER_VRING_NOFD_MASK;

        if (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK)) {
            *why = "reserved bits set in vring fd payload";
            return -EPROTO;
        }
        if (nofd != (msg->fd_num == 0)) {
            *why = "invalid-fd flag does not match the fds received";
            return -EPROTO;
        }
        break;
    }
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_SET_CONFIG:
        if (msg->payload.config.size > VHOST_USER_MAX_CONFIG_SIZE ||
            size != VU_MSG_CONFIG_HDR_SIZE + msg->payload.config.size) {
            *why = "config size does not match payload";
            return -EPROTO;
        }
        break;
    case VHOST_USER_GET_INFLIGHT_FD:
    case VHOST_USER_SET_INFLIGHT_FD:
        if (size != VU_MSG_INFLIGHT_PACKED_SIZE && size != sizeof(VuMsgInflight)) {
            *why = "bad inflight description size";
            return -EPROTO;
        }
        break;
    default:
        break;
    }
    return 0;
}

void vu_msg_close_fds(VuMsg *msg)
{
    for (unsigned int i = 0; i < msg->fd_num; i++) {
        if (msg->fds[i] >= 0) {
            close(msg->fds[i]);
        }
        msg->fds[i] = -1;
    }
    msg->fd_num = 0;
}

int vu_msg_io_timeout_ms = 1000;

/* Wait for more bytes of a message already started, until @deadline
 * (monotonic, us): one deadline for the whole message, so a peer that
 * dribbles one byte at a time cannot hold the daemon longer. */
static int vu_wait_readable(int sock, gint64 deadline)
{
    struct pollfd pfd = { .fd = sock, .events = POLLIN };
    int r;

    do {
        gint64 left = deadline - g_get_monotonic_time();
        int ms = left <= 0 ? 0 : (int)MIN((left + 999) / 1000, (gint64)G_MAXINT);

        r = poll(&pfd, 1, ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return -errno;
    }
    if (r == 0) {
        return -ETIMEDOUT;
    }
    return 0;
}

/* Read exactly @len bytes (no fds expected any more) before @deadline. */
static int vu_read_full(int sock, void *buf, size_t len, gint64 deadline)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t r = recv(sock, p, len, MSG_DONTWAIT);

        if (r == 0) {
            return -ECONNRESET;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int w = vu_wait_readable(sock, deadline);

                if (w < 0) {
                    return w;
                }
                continue;
            }
            return -errno;
        }
        p += r;
        len -= (size_t)r;
        if (len > 0 && g_get_monotonic_time() > deadline) {
            return -ETIMEDOUT;
        }
    }
    return 0;
}

int vu_msg_recv(int sock, VuMsg *msg)
{
    union {
        char buf[CMSG_SPACE(VU_MSG_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr) };
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    gint64 deadline;
    ssize_t r;
    int ret;

    memset(&msg->hdr, 0, sizeof(msg->hdr));
    msg->fd_num = 0;
    for (unsigned int i = 0; i < VU_MSG_MAX_FDS; i++) {
        msg->fds[i] = -1;
    }

    do {
        r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return -errno;
    }
    deadline = g_get_monotonic_time() + (gint64)vu_msg_io_timeout_ms * 1000;

    /* Collect fds first so that every error path below closes them. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            for (size_t i = 0; i < n; i++) {
                int fd;

                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                if (msg->fd_num < VU_MSG_MAX_FDS) {
                    msg->fds[msg->fd_num++] = fd;
                } else {
                    close(fd);
                    mh.msg_flags |= MSG_CTRUNC;
                }
            }
        }
    }
    if (r == 0) {
        vu_msg_close_fds(msg);
        return 0;
    }
    if (mh.msg_flags & MSG_CTRUNC) {
        ret = -EMSGSIZE;
        goto fail;
    }
    if ((size_t)r < sizeof(msg->hdr)) {
        ret = vu_read_full(sock, (uint8_t *)&msg->hdr + r, sizeof(msg->hdr) - (size_t)r,
                           deadline);
        if (ret < 0) {
            goto fail;
        }
    }
    if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
        (msg->hdr.flags & VHOST_USER_REPLY_MASK)) {
        ret = -EPROTO;
        goto fail;
    }
    if (msg->hdr.size > VU_MSG_MAX_PAYLOAD) {
        ret = -EMSGSIZE;
        goto fail;
    }
    memset(&msg->payload, 0, sizeof(msg->payload));
    if (msg->hdr.size > 0) {
        ret = vu_read_full(sock, &msg->payload, msg->hdr.size, deadline);
        if (ret < 0) {
            goto fail;
        }
    }
    return 1;

fail:
    vu_msg_close_fds(msg);
    return ret;
}

int vu_msg_send_reply(int sock, VuMsg *msg, uint32_t size, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    VuMsgHdr hdr = {
        .request = msg->hdr.request,
        .flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
        .size = size,
    };
    struct iovec iov[2] = {
        { .iov_base = &hdr, .iov_len = sizeof(hdr) },
        { .iov_base = &msg->payload, .iov_len = size },
    };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
    size_t total = sizeof(hdr) + size;
    size_t sent = 0;

    if (size > VU_MSG_MAX_PAYLOAD) {
        return -EINVAL;
    }
    if (fd >= 0) {
        struct cmsghdr *c;

        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    while (sent < total) {
        ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = { .fd = sock, .events = POLLOUT };

                if (poll(&pfd, 1, vu_msg_io_timeout_ms) <= 0) {
                    return -ETIMEDOUT;
                }
                continue;
            }
            return -errno;
        }
        sent += (size_t)r;
        if (sent >= total) {
            break;
        }
        /* Short write: continue with the rest, without the fd. */
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        while (mh.msg_iovlen > 0 && (size_t)r >= mh.msg_iov[0].iov_len) {
            r -= (ssize_t)mh.msg_iov[0].iov_len;
            mh.msg_iov++;
            mh.msg_iovlen--;
        }
        if (mh.msg_iovlen > 0) {
            mh.msg_iov[0].iov_base = (uint8_t *)mh.msg_iov[0].iov_base + r;
            mh.msg_iov[0].iov_len -= (size_t)r;
        }
    }
    return 0;
}
