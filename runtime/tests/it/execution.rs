//! Block execution, told as the consortium's stories: payments, fees, asset creation,
//! minting and burning, and what a failed call may and may not change.

use crate::support::*;
use jeon_runtime::state::keys;
use jeon_runtime::{calls, events};
use jeon_runtime::{
    AssetKind, Call, CallError, Event, Keypair, Outcome, Receipt, Role, StateExt, StateRead,
};

fn outcome(receipts: &[Receipt]) -> Vec<Outcome> {
    receipts.iter().map(|r| r.outcome.clone()).collect()
}

fn create(symbol: &str, decimals: u8) -> Call {
    Call::CreateAsset(calls::CreateAsset {
        symbol: symbol.into(),
        decimals,
        kind: AssetKind::Credit,
        supply_max: None,
    })
}

#[test]
fn a_transfer_moves_units_emits_events_and_pays_the_flat_fee_to_the_collector() {
    let mut c = Consortium::new();
    let (alice, bob) = (c.users[0].address(), c.users[1].address());
    let tx = c.tx(&c.users[0], transfer(&bob, KRW, 500));
    let receipts = c.run(std::slice::from_ref(&tx));

    assert_eq!(
        receipts,
        vec![Receipt {
            tx: tx.hash(),
            outcome: Outcome::Success,
            fee: FEE,
            events: vec![
                Event::FeeCharged(events::FeeCharged {
                    payer: alice,
                    asset: KRW,
                    amount: FEE
                }),
                Event::Transferred(events::Transferred {
                    from: alice,
                    to: bob,
                    asset: KRW,
                    amount: 500
                }),
            ],
        }]
    );
    assert_eq!(c.balance(&alice, KRW), USER_KRW - 500 - FEE);
    assert_eq!(c.balance(&bob, KRW), USER_KRW + 500);
    assert_eq!(c.balance(&c.collector, KRW), FEE);
    assert_eq!(c.state.nonce(&alice).expect("nonce"), 1);
}

#[test]
fn fees_reach_the_collector_only_at_the_end_of_the_block() {
    let mut c = Consortium::new();
    let collector = Keypair::from_seed_label("collector");
    let bob = c.users[1].address();
    let pay = c.tx(&c.users[0], transfer(&bob, PTS, 1));
    let spend_fee = verified(sign(&collector, 0, transfer(&bob, KRW, 1)));
    let receipts = c.run(&[pay.clone(), spend_fee]);

    // The collector held nothing when its own transaction ran: the fee of the first
    // transaction is credited once, after the last one.
    assert_eq!(
        outcome(&receipts),
        vec![
            Outcome::Success,
            Outcome::Invalid(jeon_runtime::TxError::CannotPayFee {
                payer: collector.address(),
                asset: KRW,
                required: FEE,
                available: 0
            })
        ]
    );
    assert_eq!(c.balance(&c.collector, KRW), FEE);

    let three: Vec<_> = (0..3)
        .map(|i| c.tx(&c.users[i], transfer(&bob, PTS, 1)))
        .collect();
    let receipts = c.run(&three);
    assert!(receipts.iter().all(Receipt::is_success));
    assert_eq!(c.balance(&c.collector, KRW), 4 * FEE);
}

#[test]
fn a_transfer_of_more_than_held_fails_with_insufficient_balance_and_changes_only_fee_and_nonce() {
    let mut c = Consortium::new();
    let (alice, bob) = (c.users[0].address(), c.users[1].address());
    let before = c.state.clone();
    let tx = c.tx(&c.users[0], transfer(&bob, PTS, USER_PTS + 1));
    let receipts = c.run(&[tx]);

    assert_eq!(
        receipts[0].outcome,
        Outcome::Failed(CallError::InsufficientBalance {
            asset: PTS,
            needed: USER_PTS + 1,
            available: USER_PTS
        })
    );
    assert_eq!(receipts[0].fee, FEE);
    assert_eq!(
        receipts[0].events,
        vec![Event::FeeCharged(events::FeeCharged {
            payer: alice,
            asset: KRW,
            amount: FEE
        })]
    );
    let changed: Vec<Vec<u8>> = diff(&before, &c.state).into_keys().collect();
    let mut expected = vec![
        keys::nonce(&alice),
        keys::balance(&alice, KRW),
        keys::balance(&c.collector, KRW),
    ];
    expected.sort();
    assert_eq!(changed, expected);
    assert_eq!(c.balance(&alice, KRW), USER_KRW - FEE);
    assert_eq!(c.balance(&alice, PTS), USER_PTS);
}

