//! The four-partner consortium under faults: real `jeon node` processes on loopback,
//! killed with SIGKILL, restarted, approached by a stranger and partitioned, must keep
//! finalizing one chain (CometBFT-e2e style: afterwards every node has the same blocks
//! and app hashes).
//!
//! Every process a test starts is killed when its [`Testnet`] drops, panic or not; on
//! a failure the tail of each node's log is printed and its directory kept.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{
    chain_id, free_port, get, jeon, key_from_file, metric, post, transfer, tx_hex,
};
use jeon_runtime::Hash;
use serde_json::{json, Value};

/// The validators of the `local4` preset.
const VALIDATORS: usize = 4;
/// Short empty blocks keep heights moving fast (the default is 1 s).
const EMPTY_BLOCK_INTERVAL_MS: u64 = 300;
/// From spawn to a serving API, and from then to the first final blocks.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// For the nodes to finalize a few more blocks.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(20);
/// For a restarted node to sync up to the others.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);
/// "Making progress" means this many more final blocks.
const PROGRESS_BLOCKS: u64 = 3;
/// Log lines of each node printed when a test fails.
const LOG_TAIL_LINES: usize = 40;

/// How nodes reach each other.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Links {
    /// Each dials the others' p2p ports.
    Direct,
    /// Node i reaches node j only through the [`Proxy`] link i -> j.
    Proxied,
}

/// One `jeon node` process and its directory (config, data, log).
struct Node {
    dir: PathBuf,
    api: String,
    child: Option<Child>,
    /// Extra environment (`JEON_BYZANTINE` for a misbehaving validator).
    env: Vec<(&'static str, &'static str)>,
}

