//! The genesis crate's integration tests, as modules of one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // In tests a panic is the failure report.

mod keyfile;
mod presets;
mod spec;
