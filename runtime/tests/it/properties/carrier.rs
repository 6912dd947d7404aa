//! Carrier lines under random blocks: the telco (a carrier, and, failing, the shop)
//! opens lines for random users with random caps (some above the maximum, some with
//! loyalty cashback); users (and strangers) charge payments and product purchases of
//! random amounts to random lines; statements are settled, lines suspended and resumed
//! by random senders at random periods. Blocks are a second apart and periods three
//! seconds, so periods end during a run; some lines bill calendar months instead, and
//! now and then the chain sits idle for up to 40 days before a block, so months end
//! too. After each block: every transaction against
//! the fee oracle (a failed one changes only its fee and nonce); supply moves only by
//! the mints the events report; and no statement of any line holds more than the
//! line's cap, and each equals the sum of the `LineCharged` amounts of its period.

use super::*;
use jeon_runtime::goods::carrier::{self, LineCashback, LinePurchase, Settlement};
use jeon_runtime::goods::ProductKind;

/// Every line's period in these runs: three blocks.
const PERIOD_MS: u64 = 3_000;

#[derive(Clone, Debug)]
pub(super) enum LineOp {
    Open {
        user: usize,
        cap: Amount,
        cashback: bool,
        monthly: bool,
    },
    Charge {
        line: u64,
        amount: Amount,
        buy: bool,
    },
    Settle {
        line: u64,
        back: u64,
        collected: bool,
    },
    Suspend {
        line: u64,
        back: u64,
    },
    Resume {
        line: u64,
    },
}

fn line_op() -> impl Strategy<Value = LineOp> {
    let cap = prop_oneof![1u64..5_000, Just(carrier::CARRIER_LINE_CAP_MAX_DEFAULT + 1)];
    prop_oneof![
        2 => (0usize..4, cap, any::<bool>(), any::<bool>())
            .prop_map(|(user, cap, cashback, monthly)| LineOp::Open { user, cap, cashback, monthly }),
        6 => (0u64..4, 0u64..3_000, prop::bool::weighted(0.2))
            .prop_map(|(line, amount, buy)| LineOp::Charge { line, amount, buy }),
        2 => (0u64..4, 0u64..3, any::<bool>())
            .prop_map(|(line, back, collected)| LineOp::Settle { line, back, collected }),
        1 => (0u64..4, 0u64..3).prop_map(|(line, back)| LineOp::Suspend { line, back }),
        1 => (0u64..4).prop_map(|line| LineOp::Resume { line }),
    ]
}

/// Blocks: the idle time before each (ms; mostly none) and its operations.
fn line_blocks() -> impl Strategy<Value = Vec<(u64, Vec<(usize, LineOp)>)>> {
    let idle = prop_oneof![4 => Just(0u64), 1 => 0u64..40 * 86_400_000];
    let ops = prop::collection::vec((0usize..10, line_op()), 1..6);
    prop::collection::vec((idle, ops), 1..14)
}

/// The call and its sender (index into `senders()`: 0 bank, 1 telco, 2 shop, 3.. users):
/// the line's party unless `from` is a multiple of 7 (then the drawn sender).
fn line_call(c: &Consortium, from: usize, op: &LineOp) -> (usize, Call) {
    let senders = c.senders();
    let index_of = |a: &Address| senders.iter().position(|k| k.address() == *a);
    let line = |id: u64| carrier::line(&c.state, id).expect("read");
    let stranger = from.is_multiple_of(7);
    let period_back = |id: u64, back: u64| {
        line(id).map_or(0, |l| {
            l.period_at(c.next_ctx().time_ms).saturating_sub(back)
        })
    };
    let party = |id: u64, user: bool| {
        line(id)
            .and_then(|l| index_of(if user { &l.user } else { &l.carrier }))
            .filter(|_| !stranger)
            .unwrap_or(from % 7)
    };
    match op {
        LineOp::Open {
            user,
            cap,
            cashback,
            monthly,
        } => {
            let call = Call::OpenCarrierLine(calls::OpenCarrierLine {
                user: c.users[*user].address(),
                asset: KRW,
                cap: *cap,
                period_ms: if *monthly {
                    carrier::LINE_PERIOD_CALENDAR_MONTH
                } else {
                    PERIOD_MS
                },
                cashback: cashback.then_some(LineCashback {
                    asset: PTS,
                    bps: 500,
                }),
            });
            (if stranger { 2 } else { 1 }, call)
        }
        LineOp::Charge { line, amount, buy } => {
            let purchase = if *buy {
                LinePurchase::Buy {
                    product: amount % 2,
                }
            } else {
                LinePurchase::Pay {
                    merchant: c.shop.address(),
                    amount: *amount,
                    reference: String::new(),
                }
            };
            let call = Call::ChargeLine(calls::ChargeLine {
                line: *line,
                purchase,
            });
            (party(*line, true), call)
        }
        LineOp::Settle {
            line,
            back,
            collected,
        } => {
            let how = if *collected {
                Settlement::Collected
            } else {
                Settlement::PaidByUser
            };
            let call = Call::SettleStatement(calls::SettleStatement {
                line: *line,
                period: period_back(*line, *back),
                how,
            });
            (party(*line, !collected), call)
        }
        LineOp::Suspend { line, back } => {
            let call = Call::SuspendLine(calls::SuspendLine {
                line: *line,
                period: period_back(*line, *back),
            });
            (party(*line, false), call)
        }
        LineOp::Resume { line } => (
            party(*line, false),
            Call::ResumeLine(calls::ResumeLine { line: *line }),
        ),
    }
}

