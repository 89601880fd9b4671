/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-fuzz.c - the sound device fuzz fixture and record interpreter (see
 * snd-fuzz.h).  Fuzz code: a broken invariant abort()s, so libFuzzer and
 * the replay test both report it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-reader.h"
#include "snd-fuzz.h"

#define MAX_PIECES 8

/* One I/O message's guest buffers: every piece its own heap block. */
typedef struct FuzzIo {
    bool tx;
    bool owned;     /* the stream manager took it (completes it in FIFO order) */
    uint32_t stream;
    uint64_t seq;
    unsigned int out_num, in_num;
    struct iovec out[MAX_PIECES], in[MAX_PIECES];
    size_t out_len, in_len;
} FuzzIo;

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

/* ---- logs ------------------------------------------------------------------ */

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        fprintf(stderr, "%s: %s\n", domain ? domain : "?", msg);
        abort(); /* a g_return_if_fail() or g_critical(): misuse inside the device */
    }
}

void snd_fuzz_init_once(void)
{
    static bool once;

    if (once) {
        return;
    }
    once = true;
    if (!g_getenv("FUZZ_VERBOSE")) {
        g_log_set_default_handler(quiet_log, NULL);
    }
    /* Host failures are warnings, not bugs (GTest makes them fatal). */
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
    /* The default main context's wakeup fd, once (not a leak per input). */
    g_main_context_default();
}

/* ---- guest buffers ------------------------------------------------------------ */

static void io_free(FuzzIo *io)
{
    for (unsigned int i = 0; i < io->out_num; i++) {
        free(io->out[i].iov_base);
    }
    for (unsigned int i = 0; i < io->in_num; i++) {
        free(io->in[i].iov_base);
    }
    g_free(io);
}

/* Byte @at of the device-writable part. */
static uint8_t in_byte(const FuzzIo *io, size_t at)
{
    for (unsigned int i = 0; i < io->in_num; i++) {
        if (at < io->in[i].iov_len) {
            return ((const uint8_t *)io->in[i].iov_base)[at];
        }
        at -= io->in[i].iov_len;
    }
    abort();
}

static uint32_t in_le32(const FuzzIo *io, size_t at)
{
    return (uint32_t)in_byte(io, at) | (uint32_t)in_byte(io, at + 1) << 8 |
           (uint32_t)in_byte(io, at + 2) << 16 | (uint32_t)in_byte(io, at + 3) << 24;
}

static bool status_known(uint32_t status)
{
    return status >= VIRTIO_SND_S_OK && status <= VIRTIO_SND_S_IO_ERR;
}

/* Write the status as the device does, then check what the guest sees. */
static void finish(SndFuzzDev *f, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    FuzzIo *io = msg->elem;
    size_t used = vsnd_io_msg_finish(msg, status, latency);

    CHECK(g_hash_table_remove(f->live, msg));
    CHECK(status_known(status));
    if (io->in_len < sizeof(struct virtio_snd_pcm_status)) {
        CHECK(used == 0);
    } else {
        size_t at = io->tx ? 0 : io->in_len - sizeof(struct virtio_snd_pcm_status);

        CHECK(used == (io->tx ? sizeof(struct virtio_snd_pcm_status) : io->in_len));
        CHECK(in_le32(io, at) == status);
        CHECK(in_le32(io, at + 4) == latency);
    }
    vsnd_io_msg_free(msg);
    io_free(io);
}

/* ---- the stream manager's host ------------------------------------------------ */

static void h_complete(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    SndFuzzDev *f = opaque;
    FuzzIo *io = msg->elem;

    CHECK(io && io->owned);
    CHECK(io->stream < vsnd_pcm_count(f->pcm));
    /* Per stream, completions come in the order of submission. */
    CHECK(f->last_done[io->stream] < io->seq);
    f->last_done[io->stream] = io->seq;
    finish(f, msg, status, latency);
}

static void h_discard(void *opaque, SndIoMsg *msg)
{
    SndFuzzDev *f = opaque;
    FuzzIo *io = msg->elem;

    CHECK(io && io->owned);
    CHECK(g_hash_table_remove(f->live, msg));
    vsnd_io_msg_free(msg);
    io_free(io);
}

static void h_event(void *opaque, uint32_t code, uint32_t data)
{
    SndFuzzDev *f = opaque;
    struct virtio_snd_event ev;

    vsnd_event_make(&ev, code, data);
    vsnd_event_queue_push(f->events, &ev);
}

static void h_connected(void *opaque, uint32_t stream, bool connected)
{
    SndFuzzDev *f = opaque;

    CHECK(stream < vsnd_pcm_count(f->pcm));
}

