/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-guest.c - fake Linux virtio-snd driver (see snd-guest.h).
 *
 * Message layouts: virtio-snd-spec.md "Device Operation: Control
 * Messages", "PCM I/O Messages", "Event Messages"; descriptor shapes from
 * Linux sound/virtio/ (virtio_card.c probe and events, virtio_ctl_msg.c,
 * virtio_pcm_msg.c).
 */
#include "config.h"

#include "snd-guest.h"
#include "daemon.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#ifdef SG_HAVE_CTLS
#include "snd/snd-proto.h"
#endif

#define VF_VERSION_1 32
#define VF_RING_PACKED 34
#define VF_INDIRECT 28
#define VF_EVENT_IDX 29
#define SG_CTL_REQ_MAX 1024u

void sg_opts_init(SgOpts *o)
{
    memset(o, 0, sizeof(*o));
    o->queue_size = 64;
    /* as Linux does with QEMU 10 (tests/data/qemu-sequences: SET_FEATURES
     * acks VIRTIO_F_RING_PACKED whenever the device offers it) */
    o->packed = true;
    o->nregions = 3;
    o->region_size = 4u << 20;
    o->gap = 1u << 20;
    o->config_size = sizeof(struct virtio_snd_config);
    o->ctl_timeout_ms = SG_DEFAULT_TIMEOUT_MS;
}

static void sg_io_msg_free(gpointer p)
{
    SgIoMsg *m = p;
    g_free(m->page_gpa);
    g_free(m);
}

SgGuest *sg_new(FfConn *ff, const SgOpts *o)
{
    SgGuest *sg = g_new0(SgGuest, 1);
    sg->ff = ff;
    if (o)
        sg->opts = *o;
    else
        sg_opts_init(&sg->opts);
    if (!sg->opts.queue_size)
        sg->opts.queue_size = 64;
    if (!sg->opts.ctl_timeout_ms)
        sg->opts.ctl_timeout_ms = SG_DEFAULT_TIMEOUT_MS;
    if (!sg->opts.config_size)
        sg->opts.config_size = sizeof(struct virtio_snd_config);
    sg->mem = fg_mem_new(sg->opts.nregions ? sg->opts.nregions : 3,
                         sg->opts.region_size ? sg->opts.region_size : 4u << 20, sg->opts.gap);
    for (unsigned int i = 0; i < SG_CTL_SLOTS; i++) {
        sg->ctl[i].req_gpa = fg_alloc(sg->mem, SG_CTL_REQ_MAX, 16);
        sg->ctl[i].resp_gpa = fg_alloc(sg->mem, 4 + SG_CTL_RESP_MAX, 16);
    }
    sg->event_gpa = fg_alloc(sg->mem, sizeof(struct virtio_snd_event) * sg->opts.queue_size, 8);
    sg->msgs = g_ptr_array_new_with_free_func(sg_io_msg_free);
    return sg;
}

void sg_free(SgGuest *sg)
{
    if (!sg)
        return;
    for (unsigned int i = 0; i < 4; i++)
        fg_vq_free(sg->vq[i]);
    g_free(sg->jack);
    g_free(sg->pcm);
    g_free(sg->chmap);
    for (uint32_t i = 0; sg->ctl_items && i < sg->controls; i++)
        g_free(sg->ctl_items[i]);
    g_free(sg->ctl_items);
    g_free(sg->ctl_info);
    g_ptr_array_free(sg->msgs, TRUE);
    fg_mem_free(sg->mem);
    if (sg->owns_ff)
        ff_free(sg->ff);
    g_free(sg);
}

bool sg_read_config(SgGuest *sg, uint32_t offset, uint32_t *value, GError **error)
{
    uint8_t cfg[64];
    g_assert(sg->opts.config_size <= sizeof(cfg) && offset + 4 <= sg->opts.config_size);
    if (!ff_get_config(sg->ff, 0, sg->opts.config_size, cfg, error))
        return false;
    uint32_t v;
    memcpy(&v, cfg + offset, 4);
    *value = le32toh(v);
    return true;
}

/* virtsnd_find_vqs(): event callback off, every slot gets an 8-byte
 * writable buffer, no kick. */
