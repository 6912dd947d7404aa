//! Why a transaction is refused before it can change anything: wrong chain, bad or
//! malleated signatures, replays, future nonces, expiry and fees; and batch
//! verification agreeing item by item with single verification.

use crate::support::*;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::Identity;
use curve25519_dalek::Scalar;
use jeon_runtime::crypto::SignatureError;
use jeon_runtime::execute::{check_tx, execute_block};
use jeon_runtime::fees::FeeRules;
use jeon_runtime::tx::verify_batch;
use jeon_runtime::{
    Address, Hash, Keypair, Outcome, Signature, SignedTx, StateExt, TxError, VerifiedTx,
};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

const BAD_SIGNATURE: TxError = TxError::BadSignature(SignatureError::BadSignature);

/// The order of the ed25519 group, L = 2^252 + 27742317777372353535851937790883648493,
/// little-endian.
const GROUP_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// 32 bytes that are not a curve point: y = 2 gives x² = (y² − 1)/(dy² + 1), a
/// non-square mod p.
const NOT_A_POINT: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 2;
    b
};

/// The encoding of the identity point (x = 0, y = 1): a point of small order.
const IDENTITY_POINT: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "no overflow past 256 bits");
    out
}

/// The same signature with s replaced by s + L: the same group element, a
/// non-canonical encoding.
fn malleate_s(sig: &Signature) -> Signature {
    let s: [u8; 32] = sig.0[32..].try_into().expect("32 bytes");
    let mut out = sig.0;
    out[32..].copy_from_slice(&add_le(&s, &GROUP_ORDER_LE));
    Signature(out)
}

/// The point of order 2, (0, -1).
fn order_two() -> EdwardsPoint {
    EIGHT_TORSION[4]
}

/// The secret scalar of a keypair, as ed25519 derives it (clamped SHA-512 of the seed).
fn secret_scalar(key: &Keypair) -> Scalar {
    let h = Sha512::digest(key.secret());
    let mut lo: [u8; 32] = h[..32].try_into().expect("32 bytes");
    lo[0] &= 248;
    lo[31] &= 127;
    lo[31] |= 64;
    Scalar::from_bytes_mod_order(lo)
}

/// Signs like ed25519, but with the public key `public` (which may carry a torsion
/// component) in the hash, and `r_torsion` added to the nonce point R. With both
/// zero this is a valid ed25519 signature.
fn forge(
    key: &Keypair,
    public: EdwardsPoint,
    r_torsion: EdwardsPoint,
    message: &[u8],
) -> Signature {
    let a = secret_scalar(key);
    let r = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(b"forge")
            .chain_update(message)
            .finalize()
            .into(),
    );
    let big_r = (ED25519_BASEPOINT_POINT * r + r_torsion).compress();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(public.compress().as_bytes())
            .chain_update(message)
            .finalize()
            .into(),
    );
    let s = r + k * a;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(big_r.as_bytes());
    out[32..].copy_from_slice(s.as_bytes());
    Signature(out)
}

/// A transfer whose R carries the order-2 torsion point. The cofactored ZIP-215
/// equation ignores the torsion, so it verifies (alone and in any batch); only the
/// signer can make it, since s needs the secret.
fn torsion_r_tx(c: &Consortium, nonce: u64) -> SignedTx {
    let key = &c.users[0];
    let b = body(key, nonce, transfer(&c.users[1].address(), KRW, 1));
    let a = ED25519_BASEPOINT_POINT * secret_scalar(key);
    let signature = forge(key, a, order_two(), &b.signing_bytes());
    SignedTx {
        body: b,
        signature,
        payer_signature: None,
    }
}

