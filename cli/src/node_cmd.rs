//! `jeon node` and the pieces `jeon dev` shares with it: logging, and running a node
//! until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use jeon_genesis::keyfile;
use jeon_node::api::cors::CorsOrigins;
use jeon_node::http::ApiLimits;
use jeon_node::mempool::{MempoolConfig, MEMPOOL_TXS_MAX, MEMPOOL_TXS_MIN};
use jeon_node::p2p::{GossipBudgetConfig, Multiaddr};
use jeon_node::replica::ReplicaConfig;
use jeon_node::run::{NodeConfig, P2pOptions, RunningNode, StorageOptions, PRUNE_KEEP_BLOCKS_MIN};
use jeon_runtime::Keypair;

use crate::error::CliError;
use crate::keystore::{PassphraseSource, Plaintext};

/// `jeon node`: run a node from a TOML config file or from flags.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// A TOML config file (`jeon init` writes a documented one; every key is in
    /// docs/operations.md); relative paths in it are relative to the file. Flags
    /// override it; an unknown key is refused.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The genesis spec (JSON).
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// The node's key: an encrypted keystore (`jeon keys encrypt`); without it the
    /// node follows the chain without voting.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// A file whose first line is the keystore's passphrase [default:
    /// JEON_KEY_PASSPHRASE_FILE, then JEON_KEY_PASSPHRASE, then a prompt].
    #[arg(long, value_name = "FILE")]
    key_passphrase_file: Option<PathBuf>,
    /// Accept a plaintext key file: for throwaway test chains only (`jeon testnet`).
    #[arg(long)]
    insecure_plaintext_key: bool,
    /// The data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The API listen address.
    #[arg(long, value_name = "ADDR")]
    api: Option<SocketAddr>,
    /// Listen for peers here, e.g. /ip4/127.0.0.1/tcp/26656 (enables networking).
    #[arg(long, value_name = "MULTIADDR")]
    p2p: Option<String>,
    /// A peer to dial, e.g. /ip4/127.0.0.1/tcp/26657/p2p/12D3KooW...; repeatable.
    #[arg(long = "peer", value_name = "MULTIADDR")]
    peers: Vec<String>,
    /// Keep only the last N blocks (bodies, receipts, transaction index), dropping
    /// older ones a whole segment at a time; state is always kept whole. Without it
    /// the node is an archive node. At least 16.
    #[arg(long, value_name = "N")]
    prune_keep_blocks: Option<u64>,
    /// Close a block segment file at this many bytes (default 64 MiB); pruning drops
    /// whole segments, so smaller ones prune closer to N.
    #[arg(long, value_name = "BYTES")]
    segment_bytes: Option<u64>,
    /// On an empty data directory, fetch the newest checkpoint of the state from the
    /// peers (checked against the genesis: set changes, certificate, app hash) and
    /// start from it instead of replaying the chain from genesis.
    #[arg(long)]
    state_sync: bool,
    /// Write a checkpoint of the state to DIR/snapshots/ every N blocks (the last two
    /// are kept), for new nodes to state-sync from; 0: never [default: 1000].
    #[arg(long, value_name = "N")]
    state_sync_interval: Option<u64>,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    gossip: GossipBudgetArgs,
    /// Log as JSON lines instead of human-readable text (log_format = "json").
    #[arg(long)]
    log_json: bool,
    /// What to log: a level (error, warn, info, debug, trace) or a filter such as
    /// `info,jeon_node::p2p=debug` [default: info]; RUST_LOG, if set, wins.
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
}

/// The flags `jeon node` and `jeon dev` share beyond their own: API client bounds,
/// the signer-record escape hatch and the mempool's bounds.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    #[command(flatten)]
    pub(crate) api_limits: ApiLimitArgs,
    #[command(flatten)]
    pub(crate) discard: DiscardSignerState,
    /// The mempool's bounds.
    #[command(flatten)]
    pub(crate) mempool: MempoolArgs,
}

