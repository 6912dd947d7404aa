/**
 * State and access proofs (`runtime/src/proof/state.rs`, `access.rs`; docs/proofs.md
 * §9, §10): decoding and verifying them against the genesis alone, with the same checks
 * in the same order and the same error classes as `runtime::proof::verify_state` and
 * `verify_access`.
 */

import { equal, fromHex, toHex, utf8 } from './bytes.js';
import { decode, encode, type Schema } from './codec.js';
import { sha256, signatureFaultMessage, verifySignature } from './crypto.js';
import {
  certificateMessage,
  certifiedSet,
  headerHash,
  PROOF_BYTES_MAX,
  ProofError,
  verifyCertificate,
  type Certificate,
  type Header,
  type ValidatorInfo,
  type ValidatorSetChange,
} from './proof.js';
import * as S from './schemas.js';

const struct = (...fields: [string, Schema][]): Schema => ({ struct: fields });
const opt = (s: Schema): Schema => ({ option: s });
const vec = (s: Schema): Schema => ({ vec: s });

/** `smt::SmtPath`. */
export const SmtPathSchema = struct(['siblings', vec('hash')], ['other_leaf', opt(struct(['0', 'hash'], ['1', 'hash']))]);
/** `proof::StateProof`. */
export const StateProofSchema = struct(
  ['key', 'bytes'],
  ['value', opt('bytes')],
  ['path', SmtPathSchema],
  ['lthash_digest', 'hash'],
  ['header', S.Header],
  ['certificate', S.Certificate],
  ['validator_changes', vec(S.ValidatorSetChange)],
);
/** `proof::AccessProof`. */
export const AccessProofSchema = struct(['state', StateProofSchema], ['challenge', 'bytes'], ['signature', 'signature']);
/** `goods::Entitlement`. */
export const EntitlementSchema = struct(
  ['id', 'u64'],
  ['product', 'u64'],
  ['bundle', opt('u64')],
  ['owner', 'address'],
  ['merchant', 'address'],
  ['expires_at_ms', opt('u64')],
  ['paid', 'u64'],
  ['issued_at', 'u64'],
  ['offer', opt(struct(['buyer', 'address'], ['price', 'u64']))],
  ['mandate', opt('u64')],
);

export interface StateProof {
  key: Uint8Array;
  value: Uint8Array | null;
  path: { siblings: Uint8Array[]; other_leaf: { 0: Uint8Array; 1: Uint8Array } | null };
  lthash_digest: Uint8Array;
  header: Header;
  certificate: Certificate;
  validator_changes: ValidatorSetChange[];
}
export interface AccessProof {
  state: StateProof;
  challenge: Uint8Array;
  signature: Uint8Array;
}
export interface Entitlement {
  id: bigint;
  product: bigint;
  bundle: bigint | null;
  owner: Uint8Array;
  merchant: Uint8Array;
  expires_at_ms: bigint | null;
  paid: bigint;
  issued_at: bigint;
  offer: unknown;
  mandate: bigint | null;
}

/** The provable families (`keys::PROVABLE`): entitlements, attestations. */
const ENTITLEMENT = 0x3b;
const PROVABLE = [ENTITLEMENT, 0x42];
const DEPTH_MAX = 256;
const EMPTY = new Uint8Array(32);
const APP_DOMAIN = utf8('jeon/app/v2');
const ACCESS_DOMAIN = utf8('jeon/access/v1');
export const ACCESS_CHALLENGE_BYTES_MAX = 256;

const bytesOf = (b: Uint8Array | string): Uint8Array => (typeof b === 'string' ? fromHex(b.replace(/\s+/g, '')) : b);
export const decodeStateProof = (b: Uint8Array | string): StateProof => decode<StateProof>(StateProofSchema, bytesOf(b), PROOF_BYTES_MAX);
export const encodeStateProof = (p: StateProof): Uint8Array => encode(StateProofSchema, p);
export const decodeAccessProof = (b: Uint8Array | string): AccessProof => decode<AccessProof>(AccessProofSchema, bytesOf(b), PROOF_BYTES_MAX);
export const encodeAccessProof = (p: AccessProof): Uint8Array => encode(AccessProofSchema, p);

