//! The economy end to end through the CLI only, on `jeon dev`: the cafe's cashback and
//! stamp rules, ten ₩500 payments by alice, the tax report, an exchange agreement with
//! the game studio and a conversion, stamps to a voucher, a cash-out settled by the
//! cafe; and the cafe's filtered event stream (`GET /v1/events?account=<cafe>`) shows
//! each redemption request as it happens. Expected figures follow docs/economy.md.

use std::io::{BufRead, BufReader};
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{balance, get, jeon, DevNode};
use serde_json::Value;

/// Units of KRW in ₩500 (2 decimals).
const LATTE: u64 = 50_000;
/// KR withholds 10 %: floor(50 000 × 1 000 / 10 000).
const LATTE_TAX: u64 = 5_000;
/// The cashback rule: 1 % of each payment, at most 1 200 CAFE units per payer per period.
const CASHBACK_BPS: u64 = 100;
const CASHBACK_CAP: u64 = 1_200;
/// A rule period long enough that the test never crosses into a fresh cap.
const RULE_PERIOD_MS: &str = "1000000000000000";
/// The game studio's stock of GEM, its liquidity for conversions.
const GEM_STOCK: u64 = 1_000_000;

fn run(args: &[&str]) -> Output {
    jeon().args(args).env_remove("JEON_API").output().unwrap()
}

/// Runs a command that must succeed and print one JSON document.
fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The town: the node, its partners' and users' addresses and key files.
struct Town {
    node: DevNode,
    cafe: String,
    studio: String,
    alice: String,
    authority: String,
}

impl Town {
    fn key(&self, name: &str) -> String {
        let path = self.node.data.join("keys").join(format!("{name}.json"));
        path.to_str().unwrap().to_owned()
    }

    /// `jeon tx <args> --key <signer> --wait`: must be final.
    fn tx(&self, signer: &str, args: &[&str]) -> Value {
        let key = self.key(signer);
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        let api = &self.node.api;
        all.extend_from_slice(&["--key", &key, "--wait", "--force", "--api", api]);
        let done = json(&all);
        assert_eq!(done["status"], "final", "{args:?}: {done}");
        done
    }

    /// `jeon tx <args> --key <signer>` (no `--force`): the dry run refuses it with
    /// `code`, exit 1, and it costs the signer nothing (fee asset balance and nonce).
    fn refused_for_free(&self, signer: &str, args: &[&str], code: &str) {
        let who: jeon_runtime::Address = self.node.key(signer).address();
        let api = &self.node.api;
        let nonce = |a: &jeon_runtime::Address| {
            get(api, &format!("/v1/accounts/{a}"))
                .and_then(|v| v["nonce"].as_u64())
                .unwrap_or(0)
        };
        let (krw, n) = (balance(api, &who, 0), nonce(&who));
        let key = self.key(signer);
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--key", &key, "--api", api]);
        let o = run(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("not submitted") && err.contains(code),
            "{args:?}: {err}"
        );
        assert_eq!(
            (balance(api, &who, 0), nonce(&who)),
            (krw, n),
            "{args:?} cost a fee"
        );
    }

