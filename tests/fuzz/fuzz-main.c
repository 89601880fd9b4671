/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-main.c - replay a fuzz target's corpus as a normal GTest program.
 *
 * Built with the ordinary compiler and linked with one target (its name
 * in FUZZ_TARGET); every file of tests/fuzz/corpus/<target>/ becomes one
 * test case, run in-process.  A case passes when the target returns
 * without crashing (the sanitizer build makes that strict) and leaves no
 * file descriptor behind.  Fixed crashers are committed to the corpus so
 * they are replayed by `make check` forever.
 */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include <glib.h>

#include "vu-fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target"
#endif

static unsigned int count_fds(void)
{
    g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned int n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

static void test_file(gconstpointer data)
{
    const char *path = data;
    g_autofree gchar *buf = NULL;
    gsize len = 0;
    unsigned int before;

    g_assert_true(g_file_get_contents(path, &buf, &len, NULL));
    before = count_fds();
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    g_assert_cmpuint(count_fds(), ==, before);
}

static void test_corpus_not_empty(gconstpointer data)
{
    g_assert_cmpuint(GPOINTER_TO_UINT(data), >, 0);
}

int main(int argc, char **argv)
{
    static const uint8_t warmup[8];
    g_autofree gchar *dir = NULL;
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    GDir *d;
    const char *name;

    g_test_init(&argc, &argv, NULL);
    dir = g_test_build_filename(G_TEST_DIST, "fuzz", "corpus", FUZZ_TARGET, NULL);
    d = g_dir_open(dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        if (name[0] != '.') {
            g_ptr_array_add(files, g_strdup(name));
        }
    }
    if (d) {
        g_dir_close(d);
    }
    g_ptr_array_sort(files, (GCompareFunc)g_strcmp0);
    /* Static set-up (guest memory fds) happens on the first call. */
    LLVMFuzzerTestOneInput(warmup, sizeof(warmup));

    g_test_add_data_func("/fuzz/" FUZZ_TARGET "/corpus-not-empty", GUINT_TO_POINTER(files->len),
                         test_corpus_not_empty);
    for (guint i = 0; i < files->len; i++) {
        const char *f = g_ptr_array_index(files, i);
        g_autofree gchar *path = g_strdup_printf("/fuzz/" FUZZ_TARGET "/%s", f);

        g_test_add_data_func_full(path, g_build_filename(dir, f, NULL), test_file, g_free);
    }
    return g_test_run();
}
