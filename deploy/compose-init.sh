#!/usr/bin/env bash
# Writes what deploy/compose.yaml's four partners need into DIR (default deploy/net):
# a local4 genesis, each validator's key sealed into a keystore under one passphrase
# (a demo: real partners each hold their own key and passphrase), and one config per
# node whose peers are the other containers by name. docs/operations.md §7.
#
#   deploy/compose-init.sh [DIR]        (JEON=path/to/jeon to use another binary)
set -euo pipefail

dir=${1:-"$(dirname "$0")/net"}
jeon=${JEON:-jeon}
names=(hanbit-bank dalbit-cafe pixel-forge-games baeum-learning)

if [[ -e "$dir/genesis.json" ]]; then
  echo "$dir/genesis.json exists; remove $dir to start over" >&2
  exit 2
fi
mkdir -p "$dir"
"$jeon" genesis new --preset local4 --out "$dir/genesis.json" >/dev/null

umask 077
if [[ ! -s "$dir/passphrase" ]]; then
  # 32 random bytes as hex: the demo network's one passphrase.
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/passphrase"
fi

peer_ids=()
for name in "${names[@]}"; do
  peer_ids+=("$("$jeon" keys show --json "$dir/keys/$name.json" | sed 's/.*"peer_id":"\([^"]*\)".*/\1/')")
done

for i in "${!names[@]}"; do
  node="$dir/node-$i"
  mkdir -p "$node"
  chmod 0755 "$node"
  cp "$dir/genesis.json" "$node/genesis.json"
  "$jeon" keys encrypt "$dir/keys/${names[$i]}.json" --out "$node/node.keystore.json" \
    --passphrase-file "$dir/passphrase" >/dev/null
  # The container runs as uid 10001: it must be able to read its mounted files.
  chmod 0644 "$node/node.keystore.json" "$node/genesis.json"
  peers=""
  for j in "${!names[@]}"; do
    [[ $j == "$i" ]] && continue
    peers+="${peers:+, }\"/dns4/jeon-$j/tcp/26656/p2p/${peer_ids[$j]}\""
  done
  cat >"$node/config.toml" <<TOML
# Node $i of the compose network: validator ${names[$i]} (docs/operations.md).
genesis = "/etc/jeon/genesis.json"
key = "/etc/jeon/node.keystore.json"
data = "/data"
p2p = ["/ip4/0.0.0.0/tcp/26656"]
peers = [$peers]
api = "0.0.0.0:8080"
log_level = "info"
log_format = "json"
TOML
  chmod 0644 "$node/config.toml"
done
# The validators' plaintext keys are sealed now; the users' (alice, bob) stay for
# `jeon tx` against node 0's API.
for name in "${names[@]}"; do
  rm -f "$dir/keys/$name.json"
done
chmod 0644 "$dir/passphrase"
echo "wrote $dir: genesis.json, node-0..3/{config.toml,genesis.json,node.keystore.json}, passphrase"
echo "next: docker compose -f $(dirname "$0")/compose.yaml up -d"
