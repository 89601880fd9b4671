/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-snd-io.c - libFuzzer target: PCM I/O messages (vsnd_io_msg_new():
 * xfer header, frames and status cut into any descriptors) and what
 * follows them: submission to the stream manager, transfer to and from the
 * host, completion (status, used length) in every stream state, across
 * host events, ring stops and starts, and resets.
 *
 * Input: snd_fuzz_session() with records of every kind.
 */
#include "config.h"

#include "snd-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return snd_fuzz_session(data, size, SND_FUZZ_ALL);
}
