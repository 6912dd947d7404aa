//! Block execution: the state transition function.
//!
//! `execute_block` runs verified transactions in order over a read-only base state and
//! returns the receipts, the writes, and the new app hash; the caller commits the
//! writes atomically. A transaction that is not valid at this point (nonce, expiry,
//! fee) changes nothing; a call that fails changes only the fee and the nonce.

use crate::model::{
    symbol_is_valid, AssetInfo, CallError, Event, Outcome, Params, Receipt, Role, DECIMALS_MAX,
};
use crate::state::{keys, ChangeSet, Overlay, StateError, StateExt, StateRead};
use crate::tx::{Call, TxBody, TxError, VerifiedTx};
use crate::types::{Address, Amount, AssetId, Hash, Height, TimeMs};

/// What a block's execution may depend on besides state and transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// The chain id (genesis hash).
    pub chain_id: Hash,
    /// The block's height.
    pub height: Height,
    /// The block's proposed time.
    pub time_ms: TimeMs,
    /// The block's proposer.
    pub proposer: Address,
}

/// The result of executing a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutput {
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// The writes to commit.
    pub changes: ChangeSet,
    /// The app hash of the state after the block.
    pub app_hash: Hash,
}

/// Executes a block. Fails only if storage fails, in which case nothing may be written.
pub fn execute_block<S: StateRead + ?Sized>(
    state: &S,
    ctx: &BlockContext,
    txs: &[VerifiedTx],
) -> Result<BlockOutput, StateError> {
    let params = state.params()?;
    let mut ov = Overlay::new(state);
    let mut fees: Amount = 0;
    let mut receipts = Vec::with_capacity(txs.len());
    for tx in txs {
        receipts.push(apply_tx(&mut ov, ctx, &params, tx, &mut fees)?);
    }
    // Fees are credited to the collector once per block: one write instead of one
    // per transaction. Within the block the collector does not yet hold them.
    if fees > 0 {
        let held = ov.balance(&params.fee_collector, params.fee_asset)?;
        let total = held.checked_add(fees).ok_or_else(|| {
            StateError("fee collector balance overflow: supply invariant broken".into())
        })?;
        ov.set_balance(&params.fee_collector, params.fee_asset, total)?;
    }
    let (changes, app_hash) = ov.finish()?;
    Ok(BlockOutput {
        receipts,
        changes,
        app_hash,
    })
}

/// Checks that a transaction may be executed now: chain, expiry, nonce and fee, in
/// that order. The outer error is a storage failure; the inner one says why the
/// transaction is not valid.
///
/// The mempool's admission (node/src/mempool.rs) is not this function: it checks
/// chain and expiry the same way, then the fee (with [`check_fee`]) before the nonce,
/// and it admits a nonce ahead of the sender's next one (up to a bounded gap), which
/// here is `FutureNonce`. So a transaction it admits may still be `Invalid` here.
pub fn check_tx<S: StateRead + ?Sized>(
    state: &S,
    params: &Params,
    chain_id: &Hash,
    height: Height,
    body: &TxBody,
) -> Result<Result<(), TxError>, StateError> {
    if body.chain_id != *chain_id {
        return Ok(Err(TxError::WrongChain {
            expected: *chain_id,
            got: body.chain_id,
        }));
    }
    if height > body.expiry {
        return Ok(Err(TxError::Expired {
            expiry: body.expiry,
            height,
        }));
    }
    let expected = state.nonce(&body.sender)?;
    if body.nonce < expected {
        return Ok(Err(TxError::StaleNonce {
            expected,
            got: body.nonce,
        }));
    }
    if body.nonce > expected {
        return Ok(Err(TxError::FutureNonce {
            expected,
            got: body.nonce,
        }));
    }
    check_fee(state, params, body)
}

