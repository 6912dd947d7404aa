//! No secret key ever leaves the process in the clear: the key commands, `jeon dev`
//! and `jeon node` (with peer-to-peer networking) run with `RUST_LOG=trace`, are given
//! bad input and bad key files, and serve API requests including failing ones; their
//! stdout, stderr and every API answer are searched for each secret key in hex and
//! base64 (docs/reliability.md, "Keys and secrets").

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use jeon_runtime::Keypair;

use crate::common::{chain_id, free_port, get_text, jeon, key_from_file, post, transfer, tx_hex};

/// Standard base64 (RFC 4648, with padding), for the forms a secret might print in.
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Every form of `key`'s secret that must not appear: the 32-byte seed and the 64-byte
/// keypair (seed and public key, libp2p's and NaCl's layout), in lower and upper hex and
/// in both base64 alphabets; and the seed's first 18 bytes, so a truncated print is
/// caught too (18 bytes: whole base64 groups, 144 bits that cannot match by chance).
fn forbidden_forms(key: &Keypair) -> Vec<String> {
    let seed = key.secret();
    let mut pair = seed.to_vec();
    pair.extend_from_slice(&key.address().0);
    let mut forms = Vec::new();
    for bytes in [&seed[..], &pair[..], &seed[..18]] {
        forms.push(hex::encode(bytes));
        forms.push(hex::encode_upper(bytes));
        for alphabet in [STANDARD, URL_SAFE] {
            let b64 = base64(bytes, alphabet);
            forms.push(b64.trim_end_matches('=').to_owned());
        }
    }
    forms
}

/// Panics naming the output and the form if any secret of `keys` is in `text`.
fn assert_no_secret(what: &str, text: &str, keys: &[(String, Keypair)]) {
    for (name, key) in keys {
        for form in forbidden_forms(key) {
            assert!(
                !text.contains(&form),
                "{what} contains {name}'s secret key (as {form})"
            );
        }
    }
}

/// Every key file a `jeon dev` data directory holds, by name.
fn dev_keys(data: &Path) -> Vec<(String, Keypair)> {
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(data.join("keys")).expect("keys dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        keys.push((name, key_from_file(&path)));
    }
    assert!(keys.len() >= 3, "the dev preset writes several keys");
    keys
}

/// A child with its stdout and stderr in files, killed and reaped on drop.
struct Logged {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Logged {
    fn spawn(cmd: &mut std::process::Command, dir: &Path, name: &str) -> Logged {
        let out = dir.join(format!("{name}.stdout"));
        let err = dir.join(format!("{name}.stderr"));
        let child = cmd
            .env("RUST_LOG", "trace")
            .stdout(Stdio::from(
                std::fs::File::create(&out).expect("stdout file"),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(&err).expect("stderr file"),
            ))
            .spawn()
            .expect("spawn jeon");
        Logged { child, out, err }
    }

    fn wait_ready(&mut self, api: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while get_text(api, "/v1/status").is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exited before serving: {status}: {}", self.text());
            }
            assert!(Instant::now() < deadline, "no API within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the child (SIGTERM, for a clean shutdown's logs too), then its output.
    fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.text()
    }

