//! `jeon dev`: a one-validator chain with the demo consortium, in one command.
//!
//! The first start writes the dev preset's genesis and fresh keys into the data
//! directory (default `./.jeon-dev`); later starts reuse them, so the chain and its
//! balances survive restarts. The validator's signer record is in `DATA/signer/`:
//! deleting `DATA/db` alone leaves a validator that refuses to sign the lost heights
//! again (docs/consensus.md §6).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

use jeon_genesis::{keyfile, GenesisSpec, Preset};
use jeon_node::replica::ReplicaConfig;
use jeon_node::run::{NodeConfig, StorageOptions};

use crate::error::{stdout, CliError};
use crate::genesis_cmd::load as load_genesis;
use crate::node_cmd::{
    init_logging, load_key, run_node, ApiLimitArgs, ServiceArgs, API_ADDR_DEFAULT,
};

/// `jeon dev`.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// The data directory: genesis, keys and database.
    #[arg(long, value_name = "DIR", default_value = ".jeon-dev")]
    data: PathBuf,
    /// The API listen address.
    #[arg(long, value_name = "ADDR", default_value = API_ADDR_DEFAULT)]
    api: SocketAddr,
    #[command(flatten)]
    service: ServiceArgs,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long)]
    log_json: bool,
}

fn genesis_path(data: &Path) -> PathBuf {
    data.join("genesis.json")
}

fn key_path(data: &Path, name: &str) -> PathBuf {
    data.join("keys").join(format!("{name}.json"))
}

/// Writes the dev preset's genesis and keys on first start.
fn init_data_dir(data: &Path) -> Result<(), CliError> {
    let keys_dir = data.join("keys");
    crate::genesis_cmd::create(Preset::Dev, Some(&genesis_path(data)), &keys_dir, None)?;
    Ok(())
}

fn banner(spec: &GenesisSpec, data: &Path, api: &SocketAddr) -> String {
    let key = |name: &str| key_path(data, name).display().to_string();
    let bob_addr = keyfile::read(&key_path(data, "bob")).map(|k| k.keypair.address().to_string());
    let bob_addr = bob_addr.unwrap_or_else(|_| "<bob's address>".into());
    format!(
        "Jeon dev chain {name} (chain id {id})\n\
         API      http://{api}\n\
         data     {data}\n\
         keys     {keys}\n\
         \n\
         Try:\n  \
           jeon query status\n  \
           jeon tx transfer --key {alice} --to {bob_addr} --asset KRW --amount 50000 --wait\n  \
           jeon query account {bob_addr}\n",
        name = spec.chain_name,
        id = spec.hash(),
        data = data.display(),
        keys = data.join("keys").display(),
        alice = key("alice"),
    )
}

/// Runs `jeon dev`.
pub(crate) fn run(args: DevArgs) -> Result<(), CliError> {
    init_logging(args.log_json);
    let api_limits = args
        .service
        .api_limits
        .resolve(&ApiLimitArgs::dev_defaults())?;
    if !genesis_path(&args.data).exists() {
        init_data_dir(&args.data)?;
    }
    let genesis = load_genesis(&genesis_path(&args.data))?;
    let validator = genesis
        .validators
        .first()
        .map(|v| v.name.clone())
        .ok_or_else(|| CliError::BadInput("the dev genesis has no validator".into()))?;
    let key = load_key(&key_path(&args.data, &validator))?;
    let mempool = args.service.mempool.config(None, None)?;
    let text = banner(&genesis, &args.data, &args.api);
    let config = NodeConfig {
        genesis,
        key: Some(key),
        data_dir: args.data.clone(),
        api_addr: args.api,
        api_limits,
        replica: ReplicaConfig::default(),
        p2p: None,
        // `jeon dev` is an archive node: every block stays.
        storage: StorageOptions::default(),
        discard_signer_state: args.service.discard.discard_signer_state,
        mempool,
    };
    run_node(config, move |node| {
        let text = text.replace(
            &format!("http://{}", args.api),
            &format!("http://{}", node.api_addr),
        );
        let _ = stdout(&text);
    })
}
