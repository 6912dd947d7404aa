//! The consensus rule for ed25519 signatures (ZIP-215), checked one at a time or in
//! batches that give every item exactly the verdict it gets alone.
//!
//! # The rule
//!
//! A signature `R ‖ s` (32 + 32 bytes) by the key `A` (32 bytes) over the message `M`
//! is valid exactly when:
//!
//! 1. `A` decompresses to a curve point (curve25519-dalek's
//!    `CompressedEdwardsY::decompress`: y is read mod p, so the non-canonical
//!    encodings y + p of the 19 values y < 19 are accepted, and so is a set sign bit
//!    when x = 0);
//!    otherwise [`SignatureError::BadPublicKey`];
//! 2. `R` decompresses the same way; otherwise [`SignatureError::BadSignature`];
//! 3. `s` is canonical, `s < L` (the group order); otherwise `BadSignature`;
//! 4. with `k = SHA-512(R ‖ A ‖ M) mod L`, over the bytes as given (never re-encoded),
//!    the cofactored equation `[8]([s]B − R − [k]A) = 0` holds; otherwise
//!    `BadSignature`.
//!
//! Points of small or mixed order are not refused: a key or R with a torsion
//! component is a curve point like any other, and the factor 8 removes the torsion
//! from the equation. This is Zcash's ZIP-215, as ed25519-zebra implements it.
//!
//! # Why this rule: batches agree with single checks
//!
//! A batch checks one random linear combination of the items' equations,
//! `[8](−(Σ zᵢsᵢ)B + Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ) = 0` with 128-bit weights `zᵢ`. Write
//! `Eᵢ = [8]([sᵢ]B − Rᵢ − [kᵢ]Aᵢ)`; the batch sum is `−Σ zᵢEᵢ`. Every `Eᵢ` lies in the
//! prime-order subgroup (the factor 8 kills the torsion), so if some `Eⱼ ≠ 0` then,
//! whatever the other weights, at most one residue of `zⱼ` mod L cancels it, and a
//! 128-bit `zⱼ` hits it with probability at most 2⁻¹²⁸. A valid batch always passes,
//! and an invalid one fails except with that probability. Under a cofactorless rule
//! (`verify_strict`) this fails: an item whose R carries a torsion point T of order 2
//! is refused alone but passes a batch whenever `zⱼ` is even.
//!
//! # Deterministic weights
//!
//! The runtime uses no OS randomness. The weights are the output of BLAKE3 (in key
//! derivation mode, under its own context string) over every item's `R`, `A`, `s` and
//! `k`, read as a stream, 16 bytes per item. The transcript commits to everything
//! that determines each `Eᵢ` (`k` commits to the message), so the weights are fixed
//! only after the items are: this is Fiat–Shamir, and an adversary who wants an
//! invalid item to pass must find inputs whose hash output cancels it; each attempt
//! (one hash evaluation) succeeds with probability at most 2⁻¹²⁸ (random oracle
//! model). The weights depend on the whole batch, not on how it is split across
//! threads, and sub-batches reuse them (one more 2⁻¹²⁸ event per check).
//!
//! # Finding the bad items
//!
//! A batch that fails is bisected: its left half is checked; if that passes, the right
//! half is known to hold a bad item and is split without checking it whole. Sub-batches
//! of at most [`BISECT_LEAF_ITEMS`] items, and every remaining item once a chunk has
//! spent [`BISECT_FAILED_CHECKS_MAX`] failing checks (many bad items: one by one is
//! cheaper), are checked alone with the single equation. So every verdict of "bad" comes
//! from the single equation, and every "good" from the single equation or a passing
//! batch check, which is exact up to the 2⁻¹²⁸ above.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Mutex, OnceLock};
use std::thread;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use curve25519_dalek::Scalar;
use sha2::{Digest, Sha512};

use super::{Signature, SignatureError};
use crate::types::Address;

