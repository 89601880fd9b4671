/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-proto.c - the real daemon against a scripted QEMU.
 *
 * Every test spawns $VSND_DAEMON (null audio driver) on a private socket
 * and speaks vhost-user to it through tests/harness: the exact message
 * sequences of QEMU's vhost-user-snd-pci at guest boot and reset, split
 * and packed rings, REPLY_ACK, memory slots, dirty log, device state,
 * malformed messages (each must drop that connection while the daemon
 * keeps listening and serves the next front-end cleanly), corrupt rings
 * (device broken, DEVICE_NEEDS_RESET, no crash) and 1000 reconnects
 * without fd or memory growth.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_snd.h>

#include "tests/harness/daemon.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/fake-guest.h"
#include "tests/harness/snd-guest.h"

#define VF_RING_PACKED 34

static VdProc *spawn(void)
{
    g_autoptr(GError) err = NULL;
    VdProc *vd = vd_spawn_ready(NULL, &err);
    g_assert_no_error(err);
    return vd;
}

static void assert_serves(VdProc *vd)
{
    g_autoptr(GError) err = NULL;
    g_assert_true(vd_alive(vd));
    if (!sg_check_serves(vd, &err)) {
        g_autofree char *log = vd_stderr(vd);
        g_printerr("daemon stderr:\n%s\n", log);
    }
    g_assert_no_error(err);
    g_assert_true(vd_alive(vd));
}

static uint32_t used_idx(SgGuest *sg, unsigned int q)
{
    return fg_vq_used_idx(sg->vq[q]);
}

/* ---------------- valid sequences ---------------- */

static void boot_and_stop(bool packed)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.packed = packed;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    /* Before realize: ask what is offered, so the packed case can say why
     * it does not run. */
    if (packed) {
        uint64_t f;
        g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));
        if (!(f & (1ull << VF_RING_PACKED))) {
            g_test_fail_printf("daemon does not offer VIRTIO_F_RING_PACKED (a missing feature fails, never skips)");
            return;
        }
    }
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    /* What QEMU and Linux require of the offer (guest notes 9.1, 11). */
    uint64_t f = ff_features(sg->ff);
    g_assert_true(f & (1ull << 32));                  /* VERSION_1 */
    g_assert_true(f & (1ull << FF_F_PROTOCOL_FEATURES));
    g_assert_true(ff_has_protocol(sg->ff, FF_PROTO_F_CONFIG));
    g_assert_false(f & (1ull << 33));                 /* no ACCESS_PLATFORM */
    if (ff_has_protocol(sg->ff, FF_PROTO_F_MQ))
        g_assert_cmpuint(ff_queue_num(sg->ff), >=, 4);
    g_assert_cmpuint(sg->streams, >=, 1);
    /* the device answered exactly the three probe queries */
    if (!packed)
        g_assert_cmpuint(used_idx(sg, VIRTIO_SND_VQ_CONTROL), ==,
                         (sg->jacks > 0) + (sg->streams > 0) + (sg->chmaps > 0));
    /* the un-kicked event buffers were not consumed */
    g_assert_cmpuint(sg_event_free(sg), ==, o.queue_size);
    uint8_t st;
    g_assert_true(ff_get_status(sg->ff, &st, &err));
    if (ff_has_protocol(sg->ff, FF_PROTO_F_STATUS))
        g_assert_cmphex(st & 0xf, ==, FF_S_ACKNOWLEDGE | FF_S_DRIVER | FF_S_FEATURES_OK | FF_S_DRIVER_OK);
    uint32_t bases[4];
    g_assert_true(ff_stop(sg->ff, bases, &err));
    g_assert_no_error(err);
    unsigned int nctl = (sg->jacks > 0) + (sg->streams > 0) + (sg->chmaps > 0);
    if (packed) {
        /* next avail position and the driver wrap counter (still 1) */
        g_assert_cmphex(bases[VIRTIO_SND_VQ_CONTROL] & 0xffff, ==, 0x8000u | (nctl % 64));
    } else {
        g_assert_cmpuint(bases[VIRTIO_SND_VQ_CONTROL], ==, nctl);
        g_assert_cmpuint(bases[VIRTIO_SND_VQ_TX], ==, 0);
        g_assert_cmpuint(bases[VIRTIO_SND_VQ_RX], ==, 0);
    }
    if (ff_has_protocol(sg->ff, FF_PROTO_F_STATUS)) {
        g_assert_true(ff_get_status(sg->ff, &st, &err));
        g_assert_cmpuint(st, ==, 0);
    }
    g_clear_pointer(&sg, sg_free);
    assert_serves(vd);
}

static void test_boot_split(void) { boot_and_stop(false); }
static void test_boot_packed(void) { boot_and_stop(true); }

/* Guest reset: stop sequence, then (virtsnd_restore-like) restart without
 * re-probe; the first commands are RELEASE, SET_PARAMS, PREPARE. Then a
 * second reset followed by a full re-probe (driver rebind). */
