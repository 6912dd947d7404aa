//! `jeon chaos`: the chaos harness. `run` starts a cluster of real `jeon node`
//! processes on loopback, puts them under load, perturbs them as a manifest says
//! (kill -9, SIGSTOP, clean restart, links cut, partitioned or slowed in the harness's
//! TCP proxy, which also emulates WAN links, chain data wiped and re-synced, a clock
//! moved with libfaketime), records what every node reported, and checks the whole
//! history; `generate` writes a seeded random manifest. docs/reliability.md, "Chaos
//! harness", describes the manifest and the checks.
//!
//! The code follows the run: `manifest` (the format and its checks), `generate`,
//! `cluster` (the processes), `proxy` (the links and their emulation), `netem` (why
//! the kernel does not emulate them), `load` (the load, the wallet that
//! resubmits, the trackers that record), `run` (the schedule, settling, collection)
//! and `check` (the checker, pure).

mod check;
mod cluster;
mod generate;
mod http;
mod load;
mod manifest;
mod netem;
mod proxy;
mod run;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::{stdout, CliError};
use manifest::Manifest;

/// `jeon chaos`.
#[derive(Debug, Subcommand)]
pub(crate) enum ChaosCommand {
    /// Run a manifest: N validators under load and perturbations, then check the
    /// history. Prints a summary of the checks (`--output json`: the JSON report,
    /// also written to OUT/report.json); exits 0 if every check passed, 1 if one
    /// failed (the report names it), 2 if the manifest is invalid.
    Run(RunArgs),
    /// Print a random manifest for a seed: the same seed always gives the same
    /// manifest; never more than f = (n-1)/3 validators are perturbed at once. TOML
    /// (`--output json`: the same manifest as JSON; `chaos run` reads either).
    Generate(GenerateArgs),
}

/// `jeon chaos run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The manifest (TOML, or the JSON `chaos generate --output json` prints); see
    /// docs/reliability.md, "Chaos harness".
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// Where the genesis, keys, node directories and logs go, and report.json
    /// (must not exist, or be empty).
    #[arg(long, value_name = "DIR", default_value = ".jeon-chaos")]
    out: PathBuf,
}

/// `jeon chaos generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The seed.
    #[arg(long, value_name = "N")]
    seed: u64,
    /// The run length in seconds.
    #[arg(long, value_name = "S", default_value_t = 120)]
    duration: u64,
    /// How many validators.
    #[arg(long, value_name = "N", default_value_t = 4)]
    validators: usize,
    /// The offered load, transactions per second.
    #[arg(long, value_name = "R", default_value_t = 300)]
    rate: u64,
    /// How many accounts send the load.
    #[arg(long, value_name = "M", default_value_t = 64)]
    accounts: usize,
    /// The perturbation kinds to draw from, comma-separated (default: kill, pause,
    /// restart, disconnect, wipe; partition, latency and clock_skew, which needs
    /// libfaketime, may be named).
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    kinds: Vec<String>,
}

/// Runs `jeon chaos`.
pub(crate) fn run(command: ChaosCommand) -> Result<(), CliError> {
    match command {
        ChaosCommand::Run(args) => run_manifest(&args),
        ChaosCommand::Generate(args) => {
            let manifest = generate::generate(&generate::GenOptions {
                seed: args.seed,
                duration_secs: args.duration,
                validators: args.validators,
                rate: args.rate,
                accounts: args.accounts,
                kinds: args.kinds.clone(),
            })
            .map_err(CliError::BadInput)?;
            manifest.validate()?;
            let kinds = if args.kinds.is_empty() {
                String::new()
            } else {
                format!(" --kinds {}", args.kinds.join(","))
            };
            let header = format!(
                "# jeon chaos generate --seed {} --duration {} --validators {} --rate {} \
                 --accounts {}{kinds}\n",
                args.seed, args.duration, args.validators, args.rate, args.accounts
            );
            if crate::output::format() == crate::output::Format::Json {
                let json = serde_json::to_string(&manifest)
                    .map_err(|e| CliError::Failed(format!("cannot print the manifest: {e}")))?;
                return stdout(&format!("{json}\n"));
            }
            stdout(&format!("{header}{}", manifest.to_toml()?))
        }
    }
}

fn run_manifest(args: &RunArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.manifest).map_err(|e| {
        CliError::BadInput(format!("{}: cannot read: {e}", args.manifest.display()))
    })?;
    let manifest = Manifest::parse(&text)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", args.manifest.display())))?;
    let occupied = std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(CliError::BadInput(format!(
            "{} is not empty: give another --out or remove it",
            args.out.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", args.out.display())))?;
    let report = run::run(&manifest, &args.out)?;
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::Failed(format!("cannot print the report: {e}")))?;
    let path = args.out.join("report.json");
    std::fs::write(&path, &json)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    if crate::output::format() == crate::output::Format::Json {
        stdout(&format!("{json}\n"))?;
    } else {
        stdout(&run::summary(&report, &path))?;
    }
    if report.ok {
        Ok(())
    } else {
        // The first failure of each failed check, so that a log cut short still says
        // what broke (the report has the rest).
        let first: Vec<String> = report
            .verdict
            .failed
            .iter()
            .filter_map(|name| {
                let failure = report.verdict.checks.get(name)?.failures.first()?;
                Some(format!("\n  {name}: {failure}"))
            })
            .collect();
        Err(CliError::Failed(format!(
            "chaos checks failed: {}{}",
            report.verdict.failed.join(", "),
            first.concat()
        )))
    }
}
