//! Runtime benchmarks: block execution of pre-verified transfers, and signature
//! verification, batched versus one by one.
//!
//! `cargo bench -p jeon-runtime --bench runtime -- --warm-up-time 1 --measurement-time 5`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark's setup failing is a failed run, not a node fault"
)]
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jeon_runtime::execute::execute_block;
use jeon_runtime::state::keys;
use jeon_runtime::tx::verify_batch;
use jeon_runtime::{calls, crypto};
use jeon_runtime::{
    Address, AssetId, AssetInfo, AssetKind, BlockContext, Call, Hash, Keypair, MemoryState,
    Overlay, Params, Signature, SignedTx, TxBody, VerifiedTx,
};

const CHAIN: Hash = Hash([0x42; 32]);
const KRW: AssetId = AssetId(0);
/// Transfers in the benchmarked block.
const BLOCK_TXS: usize = 10_000;
/// Accounts that send in the benchmarked block.
const SENDERS: usize = 1_000;
/// Transactions in the verification benchmark.
const VERIFY_TXS: usize = 1_000;
/// Every funded account's opening balance.
const OPENING: u64 = 1_000_000_000;

fn key(i: usize) -> Keypair {
    Keypair::from_seed_label(&format!("bench-{i}"))
}

/// A state with `accounts` accounts funded in KRW; the first [`SENDERS`] are `senders`.
/// With `market`, the presets' fee market (tiers, so every transaction also updates
/// its sender's volume record).
fn funded_state(senders: &[Address], accounts: usize, market: bool) -> MemoryState {
    let empty = MemoryState::new();
    let mut ov = Overlay::new(&empty);
    let collector = Address([0xcc; 32]);
    let params = Params {
        fee_asset: KRW,
        fee_flat: 1,
        fee_collector: collector,
        block_txs_max: BLOCK_TXS as u32,
        block_bytes_max: 64 << 20,
    };
    ov.put(keys::params(), &params).expect("write");
    if market {
        // The presets' market (genesis/src/presets.rs), around this chain's base fee.
        let tier = |min_txs, fee_bps| jeon_runtime::fees::FeeTier { min_txs, fee_bps };
        let m = jeon_runtime::fees::FeeMarket {
            base_fee_min: params.fee_flat,
            base_fee_max: 100 * params.fee_flat,
            target_txs_per_block: BLOCK_TXS as u32 / 2,
            change_denominator: 8,
            volume_window_blocks: 3_600,
            tiers: vec![tier(100, 8_000), tier(1_000, 5_000)],
        };
        ov.put(jeon_runtime::economy::fees::storage::fee_market(), &m)
            .expect("write");
    }
    for i in 0..accounts {
        // Accounts beyond the senders never sign, so a derived address is enough.
        let who = match senders.get(i) {
            Some(a) => *a,
            None => Address(jeon_runtime::crypto::sha256(&[&(i as u64).to_le_bytes()]).0),
        };
        ov.set_balance(&who, KRW, OPENING).expect("write");
    }
    let info = AssetInfo {
        id: KRW,
        symbol: "KRW".into(),
        decimals: 0,
        issuer: collector,
        kind: AssetKind::Money,
        supply: OPENING * accounts as u64,
    };
    ov.put(keys::asset(KRW), &info).expect("write");
    ov.put(keys::symbol("KRW"), &KRW).expect("write");
    ov.put(keys::next_asset_id(), &1u32).expect("write");
    let (changes, _) = ov.finish().expect("memory");
    let mut state = MemoryState::new();
    state.apply(&changes);
    state
}

/// `count` signed transfers: sender `i % SENDERS` pays the next account, nonces in order.
fn transfers(keys: &[Keypair], count: usize) -> Vec<SignedTx> {
    (0..count)
        .map(|n| {
            let from = &keys[n % keys.len()];
            let to = keys[(n + 1) % keys.len()].address();
            TxBody {
                chain_id: CHAIN,
                sender: from.address(),
                nonce: (n / keys.len()) as u64,
                fee_limit: 1,
                expiry: u64::MAX,
                call: Call::Transfer(calls::Transfer {
                    to,
                    asset: KRW,
                    amount: 1 + (n % 7) as u64,
                }),
                fee_payer: None,
            }
            .sign(from)
        })
        .collect()
}

