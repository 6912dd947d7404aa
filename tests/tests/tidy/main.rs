//! Tidy checks: the architecture invariants that `cargo test` enforces.
//!
//! - `jeon-runtime` is pure: none of its normal dependencies, direct or transitive, is
//!   an async runtime, a network stack, a database, a logger or a random generator.
//! - Only `runtime::codec` names bincode; the runtime never reads the clock, iterates
//!   a `HashMap`, draws randomness or prints.
//! - No `.unwrap()` outside test modules in the runtime, the node and genesis.
//! - The consensus core (`node/src/consensus/`) is pure too: it names no async runtime,
//!   network, disk, clock or random generator; time and messages come in as inputs.
//! - No function outside tests is over [`FN_LINES_MAX`] lines.
//! - The node files the fuzz crate compiles alone (`#[path]` in `fuzz/src/lib.rs`:
//!   the wire messages, the API's request bodies) name no other part of the node and
//!   no crate the fuzz crate does not have.
//!
//! Each checker is a function of a file's path and contents, so the tests below also
//! run it on planted violations and on clean code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // In tests a panic is the failure report.

mod scan;

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

/// Identifiers the consensus core may not name, with why.
const FORBIDDEN_CONSENSUS_IDENTS: &[(&str, &str)] = &[
    (
        "tokio",
        "an async runtime: the core returns effects as data",
    ),
    ("libp2p", "the network: the core returns effects as data"),
    ("sled", "the disk: the shell persists"),
    ("Instant", "the clock: time comes in as an input"),
    ("SystemTime", "the clock: time comes in as an input"),
    ("rand", "randomness: the core must replay exactly"),
    ("thread_rng", "randomness: the core must replay exactly"),
    ("OsRng", "randomness: the core must replay exactly"),
];

/// The crates a file the fuzz crate compiles alone may `use` (the fuzz crate's
/// dependencies, and the file's own test module's `super`).
const FUZZ_STANDALONE_ROOTS: &[&str] = &[
    "std",
    "core",
    "serde",
    "serde_json",
    "hex",
    "thiserror",
    "jeon_runtime",
    "super",
];

/// The longest a function outside tests may be, in lines from `fn` to its closing brace.
const FN_LINES_MAX: usize = 100;

