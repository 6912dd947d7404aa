//! Step-table tests of the consensus core: each row is an input and the exact effects.

use proptest::prelude::*;

use super::*;

/// The height most tables run at. With four equal validators the proposer of
/// (H, r) is validator (1 + r) mod 4: 1, 2, 3, 0, ...
const H: Height = 1;
const A: BlockId = [0xA; 32];
const B: BlockId = [0xB; 32];

type Table = Vec<(Input, Vec<Effect>)>;

/// Feeds each row's input and asserts the core returns exactly that row's effects.
fn check(core: &mut Core, table: Table) {
    for (row, (input, expected)) in table.into_iter().enumerate() {
        let got = core.handle(input.clone());
        assert_eq!(got, expected, "row {row}: {input:?}");
    }
}

fn set_of(powers: &[u64]) -> ValidatorSet {
    let validators = powers
        .iter()
        .enumerate()
        .map(|(index, &power)| Validator {
            key: [index as u8 + 1; 32],
            power,
        })
        .collect();
    ValidatorSet::new(validators).expect("test validator set is valid")
}

fn four_equal() -> ValidatorSet {
    set_of(&[1, 1, 1, 1])
}

fn core_of(set: ValidatorSet, me: Option<ValidatorIndex>) -> Core {
    Core::new(set, me, TimeoutConfig::default())
}

fn vote(kind: VoteKind, round: Round, block: Option<BlockId>, validator: ValidatorIndex) -> Vote {
    Vote {
        height: H,
        round,
        kind,
        block,
        validator,
    }
}

/// A stand-in signature that differs per vote, so certificates show whose it is.
fn signed(vote: Vote) -> SignedVote {
    let mut signature = [0; 64];
    signature[0] = vote.validator as u8;
    signature[1] = vote.round as u8;
    signature[2] = vote.kind as u8;
    signature[3] = vote.block.map_or(0, |block| block[0]);
    SignedVote { vote, signature }
}

fn prevote(round: Round, block: Option<BlockId>, from: ValidatorIndex) -> Input {
    Input::Vote(signed(vote(VoteKind::Prevote, round, block, from)))
}

fn precommit(round: Round, block: Option<BlockId>, from: ValidatorIndex) -> Input {
    Input::Vote(signed(vote(VoteKind::Precommit, round, block, from)))
}

fn precommit_signed(round: Round, block: BlockId, from: ValidatorIndex) -> SignedVote {
    signed(vote(VoteKind::Precommit, round, Some(block), from))
}

fn proposal(
    round: Round,
    block: BlockId,
    valid_round: Option<Round>,
    from: ValidatorIndex,
) -> Proposal {
    Proposal {
        height: H,
        round,
        block,
        valid_round,
        proposer: from,
    }
}

/// A stand-in for the proposer's signature: the core keeps it, never checks it.
fn proposal_signature(block: BlockId) -> [u8; 64] {
    [block[0]; 64]
}

fn proposed(
    round: Round,
    block: BlockId,
    valid_round: Option<Round>,
    from: ValidatorIndex,
) -> Input {
    Input::Proposal {
        proposal: proposal(round, block, valid_round, from),
        signature: proposal_signature(block),
        valid: true,
    }
}

fn timeout(step: Step, round: Round) -> Input {
    Input::Timeout(Timeout {
        height: H,
        round,
        step,
    })
}

fn sends_prevote(round: Round, block: Option<BlockId>, me: ValidatorIndex) -> Effect {
    Effect::BroadcastVote(vote(VoteKind::Prevote, round, block, me))
}

fn sends_precommit(round: Round, block: Option<BlockId>, me: ValidatorIndex) -> Effect {
    Effect::BroadcastVote(vote(VoteKind::Precommit, round, block, me))
}

fn schedules(step: Step, round: Round) -> Effect {
    let duration_ms = TimeoutConfig::default().duration_ms(step, round);
    Effect::ScheduleTimeout {
        timeout: Timeout {
            height: H,
            round,
            step,
        },
        duration_ms,
    }
}

fn decides(round: Round, block: BlockId, from: &[ValidatorIndex]) -> Effect {
    let certificate = from
        .iter()
        .map(|&v| precommit_signed(round, block, v))
        .collect();
    Effect::Decide {
        height: H,
        round,
        block,
        certificate,
    }
}

// ------------------------------------------------------------------ happy paths

