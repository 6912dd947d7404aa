// The golden vectors of sdk/vectors, written by runtime/tests/it/sdk_vectors.rs: every
// byte the SDK produces must be the Rust side's, and every verdict the same.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  AddressError,
  CodecError,
  Keypair,
  LinkError,
  MemoError,
  SEALED_MEMO_OVERHEAD,
  SEALED_PLAINTEXT_MAX,
  ProofError,
  bodyFromJson,
  bodyToJson,
  buildTx,
  calls,
  cosignTx,
  decodeAddress,
  decodeProof,
  decodeTx,
  encodeBody,
  encodeInvoice,
  encodeProof,
  encodeTx,
  fromHex,
  invoiceSigningBytes,
  isSealed,
  openMemo,
  sealMemo,
  makeInvoice,
  makeLink,
  makeReadableLink,
  parseAnyLink,
  readableLinkInvoice,
  signReadableLink,
  formatDecimal,
  parseDecimal,
  parseLink,
  payerSigningBytes,
  sha256,
  signInvoice,
  summarize,
  signTx,
  signingBytes,
  toHex,
  txHash,
  verifiedToJson,
  verifyInvoice,
  verifyProof,
  verifyTx,
  type Invoice,
  type ValidatorInfo,
} from '../src/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const VECTORS = new URL('../../../vectors/', import.meta.url);
const load = (name: string): Json => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));

const keys = load('keys.json');
const txs = load('txs.json');
const links = load('links.json');
const proofs = load('proofs.json');
const memos = load('memos.json');

/** Whether every number in a parsed JSON value is a safe integer (else JSON.parse rounded it). */
const allSafe = (v: unknown): boolean =>
  typeof v === 'number'
    ? Number.isSafeInteger(v)
    : Array.isArray(v)
      ? v.every(allSafe)
      : v !== null && typeof v === 'object'
        ? Object.values(v).every(allSafe)
        : true;

const set = (vs: { key: string; power: number }[]): ValidatorInfo[] =>
  vs.map((v) => ({ key: decodeAddress(v.key), power: BigInt(v.power) }));

test('keys derived from labels have the seeds, public keys and addresses of the Rust side', () => {
  for (const k of keys.keys) {
    const key = Keypair.fromSeedLabel(k.label);
    assert.equal(toHex(key.secret()), k.seed, k.label);
    assert.equal(toHex(key.publicKey), k.public_key, k.label);
    assert.equal(key.address, k.address, k.label);
    assert.equal(Keypair.fromSecret(k.seed).address, k.address);
  }
});

test('address parsing accepts and refuses exactly what the Rust parser does, with its error class', () => {
  for (const c of keys.address_parsing) {
    if (c.ok) {
      assert.equal(toHex(decodeAddress(c.input)), c.ok, c.input);
    } else {
      assert.throws(
        () => decodeAddress(c.input),
        (e: unknown) => e instanceof AddressError && e.kind === c.error,
        `${JSON.stringify(c.input)} should be ${c.error}`,
      );
    }
  }
});

test('every transaction encodes, signs, co-signs and hashes byte for byte as in Rust', () => {
  const chain = fromHex(txs.chain_id);
  assert.ok(txs.txs.length >= 21);
  for (const c of txs.txs) {
    // JSON numbers above 2^53 do not survive JSON.parse: such a case is read from its bytes.
    const jsonSafe = allSafe(c.body);
    const body = jsonSafe ? bodyFromJson(c.body) : decodeTx(c.tx_hex).body;
    assert.equal(toHex(encodeBody(body)), c.body_hex, c.name);
    assert.equal(toHex(signingBytes(body)), c.signing_bytes_hex, c.name);
    assert.equal(toHex(payerSigningBytes(body)), c.payer_signing_bytes_hex, c.name);
    let tx = signTx(body, Keypair.fromSecret(c.sender_seed));
    assert.equal(toHex(tx.signature), c.signature, c.name);
    if (c.payer_seed) tx = cosignTx(tx, Keypair.fromSecret(c.payer_seed));
    assert.equal(tx.payer_signature ? toHex(tx.payer_signature) : null, c.payer_signature, c.name);
    assert.equal(toHex(encodeTx(tx)), c.tx_hex, c.name);
    assert.equal(txHash(tx), c.tx_hash, c.name);
    assert.equal(toHex(encodeTx(decodeTx(c.tx_hex))), c.tx_hex, c.name);
    if (jsonSafe) assert.deepEqual(bodyToJson(decodeTx(c.tx_hex).body), c.body, c.name);
    else assert.equal(body.nonce, (1n << 64n) - 1n, c.name);
    assert.equal(verifyTx(tx, chain), null, c.name);
    assert.equal(summarize(body.call), c.summary, c.name);
  }
});

