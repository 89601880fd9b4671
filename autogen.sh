#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerate the build system; extra arguments go to configure.
set -e
srcdir=$(dirname "$0")
cd "$srcdir"
autoreconf --force --install --verbose
cd - >/dev/null
if [ -z "$NOCONFIGURE" ]; then
    exec "$srcdir/configure" "$@"
fi
