/**
 * Schemas of the chain's wire types, one per Rust declaration, fields and variants in
 * declaration order (the order is the encoding: docs/encoding.md §3–§5, the `calls!`
 * and `events!` lists of `runtime/src/dispatch.rs`, `CallError` in `model.rs`,
 * `TxError` in `tx.rs`). Variants are only ever appended on the Rust side; append here
 * in the same order.
 */

import type { Schema } from './codec.js';

type Fields = readonly (readonly [string, Schema])[];
const struct = (...fields: Fields): Schema => ({ struct: fields });
const en = (...variants: readonly (readonly [string, Schema | null])[]): Schema => ({ enum: variants });
const opt = (s: Schema): Schema => ({ option: s });
const vec = (s: Schema): Schema => ({ vec: s });

const A = 'address' as const;
const ASSET = 'u32' as const;
const AMT = 'u64' as const;

export const AssetKind = en(['money', null], ['credit', null]);
export const Role = en(['validator', null], ['issuer', null], ['merchant', null], ['lender', null], ['attester', null], ['carrier', null]);

/** An identity claim (runtime/src/identity.rs). */
export const Claim = en(
  ['age_over', struct(['years', 'u8'])],
  ['residency', struct(['jurisdiction', 'string'])],
  ['kyc_level', struct(['level', 'u8'])],
);
export const RewardKind = en(
  ['cashback', struct(['rate_bps', 'u16'], ['asset', ASSET])],
  ['stamps', struct(['per_payment', AMT], ['asset', ASSET])],
);
export const RedeemKind = en(['goods', struct(['merchant', A])], ['cash_out', struct(['destination', A])]);
export const SkipReason = en(
  ['cap_reached', struct(['cap', AMT])],
  ['supply_max_reached', struct(['supply_max', AMT])],
  ['supply_overflow', null],
);
/** `goods::carrier::LineCashback`. */
export const LineCashback = struct(['asset', ASSET], ['bps', 'u16']);
/** `goods::carrier::LinePurchase`. */
export const LinePurchase = en(
  ['pay', struct(['merchant', A], ['amount', AMT], ['reference', 'string'])],
  ['buy', struct(['product', 'u64'])],
);
/** `goods::carrier::Settlement`. */
export const Settlement = en(['collected', null], ['paid_by_user', null]);
/** `goods::policy::ClaimScope`. */
export const ClaimScope = en(['credit_lines', null], ['carrier_lines', null], ['redemptions', struct(['asset', ASSET])]);
export const LineStatus = en(['open', null], ['repaid', null], ['defaulted', null]);
export const Beneficiary = en(['account', A], ['all_customers', null]);

/** `goods::ProductKind`. */
export const ProductKind = en(
  ['item', struct(['supply_max', opt('u64')])],
  ['pass', struct(['duration_ms', 'u64'])],
  ['bundle', struct(['products', vec('u64')])],
  ['subscription', struct(['period_ms', 'u64'])],
);

export const VoteBody = struct(
  ['chain_id', 'hash'],
  ['height', 'u64'],
  ['round', 'u32'],
  ['kind', en(['prevote', null], ['precommit', null])],
  ['block', opt('hash')],
);
/** `block::ProposalBody`: what a proposer signs. */
export const ProposalBody = struct(
  ['chain_id', 'hash'],
  ['height', 'u64'],
  ['round', 'u32'],
  ['block', 'hash'],
  ['valid_round', opt('u32')],
);
/** `governance::SignedMessage`: one signed consensus message (equivocation evidence). */
export const SignedMessage = en(
  ['proposal', struct(['body', ProposalBody], ['signature', 'signature'])],
  ['vote', struct(['body', VoteBody], ['signature', 'signature'])],
);

export const Invoice = struct(
  ['merchant', A],
  ['asset', ASSET],
  ['amount', AMT],
  ['expires_at', 'u64'],
  ['invoice_id', 'u64'],
  ['memo', opt('bytes')],
);

