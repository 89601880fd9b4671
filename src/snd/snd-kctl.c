/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-kctl.c - control elements (see snd-kctl.h).
 *
 * Requests are validated against each element's access bits (spec "Control
 * Element Value"/"Metadata": the driver MUST NOT send what the access does
 * not allow; we answer NOT_SUPP), its count and its value range (BAD_MSG).
 * CTL_INFO entries are written field by field at the offsets of the
 * driver's structure size: `value` at 72 for LP64 guests (size 96), at 68
 * for the packed/i386 layout (size 92).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-format.h"
#include "snd/snd-kctl.h"
#include "guest-log.h"

typedef enum {
    KCTL_VOLUME,
    KCTL_SWITCH,
    KCTL_ENUM,
} KctlKind;

typedef struct KctlElem {
    KctlKind kind;
    uint32_t stream;
    uint32_t role;
    uint32_t type;
    uint32_t access;
    uint32_t count;
    uint32_t index;
    char name[44];
    int64_t min, max, step;
    GPtrArray *items; /* ENUMERATED: item names */
    int64_t init;
    int64_t value[VSND_CTL_MAX_COUNT_INTEGER];
} KctlElem;

struct SndKctl {
    SndPcm *pcm;
    SndKctlNotify notify;
    void *opaque;
    GArray *elems; /* KctlElem */
};

static KctlElem *elem(const SndKctl *kctl, uint32_t id)
{
    g_assert(id < kctl->elems->len);
    return &g_array_index(kctl->elems, KctlElem, id);
}

static void apply_stream(SndKctl *kctl, uint32_t stream)
{
    int64_t vol = SND_VOLUME_STEPS, on = 1;

    for (guint i = 0; i < kctl->elems->len; i++) {
        KctlElem *e = elem(kctl, i);

        if (e->kind == KCTL_VOLUME && e->stream == stream) {
            vol = e->value[0];
        } else if (e->kind == KCTL_SWITCH && e->stream == stream) {
            on = e->value[0];
        }
    }
    vsnd_pcm_set_gain(kctl->pcm, stream, vsnd_volume_to_gain((uint32_t)vol), !on);
}

SndKctl *vsnd_kctl_new(SndPcm *pcm, SndKctlNotify notify, void *opaque)
{
    SndKctl *kctl = g_new0(SndKctl, 1);

    kctl->pcm = pcm;
    kctl->notify = notify;
    kctl->opaque = opaque;
    kctl->elems = g_array_new(FALSE, TRUE, sizeof(KctlElem));
    for (uint32_t s = 0; s < vsnd_pcm_count(pcm) && kctl->elems->len + 2 <= SND_KCTL_MAX_ELEMS;
         s++) {
        VsndDirection dir = vsnd_pcm_direction(pcm, s);
        const char *prefix = dir == VSND_DIR_OUTPUT ? "PCM Playback" : "Capture";
        uint32_t vdir = dir == VSND_DIR_OUTPUT ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
        KctlElem vol = {
            .kind = KCTL_VOLUME,
            .stream = s,
            .role = VSND_CTL_ROLE(VIRTIO_SND_CTL_ROLE_VOLUME, vdir),
            .type = VIRTIO_SND_CTL_TYPE_INTEGER,
            .access = (1u << VIRTIO_SND_CTL_ACCESS_READ) | (1u << VIRTIO_SND_CTL_ACCESS_WRITE) |
                      (1u << VIRTIO_SND_CTL_ACCESS_TLV_READ),
            .count = 1,
            .index = vsnd_pcm_nid(pcm, s),
            .min = 0,
            .max = SND_VOLUME_STEPS,
            .step = 1,
            .init = SND_VOLUME_STEPS,
        };
        KctlElem sw = {
            .kind = KCTL_SWITCH,
            .stream = s,
            .role = VSND_CTL_ROLE(VIRTIO_SND_CTL_ROLE_MUTE, vdir),
            .type = VIRTIO_SND_CTL_TYPE_BOOLEAN,
            .access = (1u << VIRTIO_SND_CTL_ACCESS_READ) | (1u << VIRTIO_SND_CTL_ACCESS_WRITE),
            .count = 1,
            .index = vsnd_pcm_nid(pcm, s),
            .min = 0,
            .max = 1,
            .step = 1,
            .init = 1,
        };

        g_snprintf(vol.name, sizeof(vol.name), "%s Volume", prefix);
        g_snprintf(sw.name, sizeof(sw.name), "%s Switch", prefix);
        vol.value[0] = vol.init;
        sw.value[0] = sw.init;
        g_array_append_val(kctl->elems, vol);
        g_array_append_val(kctl->elems, sw);
    }
    return kctl;
}

