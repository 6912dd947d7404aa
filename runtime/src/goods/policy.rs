//! Claim policies: a partner requires an identity claim (`identity::Claim`, e.g. KYC
//! level 2) before it opens a credit line or a carrier line for an account, or before
//! a holder redeems (or cashes out) more than a threshold of its credits.
//!
//! Rules (docs/economy.md §14, "Claim-gated lines and cash-outs"):
//! - `SetClaimPolicy` (a lender for `credit_lines`, a carrier for `carrier_lines`, the
//!   issuer of a credit asset for `redemptions`): a claim (checked as `RequireClaim`
//!   checks it) and a threshold `above`; `None` clears the policy.
//! - `OpenCreditLine` with a limit above the threshold, `OpenCarrierLine` with a cap
//!   above it, and `Redeem` of more than it (goods or money) are refused with
//!   `PolicyClaimRequired`, naming the missing claim, unless the borrower, user or
//!   holder holds it at the block's time (identity's check: an unrevoked, unexpired
//!   attestation from a partner that still holds the attester role, at least as
//!   strong).

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::ledger::{get, own_credit, partner_with, CallCx, Res};
use crate::events::EventDef;
use crate::identity::Claim;
use crate::model::{CallError, Event, Role};
use crate::state::{read_record, Overlay, StateError, StateRead};
use crate::types::{Address, Amount, AssetId, TimeMs};

/// Where this module keeps its records (prefix in [`crate::state::keys`]).
pub mod storage {
    use super::ClaimScope;
    use crate::state::keys::{with, CLAIM_POLICY};
    use crate::types::Address;

    /// Key of a partner's policy for a scope.
    pub fn policy(partner: &Address, scope: &ClaimScope) -> Vec<u8> {
        match scope {
            ClaimScope::CreditLines => with(CLAIM_POLICY, &[&partner.0, &[0]]),
            ClaimScope::CarrierLines => with(CLAIM_POLICY, &[&partner.0, &[1]]),
            ClaimScope::Redemptions { asset } => {
                with(CLAIM_POLICY, &[&partner.0, &[2], &asset.0.to_be_bytes()])
            }
        }
    }
}

/// What a claim policy covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimScope {
    /// The credit lines the partner (a lender) opens.
    CreditLines,
    /// The carrier lines the partner (a carrier) opens.
    CarrierLines,
    /// Redemptions and cash-outs of a credit asset the partner issues.
    Redemptions {
        /// The asset.
        asset: AssetId,
    },
}

impl std::fmt::Display for ClaimScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimScope::CreditLines => write!(f, "credit lines"),
            ClaimScope::CarrierLines => write!(f, "carrier lines"),
            ClaimScope::Redemptions { asset } => write!(f, "redemptions of asset {asset}"),
        }
    }
}

/// A partner's policy.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ClaimPolicy {
    /// The claim required.
    pub claim: Claim,
    /// Lines with a limit or cap above it, and redemptions of more than it, need the
    /// claim (0: all of them).
    pub above: Amount,
}

/// A partner sets (or clears) a claim policy.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SetClaimPolicy {
    /// What it covers.
    pub scope: ClaimScope,
    /// The claim, or `None` to require nothing.
    pub claim: Option<Claim>,
    /// The threshold (see [`ClaimPolicy::above`]).
    pub above: Amount,
}

/// A claim policy was set or cleared.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ClaimPolicySet {
    /// The partner.
    pub partner: Address,
    /// What it covers.
    pub scope: ClaimScope,
    /// The claim now required, if any.
    pub claim: Option<Claim>,
    /// The threshold.
    pub above: Amount,
}

impl EventDef for ClaimPolicySet {
    fn accounts(&self) -> Vec<Address> {
        vec![self.partner]
    }
}

impl CallDef for SetClaimPolicy {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let role = match self.scope {
            ClaimScope::CreditLines => Some(Role::Lender),
            ClaimScope::CarrierLines => Some(Role::Carrier),
            ClaimScope::Redemptions { asset } => {
                own_credit(ov, asset, &cx.sender)?;
                None
            }
        };
        if let Some(role) = role {
            if partner_with(ov, &cx.sender, role)?.is_none() {
                return Err(CallError::MissingRole { role }.into());
            }
        }
        let key = storage::policy(&cx.sender, &self.scope);
        match &self.claim {
            Some(claim) => {
                claim.check()?;
                let record = ClaimPolicy {
                    claim: claim.clone(),
                    above: self.above,
                };
                ov.put(key, &record)?;
            }
            None => ov.put_raw(key, None)?,
        }
        events.push(Event::ClaimPolicySet(ClaimPolicySet {
            partner: cx.sender,
            scope: self.scope,
            claim: self.claim.clone(),
            above: self.above,
        }));
        Ok(())
    }

    fn summary(&self) -> String {
        match &self.claim {
            Some(c) => format!("require {c} for {} above {}", self.scope, self.above),
            None => format!("require no claim for {}", self.scope),
        }
    }
}

/// Refuses (`PolicyClaimRequired`) `account` an operation of `amount` in `partner`'s
/// `scope` unless it holds the claim the partner's policy requires at `time_ms`.
pub(crate) fn check<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    partner: &Address,
    scope: &ClaimScope,
    account: &Address,
    amount: Amount,
    time_ms: TimeMs,
) -> Res<()> {
    let Some(p) = get::<ClaimPolicy, _>(ov, &storage::policy(partner, scope))? else {
        return Ok(());
    };
    if amount <= p.above || crate::identity::holds(ov, account, &p.claim, time_ms)? {
        return Ok(());
    }
    Err(CallError::PolicyClaimRequired {
        scope: *scope,
        account: *account,
        claim: p.claim,
    }
    .into())
}

/// A partner's policy for a scope, if any.
pub fn policy<S: StateRead + ?Sized>(
    s: &S,
    partner: &Address,
    scope: &ClaimScope,
) -> Result<Option<ClaimPolicy>, StateError> {
    read_record(s, &storage::policy(partner, scope))
}