/// Bounds on the API's clients (docs/api.md, "Limits"); `jeon node` and `jeon dev`.
#[derive(Debug, Default, Args)]
pub(crate) struct ApiLimitArgs {
    /// API connections served at once (default 1024); further ones wait to be
    /// accepted. Keep it well below the descriptor limit (`ulimit -n`).
    #[arg(long, value_name = "N")]
    api_connections_max: Option<usize>,
    /// Milliseconds for a request's head to arrive, and for an idle keep-alive
    /// connection to send its next request, before the connection is closed
    /// (default 10000).
    #[arg(long, value_name = "MS")]
    api_header_read_timeout_ms: Option<u64>,
    /// Milliseconds for a request's body to arrive once its head has, else 408
    /// request_timeout (default 30000).
    #[arg(long, value_name = "MS")]
    api_body_read_timeout_ms: Option<u64>,
    /// Milliseconds a client may take none of the bytes sent to it (an answer, an event
    /// stream) before it is disconnected (default 30000).
    #[arg(long, value_name = "MS")]
    api_write_stall_timeout_ms: Option<u64>,
    /// Transactions per second one client address may submit, with 2 s bursts, else
    /// 429 rate_limited (default 50000; 0: no limit).
    #[arg(long, value_name = "N")]
    api_submit_txs_per_sec: Option<u64>,
    /// Bytes of events queued for one /v1/events subscriber that is not taking them
    /// before it is cut off (default 8388608; at least 4096).
    #[arg(long, value_name = "BYTES")]
    api_sse_queue_bytes_max: Option<usize>,
    /// A browser origin allowed to call the API (CORS), as scheme://host[:port], or *
    /// for any; repeatable or comma-separated. `jeon node` allows none by default,
    /// `jeon dev` any.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origin: Vec<String>,
    /// Serve the web app (explorer, wallet, partner dashboard, network page) at `/` of
    /// the API address: `--web` or `--web=false`. `jeon node` serves it only when told
    /// (config key `web = true`), `jeon dev` by default.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    web: Option<bool>,
}

impl ApiLimitArgs {
    /// `jeon dev`'s defaults beneath its flags: any origin may call the API, so a
    /// wallet served from another port works at once.
    pub(crate) fn dev_defaults() -> ApiLimitArgs {
        ApiLimitArgs {
            cors_origin: vec!["*".into()],
            web: Some(true),
            ..ApiLimitArgs::default()
        }
    }

    /// The limits: flags over `file` (the config's keys), over the defaults; checked.
    pub(crate) fn resolve(&self, file: &ApiLimitArgs) -> Result<ApiLimits, CliError> {
        let d = ApiLimits::default();
        let limits = ApiLimits {
            connections_max: self
                .api_connections_max
                .or(file.api_connections_max)
                .unwrap_or(d.connections_max),
            header_read_timeout_ms: self
                .api_header_read_timeout_ms
                .or(file.api_header_read_timeout_ms)
                .unwrap_or(d.header_read_timeout_ms),
            body_read_timeout_ms: self
                .api_body_read_timeout_ms
                .or(file.api_body_read_timeout_ms)
                .unwrap_or(d.body_read_timeout_ms),
            write_stall_timeout_ms: self
                .api_write_stall_timeout_ms
                .or(file.api_write_stall_timeout_ms)
                .unwrap_or(d.write_stall_timeout_ms),
            submit_txs_per_sec: self
                .api_submit_txs_per_sec
                .or(file.api_submit_txs_per_sec)
                .unwrap_or(d.submit_txs_per_sec),
            cors: CorsOrigins::parse(if self.cors_origin.is_empty() {
                &file.cors_origin
            } else {
                &self.cors_origin
            })
            .map_err(|e| CliError::BadInput(e.to_string()))?,
            web: self.web.or(file.web).unwrap_or(d.web),
            sse_queue_bytes_max: self
                .api_sse_queue_bytes_max
                .or(file.api_sse_queue_bytes_max)
                .unwrap_or(d.sse_queue_bytes_max),
        };
        limits
            .validate()
            .map_err(|e| CliError::BadInput(e.to_string()))?;
        Ok(limits)
    }
}

