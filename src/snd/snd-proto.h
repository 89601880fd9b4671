/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-proto.h - virtio-snd wire definitions missing from Debian 12's
 * <linux/virtio_snd.h>.
 *
 * The system header (Linux 6.1 uapi) knows jacks, PCM streams and channel
 * maps.  It lacks what VIRTIO 1.3 added (control elements: feature bit
 * VIRTIO_SND_F_CTLS, the `controls` config field, the CTL_* requests, the
 * CTL_NOTIFY event) and what VIRTIO 1.4 added (the 12000 Hz and 24000 Hz
 * rate codes).  This file is the only place in the project that defines
 * them (spec "Sound Device": Feature Bits, Device Configuration Layout,
 * Control Elements).
 *
 * Names: request/event codes and enumeration values are macros carrying the
 * spec's names; they are defined after the system header, so a newer header
 * declaring the same names as enumerators does not clash.  Structures use a
 * vsnd_ prefix for the same reason.  Every structure has its wire size
 * asserted.  All fields are little-endian.
 *
 * struct vsnd_ctl_info: the spec says "without additional padding" (92
 * bytes), but the Linux header puts a 64-bit union after name[44], so LP64
 * guests send size == 96 with `value` at offset 72 (i386 guests: 92 / 68).
 * The structure below is the LP64 layout; snd-kctl.c lays out each entry
 * according to the request's `size` (VSND_CTL_INFO_VALUE_OFFSET()).
 */
#ifndef VSND_SND_PROTO_H
#define VSND_SND_PROTO_H

#include <stddef.h>
#include <linux/virtio_snd.h>
#include <linux/types.h>

#include "audio/pcm-format.h"

/* Feature bits (spec: Feature Bits). */
#define VIRTIO_SND_F_CTLS 0

/* Frame rates added by VIRTIO 1.4. */
#define VIRTIO_SND_PCM_RATE_12000 14
#define VIRTIO_SND_PCM_RATE_24000 15
/* PCM features: SHMEM_HOST (0) .. EVT_XRUNS (4). */
#define VSND_PCM_F_COUNT 5

/* Control element request codes (spec: Device Operation). */
#define VIRTIO_SND_R_CTL_INFO 0x0300
#define VIRTIO_SND_R_CTL_ENUM_ITEMS 0x0301
#define VIRTIO_SND_R_CTL_READ 0x0302
#define VIRTIO_SND_R_CTL_WRITE 0x0303
#define VIRTIO_SND_R_CTL_TLV_READ 0x0304
#define VIRTIO_SND_R_CTL_TLV_WRITE 0x0305
#define VIRTIO_SND_R_CTL_TLV_COMMAND 0x0306
/* Control element event code. */
#define VIRTIO_SND_EVT_CTL_NOTIFY 0x1200

/* Control element roles, types, access bits, event masks. */
#define VIRTIO_SND_CTL_ROLE_UNDEFINED 0
#define VIRTIO_SND_CTL_ROLE_VOLUME 1
#define VIRTIO_SND_CTL_ROLE_MUTE 2
#define VIRTIO_SND_CTL_ROLE_GAIN 3
/* role field on the wire: (ROLE << 1) | direction, or UNDEFINED */
#define VSND_CTL_ROLE(role, dir) (((uint32_t)(role) << 1) | ((uint32_t)(dir) & 1u))

#define VIRTIO_SND_CTL_TYPE_BOOLEAN 0
#define VIRTIO_SND_CTL_TYPE_INTEGER 1
#define VIRTIO_SND_CTL_TYPE_INTEGER64 2
#define VIRTIO_SND_CTL_TYPE_ENUMERATED 3
#define VIRTIO_SND_CTL_TYPE_BYTES 4
#define VIRTIO_SND_CTL_TYPE_IEC958 5

#define VIRTIO_SND_CTL_ACCESS_READ 0
#define VIRTIO_SND_CTL_ACCESS_WRITE 1
#define VIRTIO_SND_CTL_ACCESS_VOLATILE 2
#define VIRTIO_SND_CTL_ACCESS_INACTIVE 3
#define VIRTIO_SND_CTL_ACCESS_TLV_READ 4
#define VIRTIO_SND_CTL_ACCESS_TLV_WRITE 5
#define VIRTIO_SND_CTL_ACCESS_TLV_COMMAND 6

#define VIRTIO_SND_CTL_EVT_MASK_VALUE 0
#define VIRTIO_SND_CTL_EVT_MASK_INFO 1
#define VIRTIO_SND_CTL_EVT_MASK_TLV 2

/* Maximum `count` per element type (spec: Control Element Information). */
#define VSND_CTL_MAX_COUNT_INTEGER 128
#define VSND_CTL_MAX_COUNT_INTEGER64 64
#define VSND_CTL_MAX_COUNT_BYTES 512
/* TLV values the driver may submit (spec: Control Element Metadata). */
#define VSND_CTL_TLV_MAX_BYTES 65536u

/* ALSA's TLV type for a dB scale: value[0] = min (0.01 dB), value[1] =
 * step (0.01 dB) | 0x10000 when the minimum means mute. */