    fn query(&self, args: &[&str]) -> Value {
        let mut all = vec!["query"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--api", &self.node.api]);
        json(&all)
    }

    fn asset(&self, symbol: &str) -> u32 {
        let a = self.query(&["asset", symbol]);
        u32::try_from(a["id"].as_u64().unwrap()).unwrap()
    }

    fn balance(&self, who: &str, symbol: &str) -> u64 {
        balance(&self.node.api, &who.parse().unwrap(), self.asset(symbol))
    }
}

/// Follows `GET /v1/events?account=<who>` on a thread; sends every event's JSON.
fn subscribe(api: &str, who: &str) -> mpsc::Receiver<Value> {
    let url = format!("{api}/v1/events?account={who}");
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        // No timeout: the stream stays open for the whole test.
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .unwrap();
        let resp = client.get(url).send().unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let _ = ready_tx.send(());
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data:") {
                if tx.send(serde_json::from_str(data.trim()).unwrap()).is_err() {
                    return;
                }
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    rx
}

/// Waits for the next `redemption_requested` on the stream; every event seen on the
/// way must name `who` (the stream is filtered to it).
fn next_redemption_request(events: &mpsc::Receiver<Value>, who: &str) -> Value {
    loop {
        let e = events
            .recv_timeout(Duration::from_secs(30))
            .expect("the redemption request reaches the partner's stream");
        assert!(
            e["event"].to_string().contains(who),
            "an event not naming {who} passed the filter: {e}"
        );
        if let Some(r) = e["event"].get("redemption_requested") {
            return r.clone();
        }
    }
}

fn start_town(dir: &std::path::Path) -> Town {
    let node = DevNode::start(&dir.join("dev"), &[]);
    let addr = |name: &str| node.key(name).address().to_string();
    Town {
        cafe: addr("dalbit-cafe"),
        studio: addr("pixel-forge-games"),
        alice: addr("alice"),
        authority: addr("kr-tax-authority"),
        node,
    }
}

/// The cafe issues CAFE (cashback), STAMP and VOUCHER and attaches two rules to its own
/// payments; the studio issues GEM and holds a stock of it.
fn set_up_partners(t: &Town) {
    let cafe = "dalbit-cafe";
    for (symbol, decimals) in [("CAFE", "2"), ("STAMP", "0"), ("VOUCHER", "0")] {
        t.tx(
            cafe,
            &[
                "create-asset",
                "--symbol",
                symbol,
                "--decimals",
                decimals,
                "--kind",
                "credit",
            ],
        );
    }
    let studio = "pixel-forge-games";
    t.tx(
        studio,
        &[
            "create-asset",
            "--symbol",
            "GEM",
            "--decimals",
            "0",
            "--kind",
            "credit",
        ],
    );
    let stock = GEM_STOCK.to_string();
    t.tx(
        studio,
        &[
            "mint", "--asset", "GEM", "--to", &t.studio, "--amount", &stock,
        ],
    );
    let rate = CASHBACK_BPS.to_string();
    let cap = CASHBACK_CAP.to_string();
    t.tx(
        cafe,
        &[
            "add-cashback-rule",
            "--merchant",
            &t.cafe,
            "--pay-asset",
            "KRW",
            "--asset",
            "CAFE",
            "--rate-bps",
            &rate,
            "--cap",
            &cap,
            "--period-ms",
            RULE_PERIOD_MS,
        ],
    );
    t.tx(
        cafe,
        &[
            "add-stamp-rule",
            "--merchant",
            &t.cafe,
            "--asset",
            "STAMP",
            "--per-payment",
            "1",
            "--cap",
            "10",
            "--period-ms",
            RULE_PERIOD_MS,
        ],
    );
    let rules = t.query(&["rules", "--merchant", &t.cafe]);
    assert_eq!(rules["rules"].as_array().unwrap().len(), 2, "{rules}");
}

#[test]
fn ten_lattes_earn_capped_cashback_and_stamps_that_convert_redeem_and_cash_out() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_town(dir.path());
    let api = t.node.api.clone();
    let events = subscribe(&api, &t.cafe);
    set_up_partners(&t);
    let fee = get(&api, "/v1/status").unwrap()["fee"]["base_fee"]
        .as_u64()
        .unwrap();