#[test]
fn proposer_builds_proposes_prevotes_precommits_and_decides_with_three_precommits() {
    let mut core = core_of(four_equal(), Some(1));
    check(
        &mut core,
        vec![
            (
                Input::StartHeight(H),
                vec![Effect::GetValue {
                    height: H,
                    round: 0,
                }],
            ),
            (
                Input::ProposeValue {
                    height: H,
                    round: 0,
                    block: A,
                },
                vec![Effect::BroadcastProposal(proposal(0, A, None, 1))],
            ),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 1)]),
            (prevote(0, Some(A), 1), vec![]),
            (prevote(0, Some(A), 0), vec![]),
            (prevote(0, Some(A), 2), vec![sends_precommit(0, Some(A), 1)]),
            (precommit(0, Some(A), 1), vec![]),
            (precommit(0, Some(A), 0), vec![]),
            (precommit(0, Some(A), 3), vec![decides(0, A, &[0, 1, 3])]),
            // Decided: the rest of the height is ignored until the shell starts the next.
            (precommit(0, Some(A), 2), vec![]),
            (timeout(Step::Precommit, 0), vec![]),
        ],
    );
    assert_eq!(core.locked(), Some((0, A)));
    assert_eq!(core.valid(), Some((0, A)));
    assert!(core.is_decided());
    // Height 2, round 0 is validator 2's: we wait for its proposal with a fresh lock.
    let next = Timeout {
        height: H + 1,
        round: 0,
        step: Step::Propose,
    };
    assert_eq!(
        core.handle(Input::StartHeight(H + 1)),
        vec![Effect::ScheduleTimeout {
            timeout: next,
            duration_ms: 1000
        }]
    );
    assert_eq!(
        (core.height(), core.round(), core.step()),
        (H + 1, 0, Step::Propose)
    );
    assert_eq!((core.locked(), core.valid()), (None, None));
}

#[test]
fn non_proposer_prevotes_a_valid_proposal_once() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
            (proposed(0, A, None, 1), vec![]),
            (timeout(Step::Propose, 0), vec![]),
        ],
    );
    assert_eq!(core.step(), Step::Prevote);
}

#[test]
fn non_proposer_prevotes_nil_for_an_invalid_proposal() {
    let mut core = core_of(four_equal(), Some(0));
    let invalid = Input::Proposal {
        proposal: proposal(0, A, None, 1),
        signature: proposal_signature(A),
        valid: false,
    };
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (invalid, vec![sends_prevote(0, None, 0)]),
        ],
    );
}

#[test]
fn non_proposer_prevotes_nil_when_the_proposal_times_out() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (timeout(Step::Propose, 0), vec![sends_prevote(0, None, 0)]),
            // The proposal arrives late: we already prevoted this round.
            (proposed(0, A, None, 1), vec![]),
        ],
    );
}

#[test]
fn full_node_follows_the_rounds_silently_and_decides() {
    let mut core = core_of(four_equal(), None);
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![]),
            (prevote(0, Some(A), 0), vec![]),
            (prevote(0, Some(A), 1), vec![]),
            (prevote(0, Some(A), 2), vec![]),
            (precommit(0, Some(A), 0), vec![]),
            (precommit(0, Some(A), 1), vec![]),
            (precommit(0, Some(A), 3), vec![decides(0, A, &[0, 1, 3])]),
        ],
    );
    assert_eq!(core.locked(), Some((0, A)));
}

// ------------------------------------------------------------------ rounds that fail

