//! The mempool: verified transactions waiting for a block, per sender in nonce order.
//!
//! Admission (after decoding and signature checks, which the API does in batches)
//! checks chain id, expiry, fee and nonce against the committed state, dedupes, and
//! enforces the bounds below. Block building takes, per sender, the run of consecutive
//! nonces starting at the sender's next nonce: those transactions are *ready*. The rest
//! *wait* behind a nonce gap until the missing nonce arrives.
//!
//! Waiting transactions can never block others (docs/runtime.md §5): each sender may
//! keep only [`FUTURE_TXS_PER_SENDER_MAX`] of them, all senders together only a quarter
//! of the pool, none for longer than the configured wait bound, and a ready transaction
//! arriving at a full pool evicts waiting ones (oldest first) instead of being refused.
//! After each commit, transactions that became invalid (used nonce, expired, fee no
//! longer payable) are evicted. Time enters as `now_ms` from the caller, so the pool is
//! deterministic given its inputs.

use std::collections::{BTreeMap, HashMap};

use jeon_runtime::fees::{assess, FeeRules};
use jeon_runtime::state::{StateError, StateExt, StateRead};
use jeon_runtime::{Address, Hash, Nonce, TxError, VerifiedTx};

/// The most transactions the pool holds (the default, and the most a node may be
/// configured with).
pub const MEMPOOL_TXS_MAX: usize = 100_000;
/// The most encoded transaction bytes the pool holds: with the count, what bounds its
/// memory whatever the transactions' size (a pending transaction costs about twice its
/// encoding in memory, with the indexes).
pub const MEMPOOL_BYTES_MAX: usize = 24 << 20;
/// The most pending transactions of one sender.
pub const MEMPOOL_SENDER_TXS_MAX: usize = 4_096;
/// How far ahead of the sender's next nonce (in committed state) a transaction may be.
pub const NONCE_GAP_MAX: u64 = 4_096;
/// The most transactions one sender may have waiting behind a nonce gap. A wallet
/// that sends in order needs none; a back-end submitting from several threads, or
/// gossip, reorders a few; 64 covers that while one account pins little of the pool.
pub const FUTURE_TXS_PER_SENDER_MAX: usize = 64;
/// Waiting transactions may hold at most `1 / FUTURE_SHARE_DIVISOR` of the pool's
/// count and bytes, so ready transactions always have three quarters of it.
pub const FUTURE_SHARE_DIVISOR: usize = 4;
/// How long a transaction may wait behind a nonce gap, counted from its admission,
/// before it is evicted: a missing nonce that has not arrived in a minute is most
/// likely lost (refused, or its sender gave up), and the rest must then be resubmitted
/// anyway.
pub const FUTURE_TX_WAIT_MAX_MS: u64 = 60_000;
/// The fewest transactions a node may be configured to hold: enough for a block of
/// several senders and a few waiting transactions.
pub const MEMPOOL_TXS_MIN: usize = 16;

/// The pool's bounds. The defaults are the constants above; a node may lower the
/// count bound and the wait bound (`jeon node --mempool-txs-max`,
/// `--future-tx-wait-ms`), e.g. to test the bounds without filling 100 000 slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// The most transactions pending.
    pub txs_max: usize,
    /// The most encoded bytes pending.
    pub bytes_max: usize,
    /// The most transactions waiting behind nonce gaps, all senders together.
    pub future_txs_max: usize,
    /// The most encoded bytes of those.
    pub future_bytes_max: usize,
    /// How long a transaction may wait behind a gap, from its admission.
    pub future_wait_max_ms: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self::with_txs_max(MEMPOOL_TXS_MAX)
    }
}

impl MempoolConfig {
    /// The default bounds with `txs_max` transactions (clamped to
    /// [`MEMPOOL_TXS_MIN`]..=[`MEMPOOL_TXS_MAX`]); the waiting share follows it.
    pub fn with_txs_max(txs_max: usize) -> Self {
        let txs_max = txs_max.clamp(MEMPOOL_TXS_MIN, MEMPOOL_TXS_MAX);
        MempoolConfig {
            txs_max,
            bytes_max: MEMPOOL_BYTES_MAX,
            future_txs_max: txs_max / FUTURE_SHARE_DIVISOR,
            future_bytes_max: MEMPOOL_BYTES_MAX / FUTURE_SHARE_DIVISOR,
            future_wait_max_ms: FUTURE_TX_WAIT_MAX_MS,
        }
    }
}

/// Whether admitting a transaction of `incoming` bytes to a pool holding `txs`
/// transactions of `bytes` bytes would break a bound of `txs_max` / `bytes_max`.
fn would_overflow(
    txs: usize,
    bytes: usize,
    incoming: usize,
    txs_max: usize,
    bytes_max: usize,
) -> bool {
    txs >= txs_max || bytes.saturating_add(incoming) > bytes_max
}

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The transaction itself is invalid now.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The pool is at capacity, by count or by bytes, and evicting every transaction
    /// waiting behind a nonce gap would not make room (or this one would wait too).
    #[error("mempool full ({txs} transactions, {bytes} bytes; the bounds are {txs_max} and {bytes_max}); retry later")]
    Full {
        /// Transactions pending.
        txs: usize,
        /// Their encoded bytes.
        bytes: usize,
        /// The count bound.
        txs_max: usize,
        /// The byte bound.
        bytes_max: usize,
    },
    /// The same transaction is already pending.
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    /// Another transaction with this sender and nonce is pending.
    #[error("another transaction with nonce {nonce} from this sender is pending")]
    NonceTaken {
        /// The nonce.
        nonce: Nonce,
    },
    /// The sender has too many pending transactions.
    #[error("sender has {limit} pending transactions, the most allowed")]
    SenderFull {
        /// The bound.
        limit: usize,
    },
    /// The nonce is too far ahead of the sender's next nonce.
    #[error("nonce {got} is more than {gap} ahead of the sender's next nonce {expected}")]
    NonceTooFarAhead {
        /// The sender's next nonce.
        expected: Nonce,
        /// The transaction's nonce.
        got: Nonce,
        /// The bound.
        gap: u64,
    },
    /// The transaction would wait behind a nonce gap, and the sender already has the
    /// most waiting transactions allowed.
    #[error("nonce {got} would wait behind a gap (nonce {missing} is missing) and the sender already has {limit} transactions waiting, the most allowed; submit nonce {missing} first")]
    SenderFutureFull {
        /// The first nonce the sender has not submitted.
        missing: Nonce,
        /// The transaction's nonce.
        got: Nonce,
        /// The bound.
        limit: usize,
    },
    /// The transaction would wait behind a nonce gap, and the pool's share for
    /// waiting transactions is full.
    #[error("nonce {got} would wait behind a gap (nonce {missing} is missing) and the mempool already holds {txs} waiting transactions ({bytes} bytes; the bounds are {txs_max} and {bytes_max}); submit nonce {missing} first, or retry later")]
    FutureFull {
        /// The first nonce the sender has not submitted.
        missing: Nonce,
        /// The transaction's nonce.
        got: Nonce,
        /// Waiting transactions.
        txs: usize,
        /// Their encoded bytes.
        bytes: usize,
        /// The count bound.
        txs_max: usize,
        /// The byte bound.
        bytes_max: usize,
    },
    /// Reading state failed.
    #[error(transparent)]
    Storage(#[from] StateError),
}

