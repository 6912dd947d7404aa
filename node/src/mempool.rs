//! The mempool: verified transactions waiting for a block, per sender in nonce order.
//!
//! Admission (after decoding and signature checks, which the API does in batches)
//! checks chain id, expiry, fee and nonce against the committed state, dedupes, and
//! enforces the bounds below. Block building takes, per sender, the run of consecutive
//! nonces starting at the sender's next nonce. After each commit, transactions that
//! became invalid (used nonce, expired, fee no longer payable) are evicted.

use std::collections::{BTreeMap, HashMap};

use jeon_runtime::fees::{assess, FeeRules};
use jeon_runtime::state::{StateError, StateExt, StateRead};
use jeon_runtime::{Address, Hash, Nonce, TxError, VerifiedTx};

/// The most transactions the pool holds.
pub const MEMPOOL_TXS_MAX: usize = 100_000;
/// The most encoded transaction bytes the pool holds: with the count, what bounds its
/// memory whatever the transactions' size (a pending transaction costs about twice its
/// encoding in memory, with the indexes).
pub const MEMPOOL_BYTES_MAX: usize = 24 << 20;
/// The most pending transactions of one sender.
pub const MEMPOOL_SENDER_TXS_MAX: usize = 4_096;
/// How far ahead of the sender's next nonce a transaction may be.
pub const NONCE_GAP_MAX: u64 = 4_096;

/// Whether admitting a transaction of `incoming` bytes to a pool holding `txs`
/// transactions of `bytes` bytes would break either bound.
fn would_overflow(txs: usize, bytes: usize, incoming: usize) -> bool {
    txs >= MEMPOOL_TXS_MAX || bytes.saturating_add(incoming) > MEMPOOL_BYTES_MAX
}

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The transaction itself is invalid now.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The pool is at capacity, by count or by bytes.
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
    /// Reading state failed.
    #[error(transparent)]
    Storage(#[from] StateError),
}

struct Pending {
    tx: VerifiedTx,
    bytes: usize,
}

#[derive(Default)]
struct SenderQueue {
    /// The sender's next nonce in committed state.
    next_nonce: Nonce,
    txs: BTreeMap<Nonce, Pending>,
}

/// The pool. Not synchronized: the node wraps it in a mutex.
#[derive(Default)]
pub struct Mempool {
    senders: BTreeMap<Address, SenderQueue>,
    index: HashMap<Hash, (Address, Nonce)>,
    /// Where the last reap stopped, so senders take turns under load.
    cursor: Option<Address>,
    /// Encoded bytes of the pending transactions.
    bytes: usize,
}

