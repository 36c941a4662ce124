#!/usr/bin/env bash
# Schema fuzzing: schemathesis against the served /openapi.json of a real
# `clearance serve` (fresh SQLite, or CLEARANCE_DATABASE_URL), every
# operation, with a valid admin key, every check but ignored_auth (the key is
# always valid, so it has nothing to compare). Fails on any 5xx, any response
# the document does not describe, any schema-valid request refused and any
# schema-invalid request accepted.
# Usage: scripts/fuzz/run.sh [examples per operation, default 40] [extra schemathesis arguments]
#   (CLEARANCE_BIN: the binary, default the debug build)
#
# Two runs against the same server: every operation but key revocation, then
# key revocation alone. In one run the stateful phase lists the keys and
# revokes the fuzzing key itself, and every later request is a 401 that
# passes every check: that is how an earlier version of this script reported
# thousands of passing cases that never reached a handler.
#
# One worker: with several, hypothesis parses sources with `ast` on several
# threads at once, and CPython 3.11 then raises "AST constructor recursion
# depth mismatch" (python/cpython#106905) as a runtime error of the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
examples=${1:-40}
shift || true
venv=.build/fuzz-venv
stamp="$venv/requirements.sha256"
if [ ! -x "$venv/bin/schemathesis" ] || ! sha256sum -c --status "$stamp" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r scripts/fuzz/requirements.txt
  sha256sum scripts/fuzz/requirements.txt >"$stamp"
fi
bin=${CLEARANCE_BIN:-$(swift build --show-bin-path)/clearance}
[ -x "$bin" ] || swift build --product clearance
work=$(mktemp -d /tmp/clearance-fuzz.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# --no-workers: webhook destinations the fuzzer makes point at hosts it made
# up; nothing is delivered to them.
env -u CLEARANCE_DATA_KEY CLEARANCE_DATA_DIR="$work" CLEARANCE_LISTEN="127.0.0.1:$port" CLEARANCE_LOG_LEVEL=error \
  CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS=1 "$bin" serve --no-workers --admin-key-file "$work/admin.key" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  grep -q "listening on" "$work/serve.log" 2>/dev/null && break
  sleep 0.2
done
grep -q "listening on" "$work/serve.log" || { cat "$work/serve.log"; echo "fuzz: the server did not start" >&2; exit 1; }
# A sandbox admin key: sandbox_scenario is valid only for sandbox keys, and
# with one the fuzzer's sessions run to their outcomes.
key=$(python3 - "$port" "$(cat "$work/admin.key")" <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v3/api-keys/", method="POST",
    data=json.dumps({"name": "fuzz", "environment": "sandbox", "roles": ["admin"]}).encode(),
    headers={"x-api-key": sys.argv[2], "content-type": "application/json"})
print(json.load(urllib.request.urlopen(request))["key"])
EOF
)
status=0
run() {
  local name=$1
  shift
  echo "== schemathesis ($name): $examples examples per operation against 127.0.0.1:$port"
  # From the work folder: schemathesis keeps a cache of past failures in
  # ./.schemathesis and replays them, which would make runs depend on history.
  (cd "$work" && SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$repo/scripts/fuzz" "$repo/$venv/bin/schemathesis" --config-file "$repo/scripts/fuzz/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
    -H "x-api-key: $key" -H "Authorization: Bearer $key" --max-examples "$examples" --seed 20261122 \
    --workers 1 --request-timeout 30 --suppress-health-check all \
    --report junit --report-dir "$work/report-$name" "$@") | tee "$work/summary-$name.txt" || status=1
}
run operations --exclude-name 'DELETE /v3/api-keys/{key_id}/' "$@"
run revocation --include-name 'DELETE /v3/api-keys/{key_id}/' "$@"
if ! kill -0 "$server" 2>/dev/null; then
  echo "fuzz: the server died; its log:" >&2
  tail -50 "$work/serve.log" >&2
  status=1
fi
echo "fuzz: reports in $work"
# One closing line over both runs: cases generated and passed, and failures
# (schemathesis counts unique failures; errors of the run itself count too).
python3 - "$work"/summary-*.txt <<'EOF'
import re, sys
passed = failed = 0
for name in sys.argv[1:]:
    text = open(name, encoding="utf-8", errors="replace").read()
    for generated, rest in re.findall(r"^\s+(\d+) generated, (.*)$", text, re.M):
        if re.fullmatch(r"\d+ passed", rest.strip()):
            passed += int(generated)
        else:
            found = re.search(r"(\d+) unique failure", rest)
            failed += int(found.group(1)) if found else 1
    failed += sum(int(n) for n in re.findall(r"Runtime Error: (\d+)", text))
print(f"fuzz: {passed} passed, {failed} failed")
EOF
exit $status