/// Why a pending transaction left the pool without being included in a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Eviction {
    /// It is no longer valid on the chain (expired, fee no longer payable, invalid at
    /// the height a block was built for).
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// It waited behind a nonce gap longer than the bound.
    #[error("evicted after waiting {waited_ms} ms behind a nonce gap (nonce {missing} never arrived; this transaction has nonce {nonce}), longer than the {wait_max_ms} ms allowed; submit nonce {missing}, then this one again")]
    WaitedTooLong {
        /// The first nonce the sender had not submitted.
        missing: Nonce,
        /// The transaction's nonce.
        nonce: Nonce,
        /// How long it waited, from admission.
        waited_ms: u64,
        /// The bound.
        wait_max_ms: u64,
    },
    /// It was waiting behind a nonce gap when the pool needed its room: for a
    /// transaction that could go in the next block, or because a bound on waiting
    /// transactions was exceeded.
    #[error("evicted while waiting behind a nonce gap (nonce {missing} is missing; this transaction has nonce {nonce}): the mempool needed its room for transactions that can go in a block; submit nonce {missing}, then this one again")]
    Displaced {
        /// The first nonce the sender had not submitted.
        missing: Nonce,
        /// The transaction's nonce.
        nonce: Nonce,
    },
}

/// A transaction admitted, with what was evicted to make room for it.
#[derive(Debug)]
pub struct Admitted {
    /// Its hash.
    pub hash: Hash,
    /// Waiting transactions evicted to make room, with the reason.
    pub evicted: Vec<(Hash, Eviction)>,
}

struct Pending {
    tx: VerifiedTx,
    bytes: usize,
    /// When it was admitted, and the pool's admission counter then: its key in the
    /// waiting index, oldest first, ties broken by arrival.
    admitted: (u64, u64),
    /// Whether it waits behind a nonce gap (its nonce is past the sender's ready run).
    waiting: bool,
}

#[derive(Default)]
struct SenderQueue {
    /// The sender's next nonce in committed state.
    next_nonce: Nonce,
    /// The first nonce at or after `next_nonce` not pending: the ready run is
    /// `next_nonce..ready_end`, everything from `ready_end` on waits.
    ready_end: Nonce,
    /// How many of the sender's transactions wait.
    waiting: usize,
    txs: BTreeMap<Nonce, Pending>,
}

/// The pool. Not synchronized: the node wraps it in a mutex.
#[derive(Default)]
pub struct Mempool {
    config: MempoolConfig,
    senders: BTreeMap<Address, SenderQueue>,
    index: HashMap<Hash, (Address, Nonce)>,
    /// Where the last reap stopped, so senders take turns under load.
    cursor: Option<Address>,
    /// Encoded bytes of the pending transactions.
    bytes: usize,
    /// The waiting transactions, oldest admission first.
    waiting: BTreeMap<(u64, u64), (Address, Nonce)>,
    /// Their encoded bytes.
    waiting_bytes: usize,
    /// Admissions so far: the tie-breaker of the waiting index.
    admissions: u64,
}

impl Mempool {
    /// An empty pool with the default bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pool with the given bounds.
    pub fn with_config(config: MempoolConfig) -> Self {
        Mempool {
            config,
            ..Self::default()
        }
    }

    /// The pool's bounds.
    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Encoded bytes of the pending transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Pending transactions waiting behind a nonce gap.
    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// Encoded bytes of those.
    pub fn waiting_bytes(&self) -> usize {
        self.waiting_bytes
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether a transaction is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.index.contains_key(hash)
    }

    /// A pending transaction, already verified.
    pub fn get(&self, hash: &Hash) -> Option<VerifiedTx> {
        let (sender, nonce) = self.index.get(hash)?;
        self.senders
            .get(sender)?
            .txs
            .get(nonce)
            .map(|p| p.tx.clone())
    }

    /// Whether a block could take anything now: some sender's next nonce is pending.
    /// (A pool holding only nonce gaps must not make the proposer build empty blocks.)
    pub fn has_ready(&self) -> bool {
        self.senders
            .values()
            .any(|q| q.txs.contains_key(&q.next_nonce))
    }

    /// Removes one transaction (found invalid while building a block). Its sender's
    /// later ready transactions then wait behind the gap it leaves; those beyond the
    /// waiting bounds are evicted and returned with the reason.
    pub fn remove(&mut self, hash: &Hash) -> Vec<(Hash, Eviction)> {
        let Some(&(sender, nonce)) = self.index.get(hash) else {
            return Vec::new();
        };
        self.take(&sender, nonce);
        let mut evicted = self.trim_sender(&sender);
        evicted.extend(self.trim_all_waiting());
        evicted
    }

