#!/usr/bin/env bash
# Webhook delivery benchmark (scripts/bench/webhooks.py): deliveries/s and
# commit-to-receipt latency, on SQLite and, when installed, on a durable
# throwaway PostgreSQL. Usage: scripts/bench/webhooks.sh [sqlite|postgres|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-all}
swift build -c release --product clearance >/dev/null
export CLEARANCE_BIN="$(swift build -c release --show-bin-path)/clearance"
if [ "$which" = sqlite ] || [ "$which" = all ]; then
  BENCH_ENGINE=sqlite python3 scripts/bench/webhooks.py
fi
if [ "$which" = postgres ] || [ "$which" = all ]; then
  if pg_env=$(CLEARANCE_PG_DURABLE=1 scripts/postgres-throwaway.sh start); then
    eval "$pg_env"
    trap 'scripts/postgres-throwaway.sh stop "$CLEARANCE_PG_DIR"' EXIT
    for db in clearance_bench_e clearance_bench_f; do
      "$CLEARANCE_PG_BINDIR/psql" "$CLEARANCE_TEST_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
    done
    BENCH_ENGINE=postgres CLEARANCE_DATABASE_URL="${CLEARANCE_TEST_POSTGRES_URL%/*}/clearance_bench_e" \
      CLEARANCE_DATABASE_URL_2="${CLEARANCE_TEST_POSTGRES_URL%/*}/clearance_bench_f" python3 scripts/bench/webhooks.py
  else
    echo "PostgreSQL is not installed: skipped the PostgreSQL run"
  fi
fi
