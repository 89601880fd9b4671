/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-replay.c - replay of recorded QEMU sequences (see
 * frontend-replay.h).
 */
#include "config.h"

#include "frontend-replay.h"
#include "qemu-sequence.h"

#include <gio/gio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct FrReplay {
    SgGuest *sg;
    uint64_t features, protocol, acked;
    int masked_call[4];
    int err_fd[4];
    uint32_t saved[4];
    bool have_saved[4];
    unsigned int next_region;
    bool probed;        /* the guest used its control queue */
    GBytes *state;      /* saved by / to be loaded by SET_DEVICE_STATE_FD */
    bool skip_check;    /* CHECK_DEVICE_STATE already sent by ff_*_state() */
};

FrReplay *fr_new(SgGuest *sg)
{
    FrReplay *r = g_new0(FrReplay, 1);
    r->sg = sg;
    for (unsigned int i = 0; i < 4; i++) {
        r->masked_call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->err_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    return r;
}

void fr_free(FrReplay *r)
{
    if (!r)
        return;
    for (unsigned int i = 0; i < 4; i++) {
        close(r->masked_call[i]);
        close(r->err_fd[i]);
    }
    if (r->state)
        g_bytes_unref(r->state);
    g_free(r);
}

unsigned int fr_count(const char *text, const char *request)
{
    g_autoptr(GPtrArray) lines = qs_lines(text, false);
    unsigned int n = 0;
    size_t len = strlen(request);
    for (unsigned int i = 0; i < lines->len; i++) {
        const char *l = g_ptr_array_index(lines, i);
        if (!strncmp(l, request, len) && (l[len] == 0 || l[len] == ' '))
            n++;
    }
    return n;
}

static uint32_t fr_ctl_code(const char *name)
{
    if (!strcmp(name, "JACK_INFO"))
        return VIRTIO_SND_R_JACK_INFO;
    if (!strcmp(name, "PCM_INFO"))
        return VIRTIO_SND_R_PCM_INFO;
    if (!strcmp(name, "CHMAP_INFO"))
        return VIRTIO_SND_R_CHMAP_INFO;
    return 0;
}

static bool fr_ring(FrReplay *r, char **w, unsigned int n, unsigned int *ring, GError **error)
{
    if (n < 2) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "missing ring index");
        return false;
    }
    *ring = (unsigned int)strtoul(w[1], NULL, 0);
    if (*ring >= 4) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ring %u", *ring);
        return false;
    }
    (void)r;
    return true;
}

static bool fr_need_rings(FrReplay *r, GError **error)
{
    if (r->sg->vq[0])
        return true;
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ring set-up before SET_FEATURES");
    return false;
}

