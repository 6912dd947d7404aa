//! Read nodes (runtime/src/nodes.rs): a partner registers non-validator node keys under
//! its own identity, within a bound; every refusal names its reason and changes
//! nothing; governance removing a partner takes its nodes in the same block.

use crate::support::*;
use jeon_runtime::execute::execute_block;
use jeon_runtime::governance::{self, Change, Validator, ValidatorSet};
use jeon_runtime::nodes::{self, ReadNode, NODES_PER_PARTNER_MAX};
use jeon_runtime::{calls, events};
use jeon_runtime::{Address, Call, CallError, Event, Keypair, Outcome, Overlay, Receipt};
use proptest::prelude::*;

/// The test consortium with a one-validator set: the bank (power 1).
fn with_bank_validating() -> Consortium {
    let mut c = Consortium::new();
    let set = ValidatorSet {
        since: 1,
        validators: vec![Validator {
            name: "bank".into(),
            key: c.bank.address(),
            peer_id: "12D3KooWbank".into(),
            power: 1,
        }],
    };
    let mut ov = Overlay::new(&c.state);
    ov.put(governance::storage::validator_set(), &set)
        .expect("write");
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
    c
}

fn node_key(i: usize) -> Address {
    Keypair::from_seed_label(&format!("node-{i}")).address()
}

fn register(key: Address) -> Call {
    Call::RegisterNode(calls::RegisterNode { key })
}

fn unregister(key: Address) -> Call {
    Call::UnregisterNode(calls::UnregisterNode { key })
}

fn one(c: &mut Consortium, key: &Keypair, call: Call) -> Receipt {
    let tx = c.tx(key, call);
    c.run(&[tx]).remove(0)
}

fn failed(r: &Receipt) -> CallError {
    match &r.outcome {
        Outcome::Failed(e) => e.clone(),
        other => panic!("expected a failed call, got {other:?}"),
    }
}

#[test]
fn a_partner_registers_and_unregisters_its_read_nodes_with_events_and_queries() {
    let mut c = with_bank_validating();
    let (shop, telco) = (c.shop.address(), c.telco.address());
    let r = one(
        &mut c,
        &Keypair::from_seed_label("shop"),
        register(node_key(0)),
    );
    assert!(r.is_success(), "{:?}", r.outcome);
    assert!(r
        .events
        .contains(&Event::NodeRegistered(events::NodeRegistered {
            partner: shop,
            key: node_key(0),
        })));
    let expected = ReadNode {
        key: node_key(0),
        partner: shop,
        registered_at: 1,
    };
    assert_eq!(nodes::nodes(&c.state).unwrap(), vec![expected.clone()]);
    assert_eq!(nodes::nodes_of(&c.state, &shop).unwrap(), vec![expected]);
    assert!(nodes::nodes_of(&c.state, &telco).unwrap().is_empty());

    // Another partner cannot take it over, nor unregister it.
    let telco_key = Keypair::from_seed_label("telco");
    let r = one(&mut c, &telco_key, register(node_key(0)));
    assert_eq!(
        failed(&r),
        CallError::NodeAlreadyRegistered {
            key: node_key(0),
            partner: shop
        }
    );
    let r = one(&mut c, &telco_key, unregister(node_key(0)));
    assert_eq!(
        failed(&r),
        CallError::NotNodeOwner {
            key: node_key(0),
            partner: shop
        }
    );
    let r = one(&mut c, &telco_key, unregister(node_key(1)));
    assert_eq!(failed(&r), CallError::UnknownNode { key: node_key(1) });

    // Its partner unregisters it.
    let r = one(
        &mut c,
        &Keypair::from_seed_label("shop"),
        unregister(node_key(0)),
    );
    assert!(r.is_success(), "{:?}", r.outcome);
    assert!(r
        .events
        .contains(&Event::NodeUnregistered(events::NodeUnregistered {
            partner: shop,
            key: node_key(0),
        })));
    assert!(nodes::nodes(&c.state).unwrap().is_empty());
    assert!(nodes::node(&c.state, &node_key(0)).unwrap().is_none());
}

#[test]
fn outsiders_validator_keys_bad_keys_and_a_full_partner_are_refused_by_name() {
    let mut c = with_bank_validating();
    let user = Keypair::from_seed_label("user-0");
    let r = one(&mut c, &user, register(node_key(0)));
    assert_eq!(
        failed(&r),
        CallError::NotAPartner {
            account: user.address()
        }
    );
    let shop = Keypair::from_seed_label("shop");
    let bank = c.bank.address();
    let r = one(&mut c, &shop, register(bank));
    assert_eq!(failed(&r), CallError::NodeKeyIsValidator { key: bank });
    // The identity point is a weak (small-order) key.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let r = one(&mut c, &shop, register(Address(weak)));
    assert_eq!(failed(&r), CallError::InvalidNodeKey { key: Address(weak) });
    for i in 0..NODES_PER_PARTNER_MAX {
        let r = one(&mut c, &shop, register(node_key(i)));
        assert!(r.is_success(), "node {i}: {:?}", r.outcome);
    }
    let r = one(&mut c, &shop, register(node_key(NODES_PER_PARTNER_MAX)));
    assert_eq!(
        failed(&r),
        CallError::TooManyNodes {
            partner: shop.address(),
            max: NODES_PER_PARTNER_MAX as u32
        }
    );
    // Unregistering one makes room again.
    assert!(one(&mut c, &shop, unregister(node_key(0))).is_success());
    let r = one(&mut c, &shop, register(node_key(NODES_PER_PARTNER_MAX)));
    assert!(r.is_success(), "{:?}", r.outcome);
    assert_eq!(
        nodes::nodes_of(&c.state, &shop.address()).unwrap().len(),
        NODES_PER_PARTNER_MAX
    );
}