    fn text(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("{}\n{}", read(&self.out), read(&self.err))
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads, posts and fails against `api`; returns every answer's text.
fn exercise_api(api: &str, keys: &[(String, Keypair)]) -> String {
    let mut answers = String::new();
    let alice = &keys.iter().find(|(n, _)| n == "alice").expect("alice").1;
    let bob = &keys.iter().find(|(n, _)| n == "bob").expect("bob").1;
    let paths = [
        "/v1/status".to_owned(),
        "/v1/ready".into(),
        "/v1/validators".into(),
        "/v1/nodes".into(),
        "/v1/params".into(),
        "/v1/blocks/latest".into(),
        "/metrics".into(),
        format!("/v1/accounts/{}", alice.address()),
        format!("/v1/accounts/{}/txs", alice.address()),
        "/v1/accounts/not-an-address".into(),
        "/v1/blocks/999999999".into(),
        "/v1/txs/zz".into(),
        "/v1/no-such-route".into(),
    ];
    for path in paths {
        answers.push_str(&get_text(api, &path).unwrap_or_default());
    }
    let tx = transfer(chain_id(api), alice, 0, bob.address(), 5);
    let bodies = [
        serde_json::json!({ "tx": tx_hex(&tx) }),
        serde_json::json!({ "tx": "00ff" }),
        serde_json::json!({ "secret_key": hex::encode(alice.secret()) }),
    ];
    for body in bodies {
        let (_, answer) = post(api, "/v1/txs", &body);
        answers.push_str(&answer.to_string());
    }
    answers
}

#[test]
fn no_secret_key_appears_in_the_output_of_dev_node_or_their_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let port = free_port();
    let api = format!("http://127.0.0.1:{port}");
    let mut dev = Logged::spawn(
        jeon()
            .args(["dev", "--data"])
            .arg(&data)
            .args(["--api", &format!("127.0.0.1:{port}")]),
        dir.path(),
        "dev",
    );
    dev.wait_ready(&api);
    let keys = dev_keys(&data);
    // Everything above also went into the posted body once: the echo check is real.
    let answers = exercise_api(&api, &keys);
    let dev_out = dev.stop();
    assert!(dev_out.contains("TRACE"), "trace logging was on");
    assert_no_secret("jeon dev's output", &dev_out, &keys);
    assert_no_secret("jeon dev's API answers", &answers, &keys);

    // The production command, with the validator's key and peer-to-peer on.
    let port = free_port();
    let p2p = free_port();
    let api = format!("http://127.0.0.1:{port}");
    let mut node = Logged::spawn(
        jeon()
            .args(["node", "--genesis"])
            .arg(data.join("genesis.json"))
            .arg("--key")
            .arg(data.join("keys/hanbit-bank.json"))
            .args(["--insecure-plaintext-key", "--data"])
            .arg(&data)
            .args(["--api", &format!("127.0.0.1:{port}")])
            .args(["--p2p", &format!("/ip4/127.0.0.1/tcp/{p2p}")])
            .args(["--peer", "/ip4/127.0.0.1/tcp/1"]),
        dir.path(),
        "node",
    );
    node.wait_ready(&api);
    let answers = exercise_api(&api, &keys);
    let node_out = node.stop();
    assert!(
        node_out.contains("libp2p"),
        "libp2p traced: {node_out:.2000}"
    );
    assert_no_secret("jeon node's output", &node_out, &keys);
    assert_no_secret("jeon node's API answers", &answers, &keys);
}

/// Runs `jeon ARGS` in `dir` with trace logging; returns (exit code, stdout + stderr).
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = jeon();
    cmd.current_dir(dir).args(args).env("RUST_LOG", "trace");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run jeon");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[cfg(unix)]
#[test]
fn key_commands_and_bad_key_files_never_print_the_secret() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (code, mut all) = run_in(d, &["keys", "new", "--out", "k.json"], &[]);
    assert_eq!(code, Some(0), "{all}");
    let key = key_from_file(&d.join("k.json"));
    let keys = vec![("k".to_owned(), key)];
    let key = &keys[0].1;
    let mode = std::fs::metadata(d.join("k.json"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "written owner-only");
    std::fs::write(d.join("pass"), "correct horse battery staple\n").expect("pass");
    let pass = [("JEON_KEY_PASSPHRASE_FILE", "pass")];
    let text = std::fs::read_to_string(d.join("k.json")).expect("key text");
    let secret_hex = hex::encode(key.secret());
    let other = Keypair::from_seed_label("someone else")
        .address()
        .to_string();
    let bad_files = [
        // A file others may read: refused, naming the fix.
        (
            "open.json",
            text.clone(),
            0o644,
            Some("chmod 600 open.json"),
        ),
        // The address of another key.
        (
            "mixed.json",
            text.replace(&key.address().to_string(), &other),
            0o600,
            None,
        ),
        // The secret pasted into the address field.
        (
            "swapped.json",
            text.replace(&key.address().to_string(), &secret_hex),
            0o600,
            None,
        ),
        // One digit short.
        (
            "short.json",
            text.replace(&secret_hex, &secret_hex[1..]),
            0o600,
            None,
        ),
        // Not JSON after the secret.
        ("cut.json", text.replace('}', ""), 0o600, None),
    ];
    for (name, body, mode, needle) in &bad_files {
        let path = d.join(name);
        std::fs::write(&path, body).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).expect("chmod");
        for args in [
            vec!["keys", "show", name],
            vec!["keys", "encrypt", name, "--out", "never.json"],
            vec![
                "node",
                "--genesis",
                "g.json",
                "--data",
                "data",
                "--key",
                name,
            ],
        ] {
            let (code, out) = run_in(d, &args, &pass);
            assert_eq!(code, Some(2), "{args:?}: {out}");
            if let Some(needle) = needle {
                assert!(out.contains(needle), "{args:?}: {out}");
            }
            all.push_str(&out);
        }
    }
    for args in [
        vec!["keys", "show", "k.json"],
        vec!["keys", "show", "--json", "k.json"],
        vec!["keys", "encrypt", "k.json", "--out", "k.keystore.json"],
        vec!["keys", "show", "k.keystore.json"],
        vec![
            "node",
            "--genesis",
            "missing.json",
            "--data",
            "d",
            "--key",
            "k.keystore.json",
        ],
    ] {
        all.push_str(&run_in(d, &args, &pass).1);
    }
    let wrong = [("JEON_KEY_PASSPHRASE", "wrong")];
    let args = [
        "node",
        "--genesis",
        "g.json",
        "--data",
        "d",
        "--key",
        "k.keystore.json",
    ];
    let (code, out) = run_in(d, &args, &wrong);
    assert_eq!(code, Some(2), "a wrong passphrase: {out}");
    all.push_str(&out);
    assert!(
        all.contains(&key.address().to_string()),
        "the commands ran: {all:.500}"
    );
    assert_no_secret("the key commands' output", &all, &keys);
}