static bool fr_line(FrReplay *r, const char *line, GError **error)
{
    SgGuest *sg = r->sg;
    FfConn *ff = sg->ff;
    g_auto(GStrv) w = g_strsplit(line, " ", -1);
    unsigned int n = g_strv_length(w);
    const char *req = w[0];
    unsigned int ring = 0;
    uint64_t v = n > 1 ? g_ascii_strtoull(w[1], NULL, 0) : 0;

    if (!strcmp(req, "GET_FEATURES")) {
        if (!ff_get_u64(ff, FF_GET_FEATURES, &r->features, error))
            return false;
        ff_set_negotiated(ff, r->features, r->protocol, r->acked);
        return true;
    }
    if (!strcmp(req, "GET_PROTOCOL_FEATURES") || !strcmp(req, "GET_QUEUE_NUM") ||
        !strcmp(req, "GET_MAX_MEM_SLOTS")) {
        uint32_t code = !strcmp(req, "GET_PROTOCOL_FEATURES") ? FF_GET_PROTOCOL_FEATURES
                        : !strcmp(req, "GET_QUEUE_NUM")       ? FF_GET_QUEUE_NUM
                                                              : FF_GET_MAX_MEM_SLOTS;
        uint64_t dummy;
        return ff_get_u64(ff, code, &dummy, error);
    }
    if (!strcmp(req, "SET_PROTOCOL_FEATURES")) {
        /* REPLY_ACK is not in effect for this message itself */
        if (!ff_set_u64(ff, FF_SET_PROTOCOL_FEATURES, v, error))
            return false;
        r->protocol = v;
        ff_set_negotiated(ff, r->features, r->protocol, r->acked);
        return true;
    }
    if (!strcmp(req, "SET_OWNER"))
        return ff_command(ff, FF_SET_OWNER, NULL, 0, NULL, 0, error);
    if (!strcmp(req, "SET_FEATURES")) {
        r->acked = v;
        ff_set_negotiated(ff, r->features, r->protocol, r->acked);
        if (!sg->vq[0])
            sg_setup_rings(sg, v);
        return ff_command(ff, FF_SET_FEATURES, &v, 8, NULL, 0, error);
    }
    if (!strcmp(req, "GET_STATUS")) {
        uint8_t st;
        return ff_get_status(ff, &st, error);
    }
    if (!strcmp(req, "SET_STATUS"))
        return ff_set_u64(ff, FF_SET_STATUS, v, error);
    if (!strcmp(req, "ADD_MEM_REG")) {
        if (r->next_region >= sg->mem->nregions) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "the guest has only %u memory regions", sg->mem->nregions);
            return false;
        }
        return ff_add_mem_reg(ff, sg->mem, r->next_region++, error);
    }
    if (!strcmp(req, "SET_MEM_TABLE"))
        return ff_set_mem_table(ff, sg->mem, error);
    if (!strcmp(req, "GET_CONFIG")) {
        uint8_t cfg[256];
        uint32_t off = (uint32_t)v, size = n > 2 ? (uint32_t)strtoul(w[2], NULL, 0) : 0;
        if (size > sizeof(cfg)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "config size %u", size);
            return false;
        }
        return ff_get_config(ff, off, size, cfg, error);
    }
    if (!strcmp(req, "SET_VRING_CALL") || !strcmp(req, "SET_VRING_ERR") ||
        !strcmp(req, "SET_VRING_KICK")) {
        if (!fr_ring(r, w, n, &ring, error))
            return false;
        bool nofd = n > 2 && !strcmp(w[2], "nofd");
        uint32_t code = req[10] == 'C' ? FF_SET_VRING_CALL
                        : req[10] == 'E' ? FF_SET_VRING_ERR
                                        : FF_SET_VRING_KICK;
        int fd;
        if (code == FF_SET_VRING_ERR)
            fd = r->err_fd[ring];
        else if (code == FF_SET_VRING_CALL)
            fd = sg->vq[ring] ? fg_vq_call_fd(sg->vq[ring]) : r->masked_call[ring];
        else if (!fr_need_rings(r, error))
            return false;
        else
            fd = fg_vq_kick_fd(sg->vq[ring]);
        if (nofd) {
            uint64_t p = ring | FF_VRING_NOFD;
            return ff_command(ff, code, &p, 8, NULL, 0, error);
        }
        return ff_vring_fd(ff, code, ring, fd, error);
    }
    if (!strcmp(req, "SET_VRING_NUM") || !strcmp(req, "SET_VRING_ENABLE")) {
        if (!fr_ring(r, w, n, &ring, error) || n < 3)
            return false;
        uint32_t num = (uint32_t)strtoul(w[2], NULL, 0);
        if (req[10] == 'N' && sg->vq[ring] && num != fg_vq_size(sg->vq[ring])) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "ring %u has %u entries, the sequence says %u", ring,
                        fg_vq_size(sg->vq[ring]), num);
            return false;
        }
        return ff_vring_state(ff, req[10] == 'N' ? FF_SET_VRING_NUM : FF_SET_VRING_ENABLE, ring,
                              num, error);
    }
    if (!strcmp(req, "SET_VRING_BASE")) {
        if (!fr_ring(r, w, n, &ring, error) || n < 3 || !fr_need_rings(r, error))
            return false;
        uint32_t base;
        if (!strcmp(w[2], "saved")) {
            if (!r->have_saved[ring]) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "no GET_VRING_BASE of ring %u before", ring);
                return false;
            }
            base = r->saved[ring];
        } else if (!strcmp(w[2], "other")) {
            /* a migration destination: what the source answered, as QEMU
             * carries it over (fr_adopt_bases()); else the driver's view */
            base = r->have_saved[ring] ? r->saved[ring] : fg_vq_base(sg->vq[ring]);
        } else {
            base = (uint32_t)strtoul(w[2], NULL, 0);
            /* a fresh control queue after the guest used it: guest reset */
            if (ring == 0 && r->probed) {
                sg_reset_rings(sg);
                r->probed = false;
            }
        }
        return ff_vring_state(ff, FF_SET_VRING_BASE, ring, base, error);
    }
    if (!strcmp(req, "SET_VRING_ADDR")) {
        if (!fr_ring(r, w, n, &ring, error) || !fr_need_rings(r, error))
            return false;
        bool log = n > 2 && !strcmp(w[2], "log");
        return ff_set_vring_addr(ff, ring, sg->mem, sg->vq[ring], log, error);
    }
    if (!strcmp(req, "GET_VRING_BASE")) {
        if (!fr_ring(r, w, n, &ring, error))
            return false;
        if (!ff_get_vring_base(ff, ring, &r->saved[ring], error))
            return false;
        r->have_saved[ring] = true;
        return true;
    }
    if (!strcmp(req, "CTL")) {
        uint32_t code = n > 1 ? fr_ctl_code(w[1]) : 0;
        if (!code)
            return true; /* PCM_* of a captured aplay: the test plays itself */
        if (n < 5) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "short CTL line");
            return false;
        }
        r->probed = true;
        return sg_probe_info(sg, code, (uint32_t)strtoul(w[2], NULL, 0),
                             (uint32_t)strtoul(w[3], NULL, 0), (uint32_t)strtoul(w[4], NULL, 0),
                             error);
    }
    if (!strcmp(req, "KICKED")) {
        for (unsigned int i = 1; i < n; i++) {
            unsigned int q = (unsigned int)strtoul(w[i], NULL, 0);
            if (q < 4 && sg->vq[q])
                fg_vq_kick(sg->vq[q]);
        }
        return true;
    }
    if (!strcmp(req, "SET_LOG_BASE"))
        return ff_set_log_base(ff, sg->mem, error);
    if (!strcmp(req, "SET_DEVICE_STATE_FD")) {
        if (n > 1 && !strcmp(w[1], "save")) {
            GBytes *b = ff_save_state(ff, error);
            if (!b)
                return false;
            if (r->state)
                g_bytes_unref(r->state);
            r->state = b;
        } else {
            if (!r->state) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "no device state to load (fr_set_state())");
                return false;
            }
            if (!ff_load_state(ff, r->state, error))
                return false;
        }
        r->skip_check = true;
        return true;
    }
    if (!strcmp(req, "CHECK_DEVICE_STATE")) {
        if (r->skip_check) {
            r->skip_check = false;
            return true;
        }
        uint64_t ok;
        return ff_get_u64(ff, FF_CHECK_DEVICE_STATE, &ok, error);
    }
    if (!strcmp(req, "GET_INFLIGHT_FD")) {
        if (n < 3) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "short GET_INFLIGHT_FD line");
            return false;
        }
        return ff_get_inflight(ff, (uint16_t)v, (uint16_t)strtoul(w[2], NULL, 0), error);
    }
    if (!strcmp(req, "SET_INFLIGHT_FD")) {
        /* the region this front-end got, or the one adopted from the
         * previous connection (ff_adopt_inflight()): a restarted back-end */
        if (!ff_inflight_map(ff, NULL)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "no inflight region to hand back");
            return false;
        }
        return ff_set_inflight(ff, error);
    }
    if (!strcmp(req, "DISCONNECT")) {
        shutdown(ff_fd(ff), SHUT_RDWR);
        return true;
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "cannot replay this request");
    return false;
}

