//! Jeon's chain rules, and nothing else: types, the canonical encoding, signatures,
//! Merkle roots, state and block execution.
//!
//! This crate is pure: no I/O, no clock, no randomness, no async runtime, no logging.
//! Given the same state and block, every machine computes the same result. The node
//! drives it; nothing here knows about the network or the disk.

pub mod block;
pub mod codec;
pub mod crypto;
pub mod dispatch;
pub mod economy;
pub mod execute;
pub mod goods;
pub mod governance;
pub mod identity;
pub mod invoice;
pub mod lthash;
pub mod memo;
pub mod merkle;
pub mod model;
pub mod nodes;
pub mod proof;
pub mod smt;
pub mod state;
pub mod tx;
pub mod types;

pub use dispatch::{calls, events};
pub use economy::fees;

pub use block::{Block, Certificate, CommittedBlock, Header, ValidatorInfo};
pub use crypto::{Keypair, Signature};
pub use execute::{execute_block, BlockContext, BlockOutput};
pub use model::{AssetInfo, AssetKind, CallError, Event, Outcome, Params, Partner, Receipt, Role};
pub use proof::{ProofError, TxProof, Verified};
pub use state::{ChangeSet, MemoryState, Overlay, StateError, StateExt, StateRead, StateScan};
pub use tx::{Call, SignedTx, TxBody, TxError, VerifiedTx};
pub use types::{Address, Amount, AssetId, Hash, Height, Nonce, TimeMs};
