/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-io.h - one PCM I/O message (spec: PCM I/O Messages) split into
 * its parts.
 *
 * A tx message is: device-readable [xfer header (4)][frames...],
 * device-writable [status (8)].  An rx message is: device-readable
 * [xfer header (4)], device-writable [frames...][status (8)], the status in
 * the LAST 8 bytes of the writable part.  Any part may be cut into
 * descriptors at any byte boundary: everything here works on byte offsets
 * over the iovec lists.  The message borrows the guest-memory iovecs of the
 * queue element it came from (@elem, owned by the caller's queue code) and
 * owns only its own slice arrays.  Pure code, no queue access.
 */
#ifndef VSND_SND_PCM_IO_H
#define VSND_SND_PCM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct SndIoMsg {
    void *elem;      /* the queue element this message came from (caller's) */
    bool tx;         /* tx queue (playback) or rx queue (capture) */
    bool valid;      /* header and status present */
    uint32_t stream_id; /* copied out of guest memory; not yet validated */
    struct iovec *data; /* frames: guest memory slices */
    unsigned int data_cnt;
    size_t data_len;
    struct iovec *status; /* where the 8-byte status goes, NULL if no room */
    unsigned int status_cnt;
    size_t used_len; /* used length once the status is written */
    /* Transfer progress, owned by the stream manager. */
    size_t done;
    struct iovec *cursor; /* scratch: data from offset @done (data_cnt entries) */
    uint8_t *staging;     /* tx copy with software gain applied, or NULL */
} SndIoMsg;

/*
 * vsnd_iov_slice() - describe bytes [@offset, @offset + @len) of @iov.
 * @out: room for @out_max entries.
 * Return: entries written; fewer bytes than @len when @iov is shorter.
 */
unsigned int vsnd_iov_slice(const struct iovec *iov, unsigned int cnt, size_t offset, size_t len,
                           struct iovec *out, unsigned int out_max);

/*
 * vsnd_io_msg_new() - parse one tx (@tx) or rx chain.
 * @out/@out_num: device-readable part; @in/@in_num: device-writable part.
 * Return: a new message, never NULL.  ->valid is false when the header or
 * the status is missing (or an rx message has no room for frames); then
 * *@ret_error (if given) names the problem and the message must be
 * completed with VIRTIO_SND_S_BAD_MSG.
 */
SndIoMsg *vsnd_io_msg_new(bool tx, const struct iovec *out, unsigned int out_num,
                         const struct iovec *in, unsigned int in_num, const char **ret_error);
/*
 * vsnd_io_msg_finish() - write the status {@status, @latency_bytes}.
 * Return: the used length to report: 0 when there is no room for a status;
 * tx: 8; rx: frames + 8 (the whole writable part).
 */
size_t vsnd_io_msg_finish(SndIoMsg *msg, uint32_t status, uint32_t latency_bytes);
/* Remaining frames of the message from ->done on, in ->cursor. */
unsigned int vsnd_io_msg_cursor(SndIoMsg *msg);
/* Fill the frames from ->done to the end with silence of VIRTIO_SND_PCM_FMT
 * @fmt (an rx message completed without data). */
void vsnd_io_msg_fill(SndIoMsg *msg, unsigned int fmt);
void vsnd_io_msg_free(SndIoMsg *msg);

#endif /* VSND_SND_PCM_IO_H */