    /// Admits a verified transaction, checked against committed `state` for inclusion
    /// in the next block, whose height and fee rules `fees` gives, at `now_ms` (the
    /// node's clock: it starts the transaction's wait if it waits behind a gap).
    pub fn insert<S: StateRead + ?Sized>(
        &mut self,
        tx: VerifiedTx,
        state: &S,
        fees: &FeeRules,
        chain_id: &Hash,
        now_ms: u64,
    ) -> Result<Admitted, AdmitError> {
        let hash = tx.hash();
        let (sender, nonce) = (tx.body().sender, tx.body().nonce);
        let (due, next_nonce) = self.check_valid(&tx, state, fees, chain_id)?;
        self.sync_next_nonce(&sender, next_nonce);
        let (missing, pending) = match self.senders.get(&sender) {
            Some(q) if q.txs.contains_key(&nonce) => {
                return Err(AdmitError::NonceTaken { nonce });
            }
            Some(q) => (q.ready_end, q.txs.len()),
            None => (next_nonce, 0),
        };
        if pending >= MEMPOOL_SENDER_TXS_MAX {
            return Err(AdmitError::SenderFull {
                limit: MEMPOOL_SENDER_TXS_MAX,
            });
        }
        // Ready: the sender's next nonce, or the one right after its ready run.
        let ready = nonce == missing;
        let bytes = tx.tx().encode().len();
        if !ready {
            self.check_waiting_room(&sender, nonce, missing, bytes)?;
        }
        // A sender paying its own fee reserves one fee per pending transaction, so one
        // fee's balance cannot queue thousands of transactions that would fail to pay
        // (counting its sponsored ones too: conservative, and O(1)). A sponsor's or
        // co-signer's balance and budget are checked for this one transaction; block
        // building drops those it can no longer cover.
        if due.payer == sender {
            let required = due.amount.saturating_mul(pending as u64 + 1);
            let available = state.balance(&sender, fees.asset)?;
            if available < required {
                return Err(TxError::CannotPayFee {
                    payer: sender,
                    asset: fees.asset,
                    required,
                    available,
                }
                .into());
            }
        }
        // Last, so nothing is evicted for a transaction that is then refused.
        let evicted = self.make_room(&sender, ready, bytes)?;
        self.admissions += 1;
        let admitted = (now_ms, self.admissions);
        let p = Pending {
            tx,
            bytes,
            admitted,
            waiting: !ready,
        };
        self.link(sender, nonce, next_nonce, p);
        Ok(Admitted { hash, evicted })
    }

    /// The checks against committed state: duplicate, chain, expiry, fee, stale nonce,
    /// nonce gap. Returns the fee due and the sender's next nonce.
    fn check_valid<S: StateRead + ?Sized>(
        &self,
        tx: &VerifiedTx,
        state: &S,
        fees: &FeeRules,
        chain_id: &Hash,
    ) -> Result<(jeon_runtime::fees::FeeDue, Nonce), AdmitError> {
        let body = tx.body();
        let next_height = fees.height;
        if self.index.contains_key(&tx.hash()) {
            return Err(AdmitError::Duplicate(tx.hash()));
        }
        if body.chain_id != *chain_id {
            return Err(TxError::WrongChain {
                expected: *chain_id,
                got: body.chain_id,
            }
            .into());
        }
        if next_height > body.expiry {
            return Err(TxError::Expired {
                expiry: body.expiry,
                height: next_height,
            }
            .into());
        }
        let due = assess(state, fees, tx.tx())??;
        let next_nonce = state.nonce(&body.sender)?;
        if body.nonce < next_nonce {
            return Err(TxError::StaleNonce {
                expected: next_nonce,
                got: body.nonce,
            }
            .into());
        }
        if body.nonce - next_nonce > NONCE_GAP_MAX {
            return Err(AdmitError::NonceTooFarAhead {
                expected: next_nonce,
                got: body.nonce,
                gap: NONCE_GAP_MAX,
            });
        }
        Ok((due, next_nonce))
    }

    /// The committed nonce only grows; a read racing a commit must not move it back,
    /// and one that sees the commit first moves the ready run on.
    fn sync_next_nonce(&mut self, sender: &Address, next_nonce: Nonce) {
        if let Some(queue) = self.senders.get_mut(sender) {
            if next_nonce > queue.next_nonce {
                queue.next_nonce = next_nonce;
                self.settle(sender);
            }
        }
    }

    /// The nonce after `sender`'s ready run of pending transactions, if it has any
    /// pending: where a transaction it sends next goes without a gap.
    pub fn ready_end(&self, sender: &Address) -> Option<Nonce> {
        self.senders
            .get(sender)
            .filter(|q| !q.txs.is_empty())
            .map(|q| q.ready_end)
    }

    /// Refuses a transaction that would wait if its sender, or the pool, already
    /// holds the most waiting transactions.
    fn check_waiting_room(
        &self,
        sender: &Address,
        nonce: Nonce,
        missing: Nonce,
        bytes: usize,
    ) -> Result<(), AdmitError> {
        let own = self.senders.get(sender).map_or(0, |q| q.waiting);
        if own >= FUTURE_TXS_PER_SENDER_MAX {
            return Err(AdmitError::SenderFutureFull {
                missing,
                got: nonce,
                limit: FUTURE_TXS_PER_SENDER_MAX,
            });
        }
        let c = &self.config;
        let (txs, waiting_bytes) = (self.waiting.len(), self.waiting_bytes);
        if would_overflow(
            txs,
            waiting_bytes,
            bytes,
            c.future_txs_max,
            c.future_bytes_max,
        ) {
            return Err(AdmitError::FutureFull {
                missing,
                got: nonce,
                txs,
                bytes: waiting_bytes,
                txs_max: c.future_txs_max,
                bytes_max: c.future_bytes_max,
            });
        }
        Ok(())
    }

