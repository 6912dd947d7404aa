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

use crate::error::CliError;
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

/// What `jeon dev` prints once the API is up: where everything is, and commands that
/// work as printed from any directory, with the address the API really bound to.
///
/// The commands name `--api` unless it is the default, and `--genesis` unless the
/// data directory is the default `.jeon-dev` in the working directory (where
/// `--wait` finds it by itself); the `export` line sets both for a whole shell.
fn banner(spec: &GenesisSpec, data: &Path, api: &SocketAddr, web: bool) -> String {
    let data_abs = std::path::absolute(data).unwrap_or_else(|_| data.to_owned());
    let key = |name: &str| key_path(&data_abs, name).display().to_string();
    let bob_addr = keyfile::read(&key_path(data, "bob")).map(|k| k.keypair.address().to_string());
    let bob_addr = bob_addr.unwrap_or_else(|_| "<bob's address>".into());
    let url = format!("http://{api}");
    let genesis = genesis_path(&data_abs).display().to_string();
    let mut flags = String::new();
    if url != crate::client::API_URL_DEFAULT {
        flags.push_str(&format!(" --api {url}"));
    }
    let web_line = if web {
        format!("web      {url}/  (explorer, wallet, partner dashboard)\n")
    } else {
        String::new()
    };
    let mut wait_flags = flags.clone();
    if data != Path::new(".jeon-dev") {
        wait_flags.push_str(&format!(" --genesis {genesis}"));
    }
    format!(
        "Jeon dev chain {name} (chain id {id})\n\
         API      {url}\n\
         {web_line}\
         data     {data}\n\
         genesis  {genesis}\n\
         keys     {keys}\n\
         \n\
         Try:\n  \
           jeon query status{flags}\n  \
           jeon tx transfer --key {alice} --to {bob_addr} --asset KRW --amount ₩500 --wait{wait_flags}\n  \
           jeon query account {bob_addr}{flags}\n\
         Or set them once for this shell:\n  \
           export JEON_API={url} JEON_GENESIS={genesis}\n",
        name = spec.chain_name,
        id = spec.hash(),
        data = data_abs.display(),
        keys = data_abs.join("keys").display(),
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
    let text = banner(&genesis, &args.data, &args.api, api_limits.web);
    let data_abs = std::path::absolute(&args.data).unwrap_or_else(|_| args.data.clone());
    let chain_id = genesis.hash();
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
        state_sync: false,
        discard_signer_state: args.service.discard.discard_signer_state,
        mempool,
    };
    run_node(config, move |node| {
        let text = text.replace(
            &format!("http://{}", args.api),
            &format!("http://{}", node.api_addr),
        );
        // With `--output json`, one line a script can read the bound address from.
        let json = serde_json::json!({
            "api": format!("http://{}", node.api_addr),
            "chain_id": chain_id,
            "data": data_abs.display().to_string(),
            "genesis": genesis_path(&data_abs).display().to_string(),
            "keys": data_abs.join("keys").display().to_string(),
        });
        let _ = crate::output::either(&text, &json);
    })
}