static void test_guest_reset(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    uint32_t st;
    g_assert_true(sg_pcm_set_params(sg, 0, 19200, 4800, 2, VIRTIO_SND_PCM_FMT_S16,
                                    VIRTIO_SND_PCM_RATE_48000, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_true(sg_pcm_cmd(sg, VIRTIO_SND_R_PCM_PREPARE, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_true(sg_reset(sg, &err));
    g_assert_no_error(err);
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    g_assert_true(sg_pcm_cmd(sg, VIRTIO_SND_R_PCM_RELEASE, 0, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_true(sg_pcm_set_params(sg, 0, 19200, 4800, 2, VIRTIO_SND_PCM_FMT_S16,
                                    VIRTIO_SND_PCM_RATE_48000, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_true(sg_pcm_cmd(sg, VIRTIO_SND_R_PCM_PREPARE, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    /* unbind + rebind: reset, restart, full probe again */
    g_assert_true(sg_reset(sg, &err));
    g_assert_true(sg_restart(sg, &err));
    g_autofree struct virtio_snd_pcm_info *info = g_new0(struct virtio_snd_pcm_info, sg->streams);
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, sg->streams, sizeof(*info), info,
                                &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_cmpmem(info, sizeof(*info) * sg->streams, sg->pcm, sizeof(*info) * sg->streams);
    g_clear_pointer(&sg, sg_free);
    assert_serves(vd);
}

/* What the daemon must offer (issue 12, CI): the feature tests below
 * fail instead of skipping when one is missing, and this names them all
 * at once. */
static void test_offers_required(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(FfConn) ff = vd_connect(vd, &err);
    g_assert_no_error(err);
    uint64_t f = 0, pf = 0;
    g_assert_true(ff_get_u64(ff, FF_GET_FEATURES, &f, &err));
    g_assert_true(ff_get_u64(ff, FF_GET_PROTOCOL_FEATURES, &pf, &err));
    g_assert_no_error(err);
    g_test_message("features 0x%" G_GINT64_MODIFIER "x, protocol features 0x%"
                   G_GINT64_MODIFIER "x", f, pf);
    g_assert_true(f & (1ull << VF_RING_PACKED));
    g_assert_true(f & (1ull << FF_F_LOG_ALL));
    g_assert_true(pf & (1ull << FF_PROTO_F_REPLY_ACK));
    g_assert_true(pf & (1ull << FF_PROTO_F_CONFIGURE_MEM_SLOTS));
    g_assert_true(pf & (1ull << FF_PROTO_F_LOG_SHMFD));
    g_assert_true(pf & (1ull << FF_PROTO_F_DEVICE_STATE));
}

/* REPLY_ACK with need_reply on every command; on requests that have a
 * reply of their own, need_reply must not produce a second message. */
static void test_reply_ack(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    ff_setup(sg->ff)->ack_all = true;
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    if (!ff_has_protocol(sg->ff, FF_PROTO_F_REPLY_ACK)) {
        g_test_fail_printf("daemon does not offer REPLY_ACK (a missing feature fails, never skips)");
        return;
    }
    static const uint32_t answered[] = {
        FF_GET_FEATURES, FF_GET_PROTOCOL_FEATURES, FF_GET_QUEUE_NUM, FF_GET_MAX_MEM_SLOTS,
        FF_GET_STATUS,
    };
    for (unsigned int i = 0; i < G_N_ELEMENTS(answered); i++) {
        uint32_t r = answered[i];
        if ((r == FF_GET_QUEUE_NUM && !ff_has_protocol(sg->ff, FF_PROTO_F_MQ)) ||
            (r == FF_GET_MAX_MEM_SLOTS && !ff_has_protocol(sg->ff, FF_PROTO_F_CONFIGURE_MEM_SLOTS)) ||
            (r == FF_GET_STATUS && !ff_has_protocol(sg->ff, FF_PROTO_F_STATUS)))
            continue;
        g_assert_cmpint(ff_send(sg->ff, r, true, NULL, 0, NULL, 0), ==, 0);
        g_autofree FfMsg *m = g_new0(FfMsg, 1);
        g_assert_cmpint(ff_recv(sg->ff, m, 5000), ==, 0);
        g_assert_cmpstr(ff_request_name(m->request), ==, ff_request_name(r));
        g_assert_cmpuint(m->size, ==, 8);
        /* the next reply belongs to the next request */
        uint64_t v;
        g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &v, &err));
        g_assert_no_error(err);
    }
    /* GET_CONFIG with need_reply: one reply of 12 + size bytes */
    uint8_t req[12 + 12] = { 0 };
    uint32_t sz = 12;
    memcpy(req + 4, &sz, 4);
    g_assert_cmpint(ff_send(sg->ff, FF_GET_CONFIG, true, req, sizeof(req), NULL, 0), ==, 0);
    g_autofree FfMsg *m = g_new0(FfMsg, 1);
    g_assert_cmpint(ff_recv(sg->ff, m, 5000), ==, 0);
    g_assert_cmpuint(m->request, ==, FF_GET_CONFIG);
    g_assert_cmpuint(m->size, ==, 24);
    uint64_t v;
    g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &v, &err));
    /* the stop sequence with acks everywhere, GET_VRING_BASE answered once */
    g_assert_true(ff_stop(sg->ff, NULL, &err));
    g_assert_no_error(err);
    g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &v, &err));
    g_assert_no_error(err);
}

static void test_mem_slots(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    ff_setup(sg->ff)->mem_slots = true;
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    if (!ff_has_protocol(sg->ff, FF_PROTO_F_CONFIGURE_MEM_SLOTS)) {
        g_test_fail_printf("daemon does not offer CONFIGURE_MEM_SLOTS (a missing feature fails, never skips)");
        return;
    }
    g_assert_cmpuint(ff_max_mem_slots(sg->ff), >=, sg->mem->nregions);
    /* add one more region at the end of guest memory and use it */
    g_autoptr(FgMem) extra = fg_mem_new(1, 1 << 20, 0);
    extra->region[0].gpa = 0x40000000;
    extra->region[0].uva = 0x7a0000000000ull;
    g_assert_true(ff_add_mem_reg(sg->ff, extra, 0, &err));
    g_assert_no_error(err);
    /* remove it again, then traffic still works on the others */
    g_assert_true(ff_rem_mem_reg(sg->ff, extra, 0, &err));
    g_assert_no_error(err);
    uint32_t st;
    g_autofree struct virtio_snd_pcm_info *info = g_new0(struct virtio_snd_pcm_info, sg->streams);
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, sg->streams, sizeof(*info), info,
                                &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static void test_dirty_log(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    /* the checks below read the split ring's used area */
    SgOpts split;
    sg_opts_init(&split);
    split.packed = false;
    g_autoptr(SgGuest) sg = sg_connect(vd, &split, &err);
    g_assert_no_error(err);
    uint64_t f, pf;
    g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));
    g_assert_true(ff_get_u64(sg->ff, FF_GET_PROTOCOL_FEATURES, &pf, &err));
    if (!(f & (1ull << FF_F_LOG_ALL)) || !(pf & (1ull << FF_PROTO_F_LOG_SHMFD))) {
        g_test_fail_printf("daemon does not offer VHOST_F_LOG_ALL + LOG_SHMFD (a missing feature fails, never skips)");
        return;
    }
    ff_setup(sg->ff)->log = true;
    SgOpts *o = &sg->opts;
    o->skip_probe = true;
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_true(ff_set_log_base(sg->ff, sg->mem, &err));
    g_assert_no_error(err);
    ff_log_clear(sg->ff);
    uint32_t st;
    struct virtio_snd_pcm_info info;
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    /* the response buffer and the used ring were written: both logged */
    SgCtl *c = &sg->ctl[0];
    g_assert_true(ff_log_dirty(sg->ff, c->resp_gpa, 4 + sizeof(info)));
    g_assert_true(ff_log_dirty(sg->ff, fg_vq_device_gpa(sg->vq[0]), 8));
    /* the request (device-readable) was not */
    g_assert_false(ff_log_dirty(sg->ff, c->req_gpa, 16));
}

/* Save the state of a suspended device, load it into a second daemon,
 * continue on the same guest rings there: the stream parameters came
 * along (PREPARE without SET_PARAMS succeeds).  Garbage and truncated
 * blobs are refused without harm. */
static void test_device_state(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    if (!ff_has_protocol(sg->ff, FF_PROTO_F_DEVICE_STATE)) {
        g_test_fail_printf("daemon does not offer DEVICE_STATE (a missing feature fails, never skips)");
        return;
    }
    uint32_t st;
    g_assert_true(sg_pcm_set_params(sg, 0, 19200, 4800, 2, VIRTIO_SND_PCM_FMT_S16,
                                    VIRTIO_SND_PCM_RATE_48000, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    uint32_t bases[4];
    g_assert_true(ff_suspend(sg->ff, bases, &err));    /* phase STOPPED */
    g_assert_no_error(err);
    g_autoptr(GBytes) state = ff_save_state(sg->ff, &err);
    g_assert_no_error(err);
    g_assert_nonnull(state);
    g_assert_cmpuint(g_bytes_get_size(state), >, 0);

    /* destination: a second daemon loads it and takes over the rings */
    g_autoptr(VdProc) dst = spawn();
    FfConn *ff2 = vd_connect(dst, &err);
    g_assert_no_error(err);
    *ff_setup(ff2) = *ff_setup(sg->ff);
    g_assert_true(ff_realize(ff2, &err));
    g_assert_no_error(err);
    g_assert_true(ff_load_state(ff2, state, &err));
    g_assert_no_error(err);
    g_assert_true(ff_start(ff2, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    ff_free(sg->ff);
    sg->ff = ff2;
    g_assert_true(sg_pcm_cmd(sg, VIRTIO_SND_R_PCM_PREPARE, 0, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_clear_pointer(&sg, sg_free);

    /* garbage and truncated blobs are refused, the daemon lives on */
    static const char junk[] = "this is not a device state";
    const gsize len = g_bytes_get_size(state);
    GBytes *bad[] = {
        g_bytes_new_static(junk, sizeof(junk)),
        g_bytes_new_from_bytes(state, 0, len / 2),
        g_bytes_new_static("", 0),
    };
    for (unsigned int i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(SgGuest) g = sg_connect(dst, NULL, &err);
        g_assert_no_error(err);
        g_assert_true(ff_realize(g->ff, &err));
        g_assert_no_error(err);
        g_assert_false(ff_load_state(g->ff, bad[i], &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
        g_bytes_unref(bad[i]);
    }
    assert_serves(dst);
    assert_serves(vd);
}

/* ---------------- malformed messages ---------------- */

typedef struct BadCase {
    const char *name;
    int stage;            /* 0 connected, 1 realized, 2 started */
    void (*send)(SgGuest *sg);
} BadCase;

static void raw(SgGuest *sg, uint32_t req, const void *p, size_t len, const int *fds,
                unsigned int nfds)
{
    g_assert_cmpint(ff_send(sg->ff, req, false, p, len, fds, nfds), ==, 0);
}

static void vring_state(SgGuest *sg, uint32_t req, uint32_t index, uint32_t num)
{
    struct vhost_vring_state s = { index, num };
    raw(sg, req, &s, sizeof(s), NULL, 0);
}

static void bad_size_too_large(SgGuest *sg)
{
    uint8_t junk[64] = { 0 };
    g_assert_cmpint(ff_send_full(sg->ff, FF_SET_FEATURES, FF_VERSION, 0x100000, junk,
                                 sizeof(junk), NULL, 0), ==, 0);
}

static void bad_size_vring_num(SgGuest *sg)
{
    uint32_t idx = 0;
    raw(sg, FF_SET_VRING_NUM, &idx, 4, NULL, 0);
}

static void bad_size_vring_num_long(SgGuest *sg)
{
    uint32_t p[4] = { 0, 64, 0, 0 };
    raw(sg, FF_SET_VRING_NUM, p, sizeof(p), NULL, 0);
}

static void bad_size_set_features(SgGuest *sg)
{
    uint32_t f = 1;
    raw(sg, FF_SET_FEATURES, &f, 4, NULL, 0);
}

static void bad_size_get_vring_base(SgGuest *sg)
{
    raw(sg, FF_GET_VRING_BASE, NULL, 0, NULL, 0);
}

static void bad_version(SgGuest *sg)
{
    g_assert_cmpint(ff_send_full(sg->ff, FF_GET_FEATURES, 0x2, 0, NULL, 0, NULL, 0), ==, 0);
}

static void bad_fds_kick_two(SgGuest *sg)
{
    int fds[2] = { fg_vq_kick_fd(sg->vq[0]), fg_vq_kick_fd(sg->vq[1]) };
    uint64_t v = 0;
    raw(sg, FF_SET_VRING_KICK, &v, 8, fds, 2);
}

static void bad_fds_call_none(SgGuest *sg)
{
    uint64_t v = 0;          /* no NOFD flag, yet no fd */
    raw(sg, FF_SET_VRING_CALL, &v, 8, NULL, 0);
}

static void bad_fds_set_owner(SgGuest *sg)
{
    int fd = fg_vq_kick_fd(sg->vq[0]);
    raw(sg, FF_SET_OWNER, NULL, 0, &fd, 1);
}

typedef struct __attribute__((packed)) MemReg {
    uint64_t gpa, size, uva, off;
} MemReg;

static void send_mem_table(SgGuest *sg, const MemReg *regs, uint32_t n, uint32_t nfds)
{
    g_autofree uint8_t *buf = g_malloc0(8 + sizeof(MemReg) * MAX(n, 8));
    memcpy(buf, &n, 4);
    memcpy(buf + 8, regs, sizeof(MemReg) * n);
    int fds[16];
    for (unsigned int i = 0; i < nfds; i++)
        fds[i] = sg->mem->fd;
    raw(sg, FF_SET_MEM_TABLE, buf, 8 + sizeof(MemReg) * n, fds, nfds);
}

static MemReg region(SgGuest *sg, unsigned int i)
{
    const FgRegion *r = &sg->mem->region[i];
    return (MemReg){ r->gpa, r->size, r->uva, r->mmap_offset };
}

static void bad_mem_fd_mismatch(SgGuest *sg)
{
    MemReg r[2] = { region(sg, 0), region(sg, 1) };
    send_mem_table(sg, r, 2, 1);
}

static void bad_mem_nregions_beyond_payload(SgGuest *sg)
{
    MemReg r = region(sg, 0);
    uint8_t buf[8 + sizeof(MemReg)];
    uint32_t n = 2;
    memset(buf, 0, sizeof(buf));
    memcpy(buf, &n, 4);
    memcpy(buf + 8, &r, sizeof(r));
    int fds[2] = { sg->mem->fd, sg->mem->fd };
    raw(sg, FF_SET_MEM_TABLE, buf, sizeof(buf), fds, 2);
}

static void bad_mem_overlap(SgGuest *sg)
{
    MemReg r[2] = { region(sg, 0), region(sg, 1) };
    r[1].gpa = r[0].gpa + 4096;
    send_mem_table(sg, r, 2, 2);
}

static void bad_mem_zero_size(SgGuest *sg)
{
    MemReg r[2] = { region(sg, 0), region(sg, 1) };
    r[1].size = 0;
    send_mem_table(sg, r, 2, 2);
}

static void bad_mem_too_many(SgGuest *sg)
{
    MemReg r[9];
    for (unsigned int i = 0; i < 9; i++) {
        r[i] = region(sg, 0);
        r[i].size = 4096;
        r[i].gpa = 0x100000000ull + 0x10000ull * i;
        r[i].uva = 0x600000000000ull + 0x10000ull * i;
        r[i].off = 4096ull * i;
    }
    send_mem_table(sg, r, 9, 9);
}

static void bad_mem_gpa_overflow(SgGuest *sg)
{
    MemReg r = region(sg, 0);
    r.gpa = UINT64_MAX - 4095;
    r.size = 0x2000;
    send_mem_table(sg, &r, 1, 1);
}

static void bad_mem_uva_overflow(SgGuest *sg)
{
    MemReg r = region(sg, 0);
    r.uva = UINT64_MAX - 4095;
    r.size = 0x2000;
    send_mem_table(sg, &r, 1, 1);
}

static void bad_mem_offset_beyond_file(SgGuest *sg)
{
    MemReg r = region(sg, 0);
    r.off = 1ull << 40;
    send_mem_table(sg, &r, 1, 1);
}

static void bad_mem_offset_overflow(SgGuest *sg)
{
    MemReg r = region(sg, 0);
    r.off = UINT64_MAX - 4095;
    send_mem_table(sg, &r, 1, 1);
}

static void bad_add_mem_reg_no_fd(SgGuest *sg)
{
    uint8_t buf[8 + sizeof(MemReg)] = { 0 };
    MemReg r = region(sg, 0);
    r.gpa = 0x80000000;
    r.uva = 0x650000000000ull;
    memcpy(buf + 8, &r, sizeof(r));
    raw(sg, FF_ADD_MEM_REG, buf, sizeof(buf), NULL, 0);
}

static void bad_add_mem_reg_overlap(SgGuest *sg)
{
    uint8_t buf[8 + sizeof(MemReg)] = { 0 };
    MemReg r = region(sg, 0);        /* already mapped by SET_MEM_TABLE */
    r.size = 8192;
    memcpy(buf + 8, &r, sizeof(r));
    raw(sg, FF_ADD_MEM_REG, buf, sizeof(buf), &sg->mem->fd, 1);
}

#define INDEX_CASE(fn, req)                                          \
    static void fn(SgGuest *sg) { vring_state(sg, req, 4, 1); }
INDEX_CASE(bad_index_num, FF_SET_VRING_NUM)
INDEX_CASE(bad_index_base, FF_SET_VRING_BASE)
INDEX_CASE(bad_index_get_base, FF_GET_VRING_BASE)
INDEX_CASE(bad_index_enable, FF_SET_VRING_ENABLE)

static void bad_index_huge(SgGuest *sg)
{
    vring_state(sg, FF_SET_VRING_NUM, UINT32_MAX, 64);
}

static void bad_index_addr(SgGuest *sg)
{
    struct vhost_vring_addr a = { .index = 4 };
    a.desc_user_addr = fg_gpa_to_uva(sg->mem, fg_vq_desc_gpa(sg->vq[0]));
    a.used_user_addr = fg_gpa_to_uva(sg->mem, fg_vq_device_gpa(sg->vq[0]));
    a.avail_user_addr = fg_gpa_to_uva(sg->mem, fg_vq_driver_gpa(sg->vq[0]));
    raw(sg, FF_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static void bad_index_kick(SgGuest *sg)
{
    uint64_t v = 4;
    int fd = fg_vq_kick_fd(sg->vq[0]);
    raw(sg, FF_SET_VRING_KICK, &v, 8, &fd, 1);
}

static void bad_index_call(SgGuest *sg)
{
    uint64_t v = 4 | FF_VRING_NOFD;
    raw(sg, FF_SET_VRING_CALL, &v, 8, NULL, 0);
}

static void bad_ring_size_3(SgGuest *sg) { vring_state(sg, FF_SET_VRING_NUM, 0, 3); }
static void bad_ring_size_0(SgGuest *sg) { vring_state(sg, FF_SET_VRING_NUM, 0, 0); }
static void bad_ring_size_65536(SgGuest *sg) { vring_state(sg, FF_SET_VRING_NUM, 0, 65536); }
static void bad_ring_size_huge(SgGuest *sg) { vring_state(sg, FF_SET_VRING_NUM, 1, 1u << 31); }

static const BadCase bad_cases[] = {
    { "bad-size/payload-size-too-large", 1, bad_size_too_large },
    { "bad-size/set-vring-num-short", 1, bad_size_vring_num },
    { "bad-size/set-vring-num-long", 1, bad_size_vring_num_long },
    { "bad-size/set-features-short", 1, bad_size_set_features },
    { "bad-size/get-vring-base-empty", 2, bad_size_get_vring_base },
    { "bad-size/mem-table-nregions-beyond-payload", 1, bad_mem_nregions_beyond_payload },
    { "bad-version", 0, bad_version },
    { "bad-fd-count/kick-two-fds", 1, bad_fds_kick_two },
    { "bad-fd-count/call-no-fd-no-flag", 1, bad_fds_call_none },
    { "bad-fd-count/set-owner-with-fd", 0, bad_fds_set_owner },
    { "bad-fd-count/mem-table-fewer-fds", 1, bad_mem_fd_mismatch },
    { "bad-fd-count/add-mem-reg-no-fd", 2, bad_add_mem_reg_no_fd },
    { "vring-index-4/set-vring-num", 1, bad_index_num },
    { "vring-index-4/set-vring-base", 1, bad_index_base },
    { "vring-index-4/set-vring-addr", 2, bad_index_addr },
    { "vring-index-4/set-vring-kick", 1, bad_index_kick },
    { "vring-index-4/set-vring-call", 1, bad_index_call },
    { "vring-index-4/set-vring-enable", 1, bad_index_enable },
    { "vring-index-4/get-vring-base", 2, bad_index_get_base },
    { "vring-index-4/index-0xffffffff", 1, bad_index_huge },
    { "ring-size/3", 1, bad_ring_size_3 },
    { "ring-size/0", 1, bad_ring_size_0 },
    { "ring-size/65536", 1, bad_ring_size_65536 },
    { "ring-size/2^31", 1, bad_ring_size_huge },
    { "mem-table/overlapping-regions", 1, bad_mem_overlap },
    { "mem-table/zero-size-region", 1, bad_mem_zero_size },
    { "mem-table/too-many-regions", 1, bad_mem_too_many },
    { "mem-table/gpa-overflow", 1, bad_mem_gpa_overflow },
    { "mem-table/uva-overflow", 1, bad_mem_uva_overflow },
    { "mem-table/mmap-offset-beyond-file", 1, bad_mem_offset_beyond_file },
    { "mem-table/mmap-offset-overflow", 1, bad_mem_offset_overflow },
    { "add-mem-reg/overlap", 2, bad_add_mem_reg_overlap },
};

static void test_bad_message(gconstpointer data)
{
    const BadCase *bc = data;
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.skip_probe = true;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    if (bc->stage == 2) {
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
    } else if (bc->stage == 1) {
        g_assert_true(ff_realize(sg->ff, &err));
        g_assert_no_error(err);
        /* rings exist on the guest side for fds and addresses */
        FgVqOpts vo = { .size = 64 };
        for (unsigned int i = 0; i < 4; i++)
            sg->vq[i] = fg_vq_new(sg->mem, &vo);
    } else {
        FgVqOpts vo = { .size = 64 };
        for (unsigned int i = 0; i < 4; i++)
            sg->vq[i] = fg_vq_new(sg->mem, &vo);
    }
    bc->send(sg);
    if (!ff_wait_closed(sg->ff, 3000)) {
        g_autofree char *log = vd_stderr(vd);
        g_error("%s: daemon kept the connection open; stderr:\n%s", bc->name, log);
    }
    g_assert_true(vd_alive(vd));
    g_clear_pointer(&sg, sg_free);
    assert_serves(vd);
}

/* ---------------- corrupt rings: broken device ---------------- */

typedef struct BrokenCase {
    const char *name;
    unsigned int queue;
    bool packed;
    void (*corrupt)(SgGuest *sg, FgVq *vq);
} BrokenCase;

static void corrupt_outside_memory(SgGuest *sg, FgVq *vq)
{
    fg_vq_raw_desc(vq, 0, fg_mem_hole(sg->mem), 16, 0, 0);
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_straddles_region_end(SgGuest *sg, FgVq *vq)
{
    const FgRegion *r = &sg->mem->region[0];
    fg_vq_raw_desc(vq, 0, r->gpa + r->size - 8, 16, 0, 0);
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_len_wraps(SgGuest *sg, FgVq *vq)
{
    fg_vq_raw_desc(vq, 0, UINT64_MAX - 7, 16, 0, 0);
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_loop(SgGuest *sg, FgVq *vq)
{
    uint64_t b = sg->ctl[SG_CTL_SLOTS - 1].req_gpa;
    fg_vq_raw_desc(vq, 0, b, 8, VRING_DESC_F_NEXT, 1);
    fg_vq_raw_desc(vq, 1, b, 8, VRING_DESC_F_NEXT, 0);
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_next_out_of_range(SgGuest *sg, FgVq *vq)
{
    uint64_t b = sg->ctl[SG_CTL_SLOTS - 1].req_gpa;
    fg_vq_raw_desc(vq, 0, b, 8, VRING_DESC_F_NEXT, (uint16_t)(fg_vq_size(vq) + 5));
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_head_out_of_range(SgGuest *sg, FgVq *vq)
{
    fg_vq_raw_avail(vq, (uint16_t)(fg_vq_size(vq) + 3));
}

static void corrupt_avail_idx_runaway(SgGuest *sg, FgVq *vq)
{
    fg_vq_raw_avail_idx(vq, (uint16_t)(fg_vq_used_idx(vq) + fg_vq_size(vq) + 1));
}

static void corrupt_indirect_nested(SgGuest *sg, FgVq *vq)
{
    uint64_t t = sg->ctl[SG_CTL_SLOTS - 1].req_gpa;
    struct vring_desc d = { .addr = htole64(t), .len = htole32(16),
                            .flags = htole16(VRING_DESC_F_INDIRECT) };
    fg_write(sg->mem, t, &d, sizeof(d));
    fg_vq_raw_desc(vq, 0, t, 16, VRING_DESC_F_INDIRECT, 0);
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_indirect_bad_len(SgGuest *sg, FgVq *vq)
{
    uint64_t t = sg->ctl[SG_CTL_SLOTS - 1].req_gpa;
    fg_vq_raw_desc(vq, 0, t, 17, VRING_DESC_F_INDIRECT, 0);
    fg_vq_raw_avail(vq, 0);
}

static void corrupt_packed_outside(SgGuest *sg, FgVq *vq)
{
    fg_vq_raw_packed_desc(vq, fg_vq_next_avail(vq), fg_mem_hole(sg->mem), 16, 0, 0);
}

static const BrokenCase broken_cases[] = {
    { "ctl/desc-outside-memory", 0, false, corrupt_outside_memory },
    { "ctl/desc-straddles-region-end", 0, false, corrupt_straddles_region_end },
    { "ctl/desc-addr-len-wraps", 0, false, corrupt_len_wraps },
    { "ctl/looping-chain", 0, false, corrupt_loop },
    { "ctl/next-out-of-range", 0, false, corrupt_next_out_of_range },
    { "ctl/head-out-of-range", 0, false, corrupt_head_out_of_range },
    { "ctl/avail-idx-runaway", 0, false, corrupt_avail_idx_runaway },
    { "ctl/indirect-in-indirect", 0, false, corrupt_indirect_nested },
    { "ctl/indirect-len-not-multiple-of-16", 0, false, corrupt_indirect_bad_len },
    { "tx/desc-outside-memory", 2, false, corrupt_outside_memory },
    { "tx/looping-chain", 2, false, corrupt_loop },
    { "packed/ctl/desc-outside-memory", 0, true, corrupt_packed_outside },
};

static void test_broken(gconstpointer data)
{
    const BrokenCase *bc = data;
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.packed = bc->packed;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    if (bc->packed) {
        uint64_t f;
        g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));
        if (!(f & (1ull << VF_RING_PACKED))) {
            g_test_fail_printf("daemon does not offer VIRTIO_F_RING_PACKED (a missing feature fails, never skips)");
            return;
        }
    }
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_true(ff_has_protocol(sg->ff, FF_PROTO_F_STATUS));
    FgVq *vq = sg->vq[bc->queue];
    bc->corrupt(sg, vq);
    fg_vq_kick(vq);
    uint8_t st = 0;
    gint64 deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
    do {
        g_assert_true(ff_get_status(sg->ff, &st, &err));
        g_assert_no_error(err);
        if (st & FF_S_NEEDS_RESET)
            break;
        g_usleep(10 * 1000);
    } while (g_get_monotonic_time() < deadline);
    g_assert_cmphex(st & FF_S_NEEDS_RESET, ==, FF_S_NEEDS_RESET);
    g_assert_true(vd_alive(vd));
    /* the guest resets the device: it works again on this connection */
    g_assert_true(sg_reset(sg, &err));
    g_assert_no_error(err);
    g_assert_true(ff_get_status(sg->ff, &st, &err));
    g_assert_cmpuint(st, ==, 0);
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    uint32_t status;
    struct virtio_snd_pcm_info info;
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info, &status,
                                &err));
    g_assert_no_error(err);
    g_assert_cmphex(status, ==, VIRTIO_SND_S_OK);
    g_clear_pointer(&sg, sg_free);
    assert_serves(vd);
}


/* ---------------- hostile but not necessarily malformed ---------------- */

/* Ring addresses outside the memory table: the daemon may drop the
 * connection or mark the device broken; it must not crash, and it must
 * serve the next front-end. */
static void test_vring_addr_unmapped(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    g_assert_true(ff_realize(sg->ff, &err));
    g_assert_no_error(err);
    FgVqOpts vo = { .size = 64 };
    for (unsigned int i = 0; i < 4; i++)
        sg->vq[i] = fg_vq_new(sg->mem, &vo);
    g_assert_true(ff_set_mem_table(sg->ff, sg->mem, &err));
    g_assert_no_error(err);
    vring_state(sg, FF_SET_VRING_NUM, 0, 64);
    vring_state(sg, FF_SET_VRING_BASE, 0, 0);
    /* from here on the daemon may hang up at any moment: sends may fail */
    struct vhost_vring_addr a = { .index = 0, .desc_user_addr = 0x1000, .used_user_addr = 0x2000,
                                  .avail_user_addr = 0x3000 };
    uint64_t v = 0;
    int kfd = fg_vq_kick_fd(sg->vq[0]), cfd = fg_vq_call_fd(sg->vq[0]);
    struct vhost_vring_state en = { 0, 1 };
    if (ff_send(sg->ff, FF_SET_VRING_ADDR, false, &a, sizeof(a), NULL, 0) == 0 &&
        ff_send(sg->ff, FF_SET_VRING_KICK, false, &v, 8, &kfd, 1) == 0 &&
        ff_send(sg->ff, FF_SET_VRING_CALL, false, &v, 8, &cfd, 1) == 0 &&
        ff_send(sg->ff, FF_SET_VRING_ENABLE, false, &en, sizeof(en), NULL, 0) == 0)
        fg_vq_kick(sg->vq[0]);
    /* either still answering or hung up: both are fine */
    uint64_t f;
    if (!ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err))
        g_clear_error(&err);
    g_clear_pointer(&sg, sg_free);
    assert_serves(vd);
}

/* QEMU re-sends the memory table while the rings run (memory hotplug):
 * the rings keep working across the remapping. */
static void test_mem_table_replaced_while_running(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    for (unsigned int round = 0; round < 3; round++) {
        g_assert_true(ff_set_mem_table(sg->ff, sg->mem, &err));
        g_assert_no_error(err);
        uint32_t st;
        g_autofree struct virtio_snd_pcm_info *info = g_new0(struct virtio_snd_pcm_info, sg->streams);
        g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, sg->streams, sizeof(*info),
                                    info, &st, &err));
        g_assert_no_error(err);
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
        g_assert_cmpmem(info, sizeof(*info) * sg->streams, sg->pcm, sizeof(*info) * sg->streams);
    }
}

/* Half a header, then hang up; then a header promising a payload that
 * never comes, then hang up: the next front-end is served. */
static void test_truncated_then_hangup(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    for (unsigned int k = 0; k < 2; k++) {
        g_autoptr(FfConn) ff = vd_connect(vd, &err);
        g_assert_no_error(err);
        if (k == 0) {
            g_assert_cmpint(ff_send_bytes(ff, "\x01\x00\x00\x00\x01", 5, NULL, 0), ==, 0);
        } else {
            uint8_t part[4] = { 0 };
            g_assert_cmpint(ff_send_full(ff, FF_SET_FEATURES, FF_VERSION, 8, part, 4, NULL, 0), ==, 0);
        }
        g_usleep(50 * 1000);
    }
    assert_serves(vd);
}

/* A message sent one byte every 150 ms: each byte comes well within a
 * second, yet the whole message may take no longer than one deadline
 * (vu_msg_io_timeout_ms, 1 s): the daemon drops this front-end instead of
 * waiting minutes inside one message, and serves the next. */
static void test_dribbled_message(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(FfConn) ff = vd_connect(vd, &err);
    g_assert_no_error(err);
    /* SET_FEATURES, version 1, 8 bytes of payload: 20 bytes, 3 s if whole */
    uint8_t msg[20] = { FF_SET_FEATURES, 0, 0, 0, FF_VERSION, 0, 0, 0, 8, 0, 0, 0 };
    gint64 t0 = g_get_monotonic_time();
    bool closed = false;
    for (size_t i = 0; i < sizeof(msg) && !closed; i++) {
        if (ff_send_bytes(ff, msg + i, 1, NULL, 0) != 0)
            break;
        closed = ff_wait_closed(ff, 150);
    }
    if (!closed)
        closed = ff_wait_closed(ff, 500);
    double secs = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    g_test_message("dropped after %.2f s", secs);
    g_assert_true(closed);
    g_assert_cmpfloat(secs, <, 2.0);
    assert_serves(vd);
}

/* A front-end that shrinks guest RAM after the daemon mapped it would
 * make the daemon's next ring access raise SIGBUS.  The daemon sealed the
 * (sealable) memfd against shrinking when it mapped it: the shrink fails,
 * and the daemon keeps serving the rings. */
static void test_memory_shrunk(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    int seals = fcntl(sg->mem->fd, F_GET_SEALS);
    g_assert_cmpint(seals, >=, 0);
    g_assert_cmphex(seals & F_SEAL_SHRINK, ==, F_SEAL_SHRINK);
    errno = 0;
    g_assert_cmpint(ftruncate(sg->mem->fd, 0), ==, -1);
    g_assert_cmpint(errno, ==, EPERM);
    uint32_t st;
    struct virtio_snd_pcm_info info;
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_true(vd_alive(vd));
}

/* Guest RAM the daemon cannot seal (memory-backend-file on tmpfs or
 * hugetlbfs is such a file; here a memfd sealed with F_SEAL_SEAL) shrinks
 * after the daemon mapped it, and a control request puts its reply there:
 * the daemon's write raises SIGBUS.  It must survive, say so, complete
 * the request and serve the rings and the next front-end. */
static void test_memory_shrunk_unsealable(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    ff_setup(sg->ff)->mem_slots = true;
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_autoptr(FgMem) extra = fg_mem_new(1, 1 << 20, 0);
    extra->region[0].gpa = 0x40000000;
    extra->region[0].uva = 0x7a0000000000ull;
    g_assert_cmpint(fcntl(extra->fd, F_ADD_SEALS, F_SEAL_SEAL), ==, 0);
    g_assert_true(ff_add_mem_reg(sg->ff, extra, 0, &err));
    g_assert_no_error(err);
    g_assert_cmphex(fcntl(extra->fd, F_GET_SEALS) & F_SEAL_SHRINK, ==, 0);
    g_assert_cmpint(ftruncate(extra->fd, 0), ==, 0);

    struct virtio_snd_query_info q = {
        .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO),
        .start_id = 0,
        .count = htole32(1),
        .size = htole32(sizeof(struct virtio_snd_pcm_info)),
    };
    uint64_t req = fg_alloc(sg->mem, sizeof(q), 16);
    fg_write(sg->mem, req, &q, sizeof(q));
    FgSeg segs[2] = {
        { req, sizeof(q), false },
        { 0x40000000 + 4096, sizeof(struct virtio_snd_hdr) + sizeof(struct virtio_snd_pcm_info),
          true },
    };
    static int token;
    FgVq *ctl = sg->vq[VIRTIO_SND_VQ_CONTROL];
    g_assert_cmpint(fg_vq_add(ctl, segs, 2, NULL, &token), >=, 0);
    fg_vq_kick(ctl);
    FgUsed u;
    g_assert_true(fg_vq_wait_used(ctl, &u, 2000));
    g_assert_true(u.token == &token);
    g_assert_true(vd_alive(vd));
    g_autofree char *log = vd_stderr(vd);
    g_assert_nonnull(strstr(log, "SIGBUS"));

    uint32_t st;
    struct virtio_snd_pcm_info info;
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_clear_pointer(&sg, sg_free);
    assert_serves(vd);
}

/* A kick fd at end of file (a pipe whose writer is gone) is always
 * readable: the daemon must not spin on it.  The ring is broken (the
 * device reports NEEDS_RESET) and the daemon stays idle and responsive. */
static void test_kick_hangup(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    g_assert_true(ff_vring_fd(sg->ff, FF_SET_VRING_KICK, 1, p[0], &err));
    g_assert_no_error(err);
    close(p[0]);
    close(p[1]);
    g_usleep(200 * 1000);
    double c0 = vd_cpu_seconds(vd);
    g_usleep(G_USEC_PER_SEC);
    g_assert_cmpfloat(vd_cpu_seconds(vd) - c0, <, 0.2);
    g_assert_true(vd_alive(vd));
    if (ff_has_protocol(sg->ff, FF_PROTO_F_STATUS)) {
        uint8_t status = 0;
        g_assert_true(ff_get_status(sg->ff, &status, &err));
        g_assert_no_error(err);
        g_assert_cmphex(status & 0x40 /* DEVICE_NEEDS_RESET */, ==, 0x40);
    }
}

/* Thousands of kicks with nothing available on every queue: no crash,
 * everything still answered, and the daemon goes idle afterwards. */
static void test_kick_storm(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    for (unsigned int i = 0; i < 20000; i++)
        fg_vq_kick(sg->vq[i % 4]);
    uint32_t st;
    struct virtio_snd_pcm_info info;
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_usleep(200 * 1000);
    double c0 = vd_cpu_seconds(vd);
    g_usleep(G_USEC_PER_SEC);
    g_assert_cmpfloat(vd_cpu_seconds(vd) - c0, <, 0.2);
    /* the un-kicked event buffers were never consumed */
    g_assert_cmpuint(sg_event_free(sg), ==, sg->opts.queue_size);
}


/* GET_VRING_BASE with tx messages queued and playing: every buffer the
 * device took is completed by the time it answers (vhost-user.rst
 * GET_VRING_BASE "must complete all inflight I/O"), promptly. */
static void stop_completes(gconstpointer param)
{
    bool packed = GPOINTER_TO_INT(param);
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.packed = packed;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    if (packed) {
        uint64_t f;
        g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));
        if (!(f & (1ull << VF_RING_PACKED))) {
            g_test_fail_printf("daemon does not offer VIRTIO_F_RING_PACKED (a missing feature fails, never skips)");
            return;
        }
    }
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    uint32_t st;
    g_assert_true(sg_pcm_set_params(sg, 0, 4800 * 8, 4800, 2, VIRTIO_SND_PCM_FMT_S16,
                                    VIRTIO_SND_PCM_RATE_48000, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_true(sg_pcm_cmd(sg, VIRTIO_SND_R_PCM_PREPARE, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_autofree uint8_t *data = g_malloc0(4800);
    for (unsigned int i = 0; i < 8; i++)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, 4800), data, false), ==, 0);
    g_assert_true(sg_pcm_cmd(sg, VIRTIO_SND_R_PCM_START, 0, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_nonnull(sg_io_wait(sg, false, 2000));
    gint64 t0 = g_get_monotonic_time();
    uint32_t bases[4];
    g_assert_true(ff_stop(sg->ff, bases, &err));
    g_assert_no_error(err);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
    uint32_t tx = bases[VIRTIO_SND_VQ_TX];
    if (packed) {
        /* next avail == next used (and the same wrap counters) */
        g_assert_cmphex(tx & 0xffff, ==, tx >> 16);
    } else {
        g_assert_cmpuint(tx, ==, fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_TX]));
        g_assert_cmpuint(bases[VIRTIO_SND_VQ_CONTROL], ==,
                         fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_CONTROL]));
    }
}

/* All rings stopped: no used-ring writes, no interrupts, while messages
 * are still answered; after the restart the pending request is served. */
static void test_suspended(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    /* the checks below read the split ring's used area */
    SgOpts split;
    sg_opts_init(&split);
    split.packed = false;
    g_autoptr(SgGuest) sg = sg_connect(vd, &split, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    uint32_t bases[4];
    g_assert_true(ff_suspend(sg->ff, bases, &err));
    g_assert_no_error(err);
    fg_vq_clear_call(sg->vq[VIRTIO_SND_VQ_CONTROL]);
    uint16_t used = fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_CONTROL]);
    struct virtio_snd_query_info q = {
        .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO), .count = htole32(1), .size = htole32(32),
    };
    SgCtl *c = sg_ctl_submit(sg, &q, sizeof(q), NULL, 0, 32, &err);
    g_assert_no_error(err);
    fg_vq_kick(sg->vq[VIRTIO_SND_VQ_CONTROL]);
    g_assert_false(fg_vq_wait_call(sg->vq[VIRTIO_SND_VQ_CONTROL], 300));
    g_assert_cmpuint(fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_CONTROL]), ==, used);
    uint64_t f;
    g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));   /* still answering */
    g_assert_no_error(err);
    /* resume: the same rings from where they stopped */
    g_assert_true(ff_start(sg->ff, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    g_assert_true(sg_ctl_wait(sg, c, 2000, &err));
    g_assert_no_error(err);
    g_assert_cmphex(sg_ctl_status(sg, c), ==, VIRTIO_SND_S_OK);
    sg_ctl_release(c);
}

/* ---------------- connection churn ---------------- */

static int settle_fds(VdProc *vd, int want)
{
    int n = vd_fd_count(vd);
    for (int i = 0; i < 200 && n > want; i++) {
        g_usleep(10 * 1000);
        n = vd_fd_count(vd);
    }
    return n;
}

static void test_reconnect_cycles(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.nregions = 2;
    o.region_size = 1u << 20;
    o.skip_probe = true;
    int base_fds = -1;
    long base_rss = -1;
    const unsigned int cycles = 1000, warmup = 50;
    for (unsigned int i = 0; i < cycles; i++) {
        g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
        g_assert_no_error(err);
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        if (i % 10 == 0) {
            uint32_t st;
            struct virtio_snd_pcm_info info;
            g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info,
                                        &st, &err));
            g_assert_no_error(err);
            g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
        }
        /* half stop cleanly, half just hang up (QEMU killed) */
        if (i % 2) {
            g_assert_true(ff_stop(sg->ff, NULL, &err));
            g_assert_no_error(err);
        }
        g_clear_pointer(&sg, sg_free);
        if (i + 1 == warmup) {
            base_fds = settle_fds(vd, 0);
            g_usleep(100 * 1000);
            base_fds = vd_fd_count(vd);
            base_rss = vd_rss_kb(vd);
        }
    }
    g_assert_true(vd_alive(vd));
    int fds = settle_fds(vd, base_fds);
    long rss = vd_rss_kb(vd);
    g_test_message("fds %d -> %d, rss %ld kB -> %ld kB", base_fds, fds, base_rss, rss);
    g_assert_cmpint(fds, <=, base_fds);
#if defined(__SANITIZE_ADDRESS__)
    const long slack_kb = 256 * 1024;   /* ASan quarantine */
#else
    const long slack_kb = 16 * 1024;
#endif
    g_assert_cmpint(rss - base_rss, <, slack_kb);
    assert_serves(vd);
}

/* ---------------- process conventions ---------------- */

static void test_sigterm(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    int st = vd_signal_wait(vd, SIGTERM, 5000);
    g_assert_cmpint(st, !=, -1);
    g_assert_true(WIFEXITED(st));
    g_assert_cmpint(WEXITSTATUS(st), ==, 0);
}

static void test_fd_mode(void)
{
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    g_autoptr(VdProc) vd = vd_spawn(VD_LISTEN_FD, vd_default_args, &err);
    g_assert_no_error(err);
    FfConn *ff = ff_new_from_fd(vd_take_fd(vd));
    g_autoptr(SgGuest) sg = sg_new(ff, NULL);
    sg->owns_ff = true;
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(sg->streams, >=, 1);
    g_assert_true(sg_reset(sg, &err));
    g_assert_no_error(err);
    g_assert_true(vd_alive(vd));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/integration/proto/boot/split", test_boot_split);
    g_test_add_func("/integration/proto/boot/packed", test_boot_packed);
    g_test_add_func("/integration/proto/guest-reset", test_guest_reset);
    g_test_add_func("/integration/proto/offers-required-features", test_offers_required);
    g_test_add_func("/integration/proto/reply-ack/need-reply-everywhere", test_reply_ack);
    g_test_add_func("/integration/proto/mem-slots/add-remove", test_mem_slots);
    g_test_add_func("/integration/proto/dirty-log/used-and-written-pages", test_dirty_log);
    g_test_add_func("/integration/proto/device-state/save-load-and-garbage", test_device_state);
    for (unsigned int i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *n = g_strdup_printf("/integration/proto/invalid/%s", bad_cases[i].name);
        g_test_add_data_func(n, &bad_cases[i], test_bad_message);
    }
    for (unsigned int i = 0; i < G_N_ELEMENTS(broken_cases); i++) {
        g_autofree char *n = g_strdup_printf("/integration/proto/broken/%s", broken_cases[i].name);
        g_test_add_data_func(n, &broken_cases[i], test_broken);
    }
    g_test_add_func("/integration/proto/hostile/vring-addr-unmapped", test_vring_addr_unmapped);
    g_test_add_func("/integration/proto/hostile/mem-table-replaced-while-running",
                    test_mem_table_replaced_while_running);
    g_test_add_func("/integration/proto/hostile/truncated-message-then-hangup",
                    test_truncated_then_hangup);
    g_test_add_func("/integration/proto/hostile/kick-storm-on-empty-rings", test_kick_storm);
    g_test_add_func("/integration/proto/hostile/kick-fd-hung-up", test_kick_hangup);
    g_test_add_func("/integration/proto/hostile/guest-ram-shrunk", test_memory_shrunk);
    g_test_add_func("/integration/proto/hostile/unsealable-ram-shrunk",
                    test_memory_shrunk_unsealable);
    g_test_add_func("/integration/proto/hostile/message-dribbled-bytewise", test_dribbled_message);
    g_test_add_data_func("/integration/proto/stop/get-vring-base-completes-inflight/split",
                         GINT_TO_POINTER(0), stop_completes);
    g_test_add_data_func("/integration/proto/stop/get-vring-base-completes-inflight/packed",
                         GINT_TO_POINTER(1), stop_completes);
    g_test_add_func("/integration/proto/stop/suspended-means-suspended", test_suspended);
    g_test_add_func("/integration/proto/reconnect/1000-cycles", test_reconnect_cycles);
    g_test_add_func("/integration/proto/process/sigterm-exits-0", test_sigterm);
    g_test_add_func("/integration/proto/process/fd-mode", test_fd_mode);
    return g_test_run();
}