static void sg_fill_events(SgGuest *sg)
{
    FgVq *evq = sg->vq[VIRTIO_SND_VQ_EVENT];
    fg_vq_disable_cb(evq);
    for (unsigned int i = 0; i < sg->opts.queue_size; i++) {
        FgSeg s = { sg->event_gpa + sizeof(struct virtio_snd_event) * i,
                    sizeof(struct virtio_snd_event), true };
        memset(fg_ptr(sg->mem, s.gpa, s.len), 0, s.len);
        int r = fg_vq_add(evq, &s, 1, NULL, GUINT_TO_POINTER(i + 1));
        g_assert_cmpint(r, >=, 0);
    }
}

static bool sg_validate_pcm(const struct virtio_snd_pcm_info *p, uint32_t i, GError **error)
{
    const char *why = NULL;
    if (p->channels_min < 1 || p->channels_min > p->channels_max)
        why = "bad channel range";
    else if (!(le64toh(p->formats) & ((1ull << 25) - 1)))
        why = "no format Linux knows";
    else if (!(le64toh(p->rates) & ((1ull << 13) - 1)))
        why = "no rate Linux knows (5512..192000)";
    else if (p->direction > VIRTIO_SND_D_INPUT)
        why = "bad direction";
    if (why) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "PCM_INFO[%u]: %s (Linux probe would fail)", i, why);
        return false;
    }
    return true;
}

static bool sg_probe_one(SgGuest *sg, uint32_t cfg_off, uint32_t code, uint32_t size,
                         uint32_t *count, void **out, GError **error)
{
    if (!sg_read_config(sg, cfg_off, count, error))
        return false;
    if (!*count)
        return true;
    if ((uint64_t)*count * size > SG_CTL_RESP_MAX) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "config announces %u items of query 0x%x", *count, code);
        return false;
    }
    *out = g_malloc0((size_t)*count * size);
    uint32_t status;
    if (!sg_query_info(sg, code, 0, *count, size, *out, &status, error))
        return false;
    if (status != VIRTIO_SND_S_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "query 0x%x for %u items answered status 0x%x", code, *count, status);
        return false;
    }
    return true;
}

#ifdef SG_HAVE_CTLS
/* virtsnd_kctl_validate_info() of the newest Linux. */
static bool sg_validate_ctl(const struct vsnd_ctl_info *ci, uint32_t i, GError **error)
{
    uint32_t type = le32toh(ci->type), count = le32toh(ci->count);
    static const uint32_t max_count[] = { 128, 128, 64, 128, 512, 1 };
    const char *why = NULL;
    if (type > VIRTIO_SND_CTL_TYPE_IEC958)
        why = "unknown type";
    else if (count == 0 || count > max_count[type] ||
             (type == VIRTIO_SND_CTL_TYPE_IEC958 && count != 1))
        why = "bad count";
    else if (type == VIRTIO_SND_CTL_TYPE_ENUMERATED && !le32toh(ci->value.enumerated.items))
        why = "enumerated without items";
    else if (!memchr(ci->name, 0, sizeof(ci->name)))
        why = "name not NUL-terminated";
    if (why) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "CTL_INFO[%u]: %s (Linux probe would fail)", i, why);
        return false;
    }
    return true;
}

static bool sg_probe_ctls(SgGuest *sg, GError **error)
{
    if (!sg_probe_one(sg, 12, VIRTIO_SND_R_CTL_INFO, sizeof(struct vsnd_ctl_info),
                      &sg->controls, (void **)&sg->ctl_info, error))
        return false;
    sg->ctl_items = g_new0(uint8_t *, MAX(sg->controls, 1));
    for (uint32_t i = 0; i < sg->controls; i++) {
        const struct vsnd_ctl_info *ci =
            (const void *)(sg->ctl_info + sizeof(struct vsnd_ctl_info) * i);
        if (!sg_validate_ctl(ci, i, error))
            return false;
        if (le32toh(ci->type) != VIRTIO_SND_CTL_TYPE_ENUMERATED)
            continue;
        uint32_t items = le32toh(ci->value.enumerated.items);
        if ((uint64_t)items * sizeof(struct vsnd_ctl_enum_item) > SG_CTL_RESP_MAX) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "CTL_INFO[%u]: %u items", i, items);
            return false;
        }
        struct vsnd_ctl_hdr h = {
            .hdr.code = htole32(VIRTIO_SND_R_CTL_ENUM_ITEMS), .control_id = htole32(i),
        };
        uint32_t len = items * (uint32_t)sizeof(struct vsnd_ctl_enum_item), status;
        sg->ctl_items[i] = g_malloc0(len);
        if (!sg_ctl(sg, &h, sizeof(h), sg->ctl_items[i], len, &status, error))
            return false;
        if (status != VIRTIO_SND_S_OK) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                        "CTL_ENUM_ITEMS(%u) answered status 0x%x", i, status);
            return false;
        }
    }
    return true;
}
#endif

