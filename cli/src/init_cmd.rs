//! `jeon init`: a partner node's directory: a documented `config.toml` and an
//! encrypted key.
//!
//! Writes `DIR/config.toml` (every key `jeon node` accepts, the optional ones commented
//! out at their defaults; docs/operations.md explains each), `DIR/node.keystore.json`
//! (a fresh key sealed under a passphrase) and, with `--genesis`, a copy of the
//! consortium's genesis as `DIR/genesis.json`. Prints the key's address and peer id:
//! what the consortium votes on to admit the node. Never overwrites anything.

use std::path::{Path, PathBuf};

use clap::Args;

use jeon_genesis::peer_id_of;

use crate::error::CliError;
use crate::keys::SealArgs;
use crate::keystore;

/// `jeon init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The node's directory (created; must not hold a config.toml yet).
    #[arg(long, value_name = "DIR", default_value = "jeon-node")]
    dir: PathBuf,
    /// The consortium's genesis file, copied to DIR/genesis.json.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Where the node listens for peers (all interfaces by default: a server's peers
    /// are other machines).
    #[arg(
        long,
        value_name = "MULTIADDR",
        default_value = "/ip4/0.0.0.0/tcp/26656"
    )]
    p2p: String,
    /// The API's address (loopback by default: put a reverse proxy in front, or set
    /// 0.0.0.0:8080 deliberately).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    api: std::net::SocketAddr,
    #[command(flatten)]
    seal: SealArgs,
}

/// The config written by `jeon init`; `{...}` are filled in. The optional keys are
/// commented out at their defaults (a test uncomments them all and parses the result).
const CONFIG_TEMPLATE: &str = r#"# Jeon node configuration (written by `jeon init`). Every key is explained in
# docs/operations.md; relative paths are relative to this file. Flags given to
# `jeon node` override these keys; an unknown key is refused.

# ---- Chain and identity ----
# The consortium's genesis file (the chain id is its hash).
genesis = "genesis.json"
# The node's key: an encrypted keystore. Its passphrase comes from
# key_passphrase_file, else JEON_KEY_PASSPHRASE_FILE, else JEON_KEY_PASSPHRASE, else a
# prompt on the terminal.
key = "node.keystore.json"
# key_passphrase_file = "/run/secrets/jeon-passphrase"
# Accept a plaintext key file (throwaway test chains only).
# insecure_plaintext_key = false
# Where the chain lives (created on first start; one node process per directory).
data = "data"

# ---- Network ----
# Where this node listens for peers: one multiaddr or a list.
p2p = ["{p2p}"]
# The peers to dial and redial: /ip4/ADDR/tcp/PORT/p2p/PEER_ID (or /dns4/NAME/...).
peers = []
# Per-peer gossip budgets: beyond them a peer's messages are dropped and it is
# penalized (banned after 10 penalties); each byte budget's burst holds two 17 MiB frames.
# p2p_gossip_txs_msgs_per_sec = 20000
# p2p_gossip_txs_bytes_per_sec = 67108864
# p2p_gossip_consensus_msgs_per_sec = 2000
# p2p_gossip_consensus_bytes_per_sec = 71303168
# p2p_gossip_burst_secs = 2

# ---- API ----
# The HTTP API (also /metrics for Prometheus, /v1/health and /v1/ready).
api = "{api}"
# Browser origins allowed to call the API (CORS): "https://wallet.example", or "*".
# cors_origins = []
# Serve the web app (explorer, wallet, partner dashboard) at / of the API address.
# web = false
# api_connections_max = 1024
# api_header_read_timeout_ms = 10000
# api_body_read_timeout_ms = 30000
# api_write_stall_timeout_ms = 30000
# api_submit_txs_per_sec = 50000
# api_sse_queue_bytes_max = 8388608

# ---- Logs ----
# A level (error, warn, info, debug, trace) or a filter ("info,jeon_node::p2p=debug");
# RUST_LOG, if set, wins.
log_level = "info"
# "text" or "json" (one object per line, for log shippers).
log_format = "text"

# ---- Storage ----
# Keep only the last N blocks (at least 16); absent: an archive node keeping all.
# prune_keep_blocks = 100000
# segment_bytes = 67108864
# A checkpoint of the state every N blocks in <data>/snapshots/ (the last 2 kept),
# which new nodes state-sync from; 0: never.
# state_sync_interval = 1000
# On an empty data directory, start from the newest checkpoint the peers offer
# instead of replaying the chain from genesis.
# state_sync = false

