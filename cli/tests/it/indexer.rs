//! `jeon index --postgres` against a real PostgreSQL (Debian's package; `.ci/run`
//! installs it) and a real `jeon dev`: purchases, a pass, a subscription with a renewal
//! and a lapse, a metered session and cashback; the indexer is killed with SIGKILL
//! mid-run at several points and restarted; afterwards every block is in the database
//! exactly once and every insights view equals the node's own answer
//! (`GET /v1/merchants/{addr}/insights`). Also the indexer's refusals: an unreachable
//! database or node, a newer schema, another chain.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{free_port, get, jeon, run, DevNode, Town};

/// A PostgreSQL cluster of our own in a temp dir, stopped (by PID) on drop.
struct Postgres {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

fn pg_bin(name: &str) -> PathBuf {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .max();
    found.unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/{name}): run `apt-get install postgresql` (.ci/run does)"
        )
    })
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `bin` run as the `postgres` user when we are root (PostgreSQL refuses root). Where
/// /dev/null is not writable by others (some containers), initdb's shell redirections
/// fail: the command then runs in a mount namespace of its own with a writable file
/// bound over /dev/null (`dir/null`), which changes nothing outside it. The process
/// keeps its PID through `unshare`, `sh` and `setpriv` (each `exec`s the next).
fn as_postgres(bin: &Path, dir: &Path) -> Command {
    if !is_root() {
        return Command::new(bin);
    }
    use std::os::unix::fs::PermissionsExt;
    let null_ok = std::fs::metadata("/dev/null").is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
    let setpriv = [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
    ];
    if null_ok {
        let mut c = Command::new("setpriv");
        c.args(setpriv).arg(bin);
        return c;
    }
    let null = dir.join("null");
    std::fs::write(&null, b"").expect("write the null file");
    std::fs::set_permissions(&null, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let mut c = Command::new("unshare");
    c.args([
        "-m",
        "sh",
        "-c",
        "mount --bind \"$0\" /dev/null && exec setpriv \"$@\"",
    ])
    .arg(&null)
    .args(setpriv)
    .arg(bin);
    c
}

impl Postgres {
    fn start() -> Postgres {
        let dir = tempfile::tempdir().expect("tempdir");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(ok.success(), "chown the cluster's directory");
        }
        let data = dir.path().join("pg");
        let init = as_postgres(&pg_bin("initdb"), dir.path())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"])
            .arg(&data)
            .output()
            .expect("initdb");
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let child = as_postgres(&pg_bin("postgres"), dir.path())
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(dir.path())
            .args(["-c", "fsync=on"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let pg = Postgres {
            child,
            port,
            _dir: dir,
        };
        let up = crate::common::wait_until(Duration::from_secs(30), || {
            postgres::Client::connect(&pg.url("postgres"), postgres::NoTls).is_ok()
        });
        assert!(up, "PostgreSQL did not start on port {port}");
        pg.sql("postgres", "CREATE DATABASE jeon");
        pg
    }

    fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url("jeon"), postgres::NoTls).expect("connect")
    }

    fn sql(&self, db: &str, sql: &str) {
        let mut c = postgres::Client::connect(&self.url(db), postgres::NoTls).expect("connect");
        c.batch_execute(sql).expect(sql);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let _ = self.child.wait();
    }
}

fn indexer(pg: &Postgres, api: &str, extra: &[&str]) -> Command {
    let mut c = jeon();
    c.args(["index", "--postgres", &pg.url("jeon"), "--api", api])
        .args(extra)
        .env_remove("JEON_API");
    c
}