test('the worked example of docs/encoding.md §9 is the first vector', () => {
  assert.equal(txs.txs[0].tx_hash, '1c1cc7c641194698ebd835d68e25874a6716f643932ed201646a184ddbc73969');
});

test('the call builders make the same bodies as the vectors', () => {
  const byName = (n: string): Json => txs.txs.find((c: Json) => c.name === n);
  const params = (c: Json) => ({
    chainId: txs.chain_id,
    sender: c.sender,
    nonce: c.body.nonce,
    feeLimit: c.body.fee_limit,
    expiry: c.body.expiry,
    feePayer: c.body.fee_payer,
  });
  const check = (name: string, call: ReturnType<typeof calls.transfer>): void => {
    const c = byName(name);
    assert.equal(toHex(encodeBody(buildTx(params(c), call))), c.body_hex, name);
  };
  const t = byName('transfer (docs/encoding.md §9)').body.call.transfer;
  check('transfer (docs/encoding.md §9)', calls.transfer({ to: t.to, asset: 0, amount: 500 }));
  const co = byName('transfer, fee co-signed by the sponsor').body.call.transfer;
  check('transfer, fee co-signed by the sponsor', calls.transfer(co));
  const p = byName('pay ₩500 at a merchant').body.call.pay;
  check('pay ₩500 at a merchant', calls.pay({ merchant: p.merchant, asset: 0, amount: 50_000n, reference: 'order 42' }));
  const u = byName('pay with a UTF-8 reference').body.call.pay;
  check('pay with a UTF-8 reference', calls.pay({ merchant: u.merchant, asset: 0, amount: '500', reference: '아메리카노 ☕' }));
  const pi = byName('pay invoice with a memo').body.call.pay_invoice;
  const inv = makeInvoice({
    merchant: pi.invoice.merchant,
    asset: 0,
    amount: 50_000,
    expiresAt: 5_000,
    invoiceId: 7,
    memo: 'table 4',
  });
  check('pay invoice with a memo', calls.payInvoice({ invoice: inv, signature: fromHex(pi.signature) }));
  check('buy a product', calls.buy({ product: 0 }));
  const gift = byName('give an entitlement').body.call.transfer_entitlement;
  check('give an entitlement', calls.transferEntitlement({ entitlement: 3, to: gift.to }));
  check('offer an entitlement for sale', calls.transferEntitlement({ entitlement: 3, to: gift.to, price: 40_000 }));
  const g = byName('redeem credits for goods').body.call.redeem;
  check('redeem credits for goods', calls.redeem({ asset: 1, amount: 30, goodsAt: g.kind.goods.merchant }));
  const cash = byName('redeem credits for cash').body.call.redeem;
  check('redeem credits for cash', calls.redeem({ asset: 1, amount: 40, cashOutTo: cash.kind.cash_out.destination }));
  const sp = byName("sponsor one account's fees").body.call.sponsor_fees;
  check(
    "sponsor one account's fees",
    calls.sponsorFees({ beneficiary: sp.beneficiary.account, asset: 0, budgetPerPeriod: 500, periodMs: 3_600_000 }),
  );
  check(
    "sponsor all customers' fees",
    calls.sponsorFees({ beneficiary: 'all_customers', asset: 0, budgetPerPeriod: 1_000, periodMs: 86_400_000 }),
  );
});

