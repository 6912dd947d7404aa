//! Starting a node: open the store, load the chain, start the driver and the API.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jeon_genesis::{GenesisError, GenesisSpec};
use jeon_runtime::Keypair;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use std::str::FromStr;

use crate::chain::{Chain, ChainSpec, Db, Hooks};
use crate::dirlock::DirLock;
use crate::driver::{Driver, Network, NoNetwork};
use crate::faults::{self, DISK_FREE_BYTES_MIN};
use crate::handle::ApiHandle;
use crate::http::ApiLimits;
use crate::mempool::MempoolConfig;
use crate::net::P2pNetwork;
use crate::p2p::{Multiaddr, P2pCommand, P2pConfig, P2pHandle, PeerId, Topic};
use crate::replica::{Replica, ReplicaConfig, ReplicaError};
use crate::segments::{BlockLog, DirSegments, SegmentError, SEGMENT_BYTES_MAX};
use crate::signer::state::{FileSignerStore, SIGNER_DIR};
use crate::signer::SignerStoreError;
use crate::store::{ChainDb, SledStore, Store, StoreError};

/// Everything a node needs to start.
pub struct NodeConfig {
    /// The chain.
    pub genesis: GenesisSpec,
    /// The validator key (a full node when absent or not in the validator set).
    pub key: Option<Keypair>,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Where the API listens (port 0 picks a free port).
    pub api_addr: SocketAddr,
    /// Bounds on the API's clients: connections, timeouts, submission rate.
    pub api_limits: ApiLimits,
    /// Block pacing and consensus timeouts.
    pub replica: ReplicaConfig,
    /// Peer-to-peer networking; `None` runs alone (a one-validator chain).
    pub p2p: Option<P2pOptions>,
    /// Block storage: segment size and pruning.
    pub storage: StorageOptions,
    /// Move the signer's record aside before starting, so the validator starts as if
    /// it had never signed. Dangerous: if this key signed at a height the chain does
    /// not hold, it may sign a conflicting message (`--discard-signer-state`).
    pub discard_signer_state: bool,
    /// The mempool's bounds.
    pub mempool: MempoolConfig,
    /// On an empty data directory, fetch the newest checkpoint from peers first
    /// (`crate::statesync`) instead of starting at genesis.
    pub state_sync: bool,
}

/// How the node keeps blocks (docs/storage.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageOptions {
    /// Keep only the last this many blocks' bodies, receipts and transaction index
    /// entries (whole segments at a time); `None` keeps every block (an archive node).
    pub prune_keep_blocks: Option<u64>,
    /// Close a block segment file at this many bytes.
    pub segment_bytes: u64,
    /// Write a state checkpoint to `DIR/snapshots/` every this many blocks, for peers
    /// to state-sync from (`crate::checkpoint`); 0: never.
    pub state_sync_interval: u64,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            prune_keep_blocks: None,
            segment_bytes: SEGMENT_BYTES_MAX,
            state_sync_interval: crate::checkpoint::STATE_SYNC_INTERVAL_DEFAULT,
        }
    }
}

/// The fewest blocks a pruned node keeps: enough for peers a little behind to sync
/// from it.
pub const PRUNE_KEEP_BLOCKS_MIN: u64 = 16;
/// How often a pruned node drops what fell out of its window.
const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a node listens for peers and whom it dials.
#[derive(Clone, Debug)]
pub struct P2pOptions {
    /// Listen addresses, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial (and redial), e.g. `/ip4/127.0.0.1/tcp/26657/p2p/12D3KooW...`.
    pub peers: Vec<Multiaddr>,
    /// Per-peer gossip budgets (config keys `p2p_gossip_*`).
    pub gossip_budgets: crate::p2p::GossipBudgetConfig,
}

