//! The encrypted keystore: a key file whose secret is sealed under a passphrase.
//!
//! Format (JSON, version 1, unknown fields refused; docs/operations.md, "Keystore"):
//!
//! ```json
//! {"jeon_keystore": 1, "address": "jeon1...",
//!  "kdf": {"name": "scrypt", "log_n": 15, "r": 8, "p": 1, "salt": "<64 hex>"},
//!  "cipher": {"name": "chacha20poly1305", "nonce": "<24 hex>"},
//!  "ciphertext": "<96 hex: the 32-byte secret seed and the 16-byte tag>"}
//! ```
//!
//! scrypt turns the passphrase and the salt into a 32-byte key; ChaCha20-Poly1305
//! seals the secret under it, with the version and the address as associated data, so
//! a changed address or version fails like a wrong passphrase. Reading tells apart: a
//! file that is not a keystore at all, a keystore of a version this build does not know,
//! a damaged one (fields missing or of the wrong length), and a wrong passphrase. The
//! passphrase comes from `JEON_KEY_PASSPHRASE`, a file, or a prompt on the terminal.
//! Secrets, derived keys and passphrases live in `Zeroizing` buffers, cleared on drop.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use jeon_runtime::{Address, Keypair};

use crate::error::CliError;

/// The keystore format this build writes and reads.
pub(crate) const KEYSTORE_VERSION: u32 = 1;
/// The scrypt cost written by default: 2^15 iterations of 8 × 128 bytes = 32 MiB of
/// memory, about 0.5 s on the 2-core CI machine (docs/operations.md).
pub(crate) const SCRYPT_LOG_N_DEFAULT: u8 = 15;
/// The cheapest scrypt cost accepted on read (below it a stolen file is cheap to attack).
pub(crate) const SCRYPT_LOG_N_MIN: u8 = 10;
/// The dearest scrypt cost accepted on read: a hostile file must not make the node
/// allocate gigabytes (2^20 × 8 × 128 bytes = 1 GiB).
pub(crate) const SCRYPT_LOG_N_MAX: u8 = 20;
/// scrypt's block size and parallelism: the fixed values version 1 uses.
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// The largest key file read (a keystore is about 400 bytes).
const KEYSTORE_BYTES_MAX: u64 = 4096;
/// The longest passphrase read from an env var, file or prompt.
const PASSPHRASE_BYTES_MAX: usize = 1024;
/// The environment variable that holds the passphrase.
pub(crate) const PASSPHRASE_ENV: &str = "JEON_KEY_PASSPHRASE";
/// The environment variable that names a file holding the passphrase.
pub(crate) const PASSPHRASE_FILE_ENV: &str = "JEON_KEY_PASSPHRASE_FILE";
/// What the associated data starts with: a domain for the seal.
const AAD_DOMAIN: &[u8] = b"jeon/keystore";

