/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-io.c - PCM I/O message parsing (snd-pcm-io.c): header, frames
 * and status cut into descriptors at every byte boundary, short and
 * malformed messages, and the sample format helpers (snd-format.c).
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "snd/snd-format.h"
#include "snd/snd-pcm-io.h"
#include "snd/snd-proto.h"

#define MAXPIECES 256

/* Cut [base, base + len) into pieces of @piece bytes (last one shorter),
 * starting the first piece @skew bytes short to move the cut points. */
static unsigned int cut(uint8_t *base, size_t len, size_t piece, size_t skew, struct iovec *iov)
{
    unsigned int n = 0;
    size_t at = 0;

    while (at < len) {
        size_t l = piece;

        if (n == 0 && skew && skew < piece) {
            l = piece - skew;
        }
        l = MIN(l, len - at);
        g_assert_cmpuint(n, <, MAXPIECES);
        iov[n].iov_base = base + at;
        iov[n].iov_len = l;
        at += l;
        n++;
    }
    return n;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static void collect(SndIoMsg *msg, uint8_t *out)
{
    unsigned int n = vsnd_io_msg_cursor(msg);
    size_t at = 0;

    for (unsigned int i = 0; i < n; i++) {
        memcpy(out + at, msg->cursor[i].iov_base, msg->cursor[i].iov_len);
        at += msg->cursor[i].iov_len;
    }
    g_assert_cmpuint(at, ==, msg->data_len - msg->done);
}

static void test_tx_split(void)
{
    const size_t data = 61;
    uint8_t out[4 + 61], in[8], got[61];
    struct iovec oiov[MAXPIECES], iiov[8];

    for (size_t piece = 1; piece <= 9; piece++) {
        for (size_t skew = 0; skew < piece; skew++) {
            for (size_t spiece = 1; spiece <= 8; spiece++) {
                unsigned int on, inn;
                const char *err = NULL;
                SndIoMsg *msg;

                out[0] = 0x07;
                out[1] = out[2] = out[3] = 0;
                for (size_t i = 0; i < data; i++) {
                    out[4 + i] = (uint8_t)(i * 3 + 1);
                }
                memset(in, 0xcc, sizeof(in));
                on = cut(out, sizeof(out), piece, skew, oiov);
                inn = cut(in, sizeof(in), spiece, 0, iiov);
                msg = vsnd_io_msg_new(true, oiov, on, iiov, inn, &err);
                g_assert_null(err);
                g_assert_true(msg->valid);
                g_assert_cmpuint(msg->stream_id, ==, 7);
                g_assert_cmpuint(msg->data_len, ==, data);
                collect(msg, got);
                g_assert_cmpmem(got, data, out + 4, data);
                /* cursor after a partial transfer */
                msg->done = 13;
                collect(msg, got);
                g_assert_cmpmem(got, data - 13, out + 4 + 13, data - 13);
                g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_OK, 0x01020304), ==, 8);
                g_assert_cmpuint(rd32(in), ==, VIRTIO_SND_S_OK);
                g_assert_cmpuint(rd32(in + 4), ==, 0x01020304);
                vsnd_io_msg_free(msg);
            }
        }
    }
}

static void test_rx_split(void)
{
    const size_t data = 37;
    uint8_t out[4], in[37 + 8];
    struct iovec oiov[8], iiov[MAXPIECES];

    for (size_t piece = 1; piece <= 11; piece++) {
        for (size_t skew = 0; skew < piece; skew++) {
            for (size_t hpiece = 1; hpiece <= 4; hpiece++) {
                const char *err = NULL;
                unsigned int on, inn, n;
                SndIoMsg *msg;
                size_t at = 0;

                memcpy(out, "\x03\x00\x00\x00", 4);
                memset(in, 0xee, sizeof(in));
                on = cut(out, sizeof(out), hpiece, 0, oiov);
                inn = cut(in, sizeof(in), piece, skew, iiov);
                msg = vsnd_io_msg_new(false, oiov, on, iiov, inn, &err);
                g_assert_null(err);
                g_assert_true(msg->valid);
                g_assert_cmpuint(msg->stream_id, ==, 3);
                g_assert_cmpuint(msg->data_len, ==, data);
                /* frames go to the first data_len bytes, nothing else */
                n = vsnd_io_msg_cursor(msg);
                for (unsigned int i = 0; i < n; i++) {
                    g_assert_true((uint8_t *)msg->cursor[i].iov_base >= in);
                    g_assert_true((uint8_t *)msg->cursor[i].iov_base + msg->cursor[i].iov_len <=
                                  in + data);
                    for (size_t k = 0; k < msg->cursor[i].iov_len; k++) {
                        ((uint8_t *)msg->cursor[i].iov_base)[k] = (uint8_t)(at + k);
                    }
                    at += msg->cursor[i].iov_len;
                }
                g_assert_cmpuint(at, ==, data);
                /* status in the LAST 8 bytes, used length = everything */
                g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_OK, 99), ==, data + 8);
                for (size_t k = 0; k < data; k++) {
                    g_assert_cmpuint(in[k], ==, (uint8_t)k);
                }
                g_assert_cmpuint(rd32(in + data), ==, VIRTIO_SND_S_OK);
                g_assert_cmpuint(rd32(in + data + 4), ==, 99);
                vsnd_io_msg_free(msg);
            }
        }
    }
}