/** `FeeTier` (economy/fees.rs). */
export const FeeTier = struct(['min_txs', 'u64'], ['fee_bps', 'u16']);
/** `FeeMarket` (economy/fees.rs). */
export const FeeMarket = struct(
  ['base_fee_min', AMT],
  ['base_fee_max', AMT],
  ['target_txs_per_block', 'u32'],
  ['change_denominator', 'u32'],
  ['volume_window_blocks', 'u64'],
  ['tiers', vec(FeeTier)],
);
/** `Jurisdiction` (economy/mod.rs). */
export const Jurisdiction = struct(['code', 'string'], ['tax_bps', 'u16'], ['authority', A]);
/** A governance `Change` (runtime/src/governance/change.rs), tags 0–10. */
export const Change = en(
  ['add_validator', struct(['name', 'string'], ['key', A], ['peer_id', 'string'], ['power', 'u64'])],
  ['remove_validator', struct(['key', A])],
  ['set_validator_power', struct(['key', A], ['power', 'u64'])],
  ['add_partner', struct(['name', 'string'], ['account', A], ['roles', vec(Role)], ['jurisdiction', 'string'])],
  ['remove_partner', struct(['account', A])],
  ['set_partner_roles', struct(['account', A], ['roles', vec(Role)])],
  ['set_jurisdiction', Jurisdiction],
  ['set_fee_market', opt(FeeMarket)],
  ['set_volume_tiers', vec(FeeTier)],
  ['set_redemption_window', struct(['blocks', 'u64'])],
  ['set_carrier_line_cap_max', struct(['amount', AMT])],
);
/** A validator of the set governance keeps. */
export const Validator = struct(['name', 'string'], ['key', A], ['peer_id', 'string'], ['power', 'u64']);

/** `Call`, tags 0–48. */
export const Call = en(
  ['transfer', struct(['to', A], ['asset', ASSET], ['amount', AMT])],
  ['create_asset', struct(['symbol', 'string'], ['decimals', 'u8'], ['kind', AssetKind], ['supply_max', opt(AMT)])],
  ['mint', struct(['asset', ASSET], ['to', A], ['amount', AMT])],
  ['burn', struct(['asset', ASSET], ['amount', AMT])],
  ['pay', struct(['merchant', A], ['asset', ASSET], ['amount', AMT], ['reference', 'string'])],
  [
    'add_reward_rule',
    struct(
      ['merchants', vec(A)],
      ['pay_asset', ASSET],
      ['kind', RewardKind],
      ['cap_per_user_per_period', AMT],
      ['period_ms', 'u64'],
    ),
  ],
  ['remove_reward_rule', struct(['id', 'u64'])],
  ['set_stamp_reward', struct(['stamp_asset', ASSET], ['stamps', AMT], ['reward_asset', ASSET], ['reward_amount', AMT])],
  ['redeem_stamps', struct(['stamp_asset', ASSET], ['count', AMT])],
  ['redeem', struct(['asset', ASSET], ['amount', AMT], ['kind', RedeemKind])],
  ['settle_redemption', struct(['id', 'u64'], ['payout_reference', 'string'])],
  ['reject_redemption', struct(['id', 'u64'], ['reason', 'string'])],
  [
    'propose_exchange',
    struct(
      ['from_asset', ASSET],
      ['to_asset', ASSET],
      ['rate_num', 'u64'],
      ['rate_den', 'u64'],
      ['spread_bps', 'u16'],
      ['daily_cap', AMT],
      ['settlement_asset', ASSET],
      ['settlement_price', AMT],
    ),
  ],
  ['accept_exchange', struct(['id', 'u64'])],
  ['revoke_exchange', struct(['id', 'u64'])],
  ['convert', struct(['from_asset', ASSET], ['amount', AMT], ['to_asset', ASSET], ['min_out', AMT])],
  [
    'grant_mandate',
    struct(['spender', A], ['asset', ASSET], ['limit_per_period', AMT], ['period_ms', 'u64'], ['expires_at', 'u64']),
  ],
  ['charge', struct(['mandate_id', 'u64'], ['amount', AMT], ['reference', 'string'])],
  ['revoke_mandate', struct(['mandate_id', 'u64'])],
  ['pay_invoice', struct(['invoice', Invoice], ['signature', 'signature'])],
  ['open_credit_line', struct(['borrower', A], ['asset', ASSET], ['limit', AMT], ['due_period_blocks', 'u64'])],
  ['draw_credit', struct(['line_id', 'u64'], ['amount', AMT])],
  ['repay', struct(['line_id', 'u64'], ['amount', AMT])],
  ['mark_default', struct(['line_id', 'u64'])],
  ['sponsor_fees', struct(['beneficiary', Beneficiary], ['asset', ASSET], ['budget_per_period', AMT], ['period_ms', 'u64'])],
  ['propose', struct(['change', Change], ['deadline', 'u64'], ['activation', 'u64'])],
  ['vote', struct(['proposal', 'u64'], ['yes', 'bool'])],
  [
    'create_product',
    struct(['name', 'string'], ['kind', ProductKind], ['asset', ASSET], ['price', AMT], ['royalty_bps', opt('u16')]),
  ],
  ['buy', struct(['product', 'u64'])],
  ['transfer_entitlement', struct(['entitlement', 'u64'], ['to', A], ['price', AMT])],
  ['accept_entitlement', struct(['entitlement', 'u64'], ['price', AMT])],
  ['revoke_entitlement', struct(['entitlement', 'u64'], ['refund', AMT])],
  ['subscribe', struct(['product', 'u64'], ['mandate_id', 'u64'])],
  ['renew', struct(['entitlement', 'u64'])],
  [
    'open_meter',
    struct(['merchant', A], ['asset', ASSET], ['unit_price', AMT], ['budget', AMT], ['duration_ms', 'u64']),
  ],
  ['claim_meter', struct(['session', 'u64'], ['units', 'u64'], ['signature', 'signature'], ['close', 'bool'])],
  ['close_meter', struct(['session', 'u64'])],
  ['attest', struct(['subject', A], ['claim', Claim], ['expires_at_ms', 'u64'], ['commitment', 'hash'])],
  ['revoke_attestation', struct(['id', 'u64'])],
  ['require_claim', struct(['product', 'u64'], ['claim', opt(Claim)])],
  ['register_node', struct(['key', A])],
  ['unregister_node', struct(['key', A])],
  [
    'open_carrier_line',
    struct(['user', A], ['asset', ASSET], ['cap', AMT], ['period_ms', 'u64'], ['cashback', opt(LineCashback)]),
  ],
  ['charge_line', struct(['line', 'u64'], ['purchase', LinePurchase])],
  ['settle_statement', struct(['line', 'u64'], ['period', 'u64'], ['how', Settlement])],
  ['suspend_line', struct(['line', 'u64'], ['period', 'u64'])],
  ['resume_line', struct(['line', 'u64'])],
  ['set_claim_policy', struct(['scope', ClaimScope], ['claim', opt(Claim)], ['above', AMT])],
  ['report_equivocation', struct(['validator', A], ['a', SignedMessage], ['b', SignedMessage])],
);