/// Why a keystore cannot be read or written. Each problem has its own variant and
/// message; none of them carries the secret or the passphrase.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeystoreError {
    /// The file could not be read or is too large.
    #[error("cannot read key file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The file declares a keystore version this build does not know.
    #[error("key file {path} is a keystore of version {version}; this jeon reads version {KEYSTORE_VERSION} only (upgrade jeon)")]
    UnsupportedVersion { path: PathBuf, version: u64 },
    /// The file is a keystore but damaged: a field missing, not hex, of the wrong
    /// length, or an unknown KDF or cipher.
    #[error("keystore {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// The seal did not open: the passphrase is wrong (or the sealed bytes were changed).
    #[error("wrong passphrase for keystore {path} (or its sealed bytes were altered)")]
    WrongPassphrase { path: PathBuf },
    /// The secret opened but its address is not the one the file states.
    #[error("keystore {path}: the secret's address {derived} is not the file's address {address}")]
    AddressMismatch {
        path: PathBuf,
        address: Address,
        derived: Address,
    },
    /// No passphrase could be had.
    #[error("{0}")]
    NoPassphrase(String),
    /// Writing the file failed, or it exists.
    #[error("cannot write keystore {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeystoreJson {
    jeon_keystore: u32,
    address: Address,
    kdf: KdfJson,
    cipher: CipherJson,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfJson {
    name: String,
    log_n: u8,
    r: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherJson {
    name: String,
    nonce: String,
}

/// What a key file's text is.
pub(crate) enum KeyFileKind {
    /// `{"address", "secret_key"}`: the plaintext key file (genesis::keyfile).
    Plaintext,
    /// A keystore (any version); its stated address.
    Keystore { address: Option<Address> },
}

/// The two fields [`kind`] looks at; the others (a plaintext file's `secret_key`) are
/// skipped unread, so no copy of a secret is made.
#[derive(Deserialize)]
struct KindProbe {
    jeon_keystore: Option<serde::de::IgnoredAny>,
    address: Option<String>,
}

/// Tells a keystore from a plaintext key file by its fields, without decrypting.
pub(crate) fn kind(text: &str) -> KeyFileKind {
    match serde_json::from_str::<KindProbe>(text) {
        Ok(KindProbe {
            jeon_keystore: Some(_),
            address,
        }) => KeyFileKind::Keystore {
            address: address.and_then(|a| a.parse().ok()),
        },
        _ => KeyFileKind::Plaintext,
    }
}

/// Reads a key file's text, bounded; the text is wiped when dropped. (A plaintext key
/// file that others may access is then refused by `keyfile::read`; a keystore is
/// sealed, so it is only warned about.)
pub(crate) fn read_text(path: &Path) -> Result<Zeroizing<String>, KeystoreError> {
    let unreadable = |reason: String| KeystoreError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut text = Zeroizing::new(String::new());
    file.take(KEYSTORE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > KEYSTORE_BYTES_MAX {
        return Err(unreadable(format!(
            "larger than the limit of {KEYSTORE_BYTES_MAX} bytes"
        )));
    }
    Ok(text)
}

fn aad(address: &Address) -> Vec<u8> {
    let mut aad = AAD_DOMAIN.to_vec();
    aad.extend_from_slice(&KEYSTORE_VERSION.to_be_bytes());
    aad.extend_from_slice(&address.0);
    aad
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    log_n: u8,
) -> Result<Zeroizing<[u8; 32]>, scrypt::errors::InvalidParams> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P, 32)?;
    let mut key = Zeroizing::new([0u8; 32]);
    // The output length is the params' 32: this cannot fail.
    scrypt::scrypt(passphrase, salt, &params, key.as_mut())
        .map_err(|_| scrypt::errors::InvalidParams)?;
    Ok(key)
}

/// Seals `keypair` under `passphrase` into keystore JSON (one line, newline-terminated).
pub(crate) fn seal(keypair: &Keypair, passphrase: &[u8], log_n: u8) -> Result<String, String> {
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 12];
    OsRng
        .try_fill_bytes(&mut salt)
        .and_then(|()| OsRng.try_fill_bytes(&mut nonce))
        .map_err(|e| format!("cannot draw randomness: {e}"))?;
    let key = derive(passphrase, &salt, log_n).map_err(|e| format!("scrypt: {e}"))?;
    let address = keypair.address();
    let secret = Zeroizing::new(keypair.secret());
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let aad = aad(&address);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: secret.as_ref(),
                aad: &aad,
            },
        )
        .map_err(|_| "sealing the key failed".to_string())?;
    let json = KeystoreJson {
        jeon_keystore: KEYSTORE_VERSION,
        address,
        kdf: KdfJson {
            name: "scrypt".into(),
            log_n,
            r: SCRYPT_R,
            p: SCRYPT_P,
            salt: hex::encode(salt),
        },
        cipher: CipherJson {
            name: "chacha20poly1305".into(),
            nonce: hex::encode(nonce),
        },
        ciphertext: hex::encode(ciphertext),
    };
    serde_json::to_string(&json)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// Opens a keystore's text with `passphrase`; `path` is only for messages.