static void test_rx_fill(void)
{
    uint8_t out[4] = { 0 }, in[20 + 8];
    struct iovec oiov = { out, 4 }, iiov[MAXPIECES];
    unsigned int inn = cut(in, sizeof(in), 3, 1, iiov);
    SndIoMsg *msg = vsnd_io_msg_new(false, &oiov, 1, iiov, inn, NULL);

    memset(in, 0xee, sizeof(in));
    msg->done = 5;
    vsnd_io_msg_fill(msg, VIRTIO_SND_PCM_FMT_U8);
    for (size_t k = 0; k < 5; k++) {
        g_assert_cmpuint(in[k], ==, 0xee);
    }
    for (size_t k = 5; k < 20; k++) {
        g_assert_cmpuint(in[k], ==, 0x80);
    }
    g_assert_cmpuint(in[20], ==, 0xee); /* status untouched */
    g_assert_cmpuint(msg->done, ==, 20);
    vsnd_io_msg_free(msg);
}

static void test_tx_no_header(void)
{
    uint8_t out[3] = { 1, 0, 0 }, in[8];
    struct iovec oiov = { out, 3 }, iiov = { in, 8 };
    const char *err = NULL;
    SndIoMsg *msg = vsnd_io_msg_new(true, &oiov, 1, &iiov, 1, &err);

    g_assert_false(msg->valid);
    g_assert_nonnull(err);
    /* there is room for the status: BAD_MSG is reported, used len 8 */
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 8);
    g_assert_cmpuint(rd32(in), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
    /* no readable part at all */
    msg = vsnd_io_msg_new(true, NULL, 0, &iiov, 1, &err);
    g_assert_false(msg->valid);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 8);
    vsnd_io_msg_free(msg);
}

static void test_tx_no_status(void)
{
    uint8_t out[4 + 16] = { 0 }, in[7];
    struct iovec oiov = { out, sizeof(out) }, iiov = { in, sizeof(in) };
    const char *err = NULL;
    SndIoMsg *msg;

    memset(in, 0x5a, sizeof(in));
    msg = vsnd_io_msg_new(true, &oiov, 1, &iiov, 1, &err);
    g_assert_false(msg->valid);
    g_assert_nonnull(err);
    /* no room: nothing written, used length 0 */
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 0);
    for (size_t k = 0; k < sizeof(in); k++) {
        g_assert_cmpuint(in[k], ==, 0x5a);
    }
    vsnd_io_msg_free(msg);
    /* no writable part at all */
    msg = vsnd_io_msg_new(true, &oiov, 1, NULL, 0, &err);
    g_assert_false(msg->valid);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 0);
    vsnd_io_msg_free(msg);
}

static void test_tx_status_larger(void)
{
    uint8_t out[4 + 4] = { 0 }, in[16];
    struct iovec oiov = { out, sizeof(out) }, iiov = { in, sizeof(in) };
    SndIoMsg *msg = vsnd_io_msg_new(true, &oiov, 1, &iiov, 1, NULL);

    /* tx: the status is the first 8 writable bytes, used length 8 */
    memset(in, 0x5a, sizeof(in));
    g_assert_true(msg->valid);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_OK, 0), ==, 8);
    g_assert_cmpuint(rd32(in), ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(in[8], ==, 0x5a);
    vsnd_io_msg_free(msg);
}

