/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake-frontend.c - vhost-user front-end for tests (see fake-frontend.h).
 *
 * The wire itself (header, payload, fds, replies) is tests/vu-driver's
 * vud-wire; this file is QEMU's side of the conversation.
 */
#include "config.h"

#include "fake-frontend.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vhost_types.h>

#define FF_DEFAULT_TIMEOUT 5000
#define FF_LOG_PAGE 0x1000ull

struct FfConn {
    int fd;
    FfSetup setup;
    uint64_t features;        /* back-end's GET_FEATURES */
    uint64_t protocol;        /* acked protocol features */
    uint64_t acked;           /* SET_FEATURES value */
    uint64_t queue_num;
    uint64_t max_mem_slots;
    int masked_call[FF_MAX_QUEUES];
    int backend_req[2];
    unsigned int nstarted;
    /* inflight region */
    int inflight_fd;
    uint64_t inflight_size, inflight_offset;
    uint16_t inflight_nq, inflight_qs;
    void *inflight_map;
    /* dirty log */
    int log_fd;
    uint8_t *log_map;
    uint64_t log_size;
};

void ff_setup_init(FfSetup *s)
{
    memset(s, 0, sizeof(*s));
    s->nqueues = 4;
    /* What a Linux guest with QEMU acks if offered: VERSION_1, INDIRECT,
     * EVENT_IDX.  (F_CTLS, bit 0, only when a test asks for it.) */
    s->want_features = (1ull << 32) | (1ull << 28) | (1ull << 29);
    s->want_protocol = FF_QEMU_PROTOCOL_MASK;
    s->timeout_ms = FF_DEFAULT_TIMEOUT;
}