static void h_polling(void *opaque, bool on)
{
}

static bool h_giveback(void *opaque, SndIoMsg *msg)
{
    SndFuzzDev *f = opaque;
    FuzzIo *io = msg->elem;

    CHECK(io && io->owned);
    if (!f->giveback) {
        return false;
    }
    CHECK(g_hash_table_remove(f->live, msg));
    vsnd_io_msg_free(msg);
    io_free(io);
    return true;
}

static const SndPcmHost fuzz_host = {
    .complete = h_complete,
    .discard = h_discard,
    .event = h_event,
    .connected = h_connected,
    .polling = h_polling,
    .giveback = h_giveback,
};

/* ---- device ------------------------------------------------------------------------ */

SndFuzzDev *snd_fuzz_dev_new(unsigned int streams, bool controls)
{
    static const char *const items[] = { "Line", "Mic", "CD" };
    SndFuzzDev *f = g_new0(SndFuzzDev, 1);

    snd_fuzz_init_once();
    f->cfg = fake_config_new(streams, controls);
    f->audio = fake_audio_new(&f->fake);
    f->events = vsnd_event_queue_new();
    f->pcm = vsnd_pcm_new(f->cfg, f->audio, &fuzz_host, f);
    f->info = vsnd_info_new(f->cfg, f->pcm);
    if (controls) {
        f->kctl = vsnd_kctl_new(f->pcm, NULL, NULL);
        vsnd_kctl_add_enum(f->kctl, "Input Source", items, G_N_ELEMENTS(items));
    }
    f->live = g_hash_table_new(NULL, NULL);
    f->last_done = g_new0(uint64_t, streams ? streams : 1);
    f->ctl = (SndCtlCtx){ .pcm = f->pcm, .info = f->info, .kctl = f->kctl, .ctls = controls };
    f->mig = (SndMigrateDev){
        .pcm = f->pcm,
        .info = f->info,
        .kctl = f->kctl,
        .events = f->events,
        .features = (1ull << 32) | (controls ? 1ull << VIRTIO_SND_F_CTLS : 0),
        .offered = controls ? 1ull << VIRTIO_SND_F_CTLS : 0,
    };
    return f;
}

void snd_fuzz_dev_free(SndFuzzDev *f)
{
    if (f->kctl) {
        vsnd_kctl_free(f->kctl);
    }
    vsnd_info_free(f->info);
    vsnd_pcm_free(f->pcm);
    /* Every message came back: completed, discarded or given back. */
    CHECK(g_hash_table_size(f->live) == 0);
    g_hash_table_unref(f->live);
    vsnd_event_queue_free(f->events);
    vsnd_audio_free(f->audio);
    fake_config_free(f->cfg);
    g_free(f->last_done);
    g_free(f);
}

/* ---- records -------------------------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_LE(v);
}

static bool pcm_cmd_of(uint32_t code, SndPcmCmd *ret)
{
    switch (code) {
    case VIRTIO_SND_R_PCM_SET_PARAMS:
        *ret = SND_PCM_CMD_SET_PARAMS;
        return true;
    case VIRTIO_SND_R_PCM_PREPARE:
        *ret = SND_PCM_CMD_PREPARE;
        return true;
    case VIRTIO_SND_R_PCM_RELEASE:
        *ret = SND_PCM_CMD_RELEASE;
        return true;
    case VIRTIO_SND_R_PCM_START:
        *ret = SND_PCM_CMD_START;
        return true;
    case VIRTIO_SND_R_PCM_STOP:
        *ret = SND_PCM_CMD_STOP;
        return true;
    default:
        return false;
    }
}

/* One control request with exact-size request and response blocks. */
static uint32_t ctl_request(SndFuzzDev *f, const uint8_t *req_in, size_t req_len, size_t cap)
{
    uint8_t *req = malloc(req_len ? req_len : 1);
    uint8_t *resp = malloc(cap ? cap : 1);
    uint32_t code = req_len >= 4 ? get_le32(req_in) : 0;
    uint32_t stream = req_len >= 8 ? get_le32(req_in + 4) : UINT32_MAX;
    bool is_pcm = false;
    SndPcmState from = SND_PCM_STATE_INIT;
    SndPcmCmd cmd = SND_PCM_CMD_MAX;
    uint32_t status = 0;
    size_t used;

    CHECK(req && resp);
    memcpy(req, req_in, req_len);
    if (pcm_cmd_of(code, &cmd) && stream < vsnd_pcm_count(f->pcm)) {
        is_pcm = true;
        from = vsnd_pcm_state(f->pcm, stream);
    }
    used = vsnd_ctl_handle(&f->ctl, req, req_len, resp, cap);
    if (cap < sizeof(struct virtio_snd_hdr)) {
        CHECK(used == 0);
        goto out;
    }
    CHECK(used >= sizeof(struct virtio_snd_hdr) && used <= cap);
    status = get_le32(resp);
    CHECK(status_known(status));
    if (status != VIRTIO_SND_S_OK) {
        CHECK(used == sizeof(struct virtio_snd_hdr));
        goto out;
    }
    if ((code == VIRTIO_SND_R_JACK_INFO || code == VIRTIO_SND_R_PCM_INFO ||
         code == VIRTIO_SND_R_CHMAP_INFO || code == VIRTIO_SND_R_CTL_INFO)) {
        CHECK(used == 4 + (size_t)get_le32(req + 8) * get_le32(req + 12));
    }
    if (is_pcm) {
        SndPcmState to;

        /* Accepted only where the transition table allows it. */
        CHECK(vsnd_pcm_transition(from, cmd, &to));
        CHECK(vsnd_pcm_state(f->pcm, stream) == to);
    }
    if (is_pcm && cmd == SND_PCM_CMD_SET_PARAMS) {
        struct virtio_snd_pcm_set_params p;
        SndPcmParams got;

        memcpy(&p, req, sizeof(p));
        CHECK(vsnd_pcm_params(f->pcm, stream, &got));
        CHECK(got.buffer_bytes == GUINT32_FROM_LE(p.buffer_bytes) &&
              got.period_bytes == GUINT32_FROM_LE(p.period_bytes) &&
              got.channels == p.channels && got.format == p.format && got.rate == p.rate);
    }
out:
    free(req);
    free(resp);
    return status;
}

