//! Prometheus metrics of the node, served at `GET /metrics`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Transactions admitted to the mempool.
    pub txs_admitted: Counter,
    /// Transactions refused at admission.
    pub txs_refused: Counter,
    /// Transactions in final blocks.
    pub txs_finalized: Counter,
    /// Final blocks.
    pub blocks_committed: Counter,
    /// Height of the last final block.
    pub height: Gauge,
    /// Pending transactions.
    pub mempool_txs: Gauge,
    /// Pending transactions waiting behind a nonce gap.
    pub mempool_waiting_txs: Gauge,
    /// Transactions evicted from the mempool without being included in a block.
    pub mempool_evicted: Counter,
    /// Time to execute a block, seconds.
    pub block_execute_seconds: Histogram,
    /// Time to write and flush a block, seconds.
    pub block_commit_seconds: Histogram,
    /// Consensus rounds beyond round 0 that heights needed.
    pub rounds_extra: Counter,
    /// Proposed blocks executed and found invalid (a block is checked once per height,
    /// however often it is re-sent).
    pub invalid_blocks: Counter,
    /// Equivocations the consensus core detected (each reported on chain).
    pub equivocations: Counter,
    /// Compact proposals that named transactions this node lacked (it asked for the
    /// whole proposal).
    pub compact_proposals_incomplete: Counter,
    /// Of those, the ones put together when their transactions arrived by gossip,
    /// before the whole proposal did.
    pub compact_proposals_completed_held: Counter,
    /// Gossiped transaction batches dropped because those waiting for verification held
    /// `TX_BATCHES_PENDING_BYTES_MAX`.
    pub gossip_tx_batches_dropped: Counter,
    /// The highest head a peer has announced (0 before any): `GET /v1/ready` compares
    /// it with the node's own.
    pub peer_height_max: Gauge,
    /// The network layer's metrics.
    pub p2p: crate::p2p::P2pMetrics,
}

impl Metrics {
    /// Registers every metric under the `jeon_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("jeon");
        let buckets =
            || Histogram::new([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]);
        let m = Metrics {
            txs_admitted: Counter::default(),
            txs_refused: Counter::default(),
            txs_finalized: Counter::default(),
            blocks_committed: Counter::default(),
            height: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_waiting_txs: Gauge::default(),
            mempool_evicted: Counter::default(),
            block_execute_seconds: buckets(),
            block_commit_seconds: buckets(),
            rounds_extra: Counter::default(),
            invalid_blocks: Counter::default(),
            equivocations: Counter::default(),
            compact_proposals_incomplete: Counter::default(),
            compact_proposals_completed_held: Counter::default(),
            gossip_tx_batches_dropped: Counter::default(),
            peer_height_max: Gauge::default(),
            p2p: crate::p2p::P2pMetrics::default(),
            registry: Registry::default(),
        };
        registry.register(
            "peer_height_max",
            "The highest head a peer has announced",
            m.peer_height_max.clone(),
        );
        registry.register(
            "txs_admitted",
            "Transactions admitted to the mempool",
            m.txs_admitted.clone(),
        );
        registry.register(
            "txs_refused",
            "Transactions refused at admission",
            m.txs_refused.clone(),
        );
        registry.register(
            "txs_finalized",
            "Transactions in final blocks",
            m.txs_finalized.clone(),
        );
        registry.register(
            "blocks_committed",
            "Final blocks",
            m.blocks_committed.clone(),
        );
        registry.register("height", "Height of the last final block", m.height.clone());
        registry.register("mempool_txs", "Pending transactions", m.mempool_txs.clone());
        registry.register(
            "mempool_waiting_txs",
            "Pending transactions waiting behind a nonce gap",
            m.mempool_waiting_txs.clone(),
        );
        registry.register(
            "mempool_evicted",
            "Transactions evicted from the mempool (invalid, expired, waited too long behind a nonce gap, displaced)",
            m.mempool_evicted.clone(),
        );
        registry.register(
            "block_execute_seconds",
            "Time to execute a block",
            m.block_execute_seconds.clone(),
        );
        registry.register(
            "block_commit_seconds",
            "Time to write and flush a block",
            m.block_commit_seconds.clone(),
        );
        m.register_consensus(&mut registry);
        m.p2p.register(&mut registry);
        Metrics { registry, ..m }
    }

    /// Registers the consensus and gossip metrics (`new` registers the rest).
    fn register_consensus(&self, registry: &mut Registry) {
        let m = self;
        registry.register(
            "rounds_extra",
            "Rounds beyond round 0",
            m.rounds_extra.clone(),
        );
        registry.register(
            "invalid_blocks",
            "Proposed blocks executed and found invalid",
            m.invalid_blocks.clone(),
        );
        registry.register(
            "equivocations",
            "Equivocations detected (two proposals or votes of one kind by one validator for one round)",
            m.equivocations.clone(),
        );
        registry.register(
            "compact_proposals_incomplete",
            "Compact proposals naming transactions this node lacked (it asked for the whole proposal)",
            m.compact_proposals_incomplete.clone(),
        );
        registry.register(
            "compact_proposals_completed_held",
            "Incomplete compact proposals put together when their transactions arrived by gossip, before the whole proposal",
            m.compact_proposals_completed_held.clone(),
        );
        registry.register(
            "gossip_tx_batches_dropped",
            "Gossiped transaction batches dropped because the batches waiting for verification were at their bound",
            m.gossip_tx_batches_dropped.clone(),
        );
    }

    /// Sets the mempool gauges from the pool.
    pub fn observe_mempool(&self, pool: &crate::mempool::Mempool) {
        self.mempool_txs.set(pool.len() as i64);
        self.mempool_waiting_txs.set(pool.waiting_len() as i64);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