/// Per-peer gossip budgets (docs/network.md, "Per-peer gossip budgets"): how much one
/// peer may gossip per topic before the excess is dropped and the peer penalized.
#[derive(Debug, Default, Args)]
pub(crate) struct GossipBudgetArgs {
    /// Gossip messages per second one peer may deliver on jeon/txs/1 (default 20000).
    #[arg(long, value_name = "N")]
    p2p_gossip_txs_msgs_per_sec: Option<u64>,
    /// Gossip bytes per second one peer may deliver on jeon/txs/1 (default 67108864,
    /// 64 MiB; a burst must hold two 17 MiB frames).
    #[arg(long, value_name = "BYTES")]
    p2p_gossip_txs_bytes_per_sec: Option<u64>,
    /// Gossip messages per second one peer may deliver on jeon/consensus/1 (default 2000).
    #[arg(long, value_name = "N")]
    p2p_gossip_consensus_msgs_per_sec: Option<u64>,
    /// Gossip bytes per second one peer may deliver on jeon/consensus/1 (default
    /// 71303168, four full 17 MiB frames; a burst must hold two).
    #[arg(long, value_name = "BYTES")]
    p2p_gossip_consensus_bytes_per_sec: Option<u64>,
    /// Seconds of its gossip budget a peer may use at once after a quiet spell, 1 to 60
    /// (default 2).
    #[arg(long, value_name = "SECS")]
    p2p_gossip_burst_secs: Option<u64>,
}

impl GossipBudgetArgs {
    /// The budgets: flags over `file` (the config's keys), over the defaults; checked.
    fn resolve(&self, file: &GossipBudgetArgs) -> Result<GossipBudgetConfig, CliError> {
        let d = GossipBudgetConfig::default();
        let budgets = GossipBudgetConfig {
            txs_msgs_per_sec: self
                .p2p_gossip_txs_msgs_per_sec
                .or(file.p2p_gossip_txs_msgs_per_sec)
                .unwrap_or(d.txs_msgs_per_sec),
            txs_bytes_per_sec: self
                .p2p_gossip_txs_bytes_per_sec
                .or(file.p2p_gossip_txs_bytes_per_sec)
                .unwrap_or(d.txs_bytes_per_sec),
            consensus_msgs_per_sec: self
                .p2p_gossip_consensus_msgs_per_sec
                .or(file.p2p_gossip_consensus_msgs_per_sec)
                .unwrap_or(d.consensus_msgs_per_sec),
            consensus_bytes_per_sec: self
                .p2p_gossip_consensus_bytes_per_sec
                .or(file.p2p_gossip_consensus_bytes_per_sec)
                .unwrap_or(d.consensus_bytes_per_sec),
            burst_secs: self
                .p2p_gossip_burst_secs
                .or(file.p2p_gossip_burst_secs)
                .unwrap_or(d.burst_secs),
        };
        budgets
            .validate()
            .map_err(|e| CliError::BadInput(e.to_string()))?;
        Ok(budgets)
    }
}

/// `--discard-signer-state`, shared by `jeon node` and `jeon dev`. A flag only, never a
/// config key: left in a config file it would discard the record at every restart.
#[derive(Debug, Args)]
pub(crate) struct DiscardSignerState {
    /// DANGEROUS. Move the validator's signer record (DATA/signer/state and lock) aside
    /// before starting, so it signs as if it had never signed. The record is what stops
    /// it from signing two different blocks at one height; discard it only if the chain
    /// data is lost for good, no other machine runs this key, and you accept that any
    /// height it signed before and the chain no longer holds may be signed differently
    /// (a double sign). Use once; see docs/consensus.md §6.
    #[arg(long = "discard-signer-state")]
    pub(crate) discard_signer_state: bool,
}

