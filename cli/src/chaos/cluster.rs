//! The cluster under test: a `local<N>` genesis and keys as `jeon testnet` makes
//! them, one `jeon node` process per validator whose peers are dialled through the
//! harness's [`Proxy`], and the operations perturbations are made of.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jeon_genesis::{GenesisSpec, Preset};

use super::manifest::{Direction, Network};
use super::proxy::{LinkParams, Proxy};
use crate::error::CliError;

/// Node ports come from here: below Linux's ephemeral range, and apart from the
/// range the end-to-end tests hand out (20000-32000).
const PORTS: std::ops::Range<u16> = 10_000..20_000;
/// How long a SIGTERM'd node gets before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(10);
/// The chain data a wipe moves aside (docs/storage.md: they move together).
const CHAIN_DATA: [&str; 3] = ["db", "blocks", "txindex"];
/// Where distributions put libfaketime (the multi-threaded build; `JEON_LIBFAKETIME`
/// names another).
const LIBFAKETIME: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/local/lib/faketime/libfaketimeMT.so.1",
];

/// The libfaketime library to preload, or why there is none.
pub(crate) fn libfaketime() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("JEON_LIBFAKETIME") {
        return Ok(PathBuf::from(p));
    }
    LIBFAKETIME
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "libfaketime is not installed (apt-get install faketime; looked in {LIBFAKETIME:?}, \
                 or set JEON_LIBFAKETIME)"
            )
        })
}

/// The running cluster; dropping it kills every node it started.
pub(crate) struct Cluster {
    dir: PathBuf,
    pub(crate) spec: GenesisSpec,
    api_ports: Vec<u16>,
    children: Vec<Option<Child>>,
    paused: Vec<bool>,
    proxy: Proxy,
    wipes: usize,
    /// Each node's clock offset in seconds while it runs under libfaketime.
    skew: Vec<Option<f64>>,
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let what = format!("{what} {}", path.display());
    move |e| CliError::Failed(format!("cannot {what}: {e}"))
}

/// `count` distinct loopback ports free now, from [`PORTS`], starting at an offset
/// from the process id so two harnesses on one machine start far apart.
fn free_ports(count: usize) -> Result<Vec<u16>, CliError> {
    let span = u32::from(PORTS.end - PORTS.start);
    let start = std::process::id().wrapping_mul(7_919) % span;
    let mut ports = Vec::with_capacity(count);
    for k in 0..span {
        if ports.len() == count {
            break;
        }
        let offset = u16::try_from((start + k) % span).unwrap_or(0);
        let port = PORTS.start + offset;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            ports.push(port);
        }
    }
    if ports.len() < count {
        return Err(CliError::Failed(format!(
            "fewer than {count} free loopback ports in {PORTS:?}"
        )));
    }
    Ok(ports)
}

impl Cluster {
    /// Writes the genesis, keys and node configs into `dir` and starts the proxy.
    pub(crate) fn create(
        dir: &Path,
        validators: usize,
        network: Option<&Network>,
    ) -> Result<Cluster, CliError> {
        let created = crate::genesis_cmd::create(
            Preset::Local { validators },
            Some(&dir.join("genesis.json")),
            &dir.join("keys"),
            None,
        )?;
        let ports = free_ports(validators * 2)?;
        let (api_ports, p2p_ports) = ports.split_at(validators);
        let params = |i, j| network.map_or(LinkParams::default(), |n| n.params(i, j));
        let proxy = Proxy::start(p2p_ports, params, network.map_or(0, |n| n.seed))?;
        let spec = created.spec;
        for (i, me) in spec.validators.iter().enumerate() {
            let mut peers = Vec::new();
            for (j, v) in spec.validators.iter().enumerate().filter(|(j, _)| *j != i) {
                let port = proxy
                    .port(i, j)
                    .ok_or_else(|| CliError::Failed(format!("no proxy link {i} -> {j}")))?;
                peers.push(format!("\"/ip4/127.0.0.1/tcp/{port}/p2p/{}\"", v.peer_id));
            }
            let nd = dir.join(format!("node-{i}"));
            std::fs::create_dir_all(&nd).map_err(io("create", &nd))?;
            let config = format!(
                "# Chaos node {i}: validator {name}; peers are dialled through the harness's proxy.\n\
                 genesis = \"../genesis.json\"\nkey = \"../keys/{name}.json\"\ninsecure_plaintext_key = true\ndata = \"data\"\n\
                 api = \"127.0.0.1:{api}\"\np2p = \"/ip4/127.0.0.1/tcp/{p2p}\"\npeers = [{peers}]\n",
                name = me.name,
                api = api_ports.get(i).copied().unwrap_or(0),
                p2p = p2p_ports.get(i).copied().unwrap_or(0),
                peers = peers.join(", "),
            );
            let path = nd.join("config.toml");
            std::fs::write(&path, config).map_err(io("write", &path))?;
        }
        Ok(Cluster {
            dir: dir.to_owned(),
            spec,
            api_ports: api_ports.to_vec(),
            children: (0..validators).map(|_| None).collect(),
            paused: vec![false; validators],
            proxy,
            wipes: 0,
            skew: vec![None; validators],
        })
    }

