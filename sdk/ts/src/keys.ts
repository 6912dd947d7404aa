/**
 * Keys: an ed25519 secret seed and its address; generation, signing, and the CLI's key
 * file format (`genesis/src/keyfile.rs`):
 * `{"address": "jeon1…", "secret_key": "<64 hex digits: the secret seed>"}`.
 */

import { decodeAddress, encodeAddress } from './address.js';
import { equal, fromHex, toHex, utf8 } from './bytes.js';
import { publicKeyOf, randomSeed, sha256, signWithSeed } from './crypto.js';

/** Why a key file could not be read; `kind` mirrors Rust's `KeyFileError`. */
export class KeyFileError extends Error {
  constructor(
    readonly kind: 'Malformed' | 'BadSecret' | 'AddressMismatch',
    message: string,
  ) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/** A signing key: an account's secret. */
export class Keypair {
  /** The 32-byte ed25519 public key (the account). */
  readonly publicKey: Uint8Array;
  /** The account's bech32m address. */
  readonly address: string;
  readonly #seed: Uint8Array;

  private constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new RangeError(`a secret seed is 32 bytes, got ${seed.length}`);
    this.#seed = Uint8Array.from(seed);
    this.publicKey = publicKeyOf(this.#seed);
    this.address = encodeAddress(this.publicKey);
  }

  /** The keypair of a 32-byte secret seed (bytes or 64 hex digits). */
  static fromSecret(seed: Uint8Array | string): Keypair {
    return new Keypair(typeof seed === 'string' ? fromHex(seed) : seed);
  }

  /** A new key from the platform's cryptographic random source. */
  static generate(): Keypair {
    return new Keypair(randomSeed());
  }

  /**
   * The deterministic key of a label, `SHA-256("jeon/insecure-seed/v1" || label)`, as
   * the Rust presets and tests derive it. Anyone can derive it: tests only.
   */
  static fromSeedLabel(label: string): Keypair {
    return new Keypair(sha256(utf8('jeon/insecure-seed/v1'), utf8(label)));
  }

  /** Reads the CLI's key file (its JSON text); the address must match the secret. */
  static fromKeyFile(json: string): Keypair {
    let file: unknown;
    try {
      file = JSON.parse(json);
    } catch (e) {
      throw new KeyFileError('Malformed', `key file is malformed: ${(e as Error).message}`);
    }
    if (file === null || typeof file !== 'object' || Array.isArray(file)) {
      throw new KeyFileError('Malformed', 'key file is malformed: expected a JSON object');
    }
    const fields = file as Record<string, unknown>;
    for (const k of Object.keys(fields)) {
      if (k !== 'address' && k !== 'secret_key') throw new KeyFileError('Malformed', `key file is malformed: unknown field \`${k}\``);
    }
    const { address, secret_key: secret } = fields;
    if (typeof address !== 'string') throw new KeyFileError('Malformed', 'key file is malformed: missing field `address`');
    if (typeof secret !== 'string') throw new KeyFileError('Malformed', 'key file is malformed: missing field `secret_key`');
    let claimed: Uint8Array;
    try {
      claimed = decodeAddress(address);
    } catch (e) {
      throw new KeyFileError('Malformed', `key file is malformed: ${(e as Error).message}`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(secret)) throw new KeyFileError('BadSecret', 'key file: secret_key must be 64 hex digits');
    const key = new Keypair(fromHex(secret));
    if (!equal(key.publicKey, claimed)) {
      throw new KeyFileError(
        'AddressMismatch',
        `key file: address ${address} does not match the secret key (whose address is ${key.address})`,
      );
    }
    return key;
  }

  /** The key file's JSON text, byte for byte what `jeon keys new` writes. */
  toKeyFile(): string {
    return `{"address": "${this.address}", "secret_key": "${toHex(this.#seed)}"}\n`;
  }

  /** The 32-byte secret seed (handle with care). */
  secret(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** Signs `message` (callers pass domain-separated bytes). */
  sign(message: Uint8Array): Uint8Array {
    return signWithSeed(this.#seed, message);
  }

  toString(): string {
    return `Keypair(${this.address})`;
  }
}
