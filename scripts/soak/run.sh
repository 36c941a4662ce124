#!/usr/bin/env bash
# Soak: mixed load on a release `clearance serve` over SQLite for SOAK_SECONDS
# (default 600) after a SOAK_WARMUP (default 60) s warm-up, watching the
# server's resident memory and file descriptors (scripts/soak/soak.py).
# Fails when RSS at the end is above 1.2 × RSS after warm-up, the descriptor
# count grew, or any request got an answer it must not get.
# Usage: scripts/soak/run.sh   (SOAK_SECONDS, SOAK_WARMUP, SOAK_CLIENTS, SOAK_RATE, SOAK_SAMPLE)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product clearance >/dev/null
export CLEARANCE_BIN="$(swift build -c release --show-bin-path)/clearance"
exec python3 scripts/soak/soak.py
