//! Identity attestations: an attester partner states a claim about an account (age over
//! a threshold, residency in a jurisdiction, a KYC level) until an expiry, holding no
//! personal data (at most a salted commitment to its own off-chain record); products
//! can require a claim, and buying one without a valid attestation is refused with the
//! missing claim named.
//!
//! Rules (docs/economy.md §13, "Identity attestations"):
//! - `Attest` (a partner with the `attester` role): `{subject, claim, expires_at_ms,
//!   commitment}`; the expiry is after the block's time. Each subject keeps at most
//!   [`ATTESTATIONS_PER_CLAIM_MAX`] live attestations per kind of claim (revoked and
//!   expired ones make room).
//! - `RevokeAttestation` (its attester): it no longer counts, from this block on.
//! - `RequireClaim` (a product's merchant): sets or clears the claim a product needs.
//! - A claim is *held* by an account at a time if one of its attestations of that kind
//!   is unrevoked, unexpired, from an account that still holds the attester role, and
//!   at least as strong: age over ≥ the years asked, the same residency, a KYC level ≥
//!   the level asked. `Buy` (each product, and each component of a bundle),
//!   `Subscribe`, a gift's recipient and a resale's buyer must hold the product's claim
//!   (`ClaimRequired` names it).
//! - Lenders, carriers and issuers gate their credit lines, carrier lines and
//!   redemptions on a claim through `goods::policy`, with the same check (`holds`);
//!   its refusal is `PolicyClaimRequired`.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::is_reserved_account;
use crate::economy::ledger::{get, next_id, partner_with, CallCx, Res};
use crate::events::EventDef;
use crate::model::{CallError, Event, Role};
use crate::state::{read_record, Overlay, StateError, StateRead};
use crate::types::{Address, Hash, Height, TimeMs};