/* Parameters a Linux guest asks for, and the fake driver offers. */
static const struct {
    uint8_t format, rate, channels;
    uint32_t period, buffer;
} sane[] = {
    { VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 2, 1024, 4096 },
    { VIRTIO_SND_PCM_FMT_S32, VIRTIO_SND_PCM_RATE_44100, 1, 512, 2048 },
    { VIRTIO_SND_PCM_FMT_FLOAT, VIRTIO_SND_PCM_RATE_48000, 2, 4096, 16384 },
    { VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_44100, 1, 64, 256 },
};

uint32_t snd_fuzz_set_params(SndFuzzDev *f, uint32_t stream, unsigned int sel)
{
    struct virtio_snd_pcm_set_params p = { 0 };
    unsigned int i = sel % G_N_ELEMENTS(sane);

    p.hdr.hdr.code = GUINT32_TO_LE(VIRTIO_SND_R_PCM_SET_PARAMS);
    p.hdr.stream_id = GUINT32_TO_LE(stream);
    p.buffer_bytes = GUINT32_TO_LE(sane[i].buffer);
    p.period_bytes = GUINT32_TO_LE(sane[i].period);
    p.features = GUINT32_TO_LE(((sel & 4) ? 1u << VIRTIO_SND_PCM_F_MSG_POLLING : 0) |
                               ((sel & 8) ? 1u << VIRTIO_SND_PCM_F_EVT_XRUNS : 0));
    p.channels = sane[i].channels;
    p.format = sane[i].format;
    p.rate = sane[i].rate;
    return ctl_request(f, (const uint8_t *)&p, sizeof(p), 64);
}

uint32_t snd_fuzz_command(SndFuzzDev *f, uint32_t stream, uint32_t code)
{
    uint8_t req[8];

    put_le32(req, code);
    put_le32(req + 4, stream);
    return ctl_request(f, req, sizeof(req), 64);
}

static void submit(SndFuzzDev *f, FuzzIo *io)
{
    const char *error = NULL;
    SndIoMsg *msg = vsnd_io_msg_new(io->tx, io->out, io->out_num, io->in, io->in_num, &error);
    uint32_t status;

    msg->elem = io;
    io->seq = ++f->next_seq;
    io->stream = msg->stream_id;
    g_hash_table_add(f->live, msg);
    if (!msg->valid) {
        CHECK(error != NULL);
        finish(f, msg, VIRTIO_SND_S_BAD_MSG, 0);
        return;
    }
    /* The frames are everything but the header (tx) or the status (rx). */
    CHECK(msg->data_len == (io->tx ? io->out_len - sizeof(struct virtio_snd_pcm_xfer)
                                   : io->in_len - sizeof(struct virtio_snd_pcm_status)));
    io->owned = true;
    status = vsnd_pcm_submit(f->pcm, msg);
    if (status) {
        io->owned = false;
        finish(f, msg, status, 0);
    }
}