/// A transfer from the mixed-order key A + T: it verifies under ZIP-215 whatever the
/// challenge k (the cofactor kills k * T); `verify_strict` accepted it only for even k.
fn torsion_key_tx(c: &Consortium, nonce: u64) -> SignedTx {
    let key = &c.users[0];
    let a = ED25519_BASEPOINT_POINT * secret_scalar(key) + order_two();
    let mut b = body(key, nonce, transfer(&c.users[1].address(), KRW, 1));
    b.sender = Address(a.compress().to_bytes());
    let signature = forge(key, a, EdwardsPoint::identity(), &b.signing_bytes());
    SignedTx {
        body: b,
        signature,
        payer_signature: None,
    }
}

fn with_signature(tx: &SignedTx, signature: Signature) -> SignedTx {
    SignedTx {
        body: tx.body.clone(),
        signature,
        payer_signature: None,
    }
}

fn pay(c: &Consortium, nonce: u64, amount: u64) -> SignedTx {
    sign(
        &c.users[0],
        nonce,
        transfer(&c.users[1].address(), KRW, amount),
    )
}

#[test]
fn a_transaction_signed_for_another_chain_is_refused_as_wrong_chain() {
    let c = Consortium::new();
    let key = &c.users[0];
    let mut b = body(key, 0, transfer(&c.users[1].address(), KRW, 1));
    b.chain_id = Hash([0x77; 32]);
    let tx = b.sign(key);
    let wrong = TxError::WrongChain {
        expected: CHAIN,
        got: Hash([0x77; 32]),
    };
    assert_eq!(tx.clone().verify(&CHAIN), Err(wrong.clone()));
    // Relabelling the chain id breaks the signature instead: the id is signed.
    let mut relabelled = tx;
    relabelled.body.chain_id = CHAIN;
    assert_eq!(relabelled.verify(&CHAIN), Err(BAD_SIGNATURE));
    // Execution refuses it too, even if it was wrapped unchecked.
    let b = body(key, 0, transfer(&c.users[1].address(), KRW, 1));
    let foreign = VerifiedTx::new_unchecked(
        jeon_runtime::TxBody {
            chain_id: Hash([0x77; 32]),
            ..b
        }
        .sign(key),
    );
    let out = execute_block(&c.state, &ctx(1), &[foreign]).expect("memory");
    assert_eq!(out.receipts[0].outcome, Outcome::Invalid(wrong));
}

#[test]
fn a_body_altered_after_signing_fails_its_signature() {
    let c = Consortium::new();
    let mut tx = pay(&c, 0, 100);
    assert!(tx.clone().verify(&CHAIN).is_ok());
    tx.body.call = transfer(&c.users[2].address(), KRW, 100);
    assert_eq!(tx.verify(&CHAIN), Err(BAD_SIGNATURE));
}

#[test]
fn a_signature_by_another_key_fails() {
    let c = Consortium::new();
    let mut tx = pay(&c, 0, 100);
    tx.signature = c.users[1].sign(&tx.body.signing_bytes());
    assert_eq!(tx.verify(&CHAIN), Err(BAD_SIGNATURE));
}

#[test]
fn a_signature_malleated_by_adding_the_group_order_to_s_is_refused() {
    let c = Consortium::new();
    let tx = pay(&c, 0, 100);
    let malleated = with_signature(&tx, malleate_s(&tx.signature));
    assert_ne!(
        malleated.hash(),
        tx.hash(),
        "a malleated copy has another hash"
    );
    assert_eq!(malleated.clone().verify(&CHAIN), Err(BAD_SIGNATURE));
    assert_eq!(
        verify_batch(vec![malleated], &CHAIN),
        vec![Err(BAD_SIGNATURE)]
    );
}

#[test]
fn a_signature_whose_r_is_replaced_by_a_small_order_point_is_refused() {
    let c = Consortium::new();
    let tx = pay(&c, 0, 100);
    let mut sig = tx.signature;
    sig.0[..32].copy_from_slice(&IDENTITY_POINT);
    let forged = with_signature(&tx, sig);
    assert_eq!(forged.clone().verify(&CHAIN), Err(BAD_SIGNATURE));
    assert_eq!(verify_batch(vec![forged], &CHAIN), vec![Err(BAD_SIGNATURE)]);
}

