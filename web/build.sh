#!/usr/bin/env bash
# Rebuilds the web app's bundle (web/dist/) that the node embeds (node/src/api/web.rs):
# installs the pinned dependencies if they are missing, then runs esbuild. Commit
# web/dist/ afterwards; `cargo build` picks it up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
node build.mjs
