/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-state-writer.c - the state file writer: posts never wait for the
 * disk, a burst becomes one write of its newest state, nothing posted is
 * lost at exit.
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "snd/snd-state-writer.h"

typedef struct {
    char *dir;
    char *path;
} Fx;

static void fx_init(Fx *fx)
{
    fx->dir = g_dir_make_tmp("vsnd-state-XXXXXX", NULL);
    g_assert_nonnull(fx->dir);
    fx->path = g_build_filename(fx->dir, "snd.state", NULL);
}

static void fx_clear(Fx *fx)
{
    g_unlink(fx->path);
    g_rmdir(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

static GBytes *blob_n(unsigned int n)
{
    char *text = g_strdup_printf("state %u", n);

    return g_bytes_new_take(text, strlen(text));
}

static void assert_file_is(const Fx *fx, GBytes *want)
{
    g_autofree char *text = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(fx->path, &text, &len, NULL));
    g_assert_cmpmem(text, len, g_bytes_get_data(want, NULL), g_bytes_get_size(want));
}

/* 100 posts in a row: the caller never waits for the file (nothing is on
 * disk when post returns), and the burst is one write of the last state
 * (was: one synchronous fsync'd write per change on the audio thread). */
static void test_burst_coalesced(void)
{
    Fx fx;
    SndStateWriter *w;
    g_autoptr(GBytes) last = NULL;

    fx_init(&fx);
    w = vsnd_state_writer_new(fx.path, 200);
    for (unsigned int i = 0; i < 100; i++) {
        g_autoptr(GBytes) b = blob_n(i);

        vsnd_state_writer_post(w, b);
        g_clear_pointer(&last, g_bytes_unref);
        last = g_bytes_ref(b);
    }
    g_assert_false(g_file_test(fx.path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(vsnd_state_writer_writes(w), ==, 0);
    vsnd_state_writer_flush(w);
    g_assert_cmpuint(vsnd_state_writer_writes(w), ==, 1);
    assert_file_is(&fx, last);
    vsnd_state_writer_free(w);
    fx_clear(&fx);
}

/* The delay is bounded: a single post is on disk well within it plus the
 * write, without a flush. */
static void test_delay_bounded(void)
{
    Fx fx;
    SndStateWriter *w;
    g_autoptr(GBytes) b = blob_n(7);
    gint64 deadline;

    fx_init(&fx);
    w = vsnd_state_writer_new(fx.path, SND_STATE_WRITE_DELAY_MS);
    vsnd_state_writer_post(w, b);
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (vsnd_state_writer_writes(w) == 0 && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmpuint(vsnd_state_writer_writes(w), ==, 1);
    assert_file_is(&fx, b);
    vsnd_state_writer_free(w);
    fx_clear(&fx);
}

/* Freed with a state pending (daemon exit): it is written, at once. */
static void test_free_writes_pending(void)
{
    Fx fx;
    SndStateWriter *w;
    g_autoptr(GBytes) b = blob_n(42);
    gint64 t0;

    fx_init(&fx);
    w = vsnd_state_writer_new(fx.path, 10 * 1000);
    vsnd_state_writer_post(w, b);
    t0 = g_get_monotonic_time();
    vsnd_state_writer_free(w);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
    assert_file_is(&fx, b);
    fx_clear(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/snd/state-writer/burst-coalesced", test_burst_coalesced);
    g_test_add_func("/snd/state-writer/delay-bounded", test_delay_bounded);
    g_test_add_func("/snd/state-writer/free-writes-pending", test_free_writes_pending);
    return g_test_run();
}