/// Why a node could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The genesis spec could not be turned into a chain.
    #[error("genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// The data directory could not be opened or is for another chain.
    #[error("data directory {dir}: {source}")]
    Store {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        source: StoreError,
    },
    /// The signer's record could not be read (damaged, truncated, unreadable).
    #[error("{0}")]
    Signer(SignerStoreError),
    /// The API address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Consensus stopped on an error.
    #[error("consensus stopped: {0}")]
    Replica(#[from] ReplicaError),
    /// Networking needs the node's key (its peer identity).
    #[error("p2p networking needs a validator key (--key)")]
    P2pWithoutKey,
    /// A genesis validator's peer id does not parse.
    #[error("genesis validator {name} has an unusable peer id: {source}")]
    PeerId {
        /// The validator.
        name: String,
        /// Why it does not parse.
        source: libp2p::identity::ParseError,
    },
    /// The network layer failed to start.
    #[error("p2p: {0}")]
    P2p(#[from] crate::p2p::P2pError),
    /// The HTTP server failed.
    #[error("API server: {0}")]
    Serve(std::io::Error),
    /// An API limit is unusable.
    #[error("API limits: {0}")]
    ApiLimits(#[from] crate::http::ApiLimitsError),
    /// The data directory is in use by another process, or cannot be locked.
    #[error("{0}")]
    DirLock(#[from] crate::dirlock::DirLockError),
    /// State sync failed; the data directory is left empty.
    #[error("{0}")]
    StateSync(String),
}

impl NodeError {
    /// Whether the operator gave something unusable (a genesis, a key, a limit, a data
    /// directory of another chain or layout): fix the input and retry (CLI exit code
    /// 2). Everything else, including damaged storage and a full disk, is an operation
    /// that failed (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            NodeError::Genesis(_)
            | NodeError::P2pWithoutKey
            | NodeError::PeerId { .. }
            | NodeError::ApiLimits(_)
            | NodeError::Listen { .. } => true,
            NodeError::Store { source, .. } => {
                matches!(
                    source,
                    StoreError::WrongChain { .. } | StoreError::OldLayout
                )
            }
            NodeError::Replica(_)
            | NodeError::P2p(_)
            | NodeError::Serve(_)
            | NodeError::Signer(_)
            | NodeError::DirLock(_)
            | NodeError::StateSync(_) => false,
        }
    }
}

impl ChainSpec {
    /// Derives the chain (id, initial state, validators) from a validated genesis spec.
    pub fn from_genesis(genesis: &GenesisSpec) -> Result<Self, GenesisError> {
        genesis.validate()?;
        let (genesis_changes, genesis_app_hash) = genesis.build_state()?;
        Ok(ChainSpec {
            chain_id: genesis.hash(),
            genesis_changes,
            genesis_app_hash,
            genesis_time_ms: genesis.genesis_time_ms,
            validators: genesis.validators(),
        })
    }
}

/// A started node.
pub struct RunningNode {
    /// The chain and the API's event stream.
    pub api: ApiHandle,
    /// The address the API is bound to.
    pub api_addr: SocketAddr,
    listener: TcpListener,
    api_limits: ApiLimits,
    /// The genesis spec as JSON, served to the web app when it is on.
    genesis_json: Arc<str>,
    replica: Replica,
    p2p: Option<P2pHandle>,
    prune_keep_blocks: Option<u64>,
    state_sync_interval: u64,
    data_dir: PathBuf,
    /// The data directory's lock, held until the node has stopped.
    dir_lock: DirLock,
}

/// Opens the data directory, writes or checks genesis, and binds the API.
pub async fn start(config: NodeConfig) -> Result<RunningNode, NodeError> {
    config.api_limits.validate()?;
    let spec = ChainSpec::from_genesis(&config.genesis)?;
    let dir = config.data_dir.clone();
    let store_err = |source| NodeError::Store {
        dir: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| store_err(StoreError::Segment(SegmentError::Dir(e))))?;
    // Before anything in the directory is touched: a second node must not remove
    // files the first is writing.
    let dir_lock = DirLock::acquire(&config.data_dir)?;
    let (synced, p2p_options) = sync_if_asked(&config).await?;
    prepare_data_dir(&config.data_dir).map_err(store_err)?;
    let (synced_p2p, store): (_, Arc<dyn Store>) = match synced {
        Some((handle, store)) => (Some(handle), store),
        None => (
            None,
            Arc::new(SledStore::open(&config.data_dir.join("db")).map_err(store_err)?),
        ),
    };
    let segments = DirSegments::open(&config.data_dir.join("blocks"))
        .map_err(|e| store_err(StoreError::Segment(e)))?;
    let log = BlockLog::with_segment_bytes(Box::new(segments), config.storage.segment_bytes);
    let index = DirSegments::open(&config.data_dir.join("txindex"))
        .map_err(|e| store_err(StoreError::Segment(e)))?;
    let db: Db = ChainDb::open(store, Box::new(index), log).map_err(store_err)?;
    let signer = open_signer(&config.data_dir, &db, config.discard_signer_state)?;
    let shared = Chain::open_with(db, &spec, config.mempool).map_err(store_err)?;
    shared.disk.watch(config.data_dir.clone());
    let api = ApiHandle::new(shared.clone());
    let p2p = match (synced_p2p, p2p_options) {
        (Some(handle), _) => Some(handle),
        (None, Some(options)) => Some(
            start_p2p(
                &config.genesis,
                config.key.as_ref(),
                options,
                &shared.metrics.p2p,
                Some(&shared),
            )
            .await?,
        ),
        (None, None) => None,
    };
    // Commits reach the API's event stream only through this publisher, after the flush.
    let mut replica_config = config.replica;
    replica_config.networked = p2p.is_some();
    let replica = match Replica::new(shared.clone(), config.key, Box::new(signer), replica_config) {
        Ok(r) => r
            .with_finality(Arc::new(api.publisher()))
            .with_pipelined_commits()
            .map_err(NodeError::Serve)?,
        Err(ReplicaError::Signer(e)) => return Err(NodeError::Signer(e)),
        Err(e) => return Err(e.into()),
    };
    let listener =
        TcpListener::bind(config.api_addr)
            .await
            .map_err(|source| NodeError::Listen {
                addr: config.api_addr,
                source,
            })?;
    let api_addr = listener.local_addr().map_err(NodeError::Serve)?;
    let head = shared.head();
    info!(chain_id = %spec.chain_id, height = head.height, app_hash = %head.app_hash, "chain loaded");
    Ok(RunningNode {
        api,
        api_addr,
        listener,
        api_limits: config.api_limits,
        genesis_json: Arc::from(
            serde_json::to_string_pretty(&config.genesis)
                .map_err(|e| NodeError::Serve(e.into()))?,
        ),
        replica,
        p2p,
        prune_keep_blocks: config.storage.prune_keep_blocks,
        state_sync_interval: config.storage.state_sync_interval,
        data_dir: config.data_dir.clone(),
        dir_lock,
    })
}

/// Runs state sync when `config` asks for it and the directory holds no database:
/// returns the running network and the database it wrote. Otherwise returns the p2p
/// options to start the network with once the chain is open.
async fn sync_if_asked(
    config: &NodeConfig,
) -> Result<(Option<(P2pHandle, Arc<SledStore>)>, Option<P2pOptions>), NodeError> {
    match (config.state_sync, config.p2p.clone()) {
        (true, Some(options)) if !config.data_dir.join("db").exists() => {
            let synced = state_sync(
                &config.genesis,
                config.key.as_ref(),
                options,
                &config.data_dir,
            )
            .await?;
            Ok((Some(synced), None))
        }
        (true, None) => Err(NodeError::StateSync(
            "--state-sync needs p2p (--p2p and --peer)".into(),
        )),
        (_, options) => Ok((None, options)),
    }
}

/// Opens the signer's files in `<data>/signer`: moves them aside first if the
/// operator discards them, and moves in the record an older version kept in the
/// chain database if there is no file yet.
fn open_signer(data_dir: &Path, db: &Db, discard: bool) -> Result<FileSignerStore, NodeError> {
    let dir = data_dir.join(SIGNER_DIR);
    let mut signer = FileSignerStore::open(&dir).map_err(NodeError::Signer)?;
    let store_err = |source| NodeError::Store {
        dir: data_dir.to_owned(),
        source,
    };
    if discard {
        let suffix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let moved = signer
            .discard(&suffix.to_string())
            .map_err(NodeError::Signer)?;
        db.drop_legacy_signer().map_err(store_err)?;
        warn!(moved = ?moved, "--discard-signer-state: the signer record was moved aside; this validator starts as if it had never signed, and may sign a conflicting message at any height it signed before");
    } else if !signer.has_record() {
        if let Some(record) = db.move_legacy_signer(&mut signer).map_err(store_err)? {
            info!(height = record.height, file = %signer.state_path().display(), "moved the signer record from the chain database into its own file");
        }
    }
    Ok(signer)
}

/// Gets the data directory ready before sled opens it: removes sled's unfinished
/// snapshot files (a start interrupted on a full disk leaves one, and sled would take
/// it for its newest snapshot), and refuses to start below the free space a block
/// needs ([`DISK_FREE_BYTES_MIN`]): opening writes (sled's snapshot), and a node that
/// starts on a full disk half-writes it.
fn prepare_data_dir(dir: &std::path::Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Segment(SegmentError::Dir(e));
    std::fs::create_dir_all(dir).map_err(io)?;
    faults::remove_unfinished_snapshots(&dir.join("db")).map_err(io)?;
    let free_bytes = faults::free_bytes(dir).map_err(io)?;
    if free_bytes < DISK_FREE_BYTES_MIN {
        return Err(StoreError::DiskFull {
            dir: dir.to_path_buf(),
            free_bytes,
            free_bytes_min: DISK_FREE_BYTES_MIN,
        });
    }
    Ok(())
}

/// How long a shutdown waits for open API connections (event streams never end).
const SHUTDOWN_GRACE_MS: u64 = 1_000;

impl RunningNode {
    /// Serves the API and runs consensus until `shutdown` resolves or consensus fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        // Released when this returns, after the driver has stopped.
        let _dir_lock = self.dir_lock;
        let network: Box<dyn Network> = match &self.p2p {
            Some(p2p) => Box::new(P2pNetwork::new(p2p.commands.clone())),
            None => Box::new(NoNetwork),
        };
        let driver = Driver::spawn(self.replica, network).map_err(NodeError::Serve)?;
        let mut gossip_txs: Option<Box<dyn Fn(Vec<u8>) + Send + Sync>> = None;
        if let Some(p2p) = self.p2p {
            let commands = p2p.commands.clone();
            gossip_txs = Some(Box::new(move |data| {
                // Dropped when the queue is full: the transactions still reach a block
                // through this node's own proposals.
                let _ = commands.try_send(P2pCommand::Publish {
                    topic: Topic::Txs,
                    data,
                });
            }));
            tokio::spawn(crate::net::follow_validator_set(
                self.api.chain.clone(),
                p2p.commands.clone(),
            ));
            let pump = crate::net::pump(
                p2p.events,
                p2p.commands,
                self.api.chain.clone(),
                driver.inbox.clone(),
                Arc::new(crate::statesync::SnapshotServer::new(self.data_dir.clone())),
            );
            tokio::spawn(pump);
        }
        let hooks = Hooks {
            replica: driver.inbox.clone(),
            gossip_txs,
        };
        // `start` creates the chain fresh, so the hooks are unset here.
        let _ = self.api.chain.hooks.set(hooks);
        if let Some(keep) = self.prune_keep_blocks {
            tokio::spawn(prune_forever(self.api.chain.clone(), keep));
        }
        if self.state_sync_interval > 0 {
            tokio::spawn(crate::checkpoint::checkpoint_forever(
                self.api.chain.clone(),
                self.data_dir.clone(),
                self.state_sync_interval,
            ));
        }
        let limits = self.api_limits;
        let mut app = crate::api::router(self.api.clone(), &limits);
        if limits.web {
            app = app.merge(crate::api::web::router(self.genesis_json.clone()));
        }
        info!(
            api = %format!("http://{}", self.api_addr),
            connections_max = limits.connections_max,
            header_read_timeout_ms = limits.header_read_timeout_ms,
            submit_txs_per_sec = limits.submit_txs_per_sec,
            web = limits.web,
            "API listening"
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = crate::http::serve(self.listener, app, limits, async move {
            shutdown.await;
            let _ = stop_tx.send(());
        });
        let grace = async move {
            let _ = stop_rx.await;
            tokio::time::sleep(std::time::Duration::from_millis(SHUTDOWN_GRACE_MS)).await;
        };
        let watch = watch_driver(driver);
        tokio::select! {
            served = server => served.map_err(NodeError::Serve),
            () = grace => Ok(()),
            stopped = watch => Err(stopped),
        }
    }
}

/// Starts the network, fetches the newest checkpoint into the empty `data_dir`
/// (`crate::statesync`), and hands the running network and the still-open database
/// on to the node.
async fn state_sync(
    genesis: &GenesisSpec,
    key: Option<&Keypair>,
    options: P2pOptions,
    data_dir: &Path,
) -> Result<(P2pHandle, Arc<SledStore>), NodeError> {
    // This swarm's counters are not the node's registered ones: a state-synced node's
    // p2p metrics start at its next restart.
    let metrics = crate::p2p::P2pMetrics::default();
    let mut handle = start_p2p(genesis, key, options, &metrics, None).await?;
    let net = crate::statesync::Channels {
        commands: &handle.commands,
        events: &mut handle.events,
    };
    match crate::statesync::sync(net, genesis, data_dir).await {
        Ok((s, store)) => {
            info!(
                height = s.import.height,
                entries = s.import.entries,
                bytes = s.import.bytes,
                fetch_seconds = s.fetch_seconds,
                import_seconds = s.import.seconds,
                peers = s.peers,
                "state sync: started from a checkpoint"
            );
            Ok((handle, store))
        }
        Err(e) => {
            handle.shutdown().await;
            Err(NodeError::StateSync(e.to_string()))
        }
    }
}

/// Opens (or creates) the chain database of `data_dir`: sled, block segments, index.
pub fn open_db(data_dir: &Path) -> Result<ChainDb<SledStore>, StoreError> {
    let store = SledStore::open(&data_dir.join("db"))?;
    open_db_on(store, data_dir)
}

/// [`open_db`] on a sled database already open (`store`, of `data_dir/db`).
pub fn open_db_on<S: Store>(store: S, data_dir: &Path) -> Result<ChainDb<S>, StoreError> {
    let blocks = DirSegments::open(&data_dir.join("blocks")).map_err(StoreError::Segment)?;
    let index = DirSegments::open(&data_dir.join("txindex")).map_err(StoreError::Segment)?;
    ChainDb::open(store, Box::new(index), BlockLog::new(Box::new(blocks)))
}

async fn start_p2p(
    genesis: &GenesisSpec,
    key: Option<&Keypair>,
    options: P2pOptions,
    metrics: &crate::p2p::P2pMetrics,
    shared: Option<&Chain>,
) -> Result<P2pHandle, NodeError> {
    let key = key.ok_or(NodeError::P2pWithoutKey)?;
    let allowed = genesis
        .validators
        .iter()
        .map(|v| {
            PeerId::from_str(&v.peer_id).map_err(|source| NodeError::PeerId {
                name: v.name.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A restarted node starts from the chain's list (governance may have changed the
    // set, and partners registered read nodes), so a registered node is not refused
    // until the first follow; a new chain's (or a state-syncing node's) is the
    // genesis set.
    let allowed = match shared.map(crate::net::allowed_peers) {
        Some(Ok(peers)) if !peers.is_empty() => peers,
        _ => allowed,
    };
    let config = P2pConfig {
        secret: zeroize::Zeroizing::new(key.secret()),
        listen: options.listen,
        peers: options.peers,
        allowed,
        budgets: options.gossip_budgets,
    };
    let handle = crate::p2p::start(config, metrics.clone()).await?;
    info!(peer_id = %handle.local_peer_id, listen = ?handle.listen_addrs, "p2p listening");
    Ok(handle)
}

/// Drops, every [`PRUNE_INTERVAL`], the blocks that fell out of the last `keep`.
/// A failure is logged and retried: pruning is housekeeping, never a reason to stop.
async fn prune_forever(chain: Arc<Chain>, keep: u64) {
    let mut tick = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        tick.tick().await;
        let db = chain.db.clone();
        match tokio::task::spawn_blocking(move || db.prune(keep)).await {
            Ok(Ok(p)) if p.blocks > 0 => {
                info!(
                    blocks = p.blocks,
                    first_kept = p.first_kept,
                    "pruned old blocks"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => error!(error = %e, "pruning failed; will retry"),
            Err(e) => error!(error = %e, "pruning task failed; will retry"),
        }
    }
}

/// Resolves with the error once the consensus thread stops.
async fn watch_driver(driver: Driver) -> NodeError {
    while !driver.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    match tokio::task::spawn_blocking(move || driver.join()).await {
        Ok(Err(e)) => {
            if matches!(&e, ReplicaError::Store(s) if faults::is_store_disk_full(s)) {
                // The disk filled between two free-space checks: the write order makes
                // this a crash (docs/storage.md §4); the next start waits for space.
                error!(error = %e, "the disk filled while a block was written: the node stopped with nothing final lost; free some space and start it again");
            } else {
                error!(error = %e, "consensus stopped");
            }
            NodeError::Replica(e)
        }
        Ok(Ok(())) => NodeError::Serve(std::io::Error::other("consensus stopped")),
        Err(e) => NodeError::Serve(std::io::Error::other(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::{SignedRecord, SignerStore};
    use jeon_runtime::Hash;

    fn record(height: u64) -> SignedRecord {
        SignedRecord {
            height,
            round: 1,
            step: 2,
            block: Some(Hash([3; 32])),
            lock: Some((1, Hash([3; 32]))),
        }
    }

    /// A chain database over real sled in `data/db`, as `start` opens it.
    fn open_db(data: &Path) -> Db {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&data.join("db")).expect("sled"));
        let blocks = DirSegments::open(&data.join("blocks")).expect("blocks");
        let index = DirSegments::open(&data.join("txindex")).expect("txindex");
        ChainDb::open(store, Box::new(index), BlockLog::new(Box::new(blocks))).expect("db")
    }

    #[test]
    fn a_record_an_older_version_kept_in_the_chain_database_moves_into_the_file_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open_db(dir.path());
        db.write_legacy_signer_for_test(&record(12), Some(b"proof".to_vec()))
            .expect("legacy record");
        let signer = open_signer(dir.path(), &db, false).expect("open");
        let moved = signer.load().expect("load").expect("moved");
        assert_eq!(moved.record, record(12));
        assert_eq!(moved.lock_proof, Some(b"proof".to_vec()));
        // The database no longer holds it: the file is the only record from now on.
        let mut other = crate::signer::MemSignerStore::new();
        assert_eq!(db.move_legacy_signer(&mut other).expect("move"), None);
        // With a file present, a record in the database is never imported over it.
        db.write_legacy_signer_for_test(&record(3), None)
            .expect("legacy record");
        let signer = open_signer(dir.path(), &db, false).expect("reopen");
        assert_eq!(
            signer.load().expect("load").map(|p| p.record),
            Some(record(12))
        );
    }

    #[test]
    fn discarding_leaves_no_record_in_the_file_or_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open_db(dir.path());
        let mut signer = open_signer(dir.path(), &db, false).expect("open");
        signer.save(&record(7), None).expect("save");
        db.write_legacy_signer_for_test(&record(5), None)
            .expect("legacy record");
        let signer = open_signer(dir.path(), &db, true).expect("discard");
        assert_eq!(signer.load().expect("load"), None);
        let signer = open_signer(dir.path(), &db, false).expect("reopen");
        assert_eq!(signer.load().expect("load"), None, "nothing re-imported");
    }
}
