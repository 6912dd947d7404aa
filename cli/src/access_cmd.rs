//! State and access proofs on the command line (docs/proofs.md §9, §10):
//! `jeon access-proof` fetches an entitlement's state proof from a node and signs a
//! server's challenge with the owner's key; `jeon verify --state` and
//! `jeon verify --access` check them against a genesis file alone.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value};

use jeon_node::api::types::StateProofAnswer;
use jeon_runtime::codec;
use jeon_runtime::goods::Entitlement;
use jeon_runtime::identity::Attestation;
use jeon_runtime::proof::{
    self, AccessPolicy, AccessProof, StateProof, ACCESS_CHALLENGE_BYTES_MAX,
};
use jeon_runtime::state::keys;
use jeon_runtime::TimeMs;

use crate::client::{ApiArgs, Client};
use crate::error::CliError;
use crate::verify_cmd::{read_bounded, Trusted};

/// How old (seconds) the block certifying an access proof's state may be, by default.
pub(crate) const ACCESS_MAX_AGE_S_DEFAULT: u64 = 60;

/// `jeon access-proof`.
#[derive(Debug, Args)]
pub(crate) struct AccessProofArgs {
    /// The entitlement (pass) to prove.
    #[arg(long, value_name = "ID")]
    entitlement: u64,
    /// The server's challenge, hex (at most 256 bytes).
    #[arg(long, value_name = "HEX")]
    challenge: String,
    /// The owner's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Write the proof here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    api: ApiArgs,
}

