//! Shared helpers for tests that run the real `jeon` binary: free ports, a `jeon dev`
//! child process, HTTP calls, and signing transactions.

use jeon_runtime::calls;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jeon_runtime::{Address, AssetId, Call, Hash, Keypair, SignedTx, TxBody};
use serde_json::Value;

/// The `jeon` binary under test, printing JSON (`JEON_OUTPUT=json`; a test that
/// reads the text for people passes `--output text`, which the flag wins over).
pub(crate) fn jeon() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jeon"));
    command
        .env("JEON_OUTPUT", "json")
        .env_remove("JEON_GENESIS");
    command
}

/// The ports tests hand out: below Linux's ephemeral range (32768-60999), so the
/// kernel never gives one of them to an outgoing connection or to a bind on port 0
/// between the moment a test checks it is free and the moment its child binds it.
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A loopback port that is free now and that no other test in this process has been
/// given. All end-to-end tests share one process and run in parallel, each starting
/// nodes that dial out from ephemeral ports, so a port picked by binding port 0 could be
/// taken by someone's outgoing connection before the child binds it; ports from
/// [`TEST_PORTS`] cannot be. The walk starts at an offset from the process id, so two
/// test processes on one machine start far apart.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    let start = std::process::id().wrapping_mul(7_919) % span;
    let _ = NEXT.compare_exchange(u32::MAX, start, Ordering::SeqCst, Ordering::SeqCst);
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::SeqCst) % span;
        let port = TEST_PORTS.start + u16::try_from(offset).expect("offset < span");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {TEST_PORTS:?}");
}

/// A running `jeon dev` child, killed on drop.
pub(crate) struct DevNode {
    pub(crate) child: Child,
    pub(crate) api: String,
    /// The API's `127.0.0.1:port`, for raw TCP clients.
    pub(crate) api_addr: std::net::SocketAddr,
    pub(crate) data: PathBuf,
}

impl DevNode {
    /// Starts `jeon dev` on `data` with extra environment variables, and waits until
    /// its API answers (unless it dies first).
    pub(crate) fn start(data: &Path, env: &[(&str, &str)]) -> DevNode {
        DevNode::start_with(data, &[], env, None)
    }