export const TxBody = struct(
  ['chain_id', 'hash'],
  ['sender', A],
  ['nonce', 'u64'],
  ['fee_limit', AMT],
  ['expiry', 'u64'],
  ['call', Call],
  ['fee_payer', opt(A)],
);

export const SignedTx = struct(['body', TxBody], ['signature', 'signature'], ['payer_signature', opt('signature')]);

/** `CallError`, tags 0–132. */
export const CallError = en(
  ['unknown_asset', struct(['asset', ASSET])],
  ['insufficient_balance', struct(['asset', ASSET], ['needed', AMT], ['available', AMT])],
  ['zero_amount', null],
  ['missing_role', struct(['role', Role])],
  ['not_issuer', struct(['asset', ASSET], ['issuer', A])],
  ['invalid_symbol', struct(['symbol', 'string'])],
  ['duplicate_symbol', struct(['symbol', 'string'], ['asset', ASSET])],
  ['too_many_decimals', struct(['decimals', 'u8'])],
  ['supply_overflow', struct(['asset', ASSET], ['amount', AMT])],
  ['asset_ids_exhausted', null],
  ['reserved_account', struct(['account', A])],
  ['zero_supply_max', null],
  ['supply_max_exceeded', struct(['asset', ASSET], ['supply_max', AMT], ['supply', AMT], ['amount', AMT])],
  ['text_too_long', struct(['len', 'u64'], ['max', 'u64'])],
  ['not_money', struct(['asset', ASSET])],
  ['not_a_credit', struct(['asset', ASSET])],
  ['not_a_merchant', struct(['account', A])],
  ['self_payment', null],
  ['unknown_jurisdiction', struct(['jurisdiction', 'string'])],
  ['rate_too_high', struct(['bps', 'u16'], ['max', 'u16'])],
  ['zero_period', null],
  ['no_merchants', null],
  ['too_many_merchants', struct(['count', 'u64'], ['max', 'u64'])],
  ['duplicate_merchant', struct(['merchant', A])],
  ['too_many_rules', struct(['merchant', A], ['max', 'u64'])],
  ['unknown_rule', struct(['rule', 'u64'])],
  ['not_rule_issuer', struct(['rule', 'u64'], ['issuer', A])],
  ['same_asset', null],
  ['no_stamp_reward', struct(['asset', ASSET])],
  ['not_a_multiple', struct(['count', AMT], ['stamps', AMT])],
  ['unknown_redemption', struct(['id', 'u64'])],
  ['redemption_past_deadline', struct(['id', 'u64'], ['deadline', 'u64'])],
  ['same_issuer', null],
  ['invalid_rate', struct(['num', 'u64'], ['den', 'u64'])],
  ['not_a_party', null],
  ['not_counterparty', struct(['id', 'u64'], ['counterparty', A])],
  ['already_active', struct(['id', 'u64'])],
  ['pair_taken', struct(['from_asset', ASSET], ['to_asset', ASSET], ['id', 'u64'])],
  ['unknown_exchange', struct(['id', 'u64'])],
  ['no_agreement', struct(['from_asset', ASSET], ['to_asset', ASSET])],
  ['conversion_overflow', null],
  ['nothing_to_receive', null],
  ['below_min_out', struct(['out', AMT], ['min_out', AMT])],
  ['daily_cap_exceeded', struct(['agreement', 'u64'], ['cap', AMT], ['used', AMT], ['amount', AMT])],
  ['insufficient_liquidity', struct(['issuer', A], ['asset', ASSET], ['needed', AMT], ['available', AMT])],
  ['ids_exhausted', null],
  ['self_mandate', null],
  ['unknown_mandate', struct(['id', 'u64'])],
  ['not_mandate_spender', struct(['id', 'u64'], ['spender', A])],
  ['not_mandate_user', struct(['id', 'u64'], ['user', A])],
  ['mandate_revoked', struct(['id', 'u64'], ['revoked_at', 'u64'])],
  ['mandate_expired', struct(['id', 'u64'], ['expires_at', 'u64'], ['height', 'u64'])],
  ['mandate_limit_exceeded', struct(['id', 'u64'], ['limit', AMT], ['used', AMT], ['amount', AMT])],
  ['bad_invoice_signature', struct(['merchant', A], ['invoice_id', 'u64'])],
  ['invoice_expired', struct(['invoice_id', 'u64'], ['expires_at', 'u64'], ['height', 'u64'])],
  ['invoice_already_paid', struct(['merchant', A], ['invoice_id', 'u64'], ['paid_at', 'u64'])],
  ['not_a_lender', struct(['account', A])],
  ['self_credit', null],
  [
    'credit_above_score',
    struct(['borrower', A], ['score', 'u64'], ['allowed', AMT], ['committed', AMT], ['limit', AMT]),
  ],
  ['unknown_credit_line', struct(['id', 'u64'])],
  ['credit_line_closed', struct(['id', 'u64'], ['status', LineStatus])],
  ['not_line_borrower', struct(['id', 'u64'], ['borrower', A])],
  ['not_line_lender', struct(['id', 'u64'], ['lender', A])],
  ['credit_line_due', struct(['id', 'u64'], ['due_height', 'u64'], ['height', 'u64'])],
  ['credit_limit_exceeded', struct(['id', 'u64'], ['limit', AMT], ['outstanding', AMT], ['amount', AMT])],
  ['repay_above_outstanding', struct(['id', 'u64'], ['outstanding', AMT], ['amount', AMT])],
  ['not_in_default', struct(['id', 'u64'], ['due_height', 'u64'], ['outstanding', AMT], ['height', 'u64'])],
  ['not_a_partner', struct(['account', A])],
  ['not_fee_asset', struct(['asset', ASSET], ['fee_asset', ASSET])],
  ['self_sponsorship', null],
  ['unknown_sponsorship', null],
  ['due_period_too_long', struct(['due_period_blocks', 'u64'])],
  ['not_a_validator', struct(['account', A])],
  ['unknown_proposal', struct(['id', 'u64'])],
  ['proposal_not_open', struct(['id', 'u64'], ['status', 'string'])],
  ['already_voted', struct(['id', 'u64'], ['validator', A])],
  ['voting_closed', struct(['id', 'u64'], ['deadline', 'u64'], ['height', 'u64'])],
  ['bad_deadline', struct(['deadline', 'u64'], ['height', 'u64'], ['max_blocks', 'u64'])],
  ['bad_activation', struct(['activation', 'u64'], ['height', 'u64'], ['deadline', 'u64'], ['max_blocks', 'u64'])],
  ['too_many_proposals', struct(['max', 'u32'])],
  ['invalid_change', struct(['reason', 'string'])],
  ['unknown_product', struct(['id', 'u64'])],
  ['invalid_product', struct(['reason', 'string'])],
  ['sold_out', struct(['id', 'u64'], ['supply_max', 'u64'])],
  ['unknown_entitlement', struct(['id', 'u64'])],
  ['not_entitlement_owner', struct(['id', 'u64'], ['owner', A])],
  ['not_product_merchant', struct(['product', 'u64'], ['merchant', A])],
  ['not_transferable', struct(['product', 'u64'])],
  ['entitlement_expired', struct(['id', 'u64'], ['expires_at_ms', 'u64'], ['time_ms', 'u64'])],
  ['refund_too_small', struct(['id', 'u64'], ['paid', AMT], ['refund', AMT])],
  ['no_such_offer', struct(['id', 'u64'], ['buyer', A], ['price', AMT])],
  ['self_transfer', null],
  ['subscription_product', struct(['product', 'u64'])],
  ['not_a_subscription', struct(['product', 'u64'])],
  ['mandate_not_for_product', struct(['mandate', 'u64'], ['product', 'u64'])],
  ['renew_too_early', struct(['id', 'u64'], ['renewable_from_ms', 'u64'], ['time_ms', 'u64'])],
  ['subscription_ended', struct(['id', 'u64'])],
  ['unknown_meter', struct(['id', 'u64'])],
  ['invalid_meter', struct(['reason', 'string'])],
  ['meter_closed', struct(['id', 'u64'])],
  ['not_meter_merchant', struct(['id', 'u64'], ['merchant', A])],
  ['not_meter_party', struct(['id', 'u64'])],
  ['bad_meter_receipt', struct(['id', 'u64'])],
  ['stale_meter_receipt', struct(['id', 'u64'], ['units', 'u64'], ['claimed', 'u64'])],
  ['meter_budget_exceeded', struct(['id', 'u64'], ['units', 'u64'], ['unit_price', AMT], ['budget', AMT])],
  ['meter_not_expired', struct(['id', 'u64'], ['expires_at_ms', 'u64'], ['time_ms', 'u64'])],
  ['not_an_attester', struct(['account', A])],
  ['invalid_claim', struct(['reason', 'string'])],
  ['unknown_attestation', struct(['id', 'u64'])],
  ['not_attestation_attester', struct(['id', 'u64'], ['attester', A])],
  ['attestation_already_revoked', struct(['id', 'u64'])],
  ['too_many_attestations', struct(['subject', A], ['max', 'u32'])],
  ['claim_required', struct(['product', 'u64'], ['account', A], ['claim', Claim])],
  ['invalid_node_key', struct(['key', A])],
  ['node_key_is_validator', struct(['key', A])],
  ['node_already_registered', struct(['key', A], ['partner', A])],
  ['too_many_nodes', struct(['partner', A], ['max', 'u32'])],
  ['unknown_node', struct(['key', A])],
  ['not_node_owner', struct(['key', A], ['partner', A])],
  ['line_cap_above_max', struct(['cap', AMT], ['max', AMT])],
  ['invalid_carrier_line', struct(['reason', 'string'])],
  ['unknown_carrier_line', struct(['line', 'u64'])],
  ['carrier_line_exists', struct(['carrier', A], ['user', A], ['line', 'u64'])],
  ['not_line_user', struct(['line', 'u64'], ['user', A])],
  ['not_line_carrier', struct(['line', 'u64'], ['carrier', A])],
  ['carrier_line_suspended', struct(['line', 'u64'])],
  [
    'line_cap_exceeded',
    struct(['line', 'u64'], ['period', 'u64'], ['cap', AMT], ['charged', AMT], ['amount', AMT]),
  ],
  ['line_period_not_over', struct(['line', 'u64'], ['period', 'u64'], ['ends_at_ms', 'u64'])],
  ['nothing_unpaid', struct(['line', 'u64'], ['period', 'u64'])],
  ['carrier_line_not_suspended', struct(['line', 'u64'])],
  ['policy_claim_required', struct(['scope', ClaimScope], ['account', A], ['claim', Claim])],
  ['invalid_evidence', struct(['reason', 'string'])],
  ['evidence_already_reported', struct(['validator', A], ['height', 'u64'])],
);

