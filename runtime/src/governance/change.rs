//! What a proposal can change, the checks a change must pass (when proposed and again
//! when it takes effect), and how each is written into state.

use serde::{Deserialize, Serialize};

use super::{storage, SetHistory, Validator, ValidatorSet, ValidatorSetChanged};
use crate::block::ValidatorInfo;
use crate::economy::fees::{self, FeeMarket, FeeTier};
use crate::economy::ledger::{economy, get, Res};
use crate::economy::pay::code_bytes;
use crate::economy::{
    is_reserved_account, Jurisdiction, BPS_DENOMINATOR, REDEMPTION_WINDOW_BLOCKS_MAX,
};
use crate::model::{CallError, Event, Partner, Role};
use crate::state::{keys, Overlay, StateExt, StateRead};
use crate::types::{Address, Amount, Height};

/// The most validators a set may hold (the consensus core's `VALIDATORS_MAX`, and
/// genesis's).
pub const VALIDATORS_MAX: usize = 256;
/// The most voting power a set may hold in total (genesis's `VOTING_POWER_TOTAL_MAX`).
pub const VOTING_POWER_TOTAL_MAX: u64 = 1 << 16;
/// The longest peer id string (an ed25519 one is 52 characters).
pub const PEER_ID_CHARS_MAX: usize = 64;
/// The longest partner or validator name, in bytes.
const NAME_BYTES_MAX: usize = 64;
/// The base58 (bitcoin) alphabet of peer ids.
const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A change a proposal makes, if it passes.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Add a validator at the end of the set. Its key must be a partner with the
    /// validator role when the change takes effect.
    AddValidator {
        /// A slug (`a-z`, `0-9`, `-`, at most 64 bytes), unique in the set.
        name: String,
        /// Its consensus key (a valid ed25519 key), unique in the set.
        key: Address,
        /// The libp2p peer id its node listens as (base58, `12D3KooW…`), unique.
        peer_id: String,
        /// Voting power (> 0; the set's total at most 65 536).
        power: u64,
    },
    /// Remove a validator (not the last one).
    RemoveValidator {
        /// Its key.
        key: Address,
    },
    /// Change a validator's power.
    SetValidatorPower {
        /// Its key.
        key: Address,
        /// The new power (> 0; the set's total at most 65 536).
        power: u64,
    },
    /// Register a partner.
    AddPartner {
        /// Display name (1 to 64 bytes).
        name: String,
        /// Its account (not already a partner).
        account: Address,
        /// Its roles: at least one, no duplicates (stored sorted).
        roles: Vec<Role>,
        /// Its jurisdiction: two letters `A-Z`; a defined one for a merchant.
        jurisdiction: String,
    },
    /// Remove a partner (not one in the validator set). Its assets, rules and
    /// agreements stay; calls that need a partner or a role refuse it from then on.
    RemovePartner {
        /// Its account.
        account: Address,
    },
    /// Replace a partner's roles.
    SetPartnerRoles {
        /// Its account.
        account: Address,
        /// The new roles: at least one, no duplicates; `validator` kept while it is in
        /// the set.
        roles: Vec<Role>,
    },
    /// Define a jurisdiction, or change its tax rate or authority.
    SetJurisdiction(Jurisdiction),
    /// Set the fee market (`None`: no market; the fee is `params.fee_flat` from then
    /// on). The base fee is clamped into the new bounds.
    SetFeeMarket(Option<FeeMarket>),
    /// Replace the fee market's volume tiers (a market must exist).
    SetVolumeTiers(Vec<FeeTier>),
    /// Set the redemption window, in blocks (1 to 100 000 000); pending requests keep
    /// their deadline.
    SetRedemptionWindow {
        /// Blocks an issuer has to settle a request made from then on.
        blocks: Height,
    },
    /// Set the most a carrier line's cap may be (> 0, in the line asset's smallest
    /// unit); open lines keep their cap.
    SetCarrierLineCapMax {
        /// The new maximum.
        amount: Amount,
    },
}

fn invalid(reason: impl Into<String>) -> CallError {
    CallError::InvalidChange {
        reason: reason.into(),
    }
}

