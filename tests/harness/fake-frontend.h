/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake-frontend.h - the vhost-user front-end (QEMU's role) for tests.
 *
 * Theory of operation: FfConn is one connected Unix socket to a back-end.
 * The low layer sends any message - well-formed or not, with any fds, any
 * flags, any size field - and reads replies with a timeout (BlueZ's
 * scripted-peer pattern: the test states the exchange, the harness only
 * moves bytes).  The high layer replays what QEMU's vhost-user-snd-pci
 * sends (docs/interop/vhost-user.rst; order from QEMU's hw/virtio/vhost.c
 * and vhost-user-base.c, checked against tests/data/qemu-sequences):
 *
 *   ff_realize():  GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 *                  GET_QUEUE_NUM (MQ), GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS),
 *                  SET_OWNER, GET_FEATURES, SET_VRING_CALL x nqueues
 *   ff_get_config(): GET_CONFIG (each guest config read)
 *   ff_start():    SET_FEATURES, GET_STATUS+SET_STATUS(FEATURES_OK),
 *                  [GET_INFLIGHT_FD] [SET_INFLIGHT_FD], SET_MEM_TABLE (or one
 *                  ADD_MEM_REG per region), per queue SET_VRING_NUM, _BASE,
 *                  _ADDR, _KICK, _CALL, then SET_VRING_ENABLE(1) each,
 *                  GET_STATUS+SET_STATUS(ACK|DRIVER|FEATURES_OK|DRIVER_OK)
 *   ff_stop():     SET_VRING_ENABLE(0) x n, GET_VRING_BASE x n, SET_STATUS(0)
 *
 * Real QEMU 10.0.2 differs (captured in tests/data/qemu-sequences/): it
 * sends SET_VRING_ERR after each realize SET_VRING_CALL, SET_VRING_CALL x n
 * again after the enables, never DRIVER_OK, and no SET_STATUS(0) on stop;
 * ff_start()/ff_stop() keep the older reading for the tests built on it,
 * frontend-replay.h replays the captured sequences exactly.
 *
 * With REPLY_ACK negotiated, the request kinds QEMU sends with need_reply
 * (and, with ack_all, every request without its own reply) carry the
 * need_reply flag and the ack is checked.
 *
 * Ownership: FfConn owns its socket and the fds it creates (inflight
 * memfd, log memfd); fds passed in by the caller are only borrowed.
 * Errors: functions a test reads report through GError; the raw layer
 * returns negative errno.
 */
#ifndef VSND_TESTS_FAKE_FRONTEND_H
#define VSND_TESTS_FAKE_FRONTEND_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "fake-guest.h"
#include "tests/vu-driver/vud-wire.h"

/* vhost-user front-end request codes (vhost-user.rst, "Front-end message
 * types"). */
enum {
    FF_GET_FEATURES = 1,
    FF_SET_FEATURES = 2,
    FF_SET_OWNER = 3,
    FF_RESET_OWNER = 4,
    FF_SET_MEM_TABLE = 5,
    FF_SET_LOG_BASE = 6,
    FF_SET_LOG_FD = 7,
    FF_SET_VRING_NUM = 8,
    FF_SET_VRING_ADDR = 9,
    FF_SET_VRING_BASE = 10,
    FF_GET_VRING_BASE = 11,
    FF_SET_VRING_KICK = 12,
    FF_SET_VRING_CALL = 13,
    FF_SET_VRING_ERR = 14,
    FF_GET_PROTOCOL_FEATURES = 15,
    FF_SET_PROTOCOL_FEATURES = 16,
    FF_GET_QUEUE_NUM = 17,
    FF_SET_VRING_ENABLE = 18,
    FF_SEND_RARP = 19,
    FF_NET_SET_MTU = 20,
    FF_SET_BACKEND_REQ_FD = 21,
    FF_IOTLB_MSG = 22,
    FF_SET_VRING_ENDIAN = 23,
    FF_GET_CONFIG = 24,
    FF_SET_CONFIG = 25,
    FF_POSTCOPY_ADVISE = 28,
    FF_POSTCOPY_LISTEN = 29,
    FF_POSTCOPY_END = 30,
    FF_GET_INFLIGHT_FD = 31,
    FF_SET_INFLIGHT_FD = 32,
    FF_RESET_DEVICE = 34,
    FF_VRING_KICK = 35,
    FF_GET_MAX_MEM_SLOTS = 36,
    FF_ADD_MEM_REG = 37,
    FF_REM_MEM_REG = 38,
    FF_SET_STATUS = 39,
    FF_GET_STATUS = 40,
    FF_GET_SHARED_OBJECT = 41,
    FF_SET_DEVICE_STATE_FD = 42,
    FF_CHECK_DEVICE_STATE = 43,
};