    /// How many nodes.
    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    /// Node i's API URL.
    pub(crate) fn api(&self, i: usize) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.api_ports.get(i).copied().unwrap_or(0)
        )
    }

    /// Node i's directory.
    pub(crate) fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}"))
    }

    /// The key file of the first partner (the bank, which holds the KRW float).
    pub(crate) fn funder_key(&self) -> Option<PathBuf> {
        let v = self.spec.validators.first()?;
        Some(self.dir.join("keys").join(format!("{}.json", v.name)))
    }

    /// Starts node i (`jeon node --config … --log-json`, log appended to node.log).
    pub(crate) fn start(&mut self, i: usize) -> Result<(), CliError> {
        let exe = std::env::current_exe()
            .map_err(|e| CliError::Failed(format!("cannot find the jeon binary: {e}")))?;
        let nd = self.node_dir(i);
        let log_path = nd.join("node.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("open", &log_path))?;
        let err = log.try_clone().map_err(io("open", &log_path))?;
        let mut cmd = Command::new(exe);
        cmd.args(["node", "--log-json", "--config"])
            .arg(nd.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        if let Some(offset) = self.skew.get(i).copied().flatten() {
            // Only the wall clock moves: timers run on the monotonic one.
            let lib = libfaketime().map_err(CliError::Failed)?;
            cmd.env("LD_PRELOAD", lib)
                .env("FAKETIME", format!("{offset:+}"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        let child = cmd
            .spawn()
            .map_err(|e| CliError::Failed(format!("cannot start node {i}: {e}")))?;
        if let Some(slot) = self.children.get_mut(i) {
            *slot = Some(child);
        }
        Ok(())
    }

    /// Whether node i's process is still running (false once it exited by itself).
    pub(crate) fn running(&mut self, i: usize) -> bool {
        match self.children.get_mut(i) {
            Some(Some(child)) => matches!(child.try_wait(), Ok(None)),
            _ => false,
        }
    }

    /// kill -9 and reap.
    pub(crate) fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children.get_mut(i).and_then(Option::take) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(p) = self.paused.get_mut(i) {
            *p = false;
        }
    }

    /// SIGTERM, wait for a clean exit, SIGKILL after [`TERM_GRACE`].
    pub(crate) fn terminate(&mut self, i: usize) {
        let Some(mut child) = self.children.get_mut(i).and_then(Option::take) else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            signal(&child, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + TERM_GRACE;
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`).
    pub(crate) fn pause(&mut self, i: usize, stop: bool) {
        if let Some(Some(child)) = self.children.get(i) {
            let sig = if stop {
                nix::sys::signal::Signal::SIGSTOP
            } else {
                nix::sys::signal::Signal::SIGCONT
            };
            signal(child, sig);
            if let Some(p) = self.paused.get_mut(i) {
                *p = stop;
            }
        }
    }

    /// Moves node i's chain data (db/, blocks/, txindex/) into `wiped-<k>/`, keeping
    /// its signer record; the node must be stopped.
    pub(crate) fn wipe(&mut self, i: usize) -> Result<(), CliError> {
        self.wipes += 1;
        let data = self.node_dir(i).join("data");
        let aside = self.node_dir(i).join(format!("wiped-{}", self.wipes));
        std::fs::create_dir_all(&aside).map_err(io("create", &aside))?;
        for name in CHAIN_DATA {
            let from = data.join(name);
            if from.exists() {
                std::fs::rename(&from, aside.join(name)).map_err(io("move", &from))?;
            }
        }
        Ok(())
    }

    /// Cuts (or heals) node i's links in `direction`.
    pub(crate) fn cut(&self, i: usize, direction: Direction, cut: bool) {
        for j in (0..self.len()).filter(|j| *j != i) {
            if matches!(direction, Direction::Both | Direction::Outbound) {
                self.proxy.set_cut(i, j, cut);
            }
            if matches!(direction, Direction::Both | Direction::Inbound) {
                self.proxy.set_cut(j, i, cut);
            }
        }
    }

    /// Blocks (or unblocks) the bytes between `side` and the other nodes in
    /// `direction` (`outbound`: from `side` to the rest; `inbound`: the reverse).
    pub(crate) fn partition(&self, side: &[usize], direction: Direction, blocked: bool) {
        for i in side {
            for j in (0..self.len()).filter(|j| !side.contains(j)) {
                if matches!(direction, Direction::Both | Direction::Outbound) {
                    self.proxy.set_blocked(*i, j, blocked);
                }
                if matches!(direction, Direction::Both | Direction::Inbound) {
                    self.proxy.set_blocked(j, *i, blocked);
                }
            }
        }
    }

    /// Emulates every link to and from node i with `link` (or its own again: `None`).
    pub(crate) fn set_latency(&self, i: usize, link: Option<LinkParams>) {
        for j in (0..self.len()).filter(|j| *j != i) {
            self.proxy.set_params(i, j, link);
            self.proxy.set_params(j, i, link);
        }
    }

    /// Restarts node i with its wall clock moved by `offset_secs` (`None`: the true
    /// clock). Needs libfaketime.
    pub(crate) fn restart_skewed(
        &mut self,
        i: usize,
        offset_secs: Option<f64>,
    ) -> Result<(), CliError> {
        if offset_secs.is_some() {
            libfaketime().map_err(CliError::Failed)?;
        }
        self.terminate(i);
        if let Some(s) = self.skew.get_mut(i) {
            *s = offset_secs;
        }
        self.start(i)
    }

    /// Heals every link, resumes every paused node.
    pub(crate) fn heal_all(&mut self) {
        self.proxy.reset_emulation();
        for i in 0..self.len() {
            self.cut(i, Direction::Both, false);
            if self.paused.get(i) == Some(&true) {
                self.pause(i, false);
            }
        }
    }

    /// Stops every node: SIGCONT to paused ones, SIGTERM, then SIGKILL.
    pub(crate) fn stop_all(&mut self) {
        for i in 0..self.len() {
            if self.paused.get(i) == Some(&true) {
                self.pause(i, false);
            }
        }
        for i in 0..self.len() {
            self.terminate(i);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.len() {
            if self.paused.get(i) == Some(&true) {
                self.pause(i, false);
            }
            self.kill(i);
        }
        self.proxy.stop();
    }
}

/// Signals a child we have not reaped (so its pid is still its own).
fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
    }
}