#[test]
fn a_zero_amount_and_an_unknown_asset_fail_but_still_pay_the_fee() {
    let mut c = Consortium::new();
    let bob = c.users[1].address();
    let zero = c.tx(&c.users[0], transfer(&bob, PTS, 0));
    let receipts = c.run(&[zero]);
    assert_eq!(receipts[0].outcome, Outcome::Failed(CallError::ZeroAmount));
    let unknown = c.tx(&c.users[0], transfer(&bob, UNKNOWN, 1));
    let receipts = c.run(&[unknown]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Failed(CallError::UnknownAsset { asset: UNKNOWN })
    );
    assert_eq!(c.balance(&c.users[0].address(), KRW), USER_KRW - 2 * FEE);
    assert_eq!(c.state.nonce(&c.users[0].address()).expect("nonce"), 2);
}

#[test]
fn a_transfer_to_oneself_leaves_the_balance_less_the_fee() {
    let mut c = Consortium::new();
    let alice = c.users[0].address();
    let tx = c.tx(&c.users[0], transfer(&alice, KRW, USER_KRW - FEE));
    assert!(c.run(&[tx])[0].is_success());
    assert_eq!(c.balance(&alice, KRW), USER_KRW - FEE);
}

#[test]
fn spending_a_whole_balance_removes_its_entry_from_state() {
    let mut c = Consortium::new();
    let (alice, bob) = (c.users[0].address(), c.users[1].address());
    let tx = c.tx(&c.users[0], transfer(&bob, PTS, USER_PTS));
    assert!(c.run(&[tx])[0].is_success());
    assert_eq!(c.state.get(&keys::balance(&alice, PTS)).expect("get"), None);
    assert_eq!(c.balance(&bob, PTS), 2 * USER_PTS);
}

#[test]
fn a_three_won_balance_stays_three_won_across_blocks() {
    let mut c = Consortium::new();
    let saver = Keypair::from_seed_label("saver").address();
    let bob = c.users[1].address();
    let tx = c.tx(&c.users[0], transfer(&saver, KRW, 3));
    assert!(c.run(&[tx])[0].is_success());
    for _ in 0..10 {
        let other = c.tx(&c.users[0], transfer(&bob, KRW, 1));
        assert!(c.run(&[other])[0].is_success());
        c.run(&[]);
    }
    assert_eq!(c.height, 21);
    assert_eq!(c.balance(&saver, KRW), 3, "no dust is ever swept");
}

#[test]
fn creating_an_asset_needs_a_partner_with_the_issuer_role() {
    let mut c = Consortium::new();
    let not_partner = c.tx(&c.users[0], create("GEM", 0));
    let merchant = c.tx(&c.shop, create("GEM", 0));
    let before = c.state.clone();
    let receipts = c.run(&[not_partner, merchant]);
    let missing = Outcome::Failed(CallError::MissingRole { role: Role::Issuer });
    assert_eq!(outcome(&receipts), vec![missing.clone(), missing]);
    assert_eq!(c.state.asset_by_symbol("GEM").expect("read"), None);
    // Only the two fees and nonces (and the collector) changed.
    assert_eq!(diff(&before, &c.state).len(), 5);
}

#[test]
fn an_issuer_creates_an_asset_under_the_next_free_id_and_mints_it() {
    let mut c = Consortium::new();
    let alice = c.users[0].address();
    let tx = c.tx(&c.telco, create("GEM", 2));
    let receipts = c.run(&[tx]);
    let gem = jeon_runtime::AssetId(3);
    assert_eq!(
        receipts[0].events[1],
        Event::AssetCreated(events::AssetCreated {
            asset: gem,
            issuer: c.telco.address(),
            symbol: "GEM".into()
        })
    );
    let info = c.state.asset(gem).expect("read").expect("created");
    assert_eq!(
        (
            info.symbol.as_str(),
            info.decimals,
            info.issuer,
            info.supply
        ),
        ("GEM", 2, c.telco.address(), 0)
    );
    assert_eq!(c.state.asset_by_symbol("GEM").expect("read"), Some(gem));
    assert_eq!(c.state.next_asset_id().expect("read"), 4);

    let mint = c.tx(
        &c.telco,
        Call::Mint(calls::Mint {
            asset: gem,
            to: alice,
            amount: 250,
        }),
    );
    let receipts = c.run(&[mint]);
    assert_eq!(
        receipts[0].events[1],
        Event::Minted(events::Minted {
            asset: gem,
            to: alice,
            amount: 250
        })
    );
    assert_eq!(c.balance(&alice, gem), 250);
    assert_eq!(c.supply(gem), 250);
}

