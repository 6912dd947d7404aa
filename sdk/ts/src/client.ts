/**
 * The HTTP client (docs/api.md): submit, dry runs, status, waiting for finality over the
 * event stream (SSE with `Last-Event-ID` resume), accounts, fee quotes, payment links,
 * proofs. Uses the platform's `fetch` (Node 18+, browsers): no `EventSource` needed, so
 * the resume header is set on every reconnection.
 */

import { encodeAddress } from './address.js';
import { toHex } from './bytes.js';
import { parseAnyLink, readableLinkInvoice, type Invoice } from './invoice.js';
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

/** `GET /v1/accounts/{addr}/sponsorships`. */
export interface AccountSponsorships {
  account: string;
  height: number;
  sponsorships: {
    sponsor: string;
    /** `account`: every transaction of this account; `all_customers`: its calls addressed to the sponsor. */
    covers: 'account' | 'all_customers';
    asset: number;
    budget_per_period: number;
    period_ms: number;
    /** What the budget still covers this period. */
    remaining: number;
    /** Block time (ms) at which the period ends and the budget is whole again. */
    refills_at_ms: number;
  }[];
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
  /**
   * How often the status is read anyway while listening, ms (default 5 000): a
   * transaction refused without a receipt (expired, dropped) sends no event.
   */
  pollMs?: number;
  /** Follow only this account's events (the fee payer's: every included transaction charges its fee). */
  account?: string;
  /** Called with every status seen. */
  onStatus?: (s: TxStatus) => void;
}

/** `POST /v1/txs/simulate`: what the transaction would do as the next block's only one; nothing is written or charged. */
export interface SimulateAnswer {
  hash: string;
  height: number;
  /** `success`; `failed` (submitted, it would pay `fee` and fail); `invalid` (admission would refuse it). */
  status: 'success' | 'failed' | 'invalid';
  fee: number;
  error: { code: string; message: string } | null;
  receipt: { tx: string; outcome: unknown; fee: number; events: unknown[] };
}

/** One message of `GET /v1/events` (docs/api.md): a chain event, or a `gap` / `error` notice (no `id`). */
export interface ChainEvent {
  kind: string;
  /** `HEIGHT-N`; absent on `gap` and `error`. */
  id?: string;
  height?: number;
  tx?: string | null;
  index?: number | null;
  event?: unknown;
  [field: string]: unknown;
}

export interface EventsOptions {
  /** Only events naming this account. */
  account?: string;
  /** Start after this id (`HEIGHT-N`, `0-0` for the whole resume window); default: live events only. */
  lastEventId?: string;
  /** Stops the stream. */
  signal?: AbortSignal;
  /** Wait before reconnecting after a dropped connection, ms (default 500). */
  reconnectMs?: number;
  /** Give up after this many reconnections in a row without an event (default 20). */
  reconnectsMax?: number;
  /** Called with the id a reconnection resumes from. */
  onReconnect?: (lastEventId: string | undefined) => void;
}

/** The largest event index: `${height}-${EVENT_INDEX_MAX}` means "after every event of that block". */
const EVENT_INDEX_MAX = '18446744073709551615';

/** A timer that can be cancelled (so a finished wait leaves nothing keeping the process alive). */
function delay(ms: number): { done: Promise<'tick'>; cancel: () => void } {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<'tick'>((resolve) => {
    handle = setTimeout(() => resolve('tick'), Math.max(0, ms));
  });
  return { done, cancel: () => clearTimeout(handle) };
}

