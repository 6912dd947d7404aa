//! Block logic shared by the async driver and the deterministic simulator: build a
//! block from the mempool, check a proposed or synced block, and commit a decided one.
//!
//! Synchronous and clock-free: callers pass the time. Building and checking execute
//! through the runtime; committing writes durably, then updates the mempool, the head
//! and the metrics, and last reports the block to the shell's [`Finality`] (the API's
//! event stream), in that order.

use std::time::Instant;

use jeon_runtime::block::{
    validators_hash, Certificate, CertificateError, CommittedBlock, ValidatorInfo,
};
use jeon_runtime::execute::{execute_block, BlockContext, BlockOutput};
use jeon_runtime::fees::FeeRules;
use jeon_runtime::tx::verify_batch;
use std::collections::BTreeSet;

use jeon_runtime::{merkle, Address, Block, Hash, Header, Outcome, SignedTx, TxError, VerifiedTx};

use crate::chain::{Chain, FinalEvent, Finality};
use crate::mempool::Eviction;
use crate::store::{ChainHead, StagedBlock, StoreError};
use crate::wire::{SyncRequest, SyncResponse, SYNC_BLOCKS_MAX, SYNC_RESPONSE_BYTES_MAX};

/// How far ahead of the checker's clock a block's time may be.
pub const BLOCK_TIME_DRIFT_MAX_MS: u64 = 10_000;

/// A block built or received for the next height, executed on top of the head.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The block.
    pub block: Block,
    /// Its transactions, verified.
    pub txs: Vec<VerifiedTx>,
    /// Its execution result.
    pub output: BlockOutput,
}

impl Candidate {
    /// The block's hash.
    pub fn hash(&self) -> Hash {
        self.block.header.hash()
    }
}

/// Why a block is not valid on top of our head.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// Batch verification returned fewer results than it was given: a bug.
    #[error("signature verification returned fewer results than transactions")]
    VerificationShort,
    /// Wrong chain id.
    #[error("block is for chain {got}, expected {expected}")]
    WrongChain {
        /// Ours.
        expected: Hash,
        /// The block's.
        got: Hash,
    },
    /// Not the next height.
    #[error("block height {got}, expected {expected}")]
    WrongHeight {
        /// Head + 1.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// Does not extend our head.
    #[error("block's previous hash {got} is not our head {expected}")]
    WrongParent {
        /// Our head's hash.
        expected: Hash,
        /// The block's.
        got: Hash,
    },
    /// The header names a proposer that is not a validator.
    #[error("block names {proposer} as its proposer, which is not a validator")]
    NotAValidator {
        /// The header's proposer.
        proposer: Address,
    },
    /// Time goes backwards or too far ahead.
    #[error("block time {time_ms} is outside [{min_ms}, {max_ms}]")]
    BadTime {
        /// The header's time.
        time_ms: u64,
        /// The previous block's time.
        min_ms: u64,
        /// Our clock plus the allowed drift.
        max_ms: u64,
    },
    /// Over the block limits.
    #[error("block holds {txs} transactions / {bytes} bytes, over the limits")]
    TooLarge {
        /// Transactions.
        txs: usize,
        /// Encoded bytes of transactions.
        bytes: usize,
    },
    /// A transaction is invalid: bad signature or chain id, or not executable at this
    /// height (nonce, expiry, fee). Blocks hold only valid transactions.
    #[error("transaction {index} is invalid: {error}")]
    BadTx {
        /// Its position.
        index: usize,
        /// Why.
        error: TxError,
    },
    /// A header field does not match what executing the block gives.
    #[error("header {field} is {got}, executing the block gives {expected}")]
    HeaderMismatch {
        /// Which field.
        field: &'static str,
        /// Computed.
        expected: Hash,
        /// In the header.
        got: Hash,
    },
    /// The certificate does not prove the block final.
    #[error("bad certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn execute(
    shared: &Chain,
    ctx: &BlockContext,
    txs: &[VerifiedTx],
) -> Result<BlockOutput, StoreError> {
    let started = Instant::now();
    let output = execute_block(&shared.db.tip(), ctx, txs)?;
    shared
        .metrics
        .block_execute_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(output)
}

