//! Governance (runtime/src/governance/; docs/governance.md): proposals pass only above
//! 2/3 of the power, expire at their deadline, take one vote per validator, and take
//! effect at their stated height; a tax-rate change mid-run shows exactly in withholding.

use crate::support::*;
use jeon_runtime::economy::query::jurisdiction;
use jeon_runtime::economy::Jurisdiction;
use jeon_runtime::execute::execute_block;
use jeon_runtime::fees::{FeeMarket, FeeRules, FeeTier};
use jeon_runtime::governance::{
    self, proposal, proposals, validator_set, Change, ProposalStatus, Validator, ValidatorSet,
};
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Address, Call, CallError, Event, Height, Keypair, Outcome, Overlay, Receipt, Role, StateExt,
    VerifiedTx,
};
use proptest::prelude::*;

/// The test consortium with a validator set: the bank, the telco, the shop and the
/// first user, with these powers.
pub(crate) fn governed(powers: [u64; 4]) -> Consortium {
    let mut c = Consortium::new();
    let keys: Vec<Address> = vec![
        c.bank.address(),
        c.telco.address(),
        c.shop.address(),
        c.users[0].address(),
    ];
    let set = ValidatorSet {
        since: 1,
        validators: keys
            .iter()
            .zip(powers)
            .enumerate()
            .filter(|(_, (_, p))| *p > 0)
            .map(|(i, (k, p))| Validator {
                name: format!("v{i}"),
                key: *k,
                peer_id: format!("12D3KooWpeer{i}"),
                power: p,
            })
            .collect(),
    };
    let mut ov = Overlay::new(&c.state);
    ov.put(governance::storage::validator_set(), &set)
        .expect("write");
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
    c
}

/// The four voters of [`governed`], in set order.
pub(crate) fn voters(_c: &Consortium) -> [Keypair; 4] {
    [
        Keypair::from_seed_label("bank"),
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
        Keypair::from_seed_label("user-0"),
    ]
}

fn propose(change: Change, deadline: Height, activation: Height) -> Call {
    Call::Propose(calls::Propose {
        change,
        deadline,
        activation,
    })
}

fn vote(proposal: u64, yes: bool) -> Call {
    Call::Vote(calls::Vote { proposal, yes })
}

fn kr_at(bps: u16) -> Change {
    Change::SetJurisdiction(Jurisdiction {
        code: "KR".into(),
        tax_bps: bps,
        authority: Keypair::from_seed_label("tax-authority").address(),
    })
}

/// Runs one block and returns its receipts and its end-of-block events.
fn block(c: &mut Consortium, txs: &[VerifiedTx]) -> (Vec<Receipt>, Vec<Event>) {
    let out = execute_block(&c.state, &c.next_ctx(), txs).expect("memory");
    c.commit(&out);
    (out.receipts, out.block_events)
}

/// One transaction in its own block; its receipt.
pub(crate) fn one(c: &mut Consortium, key: &Keypair, call: Call) -> Receipt {
    let tx = c.tx(key, call);
    block(c, &[tx]).0.remove(0)
}

/// The transaction from `key` after `before` others of its in the same block.
fn later(c: &Consortium, key: &Keypair, before: u64, call: Call) -> VerifiedTx {
    let nonce = c.state.nonce(&key.address()).expect("nonce");
    verified(sign(key, nonce + before, call))
}

pub(crate) fn failed(r: &Receipt) -> &CallError {
    match &r.outcome {
        Outcome::Failed(e) => e,
        other => panic!("expected a failed call, got {other:?}"),
    }
}

fn status(c: &Consortium, id: u64) -> ProposalStatus {
    proposal(&c.state, id)
        .expect("memory")
        .expect("stored")
        .status
}

fn kr_bps(c: &Consortium) -> u16 {
    jurisdiction(&c.state, "KR")
        .expect("memory")
        .expect("KR")
        .tax_bps
}