// Under `verify_strict` this key was refused as `BadPublicKey`; ZIP-215 decodes it
// (it is a curve point) and the honest signature fails the equation instead.
#[test]
fn a_sender_key_of_small_order_is_a_key_but_another_signer_s_signature_fails_under_it() {
    let c = Consortium::new();
    let mut tx = pay(&c, 0, 100);
    tx.body.sender = Address(IDENTITY_POINT);
    assert_eq!(tx.clone().verify(&CHAIN), Err(BAD_SIGNATURE));
    assert_eq!(verify_batch(vec![tx], &CHAIN), vec![Err(BAD_SIGNATURE)]);
}

#[test]
fn a_sender_key_that_is_not_a_curve_point_is_refused_as_a_bad_public_key() {
    let c = Consortium::new();
    let mut tx = pay(&c, 0, 100);
    tx.body.sender = Address(NOT_A_POINT);
    let bad_key = TxError::BadSignature(SignatureError::BadPublicKey);
    assert_eq!(tx.clone().verify(&CHAIN), Err(bad_key.clone()));
    assert_eq!(verify_batch(vec![tx], &CHAIN), vec![Err(bad_key)]);
}

/// A transfer "signed" for the small-order key at `IDENTITY_POINT` with s = 0 and the
/// given R encoding: [8]([0]B − R − [k]A) = 0 for any small-order R and A, whatever
/// the message, so anyone can sign for such a key.
fn small_order_key_tx(c: &Consortium, nonce: u64, r: [u8; 32]) -> SignedTx {
    let mut b = body(&c.users[0], nonce, transfer(&c.users[1].address(), KRW, 1));
    b.sender = Address(IDENTITY_POINT);
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r);
    SignedTx {
        body: b,
        signature: Signature(signature),
        payer_signature: None,
    }
}

#[test]
fn anyone_signs_for_a_small_order_key_and_its_nonce_still_lets_one_copy_run() {
    let mut c = Consortium::new();
    let weak = Address(IDENTITY_POINT);
    let fund = c.tx(&c.users[0], transfer(&weak, KRW, 100));
    assert!(c.run(&[fund])[0].is_success());
    // Two encodings of the identity as R: the canonical one and one with the sign
    // bit set. Both verify, and they are two transactions with two hashes.
    let mut non_canonical = IDENTITY_POINT;
    non_canonical[31] |= 0x80;
    let one = small_order_key_tx(&c, 0, IDENTITY_POINT);
    let other = small_order_key_tx(&c, 0, non_canonical);
    assert_ne!(one.hash(), other.hash());
    let verified = verify_batch(vec![one, other], &CHAIN);
    assert!(verified.iter().all(Result::is_ok), "{verified:?}");
    let txs: Vec<VerifiedTx> = verified.into_iter().map(Result::unwrap).collect();
    let receipts = c.run(&txs);
    assert!(receipts[0].is_success());
    assert_eq!(
        receipts[1].outcome,
        Outcome::Invalid(TxError::StaleNonce {
            expected: 1,
            got: 0
        })
    );
}

#[test]
fn nobody_but_the_signer_makes_a_second_valid_copy_of_an_honest_transaction() {
    let c = Consortium::new();
    let tx = pay(&c, 0, 100);
    assert!(tx.clone().verify(&CHAIN).is_ok());
    let r = CompressedEdwardsY(tx.signature.0[..32].try_into().expect("32 bytes"))
        .decompress()
        .expect("R is a point");
    // Shifting R by any torsion point changes its bytes, hence k, and [k]A with A of
    // prime order no longer cancels.
    for (i, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let mut sig = tx.signature;
        sig.0[..32].copy_from_slice((r + t).compress().as_bytes());
        assert_eq!(
            with_signature(&tx, sig).verify(&CHAIN),
            Err(BAD_SIGNATURE),
            "R + torsion point {i}"
        );
    }
    // s + L is refused as non-canonical (see above); a different sender encoding is
    // a different account whose bytes are also in k.
}

