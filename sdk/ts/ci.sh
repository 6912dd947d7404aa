#!/usr/bin/env bash
# CI for the TypeScript SDK: install the pinned dependencies (package-lock.json), build
# with tsc, and run every test, the live one included, against a real `jeon dev`
# started by the test itself.
#
# Usage: sdk/ts/ci.sh [PATH_TO_JEON]     (or set JEON_BIN; build it with
#        `cargo build -p jeon-cli`, binary target/debug/jeon)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-${JEON_BIN:-}}"
if [[ -z "$bin" ]]; then
  echo "sdk/ts/ci.sh: give the jeon binary as the first argument or in JEON_BIN" >&2
  exit 2
fi
if [[ ! -x "$bin" ]]; then
  echo "sdk/ts/ci.sh: $bin is not an executable jeon binary (cargo build -p jeon-cli)" >&2
  exit 2
fi
JEON_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export JEON_BIN

cd "$here"
npm ci --no-audit --no-fund
npm run build
npm test
