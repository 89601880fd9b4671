/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture-switch.c - a recording that switched back-ends (capture-switch.h).
 */
#include "config.h"

#include "capture-switch.h"
#include "guest-test.h"

#include <string.h>

#define FRAME_BYTES 4

void capture_switch_judge(const guint8 *rec, gsize rec_len, const guint8 *src, gsize src_len,
                          CaptureSwitch *out, GString *desc)
{
    memset(out, 0, sizeof *out);
    /* the first back-end's part: an exact prefix of the host's input */
    JudgeCompare c;
    judge_compare_bytes(rec, rec_len, src, src_len, &c);
    out->head = c.first_diff / FRAME_BYTES * FRAME_BYTES;
    /* then silence, then the second back-end's input */
    gsize p = out->head;
    while (p + FRAME_BYTES <= rec_len && !memcmp(rec + p, "\0\0\0\0", FRAME_BYTES))
        p += FRAME_BYTES;
    out->silent_ms = (p - out->head) / FRAME_BYTES * 1000 / GT_RATE;
    out->tail = rec_len - p;
    /* each back-end reads its own host input: where the second part
     * begins in it is its business, that it is the input exactly is not */
    judge_find(JUDGE_FORMAT_S16_LE, 2, rec + p, rec_len - p, src, src_len, &out->tail_find);
    g_string_append_printf(desc, "%zu bytes: %zu from the first back-end, %zu ms silent, then %zu "
                           "bytes: ", rec_len, out->head, out->silent_ms, out->tail);
    judge_describe_find(desc, &out->tail_find);
}
