//! Jeon's chain spec: its JSON format, validation, hash (the chain id), presets, and
//! the runtime's initial state built from it; plus the key files the CLI and the node
//! share.
//!
//! Deterministic: nothing here draws randomness or reads the clock. Preset keys come
//! from the caller ([`presets::PresetKeys`]).

pub mod error;
mod initial_state;
pub mod keyfile;
pub mod peer_id;
pub mod presets;
pub mod spec;
pub mod validate;

pub use error::GenesisError;
pub use peer_id::{parse_peer_id, peer_id_of, PeerIdError};
pub use presets::{Preset, PresetKeys};
pub use spec::{
    AssetSpec, BalanceSpec, GenesisSpec, JurisdictionSpec, PartnerSpec, ProductSpec, ValidatorSpec,
};
pub use validate::{VALIDATORS_MAX, VOTING_POWER_TOTAL_MAX};
