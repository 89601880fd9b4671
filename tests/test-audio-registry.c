/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-registry.c - driver spec parsing, lookup, module loading and
 * the "auto" order, through audio/registry.h.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "audio/registry.h"
#include "tests/audio/audio-test-util.h"

static void test_parse_valid(void)
{
    static const struct {
        const char *spec, *name;
        guint nopts;
        const char *key, *value;
    } cases[] = {
        { "null", "null", 0, NULL, NULL },
        { "wav,dir=/tmp/x", "wav", 1, "dir", "/tmp/x" },
        { "pulse,server=unix:/a=b", "pulse", 1, "server", "unix:/a=b" },
        { "alsa,device=plughw:0,,0", "alsa", 1, "device", "plughw:0,0" },
        { "alsa,device=plughw:0,0", NULL, 0, NULL, NULL }, /* "0" alone is invalid */
        { "wav,path=a.wav,tone=440,clock=manual", "wav", 3, "tone", "440" },
        { "my-drv_2,k-1=v", "my-drv_2", 1, "k-1", "v" },
        { "wav,dir=a,,b,,", "wav", 1, "dir", "a,b," },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = NULL;
        g_autoptr(GHashTable) opts = NULL;
        g_autoptr(GError) err = NULL;
        gboolean ok = vsnd_audio_parse_spec(cases[i].spec, &name, &opts, &err);

        if (!cases[i].name) {
            g_assert_false(ok);
            g_assert_nonnull(err);
            continue;
        }
        g_assert_no_error(err);
        g_assert_true(ok);
        g_assert_cmpstr(name, ==, cases[i].name);
        g_assert_cmpuint(g_hash_table_size(opts), ==, cases[i].nopts);
        if (cases[i].key)
            g_assert_cmpstr(g_hash_table_lookup(opts, cases[i].key), ==, cases[i].value);
    }
}

static void test_parse_invalid(void)
{
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        { "", "empty audio driver specification" },
        { ",dir=x", "invalid audio driver name" },
        { "Pulse", "invalid audio driver name \"Pulse\"" },
        { "wav;rm", "invalid audio driver name" },
        { "9null", "invalid audio driver name" },
        { "wav,dir", "option \"dir\" of audio driver \"wav\" needs a value" },
        { "wav,dir=", "option \"dir\" of audio driver \"wav\" has an empty value" },
        { "wav,,dir=x", "invalid audio driver name \"wav,dir=x\"" },
        { "wav,dir=x,", "empty option" },
        { "wav,=x", "invalid option name" },
        { "wav,Dir=x", "invalid option name \"Dir\"" },
        { "wav,dir=a,dir=b", "option \"dir\" given twice" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *name = NULL;
        GHashTable *opts = NULL;
        g_autoptr(GError) err = NULL;

        g_assert_false(vsnd_audio_parse_spec(cases[i].spec, &name, &opts, &err));
        g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT);
        if (!strstr(err->message, cases[i].needle))
            g_error("spec \"%s\": message \"%s\" lacks \"%s\"", cases[i].spec, err->message,
                    cases[i].needle);
        g_assert_null(name);
        g_assert_null(opts);
    }
    /* NULL spec as well */
    {
        char *name = NULL;
        GHashTable *opts = NULL;
        g_autoptr(GError) err = NULL;
        g_assert_false(vsnd_audio_parse_spec(NULL, &name, &opts, &err));
        g_assert_nonnull(err);
    }
}

static void test_known(void)
{
    const char *const *k = vsnd_audio_known_drivers();
    g_autofree char *all = g_strjoinv(" ", (char **)k);

    g_assert_cmpstr(all, ==, "auto null wav alsa pulse pipewire");
}