#[test]
fn a_taken_symbol_is_refused_with_the_asset_that_holds_it() {
    let mut c = Consortium::new();
    let tx = c.tx(&c.telco, create("KRW", 0));
    let receipts = c.run(&[tx]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Failed(CallError::DuplicateSymbol {
            symbol: "KRW".into(),
            asset: KRW
        })
    );
    assert_eq!(c.state.next_asset_id().expect("read"), 3);
}

#[test]
fn symbols_are_one_to_twelve_uppercase_letters_or_digits_and_decimals_at_most_eighteen() {
    let cases: &[(&str, u8, Option<CallError>)] = &[
        ("ABCDEFGHIJKL", 18, None),
        ("X1", 0, None),
        ("", 0, Some(invalid(""))),
        ("krw", 0, Some(invalid("krw"))),
        ("ABCDEFGHIJKLM", 0, Some(invalid("ABCDEFGHIJKLM"))),
        ("A B", 0, Some(invalid("A B"))),
        ("WÖN", 0, Some(invalid("WÖN"))),
        ("OK", 19, Some(CallError::TooManyDecimals { decimals: 19 })),
    ];
    for (symbol, decimals, expected) in cases {
        let mut c = Consortium::new();
        let tx = c.tx(&c.bank, create(symbol, *decimals));
        let receipts = c.run(&[tx]);
        let want = match expected {
            None => Outcome::Success,
            Some(e) => Outcome::Failed(e.clone()),
        };
        assert_eq!(receipts[0].outcome, want, "symbol {symbol:?}");
    }
}

fn invalid(symbol: &str) -> CallError {
    CallError::InvalidSymbol {
        symbol: symbol.into(),
    }
}

#[test]
fn only_the_issuer_may_mint() {
    let mut c = Consortium::new();
    let alice = c.users[0].address();
    let tx = c.tx(
        &c.telco,
        Call::Mint(calls::Mint {
            asset: KRW,
            to: alice,
            amount: 1,
        }),
    );
    let receipts = c.run(&[tx]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Failed(CallError::NotIssuer {
            asset: KRW,
            issuer: c.bank.address()
        })
    );
    assert_eq!(c.balance(&alice, KRW), USER_KRW);
}

#[test]
fn a_mint_that_would_overflow_the_supply_fails_and_one_that_fits_exactly_succeeds() {
    let mut c = Consortium::new();
    let alice = c.users[0].address();
    let mint = |amount| {
        Call::Mint(calls::Mint {
            asset: STAMP,
            to: alice,
            amount,
        })
    };
    let too_much = c.tx(&c.bank, mint(11));
    let receipts = c.run(&[too_much]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Failed(CallError::SupplyOverflow {
            asset: STAMP,
            amount: 11
        })
    );
    assert_eq!(c.supply(STAMP), STAMP_SUPPLY);

    let exact = c.tx(&c.bank, mint(10));
    assert!(c.run(&[exact])[0].is_success());
    assert_eq!(c.supply(STAMP), u64::MAX);
    assert_eq!(c.balance(&alice, STAMP), 10);
}

#[test]
fn a_burn_reduces_the_holders_balance_and_the_supply() {
    let mut c = Consortium::new();
    let alice = c.users[0].address();
    let supply = c.supply(PTS);
    let burn = c.tx(
        &c.users[0],
        Call::Burn(calls::Burn {
            asset: PTS,
            amount: 1_000,
        }),
    );
    let receipts = c.run(&[burn]);
    assert_eq!(
        receipts[0].events[1],
        Event::Burned(events::Burned {
            asset: PTS,
            from: alice,
            amount: 1_000
        })
    );
    assert_eq!(c.balance(&alice, PTS), USER_PTS - 1_000);
    assert_eq!(c.supply(PTS), supply - 1_000);

    let too_much = c.tx(
        &c.users[0],
        Call::Burn(calls::Burn {
            asset: PTS,
            amount: USER_PTS,
        }),
    );
    let receipts = c.run(&[too_much]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Failed(CallError::InsufficientBalance {
            asset: PTS,
            needed: USER_PTS,
            available: USER_PTS - 1_000
        })
    );
    assert_eq!(c.supply(PTS), supply - 1_000);
}

#[test]
fn an_empty_block_changes_nothing_but_keeps_the_app_hash() {
    let mut c = Consortium::new();
    let before = c.state.clone();
    let hash = before.app_hash().expect("hash");
    c.run(&[]);
    // Only the per-block proof records rotate (the previous commitment, the pre-images;
    // uncommitted): no entry changes, and the accumulator is the same.
    assert_eq!(diff(&before, &c.state), Changes::new());
    assert_eq!(
        c.state.get(&keys::lthash()).expect("memory"),
        before.get(&keys::lthash()).expect("memory")
    );
    assert_eq!(c.state.app_hash().expect("hash"), hash);
}
