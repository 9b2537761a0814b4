#!/usr/bin/env bash
# Compiles the Android glue against the Kotlin layer and the generated bindings without the Android SDK (see the
# comment in pom.xml for what this does and does not prove). Run after scripts/test-kotlin.sh, which generates
# the bindings into android/target/generated-sources/uniffi.
set -euo pipefail
cd "$(dirname "$0")"
bindings=../../../target/generated-sources/uniffi/dev/footfall/ffi/footfall_ffi.kt
[[ -s $bindings ]] || { echo "check-glue: generated bindings missing: run scripts/test-kotlin.sh first" >&2; exit 1; }
mvn -B -q -f pom.xml compile
echo "check-glue: the Android glue compiles against the Kotlin layer (AndroidX signatures from stubs; not the Android SDK)"
