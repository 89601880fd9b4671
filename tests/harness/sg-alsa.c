/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sg-alsa.c - see sg-alsa.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "sg-alsa.h"

#define SG_ALSA_ERROR (g_quark_from_static_string("sg-alsa"))

/* One stream's books, as the guest keeps them. */
typedef struct Books {
    SgGuest *sg;
    const SgAlsaParams *p;
    bool capture;
    unsigned int periods;
    SgIoMsg **msg;           /* one per buffer slot */
    uint32_t drv_ptr;        /* the driver's hw_ptr: bytes modulo the buffer */
    uint64_t hw;             /* ALSA's hw_ptr, bytes */
    uint64_t appl;           /* ALSA's appl_ptr, bytes */
    uint64_t done;           /* bytes of the completed messages */
    gint64 hw_moved_us;      /* when ALSA last saw hw_ptr move */
    gint64 empty_us;         /* when the used ring last had nothing new */
    gint64 start_us;
    SgAlsaStats *stats;
} Books;

static int64_t wait_us(const SgAlsaParams *p)
{
    int64_t buffer_us = (int64_t)p->buffer_bytes / p->frame_bytes * G_USEC_PER_SEC / p->rate_hz;

    return MAX(100000, buffer_us * 11 / 10);
}

static bool cmd(Books *b, uint32_t code, const char *name, GError **error)
{
    uint32_t st = 0;

    if (!sg_pcm_cmd(b->sg, code, b->p->sid, &st, error))
        return false;
    if (st != VIRTIO_SND_S_OK) {
        g_set_error(error, SG_ALSA_ERROR, EIO, "%s answered 0x%x", name, st);
        return false;
    }
    return true;
}

/* An interrupt: @first and every completion already there, then ALSA's
 * pointer update once.  Return: false on a completion out of order. */
static bool interrupt(Books *b, SgIoMsg *first, GError **error)
{
    uint32_t buf = b->p->buffer_bytes;
    uint32_t old = (uint32_t)(b->hw % buf);
    gint64 now;

    for (SgIoMsg *m = first; m; m = sg_io_wait(b->sg, b->capture, 0)) {
        uint32_t adv = b->p->period_bytes;

        if (b->capture && m->used_len > sizeof(struct virtio_snd_pcm_status))
            adv = m->used_len - (uint32_t)sizeof(struct virtio_snd_pcm_status);
        b->drv_ptr = (b->drv_ptr + adv) % buf;
        b->done += adv;
        if (b->stats->traced < b->p->trace_cap) {
            SgAlsaCompletion *c = &b->p->trace[b->stats->traced++];

            c->t_us = m->completed_us;
            c->t_lo_us = b->empty_us;
            c->latency_bytes = m->latency_bytes;
            c->end_bytes = b->done;
        }
        b->stats->completions++;
        b->stats->latency_last = m->latency_bytes;
        b->stats->latency_max = MAX(b->stats->latency_max, m->latency_bytes);
        b->stats->latency_sum += m->latency_bytes;
        if (m->status != VIRTIO_SND_S_OK) {
            g_set_error(error, SG_ALSA_ERROR, EIO, "I/O message completed with 0x%x",
                        m->status);
            return false;
        }
    }
    b->stats->interrupts++;
    now = b->empty_us = g_get_monotonic_time();
    uint64_t delta = (b->drv_ptr + buf - old) % buf;
    if (delta == 0) {
        b->stats->lost_buffers++;
        /* ALSA's double-acknowledged-interrupt rule */
        if ((now - b->hw_moved_us) * 2 > wait_us(b->p) * 10 / 11)
            delta = buf;
    }
    if (delta) {
        b->hw += delta;
        b->hw_moved_us = now;
    }
    return true;
}

/* Sleep like wait_for_avail(): until an interrupt or the timeout. */
static bool wait_avail(Books *b, const char *what, GError **error)
{
    int64_t left = b->hw_moved_us + wait_us(b->p) - g_get_monotonic_time();
    SgIoMsg *m = left > 0 ? sg_io_wait(b->sg, b->capture, (int)((left + 999) / 1000)) : NULL;

    if (!m) {
        g_set_error(error, SG_ALSA_ERROR, EIO,
                    "%s error: Input/output error (no period elapsed for %" G_GINT64_FORMAT
                    " ms; hw_ptr %" G_GUINT64_FORMAT " appl_ptr %" G_GUINT64_FORMAT
                    ", %u completions, %u of them a whole buffer at once)",
                    what, wait_us(b->p) / 1000, b->hw, b->appl, b->stats->completions,
                    b->stats->lost_buffers);
        return false;
    }
    return interrupt(b, m, error);
}

static bool books_open(Books *b, SgGuest *sg, const SgAlsaParams *p, bool capture,
                       SgAlsaStats *stats, GError **error)
{
    uint32_t st = 0;

    memset(b, 0, sizeof(*b));
    memset(stats, 0, sizeof(*stats));
    b->sg = sg;
    b->p = p;
    b->capture = capture;
    b->stats = stats;
    g_assert(p->period_bytes && p->buffer_bytes % p->period_bytes == 0);
    b->periods = p->buffer_bytes / p->period_bytes;
    if (!sg_pcm_set_params(sg, p->sid, p->buffer_bytes, p->period_bytes, p->channels, p->format,
                           p->rate, sg_linux_pcm_features(sg, p->sid), &st, error))
        return false;
    if (st != VIRTIO_SND_S_OK) {
        g_set_error(error, SG_ALSA_ERROR, EINVAL, "SET_PARAMS answered 0x%x", st);
        return false;
    }
    if (!cmd(b, VIRTIO_SND_R_PCM_PREPARE, "PREPARE", error))
        return false;
    /* hw_params allocates the messages once; they are reused per slot */
    b->msg = g_new0(SgIoMsg *, b->periods);
    for (unsigned int i = 0; i < b->periods; i++)
        b->msg[i] = sg_io_msg_new(sg, p->sid, capture, p->period_bytes);
    return true;
}

