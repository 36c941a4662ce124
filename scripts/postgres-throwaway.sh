#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster in a temporary directory on a free
# loopback port and prints `export` lines for it (CLEARANCE_PG_DIR, its admin
# URL, the pg_ctl that stops it). Prints nothing and exits 3 when
# PostgreSQL's server binaries are not installed.
#   eval "$(scripts/postgres-throwaway.sh start)"; …; scripts/postgres-throwaway.sh stop "$CLEARANCE_PG_DIR"
set -euo pipefail

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  local candidate
  candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then echo "$candidate"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  return 1
}

# PostgreSQL refuses to run as root: run its tools as `postgres` then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "${1:-}" in
  start)
    bindir=$(find_bindir) || exit 3
    dir=$(mktemp -d /tmp/clearance-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    port=$(free_port)
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # Tests: durability off for speed. Benchmarks (CLEARANCE_PG_DURABLE=1):
    # PostgreSQL's durable defaults, so figures mean what production would see.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${CLEARANCE_PG_DURABLE:-0}" = 1 ] && durability=""
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=800 -c shared_buffers=256MB" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "export CLEARANCE_PG_DIR=$dir"
    echo "export CLEARANCE_PG_BINDIR=$bindir"
    echo "export CLEARANCE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?usage: stop DIR}
    bindir=${CLEARANCE_PG_BINDIR:-$(find_bindir)}
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