impl Change {
    /// The change in one line.
    pub fn summary(&self) -> String {
        match self {
            Change::AddValidator {
                name, key, power, ..
            } => format!("adding validator {name} ({key}) with power {power}"),
            Change::RemoveValidator { key } => format!("removing validator {key}"),
            Change::SetValidatorPower { key, power } => {
                format!("setting the power of validator {key} to {power}")
            }
            Change::AddPartner { name, account, .. } => {
                format!("adding partner {name} ({account})")
            }
            Change::RemovePartner { account } => format!("removing partner {account}"),
            Change::SetPartnerRoles { account, roles } => {
                format!("setting the roles of partner {account} to {roles:?}")
            }
            Change::SetJurisdiction(j) => format!(
                "setting jurisdiction {} to {} bps, authority {}",
                j.code, j.tax_bps, j.authority
            ),
            Change::SetFeeMarket(Some(m)) => format!(
                "setting the fee market (base fee {} to {}, {} tiers)",
                m.base_fee_min,
                m.base_fee_max,
                m.tiers.len()
            ),
            Change::SetFeeMarket(None) => "removing the fee market".to_owned(),
            Change::SetVolumeTiers(t) => format!("setting {} volume tiers", t.len()),
            Change::SetRedemptionWindow { blocks } => {
                format!("setting the redemption window to {blocks} blocks")
            }
            Change::SetCarrierLineCapMax { amount } => {
                format!("setting the carrier line cap maximum to {amount} units")
            }
        }
    }

    /// The accounts the change names.
    pub fn accounts(&self) -> Vec<Address> {
        match self {
            Change::AddValidator { key, .. }
            | Change::RemoveValidator { key }
            | Change::SetValidatorPower { key, .. } => vec![*key],
            Change::AddPartner { account, .. }
            | Change::RemovePartner { account }
            | Change::SetPartnerRoles { account, .. } => vec![*account],
            Change::SetJurisdiction(j) => vec![j.authority],
            _ => vec![],
        }
    }

    /// Checks the change against the state and the set in effect. `enacting`: also the
    /// checks that may only hold once earlier proposals took effect (a new validator
    /// must by then be a partner with the validator role).
    pub(super) fn check<S: StateRead + ?Sized>(
        &self,
        ov: &Overlay<'_, S>,
        set: &ValidatorSet,
        enacting: bool,
    ) -> Res<()> {
        match self {
            Change::AddValidator {
                name,
                key,
                peer_id,
                power,
            } => {
                check_new_validator(set, name, key, peer_id, *power)?;
                if enacting {
                    let ok = ov
                        .partner(key)?
                        .is_some_and(|p| p.has_role(Role::Validator));
                    if !ok {
                        return Err(invalid(format!(
                            "{key} is not a partner with the validator role"
                        ))
                        .into());
                    }
                }
            }
            Change::RemoveValidator { key } => {
                member(set, key)?;
                if set.validators.len() == 1 {
                    return Err(invalid("the last validator cannot be removed").into());
                }
            }
            Change::SetValidatorPower { key, power } => {
                let old = member(set, key)?.power;
                check_power(set.total_power().saturating_sub(old), *power)?;
            }
            Change::AddPartner {
                name,
                account,
                roles,
                jurisdiction,
            } => {
                if name.is_empty() || name.len() > NAME_BYTES_MAX {
                    return Err(invalid(format!(
                        "partner name must be 1 to {NAME_BYTES_MAX} bytes"
                    ))
                    .into());
                }
                if is_reserved_account(account) {
                    return Err(CallError::ReservedAccount { account: *account }.into());
                }
                if ov.partner(account)?.is_some() {
                    return Err(invalid(format!("{account} is already a partner")).into());
                }
                check_roles(ov, roles, jurisdiction)?;
            }
            Change::RemovePartner { account } => {
                partner(ov, account)?;
                if set.get(account).is_some() {
                    return Err(invalid(format!(
                        "{account} is in the validator set: remove the validator first"
                    ))
                    .into());
                }
            }
            Change::SetPartnerRoles { account, roles } => {
                let p = partner(ov, account)?;
                check_roles(ov, roles, &p.jurisdiction)?;
                if set.get(account).is_some() && !roles.contains(&Role::Validator) {
                    return Err(invalid(format!(
                        "{account} is in the validator set: it keeps the validator role"
                    ))
                    .into());
                }
            }
            Change::SetJurisdiction(j) => check_jurisdiction(j)?,
            Change::SetFeeMarket(Some(m)) => check_market(ov, m)?,
            Change::SetFeeMarket(None) => {}
            Change::SetVolumeTiers(tiers) => {
                let mut m = market(ov)?;
                m.tiers = tiers.clone();
                check_market(ov, &m)?;
            }
            Change::SetRedemptionWindow { blocks } => {
                if *blocks == 0 || *blocks > REDEMPTION_WINDOW_BLOCKS_MAX {
                    return Err(invalid(format!(
                        "redemption window must be 1 to {REDEMPTION_WINDOW_BLOCKS_MAX} blocks"
                    ))
                    .into());
                }
            }
            Change::SetCarrierLineCapMax { amount } => {
                if *amount == 0 {
                    return Err(invalid("the carrier line cap maximum must be above 0").into());
                }
            }
        }
        Ok(())
    }

