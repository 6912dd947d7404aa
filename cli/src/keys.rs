//! `jeon keys`: create, encrypt and inspect key files.
//!
//! `keys new` draws a fresh ed25519 secret from the operating system. With `--out` it
//! writes a key file (mode 0600, never overwriting) and prints the address and path;
//! with `--encrypt` that file is a passphrase-sealed keystore (`keystore`); without
//! `--out`, it prints the plaintext key file's JSON to stdout. `keys encrypt` turns a
//! plaintext key file into a keystore beside it. `keys show` prints a key file's
//! address and libp2p peer id as `name: value` lines, or as a JSON object with
//! `--json` (a keystore's stated address, without asking for its passphrase). A key
//! file that other users can access is refused by every command (`chmod 600 FILE`).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use rand::rngs::OsRng;
use rand::RngCore;

use jeon_genesis::keyfile::{self, KeyFileError};
use jeon_genesis::peer_id_of;
use jeon_runtime::Keypair;

use crate::error::{stdout, CliError};
use crate::keystore::{self, KeyFileKind, PassphraseSource};
use crate::output;

/// `jeon keys ...`
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a new random key; write it to a 0600 key file, or print it.
    New {
        /// Write the key file here (refuses to overwrite); without it, print the JSON.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write an encrypted keystore (asks for a passphrase twice, or reads
        /// JEON_KEY_PASSPHRASE_FILE / JEON_KEY_PASSPHRASE).
        #[arg(long, requires = "out")]
        encrypt: bool,
        #[command(flatten)]
        seal: SealArgs,
    },
    /// Encrypt a plaintext key file into a passphrase-protected keystore (the
    /// plaintext file is left for you to delete once the keystore works).
    Encrypt {
        /// The plaintext key file.
        file: PathBuf,
        /// Where to write the keystore [default: FILE's name with `.keystore.json`].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        seal: SealArgs,
    },
    /// Show a key file's address and libp2p peer id.
    Show {
        /// The key file.
        file: PathBuf,
        /// Print `{"address": ..., "peer_id": ...}` instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How a keystore is sealed.
#[derive(Debug, clap::Args)]
pub(crate) struct SealArgs {
    /// A file whose first line is the passphrase [default: JEON_KEY_PASSPHRASE_FILE,
    /// then JEON_KEY_PASSPHRASE, then a prompt].
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// scrypt's cost as log2 of its iterations (memory 2^N × 1 KiB).
    #[arg(long, value_name = "N", default_value_t = keystore::SCRYPT_LOG_N_DEFAULT,
          value_parser = clap::value_parser!(u8).range(i64::from(keystore::SCRYPT_LOG_N_MIN)..=i64::from(keystore::SCRYPT_LOG_N_MAX)))]
    scrypt_log_n: u8,
}

impl SealArgs {
    /// Seals `key` under a passphrase asked for `what` (twice at a prompt).
    pub(crate) fn seal(&self, key: &Keypair, what: &str) -> Result<String, CliError> {
        let source = PassphraseSource {
            file: self.passphrase_file.clone(),
        };
        let pass = source.get(what, true).map_err(keystore::to_cli)?;
        keystore::seal(key, pass.as_bytes(), self.scrypt_log_n).map_err(CliError::Failed)
    }
}

/// Runs a `keys` command.
pub(crate) fn run(command: KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::New { out, encrypt, seal } => match (out, encrypt) {
            (Some(out), true) => new_encrypted(&out, &seal),
            (out, _) => new(out.as_deref()),
        },
        KeysCommand::Encrypt { file, out, seal } => encrypt(&file, out, &seal),
        KeysCommand::Show { file, json } => show(&file, json),
    }
}

fn new_encrypted(out: &Path, seal: &SealArgs) -> Result<(), CliError> {
    let key = random_keypair()?;
    let text = seal.seal(&key, &format!("the new key {}", out.display()))?;
    keystore::write_new(out, &text).map_err(keystore::to_cli)?;
    output::either(
        &format!("address: {}\nkeystore: {}\n", key.address(), out.display()),
        &serde_json::json!({
            "address": key.address().to_string(),
            "keystore": out.display().to_string(),
        }),
    )
}

