/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipe-rec.c - see pipe-rec.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/judge/wav-file.h"
#include "pipe-rec.h"

#define FIFO_ROOM (1 << 20) /* 5.5 s of the sink: the drain may be late */

struct PipeRec {
    int fd;
    GThread *thread;
    GMutex lock;
    GByteArray *data; /* everything since the start */
    size_t peak;      /* the most bytes found waiting in the FIFO */
    gint quit;
};

char *pipe_rec_module(const char *fifo, const char *sink)
{
    return g_strdup_printf(
        "    { name = libpipewire-module-pipe-tunnel\n"
        "        args = {\n"
        "            tunnel.mode = capture\n"
        "            pipe.filename = \"%s\"\n"
        "            audio.format = S16LE\n"
        "            audio.rate = 48000\n"
        "            audio.channels = 2\n"
        "            audio.position = [ FL FR ]\n"
        "            stream.props = {\n"
        "                node.name = vsnd-test-sink-tap\n"
        "                target.object = %s\n"
        "                stream.capture.sink = true\n"
        "            }\n"
        "        }\n"
        "    }", fifo, sink);
}

bool pipe_rec_make_fifo(const char *fifo)
{
    return mkfifo(fifo, 0600) == 0;
}

static gpointer drain(gpointer data)
{
    PipeRec *r = data;
    guint8 buf[16384];

    while (!g_atomic_int_get(&r->quit)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        int waiting = 0;

        if (poll(&p, 1, 50) <= 0)
            continue;
        if (ioctl(r->fd, FIONREAD, &waiting) == 0 && (size_t)waiting > r->peak)
            r->peak = (size_t)waiting;
        ssize_t n = read(r->fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                break;
            if (n == 0)
                g_usleep(10000); /* no writer (yet) */
            continue;
        }
        g_mutex_lock(&r->lock);
        g_byte_array_append(r->data, buf, (guint)n);
        g_mutex_unlock(&r->lock);
    }
    return NULL;
}

PipeRec *pipe_rec_start(const char *fifo)
{
    int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    (void)fcntl(fd, F_SETPIPE_SZ, FIFO_ROOM); /* best effort: the default is 64 KiB */
    PipeRec *r = g_new0(PipeRec, 1);
    r->fd = fd;
    g_mutex_init(&r->lock);
    r->data = g_byte_array_new();
    r->thread = g_thread_new("pipe-rec", drain, r);
    return r;
}

size_t pipe_rec_mark(PipeRec *r)
{
    g_mutex_lock(&r->lock);
    size_t n = r->data->len;
    g_mutex_unlock(&r->lock);
    return n;
}

size_t pipe_rec_peak(PipeRec *r)
{
    return r->peak;
}

bool pipe_rec_wav(PipeRec *r, size_t mark, const char *path, GError **error)
{
    gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC;
    int waiting = 1;

    /* what the server wrote until now, read */
    while (ioctl(r->fd, FIONREAD, &waiting) == 0 && waiting > 0 && g_get_monotonic_time() < end)
        g_usleep(5000);
    g_usleep(60000); /* the drain's last read appended */
    g_mutex_lock(&r->lock);
    size_t from = MIN(mark, r->data->len) / 4 * 4;
    size_t len = (r->data->len - from) / 4 * 4;
    bool ok = judge_wav_save(path, JUDGE_FORMAT_S16_LE, 2, 48000, r->data->data + from, len,
                             JUDGE_WAV_DEFAULT, error);
    g_mutex_unlock(&r->lock);
    return ok;
}

PipeRec *pipe_rec_pipewire_start(AtuPipewire *pw, const char *dir, const char *log)
{
    g_autofree char *fifo = g_build_filename(dir, "test_sink.fifo", NULL);
    g_autofree char *module = pipe_rec_module(fifo, "test_sink");

    if (!pipe_rec_make_fifo(fifo)) {
        g_test_fail_printf("mkfifo %s: %s", fifo, g_strerror(errno));
        return NULL;
    }
    if (!atu_pipewire_start_with(pw, log, 20.0, module, dir))
        return NULL;
    PipeRec *r = pipe_rec_start(fifo);
    if (!r)
        g_test_fail_printf("the sink's tap %s: %s", fifo, g_strerror(errno));
    return r;
}

void pipe_rec_stop(PipeRec *r)
{
    if (!r)
        return;
    g_atomic_int_set(&r->quit, 1);
    g_thread_join(r->thread);
    close(r->fd);
    g_byte_array_unref(r->data);
    g_mutex_clear(&r->lock);
    g_free(r);
}
