// Partner dashboard: for one partner's account, sales and tax per day, cashback issued
// and the outstanding liability per credit, redemptions (rate, open escrows and their
// deadlines), settlement positions with other partners, and sponsorship budgets (and
// the fees they paid per day); as
// tables, charts and CSV. It reads aggregates only: the partner's daily figures summed
// by the node (/v1/partners/{addr}/daily), tax, settlement, open redemptions,
// sponsorships, asset supply; never another user's history in bulk.
import { useState } from 'preact/hooks';
import { isAddress } from '../../../sdk/ts/src/index.ts';
import { assetById, assets, dayOf, dayText, downloadCsv, errText, fmtAmount, fmtDecimal, node, type AssetInfo } from '../api.ts';
import { Addr, Chart, Err, Loading, Table, useLoad } from '../ui.tsx';
import { storedAddress } from '../vault.ts';

interface Partner { name: string; account: string; roles: string[]; jurisdiction: string }

export function Dashboard({ address, query }: { address: string; query: URLSearchParams }) {
  const [partners] = useLoad(() => fetch('/genesis.json').then((r) => r.json()).then((g: { partners: Partner[] }) => g.partners), []);
  const [typed, setTyped] = useState('');
  if (!address) {
    const mine = storedAddress();
    return (
      <section>
        <h1>Partner dashboard</h1>
        <p>Choose a partner (a merchant or issuer):</p>
        <ul>{(partners ?? []).map((p) => <li><a href={`#/dashboard/${p.account}`}>{p.name}</a> ({p.roles.join(', ')})</li>)}</ul>
        {mine && <p><a href={`#/dashboard/${mine}`}>This wallet's account</a></p>}
        <form onSubmit={(e) => (e.preventDefault(), isAddress(typed) && (location.hash = `#/dashboard/${typed}`))}>
          <input aria-label="Partner address" placeholder="jeon1…" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value.trim())} /> <button>Open</button>
        </form>
      </section>
    );
  }
  return <PartnerView address={address} days={Math.min(366, Math.max(1, Number(query.get('days') ?? 30) || 30))} />;
}

function PartnerView({ address, days }: { address: string; days: number }) {
  const [acct, err] = useLoad(() => node.account(address), [address]);
  const [status] = useLoad(() => node.status(), [address]);
  const [list] = useLoad(() => assets(true), [address]);
  if (err) return <Err text={err} />;
  if (!acct || !status || !list) return <Loading what="the partner" />;
  const to = dayOf(status.time_ms);
  const from = to - days + 1;
  return (
    <section>
      <h1>{acct.partner?.name ?? 'Account'} — dashboard</h1>
      <p><Addr a={address} /> {acct.partner ? `· ${acct.partner.roles.join(', ')} · ${acct.partner.jurisdiction}` : '· not a registered partner'}</p>
      <p>
        Period: {dayText(from)} to {dayText(to)} (UTC days {from}–{to}) ·{' '}
        {[7, 30, 90].map((d) => <a href={`#/dashboard/${address}?days=${d}`} class={d === days ? 'active' : ''}>{d} days </a>)}
      </p>
      <Sales address={address} from={from} to={to} list={list} />
      {acct.partner && <TaxReport code={acct.partner.jurisdiction} from={from} to={to} list={list} />}
      <Credits address={address} from={from} to={to} list={list} />
      <Redemptions address={address} from={from} to={to} list={list} />
      <Settlement address={address} from={from} to={to} list={list} />
      <Sponsorships address={address} from={from} to={to} list={list} />
    </section>
  );
}

interface Daily {
  complete: boolean;
  days: {
    period: number;
    payments: { asset: number; count: number; gross: number; tax: number }[];
    cashback: { asset: number; amount: number }[];
    redemptions: { requested: number; settled: number; rejected: number; expired: number };
    sponsored: { txs: number; fees: number };
  }[];
}

/** The partner's own figures per day, summed by the node (`GET /v1/partners/{addr}/daily`). */
function useDaily(address: string, from: number, to: number) {
  return useLoad(() => node.get<Daily>(`/v1/partners/${address}/daily?from=${from}&to=${to}`), [address, from, to]);
}