/// Purchases, a pass, a subscription renewed once then lapsed, a metered session and
/// cashback at the studio.
fn activity(town: &Town) {
    let studio = town.address("pixel-forge-games");
    let school = town.address("baeum-learning");
    let ok = |s: &Value| assert_eq!(s["status"], "final", "{s}");
    ok(&town.tx(
        "pixel-forge-games",
        &[
            "create-asset",
            "--symbol",
            "PIXEL",
            "--decimals",
            "2",
            "--kind",
            "credit",
        ],
    ));
    ok(&town.tx(
        "pixel-forge-games",
        &[
            "add-cashback-rule",
            "--merchant",
            &studio,
            "--pay-asset",
            "KRW",
            "--asset",
            "PIXEL",
            "--rate-bps",
            "1000",
            "--cap",
            "1000000",
            "--period-ms",
            "86400000",
        ],
    ));
    for product in ["0", "0", "1", "2"] {
        ok(&town.tx("alice", &["buy", "--product", product]));
    }
    ok(&town.tx("bob", &["buy", "--product", "1"]));
    let created = town.tx(
        "pixel-forge-games",
        &[
            "create-product",
            "--name",
            "Premium",
            "--kind",
            "subscription",
            "--period-ms",
            "4000",
            "--asset",
            "KRW",
            "--price",
            "₩990",
        ],
    );
    ok(&created);
    let product = first(&created, "product_created")["id"].to_string();
    let granted = town.tx(
        "alice",
        &[
            "grant-mandate",
            "--spender",
            &studio,
            "--asset",
            "KRW",
            "--limit-per-period",
            "198000",
            "--period-ms",
            "4000",
            "--expires-at",
            "1000000",
        ],
    );
    let mandate = first(&granted, "mandate_granted")["id"].to_string();
    let subscribed = town.tx(
        "alice",
        &["subscribe", "--product", &product, "--mandate-id", &mandate],
    );
    let id = first(&subscribed, "entitlement_issued")["id"].to_string();
    renew(town, &id, "subscription_renewed");
    ok(&town.tx("alice", &["revoke-mandate", "--mandate-id", &mandate]));
    renew(town, &id, "subscription_lapsed");
    // A metered lesson: 12 minutes at ₩50, claimed with the last receipt.
    let opened = town.tx(
        "alice",
        &[
            "open-meter",
            "--merchant",
            &school,
            "--asset",
            "KRW",
            "--unit-price",
            "₩50",
            "--budget",
            "₩5000",
        ],
    );
    let session = first(&opened, "meter_opened")["id"].to_string();
    let signed = json_of(&[
        "tx",
        "meter-receipt",
        "--session",
        &session,
        "--units",
        "12",
        "--key",
        &town.key("alice"),
        "--api",
        &town.node.api,
    ]);
    let signature = signed["signature"].as_str().expect("signature").to_owned();
    ok(&town.tx(
        "baeum-learning",
        &[
            "claim-meter",
            "--session",
            &session,
            "--units",
            "12",
            "--signature",
            &signature,
            "--close",
        ],
    ));
}

/// Renews entitlement `id` as soon as the runtime allows, expecting `kind`.
fn renew(town: &Town, id: &str, kind: &str) {
    for _ in 0..100 {
        let s = town.tx("pixel-forge-games", &["renew", "--entitlement", id]);
        if s["status"] == "final" {
            first(&s, kind);
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("entitlement {id} never renewed");
}

fn first<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e.get(kind))
        .unwrap_or_else(|| panic!("no {kind} in {status}"))
}

