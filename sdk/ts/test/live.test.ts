// Against a real `jeon dev`: a transfer, a ₩500 payment and a ₩500 payment link with a
// co-signed fee, all built and signed here, submitted, followed to finality, and their
// proofs verified here against DIR/genesis.json alone. The test starts its own node on
// 127.0.0.1 and a free port and stops it by its PID. Set JEON_BIN to the `jeon` binary;
// without it (or if the file is missing) the test is skipped with a message saying so.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ApiError,
  JeonClient,
  Keypair,
  ProofError,
  buildTx,
  calls,
  cosignTx,
  decodeProof,
  encodeProof,
  makeInvoice,
  parseGenesis,
  parseLink,
  signLink,
  signReadableLink,
  signTx,
  txHash,
  verifyInvoice,
  verifyProof,
  type ChainEvent,
  type Genesis,
  type SignedTx,
  type Verified,
} from '../src/index.js';
import { payLink } from '../examples/pay-link.js';

const BIN = process.env.JEON_BIN;
const skip = !BIN
  ? 'JEON_BIN is not set: set it to a jeon binary (cargo build -p jeon-cli; target/debug/jeon) to run the live test'
  : !existsSync(BIN)
    ? `JEON_BIN=${BIN} does not exist: build it with cargo build -p jeon-cli`
    : false;
if (skip) console.log(`# live test skipped: ${skip}`);