const bit = (h: Uint8Array, d: number): boolean => ((h[d >> 3]! >> (7 - (d & 7))) & 1) === 1;
/** Leaf `SHA-256(0x00 ‖ path ‖ value hash)`. */
export const smtLeaf = (path: Uint8Array, valueHash: Uint8Array): Uint8Array => sha256(Uint8Array.of(0), path, valueHash);
/** Inner node `SHA-256(0x01 ‖ left ‖ right)`. */
export const smtInner = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(1), l, r);
/** `SHA-256("jeon/app/v2" ‖ lthash digest ‖ smt root)`. */
export const appHashOf = (digest: Uint8Array, root: Uint8Array): Uint8Array => sha256(APP_DOMAIN, digest, root);

/** `smt::root_from_path`: the root, or the path fault's message. */
export function smtRootFromPath(key: Uint8Array, value: Uint8Array | null, path: StateProof['path']): Uint8Array | string {
  const depth = path.siblings.length;
  if (depth > DEPTH_MAX) return `the path has ${depth} siblings, more than ${DEPTH_MAX}`;
  const kh = sha256(key);
  let acc: Uint8Array;
  const other = path.other_leaf;
  if (value && other) return 'a path for a present key carries another key\'s leaf';
  if (value) acc = smtLeaf(kh, sha256(value));
  else if (!other) acc = EMPTY;
  else {
    if (equal(other[0], kh)) return "the path's other leaf is the key itself";
    for (let d = 0; d < depth; d++) {
      if (bit(other[0], d) !== bit(kh, d)) return `the path's other leaf is not on the key's path at depth ${depth}`;
    }
    acc = smtLeaf(other[0], other[1]);
  }
  for (let d = depth - 1; d >= 0; d--) {
    const s = path.siblings[d]!;
    acc = bit(kh, d) ? smtInner(s, acc) : smtInner(acc, s);
  }
  return acc;
}

export interface StateVerified {
  chain_id: string;
  height: bigint;
  certified_by: bigint;
  block_hash: string;
  time_ms: bigint;
  key: string;
  value: string | null;
}

/** `verify_state`: throws a {@link ProofError} at the first failed check. */
export function verifyState(p: StateProof, genesisChainId: Uint8Array | string, genesisValidators: ValidatorInfo[]): StateVerified {
  const chain = bytesOf(genesisChainId);
  const h = p.header;
  const set = certifiedSet(h, p.validator_changes, chain, genesisValidators);
  if (p.key.length === 0 || !PROVABLE.includes(p.key[0]!)) {
    throw new ProofError('KeyNotProvable', `key ${toHex(p.key)} is not in a provable family (docs/proofs.md §9)`);
  }
  const root = smtRootFromPath(p.key, p.value, p.path);
  if (typeof root === 'string') throw new ProofError('StatePath', `malformed state path: ${root}`);
  if (!equal(appHashOf(p.lthash_digest, root), h.app_hash)) {
    throw new ProofError(
      'StateNotCommitted',
      `the entry is not in the state block ${h.height} certifies: its path and digest do not give the header's app hash`,
    );
  }
  if (p.certificate.height !== h.height) {
    throw new ProofError('CertificateHeight', `the certificate is for height ${p.certificate.height}, the header for height ${h.height}`);
  }
  const blockHash = headerHash(h);
  const fault = verifyCertificate(p.certificate, chain, blockHash, set);
  if (fault) {
    throw new ProofError('Certificate', `the commit certificate does not prove block ${h.height} final: ${certificateMessage(fault)}`, fault.kind, fault);
  }
  return {
    chain_id: toHex(h.chain_id),
    height: h.height > 0n ? h.height - 1n : 0n,
    certified_by: h.height,
    block_hash: toHex(blockHash),
    time_ms: h.time_ms,
    key: toHex(p.key),
    value: p.value ? toHex(p.value) : null,
  };
}

