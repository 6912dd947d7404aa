//! Block execution: the state transition function.
//!
//! `execute_block` runs verified transactions in order over a read-only base state and
//! returns the receipts, the writes, and the new app hash; the caller commits the
//! writes atomically. A transaction that is not valid at this point (nonce, expiry,
//! fee) changes nothing; a call that fails changes only the fee (its payer's balance,
//! the sponsor's budget, the sender's fee volume) and the nonce.

use crate::economy::ledger::{self, CallCx};
use crate::economy::{
    credit, exchange, history, is_reserved_account, mandate, pay, redeem, rewards, StampReward,
    BLOCK_EVENTS_TX_INDEX,
};
use crate::fees::{FeeDue, FeeRules};
use crate::model::{
    symbol_is_valid, AssetInfo, CallError, Event, Outcome, Receipt, Role, DECIMALS_MAX,
};
use crate::state::{keys, ChangeSet, Overlay, StateError, StateExt, StateRead};
use crate::tx::{Call, SignedTx, TxError, VerifiedTx};
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
    /// Events of the end-of-block step, not tied to a transaction (redemptions refunded
    /// at their deadline, credit lines defaulted at their due height), in order. Not part of any receipt or Merkle root; indexed in
    /// the accounts' histories at tx index [`BLOCK_EVENTS_TX_INDEX`].
    pub block_events: Vec<Event>,
}

/// Executes a block. Fails only if storage fails, in which case nothing may be written.
pub fn execute_block<S: StateRead + ?Sized>(
    state: &S,
    ctx: &BlockContext,
    txs: &[VerifiedTx],
) -> Result<BlockOutput, StateError> {
    let params = state.params()?;
    let rules = FeeRules::load(state, &params, ctx.height, ctx.time_ms)?;
    let mut ov = Overlay::new(state);
    let mut fees: Amount = 0;
    let mut receipts = Vec::with_capacity(txs.len());
    for (index, tx) in txs.iter().enumerate() {
        let index = u32::try_from(index)
            .ok()
            .filter(|i| *i != BLOCK_EVENTS_TX_INDEX)
            .ok_or_else(|| StateError("more than 2^32 - 1 transactions in a block".into()))?;
        receipts.push(apply_tx(&mut ov, ctx, &rules, index, tx, &mut fees)?);
    }
    // End of block, after every transaction: refund the redemptions due at this height,
    // close the credit lines due at it (defaulting those with units outstanding), and
    // move the base fee with this block's fullness.
    let mut block_events = Vec::new();
    redeem::sweep(&mut ov, ctx.height, &mut block_events)?;
    credit::sweep(&mut ov, ctx.height, &mut block_events)?;
    history::index(&mut ov, ctx.height, BLOCK_EVENTS_TX_INDEX, &block_events)?;
    // Fullness counts the transactions that executed: an invalid one (which a node
    // never includes, but a block could carry) changes nothing, the base fee included.
    let executed = receipts
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Invalid(_)))
        .count();
    crate::fees::end_block(&mut ov, &rules, executed as u64)?;
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
        block_events,
    })
}

