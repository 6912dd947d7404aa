//! The operator kit, end to end with the real binary: `jeon init`, a node on an
//! encrypted key (and what it refuses), liveness and readiness, and a data directory
//! in use by another process.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{free_port, get, jeon, run, wait_until, DevNode};

/// The scrypt cost the tests seal with: the cheapest accepted, so they run fast.
const LOG_N: &str = "10";
const PASSPHRASE: &str = "kettle-orbit-lantern-42";

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A node process, killed on drop.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plaintext key, its secret hex, and its keystore sealed with [`PASSPHRASE`].
fn sealed_key(dir: &Path) -> (std::path::PathBuf, String) {
    let plain = dir.join("plain.json");
    ok(&run(&["keys", "new", "--out", path(&plain)]));
    let text = std::fs::read_to_string(&plain).expect("key file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let secret = json["secret_key"].as_str().expect("secret").to_owned();
    let pass = dir.join("pass");
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).expect("pass file");
    let enc = dir.join("node.keystore.json");
    ok(&run(&[
        "keys",
        "encrypt",
        path(&plain),
        "--out",
        path(&enc),
        "--passphrase-file",
        path(&pass),
        "--scrypt-log-n",
        LOG_N,
    ]));
    let sealed = std::fs::read_to_string(&enc).expect("keystore");
    assert!(!sealed.contains(&secret), "the keystore hides the secret");
    (enc, secret)
}

#[test]
fn a_node_runs_on_an_encrypted_key_and_never_shows_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis = dir.path().join("genesis.json");
    ok(&run(&[
        "genesis",
        "new",
        "--preset",
        "dev",
        "--out",
        path(&genesis),
    ]));
    let (key, secret) = sealed_key(dir.path());
    let shown = ok(&run(&["keys", "show", "--json", path(&key)]));
    assert!(shown.contains("\"encrypted\":true"), "{shown}");
    let port = free_port();
    let p2p = free_port();
    let log = dir.path().join("node.log");
    let data = dir.path().join("data");
    let child = jeon()
        .args(["node", "--genesis", path(&genesis), "--key", path(&key)])
        .args(["--data", path(&data)])
        .args(["--api", &format!("127.0.0.1:{port}")])
        .args(["--p2p", &format!("/ip4/127.0.0.1/tcp/{p2p}")])
        .args(["--log-level", "debug"])
        .env("JEON_KEY_PASSPHRASE", PASSPHRASE)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn jeon node");
    let node = Node(child);
    let api = format!("http://127.0.0.1:{port}");
    assert!(
        wait_until(Duration::from_secs(60), || get(&api, "/v1/health")
            .is_some_and(|h| h["live"] == true)),
        "the node answers /v1/health: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Networked with no peer: alive, not ready.
    let ready = reqwest::blocking::get(format!("{api}/v1/ready")).expect("ready");
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().expect("json");
    assert_eq!(body["error"]["code"], "no_peers", "{body}");
    let mut seen = String::new();
    for route in ["/v1/health", "/v1/status", "/metrics", "/v1/validators"] {
        let text = reqwest::blocking::get(format!("{api}{route}"))
            .and_then(|r| r.text())
            .unwrap_or_default();
        seen.push_str(&text);
    }
    drop(node);
    seen.push_str(&std::fs::read_to_string(&log).expect("log"));
    assert!(seen.contains("chain loaded"), "the log was captured");
    for secret_text in [secret.as_str(), PASSPHRASE] {
        assert!(
            !seen.contains(secret_text),
            "a secret appears in the logs or API answers"
        );
    }
}

#[test]
fn a_node_refuses_a_plaintext_key_a_wrong_passphrase_and_a_damaged_keystore_each_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis = dir.path().join("genesis.json");
    ok(&run(&[
        "genesis",
        "new",
        "--preset",
        "dev",
        "--out",
        path(&genesis),
    ]));
    let (key, _) = sealed_key(dir.path());
    let start = |key: &Path, pass: &str| {
        jeon()
            .args(["node", "--genesis", path(&genesis), "--key", path(key)])
            .args(["--data", path(&dir.path().join("data"))])
            .args(["--api", "127.0.0.1:0"])
            .env("JEON_KEY_PASSPHRASE", pass)
            .output()
            .expect("run jeon node")
    };
    let plain = start(&dir.path().join("plain.json"), PASSPHRASE);
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        stderr(&plain).contains("is not encrypted"),
        "{}",
        stderr(&plain)
    );
    assert!(
        stderr(&plain).contains("jeon keys encrypt"),
        "{}",
        stderr(&plain)
    );

    let wrong = start(&key, "not-the-passphrase");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("wrong passphrase"),
        "{}",
        stderr(&wrong)
    );
    assert!(!stderr(&wrong).contains("not-the-passphrase"));

    let text = std::fs::read_to_string(&key).expect("keystore");
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        text.replace("\"jeon_keystore\":1", "\"jeon_keystore\":7"),
    )
    .expect("write");
    let out = start(&newer, PASSPHRASE);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("version 7"), "{}", stderr(&out));

    let damaged = dir.path().join("damaged.json");
    std::fs::write(
        &damaged,
        text.replace("\"ciphertext\":\"", "\"ciphertext\":\"zz"),
    )
    .expect("write");
    let out = start(&damaged, PASSPHRASE);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is corrupt"), "{}", stderr(&out));
    assert!(
        !dir.path().join("data").join("db").exists(),
        "nothing was written"
    );
}