pub(crate) fn open(text: &str, passphrase: &[u8], path: &Path) -> Result<Keypair, KeystoreError> {
    let corrupt = |reason: String| KeystoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    match value.get("jeon_keystore").map(|v| v.as_u64()) {
        Some(Some(v)) if v == u64::from(KEYSTORE_VERSION) => {}
        Some(Some(version)) => {
            return Err(KeystoreError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            })
        }
        _ => return Err(corrupt("jeon_keystore must be a version number".into())),
    }
    let file: KeystoreJson = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    let params = &file.kdf;
    if params.name != "scrypt" || params.r != SCRYPT_R || params.p != SCRYPT_P {
        return Err(corrupt(format!(
            "kdf must be scrypt with r = {SCRYPT_R}, p = {SCRYPT_P}"
        )));
    }
    if !(SCRYPT_LOG_N_MIN..=SCRYPT_LOG_N_MAX).contains(&params.log_n) {
        return Err(corrupt(format!(
            "kdf log_n {} is outside {SCRYPT_LOG_N_MIN}..={SCRYPT_LOG_N_MAX}",
            params.log_n
        )));
    }
    if file.cipher.name != "chacha20poly1305" {
        return Err(corrupt(format!("unknown cipher {:?}", file.cipher.name)));
    }
    let salt = hex_field("kdf.salt", &params.salt, 32).map_err(&corrupt)?;
    let nonce = hex_field("cipher.nonce", &file.cipher.nonce, 12).map_err(&corrupt)?;
    let sealed = hex_field("ciphertext", &file.ciphertext, 48).map_err(&corrupt)?;
    let key = derive(passphrase, &salt, params.log_n).map_err(|e| corrupt(e.to_string()))?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: &aad(&file.address),
                },
            )
            .map_err(|_| KeystoreError::WrongPassphrase {
                path: path.to_owned(),
            })?,
    );
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
        plain
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("the sealed secret is not 32 bytes".into()))?,
    );
    let keypair = Keypair::from_secret(*secret);
    if keypair.address() != file.address {
        return Err(KeystoreError::AddressMismatch {
            path: path.to_owned(),
            address: file.address,
            derived: keypair.address(),
        });
    }
    Ok(keypair)
}

fn hex_field(name: &str, text: &str, len: usize) -> Result<Vec<u8>, String> {
    let bytes = hex::decode(text).map_err(|_| format!("{name} is not hex"))?;
    if bytes.len() != len {
        return Err(format!("{name} is {} bytes, must be {len}", bytes.len()));
    }
    Ok(bytes)
}

/// Writes `text` to a new file with mode 0600; never overwrites.
pub(crate) fn write_new(path: &Path, text: &str) -> Result<(), KeystoreError> {
    let fail = |reason: String| KeystoreError::Write {
        path: path.to_owned(),
        reason,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            fail("it already exists; refusing to overwrite it".into())
        }
        _ => fail(e.to_string()),
    })?;
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        let _ = std::fs::remove_file(path);
        return Err(fail(e.to_string()));
    }
    Ok(())
}

/// Where a passphrase comes from, in this order: a file (`--key-passphrase-file` or
/// the config's `key_passphrase_file`), the file `JEON_KEY_PASSPHRASE_FILE` names, the
/// `JEON_KEY_PASSPHRASE` variable, a prompt on the terminal.
#[derive(Clone, Debug, Default)]
pub(crate) struct PassphraseSource {
    /// A file whose first line is the passphrase.
    pub(crate) file: Option<PathBuf>,
}

impl PassphraseSource {
    /// The passphrase for `what` (named in the prompt); `confirm` asks twice.
    pub(crate) fn get(
        &self,
        what: &str,
        confirm: bool,
    ) -> Result<Zeroizing<String>, KeystoreError> {
        if let Some(path) = &self.file {
            return from_file(path);
        }
        if let Some(path) = std::env::var_os(PASSPHRASE_FILE_ENV) {
            return from_file(Path::new(&path));
        }
        if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
            return checked(Zeroizing::new(value), PASSPHRASE_ENV);
        }
        let first = prompt(&format!("Passphrase for {what}: "))?;
        if confirm {
            let again = prompt("Repeat the passphrase: ")?;
            if *again != *first {
                return Err(KeystoreError::NoPassphrase(
                    "the two passphrases differ".into(),
                ));
            }
        }
        checked(first, "the prompt")
    }
}

fn checked(pass: Zeroizing<String>, from: &str) -> Result<Zeroizing<String>, KeystoreError> {
    if pass.is_empty() {
        return Err(KeystoreError::NoPassphrase(format!(
            "the passphrase from {from} is empty"
        )));
    }
    if pass.len() > PASSPHRASE_BYTES_MAX {
        return Err(KeystoreError::NoPassphrase(format!(
            "the passphrase from {from} is longer than {PASSPHRASE_BYTES_MAX} bytes"
        )));
    }
    Ok(pass)
}

