#!/usr/bin/env bash
# The whole test suite: what the README tells a newcomer to run, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== formatting and lints (cargo fmt, clippy with warnings as errors)"
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
python3 scripts/check_imports.py core/src bindings/ffi/src examples/collector/src examples/cli/src

echo "== build the footfall CLI (the cross-process tests drive the real binary)"
cargo build --locked -p footfall-cli

echo "== unit, integration, fault and crash tests"
cargo test --locked --workspace

echo "== the FFI facade without the built-in transport (apps that bring OkHttp/URLSession)"
cargo test --locked -p footfall-ffi --no-default-features

echo "== size budget: the stripped native library, as the AAR/XCFramework ship it and with the built-in transport"
bash scripts/check-size.sh

echo "== the demo must tell its story and exit 0"
./target/debug/footfall demo

echo "== the benchmark runs end to end (figures come from a release build: see docs/benchmarks.md)"
./target/debug/footfall bench --events 1000 --idle-secs 1 > /dev/null

echo "== the collector on PostgreSQL: its whole suite (two instances on one database among it), and the load test"
bash scripts/test-collector-postgres.sh

echo "== the collector load generator runs end to end (figures: docs/collector.md)"
./target/debug/footfall collector load --spawn --seconds 1 --connections 2 --batch 50 > /dev/null

echo "== the OpenAPI document is valid and matches what the SDK sends"
python3 scripts/check_openapi.py

echo "== conformance: a server written from the docs alone, driven by the real CLI under faults"
python3 tests/conformance/run.py

echo "== the console in a real browser: headless Chromium over WebDriver, the collector, and the CLI as the device"
python3 tests/browser/console.py

echo "== Kotlin package: bindings generated from the library, compiled and JUnit-tested on the JVM"
bash scripts/test-kotlin.sh

echo "== Android layer: compiled against real AndroidX and android-all, JUnit-tested under Robolectric"
bash scripts/test-android.sh

echo "== Swift: the committed bindings match the library"
bash scripts/check-swift-bindings.sh

echo "== Swift package: compiled with Swift 6.0.3 (Debian trixie root) and XCTested against the library and the collector"
bash scripts/test-swift.sh

echo "== the 16 KB ELF alignment check refuses 4 KB and accepts 16 KB libraries"
bash scripts/check-elf-alignment.sh --self-test
