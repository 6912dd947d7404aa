//! Equivocation evidence (runtime/src/governance/evidence.rs; docs/consensus.md §9):
//! two conflicting messages signed by one validator of the set for one height and
//! round are recorded once, with both messages in the event; anything else is refused
//! with the reason, changing nothing but the fee and nonce.

use crate::governance::{failed, governed, one, voters};
use crate::support::*;
use jeon_runtime::block::{ProposalBody, ValidatorInfo, VoteBody, VoteKind};
use jeon_runtime::governance::evidence::{self, set_that_signed};
use jeon_runtime::governance::{
    self, EquivocationReported, ReportEquivocation, SetHistory, SignedMessage, Validator,
    ValidatorSet,
};
use jeon_runtime::{Call, CallError, Event, Hash, Height, Keypair, MemoryState, Overlay};

fn vote(key: &Keypair, height: Height, round: u32, kind: VoteKind, block: u8) -> SignedMessage {
    let body = VoteBody {
        chain_id: CHAIN,
        height,
        round,
        kind,
        block: (block > 0).then_some(Hash([block; 32])),
    };
    SignedMessage::Vote {
        body,
        signature: key.sign(&body.signing_bytes()),
    }
}

fn proposal(key: &Keypair, height: Height, round: u32, block: u8) -> SignedMessage {
    let body = ProposalBody {
        chain_id: CHAIN,
        height,
        round,
        block: Hash([block; 32]),
        valid_round: None,
    };
    SignedMessage::Proposal {
        body,
        signature: key.sign(&body.signing_bytes()),
    }
}

fn report(validator: &Keypair, a: SignedMessage, b: SignedMessage) -> Call {
    Call::ReportEquivocation(ReportEquivocation {
        validator: validator.address(),
        a: Box::new(a),
        b: Box::new(b),
    })
}

fn reason(e: &CallError) -> String {
    match e {
        CallError::InvalidEvidence { reason } => reason.clone(),
        other => panic!("expected invalid_evidence, got {other:?}"),
    }
}

#[test]
fn two_votes_or_two_proposals_are_recorded_once_with_both_messages() {
    let mut c = governed([1, 1, 1, 1]);
    let [bank, telco, shop, _] = voters(&c);
    // Blocks 1 and 2 happen; then the shop's two prevotes at height 2 are reported.
    let user = c.users[0].address();
    one(&mut c, &bank, transfer(&user, KRW, 1));
    one(&mut c, &bank, transfer(&user, KRW, 1));
    let (a, b) = (
        vote(&shop, 2, 1, VoteKind::Prevote, 0xA),
        vote(&shop, 2, 1, VoteKind::Prevote, 0),
    );
    let r = one(&mut c, &bank, report(&shop, a, b));
    assert!(r.is_success(), "{:?}", r.outcome);
    let expected = EquivocationReported {
        validator: shop.address(),
        reporter: bank.address(),
        height: 2,
        round: 1,
        a: Box::new(a),
        b: Box::new(b),
    };
    assert!(r.events.contains(&Event::EquivocationReported(expected)));
    // Once per (validator, height): another pair at height 2, by another reporter.
    let (pa, pb) = (
        vote(&shop, 2, 3, VoteKind::Precommit, 0xA),
        vote(&shop, 2, 3, VoteKind::Precommit, 0xB),
    );
    let r = one(&mut c, &telco, report(&shop, pa, pb));
    assert_eq!(
        failed(&r),
        &CallError::EvidenceAlreadyReported {
            validator: shop.address(),
            height: 2
        }
    );
    // Two proposals at height 3 by the telco.
    let (pa, pb) = (proposal(&telco, 3, 0, 0xA), proposal(&telco, 3, 0, 0xB));
    let r = one(&mut c, &shop, report(&telco, pa, pb));
    assert!(r.is_success(), "{:?}", r.outcome);
    let all = evidence::evidence(&c.state, None).expect("memory");
    let listed: Vec<_> = all
        .iter()
        .map(|e| (e.validator, e.height, e.reporter))
        .collect();
    let mut want = vec![
        (shop.address(), 2, bank.address()),
        (telco.address(), 3, shop.address()),
    ];
    want.sort_by_key(|w| std::cmp::Reverse(w.0));
    assert_eq!(listed, want);
    let of_telco = evidence::evidence(&c.state, Some(&telco.address())).expect("memory");
    assert_eq!((of_telco.len(), of_telco[0].a, of_telco[0].b), (1, pa, pb));
    assert!(evidence::is_reported(&c.state, &telco.address(), 3).expect("memory"));
}