/// Fewest items worth a thread of their own: a smaller batch, or the tail of one,
/// stays on fewer threads (spawning costs about as much as a few verifications).
pub const BATCH_CHUNK_ITEMS_MIN: usize = 64;
/// Threads one batch uses at most, whatever the machine reports.
pub const BATCH_THREADS_MAX: usize = 64;
/// Sub-batches this small are checked item by item while bisecting.
pub const BISECT_LEAF_ITEMS: usize = 4;
/// Failing batch checks one chunk may spend bisecting (about three bad items' worth
/// for a few thousand items) before checking what is left item by item.
pub const BISECT_FAILED_CHECKS_MAX: u32 = 16;
/// BLAKE3 context string of the batch weights (see the module doc).
const WEIGHTS_CONTEXT: &str = "jeon 2025-01 ed25519 zip215 batch weights v1";
/// Decompressed keys kept (see [`decompress_key`]): about 200 bytes each, so at most
/// about 13 MiB, for the senders of the last several blocks.
pub const KEY_CACHE_ENTRIES_MAX: usize = 65_536;
/// The key cache's shards: verifier threads rarely wait for one another.
const KEY_CACHE_SHARDS: usize = 16;

type KeyShard = Mutex<BTreeMap<[u8; 32], EdwardsPoint>>;

/// Step 1, remembered. Decompressing a key (a square root in the field) costs about a
/// third of a batched verification, and the same accounts sign again and again. The
/// cache changes no verdict: it holds only what `decompress` returned for those bytes
/// (a key that does not decompress is not kept). A full shard is emptied, which bounds
/// its memory without bookkeeping; the hot keys come back at once.
fn decompress_key(signer: &Address) -> Option<EdwardsPoint> {
    static SHARDS: OnceLock<Vec<KeyShard>> = OnceLock::new();
    let shards = SHARDS.get_or_init(|| {
        (0..KEY_CACHE_SHARDS)
            .map(|_| Mutex::new(BTreeMap::new()))
            .collect()
    });
    let shard = &shards[usize::from(signer.0[0]) % KEY_CACHE_SHARDS];
    // A poisoned shard only means another verifier panicked while holding it; the map
    // is never left half-updated (insert and clear are single calls), so use it.
    let lock = || {
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(point) = lock().get(&signer.0) {
        return Some(*point);
    }
    let point = CompressedEdwardsY(signer.0).decompress()?;
    let mut map = lock();
    if map.len() >= KEY_CACHE_ENTRIES_MAX / KEY_CACHE_SHARDS {
        map.clear();
    }
    map.insert(signer.0, point);
    Some(point)
}

/// One signature whose encodings decoded, ready for the equation.
struct Decoded {
    /// The key A.
    a: EdwardsPoint,
    /// The nonce point R.
    r: EdwardsPoint,
    /// The canonical scalar s.
    s: Scalar,
    /// The challenge k = SHA-512(R ‖ A ‖ M) mod L.
    k: Scalar,
}

/// Steps 1–3 of the rule, and the challenge k.
fn decode(
    signer: &Address,
    message: &[u8],
    signature: &Signature,
) -> Result<Decoded, SignatureError> {
    let a = decompress_key(signer).ok_or(SignatureError::BadPublicKey)?;
    let (r_bytes, s_bytes) = split_signature(signature);
    let r = CompressedEdwardsY(r_bytes)
        .decompress()
        .ok_or(SignatureError::BadSignature)?;
    let s =
        Option::from(Scalar::from_canonical_bytes(s_bytes)).ok_or(SignatureError::BadSignature)?;
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(signer.0)
        .chain_update(message)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    Ok(Decoded { a, r, s, k })
}

/// R's and s's 32 bytes each.
fn split_signature(signature: &Signature) -> ([u8; 32], [u8; 32]) {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature.0[..32]);
    s.copy_from_slice(&signature.0[32..]);
    (r, s)
}

/// Step 4: `[8]([s]B − R − [k]A) = 0`.
fn single_holds(d: &Decoded) -> bool {
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&d.k, &-d.a, &d.s);
    (sb_minus_ka - d.r).mul_by_cofactor().is_identity()
}

fn single_verdict(d: &Decoded) -> Result<(), SignatureError> {
    if single_holds(d) {
        Ok(())
    } else {
        Err(SignatureError::BadSignature)
    }
}

/// Verifies one signature under the ZIP-215 rule (see the module doc).
pub fn verify(
    signer: &Address,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    single_verdict(&decode(signer, message, signature)?)
}

