#!/usr/bin/env bash
# Regenerates the committed Swift bindings from the host build of footfall-ffi (debug, unstripped: uniffi-bindgen
# reads the UniFFI metadata embedded in the library):
#   ios/Sources/FootfallFFI/FootfallFFI.swift   the generated Swift (module FootfallFFI)
#   ios/Headers/footfall_ffiFFI.h               the C header of the generated FFI module (FootfallFFIFFI)
#   ios/Headers/footfall_ffiFFI.modulemap       its module map (ios/build-xcframework.sh packages both)
# They are committed because SwiftPM consumers need the sources (SwiftPM cannot run cargo and uniffi-bindgen);
# scripts/check-swift-bindings.sh fails the suite when they drift from the library, and scripts/test-swift.sh
# compiles and tests them.
#
# Usage: scripts/update-swift-bindings.sh [--to DIR]    (DIR gets the same layout as ios/; default ios/)
set -euo pipefail
cd "$(dirname "$0")/.."

dest=ios
if [[ $# -gt 0 ]]; then
    [[ $1 == --to && $# -eq 2 ]] || { echo "usage: $0 [--to DIR]" >&2; exit 2; }
    dest=$2
fi

case "$(uname -s)" in
    Darwin) lib_name=libfootfall_ffi.dylib ;;
    *) lib_name=libfootfall_ffi.so ;;
esac
target_dir=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# A no-op when scripts/test-kotlin.sh (same packages, same profile) already built them.
cargo build --quiet --locked -p footfall-ffi -p uniffi-bindgen

generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
"$target_dir/debug/uniffi-bindgen" generate "$target_dir/debug/$lib_name" --language swift --no-format --out-dir "$generated"

# Exactly these three files; anything else means uniffi.toml or the UniFFI version changed what is emitted.
expected="FootfallFFI.swift footfall_ffiFFI.h footfall_ffiFFI.modulemap"
actual=$(for f in "$generated"/*; do basename "$f"; done | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
if [[ $actual != "$expected" ]]; then
    echo "update-swift-bindings: uniffi-bindgen emitted [$actual], expected [$expected]; update this script and ios/" >&2
    exit 1
fi

mkdir -p "$dest/Sources/FootfallFFI" "$dest/Headers"
cp "$generated/FootfallFFI.swift" "$dest/Sources/FootfallFFI/FootfallFFI.swift"
cp "$generated/footfall_ffiFFI.h" "$generated/footfall_ffiFFI.modulemap" "$dest/Headers/"
echo "update-swift-bindings: wrote $dest/Sources/FootfallFFI/FootfallFFI.swift and $dest/Headers/footfall_ffiFFI.{h,modulemap}"
