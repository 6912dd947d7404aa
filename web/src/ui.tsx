// Small shared pieces: loading a value, errors, tables, the uPlot chart, proof checks.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import uPlot from 'uplot';
import { CodecError, ProofError, decodeProof, verifyProof, type Verified } from '../../sdk/ts/src/index.ts';
import { errText, fmtTime, short, trustedGenesis } from './api.ts';

/** Runs `load` when `deps` change; `[value, error, reload]`. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [T | undefined, string, () => void] {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => live && (setValue(v), setError('')),
      (e) => live && setError(errText(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return [value, error, () => setN((x) => x + 1)];
}

export function Err({ text }: { text: string }) {
  return text ? <p class="error" role="alert">{text}</p> : null;
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

export function Addr({ a }: { a: string }) {
  return <a class="mono" href={`#/account/${a}`} title={a}>{short(a, 10)}</a>;
}

export function TxLink({ h }: { h: string }) {
  return <a class="mono" href={`#/tx/${h}`} title={h}>{short(h, 8)}</a>;
}

export function Table({ head, rows, empty }: { head: string[]; rows: ComponentChildren[][]; empty?: string }) {
  if (rows.length === 0) return <p class="muted">{empty ?? 'Nothing yet.'}</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead><tr>{head.map((h) => <th>{h}</th>)}</tr></thead>
        <tbody>{rows.map((r) => <tr>{r.map((c) => <td>{c}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}

/** A uPlot chart: x values and one or more series, sized to its container. */
export function Chart({ title, x, series, xTime = false, bars = false, step }: {
  title: string;
  x: number[];
  series: { label: string; values: number[]; color: string }[];
  xTime?: boolean;
  bars?: boolean;
  /** The spacing of x values (e.g. 86 400 for days, 60 for minutes): the room kept around one point or bar. */
  step?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || x.length === 0) return;
    const width = Math.max(260, Math.min(el.clientWidth || 600, 900));
    const plot = new uPlot(
      {
        title,
        width,
        height: 220,
        // One point (or bars) gets room around it instead of uPlot's auto range.
        scales: {
          x: {
            time: xTime,
            // uPlot widens a single time point by 86 400 / `ms` (1 000 days in seconds)
            // before this is called, so one point is recognized from the data itself.
            range: (_u: uPlot, min: number, max: number): [number, number] => {
              const gap = step ?? (xTime ? 86_400 : 1);
              const lo = Math.min(...x);
              const hi = Math.max(...x);
              if (lo === hi) return [lo - gap, hi + gap];
              const pad = bars ? gap / 2 : 0;
              return [Math.min(min, lo) - pad, Math.max(max, hi) + pad];
            },
          },
        },
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: bars ? s.color + '66' : undefined,
            paths: bars ? uPlot.paths.bars!({ size: [0.6, 40] }) : undefined,
            points: { show: x.length < 40 },
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    return () => plot.destroy();
  }, [title, x, series]);
  return <div class="chart" ref={box} aria-label={title} />;
}

/** The checks of docs/proofs.md §5, in the order the SDK's `verifyProof` runs them. */
const CHECKS: [string, string][] = [
  ['Decode', 'the proof decodes (canonical bytes, within 1 MiB)'],
  ['ValidatorSetChangesUnsupported', 'no validator-set change to follow: the set is the genesis set'],
  ['WrongChain', "the header's chain id is the genesis hash"],
  ['ValidatorSetMismatch', "the header's validator-set hash is the genesis validators'"],
  ['TxPath', 'the transaction path is well formed'],
  ['TxNotInBlock', "the transaction hashes up to the header's transaction root"],
  ['ReceiptForAnotherTx', 'the receipt names this transaction'],
  ['PathShapesDiffer', 'the transaction and receipt paths have the same shape'],
  ['ReceiptPath', 'the receipt path is well formed'],
  ['ReceiptNotInBlock', "the receipt hashes up to the header's receipts root"],
  ['CertificateHeight', 'the commit certificate is for this height'],
  ['Certificate', 'the certificate: signatures of validators with more than 2/3 of the power, for this block'],
  ['TxSignature', "the sender's signature over the transaction"],
];

type Outcome = { ok: true; verified: Verified; source: string } | { ok: false; failed: string; message: string; source: string };

/** Verifies a proof in this page against the trusted genesis and shows every check. */
export function ProofChecks({ proofHex, expectHash }: { proofHex: string; expectHash?: string }) {
  const [result, setResult] = useState<Outcome | null>(null);
  useEffect(() => {
    let live = true;
    (async (): Promise<Outcome> => {
      const { genesis, source } = await trustedGenesis();
      let proof;
      try {
        proof = decodeProof(proofHex);
      } catch (e) {
        return { ok: false, failed: 'Decode', message: errText(e), source };
      }
      try {
        const verified = verifyProof(proof, genesis.chainId, genesis.validators);
        if (expectHash && verified.tx_hash !== expectHash) {
          return { ok: false, failed: 'ReceiptForAnotherTx', message: `the proof is of ${verified.tx_hash}, not ${expectHash}`, source };
        }
        return { ok: true, verified, source };
      } catch (e) {
        if (e instanceof ProofError) return { ok: false, failed: e.kind, message: `${e.code}: ${e.message}`, source };
        if (e instanceof CodecError) return { ok: false, failed: 'Decode', message: e.message, source };
        throw e;
      }
    })().then(
      (r) => live && setResult(r),
      (e) => live && setResult({ ok: false, failed: 'Decode', message: errText(e), source: 'no genesis' }),
    );
    return () => {
      live = false;
    };
  }, [proofHex]);
  if (result === null) return <Loading what="the proof check" />;
  const failedAt = result.ok ? CHECKS.length : Math.max(0, CHECKS.findIndex(([k]) => k === result.failed));
  return (
    <div class="proof" data-verdict={result.ok ? 'verified' : 'refused'}>
      <p class={result.ok ? 'ok' : 'error'}>
        <strong>{result.ok ? 'Verified in this page' : 'Refused'}</strong>
        {result.ok
          ? ` — block ${result.verified.height} (${fmtTime(Number(result.verified.time_ms))}), signed by ${result.verified.signed_power} of ${result.verified.total_power} power; the call ${result.verified.succeeded ? 'succeeded' : 'failed'}.`
          : ` — ${result.message}`}
      </p>
      <ol class="checks">
        {CHECKS.map(([kind, text], i) => {
          const state = i < failedAt ? 'pass' : i === failedAt ? 'fail' : 'skip';
          return (
            <li class={state} data-check={kind}>
              <span class="mark">{state === 'pass' ? '✓' : state === 'fail' ? '✗' : '–'}</span> {text}
            </li>
          );
        })}
      </ol>
      <p class="muted">Checked against {result.source}.</p>
    </div>
  );
}
