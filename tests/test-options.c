/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-options.c - command line parsing and validation, valid and invalid. */
#include "config.h"

#include <linux/virtio_snd.h>
#include <string.h>

#include "audio/driver-help.h"
#include "audio/registry.h"
#include "options.h"

static VsndConfig *parse(const char *first, ...) G_GNUC_NULL_TERMINATED;

static GError *last_error;

/* Parses "vhost-user-snd <args...>"; last_error holds a failure. */
static VsndConfig *parse(const char *first, ...)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    va_list ap;
    gboolean done = FALSE;
    int argc;
    char **argv, **argv_copy;
    VsndConfig *cfg;

    g_clear_error(&last_error);
    g_ptr_array_add(args, (char *)"vhost-user-snd");
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(args, (char *)a);
    va_end(ap);
    argc = (int)args->len;
    argv = g_new0(char *, args->len + 1);
    for (guint i = 0; i < args->len; i++)
        argv[i] = g_strdup(args->pdata[i]);
    argv_copy = g_memdup2(argv, sizeof(char *) * (args->len + 1));
    cfg = vsnd_options_parse(&argc, &argv, &done, &last_error);
    g_assert_false(done);
    /* GOption rearranges argv; free what we allocated. */
    for (guint i = 0; i < args->len; i++)
        g_free(argv_copy[i]);
    g_free(argv_copy);
    g_free(argv);
    return cfg;
}

/* --sandbox-allow collects every path, in order; an empty one is refused. */
static void test_sandbox_allow(void)
{
    g_autoptr(VsndConfig) none = parse("--socket-path=/tmp/x.sock", NULL);
    g_assert_null(none->sandbox_allow);

    g_autoptr(VsndConfig) two = parse("--socket-path=/tmp/x.sock", "--sandbox-allow=/srv/a",
                                      "--sandbox-allow=/srv/b", NULL);
    g_assert_no_error(last_error);
    g_assert_cmpuint(g_strv_length(two->sandbox_allow), ==, 2);
    g_assert_cmpstr(two->sandbox_allow[0], ==, "/srv/a");
    g_assert_cmpstr(two->sandbox_allow[1], ==, "/srv/b");

    g_assert_null(parse("--socket-path=/tmp/x.sock", "--sandbox-allow=", NULL));
    g_assert_nonnull(last_error);
    g_assert_nonnull(strstr(last_error->message, "--sandbox-allow"));
}

static void test_defaults(void)
{
    g_autoptr(VsndConfig) cfg = parse("--socket-path=/tmp/x.sock", NULL);

    g_assert_no_error(last_error);
    g_assert_nonnull(cfg);
    g_assert_cmpstr(cfg->socket_path, ==, "/tmp/x.sock");
    g_assert_cmpint(cfg->fd, ==, -1);
    g_assert_cmpuint(cfg->device.streams, ==, 2);
    g_assert_cmpuint(cfg->device.jacks, ==, 2);
    g_assert_cmpuint(cfg->device.chmaps, ==, 2);
    g_assert_false(cfg->device.controls);
    g_assert_cmpstr(cfg->driver, ==, "auto");
    g_assert_cmpstr(cfg->device.name, ==, "vhost-user-snd");
    g_assert_cmpint(cfg->device.stream[0].direction, ==, VSND_DIR_OUTPUT);
    g_assert_cmpint(cfg->device.stream[1].direction, ==, VSND_DIR_INPUT);
    g_assert_cmpuint(cfg->device.stream[0].channels_min, ==, 1);
    g_assert_cmpuint(cfg->device.stream[0].channels_max, ==, 2);
    g_assert_cmpuint(cfg->device.stream[0].formats, ==, 0);
    g_assert_null(cfg->device.stream[0].target);
}

