// Writes sdk/vectors/variants.input.json: one sample of every Event, CallError,
// TxError and Call variant, each field a distinct value, in JSON form. The Rust test
// (runtime/tests/it/sdk_vectors.rs) parses them with serde (a wrong field name fails
// there), encodes them, and writes sdk/vectors/variants.json, which the TS tests decode:
// so every variant's field order is pinned on both sides. Rerun after appending variants.

import { writeFileSync } from 'node:fs';

import { toJson, type Schema } from '../src/codec.js';
import * as S from '../src/schemas.js';

let n = 1;
function sample(s: Schema): unknown {
  if (typeof s === 'string') {
    const k = n++;
    switch (s) {
      case 'u8':
        return k % 250;
      case 'u16':
        return 1000 + k;
      case 'u32':
        return 100_000 + k;
      case 'u64':
      case 'u128':
        return BigInt(10_000_000_000 + k);
      case 'bool':
        return k % 2 === 0;
      case 'string':
        return `text ${k} ₩`;
      case 'address':
      case 'hash':
        return new Uint8Array(32).fill(k % 256);
      case 'signature':
        return new Uint8Array(64).fill(k % 256);
      case 'bytes':
        return Uint8Array.of(k % 256, 1, 2);
    }
  }
  if ('option' in s) return sample(s.option);
  if ('vec' in s) return [sample(s.vec), sample(s.vec)];
  if ('struct' in s) return Object.fromEntries(s.struct.map(([name, f]) => [name, sample(f)]));
  throw new Error('enums are sampled per variant');
}

function variants(s: Schema): unknown[] {
  if (typeof s === 'string' || !('enum' in s)) throw new Error('not an enum');
  return s.enum.map(([name, payload]) => (payload === null ? name : { [name]: sampleDeep(payload) }));
}

/** A sample where a nested enum takes its first non-unit variant (or its first). */
function sampleDeep(s: Schema): unknown {
  if (typeof s !== 'string' && 'enum' in s) {
    const v = s.enum.find(([, p]) => p !== null) ?? s.enum[0]!;
    return v[1] === null ? v[0] : { [v[0]]: sampleDeep(v[1]) };
  }
  if (typeof s !== 'string' && 'struct' in s) {
    return Object.fromEntries(s.struct.map(([name, f]) => [name, sampleDeep(f)]));
  }
  if (typeof s !== 'string' && 'option' in s) return sampleDeep(s.option);
  if (typeof s !== 'string' && 'vec' in s) return [sampleDeep(s.vec)];
  return sample(s);
}

const receipt = (outcome: unknown, events: unknown[]) => ({
  tx: sample('hash'),
  outcome,
  fee: sample('u64'),
  events,
});
const receipts = [
  receipt('success', variants(S.Event)),
  ...variants(S.CallError).map((e) => receipt({ failed: e }, [])),
  ...variants(S.TxError).map((e) => receipt({ invalid: e }, [])),
  receipt({ invalid: { decode: { malformed: 'LimitExceeded' } } }, []),
  receipt({ invalid: { decode: { trailing_bytes: { trailing: 3 } } } }, []),
  receipt({ invalid: { bad_signature: 'bad_public_key' } }, []),
];
const calls = variants(S.Call);
const out = {
  note: 'Inputs of runtime/tests/it/sdk_vectors.rs, written by sdk/ts/scripts/variant-samples.ts',
  receipts: receipts.map((r) => toJson(S.Receipt, r)),
  calls: calls.map((c) => toJson(S.Call, c)),
};
const path = new URL('../../../vectors/variants.input.json', import.meta.url);
writeFileSync(path, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${receipts.length} receipts and ${calls.length} calls to ${path.pathname}`);
