/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-state-writer.h - the restart state file, written off the main thread.
 *
 * The device posts each new state blob; a writer thread waits a short,
 * bounded delay (so that a burst of control requests becomes one write),
 * then writes the newest blob with fsync and rename.  A post never blocks
 * on the disk: the main thread paces audio.  Freeing the writer writes
 * what is still pending before it returns.
 */
#ifndef VSND_SND_STATE_WRITER_H
#define VSND_SND_STATE_WRITER_H

#include <glib.h>

typedef struct SndStateWriter SndStateWriter;

/* Coalescing delay: a state is on disk at most this long (plus the write)
 * after it was posted. */
#define SND_STATE_WRITE_DELAY_MS 50u

SndStateWriter *vsnd_state_writer_new(const char *path, unsigned int delay_ms);
/* Queue @blob (a reference is taken); replaces a blob not yet written. */
void vsnd_state_writer_post(SndStateWriter *w, GBytes *blob);
/* Wait until every posted blob is written (tests, orderly exit). */
void vsnd_state_writer_flush(SndStateWriter *w);
/* Files written so far. */
unsigned int vsnd_state_writer_writes(SndStateWriter *w);
/* Write what is pending, stop the thread. */
void vsnd_state_writer_free(SndStateWriter *w);

#endif /* VSND_SND_STATE_WRITER_H */
