/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-guest.c - the benchmark's Linux-like virtio-snd guest.
 *
 * See bench-guest.h for the theory of operation.  Message layouts follow
 * VIRTIO 1.2 section 5.14.6 (control: request then response; I/O: xfer
 * header, payload, status) and the Linux driver's split of a period
 * message into a header/status block and a separate data buffer.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <gio/gio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_snd.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench-guest.h"
#include "bench/bench-proc.h"

#define BG_MEM_REGIONS 2u
#define BG_REGION_SIZE (16u << 20)
#define BG_CTL_TIMEOUT_MS 2000
#define BG_F_CTLS 0 /* VIRTIO_SND_F_CTLS: config has a 4th field */

enum { BG_VQ_CTL = 0, BG_VQ_EVT = 1, BG_VQ_TX = 2, BG_VQ_RX = 3 };

FfConn *bg_connect(const char *socket, int timeout_ms, GError **error)
{
    int64_t deadline = bp_now_ns() + (int64_t)timeout_ms * 1000000;
    FfConn *ff = NULL;
    for (;;) {
        g_autoptr(GError) err = NULL;
        ff = ff_connect(socket, &err);
        if (ff)
            break;
        if (bp_now_ns() > deadline) {
            g_propagate_error(error, g_steal_pointer(&err));
            return NULL;
        }
        g_usleep(1000);
    }
    ff_setup(ff)->timeout_ms = BG_CTL_TIMEOUT_MS;
    if (!ff_realize(ff, error)) {
        ff_free(ff);
        return NULL;
    }
    return ff;
}

static uint8_t *ptr(BgDev *dev, uint64_t gpa, uint64_t len)
{
    uint8_t *p = fg_ptr(dev->mem, gpa, len);
    g_assert(p); /* our own allocation */
    return p;
}

/* Add one chain of @nsegs, using an indirect table when offered. */
static int add_chain(BgDev *dev, FgVq *vq, const FgSeg *segs, unsigned int nsegs, void *token)
{
    FgAddOpts o = { .indirect = dev->indirect };
    return fg_vq_add(vq, segs, nsegs, &o, token);
}

static bool wait_used(FgVq *vq, FgUsed *u, int timeout_ms)
{
    int64_t deadline = bp_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        if (fg_vq_get_used(vq, u))
            return true;
        int64_t left = (deadline - bp_now_ns()) / 1000000;
        if (left < 0)
            return false;
        struct pollfd pfd = { .fd = fg_vq_call_fd(vq), .events = POLLIN };
        if (poll(&pfd, 1, (int)MIN(left + 1, 100)) > 0)
            fg_vq_clear_call(vq);
    }
}

int bg_ctl(BgDev *dev, const void *req, uint32_t req_len, void *resp, uint32_t resp_len,
           int64_t *rtt_ns, GError **error)
{
    FgVq *vq = dev->vq[BG_VQ_CTL];
    g_assert(req_len <= 512 && resp_len <= BG_CTL_AREA - 512);
    uint64_t rq = dev->ctl_gpa, rs = dev->ctl_gpa + 512;
    memcpy(ptr(dev, rq, req_len), req, req_len);
    memset(ptr(dev, rs, resp_len), 0xff, resp_len);
    FgSeg segs[2] = { { rq, req_len, false }, { rs, resp_len, true } };
    static int token;
    if (add_chain(dev, vq, segs, 2, &token) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "control queue full");
        return -1;
    }
    int64_t t0 = bp_now_ns();
    fg_vq_kick(vq);
    FgUsed u;
    if (!wait_used(vq, &u, BG_CTL_TIMEOUT_MS)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "no reply to control request 0x%x within %d ms",
                    le32toh(((const struct virtio_snd_hdr *)req)->code), BG_CTL_TIMEOUT_MS);
        return -1;
    }
    if (rtt_ns)
        *rtt_ns = bp_now_ns() - t0;
    if (u.token != &token) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "control completion with bad id %u",
                    u.id);
        return -1;
    }
    memcpy(resp, ptr(dev, rs, resp_len), resp_len);
    return (int)le32toh(((struct virtio_snd_hdr *)resp)->code);
}

