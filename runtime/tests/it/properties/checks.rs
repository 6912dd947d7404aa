//! Checks run after every random block: each transaction against the oracle, mandates
//! against their limits, the base fee against its bounds, rounding against the events.

use super::*;
use jeon_runtime::economy::fees::SponsoredDay;
use jeon_runtime::events;

/// Executes every prefix of the block from the same state and checks what each
/// transaction may change: its receipt is the one it gets in the whole block, its
/// validity, fee and payer are the ones the fee rules give, an invalid one changes
/// nothing, a failed one only its fee and nonce. (The prefixes end with the same
/// end-of-block refunds, which a failed or invalid transaction cannot influence, and
/// credit the fees they collected. The end of the block also sets the next base fee
/// from the number of transactions, so one more transaction, even an invalid one, may
/// move it: the comparisons leave the base fee out; [`check_base_fee`] checks it.)
pub(super) fn check_each_transaction(
    c: &Consortium,
    ctx: &BlockContext,
    pre: &MemoryState,
    block: &[VerifiedTx],
    whole: &[Receipt],
) {
    let rules = Rules::of(pre, ctx);
    let run = |n: usize| {
        let out = execute_block(pre, ctx, &block[..n]).expect("memory");
        let mut after = pre.clone();
        after.apply(&out.changes);
        assert_eq!(after.app_hash().expect("hash"), out.app_hash);
        (out.receipts, after)
    };
    let (_, mut before) = run(0);
    for (i, in_block) in whole.iter().enumerate() {
        let (receipts, after) = run(i + 1);
        assert_eq!(
            &receipts[..],
            &whole[..=i],
            "a prefix gets the same receipts"
        );
        let tx = block[i].tx();
        match (expected_due(&before, &rules, tx), &in_block.outcome) {
            (Err(want), Outcome::Invalid(e)) => {
                assert_eq!(e, &want, "transaction {i} is invalid for another reason");
                let changed: Vec<String> = changes(&before, &after).map(hex::encode).collect();
                assert!(changed.is_empty(), "invalid ({e}) changed {changed:?}");
            }
            (Err(want), outcome) => {
                panic!("transaction {i} should be invalid ({want}), got {outcome:?}")
            }
            (Ok(due), Outcome::Invalid(e)) => {
                panic!("transaction {i} should be valid ({due:?}), got invalid: {e}")
            }
            (Ok(due), outcome) => {
                check_fee_paid(&rules, &before, &after, tx, in_block, &due);
                if let Outcome::Failed(_) = outcome {
                    only_fee_and_nonce_changed(c, &rules, &before, &after, tx, &due);
                }
            }
        }
        before = after;
    }
}

/// The keys whose values differ between two states, but the base fee (set at the end
/// of the block) and the accumulator.
pub(super) fn changes(before: &MemoryState, after: &MemoryState) -> impl Iterator<Item = Vec<u8>> {
    diff(before, after)
        .into_keys()
        .filter(|k| *k != jeon_runtime::economy::fees::storage::base_fee())
}

/// A valid transaction paid what its [`Due`] says: the receipt's fee, one
/// `FeeCharged` by the payer as its first event (none for a zero fee), the
/// sponsorship's budget spent by exactly the fee, and under a tiered market one more
/// transaction in the sender's volume.
pub(super) fn check_fee_paid(
    rules: &Rules,
    before: &MemoryState,
    after: &MemoryState,
    tx: &SignedTx,
    receipt: &Receipt,
    due: &Due,
) {
    assert_eq!(receipt.fee, due.fee, "the fee is the one the rules give");
    let charged: Vec<&Event> = receipt
        .events
        .iter()
        .filter(|e| matches!(e, Event::FeeCharged(events::FeeCharged { .. })))
        .collect();
    if due.fee > 0 {
        let want = Event::FeeCharged(events::FeeCharged {
            payer: due.payer,
            asset: KRW,
            amount: due.fee,
        });
        assert_eq!(charged, [&want], "the named payer pays the fee, once");
        assert_eq!(receipt.events.first(), Some(&want));
    } else {
        assert!(charged.is_empty(), "a zero fee charges nobody");
    }
    if let Some((key, before_spending)) = &due.sponsorship {
        let now: Option<Sponsorship> = read_record(after, key).expect("read");
        let want = spent(before_spending, rules.time_ms, due.fee);
        assert_eq!(now, Some(want), "the sponsorship spends exactly the fee");
        let day_key = sponsored_day_key(before_spending, rules);
        let day = |s: &MemoryState| -> SponsoredDay {
            read_record(s, &day_key).expect("read").unwrap_or_default()
        };
        let (was, now) = (day(before), day(after));
        assert_eq!(
            (now.txs, now.fees),
            (was.txs + 1, was.fees + due.fee),
            "the sponsor's record of the day counts the fee"
        );
    }
    if let Some(market) = rules.tiered() {
        let sender = tx.body.sender;
        let window = market.volume_window_blocks;
        let (current, previous) = volume_buckets(before, &sender, rules.height, window);
        let want = Volume {
            window: rules.height / window,
            current: current + 1,
            previous,
        };
        let now: Option<Volume> = read_record(
            after,
            &jeon_runtime::economy::fees::storage::volume(&sender),
        )
        .expect("read");
        assert_eq!(
            now,
            Some(want),
            "the sender's volume counts the transaction"
        );
    }
}

