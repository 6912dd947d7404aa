/**
 * Payment links (`runtime/src/invoice.rs`): a merchant-signed invoice, its signing bytes
 * `"jeon/invoice/v1" || chain_id || encode(invoice)`, and its URI in two forms:
 * - readable (what wallets show before decoding anything, like Stellar's SEP-7):
 *   `jeon:pay?to=<merchant>&amount=500.00&asset=KRW&id=<id>&exp=<height>[&memo=<%XX>]&sig=<hex>`
 *   ({@link makeReadableLink}, {@link parseAnyLink}, {@link readableLinkInvoice});
 * - encoded (the first form, still read): `jeon:pay?i=<hex encode(invoice)>&s=<hex signature>`.
 */

import { decodeAddress, encodeAddress } from './address.js';
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
    readonly kind: 'NotALink' | 'BadParameter' | 'NotHex' | 'SignatureLength' | 'Decode' | 'BadField',
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

/** A readable link as read: the fields a wallet shows, before the node resolves the asset. */
export interface ReadableLink {
  /** The merchant (`to`), bech32. */
  merchant: string;
  /** The amount as written: a decimal in the asset's display unit (`500.00`). */
  amount: string;
  /** The asset as written: a symbol (`KRW`) or an id in digits. */
  asset: string;
  invoiceId: bigint;
  /** The last height the link may be paid at (`exp`). */
  expiresAt: bigint;
  memo: Uint8Array | null;
  signature: Uint8Array;
}

/** A payment link of either form. */
export type AnyLink =
  | { form: 'readable'; link: ReadableLink }
  | { form: 'encoded'; invoice: Invoice; signature: Uint8Array };

const READABLE_PARAMS = ['to', 'amount', 'asset', 'id', 'exp', 'memo', 'sig'] as const;
const U64_MAX = (1n << 64n) - 1n;
const SYMBOL_LEN_MAX = 12;

const badField = (name: string, reason: string) => new LinkError('BadField', `payment link ${name} ${reason}`);
const isDigits = (s: string) => /^[0-9]*$/.test(s);
const decimalSyntaxOk = (t: string) => /^[0-9]+(\.[0-9]*)?$/.test(t) && !t.endsWith('.');

/** `units` with exactly `decimals` places: `50000n, 2` -> `500.00`. */
export function formatDecimal(units: bigint, decimals: number): string {
  const digits = units.toString();
  if (decimals === 0) return digits;
  const padded = digits.padStart(decimals + 1, '0');
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

/** A decimal (`500`, `500.5`) as units of an asset with `decimals`; `null` if it is not one, has more decimals, or overflows a u64. */
export function parseDecimal(text: string, decimals: number): bigint | null {
  if (!decimalSyntaxOk(text)) return null;
  const [whole, fraction = ''] = text.split('.') as [string, string?];
  if (fraction.length > decimals) return null;
  const units = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  return units > U64_MAX ? null : units;
}

function percentEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function percentDecode(text: string): Uint8Array | null {
  const raw = utf8(text);
  const out: number[] = [];
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === 0x25) {
      const hex = String.fromCharCode(raw[i + 1] ?? 0, raw[i + 2] ?? 0);
      if (i + 2 >= raw.length || !/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      out.push(parseInt(hex, 16));
      i += 3;
    } else {
      out.push(raw[i]!);
      i += 1;
    }
  }
  return Uint8Array.from(out);
}

/** The readable link of a signed invoice, naming the asset by `symbol` with its `decimals` (from `GET /v1/assets/{id}`). */
export function makeReadableLink(invoice: Invoice, signature: Uint8Array, symbol: string, decimals: number): string {
  let out =
    `${URI_PREFIX}to=${encodeAddress(invoice.merchant)}&amount=${formatDecimal(invoice.amount, decimals)}` +
    `&asset=${symbol}&id=${invoice.invoice_id}&exp=${invoice.expires_at}`;
  if (invoice.memo !== null) out += `&memo=${percentEncode(invoice.memo)}`;
  return `${out}&sig=${toHex(signature)}`;
}

