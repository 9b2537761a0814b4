#!/usr/bin/env bash
# The whole test suite: what the README tells a newcomer to run, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build the footfall CLI (the cross-process tests drive the real binary)"
cargo build --locked -p footfall-cli

echo "== unit, integration, fault and crash tests"
cargo test --locked --workspace

echo "== the demo must tell its story and exit 0"
./target/debug/footfall demo

echo "== the OpenAPI document is valid and matches what the SDK sends"
python3 scripts/check_openapi.py
