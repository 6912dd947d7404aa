/**
 * Addresses: an account is an ed25519 public key, shown as bech32m (BIP-350) with the
 * prefix `jeon`, exactly as `runtime/src/types.rs` does it.
 */

import { bech32m } from '@scure/base';

/** The human-readable prefix of every address. */
export const ADDRESS_HRP = 'jeon';

/** Why a string is not a valid address; `kind` mirrors Rust's `AddressError`. */
export class AddressError extends Error {
  constructor(
    readonly kind: 'Malformed' | 'WrongPrefix' | 'WrongLength',
    message: string,
  ) {
    super(message);
    this.name = 'AddressError';
  }
}

/** The bech32m string of a 32-byte public key (lowercase). */
export function encodeAddress(key: Uint8Array): string {
  if (key.length !== 32) throw new RangeError(`an address is 32 bytes, got ${key.length}`);
  return bech32m.encode(ADDRESS_HRP, bech32m.toWords(key), false);
}

/**
 * The 32-byte key of an address. As on the Rust side, the data part is read as packed
 * bytes and the 4 padding bits left over must be zero (the one canonical text per
 * account); all lowercase or all uppercase is accepted, not a mix.
 */
export function decodeAddress(input: string): Uint8Array {
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(input as `${string}1${string}`, false);
  } catch (e) {
    throw new AddressError('Malformed', `malformed address ${JSON.stringify(input)}: ${(e as Error).message}`);
  }
  if (decoded.prefix.toLowerCase() !== ADDRESS_HRP) {
    throw new AddressError(
      'WrongPrefix',
      `address ${JSON.stringify(input)} has prefix ${JSON.stringify(decoded.prefix)}, expected "jeon"`,
    );
  }
  const bytes = wordsToBytesIgnoringPadding(decoded.words);
  if (bytes.length !== 32) {
    throw new AddressError('WrongLength', `address ${JSON.stringify(input)} holds ${bytes.length} bytes, expected 32`);
  }
  if (encodeAddress(bytes) !== input.toLowerCase()) {
    throw new AddressError(
      'Malformed',
      `malformed address ${JSON.stringify(input)}: not the canonical encoding: the padding bits after the 32 bytes must be zero`,
    );
  }
  return bytes;
}

/** Whether `input` parses as an address. */
export function isAddress(input: string): boolean {
  try {
    decodeAddress(input);
    return true;
  } catch {
    return false;
  }
}

/** 5-bit groups to bytes, a byte whenever eight bits are in, leftover bits dropped. */
function wordsToBytesIgnoringPadding(words: number[]): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const w of words) {
    acc = ((acc << 5) | w) & 0x1fff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}
