//! Key files: an account's or validator's secret on disk, shared by the CLI and node.
//!
//! Format (JSON, unknown fields refused):
//!
//! ```json
//! {"address": "jeon1...", "secret_key": "<64 hex digits: the ed25519 secret seed>"}
//! ```
//!
//! The address is redundant on purpose: reading checks that it matches the secret, so
//! a file edited by hand or mixed up with another fails loudly. Files are created
//! with mode 0600 and never overwritten, and a file that users other than its owner
//! may access (any group or other permission bit) is refused, naming the fix
//! (`chmod 600 FILE`). The file's text and the decoded secret are zeroized once the
//! key is built; the key itself zeroizes on drop (ed25519-dalek's `zeroize`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use jeon_runtime::{Address, Keypair};

/// The largest key file [`read`] accepts (a real one is about 130 bytes).
const KEY_FILE_BYTES_MAX: u64 = 4096;

/// Why a key file cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The file exists; key files are never overwritten (that would lose a key).
    #[error("key file {path} already exists; refusing to overwrite it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Creating or writing the file failed.
    #[error("cannot write key file {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read key file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said, or that it is too large.
        reason: String,
    },
    /// The file is not a key file's JSON (includes a malformed address).
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// `secret_key` is not 64 hex digits.
    #[error("key file {path}: secret_key must be 64 hex digits")]
    BadSecret {
        /// The file.
        path: PathBuf,
    },
    /// The address does not belong to the secret.
    #[error("key file {path}: address {address} does not match the secret key (whose address is {derived})")]
    AddressMismatch {
        /// The file.
        path: PathBuf,
        /// The address written in the file.
        address: Address,
        /// The secret's address.
        derived: Address,
    },
    /// Users other than the owner may access the file (a group or other permission
    /// bit is set): the secret may already have leaked, and is not used.
    #[error("key file {path} can be accessed by other users (mode {mode:03o}); refusing to use it: run `chmod 600 {path}` (and treat the key as exposed if others could read it)", path = path.display())]
    ReadableByOthers {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// A key read from a file.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key.
    pub keypair: Keypair,
}

/// The key file's JSON text for `keypair` (one line, newline-terminated).
pub fn to_json(keypair: &Keypair) -> Zeroizing<String> {
    // Built by hand: the two fields are an address and hex, neither needs escaping,
    // and this cannot fail (serde_json's writer would return a Result).
    let secret = Zeroizing::new(hex::encode(keypair.secret()));
    Zeroizing::new(format!(
        "{{\"address\": \"{}\", \"secret_key\": \"{}\"}}\n",
        keypair.address(),
        secret.as_str()
    ))
}

/// The file's fields as read: both strings are wiped when dropped, the address too
/// (a secret pasted into the wrong field must not linger either).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileText {
    address: String,
    secret_key: String,
}

impl Drop for KeyFileText {
    fn drop(&mut self) {
        self.address.zeroize();
        self.secret_key.zeroize();
    }
}

/// Parses a key file's text; `path` is only used in error messages, which never quote
/// a field's value (it may be a secret in the wrong place).
pub fn parse(json: &str, path: &Path) -> Result<Keypair, KeyFileError> {
    // Both fields are strings, so serde_json's messages name a field, a type or a
    // position, never a value.
    let file: KeyFileText = serde_json::from_str(json).map_err(|e| KeyFileError::Malformed {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let address: Address = file.address.parse().map_err(|_| KeyFileError::Malformed {
        path: path.to_owned(),
        reason: "address is not a jeon1... address (its value is not shown: it may be a secret)"
            .into(),
    })?;
    let mut secret = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(file.secret_key.as_str(), secret.as_mut_slice()).map_err(|_| {
        KeyFileError::BadSecret {
            path: path.to_owned(),
        }
    })?;
    let keypair = Keypair::from_secret(*secret);
    if keypair.address() != address {
        return Err(KeyFileError::AddressMismatch {
            path: path.to_owned(),
            address,
            derived: keypair.address(),
        });
    }
    Ok(keypair)
}

/// Writes `keypair` to a new file with mode 0600; refuses to replace an existing file.
pub fn write(path: &Path, keypair: &Keypair) -> Result<(), KeyFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::Exists {
            path: path.to_owned(),
        },
        _ => KeyFileError::Write {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })?;
    let written = file
        .write_all(to_json(keypair).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Do not leave a truncated key file behind; the write error is what matters.
        let _ = std::fs::remove_file(path);
        return Err(KeyFileError::Write {
            path: path.to_owned(),
            reason: e.to_string(),
        });
    }
    Ok(())
}

/// Reads a key file, checking that its address matches its secret. A file that users
/// other than its owner may access is refused ([`KeyFileError::ReadableByOthers`]).
pub fn read(path: &Path) -> Result<LoadedKey, KeyFileError> {
    let unreadable = |reason: String| KeyFileError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    check_private(&file, path)?;
    let mut text = Zeroizing::new(String::new());
    file.take(KEY_FILE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > KEY_FILE_BYTES_MAX {
        return Err(unreadable(format!(
            "larger than the limit of {KEY_FILE_BYTES_MAX} bytes"
        )));
    }
    let keypair = parse(&text, path)?;
    Ok(LoadedKey { keypair })
}

/// Refuses a secret's file (a key file or a keystore) that users other than its owner
/// may access: any group or other permission bit set.
#[cfg(unix)]
pub fn check_private(file: &std::fs::File, path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = file.metadata().map_err(|e| KeyFileError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::ReadableByOthers {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Refuses a secret's file that users other than its owner may access (Unix only).
#[cfg(not(unix))]
pub fn check_private(_file: &std::fs::File, _path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}
