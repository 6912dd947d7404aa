//! `jeon keys`: create and inspect key files.
//!
//! `keys new` draws a fresh ed25519 secret from the operating system. With `--out` it
//! writes a key file (mode 0600, never overwriting) and prints the address and path;
//! without, it prints the key file's JSON to stdout. `keys show` prints a key file's
//! address and libp2p peer id as `name: value` lines, or as a JSON object with
//! `--json`; a key file that other users can read is shown with a warning on stderr.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use rand::rngs::OsRng;
use rand::RngCore;

use jeon_genesis::keyfile::{self, KeyFileError};
use jeon_genesis::peer_id_of;
use jeon_runtime::Keypair;

use crate::error::{stdout, CliError};
use crate::output;

/// `jeon keys ...`
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a new random key; write it to a 0600 key file, or print it.
    New {
        /// Write the key file here (refuses to overwrite); without it, print the JSON.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
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

/// Runs a `keys` command.
pub(crate) fn run(command: KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::New { out } => new(out.as_deref()),
        KeysCommand::Show { file, json } => show(&file, json),
    }
}

/// A keypair from a fresh secret drawn from the operating system's random source.
pub(crate) fn random_keypair() -> Result<Keypair, CliError> {
    let mut secret = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|e| CliError::Failed(format!("cannot draw randomness for a key: {e}")))?;
    Ok(Keypair::from_secret(secret))
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
    let loaded = keyfile::read(file).map_err(key_file_error)?;
    if let Some(warning) = &loaded.warning {
        eprintln!("warning: {warning}");
    }
    let address = loaded.keypair.address();
    let peer_id = peer_id_of(&address);
    if json || output::format() == output::Format::Json {
        let value = serde_json::json!({ "address": address.to_string(), "peer_id": peer_id });
        stdout(&format!("{value}\n"))
    } else {
        stdout(&format!("address: {address}\npeer_id: {peer_id}\n"))
    }
}
