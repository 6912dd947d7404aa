// `node dist/scripts/simulate-latency.js API KEYFILE [N]`: the latency of
// `POST /v1/txs/simulate` on a node, one request at a time (a wallet's dry run before
// each payment): N (default 2,000) dry runs of a signed ₩5 transfer, then p50, p99 and
// the largest, in ms. Not a test: it prints figures. Run it against an idle `jeon dev`.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { JeonClient, Keypair, calls, signTx } from '../src/index.js';

const [api, keyFile, count] = process.argv.slice(2);
if (!api || !keyFile) {
  console.error('usage: simulate-latency.js API KEYFILE [N]');
  process.exit(2);
}
const n = Number(count ?? 2_000);
const node = new JeonClient(api);
const me = Keypair.fromKeyFile(readFileSync(keyFile, 'utf8'));
const tx = signTx(await node.prepareTx(me, calls.transfer({ to: me.address, asset: 0, amount: 500 })), me);
for (let i = 0; i < 50; i++) await node.simulate(tx); // warm the connection
const ms: number[] = [];
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const answer = await node.simulate(tx);
  ms.push(performance.now() - t0);
  if (answer.status !== 'success') throw new Error(`dry run: ${JSON.stringify(answer.error)}`);
}
ms.sort((a, b) => a - b);
const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
console.log(`POST /v1/txs/simulate x${n}, sequential: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
