/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-ctl.c - control request dispatcher (see snd-ctl.h).
 *
 * One table names every request with the smallest request it accepts and
 * whether it needs VIRTIO_SND_F_CTLS.  Statuses (spec: "Device
 * Operation"): a request that is too short, names an item out of range, or
 * asks for a reply larger than the response buffer is BAD_MSG; an unknown
 * request, control requests without VIRTIO_SND_F_CTLS, or parameters the
 * device does not offer are NOT_SUPP; a host failure is IO_ERR.
 *
 * Item information (spec: "Item Information Request"): start_id + count is
 * checked in 64 bits against the item count; each entry is laid out with
 * the driver's `size`: smaller than the structure (which has not changed
 * since VIRTIO 1.2) is BAD_MSG, larger (a newer driver) is zero-padded;
 * CTL_INFO accepts the packed 92-byte layout (i386 guests) as well as the
 * LP64 one and puts `value` at offset 68 or 72 (snd-proto.h).  The
 * response must hold 4 + count * size bytes.
 */
#include "config.h"

#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-ctl.h"
#include "guest-log.h"

typedef uint32_t (*CtlHandler)(const SndCtlCtx *ctx, uint32_t code, const uint8_t *req,
                               size_t req_len, uint8_t *out, size_t cap, size_t *ret_len);

typedef struct CtlRequest {
    uint32_t code;
    const char *name;
    size_t min_len;
    bool ctls;
    CtlHandler handler;
} CtlRequest;

static uint32_t le32_at(const uint8_t *p, size_t off)
{
    uint32_t v;

    memcpy(&v, p + off, sizeof(v));
    return GUINT32_FROM_LE(v);
}

/* ---- item information ------------------------------------------------------- */

typedef void (*InfoFill)(const SndCtlCtx *ctx, uint32_t id, uint8_t *entry, size_t size);

static void fill_jack(const SndCtlCtx *ctx, uint32_t id, uint8_t *entry, size_t size)
{
    struct virtio_snd_jack_info info;

    vsnd_info_jack(ctx->info, id, &info);
    memset(entry, 0, size);
    memcpy(entry, &info, MIN(size, sizeof(info)));
}

static void fill_pcm(const SndCtlCtx *ctx, uint32_t id, uint8_t *entry, size_t size)
{
    struct virtio_snd_pcm_info info;

    vsnd_pcm_info(ctx->pcm, id, &info);
    memset(entry, 0, size);
    memcpy(entry, &info, MIN(size, sizeof(info)));
}

static void fill_chmap(const SndCtlCtx *ctx, uint32_t id, uint8_t *entry, size_t size)
{
    struct virtio_snd_chmap_info info;

    vsnd_info_chmap(ctx->info, id, &info);
    memset(entry, 0, size);
    memcpy(entry, &info, MIN(size, sizeof(info)));
}

static void fill_ctl(const SndCtlCtx *ctx, uint32_t id, uint8_t *entry, size_t size)
{
    vsnd_kctl_info(ctx->kctl, id, entry, size);
}

