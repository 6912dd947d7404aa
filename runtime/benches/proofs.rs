//! Transaction proofs: their size, the time a wallet takes to verify one, and the time
//! a node takes to build one, for blocks of 1,000 and 10,000 transfers certified by
//! four validators.
//!
//! `cargo bench -p jeon-runtime --bench proofs -- --warm-up-time 1 --measurement-time 3`
//!
//! Sizes are printed before the timings (a size is not a time, so criterion does not
//! report it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark's setup failing is a failed run, not a node fault"
)]
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use jeon_runtime::block::{
    validators_hash, Block, Certificate, CommitSig, CommittedBlock, Header, ValidatorInfo,
    VoteBody, VoteKind,
};
use jeon_runtime::calls;
use jeon_runtime::execute::execute_block;
use jeon_runtime::merkle::{receipts_root, tx_root};
use jeon_runtime::proof::{self, Prover, TxProof};
use jeon_runtime::state::keys;
use jeon_runtime::tx::verify_batch;
use jeon_runtime::{
    Address, AssetId, AssetInfo, AssetKind, BlockContext, Call, Hash, Keypair, MemoryState,
    Overlay, Params, Receipt, StateExt, TxBody, VerifiedTx,
};

const CHAIN: Hash = Hash([0x42; 32]);
const KRW: AssetId = AssetId(0);
/// Accounts that send; each sends `txs / SENDERS` transfers in a block.
const SENDERS: usize = 1_000;
/// Validators, all signing every certificate.
const VALIDATORS: usize = 4;
/// Every sender's opening balance.
const OPENING: u64 = 1_000_000_000;

fn validator_keys() -> Vec<Keypair> {
    (0..VALIDATORS)
        .map(|i| Keypair::from_seed_label(&format!("bench-validator-{i}")))
        .collect()
}

fn validator_set() -> Vec<ValidatorInfo> {
    validator_keys()
        .iter()
        .map(|k| ValidatorInfo {
            key: k.address(),
            power: 1,
        })
        .collect()
}

/// A state where every sender holds KRW.
fn funded_state(senders: &[Address]) -> MemoryState {
    let empty = MemoryState::new();
    let mut ov = Overlay::new(&empty);
    let collector = Address([0xcc; 32]);
    let params = Params {
        fee_asset: KRW,
        fee_flat: 1,
        fee_collector: collector,
        block_txs_max: 10_000,
        block_bytes_max: 64 << 20,
    };
    ov.put(keys::params(), &params).expect("write");
    for who in senders {
        ov.set_balance(who, KRW, OPENING).expect("write");
    }
    let info = AssetInfo {
        id: KRW,
        symbol: "KRW".into(),
        decimals: 0,
        issuer: collector,
        kind: AssetKind::Money,
        supply: OPENING * senders.len() as u64,
    };
    ov.put(keys::asset(KRW), &info).expect("write");
    ov.put(keys::symbol("KRW"), &KRW).expect("write");
    ov.put(keys::next_asset_id(), &1u32).expect("write");
    let (changes, _) = ov.finish().expect("memory");
    let mut state = MemoryState::new();
    state.apply(&changes);
    state
}

/// A certified first block of `count` transfers, and its receipts.
fn certified_block(count: usize) -> (CommittedBlock, Vec<Receipt>) {
    let keys: Vec<Keypair> = (0..SENDERS)
        .map(|i| Keypair::from_seed_label(&format!("bench-{i}")))
        .collect();
    let senders: Vec<Address> = keys.iter().map(Keypair::address).collect();
    let signed = (0..count)
        .map(|n| {
            TxBody {
                chain_id: CHAIN,
                sender: senders[n % SENDERS],
                nonce: (n / SENDERS) as u64,
                fee_limit: 1,
                expiry: u64::MAX,
                call: Call::Transfer(calls::Transfer {
                    to: senders[(n + 1) % SENDERS],
                    asset: KRW,
                    amount: 1 + (n % 7) as u64,
                }),
                fee_payer: None,
            }
            .sign(&keys[n % SENDERS])
        })
        .collect();
    let txs: Vec<VerifiedTx> = verify_batch(signed, &CHAIN)
        .into_iter()
        .map(|r| r.expect("bench transactions are valid"))
        .collect();
    let state = funded_state(&senders);
    let ctx = BlockContext {
        chain_id: CHAIN,
        height: 1,
        time_ms: 1_700_000_000_000,
        proposer: validator_keys()[0].address(),
    };
    let out = execute_block(&state, &ctx, &txs).expect("memory");
    assert!(out.receipts.iter().all(|r| r.is_success()));
    let header = Header {
        chain_id: CHAIN,
        height: 1,
        prev_hash: Hash::ZERO,
        time_ms: ctx.time_ms,
        proposer: ctx.proposer,
        tx_root: tx_root(&txs),
        receipts_root: receipts_root(&out.receipts),
        app_hash: state.app_hash().expect("memory"),
        validators_hash: validators_hash(&validator_set()),
        next_validators_hash: validators_hash(&validator_set()),
    };
    let vote = VoteBody {
        chain_id: CHAIN,
        height: 1,
        round: 0,
        kind: VoteKind::Precommit,
        block: Some(header.hash()),
    };
    let certificate = Certificate {
        height: 1,
        round: 0,
        block: header.hash(),
        signatures: validator_keys()
            .iter()
            .map(|k| CommitSig {
                validator: k.address(),
                signature: k.sign(&vote.signing_bytes()),
            })
            .collect(),
    };
    let txs = txs.into_iter().map(VerifiedTx::into_inner).collect();
    let block = CommittedBlock {
        block: Block { header, txs },
        certificate,
    };
    (block, out.receipts)
}

/// Canonical, JSON and API-answer sizes of a proof, in bytes.
fn report_size(label: &str, p: &TxProof) {
    let bytes = p.encode().len();
    let json = serde_json::to_string(p).expect("json").len();
    let steps = p.tx_path.len();
    eprintln!(
        "proof size, {label}: {bytes} bytes canonical ({steps}-level paths), \
         {json} bytes as JSON, {} bytes as hex",
        2 * bytes
    );
}

fn proofs(c: &mut Criterion) {
    let validators = validator_set();
    let mut group = c.benchmark_group("tx_proof");
    group.sample_size(20);
    for count in [1_000usize, 10_000] {
        let (block, receipts) = certified_block(count);
        let middle = u32::try_from(count / 2).expect("fits");
        let p = proof::build(&block, &receipts, middle).expect("builds");
        proof::verify(&p, &CHAIN, &validators).expect("verifies");
        report_size(&format!("{count} txs, 4 signatures"), &p);
        let bytes = p.encode();
        group.bench_function(format!("verify_{count}_txs"), |b| {
            b.iter(|| proof::verify(&p, &CHAIN, &validators).expect("verifies"))
        });
        group.bench_function(format!("decode_and_verify_{count}_txs"), |b| {
            b.iter(|| {
                let p = TxProof::decode(&bytes).expect("decodes");
                proof::verify(&p, &CHAIN, &validators).expect("verifies")
            })
        });
        group.bench_function(format!("build_{count}_txs"), |b| {
            b.iter(|| {
                Prover::new(&block, &receipts)
                    .and_then(|prover| prover.proof(middle))
                    .expect("builds")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