/** `Event`, tags 0–59. */
export const Event = en(
  ['fee_charged', struct(['payer', A], ['asset', ASSET], ['amount', AMT])],
  ['transferred', struct(['from', A], ['to', A], ['asset', ASSET], ['amount', AMT])],
  ['asset_created', struct(['asset', ASSET], ['issuer', A], ['symbol', 'string'])],
  ['minted', struct(['asset', ASSET], ['to', A], ['amount', AMT])],
  ['burned', struct(['asset', ASSET], ['from', A], ['amount', AMT])],
  [
    'paid',
    struct(['payer', A], ['merchant', A], ['asset', ASSET], ['amount', AMT], ['tax', AMT], ['reference', 'string']),
  ],
  [
    'tax_withheld',
    struct(
      ['payer', A],
      ['merchant', A],
      ['jurisdiction', 'string'],
      ['authority', A],
      ['asset', ASSET],
      ['amount', AMT],
      ['period', 'u64'],
    ),
  ],
  ['reward_rule_added', struct(['rule', 'u64'], ['issuer', A])],
  ['reward_rule_removed', struct(['rule', 'u64'], ['issuer', A])],
  ['reward_granted', struct(['rule', 'u64'], ['issuer', A], ['to', A], ['asset', ASSET], ['amount', AMT])],
  ['reward_skipped', struct(['rule', 'u64'], ['issuer', A], ['to', A], ['asset', ASSET], ['reason', SkipReason])],
  [
    'stamp_reward_set',
    struct(['issuer', A], ['stamp_asset', ASSET], ['stamps', AMT], ['reward_asset', ASSET], ['reward_amount', AMT]),
  ],
  [
    'stamps_redeemed',
    struct(['user', A], ['stamp_asset', ASSET], ['stamps', AMT], ['reward_asset', ASSET], ['reward_amount', AMT]),
  ],
  [
    'redemption_requested',
    struct(
      ['id', 'u64'],
      ['issuer', A],
      ['user', A],
      ['asset', ASSET],
      ['amount', AMT],
      ['kind', RedeemKind],
      ['deadline', 'u64'],
    ),
  ],
  [
    'redemption_settled',
    struct(['id', 'u64'], ['issuer', A], ['user', A], ['asset', ASSET], ['amount', AMT], ['payout_reference', 'string']),
  ],
  [
    'redemption_rejected',
    struct(['id', 'u64'], ['issuer', A], ['user', A], ['asset', ASSET], ['amount', AMT], ['reason', 'string']),
  ],
  ['redemption_expired', struct(['id', 'u64'], ['issuer', A], ['user', A], ['asset', ASSET], ['amount', AMT])],
  [
    'exchange_proposed',
    struct(['id', 'u64'], ['proposer', A], ['counterparty', A], ['from_asset', ASSET], ['to_asset', ASSET]),
  ],
  [
    'exchange_accepted',
    struct(['id', 'u64'], ['from_issuer', A], ['to_issuer', A], ['from_asset', ASSET], ['to_asset', ASSET]),
  ],
  ['exchange_revoked', struct(['id', 'u64'], ['by', A], ['from_issuer', A], ['to_issuer', A])],
  [
    'converted',
    struct(
      ['agreement', 'u64'],
      ['user', A],
      ['from_issuer', A],
      ['to_issuer', A],
      ['from_asset', ASSET],
      ['amount', AMT],
      ['to_asset', ASSET],
      ['out', AMT],
      ['spread', AMT],
    ),
  ],
  [
    'mandate_granted',
    struct(
      ['id', 'u64'],
      ['user', A],
      ['spender', A],
      ['asset', ASSET],
      ['limit_per_period', AMT],
      ['period_ms', 'u64'],
      ['expires_at', 'u64'],
    ),
  ],
  [
    'mandate_charged',
    struct(
      ['id', 'u64'],
      ['user', A],
      ['spender', A],
      ['asset', ASSET],
      ['amount', AMT],
      ['used_in_period', AMT],
      ['reference', 'string'],
    ),
  ],
  ['mandate_revoked', struct(['id', 'u64'], ['user', A], ['spender', A], ['revoked_at', 'u64'])],
  ['invoice_paid', struct(['payer', A], ['merchant', A], ['asset', ASSET], ['amount', AMT], ['invoice_id', 'u64'])],
  [
    'credit_line_opened',
    struct(['id', 'u64'], ['lender', A], ['borrower', A], ['asset', ASSET], ['limit', AMT], ['due_height', 'u64']),
  ],
  [
    'credit_drawn',
    struct(['id', 'u64'], ['lender', A], ['borrower', A], ['asset', ASSET], ['amount', AMT], ['outstanding', AMT]),
  ],
  [
    'credit_repaid',
    struct(['id', 'u64'], ['lender', A], ['borrower', A], ['asset', ASSET], ['amount', AMT], ['outstanding', AMT]),
  ],
  ['credit_defaulted', struct(['id', 'u64'], ['lender', A], ['borrower', A], ['asset', ASSET], ['outstanding', AMT])],
  [
    'fees_sponsored',
    struct(['sponsor', A], ['beneficiary', Beneficiary], ['asset', ASSET], ['budget_per_period', AMT], ['period_ms', 'u64']),
  ],
  [
    'proposal_submitted',
    struct(['id', 'u64'], ['proposer', A], ['change', Change], ['deadline', 'u64'], ['activation', 'u64']),
  ],
  [
    'vote_cast',
    struct(['id', 'u64'], ['validator', A], ['yes', 'bool'], ['yes_power', 'u64'], ['no_power', 'u64'], ['total_power', 'u64']),
  ],
  ['proposal_passed', struct(['id', 'u64'], ['effective_from', 'u64'])],
  ['proposal_rejected', struct(['id', 'u64'])],
  ['proposal_expired', struct(['id', 'u64'], ['deadline', 'u64'])],
  ['proposal_enacted', struct(['id', 'u64'], ['change', Change], ['effective_from', 'u64'])],
  ['proposal_not_enacted', struct(['id', 'u64'], ['error', CallError])],
  ['validator_set_changed', struct(['validators', vec(Validator)], ['effective_from', 'u64'])],
  ['product_created', struct(['id', 'u64'], ['merchant', A], ['name', 'string'], ['asset', ASSET], ['price', AMT])],
  [
    'entitlement_issued',
    struct(['id', 'u64'], ['product', 'u64'], ['owner', A], ['merchant', A], ['expires_at_ms', opt('u64')]),
  ],
  ['entitlement_offered', struct(['id', 'u64'], ['owner', A], ['buyer', A], ['price', AMT])],
  [
    'entitlement_transferred',
    struct(
      ['id', 'u64'],
      ['product', 'u64'],
      ['from', A],
      ['to', A],
      ['price', AMT],
      ['royalty', AMT],
      ['merchant', A],
    ),
  ],
  [
    'entitlement_revoked',
    struct(['id', 'u64'], ['product', 'u64'], ['merchant', A], ['owner', A], ['refund', AMT]),
  ],
  [
    'subscription_renewed',
    struct(['id', 'u64'], ['product', 'u64'], ['owner', A], ['merchant', A], ['mandate', 'u64'], ['expires_at_ms', 'u64']),
  ],
  ['subscription_lapsed', struct(['id', 'u64'], ['product', 'u64'], ['owner', A], ['merchant', A], ['error', CallError])],
  [
    'meter_opened',
    struct(
      ['id', 'u64'],
      ['user', A],
      ['merchant', A],
      ['asset', ASSET],
      ['unit_price', AMT],
      ['budget', AMT],
      ['expires_at_ms', 'u64'],
    ),
  ],
  [
    'meter_claimed',
    struct(['id', 'u64'], ['user', A], ['merchant', A], ['units', 'u64'], ['new_units', 'u64'], ['amount', AMT]),
  ],
  [
    'meter_closed',
    struct(['id', 'u64'], ['user', A], ['merchant', A], ['units', 'u64'], ['paid', AMT], ['refund', AMT]),
  ],
  [
    'attestation_issued',
    struct(['id', 'u64'], ['attester', A], ['subject', A], ['claim', Claim], ['expires_at_ms', 'u64']),
  ],
  ['attestation_revoked', struct(['id', 'u64'], ['attester', A], ['subject', A])],
  ['claim_requirement_set', struct(['product', 'u64'], ['merchant', A], ['claim', opt(Claim)])],
  ['node_registered', struct(['partner', A], ['key', A])],
  ['node_unregistered', struct(['partner', A], ['key', A])],
  [
    'carrier_line_opened',
    struct(
      ['line', 'u64'],
      ['carrier', A],
      ['user', A],
      ['asset', ASSET],
      ['cap', AMT],
      ['period_ms', 'u64'],
      ['cashback', opt(LineCashback)],
    ),
  ],
  [
    'line_charged',
    struct(
      ['line', 'u64'],
      ['carrier', A],
      ['user', A],
      ['merchant', A],
      ['amount', AMT],
      ['period', 'u64'],
      ['charged', AMT],
      ['cashback', AMT],
    ),
  ],
  [
    'statement_settled',
    struct(['line', 'u64'], ['carrier', A], ['user', A], ['period', 'u64'], ['amount', AMT], ['how', Settlement]),
  ],
  ['carrier_line_suspended', struct(['line', 'u64'], ['carrier', A], ['user', A], ['period', 'u64'])],
  ['carrier_line_resumed', struct(['line', 'u64'], ['carrier', A], ['user', A])],
  ['claim_policy_set', struct(['partner', A], ['scope', ClaimScope], ['claim', opt(Claim)], ['above', AMT])],
  [
    'equivocation_reported',
    struct(
      ['validator', A],
      ['reporter', A],
      ['height', 'u64'],
      ['round', 'u32'],
      ['a', SignedMessage],
      ['b', SignedMessage],
    ),
  ],
);