/// The mempool's bounds, shared by `jeon node` and `jeon dev` (docs/runtime.md §5).
#[derive(Debug, Default, Args)]
pub(crate) struct MempoolArgs {
    /// Hold at most N pending transactions (16 to 100000, the default); a quarter of
    /// them may wait behind nonce gaps.
    #[arg(long, value_name = "N")]
    mempool_txs_max: Option<u64>,
    /// Evict a transaction still waiting behind a nonce gap this long after its
    /// admission (default 60000).
    #[arg(long, value_name = "MS")]
    future_tx_wait_ms: Option<u64>,
}

impl MempoolArgs {
    /// The bounds from flags, else the config file's, else the defaults; checked.
    pub(crate) fn config(
        &self,
        txs_max: Option<u64>,
        wait_ms: Option<u64>,
    ) -> Result<MempoolConfig, CliError> {
        let mut config = MempoolConfig::default();
        if let Some(n) = self.mempool_txs_max.or(txs_max) {
            let range = MEMPOOL_TXS_MIN as u64..=MEMPOOL_TXS_MAX as u64;
            if !range.contains(&n) {
                return Err(CliError::BadInput(format!(
                    "--mempool-txs-max {n}: must be {MEMPOOL_TXS_MIN} to {MEMPOOL_TXS_MAX}"
                )));
            }
            config = MempoolConfig::with_txs_max(n as usize);
        }
        if let Some(ms) = self.future_tx_wait_ms.or(wait_ms) {
            config.future_wait_max_ms = ms;
        }
        Ok(config)
    }
}

/// One listen address or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The config file's format (docs/operations.md, "Configuration").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    genesis: Option<PathBuf>,
    key: Option<PathBuf>,
    key_passphrase_file: Option<PathBuf>,
    #[serde(default)]
    insecure_plaintext_key: bool,
    data: Option<PathBuf>,
    api: Option<SocketAddr>,
    p2p: Option<OneOrMany>,
    log_level: Option<String>,
    log_format: Option<LogFormat>,
    #[serde(default)]
    peers: Vec<String>,
    empty_block_interval_ms: Option<u64>,
    prune_keep_blocks: Option<u64>,
    segment_bytes: Option<u64>,
    state_sync_interval: Option<u64>,
    #[serde(default)]
    state_sync: bool,
    api_connections_max: Option<usize>,
    api_header_read_timeout_ms: Option<u64>,
    api_body_read_timeout_ms: Option<u64>,
    api_write_stall_timeout_ms: Option<u64>,
    api_submit_txs_per_sec: Option<u64>,
    api_sse_queue_bytes_max: Option<usize>,
    #[serde(default)]
    cors_origins: Vec<String>,
    web: Option<bool>,
    mempool_txs_max: Option<u64>,
    future_tx_wait_ms: Option<u64>,
    p2p_gossip_txs_msgs_per_sec: Option<u64>,
    p2p_gossip_txs_bytes_per_sec: Option<u64>,
    p2p_gossip_consensus_msgs_per_sec: Option<u64>,
    p2p_gossip_consensus_bytes_per_sec: Option<u64>,
    p2p_gossip_burst_secs: Option<u64>,
}

impl ConfigFile {
    /// The config's gossip budget keys, in the shape of the flags.
    fn gossip_budgets(&self) -> GossipBudgetArgs {
        GossipBudgetArgs {
            p2p_gossip_txs_msgs_per_sec: self.p2p_gossip_txs_msgs_per_sec,
            p2p_gossip_txs_bytes_per_sec: self.p2p_gossip_txs_bytes_per_sec,
            p2p_gossip_consensus_msgs_per_sec: self.p2p_gossip_consensus_msgs_per_sec,
            p2p_gossip_consensus_bytes_per_sec: self.p2p_gossip_consensus_bytes_per_sec,
            p2p_gossip_burst_secs: self.p2p_gossip_burst_secs,
        }
    }

