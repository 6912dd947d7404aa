//! The chain a node keeps, free of any async runtime.
//!
//! The database, the head, the mempool and transaction admission, and the
//! [`Finality`] seam through which a commit is reported to the shell.
//!
//! The replica (and so the deterministic simulator) depends on [`Chain`] only; the
//! tokio side (the API's event stream) lives in [`crate::handle`] and is reached
//! through [`Finality`], implemented by the shell.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};

use jeon_runtime::block::ValidatorInfo;
use jeon_runtime::fees::FeeRules;
use jeon_runtime::state::{ChangeSet, StateError, StateExt};
use jeon_runtime::tx::verify_batch;
use jeon_runtime::{Event, Hash, Height, Params, SignedTx};
use serde::Serialize;

use crate::faults::DiskWatch;
use crate::mempool::{AdmitError, Eviction, Mempool, MempoolConfig};
use crate::metrics::Metrics;
use crate::signer::SigningStatus;
use crate::store::{ChainDb, ChainHead, Store, StoreError};

/// The database type the node runs on: any [`Store`], chosen at start.
pub type Db = ChainDb<Arc<dyn Store>>;

/// The chain a node runs, derived from the genesis spec.
#[derive(Clone, Debug)]
pub struct ChainSpec {
    /// The genesis hash.
    pub chain_id: Hash,
    /// The genesis state.
    pub genesis_changes: ChangeSet,
    /// Its app hash.
    pub genesis_app_hash: Hash,
    /// The genesis time.
    pub genesis_time_ms: u64,
    /// The validator set, in order.
    pub validators: Vec<ValidatorInfo>,
}

/// Finalized events broadcast per block to `GET /v1/events` subscribers.
#[derive(Clone, Debug, Serialize)]
pub struct FinalEvent {
    /// Block height.
    pub height: Height,
    /// The transaction that caused it; `None` for an event of the block itself (a
    /// redemption refunded at its deadline).
    pub tx: Option<Hash>,
    /// Position of that transaction in the block.
    pub index: Option<u32>,
    /// The event.
    pub event: Event,
}

/// How many recent admission refusals and evictions are remembered for status queries.
pub const REJECTIONS_KEPT_MAX: usize = 100_000;