static void test_tx_empty_data(void)
{
    uint8_t out[4] = { 0 }, in[8];
    struct iovec oiov = { out, sizeof(out) }, iiov = { in, sizeof(in) };
    SndIoMsg *msg = vsnd_io_msg_new(true, &oiov, 1, &iiov, 1, NULL);

    /* valid (end of stream may be short): no frames */
    g_assert_true(msg->valid);
    g_assert_cmpuint(msg->data_len, ==, 0);
    g_assert_cmpuint(vsnd_io_msg_cursor(msg), ==, 0);
    vsnd_io_msg_free(msg);
}

static void test_rx_status_only(void)
{
    uint8_t out[4] = { 0 }, in[8];
    struct iovec oiov = { out, 4 }, iiov = { in, sizeof(in) };
    const char *err = NULL;
    SndIoMsg *msg = vsnd_io_msg_new(false, &oiov, 1, &iiov, 1, &err);

    /* no room for frames: BAD_MSG in the status, used length 8 */
    g_assert_false(msg->valid);
    g_assert_nonnull(err);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 8);
    g_assert_cmpuint(rd32(in), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
}

static void test_rx_short(void)
{
    uint8_t out[4] = { 0 }, in[5];
    struct iovec oiov = { out, 4 }, iiov = { in, sizeof(in) };
    SndIoMsg *msg = vsnd_io_msg_new(false, &oiov, 1, &iiov, 1, NULL);

    memset(in, 0x5a, sizeof(in));
    g_assert_false(msg->valid);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 0);
    g_assert_cmpuint(in[0], ==, 0x5a);
    vsnd_io_msg_free(msg);
}

static void test_rx_no_header(void)
{
    uint8_t in[64];
    struct iovec iiov = { in, sizeof(in) };
    SndIoMsg *msg = vsnd_io_msg_new(false, NULL, 0, &iiov, 1, NULL);

    g_assert_false(msg->valid);
    /* status at the end of the writable area */
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_BAD_MSG, 0), ==, 64);
    g_assert_cmpuint(rd32(in + 56), ==, VIRTIO_SND_S_BAD_MSG);
    vsnd_io_msg_free(msg);
}

/* An rx message completed with an error before any frame was captured:
 * the used length covers the frame area, so it must hold silence, not
 * the guest's stale memory; frames captured before the error stay. */
static void test_rx_error_no_stale_memory(void)
{
    uint8_t out[4] = { 0 }, in[64 + 8];
    struct iovec oiov = { out, sizeof(out) };
    struct iovec iiov[2] = { { in, 40 }, { in + 40, sizeof(in) - 40 } };
    SndIoMsg *msg;

    memset(in, 0xee, sizeof(in));
    msg = vsnd_io_msg_new(false, &oiov, 1, iiov, 2, NULL);
    g_assert_true(msg->valid);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_IO_ERR, 0), ==, sizeof(in));
    for (size_t i = 0; i < 64; i++) {
        g_assert_cmpuint(in[i], ==, 0);
    }
    g_assert_cmpuint(rd32(in + 64), ==, VIRTIO_SND_S_IO_ERR);
    vsnd_io_msg_free(msg);

    /* 16 bytes captured, then the error: those stay */
    memset(in, 0xee, sizeof(in));
    msg = vsnd_io_msg_new(false, &oiov, 1, iiov, 2, NULL);
    g_assert_true(msg->valid);
    memset(in, 0x11, 16);
    msg->done = 16;
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_IO_ERR, 0), ==, sizeof(in));
    for (size_t i = 0; i < 64; i++) {
        g_assert_cmpuint(in[i], ==, i < 16 ? 0x11 : 0);
    }
    vsnd_io_msg_free(msg);
}