static bool books_start(Books *b, GError **error)
{
    b->start_us = b->hw_moved_us = b->empty_us = g_get_monotonic_time();
    return cmd(b, VIRTIO_SND_R_PCM_START, "START", error);
}

/* STOP, RELEASE; the messages' completions are collected. */
static bool books_close(Books *b, bool ok, GError **error)
{
    GError *local = NULL;

    b->stats->hw_bytes = b->hw;
    if (b->start_us)
        b->stats->seconds = (double)(g_get_monotonic_time() - b->start_us) / G_USEC_PER_SEC;
    /* the first failure is the one reported, later ones are dropped */
    if (b->start_us && !cmd(b, VIRTIO_SND_R_PCM_STOP, "STOP", ok ? error : &local))
        ok = false;
    g_clear_error(&local);
    if (b->start_us && b->p->release_delay_ms)
        g_usleep((gulong)b->p->release_delay_ms * 1000);
    if (!cmd(b, VIRTIO_SND_R_PCM_RELEASE, "RELEASE", ok ? error : &local))
        ok = false;
    while (sg_io_wait(b->sg, b->capture, 0))
        ;
    g_clear_error(&local);
    g_free(b->msg);
    return ok;
}

static bool queue_slot(Books *b, const void *data, GError **error)
{
    unsigned int slot = (unsigned int)(b->appl / b->p->period_bytes % b->periods);
    SgIoMsg *m = b->msg[slot];
    int r;

    if (m->pending) {
        g_set_error(error, SG_ALSA_ERROR, EIO, "slot %u is still in flight at appl_ptr %"
                    G_GUINT64_FORMAT " (hw_ptr %" G_GUINT64_FORMAT ")", slot, b->appl, b->hw);
        return false;
    }
    r = b->capture ? sg_rx_submit(b->sg, m, false) : sg_tx_submit(b->sg, m, data, false);
    if (r < 0) {
        g_set_error(error, SG_ALSA_ERROR, EIO, "failed to send I/O message: %s (%s error: "
                    "Input/output error)", g_strerror(-r), b->capture ? "read" : "write");
        return false;
    }
    return true;
}

bool sg_alsa_play(SgGuest *sg, const SgAlsaParams *p, const void *data, size_t len,
                  SgAlsaStats *stats, GError **error)
{
    Books b;
    uint64_t total = (len + p->period_bytes - 1) / p->period_bytes * p->period_bytes;
    g_autofree uint8_t *period = g_malloc(p->period_bytes);
    bool ok = true;

    if (!books_open(&b, sg, p, false, stats, error))
        return false;
    while (ok && b.hw < total) {
        /* the application writes what avail allows; a whole period is queued */
        while (ok && b.appl < total && b.appl - b.hw + p->period_bytes <= p->buffer_bytes) {
            size_t have = b.appl < len ? MIN(len - b.appl, p->period_bytes) : 0;

            memset(period, 0, p->period_bytes);
            memcpy(period, (const uint8_t *)data + b.appl, have);
            ok = queue_slot(&b, period, error);
            b.appl += p->period_bytes;
        }
        if (ok && !b.start_us && (b.appl >= p->buffer_bytes || b.appl >= total))
            ok = books_start(&b, error);
        if (ok)
            ok = wait_avail(&b, b.appl < total ? "write" : "drain", error);
    }
    return books_close(&b, ok, error);
}

bool sg_alsa_record(SgGuest *sg, const SgAlsaParams *p, void *buf, size_t len,
                    SgAlsaStats *stats, GError **error)
{
    Books b;
    uint64_t read = 0;
    bool ok;

    g_assert(len % p->period_bytes == 0);
    if (!books_open(&b, sg, p, true, stats, error))
        return false;
    /* START queues every period */
    ok = true;
    for (unsigned int i = 0; ok && i < b.periods; i++) {
        ok = queue_slot(&b, NULL, error);
        b.appl += p->period_bytes;
    }
    if (ok)
        ok = books_start(&b, error);
    b.appl = 0; /* appl_ptr: what the application has read */
    while (ok && read < len) {
        while (ok && read < len && b.hw - read >= p->period_bytes) {
            unsigned int slot = (unsigned int)(read / p->period_bytes % b.periods);

            sg_io_read(sg, b.msg[slot], (uint8_t *)buf + read);
            read += p->period_bytes;
            /* re-queued once read (cp_ack): its next turn in the buffer */
            b.appl = read + p->buffer_bytes - p->period_bytes;
            ok = queue_slot(&b, NULL, error);
        }
        if (ok && read < len)
            ok = wait_avail(&b, "read", error);
    }
    b.appl = read;
    return books_close(&b, ok, error);
}
