// Behaviour not covered by the shared vectors: key files, the genesis reader, the
// decoder's refusals, and the client's waiting logic against a scripted node.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ApiError,
  CodecError,
  JeonClient,
  KeyFileError,
  Keypair,
  MemoError,
  openMemo,
  sealMemo,
  decode,
  encode,
  fromHex,
  parseGenesis,
  schemas,
  toHex,
  makeInvoice,
  type TxStatus,
} from '../src/index.js';

test('a key file round-trips in the exact format jeon keys new writes', () => {
  const key = Keypair.generate();
  const text = key.toKeyFile();
  assert.match(text, /^\{"address": "jeon1[0-9a-z]{58}", "secret_key": "[0-9a-f]{64}"\}\n$/);
  assert.equal(Keypair.fromKeyFile(text).address, key.address);
  assert.notEqual(Keypair.generate().address, key.address);
});

test('a key file whose address is not its secret, or whose secret is not hex, is refused', () => {
  const a = Keypair.fromSeedLabel('alice');
  const b = Keypair.fromSeedLabel('bob');
  const mixed = JSON.stringify({ address: b.address, secret_key: toHex(a.secret()) });
  assert.throws(() => Keypair.fromKeyFile(mixed), (e: unknown) => e instanceof KeyFileError && e.kind === 'AddressMismatch');
  const short = JSON.stringify({ address: a.address, secret_key: 'abcd' });
  assert.throws(() => Keypair.fromKeyFile(short), (e: unknown) => e instanceof KeyFileError && e.kind === 'BadSecret');
  const extra = JSON.stringify({ address: a.address, secret_key: toHex(a.secret()), note: 1 });
  assert.throws(() => Keypair.fromKeyFile(extra), (e: unknown) => e instanceof KeyFileError && e.kind === 'Malformed');
  assert.throws(() => Keypair.fromKeyFile('{'), (e: unknown) => e instanceof KeyFileError && e.kind === 'Malformed');
});

test('the decoder refuses a bad Option tag, invalid UTF-8 and a forged length', () => {
  const opt = { option: 'u8' } as const;
  assert.deepEqual(decode(opt, Uint8Array.of(1, 7), 16), 7);
  assert.throws(() => decode(opt, Uint8Array.of(2, 7), 16), (e: unknown) => e instanceof CodecError && e.kind === 'Malformed');
  const bad = fromHex('0200000000000000c328');
  assert.throws(() => decode('string', bad, 64), (e: unknown) => e instanceof CodecError && e.kind === 'Malformed');
  const forged = fromHex('ffffffffffffff7f00');
  assert.throws(() => decode({ vec: 'address' }, forged, 64), (e: unknown) => e instanceof CodecError && e.kind === 'Malformed');
  assert.equal(toHex(encode('string', '₩')), '0300000000000000e282a9');
});

test('an unknown call is refused when encoding, and u64 values are range-checked', () => {
  assert.throws(() => encode(schemas.Call, { teleport: {} }), /unknown variant/);
  assert.throws(() => encode('u64', 1n << 64n), RangeError);
  assert.throws(() => encode('u32', 2 ** 32), RangeError);
  assert.equal(toHex(encode('u64', (1n << 64n) - 1n)), 'ffffffffffffffff');
});

test('a genesis number beyond 2^53 is refused rather than hashed wrongly', () => {
  const text = '{"chain_name":"x","genesis_time_ms":18446744073709551615}';
  assert.throws(() => parseGenesis(text), /cannot be hashed exactly/);
});

/**
 * A node that answers `GET /v1/status` with head 5, `GET /v1/txs/{hash}` from a script of
 * statuses (one step per read), and `GET /v1/events` with one event of the transaction
 * per status step after the first (or nothing, with `silent`), checking the resume id.
 */
function scripted(statuses: TxStatus[], options: { silent?: boolean; resumes?: string[] } = {}): typeof fetch {
  let i = 0;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.endsWith('/v1/status')) return new Response(JSON.stringify({ chain_id: '00', height: 5 }), { status: 200 });
    if (url.includes('/v1/events')) {
      options.resumes?.push(new Headers(init?.headers).get('last-event-id') ?? '');
      const body = options.silent
        ? ''
        : statuses
            .slice(1)
            .map((_, n) => `id: ${6 + n}-0\ndata: {"kind":"transferred","id":"${6 + n}-0","height":${6 + n},"tx":"${H}","index":0}\n\n`)
            .join('');
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(body));
          // Stay open like a live stream until the reader goes away.
          init?.signal?.addEventListener('abort', () => c.error(new Error('aborted')));
        },
      });
      return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    const s = statuses[Math.min(i++, statuses.length - 1)]!;
    return new Response(JSON.stringify(s), { status: 200 });
  }) as typeof fetch;
}

const H = 'ab'.repeat(32);