/// Checks the fee limit and that the sender can pay the fee.
pub fn check_fee<S: StateRead + ?Sized>(
    state: &S,
    params: &Params,
    body: &TxBody,
) -> Result<Result<(), TxError>, StateError> {
    if body.fee_limit < params.fee_flat {
        return Ok(Err(TxError::FeeTooLow {
            limit: body.fee_limit,
            required: params.fee_flat,
        }));
    }
    let available = state.balance(&body.sender, params.fee_asset)?;
    if available < params.fee_flat {
        return Ok(Err(TxError::CannotPayFee {
            asset: params.fee_asset,
            required: params.fee_flat,
            available,
        }));
    }
    Ok(Ok(()))
}

fn apply_tx<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    ctx: &BlockContext,
    params: &Params,
    tx: &VerifiedTx,
    fees: &mut Amount,
) -> Result<Receipt, StateError> {
    let body = tx.body();
    let invalid = |e| Receipt {
        tx: tx.hash(),
        outcome: Outcome::Invalid(e),
        fee: 0,
        events: vec![],
    };
    if let Err(e) = check_tx(ov, params, &ctx.chain_id, ctx.height, body)? {
        return Ok(invalid(e));
    }
    let sender = body.sender;
    let fee = params.fee_flat;
    let mut events = Vec::new();
    if fee > 0 {
        let held = ov.balance(&sender, params.fee_asset)?;
        ov.set_balance(&sender, params.fee_asset, held - fee)?; // check_fee: held >= fee
        *fees = fees
            .checked_add(fee)
            .ok_or_else(|| StateError("fee total overflow".into()))?;
        events.push(Event::FeeCharged {
            payer: sender,
            asset: params.fee_asset,
            amount: fee,
        });
    }
    ov.set_nonce(&sender, body.nonce + 1)?; // check_tx: nonce == stored < u64::MAX in practice
    ov.settle();

    let cp = ov.checkpoint();
    let fee_events = events.len();
    let outcome = match apply_call(ov, &sender, &body.call, &mut events)? {
        Ok(()) => Outcome::Success,
        Err(e) => {
            ov.revert(cp);
            events.truncate(fee_events);
            Outcome::Failed(e)
        }
    };
    ov.settle();
    Ok(Receipt {
        tx: tx.hash(),
        outcome,
        fee,
        events,
    })
}

type CallResult = Result<Result<(), CallError>, StateError>;

fn apply_call<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    sender: &Address,
    call: &Call,
    events: &mut Vec<Event>,
) -> CallResult {
    match call {
        Call::Transfer { to, asset, amount } => transfer(ov, sender, to, *asset, *amount, events),
        Call::CreateAsset {
            symbol,
            decimals,
            kind,
        } => create_asset(ov, sender, symbol, *decimals, *kind, events),
        Call::Mint { asset, to, amount } => mint(ov, sender, *asset, to, *amount, events),
        Call::Burn { asset, amount } => burn(ov, sender, *asset, *amount, events),
    }
}

/// Returns early from a call with a `CallError`.
macro_rules! fail {
    ($e:expr) => {
        return Ok(Err($e))
    };
}

fn existing_asset<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    asset: AssetId,
) -> Result<Result<AssetInfo, CallError>, StateError> {
    Ok(ov.asset(asset)?.ok_or(CallError::UnknownAsset { asset }))
}

/// Moves units; the caller has checked the asset exists and `amount > 0`.
fn move_units<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    from: &Address,
    to: &Address,
    asset: AssetId,
    amount: Amount,
) -> CallResult {
    let available = ov.balance(from, asset)?;
    let Some(left) = available.checked_sub(amount) else {
        fail!(CallError::InsufficientBalance {
            asset,
            needed: amount,
            available
        });
    };
    ov.set_balance(from, asset, left)?;
    let held = ov.balance(to, asset)?;
    // The sum of balances equals the supply, a u64, so a credit cannot overflow.
    let total = held.checked_add(amount).ok_or_else(|| {
        StateError(format!(
            "balance overflow of asset {asset}: supply invariant broken"
        ))
    })?;
    ov.set_balance(to, asset, total)?;
    Ok(Ok(()))
}

