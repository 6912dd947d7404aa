//! The `jeon` command: one binary for operators, wallets and developers.
//!
//! This file holds only the top-level command list and the dispatch; each command
//! group lives in its own module. Errors print as `error: <message>` on stderr and set
//! the exit code (see [`error`]).

mod access_cmd;
mod amount;
mod bench;
#[cfg(unix)]
mod chaos;
mod client;
mod dev;
mod error;
mod genesis_cmd;
mod index;
mod init_cmd;
mod invoice_cmd;
mod keys;
mod keystore;
mod node_cmd;
mod output;
mod query_cmd;
mod repair_cmd;
mod snapshot_cmd;
mod testnet;
mod tx;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The allocator of every `jeon` process. A node frees and allocates hundreds of
/// megabytes a minute on several threads (block decoding and encoding, execution,
/// the mempool). Under glibc malloc that cost a sixth of a loaded node's CPU and, with
/// glibc's default arenas, left freed memory resident; capping its arenas (as the node
/// did before) bought memory back with lock contention. mimalloc's per-thread heaps
/// avoid the contention; they keep more memory mapped for reuse, within the node's
/// bounds. docs/storage.md §6 has the measurements.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Jeon: a permissioned blockchain node for micro-value assets.
#[derive(Debug, Parser)]
#[command(name = "jeon", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// `text` for people (decimal amounts, dates) or `json` for scripts (one JSON
    /// document on stdout), on every command.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        env = "JEON_OUTPUT",
        global = true
    )]
    output: output::Format,
}

/// The command groups.
#[derive(Debug, Subcommand)]
enum Command {
    /// Set up a partner node's directory: a documented config.toml and an encrypted key.
    Init(init_cmd::InitArgs),
    /// Create, encrypt and inspect key files.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Write preset chain specs; validate and hash genesis files.
    #[command(subcommand)]
    Genesis(genesis_cmd::GenesisCommand),
    /// Run a node from a config file or flags.
    Node(node_cmd::NodeArgs),
    /// Run a one-validator chain with the demo consortium (data in ./.jeon-dev).
    Dev(dev::DevArgs),
    /// Export a stopped node's state at its head to a chunked, checksummed file; start
    /// a new node's data directory from one (docs/operations.md §9).
    #[command(subcommand)]
    Snapshot(snapshot_cmd::SnapshotCommand),
    /// Rebuild a stopped node's damaged database from its own block files: replays
    /// every whole block record (certificate checked, transactions re-executed) into a
    /// fresh database, moves the damaged db/, blocks/ and txindex/ to
    /// DIR/damaged-<secs>/ and the rebuilt ones into place (docs/operations.md §10).
    ///
    /// Exits 0 when repaired (or the database opens: nothing to repair), 1 when nothing
    /// could be repaired (no whole block, or pruned block files: restore from a
    /// snapshot or re-sync), 2 for bad input (no data directory, bad genesis).
    Repair(repair_cmd::RepairArgs),
    /// Run N validator processes on loopback (data in ./.jeon-testnet).
    Testnet(testnet::TestnetArgs),
    /// Sign, dry-run and submit a transaction: transfers and assets, merchant payments,
    /// reward rules, stamps, redemption and conversion between partners' credits,
    /// mandates (subscriptions), payment links, micro-credit, fee sponsorship and
    /// co-signing, and governance proposals and votes.
    ///
    /// Amounts: a bare integer is raw units (the asset's smallest unit: KRW has 2
    /// decimals, so `--amount 50000` is ₩500); a decimal point or a sign makes it a
    /// decimal amount (`--amount 500.00`, `--amount ₩500`, `--amount 500KRW`). Each
    /// call is dry-run first (`POST /v1/txs/simulate`) and not submitted if it would
    /// fail, unless `--force`.
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// Read the chain: status, accounts, transactions, blocks, assets, and the economy
    /// (tax, settlement, account histories, redemptions, exchanges, reward rules,
    /// mandates, invoices, credit, fees and sponsorships, governance).
    Query(query_cmd::QueryArgs),
    /// Load a node with pre-signed transfers, merchant payments or mandate charges;
    /// report finalized throughput and latency.
    Bench(bench::BenchArgs),
    /// Check a transaction, state or access proof against a genesis file alone,
    /// trusting no node.
    ///
    /// `--proof`: the answer of `GET /v1/txs/{hash}/proof`, the proof's JSON alone, or
    /// the hex of its canonical bytes. `--state`: an entitlement's or attestation's
    /// state proof. `--access`: an access proof, for `--product` and `--challenge`.
    /// Prints what was verified; exits 1 if the proof does not verify (or the
    /// transaction failed, the entry is absent or expired, access is refused), 2 if a
    /// file is unreadable or malformed.
    Verify(verify_cmd::VerifyArgs),
    /// Follow a node and write its blocks, transactions and events into PostgreSQL, with
    /// SQL views of merchants' insights (docs/indexer.md). Resumes after the last block
    /// written; each block exactly once; safe to kill at any point.
    ///
    /// Exits 0 at the head with `--exit-at-head` (printing a JSON summary), 1 when the
    /// database cannot be used (unreachable, a newer schema, another chain), 2 for bad
    /// input, 3 when the node cannot be reached.
    Index(index::IndexArgs),
    /// Prove access to a pass offline: fetch the entitlement's state proof from the
    /// node and sign the server's challenge with the owner's key (docs/proofs.md §10);
    /// a content server checks it with `jeon verify --access`.
    AccessProof(access_cmd::AccessProofArgs),
    /// Make a merchant-signed payment link (`jeon:pay?to=...&amount=500.00&asset=KRW...`)
    /// for `jeon tx pay-invoice`, and read one.
    #[command(subcommand)]
    Invoice(invoice_cmd::InvoiceCommand),
    /// The chaos harness: run validators under load and faults from a manifest and
    /// check the history; generate seeded manifests.
    #[cfg(unix)]
    #[command(subcommand)]
    Chaos(chaos::ChaosCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_format(cli.output);
    let result = match cli.command {
        Command::Init(args) => init_cmd::run(args),
        Command::Keys(command) => keys::run(command),
        Command::Genesis(command) => genesis_cmd::run(command),
        Command::Node(args) => node_cmd::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Snapshot(command) => snapshot_cmd::run(command),
        Command::Repair(args) => repair_cmd::run(args),
        Command::Testnet(args) => testnet::run(args),
        Command::Tx(command) => tx::run(command),
        Command::Query(args) => query_cmd::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Index(args) => index::run(args),
        Command::AccessProof(args) => access_cmd::run_access_proof(args),
        Command::Invoice(command) => invoice_cmd::run(command),
        #[cfg(unix)]
        Command::Chaos(command) => chaos::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_command_and_flag_is_declared_consistently() {
        // Names, conflicts and requirements between flags of every subcommand
        // (including the `tx` commands each feature file declares).
        Cli::command().debug_assert();
    }
}
