//! Pre-signing: every bench transaction, per mode (a transfer, a payment or a
//! mandate charge), signed on a few threads before the clock starts.

use jeon_runtime::calls;
use jeon_runtime::{Address, Amount, Call, Hash, Height, Keypair, Nonce, SignedTx};

use super::mandates::user_of;
use super::{sign, WORKERS_MAX};
use crate::client::NodeStatus;

/// Units moved by each bench transfer.
pub(crate) const TRANSFER_AMOUNT: Amount = 1;
/// Units paid by each bench payment: ₩1, large enough that 10 % tax and 1 % cashback
/// are not rounded away.
pub(super) const PAY_AMOUNT: Amount = 100;
/// Units charged by each bench charge.
pub(super) const CHARGE_AMOUNT: Amount = 1;

/// What pre-signing needs.
pub(super) struct SignPlan<'a> {
    pub(super) status: &'a NodeStatus,
    pub(super) keys: &'a [Keypair],
    pub(super) addrs: &'a [Address],
    /// Each account's next nonce before the bench.
    pub(super) nonces: &'a [Nonce],
    pub(super) expiry: Height,
    /// What each transaction does.
    pub(super) work: &'a Work,
}

/// What the bench transactions do, with what the mode's setup learned.
#[derive(Debug)]
pub(super) enum Work {
    /// Transfers to pseudo-random other bench accounts.
    Transfer,
    /// Payments to one merchant.
    Pay {
        /// The merchant every transaction pays.
        merchant: Address,
    },
    /// Mandate charges around the ring.
    Charge {
        /// By user: the id of the mandate account `i` granted to account `i + 1`.
        mandates: Vec<u64>,
    },
    /// The merchant's claims on the bench accounts' metered sessions.
    Meter(Box<super::meter::MeterWork>),
}

/// The transactions, ready to send: hex encodings and hashes, in submission order.
pub(super) struct Presigned {
    pub(super) hexes: Vec<String>,
    pub(super) hashes: Vec<Hash>,
}

/// A well-mixed 64-bit hash of `x` (SplitMix64): deterministic recipients that
/// threads can compute independently.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The node (of `nodes`) the `j`-th transaction is sent to: all of one sender's go to
/// one node, as a wallet talks to one node. Spreading a sender's consecutive nonces
/// over several nodes would make each node hold nonce n + 1 until gossip brings it
/// nonce n: transactions waiting behind a gap, which the mempool bounds (docs/api.md),
/// and which no real wallet creates.
pub(super) fn node_of(j: usize, senders: usize, nodes: usize) -> usize {
    (j % senders.max(1)) % nodes.max(1)
}

/// The `j`-th transaction: sender `j % M` (round-robin, its nonces consecutive); a
/// transfer goes to a pseudo-random other account, a charge is on the mandate of the
/// account before the sender in the ring. A metered claim is the merchant's instead
/// (`meter::claim_call`).
pub(super) fn bench_tx(plan: &SignPlan<'_>, j: usize) -> SignedTx {
    let m = plan.keys.len();
    let sender = j % m;
    let nonce = plan.nonces[sender] + (j / m) as u64;
    let asset = plan.status.fee.asset;
    let call = match plan.work {
        Work::Transfer => {
            let offset = 1 + (mix(j as u64) % (m as u64 - 1)) as usize;
            Call::Transfer(calls::Transfer {
                to: plan.addrs[(sender + offset) % m],
                asset,
                amount: TRANSFER_AMOUNT,
            })
        }
        Work::Pay { merchant } => Call::Pay(calls::Pay {
            merchant: *merchant,
            asset,
            amount: PAY_AMOUNT,
            reference: String::new(),
        }),
        Work::Charge { mandates } => Call::Charge(calls::Charge {
            mandate_id: mandates[user_of(sender, m)],
            amount: CHARGE_AMOUNT,
            reference: String::new(),
        }),
        // Every claim is the merchant's, its nonces consecutive.
        Work::Meter(w) => {
            let call = super::meter::claim_call(plan.status, plan.keys, w, j);
            let nonce = w.nonce + j as u64;
            return sign(plan.status, &w.merchant, nonce, plan.expiry, call);
        }
    };
    sign(plan.status, &plan.keys[sender], nonce, plan.expiry, call)
}