const char *ff_request_name(uint32_t request)
{
    static const char *const names[] = {
        [FF_GET_FEATURES] = "GET_FEATURES", [FF_SET_FEATURES] = "SET_FEATURES",
        [FF_SET_OWNER] = "SET_OWNER", [FF_RESET_OWNER] = "RESET_OWNER",
        [FF_SET_MEM_TABLE] = "SET_MEM_TABLE", [FF_SET_LOG_BASE] = "SET_LOG_BASE",
        [FF_SET_LOG_FD] = "SET_LOG_FD", [FF_SET_VRING_NUM] = "SET_VRING_NUM",
        [FF_SET_VRING_ADDR] = "SET_VRING_ADDR", [FF_SET_VRING_BASE] = "SET_VRING_BASE",
        [FF_GET_VRING_BASE] = "GET_VRING_BASE", [FF_SET_VRING_KICK] = "SET_VRING_KICK",
        [FF_SET_VRING_CALL] = "SET_VRING_CALL", [FF_SET_VRING_ERR] = "SET_VRING_ERR",
        [FF_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [FF_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [FF_GET_QUEUE_NUM] = "GET_QUEUE_NUM", [FF_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [FF_SEND_RARP] = "SEND_RARP", [FF_NET_SET_MTU] = "NET_SET_MTU",
        [FF_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD", [FF_IOTLB_MSG] = "IOTLB_MSG",
        [FF_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN", [FF_GET_CONFIG] = "GET_CONFIG",
        [FF_SET_CONFIG] = "SET_CONFIG", [FF_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
        [FF_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN", [FF_POSTCOPY_END] = "POSTCOPY_END",
        [FF_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD", [FF_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
        [FF_RESET_DEVICE] = "RESET_DEVICE", [FF_VRING_KICK] = "VRING_KICK",
        [FF_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS", [FF_ADD_MEM_REG] = "ADD_MEM_REG",
        [FF_REM_MEM_REG] = "REM_MEM_REG", [FF_SET_STATUS] = "SET_STATUS",
        [FF_GET_STATUS] = "GET_STATUS", [FF_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
        [FF_SET_DEVICE_STATE_FD] = "SET_DEVICE_STATE_FD",
        [FF_CHECK_DEVICE_STATE] = "CHECK_DEVICE_STATE",
    };
    if (request < G_N_ELEMENTS(names) && names[request])
        return names[request];
    return "UNKNOWN";
}

static FfConn *ff_alloc(int fd)
{
    FfConn *ff = g_new0(FfConn, 1);
    ff->fd = fd;
    ff_setup_init(&ff->setup);
    for (unsigned int i = 0; i < FF_MAX_QUEUES; i++)
        ff->masked_call[i] = -1;
    ff->backend_req[0] = ff->backend_req[1] = -1;
    ff->inflight_fd = -1;
    ff->log_fd = -1;
    return ff;
}

FfConn *ff_new_from_fd(int fd)
{
    return ff_alloc(fd);
}

FfConn *ff_connect(const char *path, GError **error)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sun.sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "socket path too long");
        return NULL;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "connect %s: %s", path,
                    g_strerror(e));
        return NULL;
    }
    return ff_alloc(fd);
}

void ff_free(FfConn *ff)
{
    if (!ff)
        return;
    if (ff->fd >= 0)
        close(ff->fd);
    for (unsigned int i = 0; i < FF_MAX_QUEUES; i++)
        if (ff->masked_call[i] >= 0)
            close(ff->masked_call[i]);
    for (unsigned int i = 0; i < 2; i++)
        if (ff->backend_req[i] >= 0)
            close(ff->backend_req[i]);
    if (ff->inflight_map)
        munmap(ff->inflight_map, ff->inflight_size);
    if (ff->inflight_fd >= 0)
        close(ff->inflight_fd);
    if (ff->log_map)
        munmap(ff->log_map, ff->log_size);
    if (ff->log_fd >= 0)
        close(ff->log_fd);
    g_free(ff);
}

int ff_fd(const FfConn *ff) { return ff->fd; }
FfSetup *ff_setup(FfConn *ff) { return &ff->setup; }
uint64_t ff_features(const FfConn *ff) { return ff->features; }
uint64_t ff_protocol_features(const FfConn *ff) { return ff->protocol; }
uint64_t ff_acked_features(const FfConn *ff) { return ff->acked; }
uint64_t ff_queue_num(const FfConn *ff) { return ff->queue_num; }
uint64_t ff_max_mem_slots(const FfConn *ff) { return ff->max_mem_slots; }

bool ff_has_protocol(const FfConn *ff, unsigned int bit)
{
    return bit < 64 && (ff->protocol & (1ull << bit));
}

void ff_msg_clear_fds(FfMsg *msg)
{
    vud_msg_close_fds(msg);
}

/* ---------------- raw layer ---------------- */

/* VSND_HARNESS_TRACE=1 prints every message on stderr. */
static bool ff_trace(void)
{
    static int on = -1;
    if (on < 0)
        on = g_getenv("VSND_HARNESS_TRACE") != NULL;
    return on;
}

int ff_send_bytes(FfConn *ff, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    return vud_send_bytes(ff->fd, buf, len, fds, nfds, false);
}

int ff_send_full(FfConn *ff, uint32_t request, uint32_t flags, uint32_t size,
                 const void *payload, size_t len, const int *fds, unsigned int nfds)
{
    if (ff_trace())
        g_printerr("front-end -> %s flags 0x%x size %u (+%zu bytes, %u fds)\n", ff_request_name(request),
            flags, size, len, nfds);
    return vud_send_msg(ff->fd, request, flags, size, payload, len, fds, nfds, false);
}

int ff_send(FfConn *ff, uint32_t request, bool need_reply, const void *payload, size_t len,
            const int *fds, unsigned int nfds)
{
    return ff_send_full(ff, request, FF_VERSION | (need_reply ? FF_FLAG_NEED_REPLY : 0),
                        (uint32_t)len, payload, len, fds, nfds);
}

int ff_recv(FfConn *ff, FfMsg *msg, int timeout_ms)
{
    int r = vud_recv_msg(ff->fd, msg, timeout_ms);
    if (r < 0)
        return r;
    if (ff_trace())
        g_printerr("front-end <- %s flags 0x%x size %u (%u fds)\n", ff_request_name(msg->request),
            msg->flags, msg->size, msg->nfds);
    return 0;
}

bool ff_wait_closed(FfConn *ff, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        if (vud_wait_readable(ff->fd, deadline) < 0)
            return false;
        if (vud_discard_pending(ff->fd))
            return true;
    }
}

/* ---------------- message helpers ---------------- */

static bool ff_check_reply(const FfMsg *reply, uint32_t request, GError **error)
{
    if (reply->request != request) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "reply to %s carries request %u (%s)", ff_request_name(request),
                    reply->request, ff_request_name(reply->request));
        return false;
    }
    if ((reply->flags & 3) != FF_VERSION || !(reply->flags & FF_FLAG_REPLY)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "reply to %s has flags 0x%x", ff_request_name(request), reply->flags);
        return false;
    }
    return true;
}

static bool ff_get_reply(FfConn *ff, uint32_t request, FfMsg *reply, GError **error)
{
    int r = ff_recv(ff, reply, ff->setup.timeout_ms ? ff->setup.timeout_ms : FF_DEFAULT_TIMEOUT);
    if (r < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "no reply to %s: %s",
                    ff_request_name(request), g_strerror(-r));
        return false;
    }
    if (!ff_check_reply(reply, request, error)) {
        ff_msg_clear_fds(reply);
        return false;
    }
    return true;
}

bool ff_request(FfConn *ff, uint32_t request, const void *payload, size_t len,
                const int *fds, unsigned int nfds, FfMsg *reply, GError **error)
{
    g_autofree FfMsg *tmp = NULL;
    if (!reply)
        reply = tmp = g_new0(FfMsg, 1);
    int r = ff_send(ff, request, false, payload, len, fds, nfds);
    if (r < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "sending %s: %s",
                    ff_request_name(request), g_strerror(-r));
        return false;
    }
    if (!ff_get_reply(ff, request, reply, error))
        return false;
    if (tmp)
        ff_msg_clear_fds(tmp);
    return true;
}

