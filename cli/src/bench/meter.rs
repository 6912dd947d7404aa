//! `--mode meter`: metered sessions settled in bulk. Setup (untimed): each bench
//! account opens one session with the merchant (`--merchant-key`, Baeum Learning on
//! `jeon dev`) at [`METER_UNIT_PRICE`] a unit, with a budget covering its share of the
//! claims; the ids come from the final receipts' `MeterOpened` events. The timed
//! transactions are the merchant's `ClaimMeter`s: claim `j` is on the session of
//! account `j % M`, carrying its cumulative receipt for `(j / M + 1) ×`
//! [`METER_UNITS_PER_CLAIM`] units, signed by that account; all come from the one
//! merchant, so they are sent in nonce order from one lane. The result reads the
//! sessions back from the node: the units the chain charged, not the units sent.

use std::time::Duration;

use jeon_node::api::types::MeterView;
use jeon_runtime::goods::MeterReceipt;
use jeon_runtime::{calls, events};
use jeon_runtime::{Address, Amount, Call, Event, Keypair, Nonce, Receipt, SignedTx};

use super::submit::submit_batch;
use super::{sign, FUND_EXPIRY_BLOCKS};
use crate::client::{Client, NodeStatus};
use crate::error::CliError;
use crate::tx::wait_for_tx;

/// Units of the fee asset charged per metered unit: the smallest, ₩0.01.
pub(crate) const METER_UNIT_PRICE: Amount = 1;
/// Units each claim adds to its session's receipt.
pub(crate) const METER_UNITS_PER_CLAIM: u64 = 1_000;
/// A session can be closed by its user alone after a day.
const METER_DURATION_MS: u64 = jeon_runtime::economy::PERIOD_MS;
/// How long to wait for each opening to be final (they are all submitted first).
const OPEN_WAIT_SECS: u64 = 120;

/// What the claims need: the merchant that signs them and its next nonce, and each
/// bench account's session.
#[derive(Debug)]
pub(super) struct MeterWork {
    pub(super) merchant: Keypair,
    pub(super) nonce: Nonce,
    /// By bench account: its session's id.
    pub(super) sessions: Vec<u64>,
}

/// The budget account `i` escrows for `claims` claims on its session.
pub(crate) fn meter_budget(claims: usize) -> Amount {
    (claims as u64)
        .saturating_mul(METER_UNITS_PER_CLAIM)
        .saturating_mul(METER_UNIT_PRICE)
        .max(METER_UNIT_PRICE)
}

/// The `j`-th claim of a run over `m` bench accounts: session `j % m`, cumulative
/// units `(j / m + 1) × METER_UNITS_PER_CLAIM`, the receipt signed by the account.
pub(super) fn claim_call(
    status: &NodeStatus,
    keys: &[Keypair],
    work: &MeterWork,
    j: usize,
) -> Call {
    let m = keys.len().max(1);
    let user = j % m;
    let units = ((j / m) as u64 + 1).saturating_mul(METER_UNITS_PER_CLAIM);
    let session = work.sessions[user];
    let signature = MeterReceipt { session, units }.sign(&keys[user], &status.chain_id);
    Call::ClaimMeter(calls::ClaimMeter {
        session,
        units,
        signature,
        close: false,
    })
}

/// The session id a final opening's receipt reports.
fn opened_id(receipt: Option<&Receipt>) -> Option<u64> {
    receipt?.events.iter().find_map(|e| match e {
        Event::MeterOpened(events::MeterOpened { id, .. }) => Some(*id),
        _ => None,
    })
}

/// Each bench account opens one session with `merchant`, with a budget for its share
/// of the claims; waits until every opening is final and counts it in its nonce.
/// Returns each account's session id.
pub(super) fn open_sessions(
    client: &Client,
    status: &NodeStatus,
    keys: &[Keypair],
    merchant: Address,
    shares: &[usize],
    nonces: &mut [Nonce],
    batch: usize,
) -> Result<Vec<u64>, CliError> {
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    let opens: Vec<SignedTx> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let call = Call::OpenMeter(calls::OpenMeter {
                merchant,
                asset: status.fee.asset,
                unit_price: METER_UNIT_PRICE,
                budget: meter_budget(shares[i]),
                duration_ms: METER_DURATION_MS,
            });
            sign(status, key, nonces[i], expiry, call)
        })
        .collect();
    for chunk in opens.chunks(batch.max(1)) {
        let hexes: Vec<String> = chunk.iter().map(|t| hex::encode(t.encode())).collect();
        let refs: Vec<&str> = hexes.iter().map(String::as_str).collect();
        for result in submit_batch(client, &refs)? {
            if let Err(e) = result {
                let msg = format!("a session opening was refused: {} ({})", e.message, e.code);
                return Err(CliError::Failed(msg));
            }
        }
    }
    let mut ids = Vec::with_capacity(opens.len());
    for (i, tx) in opens.iter().enumerate() {
        let wait = Duration::from_secs(OPEN_WAIT_SECS);
        let done = wait_for_tx(client, &tx.hash(), wait, false)?;
        let id = opened_id(done.receipt.as_ref()).filter(|_| done.status == "final");
        let Some(id) = id else {
            let reason = done.reason.unwrap_or_else(|| "no MeterOpened event".into());
            return Err(CliError::Failed(format!(
                "a session opening failed: {reason}"
            )));
        };
        ids.push(id);
        nonces[i] += 1;
    }
    eprintln!("bench: opened {} metered sessions", ids.len());
    Ok(ids)
}

/// The units the chain charged on `sessions` (each session's claimed units).
pub(super) fn units_charged(client: &Client, sessions: &[u64]) -> Result<u64, CliError> {
    let mut total: u64 = 0;
    for id in sessions {
        let view: MeterView = client.get(&format!("/v1/meters/{id}"))?;
        total = total.saturating_add(view.session.units);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::tests::{bench_keys, status_with_fee};

    #[test]
    fn each_claim_carries_its_sessions_next_cumulative_receipt_signed_by_its_user() {
        let (keys, addrs) = bench_keys(3);
        let status = status_with_fee(1);
        let work = MeterWork {
            merchant: Keypair::from_seed_label("school"),
            nonce: 0,
            sessions: vec![7, 8, 9],
        };
        for j in 0..7 {
            let Call::ClaimMeter(c) = claim_call(&status, &keys, &work, j) else {
                panic!("not a claim");
            };
            assert_eq!(c.session, [7, 8, 9][j % 3]);
            assert_eq!(c.units, (j as u64 / 3 + 1) * METER_UNITS_PER_CLAIM);
            let receipt = MeterReceipt {
                session: c.session,
                units: c.units,
            };
            assert!(receipt
                .verify(&addrs[j % 3], &status.chain_id, &c.signature)
                .is_ok());
        }
        assert_eq!(
            meter_budget(4),
            4 * METER_UNITS_PER_CLAIM * METER_UNIT_PRICE
        );
        assert_eq!(
            meter_budget(0),
            METER_UNIT_PRICE,
            "a session opens with one unit"
        );
    }
}
