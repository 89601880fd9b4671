#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Configure, build and run the whole test suite out of tree.
#   build-aux/check.sh [configure options...]
# VSND_BUILD names the build directory (default _build).  Warnings are
# errors here, as in CI.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${VSND_BUILD:-_build}
jobs=$(nproc 2>/dev/null || echo 2)

cd "$top"
[ -x configure ] || NOCONFIGURE=1 ./autogen.sh
mkdir -p "$build"
cd "$build"
"$top/configure" --enable-werror "$@"
make -j"$jobs"
make -j"$jobs" check
