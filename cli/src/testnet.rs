//! `jeon testnet`: N validator processes on loopback, one per partner.
//!
//! The first start writes a `local<N>` genesis, the partners' keys, and one config
//! file per node into the directory (default `./.jeon-testnet`); later starts reuse
//! them, so the chain survives restarts. Each node is a separate `jeon node` process
//! with its own data directory, API port and p2p port, logging to `node-<i>/node.log`.
//! Ctrl-C stops them all (SIGTERM, then SIGKILL after 3 s); the exit code is 0, or 1
//! if a node had exited on its own before (each exit is reported as it happens).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use jeon_genesis::{peer_id_of, GenesisSpec, Preset};

use crate::error::CliError;

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
         # A loopback test chain: its keys are plaintext (never do this with real value).\n\
         insecure_plaintext_key = true\n\
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
    let mut nodes = Vec::new();
    let mut lines = format!(
        "Jeon testnet {} (chain id {})\n",
        spec.chain_name,
        spec.hash()
    );
    for (i, v) in spec.validators.iter().enumerate() {
        match spawn_node(&args.dir, i) {
            Ok(child) => children.push(child),
            Err(e) => {
                // The nodes already started must not outlive the command.
                stop_all(&mut children);
                return Err(e);
            }
        }
        let config =
            std::fs::read_to_string(node_dir(&args.dir, i).join("config.toml")).unwrap_or_default();
        let api = config
            .lines()
            .find_map(|l| l.strip_prefix("api = \"").and_then(|r| r.strip_suffix('"')))
            .unwrap_or("?")
            .to_owned();
        let peer = peer_id_of(&v.key);
        let log = node_dir(&args.dir, i)
            .join("node.log")
            .display()
            .to_string();
        lines.push_str(&format!(
            "node {i}  {name:<20} API http://{api}  peer {peer}  log {log}\n",
            name = v.name,
        ));
        nodes.push(serde_json::json!({
            "node": i,
            "name": v.name,
            "api": format!("http://{api}"),
            "peer_id": peer,
            "log": log,
        }));
    }
    lines.push_str("Ctrl-C stops all nodes.\n");
    crate::output::either(&lines, &serde_json::json!({ "nodes": nodes }))?;
    let result = supervise(&mut children);
    stop_all(&mut children);
    result
}

/// How often the supervisor looks for nodes that exited on their own.
const SUPERVISE_POLL_MS: u64 = 500;
/// How long stopping nodes get to shut down cleanly before they are killed.
const STOP_GRACE_MS: u64 = 3_000;
/// How often a stop checks whether the nodes are gone.
const STOP_POLL_MS: u64 = 100;

/// Waits for Ctrl-C (or SIGTERM); reports nodes that exit on their own. Fails if one
/// did (exit 1), or at once if all did.
fn supervise(children: &mut [Child]) -> Result<(), CliError> {
    let rt = crate::node_cmd::runtime()?;
    let mut exited = vec![false; children.len()];
    rt.block_on(async {
        let signal = crate::node_cmd::shutdown_signal();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                () = &mut signal => return,
                () = tokio::time::sleep(Duration::from_millis(SUPERVISE_POLL_MS)) => {}
            }
            for (i, child) in children.iter_mut().enumerate() {
                if let (false, Ok(Some(status))) = (exited[i], child.try_wait()) {
                    exited[i] = true;
                    eprintln!("node {i} exited: {status}; see its node.log");
                }
            }
            if exited.iter().all(|e| *e) {
                return;
            }
        }
    });
    let gone: Vec<usize> = (0..exited.len()).filter(|i| exited[*i]).collect();
    match gone.len() {
        0 => Ok(()),
        n if n == children.len() => Err(CliError::Failed(
            "every node exited; see their node.log".into(),
        )),
        _ => Err(CliError::Failed(format!(
            "node(s) {gone:?} exited before the testnet was stopped; see their node.log"
        ))),
    }
}

/// Whether a child is gone, reaping it if it just exited. An error (it was reaped
/// elsewhere) counts as gone: its pid is no longer ours to signal.
fn gone(child: &mut Child) -> bool {
    !matches!(child.try_wait(), Ok(None))
}

/// Stops every node still running: SIGTERM to all at once, a moment to finish, then
/// SIGKILL. A child is signalled only while unreaped, so its pid is still its own
/// (exited but unreaped, it is a zombie holding the pid); a pid reaped earlier may
/// already belong to an unrelated process.
fn stop_all(children: &mut [Child]) {
    let mut running: Vec<&mut Child> = children
        .iter_mut()
        .filter_map(|c| (!gone(c)).then_some(c))
        .collect();
    for child in &running {
        terminate(child);
    }
    let deadline = Instant::now() + Duration::from_millis(STOP_GRACE_MS);
    while !running.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(STOP_POLL_MS));
        running.retain_mut(|c| !gone(c));
    }
    for child in running {
        // std's `kill` does nothing to a child it has already reaped.
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// SIGTERM, so the node shuts down cleanly (flushes, closes its API).
#[cfg(unix)]
fn terminate(child: &Child) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

/// Elsewhere there is no gentle signal: the grace period passes and `kill` follows.
#[cfg(not(unix))]
fn terminate(_child: &Child) {}
