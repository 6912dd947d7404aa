//! The rules a chain spec must satisfy before it may start a chain.
//!
//! Decisions recorded here:
//! - Every validator key must be the account of a partner holding the `validator`
//!   role: a validator is always run by a registered, accountable partner. (A partner
//!   may hold the role without running a validator yet.)
//! - A validator's `peer_id` may be of any ed25519 key: the node's network identity
//!   need not be its consensus key, though the presets use one key for both.
//! - Balances are listed once per (account, asset) and are never zero.
//! - Every merchant's jurisdiction is listed (its payments are taxed there); other
//!   partners' jurisdictions need only be well formed.
//! - The runtime's escrow account may hold no balance, collect no fees and be no tax
//!   authority: its balance must equal the pending redemptions.

use std::collections::{BTreeMap, BTreeSet};

use jeon_runtime::block::BLOCK_BYTES_MAX;
use jeon_runtime::economy::{
    is_reserved_account, EconomyParams, BPS_DENOMINATOR, REDEMPTION_WINDOW_BLOCKS_MAX,
};
use jeon_runtime::model::{symbol_is_valid, DECIMALS_MAX};
use jeon_runtime::{Address, Amount, AssetId, Params, Role};

use crate::error::GenesisError;
use crate::peer_id::parse_peer_id;
use crate::spec::{
    AssetSpec, BalanceSpec, GenesisSpec, JurisdictionSpec, PartnerSpec, ValidatorSpec,
};

/// The most voting power a validator set may hold in total (the consensus core counts
/// power in this range).
pub const VOTING_POWER_TOTAL_MAX: u64 = 1 << 16;
/// The most validators a spec may list. It must equal the consensus core's
/// `VALIDATORS_MAX` (node/src/consensus/validators.rs), which refuses a larger set at
/// start-up. Genesis cannot depend on the node, so a node-side test is to check that
/// the two agree; until it exists, change both together.
pub const VALIDATORS_MAX: usize = 256;
/// The longest chain, partner or validator name, in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// Room left in a node's largest block for the header and the transaction list's
/// framing (a header encodes to a few hundred bytes).
const BLOCK_HEADER_BYTES_RESERVED: usize = 4096;

impl GenesisSpec {
    /// Checks every rule; the first violation, in a fixed order, is returned.
    pub fn validate(&self) -> Result<(), GenesisError> {
        check_chain_name(&self.chain_name)?;
        check_block_limits(&self.params)?;
        check_economy(&self.economy)?;
        if let Some(market) = &self.fee_market {
            market
                .check(self.params.fee_flat, self.params.block_txs_max)
                .map_err(|reason| GenesisError::InvalidFeeMarket { reason })?;
        }
        let codes = check_jurisdictions(&self.jurisdictions)?;
        let partners = check_partners(&self.partners, &codes)?;
        check_validators(&self.validators, &partners)?;
        check_assets(&self.assets, &partners)?;
        let supplies = self.supplies()?;
        check_supply_max(&self.assets, &supplies)?;
        if !self.assets.iter().any(|a| a.id == self.params.fee_asset) {
            return Err(GenesisError::UnknownFeeAsset {
                asset: self.params.fee_asset,
            });
        }
        not_reserved("params.fee_collector", &self.params.fee_collector)?;
        if !self.products.is_empty() {
            // Products are checked as `CreateProduct` checks them, over the state the
            // rest of the spec writes: so a spec that validates always builds.
            self.build_validated()?;
        }
        Ok(())
    }

    /// Each asset's supply: the sum of its balances. Checks the balances on the way.
    pub(crate) fn supplies(&self) -> Result<BTreeMap<AssetId, Amount>, GenesisError> {
        let mut supplies: BTreeMap<AssetId, Amount> =
            self.assets.iter().map(|a| (a.id, 0)).collect();
        let mut seen = BTreeSet::new();
        for b in &self.balances {
            check_balance(b, &mut seen)?;
            let Some(supply) = supplies.get_mut(&b.asset) else {
                return Err(GenesisError::UnknownBalanceAsset {
                    account: b.account,
                    asset: b.asset,
                });
            };
            *supply = supply
                .checked_add(b.amount)
                .ok_or_else(|| GenesisError::SupplyOverflow {
                    symbol: symbol_of(&self.assets, b.asset),
                })?;
        }
        Ok(supplies)
    }
}

fn check_chain_name(name: &str) -> Result<(), GenesisError> {
    if name.is_empty() {
        return Err(GenesisError::EmptyChainName);
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b);
    if name.len() > NAME_BYTES_MAX || !name.bytes().all(allowed) {
        return Err(GenesisError::InvalidChainName {
            name: name.to_owned(),
            max: NAME_BYTES_MAX,
        });
    }
    Ok(())
}