static void test_builtin_new(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = vsnd_audio_new("null", "vm", &err);
    g_autoptr(VsndAudio) w = NULL;
    VsndPcmCaps caps = { 0 };

    g_assert_no_error(err);
    g_assert_cmpstr(vsnd_audio_name(a), ==, "null");
    g_assert_cmpint(vsnd_audio_query_caps(a, VSND_DIR_OUTPUT, &caps), ==, 0);
    g_assert_cmphex(caps.rates, ==, 0xffff);
    g_assert_true(caps.formats & (1u << 5));      /* S16 */
    g_assert_false(caps.formats & 1u);            /* IMA ADPCM: no whole bytes */
    g_assert_cmpuint(caps.channels_min, ==, 1);
    g_assert_cmpuint(caps.channels_max, ==, 8);
    /* a driver without is_connected: always present */
    g_assert_true(vsnd_audio_is_connected(a, VSND_DIR_OUTPUT, NULL));

    w = vsnd_audio_new("wav,clock=manual", NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(vsnd_audio_name(w), ==, "wav");
}

static void test_unknown(void)
{
    static const struct {
        const char *spec, *needle;
        gint code;
    } cases[] = {
        { "nosuch", "unknown audio driver \"nosuch\" (known: auto, null, wav, alsa, pulse, "
                    "pipewire)", VSND_AUDIO_ERROR_NOT_FOUND },
        { "null,colour=red", "unknown option \"colour\" for audio driver \"null\" (known: clock)",
          VSND_AUDIO_ERROR_INVALID_ARGUMENT },
        { "wav,device=x", "unknown option \"device\" for audio driver \"wav\" (known: dir, path, "
                          "in, tone, clock)", VSND_AUDIO_ERROR_INVALID_ARGUMENT },
        { "null,clock=sundial", "clock must be", VSND_AUDIO_ERROR_INVALID_ARGUMENT },
        { "auto,server=x", "takes no options", VSND_AUDIO_ERROR_INVALID_ARGUMENT },
        { "wav,tone=-5", "not a frequency", VSND_AUDIO_ERROR_INVALID_ARGUMENT },
        { "wav,tone=440,in=x.wav", "not both", VSND_AUDIO_ERROR_INVALID_ARGUMENT },
        { "wav,in=/nonexistent/x.wav", "cannot read input file", VSND_AUDIO_ERROR_NOT_FOUND },
        { "wav,dir=/nonexistent/dir", "is not a directory", VSND_AUDIO_ERROR_NOT_FOUND },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = vsnd_audio_new(cases[i].spec, "vm", &err);

        g_assert_null(a);
        g_assert_error(err, VSND_AUDIO_ERROR, cases[i].code);
        if (!strstr(err->message, cases[i].needle))
            g_error("spec \"%s\": message \"%s\" lacks \"%s\"", cases[i].spec, err->message,
                    cases[i].needle);
    }
}

static void test_missing_module(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-reg-XXXXXX");
    g_autofree char *old = g_strdup(g_getenv("VSND_DRIVERDIR"));
    const char *names[] = { "pulse", "pipewire", "alsa" };

    g_setenv("VSND_DRIVERDIR", dir, TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = vsnd_audio_new(names[i], "vm", &err);
        g_autofree char *want = g_strdup_printf("audio driver \"%s\" is not installed: module "
                                                "%s/%s.so not found", names[i], dir, names[i]);
        g_assert_null(a);
        g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND);
        if (!strstr(err->message, want))
            g_error("message \"%s\" lacks \"%s\"", err->message, want);
    }
    /* A file that is not a loadable library: the loader's reason is given. */
    {
        g_autofree char *path = g_build_filename(dir, "alsa.so", NULL);
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = NULL;

        g_assert_true(g_file_set_contents(path, "not an ELF file", -1, NULL));
        a = vsnd_audio_new("alsa", "vm", &err);
        g_assert_null(a);
        g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND);
        g_assert_nonnull(strstr(err->message, "cannot be loaded from"));
        g_assert_nonnull(strstr(err->message, "alsa.so"));
    }
    /* With no modules at all, auto still comes up (null). */
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = vsnd_audio_new("auto", "vm", &err);
        g_assert_no_error(err);
        g_assert_cmpstr(vsnd_audio_name(a), ==, "null");
    }
    if (old)
        g_setenv("VSND_DRIVERDIR", old, TRUE);
    else
        g_unsetenv("VSND_DRIVERDIR");
    atu_rmdir(dir);
}

static void test_bad_abi(void)
{
    const char *builddir = g_getenv("G_TEST_BUILDDIR");
    g_autofree char *src = NULL;
    g_autofree char *dir = atu_tmpdir("vsnd-reg-XXXXXX");
    g_autofree char *dst = g_build_filename(dir, "pulse.so", NULL);
    g_autofree char *old = g_strdup(g_getenv("VSND_DRIVERDIR"));
    g_autofree char *contents = NULL;
    gsize len;
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = NULL;

    src = g_build_filename(builddir ? builddir : "tests", "audio", ".libs", "badabi.so", NULL);
    if (!g_file_get_contents(src, &contents, &len, NULL)) {
        /* built by make check; run by hand from the build dir otherwise */
        g_free(src);
        src = g_build_filename("tests", "audio", ".libs", "badabi.so", NULL);
        g_assert_true(g_file_get_contents(src, &contents, &len, NULL));
    }
    g_assert_true(g_file_set_contents(dst, contents, (gssize)len, NULL));
    g_setenv("VSND_DRIVERDIR", dir, TRUE);
    a = vsnd_audio_new("pulse", "vm", &err);
    g_assert_null(a);
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull(strstr(err->message, "ABI version 1001, this daemon needs 1"));
    if (old)
        g_setenv("VSND_DRIVERDIR", old, TRUE);
    else
        g_unsetenv("VSND_DRIVERDIR");
    atu_rmdir(dir);
}