/** SSE messages (`id`, `data`) from a response body; comments and other fields are skipped. */
async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length > 0) yield { id, data: data.join('\n') };
          id = undefined;
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
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

  /**
   * `GET` any read route of docs/api.md by its path and query (e.g. `/v1/blocks?limit=20`,
   * `/v1/tax/KR?from=20418`): its JSON answer as `T`; an error answer throws {@link ApiError}.
   * The web app reads the explorer's and dashboard's routes with it.
   */
  get<T = unknown>(path: string): Promise<T> {
    return this.request('GET', path);
  }

  /** `GET /metrics`: the node's Prometheus text, as `name -> value` for unlabelled samples. */
  async metrics(): Promise<Map<string, number>> {
    const res = await this.fetchFn(`${this.baseUrl}/metrics`, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new ApiError(res.status, 'http_error', `GET /metrics answered ${res.status}`);
    const out = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
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
   * `POST /v1/txs/simulate`: a dry run against the head state. A wallet calls it before
   * {@link submit} and does not submit a transaction whose `status` is not `success`: a
   * `failed` one would still cost its fee. `fee` is the exact fee it would pay now.
   */
  simulate(tx: SignedTx | Uint8Array): Promise<SimulateAnswer> {
    const bytes = tx instanceof Uint8Array ? tx : encodeTx(tx);
    return this.request('POST', '/v1/txs/simulate', { tx: toHex(bytes) });
  }

  /**
   * `GET /v1/events` as an async iterator of {@link ChainEvent}s, in chain order. A
   * dropped connection is reopened with `Last-Event-ID` set to the last event received,
   * so nothing is missed or repeated (within the node's resume window; beyond it a
   * `gap` message says which blocks to reconcile). An error answer (4xx) is thrown;
   * `break` or `signal` ends the stream.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<ChainEvent> {
    let last = options.lastEventId;
    let failures = 0;
    const reconnectsMax = options.reconnectsMax ?? 20;
    for (let first = true; ; first = false) {
      if (!first) {
        if (options.signal?.aborted) return;
        if (++failures > reconnectsMax) {
          throw new ApiError(0, 'stream_lost', `the event stream dropped ${reconnectsMax} times in a row; last id ${last ?? 'none'}`);
        }
        options.onReconnect?.(last);
        const wait = delay(options.reconnectMs ?? 500);
        await wait.done;
      }
      const query = options.account ? `?account=${encodeURIComponent(options.account)}` : '';
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (last !== undefined) headers['last-event-id'] = last;
      let res: Response;
      try {
        res = await this.fetchFn(`${this.baseUrl}/v1/events${query}`, { headers, signal: options.signal });
      } catch (e) {
        if (options.signal?.aborted) return;
        continue; // unreachable for now: retry
      }
      if (!res.ok) {
        const text = await res.text();
        let err: { code?: string; message?: string } | undefined;
        try {
          err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
        } catch {
          err = undefined;
        }
        if (res.status === 429 || res.status >= 500) continue;
        throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
      }
      if (res.body === null) continue;
      try {
        for await (const msg of sseMessages(res.body)) {
          let event: ChainEvent;
          try {
            event = JSON.parse(msg.data) as ChainEvent;
          } catch {
            throw new ApiError(200, 'bad_answer', `an event that is not JSON: ${msg.data.slice(0, 200)}`);
          }
          if (msg.id !== undefined) last = msg.id;
          failures = 0;
          yield event;
        }
      } catch (e) {
        if (e instanceof ApiError) throw e;
        if (options.signal?.aborted) return;
        // The connection dropped mid-stream: resume from `last`.
      }
    }
  }

  /**
   * Waits until a transaction is final (or its call failed in a final block) by
   * listening to the event stream from the current head: when an event of the
   * transaction arrives, its status is read once. A refusal without a receipt
   * (`rejected`, e.g. expired) sends no event, so the status is also read every
   * `pollMs` (default 5 s); such a refusal is returned as it is. On timeout, throws.
   * Pass `account` (the fee payer) to receive only that account's events.
   */
  async waitForFinality(hash: string, options: WaitOptions = {}): Promise<TxStatus> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const pollMs = options.pollMs ?? 5_000;
    const settled = (s: TxStatus) => isTerminal(s) || (s.status === 'rejected' && s.receipt === undefined);
    // The head first, then the status: a transaction not final now is in a later block,
    // which a stream resumed after this head's last event delivers.
    const head = (await this.status()).height;
    let s = await this.txStatus(hash);
    options.onStatus?.(s);
    if (settled(s)) return s;
    const stop = new AbortController();
    const stream = this.events({ account: options.account, lastEventId: `${head}-${EVENT_INDEX_MAX}`, signal: stop.signal });
    let next = stream.next();
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new ApiError(0, 'timeout', `transaction ${hash} is still ${s.status} after ${timeoutMs} ms`);
        }
        const tick = delay(Math.min(pollMs, remaining));
        const got = await Promise.race([next, tick.done]);
        tick.cancel();
        if (got !== 'tick') {
          if (got.done) throw new ApiError(0, 'stream_lost', 'the event stream ended');
          next = stream.next();
          const ev = got.value;
          if (ev.tx !== hash && ev.kind !== 'gap') continue;
        }
        s = await this.txStatus(hash);
        options.onStatus?.(s);
        if (settled(s)) return s;
      }
    } finally {
      stop.abort();
      next.catch(() => undefined);
    }
  }

  /** Submits a transaction and waits for it over the event stream, following its fee payer's events. */
  async submitAndWait(tx: SignedTx, options: WaitOptions = {}): Promise<TxStatus> {
    const { hash } = await this.submit(tx);
    const payer = tx.body.fee_payer ?? tx.body.sender;
    return this.waitForFinality(hash, { account: encodeAddress(payer), ...options });
  }

  /**
   * A payment link of either form as the invoice the merchant signed: a readable link's
   * asset (`asset=KRW`) is looked up on the node for its id and decimals.
   */
  async resolveLink(uri: string): Promise<{ invoice: Invoice; signature: Uint8Array }> {
    const read = parseAnyLink(uri);
    if (read.form === 'encoded') return { invoice: read.invoice, signature: read.signature };
    const asset = await this.asset(read.link.asset);
    return { invoice: readableLinkInvoice(read.link, asset.id, asset.decimals), signature: read.link.signature };
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

  /**
   * `GET /v1/accounts/{addr}/sponsorships`: the fee sponsorships that may pay this
   * account's fees: partners sponsoring it (`covers: 'account'`), then every partner's
   * all-customers offer (`covers: 'all_customers'`: its calls addressed to that partner).
   * Name the sponsor as `feePayer` in `prepareTx` to have it pay.
   */
  accountSponsorships(account: string): Promise<AccountSponsorships> {
    return this.request('GET', `/v1/accounts/${encodeURIComponent(account)}/sponsorships`);
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