fn check_block_limits(params: &Params) -> Result<(), GenesisError> {
    if params.block_txs_max == 0 {
        return Err(GenesisError::ZeroBlockLimit {
            field: "block_txs_max",
        });
    }
    if params.block_bytes_max == 0 {
        return Err(GenesisError::ZeroBlockLimit {
            field: "block_bytes_max",
        });
    }
    // The transactions must fit in a block the node accepts, header included.
    let max = BLOCK_BYTES_MAX - BLOCK_HEADER_BYTES_RESERVED;
    if params.block_bytes_max as usize > max {
        return Err(GenesisError::BlockBytesTooLarge {
            got: params.block_bytes_max,
            max,
        });
    }
    Ok(())
}

fn not_reserved(field: &str, account: &Address) -> Result<(), GenesisError> {
    if is_reserved_account(account) {
        return Err(GenesisError::ReservedAccount {
            field: field.to_owned(),
            account: *account,
        });
    }
    Ok(())
}

fn check_economy(economy: &EconomyParams) -> Result<(), GenesisError> {
    let got = economy.redemption_window_blocks;
    if got == 0 || got > REDEMPTION_WINDOW_BLOCKS_MAX {
        return Err(GenesisError::InvalidRedemptionWindow {
            got,
            max: REDEMPTION_WINDOW_BLOCKS_MAX,
        });
    }
    Ok(())
}

/// Whether `code` is two ASCII letters `A-Z`.
fn is_country_code(code: &str) -> bool {
    let c = code.as_bytes();
    c.len() == 2 && c.iter().all(u8::is_ascii_uppercase)
}

fn check_jurisdictions(jurisdictions: &[JurisdictionSpec]) -> Result<BTreeSet<&str>, GenesisError> {
    let mut codes = BTreeSet::new();
    for j in jurisdictions {
        if !is_country_code(&j.code) {
            return Err(GenesisError::InvalidJurisdictionCode {
                code: j.code.clone(),
            });
        }
        if !codes.insert(j.code.as_str()) {
            return Err(GenesisError::DuplicateJurisdiction {
                code: j.code.clone(),
            });
        }
        let max = BPS_DENOMINATOR as u16;
        if j.tax_bps > max {
            return Err(GenesisError::TaxRateTooHigh {
                code: j.code.clone(),
                tax_bps: j.tax_bps,
                max,
            });
        }
        not_reserved(&format!("jurisdiction {} authority", j.code), &j.authority)?;
    }
    Ok(codes)
}

fn check_partners<'a>(
    partners: &'a [PartnerSpec],
    jurisdictions: &BTreeSet<&str>,
) -> Result<BTreeMap<Address, &'a PartnerSpec>, GenesisError> {
    let mut by_account = BTreeMap::new();
    for p in partners {
        if p.name.is_empty() || p.name.len() > NAME_BYTES_MAX {
            return Err(GenesisError::InvalidPartnerName {
                name: p.name.clone(),
                account: p.account,
                max: NAME_BYTES_MAX,
            });
        }
        if by_account.insert(p.account, p).is_some() {
            return Err(GenesisError::DuplicatePartner { account: p.account });
        }
        if p.roles.is_empty() {
            return Err(GenesisError::NoRoles {
                name: p.name.clone(),
            });
        }
        let mut roles = BTreeSet::new();
        if let Some(role) = p.roles.iter().find(|r| !roles.insert(**r)) {
            return Err(GenesisError::DuplicateRole {
                name: p.name.clone(),
                role: *role,
            });
        }
        if !is_country_code(&p.jurisdiction) {
            return Err(GenesisError::InvalidJurisdiction {
                name: p.name.clone(),
                jurisdiction: p.jurisdiction.clone(),
            });
        }
        if p.has_role(Role::Merchant) && !jurisdictions.contains(p.jurisdiction.as_str()) {
            return Err(GenesisError::UnknownMerchantJurisdiction {
                name: p.name.clone(),
                jurisdiction: p.jurisdiction.clone(),
            });
        }
    }
    Ok(by_account)
}

