//! The ed25519 validation rule (ZIP-215) on raw signatures: the published edge-case
//! vectors (ZIP-215's 196 small-order cases, "Taming the many EdDSAs" cases 0–11), and
//! batch verification giving every item the single verdict, however the batch is
//! split across threads.

use std::sync::LazyLock;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::CompressedEdwardsY;
use jeon_runtime::crypto::zip215::BATCH_CHUNK_ITEMS_MIN;
use jeon_runtime::crypto::{
    verify, verify_batch, verify_batch_with_threads, SignatureError, SignatureError::*,
};
use jeon_runtime::{Address, Keypair, Signature};
use proptest::prelude::*;

type Verdict = Result<(), SignatureError>;

fn h32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).expect("32 bytes of hex");
    out
}

fn h64(s: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::decode_to_slice(s, &mut out).expect("64 bytes of hex");
    out
}

/// Single verification of each item, one batch on one thread, and batches on two to
/// four threads: all must agree. Returns the single verdicts.
fn verdicts_agree(items: &[(Address, Vec<u8>, Signature)]) -> Vec<Verdict> {
    let refs: Vec<(&Address, &[u8], &Signature)> =
        items.iter().map(|(a, m, s)| (a, m.as_slice(), s)).collect();
    let single: Vec<Verdict> = refs.iter().map(|(a, m, s)| verify(a, m, s)).collect();
    assert_eq!(verify_batch(&refs), single, "batch on every core");
    for threads in 1..=4 {
        assert_eq!(
            verify_batch_with_threads(&refs, threads),
            single,
            "batch on {threads} threads"
        );
    }
    single
}

/// The 8 canonical encodings of the 8-torsion points, then the 6 non-canonical
/// encodings of small-order points (ZIP-215's list): y = 1 and y = −1 with the sign
/// bit set (x = 0, so the sign bit is meaningless), and y = 0 and y = 1 written as
/// y + p, each with both sign bits.
const SMALL_ORDER_ENCODINGS: [&str; 14] = [
    // canonical
    "0100000000000000000000000000000000000000000000000000000000000000", // identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
    "0000000000000000000000000000000000000000000000000000000000000000", // order 4
    "0000000000000000000000000000000000000000000000000000000000000080", // order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
    // non-canonical
    "0100000000000000000000000000000000000000000000000000000000000080", // y = 1, sign set
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = -1, sign set
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = 0 + p
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = 0 + p, sign set
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = 1 + p
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = 1 + p, sign set
];

#[test]
fn the_small_order_encodings_are_the_eight_torsion_points_canonical_and_not() {
    let canonical: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|p| p.compress().0).collect();
    for (i, e) in SMALL_ORDER_ENCODINGS.iter().enumerate() {
        let bytes = h32(e);
        let point = CompressedEdwardsY(bytes)
            .decompress()
            .expect("decompresses");
        assert!(point.is_small_order(), "encoding {i}");
        assert!(canonical.contains(&point.compress().0), "encoding {i}");
        assert_eq!(
            point.compress().0 == bytes,
            i < 8,
            "encoding {i} canonical?"
        );
    }
    for c in &canonical {
        assert!(SMALL_ORDER_ENCODINGS.contains(&hex::encode(c).as_str()));
    }
}

// ZIP-215 requires all 196 (A, R) pairs of these encodings, with s = 0, to verify:
// [8]([0]B − R − [k]A) = 0 for small-order R and A whatever k.
#[test]
fn zip215_accepts_all_196_small_order_key_and_r_combinations_with_s_zero_alone_and_batched() {
    let mut items = Vec::new();
    for a in SMALL_ORDER_ENCODINGS {
        for r in SMALL_ORDER_ENCODINGS {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&h32(r));
            items.push((Address(h32(a)), b"Zcash".to_vec(), Signature(sig)));
        }
    }
    assert_eq!(items.len(), 196);
    assert_eq!(verdicts_agree(&items), vec![Ok(()); 196]);
}