static void test_zero_length_pieces(void)
{
    uint8_t out[4 + 8] = { 2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 }, in[8], got[8];
    struct iovec oiov[5] = {
        { out, 0 }, { out, 2 }, { out + 2, 0 }, { out + 2, 5 }, { out + 7, 5 },
    };
    struct iovec iiov[3] = { { in, 0 }, { in, 3 }, { in + 3, 5 } };
    SndIoMsg *msg = vsnd_io_msg_new(true, oiov, 5, iiov, 3, NULL);

    g_assert_true(msg->valid);
    g_assert_cmpuint(msg->stream_id, ==, 2);
    collect(msg, got);
    g_assert_cmpmem(got, 8, out + 4, 8);
    g_assert_cmpuint(vsnd_io_msg_finish(msg, VIRTIO_SND_S_IO_ERR, 0), ==, 8);
    g_assert_cmpuint(rd32(in), ==, VIRTIO_SND_S_IO_ERR);
    vsnd_io_msg_free(msg);
}

static void test_slice(void)
{
    uint8_t buf[10];
    struct iovec iov[3] = { { buf, 3 }, { buf + 3, 3 }, { buf + 6, 4 } };
    struct iovec out[3];

    g_assert_cmpuint(vsnd_iov_slice(iov, 3, 2, 5, out, 3), ==, 3);
    g_assert_true(out[0].iov_base == buf + 2 && out[0].iov_len == 1);
    g_assert_true(out[1].iov_base == buf + 3 && out[1].iov_len == 3);
    g_assert_true(out[2].iov_base == buf + 6 && out[2].iov_len == 1);
    g_assert_cmpuint(vsnd_iov_slice(iov, 3, 10, 5, out, 3), ==, 0);
    g_assert_cmpuint(vsnd_iov_slice(iov, 3, 9, 50, out, 3), ==, 1);
    g_assert_cmpuint(out[0].iov_len, ==, 1);
    g_assert_cmpuint(vsnd_iov_slice(iov, 3, 0, 10, out, 1), ==, 1);
    g_assert_cmpuint(vsnd_iov_slice(iov, 3, G_MAXSIZE, G_MAXSIZE, out, 3), ==, 0);
}

/* ---- formats ---- */

static void test_bytes_per_second(void)
{
    g_assert_cmpuint(vsnd_bytes_per_second(VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 2),
                     ==, 192000);
    g_assert_cmpuint(vsnd_bytes_per_second(VIRTIO_SND_PCM_FMT_IMA_ADPCM,
                                          VIRTIO_SND_PCM_RATE_8000, 1), ==, 4000);
    g_assert_cmpuint(vsnd_bytes_per_second(25, VIRTIO_SND_PCM_RATE_48000, 2), ==, 0);
    g_assert_cmpuint(vsnd_bytes_per_second(VIRTIO_SND_PCM_FMT_S16, 16, 2), ==, 0);
}

static void test_rx_fill_unsigned16(void)
{
    uint8_t out[4] = { 0 }, in[9 + 8];
    struct iovec oiov = { out, 4 }, iiov[MAXPIECES];
    unsigned int inn = cut(in, sizeof(in), 2, 1, iiov);
    SndIoMsg *msg = vsnd_io_msg_new(false, &oiov, 1, iiov, inn, NULL);

    /* U16 silence 0x8000 little-endian, continued across an odd start */
    memset(in, 0xee, sizeof(in));
    msg->done = 3;
    vsnd_io_msg_fill(msg, VIRTIO_SND_PCM_FMT_U16);
    g_assert_cmpuint(in[3], ==, 0x80);
    g_assert_cmpuint(in[4], ==, 0x00);
    g_assert_cmpuint(in[5], ==, 0x80);
    g_assert_cmpuint(in[8], ==, 0x00);
    vsnd_io_msg_free(msg);
}

static void test_gain_s16(void)
{
    int16_t s[4] = { 1000, -1000, 32767, -32768 };
    uint8_t buf[8];

    for (int i = 0; i < 4; i++) {
        int16_t le = GINT16_TO_LE(s[i]);
        memcpy(buf + 2 * i, &le, 2);
    }
    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_S16, SND_GAIN_UNITY / 4, false);
    for (int i = 0; i < 4; i++) {
        int16_t v;
        memcpy(&v, buf + 2 * i, 2);
        g_assert_cmpint(GINT16_FROM_LE(v), ==, s[i] / 4);
    }
    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_S16, SND_GAIN_UNITY, true);
    for (int i = 0; i < 8; i++) {
        g_assert_cmpuint(buf[i], ==, 0);
    }
}