#[test]
fn the_forging_helper_makes_valid_signatures_when_no_torsion_is_added() {
    let c = Consortium::new();
    let key = &c.users[0];
    let b = body(key, 0, transfer(&c.users[1].address(), KRW, 1));
    let a = ED25519_BASEPOINT_POINT * secret_scalar(key);
    assert_eq!(Address(a.compress().to_bytes()), key.address());
    let signature = forge(key, a, EdwardsPoint::identity(), &b.signing_bytes());
    assert!(SignedTx {
        body: b,
        signature,
        payer_signature: None,
    }
    .verify(&CHAIN)
    .is_ok());
}

// Under `verify_strict` this signature was refused alone and in any batch; ZIP-215
// accepts it alone and in any batch (the signer's own signature, torsion and all).
#[test]
fn a_signature_whose_r_has_a_torsion_component_is_accepted_alone_and_in_any_batch() {
    let c = Consortium::new();
    let good: Vec<SignedTx> = (1..=3).map(|i| pay(&c, 100 + i, 1)).collect();
    let bad = with_signature(&good[0], malleate_s(&good[0].signature));
    for nonce in 0..32 {
        let forged = torsion_r_tx(&c, nonce);
        assert!(
            forged.clone().verify(&CHAIN).is_ok(),
            "alone, nonce {nonce}"
        );
        assert!(
            verify_batch(vec![forged.clone()], &CHAIN)[0].is_ok(),
            "batch of one, nonce {nonce}"
        );
        let mut batch = good.clone();
        batch.insert(1, forged);
        batch.push(bad.clone());
        let results = verify_batch(batch, &CHAIN);
        let verdicts: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(verdicts, [true, true, true, true, false], "nonce {nonce}");
    }
}

// Under `verify_strict` such a key passed exactly when k was even (about half of the
// nonces); ZIP-215 accepts it for every k, alone and in a batch.
#[test]
fn a_sender_key_with_a_torsion_component_is_accepted_for_every_challenge_alone_and_in_a_batch() {
    let c = Consortium::new();
    for nonce in 0..32 {
        let tx = torsion_key_tx(&c, nonce);
        assert!(tx.clone().verify(&CHAIN).is_ok(), "nonce {nonce}");
        assert!(verify_batch(vec![tx.clone()], &CHAIN)[0].is_ok());
        let batch = vec![pay(&c, 100, 1), tx, pay(&c, 101, 1)];
        assert!(
            verify_batch(batch, &CHAIN).iter().all(Result::is_ok),
            "nonce {nonce}"
        );
    }
}

#[test]
fn a_replayed_nonce_is_stale_in_execution_and_in_the_mempool_check() {
    let mut c = Consortium::new();
    let tx = verified(pay(&c, 0, 100));
    assert!(c.run(std::slice::from_ref(&tx))[0].is_success());
    let before = c.state.clone();
    let receipts = c.run(std::slice::from_ref(&tx));
    let stale = TxError::StaleNonce {
        expected: 1,
        got: 0,
    };
    assert_eq!(receipts[0].outcome, Outcome::Invalid(stale.clone()));
    assert_eq!(receipts[0].fee, 0);
    assert!(receipts[0].events.is_empty());
    assert_eq!(
        diff(&before, &c.state),
        Changes::new(),
        "an invalid transaction changes nothing"
    );

    let params = c.state.params().expect("params");
    let rules = FeeRules::load(&c.state, &params, c.height + 1, 0).expect("memory");
    let checked = check_tx(&c.state, &rules, &CHAIN, tx.tx()).expect("memory");
    assert_eq!(checked, Err(stale));
}