    // Ten ₩500 lattes: each withholds ₩50, the cafe keeps ₩450; cashback 500 CAFE a
    // latte until the 1 200 cap (500, 500, 200, then skipped); one stamp each.
    let alice_krw = t.balance(&t.alice, "KRW");
    let cafe_krw = t.balance(&t.cafe, "KRW");
    let authority_krw = t.balance(&t.authority, "KRW");
    let latte = LATTE.to_string();
    for i in 0..10 {
        let reference = format!("latte-{i}");
        let done = t.tx(
            "alice",
            &[
                "pay",
                "--merchant",
                &t.cafe,
                "--asset",
                "KRW",
                "--amount",
                &latte,
                "--reference",
                &reference,
            ],
        );
        let receipt = done["receipt"]["events"].to_string();
        let expect = if i < 3 {
            "reward_granted"
        } else {
            "cap_reached"
        };
        assert!(receipt.contains(expect), "latte {i}: {receipt}");
    }
    assert_eq!(t.balance(&t.alice, "KRW"), alice_krw - 10 * (LATTE + fee));
    assert_eq!(
        t.balance(&t.cafe, "KRW"),
        cafe_krw + 10 * (LATTE - LATTE_TAX)
    );
    assert_eq!(
        t.balance(&t.authority, "KRW"),
        authority_krw + 10 * LATTE_TAX
    );
    assert_eq!(t.balance(&t.alice, "CAFE"), CASHBACK_CAP);
    assert_eq!(t.balance(&t.alice, "STAMP"), 10);

    // The tax report: ₩500 of KRW withheld in all (a range of two days, in case the
    // test crossed midnight UTC).
    let today = get(&api, "/v1/status").unwrap()["time_ms"]
        .as_u64()
        .unwrap()
        / 86_400_000;
    let (from, to) = ((today - 1).to_string(), today.to_string());
    let tax = t.query(&["tax", "KR", "--from", &from, "--to", &to]);
    assert_eq!(
        tax["totals"],
        serde_json::json!([[0, 10 * LATTE_TAX]]),
        "{tax}"
    );

    // The cafe proposes CAFE → GEM at 2/1 with a 2.5 % spread, settled at 3 KRW units
    // per GEM; the studio accepts. Alice converts 1 000 CAFE: gross 2 000, spread 50,
    // out 1 950; the cafe takes its 1 000 CAFE back.
    t.tx(
        "dalbit-cafe",
        &[
            "propose-exchange",
            "--from-asset",
            "CAFE",
            "--to-asset",
            "GEM",
            "--rate-num",
            "2",
            "--rate-den",
            "1",
            "--spread-bps",
            "250",
            "--daily-cap",
            "5000",
            "--settlement-asset",
            "KRW",
            "--settlement-price",
            "3",
        ],
    );
    let proposed = t.query(&["exchanges"]);
    let id = proposed["exchanges"][0]["id"].as_u64().unwrap().to_string();
    assert_eq!(proposed["exchanges"][0]["active"], false, "{proposed}");
    t.tx("pixel-forge-games", &["accept-exchange", "--id", &id]);
    // Asking for more than the rate gives is refused before it costs a fee.
    t.refused_for_free(
        "alice",
        &[
            "convert",
            "--from-asset",
            "CAFE",
            "--amount",
            "1000",
            "--to-asset",
            "GEM",
            "--min-out",
            "1951",
        ],
        "below_min_out",
    );
    t.tx(
        "alice",
        &[
            "convert",
            "--from-asset",
            "CAFE",
            "--amount",
            "1000",
            "--to-asset",
            "GEM",
            "--min-out",
            "1950",
        ],
    );
    assert_eq!(t.balance(&t.alice, "CAFE"), CASHBACK_CAP - 1_000);
    assert_eq!(t.balance(&t.alice, "GEM"), 1_950);
    assert_eq!(t.balance(&t.studio, "GEM"), GEM_STOCK - 1_950);
    assert_eq!(t.balance(&t.cafe, "CAFE"), 1_000);
    let settlement = t.query(&["settlement", "--from", &from, "--to", &to]);
    let net = &settlement["net"][0];
    assert_eq!(net["owes"], t.cafe.as_str(), "{settlement}");
    assert_eq!(net["owed"], t.studio.as_str(), "{settlement}");
    assert_eq!(net["amount"], 1_950 * 3, "{settlement}");

