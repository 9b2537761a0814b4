#!/usr/bin/env bash
# track() through JNA from Kotlin against the optimised native library: prints one JSON line with
# p50/p99/p99.9 latency and bytes allocated per call on the calling thread. Not part of the test suite.
# Usage: scripts/bench-kotlin.sh [calls (default 200000)] [warm-up calls (default 50000)]
set -euo pipefail
cd "$(dirname "$0")/.."

calls=${1:-200000}
warm_up=${2:-50000}
target_dir=$(cargo metadata --format-version 1 --no-deps --locked | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
test -n "$target_dir" || { echo "$(basename "$0"): cannot find cargo's target directory" >&2; exit 1; }
generated="android/target/generated-sources/uniffi"

echo "== build the release library (opt-level z, LTO) and generate the bindings" >&2
cargo build --locked --release -p footfall-ffi >&2
cargo build --locked -p uniffi-bindgen >&2
# The release library keeps its symbols (strip = "debuginfo"), so bindgen can read it directly.
rm -rf "$generated"
"$target_dir/debug/uniffi-bindgen" generate "$target_dir/release/libfootfall_ffi.so" --language kotlin --no-format --out-dir "$generated" >&2

echo "== compile the Kotlin package and the benchmark" >&2
mvn -B -q -f android/pom.xml test-compile >&2
classpath_file=$(mktemp)
trap 'rm -f "$classpath_file"' EXIT
mvn -B -q -f android/pom.xml dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$classpath_file" >&2

echo "== run ($calls calls after $warm_up warm-up calls)" >&2
java -Djna.library.path="$target_dir/release" \
    -cp "android/target/classes:android/target/test-classes:$(cat "$classpath_file")" \
    dev.footfall.bench.TrackBenchKt "$calls" "$warm_up"
