//! A simulated node: its durable store and signer record, and while it is up, the very
//! `Chain` and `Replica` the real node runs. Crashing drops everything but the store
//! and the signer record; losing the chain database drops the store too.

use std::sync::Arc;

use jeon_genesis::{GenesisSpec, Preset, PresetKeys};
use jeon_node::chain::{Chain as NodeChain, ChainSpec};
use jeon_node::replica::ReplicaError;
use jeon_node::replica::{PeerKey, Replica, ReplicaConfig, ReplicaOutput};
use jeon_node::segments::BlockLog;
use jeon_node::store::{ChainDb, StoreError};
use jeon_runtime::{Address, Height, Keypair};

use super::disk::Disk;

/// The simulated genesis time, where every sim clock starts.
pub const GENESIS_TIME_MS: u64 = 1_700_000_000_000;
/// Validators in the simulated chain (`f = 1`).
pub const VALIDATORS: usize = 4;

/// The simulated chain: the `local4` preset with label-derived keys.
pub(crate) struct Chain {
    /// What every node opens.
    pub(crate) spec: ChainSpec,
    /// The validators' secrets, in the spec's validator order.
    pub(crate) validator_secrets: Vec<[u8; 32]>,
    /// Every preset key (partners and demo users): the accounts that send transfers.
    pub(crate) accounts: Vec<Keypair>,
}

impl Chain {
    /// Builds the chain; a failure is a bug in the presets.
    pub(crate) fn local4() -> Chain {
        Chain::local(VALIDATORS, |_| ())
    }

    /// The `local` preset with `validators` validators, its genesis adjusted by `edit`.
    pub(crate) fn local(validators: usize, edit: impl FnOnce(&mut GenesisSpec)) -> Chain {
        let preset = Preset::Local { validators };
        let keys = PresetKeys::from_seed_labels(&preset.key_names());
        let mut genesis = preset
            .spec(&keys, GENESIS_TIME_MS)
            .expect("the local preset builds with all its keys");
        edit(&mut genesis);
        let spec = ChainSpec::from_genesis(&genesis).expect("the local preset is valid");
        let validator_secrets = spec
            .validators
            .iter()
            .map(|v| {
                keys.iter()
                    .find(|(_, k)| k.address() == v.key)
                    .map(|(_, k)| k.secret())
                    .expect("every local validator key is a preset key")
            })
            .collect();
        let accounts = keys
            .iter()
            .map(|(_, k)| Keypair::from_secret(k.secret()))
            .collect();
        Chain {
            spec,
            validator_secrets,
            accounts,
        }
    }
}

/// A node while it runs: everything here is lost in a crash.
pub(crate) struct Live {
    /// Database handle, mempool, head.
    pub(crate) shared: Arc<NodeChain>,
    /// Consensus.
    pub(crate) replica: Replica,
}

/// One simulated node.
pub(crate) struct SimNode {
    /// Its name in reports.
    pub(crate) name: String,
    /// Its network identity, derived from its name (a twin has its own).
    pub(crate) peer: PeerKey,
    /// Whether the checkers count it as honest (a twin is not).
    pub(crate) honest: bool,
    /// The validator key's address.
    pub(crate) validator: Address,
    secret: [u8; 32],
    /// Its durable state (database, transaction index, block segments, and the signer
    /// record, the real node's `<data>/signer/`): survives crashes; the signer record is
    /// kept when the chain database is lost. Faulty on the replica with storage faults.
    pub(crate) disk: Disk,
    /// Whether it stops signing on seeing its key used elsewhere (off for the Byzantine
    /// twins, which are meant to equivocate).
    pub(crate) doppelganger_protection: bool,
    /// How it misbehaves, if it is the Byzantine validator.
    pub(crate) byzantine: Option<jeon_node::byzantine::Behaviour>,
    /// Present while the node is up.
    pub(crate) live: Option<Live>,
    /// Bumped by every crash, so that timers and sync answers of an earlier life are
    /// not delivered to the next one.
    pub(crate) incarnation: u32,
}

impl SimNode {
    /// A node, down, with an empty store.
    pub(crate) fn new(name: String, honest: bool, secret: [u8; 32]) -> SimNode {
        SimNode {
            peer: peer_key_of(&name),
            name,
            honest,
            validator: Keypair::from_secret(secret).address(),
            secret,
            disk: Disk::plain(),
            doppelganger_protection: true,
            byzantine: None,
            live: None,
            incarnation: 0,
        }
    }

    /// Starts the node on its store (first start or restart), as `jeon run` does.
    pub(crate) fn boot(
        &mut self,
        spec: &ChainSpec,
        config: ReplicaConfig,
        locking_disabled: bool,
        now_ms: u64,
    ) -> Result<Vec<ReplicaOutput>, BootError> {
        let db = ChainDb::open(
            self.disk.store(),
            self.disk.index(),
            BlockLog::new(self.disk.segments()),
        )
        .map_err(BootError::Store)?;
        let shared = NodeChain::open(db, spec).map_err(BootError::Store)?;
        let key = Keypair::from_secret(self.secret);
        let signer = self.disk.signer();
        let mut replica =
            Replica::new(shared.clone(), Some(key), signer, config).map_err(BootError::Replica)?;
        if locking_disabled {
            replica.disable_locking_for_test();
        }
        if !self.doppelganger_protection {
            replica.disable_doppelganger_protection_for_test();
        }
        if let Some(behaviour) = self.byzantine {
            replica.set_byzantine_for_test(behaviour);
        }
        let outputs = replica.start(now_ms).map_err(BootError::Replica)?;
        self.live = Some(Live { shared, replica });
        Ok(outputs)
    }

