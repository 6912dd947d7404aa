//! The runtime's initial state, built from a validated spec.

use jeon_runtime::economy::Jurisdiction;
use jeon_runtime::goods::{self, CreateProduct};
use jeon_runtime::governance::{self, Validator, ValidatorSet};
use jeon_runtime::state::keys;
use jeon_runtime::{AssetInfo, ChangeSet, Hash, MemoryState, Overlay, Partner, StateError};

use crate::error::GenesisError;
use crate::spec::GenesisSpec;

impl GenesisSpec {
    /// Validates the spec, then writes its state (parameters, economy parameters, the
    /// validator set, the fee market if any,
    /// jurisdictions, partners, assets with their supply and issuance limit, the symbol
    /// index, the next asset id, balances, products) over an empty state. Returns the writes and
    /// the genesis app hash, which the first block's header carries.
    pub fn build_state(&self) -> Result<(ChangeSet, Hash), GenesisError> {
        self.validate()?;
        self.build_validated()
    }

    /// [`Self::build_state`] after validation; `validate` runs it too when the spec
    /// lists products, whose checks (`CreateProduct`'s) need the partners and assets
    /// written first.
    pub(crate) fn build_validated(&self) -> Result<(ChangeSet, Hash), GenesisError> {
        let supplies = self.supplies()?;
        let base = MemoryState::new();
        let mut ov = Overlay::new(&base);
        let state_err = |e: StateError| GenesisError::State {
            reason: e.to_string(),
        };
        ov.put(keys::params(), &self.params).map_err(state_err)?;
        ov.put(keys::economy(), &self.economy).map_err(state_err)?;
        // The validator set in effect, which governance changes and consensus reads.
        let set = ValidatorSet {
            since: 1,
            validators: self
                .validators
                .iter()
                .map(|v| Validator {
                    name: v.name.clone(),
                    key: v.key,
                    peer_id: v.peer_id.clone(),
                    power: v.power,
                })
                .collect(),
        };
        ov.put(governance::storage::validator_set(), &set)
            .map_err(state_err)?;
        if let Some(market) = &self.fee_market {
            ov.put(jeon_runtime::economy::fees::storage::fee_market(), market)
                .map_err(state_err)?;
        }
        for j in &self.jurisdictions {
            // Validation checked the code is two ASCII letters.
            let code: [u8; 2] = j.code.as_bytes().try_into().map_err(|_| {
                GenesisError::InvalidJurisdictionCode {
                    code: j.code.clone(),
                }
            })?;
            let record = Jurisdiction {
                code: j.code.clone(),
                tax_bps: j.tax_bps,
                authority: j.authority,
            };
            ov.put(keys::jurisdiction(&code), &record)
                .map_err(state_err)?;
        }
        for p in &self.partners {
            let mut roles = p.roles.clone();
            roles.sort();
            let partner = Partner {
                name: p.name.clone(),
                account: p.account,
                roles,
                jurisdiction: p.jurisdiction.clone(),
            };
            ov.put(keys::partner(&p.account), &partner)
                .map_err(state_err)?;
        }
        for a in &self.assets {
            let info = AssetInfo {
                id: a.id,
                symbol: a.symbol.clone(),
                decimals: a.decimals,
                issuer: a.issuer,
                kind: a.kind,
                supply: supplies.get(&a.id).copied().unwrap_or(0),
            };
            ov.put(keys::asset(a.id), &info).map_err(state_err)?;
            ov.put(keys::symbol(&a.symbol), &a.id).map_err(state_err)?;
            if let Some(max) = a.supply_max {
                ov.put(keys::supply_max(a.id), &max).map_err(state_err)?;
            }
        }
        // Validation refused id u32::MAX, so the next id exists.
        let next_id: u32 = self
            .assets
            .iter()
            .map(|a| a.id.0.saturating_add(1))
            .max()
            .unwrap_or(0);
        ov.put(keys::next_asset_id(), &next_id).map_err(state_err)?;
        for b in &self.balances {
            ov.set_balance(&b.account, b.asset, b.amount)
                .map_err(state_err)?;
        }
        self.write_products(&mut ov)?;
        ov.finish().map_err(state_err)
    }

    /// Defines the products, in list order (ids from 0), with `CreateProduct`'s checks
    /// against the partners and assets already written.
    fn write_products(&self, ov: &mut Overlay<'_, MemoryState>) -> Result<(), GenesisError> {
        for (index, p) in self.products.iter().enumerate() {
            let def = CreateProduct {
                name: p.name.clone(),
                kind: p.kind.clone(),
                asset: p.asset,
                price: p.price,
                royalty_bps: p.royalty_bps,
            };
            let id = goods::define_at_genesis(ov, p.merchant, &def)
                .map_err(|e| GenesisError::State {
                    reason: e.to_string(),
                })?
                .map_err(|e| GenesisError::InvalidProduct {
                    index,
                    reason: e.to_string(),
                })?;
            if let Some(claim) = &p.requires {
                jeon_runtime::identity::require_at_genesis(ov, id, claim)
                    .map_err(|e| GenesisError::State {
                        reason: e.to_string(),
                    })?
                    .map_err(|e| GenesisError::InvalidProduct {
                        index,
                        reason: e.to_string(),
                    })?;
            }
        }
        Ok(())
    }
}