static bool sg_probe(SgGuest *sg, GError **error)
{
    if (!sg_probe_one(sg, 0, VIRTIO_SND_R_JACK_INFO, sizeof(struct virtio_snd_jack_info),
                      &sg->jacks, (void **)&sg->jack, error) ||
        !sg_probe_one(sg, 4, VIRTIO_SND_R_PCM_INFO, sizeof(struct virtio_snd_pcm_info),
                      &sg->streams, (void **)&sg->pcm, error))
        return false;
    for (uint32_t i = 0; i < sg->streams; i++)
        if (!sg_validate_pcm(&sg->pcm[i], i, error))
            return false;
    if (!sg_probe_one(sg, 8, VIRTIO_SND_R_CHMAP_INFO, sizeof(struct virtio_snd_chmap_info),
                      &sg->chmaps, (void **)&sg->chmap, error))
        return false;
    for (uint32_t i = 0; i < sg->chmaps; i++) {
        for (unsigned int k = 0; k < MIN(sg->chmap[i].channels, VIRTIO_SND_CHMAP_MAX_SIZE); k++) {
            if (sg->chmap[i].positions[k] > VIRTIO_SND_CHMAP_BRC) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "CHMAP_INFO[%u] position %u unknown", i, sg->chmap[i].positions[k]);
                return false;
            }
        }
    }
#ifdef SG_HAVE_CTLS
    if (sg->features & (1ull << VIRTIO_SND_F_CTLS))
        return sg_probe_ctls(sg, error);
#endif
    return true;
}

static bool sg_create_queues(SgGuest *sg, GError **error)
{
    uint64_t offered = ff_features(sg->ff);
    if (!(offered & (1ull << VF_VERSION_1))) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "back-end does not offer VIRTIO_F_VERSION_1 (Linux refuses the device)");
        return false;
    }
    /* Linux: packed whenever offered (virtio_ring), split otherwise */
    sg->packed = sg->opts.packed && (offered & (1ull << VF_RING_PACKED));
    sg->indirect = !sg->opts.no_indirect && (offered & (1ull << VF_INDIRECT));
    sg->event_idx = !sg->opts.no_event_idx && (offered & (1ull << VF_EVENT_IDX));
    FgVqOpts vo = {
        .size = sg->opts.queue_size, .packed = sg->packed, .event_idx = sg->event_idx,
        .indirect = sg->indirect,
    };
    for (unsigned int i = 0; i < 4; i++)
        if (!sg->vq[i])
            sg->vq[i] = fg_vq_new(sg->mem, &vo);
    return true;
}

bool sg_boot(SgGuest *sg, GError **error)
{
    FfSetup *s = ff_setup(sg->ff);
    s->nqueues = 4;
    s->want_features = (1ull << VF_VERSION_1) |
                       (sg->opts.no_indirect ? 0 : 1ull << VF_INDIRECT) |
                       (sg->opts.no_event_idx ? 0 : 1ull << VF_EVENT_IDX) |
                       (sg->opts.packed ? 1ull << VF_RING_PACKED : 0);
#ifdef SG_HAVE_CTLS
    if (sg->opts.controls) {
        s->want_features |= 1ull << VIRTIO_SND_F_CTLS;
        sg->opts.config_size = sizeof(struct vsnd_snd_config);
    }
#endif
    if (!ff_realize(sg->ff, error) || !sg_create_queues(sg, error))
        return false;
    sg_fill_events(sg);
    if (!ff_start(sg->ff, sg->mem, sg->vq, NULL, error))
        return false;
    sg->features = ff_acked_features(sg->ff);
    if (!sg->opts.skip_probe && !sg_probe(sg, error))
        return false;
    fg_vq_enable_cb(sg->vq[VIRTIO_SND_VQ_EVENT]);
    return true;
}