int bg_pcm_simple(BgDev *dev, uint32_t code, uint32_t stream, GError **error)
{
    struct virtio_snd_pcm_hdr h = { .hdr.code = htole32(code), .stream_id = htole32(stream) };
    struct virtio_snd_hdr r;
    return bg_ctl(dev, &h, sizeof(h), &r, sizeof(r), NULL, error);
}

uint32_t bg_linux_features(const BgDev *dev, uint32_t stream)
{
    if (stream >= dev->streams)
        return 0;
    uint32_t f = dev->info[stream].features &
                 ((1u << VIRTIO_SND_PCM_F_MSG_POLLING) | (1u << VIRTIO_SND_PCM_F_EVT_XRUNS));
    if (dev->no_polling)
        f &= ~(1u << VIRTIO_SND_PCM_F_MSG_POLLING);
    return f;
}

int bg_pcm_set_params(BgDev *dev, uint32_t stream, uint32_t buffer_bytes,
                      uint32_t period_bytes, uint8_t channels, uint8_t format,
                      uint8_t rate, uint32_t features, GError **error)
{
    struct virtio_snd_pcm_set_params p = {
        .hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS),
        .hdr.stream_id = htole32(stream),
        .buffer_bytes = htole32(buffer_bytes),
        .period_bytes = htole32(period_bytes),
        .features = htole32(features),
        .channels = channels,
        .format = format,
        .rate = rate,
    };
    struct virtio_snd_hdr r;
    return bg_ctl(dev, &p, sizeof(p), &r, sizeof(r), NULL, error);
}

int bg_pcm_info_one(BgDev *dev, uint32_t id, int64_t *rtt_ns, GError **error)
{
    struct virtio_snd_query_info q = {
        .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO),
        .start_id = htole32(id),
        .count = htole32(1),
        .size = htole32(sizeof(struct virtio_snd_pcm_info)),
    };
    uint8_t resp[sizeof(struct virtio_snd_hdr) + sizeof(struct virtio_snd_pcm_info)];
    return bg_ctl(dev, &q, sizeof(q), resp, sizeof(resp), rtt_ns, error);
}

int64_t bg_ctl_burst(BgDev *dev, unsigned int n, GError **error)
{
    FgVq *vq = dev->vq[BG_VQ_CTL];
    static int tokens[BG_CTL_SLOTS];
    const uint32_t rlen = sizeof(struct virtio_snd_hdr) + sizeof(struct virtio_snd_pcm_info);
    g_assert(n <= BG_CTL_SLOTS);
    for (unsigned int i = 0; i < n; i++) {
        uint64_t rq = dev->ctl_gpa + (uint64_t)i * BG_CTL_AREA, rs = rq + 512;
        struct virtio_snd_query_info q = {
            .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO),
            .start_id = htole32(i % dev->streams),
            .count = htole32(1),
            .size = htole32(sizeof(struct virtio_snd_pcm_info)),
        };
        memcpy(ptr(dev, rq, sizeof(q)), &q, sizeof(q));
        FgSeg segs[2] = { { rq, sizeof(q), false }, { rs, rlen, true } };
        if (add_chain(dev, vq, segs, 2, &tokens[i]) < 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "control queue full at %u", i);
            return -1;
        }
    }
    int64_t t0 = bp_now_ns();
    fg_vq_kick(vq);
    for (unsigned int done = 0; done < n; done++) {
        FgUsed u;
        if (!wait_used(vq, &u, BG_CTL_TIMEOUT_MS)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "burst: %u of %u control requests answered", done, n);
            return -1;
        }
    }
    return bp_now_ns() - t0;
}

