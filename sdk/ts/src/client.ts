/**
 * The HTTP client (docs/api.md): submit, status, waiting for finality, accounts, fee
 * quotes, proofs. Uses the platform's `fetch` (Node 18+, browsers).
 */

import { toHex } from './bytes.js';
import type { Genesis } from './genesis.js';
import { decodeProof, verifyProof, type Verified } from './proof.js';
import type { Keypair } from './keys.js';
import { buildTx, encodeTx, txHash, type AddressLike, type Call, type SignedTx, type TxBody } from './tx.js';

/** An error answer of the node: `{"error": {"code", "message"}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** `GET /v1/txs/{hash}`. */
export interface TxStatus {
  hash: string;
  status: 'pending' | 'final' | 'rejected' | 'unknown';
  height?: number;
  index?: number;
  receipt?: { tx: string; outcome: unknown; fee: number; events: unknown[] };
  reason?: string;
}

/** `GET /v1/accounts/{addr}` (an account the chain never saw has nonce 0, no balances). */
export interface Account {
  address: string;
  nonce: number;
  balances: { asset: number; symbol: string; amount: number }[];
  partner: { name: string; account: string; roles: string[]; jurisdiction: string } | null;
}

/** `GET /v1/fees[?account=]`. */
export interface FeeQuote {
  height: number;
  fee_asset: number;
  base_fee: number;
  market: Record<string, unknown> | null;
  account: {
    address: string;
    volume: number;
    tier: number | null;
    fee_bps: number;
    fee: number;
    suggested_fee_limit: number;
  } | null;
}

/** `GET /v1/status` (the fields a wallet uses; the node sends more). */
export interface ChainStatus {
  chain_id: string;
  height: number;
  block_hash: string;
  time_ms: number;
  fee: { asset: number; base_fee: number; base_fee_max: number };
  [field: string]: unknown;
}

/** `GET /v1/txs/{hash}/proof`. */
export interface ProofAnswer {
  hash: string;
  height: number;
  index: number;
  proof_hex: string;
  proof: unknown;
}

export interface ClientOptions {
  /** Per-request timeout, ms (default 10 000). */
  timeoutMs?: number;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** Give up after this long, ms (default 30 000). */
  timeoutMs?: number;
  /** Time between polls, ms (default 250). */
  pollMs?: number;
  /** Called with every status seen. */
  onStatus?: (s: TxStatus) => void;
}

/** Whether a status will not change: final, or a call that failed in a final block. */
export function isTerminal(s: TxStatus): boolean {
  if (s.status === 'final') return true;
  const outcome = s.receipt?.outcome;
  return s.status === 'rejected' && outcome !== undefined && typeof outcome === 'object' && outcome !== null && 'failed' in outcome;
}