test('waiting listens to the event stream from the head and reads the status at each event of the transaction', async () => {
  const seen: string[] = [];
  const resumes: string[] = [];
  const c = new JeonClient('http://node', {
    fetch: scripted(
      [
        { hash: H, status: 'unknown' },
        { hash: H, status: 'pending' },
        { hash: H, status: 'final', height: 9, index: 0, receipt: { tx: H, outcome: 'success', fee: 10, events: [] } },
      ],
      { resumes },
    ),
  });
  const s = await c.waitForFinality(H, { pollMs: 60_000, onStatus: (x) => seen.push(x.status) });
  assert.equal(s.status, 'final');
  assert.deepEqual(seen, ['unknown', 'pending', 'final']);
  assert.deepEqual(resumes, ['5-18446744073709551615'], 'from after the head it saw');
});

test('waiting returns a refusal at once and a failed call as terminal, and times out otherwise', async () => {
  const refused = new JeonClient('http://node', { fetch: scripted([{ hash: H, status: 'rejected', reason: 'stale nonce' }]) });
  assert.equal((await refused.waitForFinality(H, { pollMs: 1 })).reason, 'stale nonce');
  const failed = new JeonClient('http://node', {
    fetch: scripted([
      { hash: H, status: 'rejected', height: 3, index: 0, receipt: { tx: H, outcome: { failed: 'zero_amount' }, fee: 10, events: [] } },
    ]),
  });
  assert.equal((await failed.waitForFinality(H, { pollMs: 1 })).height, 3);
  // No event ever comes: the periodic read finds an expired transaction.
  const expired = new JeonClient('http://node', {
    fetch: scripted([{ hash: H, status: 'pending' }, { hash: H, status: 'rejected', reason: 'expired' }], { silent: true }),
  });
  assert.equal((await expired.waitForFinality(H, { pollMs: 5 })).reason, 'expired');
  const stuck = new JeonClient('http://node', { fetch: scripted([{ hash: H, status: 'pending' }], { silent: true }) });
  await assert.rejects(stuck.waitForFinality(H, { pollMs: 5, timeoutMs: 30 }), (e: unknown) => e instanceof ApiError && e.code === 'timeout');
});

test('an error answer becomes an ApiError with the node code, and a new account reads as empty', async () => {
  const answer = (status: number, code: string) =>
    (async () => new Response(JSON.stringify({ error: { code, message: `m ${code}` } }), { status })) as typeof fetch;
  const c = new JeonClient('http://node', { fetch: answer(404, 'unknown_account') });
  const a = Keypair.generate().address;
  assert.deepEqual(await c.account(a), { address: a, nonce: 0, balances: [], partner: null });
  const bad = new JeonClient('http://node', { fetch: answer(400, 'bad_hash') });
  await assert.rejects(bad.txStatus('zz'), (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 'bad_hash');
});

test('a memo sealed with a fresh ephemeral key opens for the merchant only, and no altered bit opens', () => {
  const cafe = Keypair.fromSeedLabel('cafe');
  const a = sealMemo(cafe.address, 'order 42 for table 7');
  const b = sealMemo(cafe.address, 'order 42 for table 7');
  assert.notEqual(toHex(a), toHex(b), 'a fresh ephemeral key each time');
  assert.equal(new TextDecoder().decode(openMemo(cafe, a)), 'order 42 for table 7');
  assert.throws(() => openMemo(Keypair.fromSeedLabel('bob'), a), (e: unknown) => e instanceof MemoError && e.kind === 'Undecryptable');
  for (let bit = 0; bit < a.length * 8; bit++) {
    const altered = Uint8Array.from(a);
    altered[bit >> 3]! ^= 1 << (bit & 7);
    assert.throws(() => openMemo(cafe, altered), MemoError, `bit ${bit}`);
  }
  // A sealed memo fits in an invoice as its memo bytes.
  const invoice = makeInvoice({ merchant: cafe.address, asset: 0, amount: 50_000n, invoiceId: 1, expiresAt: 100, memo: a });
  assert.equal(toHex(invoice.memo!), toHex(a));
});

test('get reads any route by path, and metrics reads the Prometheus text as name -> value', async () => {
  const seen: string[] = [];
  const fake = (async (input: RequestInfo | URL) => {
    const url = String(input);
    seen.push(url);
    if (url.endsWith('/metrics')) {
      return new Response('# HELP jeon_height Last final height\n# TYPE jeon_height gauge\njeon_height 42\njeon_mempool_txs 7\njeon_block_commit_seconds_bucket{le="0.1"} 3\n');
    }
    return new Response(JSON.stringify({ head: 42, blocks: [], next_before: null }));
  }) as typeof fetch;
  const c = new JeonClient('http://node/', { fetch: fake });
  assert.deepEqual(await c.get('/v1/blocks?limit=2'), { head: 42, blocks: [], next_before: null });
  const m = await c.metrics();
  assert.equal(m.get('jeon_height'), 42);
  assert.equal(m.get('jeon_mempool_txs'), 7);
  assert.equal(m.has('jeon_block_commit_seconds_bucket'), false, 'labelled samples are left out');
  assert.deepEqual(seen, ['http://node/v1/blocks?limit=2', 'http://node/metrics']);
});