test('a transaction refuses a fee payer that is the sender, a stray payer signature and a wrong chain', () => {
  const c = txs.txs[0];
  const alice = Keypair.fromSecret(c.sender_seed);
  const body = bodyFromJson(c.body);
  const tx = signTx(body, alice);
  assert.deepEqual(verifyTx(tx, fromHex('99'.repeat(32))), { kind: 'WrongChain' });
  assert.deepEqual(verifyTx({ ...tx, payer_signature: tx.signature }, body.chain_id), { kind: 'UnexpectedPayerSignature' });
  const self = signTx({ ...body, fee_payer: body.sender }, alice);
  assert.deepEqual(verifyTx(self, body.chain_id), { kind: 'PayerIsSender' });
  const altered = { ...tx, body: { ...body, nonce: body.nonce + 1n } };
  assert.deepEqual(verifyTx(altered, body.chain_id), { kind: 'BadSignature', fault: 'BadSignature' });
  const cs = txs.txs.find((x: Json) => x.payer_seed);
  const cosigned = decodeTx(cs.tx_hex);
  const bad = { ...cosigned, payer_signature: cosigned.signature };
  assert.deepEqual(verifyTx(bad, body.chain_id), { kind: 'BadPayerSignature', fault: 'BadSignature' });
});

test('decoding refuses truncated, trailing and oversized transactions', () => {
  const hex: string = txs.txs[0].tx_hex;
  assert.throws(() => decodeTx(hex.slice(0, -2)), (e: unknown) => e instanceof CodecError && e.kind === 'Malformed');
  assert.throws(() => decodeTx(hex + '00'), (e: unknown) => e instanceof CodecError && e.kind === 'TrailingBytes');
  assert.throws(() => decodeTx(new Uint8Array(4097)), (e: unknown) => e instanceof CodecError && e.kind === 'TooLarge');
});

const invoiceOf = (j: Json): Invoice =>
  makeInvoice({
    merchant: j.merchant,
    asset: j.asset,
    amount: j.amount,
    expiresAt: j.expires_at,
    invoiceId: j.invoice_id,
    memo: j.memo === null ? null : Uint8Array.from(j.memo),
  });

test('payment links are made, signed, parsed and verified as in Rust', () => {
  const cafe = Keypair.fromSeedLabel('cafe');
  for (const l of links.links) {
    const inv = invoiceOf(l.invoice);
    assert.equal(toHex(encodeInvoice(inv)), l.invoice_hex);
    assert.equal(toHex(invoiceSigningBytes(inv, links.chain_id)), l.signing_bytes_hex);
    const sig = signInvoice(inv, cafe, links.chain_id);
    assert.equal(toHex(sig), l.signature);
    assert.equal(makeLink(inv, sig), l.link);
    const parsed = parseLink(l.link);
    assert.equal(toHex(encodeInvoice(parsed.invoice)), l.invoice_hex);
    assert.equal(toHex(parsed.signature), l.signature);
    assert.equal(verifyInvoice(parsed.invoice, links.chain_id, parsed.signature) === null, l.verifies_on_chain);
    assert.equal(verifyInvoice(parsed.invoice, '99'.repeat(32), parsed.signature) === null, l.verifies_on_another_chain);
  }
});