/** A client of one node's API, e.g. `new JeonClient('http://127.0.0.1:8080')`. */
export class JeonClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.fetchFn(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : null;
    } catch {
      throw new ApiError(res.status, 'bad_answer', `the node answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  /** `GET /v1/status`. */
  status(): Promise<ChainStatus> {
    return this.request('GET', '/v1/status');
  }

  /** `POST /v1/txs`: admits a signed transaction to the node's mempool (not final yet). */
  async submit(tx: SignedTx | Uint8Array): Promise<{ hash: string }> {
    const bytes = tx instanceof Uint8Array ? tx : encodeTx(tx);
    const answer = await this.request<{ hash: string }>('POST', '/v1/txs', { tx: toHex(bytes) });
    const expected = txHash(bytes);
    if (answer.hash !== expected) {
      throw new ApiError(202, 'hash_mismatch', `the node answered hash ${answer.hash}, the transaction's is ${expected}`);
    }
    return answer;
  }

  /** `GET /v1/txs/{hash}`. */
  txStatus(hash: string): Promise<TxStatus> {
    return this.request('GET', `/v1/txs/${hash}`);
  }

  /**
   * Waits until a transaction is final (or its call failed in a final block), by polling
   * `GET /v1/txs/{hash}`. A refusal without a receipt (`rejected`, e.g. a bad nonce) is
   * returned at once: it is not terminal on the node (the same bytes may be admitted
   * later) but nothing more will happen unless it is resubmitted. On timeout, throws.
   *
   * SSE: `/v1/events` is being reworked (named events, `id:` and `Last-Event-ID` resume;
   * issue 14). Once that lands, subscribe here first and keep polling as the fallback;
   * the current `event: event` stream is deliberately not used.
   */
  async waitForFinality(hash: string, options: WaitOptions = {}): Promise<TxStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const pollMs = options.pollMs ?? 250;
    // TODO(sse): when the new /v1/events format is on main, race an EventSource for
    // this hash against the polling loop below.
    for (;;) {
      const s = await this.txStatus(hash);
      options.onStatus?.(s);
      if (isTerminal(s)) return s;
      if (s.status === 'rejected' && s.receipt === undefined) return s;
      if (Date.now() + pollMs > deadline) {
        throw new ApiError(0, 'timeout', `transaction ${hash} is still ${s.status} after ${options.timeoutMs ?? 30_000} ms`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /**
   * A transaction body for `sender` filled in from the node: the chain id, the sender's
   * next nonce, its `suggested_fee_limit`, and an expiry `expiryBlocks` (default 100)
   * above the head. Sign it with `signTx`; the caller may check `chain_id` against its
   * genesis (`parseGenesis`) first. The nonce is the committed one: with transactions
   * of this sender still pending, pass the next nonce yourself (`buildTx`).
   */
  async prepareTx(
    sender: Keypair,
    call: Call,
    options: { feePayer?: AddressLike | null; expiryBlocks?: number } = {},
  ): Promise<TxBody> {
    const [account, fees, status] = await Promise.all([this.account(sender.address), this.fees(sender.address), this.status()]);
    return buildTx(
      {
        chainId: status.chain_id,
        sender,
        nonce: account.nonce,
        feeLimit: fees.account?.suggested_fee_limit ?? fees.base_fee,
        expiry: status.height + (options.expiryBlocks ?? 100),
        feePayer: options.feePayer ?? null,
      },
      call,
    );
  }

  /** `GET /v1/accounts/{addr}`; an account the chain has never seen is nonce 0, no balances. */
  async account(address: string): Promise<Account> {
    try {
      return await this.request<Account>('GET', `/v1/accounts/${address}`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'unknown_account') return { address, nonce: 0, balances: [], partner: null };
      throw e;
    }
  }

  /** `GET /v1/fees[?account=]`: the next block's fee and, with an account, its `suggested_fee_limit`. */
  fees(account?: string): Promise<FeeQuote> {
    return this.request('GET', account ? `/v1/fees?account=${encodeURIComponent(account)}` : '/v1/fees');
  }

  /** `GET /v1/assets/{id-or-symbol}`. */
  asset(idOrSymbol: number | string): Promise<{ id: number; symbol: string; decimals: number; issuer: string; kind: string; supply: number }> {
    return this.request('GET', `/v1/assets/${encodeURIComponent(String(idOrSymbol))}`);
  }

  /** `GET /v1/txs/{hash}/proof` (404 `not_final` until the transaction is in a final block). */
  proof(hash: string): Promise<ProofAnswer> {
    return this.request('GET', `/v1/txs/${hash}/proof`);
  }

  /** Fetches a transaction's proof and verifies it against the genesis, trusting the node for nothing. */
  async verifiedProof(hash: string, genesis: Genesis): Promise<Verified> {
    const answer = await this.proof(hash);
    const verified = verifyProof(decodeProof(answer.proof_hex), genesis.chainId, genesis.validators);
    if (verified.tx_hash !== hash.toLowerCase()) {
      throw new ApiError(200, 'wrong_proof', `the node sent a proof of ${verified.tx_hash}, not of ${hash}`);
    }
    return verified;
  }
}
