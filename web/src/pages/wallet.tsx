// Wallet: a key kept encrypted in this browser (../vault.ts); balances, live events,
// send, pay a jeon:pay link (pasted or scanned), redeem credits and follow the escrow,
// mandates, the fee sponsorships that may pay for it (tried on every dry run). Every action is dry-run first (POST /v1/txs/simulate) and
// shows its cost; a refusal shows the stable error code's message.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Keypair, calls, parseAnyLink, signTx, type Call, type SimulateAnswer, type TxStatus } from '../../../sdk/ts/src/index.ts';
import { assetById, assets, errText, fmtAmount, fmtTime, node, parseUnits, short, type AssetInfo } from '../api.ts';
import { forget, importKey, seal, storedAddress, unseal } from '../vault.ts';
import { Addr, Err, Loading, ProofChecks, Table, TxLink, useLoad } from '../ui.tsx';
import { describe } from './explorer.tsx';

let unlocked: Keypair | null = null;

export function Wallet({ tab, query }: { tab: string; query: URLSearchParams }) {
  const [key, setKey] = useState<Keypair | null>(unlocked);
  const use = (k: Keypair | null) => {
    unlocked = k;
    setKey(k);
  };
  if (!key) return <KeySetup onKey={use} />;
  const tabs: [string, string][] = [['home', 'Balances'], ['send', 'Send'], ['pay', 'Pay a link'], ['redeem', 'Redeem'], ['mandates', 'Mandates']];
  return (
    <section>
      <h1>Wallet</h1>
      <p>
        <span class="mono wrap" data-testid="wallet-address">{key.address}</span>{' '}
        <button class="small" onClick={() => use(null)}>Lock</button>
      </p>
      <nav class="tabs">{tabs.map(([t, label]) => <a href={`#/wallet/${t}`} class={t === tab ? 'active' : ''}>{label}</a>)}</nav>
      {tab === 'home' && <Home me={key} />}
      {tab === 'send' && <Send me={key} />}
      {tab === 'pay' && <PayLink me={key} initial={query.get('link') ?? ''} />}
      {tab === 'redeem' && <Redeem me={key} />}
      {tab === 'mandates' && <Mandates me={key} />}
    </section>
  );
}

function KeySetup({ onKey }: { onKey: (k: Keypair) => void }) {
  const stored = storedAddress();
  const [pass, setPass] = useState('');
  const [pass2, setPass2] = useState('');
  const [pasted, setPasted] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const run = (f: () => Promise<Keypair>) => async (e: Event) => {
    e.preventDefault();
    setErr('');
    setBusy(true);
    try {
      onKey(await f());
    } catch (x) {
      setErr(errText(x));
    } finally {
      setBusy(false);
    }
  };
  const fresh = async (k: Keypair) => {
    if (pass !== pass2) throw new Error('the two passphrases differ');
    await seal(k, pass);
    return k;
  };
  const field = (label: string, value: string, set: (v: string) => void, name: string) => (
    <label>{label} <input type="password" name={name} autocomplete="new-password" value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} /></label>
  );
  return (
    <section>
      <h1>Wallet</h1>
      <p class="muted">Your key stays in this browser, encrypted with your passphrase (PBKDF2 + AES-GCM); it is never sent to the node.</p>
      {stored && (
        <form onSubmit={run(() => unseal(pass))}>
          <h2>Unlock {short(stored, 10)}</h2>
          {field('Passphrase', pass, setPass, 'passphrase')}
          <button type="submit" disabled={busy} data-testid="unlock">Unlock</button>{' '}
          <button type="button" onClick={() => (confirm('Forget the key stored in this browser?') && forget(), location.reload())}>Forget this key</button>
        </form>
      )}
      <form onSubmit={run(async () => fresh(importKey(pasted)))}>
        <h2>{stored ? 'Or replace it: ' : ''}Import a key</h2>
        <textarea rows={3} aria-label="Key file or secret" placeholder='{"address": "jeon1…", "secret_key": "…"}' value={pasted} onInput={(e) => setPasted((e.target as HTMLTextAreaElement).value)} />
        {field('Passphrase', pass, setPass, 'new-passphrase')} {field('Again', pass2, setPass2, 'new-passphrase-again')}
        <button type="submit" disabled={busy} data-testid="import">Import</button>
      </form>
      <form onSubmit={run(async () => fresh(Keypair.generate()))}>
        <h2>Create a new key</h2>
        <p class="muted">Uses the passphrase fields above.</p>
        <button type="submit" disabled={busy}>Create</button>
      </form>
      {busy && <p class="muted">Deriving the key from the passphrase…</p>}
      <Err text={err} />
    </section>
  );
}

