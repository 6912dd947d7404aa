//! Properties of execution over random blocks of every call (transfers, mints, burns,
//! asset creations, payments, reward rules, stamps, redemptions, exchange agreements
//! and conversions, mandates and payment links, credit lines, fee sponsorships), with
//! fees paid by the sender, a co-signer or a sponsor, with and without a fee market:
//! supply is conserved with escrow counted, supply changes only by the mints and burns
//! the events report (so no rounding creates or destroys a unit), every transaction
//! pays the fee the fee rules name from the payer they name, a failed call changes only
//! the fee (its payer's balance, the sponsor's budget, the sender's volume) and the
//! nonce, an invalid transaction changes nothing, no mandate is charged above its limit
//! in a period, the base fee stays in its bounds and moves by at most one step per
//! block, a sponsor never pays more than its budget per period, and the app hash is a
//! function of the final state alone.

use jeon_runtime::calls;
use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;
use jeon_runtime::economy::credit::{CreditLine, LineStatus};
use jeon_runtime::economy::mandate::{mandates_of, Mandate};
use jeon_runtime::economy::{RedeemKind, RewardKind, BPS_DENOMINATOR};
use jeon_runtime::execute::execute_block;
use jeon_runtime::fees::{sponsorships_of, Beneficiary, FeeMarket, FeeTier, Sponsorship, Volume};
use jeon_runtime::invoice::Invoice;
use jeon_runtime::state::{keys, read_record};
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, BlockContext, Call, CallError, Event, Hash, Height,
    Keypair, MemoryState, Outcome, Overlay, Receipt, Role, SignedTx, StateExt, StateRead, TimeMs,
    TxBody, TxError, VerifiedTx,
};
use proptest::prelude::*;

mod budgets;
mod carrier;
mod checks;
mod generators;
mod goods;
mod identity;
mod meter;
mod oracle;
mod setup;

use budgets::*;
use checks::*;
use generators::*;
use oracle::*;
use setup::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_blocks_of_every_call_conserve_supply_and_failed_calls_change_only_fee_and_nonce(
        market in prop::option::of(fee_market()),
        blocks in blocks()
    ) {
        let mut c = Consortium::new();
        economy_setup(&mut c);
        if let Some(m) = &market {
            install_fee_market(&mut c, m);
        }
        let mut charged = Charged::new();
        for steps in &blocks {
            let txs = sign_block(&c, steps);
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            // Commits and checks: app hash announced == recomputed == from scratch,
            // every supply equals the sum of its balances, and the escrow holds exactly
            // the pending redemptions.
            let receipts = c.run(&txs);
            let delta = minted_less_burned(&receipts);
            for (asset, before) in supplies(&pre) {
                let after = c.supply(asset);
                let expected = i128::from(before) + delta.get(&asset).copied().unwrap_or(0);
                prop_assert_eq!(i128::from(after), expected, "supply of {} moved without a mint or burn", asset);
            }
            check_rounding(&c, &pre, &receipts);
            check_each_transaction(&c, &ctx, &pre, &txs, &receipts);
            check_mandates(&c, &ctx, &receipts, &mut charged);
            if let Some(m) = &market {
                check_base_fee(m, &pre, &c.state, executed(&receipts));
            }
        }
    }

    #[test]
    fn independent_transfers_in_any_order_or_split_give_the_same_balances_and_app_hash(
        (ordered, shuffled, split) in independent_transfers()
    ) {
        let run = |blocks: &[&[(usize, usize, Amount)]]| {
            let mut c = Consortium::new();
            for block in blocks {
                let txs: Vec<VerifiedTx> = block
                    .iter()
                    .map(|&(from, to, amount)| {
                        let to = recipient(&c, to);
                        c.tx(c.senders()[from], transfer(&to, KRW, amount))
                    })
                    .collect();
                prop_assert!(c.run(&txs).iter().all(|r| r.is_success()));
            }
            // The histories record when and in which order things happened, so the
            // comparison leaves them out; the rest must not depend on either.
            let state = without_history(&c.state);
            let hash = state.app_hash().expect("hash");
            prop_assert_eq!(hash, app_hash_from_scratch(&state));
            Ok((state, hash))
        };
        let (a, hash_a) = run(&[&ordered])?;
        let (b, hash_b) = run(&[&shuffled])?;
        let (first, second) = shuffled.split_at(split.min(shuffled.len()));
        let (s, hash_s) = run(&[first, second])?;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &s);
        prop_assert_eq!(hash_a, hash_b);
        prop_assert_eq!(hash_a, hash_s);
    }
}

