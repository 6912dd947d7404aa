#!/usr/bin/env bash
# CI for the web app: install the pinned dependencies (package-lock.json), rebuild the
# bundle and fail if it differs from the committed web/dist/ (the node embeds those
# files), then run the browser tests in headless Chromium against a real `jeon dev`
# that the tests start. Installs Debian's chromium if no browser is found.
#
# Usage: web/ci.sh PATH_TO_JEON     (cargo build -p jeon-cli; target/debug/jeon)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-${JEON_BIN:-}}"
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "web/ci.sh: give the jeon binary as the first argument (cargo build -p jeon-cli; target/debug/jeon)" >&2
  exit 2
fi
JEON_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export JEON_BIN

if [[ -z "${CHROMIUM_BIN:-}" ]]; then
  if ! command -v chromium >/dev/null; then
    echo "web/ci.sh: installing Debian's chromium for the browser tests"
    if [[ "$(id -u)" == 0 ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    else
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
    fi
  fi
  CHROMIUM_BIN="$(command -v chromium)"
fi
export CHROMIUM_BIN

cd "$here"
npm ci --no-audit --no-fund
before="$(mktemp -d)"
trap 'rm -rf "$before"' EXIT
cp dist/*.html dist/*.js dist/*.css "$before"/
npx tsc -p .                 # type-check web/src and the SDK sources it bundles
node build.mjs
# The plain files must be byte for byte what is committed; each .gz must hold its file
# (zlib's output may differ across Node versions, so it is compared decompressed).
for f in "$before"/*; do
  name="$(basename "$f")"
  if ! cmp -s "$f" "dist/$name"; then
    echo "web/ci.sh: web/dist/$name differs from a rebuild of web/src: run web/build.sh and commit web/dist/" >&2
    exit 1
  fi
  if ! gzip -dc "dist/$name.gz" | cmp -s - "dist/$name"; then
    echo "web/ci.sh: web/dist/$name.gz does not decompress to web/dist/$name: run web/build.sh" >&2
    exit 1
  fi
done
if [[ -n "$(git -C "$here" status --porcelain -- dist ':!dist/*.gz')" ]]; then
  echo "web/ci.sh: web/dist/ differs from what is committed: run web/build.sh and commit web/dist/" >&2
  git -C "$here" status --short -- dist ':!dist/*.gz' >&2
  exit 1
fi
npm test