static void test_streams_alternate(void)
{
    g_autoptr(VsndConfig) cfg = parse("--fd=3", "--streams=5", NULL);

    g_assert_no_error(last_error);
    g_assert_cmpint(cfg->fd, ==, 3);
    g_assert_cmpuint(cfg->device.streams, ==, 5);
    g_assert_cmpuint(cfg->device.jacks, ==, 5);
    for (guint i = 0; i < 5; i++)
        g_assert_cmpint(cfg->device.stream[i].direction, ==, i % 2 ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
}

static void test_device_options(void)
{
    g_autoptr(VsndConfig) cfg =
        parse("--socket-path=/tmp/s", "--streams=3", "--jacks=0", "--chmaps=1", "--controls",
              "--driver=wav,path=guest.wav", "--name=guest-1", "-v",
              "--stream=2:dir=capture,channels=1-8,formats=s16+float,rates=12000+48000,target=mic0",
              "--stream=0:channels=6", NULL);

    g_assert_no_error(last_error);
    g_assert_cmpuint(cfg->device.jacks, ==, 0);
    g_assert_cmpuint(cfg->device.chmaps, ==, 1);
    g_assert_true(cfg->device.controls);
    g_assert_true(cfg->verbose);
    g_assert_cmpstr(cfg->driver, ==, "wav,path=guest.wav");
    g_assert_cmpstr(cfg->device.name, ==, "guest-1");
    g_assert_cmpint(cfg->device.stream[2].direction, ==, VSND_DIR_INPUT);
    g_assert_cmpuint(cfg->device.stream[2].channels_min, ==, 1);
    g_assert_cmpuint(cfg->device.stream[2].channels_max, ==, 8);
    g_assert_cmphex(cfg->device.stream[2].formats, ==,
                    (1ull << VIRTIO_SND_PCM_FMT_S16) | (1ull << VIRTIO_SND_PCM_FMT_FLOAT));
    /* 12 kHz is rate code 14 (virtio 1.4), 48 kHz code 7. */
    g_assert_cmphex(cfg->device.stream[2].rates, ==, (1ull << 14) | (1ull << VIRTIO_SND_PCM_RATE_48000));
    g_assert_cmpstr(cfg->device.stream[2].target, ==, "mic0");
    g_assert_cmpuint(cfg->device.stream[0].channels_min, ==, 6);
    g_assert_cmpuint(cfg->device.stream[0].channels_max, ==, 6);
}

static void test_every_driver_name(void)
{
    const char *names[] = {"auto", "null", "wav", "alsa", "pulse", "pipewire"};

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *opt = g_strdup_printf("--driver=%s", names[i]);
        g_autoptr(VsndConfig) cfg = parse("--fd=0", opt, NULL);

        g_assert_no_error(last_error);
        g_assert_cmpstr(cfg->driver, ==, names[i]);
    }
}

typedef struct {
    const char *name;
    const char *args[4];
    const char *message_part; /* the error must name the option */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
    {"no-socket", {"--streams=2"}, "--socket-path"},
    {"socket-and-fd", {"--socket-path=/tmp/a", "--fd=3"}, "--fd"},
    {"empty-socket-path", {"--socket-path="}, "--socket-path"},
    {"fd-negative", {"--fd=-1"}, "--fd"},
    {"fd-text", {"--fd=three"}, "--fd"},
    {"streams-zero", {"--fd=3", "--streams=0"}, "--streams"},
    {"streams-too-many", {"--fd=3", "--streams=65"}, "--streams"},
    {"streams-text", {"--fd=3", "--streams=two"}, "--streams"},
    {"streams-trailing", {"--fd=3", "--streams=2x"}, "--streams"},
    {"jacks-too-many", {"--fd=3", "--jacks=65"}, "--jacks"},
    {"chmaps-negative", {"--fd=3", "--chmaps=-2"}, "--chmaps"},
    {"driver-unknown", {"--fd=3", "--driver=oss"}, "--driver"},
    {"driver-empty", {"--fd=3", "--driver="}, "--driver"},
    {"driver-bad-option", {"--fd=3", "--driver=wav,path"}, "--driver"},
    {"name-empty", {"--fd=3", "--name="}, "--name"},
    {"stream-no-colon", {"--fd=3", "--stream=0"}, "--stream"},
    {"stream-id-range", {"--fd=3", "--stream=2:dir=capture"}, "--stream"},
    {"stream-bad-dir", {"--fd=3", "--stream=0:dir=sideways"}, "--stream"},
    {"stream-channels-zero", {"--fd=3", "--stream=0:channels=0"}, "--stream"},
    {"stream-channels-nine", {"--fd=3", "--stream=0:channels=1-9"}, "--stream"},
    {"stream-channels-reversed", {"--fd=3", "--stream=0:channels=4-2"}, "--stream"},
    {"stream-bad-format", {"--fd=3", "--stream=0:formats=s16+mp3"}, "--stream"},
    {"stream-bad-rate", {"--fd=3", "--stream=0:rates=44000"}, "--stream"},
    {"stream-unknown-key", {"--fd=3", "--stream=0:volume=3"}, "--stream"},
    {"stray-argument", {"--fd=3", "extra"}, "extra"},
    {"unknown-option", {"--fd=3", "--frobnicate"}, "--frobnicate"},
};