#define VSND_TLV_DB_SCALE 1u
#define VSND_TLV_DB_SCALE_MUTE 0x10000u

/* The configuration space with `controls` (16 bytes; 12 without CTLS). */
struct vsnd_snd_config {
    __le32 jacks;
    __le32 streams;
    __le32 chmaps;
    __le32 controls;
};
#define VSND_CONFIG_SIZE_NO_CTLS offsetof(struct vsnd_snd_config, controls)

struct vsnd_ctl_hdr {
    struct virtio_snd_hdr hdr;
    __le32 control_id;
};

struct vsnd_ctl_info {
    struct virtio_snd_info hdr;
    __le32 role;
    __le32 type;
    __le32 access; /* 1 << VIRTIO_SND_CTL_ACCESS_* */
    __le32 count;
    __le32 index;
    __u8 name[44];
    union {
        struct {
            __le32 min;
            __le32 max;
            __le32 step;
        } integer;
        struct {
            __le64 min;
            __le64 max;
            __le64 step;
        } integer64;
        struct {
            __le32 items;
        } enumerated;
    } value;
};
/* Offset of `value` in one CTL_INFO entry laid out with the driver's size:
 * 72 for the LP64 layout (size >= 96), 68 for the packed one (i386). */
#define VSND_CTL_INFO_SIZE_LP64 96u
#define VSND_CTL_INFO_SIZE_PACKED 92u
#define VSND_CTL_INFO_VALUE_OFFSET(size) ((size) >= VSND_CTL_INFO_SIZE_LP64 ? 72u : 68u)

struct vsnd_ctl_enum_item {
    __u8 item[64];
};

struct vsnd_ctl_iec958 {
    __u8 status[24];
    __u8 subcode[147];
    __u8 pad;
    __u8 dig_subframe[4];
};

struct vsnd_ctl_value {
    union {
        __le32 integer[128];
        __le64 integer64[64];
        __le32 enumerated[128];
        __u8 bytes[512];
        struct vsnd_ctl_iec958 iec958;
    } value;
};

struct vsnd_ctl_tlv {
    __le32 type;
    __le32 length; /* bytes of value[], a multiple of 4 */
    /* __le32 value[]; */
};

struct vsnd_ctl_event {
    struct virtio_snd_hdr hdr; /* VIRTIO_SND_EVT_CTL_NOTIFY */
    __le16 control_id;
    __le16 mask; /* 1 << VIRTIO_SND_CTL_EVT_MASK_* */
};

/* Wire sizes (spec; cross-checked against the Linux 6.15 header). */
_Static_assert(VSND_PCM_RATE_COUNT == 16 && VSND_PCM_FMT_COUNT == 25, "code counts");
_Static_assert(sizeof(struct vsnd_snd_config) == 16, "config size");
_Static_assert(VSND_CONFIG_SIZE_NO_CTLS == 12, "config size without controls");
_Static_assert(sizeof(struct vsnd_ctl_hdr) == 8, "ctl_hdr size");
_Static_assert(sizeof(struct vsnd_ctl_info) == VSND_CTL_INFO_SIZE_LP64, "ctl_info size (LP64)");
_Static_assert(offsetof(struct vsnd_ctl_info, name) == 24, "ctl_info name offset");
_Static_assert(offsetof(struct vsnd_ctl_info, value) == 72, "ctl_info value offset (LP64)");
_Static_assert(sizeof(struct vsnd_ctl_enum_item) == 64, "ctl_enum_item size");
_Static_assert(sizeof(struct vsnd_ctl_iec958) == 176, "ctl_iec958 size");
_Static_assert(sizeof(struct vsnd_ctl_value) == 512, "ctl_value size");
_Static_assert(sizeof(struct vsnd_ctl_tlv) == 8, "ctl_tlv header size");
_Static_assert(sizeof(struct vsnd_ctl_event) == 8, "ctl_event size");

/* The system header's structures we rely on. */
_Static_assert(sizeof(struct virtio_snd_hdr) == 4, "hdr size");
_Static_assert(sizeof(struct virtio_snd_event) == 8, "event size");
_Static_assert(sizeof(struct virtio_snd_query_info) == 16, "query_info size");
_Static_assert(sizeof(struct virtio_snd_info) == 4, "info size");
_Static_assert(sizeof(struct virtio_snd_jack_hdr) == 8, "jack_hdr size");
_Static_assert(sizeof(struct virtio_snd_jack_info) == 24, "jack_info size");
_Static_assert(sizeof(struct virtio_snd_jack_remap) == 16, "jack_remap size");
_Static_assert(sizeof(struct virtio_snd_pcm_hdr) == 8, "pcm_hdr size");
_Static_assert(sizeof(struct virtio_snd_pcm_info) == 32, "pcm_info size");
_Static_assert(offsetof(struct virtio_snd_pcm_info, formats) == 8, "pcm_info formats offset");
_Static_assert(sizeof(struct virtio_snd_pcm_set_params) == 24, "pcm_set_params size");
_Static_assert(sizeof(struct virtio_snd_pcm_xfer) == 4, "pcm_xfer size");
_Static_assert(sizeof(struct virtio_snd_pcm_status) == 8, "pcm_status size");
_Static_assert(sizeof(struct virtio_snd_chmap_info) == 24, "chmap_info size");

