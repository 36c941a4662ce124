#!/usr/bin/env bash
# Runs the Python compatibility tests (didit-sdk, unchanged) against a real
# `clearance serve` that the tests start. Uses a virtualenv under .build/.
# CLEARANCE_DATABASE_URL, when set, picks the database (else SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/compat-venv
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s Tests/compat/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r Tests/compat/requirements.txt
  cp Tests/compat/requirements.txt "$venv/requirements.txt"
fi
export CLEARANCE_BIN="${CLEARANCE_BIN:-$(swift build --show-bin-path)/clearance}"
"$venv/bin/pytest" -q -p no:cacheprovider Tests/compat "$@"