#[test]
fn evidence_that_proves_nothing_is_refused_with_the_reason_and_changes_nothing() {
    let mut c = governed([1, 1, 1, 1]);
    let [bank, _telco, shop, _] = voters(&c);
    let user = c.users[0].address();
    one(&mut c, &bank, transfer(&user, KRW, 1));
    let outsider = Keypair::from_seed_label("user-1");
    let prevote = |key: &Keypair, h, r, block| vote(key, h, r, VoteKind::Prevote, block);
    let mut other_chain = prevote(&shop, 1, 0, 0xB);
    if let SignedMessage::Vote { body, signature } = &mut other_chain {
        body.chain_id = Hash([1; 32]);
        *signature = shop.sign(&body.signing_bytes());
    }
    let forged = match prevote(&shop, 1, 0, 0xB) {
        SignedMessage::Vote { body, .. } => SignedMessage::Vote {
            body,
            signature: outsider.sign(&body.signing_bytes()),
        },
        p => p,
    };
    let a = prevote(&shop, 1, 0, 0xA);
    let cases: Vec<(&str, Call, &str)> = vec![
        ("same content", report(&shop, a, a), "same content"),
        (
            "a prevote and a precommit",
            report(&shop, a, vote(&shop, 1, 0, VoteKind::Precommit, 0xB)),
            "two of one kind",
        ),
        (
            "a vote and a proposal",
            report(&shop, a, proposal(&shop, 1, 0, 0xB)),
            "two of one kind",
        ),
        (
            "other rounds",
            report(&shop, a, prevote(&shop, 1, 1, 0xB)),
            "round 1",
        ),
        (
            "other chain",
            report(&shop, a, other_chain),
            "another chain",
        ),
        (
            "forged signature",
            report(&shop, a, forged),
            "b's signature does not verify",
        ),
        (
            "not the signer",
            report(&bank, a, prevote(&shop, 1, 0, 0xB)),
            "a's signature",
        ),
        (
            "not a validator",
            report(
                &outsider,
                prevote(&outsider, 1, 0, 1),
                prevote(&outsider, 1, 0, 2),
            ),
            "not in the validator set",
        ),
        (
            "a future height",
            report(
                &shop,
                prevote(&shop, 1_000, 0, 1),
                prevote(&shop, 1_000, 0, 2),
            ),
            "not a signed height",
        ),
        (
            "height zero",
            report(&shop, prevote(&shop, 0, 0, 1), prevote(&shop, 0, 0, 2)),
            "not a signed height",
        ),
    ];
    for (name, call, want) in cases {
        let before = c.state.clone();
        let r = one(&mut c, &bank, call);
        assert!(!r.is_success(), "{name} was accepted");
        let why = reason(failed(&r));
        assert!(why.contains(want), "{name}: {why}");
        let changed: Vec<_> = diff(&before, &c.state)
            .into_keys()
            .filter(|k| k.first() == Some(&jeon_runtime::state::keys::EVIDENCE))
            .collect();
        assert!(changed.is_empty(), "{name} stored evidence");
    }
    assert!(evidence::evidence(&c.state, None)
        .expect("memory")
        .is_empty());
}

fn info(label: &str) -> ValidatorInfo {
    ValidatorInfo {
        key: Keypair::from_seed_label(label).address(),
        power: 1,
    }
}

#[test]
fn the_set_that_signed_a_height_is_the_one_in_effect_or_the_one_before_the_last_change() {
    // Changes took effect with change headers 5 and 10: {a} signed 1..=5... {b} up to
    // 10 (the previous set), {c} after.
    let set = ValidatorSet {
        since: 10,
        validators: vec![Validator {
            name: "c".into(),
            key: info("c").key,
            peer_id: "12D3KooWc".into(),
            power: 1,
        }],
    };
    let history = SetHistory {
        previous: vec![info("b")],
        changes: vec![5, 10],
    };
    let mut state = MemoryState::default();
    let mut ov = Overlay::new(&state);
    ov.put(governance::storage::validator_set(), &set)
        .expect("write");
    ov.put(governance::storage::set_history(), &history)
        .expect("write");
    let (changes, _) = ov.finish().expect("memory");
    state.apply(&changes);
    let at = |h| set_that_signed(&state, h).expect("memory");
    assert_eq!(at(11), Ok(vec![info("c")]));
    assert_eq!(at(10), Ok(vec![info("b")]));
    assert_eq!(at(6), Ok(vec![info("b")]));
    for old in [5, 1] {
        let why = reason(&at(old).expect_err("too old"));
        assert!(why.contains("older than the last change"), "{why}");
    }
}