/// Where the sponsor of `s` records what it paid on the block's day.
fn sponsored_day_key(s: &Sponsorship, rules: &Rules) -> Vec<u8> {
    jeon_runtime::economy::fees::storage::sponsored_day(
        &s.sponsor,
        jeon_runtime::economy::period_of(rules.time_ms),
    )
}

/// A failed call changed only what paying its fee changes: the sender's nonce, the
/// payer's and the collector's fee-asset balances (the payer's, not the sender's,
/// when someone else pays), the sponsorship it spent with its sponsor's record of the
/// day, and the sender's volume record (those checked by [`check_fee_paid`]).
pub(super) fn only_fee_and_nonce_changed(
    c: &Consortium,
    rules: &Rules,
    before: &MemoryState,
    after: &MemoryState,
    tx: &SignedTx,
    due: &Due,
) {
    let who = tx.body.sender;
    let mut allowed = BTreeSet::from([
        keys::nonce(&who),
        keys::balance(&due.payer, KRW),
        keys::balance(&c.collector, KRW),
    ]);
    if let Some((key, s)) = &due.sponsorship {
        allowed.insert(key.clone());
        allowed.insert(sponsored_day_key(s, rules));
    }
    if rules.tiered().is_some() {
        allowed.insert(jeon_runtime::economy::fees::storage::volume(&who));
    }
    let changed: BTreeSet<Vec<u8>> = changes(before, after).collect();
    let extra: Vec<String> = changed.difference(&allowed).map(hex::encode).collect();
    assert!(
        extra.is_empty(),
        "a failed call changed more than fee and nonce: {extra:?}"
    );
    let read = |s: &MemoryState| {
        (
            s.nonce(&who).expect("nonce"),
            s.balance(&due.payer, KRW).expect("balance"),
            s.balance(&c.collector, KRW).expect("balance"),
        )
    };
    let (nonce, paid, collected) = read(before);
    assert_eq!(
        read(after),
        (nonce + 1, paid - due.fee, collected + due.fee)
    );
}

/// Units charged per (mandate, period index), as the events report them.
pub(super) type Charged = BTreeMap<(u64, u64), u128>;

/// After a block: the charges of each mandate in each period add up to the
/// `used_in_period` the last one reports and stay within the limit, and every mandate
/// its user lists has `used <= limit_per_period` (and every stored one is listed).
pub(super) fn check_mandates(
    c: &Consortium,
    ctx: &BlockContext,
    receipts: &[Receipt],
    charged: &mut Charged,
) {
    for e in receipts.iter().flat_map(|r| &r.events) {
        if let Event::MandateCharged(events::MandateCharged {
            id,
            amount,
            used_in_period,
            ..
        }) = e
        {
            let m = mandate(&c.state, *id).expect("a charged mandate exists");
            let sum = charged.entry((*id, ctx.time_ms / m.period_ms)).or_default();
            *sum += u128::from(*amount);
            assert_eq!(
                *sum,
                u128::from(*used_in_period),
                "mandate {id}'s period total"
            );
            assert!(
                *sum <= u128::from(m.limit_per_period),
                "mandate {id} over its limit"
            );
        }
    }
    let mut listed = 0;
    for key in c.senders() {
        let statuses =
            mandates_of(&c.state, &key.address(), ctx.height, ctx.time_ms).expect("read");
        for s in statuses {
            let m = &s.mandate;
            assert!(
                m.used <= m.limit_per_period,
                "mandate {} used {} of {}",
                m.id,
                m.used,
                m.limit_per_period
            );
            assert!(s.remaining <= m.limit_per_period);
            listed += 1;
        }
    }
    assert_eq!(
        listed,
        record_ids(&c.state, keys::MANDATE).len(),
        "every mandate is listed"
    );
}