    /// Writes a parameter change (the redemption window, the carrier line cap maximum).
    fn write_parameter<S: StateRead + ?Sized>(&self, ov: &mut Overlay<'_, S>) -> Res<()> {
        match self {
            Change::SetRedemptionWindow { blocks } => {
                let mut e = economy(ov)?;
                e.redemption_window_blocks = *blocks;
                ov.put(keys::economy(), &e)?;
            }
            Change::SetCarrierLineCapMax { amount } => {
                let p = crate::goods::carrier::CarrierParams {
                    line_cap_max: *amount,
                };
                ov.put(crate::goods::carrier::storage::params(), &p)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks the change again and writes it, at the end of block `effective_from − 1`;
    /// appends the events of what it wrote besides `ProposalEnacted`.
    pub(super) fn apply<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        effective_from: Height,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let mut set: ValidatorSet = get(ov, &storage::validator_set())?.ok_or_else(|| {
            invalid("this chain has no validator set record (it was not built by genesis)")
        })?;
        self.check(ov, &set, true)?;
        let (since_before, before) = (set.since, set.infos());
        match self {
            Change::AddValidator {
                name,
                key,
                peer_id,
                power,
            } => {
                // A key is a validator's or a read node's, never both: registering
                // refuses a validator's key, and a read node's key that becomes a
                // validator's stops being a read node in the same block.
                crate::nodes::unregister_key(ov, key, events)?;
                set.validators.push(Validator {
                    name: name.clone(),
                    key: *key,
                    peer_id: peer_id.clone(),
                    power: *power,
                })
            }
            Change::RemoveValidator { key } => set.validators.retain(|v| v.key != *key),
            Change::SetValidatorPower { key, power } => {
                for v in set.validators.iter_mut().filter(|v| v.key == *key) {
                    v.power = *power;
                }
            }
            Change::AddPartner {
                name,
                account,
                roles,
                jurisdiction,
            } => {
                let mut roles = roles.clone();
                roles.sort();
                let p = Partner {
                    name: name.clone(),
                    account: *account,
                    roles,
                    jurisdiction: jurisdiction.clone(),
                };
                ov.put(keys::partner(account), &p)?;
                return Ok(());
            }
            Change::RemovePartner { account } => {
                ov.put_raw(keys::partner(account), None)?;
                // Its read nodes go with it, in the same block.
                return crate::nodes::remove_all_of(ov, account, events);
            }
            Change::SetPartnerRoles { account, roles } => {
                let mut p = partner(ov, account)?;
                p.roles = roles.clone();
                p.roles.sort();
                ov.put(keys::partner(account), &p)?;
                return Ok(());
            }
            Change::SetJurisdiction(j) => {
                let code = code_bytes(&j.code).ok_or_else(|| invalid("bad jurisdiction code"))?;
                ov.put(keys::jurisdiction(&code), j)?;
                return Ok(());
            }
            Change::SetFeeMarket(m) => return set_market(ov, m.as_ref()),
            Change::SetVolumeTiers(tiers) => {
                let mut m = market(ov)?;
                m.tiers = tiers.clone();
                ov.put(fees::storage::fee_market(), &m)?;
                return Ok(());
            }
            Change::SetRedemptionWindow { .. } | Change::SetCarrierLineCapMax { .. } => {
                return self.write_parameter(ov);
            }
        }
        if since_before < effective_from {
            record_change(ov, before, effective_from)?;
        }
        set.since = effective_from;
        ov.put(storage::validator_set(), &set)?;
        events.push(
            ValidatorSetChanged {
                validators: set.validators,
                effective_from,
            }
            .into(),
        );
        Ok(())
    }
}

/// The first change enacted at a height: the set before it (`before`) still signs block
/// `effective_from` (consensus lags the runtime by one block), and the history records
/// both.
fn record_change<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    before: Vec<ValidatorInfo>,
    effective_from: Height,
) -> Res<()> {
    let mut history: SetHistory = get(ov, &storage::set_history())?.unwrap_or_else(|| SetHistory {
        previous: Vec::new(),
        changes: Vec::new(),
    });
    history.previous = before;
    history.changes.push(effective_from);
    ov.put(storage::set_history(), &history)?;
    Ok(())
}

fn member<'a>(set: &'a ValidatorSet, key: &Address) -> Res<&'a Validator> {
    set.get(key)
        .ok_or_else(|| invalid(format!("{key} is not in the validator set")).into())
}

fn partner<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, account: &Address) -> Res<Partner> {
    Ok(ov
        .partner(account)?
        .ok_or(CallError::NotAPartner { account: *account })?)
}

