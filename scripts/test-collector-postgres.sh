#!/usr/bin/env bash
# The collector's whole test suite again on PostgreSQL (a throwaway server on loopback; every test gets a schema
# of its own), then the load generator on both engines in one run. FOOTFALL_SKIP_POSTGRES=1 skips it, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${FOOTFALL_SKIP_POSTGRES:-}" = 1 ]; then
    echo "SKIPPED: the collector on PostgreSQL (FOOTFALL_SKIP_POSTGRES=1)"
    exit 0
fi
source scripts/postgres.sh
postgres_start
cargo test --locked -p footfall-collector
./target/debug/footfall collector load --spawn-on sqlite --spawn-on "$FOOTFALL_TEST_POSTGRES" --instances 2 \
    --seconds 1 --connections 2 --batch 50 > /dev/null
