// Explorer: live head and blocks, block, transaction (with in-page proof
// verification), account, asset, a proof checker, and search.
import { useEffect, useState } from 'preact/hooks';
import { isAddress } from '../../../sdk/ts/src/index.ts';
import { assetById, assets, errText, fmtAmount, fmtTime, node, setOwnGenesis, short, trustedGenesis, type AssetInfo } from '../api.ts';
import { onHead, type Head } from '../live.ts';
import { Addr, Err, Loading, ProofChecks, Table, TxLink, useLoad } from '../ui.tsx';

interface BlockRow { height: number; hash: string; time_ms: number; proposer: string; txs: number; events: number }
interface BlockAnswer {
  height: number;
  hash: string;
  header: Record<string, string | number>;
  txs: string[];
  certificate: { height: number; round: number; block: string; signatures: { validator: string; signature: string }[] };
}

/** Where a search goes: a `#/…` route, or a message saying why nothing matched. */
export async function search(text: string): Promise<string> {
  if (text === '') return 'type a transaction or block hash, an address, a height or an asset symbol';
  if (/^\d+$/.test(text)) return `#/block/${text}`;
  if (isAddress(text)) return `#/account/${text}`;
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const h = text.toLowerCase();
    try {
      const s = await node.txStatus(h);
      if (s.status !== 'unknown') return `#/tx/${h}`;
    } catch (e) {
      return errText(e);
    }
    return `no transaction ${short(h)} is known to this node (block hashes: search by height)`;
  }
  if (text.startsWith('jeon:')) return `#/wallet/pay?link=${encodeURIComponent(text)}`;
  if (text.startsWith('jeon1')) return `"${short(text)}" is not a valid address (its checksum or length is wrong)`;
  try {
    const a = await node.asset(text);
    return `#/asset/${a.id}`;
  } catch (e) {
    return errText(e);
  }
}

export function Explorer() {
  const [head, setHead] = useState<Head | null>(null);
  const [blocks, setBlocks] = useState<BlockRow[]>([]);
  const [err, setErr] = useState('');
  useEffect(() => onHead(setHead), []);
  useEffect(() => {
    if (!head) return;
    node.get<{ blocks: BlockRow[] }>('/v1/blocks?limit=15').then(
      (b) => (setBlocks(b.blocks), setErr('')),
      (e) => setErr(errText(e)),
    );
  }, [head?.height]);
  return (
    <section>
      <h1>Explorer</h1>
      <div class="cards">
        <div class="card"><div class="label">Head</div><div class="big" data-testid="head-height">{head ? head.height : '…'}</div></div>
        <div class="card"><div class="label">Block time</div><div>{blocks[0] ? fmtTime(blocks[0].time_ms) : '…'}</div></div>
        <div class="card"><div class="label">Links</div><div><a href="#/verify">Check a proof</a> · <a href="#/network">Network</a></div></div>
      </div>
      <Err text={err} />
      <h2>Latest blocks <span class="live" title="updated over the event stream">live</span></h2>
      <Table
        head={['Height', 'Hash', 'Time', 'Proposer', 'Txs', 'Events']}
        rows={blocks.map((b) => [
          <a href={`#/block/${b.height}`} data-testid="block-row">{b.height}</a>,
          <span class="mono">{short(b.hash)}</span>,
          fmtTime(b.time_ms),
          <Addr a={b.proposer} />,
          b.txs,
          b.events,
        ])}
      />
    </section>
  );
}