/// Live attestations one subject may hold per kind of claim.
pub const ATTESTATIONS_PER_CLAIM_MAX: usize = 16;
/// The highest age threshold an attestation states.
pub const AGE_YEARS_MAX: u8 = 150;
/// The highest KYC level.
pub const KYC_LEVEL_MAX: u8 = 9;

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`].
pub mod storage {
    use crate::state::keys::{
        with, ATTESTATION, NEXT_ATTESTATION_ID, PRODUCT_CLAIM, SUBJECT_CLAIM,
    };
    use crate::types::Address;

    /// Key of the attestation id counter.
    pub fn next_attestation_id() -> Vec<u8> {
        vec![NEXT_ATTESTATION_ID]
    }
    /// Key of an attestation.
    pub fn attestation(id: u64) -> Vec<u8> {
        with(ATTESTATION, &[&id.to_be_bytes()])
    }
    /// Key of a subject's live attestation ids of one kind of claim.
    pub fn subject_claim(subject: &Address, kind: u8) -> Vec<u8> {
        with(SUBJECT_CLAIM, &[&subject.0, &[kind]])
    }
    /// Key of the claim a product requires.
    pub fn product_claim(product: u64) -> Vec<u8> {
        with(PRODUCT_CLAIM, &[&product.to_be_bytes()])
    }
}

// -------------------------------------------------------------- records

/// What an attestation states about its subject.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// At least `years` old (1 … [`AGE_YEARS_MAX`]).
    AgeOver {
        /// The threshold.
        years: u8,
    },
    /// Resident in a jurisdiction (two upper-case letters, e.g. `KR`).
    Residency {
        /// The jurisdiction code.
        jurisdiction: String,
    },
    /// Verified to a KYC level (1 … [`KYC_LEVEL_MAX`]).
    KycLevel {
        /// The level.
        level: u8,
    },
}

impl Claim {
    /// The kind's index byte (its encoding tag).
    pub fn kind(&self) -> u8 {
        match self {
            Claim::AgeOver { .. } => 0,
            Claim::Residency { .. } => 1,
            Claim::KycLevel { .. } => 2,
        }
    }

    /// Whether holding `self` satisfies a requirement of `needed`.
    pub fn satisfies(&self, needed: &Claim) -> bool {
        match (self, needed) {
            (Claim::AgeOver { years: have }, Claim::AgeOver { years: need }) => have >= need,
            (Claim::Residency { jurisdiction: a }, Claim::Residency { jurisdiction: b }) => a == b,
            (Claim::KycLevel { level: have }, Claim::KycLevel { level: need }) => have >= need,
            _ => false,
        }
    }

    /// Refuses a claim out of bounds (`InvalidClaim`).
    pub(crate) fn check(&self) -> Result<(), CallError> {
        let bad = |r: &str| {
            Err(CallError::InvalidClaim {
                reason: r.to_owned(),
            })
        };
        match self {
            Claim::AgeOver { years } if *years == 0 || *years > AGE_YEARS_MAX => {
                bad("age_over years must be 1 to 150")
            }
            Claim::Residency { jurisdiction }
                if jurisdiction.len() != 2
                    || !jurisdiction.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                bad("residency is two upper-case letters")
            }
            Claim::KycLevel { level } if *level == 0 || *level > KYC_LEVEL_MAX => {
                bad("kyc_level must be 1 to 9")
            }
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Claim::AgeOver { years } => write!(f, "age over {years}"),
            Claim::Residency { jurisdiction } => write!(f, "residency {jurisdiction}"),
            Claim::KycLevel { level } => write!(f, "KYC level {level}"),
        }
    }
}

/// An attester's statement about an account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Attestation {
    /// Its id.
    pub id: u64,
    /// The attester partner.
    pub attester: Address,
    /// The account it is about.
    pub subject: Address,
    /// What it states.
    pub claim: Claim,
    /// From this block time on it no longer counts.
    pub expires_at_ms: TimeMs,
    /// A salted commitment to the attester's off-chain record (SHA-256 of salt and
    /// record, say); the chain never sees the record.
    pub commitment: Hash,
    /// The height it was issued at.
    pub issued_at: Height,
    /// The height it was revoked at, if it was.
    pub revoked_at: Option<Height>,
}

impl Attestation {
    /// Whether it counts at block time `time_ms` (not revoked, not expired).
    pub fn is_live(&self, time_ms: TimeMs) -> bool {
        self.revoked_at.is_none() && time_ms < self.expires_at_ms
    }
}

// ---------------------------------------------------------------- calls

/// An attester states a claim about an account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Attest {
    /// The account.
    pub subject: Address,
    /// What is attested.
    pub claim: Claim,
    /// The block time from which it no longer counts (after this block's).
    pub expires_at_ms: TimeMs,
    /// A salted commitment to the attester's record.
    pub commitment: Hash,
}

/// The attester withdraws an attestation.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RevokeAttestation {
    /// The attestation.
    pub id: u64,
}

/// A product's merchant sets (or clears) the claim buying it requires.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RequireClaim {
    /// The product.
    pub product: u64,
    /// The claim, or `None` to require nothing.
    pub claim: Option<Claim>,
}

// --------------------------------------------------------------- events

/// An attestation was issued.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AttestationIssued {
    /// Its id.
    pub id: u64,
    /// The attester.
    pub attester: Address,
    /// The subject.
    pub subject: Address,
    /// The claim.
    pub claim: Claim,
    /// Its expiry (block time, ms).
    pub expires_at_ms: TimeMs,
}

impl EventDef for AttestationIssued {
    fn accounts(&self) -> Vec<Address> {
        vec![self.attester, self.subject]
    }
}

/// An attestation was revoked.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AttestationRevoked {
    /// Its id.
    pub id: u64,
    /// The attester.
    pub attester: Address,
    /// The subject.
    pub subject: Address,
}

impl EventDef for AttestationRevoked {
    fn accounts(&self) -> Vec<Address> {
        vec![self.attester, self.subject]
    }
}

/// A product's required claim was set or cleared.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ClaimRequirementSet {
    /// The product.
    pub product: u64,
    /// Its merchant.
    pub merchant: Address,
    /// The claim now required, if any.
    pub claim: Option<Claim>,
}

impl EventDef for ClaimRequirementSet {
    fn accounts(&self) -> Vec<Address> {
        vec![self.merchant]
    }
}

// ------------------------------------------------------------ execution

impl CallDef for Attest {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        attest(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "attest {} of {} until {} ms",
            self.claim, self.subject, self.expires_at_ms
        )
    }
}

impl CallDef for RevokeAttestation {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let mut a: Attestation = get(ov, &storage::attestation(self.id))?
            .ok_or(CallError::UnknownAttestation { id: self.id })?;
        if a.attester != cx.sender {
            return Err(CallError::NotAttestationAttester {
                id: a.id,
                attester: a.attester,
            }
            .into());
        }
        if a.revoked_at.is_some() {
            return Err(CallError::AttestationAlreadyRevoked { id: a.id }.into());
        }
        a.revoked_at = Some(cx.height);
        ov.put(storage::attestation(a.id), &a)?;
        let key = storage::subject_claim(&a.subject, a.claim.kind());
        let mut ids: Vec<u64> = get(ov, &key)?.unwrap_or_default();
        ids.retain(|id| *id != a.id);
        put_ids(ov, key, &ids)?;
        events.push(Event::AttestationRevoked(AttestationRevoked {
            id: a.id,
            attester: a.attester,
            subject: a.subject,
        }));
        Ok(())
    }

    fn summary(&self) -> String {
        format!("revoke attestation {}", self.id)
    }
}

impl CallDef for RequireClaim {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let p = crate::goods::product(ov, self.product)?
            .ok_or(CallError::UnknownProduct { id: self.product })?;
        if p.merchant != cx.sender {
            return Err(CallError::NotProductMerchant {
                product: p.id,
                merchant: p.merchant,
            }
            .into());
        }
        set_requirement(ov, p.id, self.claim.as_ref())?;
        events.push(Event::ClaimRequirementSet(ClaimRequirementSet {
            product: p.id,
            merchant: p.merchant,
            claim: self.claim.clone(),
        }));
        Ok(())
    }

    fn summary(&self) -> String {
        match &self.claim {
            Some(c) => format!("require {c} to buy product {}", self.product),
            None => format!("require no claim to buy product {}", self.product),
        }
    }
}

/// Writes a subject's id list (removed when empty).
fn put_ids<S: StateRead + ?Sized>(ov: &mut Overlay<'_, S>, key: Vec<u8>, ids: &[u64]) -> Res<()> {
    if ids.is_empty() {
        ov.put_raw(key, None)?;
    } else {
        ov.put(key, &ids.to_vec())?;
    }
    Ok(())
}

/// Sets or clears a product's requirement (checked), as `RequireClaim` and genesis do.
pub(crate) fn set_requirement<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    product: u64,
    claim: Option<&Claim>,
) -> Res<()> {
    match claim {
        Some(c) => {
            c.check()?;
            ov.put(storage::product_claim(product), c)?;
        }
        None => ov.put_raw(storage::product_claim(product), None)?,
    }
    Ok(())
}

/// `Attest`: the sender is the attester.
fn attest<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    a: &Attest,
    events: &mut Vec<Event>,
) -> Res<()> {
    if partner_with(ov, &cx.sender, Role::Attester)?.is_none() {
        return Err(CallError::NotAnAttester { account: cx.sender }.into());
    }
    if is_reserved_account(&a.subject) {
        return Err(CallError::ReservedAccount { account: a.subject }.into());
    }
    a.claim.check()?;
    if a.expires_at_ms <= cx.time_ms {
        return Err(CallError::InvalidClaim {
            reason: format!(
                "expires_at_ms {} is not after this block's time",
                a.expires_at_ms
            ),
        }
        .into());
    }
    // Room: drop what no longer counts, then refuse a full list.
    let key = storage::subject_claim(&a.subject, a.claim.kind());
    let mut ids: Vec<u64> = Vec::new();
    for id in get::<Vec<u64>, _>(ov, &key)?.unwrap_or_default() {
        let live = get::<Attestation, _>(ov, &storage::attestation(id))?
            .is_some_and(|x| x.is_live(cx.time_ms));
        if live {
            ids.push(id);
        }
    }
    if ids.len() >= ATTESTATIONS_PER_CLAIM_MAX {
        return Err(CallError::TooManyAttestations {
            subject: a.subject,
            max: ATTESTATIONS_PER_CLAIM_MAX as u32,
        }
        .into());
    }
    let id = next_id(ov, storage::next_attestation_id())?;
    let record = Attestation {
        id,
        attester: cx.sender,
        subject: a.subject,
        claim: a.claim.clone(),
        expires_at_ms: a.expires_at_ms,
        commitment: a.commitment,
        issued_at: cx.height,
        revoked_at: None,
    };
    ov.put(storage::attestation(id), &record)?;
    ids.push(id);
    put_ids(ov, key, &ids)?;
    events.push(Event::AttestationIssued(AttestationIssued {
        id,
        attester: cx.sender,
        subject: a.subject,
        claim: a.claim.clone(),
        expires_at_ms: a.expires_at_ms,
    }));
    Ok(())
}

/// Refuses (`ClaimRequired`) `account` acquiring `product` at `time_ms` unless it holds
/// the claim the product requires, if any.
pub(crate) fn check_required<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    account: &Address,
    product: u64,
    time_ms: TimeMs,
) -> Res<()> {
    let Some(needed) = get::<Claim, _>(ov, &storage::product_claim(product))? else {
        return Ok(());
    };
    if holds(ov, account, &needed, time_ms)? {
        return Ok(());
    }
    Err(CallError::ClaimRequired {
        product,
        account: *account,
        claim: needed,
    }
    .into())
}

/// Whether `account` holds a claim at least as strong as `needed` at `time_ms`.
pub(crate) fn holds<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    account: &Address,
    needed: &Claim,
    time_ms: TimeMs,
) -> Res<bool> {
    let ids: Vec<u64> =
        get(ov, &storage::subject_claim(account, needed.kind()))?.unwrap_or_default();
    for id in ids {
        let Some(a) = get::<Attestation, _>(ov, &storage::attestation(id))? else {
            continue;
        };
        let attester_ok = partner_with(ov, &a.attester, Role::Attester)?.is_some();
        if attester_ok && a.is_live(time_ms) && a.claim.satisfies(needed) {
            return Ok(true);
        }
    }
    Ok(false)
}

// -------------------------------------------------------------- queries

/// An attestation by id (revoked ones included).
pub fn attestation<S: StateRead + ?Sized>(
    s: &S,
    id: u64,
) -> Result<Option<Attestation>, StateError> {
    read_record(s, &storage::attestation(id))
}

/// A subject's live-listed attestations (unrevoked; expired ones until the next
/// `Attest` of their kind drops them), by kind then id: at most 3 ×
/// [`ATTESTATIONS_PER_CLAIM_MAX`].
pub fn attestations_of<S: StateRead + ?Sized>(
    s: &S,
    subject: &Address,
) -> Result<Vec<Attestation>, StateError> {
    let mut out = Vec::new();
    for kind in 0..3u8 {
        let ids: Vec<u64> =
            read_record(s, &storage::subject_claim(subject, kind))?.unwrap_or_default();
        for id in ids {
            out.push(attestation(s, id)?.ok_or(StateError::MissingRecord {
                what: "attestation",
                id,
            })?);
        }
    }
    Ok(out)
}

/// The claim a product requires, if any.
pub fn required_claim<S: StateRead + ?Sized>(
    s: &S,
    product: u64,
) -> Result<Option<Claim>, StateError> {
    read_record(s, &storage::product_claim(product))
}

/// Sets a product's required claim at genesis, with `RequireClaim`'s checks. Returns
/// the reason it is refused, if it is.
pub fn require_at_genesis<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    product: u64,
    claim: &Claim,
) -> Result<Result<(), CallError>, StateError> {
    crate::economy::ledger::settle(set_requirement(ov, product, Some(claim)))
}