fn check_validators(
    validators: &[ValidatorSpec],
    partners: &BTreeMap<Address, &PartnerSpec>,
) -> Result<(), GenesisError> {
    if validators.is_empty() {
        return Err(GenesisError::NoValidators);
    }
    if validators.len() > VALIDATORS_MAX {
        return Err(GenesisError::TooManyValidators {
            count: validators.len(),
            max: VALIDATORS_MAX,
        });
    }
    let (mut names, mut keys, mut peers) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut total: u64 = 0;
    for v in validators {
        check_validator(v)?;
        if !names.insert(v.name.as_str()) {
            return Err(GenesisError::DuplicateValidatorName {
                name: v.name.clone(),
            });
        }
        if !keys.insert(v.key) {
            return Err(GenesisError::DuplicateValidatorKey { key: v.key });
        }
        if !peers.insert(v.peer_id.as_str()) {
            return Err(GenesisError::DuplicatePeerId {
                peer_id: v.peer_id.clone(),
            });
        }
        if !partners
            .get(&v.key)
            .is_some_and(|p| p.has_role(Role::Validator))
        {
            return Err(GenesisError::ValidatorNotPartner {
                name: v.name.clone(),
                key: v.key,
            });
        }
        total = total.saturating_add(v.power);
    }
    if total > VOTING_POWER_TOTAL_MAX {
        return Err(GenesisError::TotalPowerTooLarge {
            total,
            max: VOTING_POWER_TOTAL_MAX,
        });
    }
    Ok(())
}

/// The checks on one validator that need no other record.
fn check_validator(v: &ValidatorSpec) -> Result<(), GenesisError> {
    let slug = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if v.name.is_empty() || v.name.len() > NAME_BYTES_MAX || !v.name.bytes().all(slug) {
        return Err(GenesisError::InvalidValidatorName {
            name: v.name.clone(),
            max: NAME_BYTES_MAX,
        });
    }
    let key_ok = ed25519_dalek::VerifyingKey::from_bytes(v.key.as_bytes())
        .map(|k| !k.is_weak())
        .unwrap_or(false);
    if !key_ok {
        return Err(GenesisError::InvalidValidatorKey {
            name: v.name.clone(),
            key: v.key,
        });
    }
    if v.power == 0 {
        return Err(GenesisError::ZeroPower {
            name: v.name.clone(),
        });
    }
    parse_peer_id(&v.peer_id).map_err(|source| GenesisError::MalformedPeerId {
        name: v.name.clone(),
        peer_id: v.peer_id.clone(),
        source,
    })?;
    Ok(())
}

fn check_assets(
    assets: &[AssetSpec],
    partners: &BTreeMap<Address, &PartnerSpec>,
) -> Result<(), GenesisError> {
    let (mut ids, mut symbols) = (BTreeSet::new(), BTreeSet::new());
    for a in assets {
        if !ids.insert(a.id) {
            return Err(GenesisError::DuplicateAssetId { id: a.id });
        }
        // The next created asset takes the largest id + 1, which must exist.
        if a.id.0 == u32::MAX {
            return Err(GenesisError::AssetIdTooLarge {
                id: a.id,
                max: u32::MAX - 1,
            });
        }
        if !symbol_is_valid(&a.symbol) {
            return Err(GenesisError::InvalidSymbol {
                symbol: a.symbol.clone(),
            });
        }
        if !symbols.insert(a.symbol.as_str()) {
            return Err(GenesisError::DuplicateSymbol {
                symbol: a.symbol.clone(),
            });
        }
        if a.decimals > DECIMALS_MAX {
            return Err(GenesisError::TooManyDecimals {
                symbol: a.symbol.clone(),
                decimals: a.decimals,
                max: DECIMALS_MAX,
            });
        }
        if !partners
            .get(&a.issuer)
            .is_some_and(|p| p.has_role(Role::Issuer))
        {
            return Err(GenesisError::UnknownIssuer {
                symbol: a.symbol.clone(),
                issuer: a.issuer,
            });
        }
        if a.supply_max == Some(0) {
            return Err(GenesisError::ZeroSupplyMax {
                symbol: a.symbol.clone(),
            });
        }
    }
    Ok(())
}

fn check_supply_max(
    assets: &[AssetSpec],
    supplies: &BTreeMap<AssetId, Amount>,
) -> Result<(), GenesisError> {
    for a in assets {
        let supply = supplies.get(&a.id).copied().unwrap_or(0);
        if let Some(max) = a.supply_max {
            if supply > max {
                return Err(GenesisError::SupplyAboveMax {
                    symbol: a.symbol.clone(),
                    supply,
                    supply_max: max,
                });
            }
        }
    }
    Ok(())
}

fn check_balance(
    b: &BalanceSpec,
    seen: &mut BTreeSet<(Address, AssetId)>,
) -> Result<(), GenesisError> {
    if b.amount == 0 {
        return Err(GenesisError::ZeroBalance {
            account: b.account,
            asset: b.asset,
        });
    }
    if !seen.insert((b.account, b.asset)) {
        return Err(GenesisError::DuplicateBalance {
            account: b.account,
            asset: b.asset,
        });
    }
    not_reserved("a balance's account", &b.account)
}

fn symbol_of(assets: &[AssetSpec], id: AssetId) -> String {
    assets
        .iter()
        .find(|a| a.id == id)
        .map_or_else(|| id.to_string(), |a| a.symbol.clone())
}