/// Verifies many signatures on every core; one result per item, in order, equal to
/// what [`verify`] returns for it.
pub fn verify_batch(items: &[(&Address, &[u8], &Signature)]) -> Vec<Result<(), SignatureError>> {
    // Asking the OS (affinity, cgroup quota) costs about as much as checking a
    // signature, and mempool batches are often one transaction: ask once.
    static CORES: OnceLock<usize> = OnceLock::new();
    let threads =
        *CORES.get_or_init(|| thread::available_parallelism().map_or(1, NonZeroUsize::get));
    verify_batch_with_threads(items, threads)
}

/// [`verify_batch`] on at most `threads` threads (the calling one included). The
/// results do not depend on `threads`.
pub fn verify_batch_with_threads(
    items: &[(&Address, &[u8], &Signature)],
    threads: usize,
) -> Vec<Result<(), SignatureError>> {
    let chunks = threads
        .clamp(1, BATCH_THREADS_MAX)
        .min(items.len() / BATCH_CHUNK_ITEMS_MIN)
        .max(1);
    let decoded = map_chunks(items, chunks, |_, part| {
        part.iter().map(|(a, m, s)| decode(a, m, s)).collect()
    });
    let weights = weights(items, &decoded);
    map_chunks(&decoded, chunks, |offset, part| {
        check_chunk(part, &weights[offset..offset + part.len()])
    })
}

/// The batch weights zᵢ: a BLAKE3 stream over every item's R, A, s and k (items that
/// did not decode enter no equation; they add only a marker byte).
fn weights(
    items: &[(&Address, &[u8], &Signature)],
    decoded: &[Result<Decoded, SignatureError>],
) -> Vec<Scalar> {
    let mut transcript = blake3::Hasher::new_derive_key(WEIGHTS_CONTEXT);
    transcript.update(&(items.len() as u64).to_le_bytes());
    for ((signer, _, signature), d) in items.iter().zip(decoded) {
        match d {
            Ok(d) => {
                transcript.update(&[1]);
                transcript.update(&signature.0[..32]);
                transcript.update(&signer.0);
                transcript.update(&signature.0[32..]);
                transcript.update(d.k.as_bytes());
            }
            Err(_) => {
                transcript.update(&[0]);
            }
        }
    }
    let mut stream = transcript.finalize_xof();
    (0..items.len())
        .map(|_| {
            let mut z = [0u8; 16];
            stream.fill(&mut z);
            Scalar::from(u128::from_le_bytes(z))
        })
        .collect()
}

/// One item in a batch equation: its position in the chunk, its decoded signature and
/// its weight.
struct Entry<'a> {
    index: usize,
    decoded: &'a Decoded,
    z: Scalar,
}

/// Verdicts for one chunk; `weights` are the chunk's own.
fn check_chunk(
    part: &[Result<Decoded, SignatureError>],
    weights: &[Scalar],
) -> Vec<Result<(), SignatureError>> {
    let mut out: Vec<Result<(), SignatureError>> = part
        .iter()
        .map(|d| d.as_ref().map(|_| ()).map_err(|e| *e))
        .collect();
    let entries: Vec<Entry<'_>> = part
        .iter()
        .zip(weights)
        .enumerate()
        .filter_map(|(index, (d, z))| {
            d.as_ref().ok().map(|decoded| Entry {
                index,
                decoded,
                z: *z,
            })
        })
        .collect();
    let mut failed_checks_left = BISECT_FAILED_CHECKS_MAX;
    resolve(&entries, false, &mut failed_checks_left, &mut out);
    out
}