static uint32_t query_info(const SndCtlCtx *ctx, uint32_t code, const uint8_t *req,
                           size_t req_len, uint8_t *out, size_t cap, size_t *ret_len)
{
    const char *what;
    uint32_t items, min_size;
    InfoFill fill;
    uint32_t start = le32_at(req, offsetof(struct virtio_snd_query_info, start_id));
    uint32_t count = le32_at(req, offsetof(struct virtio_snd_query_info, count));
    uint32_t size = le32_at(req, offsetof(struct virtio_snd_query_info, size));

    switch (code) {
    case VIRTIO_SND_R_JACK_INFO:
        what = "JACK_INFO";
        items = vsnd_info_jacks(ctx->info);
        min_size = sizeof(struct virtio_snd_jack_info);
        fill = fill_jack;
        break;
    case VIRTIO_SND_R_PCM_INFO:
        what = "PCM_INFO";
        items = vsnd_pcm_count(ctx->pcm);
        min_size = sizeof(struct virtio_snd_pcm_info);
        fill = fill_pcm;
        break;
    case VIRTIO_SND_R_CHMAP_INFO:
        what = "CHMAP_INFO";
        items = vsnd_info_chmaps(ctx->info);
        min_size = sizeof(struct virtio_snd_chmap_info);
        fill = fill_chmap;
        break;
    default:
        what = "CTL_INFO";
        items = ctx->kctl ? vsnd_kctl_count(ctx->kctl) : 0;
        min_size = VSND_CTL_INFO_SIZE_PACKED;
        fill = fill_ctl;
        break;
    }
    if ((uint64_t)start + count > items) {
        vsnd_guest_error("%s: items %u + %u beyond %u", what, start, count, items);
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (size < min_size || size > SND_CTL_MAX_INFO_SIZE) {
        vsnd_guest_error("%s: entry size %u out of range", what, size);
        return VIRTIO_SND_S_BAD_MSG;
    }
    if ((uint64_t)count * size > cap) {
        vsnd_guest_error("%s: %u entries of %u bytes do not fit the response (%zu)", what, count,
                        size, cap);
        return VIRTIO_SND_S_BAD_MSG;
    }
    for (uint32_t i = 0; i < count; i++) {
        fill(ctx, start + i, out + (size_t)i * size, size);
    }
    *ret_len = (size_t)count * size;
    return VIRTIO_SND_S_OK;
}

/* ---- jacks ------------------------------------------------------------------- */

static uint32_t jack_remap(const SndCtlCtx *ctx, uint32_t code, const uint8_t *req,
                           size_t req_len, uint8_t *out, size_t cap, size_t *ret_len)
{
    uint32_t jack = le32_at(req, offsetof(struct virtio_snd_jack_remap, hdr.jack_id));
    uint32_t assoc = le32_at(req, offsetof(struct virtio_snd_jack_remap, association));
    uint32_t seq = le32_at(req, offsetof(struct virtio_snd_jack_remap, sequence));
    uint32_t status;

    if (jack >= vsnd_info_jacks(ctx->info)) {
        vsnd_guest_error("JACK_REMAP: jack id %u out of range (%u jacks)", jack,
                        vsnd_info_jacks(ctx->info));
        return VIRTIO_SND_S_BAD_MSG;
    }
    status = vsnd_info_jack_remap(ctx->info, jack, assoc, seq);
    if (status != VIRTIO_SND_S_OK) {
        vsnd_guest_error("JACK_REMAP: jack %u: association %u / sequence %u out of range", jack,
                        assoc, seq);
    }
    return status;
}

/* ---- PCM -------------------------------------------------------------------- */

static uint32_t pcm_set_params(const SndCtlCtx *ctx, uint32_t code, const uint8_t *req,
                               size_t req_len, uint8_t *out, size_t cap, size_t *ret_len)
{
    struct virtio_snd_pcm_set_params p;

    memcpy(&p, req, sizeof(p));
    return vsnd_pcm_set_params(ctx->pcm, &p);
}

static uint32_t pcm_command(const SndCtlCtx *ctx, uint32_t code, const uint8_t *req,
                            size_t req_len, uint8_t *out, size_t cap, size_t *ret_len)
{
    uint32_t id = le32_at(req, offsetof(struct virtio_snd_pcm_hdr, stream_id));
    SndPcmCmd cmd;

    switch (code) {
    case VIRTIO_SND_R_PCM_PREPARE:
        cmd = SND_PCM_CMD_PREPARE;
        break;
    case VIRTIO_SND_R_PCM_RELEASE:
        cmd = SND_PCM_CMD_RELEASE;
        break;
    case VIRTIO_SND_R_PCM_START:
        cmd = SND_PCM_CMD_START;
        break;
    default:
        cmd = SND_PCM_CMD_STOP;
        break;
    }
    return vsnd_pcm_command(ctx->pcm, id, cmd);
}

/* ---- control elements -------------------------------------------------------- */

static bool ctl_id_ok(const SndCtlCtx *ctx, const char *what, uint32_t id)
{
    uint32_t n = vsnd_kctl_count(ctx->kctl);

    if (id >= n) {
        vsnd_guest_error("%s: control id %u out of range (%u controls)", what, id, n);
        return false;
    }
    return true;
}

static uint32_t ctl_element(const SndCtlCtx *ctx, uint32_t code, const uint8_t *req,
                            size_t req_len, uint8_t *out, size_t cap, size_t *ret_len)
{
    uint32_t id = le32_at(req, offsetof(struct vsnd_ctl_hdr, control_id));
    const uint8_t *payload = req + sizeof(struct vsnd_ctl_hdr);
    size_t payload_len = req_len - sizeof(struct vsnd_ctl_hdr);

    if (!ctl_id_ok(ctx, vsnd_ctl_code_name(code), id)) {
        return VIRTIO_SND_S_BAD_MSG;
    }
    switch (code) {
    case VIRTIO_SND_R_CTL_ENUM_ITEMS:
        return vsnd_kctl_enum_items(ctx->kctl, id, out, cap, ret_len);
    case VIRTIO_SND_R_CTL_READ:
        return vsnd_kctl_read(ctx->kctl, id, out, cap, ret_len);
    case VIRTIO_SND_R_CTL_WRITE:
        return vsnd_kctl_write(ctx->kctl, id, payload, payload_len);
    case VIRTIO_SND_R_CTL_TLV_READ:
        return vsnd_kctl_tlv_read(ctx->kctl, id, out, cap, ret_len);
    default:
        return vsnd_kctl_tlv_write(ctx->kctl, id, code, payload, payload_len);
    }
}

static const CtlRequest requests[] = {
    { VIRTIO_SND_R_JACK_INFO, "JACK_INFO", sizeof(struct virtio_snd_query_info), false,
      query_info },
    { VIRTIO_SND_R_JACK_REMAP, "JACK_REMAP", sizeof(struct virtio_snd_jack_remap), false,
      jack_remap },
    { VIRTIO_SND_R_PCM_INFO, "PCM_INFO", sizeof(struct virtio_snd_query_info), false,
      query_info },
    { VIRTIO_SND_R_PCM_SET_PARAMS, "PCM_SET_PARAMS", sizeof(struct virtio_snd_pcm_set_params),
      false, pcm_set_params },
    { VIRTIO_SND_R_PCM_PREPARE, "PCM_PREPARE", sizeof(struct virtio_snd_pcm_hdr), false,
      pcm_command },
    { VIRTIO_SND_R_PCM_RELEASE, "PCM_RELEASE", sizeof(struct virtio_snd_pcm_hdr), false,
      pcm_command },
    { VIRTIO_SND_R_PCM_START, "PCM_START", sizeof(struct virtio_snd_pcm_hdr), false,
      pcm_command },
    { VIRTIO_SND_R_PCM_STOP, "PCM_STOP", sizeof(struct virtio_snd_pcm_hdr), false,
      pcm_command },
    { VIRTIO_SND_R_CHMAP_INFO, "CHMAP_INFO", sizeof(struct virtio_snd_query_info), false,
      query_info },
    { VIRTIO_SND_R_CTL_INFO, "CTL_INFO", sizeof(struct virtio_snd_query_info), true,
      query_info },
    { VIRTIO_SND_R_CTL_ENUM_ITEMS, "CTL_ENUM_ITEMS", sizeof(struct vsnd_ctl_hdr), true,
      ctl_element },
    { VIRTIO_SND_R_CTL_READ, "CTL_READ", sizeof(struct vsnd_ctl_hdr), true, ctl_element },
    { VIRTIO_SND_R_CTL_WRITE, "CTL_WRITE", sizeof(struct vsnd_ctl_hdr), true, ctl_element },
    { VIRTIO_SND_R_CTL_TLV_READ, "CTL_TLV_READ", sizeof(struct vsnd_ctl_hdr), true,
      ctl_element },
    { VIRTIO_SND_R_CTL_TLV_WRITE, "CTL_TLV_WRITE",
      sizeof(struct vsnd_ctl_hdr) + sizeof(struct vsnd_ctl_tlv), true, ctl_element },
    { VIRTIO_SND_R_CTL_TLV_COMMAND, "CTL_TLV_COMMAND",
      sizeof(struct vsnd_ctl_hdr) + sizeof(struct vsnd_ctl_tlv), true, ctl_element },
};

static const CtlRequest *lookup(uint32_t code)
{
    for (size_t i = 0; i < G_N_ELEMENTS(requests); i++) {
        if (requests[i].code == code) {
            return &requests[i];
        }
    }
    return NULL;
}

const char *vsnd_ctl_code_name(uint32_t code)
{
    const CtlRequest *r = lookup(code);

    return r ? r->name : NULL;
}

size_t vsnd_ctl_handle(const SndCtlCtx *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                      size_t resp_len)
{
    const size_t hdr = sizeof(struct virtio_snd_hdr);
    const CtlRequest *r = NULL;
    uint32_t status, code = 0;
    size_t payload = 0;

    if (resp_len < hdr) {
        vsnd_guest_error("control request without room for a status (%zu bytes)", resp_len);
        return 0;
    }
    if (req_len < hdr) {
        vsnd_guest_error("control request of %zu bytes", req_len);
        status = VIRTIO_SND_S_BAD_MSG;
        goto out;
    }
    code = le32_at(req, 0);
    r = lookup(code);
    if (!r) {
        vsnd_guest_error("unknown control request 0x%08x", code);
        status = VIRTIO_SND_S_NOT_SUPP;
    } else if (r->ctls && (!ctx->ctls || !ctx->kctl)) {
        vsnd_guest_error("%s without VIRTIO_SND_F_CTLS", r->name);
        status = VIRTIO_SND_S_NOT_SUPP;
    } else if (req_len < r->min_len) {
        vsnd_guest_error("%s: request of %zu bytes, need %zu", r->name, req_len, r->min_len);
        status = VIRTIO_SND_S_BAD_MSG;
    } else {
        status = r->handler(ctx, code, req, req_len, resp + hdr,
                            MIN(resp_len, SND_CTL_MAX_RESPONSE) - hdr, &payload);
        if (status != VIRTIO_SND_S_OK) {
            payload = 0;
        }
    }
out:
    {
        uint32_t le = GUINT32_TO_LE(status);

        memcpy(resp, &le, sizeof(le));
    }
    g_debug("control %s (0x%04x) -> 0x%04x, %zu bytes", r ? r->name : "?", code, status,
            hdr + payload);
    return hdr + payload;
}