export const CodecErrorSchema = en(
  ['too_large', struct(['len', 'u64'], ['limit', 'u64'])],
  ['malformed', 'string'],
  ['trailing_bytes', struct(['trailing', 'u64'])],
);
export const SignatureError = en(['bad_public_key', null], ['bad_signature', null]);

/** `TxError`, tags 0–12. */
export const TxError = en(
  ['decode', CodecErrorSchema],
  ['wrong_chain', struct(['expected', 'hash'], ['got', 'hash'])],
  ['bad_signature', SignatureError],
  ['stale_nonce', struct(['expected', 'u64'], ['got', 'u64'])],
  ['future_nonce', struct(['expected', 'u64'], ['got', 'u64'])],
  ['expired', struct(['expiry', 'u64'], ['height', 'u64'])],
  ['fee_too_low', struct(['limit', AMT], ['required', AMT])],
  ['cannot_pay_fee', struct(['payer', A], ['asset', ASSET], ['required', AMT], ['available', AMT])],
  ['payer_is_sender', null],
  ['unexpected_payer_signature', null],
  ['bad_payer_signature', SignatureError],
  ['not_sponsored', struct(['sponsor', A])],
  ['sponsor_budget_exhausted', struct(['sponsor', A], ['budget', AMT], ['remaining', AMT], ['fee', AMT])],
);