fn from_file(path: &Path) -> Result<Zeroizing<String>, KeystoreError> {
    let no = |reason: String| {
        KeystoreError::NoPassphrase(format!(
            "cannot read the passphrase file {}: {reason}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(|e| no(e.to_string()))?;
    let mut text = Zeroizing::new(String::new());
    file.take(PASSPHRASE_BYTES_MAX as u64 + 2)
        .read_to_string(&mut text)
        .map_err(|e| no(e.to_string()))?;
    let line = text.lines().next().unwrap_or("");
    checked(Zeroizing::new(line.to_owned()), &path.display().to_string())
}

/// Which key files a command accepts unencrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plaintext {
    /// Read plaintext key files as they are (`jeon dev`, `jeon tx`).
    Accept,
    /// Refuse them (`jeon node` without `insecure_plaintext_key`).
    Refuse,
}

/// Reads a key file, plaintext or keystore: the one function every command that signs
/// loads its key with. Exit 2 for any problem with the file or the passphrase.
pub(crate) fn load_key(
    path: &Path,
    source: &PassphraseSource,
    plaintext: Plaintext,
) -> Result<Keypair, CliError> {
    let text = read_text(path).map_err(to_cli)?;
    let kind = kind(&text);
    if let KeyFileKind::Plaintext = kind {
        // Exposed already if others can read it: say so before anything else.
        let file = std::fs::File::open(path).map_err(|e| {
            CliError::BadInput(format!("cannot read key file {}: {e}", path.display()))
        })?;
        jeon_genesis::keyfile::check_private(&file, path).map_err(crate::keys::key_file_error)?;
    }
    match kind {
        KeyFileKind::Keystore { .. } => {
            // Sealed under a passphrase, so readable is not yet exposed (a container may
            // need a mounted keystore readable by its own uid): warned, not refused.
            if let Some(jeon_genesis::keyfile::KeyFileError::ReadableByOthers { mode, .. }) =
                std::fs::File::open(path)
                    .ok()
                    .and_then(|f| jeon_genesis::keyfile::check_private(&f, path).err())
            {
                let p = path.display();
                eprintln!("warning: keystore {p} can be accessed by other users (mode {mode:03o}); unless a container's user needs it so, run `chmod 600 {p}`");
            }
            let pass = source
                .get(&path.display().to_string(), false)
                .map_err(to_cli)?;
            open(&text, pass.as_bytes(), path).map_err(to_cli)
        }
        KeyFileKind::Plaintext if plaintext == Plaintext::Refuse => Err(CliError::BadInput(format!(
            "key file {} is not encrypted: encrypt it with `jeon keys encrypt {}` (a passphrase-protected keystore), or, for a throwaway test chain only, set insecure_plaintext_key = true (--insecure-plaintext-key)",
            path.display(),
            path.display()
        ))),
        KeyFileKind::Plaintext => {
            let loaded =
                jeon_genesis::keyfile::read(path).map_err(crate::keys::key_file_error)?;
            Ok(loaded.keypair)
        }
    }
}

/// Keystore errors as CLI errors: a failed write is exit 1, the rest exit 2.
pub(crate) fn to_cli(e: KeystoreError) -> CliError {
    match e {
        KeystoreError::Write { .. } => CliError::Failed(e.to_string()),
        _ => CliError::BadInput(e.to_string()),
    }
}

/// Reads a line from the terminal with echo off.
#[cfg(unix)]
fn prompt(message: &str) -> Result<Zeroizing<String>, KeystoreError> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| {
            KeystoreError::NoPassphrase(format!(
                "the key is encrypted and there is no terminal to ask for its passphrase: set {PASSPHRASE_ENV} or pass a passphrase file"
            ))
        })?;
    let mut out = &tty;
    let _ = out.write_all(message.as_bytes()).and_then(|()| out.flush());
    let saved = tcgetattr(&tty).ok();
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        quiet.local_flags.insert(LocalFlags::ECHONL);
        let _ = tcsetattr(&tty, SetArg::TCSANOW, &quiet);
    }
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufRead::read_line(&mut std::io::BufReader::new(&tty), &mut line);
    if let Some(saved) = &saved {
        let _ = tcsetattr(&tty, SetArg::TCSANOW, saved);
    }
    read.map_err(|e| KeystoreError::NoPassphrase(format!("cannot read the passphrase: {e}")))?;
    let trimmed = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok(Zeroizing::new(trimmed))
}

