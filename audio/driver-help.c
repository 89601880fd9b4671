/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * driver-help.c - what each audio driver is for and what its options mean,
 * for --driver=help and --driver=NAME,help.
 *
 * The descriptions live here rather than in the drivers' vtables so that
 * a driver that is not built or not installed can still be described.
 * tests/test-options.c checks that every key a driver accepts
 * (VsndAudioDriver.option_keys) is described here and nothing more, so
 * this table cannot fall behind the drivers.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "driver-help.h"
#include "registry.h"
#include "i18n.h"

static const VsndAudioOptionHelp no_options[] = { { NULL } };

static const VsndAudioOptionHelp clock_options[] = {
    { "clock", "real|manual",
      N_("real (default): streams run at their rate on the wall clock; manual: on the "
         "test suite's virtual clock, advanced by the tests") },
    { NULL },
};

static const VsndAudioOptionHelp wav_options[] = {
    { "dir", N_("DIR"),
      N_("write each playback stream to DIR/stream-ID.wav (default: the current directory)") },
    { "path", N_("FILE"),
      /* xgettext:no-c-format */
      N_("write playback to FILE instead; %u in FILE becomes the stream id (without %u only "
         "one playback stream can be open at a time); not with dir=") },
    { "in", N_("FILE"),
      N_("capture streams play this WAV file in a loop; the guest must ask for its exact "
         "format, rate and channels, which are the only ones offered") },
    { "tone", N_("HZ"),
      N_("capture streams hear a sine of HZ at -6 dBFS on every channel; not with in=") },
    { "clock", "real|manual",
      N_("as for the null driver (manual is for the test suite)") },
    { NULL },
};

static const VsndAudioOptionHelp alsa_options[] = {
    { "device", N_("PCM"),
      N_("the ALSA PCM every stream opens, e.g. plughw:1 or hw:0,,0 for hw:0,0 (a comma in "
         "a value is written twice); default: \"default\"; a stream's target= overrides it") },
    { NULL },
};

static const VsndAudioOptionHelp pulse_options[] = {
    { "server", N_("SERVER"),
      N_("the PulseAudio server to connect to, as in $PULSE_SERVER, e.g. "
         "unix:/run/user/1000/pulse/native (default: the session's server)") },
    { "role", N_("ROLE"), N_("media.role of the streams (default: music)") },
    { "sink", N_("NAME"),
      N_("sink for playback streams (default: the server's default; a stream's target= "
         "overrides it)") },
    { "source", N_("NAME"),
      N_("source for capture streams; a sink's name records its monitor (default: the "
         "server's default)") },
    { NULL },
};

static const VsndAudioOptionHelp pipewire_options[] = {
    { "remote", N_("NAME"),
      N_("the PipeWire daemon to connect to, as in $PIPEWIRE_REMOTE, e.g. pipewire-0 or a "
         "socket path (default: the session's)") },
    { "role", N_("ROLE"), N_("media.role of the streams (default: Music)") },
    { "sink", N_("NODE"),
      N_("node.name of the sink for playback streams (default: the session manager's "
         "choice; a stream's target= overrides it)") },
    { "source", N_("NODE"),
      N_("node.name of the source for capture streams; a sink's name records its monitor") },
    { NULL },
};

static const VsndAudioDriverHelp driver_help[] = {
    { "auto", N_("the first of pipewire, pulse and alsa that reaches its server or device, "
                 "else null; takes no options"), no_options },
    { "null", N_("a sound card without sound: playback is paced and dropped, capture is "
                 "silence"), clock_options },
    { "wav", N_("headless testing: records playback to WAV files, feeds capture from a WAV "
                "file or a test tone"), wav_options },
    { "alsa", N_("an ALSA PCM device, directly or through ALSA plugins"), alsa_options },
    { "pulse", N_("a PulseAudio server (or PipeWire's pipewire-pulse); streams are labelled "
                  "with --name"), pulse_options },
    { "pipewire", N_("a PipeWire graph; streams are labelled with --name"), pipewire_options },
};

const VsndAudioDriverHelp *vsnd_audio_driver_help(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(driver_help); i++) {
        if (strcmp(driver_help[i].name, name) == 0)
            return &driver_help[i];
    }
    return NULL;
}

/* Appends @text, the cursor being at column @col, continuation lines
 * indented to @indent, broken at spaces before column 79. */
static void append_wrapped(GString *out, const char *text, unsigned int col, unsigned int indent)
{
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    bool first = true;

    for (char **w = words; *w; w++) {
        unsigned int len = (unsigned int)g_utf8_strlen(*w, -1);

        if (!first && col + 1 + len > 78) {
            g_string_append_printf(out, "\n%*s", (int)indent, "");
            col = indent;
        } else if (!first) {
            g_string_append_c(out, ' ');
            col++;
        }
        g_string_append(out, *w);
        col += len;
        first = false;
    }
    g_string_append_c(out, '\n');
}

/* "  name      text" with the text wrapped under itself. */
static void append_item(GString *out, const char *name, const char *text)
{
    g_string_append_printf(out, "  %-9s ", name);
    append_wrapped(out, text, 12, 12);
}

static char *list_drivers(void)
{
    GString *out = g_string_new(NULL);
    GString *missing = g_string_new(NULL);

    g_string_append_printf(out, "%s\n",
                           _("Audio drivers on this machine (--driver=NAME,help lists a driver's options):"));
    for (const char *const *d = vsnd_audio_known_drivers(); *d; d++) {
        const VsndAudioDriverHelp *h = vsnd_audio_driver_help(*d);
        g_autoptr(GError) error = NULL;
        const char *const *keys;

        if (!vsnd_audio_driver_option_keys(*d, &keys, &error)) {
            append_item(missing, *d, error->message);
            continue;
        }
        append_item(out, *d, _(h->summary));
    }
    if (missing->len) {
        g_string_append_printf(out, "%s\n%s", _("Not available on this machine:"), missing->str);
    }
    g_string_free(missing, TRUE);
    return g_string_free(out, FALSE);
}

static char *describe_driver(const VsndAudioDriverHelp *h)
{
    GString *out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    const char *const *keys;

    g_string_append_printf(out, "%s: %s\n", h->name, _(h->summary));
    if (!vsnd_audio_driver_option_keys(h->name, &keys, &error))
        g_string_append_printf(out, _("Not available on this machine: %s\n"), error->message);
    if (!h->options[0].key) {
        g_string_append_printf(out, "%s\n", _("No options."));
        return g_string_free(out, FALSE);
    }
    g_string_append_printf(out, _("Options (--driver=%s,KEY=VALUE,...):\n"), h->name);
    for (const VsndAudioOptionHelp *o = h->options; o->key; o++) {
        g_string_append_printf(out, "  %s=%s\n", o->key, _(o->value));
        g_string_append_printf(out, "%6s", "");
        append_wrapped(out, _(o->help), 6, 6);
    }
    return g_string_free(out, FALSE);
}

char *vsnd_audio_help_text(const char *name, GError **error)
{
    const VsndAudioDriverHelp *h;

    if (!name)
        return list_drivers();
    h = vsnd_audio_driver_help(name);
    if (!h) {
        g_autofree char *known = g_strjoinv(", ", (char **)vsnd_audio_known_drivers());

        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND,
                    _("unknown audio driver “%s” (known: %s)"), name, known);
        return NULL;
    }
    return describe_driver(h);
}
