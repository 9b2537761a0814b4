#!/usr/bin/env bash
# A throwaway PostgreSQL server on a loopback port for the collector's tests (sourced, not run):
#   source scripts/postgres.sh && postgres_start   -> exports FOOTFALL_TEST_POSTGRES, stops the server on exit.
# Uses Debian's packages (postgresql: /usr/lib/postgresql/N/bin); as root, the server runs as the postgres user,
# since initdb refuses root. Trust authentication on 127.0.0.1 only: nothing else can reach it.

postgres_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] && command -v initdb >/dev/null; then dir=$(dirname "$(command -v initdb)"); fi
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

postgres_start() {
    local bin port
    bin=$(postgres_bin) || { echo "PostgreSQL is not installed (Debian: apt-get install postgresql); .ci/run installs it" >&2; return 1; }
    POSTGRES_DIR=$(mktemp -d /tmp/footfall-pg.XXXXXX)
    port=${FOOTFALL_PG_PORT:-$((40000 + RANDOM % 20000))}
    local as=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$POSTGRES_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$POSTGRES_DIR/data" -A trust -U footfall >/dev/null
    "${as[@]}" "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/log" -w \
        -o "-p $port -k $POSTGRES_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    POSTGRES_STOP=("${as[@]}" "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -m immediate stop)
    trap postgres_stop EXIT
    export FOOTFALL_TEST_POSTGRES="postgres://footfall@127.0.0.1:$port/postgres"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

postgres_stop() {
    if [ -n "${POSTGRES_DIR:-}" ]; then
        "${POSTGRES_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$POSTGRES_DIR"
        POSTGRES_DIR=
    fi
}
