/** Byte helpers: hex, concatenation, equality, and the little-endian reader and writer the codec uses. */

import { bytesToHex, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** Bytes of a hex string (either case, no `0x`); throws on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  return nobleHexToBytes(hex);
}

/** Bytes of a hex string that must hold exactly `len` bytes. */
export function fromHexN(hex: string, len: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex);
  } catch {
    throw new Error(`${what} must be ${len * 2} hex digits`);
  }
  if (bytes.length !== len) throw new Error(`${what} must be ${len * 2} hex digits`);
  return bytes;
}

/** The concatenation of `parts`. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte strings are equal. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UTF-8 bytes of a string. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const U64_MAX = (1n << 64n) - 1n;

/** Appends fixed-width little-endian integers and raw bytes to a growing buffer. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Grows the buffer for `n` more bytes; returns where they go. Call it before reading `buf` or `view`. */
  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.len = at + n;
    return at;
  }

  u8(v: number): void {
    checkInt(v, 0xff, 'u8');
    const at = this.reserve(1);
    this.buf[at] = v;
  }

  u16(v: number): void {
    checkInt(v, 0xffff, 'u16');
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }

  u32(v: number): void {
    checkInt(v, 0xffffffff, 'u32');
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }

  u64(v: bigint | number): void {
    const b = typeof v === 'bigint' ? v : toU64(v);
    if (b < 0n || b > U64_MAX) throw new RangeError(`u64 out of range: ${b}`);
    const at = this.reserve(8);
    this.view.setBigUint64(at, b, true);
  }

  raw(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function checkInt(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} out of range: ${v}`);
}

/** A u64 from a JS number, which must be a safe non-negative integer. */
export function toU64(v: number | bigint | string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') {
    if (!/^[0-9]+$/.test(v)) throw new RangeError(`not a decimal u64: ${JSON.stringify(v)}`);
    return BigInt(v);
  }
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a safe u64: ${v} (pass a bigint)`);
  return BigInt(v);
}

/** Why bytes could not be decoded; `kind` mirrors Rust's `CodecError`. */
export class CodecError extends Error {
  constructor(
    readonly kind: 'TooLarge' | 'Malformed' | 'TrailingBytes',
    message: string,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Reads fixed-width little-endian integers and raw bytes; every read is bounds-checked. */
export class Reader {
  pos = 0;
  private view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    const at = this.pos;
    if (n > this.bytes.length - at) {
      throw new CodecError('Malformed', `malformed encoding: unexpected end (need ${n} bytes at offset ${at})`);
    }
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)]!;
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  u64(): bigint {
    return this.view.getBigUint64(this.need(8), true);
  }

  /** A u64 length that must fit in what is left of the input (each element at least `unit` bytes). */
  len(unit: number): number {
    const n = this.u64();
    const left = BigInt(this.bytes.length - this.pos);
    if (n * BigInt(Math.max(unit, 1)) > left && unit > 0) {
      throw new CodecError('Malformed', `malformed encoding: length ${n} exceeds the ${left} bytes left`);
    }
    return Number(n);
  }

  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.slice(at, at + n);
  }

  done(): void {
    const trailing = this.bytes.length - this.pos;
    if (trailing !== 0) {
      throw new CodecError('TrailingBytes', `${trailing} trailing bytes after the encoded value`);
    }
  }
}