/// A set whose other members hold `others` may give one member `power`.
fn check_power(others: u64, power: u64) -> Res<()> {
    if power == 0 {
        return Err(invalid("power must be greater than zero").into());
    }
    let total = others.saturating_add(power);
    if total > VOTING_POWER_TOTAL_MAX {
        return Err(invalid(format!(
            "the set's total power would be {total}, above {VOTING_POWER_TOTAL_MAX}"
        ))
        .into());
    }
    Ok(())
}

fn check_new_validator(
    set: &ValidatorSet,
    name: &str,
    key: &Address,
    peer_id: &str,
    power: u64,
) -> Res<()> {
    let slug = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if name.is_empty() || name.len() > NAME_BYTES_MAX || !name.bytes().all(slug) {
        return Err(invalid(format!(
            "validator name {name:?} must be 1 to {NAME_BYTES_MAX} of a-z, 0-9, -"
        ))
        .into());
    }
    let key_ok = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
        .map(|k| !k.is_weak())
        .unwrap_or(false);
    if !key_ok {
        return Err(invalid(format!("{key} is not a valid ed25519 key")).into());
    }
    if peer_id.is_empty()
        || peer_id.len() > PEER_ID_CHARS_MAX
        || !peer_id.bytes().all(|b| BASE58.contains(&b))
    {
        return Err(invalid(format!(
            "peer id {peer_id:?} is not base58 of at most {PEER_ID_CHARS_MAX} characters"
        ))
        .into());
    }
    if set.validators.len() >= VALIDATORS_MAX {
        return Err(invalid(format!("the set already has {VALIDATORS_MAX} validators")).into());
    }
    for v in &set.validators {
        if v.key == *key || v.name == name || v.peer_id == peer_id {
            return Err(invalid(format!(
                "validator {} already has this key, name or peer id",
                v.name
            ))
            .into());
        }
    }
    check_power(set.total_power(), power)
}

fn check_roles<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    roles: &[Role],
    jurisdiction: &str,
) -> Res<()> {
    if roles.is_empty() {
        return Err(invalid("a partner needs at least one role").into());
    }
    for (i, r) in roles.iter().enumerate() {
        if roles[..i].contains(r) {
            return Err(invalid(format!("role {r:?} is listed twice")).into());
        }
    }
    let Some(code) = code_bytes(jurisdiction) else {
        return Err(invalid(format!(
            "jurisdiction {jurisdiction:?} is not two letters A-Z"
        ))
        .into());
    };
    let defined = get::<Jurisdiction, S>(ov, &keys::jurisdiction(&code))?.is_some();
    if roles.contains(&Role::Merchant) && !defined {
        return Err(CallError::UnknownJurisdiction {
            jurisdiction: jurisdiction.to_owned(),
        }
        .into());
    }
    Ok(())
}

fn check_jurisdiction(j: &Jurisdiction) -> Res<()> {
    if code_bytes(&j.code).is_none() {
        return Err(invalid(format!(
            "jurisdiction code {:?} is not two letters A-Z",
            j.code
        ))
        .into());
    }
    if u64::from(j.tax_bps) > BPS_DENOMINATOR {
        return Err(CallError::RateTooHigh {
            bps: j.tax_bps,
            max: 10_000,
        }
        .into());
    }
    if is_reserved_account(&j.authority) {
        return Err(CallError::ReservedAccount {
            account: j.authority,
        }
        .into());
    }
    Ok(())
}

fn market<S: StateRead + ?Sized>(ov: &Overlay<'_, S>) -> Res<FeeMarket> {
    get(ov, &fees::storage::fee_market())?
        .ok_or_else(|| invalid("this chain has no fee market: set one first").into())
}

/// A market's own rules (the current base fee is clamped into its bounds, so it need
/// not lie within them).
fn check_market<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, m: &FeeMarket) -> Res<()> {
    let params = ov.params()?;
    m.check(m.base_fee_min, params.block_txs_max)
        .map_err(|e| invalid(format!("fee market: {e}")).into())
}

fn set_market<S: StateRead + ?Sized>(ov: &mut Overlay<'_, S>, m: Option<&FeeMarket>) -> Res<()> {
    let Some(m) = m else {
        ov.put_raw(fees::storage::fee_market(), None)?;
        // Without a market the fee is params.fee_flat, as genesis defines it.
        ov.put_raw(fees::storage::base_fee(), None)?;
        return Ok(());
    };
    let params = ov.params()?;
    let base: Amount = get(ov, &fees::storage::base_fee())?.unwrap_or(params.fee_flat);
    let clamped = base.clamp(m.base_fee_min, m.base_fee_max);
    ov.put(fees::storage::fee_market(), m)?;
    ov.put(fees::storage::base_fee(), &clamped)?;
    Ok(())
}