/// Round 0 with no proposal: everyone prevotes and precommits nil, then round 1.
fn nil_round_0(me: ValidatorIndex) -> Table {
    vec![
        (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
        (timeout(Step::Propose, 0), vec![sends_prevote(0, None, me)]),
        (prevote(0, None, 0), vec![]),
        (prevote(0, None, 1), vec![]),
        // L44 precommits nil at once; no need to wait for timeout_prevote.
        (prevote(0, None, 2), vec![sends_precommit(0, None, me)]),
        (precommit(0, None, 0), vec![]),
        (precommit(0, None, 1), vec![]),
    ]
}

#[test]
fn a_nil_round_moves_on_to_round_1_and_its_proposer_without_waiting_timeout_precommit() {
    // No block can be decided in round 0 once 2f+1 precommitted nil: round 1 at once.
    let mut bystander = core_of(four_equal(), Some(0));
    check(&mut bystander, nil_round_0(0));
    check(
        &mut bystander,
        vec![(precommit(0, None, 2), vec![schedules(Step::Propose, 1)])],
    );
    assert_eq!((bystander.round(), bystander.step()), (1, Step::Propose));
    // A timeout_precommit of round 0 scheduled earlier no longer acts.
    check(&mut bystander, vec![(timeout(Step::Precommit, 0), vec![])]);
    assert_eq!(bystander.round(), 1);

    // Validator 2 is the proposer of round 1 and asks for a block.
    let mut next_proposer = core_of(four_equal(), Some(2));
    check(&mut next_proposer, nil_round_0(2));
    check(
        &mut next_proposer,
        vec![(
            precommit(0, None, 2),
            vec![Effect::GetValue {
                height: H,
                round: 1,
            }],
        )],
    );
}

#[test]
fn split_precommits_wait_for_timeout_precommit_before_the_next_round() {
    // 2f+1 precommits, but one is for A: A could still gather a quorum, so wait.
    let mut core = core_of(four_equal(), Some(0));
    check(&mut core, nil_round_0(0));
    check(
        &mut core,
        vec![
            (
                precommit(0, Some(A), 2),
                vec![schedules(Step::Precommit, 0)],
            ),
            (
                timeout(Step::Precommit, 0),
                vec![schedules(Step::Propose, 1)],
            ),
        ],
    );
}

#[test]
fn split_prevotes_wait_for_timeout_prevote_then_precommit_nil() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
            (prevote(0, Some(A), 0), vec![]),
            (prevote(0, Some(A), 1), vec![]),
            // L34: 2f+1 prevotes, but for no single value.
            (prevote(0, None, 2), vec![schedules(Step::Prevote, 0)]),
            (timeout(Step::Prevote, 0), vec![sends_precommit(0, None, 0)]),
            // L36 after precommitting: the polka makes A the valid value but not the lock.
            (prevote(0, Some(A), 3), vec![]),
        ],
    );
    assert_eq!(core.locked(), None);
    assert_eq!(core.valid(), Some((0, A)));
}

#[test]
fn polka_seen_in_the_propose_step_locks_only_once_we_have_prevoted() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (prevote(1, Some(A), 1), vec![]),
            (prevote(1, Some(A), 2), vec![schedules(Step::Propose, 1)]),
            // L28 waits for a polka in round 0 that never comes, so we stay in propose.
            (proposed(1, A, Some(0), 2), vec![]),
            // A polka in round 1, but L36 needs step >= prevote.
            (prevote(1, Some(A), 3), vec![]),
        ],
    );
    assert_eq!((core.locked(), core.valid()), (None, None));
    check(
        &mut core,
        vec![(
            timeout(Step::Propose, 1),
            vec![sends_prevote(1, None, 0), sends_precommit(1, Some(A), 0)],
        )],
    );
    assert_eq!(core.locked(), Some((1, A)));
}

// ------------------------------------------------------------------ locking