# ---- Consensus and mempool ----
# empty_block_interval_ms = 1000
# mempool_txs_max = 100000
# future_tx_wait_ms = 60000
"#;

/// The config text for these addresses.
fn config_text(p2p: &str, api: &std::net::SocketAddr) -> String {
    CONFIG_TEMPLATE
        .replace("{p2p}", p2p)
        .replace("{api}", &api.to_string())
}

/// Runs `jeon init`.
pub(crate) fn run(args: InitArgs) -> Result<(), CliError> {
    let p2p: jeon_node::p2p::Multiaddr = args
        .p2p
        .parse()
        .map_err(|e| CliError::BadInput(format!("--p2p {:?}: {e}", args.p2p)))?;
    let config_path = args.dir.join("config.toml");
    if config_path.exists() {
        return Err(CliError::BadInput(format!(
            "{} already exists; jeon init never overwrites a node's files",
            config_path.display()
        )));
    }
    let genesis = args
        .genesis
        .as_deref()
        .map(|g| crate::genesis_cmd::load(g).map(|_| g.to_owned()))
        .transpose()?;
    std::fs::create_dir_all(&args.dir).map_err(|e| fail(&args.dir, e))?;
    let key_path = args.dir.join("node.keystore.json");
    let key = crate::keys::random_keypair()?;
    let sealed = args
        .seal
        .seal(&key, &format!("the node key {}", key_path.display()))?;
    keystore::write_new(&key_path, &sealed).map_err(keystore::to_cli)?;
    if let Some(g) = &genesis {
        let to = args.dir.join("genesis.json");
        if !to.exists() {
            std::fs::copy(g, &to).map_err(|e| fail(&to, e))?;
        }
    }
    write_new(&config_path, &config_text(&p2p.to_string(), &args.api))?;
    let address = key.address();
    let peer = peer_id_of(&address);
    let text = format!(
        "config:   {config}\nkey:      {key}\naddress:  {address}\npeer_id:  {peer}\n\
         \nNext: {genesis_step}give the consortium the address and peer id to vote on \
         (`jeon tx propose add-validator ...`), list their nodes under `peers`, then\n  \
         jeon node --config {config}\n",
        config = config_path.display(),
        key = key_path.display(),
        genesis_step = if genesis.is_some() {
            String::new()
        } else {
            format!(
                "put the consortium's genesis file at {}; ",
                args.dir.join("genesis.json").display()
            )
        },
    );
    crate::output::either(
        &text,
        &serde_json::json!({
            "config": config_path.display().to_string(),
            "key": key_path.display().to_string(),
            "address": address.to_string(),
            "peer_id": peer,
            "genesis": args.dir.join("genesis.json").display().to_string(),
            "genesis_present": genesis.is_some(),
        }),
    )
}

fn fail(path: &Path, e: std::io::Error) -> CliError {
    CliError::Failed(format!("cannot write {}: {e}", path.display()))
}

fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| fail(path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template with every commented-out `# key = value` line made live.
    fn everything_uncommented() -> String {
        config_text(
            "/ip4/0.0.0.0/tcp/26656",
            &"127.0.0.1:8080".parse().expect("addr"),
        )
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.split_once(" = ").is_some_and(|(k, _)| is_key(k)) => rest.to_owned(),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
    }

    fn is_key(word: &str) -> bool {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    #[test]
    fn the_written_config_parses_with_and_without_its_optional_keys() {
        let text = config_text(
            "/ip4/0.0.0.0/tcp/26656",
            &"127.0.0.1:8080".parse().expect("addr"),
        );
        crate::node_cmd::parse_config(&text).expect("the written config parses");
        crate::node_cmd::parse_config(&everything_uncommented())
            .expect("every optional key parses at its documented default");
    }

    #[test]
    fn every_key_jeon_node_accepts_is_in_the_template_and_in_docs_operations() {
        let keys = crate::node_cmd::config_keys();
        assert!(keys.len() >= 20, "{keys:?}");
        let docs = include_str!("../../docs/operations.md");
        let live = everything_uncommented();
        for key in keys {
            assert!(
                live.lines().any(|l| l.starts_with(&format!("{key} = "))),
                "config.toml template lacks {key}"
            );
            assert!(
                docs.contains(&format!("| `{key}` |")),
                "docs/operations.md's key table lacks {key}"
            );
        }
    }
}
