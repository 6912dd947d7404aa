//! State and access proofs (docs/proofs.md §9, §10): a certified header opens one
//! provable entry (or its absence); each way of tampering has its own refusal; an
//! access proof is refused when copied, replayed, stale, for another product, for an
//! absent (revoked) or expired pass.

use jeon_runtime::block::{validators_hash, Header};
use jeon_runtime::crypto::sha256;
use jeon_runtime::goods::{self, Entitlement};
use jeon_runtime::proof::{self, AccessError, AccessPolicy, AccessProof, ProofError, StateProof};
use jeon_runtime::smt;
use jeon_runtime::state::keys;
use jeon_runtime::{Hash, Keypair, MemoryState, Overlay, StateExt, StateRead};

use crate::support::{certify, validator_keys, validator_set, CHAIN};

const EXPIRES_MS: u64 = 2_000_000;
const CERTIFIED_MS: u64 = 1_000_000;

fn alice() -> Keypair {
    Keypair::from_seed_label("alice")
}

/// A state with 40 entitlements (ids 0..40; product = id % 3; alice owns them all).
fn state() -> MemoryState {
    let mut state = MemoryState::new();
    let mut ov = Overlay::new(&state);
    for id in 0..40u64 {
        let e = Entitlement {
            id,
            product: id % 3,
            bundle: None,
            owner: alice().address(),
            merchant: Keypair::from_seed_label("studio").address(),
            expires_at_ms: Some(EXPIRES_MS),
            paid: 330_000,
            issued_at: 1,
            offer: None,
            mandate: None,
        };
        ov.put(goods::storage::entitlement(id), &e).unwrap();
    }
    let (changes, _) = ov.finish().unwrap();
    state.apply(&changes);
    state
}

/// The proof of `key` in `state`, certified by a header at height 2 whose app hash is
/// the state's.
fn prove(state: &MemoryState, key: &[u8]) -> StateProof {
    let header = Header {
        chain_id: CHAIN,
        height: 2,
        prev_hash: Hash([1; 32]),
        time_ms: CERTIFIED_MS,
        proposer: validator_keys()[0].address(),
        tx_root: Hash::ZERO,
        receipts_root: Hash::ZERO,
        app_hash: state.app_hash().unwrap(),
        validators_hash: validators_hash(&validator_set()),
        next_validators_hash: validators_hash(&validator_set()),
    };
    let certificate = certify(&header, &validator_keys()[..3]);
    let acc = state.get(&keys::lthash()).unwrap().unwrap();
    let (path, _) = smt::prove(state, key).unwrap();
    StateProof {
        key: key.to_vec(),
        value: state.get(key).unwrap(),
        path,
        lthash_digest: sha256(&[&acc]),
        header,
        certificate,
        validator_changes: Vec::new(),
    }
}

fn check(p: &StateProof) -> Result<proof::StateVerified, ProofError> {
    proof::verify_state(p, &CHAIN, &validator_set())
}

#[test]
fn present_and_absent_entries_verify_and_every_tamper_is_refused() {
    let s = state();
    let present = prove(&s, &goods::storage::entitlement(7));
    let v = check(&present).unwrap();
    assert_eq!((v.height, v.certified_by), (1, 2));
    assert!(v.value.is_some());
    let absent = prove(&s, &goods::storage::entitlement(99));
    assert_eq!(check(&absent).unwrap().value, None);
    assert_eq!(StateProof::decode(&present.encode()), Ok(present.clone()));

    let not_committed = |p: &StateProof| {
        assert!(
            matches!(check(p), Err(ProofError::StateNotCommitted { height: 2 })),
            "{:?}",
            check(p)
        );
    };
    let mut p = present.clone();
    p.value.as_mut().unwrap()[0] ^= 1;
    not_committed(&p);
    let mut p = present.clone();
    p.path.siblings[0].0[31] ^= 1;
    not_committed(&p);
    let mut p = present.clone();
    p.lthash_digest.0[0] ^= 1;
    not_committed(&p);
    // A present entry claimed absent, an absent one claimed present.
    let mut p = present.clone();
    p.value = None;
    not_committed(&p);
    let mut p = absent.clone();
    p.value = Some(vec![1]);
    assert!(check(&p).is_err());
    // Another root in the header: its hash changes, and the app hash no longer matches.
    let mut p = present.clone();
    p.header.app_hash.0[0] ^= 1;
    not_committed(&p);
    // The header for another chain, a weak certificate, a key outside the tree.
    let mut p = present.clone();
    p.header.chain_id = Hash([9; 32]);
    assert!(matches!(check(&p), Err(ProofError::WrongChain { .. })));
    let mut p = present.clone();
    p.certificate = certify(&p.header, &validator_keys()[..2]);
    assert!(matches!(check(&p), Err(ProofError::Certificate { .. })));
    let mut p = present.clone();
    p.header.time_ms += 1;
    assert!(matches!(check(&p), Err(ProofError::Certificate { .. })));
    let p = prove(&s, &keys::nonce(&alice().address()));
    assert!(matches!(check(&p), Err(ProofError::KeyNotProvable { .. })));
    let mut p = present;
    p.path.siblings = vec![Hash([1; 32]); 257];
    assert!(matches!(check(&p), Err(ProofError::StatePath(_))));
}

