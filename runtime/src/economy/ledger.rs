//! Balance and supply moves shared by the economy's calls, with one failure type that
//! carries either a call error (the call fails, its writes are reverted) or a storage
//! error (execution stops).

use serde::de::DeserializeOwned;

use crate::economy::{EconomyParams, ESCROW_ACCOUNT};
use crate::model::{AssetInfo, AssetKind, CallError, Partner, Role};
use crate::state::{keys, read_record, Overlay, StateError, StateExt, StateRead};
use crate::types::{Address, Amount, AssetId, Hash, Height, TimeMs};

/// Why an economy step did not complete.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The call fails; the transaction keeps only its fee and nonce.
    Call(CallError),
    /// Storage failed (or an invariant broke): the block cannot be executed.
    State(StateError),
}

impl From<CallError> for Fail {
    fn from(e: CallError) -> Self {
        Fail::Call(e)
    }
}

impl From<StateError> for Fail {
    fn from(e: StateError) -> Self {
        Fail::State(e)
    }
}

/// An economy step's result.
pub(crate) type Res<T> = Result<T, Fail>;

/// Splits a step's result into execution's two levels.
pub(crate) fn settle(r: Res<()>) -> Result<Result<(), CallError>, StateError> {
    match r {
        Ok(()) => Ok(Ok(())),
        Err(Fail::Call(e)) => Ok(Err(e)),
        Err(Fail::State(e)) => Err(e),
    }
}

/// What a call may depend on besides state: the block and the signer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallCx {
    /// The block's height.
    pub(crate) height: Height,
    /// The block's time.
    pub(crate) time_ms: TimeMs,
    /// The transaction's sender.
    pub(crate) sender: Address,
    /// The chain id, which signed payment links commit to.
    pub(crate) chain_id: Hash,
}

/// A typed record, if present.
pub(crate) fn get<T: DeserializeOwned, S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    key: &[u8],
) -> Res<Option<T>> {
    Ok(read_record(ov, key)?)
}

/// A u64 id counter: returns the next id and stores the one after it.
pub(crate) fn next_id<S: StateRead + ?Sized>(ov: &mut Overlay<'_, S>, key: Vec<u8>) -> Res<u64> {
    let id: u64 = get(ov, &key)?.unwrap_or(0);
    let after = id.checked_add(1).ok_or(CallError::IdsExhausted)?;
    ov.put(key, &after)?;
    Ok(id)
}

/// The economy parameters (defaults if a hand-built state has none).
pub(crate) fn economy<S: StateRead + ?Sized>(ov: &Overlay<'_, S>) -> Res<EconomyParams> {
    Ok(get(ov, &keys::economy())?.unwrap_or_default())
}

/// An existing asset.
pub(crate) fn asset<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: AssetId) -> Res<AssetInfo> {
    Ok(ov.asset(id)?.ok_or(CallError::UnknownAsset { asset: id })?)
}

/// An existing credit asset.
pub(crate) fn credit_asset<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    id: AssetId,
) -> Res<AssetInfo> {
    let info = asset(ov, id)?;
    if info.kind != AssetKind::Credit {
        return Err(CallError::NotACredit { asset: id }.into());
    }
    Ok(info)
}

/// An existing money asset.
pub(crate) fn money_asset<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    id: AssetId,
) -> Res<AssetInfo> {
    let info = asset(ov, id)?;
    if info.kind != AssetKind::Money {
        return Err(CallError::NotMoney { asset: id }.into());
    }
    Ok(info)
}

/// A credit asset issued by `issuer`.
pub(crate) fn own_credit<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    id: AssetId,
    issuer: &Address,
) -> Res<AssetInfo> {
    let info = asset(ov, id)?;
    if info.issuer != *issuer {
        return Err(CallError::NotIssuer {
            asset: id,
            issuer: info.issuer,
        }
        .into());
    }
    if info.kind != AssetKind::Credit {
        return Err(CallError::NotACredit { asset: id }.into());
    }
    Ok(info)
}

/// The partner at `who` if it holds `role`.
pub(crate) fn partner_with<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    who: &Address,
    role: Role,
) -> Res<Option<Partner>> {
    Ok(ov.partner(who)?.filter(|p| p.has_role(role)))
}

