#!/usr/bin/env bash
# The Android layer (dev.footfall.android) on the JVM: compiled against the real AndroidX libraries and Robolectric's
# android-all (the real Android framework, API 35), then its JUnit 4 suite run under Robolectric against the host
# native library (JNA) and the reference collector. Run after scripts/test-kotlin.sh, which builds the library and
# the footfall CLI and generates the Kotlin bindings this build compiles. See android/src/android/pom.xml.
#
# Maven fetches AndroidX, Robolectric and android-all from Maven Central on the first run (cached in ~/.m2 after);
# Robolectric itself runs offline (robolectric.offline=true), from the android-all jar Maven fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v mvn >/dev/null || { echo "test-android: Maven (mvn) is required" >&2; exit 1; }
command -v java >/dev/null || { echo "test-android: a JDK (17+) is required" >&2; exit 1; }

target_dir=$(cargo metadata --format-version 1 --no-deps --locked | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
test -n "$target_dir" || { echo "$(basename "$0"): cannot find cargo's target directory" >&2; exit 1; }
native_dir="$target_dir/debug"
for f in "$native_dir/libfootfall_ffi.so" "$native_dir/footfall" android/target/generated-sources/uniffi/dev/footfall/ffi/footfall_ffi.kt; do
    test -s "$f" || { echo "test-android: $f is missing: run scripts/test-kotlin.sh first" >&2; exit 1; }
done

reports=android/target/android-layer/surefire-reports
rm -rf "$reports"
status=0
mvn -B -q -f android/src/android/pom.xml -Dfootfall.native.dir="$native_dir" test || status=$?

# -q keeps Maven quiet on success; say what ran (a Maven failure above has already printed its details).
cat "$reports"/TEST-*.xml 2>/dev/null | awk '
    /<testsuite / {
        for (i = 1; i <= NF; i++) {
            if (split($i, kv, "=") == 2) { gsub(/[">]/, "", kv[2]); n[kv[1]] += kv[2] }
        }
    }
    END { bad = n["failures"] + n["errors"]; printf "android: %d passed, %d failed, %d skipped\n", n["tests"] - bad - n["skipped"], bad, n["skipped"] }'
exit "$status"