    /// Crashes the node: core, mempool, candidates, timers and requests in flight are
    /// lost; the store keeps every write, each of which was one durable batch.
    pub(crate) fn crash(&mut self) {
        self.live = None;
        self.incarnation += 1;
        self.disk.crash();
    }

    /// Crashes the node and loses its chain database (state, head, blocks, transaction
    /// index), as an operator deleting `db/` or restoring an empty one would; the
    /// signer record stays.
    pub(crate) fn crash_losing_chain(&mut self) {
        self.crash();
        self.disk.wipe_chain();
    }

    /// The head height while up.
    pub(crate) fn head(&self) -> Option<Height> {
        self.live.as_ref().map(|l| l.shared.head().height)
    }
}

/// Why a node did not start.
#[derive(Debug)]
pub(crate) enum BootError {
    /// Opening its chain's records failed.
    Store(StoreError),
    /// The replica refused to start (its signer record, or its store while starting).
    Replica(ReplicaError),
}

impl BootError {
    /// The storage error underneath, if any.
    pub(crate) fn store_error(&self) -> Option<&StoreError> {
        match self {
            BootError::Store(e) | BootError::Replica(ReplicaError::Store(e)) => Some(e),
            BootError::Replica(_) => None,
        }
    }
}

impl std::fmt::Display for BootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BootError::Store(e) => write!(f, "{e}"),
            BootError::Replica(e) => write!(f, "{e}"),
        }
    }
}

/// A peer id derived from a node's name alone: deterministic, distinct per name.
fn peer_key_of(name: &str) -> PeerKey {
    let mut seed = [0u8; 32];
    for (byte, from) in seed.iter_mut().zip(name.bytes()) {
        *byte = from;
    }
    jeon_node::p2p::peer_id(&seed).unwrap_or_else(|e| panic!("peer id of {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use jeon_node::replica::ReplicaInput;
    use jeon_runtime::calls;
    use jeon_runtime::tx::{Call, TxBody};
    use jeon_runtime::StateExt;

    use super::*;

    /// Heights decided back to back while handling one input.
    const HEIGHTS: u64 = 400;

    /// On one validator with transactions waiting, every height decides as soon as it
    /// starts. The next height must start after the decision returns, not from inside
    /// it: nested, each height added frames (and kept its block alive) until the pool
    /// drained, and a long backlog overflowed the consensus thread's stack. Here 400
    /// heights decide back to back on a 256 KiB stack, far less than 400 nested
    /// heights take, each started by the shell.
    #[test]
    fn heights_decided_back_to_back_do_not_nest() {
        let chain = Chain::local(1, |g| {
            g.params.block_txs_max = 1;
            if let Some(market) = g.fee_market.as_mut() {
                market.target_txs_per_block = 1;
            }
        });
        let mut node = SimNode::new("v0".into(), true, chain.validator_secrets[0]);
        let spec = chain.spec.clone();
        let to = node.validator;
        let accounts = chain.accounts;
        let handle = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                node.boot(&spec, ReplicaConfig::default(), false, GENESIS_TIME_MS)
                    .expect("boot");
                let live = node.live.as_mut().expect("booted");
                let krw = jeon_runtime::AssetId(0);
                let sender = accounts
                    .into_iter()
                    .find(|k| {
                        k.address() != to
                            && live.shared.db.balance(&k.address(), krw).unwrap_or(0) >= 100_000
                    })
                    .expect("a preset account holds KRW");
                let txs: Vec<_> = (0..HEIGHTS)
                    .map(|nonce| {
                        TxBody {
                            chain_id: spec.chain_id,
                            sender: sender.address(),
                            nonce,
                            fee_limit: jeon_genesis::presets::BASE_FEE_MAX,
                            expiry: HEIGHTS + 10,
                            call: Call::Transfer(calls::Transfer {
                                to,
                                asset: krw,
                                amount: 1,
                            }),
                            fee_payer: None,
                        }
                        .sign(&sender)
                    })
                    .collect();
                let now = GENESIS_TIME_MS + 1_000;
                let admitted = live.shared.submit(txs, true, now);
                if let Some(Err(e)) = admitted.iter().find(|r| r.is_err()) {
                    panic!("a transfer was refused: {e}");
                }
                live.replica
                    .handle(now, ReplicaInput::TxsAdmitted)
                    .expect("handle");
                let mut starts = 0u64;
                while live.replica.next_height_due() {
                    live.replica.start_next_height(now).expect("next height");
                    starts += 1;
                }
                (live.shared.head().height, starts)
            })
            .expect("spawn");
        let (height, starts) = handle.join().expect("the consensus thread ran to the end");
        // One block per transaction, and the proof block after the last (docs/consensus.md
        // §3: a block after one with transactions is proposed at once, empty or not).
        assert_eq!(
            height,
            HEIGHTS + 1,
            "one block per transaction, then a proof block"
        );
        assert_eq!(
            starts,
            HEIGHTS + 1,
            "each decision leaves the next height to the shell"
        );
    }
}