    /// The config's API limit keys, in the shape of the flags.
    fn api_limits(&self) -> ApiLimitArgs {
        ApiLimitArgs {
            api_connections_max: self.api_connections_max,
            api_header_read_timeout_ms: self.api_header_read_timeout_ms,
            api_body_read_timeout_ms: self.api_body_read_timeout_ms,
            api_write_stall_timeout_ms: self.api_write_stall_timeout_ms,
            api_submit_txs_per_sec: self.api_submit_txs_per_sec,
            api_sse_queue_bytes_max: self.api_sse_queue_bytes_max,
            cors_origin: self.cors_origins.clone(),
            web: self.web,
        }
    }
}

/// The smallest segment size accepted: a segment holds at least one block record.
const SEGMENT_BYTES_MIN: u64 = 4096;

/// The storage options from flags and config, checked.
fn storage_options(
    prune_keep_blocks: Option<u64>,
    segment_bytes: Option<u64>,
) -> Result<StorageOptions, CliError> {
    let mut storage = StorageOptions::default();
    if let Some(n) = prune_keep_blocks {
        if n < PRUNE_KEEP_BLOCKS_MIN {
            return Err(CliError::BadInput(format!(
                "--prune-keep-blocks {n}: keep at least {PRUNE_KEEP_BLOCKS_MIN} blocks"
            )));
        }
        storage.prune_keep_blocks = Some(n);
    }
    if let Some(b) = segment_bytes {
        if b < SEGMENT_BYTES_MIN {
            return Err(CliError::BadInput(format!(
                "--segment-bytes {b}: at least {SEGMENT_BYTES_MIN}"
            )));
        }
        storage.segment_bytes = b;
    }
    Ok(storage)
}

/// The default API address.
pub(crate) const API_ADDR_DEFAULT: &str = "127.0.0.1:8080";