/*
 * The audio layer's format, rate and channel-position codes are handed to
 * the guest and taken from it without translation: each must equal its
 * virtio-snd counterpart.
 */
#define VSND_SAME_FMT(n) \
    _Static_assert((int)VSND_PCM_FMT_##n == (int)VIRTIO_SND_PCM_FMT_##n, "format " #n);
#define VSND_SAME_RATE(n) \
    _Static_assert((int)VSND_PCM_RATE_##n == (int)VIRTIO_SND_PCM_RATE_##n, "rate " #n);
#define VSND_SAME_POS(n) \
    _Static_assert((int)VSND_CHMAP_##n == (int)VIRTIO_SND_CHMAP_##n, "position " #n);
VSND_SAME_FMT(IMA_ADPCM) VSND_SAME_FMT(MU_LAW) VSND_SAME_FMT(A_LAW) VSND_SAME_FMT(S8)
VSND_SAME_FMT(U8) VSND_SAME_FMT(S16) VSND_SAME_FMT(U16) VSND_SAME_FMT(S18_3)
VSND_SAME_FMT(U18_3) VSND_SAME_FMT(S20_3) VSND_SAME_FMT(U20_3) VSND_SAME_FMT(S24_3)
VSND_SAME_FMT(U24_3) VSND_SAME_FMT(S20) VSND_SAME_FMT(U20) VSND_SAME_FMT(S24)
VSND_SAME_FMT(U24) VSND_SAME_FMT(S32) VSND_SAME_FMT(U32) VSND_SAME_FMT(FLOAT)
VSND_SAME_FMT(FLOAT64) VSND_SAME_FMT(DSD_U8) VSND_SAME_FMT(DSD_U16) VSND_SAME_FMT(DSD_U32)
VSND_SAME_FMT(IEC958_SUBFRAME)
_Static_assert((int)VSND_PCM_FMT_COUNT == (int)VIRTIO_SND_PCM_FMT_IEC958_SUBFRAME + 1, "format count");
VSND_SAME_RATE(5512) VSND_SAME_RATE(8000) VSND_SAME_RATE(11025) VSND_SAME_RATE(16000)
VSND_SAME_RATE(22050) VSND_SAME_RATE(32000) VSND_SAME_RATE(44100) VSND_SAME_RATE(48000)
VSND_SAME_RATE(64000) VSND_SAME_RATE(88200) VSND_SAME_RATE(96000) VSND_SAME_RATE(176400)
VSND_SAME_RATE(192000) VSND_SAME_RATE(384000) VSND_SAME_RATE(12000) VSND_SAME_RATE(24000)
_Static_assert((int)VSND_PCM_RATE_COUNT == (int)VIRTIO_SND_PCM_RATE_24000 + 1, "rate count");
VSND_SAME_POS(NONE) VSND_SAME_POS(NA) VSND_SAME_POS(MONO) VSND_SAME_POS(FL) VSND_SAME_POS(FR)
VSND_SAME_POS(RL) VSND_SAME_POS(RR) VSND_SAME_POS(FC) VSND_SAME_POS(LFE) VSND_SAME_POS(SL)
VSND_SAME_POS(SR) VSND_SAME_POS(RC) VSND_SAME_POS(FLC) VSND_SAME_POS(FRC) VSND_SAME_POS(RLC)
VSND_SAME_POS(RRC) VSND_SAME_POS(FLW) VSND_SAME_POS(FRW) VSND_SAME_POS(FLH) VSND_SAME_POS(FCH)
VSND_SAME_POS(FRH) VSND_SAME_POS(TC) VSND_SAME_POS(TFL) VSND_SAME_POS(TFR) VSND_SAME_POS(TFC)
VSND_SAME_POS(TRL) VSND_SAME_POS(TRR) VSND_SAME_POS(TRC) VSND_SAME_POS(TFLC) VSND_SAME_POS(TFRC)
VSND_SAME_POS(TSL) VSND_SAME_POS(TSR) VSND_SAME_POS(LLFE) VSND_SAME_POS(RLFE) VSND_SAME_POS(BC)
VSND_SAME_POS(BLC) VSND_SAME_POS(BRC)
_Static_assert((int)VSND_CHMAP_POS_COUNT == (int)VIRTIO_SND_CHMAP_BRC + 1, "position count");
#undef VSND_SAME_FMT
#undef VSND_SAME_RATE
#undef VSND_SAME_POS

/* Queue indices (spec: Virtqueues). */
#define VSND_VQ_CONTROL VIRTIO_SND_VQ_CONTROL
#define VSND_VQ_EVENT VIRTIO_SND_VQ_EVENT
#define VSND_VQ_TX VIRTIO_SND_VQ_TX
#define VSND_VQ_RX VIRTIO_SND_VQ_RX
#define VSND_VQ_COUNT VIRTIO_SND_VQ_MAX

#endif /* VSND_SND_PROTO_H */
