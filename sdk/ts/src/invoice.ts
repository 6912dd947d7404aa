/**
 * Payment links (`runtime/src/invoice.rs`): a merchant-signed invoice, its signing bytes
 * `"jeon/invoice/v1" || chain_id || encode(invoice)`, and its URI
 * `jeon:pay?i=<hex encode(invoice)>&s=<hex signature>`.
 */

import { decodeAddress } from './address.js';
import { CodecError, concat, fromHex, fromHexN, toHex, toU64, utf8 } from './bytes.js';
import { decode, encode } from './codec.js';
import { verifySignature, type SignatureFault } from './crypto.js';
import type { Keypair } from './keys.js';
import * as S from './schemas.js';
import type { AddressLike, U64Like } from './tx.js';

export const INVOICE_DOMAIN = utf8('jeon/invoice/v1');
/** The longest memo, in bytes (checked at execution). */
export const MEMO_BYTES_MAX = 256;
/** The longest encoded invoice a link may carry. */
export const INVOICE_BYTES_MAX = 512;
/** The scheme and path every payment link starts with. */
export const URI_PREFIX = 'jeon:pay?';

/** What a merchant asks to be paid: signed by the merchant, paid at most once. */
export interface Invoice {
  merchant: Uint8Array;
  asset: number;
  amount: bigint;
  expires_at: bigint;
  invoice_id: bigint;
  memo: Uint8Array | null;
}

/** Why a payment link could not be read; `kind` mirrors Rust's `LinkError`. */
export class LinkError extends Error {
  constructor(
    readonly kind: 'NotALink' | 'BadParameter' | 'NotHex' | 'SignatureLength' | 'Decode',
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

/** An invoice from its fields. */
export function makeInvoice(a: {
  merchant: AddressLike;
  asset: number;
  amount: U64Like;
  expiresAt: U64Like;
  invoiceId: U64Like;
  memo?: Uint8Array | string | null;
}): Invoice {
  return {
    merchant: typeof a.merchant === 'string' ? decodeAddress(a.merchant) : a.merchant,
    asset: a.asset,
    amount: toU64(a.amount),
    expires_at: toU64(a.expiresAt),
    invoice_id: toU64(a.invoiceId),
    memo: a.memo === undefined || a.memo === null ? null : typeof a.memo === 'string' ? utf8(a.memo) : a.memo,
  };
}

/** `encode(invoice)`. */
export function encodeInvoice(invoice: Invoice): Uint8Array {
  return encode(S.Invoice, invoice);
}

/** The exact bytes the merchant signs. */
export function invoiceSigningBytes(invoice: Invoice, chainId: Uint8Array | string): Uint8Array {
  const chain = typeof chainId === 'string' ? fromHexN(chainId, 32, 'chain id') : chainId;
  return concat(INVOICE_DOMAIN, chain, encodeInvoice(invoice));
}

/** The merchant's signature of the invoice for `chainId`. */
export function signInvoice(invoice: Invoice, merchant: Keypair, chainId: Uint8Array | string): Uint8Array {
  return merchant.sign(invoiceSigningBytes(invoice, chainId));
}

/** Checks the merchant's signature (ZIP-215): `null` if valid, else why not. */
export function verifyInvoice(invoice: Invoice, chainId: Uint8Array | string, signature: Uint8Array): SignatureFault | null {
  return verifySignature(invoice.merchant, invoiceSigningBytes(invoice, chainId), signature);
}

/** The payment link: `jeon:pay?i=<hex encode(invoice)>&s=<hex signature>`. */
export function makeLink(invoice: Invoice, signature: Uint8Array): string {
  return `${URI_PREFIX}i=${toHex(encodeInvoice(invoice))}&s=${toHex(signature)}`;
}

/** A merchant signs an invoice and gets its link. */
export function signLink(invoice: Invoice, merchant: Keypair, chainId: Uint8Array | string): string {
  return makeLink(invoice, signInvoice(invoice, merchant, chainId));
}

/**
 * Reads a payment link, exactly as `Invoice::from_uri`: the signature is not checked
 * here (call {@link verifyInvoice} to warn before paying; execution checks it).
 */
export function parseLink(uri: string): { invoice: Invoice; signature: Uint8Array } {
  const trimmed = uri.trim();
  if (!trimmed.startsWith(URI_PREFIX)) {
    throw new LinkError('NotALink', `not a payment link: it must start with ${JSON.stringify(URI_PREFIX)}`);
  }
  const query = trimmed.slice(URI_PREFIX.length);
  const found: { i?: string; s?: string } = {};
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new LinkError('BadParameter', `payment link parameter ${JSON.stringify(pair)} has no value`);
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (name !== 'i' && name !== 's') {
      throw new LinkError('BadParameter', `payment link parameter ${JSON.stringify(name)} is unknown`);
    }
    if (found[name] !== undefined) throw new LinkError('BadParameter', `payment link parameter ${name} is repeated`);
    found[name] = value;
  }
  const hexOf = (name: 'i' | 's'): Uint8Array => {
    const v = found[name];
    if (v === undefined) throw new LinkError('BadParameter', `payment link parameter ${name} is missing`);
    try {
      return fromHex(v);
    } catch {
      throw new LinkError('NotHex', `payment link parameter ${name} is not hex`);
    }
  };
  const i = hexOf('i');
  const s = hexOf('s');
  if (s.length !== 64) throw new LinkError('SignatureLength', `payment link signature is ${s.length} bytes, not 64`);
  let invoice: Invoice;
  try {
    invoice = decode<Invoice>(S.Invoice, i, INVOICE_BYTES_MAX);
  } catch (e) {
    if (e instanceof CodecError) throw new LinkError('Decode', `payment link invoice is malformed: ${e.message}`);
    throw e;
  }
  return { invoice, signature: s };
}