/// Parses a config file's text; the error is toml's message, which names an unknown
/// key and lists the known ones.
pub(crate) fn parse_config(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

/// Every key the config file accepts, as the parser lists them (for the tests that
/// keep `jeon init`'s template and docs/operations.md complete).
#[cfg(test)]
pub(crate) fn config_keys() -> Vec<String> {
    let message = parse_config("zz_not_a_key = 1").err().unwrap_or_default();
    let list = message.split("expected one of").nth(1).unwrap_or("");
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn read_config(path: &Path) -> Result<ConfigFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::BadInput(format!("{}: cannot read config: {e}", path.display())))?;
    let mut cfg = parse_config(&text)
        .map_err(|e| CliError::BadInput(format!("{}: invalid config: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in [
        &mut cfg.genesis,
        &mut cfg.key,
        &mut cfg.key_passphrase_file,
        &mut cfg.data,
    ]
    .into_iter()
    .flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(cfg)
}

fn multiaddr(s: &str) -> Result<Multiaddr, CliError> {
    s.parse()
        .map_err(|e| CliError::BadInput(format!("malformed multiaddr {s:?}: {e}")))
}

/// Reads a key file (exit 2 on any problem, a file others may read included).
pub(crate) fn load_key(path: &Path) -> Result<Keypair, CliError> {
    let loaded = keyfile::read(path).map_err(|e| CliError::BadInput(e.to_string()))?;
    Ok(loaded.keypair)
}

/// Sets up tracing: human-readable by default, JSON lines with `json`; `RUST_LOG`
/// filters (default `info`).
pub(crate) fn init_logging(json: bool) {
    // "info" always parses.
    let _ = init_logging_with(json, "info");
}

/// Sets up tracing with `level` as the filter unless `RUST_LOG` is set; refuses a
/// filter that does not parse.
fn init_logging_with(json: bool, level: &str) -> Result<(), CliError> {
    use tracing_subscriber::EnvFilter;
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::try_new(level)
            .map_err(|e| CliError::BadInput(format!("log_level {level:?}: {e}")))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

/// Starts a node and runs it until Ctrl-C (or SIGTERM); `on_started` runs once the
/// API is bound.
pub(crate) fn run_node(
    config: NodeConfig,
    on_started: impl FnOnce(&RunningNode),
) -> Result<(), CliError> {
    let rt = runtime()?;
    rt.block_on(async move {
        let node = jeon_node::run::start(config).await.map_err(|e| {
            if e.is_bad_input() {
                CliError::BadInput(e.to_string())
            } else {
                CliError::Failed(e.to_string())
            }
        })?;
        on_started(&node);
        node.run(shutdown_signal())
            .await
            .map_err(|e| CliError::Failed(e.to_string()))
    })
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// Runs `jeon node`.
pub(crate) fn run(args: NodeArgs) -> Result<(), CliError> {
    let cfg = match &args.config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    let json = args.log_json || cfg.log_format == Some(LogFormat::Json);
    let level = args.log_level.as_ref().or(cfg.log_level.as_ref());
    init_logging_with(json, level.map_or("info", |l| l.as_str()))?;
    let api_limits = args.service.api_limits.resolve(&cfg.api_limits())?;
    let gossip_budgets = args.gossip.resolve(&cfg.gossip_budgets())?;
    let genesis_path = args.genesis.or(cfg.genesis).ok_or_else(|| {
        CliError::BadInput("no genesis: pass --genesis FILE or --config FILE".into())
    })?;
    let data = args.data.or(cfg.data).ok_or_else(|| {
        CliError::BadInput("no data directory: pass --data DIR or --config FILE".into())
    })?;
    let api = match args.api.or(cfg.api) {
        Some(a) => a,
        None => API_ADDR_DEFAULT
            .parse()
            .map_err(|_| CliError::Failed("bad default address".into()))?,
    };
    let plaintext = if args.insecure_plaintext_key || cfg.insecure_plaintext_key {
        Plaintext::Accept
    } else {
        Plaintext::Refuse
    };
    let passphrase = PassphraseSource {
        file: args.key_passphrase_file.or(cfg.key_passphrase_file),
    };
    let key = args
        .key
        .or(cfg.key)
        .map(|p| crate::keystore::load_key(&p, &passphrase, plaintext))
        .transpose()?;
    let storage = storage_options(
        args.prune_keep_blocks.or(cfg.prune_keep_blocks),
        args.segment_bytes.or(cfg.segment_bytes),
    )?;
    let mut storage = storage;
    if let Some(n) = args.state_sync_interval.or(cfg.state_sync_interval) {
        storage.state_sync_interval = n;
    }
    let mempool = args
        .service
        .mempool
        .config(cfg.mempool_txs_max, cfg.future_tx_wait_ms)?;
    let genesis = crate::genesis_cmd::load(&genesis_path)?;
    let mut replica = ReplicaConfig::default();
    if let Some(ms) = cfg.empty_block_interval_ms {
        replica.empty_block_interval_ms = ms;
    }
    let listen = match args.p2p {
        Some(one) => vec![one],
        None => cfg.p2p.map(OneOrMany::into_vec).unwrap_or_default(),
    };
    let peers = if args.peers.is_empty() {
        cfg.peers
    } else {
        args.peers
    };
    let p2p = match listen.is_empty() {
        false => Some(P2pOptions {
            listen: listen
                .iter()
                .map(|l| multiaddr(l))
                .collect::<Result<_, _>>()?,
            peers: peers
                .iter()
                .map(|p| multiaddr(p))
                .collect::<Result<_, _>>()?,
            gossip_budgets,
        }),
        true if !peers.is_empty() => {
            return Err(CliError::BadInput(
                "--peer needs --p2p (where to listen)".into(),
            ));
        }
        true => None,
    };
    let config = NodeConfig {
        genesis,
        key,
        data_dir: data,
        api_addr: api,
        api_limits,
        replica,
        p2p,
        storage,
        discard_signer_state: args.service.discard.discard_signer_state,
        mempool,
        state_sync: args.state_sync || cfg.state_sync,
    };
    run_node(config, |node| {
        // The address line is for scripts; a closed stdout must not stop the node.
        let url = format!("http://{}", node.api_addr);
        let _ = crate::output::either(&format!("API {url}\n"), &serde_json::json!({ "api": url }));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_limits_come_from_flags_over_config_keys_over_defaults() {
        let cfg: ConfigFile = toml::from_str(
            "api_connections_max = 64\napi_header_read_timeout_ms = 2000\n\
             api_submit_txs_per_sec = 0\n",
        )
        .expect("a config with API limit keys parses");
        let flags = ApiLimitArgs {
            api_header_read_timeout_ms: Some(500),
            ..ApiLimitArgs::default()
        };
        let limits = flags.resolve(&cfg.api_limits()).expect("valid limits");
        let defaults = ApiLimits::default();
        assert_eq!(
            limits,
            ApiLimits {
                connections_max: 64,
                header_read_timeout_ms: 500,
                submit_txs_per_sec: 0,
                ..defaults
            }
        );
    }

    #[test]
    fn the_web_app_is_off_for_a_node_unless_the_config_or_flag_turns_it_on() {
        let off: ConfigFile = toml::from_str("").expect("an empty config parses");
        let none = ApiLimitArgs::default();
        assert!(!none.resolve(&off.api_limits()).expect("valid").web);
        let on: ConfigFile = toml::from_str("web = true\n").expect("web = true parses");
        assert!(none.resolve(&on.api_limits()).expect("valid").web);
        let flag_off = ApiLimitArgs {
            web: Some(false),
            ..ApiLimitArgs::default()
        };
        assert!(!flag_off.resolve(&on.api_limits()).expect("valid").web);
        // `jeon dev` serves it unless told not to.
        assert!(
            none.resolve(&ApiLimitArgs::dev_defaults())
                .expect("valid")
                .web
        );
        assert!(
            !flag_off
                .resolve(&ApiLimitArgs::dev_defaults())
                .expect("valid")
                .web
        );
    }

    #[test]
    fn an_unknown_config_key_is_refused_by_name() {
        let err = parse_config("genesis = \"g.json\"\nlog_levle = \"debug\"\n")
            .expect_err("a misspelt key is refused");
        assert!(err.contains("unknown field `log_levle`"), "{err}");
        assert!(
            err.contains("log_level"),
            "the known keys are listed: {err}"
        );
    }

    #[test]
    fn p2p_takes_one_address_or_a_list() {
        let one = parse_config("p2p = \"/ip4/0.0.0.0/tcp/1\"").expect("one");
        let many = parse_config("p2p = [\"/ip4/0.0.0.0/tcp/1\", \"/ip6/::/tcp/1\"]").expect("two");
        assert_eq!(one.p2p.map(OneOrMany::into_vec).map(|v| v.len()), Some(1));
        assert_eq!(many.p2p.map(OneOrMany::into_vec).map(|v| v.len()), Some(2));
        let err = parse_config("log_format = \"xml\"").expect_err("unknown format");
        assert!(err.contains("xml"), "{err}");
    }

    #[test]
    fn an_unusable_api_limit_is_bad_input() {
        let flags = ApiLimitArgs {
            api_body_read_timeout_ms: Some(0),
            ..ApiLimitArgs::default()
        };
        let err = flags
            .resolve(&ApiLimitArgs::default())
            .expect_err("a zero timeout is refused");
        assert!(
            matches!(&err, CliError::BadInput(m) if m.contains("api_body_read_timeout_ms")),
            "{err:?}"
        );
    }
}
