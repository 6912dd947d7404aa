/** A call in one line, as `Call::summary` writes it (shown by proofs and `jeon verify`). */

import { encodeAddress } from './address.js';
import type { Call } from './tx.js';

type F = Record<string, unknown>;
const a = (v: unknown): string => encodeAddress(v as Uint8Array);

const LINES: Record<string, (f: F) => string> = {
  transfer: (f) => `transfer ${f.amount} units of asset ${f.asset} to ${a(f.to)}`,
  create_asset: (f) => {
    const kind = f.kind === 'money' ? 'Money' : 'Credit';
    return `create asset ${f.symbol} (${kind}, ${f.decimals} decimals)`;
  },
  mint: (f) => `mint ${f.amount} units of asset ${f.asset} to ${a(f.to)}`,
  burn: (f) => `burn ${f.amount} units of asset ${f.asset}`,
  pay: (f) => `pay ${f.amount} units of asset ${f.asset} to merchant ${a(f.merchant)}`,
  add_reward_rule: (f) => `add a reward rule at ${(f.merchants as unknown[]).length} merchants`,
  remove_reward_rule: (f) => `remove reward rule ${f.id}`,
  set_stamp_reward: (f) => `set the reward of stamp asset ${f.stamp_asset}`,
  redeem_stamps: (f) => `redeem ${f.count} stamps of asset ${f.stamp_asset}`,
  redeem: (f) => `redeem ${f.amount} units of asset ${f.asset}`,
  settle_redemption: (f) => `settle redemption ${f.id}`,
  reject_redemption: (f) => `reject redemption ${f.id}`,
  propose_exchange: (f) => `propose exchanging asset ${f.from_asset} into asset ${f.to_asset}`,
  accept_exchange: (f) => `accept exchange agreement ${f.id}`,
  revoke_exchange: (f) => `revoke exchange agreement ${f.id}`,
  convert: (f) => `convert ${f.amount} units of asset ${f.from_asset} into asset ${f.to_asset}`,
  grant_mandate: (f) =>
    `let ${a(f.spender)} charge up to ${f.limit_per_period} units of asset ${f.asset} per ${f.period_ms} ms`,
  charge: (f) => `charge ${f.amount} units under mandate ${f.mandate_id}`,
  revoke_mandate: (f) => `revoke mandate ${f.mandate_id}`,
  pay_invoice: (f) => {
    const i = f.invoice as F;
    return `pay invoice ${i.invoice_id} of ${i.amount} units of asset ${i.asset} to ${a(i.merchant)}`;
  },
  open_credit_line: (f) =>
    `open a credit line of ${f.limit} units of asset ${f.asset} for ${a(f.borrower)}, due in ${f.due_period_blocks} blocks`,
  draw_credit: (f) => `draw ${f.amount} units on credit line ${f.line_id}`,
  repay: (f) => `repay ${f.amount} units on credit line ${f.line_id}`,
  mark_default: (f) => `mark credit line ${f.line_id} in default`,
  sponsor_fees: (f) => {
    const b = f.beneficiary;
    const whose = b === 'all_customers' ? 'all customers' : a((b as { account: Uint8Array }).account);
    if (f.budget_per_period === 0n) return `stop sponsoring the fees of ${whose}`;
    return `sponsor the fees of ${whose} up to ${f.budget_per_period} units of asset ${f.asset} per ${f.period_ms} ms`;
  },
  propose: (f) =>
    `propose ${changeSummary(f.change)} (votes until height ${f.deadline}, effective from height ${f.activation})`,
  vote: (f) => `vote ${f.yes ? 'yes' : 'no'} on proposal ${f.proposal}`,
  create_product: (f) => `create product "${f.name}" at ${f.price} units of asset ${f.asset}`,
  buy: (f) => `buy product ${f.product}`,
  transfer_entitlement: (f) =>
    f.price === 0n
      ? `give entitlement ${f.entitlement} to ${a(f.to)}`
      : `offer entitlement ${f.entitlement} to ${a(f.to)} for ${f.price} units`,
  accept_entitlement: (f) => `buy entitlement ${f.entitlement} for ${f.price} units`,
  revoke_entitlement: (f) => `revoke entitlement ${f.entitlement} refunding ${f.refund} units`,
  subscribe: (f) => `subscribe to product ${f.product} through mandate ${f.mandate_id}`,
  renew: (f) => `renew the subscription of entitlement ${f.entitlement}`,
  open_meter: (f) =>
    `open a metered session with ${a(f.merchant)} at ${f.unit_price} units of asset ${f.asset} per unit, budget ${f.budget}`,
  claim_meter: (f) =>
    `claim ${f.units} units of metered session ${f.session}${f.close ? ' and close it' : ''}`,
  close_meter: (f) => `close metered session ${f.session}`,
  attest: (f) => `attest ${claimText(f.claim)} of ${a(f.subject)} until ${f.expires_at_ms} ms`,
  revoke_attestation: (f) => `revoke attestation ${f.id}`,
  require_claim: (f) =>
    f.claim === null || f.claim === undefined
      ? `require no claim to buy product ${f.product}`
      : `require ${claimText(f.claim)} to buy product ${f.product}`,
  register_node: (f) => `register read node ${a(f.key)}`,
  unregister_node: (f) => `unregister read node ${a(f.key)}`,
  open_carrier_line: (f) =>
    `open a carrier line for ${a(f.user)} capped at ${f.cap} units of asset ${f.asset} per ${
      BigInt(f.period_ms as number | bigint) === 0n ? 'calendar month (UTC)' : `${f.period_ms} ms`
    }`,
  charge_line: (f) => {
    const p = f.purchase as Record<string, F>;
    if (p.pay) {
      return `charge a payment of ${p.pay.amount} units to merchant ${a(p.pay.merchant)} to carrier line ${f.line}`;
    }
    return `charge product ${p.buy?.product} to carrier line ${f.line}`;
  },
  settle_statement: (f) =>
    `settle carrier line ${f.line} period ${f.period} as ${f.how === 'collected' ? 'collected' : 'paid by the user'}`,
  suspend_line: (f) => `suspend carrier line ${f.line} for unpaid period ${f.period}`,
  resume_line: (f) => `resume carrier line ${f.line}`,
  set_claim_policy: (f) =>
    f.claim === null || f.claim === undefined
      ? `require no claim for ${scopeText(f.scope)}`
      : `require ${claimText(f.claim)} for ${scopeText(f.scope)} above ${f.above}`,
  report_equivocation: (f) => {
    const [kind, m] = Object.entries(f.a as Record<string, F>)[0] ?? ['', {}];
    const body = m.body as F;
    const what = kind === 'proposal' ? 'proposal' : String(body.kind);
    return `report ${a(f.validator)} signing two ${what}s at height ${body.height} round ${body.round}`;
  },
};