BgDev *bg_open(const char *socket, uint16_t qsize, GError **error)
{
    g_autoptr(BgDev) dev = g_new0(BgDev, 1);
    dev->ff = bg_connect(socket, 5000, error);
    if (!dev->ff)
        return NULL;
    uint64_t feat = ff_features(dev->ff);
    dev->indirect = feat & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
    bool event_idx = feat & (1ull << VIRTIO_RING_F_EVENT_IDX);
    bool ctls = feat & (1ull << BG_F_CTLS);
    uint8_t cfg[16] = { 0 };
    if (!ff_get_config(dev->ff, 0, ctls ? 16 : 12, cfg, error))
        return NULL;
    memcpy(&dev->jacks, cfg, 4);
    memcpy(&dev->streams, cfg + 4, 4);
    memcpy(&dev->chmaps, cfg + 8, 4);
    dev->jacks = le32toh(dev->jacks);
    dev->streams = le32toh(dev->streams);
    dev->chmaps = le32toh(dev->chmaps);
    if (dev->streams == 0 || dev->streams > 4096) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "back-end offers %u streams",
                    dev->streams);
        return NULL;
    }

    dev->qsize = qsize;
    dev->mem = fg_mem_new(BG_MEM_REGIONS, BG_REGION_SIZE, 0);
    FgVqOpts o = { .size = qsize, .event_idx = event_idx, .indirect = dev->indirect };
    for (unsigned int i = 0; i < 4; i++)
        dev->vq[i] = fg_vq_new(dev->mem, &o);
    dev->ctl_gpa = fg_alloc_in(dev->mem, 0, (uint64_t)BG_CTL_SLOTS * BG_CTL_AREA, 4096);
    if (!ff_start(dev->ff, dev->mem, dev->vq, NULL, error))
        return NULL;

    /* The event queue: filled, never kicked (notes section 6). */
    unsigned int nevt = MIN(qsize, 64u);
    uint64_t evt = fg_alloc(dev->mem, 8ull * nevt, 8);
    static int evt_token;
    for (unsigned int i = 0; i < nevt; i++) {
        FgSeg s = { evt + 8ull * i, 8, true };
        FgAddOpts ao = { 0 };
        fg_vq_add(dev->vq[BG_VQ_EVT], &s, 1, &ao, &evt_token);
    }

    /* One PCM_INFO for every stream, in pieces that fit the scratch area. */
    dev->info = g_new0(BgStreamInfo, dev->streams);
    const uint32_t isz = sizeof(struct virtio_snd_pcm_info);
    for (uint32_t start = 0; start < dev->streams;) {
        uint32_t count = MIN(dev->streams - start, (BG_CTL_AREA - 512 - 4) / isz);
        struct virtio_snd_query_info q = {
            .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO),
            .start_id = htole32(start),
            .count = htole32(count),
            .size = htole32(isz),
        };
        g_autofree uint8_t *resp = g_malloc0(4 + (size_t)count * isz);
        int st = bg_ctl(dev, &q, sizeof(q), resp, 4 + count * isz, NULL, error);
        if (st < 0)
            return NULL;
        if (st != VIRTIO_SND_S_OK) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "PCM_INFO answered status 0x%x", st);
            return NULL;
        }
        for (uint32_t i = 0; i < count; i++) {
            struct virtio_snd_pcm_info pi;
            memcpy(&pi, resp + 4 + (size_t)i * isz, isz);
            BgStreamInfo *si = &dev->info[start + i];
            si->direction = pi.direction;
            si->channels_min = pi.channels_min;
            si->channels_max = pi.channels_max;
            si->features = le32toh(pi.features);
            si->formats = le64toh(pi.formats);
            si->rates = le64toh(pi.rates);
        }
        start += count;
    }
    return g_steal_pointer(&dev);
}

void bg_close(BgDev *dev)
{
    if (!dev)
        return;
    ff_free(dev->ff);
    for (unsigned int i = 0; i < 4; i++)
        fg_vq_free(dev->vq[i]);
    fg_mem_free(dev->mem);
    g_free(dev->info);
    g_free(dev);
}

GArray *bg_streams_of(const BgDev *dev, uint8_t dir, unsigned int max)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < dev->streams && a->len < max; i++) {
        const BgStreamInfo *si = &dev->info[i];
        if (si->direction == dir && (si->formats & (1ull << VIRTIO_SND_PCM_FMT_S16)) &&
            (si->rates & (1ull << VIRTIO_SND_PCM_RATE_48000)) && si->channels_min <= 2 &&
            si->channels_max >= 2)
            g_array_append_val(a, i);
    }
    return a;
}

/* ------------------------------------------------------------------ */

