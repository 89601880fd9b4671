/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-snd-ctl.c - libFuzzer target: control requests (vsnd_ctl_handle())
 * against a device with a few streams, every request code, interleaved
 * with stream commands and host events so that requests meet streams in
 * every state.
 *
 * Input: snd_fuzz_session() with the records ctl, pcm, host, reset, loop.
 */
#include "config.h"

#include "snd-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return snd_fuzz_session(data, size,
                            1u << SND_FUZZ_CTL | 1u << SND_FUZZ_PCM | 1u << SND_FUZZ_HOST |
                                1u << SND_FUZZ_RESET | 1u << SND_FUZZ_LOOP);
}
