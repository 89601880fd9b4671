/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-symbols.c - the product's symbols stay out of the libraries' way.
 *
 * The daemon loads alsa-lib, libpulse and PipeWire into its own process.
 * A function of ours named like one of theirs (snd_pcm_state) would be
 * bound in place of theirs by the dynamic linker: alsa-lib's own internal
 * calls landed in the device layer and the daemon aborted.  So:
 *  - the daemon exports nothing (no module uses a daemon symbol);
 *  - each driver module exports only its entry point;
 *  - no object of ours defines a symbol in a linked library's namespace.
 * Local copies of a library's static inline helpers (spa_pod_builder_add
 * emitted out of line) are the library's own code and are allowed: their
 * names are found in the installed headers.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

/* Namespaces owned by the libraries the daemon and its modules link. */
static const char *const library_prefixes[] = {
    "snd_", "_snd_", "pa_", "pw_", "spa_", "g_", "_g_", "glib_", NULL
};

/* The product's own archives in the build's .libs directory. */
static const char *const product_archives[] = {
    "libsnd.a", "libvu.a", "libaudio.a", "libvsnd-main.a", "libvsnd-guest-log.a", NULL
};

static const char *env_path(const char *name)
{
    const char *p = g_getenv(name);

    g_assert_nonnull(p);
    return p;
}

typedef struct {
    char type;
    char *name;
} Symbol;

static void symbol_clear(gpointer p)
{
    g_free(((Symbol *)p)->name);
}

/* Runs nm on @file (its dynamic table when @dynamic); returns the defined
 * symbols it lists. */
static GArray *nm_defined(const char *file, gboolean dynamic)
{
    char *argv[] = { "nm", "--defined-only", dynamic ? "-D" : "--", (char *)file, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    GArray *syms = g_array_new(FALSE, FALSE, sizeof(Symbol));
    int status;

    g_array_set_clear_func(syms, symbol_clear);
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                               &status, &error));
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("nm %s failed: %s", file, err);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit_set(*l, " \t", -1);
        /* "ADDR T name"; archive member headers "x.o:" and blanks have fewer fields. */
        if (g_strv_length(f) != 3 || strlen(f[1]) != 1)
            continue;
        Symbol s = { f[1][0], g_strdup(f[2]) };
        g_array_append_val(syms, s);
    }
    return syms;
}

static gboolean in_library_namespace(const char *name)
{
    for (const char *const *p = library_prefixes; *p; p++)
        if (g_str_has_prefix(name, *p))
            return TRUE;
    return FALSE;
}

/* Whether @name (a compiler-local copy, "name.0" suffixes stripped) is
 * declared by an installed library header, i.e. the library's own inline. */
