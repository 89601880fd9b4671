/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-guest.c - the benchmark's guest on the harness's fake Linux
 * driver; see bench-guest.h.  Message layouts are snd-guest.c's (VIRTIO
 * 1.2 section 5.14.6; one period per message as in Linux's
 * sound/virtio/virtio_pcm_msg.c).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <gio/gio.h>
#include <linux/virtio_snd.h>
#include <poll.h>
#include <string.h>

#include "bench/bench-guest.h"
#include "bench/bench-proc.h"

#define BG_REGION_SIZE (8u << 20)

FfConn *bg_connect(const char *socket, int timeout_ms, bool realize, GError **error)
{
    int64_t deadline = bp_now_ns() + (int64_t)timeout_ms * 1000000;
    FfConn *ff;
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
    if (realize && !ff_realize(ff, error)) {
        ff_free(ff);
        return NULL;
    }
    return ff;
}

BgDev *bg_open(const char *socket, uint16_t qsize, GError **error)
{
    FfConn *ff = bg_connect(socket, 5000, false, error);
    if (!ff)
        return NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.queue_size = qsize;
    o.region_size = BG_REGION_SIZE;
    g_autoptr(BgDev) dev = g_new0(BgDev, 1);
    dev->sg = sg_new(ff, &o);
    dev->sg->owns_ff = true;
    dev->ff = ff;
    if (!sg_boot(dev->sg, error))
        return NULL;
    return g_steal_pointer(&dev);
}

void bg_close(BgDev *dev)
{
    if (!dev)
        return;
    sg_free(dev->sg);
    g_free(dev);
}

uint32_t bg_streams(const BgDev *dev)
{
    return dev->sg->streams;
}

bool bg_indirect(const BgDev *dev)
{
    return dev->sg->indirect;
}

GArray *bg_streams_of(const BgDev *dev, uint8_t dir, unsigned int max)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 0; i < dev->sg->streams && a->len < max; i++) {
        const struct virtio_snd_pcm_info *pi = &dev->sg->pcm[i];
        if (pi->direction == dir &&
            (le64toh(pi->formats) & (1ull << VIRTIO_SND_PCM_FMT_S16)) &&
            (le64toh(pi->rates) & (1ull << VIRTIO_SND_PCM_RATE_48000)) &&
            pi->channels_min <= 2 && pi->channels_max >= 2)
            g_array_append_val(a, i);
    }
    return a;
}

uint32_t bg_linux_features(const BgDev *dev, uint32_t stream)
{
    if (stream >= dev->sg->streams)
        return 0;
    uint32_t f = le32toh(dev->sg->pcm[stream].features) &
                 ((1u << VIRTIO_SND_PCM_F_MSG_POLLING) | (1u << VIRTIO_SND_PCM_F_EVT_XRUNS));
    if (dev->no_polling)
        f &= ~(1u << VIRTIO_SND_PCM_F_MSG_POLLING);
    return f;
}

int bg_pcm_info_one(BgDev *dev, uint32_t id, int64_t *rtt_ns, GError **error)
{
    struct virtio_snd_query_info q = {
        .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO),
        .start_id = htole32(id),
        .count = htole32(1),
        .size = htole32(sizeof(struct virtio_snd_pcm_info)),
    };
    int64_t t0 = bp_now_ns();
    SgCtl *c = sg_ctl_submit(dev->sg, &q, sizeof(q), NULL, 0,
                             sizeof(struct virtio_snd_pcm_info), error);
    if (!c || !sg_ctl_wait(dev->sg, c, dev->sg->opts.ctl_timeout_ms, error))
        return -1;
    if (rtt_ns)
        *rtt_ns = bp_now_ns() - t0;
    int st = (int)sg_ctl_status(dev->sg, c);
    sg_ctl_release(c);
    return st;
}

int64_t bg_ctl_burst(BgDev *dev, unsigned int n, GError **error)
{
    SgCtl *c[BG_BURST_MAX];
    g_assert(n <= BG_BURST_MAX);
    int64_t t0 = bp_now_ns();
    for (unsigned int i = 0; i < n; i++) {
        struct virtio_snd_query_info q = {
            .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO),
            .start_id = htole32(i % dev->sg->streams),
            .count = htole32(1),
            .size = htole32(sizeof(struct virtio_snd_pcm_info)),
        };
        c[i] = sg_ctl_submit(dev->sg, &q, sizeof(q), NULL, 0,
                             sizeof(struct virtio_snd_pcm_info), error);
        if (!c[i])
            return -1;
    }
    for (unsigned int i = 0; i < n; i++) {
        if (!sg_ctl_wait(dev->sg, c[i], dev->sg->opts.ctl_timeout_ms, error))
            return -1;
        sg_ctl_release(c[i]);
    }
    return bp_now_ns() - t0;
}

int bg_pcm_simple(BgDev *dev, uint32_t code, uint32_t stream, GError **error)
{
    uint32_t st;
    return sg_pcm_cmd(dev->sg, code, stream, &st, error) ? (int)st : -1;
}

int bg_pcm_set_params(BgDev *dev, uint32_t stream, uint32_t buffer_bytes,
                      uint32_t period_bytes, uint8_t channels, uint8_t format,
                      uint8_t rate, uint32_t features, GError **error)
{
    uint32_t st;
    return sg_pcm_set_params(dev->sg, stream, buffer_bytes, period_bytes, channels, format,
                             rate, features, &st, error) ? (int)st : -1;
}

/* ------------------------------------------------------------------ */