typedef struct BgSlot {
    unsigned int s;           /* index into the BgIo's streams */
    uint64_t hs_gpa;          /* xfer header at +0, status at +8 */
    uint64_t data_gpa;
} BgSlot;

struct BgIo {
    BgDev *dev;
    uint8_t dir;
    unsigned int n, depth;
    uint32_t period;
    uint32_t *ids;
    bool *polling;            /* per stream: MSG_POLLING negotiated */
    BgSlot *slots;
    int64_t *t_start;
    uint64_t *count;
    GArray **times;
    bool running;
    BgIoStats st;
};

BgIo *bg_io_new(BgDev *dev, uint8_t dir, const uint32_t *ids, unsigned int n,
                unsigned int depth, uint32_t period_bytes, bool record)
{
    BgIo *io = g_new0(BgIo, 1);
    io->dev = dev;
    io->dir = dir;
    io->n = n;
    io->depth = depth;
    io->period = period_bytes;
    io->ids = g_memdup2(ids, sizeof(uint32_t) * n);
    io->polling = g_new0(bool, n);
    io->slots = g_new0(BgSlot, (size_t)n * depth);
    io->t_start = g_new0(int64_t, n);
    io->count = g_new0(uint64_t, n);
    if (record) {
        io->times = g_new0(GArray *, n);
        for (unsigned int i = 0; i < n; i++)
            io->times[i] = g_array_sized_new(FALSE, FALSE, sizeof(int64_t), 8192);
    }
    for (unsigned int i = 0; i < n * depth; i++) {
        BgSlot *sl = &io->slots[i];
        sl->s = i / depth;
        sl->hs_gpa = fg_alloc(dev->mem, 16, 16);
        sl->data_gpa = fg_alloc(dev->mem, period_bytes, 64);
        uint32_t sid = htole32(io->ids[sl->s]);
        memcpy(ptr(dev, sl->hs_gpa, 4), &sid, 4);
        memset(ptr(dev, sl->data_gpa, period_bytes), 0, period_bytes);
    }
    return io;
}

void bg_io_free(BgIo *io)
{
    if (!io)
        return;
    if (io->times)
        for (unsigned int i = 0; i < io->n; i++)
            g_array_unref(io->times[i]);
    g_free(io->times);
    g_free(io->ids);
    g_free(io->polling);
    g_free(io->slots);
    g_free(io->t_start);
    g_free(io->count);
    g_free(io);
}

static FgVq *io_vq(BgIo *io)
{
    return io->dev->vq[io->dir == VIRTIO_SND_D_OUTPUT ? BG_VQ_TX : BG_VQ_RX];
}

static bool queue_slot(BgIo *io, BgSlot *sl, GError **error)
{
    bool tx = io->dir == VIRTIO_SND_D_OUTPUT;
    FgSeg segs[3] = {
        { sl->hs_gpa, sizeof(struct virtio_snd_pcm_xfer), false },
        { sl->data_gpa, io->period, !tx },
        { sl->hs_gpa + 8, sizeof(struct virtio_snd_pcm_status), true },
    };
    FgAddOpts o = { .indirect = io->dev->indirect, .page_split = true };
    if (fg_vq_add(io_vq(io), segs, 3, &o, sl) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "%s queue full: raise --queue-size", tx ? "tx" : "rx");
        return false;
    }
    return true;
}