/* No server anywhere: auto walks pipewire, pulse, alsa and ends at null. */
static void test_auto_no_servers(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-reg-XXXXXX");
    g_autofree char *conf = g_build_filename(dir, "asound.conf", NULL);
    g_autofree char *remote = g_build_filename(dir, "pipewire-0", NULL);
    g_autofree char *pulse = g_strdup_printf("unix:%s/native", dir);
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = NULL;

    /* An ALSA configuration without any PCM: "default" cannot open. */
    g_assert_true(g_file_set_contents(conf, "# no devices\n", -1, NULL));
    g_setenv("ALSA_CONFIG_PATH", conf, TRUE);
    g_setenv("XDG_RUNTIME_DIR", dir, TRUE);
    g_setenv("PIPEWIRE_RUNTIME_DIR", dir, TRUE);
    g_setenv("PIPEWIRE_REMOTE", remote, TRUE);
    g_setenv("PULSE_SERVER", pulse, TRUE);
    g_setenv("HOME", dir, TRUE);

    g_test_expect_message("vsnd-audio", G_LOG_LEVEL_MESSAGE, "*no audio server*using null*");
    a = vsnd_audio_new("auto", "vm", &err);
    g_test_assert_expected_messages();
    g_assert_no_error(err);
    g_assert_cmpstr(vsnd_audio_name(a), ==, "null");
    atu_rmdir(dir);
}

/* Missing operations answer -ENOTSUP through the wrappers. */
static void test_enotsup(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = vsnd_audio_new("null,clock=manual", "vm", &err);
    VsndPcmParams p = {
        .direction = VSND_DIR_OUTPUT, .format = 5, .rate = 7, .channels = 2,
        .period_bytes = 1920, .buffer_bytes = 3840,
    };
    AtuEvents ev = { 0 };
    VsndAudioStream *s;

    g_assert_no_error(err);
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_set_volume(a, s, 65536, false), ==, -ENOTSUP);
    vsnd_audio_close(a, s);
}

static void test_open_invalid(void)
{
    g_autoptr(GError) err0 = NULL;
    g_autoptr(VsndAudio) a = vsnd_audio_new("null,clock=manual", "vm", &err0);
    static const VsndPcmParams bad[] = {
        { .direction = VSND_DIR_OUTPUT, .format = 0, .rate = 7, .channels = 2,
          .period_bytes = 1920, .buffer_bytes = 3840 },           /* IMA ADPCM */
        { .direction = VSND_DIR_OUTPUT, .format = 25, .rate = 7, .channels = 2,
          .period_bytes = 1920, .buffer_bytes = 3840 },           /* undefined format */
        { .direction = VSND_DIR_OUTPUT, .format = 255, .rate = 7, .channels = 2,
          .period_bytes = 1920, .buffer_bytes = 3840 },
        { .direction = VSND_DIR_OUTPUT, .format = 5, .rate = 16, .channels = 2,
          .period_bytes = 1920, .buffer_bytes = 3840 },           /* undefined rate */
        { .direction = VSND_DIR_OUTPUT, .format = 5, .rate = 7, .channels = 0,
          .period_bytes = 1920, .buffer_bytes = 3840 },
        { .direction = VSND_DIR_OUTPUT, .format = 5, .rate = 7, .channels = 2,
          .period_bytes = 0, .buffer_bytes = 3840 },
        { .direction = VSND_DIR_OUTPUT, .format = 5, .rate = 7, .channels = 2,
          .period_bytes = 1921, .buffer_bytes = 3842 },           /* not whole frames */
        { .direction = VSND_DIR_OUTPUT, .format = 5, .rate = 7, .channels = 2,
          .period_bytes = 1920, .buffer_bytes = 1000 },           /* buffer < period */
        { .direction = 7, .format = 5, .rate = 7, .channels = 2,
          .period_bytes = 1920, .buffer_bytes = 3840 },
    };

    g_assert_no_error(err0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        AtuEvents ev = { 0 };
        g_assert_null(vsnd_audio_open(a, &bad[i], &atu_events, &ev, &err));
        g_assert_nonnull(err);
    }
}

/* ---- vsnd_audio_register_driver(): a driver linked into the program ---- */

static unsigned int linked_inits;

static VsndAudioBackend *linked_init(GHashTable *options, const char *vm_name, GError **error)
{
    linked_inits++;
    return (VsndAudioBackend *)&linked_inits; /* any non-NULL handle; no fini */
}

static VsndAudioStream *linked_open(VsndAudioBackend *be, const VsndPcmParams *params,
                                    const VsndAudioStreamEvents *events, void *opaque,
                                    GError **error)
{
    g_set_error_literal(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_BUSY, "linked: busy");
    return NULL;
}

static const char *const linked_keys[] = { "knob", NULL };

