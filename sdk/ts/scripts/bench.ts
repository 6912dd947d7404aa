// `npm run bench`: time to build, sign and encode 10,000 transfers in Node, and to
// verify a proof. Not a test: it prints figures.

import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

import { Keypair, buildTx, calls, decodeAddress, decodeProof, encodeTx, fromHex, signTx, txHash, verifyProof } from '../src/index.js';

const N = Number(process.env.BENCH_TXS ?? 10_000);
const chainId = fromHex('c1'.repeat(32));
const alice = Keypair.fromSeedLabel('alice');
const bob = Keypair.fromSeedLabel('bob').publicKey;

/** Wall and CPU milliseconds (CPU time is what the work costs on a machine shared with others). */
function run(withHash: boolean): { wall: number; cpu: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const body = buildTx(
      { chainId, sender: alice, nonce: i, feeLimit: 20, expiry: 1_000_000 },
      calls.transfer({ to: bob, asset: 0, amount: 500 + i }),
    );
    const tx = signTx(body, alice);
    const encoded = encodeTx(tx);
    bytes += encoded.length;
    if (withHash) txHash(encoded);
  }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (bytes !== N * 202) throw new Error(`expected ${N * 202} bytes, got ${bytes}`);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

run(false); // warm up the JIT and noble's precomputed tables
const sign = run(false);
const hashed = run(true);
const line = (what: string, t: { wall: number; cpu: number }) =>
  console.log(
    `${what}: ${t.wall.toFixed(0)} ms wall, ${t.cpu.toFixed(0)} ms CPU (${((t.cpu * 1000) / N).toFixed(0)} µs CPU each)`,
  );
line(`sign + encode ${N} transfers`, sign);
line(`sign + encode + hash ${N} transfers`, hashed);

const proofs = JSON.parse(readFileSync(new URL('../../../vectors/proofs.json', import.meta.url), 'utf8'));
const set = proofs.validators.map((v: { key: string; power: number }) => ({ key: decodeAddress(v.key), power: BigInt(v.power) }));
const M = 200;
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < M; i++) verifyProof(decodeProof(proofs.good[0].proof_hex), proofs.chain_id, set);
const per = (performance.now() - t0) / M;
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1000 / M;
console.log(`decode + verify a proof (3 signers + the tx signature): ${(per * 1000).toFixed(0)} µs wall, ${(cpu * 1000).toFixed(0)} µs CPU`);
