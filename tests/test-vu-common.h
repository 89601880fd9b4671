/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vu-common.h - in-process front-end and guest for the vhost-user
 * core unit tests, on the shared tests/vu-driver (the wire, guest memory,
 * ring fields, a VuDev behind a socketpair).  What is theirs: a recording
 * device, asserting request helpers, guest RAM at fixed addresses in two
 * adjacent regions and rings whose chains are laid out in order at fixed
 * places, so that a test can write corner cases by hand.
 */
#ifndef TEST_VU_COMMON_H
#define TEST_VU_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "vu/vu-dev.h"
#include "vu/vu-msg.h"
#include "tests/vu-driver/guest-mem.h"
#include "tests/vu-driver/vud-dev.h"

#define TG_NREG 2
#define TG_REG_SIZE (2u << 20)
#define TG_GPA_BASE 0x40000000ull
#define TG_UVA_BASE 0x7f1200000000ull
#define TG_NQ 4
#define TG_QSIZE 64

/* Where queue q's rings live (gpa). */
#define TG_DESC(q) (TG_GPA_BASE + 0x10000ull * (q))
#define TG_AVAIL(q) (TG_DESC(q) + 0x4000)
#define TG_USED(q) (TG_DESC(q) + 0x8000)
/* Data area for buffers. */
#define TG_DATA (TG_GPA_BASE + 0x100000ull)

typedef struct TDevice {
    unsigned int kicks[TG_NQ];
    int started[TG_NQ];
    unsigned int start_calls[TG_NQ];
    unsigned int stop_calls[TG_NQ];
    unsigned int suspends, resumes, resets;
    VuResetReason last_reset; /* why the last reset came */
    VuResetReason *reset_out; /* also written there (outlives tf_free()) */
    uint64_t features_acked;
    uint8_t config[16];
    int config_fail;
    uint8_t set_config_buf[16];
    uint32_t set_config_offset, set_config_len, set_config_flags;
    int state_fd;          /* fd received by set_device_state_fd */
    int state_dir, state_phase;
    int state_ret;         /* returned by set_device_state_fd */
    bool state_reply_fd;   /* supply a reply fd */
    int check_ret;
    /* Elements the device "holds"; pushed back on queue stop. */
    GPtrArray *held[TG_NQ];
    /* Called on kick if set. */
    void (*on_kick)(VuDev *dev, int q);
} TDevice;

/* Guest RAM: an FgMem with a memfd per region; memfd[] and mem[] are
 * its regions' fds and mappings. */
typedef struct TGuest {
    FgMem *fm;
    int memfd[TG_NREG];
    uint8_t *mem[TG_NREG];
} TGuest;

typedef struct TRing {
    unsigned int num;
    bool packed;
    /* split */
    uint16_t avail_idx;
    uint16_t next_free;
    uint16_t used_seen;
    /* packed */
    uint16_t avail_pos;
    bool avail_wrap;
    uint16_t used_pos;
    bool used_wrap;
    uint16_t next_id;
    uint16_t id_len[1024];
    int kick;   /* our end of the kick eventfd (same eventfd) */
    int call;
    int err;
} TRing;

typedef struct TFront {
    int sock;
    VuDev *dev;
    TDevice td;
    TGuest g;
    TRing ring[TG_NQ];
    VudWatches *watches; /* a block of its own: TFront keeps its size (ASan's
                          * size classes, counted by the map-leak test) */
    uint64_t features;
} TFront;

const VuDevIface *tdev_iface(void);

/* Guest memory. */
void tg_init(TGuest *g);
void tg_fini(TGuest *g);
void *tg_ptr(TGuest *g, uint64_t gpa);

/* Front-end. */
TFront *tf_new(void);
void tf_free(TFront *tf);
/* Drop the VuDev (as on disconnect) keeping guest memory; new socket. */
void tf_reconnect(TFront *tf);

/* Send a raw message; fds are sent, not closed. */
void tf_send_raw(TFront *tf, const void *buf, size_t len, const int *fds, unsigned int nfds);
void tf_send(TFront *tf, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
             const int *fds, unsigned int nfds);
/* Send and dispatch one message. Return: dispatch result. */
bool tf_msg(TFront *tf, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
            const int *fds, unsigned int nfds);
/* Receive a reply (asserts one arrives). Return: payload size. */
uint32_t tf_recv(TFront *tf, VuMsgHdr *hdr, void *payload, size_t max, int *ret_fd);
bool tf_has_reply(TFront *tf);
/* Convenience: request with u64 payload (or none), expect success. */
void tf_set_u64(TFront *tf, uint32_t req, uint64_t v);
uint64_t tf_get_u64(TFront *tf, uint32_t req);
void tf_set_state(TFront *tf, uint32_t req, uint32_t index, uint32_t num);
uint32_t tf_get_vring_base(TFront *tf, unsigned int q);

/* Negotiate features (+PROTOCOL_FEATURES) and all protocol features. */
void tf_negotiate(TFront *tf, uint64_t features);
void tf_set_mem_table(TFront *tf);
/* NUM, BASE, ADDR, KICK, CALL, ERR, ENABLE for queue q. */
void tf_setup_queue(TFront *tf, unsigned int q, unsigned int num, bool packed);
/* Same with a given SET_VRING_BASE value; @wipe clears ring memory and
 * the driver-side state; without @with_kick_fd the ring is kick-less. */
void tf_setup_queue_ex(TFront *tf, unsigned int q, unsigned int num, bool packed, uint32_t base,
                       bool wipe, bool with_kick_fd);
/* Run pending watch callbacks once (no blocking). Return: callbacks run. */
unsigned int tf_run_watches(TFront *tf, int timeout_ms);

/* Split ring driver side. */
typedef struct TBuf {
    uint64_t gpa;
    uint32_t len;
    bool write;
} TBuf;
/* Add a chain; indirect: put it in an indirect table at @itbl_gpa. */
uint16_t tr_split_add(TFront *tf, unsigned int q, const TBuf *bufs, unsigned int n,
                      uint64_t itbl_gpa);
void tr_split_write_desc(TFront *tf, unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
                         uint16_t flags, uint16_t next);
void tr_split_publish(TFront *tf, unsigned int q, uint16_t head);
uint16_t tr_split_used_idx(TFront *tf, unsigned int q);
void tr_split_used_elem(TFront *tf, unsigned int q, uint16_t slot, uint32_t *id, uint32_t *len);

/* Packed ring driver side: returns buffer id. */
uint16_t tr_packed_add(TFront *tf, unsigned int q, const TBuf *bufs, unsigned int n,
                       uint64_t itbl_gpa);
/* Next used descriptor; false if none. */
bool tr_packed_get_used(TFront *tf, unsigned int q, uint16_t *id, uint32_t *len);

/* eventfd helpers */
uint64_t t_eventfd_read(int fd); /* 0 if not signalled */
unsigned int t_count_fds(void);

#endif /* TEST_VU_COMMON_H */
