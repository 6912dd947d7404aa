//! Metered sessions under random blocks: users open sessions with the two merchants
//! (random prices, budgets, durations), merchants and strangers claim random receipts
//! (signed by the user or by someone else, fresh, stale or past the budget) and close
//! sessions. After each block: supply moves only by the mints and burns the events
//! report (the shop's sales earn cashback); every transaction against the fee oracle (a
//! failed one changes only its fee and nonce); the escrow holds exactly the open
//! sessions' unspent budgets, and no session has paid more than its budget nor other
//! than its claimed units × price (`support::check_escrow`, run by `Consortium::run`);
//! and a session's payments (its `Paid` events) add up to what it records as paid.

use super::*;
use jeon_runtime::goods::{self, MeterReceipt};

#[derive(Clone, Debug)]
pub(super) enum MeterOp {
    Open {
        merchant: bool,
        unit_price: Amount,
        budget: Amount,
        duration_ms: u64,
    },
    Claim {
        session: u64,
        /// Added to the units already claimed (0: stale, or below by `back`).
        more: u64,
        back: bool,
        forged: bool,
        close: bool,
    },
    Close {
        session: u64,
        by_user: bool,
    },
}

fn meter_op() -> impl Strategy<Value = MeterOp> {
    prop_oneof![
        2 => (any::<bool>(), 0u64..60, 0u64..3_000, 0u64..6_000).prop_map(
            |(merchant, unit_price, budget, duration_ms)| MeterOp::Open { merchant, unit_price, budget, duration_ms }),
        5 => (0u64..6, 0u64..80, any::<bool>(), prop::bool::weighted(0.1), prop::bool::weighted(0.15))
            .prop_map(|(session, more, back, forged, close)| MeterOp::Claim { session, more, back, forged, close }),
        1 => (0u64..6, any::<bool>()).prop_map(|(session, by_user)| MeterOp::Close { session, by_user }),
    ]
}

/// Blocks of (sender index into `senders()`, op).
fn meter_blocks() -> impl Strategy<Value = Vec<Vec<(usize, MeterOp)>>> {
    prop::collection::vec(prop::collection::vec((0usize..7, meter_op()), 1..6), 1..12)
}

/// The call and its sender (index into `senders()`): opens come from users 0-2 (the
/// drawn sender if it is a user), claims and merchant closes from the session's
/// merchant unless `from` is a multiple of 5 (then the drawn sender), user closes from
/// the session's user.
fn meter_call(c: &Consortium, from: usize, op: &MeterOp) -> (usize, Call) {
    let senders = c.senders();
    let index_of = |a: &Address| senders.iter().position(|k| k.address() == *a);
    let session = |id: u64| goods::meter::meter(&c.state, id).expect("read");
    match op {
        MeterOp::Open {
            merchant,
            unit_price,
            budget,
            duration_ms,
        } => {
            let to = if *merchant { &c.shop } else { &c.telco };
            let call = Call::OpenMeter(calls::OpenMeter {
                merchant: to.address(),
                asset: KRW,
                unit_price: *unit_price,
                budget: *budget,
                duration_ms: *duration_ms,
            });
            (3 + from % 3, call)
        }
        MeterOp::Claim {
            session: id,
            more,
            back,
            forged,
            close,
        } => {
            let s = session(*id);
            let claimed = s.as_ref().map_or(0, |s| s.units);
            let units = if *back {
                claimed.saturating_sub(*more)
            } else {
                claimed + more
            };
            let user = s.as_ref().and_then(|s| index_of(&s.user)).unwrap_or(3);
            let signer = if *forged {
                senders[(user + 1) % 7]
            } else {
                senders[user]
            };
            let signature = MeterReceipt {
                session: *id,
                units,
            }
            .sign(signer, &CHAIN);
            let merchant = s.as_ref().and_then(|s| index_of(&s.merchant));
            let sender = merchant.filter(|_| !from.is_multiple_of(5)).unwrap_or(from);
            let call = Call::ClaimMeter(calls::ClaimMeter {
                session: *id,
                units,
                signature,
                close: *close,
            });
            (sender, call)
        }
        MeterOp::Close {
            session: id,
            by_user,
        } => {
            let s = session(*id);
            let party = s.and_then(|s| index_of(if *by_user { &s.user } else { &s.merchant }));
            let sender = party.filter(|_| !from.is_multiple_of(5)).unwrap_or(from);
            (sender, Call::CloseMeter(calls::CloseMeter { session: *id }))
        }
    }
}

/// What each session's `Paid` events paid, by session id (reference `meter <id>`).
fn paid_by_session(receipts: &[Receipt], into: &mut BTreeMap<u64, Amount>) {
    for r in receipts {
        for e in &r.events {
            if let Event::Paid(p) = e {
                if let Some(id) = p.reference.strip_prefix("meter ") {
                    let id: u64 = id.parse().expect("a session id");
                    *into.entry(id).or_default() += p.amount;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn metered_sessions_never_pay_past_budget_or_units_times_price_and_conserve_supply(
        blocks in meter_blocks()
    ) {
        let mut c = Consortium::new();
        economy_setup(&mut c);
        let mut paid: BTreeMap<u64, Amount> = BTreeMap::new();
        for steps in &blocks {
            let txs = sign_in_order(&c, steps, |(from, op)| meter_call(&c, *from, op));
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            let receipts = c.run(&txs);
            let delta = minted_less_burned(&receipts);
            for (asset, before) in supplies(&pre) {
                let expected = i128::from(before) + delta.get(&asset).copied().unwrap_or(0);
                prop_assert_eq!(i128::from(c.supply(asset)), expected, "supply of {} moved", asset);
            }
            check_each_transaction(&c, &ctx, &pre, &txs, &receipts);
            paid_by_session(&receipts, &mut paid);
            for (id, total) in &paid {
                let s = goods::meter::meter(&c.state, *id).expect("read").expect("a paid session exists");
                prop_assert_eq!(s.paid, *total, "session {} paid events vs record", id);
                prop_assert!(s.paid <= s.budget);
            }
        }
    }
}