/// How many of a block's transactions executed (invalid ones do not count towards
/// the block's fullness).
pub(super) fn executed(receipts: &[Receipt]) -> usize {
    receipts
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Invalid(_)))
        .count()
}

/// After a block of `txs` executed transactions under `market`: the stored base fee is
/// the one docs/economy.md's formula gives, stays within its bounds, moves by at most
/// `max(1, base / change_denominator)`, and moves up after a block above target, down
/// (or not) below it, not at all at target.
pub(super) fn check_base_fee(
    market: &FeeMarket,
    pre: &MemoryState,
    post: &MemoryState,
    txs: usize,
) {
    let (before, after) = (base_fee(pre), base_fee(post));
    assert_eq!(
        after,
        documented_next_base_fee(market, before, txs),
        "the base fee after {txs} transactions from {before} is not the documented one"
    );
    assert!(
        (market.base_fee_min..=market.base_fee_max).contains(&after),
        "base fee {after} outside [{}, {}]",
        market.base_fee_min,
        market.base_fee_max
    );
    let step = (before / u64::from(market.change_denominator)).max(1);
    assert!(
        before.abs_diff(after) <= step,
        "base fee moved from {before} to {after}, more than {step}"
    );
    let target = market.target_txs_per_block as usize;
    match txs.cmp(&target) {
        std::cmp::Ordering::Greater => {
            assert!(after >= before, "a full block lowered the base fee")
        }
        std::cmp::Ordering::Less => assert!(after <= before, "a light block raised the base fee"),
        std::cmp::Ordering::Equal => {
            assert_eq!(after, before, "a block at target moved the base fee")
        }
    }
}

/// Supply created (+) and destroyed (-) per asset, as the events report it.
pub(super) fn minted_less_burned(receipts: &[Receipt]) -> BTreeMap<AssetId, i128> {
    let mut delta: BTreeMap<AssetId, i128> = BTreeMap::new();
    let mut add = |asset: AssetId, amount: Amount, sign: i128| {
        *delta.entry(asset).or_default() += sign * i128::from(amount);
    };
    for e in receipts.iter().flat_map(|r| &r.events) {
        match e {
            Event::Minted(events::Minted { asset, amount, .. })
            | Event::RewardGranted(events::RewardGranted { asset, amount, .. }) => {
                add(*asset, *amount, 1)
            }
            Event::Burned(events::Burned { asset, amount, .. })
            | Event::RedemptionSettled(events::RedemptionSettled { asset, amount, .. }) => {
                add(*asset, *amount, -1)
            }
            Event::StampsRedeemed(events::StampsRedeemed {
                stamp_asset,
                stamps,
                reward_asset,
                reward_amount,
                ..
            }) => {
                add(*stamp_asset, *stamps, -1);
                add(*reward_asset, *reward_amount, 1);
            }
            _ => {}
        }
    }
    delta
}

/// The rounding rules hold event by event: tax is the floor of 10 %, conversion legs
/// split the gross amount exactly into what the user gets and the spread.
pub(super) fn check_rounding(c: &Consortium, pre: &MemoryState, receipts: &[Receipt]) {
    for e in receipts.iter().flat_map(|r| &r.events) {
        match e {
            Event::Paid(events::Paid { amount, tax, .. }) => {
                let expected = u128::from(*amount) * u128::from(TAX_BPS) / 10_000;
                assert_eq!(
                    u128::from(*tax),
                    expected,
                    "tax is floor(amount * bps / 10 000)"
                );
            }
            Event::Converted(events::Converted {
                agreement,
                amount,
                out,
                spread,
                ..
            }) => {
                let a = jeon_runtime::economy::exchange::exchange(&c.state, *agreement)
                    .expect("read")
                    .or(jeon_runtime::economy::exchange::exchange(pre, *agreement).expect("read"));
                if let Some(a) = a {
                    let gross =
                        u128::from(*amount) * u128::from(a.rate_num) / u128::from(a.rate_den);
                    assert_eq!(u128::from(*out) + u128::from(*spread), gross);
                    let s = gross * u128::from(a.spread_bps) / u128::from(BPS_DENOMINATOR);
                    assert_eq!(u128::from(*spread), s);
                }
            }
            _ => {}
        }
    }
}
