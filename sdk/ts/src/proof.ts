/**
 * Transaction proofs (`runtime/src/proof.rs`, docs/proofs.md): decoding the canonical
 * bytes and verifying them against the genesis alone, with the same checks, in the same
 * order, with the same error classes and messages as `runtime::proof::verify`.
 */

import { encodeAddress } from './address.js';
import { equal, fromHex, toHex, utf8 } from './bytes.js';
import { decode, encode, toJson } from './codec.js';
import { sha256, signatureFaultMessage, verifySignature, type SignatureFault } from './crypto.js';
import * as S from './schemas.js';
import { summarize } from './summary.js';
import { encodeTx, signingBytes, type Call, type SignedTx } from './tx.js';

/** The largest encoded proof accepted. */
export const PROOF_BYTES_MAX = 1 << 20;
/** A path has at most this many levels. */
export const PATH_LEVELS_MAX = 32;

const HEADER_DOMAIN = utf8('jeon/header/v1');
const VOTE_DOMAIN = utf8('jeon/vote/v1');
const VALIDATORS_DOMAIN = utf8('jeon/validators/v1');

export interface Header {
  chain_id: Uint8Array;
  height: bigint;
  prev_hash: Uint8Array;
  time_ms: bigint;
  proposer: Uint8Array;
  tx_root: Uint8Array;
  receipts_root: Uint8Array;
  app_hash: Uint8Array;
  validators_hash: Uint8Array;
  next_validators_hash: Uint8Array;
}
export interface ValidatorInfo {
  key: Uint8Array;
  power: bigint;
}
export interface Certificate {
  height: bigint;
  round: number;
  block: Uint8Array;
  signatures: { validator: Uint8Array; signature: Uint8Array }[];
}
export interface Receipt {
  tx: Uint8Array;
  outcome: unknown;
  fee: bigint;
  events: unknown[];
}
export type PathStep = Uint8Array | null;
/** A validator-set change (docs/proofs.md §7): the change header, its certificate by the set in force, and the new set. */
export interface ValidatorSetChange {
  header: Header;
  certificate: Certificate;
  validators: ValidatorInfo[];
}
export interface TxProof {
  tx: SignedTx;
  receipt: Receipt;
  index: number;
  tx_path: PathStep[];
  receipt_path: PathStep[];
  header: Header;
  certificate: Certificate;
  validator_changes: ValidatorSetChange[];
}

/** Decodes a proof's canonical bytes (`proof_hex` of `GET /v1/txs/{hash}/proof`). */
export function decodeProof(bytes: Uint8Array | string): TxProof {
  return decode<TxProof>(S.TxProof, typeof bytes === 'string' ? fromHex(bytes.replace(/\s+/g, '')) : bytes, PROOF_BYTES_MAX);
}

/** The canonical bytes of a proof. */
export function encodeProof(p: TxProof): Uint8Array {
  return encode(S.TxProof, p);
}

/** `SHA-256("jeon/header/v1" || encode(header))`: the block hash. */
export function headerHash(h: Header): Uint8Array {
  return sha256(HEADER_DOMAIN, encode(S.Header, h));
}

/** `SHA-256("jeon/validators/v1" || encode(set))`. */
export function validatorsHash(set: ValidatorInfo[]): Uint8Array {
  return sha256(VALIDATORS_DOMAIN, encode({ vec: S.ValidatorInfo }, set));
}

/** Leaf node `SHA-256(0x00 || leaf)`. */
export function leafNode(leaf: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0), leaf);
}

/** Inner node `SHA-256(0x01 || left || right)`. */
export function innerNode(l: Uint8Array, r: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(1), l, r);
}

/** Why a Merkle path is malformed; mirrors Rust's `PathError`. */
export type PathFault =
  | { kind: 'TooLong'; levels: number }
  | { kind: 'LoneRightNode'; level: number; index: number }
  | { kind: 'LoneTopNode' }
  | { kind: 'IndexBeyondPath'; index: number; levels: number };

function pathMessage(f: PathFault): string {
  switch (f.kind) {
    case 'TooLong':
      return `the path has ${f.levels} levels; at most ${PATH_LEVELS_MAX} are possible`;
    case 'LoneRightNode':
      return `level ${f.level} has no sibling, but index ${f.index} makes the node a right child`;
    case 'LoneTopNode':
      return 'the top level of the path has no sibling';
    case 'IndexBeyondPath':
      return `index ${f.index} does not fit a path of ${f.levels} levels`;
  }
}

