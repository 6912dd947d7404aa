//! The runtime's integration tests, as modules of one test binary: the workspace links
//! one binary per crate instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // In tests a panic is the failure report.

mod support;

mod carrier;
mod credit;
mod economy;
mod evidence;
mod execution;
mod fees;
mod golden;
mod goods;
mod governance;
mod identity;
mod mandates;
mod meter;
mod nodes;
mod proofs;
mod properties;
mod sdk_vectors;
mod signatures;
mod smt;
mod state_proofs;
mod validity;
