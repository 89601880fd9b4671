#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The one list of Debian 12 packages needed to build, test, fuzz and benchmark
# vhost-user-snd.  Used by the README, by .ci/run and by developers alike.
#
# The real-guest tests (make check-guest) need QEMU >= 10.0, which Debian 12
# has only in bookworm-backports: the suite is added with its default low pin,
# so only the packages named with -t bookworm-backports come from it.  The
# guest kernels are downloaded, never installed: build-aux/fetch-guest-kernels.sh
# unpacks them into a cache directory (run here as the calling user).
set -eu
here=$(cd "$(dirname "$0")" && pwd)

PACKAGES="
  autoconf automake autopoint libtool pkg-config make gcc clang libclang-rt-14-dev
  gettext libglib2.0-dev libglib2.0-bin libseccomp-dev
  libasound2-dev alsa-utils
  libpulse-dev pulseaudio pulseaudio-utils
  libpipewire-0.3-dev pipewire pipewire-bin wireplumber pipewire-pulse
  python3 sox gnuplot-nox procps valgrind
  busybox-static cpio xz-utils zstd kmod
"
BACKPORTS_PACKAGES="qemu-system-x86"

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

backports=/etc/apt/sources.list.d/vhost-user-snd-bookworm-backports.list
if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$backports" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports $BACKPORTS_PACKAGES

# Guest kernels for make check-guest, into the caller's cache (not root's
# when run through sudo by a developer).
if [ -n "${SUDO_USER:-}" ] && [ "$(id -u)" -eq 0 ]; then
    su "$SUDO_USER" -c "$here/fetch-guest-kernels.sh"
else
    "$here/fetch-guest-kernels.sh"
fi