/* The request kinds QEMU sends with need_reply when REPLY_ACK is on. */
static bool ff_qemu_wants_ack(const FfConn *ff, uint32_t request)
{
    switch (request) {
    case FF_SET_MEM_TABLE:
    case FF_ADD_MEM_REG:
    case FF_REM_MEM_REG:
    case FF_SET_CONFIG:
        return true;
    default:
        return ff->setup.ack_all;
    }
}

static bool ff_command_full(FfConn *ff, uint32_t request, const void *payload, size_t len,
                            const int *fds, unsigned int nfds, bool enforce, GError **error)
{
    /* SET_PROTOCOL_FEATURES itself never asks: whether REPLY_ACK already
     * applies to the message that negotiates it is not specified. */
    bool ack = ff_has_protocol(ff, FF_PROTO_F_REPLY_ACK) && request != FF_SET_PROTOCOL_FEATURES &&
               (enforce || ff_qemu_wants_ack(ff, request));
    int r = ff_send(ff, request, ack, payload, len, fds, nfds);
    if (r < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "sending %s: %s",
                    ff_request_name(request), g_strerror(-r));
        return false;
    }
    if (ack) {
        g_autofree FfMsg *reply = g_new0(FfMsg, 1);
        if (!ff_get_reply(ff, request, reply, error))
            return false;
        ff_msg_clear_fds(reply);
        if (reply->size != 8) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ack of %s has size %u",
                        ff_request_name(request), reply->size);
            return false;
        }
        if (reply->payload.u64 != 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s refused (ack %" G_GUINT64_FORMAT ")",
                        ff_request_name(request), reply->payload.u64);
            return false;
        }
    } else if (enforce) {
        /* QEMU's enforce_reply() without REPLY_ACK: a GET_FEATURES round
         * trip proves the command was processed. */
        uint64_t dummy;
        return ff_get_u64(ff, FF_GET_FEATURES, &dummy, error);
    }
    return true;
}

bool ff_command(FfConn *ff, uint32_t request, const void *payload, size_t len,
                const int *fds, unsigned int nfds, GError **error)
{
    return ff_command_full(ff, request, payload, len, fds, nfds, false, error);
}

bool ff_get_u64(FfConn *ff, uint32_t request, uint64_t *out, GError **error)
{
    g_autofree FfMsg *reply = g_new0(FfMsg, 1);
    if (!ff_request(ff, request, NULL, 0, NULL, 0, reply, error))
        return false;
    ff_msg_clear_fds(reply);
    if (reply->size != 8) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s reply has size %u",
                    ff_request_name(request), reply->size);
        return false;
    }
    *out = reply->payload.u64;
    return true;
}

bool ff_set_u64(FfConn *ff, uint32_t request, uint64_t value, GError **error)
{
    return ff_command(ff, request, &value, sizeof(value), NULL, 0, error);
}

