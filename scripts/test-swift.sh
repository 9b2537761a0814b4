#!/usr/bin/env bash
# The Swift package (ios/) compiled and XCTested on Linux against the real Rust library and the reference
# collector: builds libfootfall_ffi.so and the footfall CLI on the host, makes or reuses the Debian trixie root
# with Swift 6.0.3 (scripts/swift-toolchain.sh), bind-mounts the checkout into it at the same path, and runs
# `swift build` and `swift test` there with FOOTFALL_BIN set, so no XCTest is skipped.
#
# Fails on any compile error, any failing or skipped test, or when XCTest's summary line is missing; prints it.
# SwiftPM's build directory is kept inside the toolchain root (outside the checkout), one per checkout path.
# Needs root, or passwordless sudo for those steps (debootstrap, mount, chroot). Env: FOOTFALL_SWIFT_ROOT (see
# swift-toolchain.sh). Extra `swift test` arguments may be given on the command line (`--filter ConsentTests`).
#
# `--bench [calls] [warm-up]` instead runs ios/Benchmarks/TrackBench against the release library (a release Swift
# build): one JSON line of track() latencies. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == --bench ]]; then
    profile=release
else
    profile=debug
fi

if [[ ${1:-} != --in-namespace ]]; then
    # The toolchain root and the mounts need root; cargo does not. Not root: through passwordless sudo (a CI runner).
    as_root=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo -n true 2>/dev/null || { echo "test-swift: must run as root, or with passwordless sudo (debootstrap, mount, chroot)" >&2; exit 1; }
        as_root=(sudo -n env "FOOTFALL_SWIFT_ROOT=${FOOTFALL_SWIFT_ROOT:-}" "FOOTFALL_DEBIAN_MIRROR=${FOOTFALL_DEBIAN_MIRROR:-}")
    fi
    repo=$(pwd -P)
    target_dir=$(cargo metadata --format-version 1 --no-deps --locked | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    test -n "$target_dir" || { echo "test-swift: cannot find cargo's target directory" >&2; exit 1; }
    target_dir=$(mkdir -p "$target_dir" && cd "$target_dir" && pwd -P)

    echo "== build the native library and the footfall CLI (the tests start its collector)"
    cargo build --locked -p footfall-ffi -p footfall-cli
    if [[ $profile == release ]]; then
        cargo build --locked --release -p footfall-ffi
    fi
    test -f "$target_dir/$profile/libfootfall_ffi.so" || { echo "test-swift: no $target_dir/$profile/libfootfall_ffi.so" >&2; exit 1; }

    echo "== the Swift toolchain (Debian trixie root with swiftlang)"
    root=$("${as_root[@]}" bash scripts/swift-toolchain.sh | tail -n 1)

    # The mounts live in a private mount namespace: they vanish with it even if this script is killed, and the
    # trap below unmounts them on every ordinary exit. Other users of the root never see them.
    exec "${as_root[@]}" env FOOTFALL_TS_REPO="$repo" FOOTFALL_TS_TARGET="$target_dir" FOOTFALL_TS_ROOT="$root" \
        unshare --mount --propagation private -- bash "$repo/scripts/test-swift.sh" --in-namespace "$@"
fi
shift

repo=$FOOTFALL_TS_REPO
target_dir=$FOOTFALL_TS_TARGET
root=$FOOTFALL_TS_ROOT
native_dir=$target_dir/debug
if [[ ${1:-} == --bench ]]; then
    shift
    native_dir=$target_dir/release
fi

mounted=()
unmount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
    done
    mounted=()
}
trap unmount_all EXIT
bind() {   # bind SOURCE: SOURCE appears at the same path inside the root
    mkdir -p "$root$1"
    mount --bind "$1" "$root$1"
    mounted+=("$root$1")
}
mount -t proc proc "$root/proc"
mounted+=("$root/proc")
bind /dev
bind "$repo"
if [[ $target_dir != "$repo"/* ]]; then
    bind "$target_dir"
fi

# SwiftPM's build directory and caches: in the root, keyed by the checkout's path (a CI clone elsewhere gets its
# own), never in the checkout.
scratch=/var/tmp/footfall-swiftpm/$(printf '%s' "$repo" | sha256sum | cut -c1-16)
link_flags=(-Xlinker "-L$native_dir" -Xlinker -rpath -Xlinker "$native_dir")

in_root() {
    chroot "$root" /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
        FOOTFALL_BIN="$target_dir/debug/footfall" \
        "$@"
}

# The host-built binaries must run in the root (glibc there is newer than on the host: compatible).
in_root "$target_dir/debug/footfall" --help > /dev/null || { echo "test-swift: the host-built footfall CLI does not run in the root" >&2; exit 1; }

in_root swift --version 2>&1 | head -n 1
if [[ $native_dir == "$target_dir/release" ]]; then
    echo "== swift run -c release TrackBench (ios/), against $native_dir/libfootfall_ffi.so" >&2
    # shellcheck disable=SC2016
    in_root sh -c 'cd "$1" && shift && exec swift run -c release "$@"' sh "$repo/ios" --scratch-path "$scratch-release" \
        "${link_flags[@]}" TrackBench "$@"
    exit
fi

echo "== swift build (ios/)"
# shellcheck disable=SC2016 # $1 and $@ are the inner shell's
in_root sh -c 'cd "$1" && shift && exec swift build "$@"' sh "$repo/ios" --scratch-path "$scratch" "${link_flags[@]}"

echo "== swift test (ios/), FOOTFALL_BIN=$target_dir/debug/footfall"
log=$(mktemp)
status=0
# shellcheck disable=SC2016
in_root sh -c 'cd "$1" && shift && exec swift test "$@"' sh "$repo/ios" --scratch-path "$scratch" --disable-swift-testing "${link_flags[@]}" "$@" 2>&1 |
    tee "$log" || status=$?   # pipefail: swift test's status
unmount_all

summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -n 1 || true)
rm -f "$log"
if [[ -z $summary ]]; then
    echo "test-swift: no XCTest summary line (swift test exited $status)" >&2
    exit 1
fi
echo "swift: ${summary#"${summary%%[![:space:]]*}"}"
if [[ $status -ne 0 ]]; then
    echo "test-swift: swift test failed (exit $status)" >&2
    exit "$status"
fi
if [[ $summary == *skipped* ]]; then
    echo "test-swift: tests were skipped; every XCTest must run here" >&2
    exit 1
fi
