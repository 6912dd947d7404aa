/**
 * Transactions (`runtime/src/tx.rs`, docs/encoding.md §3): building the body, its
 * signing bytes, the sender's signature and a fee payer's co-signature, the canonical
 * bytes and the hash. Byte-identical to the Rust side (pinned by sdk/vectors/txs.json).
 *
 * - tx signing bytes: `"jeon/tx/v1" || encode(body)` (the body starts with the chain id);
 * - payer signing bytes: `"jeon/tx-payer/v1" || encode(body)`;
 * - tx hash: `SHA-256(encode(SignedTx))`, both signatures included.
 */

import { decodeAddress } from './address.js';
import { concat, fromHex, fromHexN, toHex, toU64, utf8 } from './bytes.js';
import { decode, encode, fromJson, toJson } from './codec.js';
import { sha256, verifySignature, type SignatureFault } from './crypto.js';
import type { Keypair } from './keys.js';
import * as S from './schemas.js';
import type { Invoice } from './invoice.js';

/** The domain prefix of every transaction signature. */
export const TX_DOMAIN = utf8('jeon/tx/v1');
/** The domain prefix of a fee payer's signature. */
export const PAYER_DOMAIN = utf8('jeon/tx-payer/v1');
/** The largest encoded transaction a node accepts. */
export const TX_BYTES_MAX = 4096;

/** An address given as bech32m text or 32 raw bytes. */
export type AddressLike = string | Uint8Array;
/** A u64 given as a bigint, a safe integer or a decimal string. */
export type U64Like = bigint | number | string;

export interface Transfer {
  to: Uint8Array;
  asset: number;
  amount: bigint;
}
export interface Pay {
  merchant: Uint8Array;
  asset: number;
  amount: bigint;
  reference: string;
}
export interface PayInvoice {
  invoice: Invoice;
  signature: Uint8Array;
}
export type RedeemKind = { goods: { merchant: Uint8Array } } | { cash_out: { destination: Uint8Array } };
export interface Redeem {
  asset: number;
  amount: bigint;
  kind: RedeemKind;
}
export type Beneficiary = { account: Uint8Array } | 'all_customers';
export interface SponsorFees {
  beneficiary: Beneficiary;
  asset: number;
  budget_per_period: bigint;
  period_ms: bigint;
}

/**
 * A call, externally tagged as in the node's JSON. The common calls are typed; every
 * other call of `schemas.Call` is accepted in the same form.
 */
export type Call =
  | { transfer: Transfer }
  | { pay: Pay }
  | { pay_invoice: PayInvoice }
  | { redeem: Redeem }
  | { sponsor_fees: SponsorFees }
  | Record<string, Record<string, unknown>>;

/** What the sender signs. */
export interface TxBody {
  chain_id: Uint8Array;
  sender: Uint8Array;
  nonce: bigint;
  fee_limit: bigint;
  expiry: bigint;
  call: Call;
  fee_payer: Uint8Array | null;
}

/** A signed transaction, as submitted and as stored in blocks. */
export interface SignedTx {
  body: TxBody;
  signature: Uint8Array;
  payer_signature: Uint8Array | null;
}

const addr = (a: AddressLike): Uint8Array => (typeof a === 'string' ? decodeAddress(a) : a);

/** Builders of the common calls; amounts in the asset's smallest unit. */
export const calls = {
  transfer(a: { to: AddressLike; asset: number; amount: U64Like }): Call {
    return { transfer: { to: addr(a.to), asset: a.asset, amount: toU64(a.amount) } };
  },
  /** Pay a merchant partner (tax withheld, rewards applied). */
  pay(a: { merchant: AddressLike; asset: number; amount: U64Like; reference?: string }): Call {
    return { pay: { merchant: addr(a.merchant), asset: a.asset, amount: toU64(a.amount), reference: a.reference ?? '' } };
  },
  /** Pay a merchant-signed invoice (a parsed payment link). */
  payInvoice(a: { invoice: Invoice; signature: Uint8Array }): Call {
    return { pay_invoice: { invoice: a.invoice, signature: a.signature } };
  },
  /** Redeem credits with their issuer, for goods at a merchant or for cash to an account. */
  redeem(
    a: { asset: number; amount: U64Like } & ({ goodsAt: AddressLike } | { cashOutTo: AddressLike }),
  ): Call {
    const kind: RedeemKind =
      'goodsAt' in a ? { goods: { merchant: addr(a.goodsAt) } } : { cash_out: { destination: addr(a.cashOutTo) } };
    return { redeem: { asset: a.asset, amount: toU64(a.amount), kind } };
  },
  /** A partner sponsors one account's fees, or all its customers' (`'all_customers'`). */
  sponsorFees(a: { beneficiary: AddressLike | 'all_customers'; asset: number; budgetPerPeriod: U64Like; periodMs: U64Like }): Call {
    const beneficiary: Beneficiary =
      a.beneficiary === 'all_customers' ? 'all_customers' : { account: addr(a.beneficiary) };
    return {
      sponsor_fees: {
        beneficiary,
        asset: a.asset,
        budget_per_period: toU64(a.budgetPerPeriod),
        period_ms: toU64(a.periodMs),
      },
    };
  },
  /**
   * A validator proposes a governance change, in its JSON form (docs/governance.md),
   * e.g. `{ set_redemption_window: { blocks: 5000 } }`; votes count until `deadline`,
   * and a passed change takes effect from `activation`.
   */
  propose(a: { change: unknown; deadline: U64Like; activation: U64Like }): Call {
    return {
      propose: { change: fromJson(S.Change, a.change), deadline: toU64(a.deadline), activation: toU64(a.activation) },
    } as Call;
  },
  /** A validator votes yes or no on an open proposal, once. */
  vote(a: { proposal: U64Like; yes: boolean }): Call {
    return { vote: { proposal: toU64(a.proposal), yes: a.yes } } as Call;
  },
  /** Buy a product: pays its merchant as `pay` does and issues its entitlements. */
  buy(a: { product: U64Like }): Call {
    return { buy: { product: toU64(a.product) } };
  },
  /** Give an entitlement (`price` 0 or absent) or offer it for sale to `to`. */
  transferEntitlement(a: { entitlement: U64Like; to: AddressLike; price?: U64Like }): Call {
    return {
      transfer_entitlement: { entitlement: toU64(a.entitlement), to: addr(a.to), price: toU64(a.price ?? 0) },
    };
  },
  /** Any call in its JSON form (`{"grant_mandate": {...}}`), checked against the schema. */
  fromJson(json: unknown): Call {
    return fromJson(S.Call, json) as Call;
  },
};

