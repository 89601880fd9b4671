#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""check-layers.py - the one-way house, checked (make check-layers).

Two checks over the product's sources (src/ and audio/; tests may use
anything):

1. Includes go down only.  Every `#include "..."` is resolved the way the
   compiler resolves it (the including file's directory first, then the
   include directories) and the included file's layer must be one the
   including file's layer may use:

       base   src/base/   may use: base
       audio  audio/      may use: base, audio
       vu     src/vu/     may use: base, vu
       snd    src/snd/    may use: base, audio, vu, snd
       daemon src/*       may use: everything

   audio and vu are peers: drivers know nothing of virtio, the core nothing
   of sound.

2. No circle between files.  From the compiled objects (`nm` of every
   object under the build tree's src/ and audio/), file A depends on file B
   when A's object refers to a symbol B's object defines.  A strongly
   connected set of more than one file is a circle: such files cannot be
   understood, tested or replaced one at a time.  The circle check runs on
   a build tree; without one (--sources-only) only the includes are checked.

Exit status 0 when both hold, 1 with one line per violation otherwise.
"""

import argparse
import os
import re
import subprocess
import sys

LAYERS = [
    # (layer, path prefix relative to the source tree); first match wins
    ("base", "src/base/"),
    ("vu", "src/vu/"),
    ("snd", "src/snd/"),
    ("daemon", "src/"),
    ("audio", "audio/"),
]

ALLOWED = {
    "base": {"base"},
    "audio": {"base", "audio"},
    "vu": {"base", "vu"},
    "snd": {"base", "audio", "vu", "snd"},
    "daemon": {"base", "audio", "vu", "snd", "daemon"},
}

# The include directories every product target is compiled with, in order
# (Makefile.am's AM_CPPFLAGS; narrower per-target paths are a subset, so a
# file that resolves here resolves the same way for its target).
INCLUDE_DIRS = ["src/base", "src", "."]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    for name, prefix in LAYERS:
        if rel.startswith(prefix):
            return name
    return None


def product_sources(srcdir):
    for top in ("src", "audio"):
        for root, _dirs, files in os.walk(os.path.join(srcdir, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(root, f), srcdir)


def resolve(srcdir, including, name):
    """The source-relative path `#include "name"` in `including` reads, or None
    for a generated or system file (config.h)."""
    candidates = [os.path.dirname(including)] + INCLUDE_DIRS
    for d in candidates:
        path = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(srcdir, path)):
            return path
    return None


def check_includes(srcdir):
    problems = []
    for rel in product_sources(srcdir):
        layer = layer_of(rel)
        with open(os.path.join(srcdir, rel), encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                target = resolve(srcdir, rel, m.group(1))
                if target is None:
                    continue
                tlayer = layer_of(target)
                if tlayer is None:
                    problems.append(f"{rel}:{lineno}: includes {target}, which is outside the product")
                elif tlayer not in ALLOWED[layer]:
                    problems.append(f"{rel}:{lineno}: {layer} layer includes {target} "
                                    f"from the {tlayer} layer")
    return problems


OBJ_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]+_la-")


def object_files(builddir):
    """{source stem (e.g. src/vu/vu-dev): object path} for the product's objects."""
    objs = {}
    for top in ("src", "audio"):
        for root, _dirs, files in os.walk(os.path.join(builddir, top)):
            for f in files:
                if not f.endswith(".o"):
                    continue
                # libtool puts PIC objects in .libs/; automake prefixes objects of
                # targets with their own flags ("libvu_la-vu-dev.o").
                d = os.path.relpath(root, builddir)
                if os.path.basename(d) == ".libs":
                    d = os.path.dirname(d)
                stem = os.path.join(d, OBJ_PREFIX_RE.sub("", f[:-2]))
                objs.setdefault(stem, os.path.join(root, f))
    return objs


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", obj], capture_output=True, text=True,
                         check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines()
               if len(l.split()) == 3 and l.split()[1] in "TDBR"}
    out = subprocess.run(["nm", "--undefined-only", obj], capture_output=True, text=True,
                         check=True).stdout
    undefined = {l.split()[-1] for l in out.splitlines() if l.split()}
    return defined, undefined


def strongly_connected(graph):
    """Tarjan's algorithm; returns the components with more than one node."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check_circles(builddir):
    objs = object_files(builddir)
    if not objs:
        return [f"{builddir}: no objects under src/ or audio/ (build first)"]
    definers, needs = {}, {}
    for stem, obj in objs.items():
        defined, undefined = symbols(obj)
        needs[stem] = undefined
        for s in defined:
            definers.setdefault(s, set()).add(stem)
    graph = {stem: set() for stem in objs}
    for stem, undefined in needs.items():
        for s in undefined:
            for d in definers.get(s, ()):
                if d != stem:
                    graph[stem].add(d)
    problems = []
    for comp in strongly_connected(graph):
        edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a]) if b in comp]
        problems.append("circle between " + ", ".join(comp) + " (" + "; ".join(edges) + ")")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--sources-only", action="store_true",
                    help="check the includes only (no build tree needed)")
    args = ap.parse_args()
    problems = check_includes(args.srcdir)
    if not args.sources_only:
        problems += check_circles(args.builddir)
    for p in problems:
        print(p)
    if problems:
        print(f"check-layers: {len(problems)} violation(s)", file=sys.stderr)
        return 1
    print("check-layers: every include goes down, no circle between files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