export function BlockPage({ height }: { height: string }) {
  const [block, err] = useLoad(() => node.get<BlockAnswer>(`/v1/blocks/${encodeURIComponent(height)}`), [height]);
  if (err) return <Err text={err} />;
  if (!block) return <Loading what={`block ${height}`} />;
  const h = block.header;
  return (
    <section>
      <h1>Block {block.height}</h1>
      <p>
        {block.height > 1 && <a href={`#/block/${block.height - 1}`}>← {block.height - 1}</a>}{' '}
        <a href={`#/block/${block.height + 1}`}>{block.height + 1} →</a>
      </p>
      <dl class="kv">
        <dt>Hash</dt><dd class="mono">{block.hash}</dd>
        <dt>Time</dt><dd>{fmtTime(Number(h.time_ms))}</dd>
        <dt>Proposer</dt><dd><Addr a={String(h.proposer)} /></dd>
        {['prev_hash', 'tx_root', 'receipts_root', 'app_hash', 'validators_hash', 'chain_id'].map((k) => (
          <><dt>{k}</dt><dd class="mono">{String(h[k])}</dd></>
        ))}
      </dl>
      <h2>Certificate (round {block.certificate.round})</h2>
      <Table head={['Signer', 'Signature']} rows={block.certificate.signatures.map((s) => [<Addr a={s.validator} />, <span class="mono">{short(s.signature, 12)}</span>])} />
      <h2>Transactions ({block.txs.length})</h2>
      <Table head={['#', 'Hash']} rows={block.txs.slice(0, 500).map((t, i) => [i, <TxLink h={t} />])} empty="An empty block." />
      {block.txs.length > 500 && <p class="muted">First 500 of {block.txs.length} shown.</p>}
    </section>
  );
}

interface TxAnswer {
  hash: string;
  status: string;
  height?: number;
  index?: number;
  receipt?: { outcome: unknown; fee: number; events: Record<string, Record<string, unknown>>[] };
  reason?: string;
  sender?: string;
  kind?: string;
  call?: Record<string, Record<string, unknown>>;
  time_ms?: number;
}

