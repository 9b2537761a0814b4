#!/usr/bin/env bash
# Footfall and its peers (Segment analytics-kotlin, PostHog's JVM core, RudderStack's Java SDK as a stand-in for
# its Kotlin core) in one JVM against loopback servers: track() on the caller's thread (p50/p99/p99.9, calls/s,
# bytes allocated per call) and end to end (events tracked until the server has stored them all, bytes on the wire
# per event). Each run is a fresh JVM; prints one JSON line per SDK per run, then the median and range as a table.
# Not part of the test suite. Needs cargo, a JDK 17+ and Maven (the peers come from Maven Central).
# Usage: scripts/bench-peers.sh [runs (3)] [calls (200000)] [warm-up calls (50000)] [end-to-end events (100000)] [sdk,…]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
calls=${2:-200000}
warm_up=${3:-50000}
e2e=${4:-100000}
only=${5:-}
target_dir=$(cargo metadata --format-version 1 --no-deps --locked | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
test -n "$target_dir" || { echo "$(basename "$0"): cannot find cargo's target directory" >&2; exit 1; }
generated="android/target/generated-sources/uniffi"

echo "== build the release library and the footfall CLI (its collector), generate the bindings" >&2
cargo build --locked --release -p footfall-ffi -p footfall-cli >&2
cargo build --locked -p uniffi-bindgen >&2
rm -rf "$generated"
"$target_dir/debug/uniffi-bindgen" generate "$target_dir/release/libfootfall_ffi.so" --language kotlin --no-format --out-dir "$generated" >&2

echo "== compile the benchmark (android/bench-peers: the Footfall sources and the peers)" >&2
mvn -B -q -f android/bench-peers/pom.xml compile >&2
classpath_file=$(mktemp)
results=$(mktemp)
trap 'rm -f "$classpath_file" "$results"' EXIT
mvn -B -q -f android/bench-peers/pom.xml dependency:build-classpath -Dmdep.outputFile="$classpath_file" >&2

for run in $(seq 1 "$runs"); do
    echo "== run $run of $runs ($calls calls after $warm_up warm-up calls; $e2e events end to end); $(uptime)" >&2
    java -Xms1g -Xmx1g -Djna.library.path="$target_dir/release" \
        -cp "android/bench-peers/target/classes:$(cat "$classpath_file")" \
        dev.footfall.bench.peers.PeersBenchKt run "$run" "$calls" "$warm_up" "$e2e" "$target_dir/release/footfall" $only \
        | tee -a "$results"
done

echo
echo "$(java -version 2>&1 | head -1); $(nproc) cores; $(uptime)"
java -cp "android/bench-peers/target/classes:$(cat "$classpath_file")" dev.footfall.bench.peers.PeersBenchKt summarize "$results"
