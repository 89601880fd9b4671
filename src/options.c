/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.c - command line of vhost-user-snd.
 *
 * Follows the vhost-user spec's "Backend program conventions":
 * --socket-path and --fd are mutually exclusive, and every invalid value is
 * refused here, naming the option, before any socket or driver exists.
 * --print-capabilities is handled by main.c before this parser runs because
 * it must ignore every other option, valid or not.
 */
#include "config.h"

#include <errno.h>
#include <linux/virtio_snd.h>
#include <stdlib.h>
#include <string.h>

#include "audio/driver-help.h"
#include "audio/pcm-format.h"
#include "audio/registry.h"
#include "i18n.h"
#include "options.h"

#define VSND_DEFAULT_NAME "vhost-user-snd"

GQuark vsnd_options_error_quark(void);
G_DEFINE_QUARK(vsnd-options-error-quark, vsnd_options_error)
#define VSND_OPTIONS_ERROR (vsnd_options_error_quark())

static gboolean parse_uint(const char *option, const char *text, guint64 min, guint64 max,
                           guint64 *ret, GError **error)
{
    guint64 v;

    if (!text || !g_ascii_string_to_unsigned(text, 10, min, max, &v, NULL)) {
        g_set_error(error, VSND_OPTIONS_ERROR, 1,
                    _("Invalid value for %s: “%s” (expected a number from %llu to %llu)"),
                    option, text ? text : "", (unsigned long long)min, (unsigned long long)max);
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

static gboolean parse_format_list(const char *text, uint64_t *ret, GError **error)
{
    g_auto(GStrv) names = g_strsplit(text, "+", -1);
    uint64_t bits = 0;

    for (char **n = names; *n; n++) {
        gboolean found = FALSE;

        /* The spec's format names, in any case: s16, float64, ... */
        for (unsigned int i = 0; i < VSND_PCM_FMT_COUNT; i++) {
            if (g_ascii_strcasecmp(*n, vsnd_pcm_format_name(i)) == 0) {
                bits |= UINT64_C(1) << i;
                found = TRUE;
            }
        }
        if (!found) {
            g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --stream: unknown format “%s”"), *n);
            return FALSE;
        }
    }
    *ret = bits;
    return TRUE;
}

static gboolean parse_rate_list(const char *text, uint64_t *ret, GError **error)
{
    g_auto(GStrv) rates = g_strsplit(text, "+", -1);
    uint64_t bits = 0;

    for (char **r = rates; *r; r++) {
        guint64 hz = 0;
        int code = -1;

        if (g_ascii_string_to_unsigned(*r, 10, 1, 1000000, &hz, NULL))
            code = vsnd_pcm_rate_from_hz((uint32_t)hz);
        if (code < 0) {
            g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --stream: unsupported rate “%s”"), *r);
            return FALSE;
        }
        bits |= UINT64_C(1) << code;
    }
    *ret = bits;
    return TRUE;
}

/* channels=N or channels=MIN-MAX, within 1..8. */
static gboolean parse_channels(const char *text, VsndStreamConfig *sc, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, "-", 2);
    guint64 lo, hi;

    if (!parse_uint("--stream channels", parts[0], 1, 8, &lo, error))
        return FALSE;
    hi = lo;
    if (parts[1] && !parse_uint("--stream channels", parts[1], lo, 8, &hi, error))
        return FALSE;
    sc->channels_min = (uint8_t)lo;
    sc->channels_max = (uint8_t)hi;
    return TRUE;
}

/* --stream=ID:key=value[,key=value...] */
static gboolean parse_stream_option(VsndConfig *cfg, const char *text, GError **error)
{
    const char *colon = strchr(text, ':');
    g_autofree char *id_text = NULL;
    g_auto(GStrv) pairs = NULL;
    guint64 id;
    VsndStreamConfig *sc;

    if (!colon) {
        g_set_error(error, VSND_OPTIONS_ERROR, 1,
                    _("Invalid value for --stream: “%s” (expected ID:key=value,...)"), text);
        return FALSE;
    }
    id_text = g_strndup(text, (gsize)(colon - text));
    if (!parse_uint("--stream", id_text, 0, cfg->device.streams - 1, &id, error))
        return FALSE;
    sc = &cfg->device.stream[id];

    pairs = g_strsplit(colon + 1, ",", -1);
    for (char **p = pairs; *p; p++) {
        const char *eq = strchr(*p, '=');
        g_autofree char *key = NULL;
        const char *value;

        if (!eq || eq == *p || !eq[1]) {
            g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --stream: “%s” (expected key=value)"), *p);
            return FALSE;
        }
        key = g_strndup(*p, (gsize)(eq - *p));
        value = eq + 1;
        if (strcmp(key, "dir") == 0) {
            if (strcmp(value, "playback") == 0 || strcmp(value, "output") == 0) {
                sc->direction = VSND_DIR_OUTPUT;
            } else if (strcmp(value, "capture") == 0 || strcmp(value, "input") == 0) {
                sc->direction = VSND_DIR_INPUT;
            } else {
                g_set_error(error, VSND_OPTIONS_ERROR, 1,
                            _("Invalid value for --stream: dir must be playback or capture, not “%s”"), value);
                return FALSE;
            }
        } else if (strcmp(key, "channels") == 0) {
            if (!parse_channels(value, sc, error))
                return FALSE;
        } else if (strcmp(key, "formats") == 0) {
            if (!parse_format_list(value, &sc->formats, error))
                return FALSE;
        } else if (strcmp(key, "rates") == 0) {
            if (!parse_rate_list(value, &sc->rates, error))
                return FALSE;
        } else if (strcmp(key, "target") == 0) {
            g_free(sc->target);
            sc->target = g_strdup(value);
        } else {
            g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --stream: unknown key “%s”"), key);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean validate_driver(const char *spec, GError **error)
{
    g_autofree char *name = NULL;
    g_autoptr(GHashTable) options = NULL;
    g_autoptr(GError) local = NULL;

    if (!vsnd_audio_parse_spec(spec, &name, &options, &local)) {
        g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --driver: %s"), local->message);
        return FALSE;
    }
    if (strcmp(name, "auto") == 0)
        return TRUE;
    for (const char *const *d = vsnd_audio_known_drivers(); *d; d++) {
        if (strcmp(*d, name) == 0)
            return TRUE;
    }
    g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --driver: unknown driver “%s”"), name);
    return FALSE;
}

/*
 * --driver=help lists the drivers, --driver=NAME,help one driver's options,
 * as QEMU's -audiodev help does.  TRUE when @spec asked for help (printed,
 * or @error set for an unknown driver).
 */
static gboolean driver_help(const char *spec, GError **error)
{
    g_autofree char *name = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;
    size_t len = strlen(spec);

    if (strcmp(spec, "help") == 0) {
        text = vsnd_audio_help_text(NULL, NULL);
    } else if (len > 5 && strcmp(spec + len - 5, ",help") == 0) {
        name = g_strndup(spec, len - 5);
        text = vsnd_audio_help_text(name, &local);
        if (!text) {
            g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --driver: %s"),
                        local->message);
            return TRUE;
        }
    } else {
        return FALSE;
    }
    g_print("%s", text);
    return TRUE;
}

void vsnd_config_free(VsndConfig *cfg)
{
    if (!cfg)
        return;
    if (cfg->device.stream) {
        for (guint i = 0; i < cfg->device.streams; i++)
            g_free(cfg->device.stream[i].target);
        g_free(cfg->device.stream);
    }
    g_free(cfg->socket_path);
    g_free(cfg->driver);
    g_free(cfg->device.name);
    g_free(cfg->device.state_file);
    g_free(cfg->user);
    g_strfreev(cfg->sandbox_allow);
    g_free(cfg);
}

VsndConfig *vsnd_options_parse(int *argc, char ***argv, gboolean *ret_exit, GError **error)
{
    g_autoptr(VsndConfig) cfg = g_new0(VsndConfig, 1);
    g_autofree char *socket_path = NULL;
    g_autofree char *fd_text = NULL, *streams_text = NULL, *jacks_text = NULL, *chmaps_text = NULL;
    g_autofree char *driver = NULL, *name = NULL, *state_file = NULL;
    g_auto(GStrv) stream_opts = NULL;
    g_autofree char *sandbox = NULL, *user = NULL;
    g_auto(GStrv) sandbox_allow = NULL;
    gboolean print_caps = FALSE, verbose = FALSE, version = FALSE, controls = FALSE;
    guint64 v;
    const GOptionEntry entries[] = {
        {"socket-path", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
         N_("Create the vhost-user Unix socket at PATH"), N_("PATH")},
        {"fd", 0, 0, G_OPTION_ARG_STRING, &fd_text,
         N_("Use the inherited vhost-user socket FD (listening or connected)"), N_("FD")},
        {"print-capabilities", 0, 0, G_OPTION_ARG_NONE, &print_caps,
         N_("Print the back-end capabilities as JSON and exit"), NULL},
        {"streams", 0, 0, G_OPTION_ARG_STRING, &streams_text,
         N_("Number of PCM streams (default 2: stream 0 plays, stream 1 captures, and so on)"), N_("N")},
        {"jacks", 0, 0, G_OPTION_ARG_STRING, &jacks_text,
         N_("Number of jacks (default: one per stream)"), N_("N")},
        {"chmaps", 0, 0, G_OPTION_ARG_STRING, &chmaps_text,
         N_("Number of channel maps (default: one per stream)"), N_("N")},
        {"controls", 0, 0, G_OPTION_ARG_NONE, &controls,
         N_("Offer control elements (volume, mute); needs QEMU's controls=on"), NULL},
        {"stream", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stream_opts,
         N_("Configure one stream: dir=playback|capture, channels=N[-M], formats=s16+float, rates=44100+48000, target=NAME"),
         N_("ID:KEY=VALUE,...")},
        {"driver", 'd', 0, G_OPTION_ARG_STRING, &driver,
         N_("Host audio driver: auto, null, wav, alsa, pulse or pipewire, with options (default auto); --driver=help lists them, --driver=NAME,help a driver's options"),
         N_("NAME[,KEY=VALUE...]")},
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name,
         N_("How the virtual machine is labelled in the host's mixer"), N_("TEXT")},
        {"state-file", 0, 0, G_OPTION_ARG_FILENAME, &state_file,
         N_("Keep the device state in PATH so that a restarted daemon resumes the streams"), N_("PATH")},
        /* Confinement (src/sandbox.h). */
        {"sandbox", 0, 0, G_OPTION_ARG_STRING, &sandbox,
         N_("Confine the daemon after start-up: on (default), log (find what a driver needs) or off"),
         N_("on|log|off")},
        {"sandbox-allow", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &sandbox_allow,
         N_("Let the confined daemon also read and write below PATH (for example the files of an ALSA file PCM); repeatable"),
         N_("PATH")},
        {"user", 'u', 0, G_OPTION_ARG_STRING, &user,
         N_("When started as root, switch to USER after start-up"), N_("USER")},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log debug messages"), NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);

    *ret_exit = FALSE;
    g_option_context_set_summary(ctx, _("A virtio-snd device for QEMU guests, served over vhost-user."));
    g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
    g_option_context_set_translation_domain(ctx, GETTEXT_PACKAGE);
    if (!g_option_context_parse(ctx, argc, argv, error))
        return NULL;

    if (version) {
        g_print("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        *ret_exit = TRUE;
        return NULL;
    }
    if (driver) {
        g_autoptr(GError) help_error = NULL;

        if (driver_help(driver, &help_error)) {
            *ret_exit = help_error == NULL;
            if (help_error)
                g_propagate_error(error, g_steal_pointer(&help_error));
            return NULL;
        }
    }
    if (*argc > 1) {
        g_set_error(error, VSND_OPTIONS_ERROR, 1, _("Unexpected argument “%s”"), (*argv)[1]);
        return NULL;
    }

    cfg->print_capabilities = print_caps;
    cfg->verbose = verbose;
    cfg->device.controls = controls;
    cfg->fd = -1;
    if (fd_text) {
        if (!parse_uint("--fd", fd_text, 0, G_MAXINT, &v, error))
            return NULL;
        cfg->fd = (int)v;
    }
    if (socket_path && cfg->fd >= 0) {
        g_set_error_literal(error, VSND_OPTIONS_ERROR, 1, _("--socket-path and --fd cannot be used together"));
        return NULL;
    }
    if (socket_path && !*socket_path) {
        g_set_error_literal(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --socket-path: empty path"));
        return NULL;
    }
    if (!socket_path && cfg->fd < 0) {
        g_set_error_literal(error, VSND_OPTIONS_ERROR, 1, _("One of --socket-path or --fd is required"));
        return NULL;
    }
    cfg->socket_path = g_steal_pointer(&socket_path);

    cfg->device.streams = 2;
    if (streams_text) {
        if (!parse_uint("--streams", streams_text, 1, VSND_MAX_STREAMS, &v, error))
            return NULL;
        cfg->device.streams = (guint)v;
    }
    cfg->device.jacks = cfg->device.streams;
    if (jacks_text) {
        if (!parse_uint("--jacks", jacks_text, 0, VSND_MAX_JACKS, &v, error))
            return NULL;
        cfg->device.jacks = (guint)v;
    }
    cfg->device.chmaps = cfg->device.streams;
    if (chmaps_text) {
        if (!parse_uint("--chmaps", chmaps_text, 0, VSND_MAX_CHMAPS, &v, error))
            return NULL;
        cfg->device.chmaps = (guint)v;
    }

    cfg->device.stream = g_new0(VsndStreamConfig, cfg->device.streams);
    for (guint i = 0; i < cfg->device.streams; i++) {
        cfg->device.stream[i].direction = (i % 2) ? VSND_DIR_INPUT : VSND_DIR_OUTPUT;
        cfg->device.stream[i].channels_min = 1;
        cfg->device.stream[i].channels_max = 2;
    }
    for (char **s = stream_opts; s && *s; s++) {
        if (!parse_stream_option(cfg, *s, error))
            return NULL;
    }

    cfg->driver = driver ? g_steal_pointer(&driver) : g_strdup("auto");
    if (!validate_driver(cfg->driver, error))
        return NULL;

    if (name && (!*name || !g_utf8_validate(name, -1, NULL) || strlen(name) > 256)) {
        g_set_error_literal(error, VSND_OPTIONS_ERROR, 1,
                            _("Invalid value for --name: expected 1 to 256 bytes of UTF-8 text"));
        return NULL;
    }
    cfg->device.name = name ? g_steal_pointer(&name) : g_strdup(VSND_DEFAULT_NAME);

    if (state_file && !*state_file) {
        g_set_error_literal(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --state-file: empty path"));
        return NULL;
    }
    cfg->device.state_file = g_steal_pointer(&state_file);

    if (sandbox && !vsnd_sandbox_parse_level(sandbox, &cfg->sandbox)) {
        g_set_error(error, VSND_OPTIONS_ERROR, 1,
                    _("Invalid value for --sandbox: “%s” (expected on, log or off)"), sandbox);
        return NULL;
    }
    if (user && !*user) {
        g_set_error_literal(error, VSND_OPTIONS_ERROR, 1, _("Invalid value for --user: empty name"));
        return NULL;
    }
    cfg->user = g_steal_pointer(&user);
    for (char **a = sandbox_allow; a && *a; a++) {
        if (!**a) {
            g_set_error_literal(error, VSND_OPTIONS_ERROR, 1,
                                _("Invalid value for --sandbox-allow: empty path"));
            return NULL;
        }
    }
    cfg->sandbox_allow = g_steal_pointer(&sandbox_allow);

    return g_steal_pointer(&cfg);
}