/** A port nothing listens on now (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live jeon dev', { skip }, () => {
  let node: ChildProcess | undefined;
  let dir = '';
  let log = '';
  let client: JeonClient;
  let genesis: Genesis;
  let bank: Keypair;
  let cafe: Keypair;
  const user = Keypair.generate();

  /** Starts `jeon dev` on a free port; resolves once it has made a block. */
  async function start(): Promise<void> {
    const port = await freePort();
    log = '';
    node = spawn(BIN!, ['dev', '--data', dir, '--api', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    node.stdout!.on('data', (d) => (log += d));
    node.stderr!.on('data', (d) => (log += d));
    client = new JeonClient(`http://127.0.0.1:${port}`, { timeoutMs: 5_000 });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (node.exitCode !== null) throw new Error(`jeon dev exited with ${node.exitCode}:\n${log}`);
      try {
        const s = await client.status();
        if (s.height >= 1) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`jeon dev did not come up within 60 s:\n${log}`);
      await sleep(200);
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jeon-sdk-live-'));
    // If this process dies before `after` runs, do not leave the node behind.
    process.once('exit', () => {
      if (node?.pid !== undefined && node.exitCode === null) process.kill(node.pid, 'SIGKILL');
    });
    // The free port can be taken between our probe and the node's bind: try again then.
    for (let attempt = 1; ; attempt++) {
      try {
        await start();
        break;
      } catch (e) {
        if (attempt === 3 || !/address.*in use|AddrInUse/i.test(log)) throw e;
      }
    }
    genesis = parseGenesis(readFileSync(join(dir, 'genesis.json'), 'utf8'));
    bank = Keypair.fromKeyFile(readFileSync(join(dir, 'keys', 'hanbit-bank.json'), 'utf8'));
    cafe = Keypair.fromKeyFile(readFileSync(join(dir, 'keys', 'dalbit-cafe.json'), 'utf8'));
  });

  after(async () => {
    if (node && node.exitCode === null && node.pid !== undefined) {
      process.kill(node.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (node.exitCode === null && node.signalCode === null && Date.now() < deadline) await sleep(100);
      if (node.exitCode === null && node.signalCode === null) process.kill(node.pid, 'SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Sender's next nonce, fee limit and an expiry 100 blocks ahead. */
  async function paramsFor(sender: Keypair, feePayer?: Keypair) {
    const [account, fees, status] = await Promise.all([
      client.account(sender.address),
      client.fees(sender.address),
      client.status(),
    ]);
    return {
      chainId: status.chain_id,
      sender,
      nonce: account.nonce,
      feeLimit: fees.account!.suggested_fee_limit,
      expiry: status.height + 100,
      feePayer: feePayer?.address ?? null,
    };
  }

  /** Submits, waits for finality, fetches the proof and verifies it against the genesis. */
  async function submitAndProve(tx: SignedTx): Promise<Verified> {
    const { hash } = await client.submit(tx);
    assert.equal(hash, txHash(tx));
    const status = await client.waitForFinality(hash, { timeoutMs: 30_000, pollMs: 100 });
    assert.equal(status.status, 'final', JSON.stringify(status));
    const answer = await client.proof(hash);
    const verified = verifyProof(decodeProof(answer.proof_hex), genesis.chainId, genesis.validators);
    assert.equal(verified.tx_hash, hash);
    assert.equal(verified.succeeded, true);
    assert.equal(Number(verified.height), status.height);
    return verified;
  }

  test('the chain id the node reports is the hash of its genesis file, computed here', async () => {
    assert.equal((await client.status()).chain_id, genesis.chainId);
  });

  test('a transfer signed in TS is final and its proof verifies in TS', async () => {
    const body = buildTx(await paramsFor(bank), calls.transfer({ to: user.address, asset: 0, amount: 1_000_000 }));
    const v = await submitAndProve(signTx(body, bank));
    assert.ok(
      v.events.some(
        (e) =>
          typeof e === 'object' &&
          e !== null &&
          'transferred' in e &&
          (e as { transferred: { amount: bigint } }).transferred.amount === 1_000_000n,
      ),
    );
    const account = await client.account(user.address);
    assert.deepEqual(
      account.balances.map((b) => [b.symbol, b.amount]),
      [['KRW', 1_000_000]],
    );
  });

  test('a ₩500 payment to the café signed in TS is final, with its tax, and its proof verifies', async () => {
    const krw = await client.asset('KRW');
    const units = 500 * 10 ** krw.decimals;
    const body = buildTx(await paramsFor(user), calls.pay({ merchant: cafe.address, asset: krw.id, amount: units, reference: 'americano' }));
    const v = await submitAndProve(signTx(body, user));
    const paid = v.events.find((e) => typeof e === 'object' && e !== null && 'paid' in e) as
      | { paid: { amount: bigint; tax: bigint; reference: string } }
      | undefined;
    assert.ok(paid, 'a paid event');
    assert.equal(paid.paid.amount, BigInt(units));
    assert.equal(paid.paid.reference, 'americano');
    // A changed byte of the live proof (the payment's amount) is refused.
    const p = decodeProof((await client.proof(v.tx_hash)).proof_hex);
    (p.tx.body.call as { pay: { amount: bigint } }).pay.amount += 1n;
    assert.throws(
      () => verifyProof(decodeProof(encodeProof(p)), genesis.chainId, genesis.validators),
      (e: unknown) => e instanceof ProofError && e.kind === 'TxNotInBlock',
    );
  });

  test('a ₩500 payment link made by the café is paid with the fee co-signed by the bank', async () => {
    const status = await client.status();
    const invoice = makeInvoice({
      merchant: cafe.address,
      asset: 0,
      amount: 50_000,
      expiresAt: status.height + 1_000,
      invoiceId: 42,
      memo: 'table 4',
    });
    const link = signLink(invoice, cafe, genesis.chainId);
    const parsed = parseLink(link);
    assert.equal(verifyInvoice(parsed.invoice, genesis.chainId, parsed.signature), null);
    const before = await client.account(user.address);
    const body = buildTx(await paramsFor(user, bank), calls.payInvoice(parsed));
    const tx = cosignTx(signTx(body, user), bank);
    const v = await submitAndProve(tx);
    const fee = v.events.find((e) => typeof e === 'object' && e !== null && 'fee_charged' in e) as {
      fee_charged: { payer: Uint8Array };
    };
    assert.deepEqual(fee.fee_charged.payer, bank.publicKey, 'the bank paid the fee');
    assert.ok(v.events.some((e) => typeof e === 'object' && e !== null && 'invoice_paid' in e));
    const after = await client.account(user.address);
    assert.equal(before.balances[0]!.amount - after.balances[0]!.amount, 50_000, 'the user paid the link and no fee');
    // Paying the same link again is a failed call in a final block: terminal, not final.
    const again = cosignTx(signTx(buildTx(await paramsFor(user, bank), calls.payInvoice(parsed)), user), bank);
    const { hash } = await client.submit(again);
    const s = await client.waitForFinality(hash, { timeoutMs: 30_000, pollMs: 100 });
    assert.equal(s.status, 'rejected');
    assert.deepEqual(Object.keys((s.receipt!.outcome as { failed: object }).failed), ['invoice_already_paid']);
  });

  test("the README's wallet example pays a readable ₩500 link and proves it", async () => {
    const status = await client.status();
    const krw = await client.asset('KRW');
    const link = signReadableLink(
      makeInvoice({ merchant: cafe.address, asset: krw.id, amount: 50_000, expiresAt: status.height + 1_000, invoiceId: 43 }),
      cafe,
      genesis.chainId,
      krw.symbol,
      krw.decimals,
    );
    assert.match(link, /^jeon:pay\?to=jeon1[0-9a-z]+&amount=500\.00&asset=KRW&id=43&exp=\d+&sig=[0-9a-f]{128}$/);
    const proof = await payLink(client.baseUrl, join(dir, 'keys', 'hanbit-bank.json'), join(dir, 'genesis.json'), link);
    assert.equal(proof.sender, bank.address);
    assert.ok(proof.events.some((e) => typeof e === 'object' && e !== null && 'invoice_paid' in e));
  });

  test('a dry run reports a payment bound to fail, and its fee, without charging anything', async () => {
    const before = await client.account(user.address);
    const krw = before.balances.find((b) => b.symbol === 'KRW')!.amount;
    const tooMuch = signTx(buildTx(await paramsFor(user), calls.transfer({ to: bank.address, asset: 0, amount: krw + 1 })), user);
    const dry = await client.simulate(tooMuch);
    assert.equal(dry.status, 'failed');
    assert.equal(dry.error?.code, 'insufficient_balance');
    assert.ok(dry.fee > 0, 'submitted, it would have paid a fee');
    assert.equal(dry.hash, txHash(tooMuch));
    const fine = await client.simulate(signTx(buildTx(await paramsFor(user), calls.transfer({ to: bank.address, asset: 0, amount: 1 })), user));
    assert.equal(fine.status, 'success');
    const quote = await client.fees(user.address);
    assert.ok(quote.account!.suggested_fee_limit >= fine.fee, 'the quote covers the fee');
    assert.deepEqual(await client.account(user.address), before, 'nothing was charged or used');
  });

  test('waiting for finality follows the event stream, not polling', async () => {
    const body = buildTx(await paramsFor(bank), calls.transfer({ to: user.address, asset: 0, amount: 7 }));
    const started = Date.now();
    // With a one-minute poll interval only the stream can deliver it in time.
    const s = await client.submitAndWait(signTx(body, bank), { pollMs: 60_000, timeoutMs: 20_000 });
    assert.equal(s.status, 'final');
    assert.ok(Date.now() - started < 20_000);
  });

  test('an event stream dropped twice mid-way resumes with Last-Event-ID and misses no event', async () => {
    const head = (await client.status()).height;
    const from = `${head}-18446744073709551615`;
    // A fetch whose first two event streams break right after their second message.
    let drops = 0;
    const dropping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/v1/events') || drops >= 2 || res.body === null) return res;
      drops++;
      const reader = res.body.getReader();
      let messages = 0;
      const cut = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await reader.read();
          if (done) return controller.close();
          const text = new TextDecoder().decode(value);
          let end = -1;
          for (let i = text.indexOf('\n\n'); i >= 0; i = text.indexOf('\n\n', i + 2)) {
            if (++messages === 2) {
              end = i + 2;
              break;
            }
          }
          if (end < 0) return controller.enqueue(value);
          controller.enqueue(new TextEncoder().encode(text.slice(0, end)));
          await reader.cancel();
          controller.error(new Error('connection dropped'));
        },
      });
      return new Response(cut, { status: res.status, headers: res.headers });
    };
    const flaky = new JeonClient(client.baseUrl, { fetch: dropping });
    const resumedFrom: (string | undefined)[] = [];
    const stop = new AbortController();
    const want = 6;
    const seen: ChainEvent[] = [];
    const reading = (async () => {
      for await (const ev of flaky.events({ account: user.address, lastEventId: from, signal: stop.signal, reconnectMs: 50, onReconnect: (id) => resumedFrom.push(id) })) {
        seen.push(ev);
        if (seen.length === want) break;
      }
    })();
    // The events happen while the reader is connected, dropped and reconnecting.
    let nonce = (await client.account(bank.address)).nonce;
    const hashes: string[] = [];
    for (let i = 0; i < want; i++) {
      const p = await paramsFor(bank);
      const tx = signTx(buildTx({ ...p, nonce: nonce++ }, calls.transfer({ to: user.address, asset: 0, amount: 100 + i })), bank);
      hashes.push((await client.submitAndWait(tx)).hash);
    }
    const timeout = setTimeout(() => stop.abort(), 30_000);
    await reading;
    clearTimeout(timeout);
    assert.equal(drops, 2, 'two connections were dropped');
    assert.equal(resumedFrom.length, 2);
    assert.equal(resumedFrom[0], seen[1]!.id, 'the first reconnection resumed after the last event received');
    // An uninterrupted reader of the same range sees exactly the same events, in order.
    const reference: ChainEvent[] = [];
    for await (const ev of client.events({ account: user.address, lastEventId: from })) {
      reference.push(ev);
      if (reference.length === want) break;
    }
    assert.deepEqual(seen.map((e) => e.id), reference.map((e) => e.id));
    assert.deepEqual(seen.map((e) => e.tx), hashes, 'one transfer event per transaction, none missed or repeated');
  });

  test("accountSponsorships lists the café sponsoring a user, and a fee it paid comes off the budget", async () => {
    const offer = buildTx(await paramsFor(cafe), calls.sponsorFees({ beneficiary: user.address, asset: 0, budgetPerPeriod: 500, periodMs: 3_600_000 }));
    await submitAndProve(signTx(offer, cafe));
    const listed = await client.accountSponsorships(user.address);
    const own = listed.sponsorships.filter((s) => s.covers === 'account');
    assert.deepEqual(own.map((s) => [s.sponsor, s.remaining, s.budget_per_period]), [[cafe.address, 500, 500]]);
    assert.ok(own[0]!.refills_at_ms > (await client.status()).time_ms, 'the period ends after the head');
    // The user names the café as fee payer without its signature: the sponsorship pays.
    const body = await client.prepareTx(user, calls.transfer({ to: bank.address, asset: 0, amount: 1 }), { feePayer: cafe.address });
    const dry = await client.simulate(signTx(body, user));
    assert.equal(dry.status, 'success');
    await submitAndProve(signTx(body, user));
    const after = (await client.accountSponsorships(user.address)).sponsorships.find((s) => s.covers === 'account');
    assert.equal(after!.remaining, 500 - dry.fee);
  });

  test('a transaction for another chain is refused at submission with the node error code', async () => {
    const params = await paramsFor(user);
    const body = buildTx({ ...params, chainId: '99'.repeat(32) }, calls.transfer({ to: bank.address, asset: 0, amount: 1 }));
    await assert.rejects(client.submit(signTx(body, user)), (e: unknown) => e instanceof ApiError && e.code === 'wrong_chain');
  });
});

describe('key files shared with the jeon CLI', { skip }, () => {
  test('a key file written by jeon keys new reads in TS, and one written by TS reads in jeon keys show', async () => {
    const { execFileSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const fromCli = execFileSync(BIN!, ['keys', 'new'], { encoding: 'utf8' });
    const key = Keypair.fromKeyFile(fromCli);
    assert.equal(key.toKeyFile(), fromCli, 'byte-identical key file');
    const dir = mkdtempSync(join(tmpdir(), 'jeon-sdk-keys-'));
    try {
      const mine = Keypair.generate();
      const file = join(dir, 'mine.json');
      writeFileSync(file, mine.toKeyFile(), { mode: 0o600 });
      const shown = JSON.parse(execFileSync(BIN!, ['keys', 'show', '--json', file], { encoding: 'utf8' }));
      assert.equal(shown.address, mine.address);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