/** The walk of docs/proofs.md §4 (`merkle::root_from_path`). */
export function rootFromPath(leaf: Uint8Array, index: number, path: PathStep[]): Uint8Array | PathFault {
  if (path.length > PATH_LEVELS_MAX) return { kind: 'TooLong', levels: path.length };
  if (path.length > 0 && path[path.length - 1] === null) return { kind: 'LoneTopNode' };
  let node = leafNode(leaf);
  let bits = BigInt(index);
  for (let level = 0; level < path.length; level++) {
    const right = (bits & 1n) === 1n;
    const step = path[level]!;
    if (step === null) {
      if (right) return { kind: 'LoneRightNode', level, index };
    } else {
      node = right ? innerNode(step, node) : innerNode(node, step);
    }
    bits >>= 1n;
  }
  if (bits !== 0n) return { kind: 'IndexBeyondPath', index, levels: path.length };
  return node;
}

/** Why a certificate does not prove a block final; mirrors `CertificateError`. */
export type CertificateFault =
  | { kind: 'WrongBlock'; expected: Uint8Array; got: Uint8Array }
  | { kind: 'NotAValidator'; validator: Uint8Array }
  | { kind: 'DuplicateSigner'; validator: Uint8Array }
  | { kind: 'BadSignature'; validator: Uint8Array }
  | { kind: 'InsufficientPower'; signed: bigint; total: bigint };

export function certificateMessage(f: CertificateFault): string {
  switch (f.kind) {
    case 'WrongBlock':
      return `certificate is for block ${toHex(f.got)}, expected ${toHex(f.expected)}`;
    case 'NotAValidator':
      return `signer ${encodeAddress(f.validator)} is not a validator`;
    case 'DuplicateSigner':
      return `validator ${encodeAddress(f.validator)} appears twice`;
    case 'BadSignature':
      return `signature of validator ${encodeAddress(f.validator)} does not verify`;
    case 'InsufficientPower':
      return `signers hold ${f.signed} of ${f.total} voting power; more than 2/3 is needed`;
  }
}

const U64_MAX = (1n << 64n) - 1n;
const satAdd = (a: bigint, b: bigint): bigint => (a + b > U64_MAX ? U64_MAX : a + b);

/** `Certificate::verify`: `null` when validators of `set` holding > 2/3 signed `block`. */
export function verifyCertificate(
  cert: Certificate,
  chainId: Uint8Array,
  block: Uint8Array,
  set: ValidatorInfo[],
): CertificateFault | null {
  if (!equal(cert.block, block)) return { kind: 'WrongBlock', expected: block, got: cert.block };
  const vote = encode(S.VoteBody, {
    chain_id: chainId,
    height: cert.height,
    round: cert.round,
    kind: 'precommit',
    block,
  });
  const message = new Uint8Array(VOTE_DOMAIN.length + vote.length);
  message.set(VOTE_DOMAIN);
  message.set(vote, VOTE_DOMAIN.length);
  const total = set.reduce((t, v) => satAdd(t, v.power), 0n);
  let signed = 0n;
  const seen = new Set<string>();
  for (const sig of cert.signatures) {
    const v = set.find((x) => equal(x.key, sig.validator));
    if (!v) return { kind: 'NotAValidator', validator: sig.validator };
    const id = toHex(sig.validator);
    if (seen.has(id)) return { kind: 'DuplicateSigner', validator: sig.validator };
    seen.add(id);
    if (verifySignature(sig.validator, message, sig.signature)) return { kind: 'BadSignature', validator: sig.validator };
    signed = satAdd(signed, v.power);
  }
  if (3n * signed <= 2n * total) return { kind: 'InsufficientPower', signed, total };
  return null;
}

/** Why a carried validator-set change does not hold; mirrors `SetChangeError`. */
export type SetChangeFault =
  | { kind: 'WrongChain'; got: Uint8Array }
  | { kind: 'NotAfter'; previous: bigint }
  | { kind: 'SignedBy'; expected: Uint8Array; got: Uint8Array }
  | { kind: 'CertificateHeight'; certificate: bigint }
  | { kind: 'Certificate'; fault: CertificateFault }
  | { kind: 'NextSet'; expected: Uint8Array; got: Uint8Array };

function setChangeMessage(f: SetChangeFault): string {
  switch (f.kind) {
    case 'WrongChain':
      return `its header is for chain ${toHex(f.got)}`;
    case 'NotAfter':
      return `its height is not above the previous change's height ${f.previous}`;
    case 'SignedBy':
      return `its header names validator set ${toHex(f.got)}, but the set in force is ${toHex(f.expected)}`;
    case 'CertificateHeight':
      return `its certificate is for height ${f.certificate}`;
    case 'Certificate':
      return `its certificate does not prove it final: ${certificateMessage(f.fault)}`;
    case 'NextSet':
      return `the carried set hashes to ${toHex(f.got)}, but the header names ${toHex(f.expected)} as the next set`;
  }
}