#[test]
fn exactly_two_thirds_of_the_power_does_not_pass_and_more_does() {
    // Total 6: the bank's 3 and the telco's 1 are exactly 2/3.
    let mut c = governed([3, 1, 1, 1]);
    let [bank, telco, shop, _] = voters(&c);
    assert!(one(&mut c, &bank, propose(kr_at(500), 20, 20)).is_success());
    assert!(one(&mut c, &bank, vote(0, true)).is_success());
    let r = one(&mut c, &telco, vote(0, true));
    let cast = r
        .events
        .iter()
        .find_map(|e| match e {
            Event::VoteCast(v) => Some(v.clone()),
            _ => None,
        })
        .expect("vote_cast");
    assert_eq!((cast.yes_power, cast.total_power), (4, 6));
    assert_eq!(
        status(&c, 0),
        ProposalStatus::Open,
        "4 of 6 is not above 2/3"
    );
    let r = one(&mut c, &shop, vote(0, true));
    let passed_at = c.height;
    assert!(
        r.events
            .contains(&Event::ProposalPassed(events::ProposalPassed {
                id: 0,
                effective_from: 20
            })),
        "{:?}",
        r.events
    );
    assert_eq!(
        status(&c, 0),
        ProposalStatus::Passed {
            passed_at,
            effective_from: 20
        }
    );
    assert!(!governance::passes(2, 3) && governance::passes(3, 4) && governance::passes(1, 1));
}

#[test]
fn no_votes_holding_a_third_of_the_power_reject_a_proposal() {
    let mut c = governed([1, 1, 1, 0]);
    let [bank, telco, ..] = voters(&c);
    one(&mut c, &bank, propose(kr_at(500), 20, 20));
    one(&mut c, &bank, vote(0, true));
    let r = one(&mut c, &telco, vote(0, false));
    assert!(r
        .events
        .contains(&Event::ProposalRejected(events::ProposalRejected { id: 0 })));
    assert_eq!(
        status(&c, 0),
        ProposalStatus::Rejected {
            rejected_at: c.height
        }
    );
    assert_eq!(kr_bps(&c), TAX_BPS, "nothing changed");
}

#[test]
fn a_validator_cannot_vote_twice_and_others_cannot_vote_or_propose() {
    let mut c = governed([1, 1, 1, 1]);
    let [bank, ..] = voters(&c);
    one(&mut c, &bank, propose(kr_at(500), 20, 20));
    assert!(one(&mut c, &bank, vote(0, true)).is_success());
    let again = one(&mut c, &bank, vote(0, false));
    assert_eq!(
        failed(&again),
        &CallError::AlreadyVoted {
            id: 0,
            validator: bank.address()
        }
    );
    let outsider = Keypair::from_seed_label("user-1");
    let r = one(&mut c, &outsider, vote(0, true));
    assert_eq!(
        failed(&r),
        &CallError::NotAValidator {
            account: outsider.address()
        }
    );
    let r = one(&mut c, &outsider, propose(kr_at(1), 20, 20));
    assert!(matches!(failed(&r), CallError::NotAValidator { .. }));
    let r = one(&mut c, &bank, vote(7, true));
    assert_eq!(failed(&r), &CallError::UnknownProposal { id: 7 });
    // The second vote did not count: one yes of four.
    let p = proposal(&c.state, 0).unwrap().unwrap();
    assert_eq!(p.ballots.len(), 1);
    assert!(p.ballots[0].yes);
}

