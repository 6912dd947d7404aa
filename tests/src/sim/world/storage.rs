//! The replica with storage faults: what the simulator does when it stops on what its
//! storage reported, as an operator following docs/storage.md §7 would.
//!
//! - A failed read (an I/O error) stops the replica or its start; it is started again.
//! - Damage (a checksum that fails, a record missing below the head, a database behind
//!   its block files) stops it or refuses its start, naming what and where; its chain's
//!   data (`db/`, `blocks/`, `txindex/`) is moved aside and it re-syncs from its peers,
//!   keeping its signer record, so it signs nothing its record forbids.
//! - A damaged signer record refuses the start: the replica stays down for good (the
//!   operator would restore the record from a backup; starting without it could sign
//!   twice), and the liveness phase does without it.

use std::sync::Arc;

use jeon_node::chain::Db;
use jeon_node::replica::ReplicaError;
use jeon_node::segments::BlockLog;
use jeon_node::signer::SignerStoreError;
use jeon_node::store::{ChainDb, StoreError};
use jeon_runtime::Hash;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::{BootError, Event, SimNode, Violation, World, VALIDATORS};
use crate::sim::disk::{is_damage, is_read_failure, Disk, Injector};
use crate::sim::{SimConfig, StorageFaults, StorageOutcome};

/// How long the operator takes to start a stopped replica again, at most.
const RESTART_MS_MAX: u64 = 2_000;

impl World {
    /// The injector of node `i`, if it is the replica with storage faults.
    pub(super) fn faulty(&self, i: usize) -> Option<Arc<Injector>> {
        self.nodes[i].disk.injector().cloned()
    }

    /// Whether node `i` refused to start on a damaged signer record (down for good).
    pub(super) fn signer_refused(&self, i: usize) -> bool {
        self.faulty(i).is_some_and(|f| f.counts().signer_refused)
    }

    /// The replica with storage faults stops: crashed (maybe tearing what it was
    /// writing), its chain's data moved aside if `damaged`, and started again later.
    pub(super) fn storage_stop(&mut self, i: usize, damaged: bool) {
        let Some(injector) = self.faulty(i) else {
            return;
        };
        injector.count(|c| {
            c.stops += 1;
            c.wipes += u64::from(damaged);
        });
        if damaged {
            self.nodes[i].crash_losing_chain();
            self.checker.forget_chain(i);
        } else {
            self.nodes[i].crash();
        }
        let at = self.rng.gen_range(200..=RESTART_MS_MAX);
        self.after(at, Event::Restart { node: i });
    }

    /// A start failed: on the replica with storage faults, what its storage reported is
    /// handled (module docs); anything else is a violation.
    pub(super) fn boot_failed(&mut self, i: usize, e: BootError) -> Result<(), Violation> {
        if let Some(injector) = self.faulty(i) {
            match &e {
                BootError::Replica(ReplicaError::Signer(SignerStoreError::Corrupt { .. })) => {
                    self.refused_saves = Some(self.nodes[i].disk.saves());
                    injector.count(|c| {
                        c.stops += 1;
                        c.signer_refused = true;
                    });
                    return Ok(());
                }
                BootError::Replica(ReplicaError::Signer(SignerStoreError::Io { .. })) => {
                    self.storage_stop(i, false);
                    return Ok(());
                }
                _ => {}
            }
            if let Some(store) = e
                .store_error()
                .filter(|s| is_damage(s) || is_read_failure(s))
            {
                let damaged = is_damage(store);
                self.storage_stop(i, damaged);
                return Ok(());
            }
        }
        let node = self.nodes[i].name.clone();
        Err(match e {
            BootError::Store(e) => Violation::StoreBroken {
                node,
                error: e.to_string(),
            },
            BootError::Replica(e) => Violation::ReplicaStopped {
                node,
                error: e.to_string(),
            },
        })
    }

    /// Whether the blocks node `i` finalized since the checkers last looked read back
    /// whole; if one is damaged the node is stopped (it would answer `storage_corrupt`)
    /// and re-synced. Reads do not fail meanwhile (these are the checkers' reads).
    pub(super) fn readable(&mut self, i: usize) -> bool {
        let Some(live) = &self.nodes[i].live else {
            return true;
        };
        let head = live.shared.head().height;
        if head < self.checker.checked(i) {
            // Torn at a crash: the last batch lost, and the block's record above the
            // head damaged too, so the start cut it (as any torn tail) and did not
            // replay it. The block is final on the others; the replica syncs it again.
            if let Some(injector) = self.nodes[i].disk.injector() {
                injector.count(|c| c.rewinds += 1);
            }
            self.checker.rewind(i, head);
        }
        let from = self.checker.checked(i);
        let damaged =
            (from + 1..=head).any(|h| live.shared.db.block(h).is_err_and(|e| is_damage(&e)));
        if damaged {
            self.storage_stop(i, true);
        }
        !damaged
    }

    /// Node `i`'s chain at the end, reopened as a restart would: the database, every
    /// block's hash and the transactions in them.
    pub(super) fn end_chain(&self, i: usize) -> Result<(Db, Vec<Hash>, u64), StoreError> {
        let disk = &self.nodes[i].disk;
        let db = ChainDb::open(disk.store(), disk.index(), BlockLog::new(disk.segments()))?;
        let head = db.head()?.height;
        let mut hashes = Vec::new();
        let mut txs = 0u64;
        for height in 1..=head {
            let block = db
                .block(height)?
                .ok_or(StoreError::BlockPointerMissing { height, head })?;
            hashes.push(block.block.header.hash());
            txs += block.block.txs.len() as u64;
        }
        Ok((db, hashes, txs))
    }

    /// What the storage faults did, if the run had them.
    pub(super) fn storage_outcome(&self, latent_damage: Option<String>) -> Option<StorageOutcome> {
        let i = self.storage_node?;
        let injector = self.faulty(i)?;
        let saves = self.nodes[i].disk.saves();
        Some(StorageOutcome {
            node: self.nodes[i].name.clone(),
            counts: injector.counts(),
            signer_faults: injector.faults().signer,
            latent_damage,
            signed_after_refusal: self.refused_saves.map_or(0, |at| saves - at),
        })
    }
}

/// Gives one honest validator (never the Byzantine one, nor one the set change removes)
/// a faulty disk, if the run has storage faults: a minority, as faults never strike
/// every copy. Its own dice, so the rest of the run draws what it would without them.
pub(super) fn give_storage_faults(
    config: &SimConfig,
    nodes: &mut [SimNode],
    removed: Option<usize>,
) -> Option<usize> {
    let faults = config.storage?;
    let mut dice = StdRng::seed_from_u64(config.seed ^ 0xd15c);
    let candidates: Vec<usize> = (0..VALIDATORS)
        .filter(|&i| nodes[i].honest && Some(i) != removed)
        .collect();
    let &i = candidates.choose(&mut dice)?;
    // A damaged signer record keeps its replica down for good: that is a second
    // faulty validator beside a Byzantine one or a removed one.
    let alone = !config.mix.twin && !config.mix.set_changes && config.byzantine.is_none();
    let faults = StorageFaults {
        signer: faults.signer && alone,
        ..faults
    };
    let injector = Injector::new(faults, config.seed);
    nodes[i].disk = Disk::faulty(&nodes[i].name, injector);
    Some(i)
}
