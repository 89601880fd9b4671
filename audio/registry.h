/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * registry.h - how the daemon finds, loads and calls host audio drivers.
 *
 * A VsndAudio is one selected driver with its initialised backend.  null and
 * wav are built in; alsa, pulse and pipewire are loadable modules looked up
 * in $VSND_DRIVERDIR (tests) or the installed driver directory.  "auto" tries
 * pipewire, pulse, alsa, then null, and logs its choice.
 *
 * The per-stream wrappers answer -ENOTSUP for an operation the driver
 * leaves NULL.  Main thread only.
 */
#ifndef VSND_AUDIO_REGISTRY_H
#define VSND_AUDIO_REGISTRY_H

#include "audio.h"

G_BEGIN_DECLS

typedef struct VsndAudio VsndAudio;

/* "name[,key=value...]" -> name + options; GError names the bad part. */
gboolean vsnd_audio_parse_spec(const char *spec, char **ret_name, GHashTable **ret_options,
                               GError **error);
/* Every driver name the daemon knows, built or not: NULL-terminated
 * (drivers a program registers are not listed). */
const char *const *vsnd_audio_known_drivers(void);

/*
 * vsnd_audio_driver_option_keys() - whether driver @name can be used on
 * this machine (a module driver is loaded to find out) and the option keys
 * it accepts (*ret_keys, NULL-terminated, empty for "auto").  FALSE with
 * @error saying why not.  Nothing is initialised: no server is contacted.
 */
gboolean vsnd_audio_driver_option_keys(const char *name, const char *const **ret_keys,
                                       GError **error);

/*
 * vsnd_audio_register_driver() - adds @drv, a driver linked into the
 * program, to the ones vsnd_audio_new() finds by name (the daemon registers
 * none; the device's unit tests register their scriptable fake).  The table
 * is checked as a module's is: ABI version, a lower-case name no other
 * driver (or "auto") has, init() and open().  FALSE with @error otherwise.
 * @drv must outlive the program; it is never unregistered.
 */
gboolean vsnd_audio_register_driver(const VsndAudioDriver *drv, GError **error);

VsndAudio *vsnd_audio_new(const char *spec, const char *vm_name, GError **error);
void vsnd_audio_free(VsndAudio *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VsndAudio, vsnd_audio_free)
const char *vsnd_audio_name(const VsndAudio *a);
/*
 * vsnd_audio_manual_clock() - whether @a was opened with clock=manual: its
 * driver runs on the manual test clock of clock.h, and so must the timers
 * of whoever uses it (the device's software clock, dry watch and drain
 * limit), so that one vsnd_manual_clock_advance() moves them together.
 */
bool vsnd_audio_manual_clock(const VsndAudio *a);

int vsnd_audio_query_caps(VsndAudio *a, VsndDirection dir, VsndPcmCaps *ret_caps);
VsndAudioStream *vsnd_audio_open(VsndAudio *a, const VsndPcmParams *params,
                                 const VsndAudioStreamEvents *events, void *opaque,
                                 GError **error);
void vsnd_audio_close(VsndAudio *a, VsndAudioStream *s);
int vsnd_audio_start(VsndAudio *a, VsndAudioStream *s);
int vsnd_audio_stop(VsndAudio *a, VsndAudioStream *s);
int vsnd_audio_drain(VsndAudio *a, VsndAudioStream *s);
ssize_t vsnd_audio_write(VsndAudio *a, VsndAudioStream *s, const struct iovec *iov,
                         unsigned int iovcnt);
ssize_t vsnd_audio_read(VsndAudio *a, VsndAudioStream *s, const struct iovec *iov,
                        unsigned int iovcnt);
int vsnd_audio_get_latency(VsndAudio *a, VsndAudioStream *s, uint32_t *ret_bytes);
int vsnd_audio_set_volume(VsndAudio *a, VsndAudioStream *s, uint32_t volume, bool mute);
bool vsnd_audio_is_connected(VsndAudio *a, VsndDirection dir, const char *target);

G_END_DECLS

#endif /* VSND_AUDIO_REGISTRY_H */
