#!/usr/bin/env bash
# with_postgres.sh CMD... — runs CMD with a throwaway PostgreSQL server and returns CMD's status.
#
# The server lives in a fresh temp dir, listens only on a unix socket there (no TCP) and is
# configured the way the store's deletion guarantee needs (see src/store/postgres/postgres_store.hpp).
# CMD sees:
#   FACEPROOF_TEST_POSTGRES_URL      libpq URI of database faceproof_test, superuser role faceproof
#   FACEPROOF_TEST_POSTGRES_DATADIR  the server's data directory (tests scan its files)
#   FACEPROOF_TEST_POSTGRES_CTL      a script taking "stop" or "start": the fault tests stop and
#                                    restart this server under load
# The server is always stopped and the temp dir removed, whatever CMD does.
# As root (CI), the server runs as the `postgres` system user: postgres refuses to run as root.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

fail() {
    echo "with_postgres.sh: error: $*" >&2
    exit 1
}

# The newest installed server (Debian layout: /usr/lib/postgresql/<major>/bin).
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
for tool in initdb pg_ctl pg_isready createdb; do
    [[ -n "$bin" && -x "$bin/$tool" ]] ||
        fail "PostgreSQL server binaries not found (need $tool under /usr/lib/postgresql/*/bin); run scripts/setup.sh"
done

as_server_user=()
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || fail "running as root but there is no 'postgres' system user to run the server"
    if command -v runuser >/dev/null; then
        as_server_user=(runuser -u postgres --)
    else
        as_server_user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
fi

# Unix socket paths are limited to ~107 bytes: fall back to /tmp when TMPDIR is deep.
tmp=$(mktemp -d -t faceproof-pg.XXXXXX)
if [[ ${#tmp} -gt 80 ]]; then
    rmdir "$tmp"
    tmp=$(mktemp -d /tmp/faceproof-pg.XXXXXX)
fi
data="$tmp/data"
log="$tmp/server.log"
started=0

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ $started -eq 1 ]]; then
        if ! "${as_server_user[@]}" "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1; then
            echo "with_postgres.sh: fast stop failed, stopping immediately" >&2
            "${as_server_user[@]}" "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ ${#as_server_user[@]} -eq 0 ]] || chown postgres: "$tmp"

"${as_server_user[@]}" "$bin/initdb" -D "$data" -U faceproof --auth=trust -E UTF8 --no-locale --no-sync \
    >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; fail "initdb failed"; }

# The socket directory is private, so any port number names a free socket; keep it off the default.
port=$((20000 + RANDOM % 40000))
# Deletion must reach the files (tests/test_store.cpp DeletionReallyDeletesBytes): WAL segments
# are deleted, never recycled with old records still inside, and none are kept beyond the checkpoint.
cat >>"$data/postgresql.conf" <<EOF

# --- scripts/with_postgres.sh ---
listen_addresses = ''
unix_socket_directories = '$tmp'
port = $port
wal_recycle = off
wal_keep_size = 0
min_wal_size = 32MB
max_wal_size = 256MB
archive_mode = off
max_connections = 200
EOF

started=1
"${as_server_user[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
    { cat "$log" >&2; fail "the server did not start"; }
for _ in $(seq 1 60); do
    "$bin/pg_isready" -q -h "$tmp" -p "$port" -U faceproof && break
    sleep 0.5
done
"$bin/pg_isready" -q -h "$tmp" -p "$port" -U faceproof || { cat "$log" >&2; fail "the server is not ready"; }
"$bin/createdb" -h "$tmp" -p "$port" -U faceproof faceproof_test

{
    echo '#!/usr/bin/env bash'
    echo '# stop | start the throwaway server of scripts/with_postgres.sh'
    printf 'case "$1" in\n'
    printf '    stop) exec %s %q -D %q -m fast -w -t 60 stop ;;\n' "${as_server_user[*]}" "$bin/pg_ctl" "$data"
    printf '    start) exec %s %q -D %q -l %q -w -t 60 start ;;\n' "${as_server_user[*]}" "$bin/pg_ctl" "$data" "$log"
    printf '    *) echo "usage: $0 stop|start" >&2; exit 2 ;;\nesac\n'
} >"$tmp/pgctl"
chmod +x "$tmp/pgctl"
export FACEPROOF_TEST_POSTGRES_CTL="$tmp/pgctl"
export FACEPROOF_TEST_POSTGRES_URL="postgresql://faceproof@/faceproof_test?host=$tmp&port=$port"
export FACEPROOF_TEST_POSTGRES_DATADIR="$data"

set +e
"$@"
status=$?
set -e
exit "$status"