bool sg_reset(SgGuest *sg, GError **error)
{
    uint32_t bases[4];
    if (!ff_stop(sg->ff, bases, error))
        return false;
    for (unsigned int i = 0; i < 4; i++)
        fg_vq_reset(sg->vq[i]);
    for (unsigned int i = 0; i < SG_CTL_SLOTS; i++)
        sg->ctl[i].busy = false;
    for (unsigned int i = 0; i < sg->msgs->len; i++)
        ((SgIoMsg *)g_ptr_array_index(sg->msgs, i))->pending = false;
    memset(sg->pcm_features, 0, sizeof(sg->pcm_features));
    return true;
}

void sg_setup_rings(SgGuest *sg, uint64_t acked)
{
    sg->features = acked;
    sg->packed = acked & (1ull << VF_RING_PACKED);
    sg->indirect = acked & (1ull << VF_INDIRECT);
    sg->event_idx = acked & (1ull << VF_EVENT_IDX);
    FgVqOpts vo = {
        .size = sg->opts.queue_size, .packed = sg->packed, .event_idx = sg->event_idx,
        .indirect = sg->indirect,
    };
    for (unsigned int i = 0; i < 4; i++)
        if (!sg->vq[i])
            sg->vq[i] = fg_vq_new(sg->mem, &vo);
    sg_fill_events(sg);
}

void sg_reset_rings(SgGuest *sg)
{
    for (unsigned int i = 0; i < 4; i++)
        fg_vq_reset(sg->vq[i]);
    for (unsigned int i = 0; i < SG_CTL_SLOTS; i++)
        sg->ctl[i].busy = false;
    for (unsigned int i = 0; i < sg->msgs->len; i++)
        ((SgIoMsg *)g_ptr_array_index(sg->msgs, i))->pending = false;
    memset(sg->pcm_features, 0, sizeof(sg->pcm_features));
    sg_fill_events(sg);
}

bool sg_probe_info(SgGuest *sg, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
                   GError **error)
{
    void **slot;
    uint32_t *n;
    switch (code) {
    case VIRTIO_SND_R_JACK_INFO: slot = (void **)&sg->jack; n = &sg->jacks; break;
    case VIRTIO_SND_R_PCM_INFO: slot = (void **)&sg->pcm; n = &sg->streams; break;
    case VIRTIO_SND_R_CHMAP_INFO: slot = (void **)&sg->chmap; n = &sg->chmaps; break;
    default:
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "probe query 0x%x", code);
        return false;
    }
    if (start != 0 || (uint64_t)count * size > SG_CTL_RESP_MAX) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "probe query 0x%x %u %u %u", code,
                    start, count, size);
        return false;
    }
    g_free(*slot);
    *slot = g_malloc0((size_t)MAX(count, 1) * size);
    *n = count;
    uint32_t status;
    if (!sg_query_info(sg, code, start, count, size, *slot, &status, error))
        return false;
    if (status != VIRTIO_SND_S_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "query 0x%x for %u items answered status 0x%x", code, count, status);
        return false;
    }
    return true;
}

bool sg_restart(SgGuest *sg, GError **error)
{
    sg_fill_events(sg);
    if (!ff_start(sg->ff, sg->mem, sg->vq, NULL, error))
        return false;
    fg_vq_enable_cb(sg->vq[VIRTIO_SND_VQ_EVENT]);
    return true;
}

/* ---------------- control queue ---------------- */

static void sg_kick(SgGuest *sg, unsigned int q)
{
    fg_vq_kick_prepare_notify(sg->vq[q]);
}