/** One change of the sequential rule (docs/proofs.md §7), checked against the set in force; `null` when it holds. */
function checkChange(c: ValidatorSetChange, chain: Uint8Array, set: ValidatorInfo[], previous: bigint): SetChangeFault | null {
  const h = c.header;
  if (!equal(h.chain_id, chain)) return { kind: 'WrongChain', got: h.chain_id };
  if (h.height <= previous) return { kind: 'NotAfter', previous };
  const expected = validatorsHash(set);
  if (!equal(h.validators_hash, expected)) return { kind: 'SignedBy', expected, got: h.validators_hash };
  if (c.certificate.height !== h.height) return { kind: 'CertificateHeight', certificate: c.certificate.height };
  const cert = verifyCertificate(c.certificate, chain, headerHash(h), set);
  if (cert) return { kind: 'Certificate', fault: cert };
  const got = validatorsHash(c.validators);
  if (!equal(got, h.next_validators_hash)) return { kind: 'NextSet', expected: h.next_validators_hash, got };
  return null;
}

/** The kinds of {@link ProofError}, one per check of docs/proofs.md §5, in order. */
export type ProofErrorKind =
  | 'WrongChain'
  | 'SetChange'
  | 'ValidatorSetMismatch'
  | 'BeforeLastChange'
  | 'TxPath'
  | 'TxNotInBlock'
  | 'ReceiptForAnotherTx'
  | 'PathShapesDiffer'
  | 'ReceiptPath'
  | 'ReceiptNotInBlock'
  | 'CertificateHeight'
  | 'Certificate'
  | 'TxSignature'
  | 'KeyNotProvable'
  | 'StatePath'
  | 'StateNotCommitted';

/**
 * Why a proof does not prove what it claims; mirrors Rust's `ProofError`. `kind` is the
 * variant, `source` the inner error's kind for `TxPath`/`ReceiptPath` (a path fault),
 * `Certificate` (a certificate fault) and `TxSignature`; `code` is `kind/source`. The
 * message is the Rust error's display text.
 */
export class ProofError extends Error {
  readonly code: string;
  constructor(
    readonly kind: ProofErrorKind,
    message: string,
    readonly source?: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ProofError';
    this.code = source ? `${kind}/${source}` : kind;
  }
}

/** What a valid proof established (the outcome may still be a failure). */
export interface Verified {
  chain_id: string;
  height: bigint;
  block_hash: string;
  time_ms: bigint;
  /** Display only: the header does not commit to the block's size (docs/proofs.md §4). */
  index: number;
  tx_hash: string;
  sender: string;
  nonce: bigint;
  /** The call in one line, as `jeon verify` prints it. */
  summary: string;
  call: Call;
  /** `'success'`, `{failed: CallError}` or `{invalid: TxError}` (decoded values). */
  outcome: unknown;
  fee: bigint;
  events: unknown[];
  signers: { key: string; power: bigint }[];
  signed_power: bigint;
  total_power: bigint;
  /** Whether the call succeeded: a wallet must check this before saying "paid". */
  succeeded: boolean;
}

const same = (a: PathStep[], b: PathStep[]): boolean =>
  a.length === b.length && a.every((x, i) => (x === null) === (b[i] === null));

/**
 * The header's part of every proof (docs/proofs.md §5, §7), shared by transaction,
 * state and access proofs: the header is for the genesis's chain, the carried set
 * changes hold, and the header names the set they lead to and is above the last of
 * them. Returns that set; throws a {@link ProofError} otherwise.
 */
export function certifiedSet(h: Header, changes: ValidatorSetChange[], chain: Uint8Array, genesisValidators: ValidatorInfo[]): ValidatorInfo[] {
  const height = h.height;
  if (!equal(h.chain_id, chain)) {
    throw new ProofError('WrongChain', `the proof is for chain ${toHex(h.chain_id)}, but the genesis is chain ${toHex(chain)}`);
  }
  let set = genesisValidators;
  let lastChange = 0n;
  changes.forEach((c, index) => {
    const fault = checkChange(c, chain, set, lastChange);
    if (fault) {
      throw new ProofError(
        'SetChange',
        `validator-set change #${index} (height ${c.header.height}) is refused: ${setChangeMessage(fault)}`,
        fault.kind,
        { index, ...fault },
      );
    }
    set = c.validators;
    lastChange = c.header.height;
  });
  const setHash = validatorsHash(set);
  if (!equal(h.validators_hash, setHash)) {
    throw new ProofError(
      'ValidatorSetMismatch',
      `the block names validator set ${toHex(h.validators_hash)}, but the genesis set and the proof's ${changes.length} set changes lead to ${toHex(setHash)}`,
    );
  }
  if (height <= lastChange) {
    throw new ProofError('BeforeLastChange', `block ${height} is not above the last validator-set change at height ${lastChange}`);
  }
  return set;
}

/**
 * Verifies a proof against the genesis: its hash (the chain id) and its validator set.
 * Every check must pass; the first that fails is thrown as a {@link ProofError}.
 */