static gboolean declared_by_library(const char *name)
{
    static GHashTable *cache;
    g_autofree char *base = g_strndup(name, strcspn(name, "."));
    gpointer hit;

    if (!cache)
        cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (g_hash_table_lookup_extended(cache, base, NULL, &hit))
        return GPOINTER_TO_INT(hit);
    char *argv[] = { "grep", "-rqw", "--include=*.h", base, "/usr/include", NULL };
    int status = 1;
    g_assert_true(g_spawn_sync(NULL, argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                                   G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
    gboolean found = g_spawn_check_wait_status(status, NULL);
    g_hash_table_insert(cache, g_strdup(base), GINT_TO_POINTER(found));
    return found;
}

static gboolean is_global(char type)
{
    return g_ascii_isupper(type) || type == 'u' || type == 'i';
}

/* Appends to @bad every symbol of @file in a library's namespace. */
static void check_namespaces(const char *file, GString *bad)
{
    g_autoptr(GArray) syms = nm_defined(file, FALSE);

    g_assert_cmpuint(syms->len, >, 0);
    for (guint i = 0; i < syms->len; i++) {
        Symbol *s = &g_array_index(syms, Symbol, i);
        if (!in_library_namespace(s->name))
            continue;
        if (!is_global(s->type) && declared_by_library(s->name))
            continue;
        g_string_append_printf(bad, "  %s: %c %s\n", file, s->type, s->name);
    }
}

static GPtrArray *driver_modules(void)
{
    const char *dir = env_path("VSND_DRIVERDIR");
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    GPtrArray *mods = g_ptr_array_new_with_free_func(g_free);
    const char *n;

    g_assert_nonnull(d);
    while ((n = g_dir_read_name(d)))
        if (g_str_has_suffix(n, ".so"))
            g_ptr_array_add(mods, g_build_filename(dir, n, NULL));
    return mods;
}

/* A dynamic symbol of a library (a copy relocation such as
 * stdout@GLIBC_2.2.5) carries its version; ours would not.  Names with two
 * leading underscores are the implementation's (C11 7.1.3): the sanitizer
 * runtime's copy-relocated __asan_option_detect_stack_use_after_return in
 * an ASan build; the product never defines one. */
static gboolean ours(const Symbol *s)
{
    return !strchr(s->name, '@') && !g_str_has_prefix(s->name, "__");
}

static void test_daemon_exports_nothing(void)
{
    g_autoptr(GArray) syms = nm_defined(env_path("VSND_DAEMON"), TRUE);
    g_autoptr(GString) bad = g_string_new(NULL);

    for (guint i = 0; i < syms->len; i++) {
        Symbol *s = &g_array_index(syms, Symbol, i);
        if (ours(s))
            g_string_append_printf(bad, "  %c %s\n", s->type, s->name);
    }
    if (bad->len)
        g_error("the daemon exports symbols (linked with --export-dynamic?):\n%s", bad->str);
}

static void test_modules_export_entry_only(void)
{
    g_autoptr(GPtrArray) mods = driver_modules();
    g_autoptr(GString) bad = g_string_new(NULL);

    for (guint m = 0; m < mods->len; m++) {
        g_autoptr(GArray) syms = nm_defined(mods->pdata[m], TRUE);
        gboolean entry = FALSE;
        for (guint i = 0; i < syms->len; i++) {
            Symbol *s = &g_array_index(syms, Symbol, i);
            if (g_str_equal(s->name, "vsnd_audio_driver_entry"))
                entry = TRUE;
            else if (ours(s))
                g_string_append_printf(bad, "  %s: %c %s\n", (char *)mods->pdata[m], s->type,
                                       s->name);
        }
        if (!entry)
            g_string_append_printf(bad, "  %s: no vsnd_audio_driver_entry\n",
                                   (char *)mods->pdata[m]);
    }
    if (bad->len)
        g_error("driver modules export more than their entry point:\n%s", bad->str);
}

static void test_no_library_namespace(void)
{
    g_autoptr(GString) bad = g_string_new(NULL);
    g_autoptr(GPtrArray) mods = driver_modules();
    const char *dir = env_path("VSND_DRIVERDIR");

    check_namespaces(env_path("VSND_DAEMON"), bad);
    for (const char *const *a = product_archives; *a; a++) {
        g_autofree char *path = g_build_filename(dir, *a, NULL);
        g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
        check_namespaces(path, bad);
    }
    for (guint m = 0; m < mods->len; m++)
        check_namespaces(mods->pdata[m], bad);
    if (bad->len)
        g_error("symbols in a linked library's namespace:\n%s", bad->str);
}

/* The checker itself: it must see the names it is meant to catch. */
static void test_checker_sees_namespaces(void)
{
    g_assert_true(in_library_namespace("snd_pcm_state"));
    g_assert_true(in_library_namespace("pw_drv_open"));
    g_assert_true(in_library_namespace("g_thing"));
    g_assert_false(in_library_namespace("vsnd_pcm_state"));
    g_assert_false(in_library_namespace("vu_queue_pop"));
    g_assert_true(declared_by_library("g_steal_pointer"));
    g_assert_false(declared_by_library("pw_drv_open"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/symbols/checker-sees-namespaces", test_checker_sees_namespaces);
    g_test_add_func("/symbols/daemon-exports-nothing", test_daemon_exports_nothing);
    g_test_add_func("/symbols/modules-export-entry-only", test_modules_export_entry_only);
    g_test_add_func("/symbols/no-library-namespace", test_no_library_namespace);
    return g_test_run();
}
