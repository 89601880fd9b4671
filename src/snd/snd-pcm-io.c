/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-io.c - parsing and completing PCM I/O messages (spec: PCM I/O
 * Messages, Output Stream, Input Stream).
 *
 * The xfer header is copied out of guest memory before it is looked at;
 * stream_id is validated by the stream manager, never used as an index
 * here.  The used length of a completed message follows the Linux driver's
 * reading of it (virtsnd_pcm_msg_complete() in Linux sound/virtio/
 * virtio_pcm_msg.c): 8 for tx, the whole writable
 * area (frames + status) for rx.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "audio/pcm-format.h"
#include "snd/snd-proto.h"
#include "snd/snd-pcm-io.h"

static size_t iov_total(const struct iovec *iov, unsigned int cnt)
{
    size_t total = 0;

    for (unsigned int i = 0; i < cnt; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

unsigned int vsnd_iov_slice(const struct iovec *iov, unsigned int cnt, size_t offset, size_t len,
                           struct iovec *out, unsigned int out_max)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < cnt && len > 0 && n < out_max; i++) {
        size_t l = iov[i].iov_len;

        if (offset >= l) {
            offset -= l;
            continue;
        }
        l -= offset;
        if (l > len) {
            l = len;
        }
        out[n].iov_base = (uint8_t *)iov[i].iov_base + offset;
        out[n].iov_len = l;
        n++;
        len -= l;
        offset = 0;
    }
    return n;
}

static size_t iov_copy_out(const struct iovec *iov, unsigned int cnt, size_t offset, void *buf,
                           size_t len)
{
    struct iovec one[8];
    size_t copied = 0;

    /* Copy piecewise: a header of a few bytes spans at most len pieces. */
    while (copied < len) {
        unsigned int n = vsnd_iov_slice(iov, cnt, offset + copied, len - copied, one,
                                       G_N_ELEMENTS(one));
        if (n == 0) {
            break;
        }
        for (unsigned int i = 0; i < n; i++) {
            memcpy((uint8_t *)buf + copied, one[i].iov_base, one[i].iov_len);
            copied += one[i].iov_len;
        }
    }
    return copied;
}

static unsigned int slice_alloc(const struct iovec *iov, unsigned int cnt, size_t offset,
                                size_t len, struct iovec **ret)
{
    struct iovec *out = g_new0(struct iovec, cnt ? cnt : 1);
    unsigned int n = vsnd_iov_slice(iov, cnt, offset, len, out, cnt);

    *ret = out;
    return n;
}

SndIoMsg *vsnd_io_msg_new(bool tx, const struct iovec *out, unsigned int out_num,
                         const struct iovec *in, unsigned int in_num, const char **ret_error)
{
    SndIoMsg *msg = g_new0(SndIoMsg, 1);
    size_t out_len = iov_total(out, out_num);
    size_t in_len = iov_total(in, in_num);
    const char *error = NULL;
    struct virtio_snd_pcm_xfer xfer;

    msg->tx = tx;
    /* Status first: a malformed message still gets BAD_MSG if it fits. */
    if (in_len >= sizeof(struct virtio_snd_pcm_status)) {
        size_t at = tx ? 0 : in_len - sizeof(struct virtio_snd_pcm_status);

        msg->status_cnt = slice_alloc(in, in_num, at, sizeof(struct virtio_snd_pcm_status),
                                      &msg->status);
        msg->used_len = tx ? sizeof(struct virtio_snd_pcm_status) : in_len;
    } else {
        error = "no room for the I/O status";
    }
    if (out_len < sizeof(xfer)) {
        error = error ? error : "I/O message without xfer header";
    } else {
        iov_copy_out(out, out_num, 0, &xfer, sizeof(xfer));
        msg->stream_id = GUINT32_FROM_LE(xfer.stream_id);
    }
    if (!error) {
        if (tx) {
            msg->data_len = out_len - sizeof(xfer);
            msg->data_cnt = slice_alloc(out, out_num, sizeof(xfer), msg->data_len, &msg->data);
        } else {
            msg->data_len = in_len - sizeof(struct virtio_snd_pcm_status);
            if (msg->data_len == 0) {
                error = "capture message without room for frames";
            }
            msg->data_cnt = slice_alloc(in, in_num, 0, msg->data_len, &msg->data);
        }
        msg->cursor = g_new0(struct iovec, msg->data_cnt ? msg->data_cnt : 1);
    }
    msg->valid = error == NULL;
    if (ret_error) {
        *ret_error = error;
    }
    return msg;
}

size_t vsnd_io_msg_finish(SndIoMsg *msg, uint32_t status, uint32_t latency_bytes)
{
    struct virtio_snd_pcm_status st = {
        .status = GUINT32_TO_LE(status),
        .latency_bytes = GUINT32_TO_LE(latency_bytes),
    };
    size_t at = 0;

    if (!msg->status) {
        return 0;
    }
    /* The used length of a capture message covers its whole frame area:
     * what was not captured (an error completion: not prepared, released,
     * wrong direction, too large) must not hand the guest its own stale
     * memory as audio.  Zeroes: silence for every signed and float
     * format the guest can negotiate. */
    if (!msg->tx && status != VIRTIO_SND_S_OK && msg->data && msg->done < msg->data_len) {
        unsigned int n = vsnd_io_msg_cursor(msg);

        for (unsigned int i = 0; i < n; i++) {
            memset(msg->cursor[i].iov_base, 0, msg->cursor[i].iov_len);
        }
        msg->done = msg->data_len;
    }
    for (unsigned int i = 0; i < msg->status_cnt; i++) {
        memcpy(msg->status[i].iov_base, (uint8_t *)&st + at, msg->status[i].iov_len);
        at += msg->status[i].iov_len;
    }
    return msg->used_len;
}

unsigned int vsnd_io_msg_cursor(SndIoMsg *msg)
{
    if (!msg->data || msg->done >= msg->data_len) {
        return 0;
    }
    return vsnd_iov_slice(msg->data, msg->data_cnt, msg->done, msg->data_len - msg->done,
                         msg->cursor, msg->data_cnt);
}

void vsnd_io_msg_fill(SndIoMsg *msg, unsigned int fmt)
{
    unsigned int n = vsnd_io_msg_cursor(msg);
    size_t at = msg->done;

    for (unsigned int i = 0; i < n; i++) {
        vsnd_pcm_fill_silence(fmt, msg->cursor[i].iov_base, msg->cursor[i].iov_len, at);
        at += msg->cursor[i].iov_len;
    }
    msg->done = msg->data_len;
}

void vsnd_io_msg_free(SndIoMsg *msg)
{
    if (!msg) {
        return;
    }
    g_free(msg->data);
    g_free(msg->status);
    g_free(msg->cursor);
    g_free(msg->staging);
    g_free(msg);
}