/// Checks that a transaction may be executed now: chain, expiry, nonce and fee (see
/// [`crate::fees::assess`]), in that order, and returns who pays what. The outer error
/// is a storage failure; the inner one says why the transaction is not valid.
///
/// The mempool's admission (node/src/mempool.rs) is not this function: it checks
/// chain and expiry the same way, then the fee (with [`crate::fees::assess`]) before
/// the nonce, and it admits a nonce ahead of the sender's next one (up to a bounded
/// gap), which here is `FutureNonce`. So a transaction it admits may still be
/// `Invalid` here.
pub fn check_tx<S: StateRead + ?Sized>(
    state: &S,
    rules: &FeeRules,
    chain_id: &Hash,
    tx: &SignedTx,
) -> Result<Result<FeeDue, TxError>, StateError> {
    let body = &tx.body;
    if body.chain_id != *chain_id {
        return Ok(Err(TxError::WrongChain {
            expected: *chain_id,
            got: body.chain_id,
        }));
    }
    if rules.height > body.expiry {
        return Ok(Err(TxError::Expired {
            expiry: body.expiry,
            height: rules.height,
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
    crate::fees::assess(state, rules, tx)
}

fn apply_tx<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    ctx: &BlockContext,
    rules: &FeeRules,
    index: u32,
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
    let due = match check_tx(ov, rules, &ctx.chain_id, tx.tx())? {
        Ok(due) => due,
        Err(e) => return Ok(invalid(e)),
    };
    let sender = body.sender;
    let mut events = Vec::new();
    crate::fees::charge(ov, rules, &sender, &due, &mut events)?;
    *fees = fees
        .checked_add(due.amount)
        .ok_or_else(|| StateError("fee total overflow".into()))?;
    ov.set_nonce(&sender, body.nonce + 1)?; // check_tx: nonce == stored < u64::MAX in practice
    ov.settle();

    let cp = ov.checkpoint();
    let fee_events = events.len();
    let cx = CallCx {
        height: ctx.height,
        time_ms: ctx.time_ms,
        sender,
        chain_id: ctx.chain_id,
    };
    let outcome = match apply_call(ov, &cx, &body.call, &mut events)? {
        Ok(()) => Outcome::Success,
        Err(e) => {
            ov.revert(cp);
            events.truncate(fee_events);
            Outcome::Failed(e)
        }
    };
    history::index(ov, ctx.height, index, &events)?;
    ov.settle();
    Ok(Receipt {
        tx: tx.hash(),
        outcome,
        fee: due.amount,
        events,
    })
}

type CallResult = Result<Result<(), CallError>, StateError>;

fn apply_call<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    call: &Call,
    events: &mut Vec<Event>,
) -> CallResult {
    let sender = &cx.sender;
    let done = ledger::settle;
    match call {
        Call::Transfer { to, asset, amount } => transfer(ov, sender, to, *asset, *amount, events),
        Call::CreateAsset {
            symbol,
            decimals,
            kind,
            supply_max,
        } => {
            let spec = (symbol.as_str(), *decimals, *kind, *supply_max);
            create_asset(ov, sender, spec, events)
        }
        Call::Mint { asset, to, amount } => mint(ov, sender, *asset, to, *amount, events),
        Call::Burn { asset, amount } => burn(ov, sender, *asset, *amount, events),
        Call::Pay {
            merchant,
            asset,
            amount,
            reference,
        } => done(pay::pay(
            ov, cx, merchant, *asset, *amount, reference, events,
        )),
        Call::AddRewardRule {
            merchants,
            pay_asset,
            kind,
            cap_per_user_per_period,
            period_ms,
        } => {
            let terms = rewards::RuleTerms {
                merchants,
                pay_asset: *pay_asset,
                kind: *kind,
                cap_per_user_per_period: *cap_per_user_per_period,
                period_ms: *period_ms,
            };
            done(rewards::add_rule(ov, cx, terms, events))
        }
        Call::RemoveRewardRule { id } => done(rewards::remove_rule(ov, cx, *id, events)),
        Call::SetStampReward {
            stamp_asset,
            stamps,
            reward_asset,
            reward_amount,
        } => {
            let reward = StampReward {
                stamps: *stamps,
                reward_asset: *reward_asset,
                reward_amount: *reward_amount,
            };
            done(rewards::set_stamp_reward(
                ov,
                cx,
                *stamp_asset,
                reward,
                events,
            ))
        }
        Call::RedeemStamps { stamp_asset, count } => {
            done(rewards::redeem_stamps(ov, cx, *stamp_asset, *count, events))
        }
        Call::Redeem {
            asset,
            amount,
            kind,
        } => done(redeem::redeem(ov, cx, *asset, *amount, kind, events)),
        Call::SettleRedemption {
            id,
            payout_reference,
        } => done(redeem::settle(ov, cx, *id, payout_reference, events)),
        Call::RejectRedemption { id, reason } => done(redeem::reject(ov, cx, *id, reason, events)),
        Call::ProposeExchange {
            from_asset,
            to_asset,
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement_asset,
            settlement_price,
        } => {
            let terms = exchange::Terms {
                from_asset: *from_asset,
                to_asset: *to_asset,
                rate_num: *rate_num,
                rate_den: *rate_den,
                spread_bps: *spread_bps,
                daily_cap: *daily_cap,
                settlement_asset: *settlement_asset,
                settlement_price: *settlement_price,
            };
            done(exchange::propose(ov, cx, terms, events))
        }
        Call::AcceptExchange { id } => done(exchange::accept(ov, cx, *id, events)),
        Call::RevokeExchange { id } => done(exchange::revoke(ov, cx, *id, events)),
        Call::Convert {
            from_asset,
            amount,
            to_asset,
            min_out,
        } => done(exchange::convert(
            ov,
            cx,
            *from_asset,
            *amount,
            *to_asset,
            *min_out,
            events,
        )),
        Call::GrantMandate {
            spender,
            asset,
            limit_per_period,
            period_ms,
            expires_at,
        } => {
            let g = mandate::Grant {
                spender: *spender,
                asset: *asset,
                limit_per_period: *limit_per_period,
                period_ms: *period_ms,
                expires_at: *expires_at,
            };
            done(mandate::grant(ov, cx, g, events))
        }
        Call::Charge {
            mandate_id,
            amount,
            reference,
        } => done(mandate::charge(
            ov,
            cx,
            (*mandate_id, *amount, reference),
            events,
        )),
        Call::RevokeMandate { mandate_id } => done(mandate::revoke(ov, cx, *mandate_id, events)),
        Call::PayInvoice { invoice, signature } => {
            done(mandate::pay_invoice(ov, cx, invoice, signature, events))
        }
        Call::OpenCreditLine {
            borrower,
            asset,
            limit,
            due_period_blocks,
        } => {
            let o = credit::Open {
                borrower: *borrower,
                asset: *asset,
                limit: *limit,
                due_period_blocks: *due_period_blocks,
            };
            done(credit::open(ov, cx, o, events))
        }
        Call::DrawCredit { line_id, amount } => {
            done(credit::draw(ov, cx, *line_id, *amount, events))
        }
        Call::Repay { line_id, amount } => done(credit::repay(ov, cx, *line_id, *amount, events)),
        Call::MarkDefault { line_id } => done(credit::mark_default(ov, cx, *line_id, events)),
        Call::SponsorFees {
            beneficiary,
            asset,
            budget_per_period,
            period_ms,
        } => {
            let offer = crate::fees::Offer {
                beneficiary: *beneficiary,
                asset: *asset,
                budget_per_period: *budget_per_period,
                period_ms: *period_ms,
            };
            done(crate::fees::sponsor(ov, cx, offer, events))
        }
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
    if is_reserved_account(to) {
        fail!(CallError::ReservedAccount { account: *to });
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

/// `CreateAsset`'s fields: symbol, decimals, kind, issuance limit.
type AssetSpec<'a> = (&'a str, u8, crate::model::AssetKind, Option<Amount>);

fn create_asset<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    sender: &Address,
    (symbol, decimals, kind, supply_max): AssetSpec<'_>,
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
    if supply_max == Some(0) {
        fail!(CallError::ZeroSupplyMax);
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
    if let Some(max) = supply_max {
        ov.put(keys::supply_max(id), &max)?;
    }
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
    let info = match existing_asset(ov, asset)? {
        Ok(info) => info,
        Err(e) => fail!(e),
    };
    if info.issuer != *sender {
        fail!(CallError::NotIssuer {
            asset,
            issuer: info.issuer
        });
    }
    // Refuses the escrow account, then checks supply overflow and supply_max.
    if let Err(e) = ledger::settle(ledger::mint(ov, info, to, amount))? {
        fail!(e);
    }
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