/// The validator sets around the next height, read from the tip's state (docs/consensus.md
/// §1): a set change applied by block `h` governs heights from `h + 2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sets {
    /// The set that signs the next block (`tip + 1`).
    pub current: Vec<ValidatorInfo>,
    /// The set that signs the block after it: the next header's `next_validators_hash`.
    pub next: Vec<ValidatorInfo>,
}

/// The [`Sets`] for height `tip + 1`, from the tip's state (the genesis set for a state
/// genesis did not build, as in unit tests' hand-made stores).
pub fn sets_for_next(shared: &Chain) -> Result<Sets, StoreError> {
    let tip = shared.db.tip();
    let height = shared.tip().height + 1;
    let current = jeon_runtime::governance::consensus_validators(&tip, height)?;
    let next = jeon_runtime::governance::next_consensus_validators(&tip)?;
    Ok(Sets {
        current: current.unwrap_or_else(|| shared.validators.clone()),
        next: next.unwrap_or_else(|| shared.validators.clone()),
    })
}

fn header_for(
    sets: &Sets,
    ctx: &BlockContext,
    head: &ChainHead,
    txs: &[VerifiedTx],
    output: &BlockOutput,
) -> Header {
    Header {
        chain_id: ctx.chain_id,
        height: ctx.height,
        prev_hash: head.block_hash,
        time_ms: ctx.time_ms,
        proposer: ctx.proposer,
        tx_root: merkle::tx_root(txs),
        receipts_root: merkle::receipts_root(&output.receipts),
        app_hash: head.app_hash,
        validators_hash: validators_hash(&sets.current),
        next_validators_hash: validators_hash(&sets.next),
    }
}

/// How many times building drops invalid transactions and re-executes before it
/// gives up and proposes an empty block (each pass removes at least one).
const BUILD_PASSES_MAX: usize = 4;

/// Builds the next block from the mempool, proposed by `proposer` at `now_ms`.
///
/// A block never holds a transaction that is invalid at its height (stale or future
/// nonce, expired, fee not payable): those are evicted from the mempool with the
/// reason and the rest re-executed.
pub fn build(shared: &Chain, proposer: Address, now_ms: u64) -> Result<Candidate, StoreError> {
    let head = shared.tip();
    let params = &shared.params;
    let mut txs = shared.mempool().reap(
        params.block_txs_max as usize,
        params.block_bytes_max as usize,
    );
    let ctx = BlockContext {
        chain_id: shared.chain_id,
        height: head.height + 1,
        time_ms: now_ms.max(head.time_ms),
        proposer,
    };
    let sets = sets_for_next(shared)?;
    let mut output = execute(shared, &ctx, &txs)?;
    for pass in 0.. {
        let invalid: Vec<(Hash, TxError)> = output
            .receipts
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Invalid(e) => Some((r.tx, e.clone())),
                _ => None,
            })
            .collect();
        if invalid.is_empty() {
            break;
        }
        evict(shared, &invalid);
        if pass + 1 >= BUILD_PASSES_MAX {
            txs.clear();
        } else {
            let dropped: BTreeSet<Hash> = invalid.iter().map(|(h, _)| *h).collect();
            txs.retain(|t| !dropped.contains(&t.hash()));
        }
        output = execute(shared, &ctx, &txs)?;
    }
    let header = header_for(&sets, &ctx, &head, &txs, &output);
    let block = Block {
        header,
        txs: txs.iter().map(|t| t.tx().clone()).collect(),
    };
    Ok(Candidate { block, txs, output })
}

fn evict(shared: &Chain, invalid: &[(Hash, TxError)]) {
    let mut evicted: Vec<(Hash, Eviction)> = invalid
        .iter()
        .map(|(hash, error)| (*hash, Eviction::Invalid(error.clone())))
        .collect();
    {
        let mut pool = shared.mempool();
        for (hash, _) in invalid {
            // The sender's later transactions now wait; beyond the bounds, they go.
            evicted.extend(pool.remove(hash));
        }
        shared.metrics.observe_mempool(&pool);
    }
    record_evictions(shared, evicted);
}

