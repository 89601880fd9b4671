/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-layers.c - the one-way house (build-aux/check-layers.py).
 *
 * The project's own sources include only downwards (base < audio, vu <
 * snd < daemon), and the checker really catches what it is for: an include
 * from a layer above, and a circle between two files found in their
 * objects.  The circle check of the project itself needs the whole build
 * and runs as `make check-layers`.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *srcdir(void)
{
    const char *p = g_getenv("VSND_SRCDIR");

    g_assert_nonnull(p);
    return p;
}

/* Runs the checker with @args; returns its exit status and its output. */
static int run_checker(const char *const *args, char **ret_out)
{
    g_autofree char *script = g_build_filename(srcdir(), "build-aux", "check-layers.py", NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;
    int status = -1;

    g_ptr_array_add(argv, (char *)"python3");
    g_ptr_array_add(argv, script);
    for (; *args; args++)
        g_ptr_array_add(argv, (char *)*args);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, ret_out, &err, &status, &error));
    g_assert_no_error(error);
    g_test_message("checker: %s%s", *ret_out, err);
    return g_spawn_check_wait_status(status, NULL) ? 0 : WEXITSTATUS(status);
}

static void write_file(const char *root, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_file_set_contents(path, text, -1, &error);
    g_assert_no_error(error);
}

static void remove_tree(const char *path)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);

    g_assert_cmpint(system(cmd), ==, 0);
}

/* A minimal tree with one file per layer, every include going down. */
static char *tree_new(void)
{
    g_autoptr(GError) error = NULL;
    char *root = g_dir_make_tmp("layers-XXXXXX", &error);

    g_assert_no_error(error);
    write_file(root, "src/base/iov.h", "#pragma once\n");
    write_file(root, "audio/audio.h", "#pragma once\n#include \"iov.h\"\n");
    write_file(root, "src/vu/vu.h", "#pragma once\n#include \"iov.h\"\n");
    write_file(root, "src/snd/snd.h",
               "#pragma once\n#include \"audio/audio.h\"\n#include \"vu/vu.h\"\n");
    write_file(root, "src/options.h", "#pragma once\n");
    write_file(root, "src/main.c", "#include \"config.h\"\n#include \"options.h\"\n#include \"snd/snd.h\"\n");
    return root;
}

static void test_project_includes_go_down(void)
{
    const char *args[] = { "--srcdir", srcdir(), "--sources-only", NULL };
    g_autofree char *out = NULL;

    g_assert_cmpint(run_checker(args, &out), ==, 0);
}

static void test_clean_tree_passes(void)
{
    g_autofree char *root = tree_new();
    const char *args[] = { "--srcdir", root, "--sources-only", NULL };
    g_autofree char *out = NULL;

    g_assert_cmpint(run_checker(args, &out), ==, 0);
    remove_tree(root);
}

static void test_upward_include_fails(gconstpointer data)
{
    const char *const *c = data; /* file, text, expected line */
    g_autofree char *root = tree_new();
    const char *args[] = { "--srcdir", root, "--sources-only", NULL };
    g_autofree char *out = NULL;

    write_file(root, c[0], c[1]);
    g_assert_cmpint(run_checker(args, &out), ==, 1);
    g_assert_nonnull(strstr(out, c[2]));
    remove_tree(root);
}

static const char *const upward_cases[][3] = {
    { "audio/pcm.h", "#include \"snd/snd.h\"\n",
      "audio/pcm.h:1: audio layer includes src/snd/snd.h from the snd layer" },
    { "audio/drv.c", "#include \"vu/vu.h\"\n",
      "audio/drv.c:1: audio layer includes src/vu/vu.h from the vu layer" },
    { "src/vu/ring.c", "\n#include \"audio/audio.h\"\n",
      "src/vu/ring.c:2: vu layer includes audio/audio.h from the audio layer" },
    { "src/snd/pcm.h", "#include \"options.h\"\n",
      "src/snd/pcm.h:1: snd layer includes src/options.h from the daemon layer" },
    { "src/base/log.h", "#include \"vu/vu.h\"\n",
      "src/base/log.h:1: base layer includes src/vu/vu.h from the vu layer" },
};

/* Two objects that call each other are a circle; a one-way pair is not. */
static void test_circle_between_objects(void)
{
    g_autofree char *root = tree_new();
    g_autofree char *build = g_build_filename(root, "_build", NULL);
    const char *args[] = { "--srcdir", root, "--builddir", build, NULL };
    g_autofree char *out = NULL;
    g_autofree char *cmd = NULL;

    write_file(root, "src/vu/ring.c", "int dev_flag(void);\nint ring_pop(void) { return dev_flag(); }\n");
    write_file(root, "src/vu/dev.c", "int dev_flag(void) { return 1; }\n");
    write_file(root, "src/vu/glue.c", "int ring_pop(void);\nint glue(void) { return ring_pop(); }\n");
    cmd = g_strdup_printf("mkdir -p '%s/src/vu' && cd '%s' && "
                          "cc -c -o _build/src/vu/ring.o src/vu/ring.c && "
                          "cc -c -o _build/src/vu/dev.o src/vu/dev.c && "
                          "cc -c -o _build/src/vu/glue.o src/vu/glue.c",
                          build, root);
    g_assert_cmpint(system(cmd), ==, 0);
    g_assert_cmpint(run_checker(args, &out), ==, 0);
    g_clear_pointer(&out, g_free);

    /* Now the device calls back into the ring. */
    write_file(root, "src/vu/dev.c", "int ring_pop(void);\nint dev_flag(void) { return ring_pop(); }\n");
    g_clear_pointer(&cmd, g_free);
    cmd = g_strdup_printf("cd '%s' && cc -c -o _build/src/vu/dev.o src/vu/dev.c", root);
    g_assert_cmpint(system(cmd), ==, 0);
    g_assert_cmpint(run_checker(args, &out), ==, 1);
    g_assert_nonnull(strstr(out, "circle between src/vu/dev, src/vu/ring"));
    g_assert_null(strstr(out, "glue"));
    remove_tree(root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/layers/project-includes-go-down", test_project_includes_go_down);
    g_test_add_func("/layers/clean-tree-passes", test_clean_tree_passes);
    for (gsize i = 0; i < G_N_ELEMENTS(upward_cases); i++) {
        g_autofree char *path = g_strdup_printf("/layers/upward-include/%zu", i);
        g_test_add_data_func(path, upward_cases[i], test_upward_include_fails);
    }
    g_test_add_func("/layers/circle-between-objects", test_circle_between_objects);
    return g_test_run();
}
