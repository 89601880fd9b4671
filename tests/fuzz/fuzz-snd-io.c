/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-snd-io.c - libFuzzer target: PCM I/O messages (vsnd_io_msg_new():
 * xfer header, frames and status cut into any descriptors) and what
 * follows them: submission to the stream manager, transfer to and from the
 * host, completion (status, used length) in every stream state, across
 * host events, ring stops and starts, and resets.
 *
 * Input: one byte of set-up (bits 0-1: 1, 2, 4 or 6 streams; bit 2: no
 * control elements), then records of snd-fuzz.h, every kind.
 */
#include "config.h"

#include "snd-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned int streams[] = { 1, 2, 4, 6 };
    SndFuzzDev *f;

    if (size < 1) {
        return 0;
    }
    f = snd_fuzz_dev_new(streams[data[0] & 3], !(data[0] & 4));
    snd_fuzz_run(f, data + 1, size - 1, SND_FUZZ_ALL);
    snd_fuzz_dev_free(f);
    return 0;
}