/// Why a transaction is not pending: refused at admission, or evicted after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Refused at admission.
    #[error(transparent)]
    Refused(#[from] AdmitError),
    /// Admitted, then evicted from the mempool without being included in a block.
    #[error(transparent)]
    Evicted(#[from] Eviction),
}

/// A bounded memory of transactions refused or evicted, with the reason.
#[derive(Default)]
pub struct Rejections {
    order: VecDeque<Hash>,
    reasons: HashMap<Hash, Rejection>,
}

impl Rejections {
    /// Remembers a rejection, forgetting the oldest beyond the bound.
    pub fn record(&mut self, hash: Hash, reason: impl Into<Rejection>) {
        if self.reasons.insert(hash, reason.into()).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > REJECTIONS_KEPT_MAX {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    /// Why a transaction was rejected, if it was recently.
    pub fn reason(&self, hash: &Hash) -> Option<&Rejection> {
        self.reasons.get(hash)
    }
}

/// Who is told when transactions enter the mempool.
pub struct Hooks {
    /// The replica's inbox: a block may now be worth building.
    pub replica: std::sync::mpsc::SyncSender<crate::replica::ReplicaInput>,
    /// Gossips a batch of transactions (encoded `wire::TxBatch`) to peers, if any.
    pub gossip_txs: Option<Box<dyn Fn(Vec<u8>) + Send + Sync>>,
}

/// Where a committed block is reported final: called once per block, after the store
/// flush has returned and the head, mempool and rejections are updated. Implemented by
/// the shell (see [`crate::handle::EventPublisher`]); the simulator reports nowhere.
pub trait Finality: Send + Sync {
    /// The block at `head` is final; `events` are its events in order (maybe none).
    fn finalized(&self, head: ChainHead, events: Vec<FinalEvent>);
}

/// The longest [`Chain::read_at_head`] waits for a written block to be reported.
pub const HEAD_SETTLE_WAIT_MAX: Duration = Duration::from_secs(5);
/// How often [`Chain::read_at_head`] looks again while a block is being reported.
const HEAD_SETTLE_POLL: Duration = Duration::from_millis(1);

/// Reports nowhere: a replica nobody subscribes to (the simulator, tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFinality;

impl Finality for NoFinality {
    fn finalized(&self, _head: ChainHead, _events: Vec<FinalEvent>) {}
}

/// The chain as the replica, block logic and admission see it. No async runtime types:
/// the deterministic simulator runs it as is.
pub struct Chain {
    /// The database.
    pub db: Arc<Db>,
    /// The chain id.
    pub chain_id: Hash,
    /// Chain parameters (fixed by genesis for now).
    pub params: Params,
    /// The genesis validator set. Governance can change it: the set that signs a
    /// given height is [`Chain::validators_at`].
    pub validators: Vec<ValidatorInfo>,
    /// Pending transactions.
    pub mempool: Mutex<Mempool>,
    /// Who hears about admitted transactions (set once the driver and network run).
    pub hooks: OnceLock<Hooks>,
    /// The last final block: set only after its store flush returned.
    head: RwLock<ChainHead>,
    /// The newest decided block: the head, or a block above it whose record is durable
    /// and whose state is staged while it is applied (`blocks::stage`). Consensus
    /// builds on it; API answers report the head.
    tip: RwLock<ChainHead>,
    /// The transactions of a staged block: no longer in the mempool, not yet reported
    /// final; their status is `pending`.
    committing: RwLock<HashSet<Hash>>,
    /// Recent refusals.
    pub rejections: Mutex<Rejections>,
    /// Metrics.
    pub metrics: Metrics,
    /// Whether this node signs, as its replica last reported (`/v1/status`).
    signing: RwLock<SigningStatus>,
    /// Whether this node is in the set that signs the current height (its role is
    /// `validator`) or only follows the chain (`read`), as its replica last reported.
    votes: std::sync::atomic::AtomicBool,
    /// The data directory's free space: the replica pauses while it is too low.
    pub disk: DiskWatch,
}

/// Locks a mutex, serving through poisoning (shared by the node's stores).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoning means a panic while holding the lock, i.e. a bug already reported;
    // the data structures stay usable, so keep serving rather than cascade.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Chain {
    /// Opens the chain on `db`: writes genesis on first start, checks it otherwise.
    /// The mempool has the default bounds.
    pub fn open(db: Db, spec: &ChainSpec) -> Result<Arc<Self>, StoreError> {
        Self::open_with(db, spec, MempoolConfig::default())
    }

    /// [`Chain::open`] with the mempool's bounds.
    pub fn open_with(
        db: Db,
        spec: &ChainSpec,
        mempool: MempoolConfig,
    ) -> Result<Arc<Self>, StoreError> {
        let head = db.init_genesis(
            spec.chain_id,
            &spec.genesis_changes,
            spec.genesis_app_hash,
            spec.genesis_time_ms,
        )?;
        let params = db.params()?;
        let metrics = Metrics::new();
        metrics.height.set(head.height as i64);
        let chain = Arc::new(Chain {
            db: Arc::new(db),
            chain_id: spec.chain_id,
            params,
            validators: spec.validators.clone(),
            mempool: Mutex::new(Mempool::with_config(mempool)),
            hooks: OnceLock::new(),
            head: RwLock::new(head),
            tip: RwLock::new(head),
            committing: RwLock::new(HashSet::new()),
            rejections: Mutex::new(Rejections::default()),
            metrics,
            signing: RwLock::new(SigningStatus::NotValidator),
            votes: std::sync::atomic::AtomicBool::new(false),
            disk: DiskWatch::default(),
        });
        if let Some((height, bytes)) = chain.db.take_replay() {
            let head = crate::blocks::replay(&chain, height, &bytes)?;
            tracing::info!(
                height = head.height,
                "replayed the final block the store lacked"
            );
        }
        Ok(chain)
    }

    /// The mempool, locked.
    pub fn mempool(&self) -> MutexGuard<'_, Mempool> {
        lock(&self.mempool)
    }

    /// The rejection memory, locked.
    pub fn rejections(&self) -> MutexGuard<'_, Rejections> {
        lock(&self.rejections)
    }

    /// The last final block.
    pub fn head(&self) -> ChainHead {
        // Poisoning cannot leave a torn `ChainHead` (it is `Copy`, written whole).
        *self.head.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this node signs, and if not why.
    pub fn signing(&self) -> SigningStatus {
        *self.signing.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this node is in the validator set of the height in progress: a node
    /// whose key is in no set (a read node) only follows the chain and never votes.
    pub fn votes(&self) -> bool {
        self.votes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records whether the replica votes at the height in progress (the replica calls
    /// it whenever its core is made for a set).
    pub(crate) fn set_votes(&self, votes: bool) {
        self.votes
            .store(votes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records the replica's signing status (the replica calls it on every change).
    pub(crate) fn set_signing(&self, status: SigningStatus) {
        *self.signing.write().unwrap_or_else(|p| p.into_inner()) = status;
    }

    /// Records a new final head; only `blocks::finish` calls it, after the flush. Its
    /// transactions are no longer `committing`: the index now has them.
    pub(crate) fn set_head(&self, head: ChainHead) {
        *self.head.write().unwrap_or_else(|p| p.into_inner()) = head;
        let mut tip = self.tip.write().unwrap_or_else(|p| p.into_inner());
        if tip.height <= head.height {
            *tip = head;
            self.committing
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
    }

    /// The validator set that signs block `height`, read from `state` (the state after
    /// block `height - 1`; docs/consensus.md §1); the genesis set where the state holds
    /// no set record (hand-made test stores).
    pub fn validators_at<S: jeon_runtime::state::StateRead + ?Sized>(
        &self,
        state: &S,
        height: Height,
    ) -> Result<Vec<ValidatorInfo>, StateError> {
        Ok(
            jeon_runtime::governance::consensus_validators(state, height)?
                .unwrap_or_else(|| self.validators.clone()),
        )
    }

    /// The newest decided block: the head, or the block staged above it.
    pub fn tip(&self) -> ChainHead {
        *self.tip.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a block staged above the head (`blocks::stage`): the tip moves to it and
    /// its transactions read as `pending` until it is reported final.
    pub(crate) fn set_tip(&self, tip: ChainHead, txs: &[Hash]) {
        *self.committing.write().unwrap_or_else(|p| p.into_inner()) = txs.iter().copied().collect();
        *self.tip.write().unwrap_or_else(|p| p.into_inner()) = tip;
    }

    /// Whether a transaction is in a block staged above the head: decided and durable
    /// in the block log, but not yet reported final.
    pub fn is_committing(&self, hash: &Hash) -> bool {
        self.committing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(hash)
    }

    /// The fee rules of the block after the tip, read at the tip: what the mempool
    /// admits against (the next block consensus builds).
    pub fn tip_fee_rules(&self) -> Result<FeeRules, StoreError> {
        let tip = self.tip();
        Ok(FeeRules::load(
            &self.db.tip(),
            &self.params,
            tip.height + 1,
            tip.time_ms,
        )?)
    }

    /// Runs `read` over the stored state as of the reported head, so an answer that
    /// combines the head with state reads both from the same block.
    ///
    /// A commit stages a block (its record synced, its writes readable through the
    /// database, which then names it as its head) and only then reports it
    /// ([`Chain::set_head`]); in between, the database is a block ahead of the head.
    /// `read` runs only while the database's head equals the reported one, and its
    /// result counts only if that head did not move while it ran; otherwise it waits
    /// for the report and runs again. Waits at most [`HEAD_SETTLE_WAIT_MAX`] in all (a
    /// report follows its staging within milliseconds).
    pub fn read_at_head<T, E: From<StoreError>>(
        &self,
        read: impl Fn(&Db, ChainHead) -> Result<T, E>,
    ) -> Result<T, E> {
        let started = Instant::now();
        loop {
            let head = self.head();
            let stored = self.db.head()?;
            if stored.height == head.height {
                let value = read(&self.db, head)?;
                if self.db.head()?.height == head.height {
                    return Ok(value);
                }
            }
            if started.elapsed() > HEAD_SETTLE_WAIT_MAX {
                return Err(StoreError::HeadUnsettled {
                    stored: stored.height,
                    reported: head.height,
                }
                .into());
            }
            std::thread::sleep(HEAD_SETTLE_POLL);
        }
    }

    /// The fee rules of the next block, as far as committed state tells: its height
    /// and base fee, and the head's time (the next block's is not known yet). Read at
    /// the head ([`Chain::read_at_head`]).
    pub fn next_fee_rules(&self) -> Result<FeeRules, StoreError> {
        self.read_at_head(|db, head| {
            Ok(FeeRules::load(
                db,
                &self.params,
                head.height + 1,
                head.time_ms,
            )?)
        })
    }

    /// Verifies (ZIP-215 batches, see `crypto::verify_batch`) and admits transactions
    /// at `now_ms` (the node's clock); one result per input. Transactions evicted on
    /// the way (waiting behind a nonce gap too long, or displaced by ready ones) are
    /// recorded as rejections with the reason. CPU-heavy: call it from a blocking
    /// context.
    pub fn admit(&self, txs: Vec<SignedTx>, now_ms: u64) -> Vec<Result<Hash, AdmitError>> {
        let hashes: Vec<Hash> = txs.iter().map(SignedTx::hash).collect();
        let verified = verify_batch(txs, &self.chain_id);
        let mut results = Vec::with_capacity(verified.len());
        let evicted = {
            let fees = match self.tip_fee_rules() {
                Ok(fees) => fees,
                Err(e) => {
                    let e = match e {
                        StoreError::State(e) => e,
                        other => StateError::Backend(other.to_string()),
                    };
                    return verified
                        .iter()
                        .map(|_| Err(AdmitError::Storage(e.clone())))
                        .collect();
                }
            };
            let mut pool = self.mempool();
            let mut evicted = pool.evict_waited(now_ms);
            for v in verified {
                let r = match v {
                    Ok(tx) => pool
                        .insert(tx, &self.db.tip(), &fees, &self.chain_id, now_ms)
                        .map(|a| {
                            evicted.extend(a.evicted);
                            a.hash
                        }),
                    Err(e) => Err(AdmitError::Invalid(e)),
                };
                results.push(r);
            }
            self.metrics.observe_mempool(&pool);
            evicted
        };
        let mut rejections = self.rejections();
        self.metrics.mempool_evicted.inc_by(evicted.len() as u64);
        for (hash, why) in evicted {
            rejections.record(hash, why);
        }
        for (hash, r) in hashes.iter().zip(&results) {
            match r {
                Ok(_) => {
                    self.metrics.txs_admitted.inc();
                }
                Err(e) => {
                    self.metrics.txs_refused.inc();
                    // A duplicate of a pending transaction is not a rejection of it.
                    if !matches!(e, AdmitError::Duplicate(_)) {
                        rejections.record(*hash, e.clone());
                    }
                }
            }
        }
        drop(rejections);
        results
    }
}

impl Chain {
    /// Admits transactions and tells the replica; those that came from a client (not
    /// from a peer) are also gossiped, as one batch, so any proposer can include them.
    /// CPU-heavy: call it from a blocking context.
    pub fn submit(
        &self,
        txs: Vec<SignedTx>,
        from_peer: bool,
        now_ms: u64,
    ) -> Vec<Result<Hash, AdmitError>> {
        let gossip = !from_peer && self.hooks.get().is_some_and(|h| h.gossip_txs.is_some());
        let copies = if gossip { txs.clone() } else { Vec::new() };
        let results = self.admit(txs, now_ms);
        if !results.iter().any(Result::is_ok) {
            return results;
        }
        if let Some(hooks) = self.hooks.get() {
            // A full inbox already holds a wake-up; dropping this one loses nothing.
            let _ = hooks
                .replica
                .try_send(crate::replica::ReplicaInput::TxsAdmitted);
            if let Some(gossip_txs) = &hooks.gossip_txs {
                let accepted: Vec<SignedTx> = copies
                    .into_iter()
                    .zip(&results)
                    .filter(|(_, r)| r.is_ok())
                    .map(|(t, _)| t)
                    .collect();
                gossip_txs(crate::wire::TxBatch { txs: accepted }.encode());
            }
        }
        results
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use jeon_genesis::{Preset, PresetKeys};
    use jeon_runtime::block::{Block, Certificate, CommittedBlock, Header};
    use jeon_runtime::fees::{self, FeeRules};
    use jeon_runtime::{Address, Amount, Hash, Overlay};

    use super::{Chain, ChainSpec};
    use crate::store::{ChainDb, ChainHead, MemStore, StoreError};

    const GENESIS_TIME_MS: u64 = 1_700_000_000_000;

    /// A chain on the dev preset, in memory, with nothing attached (no replica, no
    /// network).
    pub(crate) fn dev_chain() -> Arc<Chain> {
        let keys = PresetKeys::from_seed_labels(&Preset::Dev.key_names());
        let genesis = Preset::Dev
            .spec(&keys, GENESIS_TIME_MS)
            .expect("dev preset");
        let spec = ChainSpec::from_genesis(&genesis).expect("valid dev preset");
        Chain::open(ChainDb::new(Arc::new(MemStore::new())), &spec).expect("open")
    }

    /// Writes block 1 as a commit does (state and stored head in one batch), with the
    /// next base fee set to `base_fee`, and does not report it.
    fn write_block_1(chain: &Chain, base_fee: Amount) -> ChainHead {
        let (block, output) = block_1(chain, base_fee);
        chain.db.commit_block(&block, &output).expect("write")
    }

    fn block_1(
        chain: &Chain,
        base_fee: Amount,
    ) -> (CommittedBlock, jeon_runtime::execute::BlockOutput) {
        let mut ov = Overlay::new(&*chain.db);
        ov.put(fees::storage::base_fee(), &base_fee).expect("put");
        let (changes, app_hash) = ov.finish().expect("finish");
        let header = Header {
            chain_id: chain.chain_id,
            height: 1,
            prev_hash: Hash::ZERO,
            time_ms: GENESIS_TIME_MS + 1_000,
            proposer: Address([1; 32]),
            tx_root: Hash::ZERO,
            receipts_root: Hash::ZERO,
            app_hash: Hash::ZERO,
            validators_hash: Hash::ZERO,
            next_validators_hash: Hash::ZERO,
        };
        let certificate = Certificate {
            height: 1,
            round: 0,
            block: header.hash(),
            signatures: vec![],
        };
        let block = CommittedBlock {
            block: Block {
                header,
                txs: vec![],
            },
            certificate,
        };
        let output = jeon_runtime::execute::BlockOutput {
            receipts: vec![],
            changes,
            app_hash,
            block_events: vec![],
        };
        (block, output)
    }

    #[test]
    fn a_staged_block_reads_as_final_once_reported_before_the_store_holds_it() {
        let chain = dev_chain();
        let before = base_fee_at_head(&chain).expect("read").1;
        let (block, mut output) = block_1(&chain, before + 77);
        let state = Arc::new(std::mem::take(&mut output.changes.entries));
        let staged = chain
            .db
            .stage_block(&block, &output, state.clone())
            .expect("stage");
        let key = fees::storage::base_fee();
        let tip_fee = |chain: &Chain| {
            jeon_runtime::state::read_record::<Amount, _>(&chain.db.tip(), &key).expect("read")
        };
        // Staged: execution, admission and the database all read the block, and the
        // database names it as its head.
        assert_eq!(tip_fee(&chain), Some(before + 77));
        assert_eq!(chain.db.head().expect("head").height, 1);
        // Scans merge the staged writes over the store's entries.
        let scanned =
            jeon_runtime::state::StateScan::scan_prefix(&*chain.db, &key, 10).expect("scan");
        let staged_bytes = state
            .get(&key)
            .cloned()
            .flatten()
            .expect("the block writes the fee");
        assert_eq!(scanned, vec![(key.clone(), staged_bytes)]);
        // Its record is found by height before the store holds its place.
        let record = chain.db.block_record(1).expect("read").expect("record");
        assert_eq!(
            record.committed.block.header.hash(),
            block.block.header.hash()
        );
        // Reported (before it is applied): answers at the head pair height 1 with it.
        chain.set_head(staged.head());
        assert_eq!(base_fee_at_head(&chain).expect("read"), (1, before + 77));
        // One block at a time: the next waits for this one to be applied.
        assert!(chain.db.stage_block(&block, &output, state).is_err());
        let head = chain.db.apply_staged(staged).expect("apply");
        assert_eq!(head, chain.head());
        assert_eq!(base_fee_at_head(&chain).expect("read"), (1, before + 77));
        assert_eq!(tip_fee(&chain), Some(before + 77));
        assert_eq!(chain.tip(), chain.head());
    }

    fn base_fee_at_head(chain: &Chain) -> Result<(u64, Amount), StoreError> {
        chain.read_at_head(|db, head| {
            let rules = FeeRules::load(db, &chain.params, head.height + 1, head.time_ms)?;
            Ok((head.height, rules.base_fee))
        })
    }

    #[test]
    fn a_read_at_the_head_never_pairs_the_head_with_a_block_written_but_not_yet_reported() {
        let chain = dev_chain();
        let genesis_fee = base_fee_at_head(&chain).expect("read").1;
        let new_fee = genesis_fee + 7;
        let head_1 = write_block_1(&chain, new_fee);

        // Reading the head, then the store, is what the API did: it pairs height 0
        // with block 1's base fee.
        let head = chain.head();
        let torn =
            FeeRules::load(&*chain.db, &chain.params, head.height + 1, head.time_ms).expect("load");
        assert_eq!((head.height, torn.base_fee), (0, new_fee));

        // A read at the head waits for the report and answers from block 1.
        let reader = {
            let chain = chain.clone();
            std::thread::spawn(move || base_fee_at_head(&chain))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !reader.is_finished(),
            "answered before block 1 was reported"
        );
        chain.set_head(head_1);
        let read = reader.join().expect("reader").expect("read");
        assert_eq!(read, (1, new_fee));
    }
}
