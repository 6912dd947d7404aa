//! The provable-state tree (`runtime::smt`): incremental batches agree with a rebuild
//! from scratch, and every key proves what the state holds (docs/proofs.md §9).

use proptest::prelude::*;

use jeon_runtime::smt::{self, BeforeLatest, SmtPath};
use jeon_runtime::state::keys;
use jeon_runtime::{Hash, MemoryState, Overlay, StateExt, StateRead};

use crate::support::{app_hash_from_scratch, smt_root_from_scratch};

/// A provable key of the universe the tests draw from: entitlements and attestations.
fn key(i: u8) -> Vec<u8> {
    let prefix = if i.is_multiple_of(2) {
        keys::ENTITLEMENT
    } else {
        keys::ATTESTATION
    };
    let mut k = vec![prefix];
    k.extend_from_slice(&u64::from(i).to_be_bytes());
    k
}

/// Applies one batch (key index -> value, `None` deleting) as one block.
fn apply(state: &mut MemoryState, batch: &[(u8, Option<Vec<u8>>)]) {
    let mut ov = Overlay::new(&*state);
    for (i, v) in batch {
        ov.put_raw(key(*i), v.clone()).expect("memory");
    }
    // A non-provable write too: it must not touch the tree.
    ov.put_raw(vec![keys::NONCE, 1], Some(vec![batch.len() as u8]))
        .expect("memory");
    let (changes, app_hash) = ov.finish().expect("memory");
    state.apply(&changes);
    assert_eq!(state.app_hash().expect("memory"), app_hash);
}

/// The tree nodes stored in a state.
fn nodes(state: &MemoryState) -> Vec<(Vec<u8>, Vec<u8>)> {
    state
        .iter()
        .filter(|(k, _)| k.first() == Some(&keys::SMT_NODE))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every key of the universe proves what `state` holds, against `root`.
fn check_proofs<S: StateRead>(state: &S, root: Hash) {
    for i in 0..=u8::MAX {
        let k = key(i);
        let value = state.get(&k).expect("memory");
        let (path, present) = smt::prove(state, &k).expect("memory");
        assert_eq!(present, value.is_some(), "key {i}");
        let got = smt::root_from_path(&k, value.as_deref(), &path).expect("well formed");
        assert_eq!(got, root, "key {i}");
    }
}

fn batch() -> impl Strategy<Value = Vec<(u8, Option<Vec<u8>>)>> {
    prop::collection::vec(
        (
            any::<u8>(),
            prop::option::weighted(0.7, prop::collection::vec(any::<u8>(), 0..8)),
        ),
        0..24,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn incremental_batches_equal_a_rebuild_and_every_key_proves(
        batches in prop::collection::vec(batch(), 1..6)
    ) {
        let mut state = MemoryState::new();
        for b in &batches {
            let before = state.clone();
            apply(&mut state, b);
            let root = smt::root(&state).expect("memory");
            prop_assert_eq!(root, smt_root_from_scratch(&state));
            prop_assert_eq!(state.app_hash().expect("memory"), app_hash_from_scratch(&state));
            // The same entries written in one batch on an empty state give the very
            // same stored nodes: no stale node survives an update.
            let mut fresh = MemoryState::new();
            let all: Vec<(u8, Option<Vec<u8>>)> = (0..=u8::MAX)
                .filter_map(|i| state.get(&key(i)).expect("memory").map(|v| (i, Some(v))))
                .collect();
            apply(&mut fresh, &all);
            prop_assert_eq!(nodes(&fresh), nodes(&state));
            check_proofs(&state, root);
            // The state before the latest block, as a node proves it at the next head.
            let previous = smt::previous(&state).expect("memory").expect("written");
            prop_assert_eq!(previous.smt_root, smt::root(&before).expect("memory"));
            check_proofs(&BeforeLatest(&state), previous.smt_root);
        }
    }
}

#[test]
fn a_tampered_path_leads_to_another_root() {
    let mut state = MemoryState::new();
    let batch: Vec<_> = (0..40u8).map(|i| (i, Some(vec![i; 3]))).collect();
    apply(&mut state, &batch);
    let root = smt::root(&state).expect("memory");
    let k = key(7);
    let value = state.get(&k).expect("memory").expect("present");
    let (path, present) = smt::prove(&state, &k).expect("memory");
    assert!(present && !path.siblings.is_empty());
    // Another value.
    let got = smt::root_from_path(&k, Some(b"other"), &path).expect("well formed");
    assert_ne!(got, root);
    // Claimed absent.
    assert_ne!(smt::root_from_path(&k, None, &path).ok(), Some(root));
    // A changed sibling.
    let mut bad = path.clone();
    bad.siblings[0].0[0] ^= 1;
    assert_ne!(smt::root_from_path(&k, Some(&value), &bad), Ok(root));
    // A present key with another leaf attached is malformed.
    let with_leaf = SmtPath {
        other_leaf: Some((smt::key_hash(&key(8)), smt::EMPTY)),
        ..path
    };
    assert_eq!(
        smt::root_from_path(&k, Some(&value), &with_leaf),
        Err(smt::SmtPathError::LeafWithValue)
    );
    // An absent key cannot borrow a present key's leaf from elsewhere in the tree.
    let absent = key(200);
    let (apath, present) = smt::prove(&state, &absent).expect("memory");
    assert!(!present);
    assert_eq!(smt::root_from_path(&absent, None, &apath), Ok(root));
    let (kpath, _) = smt::prove(&state, &k).expect("memory");
    let forged = SmtPath {
        siblings: apath.siblings.clone(),
        other_leaf: Some((
            smt::key_hash(&k),
            kpath.other_leaf.map_or(smt::EMPTY, |l| l.1),
        )),
    };
    assert_ne!(smt::root_from_path(&absent, None, &forged), Ok(root));
}

#[test]
fn a_block_without_provable_writes_touches_no_tree_node() {
    let mut state = MemoryState::new();
    apply(&mut state, &[(1, Some(vec![1])), (2, Some(vec![2]))]);
    let before = nodes(&state);
    let mut ov = Overlay::new(&state);
    ov.put_raw(vec![keys::NONCE, 9], Some(vec![1]))
        .expect("memory");
    let (changes, _) = ov.finish().expect("memory");
    assert!(changes
        .entries
        .keys()
        .all(|k| !matches!(k.first(), Some(&keys::SMT_NODE))));
    state.apply(&changes);
    assert_eq!(nodes(&state), before);
}