#[test]
fn a_proposal_still_open_at_its_deadline_expires_with_an_event_and_refuses_later_votes() {
    let mut c = governed([1, 1, 1, 1]);
    let [bank, telco, shop, _] = voters(&c);
    // Proposed in block 1; votes count up to block 3.
    one(&mut c, &bank, propose(kr_at(500), 3, 10));
    one(&mut c, &bank, vote(0, true));
    let tx = c.tx(&telco, vote(0, true));
    let (receipts, end) = block(&mut c, &[tx]);
    assert_eq!(c.height, 3);
    assert!(receipts[0].is_success(), "a vote at the deadline counts");
    assert_eq!(
        end,
        vec![Event::ProposalExpired(events::ProposalExpired {
            id: 0,
            deadline: 3
        })]
    );
    assert_eq!(status(&c, 0), ProposalStatus::Expired { expired_at: 3 });
    let late = one(&mut c, &shop, vote(0, true));
    assert_eq!(
        failed(&late),
        &CallError::VotingClosed {
            id: 0,
            deadline: 3,
            height: 4
        }
    );
    // Nothing was enacted at the activation height either.
    while c.height < 11 {
        block(&mut c, &[]);
    }
    assert_eq!(kr_bps(&c), TAX_BPS);
}

#[test]
fn a_tax_rate_change_is_withheld_at_the_old_rate_before_its_height_and_the_new_rate_from_it() {
    let mut c = governed([1, 1, 1, 1]);
    let [bank, telco, shop, _] = voters(&c);
    const ACTIVATION: Height = 8;
    one(&mut c, &bank, propose(kr_at(500), 6, ACTIVATION));
    let votes = [
        c.tx(&bank, vote(0, true)),
        c.tx(&telco, vote(0, true)),
        c.tx(&shop, vote(0, true)),
    ];
    let (receipts, _) = block(&mut c, &votes);
    assert!(receipts.iter().all(Receipt::is_success));
    assert!(status(&c, 0).has_passed());
    // A user pays 10 000 KRW at the shop in every block up to two past the activation.
    let payer = Keypair::from_seed_label("user-2");
    let shop_addr = c.shop.address();
    while c.height < ACTIVATION + 2 {
        let before = c.balance(&c.tax_authority, KRW);
        let pay = Call::Pay(calls::Pay {
            merchant: shop_addr,
            asset: KRW,
            amount: 10_000,
            reference: String::new(),
        });
        let tx = c.tx(&payer, pay);
        let (receipts, end) = block(&mut c, &[tx]);
        assert!(receipts[0].is_success());
        let withheld = c.balance(&c.tax_authority, KRW) - before;
        let expected = if c.height < ACTIVATION { 1_000 } else { 500 };
        assert_eq!(withheld, expected, "tax withheld in block {}", c.height);
        if c.height == ACTIVATION - 1 {
            assert!(
                matches!(end.first(), Some(Event::ProposalEnacted(e)) if e.effective_from == ACTIVATION),
                "{end:?}"
            );
        } else {
            assert!(end.is_empty(), "{end:?}");
        }
    }
    assert_eq!(
        status(&c, 0),
        ProposalStatus::Enacted {
            passed_at: 2,
            effective_from: ACTIVATION
        }
    );
}

#[test]
fn the_carrier_line_cap_maximum_is_a_governance_parameter() {
    use jeon_runtime::goods::carrier;
    let mut c = governed([1, 0, 0, 0]);
    let bank = Keypair::from_seed_label("bank");
    let default = carrier::CARRIER_LINE_CAP_MAX_DEFAULT;
    assert_eq!(carrier::params(&c.state).unwrap().line_cap_max, default);
    let zero = Change::SetCarrierLineCapMax { amount: 0 };
    assert!(matches!(
        failed(&one(&mut c, &bank, propose(zero, 10, 2))),
        CallError::InvalidChange { .. }
    ));
    let half = Change::SetCarrierLineCapMax {
        amount: default / 2,
    };
    one(&mut c, &bank, propose(half, 10, 2));
    let tx = c.tx(&bank, vote(0, true));
    let (_, end) = block(&mut c, &[tx]);
    assert!(matches!(end.as_slice(), [Event::ProposalEnacted(_)]));
    assert_eq!(carrier::params(&c.state).unwrap().line_cap_max, default / 2);
}