    // Ten stamps make a voucher; the voucher is redeemed for a cake at the cafe, and
    // the cafe's stream shows the request as it happens.
    t.tx(
        "dalbit-cafe",
        &[
            "set-stamp-reward",
            "--stamp-asset",
            "STAMP",
            "--stamps",
            "10",
            "--reward-asset",
            "VOUCHER",
            "--reward-amount",
            "1",
        ],
    );
    t.tx(
        "alice",
        &["redeem-stamps", "--stamp-asset", "STAMP", "--count", "10"],
    );
    assert_eq!(t.balance(&t.alice, "STAMP"), 0);
    assert_eq!(t.balance(&t.alice, "VOUCHER"), 1);
    t.tx(
        "alice",
        &[
            "redeem", "--asset", "VOUCHER", "--amount", "1", "--goods", &t.cafe,
        ],
    );
    let cake = next_redemption_request(&events, &t.cafe);
    assert_eq!(cake["amount"], 1, "{cake}");
    let cake_id = cake["id"].as_u64().unwrap().to_string();
    t.tx(
        "dalbit-cafe",
        &[
            "settle-redemption",
            "--id",
            &cake_id,
            "--payout-reference",
            "cake-1",
        ],
    );
    assert_eq!(t.balance(&t.alice, "VOUCHER"), 0);

    // Redeeming more than she holds is refused before it costs a fee.
    t.refused_for_free(
        "alice",
        &[
            "redeem",
            "--asset",
            "CAFE",
            "--amount",
            "201",
            "--cash-out",
            &t.alice,
        ],
        "insufficient_balance",
    );
    // Alice cashes out her last 200 CAFE: they wait in escrow, listed for the cafe,
    // until it settles (and burns them).
    t.tx(
        "alice",
        &[
            "redeem",
            "--asset",
            "CAFE",
            "--amount",
            "200",
            "--cash-out",
            &t.alice,
        ],
    );
    let cash = next_redemption_request(&events, &t.cafe);
    assert_eq!(cash["amount"], 200, "{cash}");
    assert_eq!(t.balance(&t.alice, "CAFE"), 0);
    let pending = t.query(&["redemptions", "--issuer", &t.cafe]);
    assert_eq!(pending["redemptions"][0]["id"], cash["id"], "{pending}");
    let cash_id = cash["id"].as_u64().unwrap().to_string();
    t.tx(
        "dalbit-cafe",
        &[
            "settle-redemption",
            "--id",
            &cash_id,
            "--payout-reference",
            "krw-payout-1",
        ],
    );
    let pending = t.query(&["redemptions", "--issuer", &t.cafe]);
    assert_eq!(pending["redemptions"], serde_json::json!([]), "{pending}");
    let cafe_asset = t.query(&["asset", "CAFE"]);
    assert_eq!(cafe_asset["supply"], CASHBACK_CAP - 200, "{cafe_asset}");

    // Alice's history names every step, newest first: the settlement last.
    let history = t.query(&["account-events", &t.alice, "--limit", "5"]);
    let newest = history["events"][0]["event"].to_string();
    assert!(newest.contains("redemption_settled"), "{history}");
    assert!(history["next_before"].is_string(), "{history}");

