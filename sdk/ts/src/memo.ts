/**
 * Sealed invoice memos, byte for byte `runtime/src/memo.rs` (format version 1): a note
 * encrypted to the merchant's own address, which only the merchant's key opens.
 *
 * | bytes | what |
 * |---|---|
 * | `0` | `0x01`, the version |
 * | `1..33` | the ephemeral X25519 public key `E = e·B` |
 * | `33..` | the ChaCha20-Poly1305 ciphertext of the plaintext, then its 16-byte tag |
 *
 * The merchant's X25519 public key `M` is its ed25519 address in Montgomery form, its
 * X25519 secret the clamped ed25519 secret scalar; `S = e·M = m·E` (all zeros refused);
 * AEAD key `SHA-256("jeon/memo/v1" || E || M || S)`; nonce 12 zero bytes (the key is
 * used once, since `E` is fresh); associated data `"jeon/memo/v1" || merchant address`.
 *
 * Only library primitives, composed as the Rust code composes them: @noble/curves for
 * ed25519 → X25519 and X25519, @noble/hashes for SHA-256, @noble/ciphers for
 * ChaCha20-Poly1305. The golden vectors in `sdk/vectors/memos.json` pin the bytes and
 * every verdict.
 */

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';

import { decodeAddress } from './address.js';
import { concat, utf8 } from './bytes.js';
import { sha256 } from './crypto.js';
import { MEMO_BYTES_MAX } from './invoice.js';
import type { Keypair } from './keys.js';

/** The domain prefix of the key derivation and of the associated data. */
export const MEMO_DOMAIN: Uint8Array = utf8('jeon/memo/v1');
/** The first byte of a sealed memo (format version 1). */
export const SEALED_MEMO_VERSION = 0x01;
/** What sealing adds to a plaintext: the version, the ephemeral key and the tag. */
export const SEALED_MEMO_OVERHEAD = 1 + 32 + 16;
/** The longest plaintext that still fits in an invoice memo once sealed. */
export const SEALED_PLAINTEXT_MAX = MEMO_BYTES_MAX - SEALED_MEMO_OVERHEAD;

/** Why a memo could not be sealed or opened; `kind` mirrors Rust's `MemoError`. */
export class MemoError extends Error {
  constructor(
    readonly kind: 'TooLong' | 'NotSealed' | 'BadPublicKey' | 'Undecryptable',
    message: string,
  ) {
    super(message);
    this.name = 'MemoError';
  }

  /** `TooLong`, with the Rust side's message. */
  static tooLong(len: number, max: number): MemoError {
    return new MemoError('TooLong', `memo is ${len} bytes; at most ${max} fit`);
  }
}

const notSealed = (): MemoError => new MemoError('NotSealed', 'memo is not sealed (not a version-1 sealed memo)');
const badPublicKey = (): MemoError =>
  new MemoError('BadPublicKey', 'merchant address is not a key a memo can be sealed to');
const undecryptable = (): MemoError =>
  new MemoError('Undecryptable', 'memo cannot be opened: wrong key or altered memo');

/**
 * Seals `plaintext` (bytes, or text as UTF-8) to `merchant` (an address or its 32
 * bytes). `ephemeralSecret` must be 32 fresh random bytes, never reused; leave it out
 * to draw them from the platform's cryptographic random source. Deterministic in its
 * inputs, like `runtime::memo::seal`.
 */
export function sealMemo(
  merchant: string | Uint8Array,
  plaintext: Uint8Array | string,
  ephemeralSecret: Uint8Array = x25519.utils.randomSecretKey(),
): Uint8Array {
  const text = typeof plaintext === 'string' ? utf8(plaintext) : plaintext;
  if (text.length > SEALED_PLAINTEXT_MAX) throw MemoError.tooLong(text.length, SEALED_PLAINTEXT_MAX);
  if (ephemeralSecret.length !== 32) {
    throw new RangeError(`an ephemeral secret is 32 bytes, got ${ephemeralSecret.length}`);
  }
  const merchantKey = typeof merchant === 'string' ? decodeAddress(merchant) : merchant;
  const m = merchantX25519(merchantKey);
  const e = x25519.getPublicKey(ephemeralSecret);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(ephemeralSecret, m);
  } catch {
    throw badPublicKey();
  }
  const key = aeadKey(e, m, shared);
  if (key === null) throw badPublicKey();
  const sealed = chacha20poly1305(key, new Uint8Array(12), associatedData(merchantKey)).encrypt(text);
  return concat(Uint8Array.of(SEALED_MEMO_VERSION), e, sealed);
}

/** Opens a memo sealed to `merchantKey`'s address; its plaintext bytes. */
export function openMemo(merchantKey: Keypair, sealed: Uint8Array): Uint8Array {
  if (!isSealed(sealed)) throw notSealed();
  if (sealed.length > MEMO_BYTES_MAX) throw MemoError.tooLong(sealed.length, MEMO_BYTES_MAX);
  const e = sealed.subarray(1, 33);
  const ciphertext = sealed.subarray(33);
  const m = ed25519.utils.toMontgomery(merchantKey.publicKey);
  const secret = ed25519.utils.toMontgomerySecret(merchantKey.secret());
  let shared: Uint8Array;
  try {
    // Refuses a small-order `E` (whose shared secret would be all zeros), as the
    // Rust side does after the fact.
    shared = x25519.getSharedSecret(secret, e);
  } catch {
    throw undecryptable();
  } finally {
    secret.fill(0);
  }
  const key = aeadKey(e, m, shared);
  if (key === null) throw undecryptable();
  try {
    return chacha20poly1305(key, new Uint8Array(12), associatedData(decodeAddress(merchantKey.address))).decrypt(
      ciphertext,
    );
  } catch {
    throw undecryptable();
  }
}

/**
 * Whether `memo` has the shape of a sealed memo: the version byte, then at least the
 * ephemeral key and the tag. (A clear memo starting with `0x01` has it too; the CLI
 * refuses to write such clear memos.)
 */
export function isSealed(memo: Uint8Array): boolean {
  return memo.length >= SEALED_MEMO_OVERHEAD && memo[0] === SEALED_MEMO_VERSION;
}

/**
 * The merchant's X25519 public key: its ed25519 key in Montgomery form. Refuses bytes
 * that are not a point (decoded as ed25519-dalek decodes them, non-canonical `y`
 * accepted) and small-order points, as `VerifyingKey::from_bytes` + `is_weak` do.
 */
function merchantX25519(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw badPublicKey();
  let point;
  try {
    point = ed25519.Point.fromBytes(publicKey, true);
  } catch {
    throw badPublicKey();
  }
  if (point.isSmallOrder()) throw badPublicKey();
  return ed25519.utils.toMontgomery(point.toBytes());
}

/** `SHA-256(domain || E || M || S)`, or null if `S` is all zeros. */
function aeadKey(e: Uint8Array, m: Uint8Array, shared: Uint8Array): Uint8Array | null {
  if (shared.every((b) => b === 0)) return null;
  return sha256(MEMO_DOMAIN, e, m, shared);
}

/** `"jeon/memo/v1" || merchant address`. */
function associatedData(merchant: Uint8Array): Uint8Array {
  return concat(MEMO_DOMAIN, merchant);
}