/// A merchant partner.
pub(crate) fn merchant<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, who: &Address) -> Res<Partner> {
    partner_with(ov, who, Role::Merchant)?
        .ok_or_else(|| CallError::NotAMerchant { account: *who }.into())
}

/// Refuses texts over `max` bytes.
pub(crate) fn check_text(text: &str, max: usize) -> Res<()> {
    if text.len() > max {
        return Err(CallError::TextTooLong {
            len: text.len(),
            max,
        }
        .into());
    }
    Ok(())
}

/// Refuses a zero amount.
pub(crate) fn positive(amount: Amount) -> Res<()> {
    if amount == 0 {
        return Err(CallError::ZeroAmount.into());
    }
    Ok(())
}

/// Takes units from an account.
pub(crate) fn debit<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    who: &Address,
    asset: AssetId,
    amount: Amount,
) -> Res<()> {
    let available = ov.balance(who, asset)?;
    let left = available
        .checked_sub(amount)
        .ok_or(CallError::InsufficientBalance {
            asset,
            needed: amount,
            available,
        })?;
    ov.set_balance(who, asset, left)?;
    Ok(())
}

/// Adds units to an account. The sum of balances is the supply, a u64, so a credit of
/// units that exist cannot overflow: an overflow is a broken invariant.
pub(crate) fn credit<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    who: &Address,
    asset: AssetId,
    amount: Amount,
) -> Res<()> {
    let held = ov.balance(who, asset)?;
    let total = held.checked_add(amount).ok_or({
        StateError::InvariantBroken("a balance overflowed: the supply is not conserved")
    })?;
    ov.set_balance(who, asset, total)?;
    Ok(())
}

/// Moves units between accounts.
pub(crate) fn move_units<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    from: &Address,
    to: &Address,
    asset: AssetId,
    amount: Amount,
) -> Res<()> {
    debit(ov, from, asset, amount)?;
    credit(ov, to, asset, amount)
}

/// The asset's issuance limit, if any.
pub(crate) fn supply_max<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    asset: AssetId,
) -> Res<Option<Amount>> {
    get(ov, &keys::supply_max(asset))
}

/// The supply after minting `amount`, if the mint is allowed: within u64
/// (`SupplyOverflow`) and within the issuance limit (`SupplyMaxExceeded`). Writes nothing.
pub(crate) fn check_mint<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    info: &AssetInfo,
    amount: Amount,
) -> Res<Amount> {
    let supply = info
        .supply
        .checked_add(amount)
        .ok_or(CallError::SupplyOverflow {
            asset: info.id,
            amount,
        })?;
    if let Some(max) = supply_max(ov, info.id)? {
        if supply > max {
            return Err(CallError::SupplyMaxExceeded {
                asset: info.id,
                supply_max: max,
                supply: info.supply,
                amount,
            }
            .into());
        }
    }
    Ok(supply)
}

/// Mints `amount` of an asset into `to` (the caller checked the minter's authority).
/// Nothing is written if the mint is refused.
pub(crate) fn mint<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    mut info: AssetInfo,
    to: &Address,
    amount: Amount,
) -> Res<()> {
    if *to == ESCROW_ACCOUNT {
        return Err(CallError::ReservedAccount { account: *to }.into());
    }
    info.supply = check_mint(ov, &info, amount)?;
    ov.put(keys::asset(info.id), &info)?;
    // held <= old supply, and old supply + amount fits: so does held + amount.
    credit(ov, to, info.id, amount)
}

/// Burns `amount` of an asset held by `from`.
pub(crate) fn burn<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    from: &Address,
    asset_id: AssetId,
    amount: Amount,
) -> Res<()> {
    let mut info = asset(ov, asset_id)?;
    debit(ov, from, asset_id, amount)?;
    // The holder's balance is part of the supply, so this cannot underflow.
    info.supply = info
        .supply
        .checked_sub(amount)
        .ok_or(StateError::InvariantBroken(
            "supply underflow: the supply is not conserved",
        ))?;
    ov.put(keys::asset(asset_id), &info)?;
    Ok(())
}