/// Validator 0 locks on A in round 0, the round fails, and round 1 (proposer 2) starts.
fn locked_on_a_in_round_0() -> Table {
    vec![
        (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
        (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
        (prevote(0, Some(A), 0), vec![]),
        (prevote(0, Some(A), 1), vec![]),
        (prevote(0, Some(A), 2), vec![sends_precommit(0, Some(A), 0)]),
        (precommit(0, Some(A), 0), vec![]),
        (precommit(0, None, 1), vec![]),
        (precommit(0, None, 2), vec![schedules(Step::Precommit, 0)]),
        (
            timeout(Step::Precommit, 0),
            vec![schedules(Step::Propose, 1)],
        ),
    ]
}

#[test]
fn locked_validator_prevotes_nil_for_a_conflicting_block_in_a_later_round() {
    let mut core = core_of(four_equal(), Some(0));
    check(&mut core, locked_on_a_in_round_0());
    assert_eq!(core.locked(), Some((0, A)));
    check(
        &mut core,
        vec![(proposed(1, B, None, 2), vec![sends_prevote(1, None, 0)])],
    );
    assert_eq!(core.locked(), Some((0, A)));
}

#[test]
fn locked_validator_prevotes_the_conflicting_block_with_locking_disabled_for_tests() {
    let mut core = core_of(four_equal(), Some(0));
    core.disable_locking_for_test();
    check(&mut core, locked_on_a_in_round_0());
    check(
        &mut core,
        vec![(proposed(1, B, None, 2), vec![sends_prevote(1, Some(B), 0)])],
    );
}

#[test]
fn locked_validator_prevotes_a_conflicting_block_with_a_polka_newer_than_its_lock() {
    let mut core = core_of(four_equal(), Some(0));
    check(&mut core, locked_on_a_in_round_0());
    check(
        &mut core,
        vec![
            // Round 1: we miss the proposal of B; others' round-1 precommits end the round.
            (timeout(Step::Propose, 1), vec![sends_prevote(1, None, 0)]),
            (prevote(1, Some(B), 1), vec![]),
            (precommit(1, None, 1), vec![]),
            (precommit(1, None, 2), vec![]),
            // 2f+1 precommits for nil: round 2 at once, not after timeout_precommit.
            (precommit(1, None, 3), vec![schedules(Step::Propose, 2)]),
            // Round 2: B re-proposed with valid round 1. L28 waits for the polka in round 1.
            (proposed(2, B, Some(1), 3), vec![]),
            (prevote(1, Some(B), 2), vec![]),
            (prevote(1, Some(B), 3), vec![sends_prevote(2, Some(B), 0)]),
        ],
    );
    // Prevoting does not move the lock; only a polka in the current round does (L36).
    assert_eq!(core.locked(), Some((0, A)));
}

#[test]
fn locked_validator_prevotes_nil_for_a_block_whose_polka_is_older_than_its_lock() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            // Round 0: B gets a polka we see too late to precommit.
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (timeout(Step::Propose, 0), vec![sends_prevote(0, None, 0)]),
            (prevote(0, Some(B), 1), vec![]),
            (prevote(0, Some(B), 2), vec![]),
            (prevote(0, Some(B), 3), vec![schedules(Step::Prevote, 0)]),
            (timeout(Step::Prevote, 0), vec![sends_precommit(0, None, 0)]),
            (precommit(0, None, 1), vec![]),
            (precommit(0, None, 2), vec![]),
            // 2f+1 precommits for nil: round 1 at once, not after timeout_precommit.
            (precommit(0, None, 3), vec![schedules(Step::Propose, 1)]),
            // Round 1: we lock on A.
            (proposed(1, A, None, 2), vec![sends_prevote(1, Some(A), 0)]),
            (prevote(1, Some(A), 0), vec![]),
            (prevote(1, Some(A), 1), vec![]),
            (prevote(1, Some(A), 2), vec![sends_precommit(1, Some(A), 0)]),
            (precommit(1, None, 1), vec![]),
            (precommit(1, None, 2), vec![]),
            // 2f+1 precommits for nil: round 2 at once, not after timeout_precommit.
            (precommit(1, None, 3), vec![schedules(Step::Propose, 2)]),
            // Round 2: B with valid round 0 < our locked round 1: L29 refuses it.
            (proposed(2, B, Some(0), 3), vec![sends_prevote(2, None, 0)]),
        ],
    );
    assert_eq!(core.locked(), Some((1, A)));
}

#[test]
fn proposer_with_a_valid_value_re_proposes_it_with_its_valid_round() {
    let mut core = core_of(four_equal(), Some(2));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 2)]),
            (prevote(0, Some(A), 0), vec![]),
            (prevote(0, Some(A), 1), vec![]),
            (prevote(0, Some(A), 2), vec![sends_precommit(0, Some(A), 2)]),
            (precommit(0, None, 0), vec![]),
            (precommit(0, None, 1), vec![]),
            (
                precommit(0, Some(A), 2),
                vec![schedules(Step::Precommit, 0)],
            ),
            // L14-15: round 1 is ours; no getValue, A again with valid round 0.
            (
                timeout(Step::Precommit, 0),
                vec![Effect::BroadcastProposal(proposal(1, A, Some(0), 2))],
            ),
            // Fed back, L28 accepts it: the polka of round 0 is held.
            (
                proposed(1, A, Some(0), 2),
                vec![sends_prevote(1, Some(A), 2)],
            ),
        ],
    );
}

// ------------------------------------------------------------------ counting

#[test]
fn two_precommits_do_not_decide_and_the_third_does() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
            (precommit(0, Some(A), 1), vec![]),
            (precommit(0, Some(A), 2), vec![]),
            (precommit(0, Some(A), 3), vec![decides(0, A, &[1, 2, 3])]),
        ],
    );
}

#[test]
fn duplicates_count_once_and_an_equivocator_counts_once_per_value() {
    let mut core = core_of(four_equal(), Some(0));
    let mut resigned = precommit_signed(0, A, 1);
    resigned.signature[63] = 0xFF;
    let nil_by_2 = signed(vote(VoteKind::Precommit, 0, None, 2));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
            (precommit(0, Some(A), 1), vec![]),
            // A repeat, and the same vote with other signature bytes, change nothing.
            (precommit(0, Some(A), 1), vec![]),
            (Input::Vote(resigned), vec![]),
            (Input::Vote(nil_by_2), vec![]),
            // Validator 2 equivocates: its vote for A counts for A (once), its nil
            // vote for nil; in the total it counts once. A has 1 and 2: no quorum.
            (precommit(0, Some(A), 2), vec![]),
            (precommit(0, Some(A), 2), vec![]),
            // With 3, A has three of four: decided, with the three votes for A.
            (precommit(0, Some(A), 3), vec![decides(0, A, &[1, 2, 3])]),
            // Decided: a fourth changes nothing.
            (precommit(0, Some(A), 0), vec![]),
        ],
    );
    assert_eq!(
        core.equivocations(),
        &[Equivocation::Votes {
            first: nil_by_2,
            second: precommit_signed(0, A, 2)
        }]
    );
}

