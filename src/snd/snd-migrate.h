/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-migrate.h - the sound device's state as a versioned, validated blob:
 * for live migration (vhost-user SET_DEVICE_STATE_FD / CHECK_DEVICE_STATE)
 * and for continuity across a back-end restart (a state file).
 *
 * The blob is built from the device's parts (SndMigrateDev) and loaded in
 * two steps: vsnd_migrate_parse() checks everything against this device and
 * changes nothing; vsnd_migrate_apply() cannot fail.  The fd transfer runs
 * on GLib fd watches of the thread-default main context and never blocks.
 * Main thread only.
 */
#ifndef VSND_SND_MIGRATE_H
#define VSND_SND_MIGRATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "snd/snd-event.h"
#include "snd/snd-info.h"
#include "snd/snd-kctl.h"
#include "snd/snd-migrate-field.h"
#include "snd/snd-pcm.h"

#define SND_MIGRATE_MAGIC "VSNDSTAT"
#define SND_MIGRATE_MAGIC_LEN 8
/* Format written; a blob whose compat version exceeds this is refused. */
#define SND_MIGRATE_VERSION 1u
/* Oldest reader that understands what we write. */
#define SND_MIGRATE_COMPAT_VERSION 1u
/* Largest blob accepted: carried playback (at most SND_PCM_CARRY_BUDGET_BYTES
 * for all streams together, in practice a few periods) plus a few KiB of
 * state. */
#define SND_MIGRATE_MAX_BYTES (16u * 1024 * 1024)

/* The device parts the state covers (borrowed). */
typedef struct SndMigrateDev {
    SndPcm *pcm;
    SndInfo *info;
    SndKctl *kctl;            /* NULL without control elements */
    SndEventQueue *events;
    uint64_t features;        /* negotiated virtio features (saved) */
    uint64_t offered;         /* device feature bits this daemon offers */
} SndMigrateDev;

typedef struct SndMigrateState SndMigrateState;

/* Return: the serialized state (never NULL). */
GBytes *vsnd_migrate_save(const SndMigrateDev *d);
/*
 * vsnd_migrate_parse() - check an untrusted blob against @d.
 * Return: the parsed state, or NULL with @error (SND_MIGRATE_ERROR_INVALID,
 * or SND_MIGRATE_ERROR_UNSUPPORTED for a newer format we cannot read or a
 * topology that is not ours).  Nothing in @d changes.
 */
SndMigrateState *vsnd_migrate_parse(const SndMigrateDev *d, const void *data, size_t len,
                                   GError **error);
/* Make @d what @s describes (the rings must be stopped). */
void vsnd_migrate_apply(const SndMigrateDev *d, const SndMigrateState *s);
void vsnd_migrate_state_free(SndMigrateState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SndMigrateState, vsnd_migrate_state_free)
/* Negotiated features recorded in @s. */
uint64_t vsnd_migrate_state_features(const SndMigrateState *s);
/* parse + apply.  Return: true, or false with @error and @d untouched. */
bool vsnd_migrate_load(const SndMigrateDev *d, const void *data, size_t len, GError **error);

/*
 * Asynchronous transfer over the device-state fd (a pipe end).  Save
 * writes @blob then closes; load reads until EOF (at most
 * SND_MIGRATE_MAX_BYTES), then calls @loaded, whose return value (0 or
 * -errno) becomes the result.  The xfer owns @fd.
 */
typedef struct SndMigrateXfer SndMigrateXfer;
typedef int (*SndMigrateLoaded)(void *opaque, GBytes *blob);

SndMigrateXfer *vsnd_migrate_xfer_save(int fd, GBytes *blob);
SndMigrateXfer *vsnd_migrate_xfer_load(int fd, SndMigrateLoaded loaded, void *opaque);
/*
 * vsnd_migrate_xfer_result() - CHECK_DEVICE_STATE: moves the transfer on
 * as far as it goes without blocking (the front-end has closed its end by
 * then), then reports.  Return: 0 done and processed, -errno failed, or
 * -EINPROGRESS when the peer has not finished (the transfer is then
 * abandoned: the caller reports failure).
 */
int vsnd_migrate_xfer_result(SndMigrateXfer *x);
void vsnd_migrate_xfer_free(SndMigrateXfer *x);

/* Replace @path atomically by @blob (temp file + rename).  0 or -errno. */
int vsnd_migrate_file_write(const char *path, GBytes *blob);
/* The file's content (at most SND_MIGRATE_MAX_BYTES), or NULL. */
GBytes *vsnd_migrate_file_read(const char *path);

#endif /* VSND_SND_MIGRATE_H */