/* Protocol feature bits. */
enum {
    FF_PROTO_F_MQ = 0,
    FF_PROTO_F_LOG_SHMFD = 1,
    FF_PROTO_F_RARP = 2,
    FF_PROTO_F_REPLY_ACK = 3,
    FF_PROTO_F_MTU = 4,
    FF_PROTO_F_BACKEND_REQ = 5,
    FF_PROTO_F_CROSS_ENDIAN = 6,
    FF_PROTO_F_CRYPTO_SESSION = 7,
    FF_PROTO_F_PAGEFAULT = 8,
    FF_PROTO_F_CONFIG = 9,
    FF_PROTO_F_BACKEND_SEND_FD = 10,
    FF_PROTO_F_HOST_NOTIFIER = 11,
    FF_PROTO_F_INFLIGHT_SHMFD = 12,
    FF_PROTO_F_RESET_DEVICE = 13,
    FF_PROTO_F_INBAND_NOTIFICATIONS = 14,
    FF_PROTO_F_CONFIGURE_MEM_SLOTS = 15,
    FF_PROTO_F_STATUS = 16,
    FF_PROTO_F_XEN_MMAP = 17,
    FF_PROTO_F_SHARED_OBJECT = 18,
    FF_PROTO_F_DEVICE_STATE = 19,
    FF_PROTO_F_GET_VRING_BASE_INFLIGHT = 20,
};

#define FF_F_PROTOCOL_FEATURES 30     /* VHOST_USER_F_PROTOCOL_FEATURES */
#define FF_F_LOG_ALL 26               /* VHOST_F_LOG_ALL */
#define FF_VERSION VUD_VERSION
#define FF_FLAG_REPLY VUD_FLAG_REPLY
#define FF_FLAG_NEED_REPLY VUD_FLAG_NEED_REPLY
#define FF_VRING_NOFD VUD_VRING_NOFD
#define FF_HDR_SIZE VUD_HDR_SIZE
#define FF_MAX_PAYLOAD VUD_MAX_PAYLOAD
#define FF_MAX_FDS VUD_MAX_FDS
#define FF_MAX_QUEUES 8u
/* Protocol features QEMU (10.x) knows; it masks the back-end's offer with
 * these (bits 0..20 minus GET_VRING_BASE_INFLIGHT, see guest notes 9.1). */
#define FF_QEMU_PROTOCOL_MASK (((1ull << 21) - 1) & ~(1ull << FF_PROTO_F_GET_VRING_BASE_INFLIGHT))

/* Virtio device status bits. */
#define FF_S_ACKNOWLEDGE 1u
#define FF_S_DRIVER 2u
#define FF_S_DRIVER_OK 4u
#define FF_S_FEATURES_OK 8u
#define FF_S_NEEDS_RESET 64u
#define FF_S_FAILED 128u

/* A received message (reply); its fds are the receiver's to close. */
typedef VudMsg FfMsg;

/* Close the fds a received message carried. */
void ff_msg_clear_fds(FfMsg *msg);