bool ff_vring_state(FfConn *ff, uint32_t request, uint32_t index, uint32_t num, GError **error)
{
    struct vhost_vring_state st = { .index = index, .num = num };
    return ff_command(ff, request, &st, sizeof(st), NULL, 0, error);
}

bool ff_vring_fd(FfConn *ff, uint32_t request, uint32_t index, int fd, GError **error)
{
    uint64_t v = index | (fd < 0 ? FF_VRING_NOFD : 0);
    return ff_command(ff, request, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1, error);
}

bool ff_get_vring_base(FfConn *ff, uint32_t index, uint32_t *base, GError **error)
{
    struct vhost_vring_state st = { .index = index, .num = 0 };
    g_autofree FfMsg *reply = g_new0(FfMsg, 1);
    if (!ff_request(ff, FF_GET_VRING_BASE, &st, sizeof(st), NULL, 0, reply, error))
        return false;
    ff_msg_clear_fds(reply);
    struct vhost_vring_state got;
    if (reply->size != sizeof(got)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "GET_VRING_BASE reply has size %u", reply->size);
        return false;
    }
    memcpy(&got, reply->payload.bytes, sizeof(got));
    if (got.index != index) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "GET_VRING_BASE(%u) answered for ring %u", index, got.index);
        return false;
    }
    if (base)
        *base = got.num;
    return true;
}

bool ff_get_status(FfConn *ff, uint8_t *status, GError **error)
{
    uint64_t v;
    if (!ff_get_u64(ff, FF_GET_STATUS, &v, error))
        return false;
    *status = (uint8_t)v;
    return true;
}

bool ff_add_status(FfConn *ff, uint8_t bits, GError **error)
{
    uint8_t st;
    if (!ff_get_status(ff, &st, error))
        return false;
    if ((st & bits) == bits)
        return true;
    return ff_set_u64(ff, FF_SET_STATUS, st | bits, error);
}

bool ff_get_config(FfConn *ff, uint32_t offset, uint32_t size, void *buf, GError **error)
{
    g_assert(size <= 256);
    uint8_t req[12 + 256] = { 0 };
    memcpy(req, &offset, 4);
    memcpy(req + 4, &size, 4);
    g_autofree FfMsg *reply = g_new0(FfMsg, 1);
    if (!ff_request(ff, FF_GET_CONFIG, req, 12 + size, NULL, 0, reply, error))
        return false;
    ff_msg_clear_fds(reply);
    /* QEMU's vhost_user_get_config() check. */
    if (reply->size != 12 + size) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "GET_CONFIG reply has size %u, want %u", reply->size, 12 + size);
        return false;
    }
    memcpy(buf, reply->payload.bytes + 12, size);
    return true;
}

bool ff_set_mem_table(FfConn *ff, const FgMem *mem, GError **error)
{
    uint8_t buf[8 + FG_MAX_REGIONS * FG_MEM_REGION_SIZE];
    int fds[FG_MAX_REGIONS];
    size_t len = fg_mem_table(mem, buf, fds);
    return ff_command(ff, FF_SET_MEM_TABLE, buf, len, fds, mem->nregions, error);
}

/* ADD_MEM_REG / REM_MEM_REG: {u64 padding, region}. */
static bool ff_mem_reg(FfConn *ff, uint32_t request, const FgMem *mem, unsigned int region,
                       bool with_fd, GError **error)
{
    uint8_t buf[8 + FG_MEM_REGION_SIZE] = { 0 };
    fg_mem_region_desc(mem, region, buf + 8);
    return ff_command(ff, request, buf, sizeof(buf), with_fd ? &mem->region[region].fd : NULL,
                      with_fd ? 1 : 0, error);
}

bool ff_add_mem_reg(FfConn *ff, const FgMem *mem, unsigned int region, GError **error)
{
    return ff_mem_reg(ff, FF_ADD_MEM_REG, mem, region, true, error);
}

bool ff_rem_mem_reg(FfConn *ff, const FgMem *mem, unsigned int region, GError **error)
{
    return ff_mem_reg(ff, FF_REM_MEM_REG, mem, region, false, error);
}

