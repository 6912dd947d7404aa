//! `jeon genesis`: write preset chain specs, validate and hash genesis files.
//!
//! `genesis new` generates a fresh key for every partner and demo user of the preset,
//! writes them as key files (mode 0600) to `<dir of --out>/keys/<name>.json` (or
//! `--keys-dir`), and writes the spec to `--out` or stdout. It checks that none of
//! the files exist before writing any. What it wrote is listed on stdout, or on stderr
//! when the spec itself goes to stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

use jeon_genesis::keyfile;
use jeon_genesis::{GenesisError, GenesisSpec, Preset, PresetKeys};

use crate::error::{stdout, CliError};
use crate::keys::{key_file_error, random_keypair};
use crate::output;

/// `jeon genesis ...`
#[derive(Debug, Subcommand)]
pub(crate) enum GenesisCommand {
    /// Write a preset chain spec and a key file for each of its partners and users.
    New {
        /// Which chain: `dev` (one validator) or `local4` (four partner validators).
        #[arg(long, value_enum)]
        preset: PresetName,
        /// Write the spec here (refuses to overwrite); without it, print it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Where to write the key files [default: `keys/` beside the spec].
        #[arg(long, value_name = "DIR")]
        keys_dir: Option<PathBuf>,
        /// The chain's start time, ms since the Unix epoch [default: now].
        #[arg(long, value_name = "MS")]
        genesis_time_ms: Option<u64>,
    },
    /// Check a genesis file; print its hash (the chain id) and a summary.
    Validate {
        /// The genesis file.
        file: PathBuf,
    },
    /// Print a genesis file's hash (the chain id), after checking it.
    Hash {
        /// The genesis file.
        file: PathBuf,
    },
}

/// The presets `genesis new` offers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PresetName {
    /// One validator: the bank; a cafe merchant; demo users alice and bob.
    Dev,
    /// Four partners (bank, cafe, game studio, e-learning), one validator each.
    Local4,
}

impl PresetName {
    fn preset(self) -> Preset {
        match self {
            PresetName::Dev => Preset::Dev,
            PresetName::Local4 => Preset::LOCAL4,
        }
    }
}

/// Runs a `genesis` command.
pub(crate) fn run(command: GenesisCommand) -> Result<(), CliError> {
    match command {
        GenesisCommand::New {
            preset,
            out,
            keys_dir,
            genesis_time_ms,
        } => new(preset.preset(), out.as_deref(), keys_dir, genesis_time_ms),
        GenesisCommand::Validate { file } => validate(&file),
        GenesisCommand::Hash { file } => {
            let spec = load(&file)?;
            let hash = spec.hash();
            output::either(&format!("{hash}\n"), &serde_json::json!({ "hash": hash }))
        }
    }
}

/// Loads and validates a genesis file; errors name the file. Shared with the commands
/// that start nodes.
pub(crate) fn load(path: &Path) -> Result<GenesisSpec, CliError> {
    GenesisSpec::load(path).map_err(|e| match e {
        // This message already names the file.
        GenesisError::Unreadable { .. } => CliError::BadInput(e.to_string()),
        _ => CliError::BadInput(format!("{}: {e}", path.display())),
    })
}