impl Mempool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Encoded bytes of the pending transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
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

    /// Removes one transaction (found invalid while building a block).
    pub fn remove(&mut self, hash: &Hash) {
        let Some((sender, nonce)) = self.index.remove(hash) else {
            return;
        };
        if let Some(queue) = self.senders.get_mut(&sender) {
            if let Some(p) = queue.txs.remove(&nonce) {
                self.bytes -= p.bytes;
            }
            if queue.txs.is_empty() {
                self.senders.remove(&sender);
            }
        }
    }

    /// Admits a verified transaction, checked against committed `state` for inclusion
    /// in the next block, whose height and fee rules `fees` gives.
    pub fn insert<S: StateRead + ?Sized>(
        &mut self,
        tx: VerifiedTx,
        state: &S,
        fees: &FeeRules,
        chain_id: &Hash,
    ) -> Result<Hash, AdmitError> {
        let hash = tx.hash();
        let body = tx.body();
        let next_height = fees.height;
        if self.index.contains_key(&hash) {
            return Err(AdmitError::Duplicate(hash));
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
            let gap = NONCE_GAP_MAX;
            return Err(AdmitError::NonceTooFarAhead {
                expected: next_nonce,
                got: body.nonce,
                gap,
            });
        }
        let bytes = tx.tx().encode().len();
        if would_overflow(self.len(), self.bytes, bytes) {
            return Err(AdmitError::Full {
                txs: self.len(),
                bytes: self.bytes,
                txs_max: MEMPOOL_TXS_MAX,
                bytes_max: MEMPOOL_BYTES_MAX,
            });
        }
        let sender = body.sender;
        let nonce = body.nonce;
        let pending = self.senders.get(&sender).map_or(0, |q| q.txs.len());
        if self
            .senders
            .get(&sender)
            .is_some_and(|q| q.txs.contains_key(&nonce))
        {
            return Err(AdmitError::NonceTaken { nonce });
        }
        if pending >= MEMPOOL_SENDER_TXS_MAX {
            return Err(AdmitError::SenderFull {
                limit: MEMPOOL_SENDER_TXS_MAX,
            });
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
        let queue = self.senders.entry(sender).or_default();
        // The committed nonce only grows; a read racing a commit must not move it back.
        queue.next_nonce = queue.next_nonce.max(next_nonce);
        queue.txs.insert(nonce, Pending { tx, bytes });
        self.bytes += bytes;
        self.index.insert(hash, (sender, nonce));
        Ok(hash)
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
    /// those that became invalid (expired, or the fee is no longer payable) and returns
    /// the evicted ones with the reason. Only `touched` senders (those with a
    /// transaction in the block) can have a new nonce or a smaller balance; `fees` are
    /// the rules of the next block.
    pub fn after_commit<S: StateRead + ?Sized>(
        &mut self,
        state: &S,
        fees: &FeeRules,
        touched: impl IntoIterator<Item = Address>,
    ) -> Result<Vec<(Hash, TxError)>, StateError> {
        let next_height = fees.height;
        let mut evicted = Vec::new();
        for addr in touched {
            let Some(queue) = self.senders.get_mut(&addr) else {
                continue;
            };
            let next_nonce = state.nonce(&addr)?;
            queue.next_nonce = next_nonce;
            let keep = queue.txs.split_off(&next_nonce);
            for p in std::mem::replace(&mut queue.txs, keep).into_values() {
                self.index.remove(&p.tx.hash());
                self.bytes -= p.bytes;
            }
            if let Some((_, first)) = queue.txs.first_key_value() {
                if let Err(e) = assess(state, fees, first.tx.tx())? {
                    for p in std::mem::take(&mut queue.txs).into_values() {
                        self.bytes -= p.bytes;
                        evicted.push((p.tx.hash(), e.clone()));
                    }
                }
            }
        }
        for queue in self.senders.values_mut() {
            let expired: Vec<Nonce> = queue
                .txs
                .iter()
                .filter(|(_, p)| p.tx.body().expiry < next_height)
                .map(|(n, _)| *n)
                .collect();
            for n in expired {
                if let Some(p) = queue.txs.remove(&n) {
                    self.bytes -= p.bytes;
                    let err = TxError::Expired {
                        expiry: p.tx.body().expiry,
                        height: next_height,
                    };
                    evicted.push((p.tx.hash(), err));
                }
            }
        }
        for (hash, _) in &evicted {
            self.index.remove(hash);
        }
        self.senders.retain(|_, q| !q.txs.is_empty());
        Ok(evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_full_by_count_or_by_bytes_whichever_comes_first() {
        assert!(!would_overflow(0, 0, 200));
        assert!(!would_overflow(MEMPOOL_TXS_MAX - 1, 0, 200));
        assert!(would_overflow(MEMPOOL_TXS_MAX, 0, 200));
        // Few but large transactions fill it by bytes.
        assert!(!would_overflow(10, MEMPOOL_BYTES_MAX - 200, 200));
        assert!(would_overflow(10, MEMPOOL_BYTES_MAX - 199, 200));
        assert!(would_overflow(10, usize::MAX, 1), "no overflow in the sum");
    }
}
