//! The simulated clients: every preset account sends small KRW transfers to the
//! others, tracking its nonce the way a wallet does.

use jeon_node::chain::Chain;
use jeon_runtime::calls;
use jeon_runtime::tx::{Call, TxBody};
use jeon_runtime::{Address, AssetId, Hash, Keypair, Nonce, SignedTx, StateExt};
use rand::rngs::StdRng;
use rand::Rng;

/// How many of a sender's transactions may be unconfirmed before it waits.
const SENDER_PENDING_MAX: u64 = 8;
/// After this long without its nonce advancing, a sender assumes its pending
/// transactions were lost and resends from its committed nonce.
const RESEND_AFTER_MS: u64 = 4_000;
/// Heights a transaction stays includable.
const EXPIRY_HEIGHTS: u64 = 50;
/// The most fee a transaction offers: the presets' base fee ceiling, so a rising base
/// fee never makes the workload invalid.
const FEE_LIMIT: u64 = jeon_genesis::presets::BASE_FEE_MAX;
/// The KRW asset.
const KRW: AssetId = AssetId(0);

struct Client {
    key: Keypair,
    address: Address,
    /// The nonce of its next transaction.
    next_nonce: Nonce,
    /// The highest committed nonce it has seen on any node.
    committed: Nonce,
    /// When `committed` last advanced (or it last resent).
    progress_ms: u64,
}

/// The clients.
pub(crate) struct Workload {
    clients: Vec<Client>,
    chain_id: Hash,
}

impl Workload {
    /// One client per account.
    pub(crate) fn new(accounts: Vec<Keypair>, chain_id: Hash) -> Workload {
        let clients = accounts
            .into_iter()
            .map(|key| Client {
                address: key.address(),
                key,
                next_nonce: 0,
                committed: 0,
                progress_ms: 0,
            })
            .collect();
        Workload { clients, chain_id }
    }

    /// Up to `count` transfers from distinct random senders, submitted to the node
    /// behind `shared` (whose committed state tells the senders their nonces).
    pub(crate) fn batch(
        &mut self,
        rng: &mut StdRng,
        now_ms: u64,
        shared: &Chain,
        count: usize,
    ) -> Vec<SignedTx> {
        let head = shared.head().height;
        let mut txs = Vec::new();
        let mut used = vec![false; self.clients.len()];
        for _ in 0..count {
            let sender = rng.gen_range(0..self.clients.len());
            if std::mem::replace(&mut used[sender], true) {
                continue;
            }
            let mut to = rng.gen_range(0..self.clients.len() - 1);
            if to >= sender {
                to += 1;
            }
            let recipient = self.clients[to].address;
            let amount = rng.gen_range(1..=1_000);
            let client = &mut self.clients[sender];
            // A store read failing is reported by the replica of that node; here the
            // client just goes on with what it knew.
            let committed = shared.db.nonce(&client.address).unwrap_or(client.committed);
            if committed > client.committed {
                client.committed = committed;
                client.progress_ms = now_ms;
            }
            client.next_nonce = client.next_nonce.max(client.committed);
            if client.next_nonce > client.committed
                && now_ms >= client.progress_ms + RESEND_AFTER_MS
            {
                client.next_nonce = client.committed;
                client.progress_ms = now_ms;
            }
            if client.next_nonce >= client.committed + SENDER_PENDING_MAX {
                continue;
            }
            let body = TxBody {
                chain_id: self.chain_id,
                sender: client.address,
                nonce: client.next_nonce,
                fee_limit: FEE_LIMIT,
                expiry: head + EXPIRY_HEIGHTS,
                call: Call::Transfer(calls::Transfer {
                    to: recipient,
                    asset: KRW,
                    amount,
                }),
                fee_payer: None,
            };
            client.next_nonce += 1;
            txs.push(body.sign(&client.key));
        }
        txs
    }
}
