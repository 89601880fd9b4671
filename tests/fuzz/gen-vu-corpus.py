#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the vhost-user core fuzz targets.

    tests/fuzz/gen-vu-corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Seeds are meaningful sessions (a QEMU-like set-up with a ring holding
buffers, config, inflight, logging, device state) and a few malformed
messages; the record formats are described in fuzz-vu-msg.c and
vu-ring-fuzz.c.  Crashers found later are added next to them by hand.
"""
import struct

import fuzz_seeds

VERSION_1 = 1 << 32
INDIRECT = 1 << 28
EVENT_IDX = 1 << 29
PACKED = 1 << 34
LOG_ALL = 1 << 26
PROTO = 1 << 30
ALL_PROTO = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 9) | (1 << 12) | (1 << 13) | (1 << 15) | \
    (1 << 16) | (1 << 19)

# fd kinds of fuzz-vu-msg.c: 0 guest memfd, 1 eventfd, 2 pipe, 3 small memfd
def fdspec(*kinds):
    v = len(kinds)
    for i, k in enumerate(kinds):
        v |= k << (2 + 2 * i)
    return v

def msg(req, payload=b"", fds=(), need_reply=False):
    return struct.pack("<BBBBB", 0x40, req, 8 if need_reply else 0, len(payload),
                       fdspec(*fds)) + payload

def raw(data, fds=()):
    return struct.pack("<BHB", 0x00, len(data), fdspec(*fds)) + data

def mem(off, data):
    out = b""
    while data:
        chunk = data[:255]
        out += struct.pack("<BHB", 0x80, off, len(chunk)) + chunk
        off += len(chunk)
        data = data[255:]
    return out

def run(sel=0x41):
    return struct.pack("<BB", 0xc0, sel)

def u64(v):
    return struct.pack("<Q", v)

def state(i, n):
    return struct.pack("<II", i, n)

UVA = 0x7f0000000000

def vring_setup(q, num, base=0, kick=True):
    # rings of queue q inside the 64 KiB guest memfd at gpa 0
    d, a, u = 0x0, 0x1000, 0x2000
    out = msg(8, state(q, num), need_reply=True)
    out += msg(10, state(q, base))
    out += msg(9, struct.pack("<IIQQQQ", q, 0, UVA + d, UVA + u, UVA + a, u))
    out += msg(13, u64(q), fds=(1,))
    out += msg(14, u64(q), fds=(1,))
    out += msg(12, u64(q) if kick else u64(q | 0x100), fds=(1,) if kick else ())
    out += msg(18, state(q, 1))
    return out

def session(features):
    out = msg(1) + msg(15) + msg(16, u64(ALL_PROTO), need_reply=True)
    out += msg(17) + msg(36) + msg(3)
    out += msg(2, u64(features | PROTO), need_reply=True)
    out += msg(5, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 0x10000, UVA, 0),
               fds=(0,))
    return out

def split_ring_image():
    desc = b""
    # chain 0: readable 16 @0x4000 -> writable 64 @0x5000
    desc += struct.pack("<QIHH", 0x4000, 16, 1, 1)
    desc += struct.pack("<QIHH", 0x5000, 64, 2, 0)
    # chain 2: indirect table @0x6000 with 2 entries
    desc += struct.pack("<QIHH", 0x6000, 32, 4, 0)
    itbl = struct.pack("<QIHH", 0x4000, 8, 1, 1) + struct.pack("<QIHH", 0x5100, 8, 2, 0)
    avail = struct.pack("<HH", 0, 2) + struct.pack("<HH", 0, 2)
    return mem(0x0, desc) + mem(0x1000, avail) + mem(0x6000, itbl)

def packed_ring_image():
    A, U = 1 << 7, 1 << 15
    desc = struct.pack("<QIHH", 0x4000, 16, 0, A | 1)
    desc += struct.pack("<QIHH", 0x5000, 64, 0, A | 2)
    desc += struct.pack("<QIHH", 0x6000, 32, 1, A | 4)
    itbl = struct.pack("<QIHH", 0x4000, 8, 0, 0) + struct.pack("<QIHH", 0x5100, 8, 0, 2)
    return mem(0x0, desc) + mem(0x6000, itbl)

def msg_seeds():
    f = VERSION_1 | INDIRECT | EVENT_IDX
    s = {}
    s["qemu-split"] = session(f) + split_ring_image() + vring_setup(0, 16) + run() + \
        msg(11, state(0, 0)) + msg(39, u64(0))
    s["qemu-packed"] = session(f | PACKED) + packed_ring_image() + \
        vring_setup(0, 16, (1 << 15) | (1 << 31)) + run(0x43) + msg(11, state(0, 0))
    s["polled-ring"] = session(f) + split_ring_image() + vring_setup(1, 16, kick=False) + run()
    s["config"] = msg(24, struct.pack("<III", 0, 12, 0) + bytes(12)) + \
        msg(25, struct.pack("<III", 4, 4, 0) + b"abcd", need_reply=True)
    s["inflight"] = msg(31, struct.pack("<QQHH", 0, 0, 4, 64) + bytes(4)) + session(f) + \
        split_ring_image() + vring_setup(0, 16) + run(0x03)
    s["status"] = msg(39, u64(0xf), need_reply=True) + msg(40) + msg(34) + msg(40) + msg(4)
    s["log"] = session(f | LOG_ALL) + msg(6, struct.pack("<QQ", 4096, 0), fds=(3,)) + \
        msg(7, b"", fds=(1,)) + split_ring_image() + vring_setup(0, 16) + run()
    s["add-rem-reg"] = msg(2, u64(f | PROTO)) + \
        msg(37, u64(0) + struct.pack("<QQQQ", 0, 0x10000, UVA, 0), fds=(0,)) + \
        msg(37, u64(0) + struct.pack("<QQQQ", 0x100000, 4096, UVA + 0x100000, 0), fds=(3,)) + \
        msg(38, u64(0) + struct.pack("<QQQQ", 0x100000, 4096, UVA + 0x100000, 0)) + \
        split_ring_image() + vring_setup(0, 16) + run()
    s["device-state"] = msg(42, struct.pack("<II", 0, 0), fds=(2,)) + \
        msg(42, struct.pack("<II", 1, 0), fds=(2,)) + msg(43)
    s["unknown-need-reply"] = msg(19, u64(0), need_reply=True) + msg(1)
    s["raw-get-features"] = raw(struct.pack("<III", 1, 1, 0)) + raw(struct.pack("<III", 17, 9, 0))
    s["bad-mem-table-fds"] = msg(5, struct.pack("<II", 2, 0) + bytes(64), fds=(0,))
    s["bad-vring-index"] = msg(8, state(9, 16))
    s["bad-version"] = raw(struct.pack("<III", 1, 2, 0))
    s["bad-truncated"] = raw(struct.pack("<III", 2, 1, 8) + b"\x01\x02")
    return s

def ring_seed(num_log2, opts, base16, sel, image):
    return struct.pack("<BBH", num_log2, opts, base16) + bytes(sel) + image

def split_image(num=16):
    img = bytearray(0x6100)
    def put(off, data):
        img[off:off + len(data)] = data
    # desc table at 0 (gpa 0x10000), avail 0x1000, used 0x2000, data 0x4000+
    g = 0x10000
    put(0, struct.pack("<QIHH", g + 0x4000, 16, 1, 1))
    put(16, struct.pack("<QIHH", g + 0x5000, 64, 2, 0))
    put(32, struct.pack("<QIHH", g + 0x6000, 48, 4, 0))
    put(48, struct.pack("<QIHH", g + 0x10000 - 16, 64, 2, 0))  # crosses into region 1
    put(0x6000, struct.pack("<QIHH", g + 0x4000, 8, 1, 1) + struct.pack("<QIHH", g + 0x4100, 8, 1, 2)
        + struct.pack("<QIHH", g + 0x5100, 32, 2, 0))
    put(0x1000, struct.pack("<HHHHH", 0, 3, 0, 2, 3))
    return bytes(img)

def packed_image():
    img = bytearray(0x6100)
    g = 0x10000
    A = 1 << 7
    def put(off, data):
        img[off:off + len(data)] = data
    put(0, struct.pack("<QIHH", g + 0x4000, 16, 0, A | 1))
    put(16, struct.pack("<QIHH", g + 0x5000, 64, 0, A | 2))
    put(32, struct.pack("<QIHH", g + 0x6000, 48, 1, A | 4))
    put(48, struct.pack("<QIHH", g + 0x10000 - 16, 64, 2, A | 2))
    put(0x6000, struct.pack("<QIHH", g + 0x4000, 8, 0, 0) + struct.pack("<QIHH", g + 0x4100, 8, 0, 0)
        + struct.pack("<QIHH", g + 0x5100, 32, 0, 2))
    return bytes(img)

def main():
    seeds = {"fuzz-vu-msg": msg_seeds()}
    sel_push = [0x40] * 32
    sel_mix = [0, 1, 2, 3, 4, 0xc1, 0x62, 0x43] * 4
    seeds["fuzz-vu-split"] = {
        "three-chains": ring_seed(4, 0x1, 0, sel_push, split_image()),
        "event-idx-mixed": ring_seed(4, 0x3, 0, sel_mix, split_image()),
        "inflight-reconnect": ring_seed(4, 0x5, 0, sel_mix, split_image()),
        "inflight-scribbled": ring_seed(4, 0xd, 0, sel_mix, split_image()),
        "no-indirect": ring_seed(4, 0x0, 0, sel_push, split_image()),
        "base-wraps": ring_seed(4, 0x1, 0xfffe, sel_push, split_image()),
    }
    seeds["fuzz-vu-packed"] = {
        "three-chains": ring_seed(4, 0x1, 0x8000, sel_push, packed_image()),
        "event-idx-mixed": ring_seed(4, 0x3, 0x8000, sel_mix, packed_image()),
        "inflight-reconnect": ring_seed(4, 0x5, 0x8000, sel_mix, packed_image()),
        "inflight-scribbled": ring_seed(4, 0xd, 0x8000, sel_mix, packed_image()),
        "small-ring": ring_seed(2, 0x1, 0x8000, sel_mix, packed_image()),
    }
    fuzz_seeds.write(seeds)

if __name__ == "__main__":
    main()