function Sales({ address, from, to, list }: { address: string; from: number; to: number; list: AssetInfo[] }) {
  const [data, err] = useDaily(address, from, to);
  if (err) return <Err text={err} />;
  if (!data) return <Loading what="sales" />;
  const krw = assetById(list, 0);
  const dec = krw?.decimals ?? 0;
  const days = data.days
    .map((d) => ({ day: d.period, p: d.payments.find((p) => p.asset === 0) }))
    .filter((d) => d.p !== undefined)
    .map(({ day, p }) => ({ day, sales: p!.count, gross: BigInt(p!.gross), tax: BigInt(p!.tax) }));
  const total = days.reduce((s, d) => ({ n: s.n + d.sales, gross: s.gross + d.gross, tax: s.tax + d.tax }), { n: 0, gross: 0n, tax: 0n });
  const rows = days.map((d) => [dayText(d.day), d.sales, fmtDecimal(d.gross, dec), fmtDecimal(d.tax, dec), fmtDecimal(d.gross - d.tax, dec)]);
  const money = (v: bigint) => Number(v) / 10 ** dec;
  return (
    <>
      <h2>Sales and tax withheld ({krw?.symbol})</h2>
      <div class="cards">
        <div class="card"><div class="label">Payments</div><div class="big" data-testid="sales-count">{total.n}</div></div>
        <div class="card"><div class="label">Gross</div><div class="big">{fmtAmount(total.gross, krw)}</div></div>
        <div class="card"><div class="label">Tax withheld from its sales</div><div class="big" data-testid="sales-tax">{fmtAmount(total.tax, krw)}</div></div>
      </div>
      <Chart title="Sales and tax per day" x={days.map((d) => d.day * 86_400)} xTime bars
        series={[{ label: 'gross', values: days.map((d) => money(d.gross)), color: '#2563eb' }, { label: 'tax', values: days.map((d) => money(d.tax)), color: '#dc2626' }]} />
      <Table head={['Day', 'Payments', 'Gross', 'Tax', 'Net']} rows={rows} empty="No sales in the period." />
      <button class="small" onClick={() => downloadCsv(`sales-${address.slice(0, 12)}.csv`, [['day', 'payments', 'gross', 'tax', 'net'], ...rows.map((r) => r.map((c) => String(c).replace(/,/g, '')))])}>CSV</button>
      {!data.complete && <p class="muted">The node's walk of this partner's history stopped at its bound: the oldest days may be short.</p>}
    </>
  );
}

interface TaxAnswer { jurisdiction: string; entries: { period: number; asset: number; amount: number }[]; totals: [number, number][] }

function TaxReport({ code, from, to, list }: { code: string; from: number; to: number; list: AssetInfo[] }) {
  const [tax, err] = useLoad(() => node.get<TaxAnswer>(`/v1/tax/${code}?from=${from}&to=${to}`), [code, from, to]);
  if (err) return <Err text={err} />;
  if (!tax) return <Loading what="the tax report" />;
  const rows = tax.entries.map((e) => [dayText(e.period), assetById(list, e.asset)?.symbol ?? e.asset, fmtAmount(e.amount, assetById(list, e.asset))]);
  return (
    <>
      <h3>Tax report of jurisdiction {code} (all its merchants, as `jeon query tax {code}`)</h3>
      <p>Total: <strong data-testid="tax-total">{tax.totals.map(([a, amt]) => fmtAmount(amt, assetById(list, a))).join(', ') || '0'}</strong></p>
      <Table head={['Day', 'Asset', 'Withheld']} rows={rows} empty="No tax withheld in the period." />
      <button class="small" onClick={() => downloadCsv(`tax-${code}.csv`, [['day', 'asset', 'units'], ...tax.entries.map((e) => [dayText(e.period), e.asset, e.amount])])}>CSV</button>
    </>
  );
}

function Credits({ address, from, to, list }: { address: string; from: number; to: number; list: AssetInfo[] }) {
  const mine = list.filter((a) => a.issuer === address && a.kind === 'credit');
  const [daily] = useDaily(address, from, to);
  if (mine.length === 0) return null;
  const issued = new Map<number, bigint>();
  for (const d of daily?.days ?? []) for (const c of d.cashback) issued.set(c.asset, (issued.get(c.asset) ?? 0n) + BigInt(c.amount));
  const rows = mine.map((a) => [<a href={`#/asset/${a.id}`}>{a.symbol}</a>, daily ? fmtAmount(issued.get(a.id) ?? 0n, a) : '…', <span data-testid={`liability-${a.symbol}`}>{fmtAmount(a.supply, a)}</span>]);
  return (
    <>
      <h2>Credits: cashback issued in the period and outstanding liability</h2>
      <Table head={['Credit', 'Cashback issued', 'Outstanding (supply)']} rows={rows} />
      <Chart title="Outstanding liability per credit" x={mine.map((_, i) => i)} bars series={[{ label: 'outstanding', values: mine.map((a) => a.supply / 10 ** a.decimals), color: '#7c3aed' }]} />
      <button class="small" onClick={() => downloadCsv('credits.csv', [['asset', 'issued_units', 'outstanding_units'], ...mine.map((a) => [a.symbol, String(issued.get(a.id) ?? 0n), a.supply])])}>CSV</button>
    </>
  );
}

interface Redemption { id: number; asset: number; user: string; amount: number; requested_height: number; deadline: number }