#[cfg(not(unix))]
fn prompt(_message: &str) -> Result<Zeroizing<String>, KeystoreError> {
    Err(KeystoreError::NoPassphrase(format!(
        "set {PASSPHRASE_ENV} or pass a passphrase file"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cheapest cost accepted, so the tests run fast.
    const LOG_N: u8 = SCRYPT_LOG_N_MIN;

    fn sealed() -> (Keypair, String) {
        let key = Keypair::from_seed_label("keystore-test");
        let text = seal(&key, b"correct horse", LOG_N).expect("seal");
        (key, text)
    }

    fn path() -> PathBuf {
        PathBuf::from("k.json")
    }

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_and_hides_the_secret() {
        let (key, text) = sealed();
        let opened = open(&text, b"correct horse", &path()).expect("opens");
        assert_eq!(opened.address(), key.address());
        assert!(!text.contains(&hex::encode(key.secret())), "{text}");
        assert!(
            matches!(kind(&text), KeyFileKind::Keystore { address: Some(a) } if a == key.address())
        );
    }

    #[test]
    fn a_wrong_passphrase_is_its_own_error() {
        let (_, text) = sealed();
        let err = open(&text, b"wrong horse", &path()).expect_err("refused");
        assert!(
            matches!(err, KeystoreError::WrongPassphrase { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
    }

    #[test]
    fn an_unsupported_version_is_its_own_error() {
        let (_, text) = sealed();
        let text = text.replace("\"jeon_keystore\":1", "\"jeon_keystore\":2");
        let err = open(&text, b"correct horse", &path()).expect_err("refused");
        assert!(
            matches!(err, KeystoreError::UnsupportedVersion { version: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("version 2"), "{err}");
    }

    #[test]
    fn a_corrupt_keystore_is_its_own_error() {
        let (_, text) = sealed();
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
        value["ciphertext"] = "abcd".into();
        let err = open(&value.to_string(), b"correct horse", &path()).expect_err("refused");
        assert!(
            matches!(&err, KeystoreError::Corrupt { reason, .. } if reason.contains("ciphertext")),
            "{err}"
        );
        let truncated = &text[..text.len() / 2];
        let err = open(truncated, b"correct horse", &path()).expect_err("refused");
        assert!(matches!(err, KeystoreError::Corrupt { .. }), "{err}");
        value = serde_json::from_str(&text).expect("json");
        value["kdf"]["log_n"] = 40.into();
        let err = open(&value.to_string(), b"correct horse", &path()).expect_err("refused");
        assert!(
            matches!(&err, KeystoreError::Corrupt { reason, .. } if reason.contains("log_n")),
            "{err}"
        );
    }

    #[test]
    fn a_changed_address_does_not_open() {
        let (_, text) = sealed();
        let other = Keypair::from_seed_label("someone else").address();
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
        value["address"] = other.to_string().into();
        let err = open(&value.to_string(), b"correct horse", &path()).expect_err("refused");
        assert!(
            matches!(err, KeystoreError::WrongPassphrase { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_flipped_ciphertext_byte_does_not_open() {
        let (_, text) = sealed();
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut sealed = hex::decode(value["ciphertext"].as_str().expect("hex")).expect("hex");
        sealed[0] ^= 1;
        value["ciphertext"] = hex::encode(sealed).into();
        let err = open(&value.to_string(), b"correct horse", &path()).expect_err("refused");
        assert!(
            matches!(err, KeystoreError::WrongPassphrase { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_plaintext_key_file_is_not_a_keystore() {
        let key = Keypair::from_seed_label("plain");
        assert!(matches!(
            kind(&jeon_genesis::keyfile::to_json(&key)),
            KeyFileKind::Plaintext
        ));
    }

    #[test]
    fn a_passphrase_file_gives_its_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pass");
        std::fs::write(&file, "s3cret phrase\nignored\n").expect("write");
        let source = PassphraseSource { file: Some(file) };
        assert_eq!(
            source.get("k", false).expect("read").as_str(),
            "s3cret phrase"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        let err = PassphraseSource { file: Some(empty) }
            .get("k", false)
            .expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
