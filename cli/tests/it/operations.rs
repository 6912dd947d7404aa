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
    assert!(printed.contains("peer_id:  12D3KooW"), "{printed}");
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