bool bg_io_start(BgIo *io, GError **error)
{
    BgDev *dev = io->dev;
    for (unsigned int i = 0; i < io->n; i++) {
        uint32_t features = bg_linux_features(dev, io->ids[i]);
        io->polling[i] = features & (1u << VIRTIO_SND_PCM_F_MSG_POLLING);
        if (io->polling[i])
            io->st.polling++;
        int st = bg_pcm_set_params(dev, io->ids[i], io->period * io->depth, io->period, 2,
                                   VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, features,
                                   error);
        if (st == VIRTIO_SND_S_OK)
            st = bg_pcm_simple(dev, VIRTIO_SND_R_PCM_PREPARE, io->ids[i], error);
        if (st < 0)
            return false;
        if (st != VIRTIO_SND_S_OK) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                        "stream %u: SET_PARAMS/PREPARE answered 0x%x", io->ids[i], st);
            return false;
        }
    }
    /* Pre-buffer (playback) or post the capture periods, like the driver. */
    bool kick = false;
    for (unsigned int i = 0; i < io->n * io->depth; i++) {
        if (!queue_slot(io, &io->slots[i], error))
            return false;
        kick = kick || !io->polling[io->slots[i].s];
    }
    if (kick && fg_vq_kick_prepare_notify(io_vq(io)))
        io->st.kicks++;
    for (unsigned int i = 0; i < io->n; i++) {
        io->t_start[i] = bp_now_ns();
        int st = bg_pcm_simple(dev, VIRTIO_SND_R_PCM_START, io->ids[i], error);
        if (st < 0)
            return false;
        if (st != VIRTIO_SND_S_OK) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "stream %u: START answered 0x%x",
                        io->ids[i], st);
            return false;
        }
    }
    io->running = true;
    return true;
}

/* Take every completion now in the used ring; re-queue if @requeue. */
static bool drain(BgIo *io, int64_t now, bool requeue, GError **error)
{
    FgVq *vq = io_vq(io);
    bool kick = false;
    FgUsed u;
    uint32_t want = io->dir == VIRTIO_SND_D_OUTPUT ? 8 : io->period + 8;
    while (fg_vq_get_used(vq, &u)) {
        BgSlot *sl = u.token;
        if (!sl) {
            io->st.bad_id++;
            continue;
        }
        io->st.completions++;
        if (u.len != want)
            io->st.bad_len++;
        io->count[sl->s]++;
        if (io->times)
            g_array_append_val(io->times[sl->s], now);
        if (requeue) {
            if (!queue_slot(io, sl, error))
                return false;
            kick = kick || !io->polling[sl->s];
        }
    }
    if (kick && fg_vq_kick_prepare_notify(vq))
        io->st.kicks++;
    return true;
}

bool bg_io_run(BgIo *io, int64_t until_ns, GError **error)
{
    FgVq *vq = io_vq(io);
    struct pollfd pfd = { .fd = fg_vq_call_fd(vq), .events = POLLIN };
    for (;;) {
        int64_t now = bp_now_ns();
        if (now >= until_ns)
            return true;
        int ms = (int)((until_ns - now + 999999) / 1000000);
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno != EINTR) {
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "poll: %s",
                        g_strerror(errno));
            return false;
        }
        if (r <= 0)
            continue;
        now = bp_now_ns();
        if (fg_vq_clear_call(vq))
            io->st.wakeups++;
        if (!drain(io, now, true, error))
            return false;
    }
}

bool bg_io_stop(BgIo *io, GError **error)
{
    if (!io->running)
        return true;
    io->running = false;
    bool ok = true;
    for (unsigned int i = 0; i < io->n && ok; i++) {
        int st = bg_pcm_simple(io->dev, VIRTIO_SND_R_PCM_STOP, io->ids[i], error);
        if (st >= 0)
            st = bg_pcm_simple(io->dev, VIRTIO_SND_R_PCM_RELEASE, io->ids[i], error);
        ok = st >= 0;
    }
    /* RELEASE completes what was pending (spec 5.14.6.6.5); collect it. */
    FgVq *vq = io_vq(io);
    int64_t deadline = bp_now_ns() + 1000000000;
    while (ok && fg_vq_inflight(vq) > 0 && bp_now_ns() < deadline) {
        struct pollfd pfd = { .fd = fg_vq_call_fd(vq), .events = POLLIN };
        if (poll(&pfd, 1, 20) > 0)
            fg_vq_clear_call(vq);
        FgUsed u;
        while (fg_vq_get_used(vq, &u))
            ;
    }
    return ok;
}

const BgIoStats *bg_io_stats(const BgIo *io) { return &io->st; }
unsigned int bg_io_nstreams(const BgIo *io) { return io->n; }
int64_t bg_io_start_ns(const BgIo *io, unsigned int i) { return io->t_start[i]; }
const GArray *bg_io_times(const BgIo *io, unsigned int i) { return io->times ? io->times[i] : NULL; }
uint64_t bg_io_count(const BgIo *io, unsigned int i) { return io->count[i]; }
