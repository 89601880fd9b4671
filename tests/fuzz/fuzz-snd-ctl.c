/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-snd-ctl.c - libFuzzer target: control requests (vsnd_ctl_handle())
 * against a device with a few streams, every request code, interleaved
 * with stream commands and host events so that requests meet streams in
 * every state.
 *
 * Input: one byte of set-up (bits 0-1: 1, 2, 4 or 6 streams; bit 2: no
 * control elements offered; bit 3: VIRTIO_SND_F_CTLS not negotiated),
 * then records of snd-fuzz.h: ctl, pcm, host, reset, loop.
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
    f->ctl.ctls = f->ctl.ctls && !(data[0] & 8);
    snd_fuzz_run(f, data + 1, size - 1,
                 1u << SND_FUZZ_CTL | 1u << SND_FUZZ_PCM | 1u << SND_FUZZ_HOST |
                 1u << SND_FUZZ_RESET | 1u << SND_FUZZ_LOOP);
    snd_fuzz_dev_free(f);
    return 0;
}
