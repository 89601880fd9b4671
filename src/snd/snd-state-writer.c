/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-state-writer.c - the restart state file, written off the main thread.
 *
 * One slot holds the newest blob not yet written; the thread takes it after
 * the coalescing delay, so N posts within the delay cost one write.  A
 * SIGKILL loses at most the last delay's worth of changes, which a
 * synchronous write would lose just as well while it waited for fsync.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-snd"

#include "snd/snd-migrate.h"
#include "snd/snd-state-writer.h"

struct SndStateWriter {
    char *path;
    gint64 delay_us;
    GThread *thread;
    GMutex lock;
    GCond cond;
    GBytes *pending;  /* newest blob not yet taken */
    bool writing;     /* the thread holds a blob */
    bool quit;
    unsigned int writes;
};

static gpointer writer_main(gpointer data)
{
    SndStateWriter *w = data;

    g_mutex_lock(&w->lock);
    for (;;) {
        while (!w->pending && !w->quit) {
            g_cond_wait(&w->cond, &w->lock);
        }
        if (!w->pending) {
            break; /* quit, nothing left */
        }
        /* let a burst settle; quitting writes at once */
        gint64 until = g_get_monotonic_time() + w->delay_us;
        while (!w->quit && g_cond_wait_until(&w->cond, &w->lock, until)) {
        }
        GBytes *blob = g_steal_pointer(&w->pending);
        w->writing = true;
        g_mutex_unlock(&w->lock);
        vsnd_migrate_file_write(w->path, blob);
        g_bytes_unref(blob);
        g_mutex_lock(&w->lock);
        w->writing = false;
        w->writes++;
        g_cond_broadcast(&w->cond);
    }
    g_mutex_unlock(&w->lock);
    return NULL;
}

SndStateWriter *vsnd_state_writer_new(const char *path, unsigned int delay_ms)
{
    SndStateWriter *w = g_new0(SndStateWriter, 1);

    w->path = g_strdup(path);
    w->delay_us = (gint64)delay_ms * 1000;
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    w->thread = g_thread_new("vsnd-state", writer_main, w);
    return w;
}

void vsnd_state_writer_post(SndStateWriter *w, GBytes *blob)
{
    g_mutex_lock(&w->lock);
    g_clear_pointer(&w->pending, g_bytes_unref);
    w->pending = g_bytes_ref(blob);
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

void vsnd_state_writer_flush(SndStateWriter *w)
{
    g_mutex_lock(&w->lock);
    while (w->pending || w->writing) {
        g_cond_wait(&w->cond, &w->lock);
    }
    g_mutex_unlock(&w->lock);
}

unsigned int vsnd_state_writer_writes(SndStateWriter *w)
{
    g_mutex_lock(&w->lock);
    unsigned int n = w->writes;
    g_mutex_unlock(&w->lock);
    return n;
}

void vsnd_state_writer_free(SndStateWriter *w)
{
    if (!w) {
        return;
    }
    g_mutex_lock(&w->lock);
    w->quit = true;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
    g_thread_join(w->thread);
    g_clear_pointer(&w->pending, g_bytes_unref);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
    g_free(w->path);
    g_free(w);
}