fn policy(product: u64) -> AccessPolicy {
    AccessPolicy {
        product,
        challenge: b"nonce-1".to_vec(),
        now_ms: CERTIFIED_MS + 10_000,
        max_age_ms: 60_000,
    }
}

fn access(p: &AccessProof, policy: &AccessPolicy) -> Result<Entitlement, AccessError> {
    proof::verify_access(p, &CHAIN, &validator_set(), policy).map(|v| v.entitlement)
}

#[test]
fn an_access_proof_is_refused_when_copied_replayed_stale_absent_or_expired() {
    let s = state();
    let state_proof = prove(&s, &goods::storage::entitlement(7)); // product 1
    let good = proof::sign_access(state_proof.clone(), b"nonce-1".to_vec(), &alice()).unwrap();
    assert_eq!(access(&good, &policy(1)).unwrap().id, 7);
    assert_eq!(AccessProof::decode(&good.encode()), Ok(good.clone()));

    let copied = proof::sign_access(
        state_proof.clone(),
        b"nonce-1".to_vec(),
        &Keypair::from_seed_label("bob"),
    )
    .unwrap();
    assert!(matches!(
        access(&copied, &policy(1)),
        Err(AccessError::NotSignedByOwner { .. })
    ));
    assert!(matches!(
        access(&good, &policy(2)),
        Err(AccessError::WrongProduct {
            expected: 2,
            got: 1,
            ..
        })
    ));
    let mut other = policy(1);
    other.challenge = b"nonce-2".to_vec();
    assert_eq!(access(&good, &other), Err(AccessError::ChallengeMismatch));
    let mut late = policy(1);
    late.now_ms = EXPIRES_MS;
    late.max_age_ms = u64::MAX;
    assert!(matches!(
        access(&good, &late),
        Err(AccessError::Expired { .. })
    ));
    late.max_age_ms = 60_000;
    assert!(matches!(
        access(&good, &late),
        Err(AccessError::Stale { .. })
    ));
    // A revoked (deleted) entitlement is proved absent.
    let absent = proof::sign_access(
        prove(&s, &goods::storage::entitlement(99)),
        b"nonce-1".to_vec(),
        &alice(),
    )
    .unwrap();
    assert!(matches!(
        access(&absent, &policy(1)),
        Err(AccessError::Absent { id: 99, height: 1 })
    ));
    // A tampered state proof is refused as such.
    let mut bad = good.clone();
    bad.state.path.siblings[0].0[0] ^= 1;
    assert!(matches!(
        access(&bad, &policy(1)),
        Err(AccessError::Proof(_))
    ));
    // The signed bytes are the documented ones.
    let bytes = proof::access_signing_bytes(&CHAIN, b"nonce-1", 7);
    let mut expected = b"jeon/access/v1".to_vec();
    expected.extend_from_slice(&CHAIN.0);
    expected.extend_from_slice(&7u32.to_be_bytes());
    expected.extend_from_slice(b"nonce-1");
    expected.extend_from_slice(&7u64.to_be_bytes());
    assert_eq!(bytes, expected);
}

/// The fuzz seeds of `access_proof` are written by the TypeScript SDK's encoder: the
/// runtime decodes them to the same bytes, so both encode access proofs alike.
#[test]
fn access_proofs_encoded_by_the_ts_sdk_decode_canonically() {
    for name in ["minimal", "absent"] {
        let path = format!(
            "{}/../fuzz/seeds/access_proof/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        let p = AccessProof::decode(&bytes).unwrap();
        assert_eq!(p.encode(), bytes, "{name}");
        assert_eq!(p.state.value.is_none(), name == "absent");
    }
}