#[test]
fn jeon_init_writes_a_config_jeon_node_accepts_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis = dir.path().join("g.json");
    ok(&run(&[
        "genesis",
        "new",
        "--preset",
        "dev",
        "--out",
        path(&genesis),
    ]));
    let pass = dir.path().join("pass");
    std::fs::write(&pass, PASSPHRASE).expect("pass");
    let node_dir = dir.path().join("partner");
    let port = free_port();
    let p2p = free_port();
    let init = |extra: &[&str]| {
        let mut args = vec![
            "init",
            "--dir",
            path(&node_dir),
            "--genesis",
            path(&genesis),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let api = format!("127.0.0.1:{port}");
    let p2p_addr = format!("/ip4/127.0.0.1/tcp/{p2p}");
    let printed = ok(&init(&[
        "--api",
        &api,
        "--p2p",
        &p2p_addr,
        "--passphrase-file",
        path(&pass),
        "--scrypt-log-n",
        LOG_N,
    ]));
    let printed: serde_json::Value =
        serde_json::from_str(&printed).expect("init prints JSON with --output json");
    assert!(
        printed["peer_id"]
            .as_str()
            .is_some_and(|p| p.starts_with("12D3KooW")),
        "{printed}"
    );
    let config = node_dir.join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(text.contains("docs/operations.md"), "{text}");
    let again = init(&["--passphrase-file", path(&pass)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    let child = jeon()
        .args(["node", "--config", path(&config)])
        .args(["--key-passphrase-file", path(&pass)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let _node = Node(child);
    let api = format!("http://{api}");
    assert!(
        wait_until(Duration::from_secs(60), || get(&api, "/v1/health")
            .is_some()),
        "the node from `jeon init` serves"
    );
    assert!(node_dir.join("data").join("LOCK").exists());
}

#[test]
fn a_second_process_on_a_data_directory_in_use_is_told_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let dev = DevNode::start(&data, &[]);
    let pid = dev.child.id();
    let second = jeon()
        .args(["node", "--genesis", path(&data.join("genesis.json"))])
        .args(["--key", path(&data.join("keys/hanbit-bank.json"))])
        .args(["--insecure-plaintext-key", "--data", path(&data)])
        .args(["--api", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(
        message.contains("is in use by another jeon process")
            && message.contains(&format!("pid {pid}")),
        "{message}"
    );
    assert!(!message.contains("WouldBlock"), "{message}");
    let dev_again = run(&["dev", "--data", path(&data), "--api", "127.0.0.1:0"]);
    assert_eq!(dev_again.status.code(), Some(1));
    assert!(
        stderr(&dev_again).contains("is in use"),
        "{}",
        stderr(&dev_again)
    );
    // The first node is unharmed.
    assert!(get(&dev.api, "/v1/health").is_some_and(|h| h["live"] == true));
}

#[test]
fn jeon_tx_signs_with_an_encrypted_key_and_refuses_a_wrong_passphrase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let dev = DevNode::start(&data, &[]);
    let alice = data.join("keys/alice.json");
    let sealed = dir.path().join("alice.keystore.json");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, PASSPHRASE).expect("pass");
    ok(&run(&[
        "keys",
        "encrypt",
        path(&alice),
        "--out",
        path(&sealed),
        "--passphrase-file",
        path(&pass),
        "--scrypt-log-n",
        LOG_N,
    ]));
    let bob = dev.key("bob").address().to_string();
    let transfer = |passphrase: &str| {
        jeon()
            .args(["tx", "transfer", "--key", path(&sealed), "--to", &bob])
            .args([
                "--asset", "KRW", "--amount", "1", "--wait", "--api", &dev.api,
            ])
            .args(["--genesis", path(&data.join("genesis.json"))])
            .env("JEON_KEY_PASSPHRASE", passphrase)
            .env_remove("JEON_KEY_PASSPHRASE_FILE")
            .output()
            .expect("run jeon tx")
    };
    let wrong = transfer("guess");
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("wrong passphrase"),
        "{}",
        stderr(&wrong)
    );
    let done = transfer(PASSPHRASE);
    let status: serde_json::Value = serde_json::from_str(&ok(&done)).expect("json");
    assert_eq!(status["status"], "final", "{status}");
}

/// The frames of a snapshot file: (offset of the frame, payload range).
fn frames(bytes: &[u8]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, at + 36..at + 36 + len));
        at += 36 + len;
    }
    out
}

