#!/usr/bin/env bash
# Three `clearance serve` processes on one PostgreSQL under a load spread
# over them (conflicting status changes, node results, KYC reviewer actions,
# expiring subjects), then the same with a `kill -9` of one of them; checks
# the audit chain, every history, every delivery and every sweep
# (scripts/chaos/multiprocess.py says what exactly).
# Usage: scripts/chaos/multiprocess.sh   (CHAOS_SCALE, CHAOS_CLIENTS, CHAOS_PHASES)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product clearance >/dev/null
export CLEARANCE_BIN="$(swift build -c release --show-bin-path)/clearance"
pg_env=$(scripts/postgres-throwaway.sh start) || { echo "multiprocess.sh needs PostgreSQL's server binaries" >&2; exit 3; }
eval "$pg_env"
trap 'scripts/postgres-throwaway.sh stop "$CLEARANCE_PG_DIR"' EXIT
python3 scripts/chaos/multiprocess.py