/** Why access is refused; mirrors Rust's `AccessError` (`Proof` wraps a {@link ProofError}). */
export type AccessErrorKind =
  | 'Proof'
  | 'NotAnEntitlement'
  | 'ChallengeMismatch'
  | 'Stale'
  | 'Absent'
  | 'CorruptValue'
  | 'WrongProduct'
  | 'NotSignedByOwner'
  | 'Expired';

export class AccessError extends Error {
  constructor(
    readonly kind: AccessErrorKind,
    message: string,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'AccessError';
  }
}

export interface AccessPolicy {
  product: bigint;
  challenge: Uint8Array;
  nowMs: bigint;
  maxAgeMs: bigint;
}

const u32be = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const u64be = (n: bigint): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
};

/** `"jeon/access/v1" ‖ chain id ‖ len (u32 BE) ‖ challenge ‖ entitlement id (u64 BE)`. */
export function accessSigningBytes(chainId: Uint8Array, challenge: Uint8Array, entitlement: bigint): Uint8Array {
  const parts = [ACCESS_DOMAIN, chainId, u32be(challenge.length), challenge, u64be(entitlement)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `verify_access`: the entitlement, or an {@link AccessError} at the first failed check. */
export function verifyAccess(
  p: AccessProof,
  genesisChainId: Uint8Array | string,
  genesisValidators: ValidatorInfo[],
  policy: AccessPolicy,
): Entitlement {
  const chain = bytesOf(genesisChainId);
  let v: StateVerified;
  try {
    v = verifyState(p.state, chain, genesisValidators);
  } catch (e) {
    throw new AccessError('Proof', `the entitlement's state proof does not verify: ${(e as Error).message}`, e);
  }
  const key = p.state.key;
  if (key.length !== 9 || key[0] !== ENTITLEMENT) throw new AccessError('NotAnEntitlement', `the proof is for key ${toHex(key)}, not an entitlement`);
  const id = new DataView(key.buffer, key.byteOffset + 1, 8).getBigUint64(0);
  if (!equal(p.challenge, policy.challenge) || p.challenge.length > ACCESS_CHALLENGE_BYTES_MAX) {
    throw new AccessError('ChallengeMismatch', 'the proof answers another challenge than the one sent');
  }
  if (v.time_ms + policy.maxAgeMs < policy.nowMs) {
    throw new AccessError(
      'Stale',
      `the proof is stale: certified at ${v.time_ms} ms, more than ${policy.maxAgeMs} ms before ${policy.nowMs} ms`,
    );
  }
  if (!p.state.value) throw new AccessError('Absent', `entitlement ${id} does not exist at height ${v.height}: revoked or never issued`);
  let e: Entitlement;
  try {
    e = decode<Entitlement>(EntitlementSchema, p.state.value, 4096);
  } catch (err) {
    throw new AccessError('CorruptValue', `the proved value is not an entitlement record: ${(err as Error).message}`);
  }
  if (e.product !== policy.product) throw new AccessError('WrongProduct', `entitlement ${id} is for product ${e.product}, not ${policy.product}`);
  const sig = verifySignature(e.owner, accessSigningBytes(chain, p.challenge, id), p.signature);
  if (sig) throw new AccessError('NotSignedByOwner', `the challenge is not signed by the entitlement's owner: ${signatureFaultMessage(sig)}`);
  if (e.expires_at_ms !== null && !(policy.nowMs < e.expires_at_ms)) {
    throw new AccessError('Expired', `entitlement ${id} expired at ${e.expires_at_ms} ms (now ${policy.nowMs} ms)`);
  }
  return e;
}
