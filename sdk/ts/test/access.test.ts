// State and access proofs (docs/proofs.md §9, §10): a proof built here by the
// documented rules verifies, and each tamper class is refused with Rust's error class.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  AccessError,
  ProofError,
  accessSigningBytes,
  appHashOf,
  decodeAccessProof,
  encode,
  encodeAccessProof,
  headerHash,
  schemas,
  smtInner,
  smtLeaf,
  validatorsHash,
  verifyAccess,
  verifyState,
  type AccessProof,
  type StateProof,
} from '../src/index.js';
import { EntitlementSchema } from '../src/access.js';
import { publicKeyOf, sha256, signWithSeed } from '../src/crypto.js';
import { utf8 } from '../src/bytes.js';

const CHAIN = new Uint8Array(32).fill(0x4a);
const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const VALIDATORS = [1, 2, 3, 4].map((b) => ({ seed: seed(b), key: publicKeyOf(seed(b)), power: 25n }));
const SET = VALIDATORS.map((v) => ({ key: v.key, power: v.power }));
const ALICE = seed(9);
const BOB = seed(10);

const key = (id: bigint): Uint8Array => {
  const k = new Uint8Array(9);
  k[0] = 0x3b;
  new DataView(k.buffer).setBigUint64(1, id);
  return k;
};
const bit0 = (h: Uint8Array): boolean => (h[0]! & 0x80) !== 0;

/** Two entitlements whose paths differ at bit 0: the tree is one inner node over two leaves. */
function build(): { proof: StateProof; otherValue: Uint8Array } {
  const value = (id: bigint): Uint8Array =>
    encode(EntitlementSchema, {
      id,
      product: 1n,
      bundle: null,
      owner: publicKeyOf(ALICE),
      merchant: publicKeyOf(seed(11)),
      expires_at_ms: 2_000_000n,
      paid: 330_000n,
      issued_at: 1n,
      offer: null,
      mandate: null,
    });
  const a = 7n;
  let b = 8n;
  while (bit0(sha256(key(b))) === bit0(sha256(key(a)))) b++;
  const [ka, kb] = [sha256(key(a)), sha256(key(b))];
  const la = smtLeaf(ka, sha256(value(a)));
  const lb = smtLeaf(kb, sha256(value(b)));
  const root = bit0(ka) ? smtInner(lb, la) : smtInner(la, lb);
  const digest = sha256(utf8('any accumulator'));
  const header = {
    chain_id: CHAIN,
    height: 2n,
    prev_hash: new Uint8Array(32).fill(1),
    time_ms: 1_000_000n,
    proposer: VALIDATORS[0]!.key,
    tx_root: new Uint8Array(32),
    receipts_root: new Uint8Array(32),
    app_hash: appHashOf(digest, root),
    validators_hash: validatorsHash(SET),
    next_validators_hash: validatorsHash(SET),
  };
  const proof: StateProof = {
    key: key(a),
    value: value(a),
    path: { siblings: [lb], other_leaf: null },
    lthash_digest: digest,
    header,
    certificate: certify(header, 3),
    validator_changes: [],
  };
  return { proof, otherValue: value(b) };
}

function certify(header: StateProof['header'], n: number): StateProof['certificate'] {
  const block = headerHash(header);
  const vote = encode(schemas.VoteBody, { chain_id: CHAIN, height: header.height, round: 0, kind: 'precommit', block });
  const message = new Uint8Array([...utf8('jeon/vote/v1'), ...vote]);
  return {
    height: header.height,
    round: 0,
    block,
    signatures: VALIDATORS.slice(0, n).map((v) => ({ validator: v.key, signature: signWithSeed(v.seed, message) })),
  };
}

const clone = <T>(x: T): T => structuredClone(x);
const kindOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof ProofError || e instanceof AccessError) return e.kind;
    throw e;
  }
  return 'ok';
};

test('a state proof verifies, and a changed value, sibling, digest, header, certificate or key is refused', () => {
  const { proof } = build();
  assert.equal(verifyState(proof, CHAIN, SET).height, 1n);
  const check = (p: StateProof): string => kindOf(() => verifyState(p, CHAIN, SET));
  let p = clone(proof);
  p.value![0]! ^= 1;
  assert.equal(check(p), 'StateNotCommitted');
  p = clone(proof);
  p.path.siblings[0]![0]! ^= 1;
  assert.equal(check(p), 'StateNotCommitted');
  p = clone(proof);
  p.lthash_digest[0]! ^= 1;
  assert.equal(check(p), 'StateNotCommitted');
  p = clone(proof);
  p.value = null;
  assert.equal(check(p), 'StateNotCommitted');
  p = clone(proof);
  p.header.chain_id = new Uint8Array(32).fill(9);
  assert.equal(check(p), 'WrongChain');
  p = clone(proof);
  p.certificate = certify(p.header, 2);
  assert.equal(check(p), 'Certificate');
  p = clone(proof);
  p.key = Uint8Array.of(0x01, 2);
  assert.equal(check(p), 'KeyNotProvable');
  p = clone(proof);
  p.path.other_leaf = { 0: new Uint8Array(32), 1: new Uint8Array(32) };
  assert.equal(check(p), 'StatePath');
});

test('an access proof verifies, and a copied, replayed, stale, expired or other-product proof is refused', () => {
  const { proof } = build();
  const challenge = utf8('nonce-1');
  const sign = (s: Uint8Array): AccessProof => ({
    state: proof,
    challenge,
    signature: signWithSeed(s, accessSigningBytes(CHAIN, challenge, 7n)),
  });
  const good = sign(ALICE);
  const policy = { product: 1n, challenge, nowMs: 1_010_000n, maxAgeMs: 60_000n };
  const run = (p: AccessProof, pol = policy): string => kindOf(() => verifyAccess(p, CHAIN, SET, pol));
  assert.equal(run(good), 'ok');
  assert.deepEqual(decodeAccessProof(encodeAccessProof(good)), good);
  assert.equal(run(sign(BOB)), 'NotSignedByOwner');
  assert.equal(run(good, { ...policy, product: 2n }), 'WrongProduct');
  assert.equal(run(good, { ...policy, challenge: utf8('nonce-2') }), 'ChallengeMismatch');
  assert.equal(run(good, { ...policy, nowMs: 2_000_000n, maxAgeMs: 1n << 62n }), 'Expired');
  assert.equal(run(good, { ...policy, nowMs: 2_000_000n }), 'Stale');
  const tampered = clone(good);
  tampered.state.path.siblings[0]![1]! ^= 1;
  assert.equal(run(tampered), 'Proof');
});