#[test]
fn a_proposal_that_passes_after_its_activation_height_takes_effect_from_the_next_block() {
    let mut c = governed([1, 0, 0, 0]);
    let bank = Keypair::from_seed_label("bank");
    one(&mut c, &bank, propose(kr_at(0), 10, 2));
    block(&mut c, &[]);
    block(&mut c, &[]);
    let tx = c.tx(&bank, vote(0, true));
    let (_, end) = block(&mut c, &[tx]);
    assert_eq!(c.height, 4);
    assert_eq!(
        status(&c, 0),
        ProposalStatus::Enacted {
            passed_at: 4,
            effective_from: 5
        }
    );
    assert!(matches!(end.as_slice(), [Event::ProposalEnacted(_)]));
    assert_eq!(kr_bps(&c), 0);
}

#[test]
fn a_new_partner_joins_the_validator_set_and_an_old_validator_leaves_it_at_the_stated_heights() {
    let mut c = governed([1, 1, 1, 0]);
    let [bank, telco, shop, _] = voters(&c);
    let newcomer = Keypair::from_seed_label("new-telco").address();
    let all_yes = |c: &Consortium, id: u64| {
        [
            c.tx(&bank, vote(id, true)),
            c.tx(&telco, vote(id, true)),
            c.tx(&shop, vote(id, true)),
        ]
    };
    let join = Change::AddPartner {
        name: "New Telco".into(),
        account: newcomer,
        roles: vec![Role::Validator, Role::Issuer],
        jurisdiction: "KR".into(),
    };
    let validate = Change::AddValidator {
        name: "new-telco".into(),
        key: newcomer,
        peer_id: "12D3KooWNewTeLco".into(),
        power: 2,
    };
    // Both proposed at once: the validator needs the partner only when it takes effect.
    let txs = [
        c.tx(&bank, propose(join, 10, 4)),
        c.tx(&telco, propose(validate, 10, 5)),
    ];
    block(&mut c, &txs);
    let votes: Vec<VerifiedTx> = all_yes(&c, 0).into_iter().collect();
    block(&mut c, &votes);
    let votes: Vec<VerifiedTx> = all_yes(&c, 1).into_iter().collect();
    block(&mut c, &votes);
    assert_eq!(c.height, 3);
    let (_, end) = block(&mut c, &[]);
    assert!(
        matches!(end.as_slice(), [Event::ProposalEnacted(_), Event::ValidatorSetChanged(s)]
        if s.effective_from == 5 && s.validators.len() == 4 && s.validators[3].key == newcomer)
    );
    let set = validator_set(&c.state).unwrap().unwrap();
    assert_eq!((set.since, set.total_power()), (5, 5));
    // Consensus lags by one block: block 5 is still signed by the old three, its header
    // names the new set as the next, and block 6 is signed by the new four.
    assert_eq!(c.height, 4);
    let old = governance::consensus_validators(&c.state, 5)
        .unwrap()
        .unwrap();
    assert_eq!(old.len(), 3);
    assert_eq!(
        governance::next_consensus_validators(&c.state).unwrap(),
        Some(set.infos())
    );
    let history = governance::set_history(&c.state).unwrap().unwrap();
    assert_eq!((history.previous, history.changes), (old, vec![5]));
    block(&mut c, &[]);
    assert_eq!(
        governance::consensus_validators(&c.state, 6).unwrap(),
        Some(set.infos())
    );
    assert!(c
        .state
        .partner(&newcomer)
        .unwrap()
        .unwrap()
        .has_role(Role::Validator));

    // Now 5 of power: the bank, telco and shop (3) are not above 2/3 of 5 without it.
    let leave = Change::RemoveValidator {
        key: shop.address(),
    };
    one(&mut c, &bank, propose(leave, 20, 8));
    let votes: Vec<VerifiedTx> = all_yes(&c, 2).into_iter().collect();
    block(&mut c, &votes);
    assert_eq!(
        status(&c, 2),
        ProposalStatus::Open,
        "3 of 5 is not above 2/3"
    );
    while c.height < 7 {
        block(&mut c, &[]);
    }
    let set = validator_set(&c.state).unwrap().unwrap();
    assert_eq!(set.validators.len(), 4, "still open: nothing changed");
    // The shop, removed or not, is no partner to remove while it validates.
    let r = one(
        &mut c,
        &bank,
        propose(
            Change::RemovePartner {
                account: shop.address(),
            },
            20,
            20,
        ),
    );
    assert!(matches!(failed(&r), CallError::InvalidChange { .. }));
}

