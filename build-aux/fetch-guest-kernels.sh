#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Download the guest kernels that make check-guest boots, and unpack them
# into a cache directory.  Nothing is installed on the host: a private apt
# configuration (its own sources list, lists and archive directories) reaches
# bookworm-backports and sid without touching the host's sources.
#
#   build-aux/fetch-guest-kernels.sh [CACHE]
# CACHE defaults to $VSND_GUEST_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/vhost-user-snd/guest.
# Each kernel ends up as CACHE/<version>/{vmlinuz,modules/...}; CACHE/kernels
# lists the versions, one per line, oldest suite first.  Running it again
# only refreshes what a newer package changed.
set -eu
cache=${1:-${VSND_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vhost-user-snd/guest}}
mirror=${VSND_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# suite:metapackage; the metapackage depends on the versioned image
SUITES="bookworm-backports sid"

mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/debs"
cat >"$cache/apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
SRC
apt_private() {
    apt-get -q \
        -o Dir::Etc::SourceList="$cache/apt/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$cache/apt/lists" \
        -o Dir::State::Status=/dev/null \
        -o Dir::Cache="$cache/apt" \
        -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)" \
        -o APT::Get::List-Cleanup=0 \
        "$@"
}
apt_cache_private() {
    apt-cache \
        -o Dir::Etc::SourceList="$cache/apt/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$cache/apt/lists" \
        -o Dir::State::Status=/dev/null \
        -o Dir::Cache="$cache/apt" \
        "$@"
}
apt_private update >/dev/null

# Depends of PACKAGE in SUITE, as bare package names.
deps_of() {
    apt_cache_private show "$2/$1" 2>/dev/null | sed -n 's/^Depends: //p' | head -n 1 |
        tr ',' '\n' | sed 's/[[:space:]]*(.*//; s/|.*//; s/^[[:space:]]*//; s/[[:space:]]*$//'
}

: >"$cache/kernels.new"
for suite in $SUITES; do
    image=$(deps_of "$suite" linux-image-amd64 | grep '^linux-image-[0-9]' | head -n 1)
    [ -n "$image" ] || { echo "no linux-image in $suite" >&2; exit 1; }
    # sid splits the kernel: linux-image-V is empty and depends on
    # linux-binary-V (vmlinuz) and linux-modules-V.
    pkgs="$image $(deps_of "$suite" "$image" | grep -E '^linux-(binary|modules)-' || true)"
    version=${image#linux-image-}
    dest="$cache/$version"
    if [ ! -f "$dest/.complete" ]; then
        rm -rf "$dest" "$dest.tmp"
        mkdir -p "$dest.tmp/root"
        for p in $pkgs; do
            (cd "$cache/debs" && apt_private download "$p/$suite" >/dev/null)
            deb=$(ls -t "$cache/debs/${p}_"*.deb | head -n 1)
            dpkg-deb -x "$deb" "$dest.tmp/root"
        done
        vmlinuz=$(ls "$dest.tmp/root/boot/vmlinuz-$version" "$dest.tmp/root/usr/lib/modules/$version/vmlinuz" 2>/dev/null | head -n 1)
        [ -n "$vmlinuz" ] || { echo "$image: no vmlinuz" >&2; exit 1; }
        moddir=$(ls -d "$dest.tmp/root/lib/modules/$version" "$dest.tmp/root/usr/lib/modules/$version" 2>/dev/null | head -n 1)
        [ -f "$moddir/kernel/sound/virtio/virtio_snd.ko.xz" ] || [ -f "$moddir/kernel/sound/virtio/virtio_snd.ko" ] ||
            { echo "$image: no virtio_snd module" >&2; exit 1; }
        mv "$vmlinuz" "$dest.tmp/vmlinuz"
        mv "$moddir" "$dest.tmp/modules"
        rm -rf "$dest.tmp/root"
        touch "$dest.tmp/.complete"
        mv "$dest.tmp" "$dest"
        rm -f "$cache/debs/"*.deb
    fi
    echo "$version" >>"$cache/kernels.new"
    echo "guest kernel $version ($suite): $dest"
done
mv "$cache/kernels.new" "$cache/kernels"