/// ed25519-speccheck's cases.json ("Taming the many EdDSAs", Chalkias, Garillot,
/// Nikolaenko 2020): message, key, signature, and our verdict (their "Zebra" column,
/// which is ZIP-215).
const SPECCHECK: [(&str, &str, &str, Verdict); 12] = [
    // 0: S = 0, small A and small R: accepted.
    ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000",
     Ok(())),
    // 1: small A, mixed-order R: accepted.
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     Ok(())),
    // 2: mixed-order A, small R: accepted.
    ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
     Ok(())),
    // 3: mixed A and R, passes cofactored and cofactorless: accepted.
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
     Ok(())),
    // 4: mixed A and R, passes only the cofactored equation: accepted.
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
     Ok(())),
    // 5: fails only if 8k is reduced mod L before use; we compute [8](...): accepted.
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
     Ok(())),
    // 6: S > L: refused (s must be canonical).
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
     Err(BadSignature)),
    // 7: S >> L (high bit set): refused.
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
     Err(BadSignature)),
    // 8: non-canonical R, signed with R re-encoded for the hash: we hash R as given, so
    // the equation fails: refused.
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
     Err(BadSignature)),
    // 9: non-canonical R, hashed as given: accepted.
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
     Ok(())),
    // 10: non-canonical small A, re-encoded for the hash: k is irrelevant when A is
    // small, so accepted.
    ("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     Ok(())),
    // 11: non-canonical small A, hashed as given: accepted.
    ("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     Ok(())),
];

#[test]
fn the_taming_eddsas_cases_get_the_zip215_verdicts_alone_and_batched() {
    let items: Vec<(Address, Vec<u8>, Signature)> = SPECCHECK
        .iter()
        .map(|(m, a, s, _)| {
            let message = hex::decode(m).expect("hex");
            (Address(h32(a)), message, Signature(h64(s)))
        })
        .collect();
    let expected: Vec<Verdict> = SPECCHECK.iter().map(|c| c.3).collect();
    assert_eq!(verdicts_agree(&items), expected);
    // And each one alone, in a batch of one.
    for (i, item) in items.iter().enumerate() {
        assert_eq!(
            verdicts_agree(std::slice::from_ref(item)),
            [expected[i]],
            "case {i}"
        );
    }
}

/// Signers for the generated batches.
static KEYS: LazyLock<Vec<Keypair>> = LazyLock::new(|| {
    (0..8)
        .map(|i| Keypair::from_seed_label(&format!("zip215-{i}")))
        .collect()
});

/// Ways to spoil a signed item.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    /// One bit flipped in the key, the signature or the message.
    FlipBit(u16),
    /// Verified under another signer's key.
    WrongKey,
    /// s + L: the same scalar, not canonically encoded.
    NonCanonicalS,
    /// R replaced by a small-order encoding (canonical or not).
    SmallOrderR(u8),
    /// R shifted by a torsion point (a mixed-order R).
    TorsionShiftedR(u8),
    /// A small-order key with a small-order R and s = 0: valid under ZIP-215.
    SmallOrderForgery(u8, u8),
    /// A key whose bytes are no curve point.
    NotAPointKey,
}

fn spoil_strategy() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        3 => any::<u16>().prop_map(Spoil::FlipBit),
        1 => Just(Spoil::WrongKey),
        1 => Just(Spoil::NonCanonicalS),
        1 => (0..14u8).prop_map(Spoil::SmallOrderR),
        1 => (1..8u8).prop_map(Spoil::TorsionShiftedR),
        1 => (0..14u8, 0..14u8).prop_map(|(a, r)| Spoil::SmallOrderForgery(a, r)),
        1 => Just(Spoil::NotAPointKey),
    ]
}

