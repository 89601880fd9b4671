/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-msg.h - vhost-user wire format, request table and socket I/O.
 *
 * Everything a front-end can send is described here once: the request
 * numbers, the payload layouts, and the validation table used by
 * vu_msg_validate() (payload size rule, allowed file descriptors, and
 * where the vring index lives).  Handlers in vu-dev.c only ever see
 * messages that passed this table.
 */
#ifndef VU_MSG_H
#define VU_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Front-end request ids (vhost-user.rst, "Front-end message types"). */
enum {
    VHOST_USER_NONE = 0,
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
    VHOST_USER_NET_SET_MTU = 20,
    VHOST_USER_SET_BACKEND_REQ_FD = 21,
    VHOST_USER_IOTLB_MSG = 22,
    VHOST_USER_SET_VRING_ENDIAN = 23,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_CREATE_CRYPTO_SESSION = 26,
    VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
    VHOST_USER_POSTCOPY_ADVISE = 28,
    VHOST_USER_POSTCOPY_LISTEN = 29,
    VHOST_USER_POSTCOPY_END = 30,
    VHOST_USER_GET_INFLIGHT_FD = 31,
    VHOST_USER_SET_INFLIGHT_FD = 32,
    VHOST_USER_GPU_SET_SOCKET = 33,
    VHOST_USER_RESET_DEVICE = 34,
    VHOST_USER_VRING_KICK = 35,
    VHOST_USER_GET_MAX_MEM_SLOTS = 36,
    VHOST_USER_ADD_MEM_REG = 37,
    VHOST_USER_REM_MEM_REG = 38,
    VHOST_USER_SET_STATUS = 39,
    VHOST_USER_GET_STATUS = 40,
    VHOST_USER_GET_SHARED_OBJECT = 41,
    VHOST_USER_SET_DEVICE_STATE_FD = 42,
    VHOST_USER_CHECK_DEVICE_STATE = 43,
    VHOST_USER_MAX
};

/* Protocol feature bits (vhost-user.rst, "Protocol features"). */
enum {
    VHOST_USER_PROTOCOL_F_MQ = 0,
    VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
    VHOST_USER_PROTOCOL_F_RARP = 2,
    VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
    VHOST_USER_PROTOCOL_F_MTU = 4,
    VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
    VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
    VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
    VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
    VHOST_USER_PROTOCOL_F_CONFIG = 9,
    VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
    VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
    VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
    VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
    VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
    VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
    VHOST_USER_PROTOCOL_F_STATUS = 16,
    VHOST_USER_PROTOCOL_F_XEN_MMAP = 17,
    VHOST_USER_PROTOCOL_F_SHARED_OBJECT = 18,
    VHOST_USER_PROTOCOL_F_DEVICE_STATE = 19,
    VHOST_USER_PROTOCOL_F_GET_VRING_BASE_INFLIGHT = 20,
};

#define VHOST_USER_F_PROTOCOL_FEATURES 30

#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* SET_VRING_KICK/CALL/ERR u64 payload: bits 0-7 index, bit 8 no-fd. */
#define VHOST_USER_VRING_IDX_MASK 0xffull
#define VHOST_USER_VRING_NOFD_MASK (1ull << 8)

#define VHOST_MEMORY_BASELINE_NREGIONS 8
#define VU_MSG_MAX_FDS 8
#define VHOST_USER_MAX_CONFIG_SIZE 256

typedef struct __attribute__((packed)) VuMsgHdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} VuMsgHdr;

typedef struct VuMsgState {
    uint32_t index;
    uint32_t num;
} VuMsgState;

typedef struct VuMsgVringAddr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
} VuMsgVringAddr;

typedef struct VuMsgMemRegion {
    uint64_t guest_addr;
    uint64_t size;
    uint64_t user_addr;
    uint64_t mmap_offset;
} VuMsgMemRegion;

typedef struct VuMsgMemory {
    uint32_t nregions;
    uint32_t padding;
    VuMsgMemRegion regions[VHOST_MEMORY_BASELINE_NREGIONS];
} VuMsgMemory;

typedef struct VuMsgMemRegionSingle {
    uint64_t padding;
    VuMsgMemRegion region;
} VuMsgMemRegionSingle;

typedef struct VuMsgLog {
    uint64_t size;
    uint64_t offset;
} VuMsgLog;

typedef struct VuMsgConfig {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
} VuMsgConfig;
#define VU_MSG_CONFIG_HDR_SIZE 12u

