#!/usr/bin/env bash
# A throwaway PostgreSQL server on a loopback port for the collector's tests (sourced, not run):
#   source scripts/postgres.sh && postgres_start   -> exports FOOTFALL_TEST_POSTGRES, stops the server on exit.
# Uses Debian's packages (postgresql: /usr/lib/postgresql/N/bin); as root, the server runs as the postgres user,
# since initdb refuses root. Trust authentication on 127.0.0.1 only: nothing else can reach it.
# It serves TLS with a certificate for 127.0.0.1 from a CA made here, and the URL asks for it verified
# (sslmode=verify-full, sslrootcert=the CA), so the collector's whole suite runs over verified TLS;
# FOOTFALL_TEST_POSTGRES_CA names the CA.

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
    postgres_certificates "$POSTGRES_DIR/tls"
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$POSTGRES_DIR/tls"; fi
    "${as[@]}" "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/log" -w \
        -o "-p $port -k $POSTGRES_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c ssl=on \
            -c ssl_cert_file=$POSTGRES_DIR/tls/server.crt -c ssl_key_file=$POSTGRES_DIR/tls/server.key" start >/dev/null
    POSTGRES_STOP=("${as[@]}" "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -m immediate stop)
    trap postgres_stop EXIT
    export FOOTFALL_TEST_POSTGRES_CA="$POSTGRES_DIR/tls/ca.pem"
    export FOOTFALL_TEST_POSTGRES="postgres://footfall@127.0.0.1:$port/postgres?sslmode=verify-full&sslrootcert=$FOOTFALL_TEST_POSTGRES_CA"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# A CA and a server certificate for 127.0.0.1 signed by it (P-256, two days), in $1.
postgres_certificates() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=footfall test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        > "$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
    chmod 600 "$dir/server.key"
}

postgres_stop() {
    if [ -n "${POSTGRES_DIR:-}" ]; then
        "${POSTGRES_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$POSTGRES_DIR"
        POSTGRES_DIR=
    fi
}