/// The telco becomes a carrier; the shop sells product 0 (₩700) and 1 (₩4 000).
fn line_setup(c: &mut Consortium) {
    let telco = c.telco.address();
    let mut partner = c.state.partner(&telco).expect("read").expect("a partner");
    partner.roles.push(Role::Carrier);
    partner.roles.sort();
    amend(c, |ov| {
        ov.put(keys::partner(&telco), &partner).expect("write")
    });
    let product = |price| {
        Call::CreateProduct(calls::CreateProduct {
            name: "p".into(),
            kind: ProductKind::Item { supply_max: None },
            asset: KRW,
            price,
            royalty_bps: None,
        })
    };
    let txs: Vec<VerifiedTx> = [product(700), product(4_000)]
        .into_iter()
        .enumerate()
        .map(|(i, call)| verified(sign(&c.shop, i as u64, call)))
        .collect();
    assert!(c.run(&txs).iter().all(Receipt::is_success));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn carrier_lines_never_exceed_their_cap_conserve_supply_and_failed_calls_change_nothing(
        blocks in line_blocks()
    ) {
        let mut c = Consortium::new();
        line_setup(&mut c);
        let mut charged: BTreeMap<(u64, u64), Amount> = BTreeMap::new();
        for (idle_ms, steps) in &blocks {
            c.skip_time(c.next_ctx().time_ms + idle_ms);
            let txs = sign_in_order(&c, steps, |(from, op)| line_call(&c, *from, op));
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            let receipts = c.run(&txs);
            let delta = minted_less_burned(&receipts);
            for (asset, before) in supplies(&pre) {
                let expected = i128::from(before) + delta.get(&asset).copied().unwrap_or(0);
                prop_assert_eq!(i128::from(c.supply(asset)), expected, "supply of {} moved", asset);
            }
            check_each_transaction(&c, &ctx, &pre, &txs, &receipts);
            for e in receipts.iter().flat_map(|r| &r.events) {
                if let Event::LineCharged(l) = e {
                    *charged.entry((l.line, l.period)).or_default() += l.amount;
                }
            }
            for id in 0..4u64 {
                let Some(l) = carrier::line(&c.state, id).expect("read") else { continue };
                // Every stored statement, and every period the events charged.
                let stored = carrier::statements_of(&c.state, &l, ctx.time_ms).expect("read");
                let periods: BTreeSet<u64> = stored.iter().map(|s| s.period)
                    .chain(charged.keys().filter(|k| k.0 == id).map(|k| k.1))
                    .collect();
                for period in periods {
                    let s = carrier::statement(&c.state, &l, period).expect("read");
                    let (start, end) = l.bounds(period);
                    // A period's bounds hold it and only it.
                    prop_assert!(start < end, "line {} period {} is empty", id, period);
                    prop_assert_eq!(l.period_at(start), period);
                    prop_assert_eq!(l.period_at(end - 1), period);
                    prop_assert_eq!(l.period_at(end), period + 1);
                    prop_assert!(s.charged <= l.cap, "line {} period {} over its cap", id, period);
                    let events = charged.get(&(id, period)).copied().unwrap_or(0);
                    prop_assert_eq!(s.charged, events, "line {} period {} vs its events", id, period);
                }
            }
        }
    }
}