#[test]
fn a_proposer_signing_two_blocks_for_one_round_is_reported_with_both_signatures() {
    let mut core = core_of(four_equal(), Some(0));
    const C: BlockId = [0xC; 32];
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
            // The same proposal again is a re-delivery, not evidence.
            (proposed(0, A, None, 1), vec![]),
            // Another block from the same proposer for the same round: evidence, held
            // (so a quorum for B could still decide it), no new vote.
            (proposed(0, B, None, 1), vec![]),
            // Another round's proposal by its own proposer is no equivocation.
            (proposed(1, C, None, 2), vec![]),
        ],
    );
    let first = (proposal(0, A, None, 1), proposal_signature(A));
    let second = (proposal(0, B, None, 1), proposal_signature(B));
    assert_eq!(
        core.equivocations(),
        &[Equivocation::Proposals { first, second }]
    );
    let evidence = core.equivocations()[0];
    assert_eq!(
        (evidence.validator(), evidence.height(), evidence.round()),
        (1, H, 0)
    );
    // Both blocks are held: precommits for B decide B.
    check(
        &mut core,
        vec![
            (precommit(0, Some(B), 1), vec![]),
            (precommit(0, Some(B), 2), vec![]),
            (precommit(0, Some(B), 3), vec![decides(0, B, &[1, 2, 3])]),
        ],
    );
    // A new height forgets the evidence (the shell has taken it by then).
    core.handle(Input::StartHeight(H + 1));
    assert!(core.equivocations().is_empty());
}

#[test]
fn an_equivocator_heard_in_different_orders_gives_every_node_the_same_quorum() {
    // Two nodes hear validator 3's two prevotes (A and B) in opposite orders. With
    // first-vote-only counting, one would see a polka for A and the other none.
    for order in [[Some(A), Some(B)], [Some(B), Some(A)]] {
        let mut core = core_of(four_equal(), Some(0));
        let mut rows = vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)]),
            (prevote(0, Some(A), 0), vec![]),
            (prevote(0, Some(A), 1), vec![]),
        ];
        rows.push((
            prevote(0, order[0], 3),
            if order[0] == Some(A) {
                vec![sends_precommit(0, Some(A), 0)]
            } else {
                vec![schedules(Step::Prevote, 0)]
            },
        ));
        rows.push((
            prevote(0, order[1], 3),
            if order[1] == Some(A) {
                vec![sends_precommit(0, Some(A), 0)]
            } else {
                vec![]
            },
        ));
        check(&mut core, rows);
        assert_eq!(
            core.locked(),
            Some((0, A)),
            "locked on A whatever the order {order:?}"
        );
    }
}

#[test]
fn unequal_powers_count_by_power_not_by_heads() {
    // Total 7: quorum 5, f+1 = 3. Proposer sequence 0,1,0,2,0,3,0, so (H, 0) is 1's.
    let mut core = core_of(set_of(&[4, 1, 1, 1]), Some(2));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 2)]),
            (precommit(0, Some(A), 1), vec![]),
            (precommit(0, Some(A), 2), vec![]),
            // Three of four validators, but only 3 of 7 power: nothing, not even L47.
            (precommit(0, Some(A), 3), vec![]),
            (precommit(0, Some(A), 0), vec![decides(0, A, &[0, 1, 2, 3])]),
        ],
    );

    let mut skipper = core_of(set_of(&[4, 1, 1, 1]), Some(2));
    check(
        &mut skipper,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            // Validators 1 and 3 hold 2 < f+1 power: not enough to skip.
            (prevote(7, None, 1), vec![]),
            (prevote(7, None, 3), vec![]),
            // Validator 0 alone holds 4 >= f+1: it must include an honest validator.
            // Round 3 is validator 0's to propose (slot 4 of the sequence): we wait for it.
            (prevote(3, None, 0), vec![schedules(Step::Propose, 3)]),
        ],
    );
    assert_eq!(skipper.round(), 3);
}

// ------------------------------------------------------------------ round skipping

