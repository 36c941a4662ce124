#!/usr/bin/env bash
# kill -9 in the middle of 5,000 status changes; checks that webhooks lose
# nothing that committed and send nothing that did not (scripts/chaos/kill9.py).
# Usage: scripts/chaos/kill9.sh [sqlite|postgres]   (CHAOS_CHANGES, CHAOS_SESSIONS)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product clearance >/dev/null
export CLEARANCE_BIN="$(swift build -c release --show-bin-path)/clearance"
case "${1:-sqlite}" in
  sqlite) python3 scripts/chaos/kill9.py ;;
  postgres)
    pg_env=$(CLEARANCE_PG_DURABLE=1 scripts/postgres-throwaway.sh start)
    eval "$pg_env"
    trap 'scripts/postgres-throwaway.sh stop "$CLEARANCE_PG_DIR"' EXIT
    "$CLEARANCE_PG_BINDIR/psql" "$CLEARANCE_TEST_POSTGRES_URL" -qc "CREATE DATABASE clearance_chaos" >/dev/null
    CLEARANCE_DATABASE_URL="${CLEARANCE_TEST_POSTGRES_URL%/*}/clearance_chaos" python3 scripts/chaos/kill9.py ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