fn json_of(args: &[&str]) -> Value {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The views' figures for one merchant and period, shaped as the node's
/// `InsightsPeriod` (without its bounds).
fn from_views(db: &mut postgres::Client, merchant: &str, kind: &str, period: u64) -> Value {
    let p = period as i64;
    let args: [&(dyn postgres::types::ToSql + Sync); 3] = [&merchant, &kind, &p];
    let num = |r: &postgres::Row, i: usize| -> u64 {
        let s: String = r.get(i);
        s.parse().unwrap_or_else(|_| panic!("{s} is a count"))
    };
    let sales: Vec<Value> = db
        .query("SELECT product, asset, count::text, gross::text, tax::text FROM insights_sales WHERE merchant = $1 AND period_kind = $2 AND period = $3 ORDER BY product, asset", &args)
        .expect("insights_sales")
        .iter()
        .map(|r| json!({"product": r.get::<_, i64>(0), "asset": r.get::<_, i64>(1), "count": num(r, 2), "gross": num(r, 3), "tax": num(r, 4)}))
        .collect();
    let one = |db: &mut postgres::Client, sql: &str, n: usize| -> Vec<u64> {
        db.query_opt(sql, &args)
            .expect(sql)
            .map(|r| (0..n).map(|i| num(&r, i)).collect())
            .unwrap_or_else(|| vec![0; n])
    };
    let active = one(db, "SELECT active_passes::text, active_subscriptions::text FROM insights_active WHERE merchant = $1 AND period_kind = $2 AND period = $3", 2);
    let metered = one(db, "SELECT claims::text, units::text, amount::text FROM insights_metered WHERE merchant = $1 AND period_kind = $2 AND period = $3", 3);
    let churn = one(db, "SELECT lapsed::text, revoked::text, active_at_start::text FROM insights_churn WHERE merchant = $1 AND period_kind = $2 AND period = $3", 3);
    let cashback: Vec<Value> = db
        .query("SELECT asset, issued::text, redeemed::text, outstanding::text FROM insights_cashback WHERE merchant = $1 AND period_kind = $2 AND period = $3 ORDER BY asset", &args)
        .expect("insights_cashback")
        .iter()
        .map(|r| {
            let outstanding: String = r.get(3);
            let outstanding: i64 = outstanding.parse().expect("outstanding");
            json!({"asset": r.get::<_, i64>(0), "issued": num(r, 1), "redeemed": num(r, 2), "outstanding": outstanding})
        })
        .collect();
    json!({
        "period": period,
        "sales": sales,
        "active_passes": active[0],
        "active_subscriptions": active[1],
        "metered": {"claims": metered[0], "units": metered[1], "amount": metered[2]},
        "churn": {"lapsed": churn[0], "revoked": churn[1], "active_at_start": churn[2]},
        "cashback": cashback,
    })
}

/// Every period of the node's answer equals the views'.
fn views_equal_the_node(pg: &Postgres, api: &str, merchant: &str, kind: &str) -> usize {
    let answer = get(
        api,
        &format!("/v1/merchants/{merchant}/insights?period={kind}"),
    )
    .expect("insights");
    assert_eq!(answer["complete"], true, "{answer}");
    let mut db = pg.client();
    let periods = answer["periods"].as_array().expect("periods");
    for node in periods {
        let mut node = node.clone();
        let obj = node.as_object_mut().expect("object");
        obj.remove("start_ms");
        obj.remove("end_ms");
        let period = node["period"].as_u64().expect("period");
        assert_eq!(
            from_views(&mut db, merchant, kind, period),
            node,
            "{merchant} {kind} {period}"
        );
    }
    periods.len()
}

/// Blocks 1..=head, each once, with the node's transaction and event counts.
fn every_block_once(pg: &Postgres, api: &str) -> u64 {
    let mut db = pg.client();
    let r = db
        .query_one(
            "SELECT count(*), count(DISTINCT height), min(height), max(height) FROM blocks",
            &[],
        )
        .expect("blocks");
    let (n, distinct, lo, hi): (i64, i64, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
    assert_eq!((n, distinct, lo), (hi, hi, 1), "blocks 1..={hi} each once");
    let marker: String = db
        .query_one("SELECT value FROM jeon_meta WHERE key = 'height'", &[])
        .expect("marker")
        .get(0);
    assert_eq!(marker, hi.to_string(), "the marker names the last block");
    for h in 1..=hi {
        let block = get(api, &format!("/v1/blocks/{h}/events")).expect("block events");
        let receipts = block["receipts"].as_array().expect("receipts");
        let events: usize = receipts
            .iter()
            .map(|r| r["events"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
            + block["block_events"].as_array().map_or(0, Vec::len);
        let r = db
            .query_one(
                "SELECT (SELECT count(*) FROM txs WHERE height = $1), (SELECT count(*) FROM events WHERE height = $1), (SELECT hash FROM blocks WHERE height = $1)",
                &[&h],
            )
            .expect("counts");
        let (txs, evs, hash): (i64, i64, String) = (r.get(0), r.get(1), r.get(2));
        assert_eq!(
            (txs as usize, evs as usize),
            (receipts.len(), events),
            "block {h}"
        );
        assert_eq!(Some(hash.as_str()), block["hash"].as_str(), "block {h}");
    }
    hi as u64
}

#[test]
fn the_indexer_killed_mid_run_writes_every_block_once_and_its_views_equal_the_node() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let api = town.node.api.clone();
    // Kill -9 while the chain is being driven, at different points of the indexer's run.
    let mut kills = 0;
    let driver = std::thread::scope(|s| {
        let driving = s.spawn(|| activity(&town));
        for wait_ms in [150u64, 700, 1_300, 2_100] {
            let mut child = indexer(&pg, &api, &[])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("jeon index");
            std::thread::sleep(Duration::from_millis(wait_ms));
            let _ = Command::new("kill")
                .args(["-KILL", &child.id().to_string()])
                .status();
            let _ = child.wait();
            kills += 1;
        }
        driving.join()
    });
    driver.expect("the activity");
    assert!(kills >= 2);
    // The killed runs had written (so the kills fell mid-run, not before the first batch).
    let marker = pg
        .client()
        .query_opt("SELECT value FROM jeon_meta WHERE key = 'height'", &[])
        .expect("jeon_meta");
    assert!(marker.is_some(), "the killed indexers wrote nothing");
    // After the kills: catch up to the head and exit.
    let out = indexer(&pg, &api, &["--exit-at-head"])
        .output()
        .expect("jeon index");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    assert!(summary["to_height"].as_u64().is_some(), "{summary}");
    let head = every_block_once(&pg, &api);
    assert!(head >= summary["to_height"].as_u64().unwrap_or(u64::MAX));
    for merchant in ["pixel-forge-games", "baeum-learning"] {
        let addr = town.address(merchant);
        for kind in ["day", "month"] {
            assert!(views_equal_the_node(&pg, &api, &addr, kind) >= 1);
        }
    }
    // The figures are not all zero: the views saw the activity.
    let studio = town.address("pixel-forge-games");
    let answer = get(&api, &format!("/v1/merchants/{studio}/insights")).expect("insights");
    let today = &answer["periods"][0];
    assert!(
        today["sales"].as_array().is_some_and(|s| s.len() >= 3),
        "{today}"
    );
    assert_eq!(today["churn"]["lapsed"], 1, "{today}");
    assert!(today["active_passes"].as_u64() >= Some(2), "{today}");
    assert!(today["cashback"][0]["issued"].as_u64() > Some(0), "{today}");
    let shown = json_of(&[
        "query", "insights", &studio, "--output", "json", "--api", &api,
    ]);
    assert_eq!(
        shown["periods"], answer["periods"],
        "jeon query insights prints the answer"
    );
    let school = town.address("baeum-learning");
    let lessons = get(&api, &format!("/v1/merchants/{school}/insights")).expect("insights");
    assert_eq!(lessons["periods"][0]["metered"]["units"], 12, "{lessons}");
    refusals(&pg, &api);
}

/// Unreachable database (exit 1) and node (exit 3), a newer schema, another chain.
fn refusals(pg: &Postgres, api: &str) {
    let closed = format!("postgresql://postgres@127.0.0.1:{}/jeon", free_port());
    let o = run(&[
        "index",
        "--postgres",
        &closed,
        "--api",
        api,
        "--exit-at-head",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    let o = run(&["index", "--postgres", "postgresql://[nope", "--api", api]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let nowhere = format!("127.0.0.1:{}", free_port());
    let o = run(&[
        "index",
        "--postgres",
        &pg.url("jeon"),
        "--api",
        &nowhere,
        "--exit-at-head",
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let refused = |setup: &str, expect: &str| {
        pg.sql("jeon", setup);
        let o = indexer(pg, api, &["--exit-at-head"])
            .output()
            .expect("jeon index");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(expect), "{err}");
    };
    refused(
        "UPDATE jeon_meta SET value = '99' WHERE key = 'schema_version'",
        "newer than this jeon's",
    );
    pg.sql(
        "jeon",
        "UPDATE jeon_meta SET value = '1' WHERE key = 'schema_version'",
    );
    refused(
        "UPDATE jeon_meta SET value = 'ab' || value WHERE key = 'chain_id'",
        "index into another database",
    );
}
