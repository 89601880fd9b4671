/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audio-test-util.h - shared helpers of the audio driver tests: event
 * recording, main-loop waiting, child processes (private audio servers,
 * recorders), WAV parsing and signal matching.
 */
#ifndef VSND_TESTS_AUDIO_TEST_UTIL_H
#define VSND_TESTS_AUDIO_TEST_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audio/registry.h"

typedef struct AtuEvents {
    int ready;
    int errors;
    int last_error;
    int nerr_history;
    int err_history[32];
} AtuEvents;

extern const VsndAudioStreamEvents atu_events;

/* Iterate the default context until @cond(@data) or @timeout_s passes. */
bool atu_wait(bool (*cond)(void *data), void *data, double timeout_s);
/* Iterate the default context for @seconds. */
void atu_run_for(double seconds);
/* Wait until @ev->errors reaches @n. */
bool atu_wait_errors(AtuEvents *ev, int n, double timeout_s);
bool atu_error_seen(const AtuEvents *ev, int err);

/* Absolute path of @prog in PATH, or NULL. */
char *atu_find_program(const char *prog);
/* Spawn @argv (NULL-terminated) with the current environment, stdout and
 * stderr to @log (appended).  Return: the pid. */
GPid atu_spawn(const char *const *argv, const char *log);
/* Run to completion; Return: exit status (-1 if it could not run); *out
 * gets stdout if non-NULL. */
int atu_run(const char *const *argv, char **out);
/* Run @argv repeatedly until it exits 0, up to @timeout_s. */
bool atu_wait_cmd(const char *const *argv, double timeout_s);
/* Send @sig and reap, with a timeout (SIGKILL after it). */
void atu_stop(GPid pid, int sig);

/* A parsed WAV file (any PCM layout); data points into @raw. */
typedef struct AtuWav {
    char *raw;
    size_t raw_len;
    uint16_t tag, channels, bits;
    uint32_t rate;
    uint32_t riff_size;
    uint32_t data_size;     /* as the header says */
    const uint8_t *data;    /* sample data */
    size_t data_len;        /* bytes actually present */
} AtuWav;
bool atu_wav_load(const char *path, AtuWav *w);
void atu_wav_clear(AtuWav *w);
/* Write a 16-bit PCM WAV file. */
void atu_wav_write_s16(const char *path, uint32_t rate, unsigned int channels,
                       const int16_t *samples, size_t frames);

/* Deterministic test signal, S16 interleaved: channel c is a sine of
 * 440*(c+1) Hz at half scale with a small per-channel offset pattern. */
int16_t *atu_signal_s16(size_t frames, unsigned int channels, uint32_t rate);
/*
 * Find @ref (frames x channels S16) in @rec per channel.  Return: the number
 * of frames that match exactly from the start of the reference, minimum
 * over channels; *ret_offset gets channel 0's start frame in @rec.
 */
size_t atu_match_s16(const int16_t *rec, size_t rec_frames, const int16_t *ref,
                     size_t ref_frames, unsigned int channels, long *ret_offset);

/* A fresh private temporary directory (removed by atu_rmdir()). */
char *atu_tmpdir(const char *tmpl);
void atu_rmdir(const char *dir);
/* The same in memory (/dev/shm) where there is one: a recorder writing
 * from its realtime thread to a busy disk stalls and loses quanta of what
 * it records (measured: 4096 frames gone, no gap, with builds running). */
char *atu_tmpdir_in_memory(const char *tmpl);

/* Write @len bytes of the iovec-free buffer through the registry, retrying
 * on -EAGAIN while iterating the main loop; Return: false on error or
 * timeout. */
bool atu_write_all(VsndAudio *a, VsndAudioStream *s, const void *buf, size_t len,
                   size_t chunk, double timeout_s);
bool atu_read_all(VsndAudio *a, VsndAudioStream *s, void *buf, size_t len, size_t chunk,
                  double timeout_s);