export const Outcome = en(['success', null], ['failed', CallError], ['invalid', TxError]);

export const Receipt = struct(['tx', 'hash'], ['outcome', Outcome], ['fee', AMT], ['events', vec(Event)]);

export const Header = struct(
  ['chain_id', 'hash'],
  ['height', 'u64'],
  ['prev_hash', 'hash'],
  ['time_ms', 'u64'],
  ['proposer', A],
  ['tx_root', 'hash'],
  ['receipts_root', 'hash'],
  ['app_hash', 'hash'],
  ['validators_hash', 'hash'],
  ['next_validators_hash', 'hash'],
);

export const ValidatorInfo = struct(['key', A], ['power', 'u64']);
export const CommitSig = struct(['validator', A], ['signature', 'signature']);
export const Certificate = struct(['height', 'u64'], ['round', 'u32'], ['block', 'hash'], ['signatures', vec(CommitSig)]);
export const ValidatorSetChange = struct(['header', Header], ['certificate', Certificate], ['validators', vec(ValidatorInfo)]);
export const PathStep = opt('hash');
export const TxProof = struct(
  ['tx', SignedTx],
  ['receipt', Receipt],
  ['index', 'u32'],
  ['tx_path', vec(PathStep)],
  ['receipt_path', vec(PathStep)],
  ['header', Header],
  ['certificate', Certificate],
  ['validator_changes', vec(ValidatorSetChange)],
);

