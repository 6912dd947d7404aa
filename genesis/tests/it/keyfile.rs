//! Key files: written private and never overwritten; read back only if consistent.

use std::path::Path;

use jeon_genesis::keyfile::{self, KeyFileError};
use jeon_runtime::Keypair;

#[test]
fn a_key_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.json");
    let key = Keypair::from_seed_label("alice");
    keyfile::write(&path, &key).unwrap();
    let loaded = keyfile::read(&path).unwrap();
    assert_eq!(loaded.keypair.address(), key.address());
    assert_eq!(loaded.keypair.secret(), key.secret());
}

#[cfg(unix)]
#[test]
fn a_key_file_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    keyfile::write(&path, &Keypair::from_seed_label("k")).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    keyfile::write(&path, &Keypair::from_seed_label("first")).unwrap();
    let err = keyfile::write(&path, &Keypair::from_seed_label("second")).unwrap_err();
    assert_eq!(err, KeyFileError::Exists { path: path.clone() });
    let kept = keyfile::read(&path).unwrap().keypair.address();
    assert_eq!(kept, Keypair::from_seed_label("first").address());
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_access_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let key = Keypair::from_seed_label("k");
    keyfile::write(&path, &key).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = keyfile::read(&path).unwrap_err();
        assert_eq!(
            err,
            KeyFileError::ReadableByOthers {
                path: path.clone(),
                mode
            }
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
        assert!(!message.contains(&hex::encode(key.secret())), "{message}");
    }
    // Owner-only modes are read.
    for mode in [0o600, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(
            keyfile::read(&path).unwrap().keypair.address(),
            key.address()
        );
    }
}

#[test]
fn an_address_that_does_not_match_the_secret_is_refused() {
    let alice = Keypair::from_seed_label("alice");
    let bob = Keypair::from_seed_label("bob");
    let json = format!(
        r#"{{"address": "{}", "secret_key": "{}"}}"#,
        bob.address(),
        hex::encode(alice.secret())
    );
    let path = Path::new("mixed.json");
    assert_eq!(
        keyfile::parse(&json, path).unwrap_err(),
        KeyFileError::AddressMismatch {
            path: path.to_owned(),
            address: bob.address(),
            derived: alice.address(),
        }
    );
}

#[test]
fn malformed_key_files_are_refused_with_the_reason() {
    let alice = Keypair::from_seed_label("alice");
    let path = Path::new("k.json");
    let short_secret = format!(
        r#"{{"address": "{}", "secret_key": "abcd"}}"#,
        alice.address()
    );
    assert_eq!(
        keyfile::parse(&short_secret, path).unwrap_err(),
        KeyFileError::BadSecret {
            path: path.to_owned()
        }
    );
    let extra_field = keyfile::to_json(&alice).replace('}', r#", "note": 1}"#);
    let bad_address = keyfile::to_json(&alice).replace("jeon1", "jeon1x");
    for json in [extra_field, bad_address, "not json".to_owned()] {
        assert!(
            matches!(
                keyfile::parse(&json, path),
                Err(KeyFileError::Malformed { .. })
            ),
            "{json}"
        );
    }
}

#[test]
fn a_missing_key_file_names_its_path() {
    let err = keyfile::read(Path::new("/nonexistent/jeon/key.json")).unwrap_err();
    assert!(matches!(err, KeyFileError::Unreadable { .. }));
    assert!(err.to_string().contains("/nonexistent/jeon/key.json"));
}