test('readable payment links are written and read as in Rust, and resolve to the signed invoice', () => {
  const cafe = Keypair.fromSeedLabel('cafe');
  for (const l of links.links) {
    const inv = invoiceOf(l.invoice);
    const sig = signInvoice(inv, cafe, links.chain_id);
    assert.equal(makeReadableLink(inv, sig, 'KRW', 2), l.readable_link);
    assert.equal(signReadableLink(inv, cafe, links.chain_id, 'KRW', 2), l.readable_link);
    const read = parseAnyLink(l.readable_link);
    assert.equal(read.form, 'readable');
    if (read.form !== 'readable') return;
    const back = readableLinkInvoice(read.link, 0, 2);
    assert.equal(toHex(encodeInvoice(back)), l.invoice_hex);
    assert.equal(verifyInvoice(back, links.chain_id, read.link.signature) === null, l.verifies_on_chain);
    // The first form reads through the same entry point.
    const old = parseAnyLink(l.link);
    assert.equal(old.form, 'encoded');
  }
  for (const c of links.readable_parsing) {
    if (c.ok) {
      const read = parseAnyLink(c.input);
      assert.equal(read.form, 'readable', c.input);
      if (read.form !== 'readable') continue;
      const r = read.link;
      assert.deepEqual(
        [r.merchant, r.amount, r.asset, r.invoiceId, r.expiresAt, r.memo === null ? null : toHex(r.memo), toHex(r.signature)],
        [c.ok.merchant, c.ok.amount, c.ok.asset, BigInt(c.ok.invoice_id), BigInt(c.ok.expires_at), c.ok.memo_hex, c.ok.signature],
      );
      const resolved = (() => {
        try {
          return toHex(encodeInvoice(readableLinkInvoice(r, 0, 2)));
        } catch {
          return null;
        }
      })();
      assert.equal(resolved, c.ok.invoice_hex_krw, c.input);
      continue;
    }
    assert.throws(
      () => parseAnyLink(c.input),
      (e: unknown) => {
        assert.ok(e instanceof LinkError, String(e));
        assert.equal(e.kind, c.error, c.input);
        assert.equal(e.message, c.message, c.input);
        return true;
      },
    );
  }
  for (const [units, decimals, text] of [[50_000n, 2, '500.00'], [1n, 2, '0.01'], [7n, 0, '7'], [(1n << 64n) - 1n, 2, '184467440737095516.15']] as const) {
    assert.equal(formatDecimal(units, decimals), text);
    assert.equal(parseDecimal(text, decimals), units);
  }
  for (const bad of ['', '.5', '5.', '5.001', '-1', '184467440737095516.16']) assert.equal(parseDecimal(bad, 2), null, bad);
});

test('malformed payment links are refused with the Rust error class and message', () => {
  for (const c of links.parsing) {
    if (c.ok) {
      const p = parseLink(c.input);
      assert.equal(toHex(encodeInvoice(p.invoice)), c.ok.invoice_hex);
      assert.equal(toHex(p.signature), c.ok.signature);
      continue;
    }
    assert.throws(
      () => parseLink(c.input),
      (e: unknown) => {
        assert.ok(e instanceof LinkError, String(e));
        assert.equal(e.kind, c.error, c.input);
        // A decode error's detail is bincode's own wording; the class is what matters.
        if (c.error !== 'Decode') assert.equal(e.message, c.message);
        return true;
      },
    );
  }
});

test('good proofs verify in TS with the verdict the Rust verifier gives', () => {
  const genesis = set(proofs.validators);
  for (const g of proofs.good) {
    const p = decodeProof(g.proof_hex);
    assert.equal(toHex(encodeProof(p)), g.proof_hex);
    assert.equal(toHex(sha256(fromHex(g.proof_hex))), g.proof_sha256);
    const v = verifiedToJson(verifyProof(p, proofs.chain_id, genesis));
    const { succeeded, ...got } = v;
    assert.deepEqual(got, g.verified);
    assert.equal(succeeded, g.succeeded);
    assert.equal(v.block_hash, proofs.block_hash);
  }
});

test('a proof across a validator-set change verifies in TS from the genesis set alone, as in Rust', () => {
  const g = proofs.after_set_change;
  const p = decodeProof(g.proof_hex);
  assert.equal(p.validator_changes.length, 1);
  assert.equal(toHex(encodeProof(p)), g.proof_hex);
  assert.equal(toHex(sha256(fromHex(g.proof_hex))), g.proof_sha256);
  const v = verifiedToJson(verifyProof(p, proofs.chain_id, set(proofs.validators)));
  const { succeeded, ...got } = v;
  assert.deepEqual(got, g.verified);
  assert.equal(succeeded, g.succeeded);
});

test('every tamper class of the Rust proof tests is refused in TS with the same error and message', () => {
  assert.ok(proofs.tampered.length >= 19);
  for (const t of proofs.tampered) {
    assert.throws(
      () => verifyProof(decodeProof(t.proof_hex), t.chain_id, set(t.validators)),
      (e: unknown) => {
        assert.ok(e instanceof ProofError, `${t.name}: ${String(e)}`);
        assert.equal(e.code, t.error, t.name);
        assert.equal(e.message, t.message, t.name);
        return true;
      },
      t.name,
    );
  }
});

