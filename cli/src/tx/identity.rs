//! `jeon tx attest`, `revoke-attestation`, `require-claim`: identity attestations and
//! the products gated by them (docs/economy.md §13).

use clap::Args;
use jeon_runtime::identity::Claim;
use jeon_runtime::{calls, Address, Call, Hash};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::error::CliError;

/// A claim as flags: exactly one of `--age-over`, `--residency`, `--kyc-level`.
#[derive(Debug, Args)]
pub(crate) struct ClaimArgs {
    /// Age over this many years (1 to 150).
    #[arg(long, value_name = "YEARS")]
    age_over: Option<u8>,
    /// Residency in a jurisdiction (two upper-case letters, e.g. KR).
    #[arg(long, value_name = "XX")]
    residency: Option<String>,
    /// A KYC level (1 to 9).
    #[arg(long, value_name = "LEVEL")]
    kyc_level: Option<u8>,
}

impl ClaimArgs {
    /// The claim the flags name, or `None` if none is given; two or more are refused.
    pub(super) fn claim(self) -> Result<Option<Claim>, CliError> {
        let given = [
            self.age_over.map(|years| Claim::AgeOver { years }),
            self.residency
                .map(|jurisdiction| Claim::Residency { jurisdiction }),
            self.kyc_level.map(|level| Claim::KycLevel { level }),
        ];
        let mut named = given.into_iter().flatten();
        let first = named.next();
        if named.next().is_some() {
            return Err(CliError::BadInput(
                "give one of --age-over, --residency, --kyc-level".into(),
            ));
        }
        Ok(first)
    }
}

/// As an attester partner, attest a claim about an account (no personal data goes on
/// chain: at most a salted commitment to your own record). The attestation id is in
/// the `attestation_issued` event.
#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The account the claim is about.
    #[arg(long, value_name = "ADDR")]
    subject: Address,
    #[command(flatten)]
    claim: ClaimArgs,
    /// The block time (ms) from which it no longer counts [default: a year after the
    /// node's head].
    #[arg(long, value_name = "MS")]
    expires_at_ms: Option<u64>,
    /// A salted commitment to your off-chain record, 64 hex digits [default: zeros,
    /// none].
    #[arg(long, value_name = "HEX")]
    commitment: Option<Hash>,
    #[command(flatten)]
    common: TxArgs,
}

/// An attestation lasts a year unless `--expires-at-ms` says otherwise.
const ATTEST_DEFAULT_MS: u64 = 365 * jeon_runtime::economy::PERIOD_MS;

impl DraftCall for AttestArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            subject,
            claim,
            expires_at_ms,
            commitment,
            common,
        } = self;
        let claim = claim.claim()?.ok_or_else(|| {
            CliError::BadInput("give the claim: --age-over, --residency or --kyc-level".into())
        })?;
        let draft: Draft = Box::new(move |c| {
            let expires_at_ms = match expires_at_ms {
                Some(ms) => ms,
                None => c.status()?.time_ms.saturating_add(ATTEST_DEFAULT_MS),
            };
            Ok(Call::Attest(calls::Attest {
                subject,
                claim,
                expires_at_ms,
                commitment: commitment.unwrap_or_default(),
            }))
        });
        Ok((draft, common))
    }
}

/// As the attester, revoke an attestation: it no longer counts from this block on.
#[derive(Debug, Args)]
pub(crate) struct RevokeAttestationArgs {
    /// The attestation's id.
    #[arg(long, value_name = "ID")]
    id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RevokeAttestationArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::RevokeAttestation(calls::RevokeAttestation { id: self.id });
        Ok((fixed(call), self.common))
    }
}

/// As a product's merchant, require a claim of its buyers (and of anyone it is given
/// or resold to); with no claim flag, require nothing.
#[derive(Debug, Args)]
pub(crate) struct RequireClaimArgs {
    /// The product's id.
    #[arg(long, value_name = "ID")]
    product: u64,
    #[command(flatten)]
    claim: ClaimArgs,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RequireClaimArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::RequireClaim(calls::RequireClaim {
            product: self.product,
            claim: self.claim.claim()?,
        });
        Ok((fixed(call), self.common))
    }
}