/// Remembers evicted transactions with the reason, for `GET /v1/txs/{hash}`.
fn record_evictions(shared: &Chain, evicted: Vec<(Hash, Eviction)>) {
    shared.metrics.mempool_evicted.inc_by(evicted.len() as u64);
    let mut rejections = shared.rejections();
    for (hash, why) in evicted {
        rejections.record(hash, why);
    }
}

/// Checks a block for the next height: structure, limits, signatures (ZIP-215, docs/encoding.md), then
/// executes it and compares every header field. Its time must not go back and must not
/// exceed `time_max_ms` (the checker's clock plus [`BLOCK_TIME_DRIFT_MAX_MS`]).
///
/// The header's proposer is whoever built the block; it must be a validator, but need
/// not be this round's proposer: a block locked in an earlier round is re-proposed
/// unchanged by later proposers (the round's proposer signs the proposal, which the
/// replica checks). Requiring equality made restarted nodes, which had not kept the
/// block, refuse every re-proposal and stall the height (the simulator found this).
pub fn check(shared: &Chain, block: Block, time_max_ms: u64) -> Result<Candidate, BlockError> {
    let head = shared.tip();
    let h = &block.header;
    if h.chain_id != shared.chain_id {
        return Err(BlockError::WrongChain {
            expected: shared.chain_id,
            got: h.chain_id,
        });
    }
    if h.height != head.height + 1 {
        return Err(BlockError::WrongHeight {
            expected: head.height + 1,
            got: h.height,
        });
    }
    if h.prev_hash != head.block_hash {
        return Err(BlockError::WrongParent {
            expected: head.block_hash,
            got: h.prev_hash,
        });
    }
    let proposer = h.proposer;
    let sets = sets_for_next(shared)?;
    if !sets.current.iter().any(|v| v.key == proposer) {
        return Err(BlockError::NotAValidator { proposer });
    }
    if h.time_ms < head.time_ms || h.time_ms > time_max_ms {
        let (time_ms, min_ms, max_ms) = (h.time_ms, head.time_ms, time_max_ms);
        return Err(BlockError::BadTime {
            time_ms,
            min_ms,
            max_ms,
        });
    }
    check_limits(shared, &block)?;
    let ctx = BlockContext {
        chain_id: h.chain_id,
        height: h.height,
        time_ms: h.time_ms,
        proposer,
    };
    let txs = verify_txs(shared, block.txs.clone())?;
    let output = execute(shared, &ctx, &txs)?;
    if let Some((index, error)) =
        output
            .receipts
            .iter()
            .enumerate()
            .find_map(|(i, r)| match &r.outcome {
                Outcome::Invalid(e) => Some((i, e.clone())),
                _ => None,
            })
    {
        return Err(BlockError::BadTx { index, error });
    }
    let expected = header_for(&sets, &ctx, &head, &txs, &output);
    compare_headers(&expected, &block.header)?;
    Ok(Candidate { block, txs, output })
}

fn check_limits(shared: &Chain, block: &Block) -> Result<(), BlockError> {
    let bytes: usize = block.txs.iter().map(|t| t.encode().len()).sum();
    let params = &shared.params;
    if block.txs.len() > params.block_txs_max as usize || bytes > params.block_bytes_max as usize {
        return Err(BlockError::TooLarge {
            txs: block.txs.len(),
            bytes,
        });
    }
    Ok(())
}

/// Verifies a block's transactions. Those pending in our mempool were verified on
/// admission, and verification (ZIP-215) is a pure function of the transaction, so they
/// are not verified again: with gossip, that halves a validator's signature work.
fn verify_txs(shared: &Chain, txs: Vec<SignedTx>) -> Result<Vec<VerifiedTx>, BlockError> {
    let mut known: Vec<Option<VerifiedTx>> = Vec::with_capacity(txs.len());
    let mut unknown = Vec::new();
    {
        let pool = shared.mempool();
        for tx in txs {
            let cached = pool.get(&tx.hash()).filter(|v| v.tx() == &tx);
            if cached.is_none() {
                unknown.push(tx);
            }
            known.push(cached);
        }
    }
    let mut checked = verify_batch(unknown, &shared.chain_id).into_iter();
    known
        .into_iter()
        .enumerate()
        .map(|(index, cached)| match cached {
            Some(v) => Ok(v),
            None => match checked.next() {
                Some(r) => r.map_err(|error| BlockError::BadTx { index, error }),
                None => Err(BlockError::VerificationShort),
            },
        })
        .collect()
}