void vsnd_kctl_free(SndKctl *kctl)
{
    if (!kctl) {
        return;
    }
    for (guint i = 0; i < kctl->elems->len; i++) {
        KctlElem *e = elem(kctl, i);

        if (e->items) {
            g_ptr_array_unref(e->items);
        }
    }
    g_array_unref(kctl->elems);
    g_free(kctl);
}

int vsnd_kctl_add_enum(SndKctl *kctl, const char *name, const char *const *items,
                      uint32_t nitems)
{
    KctlElem e = {
        .kind = KCTL_ENUM,
        .role = VIRTIO_SND_CTL_ROLE_UNDEFINED,
        .type = VIRTIO_SND_CTL_TYPE_ENUMERATED,
        .access = (1u << VIRTIO_SND_CTL_ACCESS_READ) | (1u << VIRTIO_SND_CTL_ACCESS_WRITE),
        .count = 1,
        .min = 0,
        .step = 1,
    };

    if (kctl->elems->len >= SND_KCTL_MAX_ELEMS || nitems == 0 || !name || !*name ||
        strlen(name) >= sizeof(e.name)) {
        return -EINVAL;
    }
    g_strlcpy(e.name, name, sizeof(e.name));
    e.max = nitems - 1;
    e.items = g_ptr_array_new_with_free_func(g_free);
    for (uint32_t i = 0; i < nitems; i++) {
        g_ptr_array_add(e.items, g_strndup(items[i], 63));
    }
    g_array_append_val(kctl->elems, e);
    return (int)kctl->elems->len - 1;
}

void vsnd_kctl_reset(SndKctl *kctl)
{
    for (guint i = 0; i < kctl->elems->len; i++) {
        KctlElem *e = elem(kctl, i);

        for (uint32_t c = 0; c < e->count; c++) {
            e->value[c] = e->init;
        }
    }
}

uint32_t vsnd_kctl_count(const SndKctl *kctl)
{
    return kctl->elems->len;
}

static void put32(uint8_t *entry, size_t size, size_t off, uint32_t v)
{
    uint32_t le = GUINT32_TO_LE(v);

    if (off < size) {
        memcpy(entry + off, &le, MIN(sizeof(le), size - off));
    }
}

void vsnd_kctl_info(const SndKctl *kctl, uint32_t id, uint8_t *entry, size_t size)
{
    const KctlElem *e = elem(kctl, id);
    size_t voff = VSND_CTL_INFO_VALUE_OFFSET(size);

    memset(entry, 0, size);
    put32(entry, size, offsetof(struct vsnd_ctl_info, hdr), 0);
    put32(entry, size, offsetof(struct vsnd_ctl_info, role), e->role);
    put32(entry, size, offsetof(struct vsnd_ctl_info, type), e->type);
    put32(entry, size, offsetof(struct vsnd_ctl_info, access), e->access);
    put32(entry, size, offsetof(struct vsnd_ctl_info, count), e->count);
    put32(entry, size, offsetof(struct vsnd_ctl_info, index), e->index);
    if (size > offsetof(struct vsnd_ctl_info, name)) {
        size_t room = MIN(size - offsetof(struct vsnd_ctl_info, name), sizeof(e->name) - 1);

        /* NUL-terminated: the name is shorter than the field. */
        memcpy(entry + offsetof(struct vsnd_ctl_info, name), e->name,
               MIN(strlen(e->name), room));
    }
    switch (e->type) {
    case VIRTIO_SND_CTL_TYPE_BOOLEAN:
    case VIRTIO_SND_CTL_TYPE_INTEGER:
        put32(entry, size, voff, (uint32_t)e->min);
        put32(entry, size, voff + 4, (uint32_t)e->max);
        put32(entry, size, voff + 8, (uint32_t)e->step);
        break;
    case VIRTIO_SND_CTL_TYPE_ENUMERATED:
        put32(entry, size, voff, e->items->len);
        break;
    default:
        break;
    }
}

