#!/usr/bin/env bash
# Fails when the committed Swift bindings (ios/Sources/FootfallFFI, ios/Headers) differ from what uniffi-bindgen
# generates from the current footfall-ffi: regenerates them into a temporary directory and compares the trees.
# Those two directories hold generated files only; edit the Rust facade and regenerate, never edit them by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
scripts/update-swift-bindings.sh --to "$fresh" > /dev/null

drift=0
for dir in Sources/FootfallFFI Headers; do
    if ! diff -ru "ios/$dir" "$fresh/$dir" > "$fresh/drift.diff" 2>&1; then
        drift=1
        echo "--- ios/$dir differs from a fresh generation (first 60 lines):" >&2
        head -n 60 "$fresh/drift.diff" >&2
    fi
done
if [[ $drift -ne 0 ]]; then
    echo "Swift bindings drifted: run scripts/update-swift-bindings.sh and commit ios/Sources/FootfallFFI and ios/Headers" >&2
    exit 1
fi
echo "check-swift-bindings: ios/Sources/FootfallFFI and ios/Headers match the footfall-ffi library"
