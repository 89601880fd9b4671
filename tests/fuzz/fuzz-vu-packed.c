/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-vu-packed.c - libFuzzer target: packed-ring chain walking, wrap
 * counters and event suppression over fuzzed guest memory; see
 * vu-ring-fuzz.c.
 */
#include "config.h"

#include "vu-ring-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_ring_one(data, size, true);
}