// ---- Sponsors' budgets ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_sponsor_never_pays_more_than_its_budget_per_period(
        market in prop::option::of(fee_market()),
        offers in prop::collection::vec(offer(1), 2..10),
        blocks in prop::collection::vec(prop::collection::vec(budget_step(), 0..16), 1..12),
    ) {
        let mut c = Consortium::new();
        if let Some(m) = &market {
            install_fee_market(&mut c, m);
        }
        let walk_ins = walk_ins();
        let mut budgets = Budgets::default();
        let first: Vec<BudgetStep> = offers.into_iter().map(BudgetStep::Offer).collect();
        for steps in std::iter::once(&first).chain(&blocks) {
            let txs = sign_budget_block(&c, &walk_ins, steps);
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            let receipts = c.run(&txs);
            budgets.observe_block(&c, &pre, &ctx, &txs, &receipts);
            if let Some(m) = &market {
                check_base_fee(m, &pre, &c.state, executed(&receipts));
            }
        }
    }
}

/// The oracle's table of addressed calls names real calls and fields: each call the fee
/// doc lists, built by hand, is addressed to the recipient the doc names (a name the
/// table got wrong would otherwise quietly address that call to no one).
#[test]
fn each_call_the_fee_doc_lists_is_addressed_to_its_documented_recipient() {
    let mut c = Consortium::new();
    economy_setup(&mut c);
    let (bank, telco, shop) = (c.bank.address(), c.telco.address(), c.shop.address());
    let line_id = (0..8)
        .find(|id| credit_line(&c.state, *id).is_some())
        .expect("the set-up opened a line");
    let invoice = Invoice {
        merchant: shop,
        asset: KRW,
        amount: 1,
        expires_at: c.height + 10,
        invoice_id: 1,
        memo: None,
    };
    let signature = invoice.sign(&c.shop, &CHAIN);
    let product = Call::CreateProduct(calls::CreateProduct {
        name: "Sticker pack".into(),
        kind: jeon_runtime::goods::ProductKind::Item { supply_max: None },
        asset: KRW,
        price: 500,
        royalty_bps: None,
    });
    let tx = c.tx(&c.shop, product);
    assert!(c.run(&[tx])[0].is_success());
    let cases = [
        ("transfer", transfer(&shop, KRW, 1), Some(shop)),
        (
            "pay",
            Call::Pay(calls::Pay {
                merchant: shop,
                asset: KRW,
                amount: 1,
                reference: String::new(),
            }),
            Some(shop),
        ),
        (
            "pay_invoice",
            Call::PayInvoice(calls::PayInvoice { invoice, signature }),
            Some(shop),
        ),
        (
            "grant_mandate",
            Call::GrantMandate(calls::GrantMandate {
                spender: shop,
                asset: KRW,
                limit_per_period: 1,
                period_ms: 1,
                expires_at: c.height + 10,
            }),
            Some(shop),
        ),
        (
            "redeem",
            Call::Redeem(calls::Redeem {
                asset: PTS,
                amount: 1,
                kind: RedeemKind::Goods { merchant: shop },
            }),
            Some(telco),
        ),
        (
            "redeem_stamps",
            Call::RedeemStamps(calls::RedeemStamps {
                stamp_asset: STAMP,
                count: 1,
            }),
            Some(bank),
        ),
        (
            "repay",
            Call::Repay(calls::Repay { line_id, amount: 1 }),
            Some(bank),
        ),
        ("buy", Call::Buy(calls::Buy { product: 0 }), Some(shop)),
        (
            "subscribe",
            Call::Subscribe(calls::Subscribe {
                product: 0,
                mandate_id: 0,
            }),
            Some(shop),
        ),
        (
            "open_meter",
            Call::OpenMeter(calls::OpenMeter {
                merchant: shop,
                asset: KRW,
                unit_price: 1,
                budget: 1,
                duration_ms: 1,
            }),
            Some(shop),
        ),
        (
            "mark_default",
            Call::MarkDefault(calls::MarkDefault { line_id }),
            None,
        ),
    ];
    for (kind, call, want) in &cases {
        assert_eq!(addressee(&c.state, call), *want, "a {kind} call");
    }
    for (kind, _) in &ADDRESSED_TO {
        assert!(cases.iter().any(|(k, ..)| k == kind), "no case for {kind}");
    }
}
