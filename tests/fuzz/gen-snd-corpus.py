#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of fuzz-snd-ctl, fuzz-snd-io and fuzz-wav-in.

    tests/fuzz/gen-snd-corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

ctl and io seeds are sessions of the record format of snd-fuzz.h: what a
Linux guest sends (probe, playback and capture cycles, control elements)
and each class of malformed request or message; wav seeds are files of
every sample format the wav driver reads, with the chunk layouts real
writers produce, and files it must refuse.  fuzz-snd-migrate's seeds are
device states saved by the device itself: tests/fuzz/gen-snd-migrate-seeds.
Crashers found later are added next to the seeds by hand.
"""
import struct

import fuzz_seeds

# virtio-snd codes (spec 5.14)
JACK_INFO, JACK_REMAP = 0x0001, 0x0002
PCM_INFO, SET_PARAMS, PREPARE, RELEASE, START, STOP = range(0x0100, 0x0106)
CHMAP_INFO = 0x0200
CTL_INFO, CTL_ENUM_ITEMS, CTL_READ, CTL_WRITE, CTL_TLV_READ, CTL_TLV_WRITE, \
    CTL_TLV_COMMAND = range(0x0300, 0x0307)
FMT_U8, FMT_S16, FMT_S32, FMT_FLOAT = 4, 5, 17, 19
RATE_44100, RATE_48000 = 6, 7
F_MSG_POLLING, F_EVT_XRUNS = 1 << 2, 1 << 4

# ---- records of snd-fuzz.h -------------------------------------------------

def ctl(req, cap=1024):
    return struct.pack("<BHH", 0, len(req), cap) + req

def words(*w):
    return struct.pack("<%dI" % len(w), *w)

def query(code, start, count, size, cap=None):
    return ctl(words(code, start, count, size),
               cap if cap is not None else min(4 + count * size, 0xffff))

def set_params(sid, buffer, period, features=0, channels=2, fmt=FMT_S16, rate=RATE_48000):
    return ctl(words(SET_PARAMS, sid, buffer, period, features) +
               struct.pack("<BBBB", channels, fmt, rate, 0), 4)

def cmd(code, sid):
    return ctl(words(code, sid), 4)

def io(tx, out, inn, sid, big=False):
    """out/inn: piece lengths in bytes; big: the pieces between the first
    readable and the last writable one are sent in units of 16 bytes."""
    assert len(out) < 8 and len(inn) < 8
    pieces = list(out) + list(inn)
    if big:
        for i in range(1, len(pieces) - 1):
            assert pieces[i] % 16 == 0
            pieces[i] //= 16
    return struct.pack("<BBB", 1, (1 if tx else 0) | (2 if big else 0),
                       len(out) | len(inn) << 3) + bytes(pieces) + words(sid)

def pcm(sid, op, arg=0):
    return struct.pack("<BBBB", 2, sid, op, arg)

def host(which, what, n=0):
    return struct.pack("<BBBH", 3, which, what, n)

def queue(what):
    return struct.pack("<BB", 4, what)

RESET = bytes([5])

def loop(n=8):
    return struct.pack("<BB", 6, n)

def end(sid):
    """STOP then RELEASE, as Linux ends a stream."""
    return pcm(sid, 4) + pcm(sid, 2)

def gain(sid, g, mute=0):
    return struct.pack("<BBHB", 7, sid, g, mute)

# host record kinds
ROOM, DATA, XRUN, GONE, BACK, FAIL_IO, FAIL_OPEN, FAIL_START, UNPLUG, DRAIN_LATER = range(10)

def setup(streams_sel=1, controls=True, ctls=True):
    return bytes([streams_sel | (0 if controls else 4) | (0 if ctls else 8)])

# ---- fuzz-snd-ctl -------------------------------------------------------------

def ctl_seeds():
    n = 2  # setup(1): 2 streams, 2 jacks, 2 chmaps, 2 * 2 + 1 controls
    s = {}
    s["linux-probe"] = setup() + query(JACK_INFO, 0, n, 24) + query(PCM_INFO, 0, n, 32) + \
        query(CHMAP_INFO, 0, n, 24) + query(CTL_INFO, 0, 5, 96) + \
        ctl(words(CTL_ENUM_ITEMS, 4), 4 + 3 * 64) + \
        b"".join(ctl(words(CTL_READ, i), 4 + 512) for i in range(5)) + \
        ctl(words(CTL_TLV_READ, 0), 4 + 8 + 16)
    s["i386-ctl-info"] = setup() + query(CTL_INFO, 0, 5, 92) + query(PCM_INFO, 1, 1, 40)
    s["playback-cycle"] = setup() + set_params(0, 4096, 1024) + cmd(PREPARE, 0) + \
        cmd(START, 0) + cmd(STOP, 0) + cmd(START, 0) + cmd(STOP, 0) + cmd(RELEASE, 0) + \
        cmd(RELEASE, 0)
    s["capture-cycle"] = setup() + set_params(1, 2048, 512, F_EVT_XRUNS, 1, FMT_S32, RATE_44100) + \
        cmd(PREPARE, 1) + cmd(START, 1) + host(0, XRUN) + cmd(STOP, 1) + cmd(RELEASE, 1) + \
        cmd(PREPARE, 1) + cmd(RELEASE, 1)
    s["params-refused"] = setup() + \
        set_params(0, 4096, 1024, fmt=64) + set_params(0, 4096, 1024, rate=99) + \
        set_params(0, 4096, 1024, channels=9) + set_params(0, 4096, 1024, channels=0) + \
        set_params(0, 1000, 1024) + set_params(0, 0, 0) + set_params(0, 1 << 30, 1024) + \
        set_params(0, 4096, 1024, features=1 << 31) + set_params(0, 4096, 1024, fmt=0) + \
        set_params(7, 4096, 1024) + cmd(START, 0) + cmd(PREPARE, 0) + cmd(STOP, 9)
    s["controls"] = setup() + \
        ctl(words(CTL_WRITE, 0) + words(50) + bytes(508), 4) + \
        ctl(words(CTL_WRITE, 1) + words(0) + bytes(508), 4) + \
        ctl(words(CTL_WRITE, 4) + words(2) + bytes(508), 4) + \
        ctl(words(CTL_WRITE, 4) + words(3) + bytes(508), 4) + \
        ctl(words(CTL_WRITE, 0) + words(99999), 4) + \
        ctl(words(CTL_TLV_WRITE, 0, 1, 8, 0, 0), 4) + \
        ctl(words(CTL_TLV_COMMAND, 0, 1, 8, 0, 0), 4) + \
        ctl(words(CTL_READ, 0), 4 + 512) + ctl(words(CTL_READ, 9), 4 + 512) + \
        ctl(words(CTL_ENUM_ITEMS, 0), 4 + 64) + ctl(words(CTL_TLV_READ, 4), 64)
    s["jack-remap"] = setup() + ctl(words(JACK_REMAP, 0, 3, 5), 4) + \
        ctl(words(JACK_REMAP, 1, 16, 0), 4) + ctl(words(JACK_REMAP, 2, 0, 0), 4) + \
        query(JACK_INFO, 0, 2, 24)
    s["malformed"] = setup() + ctl(b"\x01\x01", 4) + ctl(words(0xdead), 4) + \
        ctl(words(PCM_INFO, 0), 64) + query(PCM_INFO, 0xffffffff, 2, 32) + \
        query(PCM_INFO, 0, 2, 31) + query(PCM_INFO, 0, 2, 1 << 20) + \
        query(PCM_INFO, 0, 2, 32, cap=40) + query(JACK_INFO, 0, 1, 24, cap=2) + \
        ctl(words(CTL_WRITE, 0), 4) + ctl(words(CTL_TLV_WRITE, 0, 1, 0xfffffff0), 4)
    s["no-ctls-negotiated"] = setup(ctls=False) + query(CTL_INFO, 0, 1, 96) + \
        ctl(words(CTL_READ, 0), 516) + query(PCM_INFO, 0, 2, 32)
    s["no-controls-6-streams"] = setup(3, controls=False) + query(PCM_INFO, 0, 6, 32) + \
        query(CTL_INFO, 0, 1, 96) + set_params(5, 4096, 1024) + cmd(PREPARE, 5)
    s["host-trouble"] = setup() + set_params(0, 4096, 1024) + host(0, FAIL_OPEN) + \
        cmd(PREPARE, 0) + host(0, FAIL_OPEN) + cmd(PREPARE, 0) + host(0, FAIL_START) + \
        cmd(START, 0) + host(0, FAIL_START) + cmd(START, 0) + host(0, GONE) + \
        query(JACK_INFO, 0, 2, 24) + host(0, BACK) + loop() + cmd(STOP, 0) + \
        host(0, UNPLUG) + cmd(RELEASE, 0) + RESET + query(PCM_INFO, 0, 2, 32)
    return s

# ---- fuzz-snd-io -------------------------------------------------------------------

def io_seeds():
    s = {}
    play = setup() + pcm(0, 0, 0) + pcm(0, 1) + pcm(0, 3)  # S16 48k 2ch, period 1024
    s["playback"] = play + b"".join(io(True, [4, 1024], [8], 0, big=True) for _ in range(4)) + \
        host(0, ROOM, 2048) + loop() + host(0, ROOM, 4096) + loop() + end(0)
    s["playback-split"] = play + io(True, [1, 1, 1, 1, 5, 7, 1000 % 256], [3, 5], 0) + \
        io(True, [2, 2, 60], [1, 1, 1, 1, 4], 0) + io(True, [4, 200, 56, 255], [8], 0) + \
        host(0, ROOM, 4096) + loop() + end(0)
    s["capture"] = setup() + pcm(1, 0, 1) + pcm(1, 1) + pcm(1, 3) + \
        b"".join(io(False, [4], [512, 8], 1, big=True) for _ in range(3)) + \
        host(0, DATA, 512) + loop() + host(0, DATA, 1024) + loop() + end(1)
    s["capture-split"] = setup() + pcm(1, 0, 3) + pcm(1, 1) + pcm(1, 3) + \
        io(False, [2, 2], [1, 63, 4, 4], 1) + io(False, [4], [7, 57, 3, 5], 1) + \
        host(0, DATA, 256) + loop() + end(1)
    s["malformed"] = play + io(True, [], [8], 0) + io(True, [3], [8], 0) + \
        io(True, [4, 16], [], 0) + io(True, [4, 16], [7], 0) + io(False, [4], [8], 1) + \
        io(False, [], [], 1) + io(True, [4, 1024], [8], 1, big=True) + \
        io(False, [4], [1024, 8], 0, big=True) + io(True, [4, 1024], [8], 0xffffffff, big=True) + \
        io(True, [4, 1024], [8], 7, big=True) + io(True, [4, 4080, 4080], [8], 0, big=True) + \
        io(False, [4, 16], [64, 8], 1, big=True) + end(0)
    s["not-prepared"] = setup() + io(True, [4, 1024], [8], 0, big=True) + pcm(0, 0) + \
        io(True, [4, 1024], [8], 0, big=True) + pcm(0, 1) + io(True, [4, 1024], [8], 0, big=True) + \
        pcm(0, 2) + io(True, [4, 1024], [8], 0, big=True)
    s["queue-stop-carry"] = play + b"".join(io(True, [4, 1024], [8], 0, big=True)
                                             for _ in range(5)) + \
        queue(0) + queue(0) + host(0, ROOM, 8192) + loop() + \
        io(True, [4, 1024], [8], 0, big=True) + io(True, [4, 1024], [8], 0, big=True) + queue(4) + \
        queue(0) + host(0, ROOM, 8192) + loop() + end(0)
    s["queue-stop-capture"] = setup() + pcm(1, 0, 1) + pcm(1, 1) + pcm(1, 3) + \
        b"".join(io(False, [4], [512, 8], 1, big=True) for _ in range(3)) + queue(5) + queue(1) + \
        queue(1) + host(0, DATA, 4096) + loop() + queue(5) + queue(1) + queue(1) + end(1)
    s["host-gone"] = play + io(True, [4, 1024], [8], 0, big=True) + host(0, GONE) + \
        io(True, [4, 1024], [8], 0, big=True) + loop(15) + host(0, BACK) + \
        io(True, [4, 1024], [8], 0, big=True) + host(0, FAIL_IO) + \
        io(True, [4, 1024], [8], 0, big=True) + host(0, ROOM, 4096) + loop() + end(0)
    s["xrun-events"] = setup() + pcm(0, 0, 0 | 8) + pcm(0, 1) + pcm(0, 3) + host(0, XRUN) + \
        io(True, [4, 1024], [8], 0, big=True) + loop() + host(0, ROOM, 4096) + loop() + end(0)
    s["polling"] = setup() + pcm(0, 0, 0 | 4) + pcm(0, 1) + pcm(0, 3) + \
        io(True, [4, 1024], [8], 0, big=True) + loop() + queue(0) + queue(0) + loop() + end(0)
    s["drain-on-release"] = play + b"".join(io(True, [4, 1024], [8], 0, big=True)
                                             for _ in range(3)) + host(0, DRAIN_LATER) + \
        end(0) + host(0, ROOM, 4096) + loop() + pcm(0, 1)
    s["gain"] = setup() + gain(0, 0x8000) + gain(0, 0, 1) + pcm(0, 0, 2) + pcm(0, 1) + \
        pcm(0, 3) + gain(0, 0x1234) + io(True, [4, 4096 - 16], [8], 0, big=True) + \
        gain(0, 0, 2) + host(0, ROOM, 8192) + loop() + end(0)
    s["reset-pending"] = play + b"".join(io(True, [4, 1024], [8], 0, big=True)
                                          for _ in range(3)) + RESET + \
        io(True, [4, 1024], [8], 0, big=True) + pcm(0, 0) + pcm(0, 1)
    s["controls-and-io"] = play + ctl(words(CTL_WRITE, 0) + words(10) + bytes(508), 4) + \
        ctl(words(CTL_WRITE, 1) + words(0) + bytes(508), 4) + \
        io(True, [4, 1024], [8], 0, big=True) + host(0, ROOM, 4096) + loop() + end(0)
    return s

# ---- fuzz-wav-in -------------------------------------------------------------------

def chunk(cid, data, size=None):
    pad = b"\0" if len(data) & 1 else b""
    return cid + struct.pack("<I", len(data) if size is None else size) + data + pad

def fmt_chunk(tag, channels, hz, bits, ext=None):
    block = channels * bits // 8
    body = struct.pack("<HHIIHH", tag, channels, hz, hz * block, block, bits)
    if ext is not None:
        valid, sub = ext
        guid_tail = bytes.fromhex("000000001000800000aa00389b71")
        body += struct.pack("<HHI", 22, valid, 0) + struct.pack("<H", sub) + guid_tail
    elif tag != 1:
        body += struct.pack("<H", 0)
    return chunk(b"fmt ", body)

def riff(*chunks, size=None):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if size is None else size) + body

def frames(n, block):
    return bytes((i * 37 + 11) & 0xff for i in range(n * block))

def wav_seeds():
    s = {}
    for name, tag, ch, hz, bits in [("u8-mono-8k", 1, 1, 8000, 8),
                                    ("s16-stereo-48k", 1, 2, 48000, 16),
                                    ("s24-3-stereo-96k", 1, 2, 96000, 24),
                                    ("s32-mono-44k", 1, 1, 44100, 32),
                                    ("float-stereo-44k", 3, 2, 44100, 32),
                                    ("float64-mono-192k", 3, 1, 192000, 64),
                                    ("alaw-mono-8k", 6, 1, 8000, 8),
                                    ("mulaw-mono-8k", 7, 1, 8000, 8)]:
        block = ch * bits // 8
        extra = [chunk(b"fact", struct.pack("<I", 50))] if tag != 1 else []
        s[name] = riff(fmt_chunk(tag, ch, hz, bits), *extra, chunk(b"data", frames(50, block)))
    s["extensible-s16-6ch"] = riff(fmt_chunk(0xfffe, 6, 48000, 16, (16, 1)),
                                   chunk(b"data", frames(40, 12)))
    s["extensible-float-8ch"] = riff(fmt_chunk(0xfffe, 8, 48000, 32, (32, 3)),
                                     chunk(b"data", frames(20, 32)))
    s["list-odd-chunk"] = riff(fmt_chunk(1, 2, 44100, 16), chunk(b"LIST", b"INFOISFT\x03\0\0\0ab\0"),
                               chunk(b"data", frames(30, 4)))
    s["unfinalised"] = riff(fmt_chunk(1, 2, 48000, 16), chunk(b"data", frames(64, 4), size=0),
                            size=0)
    s["oversized-data"] = riff(fmt_chunk(1, 1, 48000, 16),
                               chunk(b"data", frames(33, 2), size=0x7fffffff))
    s["partial-frame"] = riff(fmt_chunk(1, 2, 48000, 16), chunk(b"data", frames(10, 4) + b"\1\2"))
    # refused
    s["bad-no-fmt"] = riff(chunk(b"data", frames(8, 4)))
    s["bad-data-first"] = riff(chunk(b"data", frames(8, 4)), fmt_chunk(1, 2, 48000, 16))
    s["bad-rate"] = riff(fmt_chunk(1, 2, 12345, 16), chunk(b"data", frames(8, 4)))
    s["bad-channels"] = riff(fmt_chunk(1, 9, 48000, 16), chunk(b"data", frames(8, 18)))
    s["bad-tag"] = riff(fmt_chunk(0x55, 2, 48000, 16), chunk(b"data", frames(8, 4)))
    s["bad-valid-bits"] = riff(fmt_chunk(0xfffe, 2, 48000, 24, (20, 1)),
                               chunk(b"data", frames(8, 6)))
    s["bad-short-fmt"] = riff(chunk(b"fmt ", struct.pack("<HHIIH", 1, 2, 48000, 192000, 4)),
                              chunk(b"data", frames(8, 4)))
    s["bad-fmt-overruns"] = riff(chunk(b"fmt ", struct.pack("<HHIIHH", 1, 2, 48000, 192000, 4,
                                                            16), size=1000))
    s["bad-no-audio"] = riff(fmt_chunk(1, 2, 48000, 16), chunk(b"data", b"\1\2\3"))
    s["bad-not-riff"] = b"RIFX" + riff(fmt_chunk(1, 2, 48000, 16))[4:]
    return s

def main():
    seeds = {"fuzz-snd-ctl": ctl_seeds(), "fuzz-snd-io": io_seeds(), "fuzz-wav-in": wav_seeds()}
    fuzz_seeds.write(seeds)

if __name__ == "__main__":
    main()
