//! End to end: the real `jeon` binary's `keys` and `genesis` commands, their files,
//! output and exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn jeon(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jeon"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts a bad-input failure: exit code 2 and an `error:` line containing `needle`.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn keys_new_writes_an_owner_only_file_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = jeon(&["keys", "new", "--out", "k.json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("k.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let address = file["address"].as_str().unwrap();
    assert!(stdout(&o).contains(address), "prints the address");
    assert_eq!(file["secret_key"].as_str().unwrap().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir.path().join("k.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    let again = jeon(&["keys", "new", "--out", "k.json"], dir.path());
    assert_bad_input(&again, "already exists");
    let kept = std::fs::read_to_string(dir.path().join("k.json")).unwrap();
    assert_eq!(kept, text, "the first key is untouched");
}

#[test]
fn keys_new_without_out_prints_a_key_file_and_keys_show_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let o = jeon(&["keys", "new"], dir.path());
    assert!(o.status.success());
    let printed: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    std::fs::write(dir.path().join("k.json"), stdout(&o)).unwrap();
    // Redirected output is created under the umask (0644 here): refused, naming the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("k.json");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = jeon(&["keys", "show", "--json", "k.json"], dir.path());
        assert_bad_input(&refused, "chmod 600 k.json");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    let shown = jeon(&["keys", "show", "--json", "k.json"], dir.path());
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["address"], printed["address"]);
    assert!(shown["peer_id"].as_str().unwrap().starts_with("12D3KooW"));
}

#[test]
fn keys_show_of_a_missing_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let o = jeon(&["keys", "show", "nope.json"], dir.path());
    assert_bad_input(&o, "nope.json");
}

/// Runs `genesis new` for a preset into `<dir>/<name>/genesis.json`; returns the path.
fn new_preset(preset: &str, dir: &Path) -> String {
    let out = format!("{preset}/genesis.json");
    let o = jeon(&["genesis", "new", "--preset", preset, "--out", &out], dir);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("wrote {out}")),
        "{}",
        stdout(&o)
    );
    out
}

#[test]
fn both_presets_validate_with_the_hash_that_genesis_hash_prints() {
    let dir = tempfile::tempdir().unwrap();
    for (preset, keys) in [
        (
            "dev",
            &[
                "hanbit-bank",
                "dalbit-cafe",
                "baeum-learning",
                "alice",
                "bob",
            ][..],
        ),
        (
            "local4",
            &[
                "hanbit-bank",
                "dalbit-cafe",
                "pixel-forge-games",
                "baeum-learning",
                "alice",
                "bob",
            ][..],
        ),
    ] {
        let spec = new_preset(preset, dir.path());
        for name in keys {
            let key = dir
                .path()
                .join(preset)
                .join("keys")
                .join(format!("{name}.json"));
            assert!(key.exists(), "{}", key.display());
        }
        let validated = jeon(&["genesis", "validate", &spec], dir.path());
        assert!(validated.status.success(), "{}", stderr(&validated));
        let hashed = jeon(&["genesis", "hash", &spec], dir.path());
        assert!(hashed.status.success());
        let hash = stdout(&hashed).trim().to_owned();
        assert_eq!(hash.len(), 64, "{hash}");
        let report = stdout(&validated);
        assert!(report.contains(&format!("hash: {hash}")), "{report}");
        assert!(report.contains(&format!("jeon-{preset}")), "{report}");
    }
}

#[test]
fn genesis_new_refuses_to_overwrite_a_spec_or_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_preset("dev", dir.path());
    let before = std::fs::read_to_string(dir.path().join(&spec)).unwrap();
    let again = jeon(
        &["genesis", "new", "--preset", "dev", "--out", &spec],
        dir.path(),
    );
    assert_bad_input(&again, "already exists");
    let other = jeon(
        &[
            "genesis",
            "new",
            "--preset",
            "dev",
            "--out",
            "dev/other.json",
        ],
        dir.path(),
    );
    assert_bad_input(&other, "hanbit-bank.json already exists");
    assert!(!dir.path().join("dev/other.json").exists());
    let after = std::fs::read_to_string(dir.path().join(&spec)).unwrap();
    assert_eq!(before, after);
}

#[test]
fn genesis_new_without_out_prints_the_spec_and_writes_keys_to_the_current_dir() {
    let dir = tempfile::tempdir().unwrap();
    let o = jeon(&["genesis", "new", "--preset", "dev"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let spec: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(spec["chain_name"], "jeon-dev");
    assert!(dir.path().join("keys/hanbit-bank.json").exists());
    assert!(
        stderr(&o).contains("keys/hanbit-bank.json"),
        "report on stderr"
    );
}

/// Writes a dev spec, applies `edit` to its JSON value, and validates the result.
fn validate_edited(edit: impl FnOnce(&mut serde_json::Value)) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_preset("dev", dir.path());
    let path = dir.path().join(&spec);
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(dir.path().join("broken.json"), value.to_string()).unwrap();
    jeon(&["genesis", "validate", "broken.json"], dir.path())
}

#[test]
fn an_unknown_field_is_bad_input_naming_the_field() {
    let o = validate_edited(|v| v["params"]["fee_flatt"] = 1.into());
    assert_bad_input(&o, "broken.json: unknown field \"fee_flatt\"");
}

#[test]
fn a_malformed_address_is_bad_input_naming_the_address() {
    let o = validate_edited(|v| v["params"]["fee_collector"] = "jeon1notanaddress".into());
    assert_bad_input(&o, "malformed address \"jeon1notanaddress\"");
}

#[test]
fn an_unknown_issuer_is_bad_input_naming_the_issuer_and_asset() {
    let mut issuer = String::new();
    let o = validate_edited(|v| {
        // A funded account that is not a partner (alice) cannot issue KRW.
        let partners: Vec<&str> = v["partners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["account"].as_str().unwrap())
            .collect();
        issuer = v["balances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["account"].as_str().unwrap())
            .find(|a| !partners.contains(a))
            .unwrap()
            .to_owned();
        v["assets"][0]["issuer"] = issuer.clone().into();
    });
    assert_bad_input(
        &o,
        &format!("broken.json: unknown issuer {issuer} for asset KRW"),
    );
}

#[test]
fn a_spec_with_no_validators_is_bad_input() {
    let o = validate_edited(|v| v["validators"] = serde_json::json!([]));
    assert_bad_input(&o, "broken.json: no validators");
}

#[test]
fn a_missing_genesis_file_is_bad_input_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["validate", "hash"] {
        let o = jeon(&["genesis", command, "missing.json"], dir.path());
        assert_bad_input(&o, "missing.json");
    }
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["keys", "--help"],
        &["keys", "new", "--help"],
        &["keys", "show", "--help"],
        &["genesis", "--help"],
        &["genesis", "new", "--help"],
        &["genesis", "validate", "--help"],
        &["genesis", "hash", "--help"],
    ] {
        let o = jeon(args, dir.path());
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Usage: jeon"), "{args:?}");
    }
}