/** A merchant signs an invoice and gets its readable link. */
export function signReadableLink(
  invoice: Invoice,
  merchant: Keypair,
  chainId: Uint8Array | string,
  symbol: string,
  decimals: number,
): string {
  return makeReadableLink(invoice, signInvoice(invoice, merchant, chainId), symbol, decimals);
}

/** Reads a payment link of either form, exactly as Rust's `Link::parse` (the signature is not checked here). */
export function parseAnyLink(uri: string): AnyLink {
  const trimmed = uri.trim();
  if (!trimmed.startsWith(URI_PREFIX)) {
    throw new LinkError('NotALink', `not a payment link: it must start with ${JSON.stringify(URI_PREFIX)}`);
  }
  const query = trimmed.slice(URI_PREFIX.length);
  if (query.startsWith('i=') || query.startsWith('s=')) {
    const { invoice, signature } = parseLink(uri);
    return { form: 'encoded', invoice, signature };
  }
  const values = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new LinkError('BadParameter', `payment link parameter ${JSON.stringify(pair)} has no value`);
    const name = pair.slice(0, eq);
    if (!(READABLE_PARAMS as readonly string[]).includes(name)) {
      throw new LinkError('BadParameter', `payment link parameter ${JSON.stringify(name)} is unknown`);
    }
    if (values.has(name)) throw new LinkError('BadParameter', `payment link parameter ${name} is repeated`);
    values.set(name, pair.slice(eq + 1));
  }
  const get = (name: (typeof READABLE_PARAMS)[number]): string => {
    const v = values.get(name);
    if (v === undefined) throw new LinkError('BadParameter', `payment link parameter ${name} is missing`);
    return v;
  };
  const to = get('to');
  try {
    decodeAddress(to);
  } catch {
    throw badField('to', 'is not a jeon address (bech32, with its checksum)');
  }
  const amount = get('amount');
  if (!decimalSyntaxOk(amount)) throw badField('amount', 'is not a decimal number');
  const asset = get('asset');
  const symbolOk = asset.length <= SYMBOL_LEN_MAX && /^[A-Z0-9]+$/.test(asset);
  if (asset.length === 0 || !(isDigits(asset) || symbolOk)) throw badField('asset', 'is neither an asset symbol nor an id');
  const whole = (name: 'id' | 'exp'): bigint => {
    const text = get(name);
    if (text.length === 0 || !isDigits(text)) throw badField(name, 'is not a whole number');
    const n = BigInt(text);
    if (n > U64_MAX) throw badField(name, 'is too large');
    return n;
  };
  const invoiceId = whole('id');
  const expiresAt = whole('exp');
  const memoText = values.get('memo');
  let memo: Uint8Array | null = null;
  if (memoText !== undefined) {
    memo = percentDecode(memoText);
    if (memo === null) throw badField('memo', 'has a malformed %XX escape');
  }
  let sig: Uint8Array;
  try {
    sig = fromHex(get('sig'));
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError('NotHex', 'payment link parameter sig is not hex');
  }
  if (sig.length !== 64) throw new LinkError('SignatureLength', `payment link signature is ${sig.length} bytes, not 64`);
  return { form: 'readable', link: { merchant: to, amount, asset, invoiceId, expiresAt, memo, signature: sig } };
}

/** The invoice a readable link's merchant signed, given its asset's id and decimals (from `GET /v1/assets/{asset}`). */
export function readableLinkInvoice(link: ReadableLink, asset: number, decimals: number): Invoice {
  const amount = parseDecimal(link.amount, decimals);
  if (amount === null) {
    throw badField('amount', `${JSON.stringify(link.amount)} is not an amount of an asset with ${decimals} decimals`);
  }
  return makeInvoice({
    merchant: link.merchant,
    asset,
    amount,
    expiresAt: link.expiresAt,
    invoiceId: link.invoiceId,
    memo: link.memo,
  });
}
