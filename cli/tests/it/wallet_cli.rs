//! The CLI as a wallet user meets it, against a real `jeon dev`: amounts in won,
//! `--output json` on every command, the documented exit codes, the dry run that
//! refuses a call bound to fail before it costs a fee, and a `jeon dev` banner whose
//! commands work as printed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use std::time::Duration;

use crate::common::{balance, free_port, get, jeon, run, tx_status, wait_until, DevNode};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn key(node: &DevNode, name: &str) -> String {
    let path = node.data.join("keys").join(format!("{name}.json"));
    path.to_str().expect("utf-8 path").to_owned()
}

/// `jeon tx transfer` from alice to `to` of `amount` (as typed), waiting.
fn transfer(node: &DevNode, to: &str, amount: &str, extra: &[&str]) -> Output {
    let alice = key(node, "alice");
    let mut args = vec![
        "tx", "transfer", "--key", &alice, "--to", to, "--asset", "KRW", "--amount", amount,
        "--wait", "--api", &node.api,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn nonce(api: &str, who: &str) -> u64 {
    get(api, &format!("/v1/accounts/{who}")).map_or(0, |a| a["nonce"].as_u64().unwrap_or(0))
}

#[test]
fn amounts_in_won_round_trip_and_too_many_decimals_or_overflow_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let bob = jeon_runtime::Keypair::from_seed_label("won-counter").address();
    let bob_text = bob.to_string();
    let mut expected = 0;
    for (typed, units) in [
        ("5.00", 500),
        ("₩5", 500),
        ("5KRW", 500),
        ("0.01", 1),
        ("500", 500),
    ] {
        let o = transfer(&node, &bob_text, typed, &[]);
        assert_eq!(o.status.code(), Some(0), "{typed}: {}", stderr(&o));
        expected += units;
        assert_eq!(
            balance(&node.api, &bob, 0),
            expected,
            "{typed} is {units} units"
        );
    }

    // What the text output shows reads back as the same amount.
    let o = run(&[
        "query", "account", &bob_text, "--api", &node.api, "--output", "text",
    ]);
    let text = stdout(&o);
    let shown = format!(
        "amount: {expected} (₩{}.{:02})",
        expected / 100,
        expected % 100
    );
    assert!(text.contains(&shown), "{text}");
    let decimal = format!("{}.{:02}", expected / 100, expected % 100);
    let o = transfer(&node, &bob_text, &decimal, &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(balance(&node.api, &bob, 0), 2 * expected);

    let alice = node.key("alice").address().to_string();
    let nonce_before = nonce(&node.api, &alice);
    let refusals = [
        ("5.001", "has 3 decimals; KRW has 2"),
        (
            "184467440737095516.16",
            "more than the largest amount of KRW",
        ),
        ("99999999999999999999", "too large"),
        ("5STAMP", "is in STAMP, but the asset is KRW"),
        ("five", "no number"),
    ];
    for (typed, needle) in refusals {
        let o = transfer(&node, &bob_text, typed, &[]);
        assert_eq!(o.status.code(), Some(2), "{typed}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{typed}: {}", stderr(&o));
    }
    assert_eq!(nonce(&node.api, &alice), nonce_before, "nothing was signed");

    // Limits are amounts too: a ₩9,900-a-day subscription is 990000 units.
    let cafe = node.key("dalbit-cafe").address().to_string();
    let alice_key = key(&node, "alice");
    let o = run(&[
        "tx",
        "grant-mandate",
        "--spender",
        &cafe,
        "--asset",
        "KRW",
        "--limit-per-period",
        "₩9900",
        "--expires-at",
        "100000",
        "--key",
        &alice_key,
        "--wait",
        "--api",
        &node.api,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let granted: Value = serde_json::from_slice(&o.stdout).unwrap();
    let event = &granted["receipt"]["events"];
    assert!(
        event.to_string().contains("\"limit_per_period\":990000"),
        "{granted}"
    );
}

#[test]
fn calls_bound_to_fail_are_refused_before_submission_and_cost_no_fee() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let alice_addr = node.key("alice").address();
    let alice = alice_addr.to_string();
    let bob = node.key("bob").address().to_string();
    let alice_key = key(&node, "alice");
    let krw_before = balance(&node.api, &alice_addr, 0);
    let nonce_before = nonce(&node.api, &alice);
    let api = node.api.as_str();
    let mistakes: [(&[&str], &str); 4] = [
        (
            &[
                "transfer",
                "--to",
                &bob,
                "--asset",
                "KRW",
                "--amount",
                "999999999999",
            ],
            "insufficient_balance",
        ),
        (
            &["transfer", "--to", &bob, "--asset", "77", "--amount", "1"],
            "unknown_asset",
        ),
        (
            &[
                "pay",
                "--merchant",
                &bob,
                "--asset",
                "KRW",
                "--amount",
                "₩5",
            ],
            "not_a_merchant",
        ),
        (
            &["transfer", "--to", &bob, "--asset", "KRW", "--amount", "0"],
            "zero_amount",
        ),
    ];
    for (args, code) in mistakes {
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--key", &alice_key, "--api", api]);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("not submitted") && err.contains("no fee"),
            "{err}"
        );
        assert!(err.contains(code), "{args:?}: expected {code} in {err}");
        let printed: Value = serde_json::from_slice(&o.stdout).expect("the simulation as JSON");
        assert_eq!(printed["submitted"], false, "{printed}");
        assert_eq!(printed["simulation"]["error"]["code"], code, "{printed}");
    }
    assert_eq!(
        balance(&node.api, &alice_addr, 0),
        krw_before,
        "no fee was taken"
    );
    assert_eq!(nonce(&node.api, &alice), nonce_before, "no nonce was spent");

    // --force submits it anyway: the chain rejects it and the fee is spent.
    let o = run(&[
        "tx",
        "pay",
        "--merchant",
        &bob,
        "--asset",
        "KRW",
        "--amount",
        "₩5",
        "--key",
        &alice_key,
        "--api",
        api,
        "--wait",
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let status: Value = serde_json::from_slice(&o.stdout).expect("status JSON");
    assert_eq!(status["status"], "rejected", "{status}");
    assert!(
        balance(&node.api, &alice_addr, 0) < krw_before,
        "the fee was spent"
    );
    assert_eq!(nonce(&node.api, &alice), nonce_before + 1);
}

#[test]
fn exit_codes_are_0_ok_1_failed_2_bad_input_3_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let api = node.api.as_str();
    let bob = node.key("bob").address().to_string();
    let code = |o: Output| o.status.code();
    assert_eq!(code(run(&["query", "status", "--api", api])), Some(0));
    // A new address is an account with nothing yet, not an error.
    let fresh = jeon_runtime::Keypair::from_seed_label("never-seen")
        .address()
        .to_string();
    let o = run(&["query", "account", &fresh, "--api", api]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            shown["nonce"].as_u64(),
            shown["balances"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    // An unknown transaction is not a success.
    let unknown = "ab".repeat(32);
    let o = run(&["query", "tx", &unknown, "--api", api]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not know this transaction"));
    // Rejected by the dry run: 1. Bad input: 2. Unreachable: 3.
    let o = transfer(&node, &bob, "999999999999", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(code(transfer(&node, &bob, "1.234", &[])), Some(2));
    assert_eq!(
        code(run(&["query", "account", "jeon1nope", "--api", api])),
        Some(2)
    );
    assert_eq!(
        code(run(&["query", "status", "--output", "yaml", "--api", api])),
        Some(2)
    );
    let dead = format!("http://127.0.0.1:{}", free_port());
    let o = run(&["query", "status", "--api", &dead]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let alice_key = key(&node, "alice");
    let o = run(&[
        "tx", "transfer", "--key", &alice_key, "--to", &bob, "--asset", "KRW", "--amount", "5.00",
        "--api", &dead,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// Runs `args` with `--output json` and returns the parsed stdout (exit 0 expected).
fn json_of(args: &[&str], cwd: &Path) -> Value {
    let o = jeon()
        .args(args)
        .args(["--output", "json"])
        .current_dir(cwd)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&o)))
}

#[test]
fn output_json_is_one_valid_json_document_on_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let node = DevNode::start(&cwd.join("dev"), &[]);
    let api = node.api.as_str();
    let alice_key = key(&node, "alice");
    let alice = node.key("alice").address().to_string();
    let bob = node.key("bob").address().to_string();
    let cafe_key = key(&node, "dalbit-cafe");
    let cafe = node.key("dalbit-cafe").address().to_string();
    let studio = node.key("pixel-forge-games").address().to_string();
    let genesis = node.data.join("genesis.json");
    let genesis = genesis.to_str().unwrap();

    // Offline commands.
    json_of(&["keys", "new", "--out", "k.json"], cwd);
    json_of(&["keys", "show", "k.json"], cwd);
    json_of(
        &[
            "genesis",
            "new",
            "--preset",
            "dev",
            "--out",
            "g/genesis.json",
        ],
        cwd,
    );
    json_of(&["genesis", "validate", genesis], cwd);
    json_of(&["genesis", "hash", genesis], cwd);
    std::fs::write(cwd.join("pass"), "correct horse battery").unwrap();
    let seal = ["--passphrase-file", "pass", "--scrypt-log-n", "10"];
    json_of(
        &[
            &["keys", "new", "--encrypt", "--out", "k2.keystore.json"][..],
            &seal,
        ]
        .concat(),
        cwd,
    );
    json_of(&[&["keys", "encrypt", "k.json"][..], &seal].concat(), cwd);
    let init = json_of(
        &[
            &["init", "--dir", "partner", "--genesis", genesis][..],
            &seal,
        ]
        .concat(),
        cwd,
    );
    assert!(
        init["peer_id"]
            .as_str()
            .is_some_and(|p| p.starts_with("12D3KooW")),
        "{init}"
    );
    json_of(
        &["chaos", "generate", "--seed", "7", "--duration", "60"],
        cwd,
    );

    // Transactions: submitted, waited for, signed only.
    let tx = [
        "tx", "transfer", "--key", &alice_key, "--to", &bob, "--asset", "KRW",
    ];
    let sent = json_of(&[&tx[..], &["--amount", "₩1", "--api", api]].concat(), cwd);
    let hash = sent["hash"].as_str().expect("hash").to_owned();
    let final_ =
        |h: &str| tx_status(api, &h.parse().unwrap()).is_some_and(|s| s["status"] == "final");
    assert!(wait_until(Duration::from_secs(30), || final_(&hash)));
    let done = json_of(
        &[
            &tx[..],
            &[
                "--amount",
                "2.00",
                "--wait",
                "--genesis",
                genesis,
                "--api",
                api,
            ],
        ]
        .concat(),
        cwd,
    );
    assert_eq!(done["status"], "final", "{done}");
    json_of(
        &[&tx[..], &["--amount", "1", "--sign-only", "--api", api]].concat(),
        cwd,
    );
    // Signed for a co-signing fee payer, then co-signed and submitted by it.
    let studio_key = key(&node, "pixel-forge-games");
    let signed = json_of(
        &[
            &tx[..],
            &[
                "--amount",
                "1",
                "--sign-only",
                "--fee-payer",
                &studio,
                "--api",
                api,
            ],
        ]
        .concat(),
        cwd,
    );
    let signed_hex = signed["tx"].as_str().expect("tx").to_owned();
    json_of(
        &[
            "tx",
            "cosign",
            "--tx",
            &signed_hex,
            "--key",
            &studio_key,
            "--api",
            api,
        ],
        cwd,
    );
    // The bench's report (one JSON line).
    let funder = key(&node, "hanbit-bank");
    let report = json_of(
        &[
            "bench",
            "--api",
            api,
            "--txs",
            "10",
            "--accounts",
            "2",
            "--funder",
            &funder,
        ],
        cwd,
    );
    assert_eq!(report["finalized"], 10, "{report}");

    // Links.
    let made = json_of(
        &[
            "invoice",
            "new",
            "--key",
            &cafe_key,
            "--asset",
            "KRW",
            "--amount",
            "₩500",
            "--expires-in-blocks",
            "100",
            "--id",
            "9",
            "--api",
            api,
        ],
        cwd,
    );
    let link = made["link"].as_str().expect("link").to_owned();
    json_of(&["invoice", "show", "--link", &link, "--api", api], cwd);

    // A proof, verified offline.
    let proof = get(api, &format!("/v1/txs/{hash}/proof")).expect("proof");
    std::fs::write(cwd.join("proof.json"), proof.to_string()).unwrap();
    json_of(
        &["verify", "--proof", "proof.json", "--genesis", genesis],
        cwd,
    );

    // Every query.
    let queries: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["account", &alice],
        vec!["tx", &hash],
        vec!["block", "latest"],
        vec!["block", "1"],
        vec!["asset", "KRW"],
        vec!["assets"],
        vec!["tax", "KR"],
        vec!["settlement"],
        vec!["account-events", &alice],
        vec!["txs", &alice],
        vec!["blocks"],
        vec!["invoice", &cafe, "9"],
        vec!["redemptions", &cafe],
        vec!["mandates", &alice],
        vec!["credit", &alice],
        vec!["fees", "--account", &alice],
        vec!["sponsorships", &cafe],
        vec!["exchanges"],
        vec!["rules"],
        vec!["proposals"],
        vec!["validators"],
        vec!["params"],
        vec!["product", "0"],
        vec!["products", &studio],
        vec!["entitlements", &alice],
    ];
    for q in queries {
        let mut args = vec!["query"];
        args.extend_from_slice(&q);
        args.extend_from_slice(&["--api", api]);
        json_of(&args, cwd);
    }
}

#[test]
fn the_dev_banner_prints_commands_that_work_as_printed_from_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("elsewhere");
    let port = free_port();
    let mut child = jeon()
        .args(["dev", "--output", "text", "--data"])
        .arg(&data)
        .args(["--api", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.trim_start().starts_with("export ");
        banner.push(line);
        if done {
            break;
        }
    }
    let commands: Vec<&String> = banner
        .iter()
        .filter(|l| l.trim_start().starts_with("jeon "))
        .collect();
    assert_eq!(commands.len(), 3, "{banner:#?}");
    // The web app is served where the banner says (docs/web.md).
    let web = banner
        .iter()
        .find(|l| l.starts_with("web "))
        .unwrap_or_else(|| panic!("no web line: {banner:#?}"));
    assert!(web.contains(&format!("http://127.0.0.1:{port}/")), "{web}");
    let page = http_get(port, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("<script type=\"module\" src=\"/app.js\">"),
        "{page}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    for command in commands {
        let words: Vec<&str> = command.split_whitespace().skip(1).collect();
        let o = jeon()
            .args(&words)
            .env_remove("JEON_API")
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{command}: {}", stderr(&o));
        if command.contains("--wait") {
            // The genesis was found, so the status was verified, not taken on trust.
            let status: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert!(status.get("verified").is_some(), "{status}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    // With --output json the same start prints one JSON line a script reads.
    let port = free_port();
    let mut child = jeon()
        .args(["dev", "--output", "json", "--data"])
        .arg(&data)
        .args(["--api", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap()).lines().next();
    let _ = child.kill();
    let _ = child.wait();
    let line = first.expect("a line").unwrap();
    let started: Value = serde_json::from_str(&line).expect("one JSON line");
    assert_eq!(
        started["api"],
        format!("http://127.0.0.1:{port}"),
        "{started}"
    );
    assert!(started["genesis"]
        .as_str()
        .unwrap()
        .ends_with("genesis.json"));
}

#[test]
fn a_readable_link_shows_its_amount_pays_once_and_a_changed_one_is_refused_for_free() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let node = DevNode::start(&cwd.join("dev"), &[]);
    let api = node.api.as_str();
    let cafe_key = key(&node, "dalbit-cafe");
    let alice_key = key(&node, "alice");
    let alice = node.key("alice").address();
    let made = json_of(
        &[
            "invoice",
            "new",
            "--key",
            &cafe_key,
            "--asset",
            "KRW",
            "--amount",
            "₩500",
            "--expires-in-blocks",
            "100",
            "--id",
            "77",
            "--memo",
            "table 4",
            "--api",
            api,
        ],
        cwd,
    );
    let link = made["link"].as_str().unwrap().to_owned();
    assert!(link.contains("&amount=500.00&asset=KRW&id=77&"), "{link}");
    assert!(link.contains("&memo=table%204&"), "{link}");
    // Offline, a wallet sees the fields as written.
    let shown = json_of(&["invoice", "show", &link], cwd);
    assert_eq!(
        (&shown["amount"], &shown["asset"]),
        (&Value::from("500.00"), &Value::from("KRW"))
    );

    let before = balance(api, &alice, 0);
    let nonce_before = nonce(api, &alice.to_string());
    let changed = link.replace("amount=500.00", "amount=5.00");
    let o = run(&[
        "tx",
        "pay-invoice",
        "--link",
        &changed,
        "--key",
        &alice_key,
        "--api",
        api,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad_invoice_signature"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        (balance(api, &alice, 0), nonce(api, &alice.to_string())),
        (before, nonce_before)
    );

    let paid = json_of(
        &[
            "tx",
            "pay-invoice",
            "--link",
            &link,
            "--key",
            &alice_key,
            "--wait",
            "--api",
            api,
        ],
        cwd,
    );
    assert_eq!(paid["status"], "final", "{paid}");
    // The first form of the same invoice is the same invoice: already paid.
    let old = made["link_encoded"].as_str().unwrap();
    let o = run(&[
        "tx",
        "pay-invoice",
        "--link",
        old,
        "--key",
        &alice_key,
        "--api",
        api,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("invoice_already_paid"),
        "{}",
        stderr(&o)
    );
}

/// A plain `GET` over HTTP/1.1 to the local API: the whole answer, head and body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