/** A genesis product (docs/encoding.md §8). */
export const ProductSpec = struct(
  ['merchant', A],
  ['name', 'string'],
  ['kind', ProductKind],
  ['asset', ASSET],
  ['price', AMT],
  ['royalty_bps', opt('u16')],
  ['requires', opt(Claim)],
);

/** The genesis spec as hashed into the chain id (docs/encoding.md §8), without products. */
export const GenesisSpec = struct(
  ['chain_name', 'string'],
  ['genesis_time_ms', 'u64'],
  ['validators', vec(struct(['name', 'string'], ['key', A], ['peer_id', 'string'], ['power', 'u64']))],
  ['partners', vec(struct(['name', 'string'], ['account', A], ['roles', vec(Role)], ['jurisdiction', 'string']))],
  ['jurisdictions', vec(struct(['code', 'string'], ['tax_bps', 'u16'], ['authority', A]))],
  [
    'assets',
    vec(
      struct(
        ['id', ASSET],
        ['symbol', 'string'],
        ['decimals', 'u8'],
        ['issuer', A],
        ['kind', AssetKind],
        ['supply_max', opt(AMT)],
      ),
    ),
  ],
  ['balances', vec(struct(['account', A], ['asset', ASSET], ['amount', AMT]))],
  [
    'params',
    struct(['fee_asset', ASSET], ['fee_flat', AMT], ['fee_collector', A], ['block_txs_max', 'u32'], ['block_bytes_max', 'u32']),
  ],
  ['economy', struct(['redemption_window_blocks', 'u64'])],
  [
    'fee_market',
    opt(
      struct(
        ['base_fee_min', AMT],
        ['base_fee_max', AMT],
        ['target_txs_per_block', 'u32'],
        ['change_denominator', 'u32'],
        ['volume_window_blocks', 'u64'],
        ['tiers', vec(struct(['min_txs', 'u64'], ['fee_bps', 'u16']))],
      ),
    ),
  ],
);

/** The genesis spec of a chain with products: an empty `products` list is left out of the
 * encoding (so older chains keep their id); a non-empty one follows `fee_market`. */
export const GenesisSpecWithProducts: Schema = {
  struct: [...(GenesisSpec as { struct: Fields }).struct, ['products', vec(ProductSpec)]],
};