#[test]
fn f_plus_one_messages_from_a_higher_round_skip_to_it() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (prevote(5, None, 1), vec![]),
            // The same validator again counts once.
            (precommit(5, None, 1), vec![]),
            // Two of four: more than the one a faulty validator could be. Proposer of
            // (H, 5) is 2, so we wait for it, 1000 + 5 * 250 ms.
            (prevote(5, Some(A), 2), vec![schedules(Step::Propose, 5)]),
        ],
    );
    assert_eq!((core.round(), core.step()), (5, Step::Propose));
    assert_eq!(
        schedules(Step::Propose, 5),
        Effect::ScheduleTimeout {
            timeout: Timeout {
                height: H,
                round: 5,
                step: Step::Propose
            },
            duration_ms: 2250,
        }
    );
}

#[test]
fn messages_beyond_the_round_window_are_dropped() {
    let mut core = core_of(four_equal(), Some(0));
    let beyond = ROUNDS_AHEAD_MAX + 1;
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (prevote(beyond, None, 1), vec![]),
            (prevote(beyond, None, 2), vec![]),
            (prevote(beyond, None, 3), vec![]),
            (prevote(ROUNDS_AHEAD_MAX, None, 1), vec![]),
            (
                prevote(ROUNDS_AHEAD_MAX, None, 3),
                vec![schedules(Step::Propose, ROUNDS_AHEAD_MAX)],
            ),
        ],
    );
    assert_eq!(core.round(), ROUNDS_AHEAD_MAX);
}

#[test]
fn skipping_into_a_round_acts_on_the_proposal_already_held_for_it() {
    let mut core = core_of(four_equal(), Some(0));
    check(
        &mut core,
        vec![
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            // Round 2's proposal arrives early; it counts as one message of round 2.
            (proposed(2, A, None, 3), vec![]),
            (
                prevote(2, Some(A), 1),
                vec![schedules(Step::Propose, 2), sends_prevote(2, Some(A), 0)],
            ),
        ],
    );
}

// ------------------------------------------------------------------ ignored inputs

#[test]
fn inputs_before_start_for_other_heights_from_wrong_senders_or_stale_are_ignored() {
    let mut core = core_of(four_equal(), Some(0));
    let other_height = Proposal {
        height: H + 1,
        ..proposal(0, A, None, 2)
    };
    let outsider = Input::Vote(signed(vote(VoteKind::Prevote, 0, None, 4)));
    let future = Input::Vote(signed(Vote {
        height: H + 1,
        ..vote(VoteKind::Prevote, 0, None, 1)
    }));
    check(
        &mut core,
        vec![
            (prevote(0, None, 1), vec![]),
            (proposed(0, A, None, 1), vec![]),
            (timeout(Step::Propose, 0), vec![]),
            (Input::StartHeight(H), vec![schedules(Step::Propose, 0)]),
            (proposed(0, A, None, 2), vec![]),
            (
                Input::Proposal {
                    proposal: other_height,
                    signature: proposal_signature(A),
                    valid: true,
                },
                vec![],
            ),
            (outsider.clone(), vec![]),
            (outsider, vec![]),
            (future.clone(), vec![]),
            (future, vec![]),
            (timeout(Step::Propose, 1), vec![]),
            (timeout(Step::Prevote, 0), vec![]),
            (
                Input::Timeout(Timeout {
                    height: H + 1,
                    round: 0,
                    step: Step::Propose,
                }),
                vec![],
            ),
            (
                Input::ProposeValue {
                    height: H,
                    round: 0,
                    block: B,
                },
                vec![],
            ),
            (Input::StartHeight(H - 1), vec![]),
        ],
    );
    assert_eq!(
        (core.height(), core.round(), core.step()),
        (H, 0, Step::Propose)
    );
    check(
        &mut core,
        vec![(proposed(0, A, None, 1), vec![sends_prevote(0, Some(A), 0)])],
    );
}

#[test]
fn proposer_ignores_block_answers_for_other_rounds_or_already_answered() {
    let mut core = core_of(four_equal(), Some(1));
    check(
        &mut core,
        vec![
            (
                Input::StartHeight(H),
                vec![Effect::GetValue {
                    height: H,
                    round: 0,
                }],
            ),
            (
                Input::ProposeValue {
                    height: H,
                    round: 1,
                    block: A,
                },
                vec![],
            ),
            (
                Input::ProposeValue {
                    height: H + 1,
                    round: 0,
                    block: A,
                },
                vec![],
            ),
            (
                Input::ProposeValue {
                    height: H,
                    round: 0,
                    block: A,
                },
                vec![Effect::BroadcastProposal(proposal(0, A, None, 1))],
            ),
            (
                Input::ProposeValue {
                    height: H,
                    round: 0,
                    block: B,
                },
                vec![],
            ),
        ],
    );
}