    /// Like [`DevNode::start`], with extra `jeon dev` arguments, and its log (stderr)
    /// written to `log` if given.
    pub(crate) fn start_with(
        data: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> DevNode {
        let port = free_port();
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::null(),
        };
        let mut cmd = jeon();
        cmd.args(["dev", "--data"])
            .arg(data)
            .args(["--api", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn jeon dev");
        let mut node = DevNode {
            child,
            api: format!("http://127.0.0.1:{port}"),
            api_addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            data: data.to_owned(),
        };
        node.wait_ready();
        node
    }

    /// Starts `jeon node` on the chain a `jeon dev` wrote in `data` (its genesis, the
    /// bank's validator key, the same data directory) with extra arguments, and waits
    /// until its API answers: the production command, on a dev chain.
    pub(crate) fn start_as_node(data: &Path, args: &[&str]) -> DevNode {
        let port = free_port();
        let child = jeon()
            .args(["node", "--genesis"])
            .arg(data.join("genesis.json"))
            .arg("--key")
            .arg(data.join("keys/hanbit-bank.json"))
            .arg("--insecure-plaintext-key")
            .arg("--data")
            .arg(data)
            .args(["--api", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn jeon node");
        let mut node = DevNode {
            child,
            api: format!("http://127.0.0.1:{port}"),
            api_addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            data: data.to_owned(),
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if get(&self.api, "/v1/status").is_some() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the node exited before serving: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the node did not serve within 60 s");
    }

    /// `kill -9`, then reap.
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    /// Waits for the process to exit by itself (e.g. at a crash point).
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// A key the dev preset wrote.
    pub(crate) fn key(&self, name: &str) -> Keypair {
        key_from_file(&self.data.join("keys").join(format!("{name}.json")))
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Reads a key file written by the CLI.
pub(crate) fn key_from_file(path: &Path) -> Keypair {
    jeon_genesis::keyfile::read(path)
        .expect("read key file")
        .keypair
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// GET a JSON document; `None` if the node is unreachable.
pub(crate) fn get(api: &str, path: &str) -> Option<Value> {
    let resp = client().get(format!("{api}{path}")).send().ok()?;
    resp.json().ok()
}

/// POST JSON; returns (status, body). Panics if unreachable.
pub(crate) fn post(api: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{api}{path}"))
        .json(body)
        .send()
        .expect("POST reaches the node");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// POST raw bytes; returns (status, body).
pub(crate) fn post_raw(api: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = client()
        .post(format!("{api}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .expect("POST reaches the node");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// The chain id from `/v1/status`.
pub(crate) fn chain_id(api: &str) -> Hash {
    let status = get(api, "/v1/status").expect("status");
    status["chain_id"]
        .as_str()
        .expect("chain_id")
        .parse()
        .expect("hash")
}

/// A signed transfer, with the presets' base fee ceiling as its fee limit (the fee
/// paid is the current fee, ₩0.10 on an idle chain).
pub(crate) fn transfer(
    chain_id: Hash,
    from: &Keypair,
    nonce: u64,
    to: Address,
    amount: u64,
) -> SignedTx {
    TxBody {
        chain_id,
        sender: from.address(),
        nonce,
        fee_limit: jeon_genesis::presets::BASE_FEE_MAX,
        expiry: 1_000_000,
        call: Call::Transfer(calls::Transfer {
            to,
            asset: AssetId(0),
            amount,
        }),
        fee_payer: None,
    }
    .sign(from)
}

/// Hex of a transaction's canonical bytes.
pub(crate) fn tx_hex(tx: &SignedTx) -> String {
    hex::encode(tx.encode())
}

/// A balance from `/v1/accounts/{addr}` (0 if absent).
pub(crate) fn balance(api: &str, who: &Address, asset: u32) -> u64 {
    let Some(acct) = get(api, &format!("/v1/accounts/{who}")) else {
        return 0;
    };
    acct["balances"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["asset"].as_u64() == Some(u64::from(asset)))
        .and_then(|b| b["amount"].as_u64())
        .unwrap_or(0)
}

/// `/v1/txs/{hash}`.
pub(crate) fn tx_status(api: &str, hash: &Hash) -> Option<Value> {
    get(api, &format!("/v1/txs/{hash}"))
}

/// Polls until `cond` holds or the timeout passes.
pub(crate) fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

/// GET a plain-text document (e.g. `/metrics`); `None` if the node is unreachable.
pub(crate) fn get_text(api: &str, path: &str) -> Option<String> {
    let resp = client().get(format!("{api}{path}")).send().ok()?;
    resp.text().ok()
}

/// One sample from a node's Prometheus `/metrics`, by its name without the `jeon_`
/// prefix and the `_total` suffix of counters (e.g. `p2p_peers_connected`); `None` if
/// the node is unreachable or does not export it.
pub(crate) fn metric(api: &str, name: &str) -> Option<f64> {
    let text = get_text(api, "/metrics")?;
    let full = format!("jeon_{name}");
    let counter = format!("{full}_total");
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        (key == full || key == counter).then(|| value.trim().parse().ok())?
    })
}

/// Runs `jeon` with `args` (ignoring any `JEON_API` in the environment).
pub(crate) fn run(args: &[&str]) -> std::process::Output {
    jeon()
        .args(args)
        .env_remove("JEON_API")
        .output()
        .expect("run jeon")
}

/// A `jeon dev` chain driven through the CLI with the demo keys.
pub(crate) struct Town {
    pub(crate) node: DevNode,
}

impl Town {
    /// The path of a demo key file.
    pub(crate) fn key(&self, name: &str) -> String {
        let path = self.node.data.join("keys").join(format!("{name}.json"));
        path.to_str().expect("utf-8 path").to_owned()
    }

    /// `jeon tx <args> --key <signer> --wait --force`: the printed status. `--force`
    /// skips the dry run, so a call bound to fail reaches the chain and its receipt.
    pub(crate) fn tx(&self, signer: &str, args: &[&str]) -> Value {
        let key = self.key(signer);
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        let api = &self.node.api;
        all.extend_from_slice(&["--key", &key, "--wait", "--force", "--api", api]);
        serde_json::from_slice(&run(&all).stdout).expect("jeon tx prints JSON")
    }

    /// A demo account's address.
    pub(crate) fn address(&self, name: &str) -> String {
        self.node.key(name).address().to_string()
    }
}

/// The bank (the dev chain's one validator) votes its own power from 1 to 3: a
/// validator-set change with the chain going on. Returns the height it takes effect.
pub(crate) fn change_the_set(town: &Town) -> u64 {
    let bank = town.address("hanbit-bank");
    let proposed = town.tx(
        "hanbit-bank",
        &[
            "propose",
            "set-validator-power",
            "--validator",
            &bank,
            "--power",
            "3",
        ],
    );
    assert!(has_event(&proposed, "proposal_submitted"), "{proposed}");
    let id = proposed["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e["proposal_submitted"]["id"].as_u64())
        .expect("id")
        .to_string();
    let voted = town.tx("hanbit-bank", &["vote", "--proposal", &id, "--yes"]);
    assert!(has_event(&voted, "proposal_passed"), "{voted}");
    voted["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e["proposal_passed"]["effective_from"].as_u64())
        .expect("effective_from")
}

/// A rejected receipt's failure, as `{"<error>": {...}}`.
pub(crate) fn failure(status: &Value) -> &Value {
    assert_eq!(status["status"], "rejected", "{status}");
    &status["receipt"]["outcome"]["failed"]
}

/// Whether a final receipt holds an event of `kind`.
pub(crate) fn has_event(status: &Value, kind: &str) -> bool {
    assert_eq!(status["status"], "final", "{status}");
    status["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e.get(kind).is_some())
}