uint32_t vsnd_kctl_enum_items(const SndKctl *kctl, uint32_t id, uint8_t *out, size_t cap,
                             size_t *ret_len)
{
    const KctlElem *e = elem(kctl, id);
    size_t need;

    if (e->type != VIRTIO_SND_CTL_TYPE_ENUMERATED) {
        vsnd_guest_error("CTL_ENUM_ITEMS: control %u is not enumerated", id);
        return VIRTIO_SND_S_BAD_MSG;
    }
    need = (size_t)e->items->len * sizeof(struct vsnd_ctl_enum_item);
    if (cap < need) {
        vsnd_guest_error("CTL_ENUM_ITEMS: control %u: response room %zu < %zu", id, cap, need);
        return VIRTIO_SND_S_BAD_MSG;
    }
    memset(out, 0, need);
    for (guint i = 0; i < e->items->len; i++) {
        g_strlcpy((char *)out + i * sizeof(struct vsnd_ctl_enum_item),
                  g_ptr_array_index(e->items, i), sizeof(struct vsnd_ctl_enum_item));
    }
    *ret_len = need;
    return VIRTIO_SND_S_OK;
}

static bool has_access(const KctlElem *e, unsigned int bit)
{
    return e->access & (1u << bit);
}

/* Bytes of a value with @e->count members. */
static size_t value_bytes(const KctlElem *e)
{
    return (size_t)e->count * 4; /* BOOLEAN, INTEGER, ENUMERATED only */
}

uint32_t vsnd_kctl_read(const SndKctl *kctl, uint32_t id, uint8_t *out, size_t cap,
                       size_t *ret_len)
{
    const KctlElem *e = elem(kctl, id);
    struct vsnd_ctl_value v;
    size_t need = value_bytes(e);

    if (!has_access(e, VIRTIO_SND_CTL_ACCESS_READ)) {
        vsnd_guest_error("CTL_READ: control %u is not readable", id);
        return VIRTIO_SND_S_NOT_SUPP;
    }
    if (cap < need) {
        vsnd_guest_error("CTL_READ: control %u: response room %zu < %zu", id, cap, need);
        return VIRTIO_SND_S_BAD_MSG;
    }
    memset(&v, 0, sizeof(v));
    for (uint32_t c = 0; c < e->count; c++) {
        v.value.integer[c] = GUINT32_TO_LE((uint32_t)e->value[c]);
    }
    *ret_len = MIN(cap, sizeof(v));
    memcpy(out, &v, *ret_len);
    return VIRTIO_SND_S_OK;
}

/* Whether @v lies in @e's range and on its step. */
static bool value_ok(const KctlElem *e, int64_t v)
{
    return v >= e->min && v <= e->max && !(e->step > 1 && (v - e->min) % e->step);
}

uint32_t vsnd_kctl_values(const SndKctl *kctl, uint32_t id, int64_t *out, uint32_t max)
{
    const KctlElem *e = elem(kctl, id);
    uint32_t n = MIN(e->count, max);

    memcpy(out, e->value, n * sizeof(out[0]));
    return e->count;
}

bool vsnd_kctl_values_valid(const SndKctl *kctl, uint32_t id, const int64_t *values, uint32_t n)
{
    const KctlElem *e;

    if (id >= kctl->elems->len) {
        return false;
    }
    e = elem(kctl, id);
    if (n != e->count) {
        return false;
    }
    for (uint32_t c = 0; c < n; c++) {
        if (!value_ok(e, values[c])) {
            return false;
        }
    }
    return true;
}

void vsnd_kctl_restore_values(SndKctl *kctl, uint32_t id, const int64_t *values, uint32_t n)
{
    KctlElem *e = elem(kctl, id);

    for (uint32_t c = 0; c < n && c < e->count; c++) {
        e->value[c] = values[c];
    }
    if (e->kind == KCTL_VOLUME || e->kind == KCTL_SWITCH) {
        apply_stream(kctl, e->stream);
    }
}