bool ff_set_vring_addr(FfConn *ff, unsigned int index, const FgMem *mem, const FgVq *vq,
                       bool log, GError **error)
{
    uint8_t a[VUD_VRING_ADDR_SIZE];
    vud_vring_addr(a, index, log ? (1u << VHOST_VRING_F_LOG) : 0,
                   fg_gpa_to_uva(mem, fg_vq_desc_gpa(vq)), fg_gpa_to_uva(mem, fg_vq_device_gpa(vq)),
                   fg_gpa_to_uva(mem, fg_vq_driver_gpa(vq)), log ? fg_vq_device_gpa(vq) : 0);
    return ff_command_full(ff, FF_SET_VRING_ADDR, a, sizeof(a), NULL, 0, log, error);
}

/* ---------------- QEMU sequences ---------------- */

void ff_set_negotiated(FfConn *ff, uint64_t features, uint64_t protocol, uint64_t acked)
{
    ff->features = features;
    ff->protocol = protocol;
    ff->acked = acked;
}

bool ff_realize(FfConn *ff, GError **error)
{
    const FfSetup *s = &ff->setup;
    g_assert(s->nqueues <= FF_MAX_QUEUES);
    if (!ff_get_u64(ff, FF_GET_FEATURES, &ff->features, error))
        return false;
    if (ff->features & (1ull << FF_F_PROTOCOL_FEATURES)) {
        uint64_t offered;
        if (!ff_get_u64(ff, FF_GET_PROTOCOL_FEATURES, &offered, error))
            return false;
        ff->protocol = offered & s->want_protocol;
        if (!ff_set_u64(ff, FF_SET_PROTOCOL_FEATURES, ff->protocol, error))
            return false;
        if (!(ff->protocol & (1ull << FF_PROTO_F_CONFIG))) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "back-end lacks VHOST_USER_PROTOCOL_F_CONFIG (QEMU refuses it)");
            return false;
        }
        if (ff_has_protocol(ff, FF_PROTO_F_MQ)) {
            if (!ff_get_u64(ff, FF_GET_QUEUE_NUM, &ff->queue_num, error))
                return false;
            if (ff->queue_num < s->nqueues) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "back-end has %" G_GUINT64_FORMAT " queues, need %u",
                            ff->queue_num, s->nqueues);
                return false;
            }
        }
        if (ff_has_protocol(ff, FF_PROTO_F_CONFIGURE_MEM_SLOTS) &&
            !ff_get_u64(ff, FF_GET_MAX_MEM_SLOTS, &ff->max_mem_slots, error))
            return false;
        if (ff_has_protocol(ff, FF_PROTO_F_BACKEND_REQ)) {
            g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ff->backend_req) == 0);
            if (!ff_command(ff, FF_SET_BACKEND_REQ_FD, NULL, 0, &ff->backend_req[1], 1, error))
                return false;
            close(ff->backend_req[1]);
            ff->backend_req[1] = -1;
        }
    }
    if (!ff_command(ff, FF_SET_OWNER, NULL, 0, NULL, 0, error))
        return false;
    uint64_t again;
    if (!ff_get_u64(ff, FF_GET_FEATURES, &again, error))
        return false;
    if (again != ff->features) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "GET_FEATURES changed from 0x%" G_GINT64_MODIFIER "x to 0x%" G_GINT64_MODIFIER "x",
                    ff->features, again);
        return false;
    }
    /* vhost_dev_init() masks every queue: a call fd nobody reads. */
    for (unsigned int i = 0; i < s->nqueues; i++) {
        if (ff->masked_call[i] < 0)
            ff->masked_call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!ff_vring_fd(ff, FF_SET_VRING_CALL, i, ff->masked_call[i], error))
            return false;
    }
    return true;
}