SgCtl *sg_ctl_submit(SgGuest *sg, const void *req, size_t req_len, const void *extra,
                     size_t extra_len, uint32_t resp_len, GError **error)
{
    SgCtl *c = NULL;
    for (unsigned int i = 0; i < SG_CTL_SLOTS && !c; i++)
        if (!sg->ctl[i].busy)
            c = &sg->ctl[i];
    if (!c || req_len + extra_len > SG_CTL_REQ_MAX || resp_len > SG_CTL_RESP_MAX) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "no control slot");
        return NULL;
    }
    fg_write(sg->mem, c->req_gpa, req, req_len);
    if (extra_len)
        fg_write(sg->mem, c->req_gpa + req_len, extra, extra_len);
    memset(fg_ptr(sg->mem, c->resp_gpa, 4 + resp_len), 0, 4 + resp_len);
    /* Linux pre-sets the status to IO_ERR. */
    uint32_t io_err = htole32(VIRTIO_SND_S_IO_ERR);
    fg_write(sg->mem, c->resp_gpa, &io_err, 4);
    FgSeg segs[4];
    unsigned int n = 0;
    segs[n++] = (FgSeg){ c->req_gpa, (uint32_t)req_len, false };
    if (extra_len)
        segs[n++] = (FgSeg){ c->req_gpa + req_len, (uint32_t)extra_len, false };
    segs[n++] = (FgSeg){ c->resp_gpa, 4, true };
    if (resp_len)
        segs[n++] = (FgSeg){ c->resp_gpa + 4, resp_len, true };
    FgAddOpts ao = { .indirect = sg->indirect && (n > 1 || sg->opts.max_seg),
                     .max_seg = sg->opts.max_seg };
    int r = fg_vq_add(sg->vq[VIRTIO_SND_VQ_CONTROL], segs, n, &ao, c);
    if (r < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "control queue full (%d)", r);
        return NULL;
    }
    c->busy = true;
    c->resp_len = resp_len;
    c->completed_us = 0;
    c->used_len = 0;
    c->submitted_us = g_get_monotonic_time();
    sg_kick(sg, VIRTIO_SND_VQ_CONTROL);
    return c;
}

bool sg_ctl_wait(SgGuest *sg, SgCtl *c, int timeout_ms, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!c->completed_us) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        FgUsed u;
        if (!fg_vq_wait_used(sg->vq[VIRTIO_SND_VQ_CONTROL], &u, (int)MAX(left, 0))) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "control message timeout after %d ms", timeout_ms);
            return false;
        }
        SgCtl *done = u.token;
        if (!done) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "device completed control buffer id %u that was not in flight", u.id);
            return false;
        }
        done->completed_us = g_get_monotonic_time();
        done->used_len = u.len;
    }
    return true;
}

uint32_t sg_ctl_status(SgGuest *sg, const SgCtl *c)
{
    uint32_t v;
    fg_read(sg->mem, c->resp_gpa, &v, 4);
    return le32toh(v);
}

const void *sg_ctl_payload(SgGuest *sg, const SgCtl *c)
{
    return fg_ptr(sg->mem, c->resp_gpa + 4, c->resp_len ? c->resp_len : 1);
}

void sg_ctl_release(SgCtl *c)
{
    c->busy = false;
}

bool sg_ctl(SgGuest *sg, const void *req, size_t req_len, void *resp, uint32_t resp_len,
            uint32_t *status, GError **error)
{
    SgCtl *c = sg_ctl_submit(sg, req, req_len, NULL, 0, resp_len, error);
    if (!c || !sg_ctl_wait(sg, c, sg->opts.ctl_timeout_ms, error))
        return false;
    if (status)
        *status = sg_ctl_status(sg, c);
    if (resp && resp_len)
        memcpy(resp, sg_ctl_payload(sg, c), resp_len);
    sg_ctl_release(c);
    return true;
}

bool sg_query_info(SgGuest *sg, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
                   void *out, uint32_t *status, GError **error)
{
    struct virtio_snd_query_info q = {
        .hdr.code = htole32(code), .start_id = htole32(start), .count = htole32(count),
        .size = htole32(size),
    };
    return sg_ctl(sg, &q, sizeof(q), out, count * size, status, error);
}

bool sg_pcm_set_params(SgGuest *sg, uint32_t sid, uint32_t buffer_bytes, uint32_t period_bytes,
                       uint8_t channels, uint8_t format, uint8_t rate, uint32_t features,
                       uint32_t *status, GError **error)
{
    struct virtio_snd_pcm_set_params p = {
        .hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS), .hdr.stream_id = htole32(sid),
        .buffer_bytes = htole32(buffer_bytes), .period_bytes = htole32(period_bytes),
        .features = htole32(features), .channels = channels, .format = format, .rate = rate,
    };
    uint32_t st = 0;
    if (!sg_ctl(sg, &p, sizeof(p), NULL, 0, &st, error))
        return false;
    if (status)
        *status = st;
    if (st == VIRTIO_SND_S_OK && sid < SG_MAX_STREAMS)
        sg->pcm_features[sid] = features;
    return true;
}