#[test]
fn the_same_transaction_twice_in_one_block_runs_once() {
    let mut c = Consortium::new();
    let tx = verified(pay(&c, 0, 100));
    let receipts = c.run(&[tx.clone(), tx]);
    assert!(receipts[0].is_success());
    assert_eq!(
        receipts[1].outcome,
        Outcome::Invalid(TxError::StaleNonce {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(c.balance(&c.users[1].address(), KRW), USER_KRW + 100);
}

#[test]
fn a_future_nonce_is_refused_until_the_gap_is_filled() {
    let mut c = Consortium::new();
    let early = verified(pay(&c, 1, 100));
    let receipts = c.run(std::slice::from_ref(&early));
    assert_eq!(
        receipts[0].outcome,
        Outcome::Invalid(TxError::FutureNonce {
            expected: 0,
            got: 1
        })
    );
    let gap = verified(pay(&c, 0, 100));
    let receipts = c.run(&[gap, early]);
    assert!(receipts.iter().all(|r| r.is_success()));
}

#[test]
fn a_transaction_is_valid_up_to_and_including_its_expiry_height() {
    let c = Consortium::new();
    let key = &c.users[0];
    let mut b = body(key, 0, transfer(&c.users[1].address(), KRW, 1));
    b.expiry = 4;
    let tx = verified(b.sign(key));
    let at = |height| {
        execute_block(&c.state, &ctx(height), std::slice::from_ref(&tx))
            .expect("memory")
            .receipts[0]
            .outcome
            .clone()
    };
    assert_eq!(at(4), Outcome::Success);
    let expired = TxError::Expired {
        expiry: 4,
        height: 5,
    };
    assert_eq!(at(5), Outcome::Invalid(expired.clone()));
    // `height` is the block the transaction was offered for, not the chain's head.
    assert_eq!(
        expired.to_string(),
        "transaction expired at height 4; it was offered for height 5"
    );
}

#[test]
fn a_fee_limit_below_the_flat_fee_is_refused() {
    let c = Consortium::new();
    let key = &c.users[0];
    let mut b = body(key, 0, transfer(&c.users[1].address(), KRW, 1));
    b.fee_limit = FEE - 1;
    let tx = verified(b.sign(key));
    let out = execute_block(&c.state, &ctx(1), &[tx]).expect("memory");
    assert_eq!(
        out.receipts[0].outcome,
        Outcome::Invalid(TxError::FeeTooLow {
            limit: FEE - 1,
            required: FEE
        })
    );
}

#[test]
fn a_sender_who_cannot_pay_the_fee_is_refused_and_keeps_its_nonce() {
    let mut c = Consortium::new();
    let broke = Keypair::from_secret(c.users[USERS - 1].secret());
    assert_eq!(c.balance(&broke.address(), KRW), 0);
    let tx = c.tx(&broke, transfer(&c.users[0].address(), PTS, 1));
    let before = c.state.clone();
    let receipts = c.run(&[tx]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Invalid(TxError::CannotPayFee {
            payer: broke.address(),
            asset: KRW,
            required: FEE,
            available: 0
        })
    );
    assert_eq!(diff(&before, &c.state), Changes::new());
    assert_eq!(c.state.app_hash(), before.app_hash());
}

#[test]
fn an_empty_batch_verifies_to_nothing() {
    assert_eq!(verify_batch(vec![], &CHAIN), vec![]);
}

/// Ways to spoil a transaction for the batch tests.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    None,
    OtherChain,
    AlteredBody,
    MalleatedS,
    SmallOrderR,
    TorsionR,
    TorsionKey,
    WeakKey,
    NotAPointKey,
    OtherSigner,
}

fn spoil(c: &Consortium, i: u64, how: Spoil) -> SignedTx {
    let key: &Keypair = c.senders()[i as usize % c.senders().len()];
    let tx = sign(key, i, transfer(&c.users[1].address(), PTS, i + 1));
    match how {
        Spoil::None => tx,
        Spoil::OtherChain => jeon_runtime::TxBody {
            chain_id: Hash([9; 32]),
            ..tx.body
        }
        .sign(key),
        Spoil::AlteredBody => SignedTx {
            body: jeon_runtime::TxBody {
                fee_limit: 1_000,
                ..tx.body.clone()
            },
            ..tx
        },
        Spoil::MalleatedS => with_signature(&tx, malleate_s(&tx.signature)),
        Spoil::SmallOrderR => {
            let mut sig = tx.signature;
            sig.0[..32].copy_from_slice(&IDENTITY_POINT);
            with_signature(&tx, sig)
        }
        Spoil::TorsionR => torsion_r_tx(c, i),
        Spoil::TorsionKey => torsion_key_tx(c, i),
        Spoil::WeakKey => SignedTx {
            body: jeon_runtime::TxBody {
                sender: Address(IDENTITY_POINT),
                ..tx.body.clone()
            },
            ..tx
        },
        Spoil::NotAPointKey => SignedTx {
            body: jeon_runtime::TxBody {
                sender: Address(NOT_A_POINT),
                ..tx.body.clone()
            },
            ..tx
        },
        Spoil::OtherSigner => {
            let sig = c.shop.sign(&tx.body.signing_bytes());
            with_signature(&tx, sig)
        }
    }
}

fn spoil_strategy() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        8 => Just(Spoil::None),
        1 => Just(Spoil::OtherChain),
        1 => Just(Spoil::AlteredBody),
        1 => Just(Spoil::MalleatedS),
        1 => Just(Spoil::SmallOrderR),
        1 => Just(Spoil::TorsionR),
        1 => Just(Spoil::TorsionKey),
        1 => Just(Spoil::WeakKey),
        1 => Just(Spoil::NotAPointKey),
        1 => Just(Spoil::OtherSigner),
    ]
}

