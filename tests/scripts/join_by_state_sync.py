#!/usr/bin/env python3
"""The join figure (docs/operations.md §9): a 4-validator `jeon testnet` loaded with TXS
transfers, then, under a steady 2,000 tx/s, a fifth partner admitted by vote joins by
state sync. Prints the bench, the time from the last vote being final to the fifth's
first signed block, the longest height during the change, and the state-sync lines of
the fifth's log. Uses 127.0.0.1 ports 8180-8184 and 26650-26654; stops what it started.

usage: BIN=target/release/jeon python3 tests/scripts/join_by_state_sync.py DIR TXS RATE ACCOUNTS INTERVAL
e.g.   ... /tmp/join 1000000 3000 4000 200
LOAD_RATE=N sets the steady load during the change (default 2000 tx/s; 0: the chain idle)."""
import json, os, signal, subprocess, sys, time, urllib.request
BIN = os.environ.get("BIN", "/work/main/target/release/jeon")
D, TXS, RATE, ACC, INT = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
LOAD_RATE = int(os.environ.get("LOAD_RATE", "2000"))
APIS = [f"http://127.0.0.1:{8180+i}" for i in range(4)]
def get(api, path):
    try:
        with urllib.request.urlopen(api + path, timeout=5) as r: return json.load(r)
    except Exception: return None
def run(*a, check=True):
    p = subprocess.run([BIN, *a], capture_output=True, text=True)
    if check and p.returncode != 0: sys.exit(f"{a}: {p.returncode} {p.stderr}")
    return p.stdout
subprocess.run(["rm", "-rf", D])
tn = subprocess.Popen([BIN, "testnet", "--dir", D], stdout=open(D + ".log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
while not get(APIS[0], "/v1/status"): time.sleep(0.5)
os.killpg(tn.pid, signal.SIGINT); tn.wait()
for i in range(4):
    with open(f"{D}/node-{i}/config.toml", "a") as f: f.write(f"state_sync_interval = {INT}\n")
tn = subprocess.Popen([BIN, "testnet", "--dir", D], stdout=open(D + ".log", "a"), stderr=subprocess.STDOUT, start_new_session=True)
while not get(APIS[0], "/v1/status"): time.sleep(0.5)
names = json.load(open(f"{D}/genesis.json"))["validators"]
names = [v["name"] for v in names]
t0 = time.time()
b = run("bench", "--funder", f"{D}/keys/{names[0]}.json", "--txs", TXS, "--accounts", ACC, "--rate", RATE,
        *sum((["--api", a] for a in APIS), []), "--output", "json")
print("bench:", b.strip()[-600:], f"({time.time()-t0:.0f} s)", flush=True)
st = get(APIS[0], "/v1/status"); print("head after bench:", st["height"], flush=True)
run("keys", "new", "--out", f"{D}/keys/fifth.json")
show = json.loads(run("keys", "show", f"{D}/keys/fifth.json", "--output", "json"))
addr, peer = show["address"], show["peer_id"]
# A steady load while the partner is admitted and joins: per-height finality during the change.
load = LOAD_RATE and subprocess.Popen([BIN, "bench", "--funder", f"{D}/keys/{names[3]}.json", "--soak", "150",
    "--rate", str(LOAD_RATE), "--accounts", "1000", *sum((["--api", a] for a in APIS), []), "--output", "json"],
    stdout=open(D + ".load.json", "w"), stderr=subprocess.DEVNULL, start_new_session=True)
time.sleep(25)  # funding done, load flowing (or the bench's last blocks settled)
h_before = get(APIS[0], "/v1/status")["height"]
K = lambda n: f"{D}/keys/{n}.json"
A = ["--api", APIS[0], "--wait", "--output", "json"]
run("tx", "propose", "add-partner", "--name", "Fifth", "--account", addr, "--roles", "validator", "--key", K(names[0]), *A)
run("tx", "propose", "add-validator", "--name", "fifth", "--validator", addr, "--peer-id", peer, "--power", "1", "--key", K(names[0]), *A)
ids = [0, 1]  # a fresh testnet: the first two proposals
for n in names[:3]:
    for pid in ids[-2:]:
        run("tx", "vote", "--proposal", str(pid), "--yes", "--key", K(n), *A)
voted = time.time()
peers = ", ".join(f'"/ip4/127.0.0.1/tcp/{26650+i}/p2p/{json.loads(run("keys","show",K(names[i]),"--output","json"))["peer_id"]}"' for i in range(4))
os.makedirs(f"{D}/node-4", exist_ok=True)
open(f"{D}/node-4/config.toml", "w").write(f'genesis = "../genesis.json"\nkey = "../keys/fifth.json"\ninsecure_plaintext_key = true\ndata = "data"\napi = "127.0.0.1:8184"\np2p = "/ip4/127.0.0.1/tcp/26654"\npeers = [{peers}]\nstate_sync = true\n')
fifth = subprocess.Popen([BIN, "node", "--config", f"{D}/node-4/config.toml"], stdout=open(f"{D}/node-4/node.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
started = time.time(); signed = None
while time.time() - voted < 600 and signed is None:
    st = get(APIS[0], "/v1/status")
    if st:
        h = st["height"]
        for x in range(h, max(h - 5, 0), -1):
            blk = get(APIS[0], f"/v1/blocks/{x}")
            if blk and any(s.get("validator") == addr for s in blk["certificate"]["signatures"]):
                signed = (x, time.time()); break
    time.sleep(0.2)
print(f"fifth started {started-voted:.1f} s after the last vote; first signed block {signed and signed[0]} "
      f"{(signed[1]-voted) if signed else -1:.1f} s after the last vote was final", flush=True)
time.sleep(20)
h_after = get(APIS[0], "/v1/status")["height"]
times = [get(APIS[0], f"/v1/blocks/{x}")["header"]["time_ms"] for x in range(h_before, h_after + 1)]
gaps = [b - a for a, b in zip(times, times[1:])]
worst = max(range(len(gaps)), key=lambda i: gaps[i])
print(f"blocks {h_before}..{h_after} at {LOAD_RATE} tx/s across the change: longest gap {max(gaps)} ms (before block {h_before+worst+1}), "
      f"median {sorted(gaps)[len(gaps)//2]} ms, over 1 s: {sum(g > 1000 for g in gaps)}, over 2 s: {sum(g > 2000 for g in gaps)}", flush=True)
if load: os.killpg(load.pid, signal.SIGINT); load.wait()
os.killpg(fifth.pid, signal.SIGINT); os.killpg(tn.pid, signal.SIGINT); fifth.wait(); tn.wait()
os.system(f"grep -iE 'snapshot|state sync|checkpoint|import' {D}/node-4/node.log | head -20; du -sh {D}/node-0/data {D}/node-0/data/snapshots")