    // The cafe's dashboard figures, summed by the node from its own history
    // (`GET /v1/partners/{addr}/daily`, docs/web.md): the ten payments with their
    // tax, the capped cashback, and its redemptions, each settled.
    let daily = get(
        &api,
        &format!("/v1/partners/{}/daily?from={from}&to={to}", t.cafe),
    )
    .unwrap();
    assert_eq!(daily["complete"], true, "{daily}");
    let days = daily["days"].as_array().unwrap();
    let sum = |f: &dyn Fn(&Value) -> u64| days.iter().map(f).sum::<u64>();
    let krw = |d: &Value, field: &str| {
        d["payments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["asset"] == 0)
            .map(|p| p[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum(&|d| krw(d, "count")), 10, "{daily}");
    assert_eq!(sum(&|d| krw(d, "gross")), 10 * LATTE, "{daily}");
    assert_eq!(sum(&|d| krw(d, "tax")), 10 * LATTE_TAX, "{daily}");
    let cafe_id = u64::from(t.asset("CAFE"));
    let cashback = sum(&|d| {
        d["cashback"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["asset"] == cafe_id)
            .map(|c| c["amount"].as_u64().unwrap())
            .sum::<u64>()
    });
    assert_eq!(cashback, CASHBACK_CAP, "{daily}");
    let requested = sum(&|d| d["redemptions"]["requested"].as_u64().unwrap());
    let settled = sum(&|d| d["redemptions"]["settled"].as_u64().unwrap());
    assert!(requested >= 2 && settled == requested, "{daily}");
    // Alice is no merchant: her figures have no payments received.
    let hers = get(
        &api,
        &format!("/v1/partners/{}/daily?from={from}&to={to}", t.alice),
    )
    .unwrap();
    assert!(
        hers["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["payments"] == serde_json::json!([])),
        "{hers}"
    );
}

#[test]
fn economy_queries_refuse_bad_parameters_with_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_town(dir.path());
    let api = &t.node.api;
    let code = |path: &str| {
        let resp = reqwest::blocking::get(format!("{api}{path}")).unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().unwrap();
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(code("/v1/tax/KR?from=x"), (400, "bad_query".into()));
    assert_eq!(code("/v1/tax/KR?from=5&to=1"), (400, "bad_range".into()));
    let cafe = &t.cafe;
    assert_eq!(
        code(&format!("/v1/partners/{cafe}/daily?from=5&to=1")),
        (400, "bad_range".into())
    );
    assert_eq!(
        code(&format!("/v1/partners/{cafe}/daily?colour=red")),
        (400, "bad_query".into())
    );
    assert_eq!(code("/v1/partners/nope/daily"), (400, "bad_address".into()));
    assert_eq!(code("/v1/tax/KR?from=0&to=400"), (400, "bad_range".into()));
    assert_eq!(code("/v1/tax/ZZ"), (404, "unknown_jurisdiction".into()));
    assert_eq!(code("/v1/settlement?day=1"), (400, "bad_query".into()));
    assert_eq!(code("/v1/redemptions"), (400, "bad_query".into()));
    assert_eq!(
        code("/v1/redemptions?issuer=nope"),
        (400, "bad_address".into())
    );
    assert_eq!(code("/v1/exchanges?limit=0"), (400, "bad_query".into()));
    assert_eq!(code("/v1/exchanges?limit=1001"), (400, "bad_query".into()));
    let alice = &t.alice;
    assert_eq!(
        code(&format!("/v1/accounts/{alice}/events?before=1.2")),
        (400, "bad_query".into())
    );
    assert_eq!(code("/v1/events?account=nope"), (400, "bad_address".into()));
    // A good query of an empty day answers with an empty report.
    let tax = get(api, "/v1/tax/KR").unwrap();
    assert_eq!(tax["entries"], serde_json::json!([]), "{tax}");
}

#[test]
fn a_small_pay_bench_sets_up_two_rules_and_sees_every_payment_final() {
    let dir = tempfile::tempdir().unwrap();
    let t = start_town(dir.path());
    let funder = t.key("hanbit-bank");
    let merchant = t.key("dalbit-cafe");
    let report = json(&[
        "bench",
        "--api",
        &t.node.api,
        "--txs",
        "400",
        "--accounts",
        "20",
        "--batch",
        "100",
        "--funder",
        &funder,
        "--mode",
        "pay",
        "--merchant-key",
        &merchant,
    ]);
    assert_eq!(report["mode"], "pay", "{report}");
    assert_eq!(report["finalized"], 400, "{report}");
    assert_eq!(report["refused"], 0, "{report}");
    let rules = t.query(&["rules", "--merchant", &t.cafe]);
    assert_eq!(rules["rules"].as_array().unwrap().len(), 2, "{rules}");
    // Each ₩1 payment earned 1 % cashback: one unit, and one stamp.
    let bench0 = jeon_runtime::Keypair::from_seed_label("bench-0")
        .address()
        .to_string();
    assert_eq!(t.balance(&bench0, "BENCHCB"), 20, "{report}");
    assert_eq!(t.balance(&bench0, "BENCHST"), 20, "{report}");
}