fn compare_headers(expected: &Header, got: &Header) -> Result<(), BlockError> {
    let fields = [
        ("tx_root", expected.tx_root, got.tx_root),
        ("receipts_root", expected.receipts_root, got.receipts_root),
        ("app_hash", expected.app_hash, got.app_hash),
        (
            "validators_hash",
            expected.validators_hash,
            got.validators_hash,
        ),
        (
            "next_validators_hash",
            expected.next_validators_hash,
            got.next_validators_hash,
        ),
    ];
    for (field, expected, got) in fields {
        if expected != got {
            return Err(BlockError::HeaderMismatch {
                field,
                expected,
                got,
            });
        }
    }
    Ok(())
}

/// Checks a block with its certificate from a peer (block sync): the certificate
/// must carry more than 2/3 of the voting power of the set of the block's height (read
/// from our tip, [`sets_for_next`]) for exactly this block.
pub fn check_synced(
    shared: &Chain,
    committed: CommittedBlock,
) -> Result<(Candidate, Certificate), BlockError> {
    let CommittedBlock { block, certificate } = committed;
    let hash = block.header.hash();
    let next = shared.tip().height + 1;
    if block.header.height != next {
        // The sets read from the tip are the next height's only.
        return Err(BlockError::WrongHeight {
            expected: next,
            got: block.header.height,
        });
    }
    if certificate.height != block.header.height {
        return Err(BlockError::WrongHeight {
            expected: block.header.height,
            got: certificate.height,
        });
    }
    let sets = sets_for_next(shared)?;
    certificate.verify(&shared.chain_id, &hash, &sets.current)?;
    // A final block's time was checked against the clocks of the validators that
    // signed it; ours may be behind by any amount.
    let candidate = check(shared, block, u64::MAX)?;
    Ok((candidate, certificate))
}

/// Writes a decided block durably, then reports it: head, mempool, metrics, and last
/// its events to `finality`. Nothing is reported before the store flush returns.
/// `now_ms` is the node's clock, for the mempool's wait bound. [`stage`] then [`finish`].
pub fn commit(
    shared: &Chain,
    finality: &dyn Finality,
    candidate: Candidate,
    certificate: Certificate,
    now_ms: u64,
) -> Result<ChainHead, StoreError> {
    let staged = stage(shared, candidate, certificate, now_ms)?;
    finish(shared, finality, staged)
}

/// A decided block past [`stage`]: durable in the block log, its state readable at the
/// tip, its transactions out of the mempool; not yet applied to the store nor reported.
#[must_use = "a staged block is final only once finished"]
pub struct Staged {
    block: StagedBlock,
    output: BlockOutput,
    started: Instant,
}

impl Staged {
    /// The head the block makes.
    pub fn head(&self) -> ChainHead {
        self.block.head()
    }
}

/// The part of a commit the next height waits for: appends the block's record to the
/// block log (synced: from here a crash recovers the block or cuts it, and nothing is
/// final yet), stages its state writes so that the tip reads them, moves the tip, and
/// takes its transactions out of the mempool, re-checking their senders' waiting
/// transactions against the tip. [`finish`] applies it to the store and reports it;
/// the replica signs nothing at the next height before that returned.
pub fn stage(
    shared: &Chain,
    candidate: Candidate,
    certificate: Certificate,
    now_ms: u64,
) -> Result<Staged, StoreError> {
    let Candidate {
        block,
        txs,
        mut output,
    } = candidate;
    let committed = CommittedBlock { block, certificate };
    let started = Instant::now();
    crate::crash::crash_point("commit.before_write");
    let state = std::sync::Arc::new(std::mem::take(&mut output.changes.entries));
    let staged = shared.db.stage_block(&committed, &output, state)?;
    let tip = staged.head();
    shared.set_tip(tip, staged.tx_hashes());
    let evicted = {
        let mut pool = shared.mempool();
        let fees = FeeRules::load(
            &shared.db.tip(),
            &shared.params,
            tip.height + 1,
            tip.time_ms,
        )?;
        let senders = txs.iter().map(|t| t.body().sender);
        let evicted = pool.after_commit(&shared.db.tip(), &fees, senders, now_ms)?;
        shared.metrics.observe_mempool(&pool);
        evicted
    };
    record_evictions(shared, evicted);
    Ok(Staged {
        block: staged,
        output,
        started,
    })
}

