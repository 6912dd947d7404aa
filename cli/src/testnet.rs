//! `jeon testnet`: N validator processes on loopback, one per partner.
//!
//! The first start writes a `local<N>` genesis, the partners' keys, and one config
//! file per node into the directory (default `./.jeon-testnet`); later starts reuse
//! them, so the chain survives restarts. Each node is a separate `jeon node` process
//! with its own data directory, API port and p2p port, logging to `node-<i>/node.log`.
//! Ctrl-C stops them all.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Args;

use jeon_genesis::{peer_id_of, GenesisSpec, Preset};

use crate::error::{stdout, CliError};

/// `jeon testnet`.
#[derive(Debug, Args)]
pub(crate) struct TestnetArgs {
    /// How many validators (one partner each); fixed when the testnet is first made.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// The testnet's directory.
    #[arg(long, value_name = "DIR", default_value = ".jeon-testnet")]
    dir: PathBuf,
    /// Node i serves its API on this port + i (on 127.0.0.1).
    #[arg(long, default_value_t = 8180)]
    api_port: u16,
    /// Node i listens for peers on this port + i (on 127.0.0.1).
    #[arg(long, default_value_t = 26650)]
    p2p_port: u16,
}

/// The most validators a testnet on one machine may have.
const TESTNET_VALIDATORS_MAX: usize = 64;

fn node_dir(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("node-{i}"))
}

fn port(base: u16, i: usize) -> Result<u16, CliError> {
    u16::try_from(usize::from(base) + i)
        .map_err(|_| CliError::BadInput(format!("port {base} + {i} exceeds 65535")))
}

/// Writes one node's config (paths relative to the config's directory).
fn node_config(spec: &GenesisSpec, args: &TestnetArgs, i: usize) -> Result<String, CliError> {
    let me = &spec.validators[i];
    let peers: Vec<String> = spec
        .validators
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(j, v)| {
            Ok(format!(
                "\"/ip4/127.0.0.1/tcp/{}/p2p/{}\"",
                port(args.p2p_port, j)?,
                v.peer_id
            ))
        })
        .collect::<Result<_, CliError>>()?;
    Ok(format!(
        "# Node {i} of the testnet: validator {name}.\n\
         genesis = \"../genesis.json\"\n\
         key = \"../keys/{name}.json\"\n\
         data = \"data\"\n\
         api = \"127.0.0.1:{api}\"\n\
         p2p = \"/ip4/127.0.0.1/tcp/{p2p}\"\n\
         peers = [{peers}]\n",
        name = me.name,
        api = port(args.api_port, i)?,
        p2p = port(args.p2p_port, i)?,
        peers = peers.join(", "),
    ))
}

/// Makes the testnet directory on first start.
fn init(args: &TestnetArgs) -> Result<(), CliError> {
    if !(1..=TESTNET_VALIDATORS_MAX).contains(&args.validators) {
        let msg = format!(
            "--validators must be 1 to {TESTNET_VALIDATORS_MAX}, got {}",
            args.validators
        );
        return Err(CliError::BadInput(msg));
    }
    let preset = Preset::Local {
        validators: args.validators,
    };
    let created = crate::genesis_cmd::create(
        preset,
        Some(&args.dir.join("genesis.json")),
        &args.dir.join("keys"),
        None,
    )?;
    for i in 0..created.spec.validators.len() {
        let dir = node_dir(&args.dir, i);
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("config.toml");
        std::fs::write(&path, node_config(&created.spec, args, i)?)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

fn spawn_node(dir: &Path, i: usize) -> Result<Child, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the jeon binary: {e}")))?;
    let nd = node_dir(dir, i);
    let log_path = nd.join("node.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| CliError::Failed(format!("cannot open {}: {e}", log_path.display())))?;
    let err = log
        .try_clone()
        .map_err(|e| CliError::Failed(format!("cannot open {}: {e}", log_path.display())))?;
    Command::new(exe)
        .args(["node", "--config"])
        .arg(nd.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| CliError::Failed(format!("cannot start node {i}: {e}")))
}

/// Runs `jeon testnet`.
pub(crate) fn run(args: TestnetArgs) -> Result<(), CliError> {
    let genesis_path = args.dir.join("genesis.json");
    if !genesis_path.exists() {
        init(&args)?;
    }
    let spec = crate::genesis_cmd::load(&genesis_path)?;
    let mut children = Vec::with_capacity(spec.validators.len());
    let mut lines = format!(
        "Jeon testnet {} (chain id {})\n",
        spec.chain_name,
        spec.hash()
    );
    for (i, v) in spec.validators.iter().enumerate() {
        children.push(spawn_node(&args.dir, i)?);
        let config =
            std::fs::read_to_string(node_dir(&args.dir, i).join("config.toml")).unwrap_or_default();
        let api = config
            .lines()
            .find_map(|l| l.strip_prefix("api = \"").and_then(|r| r.strip_suffix('"')))
            .unwrap_or("?")
            .to_owned();
        lines.push_str(&format!(
            "node {i}  {name:<20} API http://{api}  peer {peer}  log {log}\n",
            name = v.name,
            peer = peer_id_of(&v.key),
            log = node_dir(&args.dir, i).join("node.log").display(),
        ));
    }
    lines.push_str("Ctrl-C stops all nodes.\n");
    stdout(&lines)?;
    let result = supervise(&mut children);
    for child in &mut children {
        stop(child);
    }
    result
}

/// Waits for Ctrl-C (or SIGTERM); reports nodes that exit on their own.
fn supervise(children: &mut [Child]) -> Result<(), CliError> {
    let rt = crate::node_cmd::runtime()?;
    rt.block_on(async {
        let mut exited = vec![false; children.len()];
        let signal = crate::node_cmd::shutdown_signal();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                () = &mut signal => return Ok(()),
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            for (i, child) in children.iter_mut().enumerate() {
                if let (false, Ok(Some(status))) = (exited[i], child.try_wait()) {
                    exited[i] = true;
                    eprintln!("node {i} exited: {status}; see its node.log");
                }
            }
        }
    })
}

/// SIGTERM, a moment to finish, then SIGKILL.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    {
        // Safe wrapper-free: `kill` the process by pid through the `kill` command, so
        // no unsafe code is needed for signals.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        for _ in 0..30 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