static const VsndAudioDriver linked_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "linked",
    .init = linked_init,
    .open = linked_open,
    .option_keys = linked_keys,
};

static void test_register(void)
{
    VsndAudioDriver bad_abi = linked_driver, no_open = linked_driver, bad_name = linked_driver;
    VsndAudioDriver taken[] = { linked_driver, linked_driver, linked_driver, linked_driver };
    static const char *const taken_names[] = { "null", "alsa", "auto", "linked" };
    const char *const *keys = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = NULL;

    /* unknown before, like any name no driver has */
    g_assert_null(vsnd_audio_new("linked", "vm", &err));
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND);
    g_clear_error(&err);

    /* tables are checked as a module's are */
    bad_abi.abi_version = VSND_AUDIO_ABI_VERSION + 1;
    g_assert_false(vsnd_audio_register_driver(&bad_abi, &err));
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED);
    g_clear_error(&err);
    no_open.open = NULL;
    g_assert_false(vsnd_audio_register_driver(&no_open, &err));
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&err);
    bad_name.name = "Linked";
    g_assert_false(vsnd_audio_register_driver(&bad_name, &err));
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&err);
    g_assert_false(vsnd_audio_register_driver(NULL, &err));
    g_clear_error(&err);

    g_assert_true(vsnd_audio_register_driver(&linked_driver, &err));
    g_assert_no_error(err);
    /* no name twice: not a built-in's, a module's, "auto", nor its own */
    for (size_t i = 0; i < G_N_ELEMENTS(taken); i++) {
        taken[i].name = taken_names[i];
        g_assert_false(vsnd_audio_register_driver(&taken[i], &err));
        g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_BUSY);
        g_clear_error(&err);
    }

    /* found by name, through the registry's option check and init */
    g_assert_true(vsnd_audio_driver_option_keys("linked", &keys, &err));
    g_assert_cmpstr(keys[0], ==, "knob");
    g_assert_null(vsnd_audio_new("linked,colour=red", "vm", &err));
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&err);
    g_assert_cmpuint(linked_inits, ==, 0);
    a = vsnd_audio_new("linked,knob=1", "vm", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(vsnd_audio_name(a), ==, "linked");
    g_assert_cmpuint(linked_inits, ==, 1);
    /* operations it leaves NULL answer as for any driver */
    g_assert_cmpint(vsnd_audio_start(a, NULL), ==, -ENOTSUP);
    g_assert_true(vsnd_audio_is_connected(a, VSND_DIR_OUTPUT, NULL));
}

/* Random specs: parsing either succeeds with a valid name and options or
 * fails with a message; it never crashes (and leaks nothing under ASan). */
static void test_parse_random(void)
{
    static const char alphabet[] = ",,,,====abcdezAZ09_-./:% ";

    for (int i = 0; i < 20000; i++) {
        char spec[24];
        int len = g_test_rand_int_range(0, (int)sizeof(spec));
        g_autofree char *name = NULL;
        g_autoptr(GHashTable) opts = NULL;
        g_autoptr(GError) err = NULL;

        for (int j = 0; j < len; j++)
            spec[j] = alphabet[g_test_rand_int_range(0, (int)sizeof(alphabet) - 1)];
        spec[len] = 0;
        if (vsnd_audio_parse_spec(spec, &name, &opts, &err)) {
            GHashTableIter it;
            gpointer k, v;

            g_assert_no_error(err);
            g_assert_true(g_ascii_islower(name[0]));
            g_hash_table_iter_init(&it, opts);
            while (g_hash_table_iter_next(&it, &k, &v)) {
                g_assert_true(g_ascii_islower(((char *)k)[0]));
                g_assert_cmpuint(strlen(v), >, 0);
            }
        } else {
            g_assert_nonnull(err);
            g_assert_null(name);
            g_assert_null(opts);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/registry/parse/valid", test_parse_valid);
    g_test_add_func("/audio/registry/parse/invalid", test_parse_invalid);
    g_test_add_func("/audio/registry/parse/random", test_parse_random);
    g_test_add_func("/audio/registry/known-drivers", test_known);
    g_test_add_func("/audio/registry/new/builtin", test_builtin_new);
    g_test_add_func("/audio/registry/new/invalid", test_unknown);
    g_test_add_func("/audio/registry/module/missing", test_missing_module);
    g_test_add_func("/audio/registry/module/bad-abi", test_bad_abi);
    g_test_add_func("/audio/registry/auto/no-servers-falls-back-to-null", test_auto_no_servers);
    g_test_add_func("/audio/registry/ops/missing-answers-enotsup", test_enotsup);
    g_test_add_func("/audio/registry/open/invalid-params", test_open_invalid);
    g_test_add_func("/audio/registry/register/linked-driver", test_register);
    return g_test_run();
}
