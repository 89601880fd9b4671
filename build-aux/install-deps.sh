#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The one list of Debian 12 packages needed to build, test, fuzz and benchmark
# vhost-user-snd.  Used by the README, by .ci/run and by developers alike.
set -eu

PACKAGES="
  autoconf automake autopoint libtool pkg-config make gcc clang libclang-rt-14-dev
  gettext libglib2.0-dev libglib2.0-bin
  libasound2-dev alsa-utils
  libpulse-dev pulseaudio pulseaudio-utils
  libpipewire-0.3-dev pipewire pipewire-bin wireplumber
  python3 sox gnuplot-nox procps valgrind
"

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