/// L, little-endian.
const GROUP_ORDER_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Item `i`, honest or spoiled.
fn item(i: usize, spoil: Option<Spoil>) -> (Address, Vec<u8>, Signature) {
    let key = &KEYS[i % KEYS.len()];
    let message = format!("payment {i}").into_bytes();
    let (mut a, mut m, mut sig) = (key.address(), message.clone(), key.sign(&message));
    match spoil {
        None => {}
        Some(Spoil::FlipBit(bit)) => {
            let bit = usize::from(bit) % ((32 + 64 + m.len()) * 8);
            let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
            match byte {
                0..32 => a.0[byte] ^= mask,
                32..96 => sig.0[byte - 32] ^= mask,
                _ => m[byte - 96] ^= mask,
            }
        }
        Some(Spoil::WrongKey) => a = KEYS[(i + 1) % KEYS.len()].address(),
        Some(Spoil::NonCanonicalS) => {
            let mut carry = 0u16;
            for (byte, l) in sig.0[32..].iter_mut().zip(GROUP_ORDER_LE) {
                let sum = u16::from(*byte) + u16::from(l) + carry;
                *byte = sum as u8;
                carry = sum >> 8;
            }
        }
        Some(Spoil::SmallOrderR(r)) => {
            sig.0[..32].copy_from_slice(&h32(SMALL_ORDER_ENCODINGS[usize::from(r)]))
        }
        Some(Spoil::TorsionShiftedR(t)) => {
            let mut r = [0u8; 32];
            r.copy_from_slice(&sig.0[..32]);
            let r = CompressedEdwardsY(r).decompress().expect("R is a point");
            let shifted = r + EIGHT_TORSION[usize::from(t)];
            sig.0[..32].copy_from_slice(shifted.compress().as_bytes());
        }
        Some(Spoil::SmallOrderForgery(ka, r)) => {
            a = Address(h32(SMALL_ORDER_ENCODINGS[usize::from(ka)]));
            sig = Signature([0; 64]);
            sig.0[..32].copy_from_slice(&h32(SMALL_ORDER_ENCODINGS[usize::from(r)]));
        }
        Some(Spoil::NotAPointKey) => {
            a = Address([0; 32]);
            a.0[0] = 2; // y = 2 is on no point
        }
    }
    (a, m, sig)
}

#[test]
fn each_spoil_gets_the_documented_verdict() {
    let cases = [
        (None, Ok(())),
        (Some(Spoil::FlipBit(300)), Err(BadSignature)), // a bit of R
        (Some(Spoil::FlipBit(800)), Err(BadSignature)), // a bit of the message
        (Some(Spoil::WrongKey), Err(BadSignature)),
        (Some(Spoil::NonCanonicalS), Err(BadSignature)),
        (Some(Spoil::SmallOrderR(9)), Err(BadSignature)),
        (Some(Spoil::TorsionShiftedR(4)), Err(BadSignature)),
        (Some(Spoil::SmallOrderForgery(13, 9)), Ok(())),
        (Some(Spoil::NotAPointKey), Err(BadPublicKey)),
    ];
    let items: Vec<_> = cases.iter().map(|(s, _)| item(3, *s)).collect();
    let expected: Vec<Verdict> = cases.iter().map(|c| c.1).collect();
    assert_eq!(verdicts_agree(&items), expected);
}

#[test]
fn a_batch_that_is_all_bad_or_half_bad_is_resolved_item_by_item() {
    // Enough items for every thread count to split, and for bisection to run out of
    // failing checks and finish item by item.
    let n = 4 * BATCH_CHUNK_ITEMS_MIN + 7;
    for bad_every in [1, 2, 3, 37, n] {
        let items: Vec<_> = (0..n)
            .map(|i| item(i, (i % bad_every == 0).then_some(Spoil::WrongKey)))
            .collect();
        let verdicts = verdicts_agree(&items);
        for (i, v) in verdicts.iter().enumerate() {
            assert_eq!(
                v.is_ok(),
                i % bad_every != 0,
                "item {i} of every {bad_every}"
            );
        }
    }
}

#[test]
fn the_test_signers_are_ordinary_prime_order_keys() {
    // Guards the test helpers: the keys are ordinary ed25519 keys of prime order.
    for k in KEYS.iter() {
        let a = CompressedEdwardsY(k.address().0)
            .decompress()
            .expect("a point");
        assert!(a.is_torsion_free() && a != ED25519_BASEPOINT_POINT);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    // Sizes run past 4 * BATCH_CHUNK_ITEMS_MIN, so batches split over 1 to 4 threads.
    #[test]
    fn batch_verdicts_equal_single_verdicts_for_any_mix_and_any_split(
        bad_per_256 in 0u16..=256,
        rolls in prop::collection::vec((any::<u8>(), spoil_strategy()), 0..(5 * BATCH_CHUNK_ITEMS_MIN)),
    ) {
        let items: Vec<_> = rolls
            .iter()
            .enumerate()
            .map(|(i, (roll, spoil))| item(i, (u16::from(*roll) < bad_per_256).then_some(*spoil)))
            .collect();
        verdicts_agree(&items);
    }
}