struct BgIo {
    BgDev *dev;
    bool capture;
    unsigned int n, depth;
    uint32_t period;
    uint32_t *ids;
    int *index;               /* stream id -> stream number, -1 if not ours */
    bool *polling;            /* per stream: MSG_POLLING negotiated */
    SgIoMsg **msgs;           /* n * depth */
    uint8_t *silence;         /* tx payload */
    int64_t *t_start;
    GArray **times;
    bool running;
    BgIoStats st;
};

BgIo *bg_io_new(BgDev *dev, uint8_t dir, const uint32_t *ids, unsigned int n,
                unsigned int depth, uint32_t period_bytes, bool record)
{
    BgIo *io = g_new0(BgIo, 1);
    io->dev = dev;
    io->capture = dir == VIRTIO_SND_D_INPUT;
    io->n = n;
    io->depth = depth;
    io->period = period_bytes;
    io->ids = g_memdup2(ids, sizeof(uint32_t) * n);
    io->index = g_new(int, dev->sg->streams);
    for (uint32_t i = 0; i < dev->sg->streams; i++)
        io->index[i] = -1;
    for (unsigned int i = 0; i < n; i++)
        io->index[ids[i]] = (int)i;
    io->polling = g_new0(bool, n);
    io->silence = g_malloc0(period_bytes);
    io->t_start = g_new0(int64_t, n);
    io->msgs = g_new0(SgIoMsg *, (size_t)n * depth);
    for (unsigned int i = 0; i < n * depth; i++)
        io->msgs[i] = sg_io_msg_new(dev->sg, ids[i / depth], io->capture, period_bytes);
    if (record) {
        io->times = g_new0(GArray *, n);
        for (unsigned int i = 0; i < n; i++)
            io->times[i] = g_array_sized_new(FALSE, FALSE, sizeof(int64_t), 8192);
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
    g_free(io->index);
    g_free(io->polling);
    g_free(io->silence);
    g_free(io->t_start);
    g_free(io->msgs); /* the messages belong to the SgGuest */
    g_free(io);
}

static FgVq *io_vq(BgIo *io)
{
    return io->dev->sg->vq[io->capture ? VIRTIO_SND_VQ_RX : VIRTIO_SND_VQ_TX];
}

/* Queue @m without a kick; Return: false with @error if the ring is full. */
static bool queue_msg(BgIo *io, SgIoMsg *m, GError **error)
{
    int r = io->capture ? sg_rx_submit(io->dev->sg, m, true)
                        : sg_tx_submit(io->dev->sg, m, io->silence, true);
    if (r < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s queue full (%s): raise --queue-size",
                    io->capture ? "rx" : "tx", g_strerror(-r));
        return false;
    }
    return true;
}

static void kick(BgIo *io)
{
    if (fg_vq_kick_prepare_notify(io_vq(io)))
        io->st.kicks++;
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
    /* Pre-buffer (playback) or post the capture periods. */
    bool need_kick = false;
    for (unsigned int i = 0; i < io->n * io->depth; i++) {
        if (!queue_msg(io, io->msgs[i], error))
            return false;
        need_kick = need_kick || !io->polling[i / io->depth];
    }
    if (need_kick)
        kick(io);
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

/* Take every completion now in the used ring, re-queue each at once. */
static bool drain(BgIo *io, int64_t now, GError **error)
{
    uint32_t want = io->capture ? io->period + 8 : 8;
    bool need_kick = false;
    SgIoMsg *m;
    while ((m = sg_io_wait(io->dev->sg, io->capture, 0))) {
        int s = m->stream_id < io->dev->sg->streams ? io->index[m->stream_id] : -1;
        io->st.completions++;
        if (m->used_len != want)
            io->st.bad_len++;
        if (s < 0)
            continue;
        if (io->times)
            g_array_append_val(io->times[s], now);
        if (!queue_msg(io, m, error))
            return false;
        need_kick = need_kick || !io->polling[s];
    }
    if (need_kick)
        kick(io);
    return true;
}

bool bg_io_run(BgIo *io, int64_t until_ns, GError **error)
{
    FgVq *vq = io_vq(io);
    struct pollfd pfd = { .fd = fg_vq_call_fd(vq), .events = POLLIN };
    int64_t last = bp_now_ns();
    for (;;) {
        int64_t now = bp_now_ns();
        io->st.max_gap_ns = MAX(io->st.max_gap_ns, now - last);
        last = now;
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
        if (!drain(io, now, error))
            return false;
    }
}

bool bg_io_stop(BgIo *io, GError **error)
{
    if (!io->running)
        return true;
    io->running = false;
    for (unsigned int i = 0; i < io->n; i++) {
        if (bg_pcm_simple(io->dev, VIRTIO_SND_R_PCM_STOP, io->ids[i], error) < 0 ||
            bg_pcm_simple(io->dev, VIRTIO_SND_R_PCM_RELEASE, io->ids[i], error) < 0)
            return false;
    }
    /* RELEASE completes what was pending (spec 5.14.6.6.5); collect it. */
    int64_t deadline = bp_now_ns() + 1000000000;
    while (fg_vq_inflight(io_vq(io)) > 0 && bp_now_ns() < deadline)
        sg_io_wait(io->dev->sg, io->capture, 20);
    return true;
}

const BgIoStats *bg_io_stats(const BgIo *io) { return &io->st; }
int64_t bg_io_start_ns(const BgIo *io, unsigned int i) { return io->t_start[i]; }
const GArray *bg_io_times(const BgIo *io, unsigned int i) { return io->times ? io->times[i] : NULL; }
