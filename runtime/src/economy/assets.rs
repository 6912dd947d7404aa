//! Transfers and assets: moving units, creating an asset, minting and burning.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::is_reserved_account;
use crate::economy::ledger::{self, asset, positive, CallCx, Res};
use crate::events::EventDef;
use crate::model::{symbol_is_valid, AssetInfo, AssetKind, CallError, Event, Role, DECIMALS_MAX};
use crate::state::{keys, Overlay, StateExt, StateRead};
use crate::types::{Address, Amount, AssetId};

// ---------------------------------------------------------------- calls

/// Move units of an asset to another account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Transfer {
    /// Recipient.
    pub to: Address,
    /// Asset.
    pub asset: AssetId,
    /// Units (> 0).
    pub amount: Amount,
}

/// A partner with the issuer role creates an asset it will issue.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreateAsset {
    /// Unique ticker.
    pub symbol: String,
    /// Display decimals.
    pub decimals: u8,
    /// Money or credit.
    pub kind: AssetKind,
    /// The issuance limit: minting never takes the supply above it. `None`: no
    /// limit but the u64 range.
    pub supply_max: Option<Amount>,
}

/// The issuer creates units into an account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Mint {
    /// Asset.
    pub asset: AssetId,
    /// Recipient.
    pub to: Address,
    /// Units (> 0).
    pub amount: Amount,
}

/// A holder destroys units it holds.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Burn {
    /// Asset.
    pub asset: AssetId,
    /// Units (> 0).
    pub amount: Amount,
}

// --------------------------------------------------------------- events

/// Units moved between accounts.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Transferred {
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Asset.
    pub asset: AssetId,
    /// Units.
    pub amount: Amount,
}

impl EventDef for Transferred {
    fn accounts(&self) -> Vec<Address> {
        vec![self.from, self.to]
    }
}

/// A partner created an asset.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AssetCreated {
    /// The new asset's id.
    pub asset: AssetId,
    /// Its issuer.
    pub issuer: Address,
    /// Its symbol.
    pub symbol: String,
}

impl EventDef for AssetCreated {
    fn accounts(&self) -> Vec<Address> {
        vec![self.issuer]
    }
}

/// The issuer created units.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Minted {
    /// Asset.
    pub asset: AssetId,
    /// Recipient.
    pub to: Address,
    /// Units.
    pub amount: Amount,
}

impl EventDef for Minted {
    fn accounts(&self) -> Vec<Address> {
        vec![self.to]
    }
}

/// A holder destroyed units.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Burned {
    /// Asset.
    pub asset: AssetId,
    /// Holder.
    pub from: Address,
    /// Units.
    pub amount: Amount,
}

impl EventDef for Burned {
    fn accounts(&self) -> Vec<Address> {
        vec![self.from]
    }
}

impl CallDef for Transfer {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let Transfer {
            to,
            asset: id,
            amount,
        } = *self;
        positive(amount)?;
        asset(ov, id)?;
        if is_reserved_account(&to) {
            return Err(CallError::ReservedAccount { account: to }.into());
        }
        ledger::move_units(ov, &cx.sender, &to, id, amount)?;
        events.push(
            Transferred {
                from: cx.sender,
                to,
                asset: id,
                amount,
            }
            .into(),
        );
        Ok(())
    }

    fn summary(&self) -> String {
        let Transfer { to, asset, amount } = self;
        format!("transfer {amount} units of asset {asset} to {to}")
    }

    fn addressee<S: StateRead + ?Sized>(
        &self,
        _state: &S,
    ) -> Result<Option<Address>, crate::state::StateError> {
        Ok(Some(self.to))
    }
}

impl CallDef for CreateAsset {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let CreateAsset {
            symbol,
            decimals,
            kind,
            supply_max,
        } = self;
        let sender = cx.sender;
        if ledger::partner_with(ov, &sender, Role::Issuer)?.is_none() {
            return Err(CallError::MissingRole { role: Role::Issuer }.into());
        }
        if !symbol_is_valid(symbol) {
            return Err(CallError::InvalidSymbol {
                symbol: symbol.clone(),
            }
            .into());
        }
        if *decimals > DECIMALS_MAX {
            return Err(CallError::TooManyDecimals {
                decimals: *decimals,
            }
            .into());
        }
        if *supply_max == Some(0) {
            return Err(CallError::ZeroSupplyMax.into());
        }
        if let Some(asset) = ov.asset_by_symbol(symbol)? {
            return Err(CallError::DuplicateSymbol {
                symbol: symbol.clone(),
                asset,
            }
            .into());
        }
        let next = ov.next_asset_id()?;
        let after = next.checked_add(1).ok_or(CallError::AssetIdsExhausted)?;
        let id = AssetId(next);
        let info = AssetInfo {
            id,
            symbol: symbol.clone(),
            decimals: *decimals,
            issuer: sender,
            kind: *kind,
            supply: 0,
        };
        ov.put(keys::asset(id), &info)?;
        ov.put(keys::symbol(symbol), &id)?;
        ov.put(keys::next_asset_id(), &after)?;
        if let Some(max) = supply_max {
            ov.put(keys::supply_max(id), max)?;
        }
        events.push(
            AssetCreated {
                asset: id,
                issuer: sender,
                symbol: symbol.clone(),
            }
            .into(),
        );
        Ok(())
    }

    fn summary(&self) -> String {
        let CreateAsset {
            symbol,
            decimals,
            kind,
            ..
        } = self;
        format!("create asset {symbol} ({kind:?}, {decimals} decimals)")
    }
}

impl CallDef for Mint {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let Mint {
            asset: id,
            to,
            amount,
        } = *self;
        positive(amount)?;
        let info = asset(ov, id)?;
        if info.issuer != cx.sender {
            return Err(CallError::NotIssuer {
                asset: id,
                issuer: info.issuer,
            }
            .into());
        }
        // Refuses the escrow account, then checks supply overflow and supply_max.
        ledger::mint(ov, info, &to, amount)?;
        events.push(
            Minted {
                asset: id,
                to,
                amount,
            }
            .into(),
        );
        Ok(())
    }

    fn summary(&self) -> String {
        let Mint { asset, to, amount } = self;
        format!("mint {amount} units of asset {asset} to {to}")
    }
}

impl CallDef for Burn {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let Burn { asset, amount } = *self;
        positive(amount)?;
        ledger::burn(ov, &cx.sender, asset, amount)?;
        events.push(
            Burned {
                asset,
                from: cx.sender,
                amount,
            }
            .into(),
        );
        Ok(())
    }

    fn summary(&self) -> String {
        let Burn { asset, amount } = self;
        format!("burn {amount} units of asset {asset}")
    }
}