#[test]
fn a_partner_removed_by_governance_loses_its_nodes_in_the_same_block() {
    let mut c = with_bank_validating();
    let shop = Keypair::from_seed_label("shop");
    let telco = Keypair::from_seed_label("telco");
    assert!(one(&mut c, &shop, register(node_key(0))).is_success());
    assert!(one(&mut c, &shop, register(node_key(1))).is_success());
    assert!(one(&mut c, &telco, register(node_key(2))).is_success());
    let bank = Keypair::from_seed_label("bank");
    let propose = Call::Propose(calls::Propose {
        change: Change::RemovePartner {
            account: shop.address(),
        },
        deadline: c.height + 5,
        activation: c.height + 4,
    });
    assert!(one(&mut c, &bank, propose).is_success());
    let vote = Call::Vote(calls::Vote {
        proposal: 0,
        yes: true,
    });
    assert!(one(&mut c, &bank, vote).is_success());
    // Enacted at the end of the block before its activation height.
    let out = execute_block(&c.state, &c.next_ctx(), &[]).expect("memory");
    c.commit(&out);
    let unregistered: Vec<&Event> = out
        .block_events
        .iter()
        .filter(|e| matches!(e, Event::NodeUnregistered(_)))
        .collect();
    assert_eq!(unregistered.len(), 2, "{:?}", out.block_events);
    assert!(matches!(out.block_events[0], Event::ProposalEnacted(_)));
    let left = nodes::nodes(&c.state).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].partner, telco.address());
    assert!(nodes::nodes_of(&c.state, &shop.address())
        .unwrap()
        .is_empty());
}

#[test]
fn a_read_node_key_made_a_validator_by_governance_stops_being_a_read_node() {
    let mut c = with_bank_validating();
    let shop = Keypair::from_seed_label("shop");
    let key = node_key(0);
    assert!(one(&mut c, &shop, register(key)).is_success());
    let bank = Keypair::from_seed_label("bank");
    let changes = [
        Change::AddPartner {
            name: "Node Zero".into(),
            account: key,
            roles: vec![jeon_runtime::Role::Validator],
            jurisdiction: "KR".into(),
        },
        Change::AddValidator {
            name: "node-zero".into(),
            key,
            peer_id: "12D3KooWzero".into(),
            power: 1,
        },
    ];
    for (id, change) in changes.into_iter().enumerate() {
        let propose = Call::Propose(calls::Propose {
            change,
            deadline: c.height + 6,
            activation: c.height + 5,
        });
        assert!(one(&mut c, &bank, propose).is_success());
        let vote = Call::Vote(calls::Vote {
            proposal: id as u64,
            yes: true,
        });
        assert!(one(&mut c, &bank, vote).is_success());
    }
    let mut enacted = Vec::new();
    for _ in 0..2 {
        let out = execute_block(&c.state, &c.next_ctx(), &[]).expect("memory");
        c.commit(&out);
        enacted.extend(out.block_events);
    }
    let gone: Vec<&Event> = enacted
        .iter()
        .filter(|e| matches!(e, Event::NodeUnregistered(n) if n.key == key))
        .collect();
    assert_eq!(gone.len(), 1, "{enacted:?}");
    assert!(nodes::node(&c.state, &key).unwrap().is_none());
    assert!(nodes::nodes_of(&c.state, &shop.address())
        .unwrap()
        .is_empty());
    let set = governance::validator_set(&c.state).unwrap().expect("a set");
    assert!(set.get(&key).is_some(), "{set:?}");
    // And, a validator now, it cannot be registered again.
    let again = one(&mut c, &shop, register(key));
    assert!(
        matches!(failed(&again), CallError::NodeKeyIsValidator { .. }),
        "{again:?}"
    );
}

// ---------------------------------------------------------- properties

const SENDERS: [&str; 4] = ["shop", "telco", "bank", "user-0"];

fn arb_call() -> impl Strategy<Value = Call> {
    let key = prop_oneof![
        (0usize..10).prop_map(node_key),
        Just(Keypair::from_seed_label("bank").address()),
        Just(Address([0; 32])),
    ];
    prop_oneof![key.clone().prop_map(register), key.prop_map(unregister),]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random registrations and unregistrations from partners, a validator and a user,
    /// one per block: a block whose call failed writes exactly what a call failing at
    /// its first check writes (only the fee and nonce), and a partner never holds more
    /// than the bound.
    #[test]
    fn a_failed_node_call_changes_nothing_but_fee_and_nonce(
        steps in proptest::collection::vec((0usize..4, arb_call()), 1..40)
    ) {
        let mut c = with_bank_validating();
        let senders: Vec<Keypair> = SENDERS.iter().map(|n| Keypair::from_seed_label(n)).collect();
        for (who, call) in steps {
            let ctx = c.next_ctx();
            let tx = c.tx(&senders[who], call);
            let out = execute_block(&c.state, &ctx, &[tx]).expect("memory");
            if let Outcome::Failed(_) = out.receipts[0].outcome {
                let noop = c.tx(&senders[who], unregister(node_key(99)));
                let baseline = execute_block(&c.state, &ctx, &[noop]).expect("memory");
                prop_assert!(matches!(baseline.receipts[0].outcome, Outcome::Failed(_)));
                prop_assert_eq!(&out.changes, &baseline.changes);
                prop_assert_eq!(out.app_hash, baseline.app_hash);
            }
            c.commit(&out);
            for s in &senders {
                prop_assert!(nodes::nodes_of(&c.state, &s.address()).unwrap().len() <= NODES_PER_PARTNER_MAX);
            }
            for n in nodes::nodes(&c.state).unwrap() {
                prop_assert!(nodes::nodes_of(&c.state, &n.partner).unwrap().contains(&n));
            }
        }
    }
}