#[test]
fn batch_verification_gives_each_bad_item_the_same_error_as_single_verification() {
    let c = Consortium::new();
    let kinds = [
        Spoil::None,
        Spoil::OtherChain,
        Spoil::AlteredBody,
        Spoil::MalleatedS,
        Spoil::SmallOrderR,
        Spoil::TorsionR,
        Spoil::WeakKey,
        Spoil::NotAPointKey,
        Spoil::OtherSigner,
        Spoil::None,
    ];
    let txs: Vec<SignedTx> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| spoil(&c, i as u64, *k))
        .collect();
    let single: Vec<_> = txs.iter().map(|t| t.clone().verify(&CHAIN)).collect();
    let expected_errors = [
        None,
        Some(TxError::WrongChain {
            expected: CHAIN,
            got: Hash([9; 32]),
        }),
        Some(BAD_SIGNATURE),
        Some(BAD_SIGNATURE),
        Some(BAD_SIGNATURE),
        // TorsionR: the signer's own signature; ZIP-215 accepts it.
        None,
        // WeakKey: a small-order key decodes; the signature fails under it.
        Some(BAD_SIGNATURE),
        Some(TxError::BadSignature(SignatureError::BadPublicKey)),
        Some(BAD_SIGNATURE),
        None,
    ];
    for (i, (r, e)) in single.iter().zip(&expected_errors).enumerate() {
        assert_eq!(r.as_ref().err(), e.as_ref(), "item {i} ({:?})", kinds[i]);
    }
    assert_eq!(verify_batch(txs, &CHAIN), single);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batch_verification_agrees_with_single_verification_item_by_item(
        kinds in prop::collection::vec(spoil_strategy(), 0..24)
    ) {
        let c = Consortium::new();
        let txs: Vec<SignedTx> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| spoil(&c, i as u64, *k))
            .collect();
        let single: Vec<_> = txs.iter().map(|t| t.clone().verify(&CHAIN)).collect();
        prop_assert_eq!(verify_batch(txs, &CHAIN), single);
    }
}