/// The keystore's default path beside a plaintext key file: `a/b.json` → `a/b.keystore.json`.
fn keystore_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "key".into(), |s| s.to_string_lossy().into_owned());
    file.with_file_name(format!("{stem}.keystore.json"))
}

fn encrypt(file: &Path, out: Option<PathBuf>, seal: &SealArgs) -> Result<(), CliError> {
    let text = keystore::read_text(file).map_err(keystore::to_cli)?;
    if let KeyFileKind::Keystore { .. } = keystore::kind(&text) {
        return Err(CliError::BadInput(format!(
            "{} is already an encrypted keystore",
            file.display()
        )));
    }
    let loaded = keyfile::read(file).map_err(key_file_error)?;
    let out = out.unwrap_or_else(|| keystore_path(file));
    let sealed = seal.seal(&loaded.keypair, &format!("the keystore {}", out.display()))?;
    keystore::write_new(&out, &sealed).map_err(keystore::to_cli)?;
    // The reminder is for a person, on stderr in both formats.
    eprintln!(
        "The plaintext file {} still holds the secret: check the keystore works \
         (`jeon node --key {}`), then delete it (`shred -u {}`).",
        file.display(),
        out.display(),
        file.display(),
    );
    output::either(
        &format!(
            "address: {}\nkeystore: {}\n",
            loaded.keypair.address(),
            out.display()
        ),
        &serde_json::json!({
            "address": loaded.keypair.address().to_string(),
            "keystore": out.display().to_string(),
            "plaintext_file": file.display().to_string(),
        }),
    )
}

/// A keypair from a fresh secret drawn from the operating system's random source.
pub(crate) fn random_keypair() -> Result<Keypair, CliError> {
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    OsRng
        .try_fill_bytes(secret.as_mut_slice())
        .map_err(|e| CliError::Failed(format!("cannot draw randomness for a key: {e}")))?;
    Ok(Keypair::from_secret(*secret))
}

/// Sorts key file errors into bad input (exit 2) and failed operations (exit 1).
pub(crate) fn key_file_error(e: KeyFileError) -> CliError {
    match e {
        KeyFileError::Write { .. } => CliError::Failed(e.to_string()),
        _ => CliError::BadInput(e.to_string()),
    }
}

fn new(out: Option<&Path>) -> Result<(), CliError> {
    let key = random_keypair()?;
    match out {
        None => stdout(&keyfile::to_json(&key)),
        Some(path) => {
            keyfile::write(path, &key).map_err(key_file_error)?;
            output::either(
                &format!("address: {}\nkey file: {}\n", key.address(), path.display()),
                &serde_json::json!({
                    "address": key.address().to_string(),
                    "key_file": path.display().to_string(),
                }),
            )
        }
    }
}

fn show(file: &Path, json: bool) -> Result<(), CliError> {
    let text = keystore::read_text(file).map_err(keystore::to_cli)?;
    let (address, encrypted) = match keystore::kind(&text) {
        KeyFileKind::Keystore { address } => {
            let address = address.ok_or_else(|| {
                CliError::BadInput(format!(
                    "keystore {} is corrupt: no valid address",
                    file.display()
                ))
            })?;
            (address, true)
        }
        KeyFileKind::Plaintext => {
            let loaded = keyfile::read(file).map_err(key_file_error)?;
            (loaded.keypair.address(), false)
        }
    };
    let peer_id = peer_id_of(&address);
    if json || output::format() == output::Format::Json {
        let value = serde_json::json!({
            "address": address.to_string(),
            "peer_id": peer_id,
            "encrypted": encrypted,
        });
        stdout(&format!("{value}\n"))
    } else {
        stdout(&format!(
            "address: {address}\npeer_id: {peer_id}\nencrypted: {encrypted}\n"
        ))
    }
}