uint32_t sg_linux_pcm_features(const SgGuest *sg, uint32_t sid)
{
    if (sid >= sg->streams || !sg->pcm)
        return 0;
    return le32toh(sg->pcm[sid].features) &
           ((1u << VIRTIO_SND_PCM_F_MSG_POLLING) | (1u << VIRTIO_SND_PCM_F_EVT_XRUNS));
}

bool sg_pcm_cmd(SgGuest *sg, uint32_t code, uint32_t sid, uint32_t *status, GError **error)
{
    struct virtio_snd_pcm_hdr h = { .hdr.code = htole32(code), .stream_id = htole32(sid) };
    return sg_ctl(sg, &h, sizeof(h), NULL, 0, status, error);
}

/* ---------------- PCM I/O ---------------- */

SgIoMsg *sg_io_msg_new(SgGuest *sg, uint32_t sid, bool capture, uint32_t period_bytes)
{
    g_assert(period_bytes > 0);
    SgIoMsg *m = g_new0(SgIoMsg, 1);
    m->stream_id = sid;
    m->capture = capture;
    m->period_bytes = period_bytes;
    m->xfer_gpa = fg_alloc(sg->mem, sizeof(struct virtio_snd_pcm_xfer), 4);
    m->status_gpa = fg_alloc(sg->mem, sizeof(struct virtio_snd_pcm_status), 4);
    m->npages = (period_bytes + FG_PAGE_SIZE - 1) / FG_PAGE_SIZE;
    m->page_gpa = g_new0(uint64_t, m->npages);
    /* vmalloc: every page on its own, round-robin over the regions */
    for (unsigned int i = 0; i < m->npages; i++)
        m->page_gpa[i] = fg_alloc(sg->mem, FG_PAGE_SIZE, FG_PAGE_SIZE);
    g_ptr_array_add(sg->msgs, m);
    return m;
}

static int sg_io_submit(SgGuest *sg, SgIoMsg *m, bool no_kick)
{
    g_assert(!m->pending);
    struct virtio_snd_pcm_xfer x = { .stream_id = htole32(m->stream_id) };
    fg_write(sg->mem, m->xfer_gpa, &x, sizeof(x));
    memset(fg_ptr(sg->mem, m->status_gpa, 8), 0, 8);
    g_autofree FgSeg *segs = g_new0(FgSeg, m->npages + 2);
    unsigned int n = 0;
    segs[n++] = (FgSeg){ m->xfer_gpa, sizeof(x), false };
    uint32_t left = m->period_bytes;
    for (unsigned int i = 0; i < m->npages; i++) {
        uint32_t len = MIN(left, FG_PAGE_SIZE);
        segs[n++] = (FgSeg){ m->page_gpa[i], len, m->capture };
        left -= len;
    }
    segs[n++] = (FgSeg){ m->status_gpa, sizeof(struct virtio_snd_pcm_status), true };
    unsigned int q = m->capture ? VIRTIO_SND_VQ_RX : VIRTIO_SND_VQ_TX;
    FgAddOpts ao = { .indirect = sg->indirect, .max_seg = sg->opts.max_seg };
    int r = fg_vq_add(sg->vq[q], segs, n, &ao, m);
    if (r < 0)
        return r;
    m->pending = true;
    m->seq = sg->io_seq++;
    m->completed_us = 0;
    m->used_len = 0;
    m->submitted_us = g_get_monotonic_time();
    bool polled = m->stream_id < SG_MAX_STREAMS &&
                  (sg->pcm_features[m->stream_id] & (1u << VIRTIO_SND_PCM_F_MSG_POLLING));
    if (!no_kick && !polled)
        sg_kick(sg, q);
    return 0;
}

