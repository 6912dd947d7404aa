//! Tests support.

pub mod sim;
