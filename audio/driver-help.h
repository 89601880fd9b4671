/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * driver-help.h - descriptions of the audio drivers and their options
 * (untranslated N_() strings: translate them when printing).
 */
#ifndef VSND_AUDIO_DRIVER_HELP_H
#define VSND_AUDIO_DRIVER_HELP_H

#include <glib.h>

typedef struct VsndAudioOptionHelp {
    const char *key;   /* NULL ends a list */
    const char *value; /* what the value looks like, e.g. "DIR" */
    const char *help;
} VsndAudioOptionHelp;

typedef struct VsndAudioDriverHelp {
    const char *name;
    const char *summary;
    const VsndAudioOptionHelp *options;
} VsndAudioDriverHelp;

/* The description of driver @name (every name vsnd_audio_known_drivers()
 * lists has one), or NULL. */
const VsndAudioDriverHelp *vsnd_audio_driver_help(const char *name);

/*
 * vsnd_audio_help_text() - the text of --driver=help (@name NULL: every
 * driver, those this machine cannot load set apart with the reason) or of
 * --driver=NAME,help (the driver's options).  NULL with @error for an
 * unknown name.  Translated.
 */
char *vsnd_audio_help_text(const char *name, GError **error);

#endif /* VSND_AUDIO_DRIVER_HELP_H */
