//! Tests support: the deterministic simulator, which only tests run.
//!
//! This crate is test code (`publish = false`, used by `tests/tests/`), so the lints
//! that keep panics out of the node (`unwrap_used`, `expect_used`, `panic`) do not
//! apply: a broken preset here is a failed test, not a crashed node.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test infrastructure: a failure is a failed test"
)]

pub mod sim;
