/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-ctl.h - control requests (spec: Device Operation, Item Information
 * Request, Jack/PCM/Channel Map Control Messages, Control Elements).
 *
 * Pure request logic: request bytes in (already copied out of guest memory),
 * status + response bytes out.  No queue access; side effects only through
 * the modules in SndCtlCtx (a PCM RELEASE completes I/O messages through
 * the stream manager's host before vsnd_ctl_handle() returns).
 */
#ifndef VSND_SND_CTL_H
#define VSND_SND_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snd/snd-info.h"
#include "snd/snd-kctl.h"
#include "snd/snd-pcm.h"

/* Largest `size` of one information entry accepted. */
#define SND_CTL_MAX_INFO_SIZE 4096u
/* Request bytes looked at: a control header plus the largest TLV. */
#define SND_CTL_MAX_REQUEST (sizeof(struct vsnd_ctl_hdr) + sizeof(struct vsnd_ctl_tlv) + \
                             VSND_CTL_TLV_MAX_BYTES)
/* Response bytes produced at most (status + payload). */
#define SND_CTL_MAX_RESPONSE (sizeof(struct virtio_snd_hdr) + 128u * 1024u)

typedef struct SndCtlCtx {
    SndPcm *pcm;
    SndInfo *info;
    SndKctl *kctl; /* NULL when control elements are not offered */
    bool ctls;     /* VIRTIO_SND_F_CTLS negotiated */
} SndCtlCtx;

/*
 * vsnd_ctl_handle() - run one control request.
 * @req/@req_len: the device-readable bytes.
 * @resp/@resp_len: room for the device-writable bytes (zeroed by the caller
 * or not: only the returned length is meaningful).
 * Return: bytes written to @resp (the used length): 0 if @resp_len cannot
 * even hold the status, else 4 + payload.  The status is resp[0..3].
 * Context: main thread.
 */
size_t vsnd_ctl_handle(const SndCtlCtx *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                      size_t resp_len);
/* Name of a request code, for logs ("PCM_SET_PARAMS"), or NULL. */
const char *vsnd_ctl_code_name(uint32_t code);

#endif /* VSND_SND_CTL_H */