/* A message with @in_pieces/@out_pieces descriptors; the first bytes of
 * the readable part (header) from @head. */
static void io_message(SndFuzzDev *f, bool tx, const size_t *out_len, unsigned int out_num,
                       const size_t *in_len, unsigned int in_num, const uint8_t *head,
                       size_t head_len)
{
    FuzzIo *io = g_new0(FuzzIo, 1);
    size_t at = 0;

    io->tx = tx;
    io->out_num = out_num;
    io->in_num = in_num;
    for (unsigned int i = 0; i < out_num; i++) {
        uint8_t *p = malloc(out_len[i] ? out_len[i] : 1);

        CHECK(p);
        io->out[i] = (struct iovec){ p, out_len[i] };
        io->out_len += out_len[i];
        for (size_t k = 0; k < out_len[i]; k++, at++) {
            p[k] = at < head_len ? head[at] : (uint8_t)(at * 7 + 1);
        }
    }
    for (unsigned int i = 0; i < in_num; i++) {
        uint8_t *p = malloc(in_len[i] ? in_len[i] : 1);

        CHECK(p);
        memset(p, 0xa5, in_len[i]);
        io->in[i] = (struct iovec){ p, in_len[i] };
        io->in_len += in_len[i];
    }
    submit(f, io);
}

void snd_fuzz_tx(SndFuzzDev *f, uint32_t stream, size_t len)
{
    uint8_t head[4];
    size_t out[2] = { 4, len }, in[1] = { 8 };

    put_le32(head, stream);
    io_message(f, true, out, 2, in, 1, head, sizeof(head));
}

static void rec_io(SndFuzzDev *f, Reader *r)
{
    uint8_t flags, pieces, len, head[4];
    size_t out[MAX_PIECES], in[MAX_PIECES];
    unsigned int out_num, in_num;
    bool tx;

    if (!rd(r, &flags, 1) || !rd(r, &pieces, 1)) {
        return;
    }
    tx = flags & 1;
    out_num = pieces & 7;
    in_num = (pieces >> 3) & 7;
    for (unsigned int i = 0; i < out_num + in_num; i++) {
        if (!rd(r, &len, 1)) {
            return;
        }
        /* bit 1: frame pieces in units of 16 bytes; the first readable
         * piece (header) and the last writable one (status) stay bytes */
        bool big = (flags & 2) && i != 0 && i != out_num + in_num - 1;

        (i < out_num ? out : in)[i < out_num ? i : i - out_num] = big ? len * 16u : len;
    }
    if (!rd(r, head, sizeof(head))) {
        return;
    }
    if (f->queue_stopped[tx ? 0 : 1]) {
        return; /* a stopped ring gives the device nothing */
    }
    io_message(f, tx, out, out_num, in, in_num, head, sizeof(head));
}

static void rec_pcm(SndFuzzDev *f, Reader *r)
{
    static const uint32_t codes[] = { VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_RELEASE,
                                      VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP };
    uint8_t stream, op, arg;

    if (!rd(r, &stream, 1) || !rd(r, &op, 1) || !rd(r, &arg, 1)) {
        return;
    }
    stream %= vsnd_pcm_count(f->pcm) + 1; /* one id out of range */
    op %= 5;
    if (op == 0) {
        snd_fuzz_set_params(f, stream, arg);
    } else {
        snd_fuzz_command(f, stream, codes[op - 1]);
    }
}

/* The @which-th fake stream still open, or NULL. */
static VsndAudioStream *open_stream(SndFuzzDev *f, unsigned int which)
{
    GPtrArray *all = f->fake->streams;
    unsigned int open = 0;

    for (guint i = 0; i < all->len; i++) {
        if (!((VsndAudioStream *)g_ptr_array_index(all, i))->closed) {
            open++;
        }
    }
    if (!open) {
        return NULL;
    }
    which %= open;
    for (guint i = 0; i < all->len; i++) {
        VsndAudioStream *s = g_ptr_array_index(all, i);

        if (!s->closed && which-- == 0) {
            return s;
        }
    }
    return NULL;
}

