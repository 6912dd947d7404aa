//! Tendermint-style BFT consensus core: a pure state machine from inputs to effects.
//!
//! The core implements Algorithm 1 of "The latest gossip on BFT consensus" (Buchman,
//! Kwon, Milosevic 2018). It does no I/O, reads no clock and draws no randomness: the
//! shell feeds it [`Input`]s (signature-checked messages, fired timeouts, built blocks)
//! and carries out the [`Effect`]s it returns (sign and broadcast, schedule a timeout,
//! build a block, commit a decision).
//!
//! Module map: `types` (vocabulary), `validators` (set, quorums, proposer rotation),
//! `round_log` (per-round message log and tallies), `machine` (the rules of Algorithm 1).

mod machine;
mod round_log;
mod types;
mod validators;

#[cfg(test)]
mod tests;

pub use machine::{Core, EQUIVOCATIONS_MAX, ROUNDS_AHEAD_MAX};
pub use types::{
    BlockId, Effect, Equivocation, Height, Input, Proposal, Round, SignedVote, Step, Timeout,
    TimeoutConfig, ValidatorIndex, Vote, VoteKind,
};
pub use validators::{
    Validator, ValidatorSet, ValidatorSetError, VALIDATORS_MAX, VOTING_POWER_TOTAL_MAX,
};
