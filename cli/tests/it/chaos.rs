//! `jeon chaos`: the CI manifest (4 validators under load with a kill -9, a SIGSTOP
//! pause, a disconnect through the harness's proxy, a clean restart and a wipe) keeps every
//! promise the checker knows; bad manifests are refused naming the problem; the
//! generator is deterministic. The checker's failures on forks, lost transactions,
//! double signs and stalls are unit tests in `cli/src/chaos/check.rs`.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::jeon;

/// The committed CI manifest.
fn ci_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/chaos/ci.toml")
}

#[cfg(unix)]
#[test]
fn the_ci_manifest_keeps_every_promise_under_kill_pause_disconnect_restart_and_wipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let output = jeon()
        .args(["chaos", "run", "--manifest"])
        .arg(ci_manifest())
        .arg("--out")
        .arg(&out)
        .env_remove("RUST_LOG")
        .output()
        .expect("run jeon chaos");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the report is JSON ({e}); stderr:\n{stderr}"));
    assert!(
        output.status.success(),
        "chaos run failed ({:?}):\n{report:#}\n{stderr}",
        output.status
    );
    assert_eq!(report["ok"], true);
    for check in [
        "final_txs_everywhere",
        "blocks_agree",
        "no_double_sign",
        "progress_after_perturbations",
        "no_silent_loss",
        "nodes_stay_up",
    ] {
        assert_eq!(report["checks"][check]["ok"], true, "{check}: {report:#}");
        assert!(
            report["checks"][check]["checked"].as_u64() > Some(0) || check == "no_silent_loss",
            "{check} checked something: {report:#}"
        );
    }
    // Every perturbation was applied, and the chain and the node recovered in time.
    let recoveries = report["recoveries"].as_array().expect("recoveries");
    let kinds: Vec<&str> = recoveries
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["kill", "pause", "disconnect", "restart", "wipe"]);
    for r in recoveries {
        assert!(r.get("skipped").is_none(), "{r}");
        assert!(r["chain_progress_ms"].as_u64() <= Some(20_000), "{r}");
        assert!(r["node_back_ms"].as_u64() <= Some(20_000), "{r}");
    }
    // The load really ran, and what was admitted became final.
    let load = &report["load"];
    let admitted = load["admitted"].as_u64().expect("admitted");
    assert!(admitted >= 5_000, "{load}");
    assert!(
        load["finalized"].as_u64() >= Some(admitted * 99 / 100),
        "{load}"
    );
    // The killed, the restarted and the wiped node started twice; the cut one ran
    // throughout (the paused one is the wiped one): their logs say so.
    for (node, starts) in [(0, 2), (1, 2), (2, 2), (3, 1)] {
        let log =
            std::fs::read_to_string(out.join(format!("node-{node}/node.log"))).expect("node log");
        let seen = log.matches("\"message\":\"consensus starting\"").count();
        assert_eq!(seen, starts, "node {node} started {seen} times");
    }
    // The wipe moved the chain data aside and kept the signer record.
    assert!(out.join("node-2/wiped-1/db").is_dir());
    assert!(out.join("node-2/data/signer/state").is_file());
    assert!(out.join("report.json").exists());
}

/// Runs a committed manifest and returns its report, asserting that it passed.
#[cfg(unix)]
fn run_passing(manifest: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = jeon()
        .args(["chaos", "run", "--manifest"])
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/chaos")
                .join(manifest),
        )
        .arg("--out")
        .arg(dir.path().join("run"))
        .env_remove("RUST_LOG")
        .output()
        .expect("run jeon chaos");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the report is JSON ({e}); stderr:\n{stderr}"));
    assert!(
        output.status.success() && report["ok"] == true,
        "{manifest} failed ({:?}):\n{report:#}\n{stderr}",
        output.status
    );
    report
}

#[cfg(unix)]
#[test]
fn validators_wiped_while_signing_the_height_in_progress_sign_it_again_after_resyncing() {
    // Two validators wiped (chain data moved aside, signer record kept) while a third is
    // down: each re-syncs to the height below its record and must resume that height
    // above its record, as a restart does; the gate used to wait for the chain to pass
    // the record, and with more than a third of the power waiting the chain halted.
    let report = run_passing("wipe-halt.toml");
    let kinds: Vec<&str> = report["recoveries"]
        .as_array()
        .expect("recoveries")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["kill", "wipe", "wipe"]);
    assert_eq!(report["checks"]["progress_after_perturbations"]["ok"], true);
}

#[test]
fn a_manifest_with_an_unknown_key_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "validators = 4\nduration_secs = 30\n[[perturbation]]\nat_secs = 1\nnode = 0\n\
         kind = \"pause\"\nduration_secs = 2\nsignal = \"STOP\"\n",
    )
    .expect("write");
    let output = jeon()
        .args(["chaos", "run", "--manifest"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .expect("run jeon chaos");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("signal"), "{stderr}");
    assert!(!dir.path().join("run").exists(), "nothing started");
}

#[test]
fn generate_is_deterministic_per_seed_and_its_output_runs_as_a_manifest() {
    let gen = |seed: &str, format: &str| {
        let out = jeon()
            .args(["chaos", "generate", "--seed", seed, "--duration", "300"])
            .args(["--output", format])
            .output()
            .expect("run jeon chaos generate");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let a = gen("42", "text");
    assert_eq!(a, gen("42", "text"));
    assert_ne!(a, gen("43", "text"));
    assert!(a.contains("[[perturbation]]"), "{a}");
    // `--output json`: the same manifest as one JSON document.
    let j = gen("42", "json");
    let parsed: Value = serde_json::from_str(&j).expect("--output json prints JSON");
    let toml_perturbations = a.matches("[[perturbation]]").count();
    assert_eq!(
        parsed["perturbation"].as_array().map(Vec::len),
        Some(toml_perturbations),
        "{j}"
    );
    // `chaos run` accepts either: an occupied --out is the only refusal left.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("occupied"), "x").expect("write");
    for (name, text) in [("gen.toml", &a), ("gen.json", &j)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let output = jeon()
            .args(["chaos", "run", "--manifest"])
            .arg(&path)
            .arg("--out")
            .arg(dir.path())
            .output()
            .expect("run jeon chaos");
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is not empty"), "{name}: {stderr}");
    }
}