    /// Makes room for `incoming` bytes of `sender`'s transaction. If the pool is full
    /// and the transaction is ready, other senders' waiting transactions are evicted,
    /// oldest first, until it fits; a waiting transaction, or a ready one that would
    /// not fit even then, is refused and nothing is evicted.
    ///
    /// Oldest first, not lowest fee: fees here are not bids (every sender pays the base
    /// fee of its tier, whatever its `fee_limit`), and the oldest waiting transaction has
    /// waited longest for its missing nonce, so it is the least likely to become ready
    /// and the next to reach the wait bound anyway. The sender's own waiting
    /// transactions are spared: this one may be the nonce they wait for.
    fn make_room(
        &mut self,
        sender: &Address,
        ready: bool,
        incoming: usize,
    ) -> Result<Vec<(Hash, Eviction)>, AdmitError> {
        let c = self.config;
        let overflows = |txs, bytes| would_overflow(txs, bytes, incoming, c.txs_max, c.bytes_max);
        if !overflows(self.len(), self.bytes) {
            return Ok(Vec::new());
        }
        let full = AdmitError::Full {
            txs: self.len(),
            bytes: self.bytes,
            txs_max: c.txs_max,
            bytes_max: c.bytes_max,
        };
        let (own_txs, own_bytes) = self.senders.get(sender).map_or((0, 0), |q| {
            let mine = q.txs.values().filter(|p| p.waiting);
            (q.waiting, mine.map(|p| p.bytes).sum())
        });
        let freeable_txs = self.waiting.len() - own_txs;
        let freeable_bytes = self.waiting_bytes - own_bytes;
        if !ready || overflows(self.len() - freeable_txs, self.bytes - freeable_bytes) {
            return Err(full);
        }
        let mut evicted = Vec::new();
        while overflows(self.len(), self.bytes) {
            let victim = self.waiting.iter().find(|(_, (a, _))| a != sender);
            let Some((&key, &(addr, nonce))) = victim else {
                break; // unreachable: the room was counted above
            };
            evicted.extend(self.evict_waiting(key, addr, nonce, |missing, nonce| {
                Eviction::Displaced { missing, nonce }
            }));
        }
        Ok(evicted)
    }

    /// Links an admitted transaction into the pool; a ready one pulls the sender's
    /// waiting transactions that now follow it without a gap into the ready run.
    fn link(&mut self, sender: Address, nonce: Nonce, next_nonce: Nonce, p: Pending) {
        self.bytes += p.bytes;
        self.index.insert(p.tx.hash(), (sender, nonce));
        let queue = self.senders.entry(sender).or_insert_with(|| SenderQueue {
            next_nonce,
            ready_end: next_nonce,
            ..SenderQueue::default()
        });
        if p.waiting {
            queue.waiting += 1;
            self.waiting.insert(p.admitted, (sender, nonce));
            self.waiting_bytes += p.bytes;
            queue.txs.insert(nonce, p);
            return;
        }
        queue.txs.insert(nonce, p);
        let mut end = nonce.saturating_add(1);
        for (&n, f) in queue.txs.range_mut(end..) {
            if n != end {
                break; // the next gap
            }
            if f.waiting {
                f.waiting = false;
                queue.waiting -= 1;
                self.waiting.remove(&f.admitted);
                self.waiting_bytes -= f.bytes;
            }
            end = end.saturating_add(1);
        }
        queue.ready_end = end;
    }

    /// Unlinks one transaction from every index. A ready one sends the rest of its
    /// sender's ready run to wait: they cannot go in a block before it.
    fn take(&mut self, sender: &Address, nonce: Nonce) -> Option<Pending> {
        let queue = self.senders.get_mut(sender)?;
        let p = queue.txs.remove(&nonce)?;
        self.index.remove(&p.tx.hash());
        self.bytes -= p.bytes;
        if p.waiting {
            queue.waiting -= 1;
            self.waiting.remove(&p.admitted);
            self.waiting_bytes -= p.bytes;
        } else if (queue.next_nonce..queue.ready_end).contains(&nonce) {
            for (&n, f) in queue.txs.range_mut(nonce..queue.ready_end) {
                f.waiting = true;
                queue.waiting += 1;
                self.waiting.insert(f.admitted, (*sender, n));
                self.waiting_bytes += f.bytes;
            }
            queue.ready_end = nonce;
        }
        if queue.txs.is_empty() {
            self.senders.remove(sender);
        }
        Some(p)
    }

    /// Recomputes a sender's ready run from its next nonce, moving transactions
    /// between ready and waiting as it changed.
    fn settle(&mut self, sender: &Address) {
        let Some(queue) = self.senders.get_mut(sender) else {
            return;
        };
        let mut end = queue.next_nonce;
        for (&nonce, p) in queue.txs.iter_mut() {
            // Below the next nonce: used, dropped by the next `after_commit`.
            let waiting = nonce >= queue.next_nonce && nonce != end;
            if nonce == end {
                end = end.saturating_add(1);
            }
            if p.waiting == waiting {
                continue;
            }
            p.waiting = waiting;
            if waiting {
                queue.waiting += 1;
                self.waiting.insert(p.admitted, (*sender, nonce));
                self.waiting_bytes += p.bytes;
            } else {
                queue.waiting -= 1;
                self.waiting.remove(&p.admitted);
                self.waiting_bytes -= p.bytes;
            }
        }
        queue.ready_end = end;
    }

    /// Evicts the waiting transaction `(addr, nonce)`, filed under `key` in the waiting
    /// index, with the reason `why(missing, nonce)`.
    fn evict_waiting(
        &mut self,
        key: (u64, u64),
        addr: Address,
        nonce: Nonce,
        why: impl FnOnce(Nonce, Nonce) -> Eviction,
    ) -> Option<(Hash, Eviction)> {
        let missing = self.senders.get(&addr).map_or(nonce, |q| q.ready_end);
        let Some(p) = self.take(&addr, nonce) else {
            // An index entry without its transaction would be a bug; drop it so no
            // loop over the index can spin on it.
            self.waiting.remove(&key);
            return None;
        };
        Some((p.tx.hash(), why(missing, nonce)))
    }

    /// Evicts the transactions that have waited behind a gap longer than the bound.
    pub fn evict_waited(&mut self, now_ms: u64) -> Vec<(Hash, Eviction)> {
        let wait_max_ms = self.config.future_wait_max_ms;
        let mut evicted = Vec::new();
        while let Some((&key, &(addr, nonce))) = self.waiting.first_key_value() {
            let waited_ms = now_ms.saturating_sub(key.0);
            if waited_ms <= wait_max_ms {
                break;
            }
            evicted.extend(self.evict_waiting(key, addr, nonce, |missing, nonce| {
                Eviction::WaitedTooLong {
                    missing,
                    nonce,
                    waited_ms,
                    wait_max_ms,
                }
            }));
        }
        evicted
    }

