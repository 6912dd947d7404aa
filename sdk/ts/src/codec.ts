/**
 * The canonical binary encoding (docs/encoding.md §1), byte-identical to `runtime::codec`
 * (bincode 2, little-endian, fixed-width integers, u32 enum tags, u64 lengths, one-byte
 * Option tags), driven by schemas that mirror the Rust declarations field by field.
 *
 * Values: u8/u16/u32 are `number`, u64 is `bigint`, addresses and hashes are 32-byte
 * `Uint8Array`s, signatures 64, strings are strings, `Option` is `null` or the value,
 * `Vec` an array, a struct an object with the Rust field names, and an enum is
 * externally tagged like serde's JSON: a unit variant is its snake_case name
 * (`"success"`), any other `{ name: payload }` (`{ transfer: { to, asset, amount } }`).
 */

import { CodecError, Reader, Writer, fromHexN, toHex, toU64 } from './bytes.js';
import { decodeAddress, encodeAddress } from './address.js';

/** A type's shape, in declaration order. */
export type Schema =
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 'u128'
  | 'bool'
  | 'string'
  | 'address'
  | 'hash'
  | 'signature'
  | 'bytes'
  | { option: Schema }
  | { vec: Schema }
  | { struct: readonly (readonly [string, Schema])[] }
  | { enum: readonly (readonly [string, Schema | null])[] };

const FIXED: Record<string, number> = { address: 32, hash: 32, signature: 64 };

/** Minimum encoded size of one element, to bound a length prefix before allocating. */
function minSize(s: Schema): number {
  if (typeof s === 'string') {
    return (
      { u8: 1, u16: 2, u32: 4, u64: 8, u128: 16, bool: 1, string: 8, address: 32, hash: 32, signature: 64, bytes: 8 }[s] ?? 1
    );
  }
  if ('option' in s) return 1;
  if ('vec' in s) return 8;
  if ('struct' in s) return s.struct.reduce((n, [, f]) => n + minSize(f), 0);
  return 4;
}

/** Appends the encoding of `value` (of type `schema`) to `w`. */
export function encodeInto(w: Writer, schema: Schema, value: unknown, path = '$'): void {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'u8':
        return w.u8(value as number);
      case 'u16':
        return w.u16(value as number);
      case 'u32':
        return w.u32(value as number);
      case 'u64':
        return w.u64(toU64(value as bigint));
      case 'u128': {
        const v = toU64Like128(value);
        w.u64(v & ((1n << 64n) - 1n));
        return w.u64(v >> 64n);
      }
      case 'bool':
        return w.u8(value ? 1 : 0);
      case 'string': {
        const bytes = new TextEncoder().encode(value as string);
        w.u64(BigInt(bytes.length));
        return w.raw(bytes);
      }
      case 'bytes': {
        const bytes = value as Uint8Array;
        w.u64(BigInt(bytes.length));
        return w.raw(bytes);
      }
      default: {
        const bytes = value as Uint8Array;
        const len = FIXED[schema]!;
        if (!(bytes instanceof Uint8Array) || bytes.length !== len) {
          throw new TypeError(`${path}: expected ${len} bytes (${schema})`);
        }
        return w.raw(bytes);
      }
    }
  }
  if ('option' in schema) {
    if (value === null || value === undefined) return w.u8(0);
    w.u8(1);
    return encodeInto(w, schema.option, value, path);
  }
  if ('vec' in schema) {
    const items = value as unknown[];
    w.u64(BigInt(items.length));
    items.forEach((v, i) => encodeInto(w, schema.vec, v, `${path}[${i}]`));
    return;
  }
  if ('struct' in schema) {
    const obj = value as Record<string, unknown>;
    if (obj === null || typeof obj !== 'object') throw new TypeError(`${path}: expected an object`);
    for (const [name, field] of schema.struct) {
      if (!(name in obj)) throw new TypeError(`${path}.${name} is missing`);
      encodeInto(w, field, obj[name], `${path}.${name}`);
    }
    return;
  }
  const [name, payload] = variantOf(value, path);
  const tag = schema.enum.findIndex(([n]) => n === name);
  if (tag < 0) throw new TypeError(`${path}: unknown variant ${JSON.stringify(name)}`);
  const variant = schema.enum[tag]![1];
  w.u32(tag);
  if (variant !== null) encodeInto(w, variant, payload, `${path}.${name}`);
}

function toU64Like128(v: unknown): bigint {
  const b = typeof v === 'bigint' ? v : BigInt(v as number);
  if (b < 0n || b >= 1n << 128n) throw new RangeError(`u128 out of range: ${b}`);
  return b;
}

function variantOf(value: unknown, path: string): [string, unknown] {
  if (typeof value === 'string') return [value, undefined];
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1) return [keys[0]!, (value as Record<string, unknown>)[keys[0]!]];
  }
  throw new TypeError(`${path}: an enum value is a variant name or an object with one key`);
}