/** Builds, signs and dry-runs a call; shows the cost; submits on confirmation and follows it to finality and a verified proof. */
function Action({ me, label, build, onFinal }: { me: Keypair; label: string; build: () => Promise<Call>; onFinal?: (s: TxStatus) => void }) {
  const [dry, setDry] = useState<DryRun | null>(null);
  const [status, setStatus] = useState<TxStatus | null>(null);
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [list] = useLoad(() => assets(), []);
  const [sponsored, setSponsored] = useState(true);
  const review = async () => {
    setErr('');
    setDry(null);
    setStatus(null);
    setBusy(true);
    try {
      const call = await build();
      setDry((sponsored && (await sponsoredDryRun(me, call))) || (await dryRun(me, call, null)));
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  const confirmIt = async () => {
    if (!dry) return;
    setBusy(true);
    try {
      const s = await node.submitAndWait(dry.tx, { onStatus: setStatus, timeoutMs: 60_000 });
      setStatus(s);
      onFinal?.(s);
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  const a = dry?.answer;
  const feeAsset = list ? assetById(list, 0) : undefined;
  const payer = a?.receipt.events.map((e) => (e as { fee_charged?: { payer: string } }).fee_charged?.payer).find((p) => p);
  return (
    <div class="action">
      <label class="muted"><input type="checkbox" checked={sponsored} onChange={(e) => setSponsored((e.target as HTMLInputElement).checked)} /> let a partner that sponsors me pay the fee, if one covers this</label>
      <button onClick={review} disabled={busy} data-testid="review">{label}: check first</button>
      {a && (
        <div class={`dry ${a.status}`} data-testid="dry-run" data-status={a.status}>
          <p>
            Dry run: <strong>{a.status}</strong>; it would cost <strong data-testid="dry-fee">{fmtAmount(a.fee, feeAsset)}</strong> in fees
            {payer && <>, paid by <span data-testid="dry-payer" data-payer={payer}>{payer === me.address ? 'you' : <>the sponsor <Addr a={payer} /></>}</span></>}.
            {a.error && <span class="error" data-testid="dry-error"> {a.error.code}: {a.error.message}</span>}
          </p>
          {list && <ul class="events">{a.receipt.events.map((e) => <li>{describe(e as Record<string, Record<string, unknown>>, list)}</li>)}</ul>}
          {a.status === 'success' && !status && <button onClick={confirmIt} disabled={busy} data-testid="confirm">Confirm and send</button>}
        </div>
      )}
      {status && (
        <div data-testid="final-status" data-status={status.status}>
          <p>
            <TxLink h={status.hash} />: <strong>{status.status}</strong>
            {status.reason ? ` — ${status.reason}` : ''}
          </p>
          {status.status === 'final' && <VerifyNow hash={status.hash} />}
        </div>
      )}
      {busy && <p class="muted">Working…</p>}
      <Err text={err} />
    </div>
  );
}

type DryRun = { tx: ReturnType<typeof signTx>; answer: SimulateAnswer };

async function dryRun(me: Keypair, call: Call, feePayer: string | null): Promise<DryRun> {
  const tx = signTx(await node.prepareTx(me, call, { feePayer }), me);
  return { tx, answer: await node.simulate(tx) };
}

/** The most sponsors one review tries. */
const SPONSORS_TRIED_MAX = 8;

/**
 * A dry run with a sponsor paying: the sponsors of this account first, then the
 * partners' all-customers offers (which pay only for a call addressed to that
 * partner); the first whose dry run is not refused. Null when none covers the call.
 */
async function sponsoredDryRun(me: Keypair, call: Call): Promise<DryRun | null> {
  const offers = (await node.accountSponsorships(me.address)).sponsorships.filter((s) => s.remaining > 0);
  for (const s of offers.slice(0, SPONSORS_TRIED_MAX)) {
    const run = await dryRun(me, call, s.sponsor);
    if (run.answer.status !== 'invalid') return run;
  }
  return null;
}

/** Who may pay this account's fees (`GET /v1/accounts/{addr}/sponsorships`). */
function Sponsors({ me, refresh }: { me: Keypair; refresh: number }) {
  const [sp, err] = useLoad(() => node.accountSponsorships(me.address), [me.address, refresh]);
  const [list] = useLoad(() => assets(), []);
  if (err) return <Err text={err} />;
  if (!sp || !list) return <Loading what="fee sponsorships" />;
  return (
    <div data-testid="sponsorships">
    <Table
      head={['Sponsor', 'Pays for', 'Budget / period', 'Left now', 'Refills']}
      rows={sp.sponsorships.map((s) => {
        const a = assetById(list, s.asset);
        return [<Addr a={s.sponsor} />, s.covers === 'account' ? 'all your transactions' : 'your calls to it (all its customers)', `${fmtAmount(s.budget_per_period, a)} / ${s.period_ms / 3_600_000} h`,
          <span data-testid={`sponsor-left-${s.covers}`}>{fmtAmount(s.remaining, a)}</span>, fmtTime(s.refills_at_ms)];
      })}
      empty="No partner sponsors your fees."
    />
    </div>
  );
}

function VerifyNow({ hash }: { hash: string }) {
  const [proof, err] = useLoad(() => node.proof(hash).then((p) => p.proof_hex), [hash]);
  if (err) return <Err text={err} />;
  if (!proof) return <Loading what="the proof" />;
  return <ProofChecks proofHex={proof} expectHash={hash} />;
}

function Balances({ me, refresh }: { me: Keypair; refresh: number }) {
  const [acct, err] = useLoad(() => node.account(me.address), [me.address, refresh]);
  const [list] = useLoad(() => assets(true), [refresh]);
  if (err) return <Err text={err} />;
  if (!acct || !list) return <Loading what="balances" />;
  return (
    <Table
      head={['Asset', 'Kind', 'Balance']}
      rows={acct.balances.map((b) => {
        const a = assetById(list, b.asset);
        return [<a href={`#/asset/${b.asset}`}>{b.symbol}</a>, a?.kind ?? '', <span data-testid={`balance-${b.symbol}`}>{fmtAmount(b.amount, a)}</span>];
      })}
      empty="No balances yet: receive a payment or import a funded key."
    />
  );
}

function Home({ me }: { me: Keypair }) {
  const [events, setEvents] = useState<string[]>([]);
  const [n, setN] = useState(0);
  const [fees] = useLoad(() => node.fees(me.address), [me.address, n]);
  const [list] = useLoad(() => assets(), []);
  useEffect(() => {
    const stop = new AbortController();
    (async () => {
      const s = await node.status();
      for await (const ev of node.events({ account: me.address, lastEventId: `${s.height}-18446744073709551615`, signal: stop.signal })) {
        if (!ev.event) continue;
        const l = await assets(ev.kind === 'asset_created');
        setEvents((old) => [`${ev.height}: ${describe(ev.event as Record<string, Record<string, unknown>>, l)}`, ...old].slice(0, 50));
        setN((x) => x + 1);
      }
    })().catch(() => undefined);
    return () => stop.abort();
  }, [me.address]);
  return (
    <>
      <h2>Balances</h2>
      <Balances me={me} refresh={n} />
      <p><a href={`#/account/${me.address}`}>History in the explorer</a></p>
      <h2>Fees</h2>
      {fees?.account && list && (
        <p>
          Your fee now: {fmtAmount(fees.account.fee, assetById(list, fees.fee_asset))} (tier {fees.account.tier ?? 'none'}, {fees.account.volume} recent txs).
        </p>
      )}
      <h3>Fee sponsorships</h3>
      <p class="muted">Partners that pay fees for you: for all your transactions, or (all-customers offers) for your calls to them, such as paying them. Each action's dry run tries them and says who would pay.</p>
      <Sponsors me={me} refresh={n} />
      <h2>Arriving <span class="live">live</span></h2>
      <ul class="events" data-testid="wallet-events">{events.map((e) => <li>{e}</li>)}</ul>
      {events.length === 0 && <p class="muted">Payments, cashback and stamps naming you appear here as their blocks become final.</p>}
    </>
  );
}

function AssetSelect({ value, onChange, filter }: { value: number; onChange: (id: number) => void; filter?: (a: AssetInfo) => boolean }) {
  const [list] = useLoad(() => assets(true), []);
  return (
    <select aria-label="Asset" value={value} onChange={(e) => onChange(Number((e.target as HTMLSelectElement).value))}>
      {(list ?? []).filter(filter ?? (() => true)).map((a) => <option value={a.id}>{a.symbol} ({a.kind})</option>)}
    </select>
  );
}

async function unitsOf(assetId: number, text: string): Promise<bigint> {
  const a = assetById(await assets(), assetId);
  if (!a) throw new Error(`unknown asset ${assetId}`);
  return parseUnits(text, a.decimals);
}

function Send({ me }: { me: Keypair }) {
  const [to, setTo] = useState('');
  const [asset, setAsset] = useState(0);
  const [amount, setAmount] = useState('');
  const [asPayment, setAsPayment] = useState(false);
  return (
    <>
      <h2>Send</h2>
      <label>To <input name="to" value={to} placeholder="jeon1…" onInput={(e) => setTo((e.target as HTMLInputElement).value.trim())} /></label>
      <label>Amount <input name="amount" inputMode="decimal" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} /></label>
      <AssetSelect value={asset} onChange={setAsset} />
      <label><input type="checkbox" checked={asPayment} onChange={(e) => setAsPayment((e.target as HTMLInputElement).checked)} /> a payment to a merchant (tax withheld, cashback applies)</label>
      <Action
        me={me}
        label="Send"
        build={async () => {
          const units = await unitsOf(asset, amount);
          return asPayment ? calls.pay({ merchant: to, asset, amount: units }) : calls.transfer({ to, asset, amount: units });
        }}
      />
    </>
  );
}

/** A link's public memo (bytes or text) as `, "text"`, or nothing. */
function memoText(memo: unknown): string {
  if (memo === null || memo === undefined) return '';
  const text = memo instanceof Uint8Array ? new TextDecoder().decode(memo) : String(memo);
  return text ? `, "${text}"` : '';
}

function PayLink({ me, initial }: { me: Keypair; initial: string }) {
  const [link, setLink] = useState(initial);
  const [scanning, setScanning] = useState(false);
  let fields: string;
  try {
    const read = parseAnyLink(link.trim());
    fields = read.form === 'readable'
      ? `Pay ${read.link.amount} ${read.link.asset} to ${short(read.link.merchant, 10)} (invoice ${read.link.invoiceId}${memoText(read.link.memo)}, expires at block ${read.link.expiresAt})`
      : `Pay ${read.invoice.amount} units of asset ${read.invoice.asset} (invoice ${read.invoice.invoice_id})`;
  } catch (e) {
    fields = link.trim() ? errText(e) : '';
  }
  return (
    <>
      <h2>Pay a link</h2>
      <textarea rows={3} aria-label="Payment link" placeholder="jeon:pay?to=…&amount=…&asset=KRW…" value={link} onInput={(e) => setLink((e.target as HTMLTextAreaElement).value)} />
      <p><button onClick={() => setScanning(!scanning)}>{scanning ? 'Stop the camera' : 'Scan a QR code'}</button></p>
      {scanning && <Scanner onText={(t) => (setLink(t), setScanning(false))} />}
      {fields && <p data-testid="link-fields">{fields}</p>}
      <Action
        me={me}
        label="Pay"
        build={async () => {
          const { invoice, signature } = await node.resolveLink(link.trim());
          return calls.payInvoice({ invoice, signature });
        }}
      />
    </>
  );
}

/** The camera, read for a QR code: the browser's BarcodeDetector if it has one, else jsQR. */
function Scanner({ onText }: { onText: (t: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer = 0;
    let stopped = false;
    (async () => {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      const v = video.current!;
      v.srcObject = stream;
      await v.play();
      const Detector = (window as unknown as { BarcodeDetector?: new (o: unknown) => { detect(s: unknown): Promise<{ rawValue: string }[]> } }).BarcodeDetector;
      const detector = Detector ? new Detector({ formats: ['qr_code'] }) : null;
      const { default: jsQR } = (await import(/* the separate bundle of src/qr.ts */ '/qr.js')) as typeof import('../qr.ts');
      const canvas = document.createElement('canvas');
      const tick = async () => {
        if (stopped) return;
        if (v.videoWidth > 0) {
          if (detector) {
            const found = await detector.detect(v);
            if (found[0]) return onText(found[0].rawValue);
          } else {
            canvas.width = v.videoWidth;
            canvas.height = v.videoHeight;
            const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
            ctx.drawImage(v, 0, 0);
            const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
            const code = jsQR(img.data, img.width, img.height);
            if (code) return onText(code.data);
          }
        }
        timer = window.setTimeout(tick, 200);
      };
      void tick();
    })().catch((e) => setErr(`the camera cannot be used: ${errText(e)}`));
    return () => {
      stopped = true;
      clearTimeout(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, []);
  return (
    <>
      <video ref={video} class="scanner" muted playsInline />
      <Err text={err} />
    </>
  );
}

interface Redemption { id: number; asset: number; issuer: string; user: string; amount: number; requested_height: number; deadline: number }

function Redeem({ me }: { me: Keypair }) {
  const [asset, setAsset] = useState(-1);
  const [amount, setAmount] = useState('');
  const [list] = useLoad(() => assets(true), []);
  const [followId, setFollowId] = useState<number | null>(null);
  const credits = (list ?? []).filter((a) => a.kind === 'credit');
  const chosen = asset >= 0 ? asset : credits[0]?.id ?? -1;
  const issuer = list && assetById(list, chosen)?.issuer;
  return (
    <>
      <h2>Redeem credits</h2>
      {credits.length === 0 ? (
        <p class="muted">No credit asset exists yet.</p>
      ) : (
        <>
          <AssetSelect value={chosen} onChange={setAsset} filter={(a) => a.kind === 'credit'} />
          <label>Amount <input name="redeem-amount" inputMode="decimal" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} /></label>
          <p class="muted">For goods at the issuer {issuer ? <Addr a={issuer} /> : ''}: the credits are held in escrow until the issuer settles (burns them) or rejects (refunds); unsettled, they come back at the deadline.</p>
          <Action
            me={me}
            label="Redeem"
            build={async () => calls.redeem({ asset: chosen, amount: await unitsOf(chosen, amount), goodsAt: issuer! })}
            onFinal={(s) => {
              const ev = (s.receipt?.events as Record<string, Record<string, unknown>>[] | undefined)?.find((e) => e.redemption_requested);
              if (ev) setFollowId(Number(ev.redemption_requested!.id));
            }}
          />
        </>
      )}
      {followId !== null && issuer && <Escrow id={followId} me={me.address} issuer={issuer} />}
    </>
  );
}

/** Follows one redemption: pending (with its deadline) until settled, rejected or expired. */
function Escrow({ id, me, issuer }: { id: number; me: string; issuer: string }) {
  const [state, setState] = useState<string>('pending');
  const [pending, setPending] = useState<Redemption | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    node.get<{ redemptions: Redemption[] }>(`/v1/redemptions?issuer=${issuer}&limit=1000`).then((r) => setPending(r.redemptions.find((x) => x.id === id) ?? null), () => undefined);
    (async () => {
      const s = await node.status();
      for await (const ev of node.events({ account: me, lastEventId: `${Math.max(0, s.height - 5)}-0`, signal: stop.signal })) {
        const e = ev.event as Record<string, { id?: number }> | undefined;
        if (!e) continue;
        for (const kind of ['redemption_settled', 'redemption_rejected', 'redemption_expired']) {
          if (e[kind]?.id === id) {
            setState(kind.replace('redemption_', ''));
            stop.abort();
          }
        }
      }
    })().catch(() => undefined);
    return () => stop.abort();
  }, [id]);
  return (
    <p data-testid="escrow" data-state={state}>
      Redemption {id}: <strong>{state}</strong>
      {state === 'pending' && pending ? ` (held; refunded at block ${pending.deadline} unless the issuer settles or rejects first)` : ''}
    </p>
  );
}

interface Mandate { mandate: { id: number; spender: string; asset: number; limit_per_period: number; expires_at: number }; active: boolean; remaining: number }

function Mandates({ me }: { me: Keypair }) {
  const [n, setN] = useState(0);
  const [data, err] = useLoad(() => node.get<{ mandates: Mandate[] }>(`/v1/accounts/${me.address}/mandates`), [me.address, n]);
  const [list] = useLoad(() => assets(), []);
  const [revoking, setRevoking] = useState<number | null>(null);
  if (err) return <Err text={err} />;
  if (!data || !list) return <Loading what="mandates" />;
  return (
    <>
      <h2>Mandates</h2>
      <p class="muted">Spenders you allowed to charge you within a limit per period (subscriptions, lessons); revoke any at any time.</p>
      <Table
        head={['Id', 'Spender', 'Limit / period', 'Left now', 'Expires', 'Active', '']}
        rows={data.mandates.map((m) => {
          const a = assetById(list, m.mandate.asset);
          return [m.mandate.id, <Addr a={m.mandate.spender} />, fmtAmount(m.mandate.limit_per_period, a), fmtAmount(m.remaining, a), `block ${m.mandate.expires_at}`, m.active ? 'yes' : 'no',
            m.active ? <button class="small" onClick={() => setRevoking(m.mandate.id)}>Revoke…</button> : ''];
        })}
        empty="No mandates."
      />
      {revoking !== null && (
        <Action me={me} label={`Revoke mandate ${revoking}`} build={async () => calls.fromJson({ revoke_mandate: { mandate_id: revoking } })} onFinal={() => setN((x) => x + 1)} />
      )}
    </>
  );
}