bool fr_run(FrReplay *r, const char *text, GError **error)
{
    g_autoptr(GPtrArray) lines = qs_lines(text, false);
    for (unsigned int i = 0; i < lines->len; i++) {
        const char *l = g_ptr_array_index(lines, i);
        g_autoptr(GError) e = NULL;
        if (!fr_line(r, l, &e)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "replay line %u `%s`: %s", i + 1, l,
                        e ? e->message : "failed");
            return false;
        }
    }
    /* like Linux after its probe: the event callback is on */
    if (r->sg->vq[VIRTIO_SND_VQ_EVENT])
        fg_vq_enable_cb(r->sg->vq[VIRTIO_SND_VQ_EVENT]);
    return true;
}

GBytes *fr_state(FrReplay *r)
{
    return r->state;
}

void fr_set_state(FrReplay *r, GBytes *state)
{
    if (r->state)
        g_bytes_unref(r->state);
    r->state = state ? g_bytes_ref(state) : NULL;
}

void fr_adopt_bases(FrReplay *to, const FrReplay *from)
{
    memcpy(to->saved, from->saved, sizeof(to->saved));
    memcpy(to->have_saved, from->have_saved, sizeof(to->have_saved));
}

bool fr_run_file(FrReplay *r, const char *name, GError **error)
{
    g_autofree char *text = qs_load(name, error);
    return text && fr_run(r, text, error);
}