/// The rest of a commit: reports a [`stage`]d block final (head, metrics, and its
/// events to `finality`), then applies it to the store (one atomic batch, flushed).
///
/// The block is final once staged: its record is synced in the block log, every read
/// of the database sees its writes, and a crash before the store holds them replays
/// it at start ([`replay`]). Reporting first takes the store's write out of every
/// transaction's finality latency.
pub fn finish(
    shared: &Chain,
    finality: &dyn Finality,
    staged: Staged,
) -> Result<ChainHead, StoreError> {
    let Staged {
        block,
        output,
        started,
    } = staged;
    shared.db.index_staged(&block)?;
    report(shared, finality, block.head(), &output);
    crate::crash::crash_point("commit.after_report");
    let head = shared.db.apply_staged(block)?;
    crate::crash::crash_point("commit.after_write");
    shared
        .metrics
        .block_commit_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(head)
}

/// Executes and stores again the block [`crate::store::ChainDb::open`] found whole in
/// the block log just above the stored head (`bytes`, its record): a block that was
/// final when a crash kept its batch from the store. It is checked like a synced
/// block (certificate by the set of its height, execution to the app hash its next
/// header would carry), then committed through the usual path.
pub fn replay(
    shared: &Chain,
    height: jeon_runtime::Height,
    bytes: &[u8],
) -> Result<ChainHead, StoreError> {
    let committed = crate::store::decode_committed(height, bytes)?;
    let time_ms = committed.block.header.time_ms;
    let (candidate, certificate) =
        check_synced(shared, committed).map_err(|e| StoreError::CorruptBlock {
            height,
            reason: format!("the block above the stored head does not replay: {e}"),
        })?;
    commit(
        shared,
        &crate::chain::NoFinality,
        candidate,
        certificate,
        time_ms,
    )
}

fn report(shared: &Chain, finality: &dyn Finality, head: ChainHead, output: &BlockOutput) {
    shared.set_head(head);
    shared.metrics.height.set(head.height as i64);
    shared.metrics.blocks_committed.inc();
    shared
        .metrics
        .txs_finalized
        .inc_by(output.receipts.len() as u64);
    let height = head.height;
    let tx_events = output.receipts.iter().enumerate().flat_map(|(i, r)| {
        r.events.iter().map(move |e| FinalEvent {
            height,
            tx: Some(r.tx),
            index: Some(i as u32),
            event: e.clone(),
        })
    });
    let block_events = output.block_events.iter().map(|e| FinalEvent {
        height,
        tx: None,
        index: None,
        event: e.clone(),
    });
    finality.finalized(head, tx_events.chain(block_events).collect());
}

/// Answers a block sync request from our store: consecutive final blocks from
/// `request.from`, at most [`SYNC_BLOCKS_MAX`] and about [`SYNC_RESPONSE_BYTES_MAX`].
pub fn serve_sync(shared: &Chain, request: SyncRequest) -> Result<SyncResponse, StoreError> {
    let head = shared.head().height;
    let count = u64::from(request.count.min(SYNC_BLOCKS_MAX));
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    for height in request.from.max(1)..request.from.max(1).saturating_add(count) {
        if height > head {
            break;
        }
        let block = match shared.db.block(height) {
            Ok(Some(block)) => block,
            // A pruned node serves what it kept; the peer asks an archive node for more.
            Ok(None) | Err(StoreError::Pruned { .. }) => break,
            Err(e) => return Err(e),
        };
        bytes += block.block.encode().len() + 4096;
        if bytes > SYNC_RESPONSE_BYTES_MAX && !blocks.is_empty() {
            break;
        }
        blocks.push(block);
    }
    Ok(SyncResponse { head, blocks })
}
