// The wallet's key, kept in this browser only: the 32-byte secret seed encrypted with
// AES-256-GCM under a key derived from the passphrase by PBKDF2-SHA-256 (600 000
// iterations, a random 16-byte salt), all WebCrypto. The node never sees the key or
// the passphrase; an unlocked key lives in this tab's memory until it is locked.
import { Keypair, fromHex, toHex } from '../../sdk/ts/src/index.ts';

const STORE_KEY = 'jeon.wallet.v1';
const PBKDF2_ITERATIONS = 600_000;
export const PASSPHRASE_CHARS_MIN = 8;

interface Sealed {
  address: string;
  kdf: 'PBKDF2-SHA256';
  iterations: number;
  salt: string;
  iv: string;
  ciphertext: string;
}

async function aesKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** The address of the stored key, or null if this browser holds none. */
export function storedAddress(): string | null {
  const raw = localStorage.getItem(STORE_KEY);
  if (raw === null) return null;
  try {
    return (JSON.parse(raw) as Sealed).address;
  } catch {
    return null;
  }
}

/** Encrypts and stores `key` (replacing any stored key). */
export async function seal(key: Keypair, passphrase: string): Promise<void> {
  if (passphrase.length < PASSPHRASE_CHARS_MIN) throw new Error(`the passphrase must have at least ${PASSPHRASE_CHARS_MIN} characters`);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const secret = key.secret();
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: iv as BufferSource, additionalData: new TextEncoder().encode(key.address) },
      await aesKey(passphrase, salt, PBKDF2_ITERATIONS),
      secret as BufferSource,
    ),
  );
  secret.fill(0);
  const sealed: Sealed = { address: key.address, kdf: 'PBKDF2-SHA256', iterations: PBKDF2_ITERATIONS, salt: toHex(salt), iv: toHex(iv), ciphertext: toHex(ct) };
  localStorage.setItem(STORE_KEY, JSON.stringify(sealed));
}

/** Decrypts the stored key; a wrong passphrase is an error saying so. */
export async function unseal(passphrase: string): Promise<Keypair> {
  const raw = localStorage.getItem(STORE_KEY);
  if (raw === null) throw new Error('this browser holds no key: create or import one');
  const s = JSON.parse(raw) as Sealed;
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromHex(s.iv) as BufferSource, additionalData: new TextEncoder().encode(s.address) },
        await aesKey(passphrase, fromHex(s.salt), s.iterations),
        fromHex(s.ciphertext) as BufferSource,
      ),
    );
  } catch {
    throw new Error('wrong passphrase (or the stored key was altered)');
  }
  const key = Keypair.fromSecret(plain);
  plain.fill(0);
  if (key.address !== s.address) throw new Error('the stored key does not match its address');
  return key;
}

export function forget(): void {
  localStorage.removeItem(STORE_KEY);
}

/** A key from what the user pasted: the CLI's key file (JSON) or 64 hex digits. */
export function importKey(text: string): Keypair {
  const t = text.trim();
  if (t.startsWith('{')) return Keypair.fromKeyFile(t);
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Keypair.fromSecret(t);
  throw new Error('paste a key file ({"address", "secret_key"}, as `jeon keys new` writes it) or a 64-hex-digit secret; an encrypted keystore must be decrypted with `jeon keys show` first');
}