uint32_t vsnd_kctl_write(SndKctl *kctl, uint32_t id, const uint8_t *value, size_t len)
{
    KctlElem *e = elem(kctl, id);
    int64_t nv[VSND_CTL_MAX_COUNT_INTEGER];
    bool changed = false;

    if (!has_access(e, VIRTIO_SND_CTL_ACCESS_WRITE)) {
        vsnd_guest_error("CTL_WRITE: control %u is not writable", id);
        return VIRTIO_SND_S_NOT_SUPP;
    }
    if (len < value_bytes(e)) {
        vsnd_guest_error("CTL_WRITE: control %u: value of %zu bytes, need %zu", id, len,
                        value_bytes(e));
        return VIRTIO_SND_S_BAD_MSG;
    }
    for (uint32_t c = 0; c < e->count; c++) {
        uint32_t le;

        memcpy(&le, value + c * 4, 4);
        nv[c] = (int32_t)GUINT32_FROM_LE(le);
        if (!value_ok(e, nv[c])) {
            vsnd_guest_error("CTL_WRITE: control %u: value %" G_GINT64_FORMAT
                            " outside %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, id, nv[c],
                            e->min, e->max);
            return VIRTIO_SND_S_BAD_MSG;
        }
    }
    for (uint32_t c = 0; c < e->count; c++) {
        changed |= e->value[c] != nv[c];
        e->value[c] = nv[c];
    }
    if (e->kind == KCTL_VOLUME || e->kind == KCTL_SWITCH) {
        apply_stream(kctl, e->stream);
    }
    if (changed && kctl->notify) {
        kctl->notify(kctl->opaque, id, 1u << VIRTIO_SND_CTL_EVT_MASK_VALUE);
    }
    return VIRTIO_SND_S_OK;
}

uint32_t vsnd_kctl_tlv_read(const SndKctl *kctl, uint32_t id, uint8_t *out, size_t cap,
                           size_t *ret_len)
{
    const KctlElem *e = elem(kctl, id);
    uint32_t tlv[4];

    if (!has_access(e, VIRTIO_SND_CTL_ACCESS_TLV_READ)) {
        vsnd_guest_error("CTL_TLV_READ: control %u has no readable metadata", id);
        return VIRTIO_SND_S_NOT_SUPP;
    }
    /* ALSA dB scale: min -63.50 dB, 0.50 dB steps, the minimum mutes. */
    tlv[0] = GUINT32_TO_LE(VSND_TLV_DB_SCALE);
    tlv[1] = GUINT32_TO_LE(8);
    tlv[2] = GUINT32_TO_LE((uint32_t)SND_VOLUME_DB_MIN_CENTI);
    tlv[3] = GUINT32_TO_LE((uint32_t)SND_VOLUME_DB_STEP_CENTI | VSND_TLV_DB_SCALE_MUTE);
    /* Spec: not enough room -> write what fits and succeed. */
    *ret_len = MIN(cap, sizeof(tlv));
    memcpy(out, tlv, *ret_len);
    return VIRTIO_SND_S_OK;
}

uint32_t vsnd_kctl_tlv_write(SndKctl *kctl, uint32_t id, uint32_t code, const uint8_t *tlv,
                            size_t len)
{
    const KctlElem *e = elem(kctl, id);
    unsigned int bit = code == VIRTIO_SND_R_CTL_TLV_COMMAND ? VIRTIO_SND_CTL_ACCESS_TLV_COMMAND
                                                             : VIRTIO_SND_CTL_ACCESS_TLV_WRITE;

    if (!has_access(e, bit)) {
        vsnd_guest_error("CTL_TLV_%s: control %u does not accept it",
                        code == VIRTIO_SND_R_CTL_TLV_COMMAND ? "COMMAND" : "WRITE", id);
        return VIRTIO_SND_S_NOT_SUPP;
    }
    return VIRTIO_SND_S_NOT_SUPP; /* no element has writable metadata */
}