#[test]
fn a_passed_change_that_no_longer_fits_is_not_enacted_and_changes_nothing() {
    let mut c = governed([1, 0, 0, 0]);
    let bank = Keypair::from_seed_label("bank");
    let shop = c.shop.address();
    let remove = Change::RemovePartner { account: shop };
    let txs = [
        c.tx(&bank, propose(remove.clone(), 10, 3)),
        later(&c, &bank, 1, propose(remove, 10, 4)),
    ];
    block(&mut c, &txs);
    let txs = [
        c.tx(&bank, vote(0, true)),
        later(&c, &bank, 1, vote(1, true)),
    ];
    block(&mut c, &txs);
    assert!(c.state.partner(&shop).unwrap().is_none());
    let (_, end) = block(&mut c, &[]);
    assert_eq!(
        end,
        vec![Event::ProposalNotEnacted(events::ProposalNotEnacted {
            id: 1,
            error: CallError::NotAPartner { account: shop }
        })]
    );
    assert!(matches!(status(&c, 1), ProposalStatus::NotEnacted { .. }));
    let passed = proposals(&c.state, Some("passed")).unwrap();
    assert_eq!(passed.len(), 2);
    assert!(proposals(&c.state, Some("open")).unwrap().is_empty());
}

#[test]
fn a_fee_market_set_by_vote_governs_the_fee_from_its_height_with_the_base_fee_clamped() {
    let mut c = governed([1, 0, 0, 0]);
    let bank = Keypair::from_seed_label("bank");
    let market = FeeMarket {
        base_fee_min: 5,
        base_fee_max: 40,
        target_txs_per_block: 4,
        change_denominator: 8,
        volume_window_blocks: 10,
        tiers: vec![FeeTier {
            min_txs: 3,
            fee_bps: 5_000,
        }],
    };
    let fee_at = |c: &Consortium| {
        let params = c.state.params().unwrap();
        FeeRules::load(&c.state, &params, c.height + 1, 0)
            .unwrap()
            .base_fee
    };
    assert_eq!(fee_at(&c), FEE);
    let txs = [
        c.tx(
            &bank,
            propose(Change::SetFeeMarket(Some(market.clone())), 5, 3),
        ),
        later(&c, &bank, 1, vote(0, true)),
    ];
    block(&mut c, &txs);
    assert_eq!(fee_at(&c), FEE, "block 2 still pays the flat fee");
    block(&mut c, &[]);
    assert_eq!(
        fee_at(&c),
        5,
        "from block 3 the base fee is clamped to the floor"
    );
    let stored: Option<FeeMarket> =
        jeon_runtime::state::read_record(&c.state, &jeon_runtime::fees::storage::fee_market())
            .unwrap();
    assert_eq!(stored, Some(market));
    // Bad values are refused when proposed, naming the field.
    let bad = Change::SetVolumeTiers(vec![FeeTier {
        min_txs: 1,
        fee_bps: 20_000,
    }]);
    let nonce = c.state.nonce(&bank.address()).unwrap();
    let mut b = body(&bank, nonce, propose(bad, 10, 10));
    b.fee_limit = 5;
    let tx = verified(b.sign(&bank));
    let r = block(&mut c, &[tx]).0.remove(0);
    assert!(
        matches!(failed(&r), CallError::InvalidChange { reason } if reason.contains("fee_bps")),
        "{r:?}"
    );
}

