//! `--mode charge` setup: the ring of mandates (account `i` grants account `i + 1`),
//! found from a previous run or granted, and their ids.

use jeon_runtime::{calls, events};
use std::time::Duration;

use jeon_node::api::types::MandatesView;
use jeon_runtime::economy::mandate::MandateStatus;

use jeon_runtime::{
    Address, Amount, AssetId, Call, Event, Height, Keypair, Nonce, Receipt, SignedTx,
};

use super::presign::CHARGE_AMOUNT;
use super::submit::submit_batch;
use super::{read_each, sign, BENCH_EXPIRY_BLOCKS, FUND_EXPIRY_BLOCKS};
use crate::client::{Client, NodeStatus};
use crate::error::CliError;
use crate::tx::wait_for_tx;

/// Bench mandates are uncapped, so one mandate serves every rerun.
const MANDATE_LIMIT_PER_PERIOD: Amount = Amount::MAX;
/// Bench mandates have one period that never rolls over.
const MANDATE_PERIOD_MS: u64 = u64::MAX;
/// Bench mandates never expire.
const MANDATE_EXPIRES_AT: Height = Height::MAX;
/// A mandate from a previous run is reused only if it stays valid this many blocks past
/// the head: well beyond the expiry of this run's charges.
const MANDATE_VALID_AHEAD_BLOCKS: Height = 10 * BENCH_EXPIRY_BLOCKS;
/// How long to wait for each grant to be final (they are all submitted first).
const GRANT_WAIT_SECS: u64 = 120;

/// `--mode charge`: the spender of the mandate `user` grants, the next account in
/// the ring.
pub(super) fn spender_of(user: usize, accounts: usize) -> usize {
    (user + 1) % accounts
}

/// `--mode charge`: the user whose mandate `spender` charges, the previous account in
/// the ring.
pub(super) fn user_of(spender: usize, accounts: usize) -> usize {
    (spender + accounts - 1) % accounts
}

/// A mandate as `GET /v1/accounts/{addr}/mandates` lists it.
type MandateView = MandateStatus;

/// What a mandate from a previous run must allow to be reused.
struct MandateNeed {
    spender: Address,
    asset: AssetId,
    /// The units this run charges on it.
    amount: Amount,
    /// The lowest acceptable `expires_at`.
    valid_until: Height,
}

/// The first listed mandate that can take this run's charges: active and never
/// revoked, to the same spender in the same asset, with enough left this period and
/// valid long enough.
fn reusable(listed: &[MandateView], need: &MandateNeed) -> Option<u64> {
    listed
        .iter()
        .find(|m| {
            m.active
                && m.mandate.revoked_at.is_none()
                && m.mandate.spender == need.spender
                && m.mandate.asset == need.asset
                && m.remaining >= need.amount
                && m.mandate.expires_at >= need.valid_until
        })
        .map(|m| m.mandate.id)
}

/// `--mode charge`: lists each account's mandates and picks, for each, one that its
/// spender in the ring can reuse for this run's charges (`None`: grant one).
pub(super) fn find_mandates(
    client: &Client,
    status: &NodeStatus,
    addrs: &[Address],
    shares: &[usize],
) -> Result<Vec<Option<u64>>, CliError> {
    let n = addrs.len();
    let listed = read_each(client, addrs, |c, a| {
        c.get::<MandatesView>(&format!("/v1/accounts/{a}/mandates"))
    })?;
    let valid_until = status.height.saturating_add(MANDATE_VALID_AHEAD_BLOCKS);
    let found: Vec<Option<u64>> = listed
        .iter()
        .enumerate()
        .map(|(user, answer)| {
            let spender = spender_of(user, n);
            let need = MandateNeed {
                spender: addrs[spender],
                asset: status.fee.asset,
                amount: (shares[spender] as u64).saturating_mul(CHARGE_AMOUNT),
                valid_until,
            };
            reusable(&answer.mandates, &need)
        })
        .collect();
    let reused = found.iter().flatten().count();
    eprintln!("bench: {reused} of {n} mandates can be reused from a previous run");
    Ok(found)
}

/// The id of the mandate a final grant's receipt reports.
fn granted_id(receipt: Option<&Receipt>) -> Option<u64> {
    receipt?.events.iter().find_map(|e| match e {
        Event::MandateGranted(events::MandateGranted { id, .. }) => Some(*id),
        _ => None,
    })
}