fn transfer<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    from: &Address,
    to: &Address,
    asset: AssetId,
    amount: Amount,
    events: &mut Vec<Event>,
) -> CallResult {
    if amount == 0 {
        fail!(CallError::ZeroAmount);
    }
    if let Err(e) = existing_asset(ov, asset)? {
        fail!(e);
    }
    if let Err(e) = move_units(ov, from, to, asset, amount)? {
        fail!(e);
    }
    events.push(Event::Transferred {
        from: *from,
        to: *to,
        asset,
        amount,
    });
    Ok(Ok(()))
}

fn create_asset<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    sender: &Address,
    symbol: &str,
    decimals: u8,
    kind: crate::model::AssetKind,
    events: &mut Vec<Event>,
) -> CallResult {
    if !ov
        .partner(sender)?
        .is_some_and(|p| p.has_role(Role::Issuer))
    {
        fail!(CallError::MissingRole { role: Role::Issuer });
    }
    if !symbol_is_valid(symbol) {
        fail!(CallError::InvalidSymbol {
            symbol: symbol.to_owned()
        });
    }
    if decimals > DECIMALS_MAX {
        fail!(CallError::TooManyDecimals { decimals });
    }
    if let Some(asset) = ov.asset_by_symbol(symbol)? {
        fail!(CallError::DuplicateSymbol {
            symbol: symbol.to_owned(),
            asset
        });
    }
    let next = ov.next_asset_id()?;
    let Some(after) = next.checked_add(1) else {
        fail!(CallError::AssetIdsExhausted);
    };
    let id = AssetId(next);
    let info = AssetInfo {
        id,
        symbol: symbol.to_owned(),
        decimals,
        issuer: *sender,
        kind,
        supply: 0,
    };
    ov.put(keys::asset(id), &info)?;
    ov.put(keys::symbol(symbol), &id)?;
    ov.put(keys::next_asset_id(), &after)?;
    events.push(Event::AssetCreated {
        asset: id,
        issuer: *sender,
        symbol: symbol.to_owned(),
    });
    Ok(Ok(()))
}

fn mint<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    sender: &Address,
    asset: AssetId,
    to: &Address,
    amount: Amount,
    events: &mut Vec<Event>,
) -> CallResult {
    if amount == 0 {
        fail!(CallError::ZeroAmount);
    }
    let mut info = match existing_asset(ov, asset)? {
        Ok(info) => info,
        Err(e) => fail!(e),
    };
    if info.issuer != *sender {
        fail!(CallError::NotIssuer {
            asset,
            issuer: info.issuer
        });
    }
    let Some(supply) = info.supply.checked_add(amount) else {
        fail!(CallError::SupplyOverflow { asset, amount });
    };
    info.supply = supply;
    ov.put(keys::asset(asset), &info)?;
    let held = ov.balance(to, asset)?;
    // held <= old supply, and old supply + amount fits: so does held + amount.
    let total = held
        .checked_add(amount)
        .ok_or_else(|| StateError("balance overflow".into()))?;
    ov.set_balance(to, asset, total)?;
    events.push(Event::Minted {
        asset,
        to: *to,
        amount,
    });
    Ok(Ok(()))
}

fn burn<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    sender: &Address,
    asset: AssetId,
    amount: Amount,
    events: &mut Vec<Event>,
) -> CallResult {
    if amount == 0 {
        fail!(CallError::ZeroAmount);
    }
    let mut info = match existing_asset(ov, asset)? {
        Ok(info) => info,
        Err(e) => fail!(e),
    };
    let available = ov.balance(sender, asset)?;
    let Some(left) = available.checked_sub(amount) else {
        fail!(CallError::InsufficientBalance {
            asset,
            needed: amount,
            available
        });
    };
    ov.set_balance(sender, asset, left)?;
    // The holder's balance is part of the supply, so this cannot underflow.
    info.supply = info
        .supply
        .checked_sub(amount)
        .ok_or_else(|| StateError(format!("supply underflow of asset {asset}")))?;
    ov.put(keys::asset(asset), &info)?;
    events.push(Event::Burned {
        asset,
        from: *sender,
        amount,
    });
    Ok(Ok(()))
}
