#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the libFuzzer targets with clang and fuzz each for a bounded time.
#   build-aux/fuzz.sh [SECONDS-PER-TARGET]   (default 60)
# Each target (every FUZZ_TARGETS entry: the vhost-user core, the sound
# device's control requests, I/O messages and state load, the wav driver's
# input file) starts from its committed corpus (tests/fuzz/corpus/<target>);
# new inputs go to a scratch directory, crashes to _build-fuzz/crashes.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build="$top/_build-fuzz"
jobs=$(nproc 2>/dev/null || echo 2)

cd "$top"
[ -x configure ] || NOCONFIGURE=1 ./autogen.sh
mkdir -p "$build/crashes"
cd "$build"
"$top/configure" CC=clang --enable-fuzzing --with-alsa=no --with-pulseaudio=no --with-pipewire=no >/dev/null
make -j"$jobs" fuzz-targets

# Fuzz inputs allocate and free guest buffers by the thousand: perf showed
# ASan spending a third of fuzz-snd-io's time faulting in fresh pages for
# its quarantine and filling new blocks.  A small quarantine and no fill
# keep every check.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:max_malloc_fill_size=0:malloc_context_size=8}"

status=0
for target in $(make -s print-fuzz-targets); do
    corpus="$top/tests/fuzz/corpus/$(basename "$target")"
    scratch=$(mktemp -d)
    echo "=== fuzzing $(basename "$target") for ${seconds}s"
    if ! "./$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$build/crashes/$(basename "$target")-" \
            -print_final_stats=1 "$scratch" "$corpus" 2>"$build/$(basename "$target").log"; then
        status=1
        tail -n 40 "$build/$(basename "$target").log"
    else
        grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$build/$(basename "$target").log" || true
    fi
    rm -rf "$scratch"
done
exit $status