/// `--mode charge`: each account without a reusable mandate (`found[i]` is `None`)
/// grants one to the next account in the ring, in batches; waits until every grant is
/// final and counts it in its grantor's nonce. Returns every account's mandate id.
pub(super) fn grant_mandates(
    client: &Client,
    status: &NodeStatus,
    keys: &[Keypair],
    found: Vec<Option<u64>>,
    nonces: &mut [Nonce],
    batch: usize,
) -> Result<Vec<u64>, CliError> {
    let n = keys.len();
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    let grants: Vec<(usize, SignedTx)> = (0..n)
        .filter(|&user| found[user].is_none())
        .map(|user| {
            let call = Call::GrantMandate(calls::GrantMandate {
                spender: keys[spender_of(user, n)].address(),
                asset: status.fee.asset,
                limit_per_period: MANDATE_LIMIT_PER_PERIOD,
                period_ms: MANDATE_PERIOD_MS,
                expires_at: MANDATE_EXPIRES_AT,
            });
            (user, sign(status, &keys[user], nonces[user], expiry, call))
        })
        .collect();
    // One grant per account: no sender queues behind another, so batches can go at once.
    for chunk in grants.chunks(batch) {
        let hexes: Vec<String> = chunk.iter().map(|(_, t)| hex::encode(t.encode())).collect();
        let refs: Vec<&str> = hexes.iter().map(String::as_str).collect();
        for result in submit_batch(client, &refs)? {
            if let Err(e) = result {
                let msg = format!("a mandate grant was refused: {} ({})", e.message, e.code);
                return Err(CliError::Failed(msg));
            }
        }
    }
    let mut ids = found;
    for (user, tx) in &grants {
        let wait = Duration::from_secs(GRANT_WAIT_SECS);
        let done = wait_for_tx(client, &tx.hash(), wait, false)?;
        let id = granted_id(done.receipt.as_ref()).filter(|_| done.status == "final");
        let Some(id) = id else {
            let reason = done
                .reason
                .unwrap_or_else(|| "no MandateGranted event".into());
            return Err(CliError::Failed(format!(
                "a mandate grant failed: {reason}"
            )));
        };
        ids[*user] = Some(id);
        nonces[*user] += 1;
    }
    if !grants.is_empty() {
        eprintln!("bench: granted {} mandates", grants.len());
    }
    // Every account has an id now: found before, or granted above.
    ids.into_iter()
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| CliError::Failed("a bench account has no mandate".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::tests::bench_keys;
    use jeon_runtime::Hash;

    #[test]
    fn the_mandate_ring_makes_each_account_the_spender_of_the_one_before() {
        assert_eq!(
            (0..4).map(|u| spender_of(u, 4)).collect::<Vec<_>>(),
            [1, 2, 3, 0]
        );
        assert_eq!(
            (0..4).map(|s| user_of(s, 4)).collect::<Vec<_>>(),
            [3, 0, 1, 2]
        );
        for n in [2, 3, 1_000] {
            for user in 0..n {
                assert_ne!(spender_of(user, n), user);
                assert_eq!(user_of(spender_of(user, n), n), user);
            }
        }
    }

    /// A listed bench mandate `id`: to bench-1, in asset 0, uncapped, never expiring,
    /// active.
    fn listed(id: u64) -> MandateView {
        MandateView {
            mandate: jeon_runtime::economy::mandate::Mandate {
                id,
                user: bench_keys(1).1[0],
                spender: bench_keys(2).1[1],
                asset: AssetId(0),
                limit_per_period: MANDATE_LIMIT_PER_PERIOD,
                period_ms: 86_400_000,
                expires_at: MANDATE_EXPIRES_AT,
                revoked_at: None,
                period: 0,
                used: 0,
            },
            active: true,
            remaining: MANDATE_LIMIT_PER_PERIOD,
        }
    }

    #[test]
    fn a_mandate_is_reused_only_if_it_can_take_the_whole_run() {
        let (_, addrs) = bench_keys(3);
        let need = MandateNeed {
            spender: addrs[1],
            asset: AssetId(0),
            amount: 100,
            valid_until: 50_000,
        };
        let with = |f: fn(&mut MandateView)| {
            let mut m = listed(7);
            f(&mut m);
            m
        };
        let cases: [(&str, MandateView, Option<u64>); 7] = [
            ("a bench mandate of a previous run", listed(7), Some(7)),
            (
                "another spender",
                with(|m| m.mandate.spender = bench_keys(3).1[2]),
                None,
            ),
            (
                "another asset",
                with(|m| m.mandate.asset = AssetId(1)),
                None,
            ),
            (
                "too little left this period",
                with(|m| m.remaining = 99),
                None,
            ),
            (
                "expiring too soon",
                with(|m| m.mandate.expires_at = 49_999),
                None,
            ),
            ("inactive", with(|m| m.active = false), None),
            (
                "revoked (still active this block)",
                with(|m| m.mandate.revoked_at = Some(6)),
                None,
            ),
        ];
        for (case, mandate, expected) in cases {
            assert_eq!(reusable(&[mandate], &need), expected, "{case}");
        }
        // The first suitable one of several.
        let list = [with(|m| m.active = false), listed(8), listed(9)];
        assert_eq!(reusable(&list, &need), Some(8));
        assert_eq!(reusable(&[], &need), None);
    }

    #[test]
    fn a_grants_mandate_id_is_in_its_mandate_granted_event() {
        let (_, addrs) = bench_keys(2);
        let granted = Event::MandateGranted(events::MandateGranted {
            id: 42,
            user: addrs[0],
            spender: addrs[1],
            asset: AssetId(0),
            limit_per_period: MANDATE_LIMIT_PER_PERIOD,
            period_ms: MANDATE_PERIOD_MS,
            expires_at: MANDATE_EXPIRES_AT,
        });
        let receipt = |events: Vec<Event>| Receipt {
            tx: Hash([2; 32]),
            outcome: jeon_runtime::Outcome::Success,
            fee: 1,
            events,
        };
        assert_eq!(granted_id(Some(&receipt(vec![granted]))), Some(42));
        assert_eq!(granted_id(Some(&receipt(vec![]))), None);
        assert_eq!(granted_id(None), None);
    }
}
