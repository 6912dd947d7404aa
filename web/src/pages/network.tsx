// Network: validators with power and the last height each signed, peers, block time
// and throughput over the last hour (or the blocks this node keeps), mempool size.
import { useEffect, useState } from 'preact/hooks';
import { errText, fmtTime, node } from '../api.ts';
import { onHead, type Head } from '../live.ts';
import { Addr, Chart, Err, Table, useLoad } from '../ui.tsx';

interface BlockRow { height: number; time_ms: number; txs: number; proposer: string }
interface Validators { total_power: number; validators: { name: string; key: string; power: number; last_signed_height: number | null }[] }

/** Blocks read for the chart: an hour at one block a second, at most. */
const CHART_BLOCKS_MAX = 3600;

export function Network() {
  const [head, setHead] = useState<Head | null>(null);
  useEffect(() => onHead(setHead), []);
  // The node keeps each validator's last signed height; re-read every 5 blocks.
  const [vals, valErr] = useLoad(() => node.get<Validators>('/v1/validators'), [Math.floor((head?.height ?? 0) / 5)]);
  const [extra, setExtra] = useState<{ mempool: number; peers: number | null } | null>(null);
  const [blocks, setBlocks] = useState<BlockRow[]>([]);
  const [err, setErr] = useState('');
  useEffect(() => {
    if (!head) return;
    Promise.all([node.status(), node.metrics()]).then(
      ([s, m]) => setExtra({ mempool: Number(s.mempool_txs ?? 0), peers: m.get('jeon_p2p_peers_connected') ?? null }),
      (e) => setErr(errText(e)),
    );
  }, [head?.height]);
  useEffect(() => {
    if (!head) return;
    (async () => {
      const out: BlockRow[] = [];
      let before: number | null = null;
      const hourAgo = head.time_ms - 3_600_000;
      while (out.length < CHART_BLOCKS_MAX) {
        const ans: { blocks: BlockRow[]; next_before: number | null } = await node.get(`/v1/blocks?limit=100${before ? `&before=${before}` : ''}`);
        out.push(...ans.blocks);
        before = ans.next_before;
        if (before === null || (ans.blocks.at(-1)?.time_ms ?? 0) < hourAgo) break;
      }
      setBlocks(out.filter((b) => b.time_ms >= hourAgo).reverse());
    })().catch((e) => setErr(errText(e)));
  }, [Math.floor((head?.height ?? 0) / 10)]);
  const times = blocks.slice(1).map((b, i) => (b.time_ms - blocks[i]!.time_ms) / 1000);
  // Per minute: transactions finalized.
  const perMin = new Map<number, number>();
  for (const b of blocks) perMin.set(Math.floor(b.time_ms / 60_000), (perMin.get(Math.floor(b.time_ms / 60_000)) ?? 0) + b.txs);
  const minutes = [...perMin.keys()].sort((a, b) => a - b);
  return (
    <section>
      <h1>Network</h1>
      <div class="cards">
        <div class="card"><div class="label">Head</div><div class="big">{head?.height ?? '…'}</div><div class="muted">{fmtTime(head?.time_ms)}</div></div>
        <div class="card"><div class="label">Mempool</div><div class="big" data-testid="mempool">{extra?.mempool ?? '…'}</div></div>
        <div class="card"><div class="label">Peers</div><div class="big">{extra ? extra.peers ?? '0 (no p2p: a single node)' : '…'}</div></div>
        <div class="card"><div class="label">Average block time</div><div class="big">{times.length ? `${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2)} s` : '…'}</div></div>
      </div>
      <Err text={valErr || err} />
      <h2>Validators</h2>
      {vals && (
        <Table
          head={['Name', 'Key', 'Power', 'Last signed']}
          rows={vals.validators.map((v) => [v.name, <Addr a={v.key} />, `${v.power} of ${vals.total_power}`, <span data-testid={`last-signed-${v.name}`}>{v.last_signed_height ?? 'none seen'}</span>])}
        />
      )}
      <h2>The last hour ({blocks.length} blocks)</h2>
      <Chart title="Block time (s)" x={blocks.slice(1).map((b) => b.time_ms / 1000)} xTime step={1} series={[{ label: 'seconds', values: times, color: '#2563eb' }]} />
      <Chart title="Transactions per minute" x={minutes.map((m) => m * 60)} xTime bars step={60} series={[{ label: 'txs', values: minutes.map((m) => perMin.get(m)!), color: '#059669' }]} />
    </section>
  );
}