/** The fields of a transaction besides its call. */
export interface TxParams {
  /** The genesis hash (hex or bytes) of the target chain: `GET /v1/status` `chain_id`. */
  chainId: string | Uint8Array;
  /** The signer; pays the fee unless `feePayer` is set. */
  sender: AddressLike | Keypair;
  /** The sender's next nonce (`GET /v1/accounts/{addr}` `nonce`). */
  nonce: U64Like;
  /** The most fee the sender accepts (`GET /v1/fees?account=` `suggested_fee_limit`). */
  feeLimit: U64Like;
  /** The last height at which the transaction may be included. */
  expiry: U64Like;
  /** A co-signing fee payer, or a sponsoring partner (no signature). */
  feePayer?: AddressLike | null;
}

/** A transaction body from its parameters and call. */
export function buildTx(params: TxParams, call: Call): TxBody {
  const chain = typeof params.chainId === 'string' ? fromHexN(params.chainId, 32, 'chain id') : params.chainId;
  const sender =
    typeof params.sender === 'object' && !(params.sender instanceof Uint8Array)
      ? params.sender.publicKey
      : addr(params.sender);
  return {
    chain_id: chain,
    sender,
    nonce: toU64(params.nonce),
    fee_limit: toU64(params.feeLimit),
    expiry: toU64(params.expiry),
    call,
    fee_payer: params.feePayer ? addr(params.feePayer) : null,
  };
}

/** `encode(body)`. */
export function encodeBody(body: TxBody): Uint8Array {
  return encode(S.TxBody, body);
}

/** The exact bytes the sender signs: `"jeon/tx/v1" || encode(body)`. */
export function signingBytes(body: TxBody): Uint8Array {
  return concat(TX_DOMAIN, encodeBody(body));
}

/** The exact bytes a fee payer signs: `"jeon/tx-payer/v1" || encode(body)`. */
export function payerSigningBytes(body: TxBody): Uint8Array {
  return concat(PAYER_DOMAIN, encodeBody(body));
}

/** Signs the body with the sender's key. */
export function signTx(body: TxBody, key: Keypair): SignedTx {
  return { body, signature: key.sign(signingBytes(body)), payer_signature: null };
}

/** Adds the fee payer's co-signature (the key of the payer named in `body.fee_payer`). */
export function cosignTx(tx: SignedTx, payer: Keypair): SignedTx {
  if (!tx.body.fee_payer) throw new Error('the transaction names no fee payer to co-sign for');
  return { ...tx, payer_signature: payer.sign(payerSigningBytes(tx.body)) };
}

/** The canonical bytes, what `POST /v1/txs` takes as hex. */
export function encodeTx(tx: SignedTx): Uint8Array {
  return encode(S.SignedTx, tx);
}

/** The transaction hash: SHA-256 of its canonical bytes (hex). */
export function txHash(tx: SignedTx | Uint8Array): string {
  return toHex(sha256(tx instanceof Uint8Array ? tx : encodeTx(tx)));
}

/** Decodes a transaction from untrusted bytes (at most 4096, no trailing bytes). */
export function decodeTx(bytes: Uint8Array | string): SignedTx {
  return decode<SignedTx>(S.SignedTx, typeof bytes === 'string' ? fromHex(bytes) : bytes, TX_BYTES_MAX);
}

/** Why a transaction's static checks fail; mirrors `SignedTx::verify`'s `TxError`s. */
export type TxVerifyFault =
  | { kind: 'WrongChain' }
  | { kind: 'PayerIsSender' }
  | { kind: 'UnexpectedPayerSignature' }
  | { kind: 'BadSignature'; fault: SignatureFault }
  | { kind: 'BadPayerSignature'; fault: SignatureFault };

/** The checks `SignedTx::verify` makes, in its order; `null` when they all pass. */
export function verifyTx(tx: SignedTx, chainId: Uint8Array): TxVerifyFault | null {
  if (toHex(tx.body.chain_id) !== toHex(chainId)) return { kind: 'WrongChain' };
  const payer = tx.body.fee_payer;
  if (payer && toHex(payer) === toHex(tx.body.sender)) return { kind: 'PayerIsSender' };
  if (!payer && tx.payer_signature) return { kind: 'UnexpectedPayerSignature' };
  const s = verifySignature(tx.body.sender, signingBytes(tx.body), tx.signature);
  if (s) return { kind: 'BadSignature', fault: s };
  if (payer && tx.payer_signature) {
    const p = verifySignature(payer, payerSigningBytes(tx.body), tx.payer_signature);
    if (p) return { kind: 'BadPayerSignature', fault: p };
  }
  return null;
}

/** The JSON form of a body (as the node shows it). */
export function bodyToJson(body: TxBody): unknown {
  return toJson(S.TxBody, body);
}

/** A body from its JSON form. */
export function bodyFromJson(json: unknown): TxBody {
  return fromJson(S.TxBody, json) as TxBody;
}