/* Whether driver module @name was built; skips the test with a reason
 * (@why_missing names the absent build dependency) if not. */
bool atu_have_module(const char *name, const char *why_missing);
/* Start a private PulseAudio on socket @dir/native (PULSE_SERVER must point
 * there) with a null sink "test" (S16LE 48 kHz stereo, norewinds=1);
 * returns once it answers. */
GPid atu_pulse_start(const char *dir, const char *log);

/* Environment variables put back later: atu_env_save() records @names
 * (NULL-terminated), atu_env_restore() sets or unsets each as it was and
 * frees the record. */
typedef struct AtuEnvSaved AtuEnvSaved;
AtuEnvSaved *atu_env_save(const char *const *names);
void atu_env_restore(AtuEnvSaved *saved);

/* Run @argv (atu_run) until its stdout contains @needle, up to @timeout_s. */
bool atu_wait_output(const char *const *argv, const char *needle, double timeout_s);

/*
 * A private PipeWire (tests/audio/pw-test.conf: dummy clock, null sink
 * "test_sink", S16LE 48 kHz stereo) with a headless WirePlumber linking
 * the streams, as test-audio-pipewire runs it.  atu_pipewire_env() makes
 * @dir's run, config (the WirePlumber override: no ALSA, V4L2, libcamera,
 * BlueZ or portal) and state directories and points PIPEWIRE_RUNTIME_DIR,
 * XDG_RUNTIME_DIR, XDG_CONFIG_HOME and XDG_STATE_HOME at them (unsetting
 * PIPEWIRE_REMOTE and PIPEWIRE_PROPS); HOME is left alone.
 * atu_pipewire_start() starts both (output to @log) and returns once
 * test_sink is the default sink, or fails the test (both pids 0) after
 * @timeout_s.  atu_pipewire_stop() stops WirePlumber, then PipeWire.
 */
typedef struct AtuPipewire {
    GPid pw, wp;
} AtuPipewire;
void atu_pipewire_env(const char *dir);
bool atu_pipewire_start(AtuPipewire *p, const char *log, double timeout_s);
/* The same with @modules (context.modules entries) loaded after the
 * configuration's own, from a copy of it written to @dir. */
bool atu_pipewire_start_with(AtuPipewire *p, const char *log, double timeout_s,
                             const char *modules, const char *dir);
void atu_pipewire_stop(AtuPipewire *p);
/* The volume and mute PipeWire shows in pw-dump for the node named @node,
 * and its labels: "vol [v1, v2, ...] mute True|False app NAME role ROLE"
 * (linear volumes rounded to 2 places; application.name, media.role), or
 * NULL (needs python3). */
char *atu_pipewire_node_volume(const char *node);
/* While the returned process runs (stop it with atu_stop(); errors go to
 * @log), @path holds the newest pw-dump in which the node named @node
 * exists, taken about every 50 ms; atu_pipewire_node_volume_in() reads
 * the same line from it. */
GPid atu_pipewire_node_watch(const char *node, const char *path, const char *log);
char *atu_pipewire_node_volume_in(const char *path, const char *node);
/* A low-latency graph: the settings metadata forces @quantum frames per
 * cycle on every node (what a desktop's pro-audio or game mode does);
 * returns once PipeWire shows it. */
bool atu_pipewire_force_quantum(unsigned int quantum);
/* A PipeWire source node named @name (what a microphone is to a desktop):
 * a null-audio-sink of media class Audio/Source/Virtual, stereo, 48 kHz,
 * outliving pw-cli; returns once its capture ports show.  Played into
 * through its input ports. */
bool atu_pipewire_virtual_source(const char *name);
/* Whether every program of the NULL-terminated @progs is installed; skips
 * the test naming the first one missing otherwise. */
bool atu_have_programs(const char *const *progs);

#endif /* VSND_TESTS_AUDIO_TEST_UTIL_H */