typedef struct VuMsgInflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
} VuMsgInflight;
#define VU_MSG_INFLIGHT_PACKED_SIZE 20u

typedef struct VuMsgDeviceState {
    uint32_t direction;
    uint32_t phase;
} VuMsgDeviceState;

typedef union VuMsgPayload {
    uint64_t u64;
    VuMsgState state;
    VuMsgVringAddr addr;
    VuMsgMemory memory;
    VuMsgMemRegionSingle memreg;
    VuMsgLog log;
    VuMsgConfig config;
    VuMsgInflight inflight;
    VuMsgDeviceState device_state;
    uint8_t raw[sizeof(VuMsgMemory) > sizeof(VuMsgConfig) ? sizeof(VuMsgMemory)
                                                          : sizeof(VuMsgConfig)];
} VuMsgPayload;

_Static_assert(sizeof(VuMsgHdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(VuMsgVringAddr) == 40, "vring address is 40 bytes");
_Static_assert(sizeof(VuMsgMemRegion) == 32, "memory region is 32 bytes");
_Static_assert(sizeof(VuMsgMemory) == 8 + 8 * 32, "memory table layout");
_Static_assert(sizeof(VuMsgMemRegionSingle) == 40, "single region layout");
_Static_assert(sizeof(VuMsgInflight) == 24, "inflight description layout");

/* One message with the file descriptors that came with it. */
typedef struct VuMsg {
    VuMsgHdr hdr;
    VuMsgPayload payload;
    int fds[VU_MSG_MAX_FDS];
    unsigned int fd_num;
} VuMsg;

#define VU_MSG_MAX_PAYLOAD ((uint32_t)sizeof(VuMsgPayload))

/* Where a request carries its vring index. */
typedef enum {
    VU_IDX_NONE = 0,
    VU_IDX_STATE, /* payload.state.index (also vring addr .index) */
    VU_IDX_U64,   /* payload.u64 bits 0-7, bit 8 = no fd */
} VuIdxKind;

/* Validation rule of one request: the single table. */
typedef struct VuMsgRule {
    const char *name;
    uint32_t size_min;   /* payload size range, inclusive */
    uint32_t size_max;
    uint8_t fds_min;     /* allowed number of fds, inclusive */
    uint8_t fds_max;
    VuIdxKind idx;
    bool has_reply;      /* request has an explicit reply payload */
} VuMsgRule;

/*
 * vu_msg_rule() - the validation rule of @request.
 * Return: the rule, or NULL for a request this back-end does not know.
 */
const VuMsgRule *vu_msg_rule(uint32_t request);
const char *vu_msg_request_name(uint32_t request);

/*
 * vu_msg_validate() - check a received message against the table.
 * @msg: a received message (header, payload and fds)
 * @num_queues: number of vrings of the device
 * @why: out, a static reason on failure
 * Return: 0 if acceptable, -ENOSYS for an unknown request (the caller
 * answers it with an error ack), -EPROTO for a malformed message (the
 * caller drops the connection).
 */
int vu_msg_validate(const VuMsg *msg, unsigned int num_queues, const char **why);

/* How long vu_msg_recv() waits for the rest of a started message (one
 * deadline for the whole message, however it trickles in), and
 * vu_msg_send_reply() for room in the socket (ms); the fuzzers set 0. */
extern int vu_msg_io_timeout_ms;

/*
 * vu_msg_recv() - read one message from @sock.
 * Blocks at most vu_msg_io_timeout_ms (1 s) in all for the rest of a
 * message that has started.
 * Return: 1 on success, 0 on orderly EOF, -errno on failure or on a
 * message the framing cannot accept (bad version, oversized payload, too
 * many fds).  On any return other than 1, no fd is left open.
 */
int vu_msg_recv(int sock, VuMsg *msg);

/*
 * vu_msg_send_reply() - send the reply to @msg (same request id, reply
 * flag set) with @size bytes of @msg->payload and optional @fd (-1: none).
 * Return: 0 or -errno.
 */
int vu_msg_send_reply(int sock, VuMsg *msg, uint32_t size, int fd);

/* Close every fd still held by @msg. */
void vu_msg_close_fds(VuMsg *msg);

/* Vring index of a message whose rule has idx != VU_IDX_NONE. */
unsigned int vu_msg_vring_index(const VuMsg *msg, const VuMsgRule *rule);

#endif /* VU_MSG_H */