/// The source trees whose non-test code the function-length check covers.
const NON_TEST_SOURCE_DIRS: &[&str] = &[
    "runtime/src",
    "genesis/src",
    "node/src",
    "cli/src",
    "tests/src",
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
    let root = workspace_root();
    let offenders: Vec<String> = ["runtime/src", "node/src", "genesis/src", "cli/src"]
        .iter()
        .flat_map(|d| rust_files(&root.join(d)))
        .filter(|p| !p.ends_with("codec.rs") && read(p).contains("bincode"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "only runtime/src/codec.rs may name bincode (the node's storage uses codec::encode_compact): {offenders:?}"
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

/// Each use of a `forbidden` identifier in the non-test code of `source` (comments and
/// literals do not count), as `path:line: ident: why`.
fn forbidden_identifiers(path: &str, source: &str, forbidden: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in scan::non_test_lines(&scan::code_only(source)) {
        for ident in scan::identifiers(&line) {
            if let Some((_, why)) = forbidden.iter().find(|(f, _)| *f == ident) {
                out.push(format!("{path}:{n}: {ident}: {why}"));
            }
        }
    }
    out
}

/// Each function with a body in the non-test code of `source` longer than `max` lines,
/// as `path:line fn_name (N lines)`.
fn long_functions(path: &str, source: &str, max: usize) -> Vec<String> {
    scan::functions(source)
        .into_iter()
        .filter(|f| f.lines > max)
        .map(|f| format!("{path}:{} {} ({} lines)", f.line, f.name, f.lines))
        .collect()
}

/// Runs `check(path, contents)` on every `.rs` file under `dirs` of the workspace but
/// the `tests.rs` files (test modules kept beside the code), paths relative to the root.
fn check_tree(dirs: &[&str], check: impl Fn(&str, &str) -> Vec<String>) -> Vec<String> {
    let root = workspace_root();
    let mut out = Vec::new();
    for dir in dirs {
        for path in rust_files(&root.join(dir)) {
            if path.ends_with("tests.rs") {
                continue;
            }
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            out.extend(check(&shown, &read(&path)));
        }
    }
    out
}

#[test]
fn the_consensus_core_names_no_async_runtime_network_disk_clock_or_randomness() {
    let offences = check_tree(&["node/src/consensus"], |path, source| {
        forbidden_identifiers(path, source, FORBIDDEN_CONSENSUS_IDENTS)
    });
    assert!(
        offences.is_empty(),
        "the consensus core must stay pure (inputs in, effects out):\n{}",
        offences.join("\n")
    );
}

#[test]
fn no_function_outside_tests_is_over_100_lines() {
    let offences = check_tree(NON_TEST_SOURCE_DIRS, |path, source| {
        long_functions(path, source, FN_LINES_MAX)
    });
    assert!(
        offences.is_empty(),
        "split these functions (at most {FN_LINES_MAX} lines each):\n{}",
        offences.join("\n")
    );
}

/// A consensus file with one planted clock read, and the same file without it: test
/// modules, comments and string literals may name anything.
const CONSENSUS_FIXTURE: &str = r#"use std::time::Instant;
use crate::consensus::types::Height;

// tokio, libp2p and sled in a comment are fine; /* so is rand */
const NOTE: &str = "rand sled tokio";
pub fn operand(random: u64) -> u64 {
    random + 1
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    fn now() -> std::time::Instant { std::time::Instant::now() }
}
"#;

#[test]
fn the_consensus_checker_finds_a_planted_clock_and_nothing_in_clean_code() {
    assert_eq!(
        forbidden_identifiers("c.rs", CONSENSUS_FIXTURE, FORBIDDEN_CONSENSUS_IDENTS),
        vec!["c.rs:1: Instant: the clock: time comes in as an input".to_owned()]
    );
    let clean = CONSENSUS_FIXTURE.replacen("use std::time::Instant;", "", 1);
    assert_eq!(
        forbidden_identifiers("c.rs", &clean, FORBIDDEN_CONSENSUS_IDENTS),
        Vec::<String>::new()
    );
}

/// A function `name` of exactly `lines` lines whose body holds what could confuse a
/// brace counter: braces in strings, raw strings, chars and comments, and lifetimes.
fn fixture_fn(name: &str, lines: usize) -> String {
    let mut f = format!("fn {name}<'a>(x: &'a str) -> usize {{\n");
    let tricky = [
        "    let _ = \"}}}} {{\";",
        "    let _ = r#\"}} \" }}\"#;",
        "    let _ = ('}', '{', '\\'', b'}');",
        "    // }} a closing brace in a comment",
        "    /* { */",
        "    let _: &'a str = x;",
    ];
    for k in 0..lines - 3 {
        f.push_str(tricky.get(k).copied().unwrap_or("    let _ = 1;"));
        f.push('\n');
    }
    f.push_str("    0\n}\n");
    f
}

#[test]
fn the_length_checker_finds_a_planted_long_function_and_nothing_in_clean_code() {
    let exact = fixture_fn("exactly_the_limit", FN_LINES_MAX);
    let long = fixture_fn("one_line_too_long", FN_LINES_MAX + 1);
    let test_only = format!(
        "#[cfg(test)]\nmod tests {{\n{}}}\n",
        fixture_fn("long_test", 300)
    );
    let trait_decl = "trait T {\n    fn declared(&self) -> u8;\n}\n";
    let clean = format!("{trait_decl}{exact}{test_only}fn short() {{}}\n");
    assert_eq!(
        long_functions("f.rs", &clean, FN_LINES_MAX),
        Vec::<String>::new()
    );
    assert_eq!(scan::functions(&exact).len(), 1);
    assert_eq!(scan::functions(&exact)[0].lines, FN_LINES_MAX);

    let planted = format!("{clean}{long}");
    let line = clean.lines().count() + 1;
    assert_eq!(
        long_functions("f.rs", &planted, FN_LINES_MAX),
        vec![format!("f.rs:{line} one_line_too_long (101 lines)")]
    );
}

/// The workspace files that `lib` (the fuzz crate's root) compiles through
/// `#[path = "../../<file>"]`, relative to the workspace root.
fn fuzz_standalone_files(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("#[path = \"../../"))
        .filter_map(|rest| rest.strip_suffix("\"]"))
        .map(str::to_owned)
        .collect()
}

/// Why `source` would not compile as a module of the fuzz crate: a `crate::` path (the
/// node's crate root is not there), or a `use` of a crate outside `roots`.
fn standalone_offences(path: &str, source: &str, roots: &[&str]) -> Vec<String> {
    let code = scan::code_only(source);
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let at = format!("{path}:{}", n + 1);
        if line.contains("crate::") {
            out.push(format!("{at}: a crate:: path"));
        }
        let trimmed = line.trim_start();
        let used = trimmed
            .strip_prefix("pub use ")
            .or_else(|| trimmed.strip_prefix("use "));
        if let Some(root) = used.and_then(|u| u.split("::").next()) {
            let root = root.trim().trim_start_matches(['{', ':']);
            if !roots.contains(&root) && !root.is_empty() {
                out.push(format!("{at}: uses {root}"));
            }
        }
    }
    out
}

#[test]
fn the_node_files_the_fuzz_crate_compiles_alone_name_only_the_runtime() {
    let root = workspace_root();
    let files = fuzz_standalone_files(&read(&root.join("fuzz/src/lib.rs")));
    assert!(
        files.contains(&"node/src/wire.rs".to_owned()),
        "the fuzz crate compiles the wire messages: {files:?}"
    );
    let offences: Vec<String> = files
        .iter()
        .flat_map(|f| standalone_offences(f, &read(&root.join(f)), FUZZ_STANDALONE_ROOTS))
        .collect();
    assert!(
        offences.is_empty(),
        "fuzz/src/lib.rs compiles these files outside the node (docs/fuzzing.md); keep \
         node imports out of them:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_standalone_checker_finds_planted_node_imports_and_nothing_in_clean_code() {
    let lib = "#[path = \"../../node/src/wire.rs\"]\npub mod wire;\n";
    assert_eq!(
        fuzz_standalone_files(lib),
        vec!["node/src/wire.rs".to_owned()]
    );
    let clean = "//! crate:: in a doc is fine\nuse jeon_runtime::codec;\nuse serde::{Deserialize, Serialize};\n\
                 #[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
    assert_eq!(
        standalone_offences("w.rs", clean, FUZZ_STANDALONE_ROOTS),
        Vec::<String>::new()
    );
    let planted = format!("{clean}use crate::store::Store;\npub use tokio::sync::mpsc;\n");
    assert_eq!(
        standalone_offences("w.rs", &planted, FUZZ_STANDALONE_ROOTS),
        vec![
            "w.rs:8: a crate:: path".to_owned(),
            "w.rs:8: uses crate".to_owned(),
            "w.rs:9: uses tokio".to_owned(),
        ]
    );
}
