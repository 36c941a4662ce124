#!/usr/bin/env bash
# Drives the reviewer console in headless Chromium (Tests/console: pytest +
# Selenium) against a real `clearance serve` the tests start, and saves a
# screenshot of each page to a temporary folder it prints. Skips, saying so,
# when chromium and chromedriver are not installed (.ci/run installs them).
# CLEARANCE_DATABASE_URL, when set, picks the database (else SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_bin="${CHROMIUM_BIN:-$(command -v chromium || true)}"
driver_bin="${CHROMEDRIVER_BIN:-$(command -v chromedriver || true)}"
if [ -z "$chromium_bin" ] || [ -z "$driver_bin" ]; then
  echo "== console browser suite SKIPPED: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
  exit 0
fi

venv=.build/console-venv
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s Tests/console/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r Tests/console/requirements.txt
  cp Tests/console/requirements.txt "$venv/requirements.txt"
fi
export CLEARANCE_BIN="${CLEARANCE_BIN:-$(swift build --show-bin-path)/clearance}"
export CHROMIUM_BIN="$chromium_bin" CHROMEDRIVER_BIN="$driver_bin"
export CLEARANCE_SCREENSHOTS="${CLEARANCE_SCREENSHOTS:-$(mktemp -d -t clearance-console-shots-XXXXXX)}"
echo "== console screenshots: $CLEARANCE_SCREENSHOTS"
"$venv/bin/pytest" -q -p no:cacheprovider Tests/console "$@"