test('bytes that are not a proof are refused by the decoder', () => {
  for (const u of proofs.undecodable) {
    assert.throws(
      () => decodeProof(u.proof_hex),
      (e: unknown) => e instanceof CodecError && `Decode/${e.kind}` === u.error,
      u.name,
    );
  }
  assert.throws(() => decodeProof(new Uint8Array((1 << 20) + 1)), (e: unknown) => e instanceof CodecError && e.kind === 'TooLarge');
});

test('every single-bit flip of a good proof is refused by the decoder or the verifier', () => {
  const genesis = set(proofs.validators);
  const bytes = fromHex(proofs.good[2].proof_hex);
  let decodedButRefused = 0;
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const flipped = Uint8Array.from(bytes);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    let p;
    try {
      p = decodeProof(flipped);
    } catch (e) {
      assert.ok(e instanceof CodecError, String(e));
      continue;
    }
    assert.throws(() => verifyProof(p, proofs.chain_id, genesis), ProofError, `bit ${bit} still verifies`);
    decodedButRefused++;
  }
  assert.ok(decodedButRefused > bytes.length * 4, `${decodedButRefused} flips reached the verifier`);
});

// The golden proof printed in docs/proofs.md §6: chain c1…c1, validator alice (power 10).
const DOCS_PROOF = `c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c10d641b17bc5ba629a1538d61390fdf8f
311e4d3d0c89274a5f7d80102bb9a78f07000000000000000a00000000000000e80300000000000000000000917fb715
dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd00000000f40100000000000000e01365017e8d86
830cf44818a01cc5858ab7ad51e4821ec2557f11082a9b16f07e4cf3998ee26a231c895ce1d9d6d3a52922fa9edb36b2
a7dcdc3f33952b3707001c1cc7c641194698ebd835d68e25874a6716f643932ed201646a184ddbc73969000000000a00
0000000000000200000000000000000000000d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9
a78f000000000a00000000000000010000000d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9
a78f917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd00000000f4010000000000000000
0000020000000000000001cba8c596120bdb69debbd923d92cba948bde7c7d06a465a1bb7d98d3116038fa01acaa0466
3a8547a2f70c60cc18f9378796b13c4f9a08f70d6adae662365b30c60200000000000000013f082ffc20662a17c825a2
bdade4c5ec83c9e5634b6aa050ad44c3dc67008dc901d3c1d7ed2fca1a18f4fe08889e19bc89c081b0a47c7b8f750874
c6ec1bd31035c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c101000000000000000000
0000000000000000000000000000000000000000000000000000000000000068e5cf8b0100000d641b17bc5ba629a153
8d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f03a87d4cd7e44f45c24815a6d660b6f80087c693bc7f2e7284ef
d1a2d7ef6613adf5fbb832fb0974441b9dfee0e6b45cbb59e1913e9732e50ebf668d7823f1d800000000000000000000
000000000000000000000000000000000000000000001dc7b6d8990295afe5d954822930449bb190a00e93135054072f
414da01151db1dc7b6d8990295afe5d954822930449bb190a00e93135054072f414da01151db01000000000000000000
0000a4f4bf748c92516616ba180ced7d6c859adcf9a9d2db7fbd365ae116c4fbda3e01000000000000000d641b17bc5b
a629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78fc39307b65566798425d4d47785f570a476626e867f78
a92da9c90d401c257b17c49f7a9db63a3d3a80f228ce19409e3a1c0c7ac25dc295de0795a64dbf08c604000000000000
0000`;

test('the worked proof of docs/proofs.md §6 verifies against its one-validator genesis', () => {
  const bytes = fromHex(DOCS_PROOF.replace(/\s+/g, ''));
  assert.equal(bytes.length, 962);
  assert.equal(toHex(sha256(bytes)), '384ec79ed7c38d3e9423bb687c1a7486b01c693c3e6665cca22255f991aa8166');
  const alice = Keypair.fromSeedLabel('alice').publicKey;
  const v = verifyProof(decodeProof(bytes), 'c1'.repeat(32), [{ key: alice, power: 10n }]);
  assert.equal(v.tx_hash, '1c1cc7c641194698ebd835d68e25874a6716f643932ed201646a184ddbc73969');
  assert.equal(v.block_hash, 'a4f4bf748c92516616ba180ced7d6c859adcf9a9d2db7fbd365ae116c4fbda3e');
  assert.equal(v.succeeded, true);
  assert.equal(v.signed_power, 10n);
});

