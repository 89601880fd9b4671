#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""walk-crossings.py - which files one tx buffer's walk enters, and how often.

A walk starts when handle_io() (src/snd/snd-dev.c) begins looking at the tx
ring, or at the next turn of its pop loop, and ends when that buffer's
frames reach vsnd_audio_write().  Every call whose callee lies in another
source file than its caller is a crossing; the report counts crossings by
the file entered (the layering goal of issue 14: at most two per file).

Run from the build tree, as the daemon a test program starts:

    VSND_WALK_DAEMON=$PWD/vhost-user-snd VSND_WALK_OUT=/tmp/walk.txt \\
    VSND_DAEMON=$SRCDIR/build-aux/walk-crossings.py VSND_DRIVERDIR=$PWD/.libs \\
    G_TEST_SRCDIR=$SRCDIR/tests G_TEST_BUILDDIR=$PWD/tests \\
        tests/test-integration-snd -p /integration/snd/pcm/playback-null

As a program it starts the daemon under gdb with itself as gdb's script
(--print-capabilities goes to the daemon directly).  Inside gdb it sets a
breakpoint on every function of src/ and audio/ (slow: each call stops the
daemon once) and appends each walk to $VSND_WALK_OUT: the crossings in
order, then "ENTRIES <file> <count>" lines.  The daemon must be built with
debug information (the default -g).
"""
import collections
import os
import re
import sys

try:
    import gdb
except ImportError:
    gdb = None

WALK_START = "handle_io"          # the device's look at one ring
WALK_FIRST_CALLS = ("vu_queue_pop_state",)  # handle_io's first call
WALK_LOOP_CALLS = ("vu_queue_pop",)   # each turn of its pop loop
WALK_BUFFER = "vsnd_io_msg_new"   # a buffer was popped in this walk
WALK_END = "vsnd_audio_write"     # it reached the driver
TX_QUEUE = 2
# VSND_WALK_FROM=kick: walks start at the ring's kick callback instead
# (the "from kick to driver"; the kick of another ring that pops
# nothing is restarted by the next kick).
KICK_START = "vq_kick_cb"
FROM_KICK = os.environ.get("VSND_WALK_FROM") == "kick"


def launch():
    daemon = os.environ.get("VSND_WALK_DAEMON")
    if not daemon or not os.environ.get("VSND_WALK_OUT"):
        sys.exit("walk-crossings: set VSND_WALK_DAEMON and VSND_WALK_OUT")
    if "--print-capabilities" in sys.argv[1:]:
        os.execv(daemon, [daemon] + sys.argv[1:])
    os.environ["VSND_WALK_SRCDIR"] = os.path.dirname(
        os.path.dirname(os.path.realpath(__file__)))
    os.execvp("gdb", ["gdb", "-q", "-batch", "-nx", "-x", os.path.realpath(__file__),
                      "--args", daemon] + sys.argv[1:])


class Walker:
    def __init__(self, srcdir, out):
        self.srcdir = srcdir
        self.out = out
        self.recording = False
        self.popped = False
        self.queue = -1
        self.walks = 0
        self.counts = collections.Counter()
        self.trace = []

    def file_of(self, frame):
        # The function's own file, not its line's: an inlined helper from
        # a header would otherwise count as a file of its own.
        fn = frame.function() if frame else None
        if fn and fn.symtab:
            return os.path.relpath(os.path.realpath(fn.symtab.fullname()), self.srcdir)
        return "?"

    def start(self):
        self.recording = True
        self.popped = False
        self.counts = collections.Counter()
        self.trace = []

    def report(self):
        self.walks += 1
        with open(self.out, "a") as o:
            o.write("WALK %d (buffers popped: %d)\n" % (
                self.walks, sum(t.endswith(":" + WALK_BUFFER) for t in self.trace)))
            for t in self.trace:
                o.write("  %s\n" % t)
            for f, n in sorted(self.counts.items()):
                o.write("ENTRIES %-28s %d\n" % (f, n))

    def call(self, frame):
        name = frame.name()
        caller = frame.older()
        if FROM_KICK and name == KICK_START:
            self.start()  # every kick starts a walk; a tx buffer ends one
            self.queue = TX_QUEUE
        from_walk_start = caller is not None and caller.name() == WALK_START
        if from_walk_start and name in WALK_FIRST_CALLS:
            try:
                self.queue = int(caller.read_var("qidx"))
            except (ValueError, gdb.error):
                self.queue = -1
        if not FROM_KICK and from_walk_start and self.queue == TX_QUEUE and \
                not (self.recording and self.popped):
            if name in WALK_FIRST_CALLS or (name in WALK_LOOP_CALLS and not self.recording):
                self.start()
        if not self.recording:
            return
        cf, ff = self.file_of(caller), self.file_of(frame)
        if cf != ff:
            self.counts[ff] += 1
            self.trace.append("%s:%s -> %s:%s" % (cf, caller.name() if caller else "?", ff, name))
        if name == WALK_BUFFER:
            self.popped = True
        if name == WALK_END and self.popped:
            self.report()
            self.recording = False


def run_in_gdb():
    walker = Walker(os.environ["VSND_WALK_SRCDIR"], os.environ["VSND_WALK_OUT"])

    class Entry(gdb.Breakpoint):
        def stop(self):
            try:
                walker.call(gdb.newest_frame())
            except Exception as e:  # never stop the daemon
                sys.stderr.write("walk-crossings: %s\n" % e)
            return False

    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("handle all nostop noprint pass")
    # "File <path>:" headers are relative to the compilation directory,
    # the build tree the daemon sits in.
    builddir = os.path.dirname(os.path.realpath(gdb.current_progspace().filename))
    listing = gdb.execute("info functions -n .", to_string=True)
    path = None
    count = 0
    for line in listing.split("\n"):
        if line.startswith("File "):
            path = os.path.realpath(os.path.join(builddir, line[5:].rstrip(":")))
            if not os.path.relpath(path, walker.srcdir).startswith(("src/", "audio/")):
                path = None
            continue
        m = re.match(r"^\d+:\s.*?\b([A-Za-z_]\w*)\s*\(", line)
        if m and path:
            try:
                Entry("%s:%s" % (path, m.group(1)), internal=True)
                count += 1
            except gdb.error:
                pass
    sys.stderr.write("walk-crossings: %d functions watched\n" % count)
    gdb.execute("run")


if gdb is None:
    launch()
else:
    run_in_gdb()
