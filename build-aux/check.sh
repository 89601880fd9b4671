#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Configure, build and run the whole test suite out of tree.
#   build-aux/check.sh [configure options...]
# VSND_BUILD names the build directory (default _build).  Warnings are
# errors here, as in CI.
#
# Works whatever was done to the checkout before, as often as one likes:
# a tree configured in place (./autogen.sh && make, README command 1) is
# cleaned with "make distclean" first, since automake refuses an out-of-tree
# build of a configured source directory and would otherwise mix the two
# builds' config.h; configure and Makefile.in are regenerated when
# configure.ac or a Makefile.am changed, or are missing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${VSND_BUILD:-_build}
jobs=$(nproc 2>/dev/null || echo 2)

cd "$top"
if [ -f config.status ]; then
    echo "check.sh: the source tree is configured in place; running make distclean there" \
         "(./autogen.sh && make builds it again)" >&2
    if [ -f Makefile ]; then
        make distclean >/dev/null
    fi
    # What distclean leaves when the Makefile was gone already.
    rm -f config.status config.h config.log libtool stamp-h1
fi
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    NOCONFIGURE=1 ./autogen.sh
fi
mkdir -p "$build"
cd "$build"
"$top/configure" --enable-werror "$@"
make -j"$jobs"
make -j"$jobs" check