bool ff_start(FfConn *ff, FgMem *mem, FgVq *const *vqs, const uint32_t *bases, GError **error)
{
    const FfSetup *s = &ff->setup;
    bool proto = ff->features & (1ull << FF_F_PROTOCOL_FEATURES);
    ff->acked = (ff->features & s->want_features) | (proto ? 1ull << FF_F_PROTOCOL_FEATURES : 0);
    if (s->log)
        ff->acked |= 1ull << FF_F_LOG_ALL;
    if (!ff_command_full(ff, FF_SET_FEATURES, &ff->acked, 8, NULL, 0, s->log, error))
        return false;
    if (ff_has_protocol(ff, FF_PROTO_F_STATUS) && !ff_add_status(ff, FF_S_FEATURES_OK, error))
        return false;
    if (s->inflight && ff_has_protocol(ff, FF_PROTO_F_INFLIGHT_SHMFD)) {
        if (ff->inflight_fd < 0) {
            uint16_t qs = 0;
            for (unsigned int i = 0; i < s->nqueues; i++)
                if (vqs[i])
                    qs = MAX(qs, fg_vq_size(vqs[i]));
            if (!ff_get_inflight(ff, (uint16_t)s->nqueues, qs, error))
                return false;
        }
        if (!ff_set_inflight(ff, error))
            return false;
    }
    if (s->mem_slots && ff_has_protocol(ff, FF_PROTO_F_CONFIGURE_MEM_SLOTS)) {
        for (unsigned int i = 0; i < mem->nregions; i++)
            if (!ff_add_mem_reg(ff, mem, i, error))
                return false;
    } else if (!ff_set_mem_table(ff, mem, error)) {
        return false;
    }
    for (unsigned int i = 0; i < s->nqueues; i++) {
        const FgVq *vq = vqs[i];
        if (!vq)
            continue;
        uint32_t base = bases ? bases[i] : fg_vq_base(vq);
        if (!ff_vring_state(ff, FF_SET_VRING_NUM, i, fg_vq_size(vq), error) ||
            !ff_vring_state(ff, FF_SET_VRING_BASE, i, base, error) ||
            !ff_set_vring_addr(ff, i, mem, vq, s->log, error) ||
            !ff_vring_fd(ff, FF_SET_VRING_KICK, i, fg_vq_kick_fd(vq), error) ||
            !ff_vring_fd(ff, FF_SET_VRING_CALL, i, fg_vq_call_fd(vq), error))
            return false;
    }
    if (proto) {
        for (unsigned int i = 0; i < s->nqueues; i++)
            if (vqs[i] && !ff_vring_state(ff, FF_SET_VRING_ENABLE, i, 1, error))
                return false;
    }
    ff->nstarted = s->nqueues;
    if (ff_has_protocol(ff, FF_PROTO_F_STATUS) &&
        !ff_add_status(ff, FF_S_ACKNOWLEDGE | FF_S_DRIVER | FF_S_FEATURES_OK | FF_S_DRIVER_OK,
                       error))
        return false;
    return true;
}

bool ff_suspend(FfConn *ff, uint32_t *bases, GError **error)
{
    unsigned int n = ff->setup.nqueues;
    if (ff->features & (1ull << FF_F_PROTOCOL_FEATURES)) {
        for (unsigned int i = 0; i < n; i++)
            if (!ff_vring_state(ff, FF_SET_VRING_ENABLE, i, 0, error))
                return false;
    }
    for (unsigned int i = 0; i < n; i++)
        if (!ff_get_vring_base(ff, i, bases ? &bases[i] : NULL, error))
            return false;
    ff->nstarted = 0;
    return true;
}

bool ff_stop(FfConn *ff, uint32_t *bases, GError **error)
{
    if (!ff_suspend(ff, bases, error))
        return false;
    if (ff_has_protocol(ff, FF_PROTO_F_STATUS) && !ff_set_u64(ff, FF_SET_STATUS, 0, error))
        return false;
    return true;
}

/* ---------------- inflight ---------------- */