#[test]
fn a_snapshot_round_trips_into_a_node_that_goes_on_and_a_tampered_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let mut dev = DevNode::start(&data, &[]);
    let bob = dev.key("bob").address().to_string();
    let alice = data.join("keys/alice.json");
    let genesis = data.join("genesis.json");
    let pay = |api: &str| {
        ok(&run(&[
            "tx",
            "transfer",
            "--key",
            path(&alice),
            "--to",
            &bob,
            "--asset",
            "KRW",
            "--amount",
            "7",
            "--wait",
            "--api",
            api,
            "--genesis",
            path(&genesis),
        ]))
    };
    pay(&dev.api);
    dev.kill9();
    let snap = dir.path().join("snap.bin");
    let exported: serde_json::Value = serde_json::from_str(&ok(&run(&[
        "snapshot",
        "export",
        "--data",
        path(&data),
        "--out",
        path(&snap),
    ])))
    .expect("json");
    let height = exported["height"].as_u64().expect("height");
    assert!(
        height >= 1 && exported["entries"].as_u64() > Some(10),
        "{exported}"
    );

    // Tampered: a flipped byte fails its frame's checksum; a changed value with a
    // recomputed checksum fails the state's accumulator. Nothing stays behind.
    let bytes = std::fs::read(&snap).expect("read");
    let chunk = frames(&bytes)[1].clone();
    let mut flipped = bytes.clone();
    flipped[chunk.1.end - 1] ^= 1;
    let mut resummed = flipped.clone();
    let sum = blake3::hash(&resummed[chunk.1.clone()]);
    resummed[chunk.0 + 4..chunk.0 + 36].copy_from_slice(sum.as_bytes());
    for (name, tampered, says) in [
        ("flipped", flipped, "fails its checksum"),
        ("resummed", resummed, "do not add up"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, tampered).expect("write");
        let target = dir.path().join(format!("{name}-data"));
        let out = run(&[
            "snapshot",
            "import",
            path(&file),
            "--genesis",
            path(&genesis),
            "--data",
            path(&target),
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
        assert!(!target.join("db").exists(), "{name}: nothing stays");
    }
    let other = dir.path().join("other.json");
    ok(&run(&[
        "genesis",
        "new",
        "--preset",
        "local4",
        "--out",
        path(&other),
    ]));
    let wrong = run(&[
        "snapshot",
        "import",
        path(&snap),
        "--genesis",
        path(&other),
        "--data",
        path(&dir.path().join("w")),
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("the genesis file of chain"),
        "{}",
        stderr(&wrong)
    );
    let busy = run(&[
        "snapshot",
        "import",
        path(&snap),
        "--genesis",
        path(&genesis),
        "--data",
        path(&data),
    ]);
    assert_eq!(busy.status.code(), Some(2));
    assert!(stderr(&busy).contains("is not empty"), "{}", stderr(&busy));

    let imported = dir.path().join("imported");
    ok(&run(&[
        "snapshot",
        "import",
        path(&snap),
        "--genesis",
        path(&genesis),
        "--data",
        path(&imported),
    ]));
    // The imported directory holds the chain's genesis and the bank's key, as the dev
    // chain's did: start the production command on it.
    std::fs::copy(&genesis, imported.join("genesis.json")).expect("genesis");
    std::fs::create_dir_all(imported.join("keys")).expect("keys");
    std::fs::copy(
        data.join("keys/hanbit-bank.json"),
        imported.join("keys/hanbit-bank.json"),
    )
    .expect("key");
    let node = DevNode::start_as_node(&imported, &[]);
    let status = get(&node.api, "/v1/status").expect("status");
    assert!(status["height"].as_u64() >= Some(height), "{status}");
    assert_eq!(
        get(&node.api, &format!("/v1/accounts/{bob}")).expect("bob")["balances"][0]["amount"],
        100_000_007u64,
        "bob's balance came with the snapshot"
    );
    pay(&node.api);
    assert!(get(&node.api, "/v1/status").expect("status")["height"].as_u64() > Some(height));
}
