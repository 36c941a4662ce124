#!/usr/bin/env bash
# Schema fuzzing: schemathesis against the served /openapi.json of a real
# `clearance serve` (fresh SQLite, or CLEARANCE_DATABASE_URL), every
# operation, with a valid admin key. Fails on any 5xx or any response the
# document does not describe.
# Usage: scripts/fuzz/run.sh [examples per operation, default 40]
#   (CLEARANCE_BIN: the binary, default the debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."
examples=${1:-40}
venv=.build/fuzz-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r scripts/fuzz/requirements.txt
fi
bin=${CLEARANCE_BIN:-$(swift build --show-bin-path)/clearance}
[ -x "$bin" ] || swift build --product clearance
work=$(mktemp -d /tmp/clearance-fuzz.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u CLEARANCE_DATA_KEY CLEARANCE_DATA_DIR="$work" CLEARANCE_LISTEN="127.0.0.1:$port" CLEARANCE_LOG_LEVEL=error \
  CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS=1 "$bin" serve --admin-key-file "$work/admin.key" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/serve.log" 2>/dev/null && break
  sleep 0.2
done
key=$(cat "$work/admin.key")
echo "== schemathesis: $examples examples per operation against 127.0.0.1:$port"
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --checks all --exclude-checks ignored_auth,positive_data_acceptance \
  -H "x-api-key: $key" -H "Authorization: Bearer $key" --max-examples "$examples" --seed 20261122 \
  --workers 4 --request-timeout 30 --suppress-health-check all \
  --report junit --report-dir "$work/report" "${@:2}"
