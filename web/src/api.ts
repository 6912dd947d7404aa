// The node the page was served by, reached through the TypeScript SDK (sdk/ts) only,
// and what every page shares: asset metadata, amount formatting, the genesis.
import { ApiError, JeonClient, parseGenesis, type Genesis } from '../../sdk/ts/src/index.ts';

export const node = new JeonClient(location.origin, { timeoutMs: 15_000 });

export interface AssetInfo {
  id: number;
  symbol: string;
  decimals: number;
  issuer: string;
  kind: string;
  supply: number;
}

let assetsCache: Promise<AssetInfo[]> | null = null;
/** Every asset (re-read when `fresh`, e.g. after a block created one). */
export function assets(fresh = false): Promise<AssetInfo[]> {
  if (fresh || assetsCache === null) {
    assetsCache = node.get<{ assets: AssetInfo[] }>('/v1/assets').then((a) => a.assets);
    assetsCache.catch(() => (assetsCache = null));
  }
  return assetsCache;
}

export function assetById(list: AssetInfo[], id: number): AssetInfo | undefined {
  return list.find((a) => a.id === id);
}

/** Units of an asset as a decimal with its symbol, e.g. `500.00 KRW`. */
export function fmtAmount(units: number | bigint, asset: AssetInfo | undefined): string {
  if (!asset) return `${units} units`;
  return `${fmtDecimal(units, asset.decimals)} ${asset.symbol}`;
}

export function fmtDecimal(units: number | bigint, decimals: number): string {
  const neg = BigInt(units) < 0n;
  const s = (neg ? -BigInt(units) : BigInt(units)).toString().padStart(decimals + 1, '0');
  const int = s.slice(0, s.length - decimals).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = decimals > 0 ? `.${s.slice(s.length - decimals)}` : '';
  return `${neg ? '-' : ''}${int}${frac}`;
}

/** A decimal the user typed (`500`, `500.5`) as units; throws a message naming the problem. */
export function parseUnits(text: string, decimals: number): bigint {
  const t = text.trim().replace(/,/g, '');
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`"${text}" is not an amount (digits, optionally with a decimal point)`);
  const [int, frac = ''] = t.split('.');
  if (frac.length > decimals) throw new Error(`"${text}" has more than ${decimals} decimals`);
  const units = BigInt(int! + frac.padEnd(decimals, '0'));
  if (units === 0n) throw new Error('the amount must be more than 0');
  return units;
}

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function short(text: string, keep = 8): string {
  return text.length > keep * 2 + 1 ? `${text.slice(0, keep)}…${text.slice(-keep)}` : text;
}

/** An error as the stable code's message (`insufficient_balance: …`). */
export function errText(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

const GENESIS_KEY = 'jeon.genesis';
const PINNED_KEY = 'jeon.chainId';

/**
 * The genesis proofs are checked against: one the user gave (kept in this browser), or
 * else the node's `/genesis.json`, whose hash must equal the chain id this browser saw
 * first (pinned at first use), so a node that changes its genesis is not believed.
 */
export async function trustedGenesis(): Promise<{ genesis: Genesis; source: string }> {
  const own = localStorage.getItem(GENESIS_KEY);
  if (own !== null) return { genesis: parseGenesis(own), source: 'the genesis file you gave this browser' };
  const res = await fetch('/genesis.json');
  if (!res.ok) throw new Error(`the node serves no genesis file (${res.status}); give yours on the verify page`);
  const genesis = parseGenesis(await res.text());
  const pinned = localStorage.getItem(PINNED_KEY);
  if (pinned === null) localStorage.setItem(PINNED_KEY, genesis.chainId);
  else if (pinned !== genesis.chainId) {
    throw new Error(`the node's genesis hashes to ${genesis.chainId}, but this browser pinned chain ${pinned}; give the genesis file yourself`);
  }
  return { genesis, source: "the node's genesis file, its hash pinned in this browser at first use" };
}

export function setOwnGenesis(json: string | null): void {
  if (json === null) localStorage.removeItem(GENESIS_KEY);
  else {
    parseGenesis(json);
    localStorage.setItem(GENESIS_KEY, json);
  }
}

/** CSV of rows (first row the header), quoted where needed, downloaded as `name`. */
export function downloadCsv(name: string, rows: (string | number)[][]): void {
  const cell = (v: string | number) => {
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const text = rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** The UTC day index of a time (the chain's accounting period). */
export const dayOf = (ms: number) => Math.floor(ms / 86_400_000);
export const dayText = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);
