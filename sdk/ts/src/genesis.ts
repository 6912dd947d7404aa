/**
 * The genesis file: what a wallet trusts to verify proofs. The chain id is
 * `SHA-256("jeon/genesis/v1" || encode(GenesisSpec))` (docs/encoding.md §8) and the
 * validator set is the spec's validators, keys and powers in file order.
 */

import { toHex, utf8 } from './bytes.js';
import { encode, fromJson } from './codec.js';
import { sha256 } from './crypto.js';
import type { ValidatorInfo } from './proof.js';
import * as S from './schemas.js';

const GENESIS_DOMAIN = utf8('jeon/genesis/v1');

/** What a wallet needs from a genesis file. */
export interface Genesis {
  /** The chain id (hex): the genesis hash. */
  chainId: string;
  /** The validator set, in file order. */
  validators: ValidatorInfo[];
  /** The decoded spec. */
  spec: Record<string, unknown>;
}

/** Every number in the file must be a safe integer, or the hash could not be exact. */
function checkNumbers(v: unknown, path: string): void {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new RangeError(`genesis ${path} = ${v} is not an integer below 2^53; it cannot be hashed exactly from JSON`);
  }
  if (Array.isArray(v)) v.forEach((x, i) => checkNumbers(x, `${path}[${i}]`));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkNumbers(x, `${path}.${k}`);
}

/** Reads a genesis file's JSON text (`jeon genesis new`, `DIR/genesis.json` of `jeon dev`). */
export function parseGenesis(json: string): Genesis {
  const raw = JSON.parse(json) as Record<string, unknown>;
  checkNumbers(raw, '$');
  const withDefaults = {
    ...raw,
    assets: ((raw.assets as Record<string, unknown>[]) ?? []).map((a) => ({ supply_max: null, ...a })),
    fee_market: raw.fee_market ?? null,
  };
  const products = (raw.products as Record<string, unknown>[] | undefined) ?? [];
  const schema = products.length > 0 ? S.GenesisSpecWithProducts : S.GenesisSpec;
  const withProducts =
    products.length > 0 ? { ...withDefaults, products: products.map((p) => ({ royalty_bps: null, requires: null, ...p })) } : withDefaults;
  if (products.length === 0) delete (withProducts as Record<string, unknown>).products;
  const spec = fromJson(schema, withProducts) as Record<string, unknown>;
  const chainId = toHex(sha256(GENESIS_DOMAIN, encode(schema, spec)));
  const validators = (spec.validators as { key: Uint8Array; power: bigint }[]).map((v) => ({ key: v.key, power: v.power }));
  return { chainId, validators, spec };
}