static void rec_host(SndFuzzDev *f, Reader *r)
{
    uint8_t which, what;
    uint16_t n;
    VsndAudioStream *s;

    if (!rd(r, &which, 1) || !rd(r, &what, 1) || !rd(r, &n, 2)) {
        return;
    }
    switch (what % 10) {
    case 6:
        f->fake->fail_open = !f->fake->fail_open;
        return;
    case 7:
        f->fake->fail_start = !f->fake->fail_start;
        return;
    case 8:
        f->fake->connected = !f->fake->connected;
        return;
    default:
        break;
    }
    s = open_stream(f, which);
    if (!s) {
        return;
    }
    switch (what % 10) {
    case 0:
        fake_stream_give_room(s, n);
        break;
    case 1:
        fake_stream_give_data(s, n);
        break;
    case 2:
        fake_stream_error(s, -EPIPE);
        break;
    case 3:
        fake_stream_error(s, (n & 1) ? -ECONNRESET : -ENODEV);
        break;
    case 4:
        fake_stream_error(s, 0);
        break;
    case 5:
        s->fail = s->fail ? 0 : -EIO;
        break;
    default:
        s->drain_ret = s->drain_ret ? 0 : -EINPROGRESS;
        break;
    }
}

static void rec_queue(SndFuzzDev *f, Reader *r)
{
    uint8_t what;
    unsigned int q;

    if (!rd(r, &what, 1)) {
        return;
    }
    if (what & 4) {
        f->giveback = !f->giveback;
    }
    q = what & 1;
    /* Rings stop and start in turn, as the device layer sees them. */
    if (f->queue_stopped[q]) {
        f->queue_stopped[q] = false;
        vsnd_pcm_queue_started(f->pcm, q ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
    } else {
        f->queue_stopped[q] = true;
        vsnd_pcm_queue_stopped(f->pcm, q ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
    }
}

static void rec_gain(SndFuzzDev *f, Reader *r)
{
    uint8_t stream, mute;
    uint16_t gain;

    if (!rd(r, &stream, 1) || !rd(r, &gain, 2) || !rd(r, &mute, 1) ||
        vsnd_pcm_count(f->pcm) == 0) {
        return;
    }
    vsnd_pcm_set_gain(f->pcm, stream % vsnd_pcm_count(f->pcm),
                      (mute & 2) ? 65536u : gain, mute & 1);
}

void snd_fuzz_run(SndFuzzDev *f, const uint8_t *data, size_t size, unsigned int kinds)
{
    Reader r = { data, size };
    uint8_t tag;

    while (rd(&r, &tag, 1)) {
        unsigned int kind = tag % 8;

        if (!(kinds & (1u << kind))) {
            continue;
        }
        switch (kind) {
        case SND_FUZZ_CTL: {
            uint16_t len, cap;

            if (!rd(&r, &len, 2) || !rd(&r, &cap, 2) || r.left < len) {
                return;
            }
            ctl_request(f, r.p, len, cap);
            r.p += len;
            r.left -= len;
            break;
        }
        case SND_FUZZ_IO:
            rec_io(f, &r);
            break;
        case SND_FUZZ_PCM:
            rec_pcm(f, &r);
            break;
        case SND_FUZZ_HOST:
            rec_host(f, &r);
            break;
        case SND_FUZZ_QUEUE:
            rec_queue(f, &r);
            break;
        case SND_FUZZ_RESET:
            vsnd_pcm_reset(f->pcm);
            break;
        case SND_FUZZ_LOOP: {
            uint8_t n;

            if (rd(&r, &n, 1)) {
                fake_iterate(n % 16);
            }
            break;
        }
        default:
            rec_gain(f, &r);
            break;
        }
    }
}

int snd_fuzz_session(const uint8_t *data, size_t size, unsigned int kinds)
{
    static const unsigned int streams[] = { 1, 2, 4, 6 };
    SndFuzzDev *f;

    if (size < 1) {
        return 0;
    }
    f = snd_fuzz_dev_new(streams[data[0] & 3], !(data[0] & 4));
    f->ctl.ctls = f->ctl.ctls && !(data[0] & 8);
    snd_fuzz_run(f, data + 1, size - 1, kinds);
    snd_fuzz_dev_free(f);
    return 0;
}

void snd_fuzz_busy(SndFuzzDev *f)
{
    /* stream 0 playing, the host holding part of what was sent */
    snd_fuzz_set_params(f, 0, 0);
    snd_fuzz_command(f, 0, VIRTIO_SND_R_PCM_PREPARE);
    snd_fuzz_command(f, 0, VIRTIO_SND_R_PCM_START);
    for (unsigned int i = 0; i < 3; i++) {
        snd_fuzz_tx(f, 0, 1024);
    }
    /* stream 1 (capture) prepared */
    snd_fuzz_set_params(f, 1, 1);
    snd_fuzz_command(f, 1, VIRTIO_SND_R_PCM_PREPARE);
}

void snd_fuzz_stop_rings(SndFuzzDev *f)
{
    for (unsigned int q = 0; q < 2; q++) {
        if (!f->queue_stopped[q]) {
            f->queue_stopped[q] = true;
            vsnd_pcm_queue_stopped(f->pcm, q ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
        }
    }
}