bool ff_get_inflight(FfConn *ff, uint16_t num_queues, uint16_t queue_size, GError **error)
{
    uint8_t req[24] = { 0 };
    memcpy(req + 16, &num_queues, 2);
    memcpy(req + 18, &queue_size, 2);
    g_autofree FfMsg *reply = g_new0(FfMsg, 1);
    if (!ff_request(ff, FF_GET_INFLIGHT_FD, req, sizeof(req), NULL, 0, reply, error))
        return false;
    if (reply->size != 24 || reply->nfds != 1) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "GET_INFLIGHT_FD reply: size %u, %u fds", reply->size, reply->nfds);
        ff_msg_clear_fds(reply);
        return false;
    }
    if (ff->inflight_map)
        munmap(ff->inflight_map, ff->inflight_size);
    if (ff->inflight_fd >= 0)
        close(ff->inflight_fd);
    ff->inflight_map = NULL;
    ff->inflight_fd = reply->fds[0];
    memcpy(&ff->inflight_size, reply->payload.bytes, 8);
    memcpy(&ff->inflight_offset, reply->payload.bytes + 8, 8);
    ff->inflight_nq = num_queues;
    ff->inflight_qs = queue_size;
    if (ff->inflight_size) {
        void *p = mmap(NULL, ff->inflight_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                       ff->inflight_fd, (off_t)ff->inflight_offset);
        if (p == MAP_FAILED) {
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
                        "mmap inflight region of %" G_GUINT64_FORMAT " bytes: %s",
                        ff->inflight_size, g_strerror(errno));
            return false;
        }
        ff->inflight_map = p;
    }
    return true;
}

bool ff_set_inflight(FfConn *ff, GError **error)
{
    g_assert(ff->inflight_fd >= 0);
    uint8_t req[24] = { 0 };
    memcpy(req, &ff->inflight_size, 8);
    memcpy(req + 8, &ff->inflight_offset, 8);
    memcpy(req + 16, &ff->inflight_nq, 2);
    memcpy(req + 18, &ff->inflight_qs, 2);
    return ff_command(ff, FF_SET_INFLIGHT_FD, req, sizeof(req), &ff->inflight_fd, 1, error);
}

void ff_adopt_inflight(FfConn *to, const FfConn *from)
{
    g_assert(from->inflight_fd >= 0);
    if (to->inflight_map)
        munmap(to->inflight_map, to->inflight_size);
    if (to->inflight_fd >= 0)
        close(to->inflight_fd);
    to->inflight_fd = fcntl(from->inflight_fd, F_DUPFD_CLOEXEC, 3);
    g_assert(to->inflight_fd >= 0);
    to->inflight_size = from->inflight_size;
    to->inflight_offset = from->inflight_offset;
    to->inflight_nq = from->inflight_nq;
    to->inflight_qs = from->inflight_qs;
    to->inflight_map = NULL;
    if (to->inflight_size) {
        to->inflight_map = mmap(NULL, to->inflight_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                                to->inflight_fd, (off_t)to->inflight_offset);
        g_assert(to->inflight_map != MAP_FAILED);
    }
}

void *ff_inflight_map(FfConn *ff, uint64_t *size)
{
    if (size)
        *size = ff->inflight_size;
    return ff->inflight_map;
}

/* ---------------- dirty log ---------------- */

bool ff_set_log_base(FfConn *ff, const FgMem *mem, GError **error)
{
    const FgRegion *last = &mem->region[mem->nregions - 1];
    uint64_t pages = (last->gpa + last->size + FF_LOG_PAGE - 1) / FF_LOG_PAGE;
    uint64_t size = (pages + 7) / 8;
    size = (size + 4095) & ~4095ull;
    if (ff->log_map)
        munmap(ff->log_map, ff->log_size);
    if (ff->log_fd >= 0)
        close(ff->log_fd);
    ff->log_fd = memfd_create("vsnd-test-dirty-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    g_assert(ff->log_fd >= 0);
    g_assert(ftruncate(ff->log_fd, (off_t)size) == 0);
    ff->log_map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ff->log_fd, 0);
    g_assert(ff->log_map != MAP_FAILED);
    ff->log_size = size;
    uint64_t req[2] = { size, 0 };
    g_autofree FfMsg *reply = g_new0(FfMsg, 1);
    /* With LOG_SHMFD the back-end answers SET_LOG_BASE (vhost-user.rst
     * "Communication"). */
    if (!ff_request(ff, FF_SET_LOG_BASE, req, sizeof(req), &ff->log_fd, 1, reply, error))
        return false;
    ff_msg_clear_fds(reply);
    return true;
}

bool ff_log_dirty(FfConn *ff, uint64_t gpa, uint64_t len)
{
    if (!ff->log_map || !len)
        return false;
    for (uint64_t page = gpa / FF_LOG_PAGE; page <= (gpa + len - 1) / FF_LOG_PAGE; page++) {
        if (page / 8 >= ff->log_size)
            return false;
        uint8_t b = __atomic_load_n(&ff->log_map[page / 8], __ATOMIC_RELAXED);
        if (b & (1u << (page % 8)))
            return true;
    }
    return false;
}