test('the ZIP-215 rule gives every small-order and speccheck case the Rust verdict', async () => {
  const { verifySignature } = await import('../src/index.js');
  const sigs = load('signatures.json');
  assert.ok(sigs.cases.length > 200);
  for (const c of sigs.cases) {
    const got = verifySignature(fromHex(c.key), fromHex(c.message), fromHex(c.signature)) ?? 'ok';
    assert.equal(got, c.verdict, `key ${c.key} sig ${c.signature}`);
  }
});

test('every Event, CallError, TxError and Call variant decodes and encodes as in Rust', async () => {
  const { decode, encode, fromJson, toJson, schemas } = await import('../src/index.js');
  const v = load('variants.json');
  assert.ok(v.receipts.length > 80);
  for (const r of v.receipts) {
    const decoded = decode(schemas.Receipt, fromHex(r.hex), 1 << 20);
    assert.deepEqual(toJson(schemas.Receipt, decoded), r.json);
    assert.equal(toHex(encode(schemas.Receipt, fromJson(schemas.Receipt, r.json))), r.hex);
  }
  assert.equal(v.calls.length, 49);
  for (const c of v.calls) {
    const decoded = decode(schemas.Call, fromHex(c.hex), 4096);
    assert.deepEqual(toJson(schemas.Call, decoded), c.json);
    assert.equal(toHex(encode(schemas.Call, fromJson(schemas.Call, c.json))), c.hex);
    assert.equal(summarize(decoded as Parameters<typeof summarize>[0]), c.summary);
  }
});

test('governance proposals of every change, and votes, are built and encoded as in Rust', async () => {
  const { encode, schemas, toJson } = await import('../src/index.js');
  const v = load('variants.json');
  assert.equal(v.proposals.length, 13);
  for (const p of v.proposals) {
    const call =
      'propose' in p.json
        ? calls.propose({ change: p.json.propose.change, deadline: p.json.propose.deadline, activation: p.json.propose.activation })
        : calls.vote({ proposal: p.json.vote.proposal, yes: p.json.vote.yes });
    assert.equal(toHex(encode(schemas.Call, call)), p.hex, p.summary);
    assert.deepEqual(toJson(schemas.Call, call), p.json);
    assert.equal(summarize(call), p.summary);
  }
});

test('memos sealed to a merchant are the Rust bytes, and the merchant opens them', () => {
  assert.equal(memos.overhead, SEALED_MEMO_OVERHEAD);
  assert.equal(memos.plaintext_max, SEALED_PLAINTEXT_MAX);
  for (const c of memos.sealed) {
    const plaintext = fromHex(c.plaintext_hex);
    const sealed = sealMemo(c.merchant, plaintext, fromHex(c.ephemeral_secret));
    assert.equal(toHex(sealed), c.sealed_hex, c.merchant_key);
    assert.equal(sealed.length, plaintext.length + SEALED_MEMO_OVERHEAD);
    assert.ok(isSealed(sealed));
    const merchant = Keypair.fromSeedLabel(c.merchant_key);
    assert.equal(toHex(openMemo(merchant, fromHex(c.sealed_hex))), c.plaintext_hex);
  }
});

test('a memo refused for sealing is refused with the Rust error', () => {
  for (const c of memos.refused_seals) {
    assert.throws(
      () => sealMemo(fromHex(c.merchant_hex), new Uint8Array(c.plaintext_len), new Uint8Array(32).fill(7)),
      (e: unknown) => e instanceof MemoError && e.kind === c.error,
      c.what,
    );
  }
});

test('every memo the Rust side cannot open is refused with its error, the rest open to its plaintext', () => {
  for (const c of memos.opens) {
    const bytes = fromHex(c.sealed_hex);
    assert.equal(isSealed(bytes), c.is_sealed, c.what);
    const key = Keypair.fromSeedLabel(c.key);
    if (c.verdict.ok !== undefined) {
      assert.equal(toHex(openMemo(key, bytes)), c.verdict.ok, c.what);
    } else {
      assert.throws(
        () => openMemo(key, bytes),
        (e: unknown) => e instanceof MemoError && e.kind === c.verdict.error,
        c.what,
      );
    }
  }
});