    /// Evicts a sender's waiting transactions beyond [`FUTURE_TXS_PER_SENDER_MAX`],
    /// highest nonce first (the furthest from ready). Only a ready transaction leaving
    /// (invalid, expired) can push a sender over: its followers start waiting.
    fn trim_sender(&mut self, sender: &Address) -> Vec<(Hash, Eviction)> {
        let Some(queue) = self.senders.get(sender) else {
            return Vec::new();
        };
        let excess = queue.waiting.saturating_sub(FUTURE_TXS_PER_SENDER_MAX);
        let victims: Vec<((u64, u64), Nonce)> = queue
            .txs
            .iter()
            .rev()
            .filter(|(_, p)| p.waiting)
            .take(excess)
            .map(|(&n, p)| (p.admitted, n))
            .collect();
        victims
            .into_iter()
            .filter_map(|(key, nonce)| {
                self.evict_waiting(key, *sender, nonce, |missing, nonce| Eviction::Displaced {
                    missing,
                    nonce,
                })
            })
            .collect()
    }

    /// Evicts the oldest waiting transactions while the pool's waiting share is over
    /// its bounds.
    fn trim_all_waiting(&mut self) -> Vec<(Hash, Eviction)> {
        let c = self.config;
        let mut evicted = Vec::new();
        while self.waiting.len() > c.future_txs_max || self.waiting_bytes > c.future_bytes_max {
            let Some((&key, &(addr, nonce))) = self.waiting.first_key_value() else {
                break;
            };
            evicted.extend(self.evict_waiting(key, addr, nonce, |missing, nonce| {
                Eviction::Displaced { missing, nonce }
            }));
        }
        evicted
    }

