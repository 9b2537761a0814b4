#!/usr/bin/env bash
# Kotlin bindings end to end on the JVM: build the native library (debug, unstripped: bindgen reads its UniFFI
# metadata), generate the Kotlin bindings from it (and Swift, to prove that generation works too), then compile
# the generated + idiomatic Kotlin and run the JUnit suite against the real library and the reference collector.
# Needs cargo, a JDK 17+ and Maven; Maven fetches its plugins and dependencies from Maven Central.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v mvn >/dev/null || { echo "test-kotlin: Maven (mvn) is required" >&2; exit 1; }
command -v java >/dev/null || { echo "test-kotlin: a JDK (17+) is required" >&2; exit 1; }

target_dir=$(cargo metadata --format-version 1 --no-deps --locked | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
test -n "$target_dir" || { echo "$(basename "$0"): cannot find cargo's target directory" >&2; exit 1; }
native_dir="$target_dir/debug"
generated="android/target/generated-sources/uniffi"

echo "== build the native library and the footfall CLI (the tests start its collector)"
cargo build --locked -p footfall-ffi -p footfall-cli

echo "== generate the Kotlin bindings from $native_dir/libfootfall_ffi.so"
cargo build --locked -p uniffi-bindgen
bindgen="$native_dir/uniffi-bindgen"
rm -rf "$generated"
"$bindgen" generate "$native_dir/libfootfall_ffi.so" --language kotlin --no-format --out-dir "$generated"
test -s "$generated/dev/footfall/ffi/footfall_ffi.kt"

echo "== generate the Swift bindings (generation check only)"
swift_out=$(mktemp -d)
trap 'rm -rf "$swift_out"' EXIT
"$bindgen" generate "$native_dir/libfootfall_ffi.so" --language swift --no-format --out-dir "$swift_out"
for f in FootfallFFI.swift footfall_ffiFFI.h footfall_ffiFFI.modulemap; do
    test -s "$swift_out/$f" || { echo "test-kotlin: Swift generation did not produce $f" >&2; exit 1; }
done

echo "== compile the Kotlin package and run the JUnit suite"
rm -rf android/target/surefire-reports
status=0
mvn -B -q -f android/pom.xml -Dfootfall.native.dir="$native_dir" test || status=$?

# -q keeps Maven quiet on success; say what ran (a Maven failure above has already printed its details).
cat android/target/surefire-reports/TEST-*.xml 2>/dev/null | awk '
    /<testsuite / {
        for (i = 1; i <= NF; i++) {
            if (split($i, kv, "=") == 2) { gsub(/[">]/, "", kv[2]); n[kv[1]] += kv[2] }
        }
    }
    END { bad = n["failures"] + n["errors"]; printf "kotlin: %d passed, %d failed, %d skipped\n", n["tests"] - bad - n["skipped"], bad, n["skipped"] }'
exit "$status"