int sg_tx_submit(SgGuest *sg, SgIoMsg *m, const void *data, bool no_kick)
{
    g_assert(!m->capture);
    const uint8_t *d = data;
    uint32_t left = m->period_bytes;
    for (unsigned int i = 0; i < m->npages; i++) {
        uint32_t len = MIN(left, FG_PAGE_SIZE);
        fg_write(sg->mem, m->page_gpa[i], d + (size_t)i * FG_PAGE_SIZE, len);
        left -= len;
    }
    return sg_io_submit(sg, m, no_kick);
}

int sg_rx_submit(SgGuest *sg, SgIoMsg *m, bool no_kick)
{
    g_assert(m->capture);
    for (unsigned int i = 0; i < m->npages; i++)
        memset(fg_ptr(sg->mem, m->page_gpa[i], FG_PAGE_SIZE), 0xee, FG_PAGE_SIZE);
    return sg_io_submit(sg, m, no_kick);
}

SgIoMsg *sg_io_wait(SgGuest *sg, bool capture, int timeout_ms)
{
    FgUsed u;
    if (!fg_vq_wait_used(sg->vq[capture ? VIRTIO_SND_VQ_RX : VIRTIO_SND_VQ_TX], &u, timeout_ms))
        return NULL;
    SgIoMsg *m = u.token;
    if (!m)
        g_error("device completed %s buffer id %u that was not in flight",
                capture ? "rx" : "tx", u.id);
    m->pending = false;
    m->completed_us = g_get_monotonic_time();
    m->used_len = u.len;
    struct virtio_snd_pcm_status st;
    fg_read(sg->mem, m->status_gpa, &st, sizeof(st));
    m->status = le32toh(st.status);
    m->latency_bytes = le32toh(st.latency_bytes);
    return m;
}

void sg_io_read(SgGuest *sg, const SgIoMsg *m, void *buf)
{
    uint8_t *d = buf;
    uint32_t left = m->period_bytes;
    for (unsigned int i = 0; i < m->npages; i++) {
        uint32_t len = MIN(left, FG_PAGE_SIZE);
        fg_read(sg->mem, m->page_gpa[i], d + (size_t)i * FG_PAGE_SIZE, len);
        left -= len;
    }
}

/* ---------------- events ---------------- */

bool sg_event_get(SgGuest *sg, struct virtio_snd_event *ev, int timeout_ms)
{
    FgVq *evq = sg->vq[VIRTIO_SND_VQ_EVENT];
    FgUsed u;
    if (!fg_vq_wait_used(evq, &u, timeout_ms))
        return false;
    guint idx = GPOINTER_TO_UINT(u.token);
    if (!idx)
        g_error("device completed event buffer id %u that was not in flight", u.id);
    idx--;
    FgSeg s = { sg->event_gpa + sizeof(*ev) * idx, sizeof(*ev), true };
    fg_read(sg->mem, s.gpa, ev, sizeof(*ev));
    ev->hdr.code = le32toh(ev->hdr.code);
    ev->data = le32toh(ev->data);
    sg->events_seen++;
    memset(fg_ptr(sg->mem, s.gpa, s.len), 0, s.len);
    int r = fg_vq_add(evq, &s, 1, NULL, u.token);
    g_assert_cmpint(r, >=, 0);
    fg_vq_kick_prepare_notify(evq);
    return true;
}

unsigned int sg_event_free(SgGuest *sg)
{
    return fg_vq_inflight(sg->vq[VIRTIO_SND_VQ_EVENT]);
}

SgGuest *sg_connect(VdProc *vd, const SgOpts *o, GError **error)
{
    FfConn *ff = vd_connect(vd, error);
    if (!ff)
        return NULL;
    SgGuest *sg = sg_new(ff, o);
    sg->owns_ff = true;
    return sg;
}

bool sg_check_serves(VdProc *vd, GError **error)
{
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, error);
    if (!sg || !sg_boot(sg, error))
        return false;
    g_autofree struct virtio_snd_pcm_info *info = g_new0(struct virtio_snd_pcm_info, sg->streams);
    uint32_t status;
    if (!sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, sg->streams, sizeof(*info), info, &status,
                       error))
        return false;
    if (status != VIRTIO_SND_S_OK || memcmp(info, sg->pcm, sizeof(*info) * sg->streams)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "PCM_INFO after boot: status 0x%x or different answer", status);
        return false;
    }
    return sg_reset(sg, error);
}
