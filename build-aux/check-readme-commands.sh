#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's two commands on one checkout, in both orders:
#   1. ./autogen.sh && make && ./vhost-user-snd ...   (in-tree build)
#   2. ./build-aux/check.sh                           (out of tree, _build)
# run as 1, 2, 1, 2 on a copy of this checkout's files (tracked files as
# they are in the work tree, so uncommitted changes count).  The daemon of
# command 1 is run with --version instead of serving forever; install-deps.sh
# is left out (it needs root).  Takes two builds and two test-suite runs.
#   build-aux/check-readme-commands.sh [copy-directory]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
copy=${1:-$(mktemp -d "${TMPDIR:-/tmp}/vsnd-readme-XXXXXX")}

mkdir -p "$copy"
(cd "$top" && git ls-files -z | xargs -0 tar -cf - --) | tar -xf - -C "$copy"
cd "$copy"

command1() {
    echo "== README command 1 (in-tree build), round $1"
    ./autogen.sh && make -j"$(nproc 2>/dev/null || echo 2)" && ./vhost-user-snd --version
}
command2() {
    echo "== README command 2 (build-aux/check.sh), round $1"
    ./build-aux/check.sh
}

command1 1
command2 1
command1 2
command2 2
echo "== both orders work: $copy (remove it when done)"