function Redemptions({ address, from, to, list }: { address: string; from: number; to: number; list: AssetInfo[] }) {
  const [open, err] = useLoad(() => node.get<{ redemptions: Redemption[] }>(`/v1/redemptions?issuer=${address}&limit=1000`), [address]);
  const [daily] = useDaily(address, from, to);
  const counts = { requested: 0, settled: 0, rejected: 0, expired: 0 };
  for (const d of daily?.days ?? []) for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += d.redemptions[k];
  if (err) return <Err text={err} />;
  if (!open) return null;
  const { requested, settled } = counts;
  return (
    <>
      <h2>Redemptions</h2>
      <p data-testid="redemption-counts">In the period: {requested} requested, {settled} settled, {counts.rejected} rejected, {counts.expired} refunded at their deadline{requested > 0 ? ` (settled ${Math.round((100 * settled) / requested)} %)` : ''}.</p>
      <h3>Open escrows ({open.redemptions.length})</h3>
      <Table
        head={['Id', 'User', 'Amount', 'Requested at', 'Deadline']}
        rows={open.redemptions.map((r) => [r.id, <Addr a={r.user} />, fmtAmount(r.amount, assetById(list, r.asset)), r.requested_height, `block ${r.deadline}`])}
        empty="No open escrow."
      />
      <button class="small" onClick={() => downloadCsv('open-escrows.csv', [['id', 'user', 'asset', 'amount', 'requested_height', 'deadline'], ...open.redemptions.map((r) => [r.id, r.user, r.asset, r.amount, r.requested_height, r.deadline])])}>CSV</button>
    </>
  );
}

interface SettlementAnswer {
  gross: { agreement: number; from_issuer: string; to_issuer: string; totals: { settlement_asset: number; converted: number; delivered: number; owed: number } }[];
  net: { owes: string; owed: string; settlement_asset: number; amount: number }[];
}

function Settlement({ address, from, to, list }: { address: string; from: number; to: number; list: AssetInfo[] }) {
  const [rep, err] = useLoad(() => node.get<SettlementAnswer>(`/v1/settlement?from=${from}&to=${to}`), [from, to]);
  if (err) return <Err text={err} />;
  if (!rep) return null;
  const net = rep.net.filter((n) => n.owes === address || n.owed === address);
  const rows = net.map((n) => [n.owes === address ? 'owes' : 'is owed', <Addr a={n.owes === address ? n.owed : n.owes} />, fmtAmount(n.amount, assetById(list, n.settlement_asset))]);
  return (
    <>
      <h2>Settlement positions</h2>
      <Table head={['', 'Partner', 'Net amount']} rows={rows} empty="No position with another partner in the period." />
      <button class="small" onClick={() => downloadCsv('settlement.csv', [['owes', 'owed', 'asset', 'amount'], ...net.map((n) => [n.owes, n.owed, n.settlement_asset, n.amount])])}>CSV</button>
    </>
  );
}

interface Sponsorship { sponsorship: { beneficiary: 'all_customers' | { account: string }; asset: number; budget_per_period: number; period_ms: number; used: number }; remaining: number }

function Sponsorships({ address, from, to, list }: { address: string; from: number; to: number; list: AssetInfo[] }) {
  const [sp, err] = useLoad(() => node.get<{ sponsorships: Sponsorship[] }>(`/v1/sponsors/${address}`), [address]);
  const [daily] = useDaily(address, from, to);
  if (err) return <Err text={err} />;
  if (!sp) return null;
  const fee = assetById(list, 0);
  const rows = sp.sponsorships.map((s) => {
    const a = assetById(list, s.sponsorship.asset);
    const b = s.sponsorship.beneficiary;
    return [b === 'all_customers' ? 'all customers' : <Addr a={b.account} />, fmtAmount(s.sponsorship.budget_per_period, a), `${s.sponsorship.period_ms / 3_600_000} h`, fmtAmount(s.sponsorship.budget_per_period - s.remaining, a), fmtAmount(s.remaining, a)];
  });
  const days = (daily?.days ?? []).filter((d) => d.sponsored.txs > 0);
  const spent = days.reduce((t, d) => ({ txs: t.txs + d.sponsored.txs, fees: t.fees + BigInt(d.sponsored.fees) }), { txs: 0, fees: 0n });
  const perDay = days.map((d) => [dayText(d.period), d.sponsored.txs, fmtAmount(d.sponsored.fees, fee)]);
  return (
    <>
      <h2>Fee sponsorships</h2>
      <div class="cards">
        <div class="card"><div class="label">Fees paid for others in the period</div><div class="big" data-testid="sponsored-fees" data-units={String(spent.fees)}>{daily ? fmtAmount(spent.fees, fee) : '…'}</div><div class="muted">{spent.txs} transactions</div></div>
      </div>
      <Table head={['For', 'Budget / period', 'Period', 'Spent this period', 'Left']} rows={rows} empty="This partner sponsors no fees." />
      <Chart title="Sponsored fees per day" x={days.map((d) => d.period * 86_400)} xTime bars series={[{ label: 'fees', values: days.map((d) => d.sponsored.fees / 10 ** (fee?.decimals ?? 0)), color: '#d97706' }]} />
      <Table head={['Day', 'Transactions', 'Fees paid']} rows={perDay} empty="No sponsored fee paid in the period." />
      <button class="small" onClick={() => downloadCsv(`sponsored-${address.slice(0, 12)}.csv`, [['day', 'txs', 'fee_units'], ...days.map((d) => [dayText(d.period), d.sponsored.txs, d.sponsored.fees])])}>CSV</button>
    </>
  );
}
