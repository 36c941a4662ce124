#!/usr/bin/env bash
# Sessions API benchmark: builds release, then runs scripts/bench/sessions.py
# on SQLite and, when PostgreSQL is installed, on a durable throwaway cluster.
# Usage: scripts/bench/run.sh [sqlite|postgres|all]   (BENCH_DURATION, BENCH_LARGE)
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-all}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product clearance
export CLEARANCE_BIN="$(swift build -c release --show-bin-path)/clearance"

if [ "$which" = sqlite ] || [ "$which" = all ]; then
  BENCH_ENGINE=sqlite python3 scripts/bench/sessions.py
fi
if [ "$which" = postgres ] || [ "$which" = all ]; then
  if pg_env=$(CLEARANCE_PG_DURABLE=1 scripts/postgres-throwaway.sh start); then
    eval "$pg_env"
    trap 'scripts/postgres-throwaway.sh stop "$CLEARANCE_PG_DIR"' EXIT
    "$CLEARANCE_PG_BINDIR/psql" "$CLEARANCE_TEST_POSTGRES_URL" -qc "CREATE DATABASE clearance_bench" >/dev/null
    PSQL="$CLEARANCE_PG_BINDIR/psql" BENCH_ENGINE=postgres CLEARANCE_DATABASE_URL="${CLEARANCE_TEST_POSTGRES_URL%/*}/clearance_bench" \
      python3 scripts/bench/sessions.py
  else
    echo "PostgreSQL is not installed: skipped the PostgreSQL run"
  fi
fi