static void test_invalid(gconstpointer data)
{
    const InvalidCase *c = data;
    g_autoptr(VsndConfig) cfg = parse(c->args[0], c->args[1], c->args[2], c->args[3], NULL);

    g_assert_null(cfg);
    g_assert_nonnull(last_error);
    g_test_message("%s -> %s", c->name, last_error->message);
    g_assert_nonnull(strstr(last_error->message, c->message_part));
}

static char *read_source(const char *rel)
{
    g_autofree char *path = g_build_filename(g_getenv("VSND_SRCDIR"), rel, NULL);
    g_autoptr(GError) err = NULL;
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, &err));
    g_assert_no_error(err);
    return text;
}

/* Runs the parser in this (trapped) process, expecting help on stdout. */
static void parse_expect_exit(const char *arg)
{
    char *argv0[] = { (char *)"vhost-user-snd", (char *)arg, NULL };
    char **argv = argv0;
    int argc = 2;
    gboolean done = FALSE;
    g_autoptr(GError) error = NULL;
    g_autoptr(VsndConfig) cfg = vsnd_options_parse(&argc, &argv, &done, &error);

    g_assert_null(cfg);
    g_assert_no_error(error);
    g_assert_true(done);
}

/* Every driver this build has: null and wav always, modules as configured. */
static gboolean driver_built(const char *name)
{
    return strcmp(name, "auto") == 0 || strcmp(name, "null") == 0 || strcmp(name, "wav") == 0
#ifdef HAVE_ALSA
           || strcmp(name, "alsa") == 0
#endif
#ifdef HAVE_PULSE
           || strcmp(name, "pulse") == 0
#endif
#ifdef HAVE_PIPEWIRE
           || strcmp(name, "pipewire") == 0
#endif
        ;
}

/* --driver=help needs no socket option, exits and lists each driver this
 * build has with its description (modules from $VSND_DRIVERDIR). */