/* What the front-end asks for; fill with ff_setup_init(). */
typedef struct FfSetup {
    unsigned int nqueues;         /* 4 for sound */
    uint64_t want_features;       /* virtio features the "guest" acks if offered */
    uint64_t want_protocol;       /* protocol features acked if offered */
    bool mem_slots;               /* use ADD_MEM_REG instead of SET_MEM_TABLE */
    bool ack_all;                 /* need_reply on every request without a reply */
    bool inflight;                /* GET/SET_INFLIGHT_FD at start */
    bool log;                     /* log ring writes (VHOST_VRING_F_LOG on addr) */
    int timeout_ms;               /* per reply, default 5000 */
} FfSetup;

void ff_setup_init(FfSetup *s);

typedef struct FfConn FfConn;

/* Connect to a listening back-end at @path. */
FfConn *ff_connect(const char *path, GError **error);
/* Wrap an already connected socket (ownership taken). */
FfConn *ff_new_from_fd(int fd);
void ff_free(FfConn *ff);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FfConn, ff_free)
int ff_fd(const FfConn *ff);
FfSetup *ff_setup(FfConn *ff);

/* --- raw layer --- */
/* Send header {request, flags, size} + @len payload bytes (@len may
 * differ from @size for malformed messages) with @fds. Return: 0 or -errno. */
int ff_send_full(FfConn *ff, uint32_t request, uint32_t flags, uint32_t size,
                 const void *payload, size_t len, const int *fds, unsigned int nfds);
/* Well-formed send: version flag (+ need_reply if asked), size = len. */
int ff_send(FfConn *ff, uint32_t request, bool need_reply, const void *payload, size_t len,
            const int *fds, unsigned int nfds);
/* Arbitrary bytes on the socket (e.g. half a header). */
int ff_send_bytes(FfConn *ff, const void *buf, size_t len, const int *fds, unsigned int nfds);
/* Read one message. Return: 0, -ETIMEDOUT, -ECONNRESET (peer closed),
 * -EPROTO (garbage). */
int ff_recv(FfConn *ff, FfMsg *msg, int timeout_ms);
/* Did the back-end close the connection within @timeout_ms?  Discards
 * anything it sends meanwhile. */
bool ff_wait_closed(FfConn *ff, int timeout_ms);

/* --- message helpers (GError for the test to read) --- */
/* Send a request that has a reply and check the reply header (request
 * code, REPLY flag, version).  @reply may be NULL. */
bool ff_request(FfConn *ff, uint32_t request, const void *payload, size_t len,
                const int *fds, unsigned int nfds, FfMsg *reply, GError **error);
/* Send a request without a reply of its own; with REPLY_ACK negotiated
 * and need_reply wanted, wait for the ack and fail if non-zero. */
bool ff_command(FfConn *ff, uint32_t request, const void *payload, size_t len,
                const int *fds, unsigned int nfds, GError **error);
bool ff_get_u64(FfConn *ff, uint32_t request, uint64_t *out, GError **error);
bool ff_set_u64(FfConn *ff, uint32_t request, uint64_t value, GError **error);
bool ff_vring_state(FfConn *ff, uint32_t request, uint32_t index, uint32_t num,
                    GError **error);
bool ff_vring_fd(FfConn *ff, uint32_t request, uint32_t index, int fd, GError **error);
bool ff_get_vring_base(FfConn *ff, uint32_t index, uint32_t *base, GError **error);
bool ff_get_status(FfConn *ff, uint8_t *status, GError **error);
/* QEMU's vhost_user_add_status(): GET_STATUS, then SET_STATUS(old|bits). */
bool ff_add_status(FfConn *ff, uint8_t bits, GError **error);
bool ff_get_config(FfConn *ff, uint32_t offset, uint32_t size, void *buf, GError **error);

/* Memory regions as SET_MEM_TABLE / ADD_MEM_REG payloads. */
bool ff_set_mem_table(FfConn *ff, const FgMem *mem, GError **error);
bool ff_add_mem_reg(FfConn *ff, const FgMem *mem, unsigned int region, GError **error);
bool ff_rem_mem_reg(FfConn *ff, const FgMem *mem, unsigned int region, GError **error);
/* SET_VRING_ADDR for @vq as queue @index (ring addresses as user
 * addresses; with @log the LOG flag and log_guest_addr = used ring gpa). */