// ------------------------------------------------------------------ timeouts

#[test]
fn timeouts_grow_by_delta_per_round_and_stop_at_the_cap() {
    let config = TimeoutConfig::default();
    let rows = [
        (Step::Propose, 0, 1000),
        (Step::Prevote, 0, 500),
        (Step::Precommit, 0, 500),
        (Step::Propose, 4, 2000),
        (Step::Prevote, 1, 750),
        (Step::Precommit, 38, 10_000),
        (Step::Propose, 36, 10_000),
        (Step::Propose, 37, 10_000),
        (Step::Prevote, Round::MAX, 10_000),
    ];
    for (step, round, expected_ms) in rows {
        assert_eq!(
            config.duration_ms(step, round),
            expected_ms,
            "{step:?} at round {round}"
        );
    }
    let huge = TimeoutConfig {
        delta_ms: u64::MAX,
        max_ms: u64::MAX,
        ..config
    };
    assert_eq!(huge.duration_ms(Step::Propose, 2), u64::MAX);
}

// ------------------------------------------------------------------ validator set

#[test]
fn validator_set_rejects_empty_zero_power_duplicates_and_too_much_power() {
    let v = |key: u8, power: u64| Validator {
        key: [key; 32],
        power,
    };
    let rows = [
        (vec![], ValidatorSetError::Empty),
        (
            vec![v(1, 1), v(2, 0)],
            ValidatorSetError::ZeroPower { index: 1 },
        ),
        (
            vec![v(1, 1), v(2, 1), v(1, 1)],
            ValidatorSetError::DuplicateKey {
                first: 0,
                repeat: 2,
            },
        ),
        (
            vec![v(1, VOTING_POWER_TOTAL_MAX), v(2, 1)],
            ValidatorSetError::TotalPowerTooLarge {
                total: VOTING_POWER_TOTAL_MAX + 1,
            },
        ),
        (
            vec![v(1, u64::MAX), v(2, 1)],
            ValidatorSetError::TotalPowerTooLarge { total: u64::MAX },
        ),
    ];
    for (validators, expected) in rows {
        assert_eq!(ValidatorSet::new(validators), Err(expected));
    }
    let many = (0..=VALIDATORS_MAX)
        .map(|i| Validator {
            key: [i as u8; 32],
            power: 1,
        })
        .collect();
    let count = VALIDATORS_MAX + 1;
    assert_eq!(
        ValidatorSet::new(many),
        Err(ValidatorSetError::TooManyValidators { count })
    );
    assert!(ValidatorSet::new(vec![v(1, VOTING_POWER_TOTAL_MAX)]).is_ok());
}

#[test]
fn validator_set_keeps_the_given_order() {
    let set = set_of(&[3, 1, 2]);
    assert_eq!(set.len(), 3);
    assert_eq!(set.index_of(&[2; 32]), Some(1));
    assert_eq!(set.index_of(&[9; 32]), None);
    assert_eq!(
        set.get(2),
        Some(&Validator {
            key: [3; 32],
            power: 2
        })
    );
    assert_eq!(set.get(3), None);
    assert_eq!((set.power(0), set.power(3), set.total_power()), (3, 0, 6));
}

#[test]
fn quorum_is_more_than_two_thirds_and_f_plus_one_is_total_minus_quorum_plus_one() {
    // (powers, quorum_threshold, honest_threshold)
    let rows: [(&[u64], u64, u64); 7] = [
        (&[1], 1, 1),
        (&[1, 1, 1], 3, 1),
        (&[1, 1, 1, 1], 3, 2),
        (&[1; 6], 5, 2),
        (&[25, 25, 25, 25], 67, 34),
        (&[10, 20, 30, 40], 67, 34),
        (&[4, 1, 1, 1], 5, 3),
    ];
    for (powers, quorum, honest) in rows {
        let set = set_of(powers);
        assert_eq!(
            (set.quorum_threshold(), set.honest_threshold()),
            (quorum, honest),
            "{powers:?}"
        );
    }
    for total in 1..=600_u64 {
        let set = set_of(&[total]);
        let (quorum, honest) = (set.quorum_threshold(), set.honest_threshold());
        assert!(
            3 * quorum > 2 * total && 3 * (quorum - 1) <= 2 * total,
            "total {total}"
        );
        // Every f+1 set meets every quorum, and it equals floor((total - 1) / 3) + 1.
        assert_eq!(honest + quorum, total + 1);
        assert_eq!(honest, (total - 1) / 3 + 1);
    }
}