/** An event or call as one line: its kind and its fields, amounts with their asset. */
export function describe(obj: Record<string, Record<string, unknown>> | string, list: AssetInfo[]): string {
  if (typeof obj === 'string') return obj;
  const [kind, fields] = Object.entries(obj)[0] ?? ['?', {}];
  const a = typeof fields.asset === 'number' ? assetById(list, fields.asset) : undefined;
  const parts = Object.entries(fields ?? {}).map(([k, v]) => {
    if ((k === 'amount' || k === 'tax' || k === 'price' || k === 'refund') && typeof v === 'number' && a) return `${k} ${fmtAmount(v, a)}`;
    if (typeof v === 'string' && v.startsWith('jeon1')) return `${k} ${short(v, 8)}`;
    if (k === 'asset' && a) return `asset ${a.symbol}`;
    return `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
  });
  return `${kind}: ${parts.join(', ')}`;
}

export function TxPage({ hash }: { hash: string }) {
  const [tx, err, reload] = useLoad(() => node.get<TxAnswer>(`/v1/txs/${encodeURIComponent(hash)}`), [hash]);
  const [list] = useLoad(() => assets(), []);
  const [proof, setProof] = useState<string | null>(null);
  const [proofErr, setProofErr] = useState('');
  useEffect(() => {
    if (tx && tx.status === 'pending') {
      const t = setTimeout(reload, 1000);
      return () => clearTimeout(t);
    }
  }, [tx]);
  if (err) return <Err text={err} />;
  if (!tx || !list) return <Loading what={`transaction ${short(hash)}`} />;
  const fee = tx.receipt?.events.map((e) => e.fee_charged).find((f) => f !== undefined);
  const verify = () => {
    setProofErr('');
    node.proof(tx.hash).then((p) => setProof(p.proof_hex), (e) => setProofErr(errText(e)));
  };
  return (
    <section>
      <h1>Transaction</h1>
      <p class="mono">{tx.hash}</p>
      <dl class="kv">
        <dt>Status</dt><dd data-testid="tx-status" class={tx.status === 'final' ? 'ok' : tx.status === 'rejected' ? 'error' : ''}>{tx.status}{tx.reason ? ` — ${tx.reason}` : ''}</dd>
        {tx.height !== undefined && <><dt>Block</dt><dd><a href={`#/block/${tx.height}`}>{tx.height}</a> (index {tx.index}) · {fmtTime(tx.time_ms)}</dd></>}
        {tx.sender && <><dt>Sender</dt><dd><Addr a={tx.sender} /></dd></>}
        {tx.call && <><dt>Call</dt><dd data-testid="tx-call">{describe(tx.call, list)}</dd></>}
        {tx.receipt && <><dt>Outcome</dt><dd>{typeof tx.receipt.outcome === 'string' ? tx.receipt.outcome : JSON.stringify(tx.receipt.outcome)}</dd></>}
        {tx.receipt && <><dt>Fee</dt><dd>{fmtAmount(tx.receipt.fee, assetById(list, Number(fee?.asset ?? 0)))}{fee ? <> paid by <Addr a={String(fee.payer)} /></> : ''}</dd></>}
      </dl>
      {tx.receipt && (
        <>
          <h2>Events</h2>
          <ul class="events">{tx.receipt.events.map((e) => <li>{describe(e, list)}</li>)}</ul>
        </>
      )}
      {tx.height !== undefined && (
        <>
          <h2>Proof</h2>
          {proof === null ? <button onClick={verify} data-testid="verify">Verify in this page</button> : <ProofChecks proofHex={proof} expectHash={tx.hash} />}
          <Err text={proofErr} />
        </>
      )}
    </section>
  );
}

interface TxEntry {
  cursor: string;
  height: number;
  index: number | null;
  hash: string | null;
  time_ms: number | null;
  sender: string;
  kind: string;
  success: boolean;
  fee: number;
  movements: { kind: string; asset: number; symbol: string; amount: number; from: string | null; to: string | null }[];
}

export function AccountPage({ address, before }: { address: string; before: string | null }) {
  const [acct, err] = useLoad(() => node.account(address), [address]);
  const [list] = useLoad(() => assets(), []);
  const q = before ? `&before=${encodeURIComponent(before)}` : '';
  const [hist, histErr] = useLoad(
    () => node.get<{ txs: TxEntry[]; next_before: string | null }>(`/v1/accounts/${address}/txs?limit=20${q}`),
    [address, before],
  );
  if (err) return <Err text={err} />;
  if (!acct || !list) return <Loading what="the account" />;
  return (
    <section>
      <h1>Account</h1>
      <p class="mono wrap">{address}</p>
      {acct.partner && <p>Partner <strong>{acct.partner.name}</strong> ({acct.partner.roles.join(', ')}, {acct.partner.jurisdiction}) · <a href={`#/dashboard/${address}`}>dashboard</a></p>}
      <p>Next nonce {acct.nonce}</p>
      <h2>Balances</h2>
      <Table
        head={['Asset', 'Kind', 'Balance']}
        rows={acct.balances.map((b) => {
          const a = assetById(list, b.asset);
          return [<a href={`#/asset/${b.asset}`}>{b.symbol}</a>, a?.kind ?? '', <span data-testid={`balance-${b.symbol}`}>{fmtAmount(b.amount, a)}</span>];
        })}
        empty="No balances."
      />
      <h2>History</h2>
      <Err text={histErr} />
      {hist && <HistoryTable txs={hist.txs} me={address} list={list} />}
      <p>
        {before && <a href={`#/account/${address}`}>Newest</a>}{' '}
        {hist?.next_before && <a href={`#/account/${address}?before=${hist.next_before}`}>Older →</a>}
      </p>
    </section>
  );
}

export function HistoryTable({ txs, me, list }: { txs: TxEntry[]; me: string; list: AssetInfo[] }) {
  return (
    <Table
      head={['Block', 'Time', 'Tx', 'Kind', 'Movements']}
      rows={txs.map((t) => [
        <a href={`#/block/${t.height}`}>{t.height}</a>,
        fmtTime(t.time_ms),
        t.hash ? <TxLink h={t.hash} /> : 'end of block',
        t.success ? t.kind : `${t.kind} (failed)`,
        t.movements
          .map((m) => {
            const sign = m.to === me ? '+' : m.from === me ? '−' : '';
            return `${m.kind} ${sign}${fmtAmount(m.amount, assetById(list, m.asset))}`;
          })
          .join('; '),
      ])}
      empty="No transactions yet."
    />
  );
}

export function AssetPage({ id }: { id: string }) {
  const [asset, err] = useLoad(() => node.asset(id), [id]);
  const [rules] = useLoad(() => node.get<{ rules: Record<string, unknown>[] }>('/v1/rules?limit=1000'), [id]);
  const [ex] = useLoad(() => node.get<{ exchanges: Record<string, unknown>[] }>('/v1/exchanges?limit=1000'), [id]);
  if (err) return <Err text={err} />;
  if (!asset) return <Loading what="the asset" />;
  const mine = (rules?.rules ?? []).filter((r) => JSON.stringify(r).includes(`"asset":${asset.id}`));
  const agreements = (ex?.exchanges ?? []).filter((e) => e.from_asset === asset.id || e.to_asset === asset.id);
  return (
    <section>
      <h1>{asset.symbol}</h1>
      <dl class="kv">
        <dt>Id</dt><dd>{asset.id}</dd>
        <dt>Kind</dt><dd>{asset.kind}</dd>
        <dt>Decimals</dt><dd>{asset.decimals}</dd>
        <dt>Issuer</dt><dd><Addr a={asset.issuer} /></dd>
        <dt>Supply</dt><dd data-testid="asset-supply">{fmtAmount(asset.supply, asset)}</dd>
      </dl>
      <h2>Reward rules</h2>
      <ul class="events">{mine.map((r) => <li class="mono wrap">{JSON.stringify(r)}</li>)}</ul>
      {mine.length === 0 && <p class="muted">None.</p>}
      <h2>Exchange agreements</h2>
      <ul class="events">{agreements.map((r) => <li class="mono wrap">{JSON.stringify(r)}</li>)}</ul>
      {agreements.length === 0 && <p class="muted">None.</p>}
    </section>
  );
}

/** Paste a proof (hex) and have it checked here; give your own genesis file. */
export function VerifyPage() {
  const [hex, setHex] = useState('');
  const [checking, setChecking] = useState<string | null>(null);
  const [genesisNote, setGenesisNote] = useState('');
  useEffect(() => {
    trustedGenesis().then((g) => setGenesisNote(`Chain ${short(g.genesis.chainId)}, from ${g.source}.`), (e) => setGenesisNote(errText(e)));
  }, [checking]);
  const onFile = async (e: Event) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    try {
      setOwnGenesis(await f.text());
      setGenesisNote('Your genesis file is kept in this browser.');
      setChecking(null);
    } catch (err) {
      setGenesisNote(`That genesis file cannot be used: ${errText(err)}`);
    }
  };
  return (
    <section>
      <h1>Check a proof</h1>
      <p>Paste a transaction proof (<code>proof_hex</code> of <code>GET /v1/txs/HASH/proof</code>, or <code>jeon query proof</code>): it is checked in this page against the genesis alone.</p>
      <p class="muted">{genesisNote} <label>Use my genesis.json: <input type="file" accept=".json,application/json" onChange={onFile} /></label> <button onClick={() => (setOwnGenesis(null), setChecking(null))}>Forget it</button></p>
      <textarea rows={6} aria-label="Proof hex" value={hex} onInput={(e) => setHex((e.target as HTMLTextAreaElement).value.trim())} />
      <p><button data-testid="check-proof" onClick={() => setChecking(hex)}>Check</button></p>
      {checking !== null && <ProofChecks key={checking} proofHex={checking} />}
    </section>
  );
}
