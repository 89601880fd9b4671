/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-install.c - what "make install" puts on a host, from a DESTDIR
 * install of this build tree:
 *  - nothing in $datadir/qemu/vhost-user: libvirt parses every file there
 *    and fails on the unknown "sound" type, which would stop virtiofs and
 *    vhost-user-gpu domains from starting; the back-end description is an
 *    example under our own data directory, and names the installed binary;
 *  - the systemd user units in the directory systemd.pc names for our
 *    prefix (when pkg-config knows systemd), their ExecStart the installed
 *    binary.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

/* A make variable of the build, fully expanded, through a one-off
 * makefile that includes the build's. */
static char *make_var(const char *builddir, const char *var)
{
    g_autofree char *mk = g_strdup_printf("include Makefile\nprint-var-%s:\n\t@echo $(%s)\n",
                                          var, var);
    g_autofree char *target = g_strdup_printf("print-var-%s", var);
    g_autofree char *mkfile = g_build_filename(builddir, "tests", "print-var.mk", NULL);
    const char *argv[] = { "make", "-s", "-f", mkfile, target, NULL };
    g_autoptr(GError) err = NULL;
    char *out = NULL;
    int status;

    g_assert_true(g_file_set_contents(mkfile, mk, -1, &err));
    g_assert_true(g_spawn_sync(builddir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, NULL, &status, &err));
    g_assert_no_error(err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_unlink(mkfile);
    return g_strstrip(out);
}

static void test_install(void)
{
    g_autofree char *builddir = g_canonicalize_filename("..", g_getenv("G_TEST_BUILDDIR"));
    g_autofree char *dest = g_dir_make_tmp("vsnd-install-XXXXXX", NULL);
    g_autofree char *destdir = g_strdup_printf("DESTDIR=%s", dest);
    g_autofree char *prefix = make_var(builddir, "prefix");
    g_autofree char *bindir = make_var(builddir, "bindir");
    g_autofree char *datadir = make_var(builddir, "datadir");
    g_autofree char *pkgdatadir = make_var(builddir, "pkgdatadir");
    g_autofree char *unitdir = make_var(builddir, "systemduserunitdir");
    g_autofree char *qemu_dir = g_build_filename(dest, datadir, "qemu", NULL);
    g_autofree char *json = g_build_filename(dest, pkgdatadir, "vhost-user",
                                             "50-vhost-user-snd.json", NULL);
    g_autofree char *service = g_build_filename(dest, unitdir, "vhost-user-snd.service", NULL);
    g_autofree char *socket = g_build_filename(dest, unitdir, "vhost-user-snd.socket", NULL);
    g_autofree char *text = NULL, *exec = NULL, *binary = NULL, *pc = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    const char *install[] = { "make", "-s", "install", destdir, NULL };
    const char *rm[] = { "rm", "-rf", dest, NULL };
    g_autoptr(GError) err = NULL;
    int status;

    g_assert_true(g_spawn_sync(builddir, (char **)install, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &errout, &status, &err));
    g_assert_no_error(err);
    g_test_message("make install: %s%s", out, errout);
    g_assert_true(g_spawn_check_wait_status(status, NULL));

    g_assert_false(g_file_test(qemu_dir, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_get_contents(json, &text, NULL, &err));
    g_assert_no_error(err);
    binary = g_strdup_printf("\"binary\": \"%s/vhost-user-snd\"", bindir);
    g_assert_nonnull(strstr(text, binary));
    g_assert_nonnull(strstr(text, "\"type\": \"sound\""));

    {
        const char *pkgconf[] = { "pkg-config", "--variable=systemduserunitdir",
                                  "--define-variable=prefix=${prefix}", "systemd", NULL };
        g_autofree char *pc_out = NULL;

        if (g_spawn_sync(NULL, (char **)pkgconf, NULL, G_SPAWN_SEARCH_PATH |
                         G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pc_out, NULL, &status, NULL) &&
            g_spawn_check_wait_status(status, NULL)) {
            g_autofree char *want = NULL;
            g_auto(GStrv) parts = g_strsplit(g_strstrip(pc_out), "${prefix}", -1);

            want = g_strjoinv(prefix, parts);
            g_assert_cmpstr(unitdir, ==, want);
        }
    }
    g_clear_pointer(&text, g_free);
    g_assert_true(g_file_get_contents(service, &text, NULL, &err));
    g_assert_no_error(err);
    exec = g_strdup_printf("\nExecStart=%s/vhost-user-snd --fd=3", bindir);
    g_assert_nonnull(strstr(text, exec));
    g_assert_true(g_file_test(socket, G_FILE_TEST_IS_REGULAR));

    g_assert_true(g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Our makes are not jobs of the make running the test suite: its
     * flags and command-line variables (TESTS=...) stay out. */
    g_unsetenv("MAKEFLAGS");
    g_unsetenv("MFLAGS");
    g_unsetenv("MAKELEVEL");
    g_unsetenv("MAKEOVERRIDES");
    g_test_add_func("/install/files", test_install);
    return g_test_run();
}