fn validate(path: &Path) -> Result<(), CliError> {
    let spec = load(path)?;
    let power: u64 = spec.validators.iter().map(|v| v.power).sum();
    let value = serde_json::json!({
        "valid": true,
        "chain_name": spec.chain_name,
        "validators": spec.validators.len(),
        "total_power": power,
        "partners": spec.partners.len(),
        "assets": spec.assets.len(),
        "balances": spec.balances.len(),
        "hash": spec.hash(),
    });
    output::either(
        &format!(
            "valid: {}: {} (total power {power}), {}, {}, {}\nhash: {}\n",
            spec.chain_name,
            count(spec.validators.len(), "validator"),
            count(spec.partners.len(), "partner"),
            count(spec.assets.len(), "asset"),
            count(spec.balances.len(), "balance"),
            spec.hash()
        ),
        &value,
    )
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn new(
    preset: Preset,
    out: Option<&Path>,
    keys_dir: Option<PathBuf>,
    genesis_time_ms: Option<u64>,
) -> Result<(), CliError> {
    let keys_dir = keys_dir.unwrap_or_else(|| match out.and_then(Path::parent) {
        Some(dir) => dir.join("keys"),
        None => PathBuf::from("keys"),
    });
    let created = create(preset, out, &keys_dir, genesis_time_ms)?;
    match out {
        Some(path) => output::either(
            &format!("wrote {}\n{}", path.display(), created.report),
            &serde_json::json!({
                "wrote": path.display().to_string(),
                "keys_dir": keys_dir.display().to_string(),
                "report": created.report,
            }),
        ),
        None => {
            stdout(&format!("{}\n", created.json))?;
            eprint!("{}", created.report);
            Ok(())
        }
    }
}

/// What [`create`] made.
pub(crate) struct Created {
    /// The spec.
    pub(crate) spec: GenesisSpec,
    /// Its JSON text.
    pub(crate) json: String,
    /// One line per file written, then a summary.
    pub(crate) report: String,
}

/// Makes a preset chain with fresh random keys: writes the key files into `keys_dir`
/// (and the spec to `out`, if given), refusing to overwrite any file.
pub(crate) fn create(
    preset: Preset,
    out: Option<&Path>,
    keys_dir: &Path,
    genesis_time_ms: Option<u64>,
) -> Result<Created, CliError> {
    let names = preset.key_names();
    let key_paths: Vec<PathBuf> = names
        .iter()
        .map(|n| keys_dir.join(format!("{n}.json")))
        .collect();
    // Refuse before writing anything, so a refusal leaves no partial set behind.
    for path in out
        .iter()
        .copied()
        .chain(key_paths.iter().map(PathBuf::as_path))
    {
        if path.exists() {
            return Err(CliError::BadInput(format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            )));
        }
    }
    let keys = names
        .iter()
        .map(|n| Ok((n.clone(), random_keypair()?)))
        .collect::<Result<Vec<_>, CliError>>()?;
    let keys = PresetKeys::from_keys(keys);
    let time_ms = match genesis_time_ms {
        Some(t) => t,
        None => now_ms()?,
    };
    let spec = preset
        .spec(&keys, time_ms)
        .and_then(|s| s.validate().map(|()| s))
        .map_err(|e| CliError::Failed(format!("preset {preset:?} is invalid (a bug): {e}")))?;
    let json = spec
        .to_json()
        .map_err(|e| CliError::Failed(format!("cannot encode the spec: {e}")))?;
    std::fs::create_dir_all(keys_dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", keys_dir.display())))?;
    let mut report = String::new();
    for ((_, key), path) in keys.iter().zip(&key_paths) {
        keyfile::write(path, key).map_err(key_file_error)?;
        report.push_str(&format!("wrote {} ({})\n", path.display(), key.address()));
    }
    report.push_str(&summary(&spec));
    if let Some(path) = out {
        write_new(path, &format!("{json}\n"))?;
    }
    Ok(Created { spec, json, report })
}

/// The last lines of `genesis new`'s report: the chain and who validates it.
fn summary(spec: &GenesisSpec) -> String {
    let partners: BTreeMap<_, _> = spec
        .partners
        .iter()
        .map(|p| (p.account, p.name.as_str()))
        .collect();
    let validators: Vec<String> = spec
        .validators
        .iter()
        .map(|v| partners.get(&v.key).copied().unwrap_or(&v.name).to_owned())
        .collect();
    format!(
        "chain {} ({}), validators: {}\n",
        spec.chain_name,
        spec.hash(),
        validators.join(", ")
    )
}

/// Writes a new file; refuses to replace an existing one.
fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CliError::BadInput(format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            )),
            _ => CliError::Failed(format!("cannot write {}: {e}", path.display())),
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

fn now_ms() -> Result<u64, CliError> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| CliError::Failed(format!("the system clock is before 1970: {e}")))?;
    u64::try_from(since_epoch.as_millis())
        .map_err(|e| CliError::Failed(format!("the system clock is out of range: {e}")))
}