/** `goods::policy::ClaimScope`'s `Display`. */
function scopeText(scope: unknown): string {
  if (scope === 'credit_lines') return 'credit lines';
  if (scope === 'carrier_lines') return 'carrier lines';
  const r = (scope as Record<string, F>).redemptions;
  if (r) return `redemptions of asset ${r.asset}`;
  throw new TypeError(`unknown claim scope ${String(scope)}`);
}

/** `identity::Claim`'s `Display`: `age over 19`, `residency KR`, `KYC level 2`. */
function claimText(claim: unknown): string {
  const [name, v] = Object.entries(claim as Record<string, unknown>)[0] ?? [];
  const f = v as F;
  switch (name) {
    case 'age_over':
      return `age over ${f.years}`;
    case 'residency':
      return `residency ${f.jurisdiction}`;
    case 'kyc_level':
      return `KYC level ${f.level}`;
    default:
      throw new TypeError(`unknown claim ${String(name)}`);
  }
}

/** Rust's `{:?}` of a role list: `[Validator, Issuer]`. */
const roles = (v: unknown): string =>
  `[${(v as string[]).map((r) => r.charAt(0).toUpperCase() + r.slice(1)).join(', ')}]`;

/** `governance::Change::summary`. */
function changeSummary(change: unknown): string {
  if (change === null || typeof change !== 'object') throw new TypeError('a change is an object with one key');
  const [name, v] = Object.entries(change as Record<string, unknown>)[0] ?? [];
  const f = v as F;
  switch (name) {
    case 'add_validator':
      return `adding validator ${f.name} (${a(f.key)}) with power ${f.power}`;
    case 'remove_validator':
      return `removing validator ${a(f.key)}`;
    case 'set_validator_power':
      return `setting the power of validator ${a(f.key)} to ${f.power}`;
    case 'add_partner':
      return `adding partner ${f.name} (${a(f.account)})`;
    case 'remove_partner':
      return `removing partner ${a(f.account)}`;
    case 'set_partner_roles':
      return `setting the roles of partner ${a(f.account)} to ${roles(f.roles)}`;
    case 'set_jurisdiction':
      return `setting jurisdiction ${f.code} to ${f.tax_bps} bps, authority ${a(f.authority)}`;
    case 'set_fee_market':
      return v === null
        ? 'removing the fee market'
        : `setting the fee market (base fee ${f.base_fee_min} to ${f.base_fee_max}, ${(f.tiers as unknown[]).length} tiers)`;
    case 'set_volume_tiers':
      return `setting ${(v as unknown[]).length} volume tiers`;
    case 'set_redemption_window':
      return `setting the redemption window to ${f.blocks} blocks`;
    case 'set_carrier_line_cap_max':
      return `setting the carrier line cap maximum to ${f.amount} units`;
    default:
      throw new TypeError(`unknown change ${String(name)}`);
  }
}

/** The one-line summary of a call, amounts in the asset's smallest unit. */
export function summarize(call: Call): string {
  const [name, fields] = Object.entries(call)[0] ?? [];
  const line = name === undefined ? undefined : LINES[name];
  if (!line) throw new TypeError(`unknown call ${String(name)}`);
  return line(fields as F);
}