#[test]
fn deadlines_and_activations_outside_their_windows_are_refused() {
    let mut c = governed([1, 0, 0, 0]);
    let bank = Keypair::from_seed_label("bank");
    let r = one(&mut c, &bank, propose(kr_at(1), 0, 5));
    assert!(matches!(failed(&r), CallError::BadDeadline { .. }));
    let too_late = 5 + governance::ACTIVATION_DELAY_BLOCKS_MAX + 1;
    let r = one(&mut c, &bank, propose(kr_at(1), 5, too_late));
    assert!(matches!(failed(&r), CallError::BadActivation { .. }));
    let r = one(&mut c, &bank, propose(kr_at(10_001), 5, 5));
    assert!(matches!(failed(&r), CallError::RateTooHigh { .. }));
}

#[test]
fn the_pending_proposals_are_bounded() {
    let mut c = governed([1, 0, 0, 0]);
    let bank = Keypair::from_seed_label("bank");
    let max = governance::PROPOSALS_PENDING_MAX;
    for _ in 0..max {
        assert!(one(&mut c, &bank, propose(kr_at(1), 100, 100)).is_success());
    }
    let r = one(&mut c, &bank, propose(kr_at(1), 100, 100));
    assert_eq!(failed(&r), &CallError::TooManyProposals { max });
}

// ---------------------------------------------------------- properties

const NAMES: [&str; 6] = ["bank", "telco", "shop", "user-0", "user-1", "nobody"];

fn arb_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0u16..12_000).prop_map(|bps| Change::SetJurisdiction(Jurisdiction {
            code: "KR".into(),
            tax_bps: bps,
            authority: Keypair::from_seed_label("tax-authority").address(),
        })),
        (0u64..5).prop_map(|blocks| Change::SetRedemptionWindow { blocks }),
        (0u64..5).prop_map(|amount| Change::SetCarrierLineCapMax { amount }),
        (0usize..6, 0u64..70_000).prop_map(|(who, power)| Change::SetValidatorPower {
            key: Keypair::from_seed_label(NAMES[who]).address(),
            power,
        }),
        (0usize..6).prop_map(|who| Change::RemovePartner {
            account: Keypair::from_seed_label(NAMES[who]).address(),
        }),
        (0usize..6).prop_map(|who| Change::RemoveValidator {
            key: Keypair::from_seed_label(NAMES[who]).address(),
        }),
    ]
}

fn arb_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (arb_change(), 0u64..12, 0u64..12).prop_map(|(c, d, a)| propose(c, d, a)),
        (0u64..4, any::<bool>()).prop_map(|(p, y)| vote(p, y)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random governance calls from validators and outsiders, one per block. Supply is
    /// conserved after every block (checked at each commit), and a block whose call
    /// failed writes exactly what the same block writes with a call that fails at its
    /// first check (a vote on a proposal that cannot exist): only the fee and nonce,
    /// plus whatever the end-of-block sweeps do anyway.
    #[test]
    fn a_failed_governance_call_changes_nothing_but_fee_and_nonce(
        steps in proptest::collection::vec((0usize..5, arb_call()), 1..24)
    ) {
        let mut c = governed([2, 1, 1, 0]);
        let senders: Vec<Keypair> = NAMES[..5].iter().map(|n| Keypair::from_seed_label(n)).collect();
        for (who, call) in steps {
            let ctx = c.next_ctx();
            let tx = c.tx(&senders[who], call);
            let out = execute_block(&c.state, &ctx, &[tx]).expect("memory");
            if let Outcome::Failed(_) = out.receipts[0].outcome {
                let noop = c.tx(&senders[who], vote(u64::MAX, true));
                let baseline = execute_block(&c.state, &ctx, &[noop]).expect("memory");
                prop_assert!(matches!(baseline.receipts[0].outcome, Outcome::Failed(_)));
                prop_assert_eq!(&out.changes, &baseline.changes);
                prop_assert_eq!(out.app_hash, baseline.app_hash);
                prop_assert_eq!(&out.receipts[0].events, &baseline.receipts[0].events);
            }
            c.commit(&out);
        }
    }
}
