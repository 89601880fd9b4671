/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c - the daemon's log writer.
 *
 * GLib's default writer writes each message to stderr on the thread that
 * logs it, mostly the main thread.  With --verbose and stderr in a file on
 * a busy disk (or a pipe nobody reads fast enough) that write blocked the
 * main thread for longer than a guest waits for a period: the daemon
 * completed the first periods of a play and then nothing for 100-176 ms,
 * and the guest's write failed with EIO.  So messages are formatted on the
 * logging thread and written by a thread of their own; the queue is
 * bounded, and what does not fit is counted and reported once the writer
 * catches up.  Fatal messages are written at once, behind what is queued.
 * Output to the journal (stderr connected to journald) stays with GLib's
 * journal writer: a datagram per message, no stream to back up.  The
 * queue is flushed at exit (bounded wait).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_QUEUE_MAX 4096      /* lines waiting for the writer */
#define LOG_FLUSH_WAIT_US (2 * G_USEC_PER_SEC)

typedef struct LogWriter {
    GMutex lock;
    GCond more;                 /* a line queued, or quitting */
    GCond idle;                 /* the queue went empty */
    GQueue lines;               /* char *, newline-terminated */
    guint64 dropped;            /* lines that did not fit since the last report */
    gboolean writing;           /* the thread is inside write() */
    gboolean quit;              /* exit once the queue is empty */
    GThread *thread;
} LogWriter;

static LogWriter writer;
static gboolean to_journal;

static void write_all(const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* stderr gone: nothing else to tell it */
        s += n;
        len -= (size_t)n;
    }
}

static void write_dropped(guint64 dropped)
{
    g_autofree char *line = g_strdup_printf("%s: %" G_GUINT64_FORMAT
                                            " log messages dropped (stderr too slow)\n",
                                            g_get_prgname(), dropped);

    write_all(line, strlen(line));
}

static gpointer writer_thread(gpointer data)
{
    (void)data;
    g_mutex_lock(&writer.lock);
    for (;;) {
        char *line;
        guint64 dropped;

        while (g_queue_is_empty(&writer.lines) && !writer.dropped) {
            if (writer.quit) {
                g_mutex_unlock(&writer.lock);
                return NULL;
            }
            g_cond_broadcast(&writer.idle);
            g_cond_wait(&writer.more, &writer.lock);
        }
        line = g_queue_pop_head(&writer.lines);
        dropped = line ? 0 : writer.dropped;
        if (!line)
            writer.dropped = 0;
        writer.writing = TRUE;
        g_mutex_unlock(&writer.lock);
        if (line)
            write_all(line, strlen(line));
        else
            write_dropped(dropped);
        g_free(line);
        g_mutex_lock(&writer.lock);
        writer.writing = FALSE;
    }
    return NULL;
}

/* Lock held: what is queued goes out now, on this thread. */
static void drain_here(void)
{
    char *line;

    while ((line = g_queue_pop_head(&writer.lines))) {
        write_all(line, strlen(line));
        g_free(line);
    }
    if (writer.dropped) {
        write_dropped(writer.dropped);
        writer.dropped = 0;
    }
}

static GLogWriterOutput vsnd_log_writer(GLogLevelFlags level, const GLogField *fields,
                                        gsize n_fields, gpointer data)
{
    const char *domain = NULL;
    char *text, *line;

    (void)data;
    for (gsize i = 0; i < n_fields; i++) {
        if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0) {
            domain = fields[i].value;
            break;
        }
    }
    if (g_log_writer_default_would_drop(level, domain))
        return G_LOG_WRITER_HANDLED;
    if (to_journal)
        return g_log_writer_journald(level, fields, n_fields, data);

    text = g_log_writer_format_fields(level, fields, n_fields, FALSE);
    line = g_strconcat(text, "\n", NULL);
    g_free(text);
    g_mutex_lock(&writer.lock);
    if (level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR) || !writer.thread) {
        /* about to abort (or no thread): in order, on this thread */
        drain_here();
        write_all(line, strlen(line));
        g_free(line);
    } else if (g_queue_get_length(&writer.lines) >= LOG_QUEUE_MAX) {
        writer.dropped++;
        g_free(line);
    } else {
        g_queue_push_tail(&writer.lines, line);
        g_cond_signal(&writer.more);
    }
    g_mutex_unlock(&writer.lock);
    return G_LOG_WRITER_HANDLED;
}

/* At exit: give the writer a moment to empty the queue, then end it
 * (joined, so its thread-local memory is freed: LeakSanitizer counted
 * GLib's per-thread allocator of a thread still waiting as a leak).  A
 * writer stuck on a full stderr is left behind; later messages are
 * written on the thread that logs them. */
static void flush_at_exit(void)
{
    gint64 end = g_get_monotonic_time() + LOG_FLUSH_WAIT_US;
    GThread *thread = NULL;

    g_mutex_lock(&writer.lock);
    while ((!g_queue_is_empty(&writer.lines) || writer.dropped || writer.writing) &&
           g_cond_wait_until(&writer.idle, &writer.lock, end)) {
    }
    if (g_queue_is_empty(&writer.lines) && !writer.dropped && !writer.writing) {
        thread = writer.thread;
        writer.thread = NULL;
        writer.quit = TRUE;
        g_cond_signal(&writer.more);
    }
    g_mutex_unlock(&writer.lock);
    if (thread)
        g_thread_join(thread);
}

void vsnd_log_init(gboolean verbose)
{
    sigset_t all, old;

    if (verbose)
        g_log_set_debug_enabled(TRUE);
    to_journal = g_log_writer_is_journald(STDERR_FILENO);
    g_mutex_init(&writer.lock);
    g_cond_init(&writer.more);
    g_cond_init(&writer.idle);
    g_queue_init(&writer.lines);
    /* The writer takes no signal: SIGTERM and friends go to the main
     * thread's signalfd, which blocks them later. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    writer.thread = g_thread_new("vsnd-log", writer_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    atexit(flush_at_exit);
    g_log_set_writer_func(vsnd_log_writer, NULL, NULL);
}