impl Node {
    fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    /// Spawns the process, its stdout and stderr appended to `node.log`.
    fn spawn(&mut self) {
        assert!(
            self.child.is_none(),
            "{} is already running",
            self.dir.display()
        );
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open node.log");
        let err = log.try_clone().expect("clone the log handle");
        let child = jeon()
            .args(["node", "--config"])
            .arg(self.dir.join("config.toml"))
            .env("RUST_LOG", log_filter())
            .env("NO_COLOR", "1")
            .envs(self.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn jeon node");
        self.child = Some(child);
    }

    /// Waits until the API answers; panics if the process dies first.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if get(&self.api, "/v1/status").is_some() {
                return;
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("{} exited before serving: {status}", self.dir.display());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not serve within {START_TIMEOUT:?}",
            self.dir.display()
        );
    }

    /// `kill -9`, then reap.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    fn height(&self) -> Option<u64> {
        self.child.as_ref()?;
        get(&self.api, "/v1/status")?["height"].as_u64()
    }

    fn metric(&self, name: &str) -> Option<f64> {
        metric(&self.api, name)
    }

    /// The final block at `height`: (block hash, header app hash), if the node has it.
    fn block(&self, height: u64) -> Option<(String, String)> {
        let b = get(&self.api, &format!("/v1/blocks/{height}"))?;
        let hash = b["hash"].as_str()?.to_owned();
        let app_hash = b["header"]["app_hash"].as_str()?.to_owned();
        Some((hash, app_hash))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

/// The nodes' log filter: `RUST_LOG` of the test run (to debug a failure), else `info`.
fn log_filter() -> String {
    std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A `local4` consortium in a temp dir: genesis, keys, one directory per node.
struct Testnet {
    /// Nodes 0..4 are the validators; an outsider, if added, comes after them.
    nodes: Vec<Node>,
    proxy: Option<Proxy>,
    validator_peer_ids: Vec<String>,
    validator_p2p_ports: Vec<u16>,
    dir: Option<tempfile::TempDir>,
}

impl Testnet {
    /// Writes genesis, keys and configs (nothing runs yet).
    fn new(links: Links) -> Testnet {
        let dir = tempfile::Builder::new()
            .prefix("jeon-consortium-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().to_owned();
        let out = jeon()
            .args(["genesis", "new", "--preset", "local4", "--out"])
            .arg(root.join("genesis.json"))
            .output()
            .expect("run jeon genesis new");
        assert!(
            out.status.success(),
            "jeon genesis new: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let genesis: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("genesis.json")).expect("read genesis"),
        )
        .expect("genesis is JSON");
        let validators = genesis["validators"].as_array().expect("validators");
        assert_eq!(validators.len(), VALIDATORS, "local4 has four validators");
        let names: Vec<String> = validators
            .iter()
            .map(|v| v["name"].as_str().expect("name").to_owned())
            .collect();
        let peer_ids: Vec<String> = validators
            .iter()
            .map(|v| v["peer_id"].as_str().expect("peer_id").to_owned())
            .collect();
        let p2p_ports: Vec<u16> = (0..VALIDATORS).map(|_| free_port()).collect();
        let proxy = (links == Links::Proxied).then(|| Proxy::start(&p2p_ports));
        let mut net = Testnet {
            nodes: Vec::new(),
            proxy,
            validator_peer_ids: peer_ids,
            validator_p2p_ports: p2p_ports,
            dir: Some(dir),
        };
        for (i, name) in names.iter().enumerate() {
            let peers: Vec<String> = (0..VALIDATORS)
                .filter(|j| *j != i)
                .map(|j| net.peer_addr(i, j))
                .collect();
            let key = format!("../keys/{name}.json");
            net.add_node(&key, net.validator_p2p_ports[i], &peers);
        }
        net
    }

    fn root(&self) -> &Path {
        self.dir.as_ref().expect("the testnet dir").path()
    }

    /// How node `i` reaches validator `j`: directly, or through the proxy link i -> j.
    fn peer_addr(&self, i: usize, j: usize) -> String {
        let port = match &self.proxy {
            Some(proxy) => proxy.port(i, j),
            None => self.validator_p2p_ports[j],
        };
        format!(
            "/ip4/127.0.0.1/tcp/{port}/p2p/{}",
            self.validator_peer_ids[j]
        )
    }

    /// Writes `node-<i>/config.toml` for the next node; returns its index.
    fn add_node(&mut self, key: &str, p2p_port: u16, peers: &[String]) -> usize {
        let i = self.nodes.len();
        let dir = self.root().join(format!("node-{i}"));
        std::fs::create_dir_all(&dir).expect("create the node dir");
        let api_port = free_port();
        let peers: Vec<String> = peers.iter().map(|p| format!("\"{p}\"")).collect();
        let config = format!(
            "genesis = \"../genesis.json\"\n\
             key = \"{key}\"\n\
             insecure_plaintext_key = true\n\
             data = \"data\"\n\
             api = \"127.0.0.1:{api_port}\"\n\
             p2p = \"/ip4/127.0.0.1/tcp/{p2p_port}\"\n\
             peers = [{peers}]\n\
             empty_block_interval_ms = {EMPTY_BLOCK_INTERVAL_MS}\n",
            peers = peers.join(", "),
        );
        std::fs::write(dir.join("config.toml"), config).expect("write config.toml");
        self.nodes.push(Node {
            dir,
            api: format!("http://127.0.0.1:{api_port}"),
            child: None,
            env: Vec::new(),
        });
        i
    }

    /// A fifth node with a fresh key (`jeon keys new`) that is in no genesis list; it
    /// dials the four validators directly.
    fn add_outsider(&mut self) -> usize {
        let key = self.root().join("keys").join("outsider.json");
        let out = jeon()
            .args(["keys", "new", "--out"])
            .arg(&key)
            .output()
            .expect("run jeon keys new");
        assert!(
            out.status.success(),
            "jeon keys new: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let peers: Vec<String> = (0..VALIDATORS)
            .map(|j| {
                let port = self.validator_p2p_ports[j];
                format!(
                    "/ip4/127.0.0.1/tcp/{port}/p2p/{}",
                    self.validator_peer_ids[j]
                )
            })
            .collect();
        self.add_node("../keys/outsider.json", free_port(), &peers)
    }

    fn api(&self, i: usize) -> &str {
        &self.nodes[i].api
    }

    /// Starts node `i` and waits until its API answers.
    fn start_node(&mut self, i: usize) {
        self.nodes[i].spawn();
        self.nodes[i].wait_ready();
    }

    /// Starts the validators together (so none waits long for the others).
    fn start_validators(&mut self) {
        for node in &mut self.nodes[..VALIDATORS] {
            node.spawn();
        }
        for node in &mut self.nodes[..VALIDATORS] {
            node.wait_ready();
        }
    }

    fn kill(&mut self, i: usize) {
        self.nodes[i].kill9();
    }

    /// The head height of each node in `nodes` (`None`: down or unreachable).
    fn heights(&self, nodes: &[usize]) -> BTreeMap<usize, Option<u64>> {
        nodes.iter().map(|&i| (i, self.nodes[i].height())).collect()
    }

    /// Heights that every node in `nodes` has reported; panics naming a silent one.
    fn known_heights(&self, nodes: &[usize]) -> BTreeMap<usize, u64> {
        self.heights(nodes)
            .into_iter()
            .map(|(i, h)| (i, h.unwrap_or_else(|| panic!("node {i} does not answer"))))
            .collect()
    }

    /// Waits until every node in `nodes` is at `target(i)` or above.
    fn wait_heights(
        &self,
        nodes: &[usize],
        target: impl Fn(usize) -> u64,
        timeout: Duration,
        what: &str,
    ) {
        let started = Instant::now();
        let reached = crate::common::wait_until(timeout, || {
            nodes
                .iter()
                .all(|&i| self.nodes[i].height().is_some_and(|h| h >= target(i)))
        });
        let targets: BTreeMap<usize, u64> = nodes.iter().map(|&i| (i, target(i))).collect();
        assert!(
            reached,
            "{what}: not reached within {timeout:?}; heights {:?}, targets {targets:?}",
            self.heights(nodes)
        );
        eprintln!("{what}: reached in {:?}", started.elapsed());
    }

    /// Waits until every node in `nodes` has finalized `by` blocks beyond `from`.
    fn wait_growth(&self, nodes: &[usize], from: &BTreeMap<usize, u64>, by: u64, what: &str) {
        self.wait_heights(nodes, |i| from[&i] + by, PROGRESS_TIMEOUT, what);
    }

    /// Waits until the validators are finalizing (each has a few blocks).
    fn wait_finalizing(&self) {
        let all: Vec<usize> = (0..VALIDATORS).collect();
        self.wait_heights(&all, |_| PROGRESS_BLOCKS, START_TIMEOUT, "first blocks");
    }

    /// No fork: at every height up to the highest head, all nodes of `nodes` that have
    /// a block there have the same one (same hash and app hash). Returns the number of
    /// heights every one of them has.
    fn assert_no_fork(&self, nodes: &[usize]) -> u64 {
        let heights = self.known_heights(nodes);
        let top = heights.values().copied().max().unwrap_or(0);
        let common = heights.values().copied().min().unwrap_or(0);
        for h in 1..=top {
            let blocks: BTreeMap<usize, (String, String)> = nodes
                .iter()
                .filter_map(|&i| self.nodes[i].block(h).map(|b| (i, b)))
                .collect();
            let mut distinct: Vec<&(String, String)> = blocks.values().collect();
            distinct.dedup();
            assert!(
                distinct.len() <= 1,
                "fork at height {h}: (hash, app hash) per node {blocks:#?}"
            );
            if h <= common {
                assert_eq!(
                    blocks.len(),
                    nodes.len(),
                    "height {h} is at or below every head {heights:?}, yet only nodes {:?} serve it",
                    blocks.keys().collect::<Vec<_>>()
                );
            }
        }
        common
    }

    /// One chain: every node in `nodes` has every block up to the lowest head, and they
    /// agree on each block's hash and app hash.
    fn assert_same_chain(&self, nodes: &[usize]) {
        let common = self.assert_no_fork(nodes);
        assert!(common > 0, "no common final block among {nodes:?}");
        eprintln!("nodes {nodes:?} agree on blocks 1..={common}");
    }

    /// Waits until `p2p_peers_connected` of each node in `nodes` equals `peers`.
    fn wait_peers(&self, nodes: &[usize], peers: f64, what: &str) {
        let ok = crate::common::wait_until(PROGRESS_TIMEOUT, || {
            nodes
                .iter()
                .all(|&i| self.nodes[i].metric("p2p_peers_connected") == Some(peers))
        });
        let seen: BTreeMap<usize, Option<f64>> = nodes
            .iter()
            .map(|&i| (i, self.nodes[i].metric("p2p_peers_connected")))
            .collect();
        assert!(ok, "{what}: p2p_peers_connected {seen:?}, expected {peers}");
    }

    /// Appends `line` to node `i`'s config.toml.
    fn append_config(&self, i: usize, line: &str) {
        let path = self.nodes[i].dir.join("config.toml");
        let mut text = std::fs::read_to_string(&path).expect("read config.toml");
        text.push_str(line);
        std::fs::write(&path, text).expect("write config.toml");
    }

    /// Node `i` started from a state-synced checkpoint: it never held block 1 (no
    /// replay from genesis), its log says so, and from its first block to its head it
    /// agrees with node 0 on every block hash and app hash.
    fn assert_state_synced(&self, i: usize) {
        let node = &self.nodes[i];
        let log = std::fs::read_to_string(node.log_path()).unwrap_or_default();
        assert!(
            log.contains("state sync: started from a checkpoint"),
            "node {i} did not state-sync"
        );
        assert_eq!(node.block(1), None, "node {i} holds block 1: it replayed");
        let head = node.height().expect("its head");
        let first = (1..=head)
            .rev()
            .take_while(|h| node.block(*h).is_some())
            .last()
            .expect("it holds its head");
        assert!(first > 1, "node {i} starts at {first}");
        for h in first..=head {
            assert_eq!(node.block(h), self.nodes[0].block(h), "height {h}");
        }
        eprintln!("node {i} state-synced at height {first} and agrees on blocks {first}..={head}");
    }

    fn key(&self, name: &str) -> jeon_runtime::Keypair {
        key_from_file(&self.root().join("keys").join(format!("{name}.json")))
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill9();
        }
        if let Some(proxy) = &mut self.proxy {
            proxy.stop();
        }
        if std::thread::panicking() {
            for (i, node) in self.nodes.iter().enumerate() {
                eprintln!(
                    "---- node {i} log tail ({}) ----",
                    node.log_path().display()
                );
                eprintln!("{}", node.log_tail());
            }
            if let Some(dir) = self.dir.take() {
                eprintln!("---- testnet kept at {} ----", dir.keep().display());
            }
        }
    }
}

/// A TCP forwarder with one listener per ordered pair of validators (link i -> j
/// forwards to j's p2p port), each of which can be cut and healed.
struct Proxy {
    links: BTreeMap<(usize, usize), Arc<Link>>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// One direction of the proxy: node i's connections to node j.
struct Link {
    port: u16,
    target: u16,
    cut: AtomicBool,
    /// Both sockets of every connection forwarded so far (a cut shuts them down).
    live: Mutex<Vec<TcpStream>>,
}

/// How often a proxy listener checks whether to stop.
const PROXY_POLL: Duration = Duration::from_millis(5);

impl Proxy {
    /// Binds a listener per ordered pair; `targets[j]` is node j's p2p port.
    fn start(targets: &[u16]) -> Proxy {
        let stopping = Arc::new(AtomicBool::new(false));
        let mut links = BTreeMap::new();
        let mut threads = Vec::new();
        for i in 0..targets.len() {
            for (j, &target) in targets.iter().enumerate().filter(|(j, _)| *j != i) {
                let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy port");
                listener.set_nonblocking(true).expect("nonblocking");
                let link = Arc::new(Link {
                    port: listener.local_addr().expect("proxy addr").port(),
                    target,
                    cut: AtomicBool::new(false),
                    live: Mutex::new(Vec::new()),
                });
                links.insert((i, j), link.clone());
                let stopping = stopping.clone();
                threads.push(std::thread::spawn(move || {
                    link.accept_loop(&listener, &stopping)
                }));
            }
        }
        Proxy {
            links,
            stopping,
            threads,
        }
    }

    fn port(&self, i: usize, j: usize) -> u16 {
        self.links[&(i, j)].port
    }

    /// Closes node i's live connections to node j and refuses new ones until healed.
    fn cut(&self, i: usize, j: usize) {
        let link = &self.links[&(i, j)];
        let mut live = link.live.lock().expect("proxy lock");
        link.cut.store(true, Ordering::SeqCst);
        for stream in live.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn heal(&self, i: usize, j: usize) {
        self.links[&(i, j)].cut.store(false, Ordering::SeqCst);
    }

    /// Cuts (or heals) every link between the two groups, both ways.
    fn partition(&self, a: &[usize], b: &[usize], cut: bool) {
        for &i in a {
            for &j in b {
                for (from, to) in [(i, j), (j, i)] {
                    if cut {
                        self.cut(from, to);
                    } else {
                        self.heal(from, to);
                    }
                }
            }
        }
    }

    /// Stops the listeners and closes every forwarded connection.
    fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for link in self.links.values() {
            for stream in link.live.lock().expect("proxy lock").drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Link {
    fn accept_loop(&self, listener: &TcpListener, stopping: &AtomicBool) {
        while !stopping.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((inbound, _)) => self.forward(inbound),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(PROXY_POLL)
                }
                Err(_) => std::thread::sleep(PROXY_POLL),
            }
        }
    }

    /// Connects `inbound` to the target and pumps bytes both ways; while cut, drops it.
    fn forward(&self, inbound: TcpStream) {
        if self.cut.load(Ordering::SeqCst) {
            return; // accept and drop
        }
        let Ok(outbound) = TcpStream::connect(("127.0.0.1", self.target)) else {
            return; // the target is down: the dialer sees the connection close
        };
        let clones = (
            inbound.set_nonblocking(false),
            inbound.try_clone(),
            outbound.try_clone(),
        );
        let (Ok(()), Ok(in_copy), Ok(out_copy)) = clones else {
            return;
        };
        {
            // Checked again under the lock, so a cut racing this accept still closes it.
            let mut live = self.live.lock().expect("proxy lock");
            if self.cut.load(Ordering::SeqCst) {
                return;
            }
            for s in [&inbound, &outbound] {
                if let Ok(c) = s.try_clone() {
                    live.push(c);
                }
            }
        }
        std::thread::spawn(move || pump(inbound, out_copy));
        std::thread::spawn(move || pump(outbound, in_copy));
    }
}

/// Copies `from` to `to` until either side ends, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// Submits `count` transfers of 100 from alice to bob on `api`, nonces from `nonce`.
fn submit_transfers(net: &Testnet, api: &str, nonce: u64, count: u64) -> Vec<Hash> {
    let chain = chain_id(api);
    let alice = net.key("alice");
    let bob = net.key("bob").address();
    (nonce..nonce + count)
        .map(|n| {
            let tx = transfer(chain, &alice, n, bob, 100);
            let (code, body) = post(api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
            assert_eq!(code, 202, "transfer {n} refused: {body}");
            tx.hash()
        })
        .collect()
}

/// Waits until each of `txs` is final on each of `nodes`.
fn wait_final(net: &Testnet, nodes: &[usize], txs: &[Hash]) {
    let status = |i: usize, tx: &Hash| {
        crate::common::tx_status(net.api(i), tx).map_or(Value::Null, |s| s["status"].clone())
    };
    let ok = crate::common::wait_until(PROGRESS_TIMEOUT, || {
        nodes
            .iter()
            .all(|&i| txs.iter().all(|tx| status(i, tx) == "final"))
    });
    let seen: Vec<(usize, String, Value)> = nodes
        .iter()
        .flat_map(|&i| txs.iter().map(move |tx| (i, tx.to_string(), status(i, tx))))
        .collect();
    assert!(ok, "transfers not final everywhere: {seen:?}");
}

fn ids(range: std::ops::Range<usize>) -> Vec<usize> {
    range.collect()
}

#[test]
fn a_validator_killed_with_sigkill_leaves_three_finalizing_and_catches_up_on_restart() {
    let started = Instant::now();
    let mut net = Testnet::new(Links::Direct);
    net.start_validators();
    net.wait_finalizing();
    let all = ids(0..VALIDATORS);
    let before = submit_transfers(&net, net.api(0), 0, 3);
    wait_final(&net, &all, &before);

    let victim = VALIDATORS - 1;
    let rest = ids(0..victim);
    net.kill(victim);
    let at_kill = net.known_heights(&rest);
    net.wait_growth(
        &rest,
        &at_kill,
        PROGRESS_BLOCKS,
        "three finalize without the fourth",
    );
    let during = submit_transfers(&net, net.api(0), 3, 2);
    wait_final(&net, &rest, &during);

    net.start_node(victim);
    let others = net.known_heights(&rest);
    let head = others.values().copied().max().unwrap_or(0);
    net.wait_heights(
        &[victim],
        |_| head,
        CATCH_UP_TIMEOUT,
        "the restarted node catches up",
    );
    // It keeps following once caught up, and everyone has both rounds of transfers.
    let now = net.known_heights(&all);
    net.wait_growth(&all, &now, 1, "all four finalize after the restart");
    let everything: Vec<Hash> = before.into_iter().chain(during).collect();
    wait_final(&net, &all, &everything);
    net.assert_same_chain(&all);
    // A wallet checks a transfer itself: the proof from any node verifies against the
    // genesis alone (four validators' certificate), and a forged amount does not.
    let genesis = net.root().join("genesis.json");
    for node in [0, victim] {
        let (answer, _, out) = crate::proof_check::fetch_and_verify(
            net.api(node),
            &everything[0],
            &genesis,
            net.root(),
        );
        let verified = crate::proof_check::verified(&out);
        // More than 2/3 of four validators of power 1 signed.
        assert!(verified["signed_power"].as_u64() >= Some(3), "{verified}");
        assert_eq!(verified["total_power"], 4, "{verified}");
        let forged = net.root().join(format!("forged-{node}.json"));
        std::fs::write(
            &forged,
            crate::proof_check::with_amount_raised(&answer).to_string(),
        )
        .expect("write");
        assert_eq!(
            crate::proof_check::verify(&forged, &genesis).status.code(),
            Some(1)
        );
    }
    eprintln!("kill -9 and catch-up: {:?}", started.elapsed());
}

#[test]
fn a_node_with_an_unlisted_key_cannot_connect_and_the_four_are_unaffected() {
    let started = Instant::now();
    let mut net = Testnet::new(Links::Direct);
    net.start_validators();
    net.wait_finalizing();
    let four = ids(0..VALIDATORS);
    net.wait_peers(&four, 3.0, "the four form a full mesh");
    let refused_before: BTreeMap<usize, f64> = four
        .iter()
        .map(|&i| {
            (
                i,
                net.nodes[i]
                    .metric("p2p_connections_refused")
                    .unwrap_or(0.0),
            )
        })
        .collect();

    let outsider = net.add_outsider();
    net.start_node(outsider);
    let at_join = net.known_heights(&four);
    // Watch the whole time: no validator may ever count the outsider as a peer (a
    // fourth one), and the outsider must never receive a block. The outsider's own
    // peer count is not sampled here: its side of a dial completes the handshake, so it
    // counts the validator for the moment until the validator's refusal closes the
    // connection, and a sample can land in that moment. It is checked below, once the
    // refusals have happened, for the state it settles in.
    let mut four_peers_max = 0.0_f64;
    let mut outsider_height_max = 0;
    let mut samples = 0;
    let done = crate::common::wait_until(PROGRESS_TIMEOUT, || {
        let node = &net.nodes[outsider];
        for &i in &four {
            four_peers_max =
                four_peers_max.max(net.nodes[i].metric("p2p_peers_connected").unwrap_or(0.0));
        }
        outsider_height_max = outsider_height_max.max(node.height().unwrap_or(0));
        samples += 1;
        let refused = four.iter().all(|&i| {
            net.nodes[i]
                .metric("p2p_connections_refused")
                .unwrap_or(0.0)
                > refused_before[&i]
        });
        let grown = net
            .heights(&four)
            .iter()
            .all(|(i, h)| h.is_some_and(|h| h >= at_join[i] + PROGRESS_BLOCKS));
        refused && grown
    });
    let refused_after: BTreeMap<usize, Option<f64>> = four
        .iter()
        .map(|&i| (i, net.nodes[i].metric("p2p_connections_refused")))
        .collect();
    assert!(
        done,
        "refusals {refused_before:?} -> {refused_after:?}; heights {at_join:?} -> {:?}",
        net.heights(&four)
    );
    eprintln!(
        "outsider watched over {samples} samples; refusals {refused_before:?} -> {refused_after:?}"
    );
    assert_eq!(
        four_peers_max, 3.0,
        "a validator counted the outsider as a connected peer"
    );
    // The stable state: with every validator refusing it, the outsider holds no
    // connection (between its backoff's redials, 1 s then up to 10 s apart).
    let settled = crate::common::wait_until(PROGRESS_TIMEOUT, || {
        net.nodes[outsider].metric("p2p_peers_connected") == Some(0.0)
    });
    assert!(
        settled,
        "the outsider still counts a connected peer: {:?}",
        net.nodes[outsider].metric("p2p_peers_connected")
    );
    assert_eq!(outsider_height_max, 0, "the outsider received blocks");
    assert_eq!(net.nodes[outsider].height(), Some(0));
    net.wait_peers(&four, 3.0, "the four stay connected to each other");
    net.assert_same_chain(&four);
    eprintln!("unlisted key refused: {:?}", started.elapsed());
}

#[test]
fn all_four_killed_at_once_resume_finalizing_on_one_chain() {
    let started = Instant::now();
    let mut net = Testnet::new(Links::Direct);
    net.start_validators();
    net.wait_finalizing();
    let all = ids(0..VALIDATORS);
    let before = net.known_heights(&all);
    for i in all.clone() {
        net.kill(i);
    }
    let head = before.values().copied().max().unwrap_or(0);
    net.start_validators();
    let restarted = net.known_heights(&all);
    eprintln!("heights before the kill {before:?}, after the restart {restarted:?}");
    net.wait_heights(
        &all,
        |_| head + PROGRESS_BLOCKS,
        PROGRESS_TIMEOUT,
        "finality beyond the pre-restart head",
    );
    net.assert_same_chain(&all);
    eprintln!("full restart: {:?}", started.elapsed());
}

#[test]
fn a_two_two_partition_stops_finality_without_a_fork_and_healing_resumes_it() {
    let started = Instant::now();
    let mut net = Testnet::new(Links::Proxied);
    net.start_validators();
    net.wait_finalizing();
    let all = ids(0..VALIDATORS);
    net.wait_peers(
        &all,
        3.0,
        "every node is connected to the other three via the proxy",
    );
    let proxy = net.proxy.as_ref().expect("a proxied testnet");
    let (left, right) = ([0, 1], [2, 3]);

    proxy.partition(&left, &right, true);
    let at_cut = net.known_heights(&all);
    let cut_at = Instant::now();
    net.wait_peers(&all, 1.0, "each side only sees its partner");
    let hold = Duration::from_secs(4);
    std::thread::sleep(hold.saturating_sub(cut_at.elapsed()));
    let after_hold = net.known_heights(&all);
    for i in &all {
        assert!(
            after_hold[i] <= at_cut[i] + 1,
            "node {i} finalized during the partition: heights {at_cut:?} -> {after_hold:?}"
        );
    }
    net.assert_no_fork(&all);

    let proxy = net.proxy.as_ref().expect("a proxied testnet");
    proxy.partition(&left, &right, false);
    let healed_at = Instant::now();
    net.wait_growth(
        &all,
        &after_hold,
        PROGRESS_BLOCKS,
        "finality resumes after healing",
    );
    eprintln!("finality resumed {:?} after healing", healed_at.elapsed());
    net.assert_same_chain(&all);
    eprintln!("partition and heal: {:?}", started.elapsed());
}

/// Signs a governance call from `key` with `nonce` and submits it to `api`.
fn submit_call(
    api: &str,
    chain: Hash,
    key: &jeon_runtime::Keypair,
    nonce: u64,
    call: jeon_runtime::Call,
) -> Hash {
    let tx = jeon_runtime::TxBody {
        chain_id: chain,
        sender: key.address(),
        nonce,
        fee_limit: jeon_genesis::presets::BASE_FEE_MAX,
        expiry: 1_000_000,
        call,
        fee_payer: None,
    }
    .sign(key);
    let (code, body) = post(api, "/v1/txs", &json!({ "tx": tx_hex(&tx) }));
    assert!(code < 300, "submit: {code} {body}");
    tx.hash()
}

/// The final status of `tx` on `api`, once it has one.
fn final_status(api: &str, tx: &Hash) -> Value {
    let mut last = None;
    let done = crate::common::wait_until(PROGRESS_TIMEOUT, || {
        last = crate::common::tx_status(api, tx);
        last.as_ref().is_some_and(|s| s["status"] == "final")
    });
    assert!(done, "{tx} not final: {last:?}");
    last.unwrap_or_default()
}

#[test]
fn a_fifth_partner_added_by_vote_state_syncs_and_signs_then_one_of_the_four_is_removed_and_proofs_cross_both_changes(
) {
    use jeon_runtime::calls;
    use jeon_runtime::governance::Change;
    let started = Instant::now();
    let mut net = Testnet::new(Links::Direct);
    // The validators write a checkpoint every 10 blocks (3 s): the fifth starts from one.
    for i in 0..VALIDATORS {
        net.append_config(i, "state_sync_interval = 10\n");
    }
    net.start_validators();
    net.wait_finalizing();
    let four = ids(0..VALIDATORS);
    let genesis: Value = serde_json::from_str(
        &std::fs::read_to_string(net.root().join("genesis.json")).expect("read genesis"),
    )
    .expect("genesis is JSON");
    let names: Vec<String> = genesis["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_owned())
        .collect();
    let keys: Vec<jeon_runtime::Keypair> = names.iter().map(|n| net.key(n)).collect();
    let fifth = net.add_outsider();
    // It joins by state sync: the newest checkpoint from its peers, not genesis replay.
    net.append_config(fifth, "state_sync = true\n");
    let joiner = key_from_file(&net.root().join("keys").join("outsider.json"));
    let api = net.api(0).to_owned();
    let chain = chain_id(&api);

    // Validator 0 proposes the partner and the validator; 0, 1 and 2 (3 of 4) vote yes.
    let propose = |change: Change| {
        jeon_runtime::Call::Propose(calls::Propose {
            change,
            deadline: 1_000,
            activation: 0,
        })
    };
    let partner = submit_call(
        &api,
        chain,
        &keys[0],
        0,
        propose(Change::AddPartner {
            name: "Fifth Partner".into(),
            account: joiner.address(),
            roles: vec![jeon_runtime::Role::Validator],
            jurisdiction: "KR".into(),
        }),
    );
    let validator = submit_call(
        &api,
        chain,
        &keys[0],
        1,
        propose(Change::AddValidator {
            name: "fifth".into(),
            key: joiner.address(),
            peer_id: jeon_genesis::peer_id_of(&joiner.address()),
            power: 1,
        }),
    );
    final_status(&api, &partner);
    final_status(&api, &validator);
    let mut votes = Vec::new();
    for (who, first_nonce) in [(0usize, 2u64), (1, 0), (2, 0)] {
        for (k, proposal) in [0u64, 1].into_iter().enumerate() {
            let vote = jeon_runtime::Call::Vote(calls::Vote {
                proposal,
                yes: true,
            });
            votes.push(submit_call(
                &api,
                chain,
                &keys[who],
                first_nonce + k as u64,
                vote,
            ));
        }
    }
    for vote in &votes {
        final_status(&api, vote);
    }
    let voted = Instant::now();
    // Admitted (its peer id is on the allow lists from the enacting block on): it
    // starts on an empty directory and state-syncs.
    net.start_node(fifth);

    // The fifth is let in, catches up, and signs: its own stored certificates carry its
    // signature.
    let me = joiner.address().to_string();
    let mut signed_at = None;
    let ok = crate::common::wait_until(CATCH_UP_TIMEOUT * 2, || {
        let Some(head) = net.nodes[fifth].height() else {
            return false;
        };
        signed_at = (1..=head).rev().take(20).find(|h| {
            get(net.api(fifth), &format!("/v1/blocks/{h}")).is_some_and(|b| {
                b["certificate"]["signatures"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|sig| sig["validator"] == me.as_str()))
            })
        });
        signed_at.is_some()
    });
    assert!(
        ok,
        "the fifth never signed; heights {:?}, its status {:?}",
        net.heights(&ids(0..VALIDATORS + 1)),
        get(net.api(fifth), "/v1/status")
    );
    eprintln!(
        "the fifth signed block {signed_at:?} {:?} after the last vote was final",
        voted.elapsed()
    );
    let set = get(&api, "/v1/validators").expect("validators");
    assert_eq!(set["validators"].as_array().map(Vec::len), Some(5), "{set}");
    // Every node's status counts the set that signs now, not the genesis one.
    for i in 0..VALIDATORS + 1 {
        let status = get(net.api(i), "/v1/status").expect("status");
        assert_eq!(status["validators"], 5, "node {i}: {status}");
    }

    // Then one of the original four (3) is removed by vote: 4 of the 5 vote yes (3
    // itself among them); it is cut off and the other four keep finalizing.
    let remove = submit_call(
        &api,
        chain,
        &keys[0],
        4,
        propose(Change::RemoveValidator {
            key: keys[3].address(),
        }),
    );
    final_status(&api, &remove);
    let votes: Vec<Hash> = [(0usize, 5u64), (1, 2), (2, 2), (3, 0)]
        .into_iter()
        .map(|(who, nonce)| {
            let vote = jeon_runtime::Call::Vote(calls::Vote {
                proposal: 2,
                yes: true,
            });
            submit_call(&api, chain, &keys[who], nonce, vote)
        })
        .collect();
    for vote in &votes {
        final_status(&api, vote);
    }
    let stayers = vec![0, 1, 2, fifth];
    let removed = crate::common::wait_until(CATCH_UP_TIMEOUT, || {
        get(&api, "/v1/status").is_some_and(|s| s["validators"] == 4)
            && net.nodes[3].metric("p2p_peers_connected") == Some(0.0)
    });
    assert!(
        removed,
        "validator 3 is not removed and cut off: status {:?}, its peers {:?}",
        get(&api, "/v1/status"),
        net.nodes[3].metric("p2p_peers_connected")
    );
    let from = net.known_heights(&stayers);
    net.wait_growth(
        &stayers,
        &from,
        PROGRESS_BLOCKS,
        "the four after the removal",
    );

    // A transfer final after both changes: its proof verifies from the genesis file
    // alone, carrying both.
    let tx = transfer(chain, &keys[1], 3, keys[3].address(), 1);
    let (code, body) = post(&api, "/v1/txs", &json!({ "tx": tx_hex(&tx) }));
    assert!(code < 300, "{code} {body}");
    final_status(&api, &tx.hash());
    let proof = get(&api, &format!("/v1/txs/{}/proof", tx.hash())).expect("proof");
    let changes = proof["proof"]["validator_changes"].as_array().map(Vec::len);
    assert_eq!(changes, Some(2), "two set changes below the transfer");
    let out = verify_offline(&net, "proof.json", &proof.to_string());
    assert!(
        out.status.success(),
        "jeon verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same proof with one signature of the last set change's certificate tampered
    // (the change and its new set end the encoding).
    let mut bytes = hex::decode(proof["proof_hex"].as_str().expect("proof_hex")).expect("hex");
    let decoded = jeon_runtime::proof::TxProof::decode(&bytes).expect("decodes");
    let last = decoded.validator_changes.last().expect("a change");
    let signatures = last.certificate.signatures.len();
    let at = bytes.len() - 8 - last.validators.len() * 40 - 64 * signatures - 32 * (signatures - 1);
    bytes[at] ^= 1;
    let out = verify_offline(&net, "tampered.hex", &hex::encode(&bytes));
    assert!(
        !out.status.success(),
        "a tampered set-change certificate verified"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("validator-set change #1"), "{said}");

    // The four (3 up to where it was cut off) agree; the fifth agrees with node 0
    // from its first block (it holds none below its checkpoint).
    net.assert_same_chain(&four);
    net.assert_state_synced(fifth);
    // The figure the issue asks for: the longest gap between consecutive block times
    // (proposer clocks) over the run, the change included. Printed, not asserted: the
    // machine may be loaded by other work.
    let head = net.nodes[0].height().unwrap_or(0);
    let times: Vec<u64> = (1..=head)
        .filter_map(|h| get(net.api(0), &format!("/v1/blocks/{h}"))?["header"]["time_ms"].as_u64())
        .collect();
    let gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let _ = four;
    eprintln!(
        "a fifth partner joined by vote: {:?}; the longest gap between blocks 1..={head}: {gap} ms",
        started.elapsed()
    );
}

/// The sum of every labelled series of the counter `jeon_<name>_total` on `api`.
fn counter_sum(api: &str, name: &str) -> f64 {
    let Some(text) = crate::common::get_text(api, "/metrics") else {
        return 0.0;
    };
    let prefix = format!("jeon_{name}_total{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit_once(' ')?.1.trim().parse::<f64>().ok())
        .sum()
}

#[test]
fn a_validator_flooding_gossip_is_cut_off_while_the_other_three_keep_finalizing() {
    let mut net = Testnet::new(Links::Direct);
    let genesis: Value = serde_json::from_str(
        &std::fs::read_to_string(net.root().join("genesis.json")).expect("read genesis"),
    )
    .expect("genesis is JSON");
    let flooder_name = genesis["validators"][VALIDATORS - 1]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let three = ids(0..VALIDATORS - 1);
    for &i in &three {
        net.nodes[i].spawn();
    }
    for &i in &three {
        net.nodes[i].wait_ready();
    }
    // Three of four validators hold more than 2/3 of the power: they finalize alone.
    net.wait_heights(&three, |_| PROGRESS_BLOCKS, START_TIMEOUT, "first blocks");

    // The fourth validator's key, in a libp2p node of its own on its configured port
    // (the three dial it), gossiping well-formed consensus messages as fast as it can:
    // a status for height 0, which every node decodes and then drops as old.
    let secret = net.key(&flooder_name).secret();
    let allowed: Vec<jeon_node::p2p::PeerId> = net
        .validator_peer_ids
        .iter()
        .map(|p| p.parse().expect("peer id"))
        .collect();
    let listen = format!(
        "/ip4/127.0.0.1/tcp/{}",
        net.validator_p2p_ports[VALIDATORS - 1]
    )
    .parse()
    .expect("multiaddr");
    let peers = three
        .iter()
        .map(|&j| {
            format!(
                "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                net.validator_p2p_ports[j], net.validator_peer_ids[j]
            )
            .parse()
            .expect("multiaddr")
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let flooder = runtime
        .block_on(jeon_node::p2p::start(
            jeon_node::p2p::P2pConfig {
                secret: zeroize::Zeroizing::new(secret),
                listen: vec![listen],
                peers,
                allowed,
                budgets: jeon_node::p2p::GossipBudgetConfig::default(),
            },
            jeon_node::p2p::P2pMetrics::default(),
        ))
        .expect("start the flooder");
    let status = jeon_node::wire::ConsensusMsg::Status(jeon_node::wire::StatusMsg {
        height: 0,
        block_hash: Hash([0; 32]),
    })
    .encode();
    let stop = Arc::new(AtomicBool::new(false));
    let (commands, flood_stop) = (flooder.commands.clone(), stop.clone());
    let flood = runtime.spawn(async move {
        let mut sent = 0u64;
        while !flood_stop.load(Ordering::Relaxed) {
            let data = status.clone();
            let topic = jeon_node::p2p::Topic::Consensus;
            if commands
                .send(jeon_node::p2p::P2pCommand::Publish { topic, data })
                .await
                .is_err()
            {
                break;
            }
            sent += 1;
            if sent.is_multiple_of(256) {
                tokio::task::yield_now().await;
            }
        }
        sent
    });

    let started = Instant::now();
    let at_flood = net.known_heights(&three);
    // Each of the three drops the excess and bans the flooder (ten seconds over budget).
    let banned = crate::common::wait_until(Duration::from_secs(60), || {
        three
            .iter()
            .all(|&i| net.nodes[i].metric("p2p_peers_banned").unwrap_or(0.0) >= 1.0)
    });
    let dropped: Vec<f64> = three
        .iter()
        .map(|&i| counter_sum(net.api(i), "p2p_gossip_over_budget"))
        .collect();
    let bans: Vec<Option<f64>> = three
        .iter()
        .map(|&i| net.nodes[i].metric("p2p_peers_banned"))
        .collect();
    assert!(banned, "bans {bans:?}, dropped over budget {dropped:?}");
    assert!(
        dropped.iter().all(|d| *d > 0.0),
        "dropped over budget {dropped:?}"
    );
    let ban_took = started.elapsed();
    // The three kept finalizing through the flood, and go on after the ban.
    net.wait_growth(
        &three,
        &at_flood,
        PROGRESS_BLOCKS,
        "finality during the flood",
    );
    let after_ban = net.known_heights(&three);
    net.wait_growth(
        &three,
        &after_ban,
        PROGRESS_BLOCKS,
        "finality after the ban",
    );
    net.wait_peers(&three, 2.0, "the three stay connected to each other");
    net.assert_same_chain(&three);
    stop.store(true, Ordering::Relaxed);
    let sent = runtime.block_on(flood).unwrap_or(0);
    eprintln!(
        "flooder sent {sent} status messages; banned by all three in {ban_took:?}; \
         dropped over budget {dropped:?}; heights {at_flood:?} -> {:?}",
        net.heights(&three)
    );
    runtime.block_on(flooder.shutdown());
}

#[path = "consortium/read_nodes.rs"]
mod read_nodes;
/// Writes `contents` (a proof, JSON or hex) to `name` in the testnet's directory and
/// runs `jeon verify` on it against the genesis file alone.
fn verify_offline(net: &Testnet, name: &str, contents: &str) -> std::process::Output {
    let file = net.root().join(name);
    std::fs::write(&file, contents).expect("write the proof");
    jeon()
        .args(["verify", "--genesis"])
        .arg(net.root().join("genesis.json"))
        .arg("--proof")
        .arg(&file)
        .output()
        .expect("run jeon verify")
}

/// The evidence node `api` holds against `validator` (`GET /v1/evidence`).
fn evidence_against(api: &str, validator: &str) -> Vec<Value> {
    get(api, &format!("/v1/evidence?validator={validator}"))
        .and_then(|v| v["evidence"].as_array().cloned())
        .unwrap_or_default()
}

/// The key (address) of validator `i` in the testnet's genesis.
fn validator_key(net: &Testnet, i: usize) -> String {
    let genesis: Value = serde_json::from_str(
        &std::fs::read_to_string(net.root().join("genesis.json")).expect("read genesis"),
    )
    .expect("genesis is JSON");
    genesis["validators"][i]["key"]
        .as_str()
        .expect("a validator key")
        .to_owned()
}

/// Runs the four with validator 3 misbehaving as `behaviour` (`JEON_BYZANTINE`, the
/// `byzantine` test build): the three honest ones keep finalizing one chain.
fn with_a_byzantine_validator(behaviour: &'static str) -> (Testnet, Vec<usize>) {
    let mut net = Testnet::new(Links::Direct);
    let liar = VALIDATORS - 1;
    net.nodes[liar].env.push(("JEON_BYZANTINE", behaviour));
    net.start_validators();
    let honest = ids(0..liar);
    net.wait_heights(&honest, |_| PROGRESS_BLOCKS, START_TIMEOUT, "first blocks");
    let at = net.known_heights(&honest);
    net.wait_growth(
        &honest,
        &at,
        PROGRESS_BLOCKS,
        "the honest three keep finalizing",
    );
    (net, honest)
}

#[test]
fn an_equivocating_validator_is_reported_on_every_honest_node_which_keep_finalizing() {
    let started = Instant::now();
    let (net, honest) = with_a_byzantine_validator("equivocate");
    let liar = validator_key(&net, VALIDATORS - 1);
    let reported = crate::common::wait_until(PROGRESS_TIMEOUT, || {
        honest
            .iter()
            .all(|&i| !evidence_against(net.api(i), &liar).is_empty())
    });
    assert!(reported, "no evidence against {liar} on every honest node");
    // The same evidence on each (it is chain state), with both signed messages.
    let first = evidence_against(net.api(0), &liar);
    let e = &first[0];
    assert_eq!(e["validator"], liar.as_str(), "{e}");
    assert!(
        e["a"].is_object() && e["b"].is_object() && e["a"] != e["b"],
        "{e}"
    );
    let at = net.known_heights(&honest);
    net.wait_growth(&honest, &at, 1, "finalizing after the report");
    for &i in &honest {
        let here = evidence_against(net.api(i), &liar);
        assert!(here.iter().any(|x| x == e), "node {i} lacks {e}");
    }
    net.assert_same_chain(&honest);
    eprintln!("equivocation reported on chain: {:?}", started.elapsed());
}

#[test]
fn a_validator_proposing_invalid_blocks_withholding_votes_or_lying_in_sync_stops_nobody() {
    for behaviour in ["invalid-block", "withhold-votes", "lie-sync"] {
        let started = Instant::now();
        let (net, honest) = with_a_byzantine_validator(behaviour);
        net.assert_same_chain(&honest);
        if behaviour == "invalid-block" {
            // Each honest node executed some invalid block, and never one twice: a
            // block is refused from the cache when re-sent.
            let executed: f64 = honest
                .iter()
                .map(|&i| net.nodes[i].metric("invalid_blocks").unwrap_or(0.0))
                .sum();
            assert!(executed > 0.0, "no invalid block reached the honest nodes");
            for &i in &honest {
                let log = std::fs::read_to_string(net.nodes[i].log_path()).unwrap_or_default();
                let mut seen = std::collections::BTreeSet::new();
                for line in log.lines().filter(|l| l.contains("invalid block proposed")) {
                    let block = line
                        .split("block=")
                        .nth(1)
                        .and_then(|r| r.split(' ').next());
                    let block = block.unwrap_or_default().to_owned();
                    assert!(
                        seen.insert(block.clone()),
                        "node {i} executed {block} twice"
                    );
                }
            }
        }
        eprintln!(
            "{behaviour}: the honest three finalize, {:?}",
            started.elapsed()
        );
    }
}
