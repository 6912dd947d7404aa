//! Funding: what each bench account needs of the fee asset for its role in the mode,
//! and the funder's top-ups, waited for until final.

use jeon_runtime::calls;
use std::time::Duration;

use jeon_node::mempool::{MEMPOOL_SENDER_TXS_MAX, NONCE_GAP_MAX};
use jeon_runtime::{Address, Amount, Call, Keypair, SignedTx};

use super::mandates::spender_of;
use super::presign::{CHARGE_AMOUNT, PAY_AMOUNT, TRANSFER_AMOUNT};
use super::submit::submit_batch;
use super::{sign, Mode, FUND_EXPIRY_BLOCKS};
use crate::client::{AccountView, Client, NodeStatus};
use crate::error::CliError;
use crate::tx::wait_for_tx;

/// How long to wait for one chunk of funding to be final.
const FUND_WAIT_SECS: u64 = 120;

/// The fee-asset units each bench account needs for its role in `mode`, given each
/// account's share of the transactions, which accounts grant a mandate first
/// (`--mode charge`; empty otherwise) and the fee per transaction.
pub(crate) fn needs(mode: Mode, shares: &[usize], grants: &[bool], fee: Amount) -> Vec<Amount> {
    let n = shares.len();
    let times = |count: usize, units: Amount| (count as u64).saturating_mul(units);
    (0..n)
        .map(|i| match mode {
            Mode::Transfer => times(shares[i], TRANSFER_AMOUNT.saturating_add(fee)),
            Mode::Pay => times(shares[i], PAY_AMOUNT.saturating_add(fee)),
            // Charged as a user by the next account, fees of its own charges as a
            // spender, and the fee of its grant.
            Mode::Charge => times(shares[spender_of(i, n)], CHARGE_AMOUNT)
                .saturating_add(times(shares[i], fee))
                .saturating_add(if grants.get(i) == Some(&true) { fee } else { 0 }),
            // The session's budget in escrow and the fee of opening it (the merchant
            // pays the claims' fees).
            Mode::Meter => super::meter::meter_budget(shares[i]).saturating_add(fee),
        })
        .collect()
}

/// What funding needs.
pub(crate) struct FundPlan<'a> {
    pub(crate) funder: &'a Keypair,
    pub(crate) status: &'a NodeStatus,
    pub(crate) addrs: &'a [Address],
    pub(crate) accounts: &'a [Option<AccountView>],
    /// Fee-asset units each account needs (see [`needs`]), fees included.
    pub(crate) needs: &'a [Amount],
}

/// Tops up each bench account to what it needs of the fee asset, from the funder, and
/// waits until the funding is final.
pub(crate) fn fund(client: &Client, plan: &FundPlan<'_>, batch: usize) -> Result<(), CliError> {
    let (funder, status) = (plan.funder, plan.status);
    let asset = status.fee.asset;
    let mut needs = Vec::new();
    for ((addr, account), &need) in plan.addrs.iter().zip(plan.accounts).zip(plan.needs) {
        let have = account.as_ref().map_or(0, |a| a.balance(asset));
        if need > have {
            needs.push((*addr, need - have));
        }
    }
    if needs.is_empty() {
        eprintln!("bench: all accounts already hold enough of asset {asset}");
        return Ok(());
    }
    let mut nonce = client.account(&funder.address())?.map_or(0, |a| a.nonce);
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    // The funder's transfers queue behind each other in the node: stay within its
    // per-sender bounds, and wait for each chunk before sending the next.
    let chunk_max = batch
        .min(MEMPOOL_SENDER_TXS_MAX)
        .min(NONCE_GAP_MAX as usize);
    let mut funded = 0;
    for chunk in needs.chunks(chunk_max) {
        let mut txs = Vec::with_capacity(chunk.len());
        for (to, amount) in chunk {
            let call = Call::Transfer(calls::Transfer {
                to: *to,
                asset,
                amount: *amount,
            });
            txs.push(sign(status, funder, nonce, expiry, call));
            nonce += 1;
        }
        let hexes: Vec<String> = txs.iter().map(|t| hex::encode(t.encode())).collect();
        let refs: Vec<&str> = hexes.iter().map(String::as_str).collect();
        for result in submit_batch(client, &refs)? {
            if let Err(e) = result {
                let msg = format!("a funding transfer was refused: {} ({})", e.message, e.code);
                return Err(CliError::Failed(msg));
            }
        }
        let last = txs.last().map(SignedTx::hash).unwrap_or_default();
        let done = wait_for_tx(client, &last, Duration::from_secs(FUND_WAIT_SECS), false)?;
        if done.status != "final" {
            let reason = done.reason.unwrap_or_default();
            return Err(CliError::Failed(format!("funding failed: {reason}")));
        }
        funded += chunk.len();
        eprintln!("bench: funded {funded}/{} accounts", needs.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::shares;

    #[test]
    fn funding_covers_each_accounts_role_in_the_mode() {
        // 10 transactions over 4 accounts: shares 3, 3, 2, 2; a fee of 2 units.
        let shares = shares(10, 4);
        assert_eq!(needs(Mode::Transfer, &shares, &[], 2), [9, 9, 6, 6]);
        assert_eq!(needs(Mode::Pay, &shares, &[], 2), [306, 306, 204, 204]);
        // Account 0 is charged 3 times by account 1 (3 units), signs 3 charges (6 units
        // of fees) and grants (2). Account 1 reuses its mandate: 2 charged + 6 in fees.
        let grants = [true, false, true, true];
        assert_eq!(needs(Mode::Charge, &shares, &grants, 2), [11, 8, 8, 9]);
        // With every mandate reused, only the charges and their fees.
        assert_eq!(needs(Mode::Charge, &shares, &[false; 4], 0), [3, 2, 2, 3]);
    }
}
