/**
 * Hashing and signatures: SHA-256, and ed25519 verified under the chain's rule, ZIP-215
 * (docs/encoding.md, "Signature validation rule"), with @noble/curves' `zip215: true`
 * mode: unreduced point encodings accepted, s < L required, the cofactored equation,
 * and the challenge hashed over R and A exactly as given.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

import { concat } from './bytes.js';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  return nobleSha256(parts.length === 1 ? parts[0]! : concat(...parts));
}

/** Why a signature did not verify; mirrors Rust's `SignatureError`. */
export type SignatureFault = 'BadPublicKey' | 'BadSignature';

/** The display text of a {@link SignatureFault}, as the Rust side prints it. */
export function signatureFaultMessage(f: SignatureFault): string {
  return f === 'BadPublicKey' ? 'public key is not an ed25519 curve point' : 'signature does not verify';
}

/**
 * Checks `signature` by `publicKey` over `message` under ZIP-215. Returns `null` when it
 * is valid, else why not (the key not a curve point is `BadPublicKey`, anything else
 * `BadSignature`), exactly as `runtime::crypto::verify`.
 */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): SignatureFault | null {
  if (publicKey.length !== 32) return 'BadPublicKey';
  try {
    ed25519.Point.fromBytes(publicKey, true);
  } catch {
    return 'BadPublicKey';
  }
  if (signature.length !== 64) return 'BadSignature';
  return ed25519.verify(signature, message, publicKey, { zip215: true }) ? null : 'BadSignature';
}

/** An ed25519 signature of `message` with the 32-byte secret seed. */
export function signWithSeed(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

/** The public key of a 32-byte secret seed. */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

/** A fresh secret seed from the platform's cryptographic random source. */
export function randomSeed(): Uint8Array {
  return ed25519.utils.randomSecretKey();
}
