#!/usr/bin/env bash
# The access-proof figure (docs/proofs.md §10): on a running `jeon dev`, N times:
# submit a buy of the 30-day pass (product 1) and wait until it is final, fetch the
# entitlement's proof and sign a challenge (`jeon access-proof`, retried until the
# purchase's block is certified by the next one), verify it offline
# (`jeon verify --access`). Prints p50/p99/max of submit -> verified access in ms.
# Usage: access_figure.sh JEON_BIN DEV_DATA_DIR API_URL [N=200]
set -euo pipefail
JEON=$1; DATA=$2; API=$3; N=${4:-200}
KEY="$DATA/keys/alice.json"; GEN="$DATA/genesis.json"; CH=00112233445566778899aabbccddeeff
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
ms() { date +%s%3N; }
for i in $(seq 1 "$N"); do
  t0=$(ms)
  id=$("$JEON" tx buy --product 1 --key "$KEY" --wait --force --genesis "$GEN" --api "$API" --output json \
      | python3 -c 'import json,sys; s=json.load(sys.stdin); print(next(e["entitlement_issued"]["id"] for e in s["receipt"]["events"] if "entitlement_issued" in e))')
  until "$JEON" access-proof --entitlement "$id" --challenge $CH --key "$KEY" --out "$TMP/p.json" --api "$API" 2>/dev/null; do sleep 0.02; done
  "$JEON" verify --genesis "$GEN" --access "$TMP/p.json" --product 1 --challenge $CH >/dev/null
  echo $(( $(ms) - t0 ))
done > "$TMP/lat"
sort -n "$TMP/lat" | python3 -c '
import sys; v=[int(x) for x in sys.stdin]; n=len(v)
print(f"n={n} p50={v[n//2]}ms p99={v[min(n-1,int(n*0.99))]}ms max={v[-1]}ms")'
