//! Block execution: the state transition function.
//!
//! `execute_block` runs verified transactions in order over a read-only base state and
//! returns the receipts, the writes, and the new app hash; the caller commits the
//! writes atomically. A transaction that is not valid at this point (nonce, expiry,
//! fee) changes nothing; a call that fails changes only the fee (its payer's balance,
//! the sponsor's budget, the sender's fee volume) and the nonce.

use crate::economy::ledger::{self, CallCx};
use crate::economy::{credit, history, redeem, BLOCK_EVENTS_TX_INDEX};
use crate::fees::{FeeDue, FeeRules};
use crate::governance;
use crate::model::{Event, Outcome, Receipt};
use crate::state::{ChangeSet, Overlay, StateError, StateExt, StateRead};
use crate::tx::{SignedTx, TxError, VerifiedTx};
use crate::types::{Address, Amount, Hash, Height, TimeMs};

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
    /// at their deadline, credit lines defaulted at their due height, proposals expired
    /// or enacted), in order. Not part of any receipt or Merkle root; indexed in
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
            .ok_or(StateError::InvariantBroken(
                "more than 2^32 - 1 transactions in a block",
            ))?;
        receipts.push(apply_tx(&mut ov, ctx, &rules, index, tx, &mut fees)?);
    }
    // End of block, after every transaction: refund the redemptions due at this height,
    // close the credit lines due at it (defaulting those with units outstanding), and
    // move the base fee with this block's fullness.
    let mut block_events = Vec::new();
    redeem::sweep(&mut ov, ctx.height, &mut block_events)?;
    credit::sweep(&mut ov, ctx.height, &mut block_events)?;
    // Fullness counts the transactions that executed: an invalid one (which a node
    // never includes, but a block could carry) changes nothing, the base fee included.
    let executed = receipts
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Invalid(_)))
        .count();
    crate::fees::end_block(&mut ov, &rules, executed as u64)?;
    // Governance last: a fee market that takes effect from the next block replaces
    // (and clamps) the base fee this block's fullness just set.
    governance::end_block(&mut ov, ctx.height, &mut block_events)?;
    history::index(&mut ov, ctx.height, BLOCK_EVENTS_TX_INDEX, &block_events)?;
    // Fees are credited to the collector once per block: one write instead of one
    // per transaction. Within the block the collector does not yet hold them.
    if fees > 0 {
        let held = ov.balance(&params.fee_collector, params.fee_asset)?;
        let total = held.checked_add(fees).ok_or({
            StateError::InvariantBroken(
                "the fee collector's balance overflowed: the supply is not conserved",
            )
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
        .ok_or(StateError::InvariantBroken(
            "a block's fee total overflowed",
        ))?;
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
    let outcome = match ledger::settle(body.call.execute(ov, &cx, &mut events))? {
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