/// Signs `n` bench transactions on a few threads.
pub(super) fn presign(plan: &SignPlan<'_>, n: usize) -> Presigned {
    let workers = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, WORKERS_MAX);
    let chunk = n.div_ceil(workers).max(1);
    let parts: Vec<Vec<(String, Hash)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                s.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|j| {
                            let tx = bench_tx(plan, j);
                            let bytes = tx.encode();
                            (hex::encode(&bytes), tx.hash())
                        })
                        .collect()
                })
            })
            .collect();
        // Signing cannot fail; a panicked worker would leave its range out, which the
        // report would show as fewer submissions.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut out = Presigned {
        hexes: Vec::with_capacity(n),
        hashes: Vec::with_capacity(n),
    };
    for (hex, hash) in parts.into_iter().flatten() {
        out.hexes.push(hex);
        out.hashes.push(hash);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::tests::{bench_keys, status_with_fee};

    #[test]
    fn every_transaction_of_one_sender_goes_to_one_node_and_every_node_gets_some() {
        let (senders, nodes) = (10, 4);
        let mut node_of_sender = [None; 10];
        let mut used = [false; 4];
        for j in 0..1_000 {
            let node = node_of(j, senders, nodes);
            let first = *node_of_sender[j % senders].get_or_insert(node);
            assert_eq!(node, first, "transaction {j}");
            used[node] = true;
        }
        assert!(used.iter().all(|u| *u));
        assert_eq!(node_of(7, 0, 0), 0, "no senders or nodes: no panic");
    }

    #[test]
    fn each_sender_pays_another_account_with_consecutive_nonces() {
        let (keys, addrs) = bench_keys(3);
        let status = status_with_fee(1);
        let nonces = [7, 0, 2];
        let plan = SignPlan {
            status: &status,
            keys: &keys,
            addrs: &addrs,
            nonces: &nonces,
            expiry: 100,
            work: &Work::Transfer,
        };
        let txs: Vec<SignedTx> = (0..9).map(|j| bench_tx(&plan, j)).collect();
        for (j, tx) in txs.iter().enumerate() {
            let sender = j % 3;
            assert_eq!(tx.body.sender, addrs[sender]);
            assert_eq!(tx.body.nonce, nonces[sender] + (j / 3) as u64);
            let Call::Transfer(calls::Transfer { to, .. }) = &tx.body.call else {
                panic!("not a transfer");
            };
            assert_ne!(*to, addrs[sender]);
        }
        let presigned = presign(&plan, 9);
        let hashes: Vec<Hash> = txs.iter().map(SignedTx::hash).collect();
        assert_eq!(presigned.hashes, hashes);
    }

    #[test]
    fn each_spender_charges_the_mandate_of_the_account_before_it() {
        let (keys, addrs) = bench_keys(3);
        let status = status_with_fee(1);
        let nonces = [4, 0, 9];
        // Account i granted mandate 10 + i to account i + 1.
        let work = Work::Charge {
            mandates: vec![10, 11, 12],
        };
        let plan = SignPlan {
            status: &status,
            keys: &keys,
            addrs: &addrs,
            nonces: &nonces,
            expiry: 100,
            work: &work,
        };
        for j in 0..6 {
            let tx = bench_tx(&plan, j);
            let spender = j % 3;
            assert_eq!(tx.body.sender, addrs[spender]);
            assert_eq!(tx.body.nonce, nonces[spender] + (j / 3) as u64);
            let expected = Call::Charge(calls::Charge {
                mandate_id: [12, 10, 11][spender],
                amount: CHARGE_AMOUNT,
                reference: String::new(),
            });
            assert_eq!(tx.body.call, expected);
        }
    }
}
