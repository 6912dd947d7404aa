//! The client commands (`tx`, `query`, `bench`) refuse bad input before touching the
//! network (exit 2), say plainly when the node cannot be reached (exit 3), and pass
//! the node's own error messages on (exit 1).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use jeon_runtime::Keypair;

/// Runs `jeon` in `dir`, without `JEON_API` from the environment.
fn jeon(args: &[&str], dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jeon"))
        .args(args)
        .current_dir(dir)
        .env_remove("JEON_API")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A loopback URL where nothing listens: bound a moment ago, then released, and
/// reserved so no other test in this process starts a node on it.
fn dead_api() -> String {
    format!("http://127.0.0.1:{}", crate::common::free_port())
}

fn assert_exit(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

/// A directory holding alice's key file (a deterministic test key).
fn dir_with_key() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let alice = Keypair::from_seed_label("alice");
    jeon_genesis::keyfile::write(&dir.path().join("alice.json"), &alice).unwrap();
    (dir, Keypair::from_seed_label("bob").address().to_string())
}

#[test]
fn a_transfer_to_a_mistyped_address_is_refused_before_any_request() {
    let (dir, bob) = dir_with_key();
    let mut typo = bob.clone();
    typo.replace_range(10..11, if &bob[10..11] == "q" { "p" } else { "q" });
    let api = dead_api();
    for to in [typo.as_str(), "jeon1notanaddress", "not-bech32"] {
        let o = jeon(
            &[
                "tx",
                "transfer",
                "--key",
                "alice.json",
                "--to",
                to,
                "--asset",
                "KRW",
                "--amount",
                "50000",
                "--api",
                &api,
            ],
            dir.path(),
        );
        assert_exit(&o, 2, "malformed address");
    }
}

#[test]
fn a_malformed_transaction_hash_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let api = dead_api();
    for hash in ["abcd", &"zz".repeat(32), &"ab".repeat(33)] {
        let o = jeon(&["query", "tx", hash, "--api", &api], dir.path());
        assert_exit(&o, 2, "malformed hash");
    }
    let o = jeon(&["query", "account", "jeon1xyz", "--api", &api], dir.path());
    assert_exit(&o, 2, "malformed address");
    let o = jeon(&["query", "block", "yesterday", "--api", &api], dir.path());
    assert_exit(&o, 2, "neither a block height nor `latest`");
}

#[test]
fn an_unreadable_key_file_is_bad_input() {
    let (dir, bob) = dir_with_key();
    std::fs::write(dir.path().join("junk.json"), "{\"address\": 1}").unwrap();
    // Owner-only, else the mode is refused before the content is read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(dir.path().join("junk.json"), mode).unwrap();
    }
    let api = dead_api();
    for (key, needle) in [
        ("missing.json", "cannot read key file"),
        ("junk.json", "is malformed"),
    ] {
        let o = jeon(
            &[
                "tx", "transfer", "--key", key, "--to", &bob, "--asset", "0", "--amount", "1",
                "--api", &api,
            ],
            dir.path(),
        );
        assert_exit(&o, 2, needle);
    }
    let o = jeon(
        &["bench", "--funder", "missing.json", "--api", &api],
        dir.path(),
    );
    assert_exit(&o, 2, "cannot read key file");
}

#[test]
fn other_bad_arguments_are_refused_before_any_request() {
    let (dir, bob) = dir_with_key();
    let api = dead_api();
    let transfer = |asset: &str, amount: &str| {
        jeon(
            &[
                "tx",
                "transfer",
                "--key",
                "alice.json",
                "--to",
                &bob,
                "--asset",
                asset,
                "--amount",
                amount,
                "--api",
                &api,
            ],
            dir.path(),
        )
    };
    assert_exit(&transfer("₩", "1"), 2, "neither an asset id nor a symbol");
    assert_exit(&transfer("KRW", "12x"), 2, "--amount");
    let o = jeon(
        &[
            "tx",
            "create-asset",
            "--key",
            "alice.json",
            "--symbol",
            "TOO-LONG-SYMBOL",
            "--decimals",
            "2",
            "--kind",
            "credit",
            "--api",
            &api,
        ],
        dir.path(),
    );
    assert_exit(&o, 2, "invalid asset symbol");
    let o = jeon(&["query", "status", "--api", "ftp://example"], dir.path());
    assert_exit(&o, 2, "only http:// is supported");
    let o = jeon(&["bench", "--batch", "20000", "--api", &api], dir.path());
    assert_exit(&o, 2, "--batch must be 1 to 10000");
}

#[test]
fn an_unreachable_node_exits_3_not_1_like_a_rejection() {
    let (dir, bob) = dir_with_key();
    let api = dead_api();
    let o = jeon(&["query", "status", "--api", &api], dir.path());
    assert_exit(&o, 3, &format!("cannot reach the node at {api}"));
    let o = jeon(
        &[
            "tx",
            "transfer",
            "--key",
            "alice.json",
            "--to",
            &bob,
            "--asset",
            "KRW",
            "--amount",
            "50000",
            "--api",
            &api,
        ],
        dir.path(),
    );
    assert_exit(&o, 3, "cannot reach the node");
    // JEON_API is honoured when --api is absent.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_jeon"))
        .args(["query", "assets"])
        .env("JEON_API", &api)
        .output()
        .unwrap();
    assert_exit(&o, 3, &format!("cannot reach the node at {api}"));
}

/// Serves one HTTP request with `status` and a JSON `body`, then closes.
fn serve_once(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
            line.clear();
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).unwrap();
    });
    api
}

#[test]
fn the_nodes_error_message_and_code_are_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let api = serve_once(
        "404 Not Found",
        r#"{"error":{"code":"unknown_block","message":"no final block at height 99; the head is 3"}}"#,
    );
    let o = jeon(&["query", "block", "99", "--api", &api], dir.path());
    assert_exit(
        &o,
        1,
        "error: no final block at height 99; the head is 3 (unknown_block)",
    );
}
