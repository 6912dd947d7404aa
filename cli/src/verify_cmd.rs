//! `jeon verify`: checks a transaction proof against a genesis file, trusting no node
//! (state and access proofs: `crate::access_cmd`).
//!
//! The proof file may hold what `GET /v1/txs/{hash}/proof` answered (saved as is), the
//! proof's JSON alone, or the hex of its canonical bytes (docs/proofs.md §3). When the
//! answer holds both forms, both are decoded and must be the same proof. The command
//! prints what it verified as JSON and exits 0; a proof that does not verify, or that
//! proves a failed transaction, exits 1 with the reason; an unreadable or malformed
//! file (including bytes that do not decode) exits 2.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use jeon_runtime::block::ValidatorInfo;
use jeon_runtime::proof::{self, ProofError, TxProof, Verified, PROOF_BYTES_MAX};
use jeon_runtime::Hash;

use crate::error::CliError;
use crate::genesis_cmd::load as load_genesis;

/// The genesis used when none is named: `jeon dev`'s in the working directory.
pub(crate) const DEV_GENESIS: &str = ".jeon-dev/genesis.json";

/// The largest proof file read: the JSON and the hex forms of the largest proof.
const PROOF_FILE_BYTES_MAX: u64 = 8 * PROOF_BYTES_MAX as u64;

/// `jeon verify`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["proof", "state", "access"])))]
pub(crate) struct VerifyArgs {
    /// A transaction proof: the answer of `GET /v1/txs/{hash}/proof` as saved, the
    /// proof's JSON alone, or the hex of its canonical bytes.
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// A state proof (an entitlement's or an attestation's): the answer of
    /// `GET /v1/entitlements/{id}/proof` or `/v1/attestations/{id}/proof` as saved, or
    /// its hex. Exits 1 if the entry is proved absent or not live at `--now`.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// An access proof (`jeon access-proof`): needs `--product` and `--challenge`.
    #[arg(long, value_name = "FILE", requires_all = ["product", "challenge"])]
    access: Option<PathBuf>,
    /// The product the access proof must be a pass for.
    #[arg(long, value_name = "ID")]
    product: Option<u64>,
    /// The challenge the access proof must answer, hex.
    #[arg(long, value_name = "HEX")]
    challenge: Option<String>,
    /// The verifier's time: ms since the Unix epoch or ISO UTC
    /// (`2026-12-07T10:00:00Z`) [default: the system clock].
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// How old (seconds) the block certifying an access proof may be at `--now`: a
    /// revocation after it would not be visible.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::access_cmd::ACCESS_MAX_AGE_S_DEFAULT)]
    max_age: u64,
    /// The chain's genesis file: the only thing the check trusts [default:
    /// `JEON_GENESIS`, else .jeon-dev/genesis.json if it exists].
    #[arg(long, value_name = "FILE", env = "JEON_GENESIS")]
    genesis: Option<PathBuf>,
}

/// What a verifier trusts: the chain id and the validator set of a genesis file.
#[derive(Debug, Clone)]
pub(crate) struct Trusted {
    /// The genesis file it came from.
    pub(crate) path: PathBuf,
    /// The genesis hash.
    pub(crate) chain_id: Hash,
    /// The genesis validator set, in order.
    pub(crate) validators: Vec<ValidatorInfo>,
}

impl Trusted {
    /// Loads and validates a genesis file (exit 2 on any problem).
    pub(crate) fn load(path: &Path) -> Result<Self, CliError> {
        let spec = load_genesis(path)?;
        Ok(Trusted {
            path: path.to_owned(),
            chain_id: spec.hash(),
            validators: spec.validators(),
        })
    }

    /// Verifies a proof against this genesis.
    pub(crate) fn verify(&self, proof: &TxProof) -> Result<Verified, ProofError> {
        proof::verify(proof, &self.chain_id, &self.validators)
    }
}

/// Runs `jeon verify`.
pub(crate) fn run(args: VerifyArgs) -> Result<(), CliError> {
    let genesis = match args.genesis {
        Some(path) => path,
        None if Path::new(DEV_GENESIS).exists() => PathBuf::from(DEV_GENESIS),
        None => {
            return Err(CliError::BadInput(format!(
                "no genesis to verify against: give --genesis FILE (or JEON_GENESIS); \
                 {DEV_GENESIS} does not exist here"
            )))
        }
    };
    let trusted = Trusted::load(&genesis)?;
    if let Some(path) = &args.access {
        let challenge =
            crate::access_cmd::parse_challenge(args.challenge.as_deref().unwrap_or(""))?;
        let now = crate::access_cmd::parse_now(args.now.as_deref())?;
        let product = args.product.unwrap_or(u64::MAX);
        return crate::access_cmd::verify_access(
            &trusted,
            path,
            product,
            challenge,
            now,
            args.max_age,
        );
    }
    if let Some(path) = &args.state {
        let now = crate::access_cmd::parse_now(args.now.as_deref())?;
        return crate::access_cmd::verify_state(&trusted, path, now);
    }
    let Some(path) = &args.proof else {
        return Err(CliError::BadInput(
            "give --proof, --state or --access".into(),
        ));
    };
    let text = read_bounded(path)?;
    let name = path.display();
    let proof = parse_proof(&text).map_err(|e| e.naming(&name.to_string()))?;
    let verified = trusted.verify(&proof).map_err(|e| {
        CliError::Failed(format!(
            "{name} does not verify against {}: {e}",
            trusted.path.display()
        ))
    })?;
    print_verified(&verified)?;
    failure(&verified)
}

