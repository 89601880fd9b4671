/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipe-rec.h - what a PipeWire sink really played, recorded inside the
 * server.  module-pipe-tunnel (tunnel.mode = capture), loaded by the
 * server's own configuration, takes the sink's monitor on the server's
 * data thread, in the graph's own cycle, and writes it to a FIFO that a
 * thread of the test drains.  A recorder in another process is a
 * follower that must wake within every cycle or lose that quantum (and
 * sometimes one channel of it: its ports are fed one by one); on the CI
 * machines, whose idle vCPUs wake late, such recorders lost quanta of a
 * 256-frame graph at the same place in both, frames the sink had played.
 * This one is never late for a cycle the graph ran.
 *
 * The recording runs from the server's start: a mark says where a play
 * begins, and pipe_rec_wav() writes what came since.
 */
#ifndef VSND_TESTS_PIPE_REC_H
#define VSND_TESTS_PIPE_REC_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "tests/audio/audio-test-util.h"

typedef struct PipeRec PipeRec;

/* A private PipeWire (atu_pipewire_start_with(), output to @log) whose
 * test_sink is recorded in the server through a FIFO in @dir.  NULL (the
 * test failed) if either does not start. */
PipeRec *pipe_rec_pipewire_start(AtuPipewire *pw, const char *dir, const char *log);

/* The context.modules entry for atu_pipewire_start_with() that records
 * @sink's monitor (S16LE 48 kHz stereo) into the FIFO @fifo (g_free()). */
char *pipe_rec_module(const char *fifo, const char *sink);
/* Make the FIFO @fifo (before the server starts). */
bool pipe_rec_make_fifo(const char *fifo);
/* Drain @fifo from now on (the server has it open). */
PipeRec *pipe_rec_start(const char *fifo);
/* Where the recording is now, in bytes. */
size_t pipe_rec_mark(PipeRec *r);
/* Save what was recorded since @mark (once the FIFO is drained, 1 s at
 * most) as a WAV file at @path.  Return: false with @error. */
bool pipe_rec_wav(PipeRec *r, size_t mark, const char *path, GError **error);
/* The most bytes ever found waiting in the FIFO: how far the drain fell
 * behind (the module drops what does not fit in its 1 MiB). */
size_t pipe_rec_peak(PipeRec *r);
void pipe_rec_stop(PipeRec *r);

#endif /* VSND_TESTS_PIPE_REC_H */