#[test]
fn equal_powers_rotate_the_proposer_by_height_plus_round() {
    let set = four_equal();
    for height in 0..8 {
        for round in 0..8 {
            let expected = ((height + u64::from(round)) % 4) as ValidatorIndex;
            assert_eq!(set.proposer(height, round), expected);
        }
    }
    assert_eq!(
        set.proposer(u64::MAX, Round::MAX),
        ((u64::MAX % 4 + 3) % 4) as ValidatorIndex
    );
}

#[test]
fn weighted_proposers_are_interleaved_smoothly() {
    let set = set_of(&[5, 1, 1]);
    let sequence: Vec<ValidatorIndex> = (0..7).map(|height| set.proposer(height, 0)).collect();
    assert_eq!(sequence, [0, 0, 1, 0, 2, 0, 0]);
}

proptest! {
    #[test]
    fn each_validator_proposes_power_times_in_any_total_power_consecutive_slots(
        powers in prop::collection::vec(1_u64..=20, 1..=8),
        start in any::<u64>(),
        round in any::<u32>(),
    ) {
        let set = set_of(&powers);
        let mut counts = vec![0_u64; powers.len()];
        for offset in 0..set.total_power() {
            let proposer = set.proposer(start.wrapping_add(offset), round);
            counts[usize::from(proposer)] += 1;
        }
        prop_assert_eq!(counts, powers);
    }

    #[test]
    fn a_single_validator_decides_its_own_block_without_any_timeout(
        block in any::<[u8; 32]>(),
        height in any::<u64>(),
    ) {
        let mut core = core_of(set_of(&[1]), Some(0));
        let at = |kind| Vote { height, round: 0, kind, block: Some(block), validator: 0 };
        let (prevote, precommit) = (signed(at(VoteKind::Prevote)), signed(at(VoteKind::Precommit)));
        let proposal = Proposal { height, round: 0, block, valid_round: None, proposer: 0 };
        let table = vec![
            (Input::StartHeight(height), vec![Effect::GetValue { height, round: 0 }]),
            (Input::ProposeValue { height, round: 0, block }, vec![Effect::BroadcastProposal(proposal)]),
            (Input::Proposal { proposal, signature: [0; 64], valid: true }, vec![Effect::BroadcastVote(prevote.vote)]),
            (Input::Vote(prevote), vec![Effect::BroadcastVote(precommit.vote)]),
            (
                Input::Vote(precommit),
                vec![Effect::Decide { height, round: 0, block, certificate: vec![precommit] }],
            ),
        ];
        check(&mut core, table);
    }

    #[test]
    fn any_delivery_order_with_duplicates_decides_the_same_block_once(
        messages in Just(quorum_messages()).prop_shuffle(),
    ) {
        let mut core = core_of(four_equal(), None);
        core.handle(Input::StartHeight(H));
        let decisions: Vec<Effect> = messages
            .into_iter()
            .flat_map(|input| core.handle(input))
            .filter(|effect| matches!(effect, Effect::Decide { .. }))
            .collect();
        prop_assert_eq!(decisions.len(), 1);
        let Effect::Decide { height, round, block, certificate } = &decisions[0] else {
            unreachable!("filtered to decisions");
        };
        prop_assert_eq!((*height, *round, *block), (H, 0, A));
        prop_assert!(certificate.len() >= 3);
        prop_assert!(certificate.windows(2).all(|pair| pair[0].vote.validator < pair[1].vote.validator));
        prop_assert!(certificate.iter().all(|signed| signed.vote == vote(VoteKind::Precommit, 0, Some(A), signed.vote.validator)));
    }
}

/// Round 0's proposal, everyone's prevotes and precommits for A, and duplicates.
fn quorum_messages() -> Vec<Input> {
    let mut messages = vec![proposed(0, A, None, 1), proposed(0, A, None, 1)];
    for validator in 0..4 {
        messages.push(prevote(0, Some(A), validator));
        messages.push(precommit(0, Some(A), validator));
        messages.push(precommit(0, Some(A), validator));
    }
    messages
}

#[test]
fn a_validator_restarted_with_its_persisted_lock_does_not_prevote_against_it() {
    // It precommitted A in round 0, crashed, and restarts in round 1 (validator 1's
    // round to propose) with the lock its signer guard persisted.
    let mut core = core_of(four_equal(), Some(0));
    let effects = core.restart_at(H, 1, Some((0, A)));
    assert_eq!(effects, vec![schedules(Step::Propose, 1)]);
    assert_eq!(core.locked(), Some((0, A)));
    check(
        &mut core,
        vec![(proposed(1, B, None, 2), vec![sends_prevote(1, None, 0)])],
    );
}