fn execute_transfers(c: &mut Criterion) {
    let keys: Vec<Keypair> = (0..SENDERS).map(key).collect();
    let senders: Vec<Address> = keys.iter().map(Keypair::address).collect();
    let txs: Vec<VerifiedTx> = verify_batch(transfers(&keys, BLOCK_TXS), &CHAIN)
        .into_iter()
        .map(|r| r.expect("bench transactions are valid"))
        .collect();
    let ctx = BlockContext {
        chain_id: CHAIN,
        height: 1,
        time_ms: 0,
        proposer: senders[0],
    };
    let mut group = c.benchmark_group("execute_transfers");
    group.throughput(Throughput::Elements(BLOCK_TXS as u64));
    group.sample_size(10);
    for (accounts, market) in [(1_000, false), (100_000, false), (1_000, true)] {
        let state = funded_state(&senders, accounts, market);
        let out = execute_block(&state, &ctx, &txs).expect("memory");
        assert!(out.receipts.iter().all(|r| r.is_success()));
        let name = if market { "_fee_market" } else { "" };
        group.bench_function(format!("{accounts}_accounts{name}"), |b| {
            b.iter(|| execute_block(&state, &ctx, &txs).expect("memory"))
        });
    }
    group.finish();
}

fn verify(c: &mut Criterion) {
    let keys: Vec<Keypair> = (0..VERIFY_TXS).map(key).collect();
    let txs = transfers(&keys, VERIFY_TXS);
    let mut group = c.benchmark_group("verify_batch");
    group.throughput(Throughput::Elements(VERIFY_TXS as u64));
    group.sample_size(10);
    group.bench_function("tx_verify_batch", |b| {
        b.iter_batched(
            || txs.clone(),
            |txs| verify_batch(txs, &CHAIN),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("signed_tx_verify_each", |b| {
        b.iter_batched(
            || txs.clone(),
            |txs| {
                txs.into_iter()
                    .map(|t| t.verify(&CHAIN))
                    .collect::<Vec<_>>()
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Signatures in the raw verification benchmarks.
const SIGNATURES: usize = 4096;

/// `count` (signer, message, signature) triples, one signer per item.
fn signatures(count: usize) -> Vec<(Address, Vec<u8>, Signature)> {
    (0..count)
        .map(|i| {
            let k = key(i);
            let message = format!("bench message {i}").into_bytes();
            let signature = k.sign(&message);
            (k.address(), message, signature)
        })
        .collect()
}

/// Raw signature checks, per signature: one at a time, one batch on one thread, one
/// batch across every core.
fn verify_signatures(c: &mut Criterion) {
    let owned = signatures(SIGNATURES);
    let items: Vec<(&Address, &[u8], &Signature)> =
        owned.iter().map(|(a, m, s)| (a, m.as_slice(), s)).collect();
    let mut group = c.benchmark_group("verify_signatures");
    group.throughput(Throughput::Elements(SIGNATURES as u64));
    group.sample_size(10);
    group.bench_function("single_4096", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|(a, m, s)| crypto::verify(a, m, s))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("batch_4096_one_thread", |b| {
        b.iter(|| crypto::verify_batch_with_threads(&items, 1))
    });
    group.bench_function("batch_4096_all_cores", |b| {
        b.iter(|| crypto::verify_batch(&items))
    });
    // What bad signatures cost: one bad item is found by bisection; a batch of only
    // bad items spends its bisection budget, then checks the rest one by one.
    let wrong_key = key(SIGNATURES).address();
    let spoiled = |bad: &dyn Fn(usize) -> bool| -> Vec<(&Address, &[u8], &Signature)> {
        owned
            .iter()
            .enumerate()
            .map(|(i, (a, m, s))| (if bad(i) { &wrong_key } else { a }, m.as_slice(), s))
            .collect()
    };
    let one_bad = spoiled(&|i| i == SIGNATURES / 3);
    let all_bad = spoiled(&|_| true);
    group.bench_function("batch_4096_all_cores_one_bad", |b| {
        b.iter(|| crypto::verify_batch(&one_bad))
    });
    group.bench_function("batch_4096_all_cores_all_bad", |b| {
        b.iter(|| crypto::verify_batch(&all_bad))
    });
    group.finish();
}

/// The state commitment's cost per changed entry: one element hash (BLAKE3 in
/// extendable-output mode, 2 KiB) and a lane-wise sum; a block pays it twice (remove
/// the old value, add the new) for every entry and Merkle tree node it changes.
fn lthash(c: &mut Criterion) {
    let mut group = c.benchmark_group("lthash");
    group.throughput(Throughput::Elements(1));
    let mut acc = jeon_runtime::lthash::LtHash::default();
    let key = [7u8; 33];
    let value = [9u8; 48];
    group.bench_function("add_then_remove", |b| {
        b.iter(|| {
            acc.add(&key, &value);
            acc.remove(&key, &value);
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    execute_transfers,
    verify,
    verify_signatures,
    lthash
);
criterion_main!(benches);