void ff_log_clear(FfConn *ff)
{
    if (ff->log_map)
        memset(ff->log_map, 0, ff->log_size);
}

/* ---------------- device state ---------------- */

static bool ff_state_fd(FfConn *ff, uint32_t direction, int fd, int *backend_fd,
                        GError **error)
{
    uint32_t req[2] = { direction, 0 };
    g_autofree FfMsg *reply = g_new0(FfMsg, 1);
    if (!ff_request(ff, FF_SET_DEVICE_STATE_FD, req, sizeof(req), &fd, 1, reply, error))
        return false;
    if (reply->size != 8) {
        ff_msg_clear_fds(reply);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "SET_DEVICE_STATE_FD reply has size %u", reply->size);
        return false;
    }
    uint64_t v = reply->payload.u64;
    if (v & 0xff) {
        ff_msg_clear_fds(reply);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "SET_DEVICE_STATE_FD refused (0x%" G_GINT64_MODIFIER "x)", v);
        return false;
    }
    *backend_fd = -1;
    if (!(v & FF_VRING_NOFD)) {
        if (reply->nfds != 1) {
            ff_msg_clear_fds(reply);
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "SET_DEVICE_STATE_FD promised an fd and sent %u", reply->nfds);
            return false;
        }
        *backend_fd = reply->fds[0];
    } else {
        ff_msg_clear_fds(reply);
    }
    return true;
}

static bool ff_check_state(FfConn *ff, GError **error)
{
    uint64_t v;
    if (!ff_get_u64(ff, FF_CHECK_DEVICE_STATE, &v, error))
        return false;
    if (v != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "CHECK_DEVICE_STATE reports failure %" G_GUINT64_FORMAT, v);
        return false;
    }
    return true;
}

GBytes *ff_save_state(FfConn *ff, GError **error)
{
    int p[2];
    g_assert(pipe2(p, O_CLOEXEC) == 0);
    int other = -1;
    if (!ff_state_fd(ff, 0, p[1], &other, error)) {
        close(p[0]);
        close(p[1]);
        return NULL;
    }
    close(p[1]);
    int rfd = p[0];
    if (other >= 0) {
        close(p[0]);
        rfd = other;
    }
    g_autoptr(GByteArray) data = g_byte_array_new();
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    for (;;) {
        int r = vud_wait_readable(rfd, deadline);
        if (r < 0) {
            close(rfd);
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
                        "reading device state: %s", g_strerror(-r));
            return NULL;
        }
        uint8_t buf[65536];
        ssize_t n = read(rfd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(rfd);
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "reading device state: %s",
                        g_strerror(e));
            return NULL;
        }
        if (n == 0)
            break;
        g_byte_array_append(data, buf, (guint)n);
    }
    close(rfd);
    if (!ff_check_state(ff, error))
        return NULL;
    return g_byte_array_free_to_bytes(g_steal_pointer(&data));
}

bool ff_load_state(FfConn *ff, GBytes *state, GError **error)
{
    int p[2];
    g_assert(pipe2(p, O_CLOEXEC) == 0);
    int other = -1;
    if (!ff_state_fd(ff, 1, p[0], &other, error)) {
        close(p[0]);
        close(p[1]);
        return false;
    }
    close(p[0]);
    int wfd = p[1];
    if (other >= 0) {
        close(p[1]);
        wfd = other;
    }
    gsize len;
    const uint8_t *d = g_bytes_get_data(state, &len);
    gsize done = 0;
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
    while (done < len) {
        ssize_t n = write(wfd, d + done, len - done);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            struct pollfd pfd = { .fd = wfd, .events = POLLOUT };
            gint64 left = (deadline - g_get_monotonic_time()) / 1000;
            if (left <= 0) {
                close(wfd);
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                            "back-end stopped reading the device state after %zu bytes",
                            (size_t)done);
                return false;
            }
            poll(&pfd, 1, (int)left);
            continue;
        }
        if (n < 0) {
            int e = errno;
            close(wfd);
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "writing device state: %s",
                        g_strerror(e));
            return false;
        }
        done += (gsize)n;
    }
    close(wfd);
    return ff_check_state(ff, error);
}