/// Writes the verdict of every entry into `out` (which holds `Ok` for them on entry);
/// returns whether all were good. `known_bad`: the caller knows one of them is bad.
fn resolve(
    entries: &[Entry<'_>],
    known_bad: bool,
    failed_checks_left: &mut u32,
    out: &mut [Result<(), SignatureError>],
) -> bool {
    if entries.len() <= BISECT_LEAF_ITEMS || *failed_checks_left == 0 {
        let mut all_good = true;
        for e in entries {
            let verdict = single_verdict(e.decoded);
            all_good &= verdict.is_ok();
            out[e.index] = verdict;
        }
        return all_good;
    }
    if !known_bad {
        if batch_holds(entries) {
            return true;
        }
        *failed_checks_left -= 1;
    }
    let (left, right) = entries.split_at(entries.len() / 2);
    let left_good = resolve(left, false, failed_checks_left, out);
    // The whole failed: if the left half is good, the bad item is on the right.
    resolve(right, left_good, failed_checks_left, out);
    false
}

/// `[8](−(Σ zᵢsᵢ)B + Σ zᵢRᵢ + Σ (zᵢkᵢ)Aᵢ) = 0`.
fn batch_holds(entries: &[Entry<'_>]) -> bool {
    let b_coefficient = -entries.iter().map(|e| e.z * e.decoded.s).sum::<Scalar>();
    let scalars = std::iter::once(b_coefficient)
        .chain(entries.iter().map(|e| e.z))
        .chain(entries.iter().map(|e| e.z * e.decoded.k));
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(entries.iter().map(|e| e.decoded.r))
        .chain(entries.iter().map(|e| e.decoded.a));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// `f(offset, chunk)` over `chunks` contiguous chunks of `items`, on one thread per
/// chunk (the calling thread takes the first), concatenated in order.
fn map_chunks<T: Sync, U: Send>(
    items: &[T],
    chunks: usize,
    f: impl Fn(usize, &[T]) -> Vec<U> + Sync,
) -> Vec<U> {
    if chunks <= 1 || items.is_empty() {
        return f(0, items);
    }
    let size = items.len().div_ceil(chunks);
    let f = &f;
    thread::scope(|scope| {
        let mut parts = items.chunks(size).enumerate().map(|(i, p)| (i * size, p));
        let first = parts.next();
        // A chunk whose thread cannot be created is done here, after the first.
        let spawned: Vec<_> = parts
            .map(|(offset, part)| {
                thread::Builder::new()
                    .name("jeon-verify".into())
                    .spawn_scoped(scope, move || f(offset, part))
                    .map_err(|_| (offset, part))
            })
            .collect();
        let mut out = first.map_or_else(Vec::new, |(offset, part)| f(offset, part));
        for handle in spawned {
            match handle {
                Ok(h) => match h.join() {
                    Ok(v) => out.extend(v),
                    // A worker's panic is a bug here; re-raise it on the caller.
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err((offset, part)) => out.extend(f(offset, part)),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_see_their_own_offsets_and_come_back_in_order() {
        let items: Vec<usize> = (0..103).collect();
        for chunks in [1, 2, 3, 7, 103, 200] {
            let out = map_chunks(&items, chunks, |offset, part| {
                part.iter()
                    .enumerate()
                    .map(|(i, x)| (offset + i, *x))
                    .collect()
            });
            assert_eq!(out.len(), items.len(), "{chunks} chunks");
            assert!(out.iter().all(|(at, x)| at == x), "{chunks} chunks");
        }
        assert!(map_chunks(&[] as &[u8], 4, |_, p| p.to_vec()).is_empty());
    }

    #[test]
    fn weights_differ_per_item_and_depend_on_every_item() {
        let key = super::super::Keypair::from_seed_label("weights");
        let (a, m1, m2) = (key.address(), b"one".to_vec(), b"two".to_vec());
        let (s1, s2) = (key.sign(&m1), key.sign(&m2));
        let items = [(&a, m1.as_slice(), &s1), (&a, m2.as_slice(), &s2)];
        let decoded: Vec<_> = items.iter().map(|(a, m, s)| decode(a, m, s)).collect();
        let z = weights(&items, &decoded);
        assert_ne!(z[0], z[1]);
        let first_only = weights(&items[..1], &decoded[..1]);
        assert_ne!(
            first_only[0], z[0],
            "the second item changes the first weight"
        );
    }

    #[test]
    fn cached_keys_give_the_verdicts_of_fresh_decompression() {
        // More keys than one shard holds, twice over: the second pass is served from
        // the cache or after a shard was emptied, and must agree with the first.
        let count = 2 * KEY_CACHE_ENTRIES_MAX / KEY_CACHE_SHARDS + 3;
        let keys: Vec<Address> = (0..count)
            .map(|i| {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
                // Same shard for all (the shard is chosen by the first byte).
                bytes[0] = 7;
                Address(bytes)
            })
            .collect();
        let fresh: Vec<Option<EdwardsPoint>> = keys
            .iter()
            .map(|k| CompressedEdwardsY(k.0).decompress())
            .collect();
        for _pass in 0..2 {
            for (key, expected) in keys.iter().zip(&fresh) {
                assert_eq!(decompress_key(key), *expected);
            }
        }
        assert!(
            fresh.iter().any(Option::is_none) && fresh.iter().any(Option::is_some),
            "the keys mix points and non-points"
        );
    }
}
