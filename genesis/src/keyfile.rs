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
//! with mode 0600 and never overwritten.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use jeon_runtime::{Address, Keypair};

/// The largest key file [`read`] accepts (a real one is about 130 bytes).
const KEY_FILE_BYTES_MAX: u64 = 4096;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    address: Address,
    secret_key: String,
}

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
}

/// Something to tell the operator about a key file that was read nonetheless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileWarning {
    /// Users other than the owner may access the secret (group or other bits set).
    ReadableByOthers {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl fmt::Display for KeyFileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileWarning::ReadableByOthers { path, mode } => write!(
                f,
                "key file {} can be accessed by other users (mode {mode:03o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
        }
    }
}

/// A key read from a file.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key.
    pub keypair: Keypair,
    /// A problem to report that did not stop the read.
    pub warning: Option<KeyFileWarning>,
}

/// The key file's JSON text for `keypair` (one line, newline-terminated).
pub fn to_json(keypair: &Keypair) -> String {
    // Built by hand: the two fields are an address and hex, neither needs escaping,
    // and this cannot fail (serde_json's writer would return a Result).
    format!(
        "{{\"address\": \"{}\", \"secret_key\": \"{}\"}}\n",
        keypair.address(),
        hex::encode(keypair.secret())
    )
}

/// Parses a key file's text; `path` is only used in error messages.
pub fn parse(json: &str, path: &Path) -> Result<Keypair, KeyFileError> {
    let file: KeyFileJson = serde_json::from_str(json).map_err(|e| KeyFileError::Malformed {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(&file.secret_key, &mut secret).map_err(|_| KeyFileError::BadSecret {
        path: path.to_owned(),
    })?;
    let keypair = Keypair::from_secret(secret);
    if keypair.address() != file.address {
        return Err(KeyFileError::AddressMismatch {
            path: path.to_owned(),
            address: file.address,
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

/// Reads a key file, checking that its address matches its secret. A file readable
/// by other users is read, with a warning.
pub fn read(path: &Path) -> Result<LoadedKey, KeyFileError> {
    let unreadable = |reason: String| KeyFileError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let warning = permission_warning(&file, path);
    let mut text = String::new();
    file.take(KEY_FILE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > KEY_FILE_BYTES_MAX {
        return Err(unreadable(format!(
            "larger than the limit of {KEY_FILE_BYTES_MAX} bytes"
        )));
    }
    let keypair = parse(&text, path)?;
    Ok(LoadedKey { keypair, warning })
}

#[cfg(unix)]
fn permission_warning(file: &std::fs::File, path: &Path) -> Option<KeyFileWarning> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| KeyFileWarning::ReadableByOthers {
        path: path.to_owned(),
        mode,
    })
}

#[cfg(not(unix))]
fn permission_warning(_file: &std::fs::File, _path: &Path) -> Option<KeyFileWarning> {
    None
}