/// Prints what was verified.
fn print_verified(verified: &Verified) -> Result<(), CliError> {
    let json = serde_json::to_value(verified)
        .map_err(|e| CliError::Failed(format!("cannot print the result: {e}")))?;
    crate::output::emit_plain(&json)
}

/// `Ok` for a successful transaction; the reason (exit 1) for a failed one.
pub(crate) fn failure(verified: &Verified) -> Result<(), CliError> {
    match verified.failure() {
        None => Ok(()),
        Some(reason) => Err(CliError::Failed(format!(
            "verified: transaction {} is final in block {}, but it failed: {reason}",
            verified.tx_hash, verified.height
        ))),
    }
}

pub(crate) fn read_bounded(path: &Path) -> Result<String, CliError> {
    let unreadable = |reason: String| {
        CliError::BadInput(format!(
            "cannot read proof file {}: {reason}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut text = String::new();
    file.take(PROOF_FILE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.len() as u64 > PROOF_FILE_BYTES_MAX {
        return Err(unreadable(format!(
            "larger than {PROOF_FILE_BYTES_MAX} bytes"
        )));
    }
    Ok(text)
}

/// Why a proof document could not be read as a proof.
#[derive(Debug)]
pub(crate) enum ProofInputError {
    /// Not JSON or hex of a proof (exit 2).
    Malformed(String),
    /// Both forms are present and they are different proofs: a tampered document
    /// (exit 1).
    FormsDiffer,
}

impl ProofInputError {
    /// The CLI error, naming where the document came from.
    pub(crate) fn naming(self, source: &str) -> CliError {
        match self {
            ProofInputError::Malformed(why) => {
                CliError::BadInput(format!("{source} is not a proof: {why}"))
            }
            ProofInputError::FormsDiffer => CliError::Failed(format!(
                "{source} holds a proof whose JSON (\"proof\") and canonical bytes \
                 (\"proof_hex\") differ: one of them was changed"
            )),
        }
    }
}

/// Reads a proof document: JSON (the API's answer, or the proof alone) or hex.
pub(crate) fn parse_proof(text: &str) -> Result<TxProof, ProofInputError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('"') {
        let value: Value = serde_json::from_str(trimmed)
            .map_err(|e| ProofInputError::Malformed(format!("invalid JSON: {e}")))?;
        return proof_from_json(value);
    }
    proof_from_hex(trimmed)
}

/// A proof from a JSON document: `{"proof": ..., "proof_hex": ...}` (either or both),
/// a proof object, or a string of hex.
pub(crate) fn proof_from_json(value: Value) -> Result<TxProof, ProofInputError> {
    let Value::Object(mut fields) = value else {
        return match value {
            Value::String(hex) => proof_from_hex(&hex),
            _ => Err(ProofInputError::Malformed(
                "expected a JSON object or a hex string".into(),
            )),
        };
    };
    let from_hex = match fields.remove("proof_hex") {
        None => None,
        Some(Value::String(hex)) => Some(proof_from_hex(&hex)?),
        Some(_) => {
            return Err(ProofInputError::Malformed(
                "\"proof_hex\" is not a string".into(),
            ))
        }
    };
    let from_json = match fields.remove("proof") {
        Some(p) => Some(proof_object(p)?),
        None if from_hex.is_none() => Some(proof_object(Value::Object(fields))?),
        None => None,
    };
    match (from_hex, from_json) {
        (Some(a), Some(b)) if a != b => Err(ProofInputError::FormsDiffer),
        (Some(p), _) | (None, Some(p)) => Ok(p),
        (None, None) => Err(ProofInputError::Malformed(
            "no proof in the document".into(),
        )),
    }
}

fn proof_object(value: Value) -> Result<TxProof, ProofInputError> {
    serde_json::from_value(value)
        .map_err(|e| ProofInputError::Malformed(format!("invalid proof JSON: {e}")))
}

fn proof_from_hex(hex_text: &str) -> Result<TxProof, ProofInputError> {
    let compact: String = hex_text.split_whitespace().collect();
    let bytes = hex::decode(&compact)
        .map_err(|e| ProofInputError::Malformed(format!("neither JSON nor hex: {e}")))?;
    TxProof::decode(&bytes)
        .map_err(|e| ProofInputError::Malformed(format!("the canonical bytes do not decode: {e}")))
}