/** The canonical bytes of `value`. */
export function encode(schema: Schema, value: unknown): Uint8Array {
  const w = new Writer();
  encodeInto(w, schema, value);
  return w.finish();
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one value of type `schema` from `r`. */
export function decodeFrom(r: Reader, schema: Schema): unknown {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'u8':
        return r.u8();
      case 'u16':
        return r.u16();
      case 'u32':
        return r.u32();
      case 'u64':
        return r.u64();
      case 'u128': {
        const lo = r.u64();
        return (r.u64() << 64n) | lo;
      }
      case 'bool': {
        const b = r.u8();
        if (b > 1) throw new CodecError('Malformed', `malformed encoding: invalid bool ${b}`);
        return b === 1;
      }
      case 'string': {
        const bytes = r.take(r.len(1));
        try {
          return UTF8.decode(bytes);
        } catch {
          throw new CodecError('Malformed', 'malformed encoding: invalid UTF-8');
        }
      }
      case 'bytes':
        return r.take(r.len(1));
      default:
        return r.take(FIXED[schema]!);
    }
  }
  if ('option' in schema) {
    const tag = r.u8();
    if (tag === 0) return null;
    if (tag === 1) return decodeFrom(r, schema.option);
    throw new CodecError('Malformed', `malformed encoding: invalid Option tag ${tag}`);
  }
  if ('vec' in schema) {
    const n = r.len(minSize(schema.vec));
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(decodeFrom(r, schema.vec));
    return out;
  }
  if ('struct' in schema) {
    const out: Record<string, unknown> = {};
    for (const [name, field] of schema.struct) out[name] = decodeFrom(r, field);
    return out;
  }
  const tag = r.u32();
  const variant = schema.enum[tag];
  if (variant === undefined) throw new CodecError('Malformed', `malformed encoding: unknown variant tag ${tag}`);
  const [name, payload] = variant;
  return payload === null ? name : { [name]: decodeFrom(r, payload) };
}

/** Decodes untrusted bytes: at most `limit` bytes, no trailing bytes (like `codec::decode`). */
export function decode<T = unknown>(schema: Schema, bytes: Uint8Array, limit: number): T {
  if (bytes.length > limit) {
    throw new CodecError('TooLarge', `input of ${bytes.length} bytes exceeds the limit of ${limit} bytes`);
  }
  const r = new Reader(bytes);
  const value = decodeFrom(r, schema);
  r.done();
  return value as T;
}

/**
 * The JSON form of a value (docs/encoding.md, "JSON forms"): addresses bech32m, hashes
 * and signatures hex, u64 a number when it is a safe integer (else a decimal string).
 */
export function toJson(schema: Schema, value: unknown): unknown {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'u64':
      case 'u128': {
        const b = value as bigint;
        return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
      }
      case 'address':
        return encodeAddress(value as Uint8Array);
      case 'hash':
      case 'signature':
        return toHex(value as Uint8Array);
      case 'bytes':
        return Array.from(value as Uint8Array);
      default:
        return value;
    }
  }
  if ('option' in schema) return value === null || value === undefined ? null : toJson(schema.option, value);
  if ('vec' in schema) return (value as unknown[]).map((v) => toJson(schema.vec, v));
  if ('struct' in schema) {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(schema.struct.map(([n, f]) => [n, toJson(f, obj[n])]));
  }
  const [name, payload] = variantOf(value, '$');
  const variant = schema.enum.find(([n]) => n === name);
  if (!variant) throw new TypeError(`unknown variant ${name}`);
  return variant[1] === null ? name : { [name]: toJson(variant[1], payload) };
}

/** The value of a JSON form (the inverse of {@link toJson}; also reads the node's JSON). */
export function fromJson(schema: Schema, json: unknown, path = '$'): unknown {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'u8':
      case 'u16':
      case 'u32':
        if (typeof json !== 'number') throw new TypeError(`${path}: expected a number`);
        return json;
      case 'u64':
      case 'u128':
        return toU64(json as number);
      case 'bool':
        return Boolean(json);
      case 'string':
        if (typeof json !== 'string') throw new TypeError(`${path}: expected a string`);
        return json;
      case 'address':
        return json instanceof Uint8Array ? json : decodeAddress(json as string);
      case 'hash':
        return json instanceof Uint8Array ? json : fromHexN(json as string, 32, path);
      case 'signature':
        return json instanceof Uint8Array ? json : fromHexN(json as string, 64, path);
      case 'bytes':
        return json instanceof Uint8Array ? json : Uint8Array.from(json as number[]);
    }
  }
  if ('option' in schema) return json === null || json === undefined ? null : fromJson(schema.option, json, path);
  if ('vec' in schema) return (json as unknown[]).map((v, i) => fromJson(schema.vec, v, `${path}[${i}]`));
  if ('struct' in schema) {
    const obj = json as Record<string, unknown>;
    return Object.fromEntries(schema.struct.map(([n, f]) => [n, fromJson(f, obj[n], `${path}.${n}`)]));
  }
  const [name, payload] = variantOf(json, path);
  const variant = schema.enum.find(([n]) => n === name);
  if (!variant) throw new TypeError(`${path}: unknown variant ${JSON.stringify(name)}`);
  return variant[1] === null ? name : { [name]: fromJson(variant[1], payload, `${path}.${name}`) };
}