static void test_driver_help_list(void)
{
    if (g_test_subprocess()) {
        parse_expect_exit("--driver=help");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("Audio drivers on this machine*");
    for (const char *const *d = vsnd_audio_known_drivers(); *d; d++) {
        g_autofree char *line = g_strdup_printf("*\n  %-9s %.20s*", *d,
                                                vsnd_audio_driver_help(*d)->summary);
        g_autofree char *missing = g_strdup_printf("*Not available on this machine:*\n  %-9s *", *d);

        if (driver_built(*d)) {
            g_test_trap_assert_stdout(line);
            g_test_trap_assert_stdout_unmatched(missing);
        } else {
            g_test_trap_assert_stdout(missing);
        }
    }
}

/* --driver=NAME,help shows every option a driver accepts; the help table and
 * the drivers' option_keys are the same sets, so neither can drift. */
static void test_driver_help_options(gconstpointer data)
{
    const char *name = data;
    const VsndAudioDriverHelp *h = vsnd_audio_driver_help(name);
    g_autoptr(GError) error = NULL;
    const char *const *keys = NULL;
    guint nkeys = 0, nhelp = 0;

    if (g_test_subprocess()) {
        g_autofree char *arg = g_strdup_printf("--driver=%s,help", name);

        parse_expect_exit(arg);
        return;
    }
    g_assert_nonnull(h);
    if (!driver_built(name)) {
        /* Described all the same, and said to be missing. */
        g_assert_false(vsnd_audio_driver_option_keys(name, &keys, &error));
        g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
        g_test_trap_assert_passed();
        g_test_trap_assert_stdout("*Not available on this machine*");
        return;
    }
    g_assert_true(vsnd_audio_driver_option_keys(name, &keys, &error));
    g_assert_no_error(error);
    for (; keys[nkeys]; nkeys++) {
        gboolean described = FALSE;

        for (const VsndAudioOptionHelp *o = h->options; o->key; o++)
            described = described || strcmp(o->key, keys[nkeys]) == 0;
        if (!described)
            g_error("option %s of driver %s has no help text", keys[nkeys], name);
    }
    for (const VsndAudioOptionHelp *o = h->options; o->key; o++)
        nhelp++;
    g_assert_cmpuint(nhelp, ==, nkeys);

    /* The man page and the README document each option too. */
    for (guint i = 0; i < nkeys; i++) {
        g_autofree char *man = read_source("data/vhost-user-snd.1");
        g_autofree char *readme = read_source("README.md");
        g_autofree char *man_bi = g_strdup_printf("\n.BI %s= ", keys[i]);
        g_autofree char *man_br = g_strdup_printf("\n.BR %s=", keys[i]);
        g_autofree char *md = g_strdup_printf("`%s=", keys[i]);
        g_autofree char *row = g_strdup_printf("\n| `%s` |", name);
        const char *r = strstr(readme, row);

        if (!strstr(man, man_bi) && !strstr(man, man_br))
            g_error("the man page does not document %s's option %s", name, keys[i]);
        g_assert_nonnull(r);
        if (!strstr(r, md) || strstr(r, md) > strchr(r + 1, '\n'))
            g_error("README's driver table does not document %s's option %s", name, keys[i]);
    }

    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    {
        g_autofree char *head = g_strdup_printf("%s: %s*", name, h->summary);
        g_test_trap_assert_stdout(head);
    }
    g_test_trap_assert_stdout_unmatched("*Not available*");
    for (guint i = 0; i < nkeys; i++) {
        g_autofree char *line = g_strdup_printf("*\n  %s=*", keys[i]);

        g_test_trap_assert_stdout(line);
    }
    if (nkeys == 0)
        g_test_trap_assert_stdout("*No options.*");
}

static void test_driver_help_unknown(void)
{
    g_autoptr(VsndConfig) cfg = parse("--driver=oss,help", NULL);

    g_assert_null(cfg);
    g_assert_nonnull(last_error);
    g_assert_nonnull(strstr(last_error->message, "--driver"));
    g_assert_nonnull(strstr(last_error->message, "oss"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/options/defaults", test_defaults);
    g_test_add_func("/options/sandbox-allow", test_sandbox_allow);
    g_test_add_func("/options/streams-alternate", test_streams_alternate);
    g_test_add_func("/options/device-options", test_device_options);
    g_test_add_func("/options/every-driver-name", test_every_driver_name);
    g_test_add_func("/options/driver-help/list", test_driver_help_list);
    g_test_add_func("/options/driver-help/unknown", test_driver_help_unknown);
    for (const char *const *d = vsnd_audio_known_drivers(); *d; d++) {
        g_autofree char *path = g_strdup_printf("/options/driver-help/%s", *d);

        g_test_add_data_func(path, *d, test_driver_help_options);
    }
    for (guint i = 0; i < G_N_ELEMENTS(invalid_cases); i++) {
        g_autofree char *path = g_strdup_printf("/options/invalid/%s", invalid_cases[i].name);

        g_test_add_data_func(path, &invalid_cases[i], test_invalid);
    }
    return g_test_run();
}