export function verifyProof(proof: TxProof, genesisChainId: Uint8Array | string, genesisValidators: ValidatorInfo[]): Verified {
  const chain = typeof genesisChainId === 'string' ? fromHex(genesisChainId) : genesisChainId;
  const h = proof.header;
  const height = h.height;
  const set = certifiedSet(h, proof.validator_changes, chain, genesisValidators);
  const signingSet = set;
  const txHashBytes = sha256(encodeTx(proof.tx));
  const txHash = toHex(txHashBytes);
  const txRoot = rootFromPath(txHashBytes, proof.index, proof.tx_path);
  if (!(txRoot instanceof Uint8Array)) {
    throw new ProofError('TxPath', `malformed transaction path: ${pathMessage(txRoot)}`, txRoot.kind, txRoot);
  }
  if (!equal(txRoot, h.tx_root)) {
    throw new ProofError('TxNotInBlock', `transaction ${txHash} is not in block ${height}: its path does not lead to the tx root`);
  }
  if (!equal(proof.receipt.tx, txHashBytes)) {
    throw new ProofError('ReceiptForAnotherTx', `the receipt is for transaction ${toHex(proof.receipt.tx)}, not ${txHash}`);
  }
  if (!same(proof.tx_path, proof.receipt_path)) {
    throw new ProofError('PathShapesDiffer', 'the transaction and receipt paths have different shapes');
  }
  const receiptLeaf = sha256(encode(S.Receipt, proof.receipt));
  const receiptsRoot = rootFromPath(receiptLeaf, proof.index, proof.receipt_path);
  if (!(receiptsRoot instanceof Uint8Array)) {
    throw new ProofError('ReceiptPath', `malformed receipt path: ${pathMessage(receiptsRoot)}`, receiptsRoot.kind, receiptsRoot);
  }
  if (!equal(receiptsRoot, h.receipts_root)) {
    throw new ProofError(
      'ReceiptNotInBlock',
      `this receipt of transaction ${txHash} is not in block ${height}: its path does not lead to the receipts root`,
    );
  }
  if (proof.certificate.height !== height) {
    throw new ProofError(
      'CertificateHeight',
      `the certificate is for height ${proof.certificate.height}, the header for height ${height}`,
    );
  }
  const blockHash = headerHash(h);
  const cert = verifyCertificate(proof.certificate, chain, blockHash, signingSet);
  if (cert) {
    throw new ProofError(
      'Certificate',
      `the commit certificate does not prove block ${height} final: ${certificateMessage(cert)}`,
      cert.kind,
      cert,
    );
  }
  const body = proof.tx.body;
  const sig: SignatureFault | null = verifySignature(body.sender, signingBytes(body), proof.tx.signature);
  if (sig) {
    throw new ProofError('TxSignature', `the transaction's signature does not verify: ${signatureFaultMessage(sig)}`, sig);
  }
  const powerOf = (k: Uint8Array): bigint => signingSet.find((v) => equal(v.key, k))?.power ?? 0n;
  const signers = proof.certificate.signatures.map((s) => ({ key: encodeAddress(s.validator), power: powerOf(s.validator) }));
  return {
    chain_id: toHex(h.chain_id),
    height,
    block_hash: toHex(blockHash),
    time_ms: h.time_ms,
    index: proof.index,
    tx_hash: toHex(proof.receipt.tx),
    sender: encodeAddress(body.sender),
    nonce: body.nonce,
    summary: summarize(body.call),
    call: body.call,
    outcome: proof.receipt.outcome,
    fee: proof.receipt.fee,
    events: proof.receipt.events,
    signers,
    signed_power: signers.reduce((t, s) => satAdd(t, s.power), 0n),
    total_power: signingSet.reduce((t, v) => satAdd(t, v.power), 0n),
    succeeded: proof.receipt.outcome === 'success',
  };
}

/** Decodes and verifies proof bytes (hex or raw) in one step. */
export function verifyProofBytes(
  bytes: Uint8Array | string,
  genesisChainId: Uint8Array | string,
  genesisValidators: ValidatorInfo[],
): Verified {
  return verifyProof(decodeProof(bytes), genesisChainId, genesisValidators);
}

/** The JSON form of a verified proof's outcome, call and events (as `jeon verify` prints them). */
export function verifiedToJson(v: Verified): Record<string, unknown> {
  return {
    ...v,
    height: Number(v.height),
    time_ms: Number(v.time_ms),
    nonce: Number(v.nonce),
    fee: Number(v.fee),
    call: toJson(S.Call, v.call),
    outcome: toJson(S.Outcome, v.outcome),
    events: v.events.map((e) => toJson(S.Event, e)),
    signers: v.signers.map((s) => ({ key: s.key, power: Number(s.power) })),
    signed_power: Number(v.signed_power),
    total_power: Number(v.total_power),
  };
}