static void test_gain_unsigned_silence(void)
{
    uint8_t buf[8];

    memset(buf, 0x12, sizeof(buf));
    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_U8, 0, false);
    for (int i = 0; i < 8; i++) {
        g_assert_cmpuint(buf[i], ==, 0x80);
    }
    memset(buf, 0x12, sizeof(buf));
    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_U16, 0, true);
    for (int i = 0; i < 8; i += 2) {
        g_assert_cmpuint(buf[i], ==, 0);
        g_assert_cmpuint(buf[i + 1], ==, 0x80);
    }
    /* U8 at half gain stays centred */
    memset(buf, 0xff, sizeof(buf));
    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_U8, SND_GAIN_UNITY / 2, false);
    g_assert_cmpuint(buf[0], ==, 128 + 127 / 2);
}

static void test_gain_float(void)
{
    float f[2] = { 0.5f, -1.0f };
    uint8_t buf[8];

    memcpy(buf, f, sizeof(f));
    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_FLOAT, SND_GAIN_UNITY / 2, false);
    memcpy(f, buf, sizeof(f));
    g_assert_cmpfloat_with_epsilon(f[0], 0.25, 1e-6);
    g_assert_cmpfloat_with_epsilon(f[1], -0.5, 1e-6);
}

static void test_gain_s24_3_odd_length(void)
{
    /* -2 in 24 bits, then a partial sample which must stay untouched */
    uint8_t buf[5] = { 0xfe, 0xff, 0xff, 0x11, 0x22 };

    vsnd_gain_apply(buf, sizeof(buf), VIRTIO_SND_PCM_FMT_S24_3, SND_GAIN_UNITY / 2, false);
    g_assert_cmpuint(buf[0], ==, 0xff);
    g_assert_cmpuint(buf[1], ==, 0xff);
    g_assert_cmpuint(buf[2], ==, 0xff);
    g_assert_cmpuint(buf[3], ==, 0x11);
    g_assert_cmpuint(buf[4], ==, 0x22);
}

static void test_volume_curve(void)
{
    g_assert_cmpuint(vsnd_volume_to_gain(0), ==, 0);
    g_assert_cmpuint(vsnd_volume_to_gain(SND_VOLUME_STEPS), ==, SND_GAIN_UNITY);
    g_assert_cmpuint(vsnd_volume_to_gain(G_MAXUINT32), ==, SND_GAIN_UNITY);
    for (uint32_t s = 1; s < SND_VOLUME_STEPS; s++) {
        g_assert_cmpuint(vsnd_volume_to_gain(s), <, vsnd_volume_to_gain(s + 1));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/snd/io/tx/split-every-boundary", test_tx_split);
    g_test_add_func("/snd/io/rx/split-every-boundary", test_rx_split);
    g_test_add_func("/snd/io/rx/fill-remainder", test_rx_fill);
    g_test_add_func("/snd/io/tx/invalid/no-header", test_tx_no_header);
    g_test_add_func("/snd/io/tx/invalid/no-status", test_tx_no_status);
    g_test_add_func("/snd/io/tx/status-area-larger", test_tx_status_larger);
    g_test_add_func("/snd/io/tx/empty-data", test_tx_empty_data);
    g_test_add_func("/snd/io/rx/invalid/status-only", test_rx_status_only);
    g_test_add_func("/snd/io/rx/invalid/short", test_rx_short);
    g_test_add_func("/snd/io/rx/invalid/no-header", test_rx_no_header);
    g_test_add_func("/snd/io/rx/error-no-stale-memory", test_rx_error_no_stale_memory);
    g_test_add_func("/snd/io/zero-length-pieces", test_zero_length_pieces);
    g_test_add_func("/snd/io/iov-slice", test_slice);
    g_test_add_func("/snd/format/bytes-per-second", test_bytes_per_second);
    g_test_add_func("/snd/io/rx/fill-unsigned-16", test_rx_fill_unsigned16);
    g_test_add_func("/snd/format/gain-s16", test_gain_s16);
    g_test_add_func("/snd/format/gain-unsigned-silence", test_gain_unsigned_silence);
    g_test_add_func("/snd/format/gain-float", test_gain_float);
    g_test_add_func("/snd/format/gain-s24-3-partial-sample", test_gain_s24_3_odd_length);
    g_test_add_func("/snd/format/volume-curve", test_volume_curve);
    return g_test_run();
}