bool ff_set_vring_addr(FfConn *ff, unsigned int index, const FgMem *mem, const FgVq *vq,
                       bool log, GError **error);

/* --- QEMU sequences --- */
/* Record values negotiated outside ff_realize()/ff_start() (a replayed
 * sequence): the back-end's features, acked protocol features, the
 * SET_FEATURES value. */
void ff_set_negotiated(FfConn *ff, uint64_t features, uint64_t protocol, uint64_t acked);
bool ff_realize(FfConn *ff, GError **error);
/* Negotiated values (valid after ff_realize / ff_start). */
uint64_t ff_features(const FfConn *ff);         /* back-end's offer */
uint64_t ff_protocol_features(const FfConn *ff); /* acked protocol features */
uint64_t ff_acked_features(const FfConn *ff);   /* sent in SET_FEATURES */
bool ff_has_protocol(const FfConn *ff, unsigned int bit);
uint64_t ff_queue_num(const FfConn *ff);
uint64_t ff_max_mem_slots(const FfConn *ff);

/*
 * ff_start() - the DRIVER_OK sequence.
 * @vqs: @nqueues rings (all of the same kind: split or packed); a NULL
 *       entry is skipped like QEMU skips queues with a zero address.
 * @bases: SET_VRING_BASE values, or NULL for fg_vq_base() of each ring.
 */
bool ff_start(FfConn *ff, FgMem *mem, FgVq *const *vqs, const uint32_t *bases,
              GError **error);
/* Suspend: SET_VRING_ENABLE(0) x n, GET_VRING_BASE x n (no status
 * reset), as before a device-state save. */
bool ff_suspend(FfConn *ff, uint32_t *bases, GError **error);
/* The stop sequence (ff_suspend + SET_STATUS(0)); @bases (may be NULL)
 * receives GET_VRING_BASE values. */
bool ff_stop(FfConn *ff, uint32_t *bases, GError **error);

/* --- inflight (vhost-user.rst "Inflight I/O tracking") --- */
/* GET_INFLIGHT_FD: the back-end's region; kept by the FfConn. */
bool ff_get_inflight(FfConn *ff, uint16_t num_queues, uint16_t queue_size, GError **error);
/* SET_INFLIGHT_FD with the kept region (or one adopted by ff_adopt_inflight). */
bool ff_set_inflight(FfConn *ff, GError **error);
/* Give the inflight region (fd dup'ed, size, offset, geometry) of @from
 * to @to, as QEMU keeps it across a back-end restart. */
void ff_adopt_inflight(FfConn *to, const FfConn *from);
/* Mapping of the kept inflight region (NULL if none) and its size. */
void *ff_inflight_map(FfConn *ff, uint64_t *size);

/* --- dirty log --- */
/* SET_LOG_BASE with a fresh log memfd covering @mem; waits for the reply. */
bool ff_set_log_base(FfConn *ff, const FgMem *mem, GError **error);
/* Any page in [gpa, gpa+len) marked dirty? */
bool ff_log_dirty(FfConn *ff, uint64_t gpa, uint64_t len);
void ff_log_clear(FfConn *ff);

/* --- device state (vhost-user.rst "Migrating back-end state") --- */
/* SET_DEVICE_STATE_FD(SAVE) with a pipe, read everything, then
 * CHECK_DEVICE_STATE.  Return: the state blob or NULL with @error. */
GBytes *ff_save_state(FfConn *ff, GError **error);
/* SET_DEVICE_STATE_FD(LOAD), write @state, close, CHECK_DEVICE_STATE. */
bool ff_load_state(FfConn *ff, GBytes *state, GError **error);

/* Name of a request code, for messages. */
const char *ff_request_name(uint32_t request);

#endif /* VSND_TESTS_FAKE_FRONTEND_H */