/// A challenge from hex, bounded.
pub(crate) fn parse_challenge(text: &str) -> Result<Vec<u8>, CliError> {
    let bytes = hex::decode(text.trim())
        .map_err(|e| CliError::BadInput(format!("--challenge is not hex: {e}")))?;
    if bytes.is_empty() || bytes.len() > ACCESS_CHALLENGE_BYTES_MAX {
        return Err(CliError::BadInput(format!(
            "--challenge must be 1 to {ACCESS_CHALLENGE_BYTES_MAX} bytes, got {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Runs `jeon access-proof`.
pub(crate) fn run_access_proof(args: AccessProofArgs) -> Result<(), CliError> {
    let challenge = parse_challenge(&args.challenge)?;
    let key = crate::tx::load_key(&args.key)?;
    let client = Client::new(&args.api.api)?;
    let answer: StateProofAnswer =
        client.get(&format!("/v1/entitlements/{}/proof", args.entitlement))?;
    let bytes = hex::decode(&answer.proof_hex)
        .map_err(|e| CliError::Failed(format!("the node's proof is not hex: {e}")))?;
    let state = StateProof::decode(&bytes)
        .map_err(|e| CliError::Failed(format!("the node's proof does not decode: {e}")))?;
    if !answer.present {
        return Err(CliError::Failed(format!(
            "entitlement {} does not exist at height {} (revoked or never issued)",
            args.entitlement, answer.height
        )));
    }
    let height = state.state_height();
    let access = proof::sign_access(state, challenge, &key)
        .ok_or_else(|| CliError::Failed("the node's proof is not an entitlement's".into()))?;
    let doc = json!({
        "entitlement": args.entitlement,
        "height": height,
        "access_proof_hex": hex::encode(access.encode()),
        "access_proof": access,
    });
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| CliError::Failed(format!("cannot print the proof: {e}")))?;
    match args.out {
        Some(path) => std::fs::write(&path, text + "\n")
            .map_err(|e| CliError::BadInput(format!("cannot write {}: {e}", path.display()))),
        None => crate::error::stdout(&(text + "\n")),
    }
}

/// A document's canonical-bytes field (`field`), else its `proof_hex`, else the whole
/// text as hex, decoded with `decode`.
fn read_doc<T>(
    path: &Path,
    field: &str,
    decode: impl Fn(&[u8]) -> Result<T, codec::CodecError>,
) -> Result<T, CliError> {
    let text = read_bounded(path)?;
    let name = path.display();
    let bad = |why: String| CliError::BadInput(format!("{name} is not a proof: {why}"));
    let trimmed = text.trim();
    let hex_text = if trimmed.starts_with('{') {
        let value: Value =
            serde_json::from_str(trimmed).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        match value.get(field).or_else(|| value.get("proof_hex")) {
            Some(Value::String(h)) => h.clone(),
            _ => return Err(bad(format!("no \"{field}\" string"))),
        }
    } else {
        trimmed.split_whitespace().collect()
    };
    let bytes = hex::decode(&hex_text).map_err(|e| bad(format!("not hex: {e}")))?;
    decode(&bytes).map_err(|e| bad(format!("the canonical bytes do not decode: {e}")))
}

/// `jeon verify --state FILE`: prints the proved entry, decoded; exit 1 if it does not
/// verify, or proves the entry absent, or (with `now_ms`) not live then.
pub(crate) fn verify_state(trusted: &Trusted, path: &Path, now_ms: TimeMs) -> Result<(), CliError> {
    let proof = read_doc(path, "proof_hex", StateProof::decode)?;
    let verified = proof::verify_state(&proof, &trusted.chain_id, &trusted.validators)
        .map_err(|e| refused(path, trusted, e))?;
    let (record, live) = describe(&proof, now_ms);
    let mut out = serde_json::to_value(&verified)
        .map_err(|e| CliError::Failed(format!("cannot print the result: {e}")))?;
    if let Value::Object(o) = &mut out {
        o.insert("record".into(), record);
        o.insert("live".into(), json!(live));
    }
    crate::output::emit_plain(&out)?;
    match (&proof.value, live) {
        (None, _) => Err(CliError::Failed(format!(
            "verified: key {} is absent from the state at height {} (revoked or never \
             issued)",
            verified.key, verified.height
        ))),
        (Some(_), Some(false)) => Err(CliError::Failed(format!(
            "verified: the entry at height {} is not live at {now_ms} ms (expired or revoked)",
            verified.height
        ))),
        _ => Ok(()),
    }
}

/// The proved record as JSON, and whether it counts at `now_ms` (`None`: no rule).
fn describe(proof: &StateProof, now_ms: TimeMs) -> (Value, Option<bool>) {
    let Some(value) = &proof.value else {
        return (Value::Null, None);
    };
    match proof.key.first() {
        Some(&keys::ENTITLEMENT) => match codec::decode::<Entitlement>(value, value.len()) {
            Ok(e) => (json!(e), Some(e.is_valid(now_ms))),
            Err(_) => (Value::Null, None),
        },
        Some(&keys::ATTESTATION) => match codec::decode::<Attestation>(value, value.len()) {
            Ok(a) => (json!(a), Some(a.is_live(now_ms))),
            Err(_) => (Value::Null, None),
        },
        _ => (Value::Null, None),
    }
}

fn refused(path: &Path, trusted: &Trusted, e: impl std::fmt::Display) -> CliError {
    CliError::Failed(format!(
        "{} does not verify against {}: {e}",
        path.display(),
        trusted.path.display()
    ))
}

/// `jeon verify --access FILE --product P --challenge HEX`.
pub(crate) fn verify_access(
    trusted: &Trusted,
    path: &Path,
    product: u64,
    challenge: Vec<u8>,
    now_ms: TimeMs,
    max_age_s: u64,
) -> Result<(), CliError> {
    let proof = read_doc(path, "access_proof_hex", AccessProof::decode)?;
    let policy = AccessPolicy {
        product,
        challenge,
        now_ms,
        max_age_ms: max_age_s.saturating_mul(1000),
    };
    let verified = proof::verify_access(&proof, &trusted.chain_id, &trusted.validators, &policy)
        .map_err(|e| {
            CliError::Failed(format!(
                "access refused: {} against {}: {e}",
                path.display(),
                trusted.path.display()
            ))
        })?;
    let out = serde_json::to_value(&verified)
        .map_err(|e| CliError::Failed(format!("cannot print the result: {e}")))?;
    crate::output::emit_plain(&out)
}

/// `--now`: milliseconds since the Unix epoch, or an ISO-8601 UTC time
/// (`2026-12-07T10:00:00Z`, optionally with `.fff`); the system clock without it.
pub(crate) fn parse_now(text: Option<&str>) -> Result<TimeMs, CliError> {
    let Some(text) = text else {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as TimeMs)
            .map_err(|e| CliError::Failed(format!("the system clock is before 1970: {e}")));
    };
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    parse_iso(text).ok_or_else(|| {
        CliError::BadInput(format!(
            "--now {text:?} is neither milliseconds nor an ISO time like 2026-12-07T10:00:00Z"
        ))
    })
}

fn parse_iso(text: &str) -> Option<TimeMs> {
    let t = text.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let total = ((days * 24 + hh) * 60 + mm) * 60 + ss;
    u64::try_from(total * 1000 + ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_parse_to_unix_milliseconds() {
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso("2000-03-01T00:00:01.5Z"), Some(951_868_801_500));
        assert_eq!(parse_iso("2026-12-07T10:00:00Z"), Some(1_796_637_600_000));
        assert_eq!(parse_iso("2026-13-07T10:00:00Z"), None);
        assert_eq!(parse_iso("yesterday"), None);
    }
}
