//! Tidy checks: the architecture invariants that `cargo test` enforces.
//!
//! - `jeon-runtime` is pure: none of its normal dependencies, direct or transitive, is
//!   an async runtime, a network stack, a database, a logger or a random generator.
//! - Only `runtime::codec` names bincode; the runtime never reads the clock, iterates
//!   a `HashMap`, draws randomness or prints.
//! - No `.unwrap()` outside test modules in the runtime, the node and genesis.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Crates the runtime must never depend on, with why. A crate is also refused if its
/// name starts with one of these and a dash (`tokio-util`, `libp2p-core`).
const FORBIDDEN_RUNTIME_DEPS: &[(&str, &str)] = &[
    ("tokio", "an async runtime"),
    ("libp2p", "the network"),
    ("sled", "the disk"),
    ("tracing", "logging"),
    ("rand", "randomness"),
];

/// Text no runtime source file may contain, with why.
const FORBIDDEN_RUNTIME_TEXT: &[(&str, &str)] = &[
    ("std::time", "execution must not read the clock"),
    (
        "HashMap",
        "iteration order must be deterministic: use BTreeMap",
    ),
    ("thread_rng", "execution must not draw randomness"),
    ("OsRng", "execution must not draw randomness"),
    ("println!", "the runtime does not print; it returns data"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn cargo_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Every package reachable from `root` over normal (not dev, not build) dependency
/// edges, as name -> the path of names that reaches it.
fn normal_dependency_closure(meta: &Value, root: &str) -> BTreeMap<String, Vec<String>> {
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve graph")
        .iter()
        .map(|n| (n["id"].as_str().expect("id"), n))
        .collect();
    let root_id = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .expect("the root package is in the workspace");

    let mut reached: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut visited: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<(&str, Vec<String>)> = vec![(root_id, vec![root.to_owned()])];
    while let Some((id, path)) = stack.pop() {
        if !visited.insert(id) {
            continue;
        }
        reached.insert(names[id].to_owned(), path.clone());
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                let dep_id = dep["pkg"].as_str().expect("pkg");
                let mut p = path.clone();
                p.push(names[dep_id].to_owned());
                stack.push((dep_id, p));
            }
        }
    }
    reached
}

fn is_forbidden(name: &str, forbidden: &str) -> bool {
    name == forbidden
        || name
            .strip_prefix(forbidden)
            .is_some_and(|rest| rest.starts_with('-'))
}

#[test]
fn the_runtime_depends_on_no_async_runtime_network_disk_logger_or_randomness() {
    let reached = normal_dependency_closure(&cargo_metadata(), "jeon-runtime");
    assert!(reached.contains_key("bincode"), "the walk found the codec");
    let mut offences = Vec::new();
    for (name, path) in &reached {
        for (forbidden, why) in FORBIDDEN_RUNTIME_DEPS {
            if is_forbidden(name, forbidden) {
                offences.push(format!("{name} ({why}) via {}", path.join(" -> ")));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "jeon-runtime must stay pure:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_forbidden_dependency_rule_matches_families_but_not_lookalikes() {
    assert!(is_forbidden("tokio", "tokio"));
    assert!(is_forbidden("libp2p-core", "libp2p"));
    assert!(!is_forbidden("rand_core", "rand"));
    assert!(!is_forbidden("randomize", "rand"));
}

/// All `.rs` files under `dir`, recursively, in path order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn only_the_codec_names_bincode() {
    let dir = workspace_root().join("runtime/src");
    let offenders: Vec<String> = rust_files(&dir)
        .into_iter()
        .filter(|p| !p.ends_with("codec.rs") && read(p).contains("bincode"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "only runtime/src/codec.rs may name bincode: {offenders:?}"
    );
}

#[test]
fn the_runtime_reads_no_clock_draws_no_randomness_iterates_no_hashmap_and_prints_nothing() {
    let dir = workspace_root().join("runtime/src");
    let mut offences = Vec::new();
    for path in rust_files(&dir) {
        for (n, line) in read(&path).lines().enumerate() {
            for (text, why) in FORBIDDEN_RUNTIME_TEXT {
                if line.contains(text) {
                    offences.push(format!("{}:{}: {text}: {why}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// The lines of `source` outside `#[cfg(test)]` items and comments, numbered from 1.
///
/// A `#[cfg(test)]` attribute hides the item that follows it up to its closing brace,
/// found by counting braces. Braces inside string or char literals would confuse the
/// count; the code this runs on has none in test-module headers, and a miscount shows
/// up as a false alarm, never as a missed `.unwrap()` in a module that is not a test.
fn non_test_code(source: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut pending_cfg_test = false;
    let mut depth: Option<i64> = None;
    for (n, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(d) = depth.as_mut() {
            *d += brace_balance(line);
            if *d <= 0 {
                depth = None;
            }
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test && !trimmed.starts_with("#[") && !trimmed.is_empty() {
            pending_cfg_test = false;
            let d = brace_balance(line);
            if d > 0 {
                depth = Some(d);
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push((n + 1, line));
    }
    out
}

fn brace_balance(line: &str) -> i64 {
    let code = line.split("//").next().unwrap_or_default();
    code.matches('{').count() as i64 - code.matches('}').count() as i64
}

#[test]
fn test_modules_are_recognised_and_skipped() {
    let source = "fn a() { x.unwrap(); }\n#[cfg(test)]\nmod tests {\n    fn b() {\n        y.unwrap();\n    }\n}\nfn c() {}\n// z.unwrap()\n";
    let kept: Vec<usize> = non_test_code(source).into_iter().map(|(n, _)| n).collect();
    assert_eq!(kept, vec![1, 8]);
}

#[test]
fn no_unwrap_outside_tests_in_the_runtime_node_and_genesis() {
    let root = workspace_root();
    let mut offences = Vec::new();
    for dir in ["runtime/src", "node/src", "genesis/src"] {
        for path in rust_files(&root.join(dir)) {
            let source = read(&path);
            for (n, line) in non_test_code(&source) {
                if line.contains(".unwrap()") {
                    offences.push(format!("{}:{n}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "handle the error or state the invariant with expect():\n{}",
        offences.join("\n")
    );
}