    /// Transactions for the next block: per sender the consecutive run from its next
    /// nonce, senders taking turns from where the last block stopped, within the limits.
    pub fn reap(&mut self, txs_max: usize, bytes_max: usize) -> Vec<VerifiedTx> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        // Senders from the cursor to the end, then from the start up to the cursor.
        let order: Vec<&Address> = match self.cursor {
            Some(c) => self
                .senders
                .range(c..)
                .chain(self.senders.range(..c))
                .map(|(a, _)| a)
                .collect(),
            None => self.senders.keys().collect(),
        };
        let mut stopped_at = None;
        'senders: for addr in order {
            let queue = &self.senders[addr];
            let run = (queue.next_nonce..).zip(queue.txs.range(queue.next_nonce..));
            for (expected, (nonce, p)) in run {
                if *nonce != expected {
                    break; // a gap: the rest waits for the missing nonce
                }
                if out.len() >= txs_max || bytes + p.bytes > bytes_max {
                    stopped_at = Some(*addr);
                    break 'senders;
                }
                out.push(p.tx.clone());
                bytes += p.bytes;
            }
        }
        self.cursor = stopped_at;
        out
    }

    /// After a block is committed: drops the transactions that used a nonce, evicts
    /// those that became invalid (expired, or the fee is no longer payable) and those
    /// that waited behind a gap longer than the bound at `now_ms`, and returns the
    /// evicted ones with the reason. Only `touched` senders (those with a transaction
    /// in the block) can have a new nonce or a smaller balance; `fees` are the rules of
    /// the next block.
    pub fn after_commit<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        fees: &FeeRules,
        touched: impl IntoIterator<Item = Address>,
        now_ms: u64,
    ) -> Result<Vec<(Hash, Eviction)>, StateError> {
        let mut evicted = Vec::new();
        let touched: std::collections::BTreeSet<Address> = touched.into_iter().collect();
        for addr in touched {
            evicted.extend(self.after_commit_sender(state, fees, &addr)?);
        }
        let next_height = fees.height;
        let expired: Vec<(Address, Nonce)> = self
            .senders
            .iter()
            .flat_map(|(a, q)| {
                q.txs
                    .iter()
                    .filter(|(_, p)| p.tx.body().expiry < next_height)
                    .map(move |(n, _)| (*a, *n))
            })
            .collect();
        for (addr, nonce) in expired {
            if let Some(p) = self.take(&addr, nonce) {
                let expiry = p.tx.body().expiry;
                let err = TxError::Expired {
                    expiry,
                    height: next_height,
                };
                evicted.push((p.tx.hash(), err.into()));
            }
        }
        evicted.extend(self.evict_waited(now_ms));
        let over: Vec<Address> = self
            .senders
            .iter()
            .filter(|(_, q)| q.waiting > FUTURE_TXS_PER_SENDER_MAX)
            .map(|(a, _)| *a)
            .collect();
        for addr in over {
            evicted.extend(self.trim_sender(&addr));
        }
        evicted.extend(self.trim_all_waiting());
        Ok(evicted)
    }

    /// One touched sender after a commit: its new next nonce, its used transactions
    /// dropped, all of them evicted if the first can no longer pay its fee.
    fn after_commit_sender<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        fees: &FeeRules,
        addr: &Address,
    ) -> Result<Vec<(Hash, Eviction)>, StateError> {
        let Some(queue) = self.senders.get_mut(addr) else {
            return Ok(Vec::new());
        };
        queue.next_nonce = queue.next_nonce.max(state.nonce(addr)?);
        let next_nonce = queue.next_nonce;
        let used: Vec<Nonce> = queue.txs.range(..next_nonce).map(|(n, _)| *n).collect();
        let first = queue
            .txs
            .range(next_nonce..)
            .next()
            .map(|(_, p)| p.tx.clone());
        for nonce in used {
            self.take(addr, nonce);
        }
        let mut evicted = Vec::new();
        if let Some(first) = first {
            if let Err(e) = assess(state, fees, first.tx())? {
                let all: Vec<Nonce> = self
                    .senders
                    .get(addr)
                    .map_or(Vec::new(), |q| q.txs.keys().copied().collect());
                // Highest nonce first, so none is sent to wait on the way out.
                for nonce in all.into_iter().rev() {
                    if let Some(p) = self.take(addr, nonce) {
                        evicted.push((p.tx.hash(), Eviction::Invalid(e.clone())));
                    }
                }
            }
        }
        self.settle(addr);
        Ok(evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::crypto::Signature;
    use jeon_runtime::{calls, AssetId, Call, MemoryState, Overlay, SignedTx, TxBody};
    use proptest::prelude::*;

    const CHAIN: Hash = Hash([7; 32]);
    /// Far beyond any height the tests reach.
    const EXPIRY_NEVER: u64 = 1_000_000;

    fn rules(height: u64) -> FeeRules {
        FeeRules {
            asset: AssetId(0),
            base_fee: 1,
            market: None,
            height,
            time_ms: 0,
        }
    }

    fn account(i: u32) -> Address {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        Address(bytes)
    }

    /// A transfer; the mempool does not check signatures (the API does, before).
    fn transfer(from: u32, nonce: Nonce, expiry: u64) -> VerifiedTx {
        VerifiedTx::new_unchecked(SignedTx {
            body: TxBody {
                chain_id: CHAIN,
                sender: account(from),
                nonce,
                fee_limit: 10,
                expiry,
                call: Call::Transfer(calls::Transfer {
                    to: account(u32::MAX),
                    asset: AssetId(0),
                    amount: 1,
                }),
                fee_payer: None,
            },
            signature: Signature([0; 64]),
            payer_signature: None,
        })
    }

    /// Committed state: every account rich enough for any number of fees, at nonce 0
    /// unless set.
    struct Ledger(MemoryState);

    impl Ledger {
        fn new(accounts: impl IntoIterator<Item = u32>) -> Self {
            let mut ledger = Ledger(MemoryState::new());
            ledger.write(|ov| {
                for a in accounts {
                    ov.set_balance(&account(a), AssetId(0), 1 << 40)
                        .expect("put");
                }
            });
            ledger
        }

        fn write(&mut self, f: impl FnOnce(&mut Overlay<'_, MemoryState>)) {
            let mut ov = Overlay::new(&self.0);
            f(&mut ov);
            let (changes, _) = ov.finish().expect("finish");
            self.0.apply(&changes);
        }

        fn set_nonce(&mut self, who: u32, nonce: Nonce) {
            self.write(|ov| ov.set_nonce(&account(who), nonce).expect("put"));
        }
    }

    fn pool(txs_max: usize) -> Mempool {
        Mempool::with_config(MempoolConfig::with_txs_max(txs_max))
    }

    fn admit(
        pool: &mut Mempool,
        ledger: &Ledger,
        tx: VerifiedTx,
        now_ms: u64,
    ) -> Result<Admitted, AdmitError> {
        pool.insert(tx, &ledger.0, &rules(1), &CHAIN, now_ms)
    }

    /// The pool's indexes agree with its queues, and every bound holds.
    fn check_invariants(pool: &Mempool) {
        let c = pool.config;
        assert!(pool.len() <= c.txs_max && pool.bytes <= c.bytes_max);
        assert!(pool.waiting.len() <= c.future_txs_max);
        assert!(pool.waiting_bytes <= c.future_bytes_max);
        let (mut count, mut bytes, mut waiting, mut waiting_bytes) = (0, 0, 0, 0);
        for (addr, q) in &pool.senders {
            assert!(!q.txs.is_empty(), "no empty queue is kept");
            let mut end = q.next_nonce;
            while q.txs.contains_key(&end) {
                end += 1;
            }
            assert_eq!(q.ready_end, end, "the ready run of {addr}");
            let mut own = 0;
            for (&n, p) in &q.txs {
                assert_eq!(p.waiting, n >= end, "tx {n} of {addr}");
                assert_eq!(pool.index.get(&p.tx.hash()), Some(&(*addr, n)));
                count += 1;
                bytes += p.bytes;
                if p.waiting {
                    own += 1;
                    waiting_bytes += p.bytes;
                    assert_eq!(pool.waiting.get(&p.admitted), Some(&(*addr, n)));
                }
            }
            assert_eq!(q.waiting, own);
            assert!(own <= FUTURE_TXS_PER_SENDER_MAX);
            waiting += own;
        }
        assert_eq!((pool.index.len(), pool.bytes), (count, bytes));
        assert_eq!(
            (pool.waiting.len(), pool.waiting_bytes),
            (waiting, waiting_bytes)
        );
    }

    #[test]
    fn the_pool_is_full_by_count_or_by_bytes_whichever_comes_first() {
        let c = MempoolConfig::default();
        assert_eq!(
            (c.txs_max, c.bytes_max),
            (MEMPOOL_TXS_MAX, MEMPOOL_BYTES_MAX)
        );
        let full =
            |txs, bytes, incoming| would_overflow(txs, bytes, incoming, c.txs_max, c.bytes_max);
        assert!(!full(0, 0, 200));
        assert!(!full(MEMPOOL_TXS_MAX - 1, 0, 200));
        assert!(full(MEMPOOL_TXS_MAX, 0, 200));
        // Few but large transactions fill it by bytes.
        assert!(!full(10, MEMPOOL_BYTES_MAX - 200, 200));
        assert!(full(10, MEMPOOL_BYTES_MAX - 199, 200));
        assert!(full(10, usize::MAX, 1), "no overflow in the sum");
    }

    #[test]
    fn waiting_transactions_get_a_quarter_of_the_pool_and_ready_ones_the_rest() {
        let c = MempoolConfig::default();
        assert_eq!(c.future_txs_max, 25_000);
        assert_eq!(c.future_bytes_max, 6 << 20);
        assert_eq!(MempoolConfig::with_txs_max(1_000).future_txs_max, 250);
        let tiny = MempoolConfig::with_txs_max(1);
        assert_eq!((tiny.txs_max, tiny.future_txs_max), (MEMPOOL_TXS_MIN, 4));
    }

    #[test]
    fn a_pool_full_of_gap_waiters_from_many_senders_still_admits_a_ready_transfer_from_a_newcomer()
    {
        // 64 slots, 16 of them for waiting transactions: 16 senders each send nonce
        // 1 without nonce 0 (the jam: retries left gaps), 48 others fill the rest
        // with ready transactions that no block has taken yet.
        let mut pool = pool(64);
        let ledger = Ledger::new(0..120);
        for s in 0..16 {
            admit(
                &mut pool,
                &ledger,
                transfer(s, 1, EXPIRY_NEVER),
                1_000 + u64::from(s),
            )
            .expect("waits");
        }
        assert_eq!(pool.waiting_len(), 16);
        // The waiting share is full: a 17th gap waiter is refused, for its sender only.
        let refused = admit(&mut pool, &ledger, transfer(16, 1, EXPIRY_NEVER), 2_000);
        assert!(
            matches!(
                refused,
                Err(AdmitError::FutureFull {
                    missing: 0,
                    got: 1,
                    ..
                })
            ),
            "{refused:?}"
        );
        for s in 16..64 {
            admit(&mut pool, &ledger, transfer(s, 0, EXPIRY_NEVER), 2_000).expect("ready");
        }
        assert_eq!(pool.len(), 64);

        // A ready newcomer is admitted: the oldest gap waiter (sender 0's) makes room.
        let newcomer = transfer(90, 0, EXPIRY_NEVER);
        let admitted = admit(&mut pool, &ledger, newcomer.clone(), 3_000).expect("admitted");
        assert_eq!(admitted.hash, newcomer.hash());
        let gone = transfer(0, 1, EXPIRY_NEVER).hash();
        let reason = Eviction::Displaced {
            missing: 0,
            nonce: 1,
        };
        assert_eq!(admitted.evicted, vec![(gone, reason.clone())]);
        assert!(reason.to_string().contains("submit nonce 0"), "{reason}");
        assert_eq!((pool.len(), pool.waiting_len()), (64, 15));
        assert!(pool
            .reap(1_000, usize::MAX)
            .iter()
            .any(|t| t.hash() == newcomer.hash()));
        check_invariants(&pool);
        // A newcomer that would wait displaces nobody: the pool is full for it.
        let full = admit(&mut pool, &ledger, transfer(80, 1, EXPIRY_NEVER), 3_000);
        assert!(matches!(full, Err(AdmitError::Full { .. })), "{full:?}");

        // Only a pool full of ready transactions refuses a ready one.
        for s in 100..115 {
            admit(&mut pool, &ledger, transfer(s, 0, EXPIRY_NEVER), 4_000).expect("displaces");
        }
        assert_eq!(pool.waiting_len(), 0);
        let last = admit(&mut pool, &ledger, transfer(91, 0, EXPIRY_NEVER), 5_000);
        assert!(matches!(last, Err(AdmitError::Full { .. })), "{last:?}");
        check_invariants(&pool);
    }

    #[test]
    fn a_ready_transaction_does_not_displace_its_own_senders_waiting_followers() {
        let mut pool = pool(16);
        let ledger = Ledger::new(0..40);
        // Sender 0 waits with nonces 1..=3; sender 1's nonce 1 waits too.
        for n in 1..=3 {
            admit(&mut pool, &ledger, transfer(0, n, EXPIRY_NEVER), 10).expect("waits");
        }
        admit(&mut pool, &ledger, transfer(1, 1, EXPIRY_NEVER), 20).expect("waits");
        for s in 2..14 {
            admit(&mut pool, &ledger, transfer(s, 0, EXPIRY_NEVER), 30).expect("ready");
        }
        assert_eq!(pool.len(), 16);
        // Sender 0's missing nonce displaces sender 1's waiter, not its own followers,
        // which it makes ready.
        let admitted = admit(&mut pool, &ledger, transfer(0, 0, EXPIRY_NEVER), 40).expect("in");
        let hashes: Vec<Hash> = admitted.evicted.iter().map(|(h, _)| *h).collect();
        assert_eq!(hashes, vec![transfer(1, 1, EXPIRY_NEVER).hash()]);
        assert_eq!(pool.waiting_len(), 0);
        let reaped = pool.reap(1_000, usize::MAX);
        let nonces: Vec<Nonce> = reaped
            .iter()
            .filter(|t| t.body().sender == account(0))
            .map(|t| t.body().nonce)
            .collect();
        assert_eq!(nonces, vec![0, 1, 2, 3]);
        check_invariants(&pool);
    }

    #[test]
    fn one_sender_holds_at_most_64_transactions_behind_a_gap_and_others_are_unaffected() {
        let mut pool = pool(MEMPOOL_TXS_MAX);
        let ledger = Ledger::new(0..3);
        let limit = FUTURE_TXS_PER_SENDER_MAX as u64;
        for n in 1..=limit {
            admit(&mut pool, &ledger, transfer(0, n, EXPIRY_NEVER), 0).expect("waits");
        }
        let refused = admit(&mut pool, &ledger, transfer(0, limit + 1, EXPIRY_NEVER), 0);
        assert_eq!(
            refused.err(),
            Some(AdmitError::SenderFutureFull {
                missing: 0,
                got: limit + 1,
                limit: FUTURE_TXS_PER_SENDER_MAX,
            })
        );
        // Others still wait and go ahead as before.
        admit(&mut pool, &ledger, transfer(1, 5, EXPIRY_NEVER), 0).expect("waits");
        admit(&mut pool, &ledger, transfer(2, 0, EXPIRY_NEVER), 0).expect("ready");
        // The missing nonce makes all 64 ready; the sender may wait again beyond them.
        admit(&mut pool, &ledger, transfer(0, 0, EXPIRY_NEVER), 0).expect("ready");
        assert_eq!(pool.waiting_len(), 1);
        admit(&mut pool, &ledger, transfer(0, limit + 2, EXPIRY_NEVER), 0).expect("waits");
        check_invariants(&pool);
    }

    #[test]
    fn a_transaction_waiting_behind_a_gap_longer_than_the_bound_is_evicted_with_the_reason() {
        let mut pool = pool(MEMPOOL_TXS_MAX);
        let mut ledger = Ledger::new(0..2);
        let wait_max_ms = pool.config().future_wait_max_ms;
        let waiter = transfer(0, 2, EXPIRY_NEVER);
        admit(&mut pool, &ledger, transfer(0, 0, EXPIRY_NEVER), 1_000).expect("ready");
        admit(&mut pool, &ledger, waiter.clone(), 1_000).expect("waits");
        // A ready transaction is never evicted for its age.
        admit(&mut pool, &ledger, transfer(1, 0, EXPIRY_NEVER), 0).expect("ready");
        assert!(
            pool.evict_waited(1_000 + wait_max_ms).is_empty(),
            "not longer yet"
        );
        // After a commit one wait later (no gap filled), it goes with the reason.
        ledger.set_nonce(0, 1);
        let evicted = pool
            .after_commit(&ledger.0, &rules(2), [account(0)], 1_001 + wait_max_ms)
            .expect("after commit");
        let reason = Eviction::WaitedTooLong {
            missing: 1,
            nonce: 2,
            waited_ms: wait_max_ms + 1,
            wait_max_ms,
        };
        assert_eq!(evicted, vec![(waiter.hash(), reason.clone())]);
        assert!(reason.to_string().contains("submit nonce 1"), "{reason}");
        assert_eq!((pool.len(), pool.waiting_len()), (1, 0));
        assert!(pool.has_ready(), "sender 1's transfer stays");
        check_invariants(&pool);
    }

    #[test]
    fn an_invalid_ready_transaction_sends_its_followers_to_wait_within_the_bounds() {
        let mut pool = pool(MEMPOOL_TXS_MAX);
        let ledger = Ledger::new(0..1);
        for n in 0..100 {
            admit(&mut pool, &ledger, transfer(0, n, EXPIRY_NEVER), n).expect("ready");
        }
        assert_eq!(pool.waiting_len(), 0);
        // Block building finds nonce 0 invalid: 1..=99 wait for it; 64 may.
        let evicted = pool.remove(&transfer(0, 0, EXPIRY_NEVER).hash());
        assert_eq!(evicted.len(), 99 - FUTURE_TXS_PER_SENDER_MAX);
        assert!(evicted.iter().all(
            |(_, why)| matches!(why, Eviction::Displaced { missing: 0, nonce } if *nonce > 64)
        ));
        assert_eq!(pool.waiting_len(), FUTURE_TXS_PER_SENDER_MAX);
        assert!(!pool.has_ready());
        check_invariants(&pool);
    }

    #[test]
    fn a_block_from_elsewhere_that_fills_a_gap_makes_the_waiters_ready() {
        let mut pool = pool(MEMPOOL_TXS_MAX);
        let mut ledger = Ledger::new(0..1);
        for n in 3..6 {
            admit(&mut pool, &ledger, transfer(0, n, EXPIRY_NEVER), 0).expect("waits");
        }
        assert_eq!(pool.waiting_len(), 3);
        ledger.set_nonce(0, 3);
        pool.after_commit(&ledger.0, &rules(2), [account(0)], 0)
            .expect("after commit");
        assert_eq!(pool.waiting_len(), 0);
        assert_eq!(pool.reap(10, usize::MAX).len(), 3);
        check_invariants(&pool);
    }

    /// One step of a random workload.
    #[derive(Clone, Debug)]
    enum Step {
        /// Sender, nonce ahead of its committed nonce, expiry ahead of the height.
        Submit(u32, u64, u64),
        /// A block of at most this many transactions, committed.
        Commit(usize),
        /// Block building found the n-th pending transaction (by hash order) invalid.
        Invalid(usize),
        /// The clock moves on.
        Wait(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (0..6u32, 0..80u64, 0..8u64).prop_map(|(s, n, e)| Step::Submit(s, n, e)),
            1 => (0..40usize).prop_map(Step::Commit),
            1 => (0..400usize).prop_map(Step::Invalid),
            1 => (0..30_000u64).prop_map(Step::Wait),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever arrives and commits, the pool keeps its bounds and its indexes, and
        /// a ready transaction is refused as `Full` only when no other sender's waiting
        /// transaction could make room.
        #[test]
        fn the_pool_never_exceeds_its_bounds(steps in proptest::collection::vec(step(), 1..400)) {
            let mut pool = pool(200);
            let mut ledger = Ledger::new(0..6);
            let (mut height, mut now_ms) = (1u64, 0u64);
            for step in steps {
                match step {
                    Step::Submit(s, ahead, expiry) => {
                        let next = ledger.0.nonce(&account(s)).expect("nonce");
                        let tx = transfer(s, next + ahead, height + expiry);
                        let ready = pool.senders.get(&account(s)).map_or(next, |q| q.ready_end)
                            == next + ahead;
                        let others_waiting = pool.waiting.values().any(|(a, _)| *a != account(s));
                        let r = pool.insert(tx, &ledger.0, &rules(height), &CHAIN, now_ms);
                        if ready && matches!(r, Err(AdmitError::Full { .. })) {
                            prop_assert!(!others_waiting, "a ready transaction was refused");
                        }
                    }
                    Step::Commit(n) => {
                        let block = pool.reap(n, usize::MAX);
                        let mut touched = Vec::new();
                        for tx in &block {
                            let sender = tx.body().sender;
                            let s = u32::from_be_bytes([sender.0[0], sender.0[1], sender.0[2], sender.0[3]]);
                            ledger.set_nonce(s, tx.body().nonce + 1);
                            touched.push(sender);
                        }
                        height += 1;
                        pool.after_commit(&ledger.0, &rules(height), touched, now_ms).expect("after commit");
                    }
                    Step::Invalid(i) => {
                        let mut hashes: Vec<Hash> = pool.index.keys().copied().collect();
                        hashes.sort();
                        if let Some(h) = hashes.get(i % hashes.len().max(1)) {
                            pool.remove(h);
                        }
                    }
                    Step::Wait(ms) => {
                        now_ms += ms;
                        pool.evict_waited(now_ms);
                    }
                }
                check_invariants(&pool);
                // Reaping without limits takes exactly the ready transactions.
                let ready = pool.reap(usize::MAX, usize::MAX).len();
                prop_assert_eq!(ready, pool.len() - pool.waiting_len());
            }
        }
    }
}
