//! The `jeon` binary's end-to-end tests, as modules of one test binary. They share one
//! process, so helpers that hand out resources (ports) must not collide across tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // In tests a panic is the failure report.

mod common;
mod proof_check;

mod access_e2e;
mod amount_flags;
mod api_errors;
mod api_types;
mod bench_charge;
mod bench_meter;
mod bench_soak;
mod browser_api;
mod carrier_e2e;
mod chaos;
mod client_commands;
mod consortium;
mod crash_recovery;
mod credit_e2e;
mod dev_e2e;
mod dry_run;
mod economy_e2e;
mod event_stream;
mod fees_e2e;
mod goods_e2e;
mod governance_e2e;
mod identity_e2e;
mod indexer;
mod invoice_cli;
mod keys_genesis;
mod listings;
mod mandates_e2e;
mod mempool_jam;
mod meter_e2e;
mod nodes_e2e;
mod openapi_schema;
mod operations;
mod proofs_e2e;
mod pruning;
mod repair;
mod secrets;
mod signer_safety;
mod slow_clients;
mod state_sync;
mod storage_faults;
mod testnet_cli;
mod wallet_cli;
