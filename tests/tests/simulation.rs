//! The deterministic simulation: many seeds across the fault mixes must stay safe and
//! live; a seed replays exactly; and the fork checker catches an unsafe core.
//!
//! Replay one seed: `JEON_SIM_SEED=<seed> cargo test -p jeon-tests --test simulation --
//! one_seed --nocapture` (add `JEON_SIM_MIX=<name>` or `JEON_SIM_NO_LOCKING=1` as the
//! failure message says; `JEON_SIM_TRACE=1` prints every event). `JEON_SIM_SEEDS=<n>`
//! and `JEON_SIM_FIRST_SEED=<s>` widen or move the CI sweep, `JEON_SIM_MIX=<name>` runs
//! it under one mix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // In tests a panic is the failure report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use jeon_node::byzantine::Behaviour;
use jeon_node::signer::SigningStatus;
use jeon_tests::sim::{
    self, Failure, FaultCounts, Report, Scenario, ScenarioOutcome, SimConfig, StorageFaults,
    Violation, MIXES, VALIDATORS,
};

/// Seeds per CI run: 100 per fault mix.
const CI_SEEDS: u64 = 500;
/// The first CI seed.
const CI_FIRST_SEED: u64 = 0;
/// Seeds the self-check runs with locking disabled; about one in eight forks.
const SELF_CHECK_SEEDS: u64 = 48;
/// Threads the seeds run on (CI has 2 cores).
const WORKERS: usize = 2;

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let parsed = value.parse();
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Runs `configs` on [`WORKERS`] threads; results come back in input order.
fn run_all(configs: &[SimConfig]) -> Vec<Result<Report, Box<Failure>>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(configs.len()));
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(config) = configs.get(i) else { break };
                let result = sim::run(config);
                results.lock().expect("no worker panics").push((i, result));
            });
        }
    });
    let mut results = results.into_inner().expect("no worker panics");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// A violation's kind, for summaries.
fn kind(v: &Violation) -> &'static str {
    match v {
        Violation::Fork { .. } => "fork",
        Violation::AppHashMismatch { .. } => "app hash mismatch",
        Violation::DoubleSign { .. } => "double signing",
        Violation::ReplicaStopped { .. } => "replica stopped",
        Violation::StoreBroken { .. } => "store broken",
        Violation::NoProgress { .. } => "no liveness",
    }
}

#[test]
fn five_hundred_seeds_across_the_fault_mixes_stay_safe_and_live() {
    let first = env_u64("JEON_SIM_FIRST_SEED").unwrap_or(CI_FIRST_SEED);
    let count = env_u64("JEON_SIM_SEEDS").unwrap_or(CI_SEEDS);
    let started = Instant::now();
    let mix = std::env::var("JEON_SIM_MIX")
        .ok()
        .map(|name| sim::mix_named(&name).unwrap_or_else(|| panic!("no fault mix {name}")));
    let configs: Vec<SimConfig> = (first..first + count)
        .map(|seed| SimConfig {
            mix: mix.unwrap_or(sim::mix_for_seed(seed)),
            ..SimConfig::new(seed)
        })
        .collect();
    let results = run_all(&configs);
    let elapsed = started.elapsed();
    let (mut events, mut heights, mut txs, mut crashes, mut partitions) = (0, 0, 0, 0, 0);
    let (mut wanted, mut completed_held) = (0, 0);
    // Per (mix, violation kind): how many seeds, and the first failure.
    let mut failed: BTreeMap<(&str, &str), (usize, &Box<Failure>)> = BTreeMap::new();
    for result in &results {
        match result {
            Ok(r) => {
                events += r.events;
                heights += r.heads.iter().map(|h| h.1).max().unwrap_or(0);
                txs += r.txs_final;
                crashes += r.crashes;
                partitions += r.partitions;
                wanted += r.proposals_wanted;
                completed_held += r.compacts_completed_held;
            }
            Err(f) => {
                failed
                    .entry((f.mix.name, kind(&f.violation)))
                    .or_insert((0, f))
                    .0 += 1
            }
        }
    }
    eprintln!(
        "simulated {count} seeds over {} fault mixes in {elapsed:.1?}; the passing ones ran \
         {events} events, finalized {heights} heights and {txs} transactions, through \
         {crashes} crashes and {partitions} partitions; {wanted} times a node lacked a \
         compact proposal's transactions and asked for it whole ({completed_held} put \
         together when the transactions came first)",
        MIXES.len()
    );
    for ((mix, kind), (n, first)) in &failed {
        eprintln!("{n} seeds of mix {mix} failed with {kind}; the first:\n{first}");
    }
    let total: usize = failed.values().map(|(n, _)| n).sum();
    assert!(
        failed.is_empty(),
        "{total} of {count} seeds failed; replay any with the command printed above"
    );
    // Lossy links and crashes leave some node without a proposal's transactions: the
    // fallback to the whole proposal must have run, and the seeds above stayed live.
    assert!(
        count < 100 || wanted > 0,
        "no node ever lacked a compact proposal's transactions in {count} seeds: the \
         fallback to the whole proposal went untested"
    );
    // And some of those were completed by transactions arriving after the proposal:
    // holding an incomplete compact proposal ran.
    assert!(
        count < 100 || completed_held > 0,
        "no held compact proposal was ever put together from later transactions in \
         {count} seeds: holding went untested"
    );
}

/// Seeds of the storage-fault sweep per CI run (about 0.1 s each in a debug build on
/// two cores; `JEON_SIM_STORAGE_SEEDS=10000` is the figure's run, docs/reliability.md §4).
const STORAGE_CI_SEEDS: u64 = 140;

#[test]
fn storage_faults_on_one_replica_beside_misbehaviour_stay_safe_and_live() {
    let first = env_u64("JEON_SIM_FIRST_SEED").unwrap_or(CI_FIRST_SEED);
    let count = env_u64("JEON_SIM_STORAGE_SEEDS").unwrap_or(STORAGE_CI_SEEDS);
    let started = Instant::now();
    let configs: Vec<SimConfig> = (first..first + count)
        .map(SimConfig::storage_sweep)
        .collect();
    let results = run_all(&configs);
    let elapsed = started.elapsed();
    let mut total = FaultCounts::default();
    let (mut refused, mut latent, mut byzantine, mut heights) = (0, 0, 0, 0);
    let mut found_invalid = Vec::new();
    let mut failed: BTreeMap<(&str, &str), (usize, &Box<Failure>)> = BTreeMap::new();
    for (config, result) in configs.iter().zip(&results) {
        let r = match result {
            Ok(r) => r,
            Err(f) => {
                failed
                    .entry((f.mix.name, kind(&f.violation)))
                    .or_insert((0, f))
                    .0 += 1;
                continue;
            }
        };
        let s = r
            .storage
            .as_ref()
            .expect("every sweep run has storage faults");
        assert_eq!(
            s.signed_after_refusal, 0,
            "seed {}: {} signed after refusing its damaged signer record",
            r.seed, s.node
        );
        // Our own storage failing while a proposal executes stops the replica; it
        // never makes a valid block count as invalid (only a Byzantine proposer's, or a
        // twin's, which may build on a block the others did not finalize, are).
        if config.byzantine.is_none() && !config.mix.twin && r.invalid_blocks > 0 {
            found_invalid.push(r.seed);
        }
        let c = s.counts;
        total.corrupted += c.corrupted;
        total.misdirected += c.misdirected;
        total.failed_reads += c.failed_reads;
        total.torn += c.torn;
        total.stops += c.stops;
        total.wipes += c.wipes;
        total.rewinds += c.rewinds;
        refused += usize::from(c.signer_refused);
        latent += usize::from(s.latent_damage.is_some());
        byzantine += usize::from(config.byzantine.is_some() || config.mix.twin);
        heights += r.heads.iter().map(|h| h.1).max().unwrap_or(0);
    }
    let safety = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(|f| f.violation.is_safety()))
        .count();
    eprintln!(
        "storage faults: {count} seeds in {elapsed:.1?} ({byzantine} with a Byzantine \
         validator or twins), {safety} safety violations; {heights} heights finalized; on \
         the faulty replica {} writes corrupted, {} misdirected, {} reads failed, {} \
         crashes tore writes; it stopped {} times, was wiped and re-synced {} times, \
         came back below a block it had finalized {} times (torn, record damaged: \
         synced again), refused its damaged signer record in {refused} seeds, and \
         {latent} seeds ended with damage never read",
        total.corrupted,
        total.misdirected,
        total.failed_reads,
        total.torn,
        total.stops,
        total.wipes,
        total.rewinds
    );
    for ((mix, kind), (n, first)) in &failed {
        eprintln!("{n} seeds of mix {mix} failed with {kind}; the first:\n{first}");
    }
    eprintln!(
        "seeds where an honest node found an honest block invalid: {found_invalid:?} \
         (replay with JEON_SIM_STORAGE=1)"
    );
    let failures: usize = failed.values().map(|(n, _)| n).sum();
    assert!(failures == 0, "{failures} of {count} seeds failed");
    assert!(
        found_invalid.is_empty(),
        "honest blocks found invalid in seeds {found_invalid:?}"
    );
    // The faults must have struck and been detected, or the sweep proves nothing.
    if count >= 100 {
        for (what, n) in [
            ("corrupted writes", total.corrupted),
            ("misdirected writes", total.misdirected),
            ("failed reads", total.failed_reads),
            ("torn writes", total.torn),
            ("wipes after detected damage", total.wipes),
        ] {
            assert!(n > 0, "no {what} in {count} seeds");
        }
    }
}

#[test]
fn a_replica_whose_signer_record_is_damaged_refuses_to_start_and_never_signs_again() {
    // Faults on nearly every write: the first stop finds the record damaged. The other
    // three validators go on; the replica stays down and signs nothing more.
    let faults = StorageFaults {
        corrupt_write: 0.3,
        misdirect_write: 0.1,
        ..StorageFaults::DEFAULT
    };
    let configs: Vec<SimConfig> = (0..4)
        .map(|seed| SimConfig {
            mix: sim::mix_named("lossy-links").expect("a mix"),
            storage: Some(faults),
            ..SimConfig::new(seed)
        })
        .collect();
    let mut refusals = 0;
    for (config, result) in configs.iter().zip(run_all(&configs)) {
        let r = result.unwrap_or_else(|f| panic!("seed {}: {f}", config.seed));
        let s = r.storage.expect("storage faults");
        assert!(s.signer_faults);
        assert_eq!(s.signed_after_refusal, 0, "seed {}: {s:?}", config.seed);
        refusals += usize::from(s.counts.signer_refused);
    }
    assert!(
        refusals > 0,
        "no seed damaged a signer record the replica then read"
    );
}

#[test]
fn a_seed_with_storage_faults_replays_to_the_same_trace() {
    let configs: Vec<SimConfig> = [3, 11, 3, 11].map(SimConfig::storage_sweep).to_vec();
    let results = run_all(&configs);
    let summary = |r: &Result<Report, Box<Failure>>| match r {
        Ok(r) => (r.trace_hash.to_string(), r.events, r.storage.clone()),
        Err(f) => (format!("failure: {f}"), f.events, None),
    };
    assert_eq!(summary(&results[0]), summary(&results[2]));
    assert_eq!(summary(&results[1]), summary(&results[3]));
}

/// Seeds of each twin mix the evidence test runs.
const EVIDENCE_SEEDS: u64 = 12;

#[test]
fn honest_validators_put_the_twins_equivocation_on_chain() {
    // Twins (one key, two honest copies) sign different proposals and votes for the
    // same rounds; the honest validators' cores detect it and report it through the
    // runtime's ReportEquivocation, paying the fee from their own accounts.
    let mixes = MIXES.iter().filter(|m| m.twin);
    let configs: Vec<SimConfig> = mixes
        .flat_map(|&mix| {
            (0..EVIDENCE_SEEDS).map(move |seed| SimConfig {
                mix,
                // A few heights more than the liveness check needs: an equivocation in
                // the last heights of the run still gets its report on chain.
                liveness_heights: SimConfig::new(seed).liveness_heights + 3,
                ..SimConfig::new(seed)
            })
        })
        .collect();
    let results = run_all(&configs);
    let mut with_evidence = 0;
    for (config, result) in configs.iter().zip(&results) {
        let report = match result {
            Ok(r) => r,
            Err(f) => panic!("an equivocating twin broke the promise:\n{f}"),
        };
        // Only the twins' key equivocates, and only once per height is recorded.
        let keys: std::collections::BTreeSet<_> = report.evidence.iter().map(|e| e.0).collect();
        assert!(
            keys.len() <= 1,
            "seed {} recorded evidence against {keys:?}",
            config.seed
        );
        let heights: std::collections::BTreeSet<_> = report.evidence.iter().map(|e| e.1).collect();
        assert_eq!(
            heights.len(),
            report.evidence.len(),
            "seed {}: a height twice",
            config.seed
        );
        with_evidence += usize::from(!report.evidence.is_empty());
    }
    eprintln!(
        "{with_evidence} of {} twin seeds ended with evidence on chain",
        configs.len()
    );
    // Seeds are deterministic: every one of these equivocates and records it.
    assert!(
        with_evidence == configs.len(),
        "only {with_evidence} of {} twin seeds recorded evidence",
        configs.len()
    );
}

/// Seeds per Byzantine behaviour.
const BYZANTINE_SEEDS: u64 = 8;

#[test]
fn honest_nodes_stay_safe_and_live_beside_each_byzantine_behaviour() {
    // The last validator misbehaves; the three honest ones (3 of 4, above 2/3) must
    // agree on every block and keep finalizing, under the mixes without twins or set
    // changes (the twins are a second Byzantine validator; the set changes could
    // remove the Byzantine one).
    let mixes: Vec<_> = MIXES.iter().filter(|m| !m.twin && !m.set_changes).collect();
    let byzantine_key = sim::validator_key(VALIDATORS - 1);
    for behaviour in Behaviour::ALL {
        let configs: Vec<SimConfig> = (0..BYZANTINE_SEEDS)
            .map(|seed| SimConfig {
                mix: *mixes[seed as usize % mixes.len()],
                byzantine: Some(behaviour),
                ..SimConfig::new(seed)
            })
            .collect();
        let results = run_all(&configs);
        let (mut invalid, mut proposals, mut with_evidence) = (0, 0, 0);
        for (config, result) in configs.iter().zip(&results) {
            let r = match result {
                Ok(r) => r,
                Err(f) => panic!("{behaviour}: seed {} broke the promise:\n{f}", config.seed),
            };
            invalid += r.invalid_blocks;
            proposals += r.byzantine_proposals;
            with_evidence += usize::from(r.evidence.iter().any(|e| e.0 == byzantine_key));
            assert!(
                r.evidence.iter().all(|e| e.0 == byzantine_key),
                "{behaviour}: evidence against an honest validator: {:?}",
                r.evidence
            );
        }
        eprintln!(
            "{behaviour}: {BYZANTINE_SEEDS} seeds safe and live; {proposals} whole proposals \
             by the Byzantine validator, {invalid} invalid blocks executed by the honest \
             nodes, evidence on chain in {with_evidence} seeds"
        );
        match behaviour {
            Behaviour::Equivocate => assert_eq!(with_evidence, configs.len(), "{behaviour}"),
            Behaviour::InvalidBlock => {
                // Each of the three honest nodes executes each invalid block once, not
                // once per copy it receives (duplicated and re-sent messages).
                assert!(invalid > 0, "no invalid block was proposed");
                assert!(
                    invalid <= 3 * proposals,
                    "{invalid} executions of {proposals} blocks"
                );
            }
            _ => assert_eq!(with_evidence, 0, "{behaviour} is no equivocation"),
        }
    }
}

/// Replays one seed, printing its report: `JEON_SIM_SEED`, optionally `JEON_SIM_MIX`,
/// `JEON_SIM_BYZANTINE=<behaviour>` (the last validator misbehaves),
/// `JEON_SIM_NO_LOCKING=1` (the self-check configuration) and `JEON_SIM_TRACE=1`.
/// Without them it runs seed 0.
#[test]
fn one_seed() {
    let seed = env_u64("JEON_SIM_SEED").unwrap_or(0);
    let mut config = if env_flag("JEON_SIM_NO_LOCKING") {
        SimConfig::self_check(seed)
    } else {
        SimConfig::new(seed)
    };
    if env_flag("JEON_SIM_STORAGE") {
        config.storage = Some(StorageFaults::DEFAULT);
    }
    if let Ok(name) = std::env::var("JEON_SIM_BYZANTINE") {
        config.byzantine = Some(name.parse().unwrap_or_else(|e| panic!("{e}")));
    }
    if let Ok(name) = std::env::var("JEON_SIM_MIX") {
        config.mix = sim::mix_named(&name).unwrap_or_else(|| panic!("no fault mix {name}"));
    }
    config.trace = env_flag("JEON_SIM_TRACE");
    match sim::run(&config) {
        Ok(report) => eprintln!("{report:#?}"),
        Err(failure) => panic!("{failure}"),
    }
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    // Two seeds of each mix, each run twice, on different threads.
    let seeds: Vec<u64> = (1_000..1_000 + 2 * MIXES.len() as u64).collect();
    let configs: Vec<SimConfig> = seeds
        .iter()
        .chain(&seeds)
        .map(|&s| SimConfig::new(s))
        .collect();
    let results = run_all(&configs);
    let (first, second) = results.split_at(seeds.len());
    for ((a, b), seed) in first.iter().zip(second).zip(seeds) {
        let summary = |r: &Result<Report, Box<Failure>>| match r {
            Ok(r) => (r.trace_hash.to_string(), r.events, r.end_ms),
            Err(f) => (format!("failure: {}", f.violation), f.events, f.at_ms),
        };
        let (a, b) = (summary(a), summary(b));
        assert!(a.1 > 1_000, "seed {seed} ran only {} events", a.1);
        assert_eq!(a, b, "seed {seed} did not replay");
    }
}

#[test]
fn the_fork_checker_catches_validators_that_ignore_their_locks() {
    let configs: Vec<SimConfig> = (0..SELF_CHECK_SEEDS).map(SimConfig::self_check).collect();
    let results = run_all(&configs);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for f in results.iter().filter_map(|r| r.as_ref().err()) {
        *kinds.entry(kind(&f.violation)).or_default() += 1;
    }
    eprintln!("{SELF_CHECK_SEEDS} seeds with locking disabled ended in {kinds:?}");
    let fork = results.iter().filter_map(|r| r.as_ref().err()).find(|f| {
        matches!(
            f.violation,
            Violation::Fork { .. } | Violation::AppHashMismatch { .. }
        )
    });
    match fork {
        Some(f) => eprintln!("the first fork:\n{f}"),
        None => panic!(
            "no fork in {SELF_CHECK_SEEDS} seeds with locking disabled: the checker or the \
             adversarial schedule is too weak"
        ),
    }
}

/// Seeds per scripted signer scenario.
const SCENARIO_SEEDS: u64 = 8;

#[test]
fn a_validator_that_loses_its_chain_database_but_keeps_its_signer_record_waits_then_signs_again() {
    // Under links that delay, reorder and duplicate, and partitions that hold messages.
    let mixes = [sim::SCRIPTED, sim::mix_named("partitions").expect("a mix")];
    let configs: Vec<SimConfig> = (0..SCENARIO_SEEDS)
        .map(|seed| SimConfig {
            mix: mixes[(seed % 2) as usize],
            scenario: Some(Scenario::LoseChainDb {
                node: (seed % VALIDATORS as u64) as usize,
                at_ms: 8_000,
                down_ms: 1_000,
            }),
            ..SimConfig::new(seed)
        })
        .collect();
    for (config, result) in configs.iter().zip(run_all(&configs)) {
        // Safe (no double sign by any validator, the one that lost its chain included)
        // and live: the run itself checks both.
        let report = result.unwrap_or_else(|f| panic!("{f}"));
        let Some(ScenarioOutcome::LostChain {
            node,
            record_at_loss,
            status_at_restart,
            record_at_end,
            head_at_end,
            ..
        }) = report.scenario
        else {
            panic!("seed {}: no outcome: {:?}", config.seed, report.scenario);
        };
        assert!(
            record_at_loss > 1,
            "seed {}: {node} had signed up to height {record_at_loss} only",
            config.seed
        );
        assert_eq!(
            status_at_restart,
            Some(SigningStatus::WaitingForChain {
                record_height: record_at_loss,
                head: 0
            }),
            "seed {}: {node} restarted on an empty chain",
            config.seed
        );
        assert!(
            record_at_end > record_at_loss && head_at_end > record_at_loss,
            "seed {}: {node} should sign again once synced past {record_at_loss}; it signed up \
             to {record_at_end} with its head at {head_at_end}",
            config.seed
        );
    }
}

#[test]
fn governance_removes_a_validator_that_is_down_and_adds_one_that_catches_up_and_signs() {
    let mix = sim::mix_named("set-changes").expect("the set-changes mix");
    let configs: Vec<SimConfig> = (0..SCENARIO_SEEDS)
        .map(|seed| SimConfig {
            mix,
            ..SimConfig::new(seed)
        })
        .collect();
    for (config, result) in configs.iter().zip(run_all(&configs)) {
        let report = result.unwrap_or_else(|f| panic!("{f}"));
        let seed = config.seed;
        let outcome = report
            .set_change
            .unwrap_or_else(|| panic!("seed {seed}: no set-change outcome"));
        assert!(
            outcome.removed_everywhere && outcome.joined_everywhere,
            "seed {seed}: {outcome:?}"
        );
        assert!(
            outcome.joiner_signatures > 0,
            "seed {seed}: the joiner never signed: {outcome:?}"
        );
        let top = report.heads.iter().map(|h| h.1).max().unwrap_or(0);
        assert_eq!(
            outcome.joiner_head, top,
            "seed {seed}: the joiner caught up"
        );
        assert!(
            outcome.new_set_from <= top,
            "seed {seed}: the chain reached the new set's first height: {outcome:?}"
        );
    }
}

#[test]
fn an_idle_chain_with_a_validator_down_takes_about_a_second_per_height_even_on_its_turns() {
    // Calm links and no transactions: every block is an empty one, a second apart. The
    // down validator's turns cost one base propose timeout (it is not heard, so no
    // allowance for the empty-block wait) and a nil round left at once on 2f+1 nil
    // precommits: about 1.1 s. Without those two rules they took about 2.6 s.
    const DOWN_AT_MS: u64 = 6_000;
    const HEIGHT_MS_MAX: u64 = 1_500;
    let calm = sim::FaultMix {
        name: "calm",
        links: sim::LinkFaults::CALM,
        ..sim::SCRIPTED
    };
    let configs: Vec<SimConfig> = (0..SCENARIO_SEEDS)
        .map(|seed| SimConfig {
            mix: calm,
            tx_interval_ms: 3_600_000,
            scenario: Some(Scenario::StaysDown {
                node: (seed % VALIDATORS as u64) as usize,
                at_ms: DOWN_AT_MS,
            }),
            ..SimConfig::new(seed)
        })
        .collect();
    for (config, result) in configs.iter().zip(run_all(&configs)) {
        let report = result.unwrap_or_else(|f| panic!("{f}"));
        let Some(ScenarioOutcome::StayedDown { blocks }) = report.scenario else {
            panic!("seed {}: no outcome: {:?}", config.seed, report.scenario);
        };
        // From a few heights after the crash (once nobody has heard it for a height)
        // to the end of the fault phase, when it restarts.
        let from = sim::GENESIS_TIME_MS + DOWN_AT_MS + 3_000;
        let to = sim::GENESIS_TIME_MS + config.fault_phase_ms;
        let window: Vec<&(u64, u64, u32)> = blocks
            .iter()
            .filter(|(_, t, _)| (from..to).contains(t))
            .collect();
        let its_turns = window.iter().filter(|(_, _, round)| *round > 0).count();
        assert!(
            window.len() >= 8 && its_turns >= 2,
            "seed {}: {} heights in the window, {its_turns} of them past round 0: {blocks:?}",
            config.seed,
            window.len()
        );
        for pair in window.windows(2) {
            let ((_, a, _), (h, b, round)) = (pair[0], pair[1]);
            assert!(
                b - a <= HEIGHT_MS_MAX,
                "seed {}: height {h} (round {round}) took {} ms",
                config.seed,
                b - a
            );
        }
    }
}

#[test]
fn a_late_copy_of_a_validator_without_a_signer_record_sees_its_key_in_use_and_never_signs() {
    let configs: Vec<SimConfig> = (0..SCENARIO_SEEDS)
        .map(|seed| SimConfig {
            mix: sim::SCRIPTED,
            scenario: Some(Scenario::LateTwin {
                node: (seed % VALIDATORS as u64) as usize,
                at_ms: 6_000,
            }),
            ..SimConfig::new(seed)
        })
        .collect();
    for (config, result) in configs.iter().zip(run_all(&configs)) {
        // Both copies are judged honest: two different messages for one slot by their
        // key would fail the run as a double sign.
        let report = result.unwrap_or_else(|f| panic!("{f}"));
        let Some(ScenarioOutcome::LateTwin {
            twin,
            status,
            records_written,
            head,
        }) = report.scenario
        else {
            panic!("seed {}: no outcome: {:?}", config.seed, report.scenario);
        };
        assert!(
            matches!(status, Some(SigningStatus::Refused { .. })),
            "seed {}: {twin} should have stopped signing; its status is {status:?}",
            config.seed
        );
        assert_eq!(
            records_written, 0,
            "seed {}: {twin} signed something",
            config.seed
        );
        let top = report.heads.iter().map(|h| h.1).max().unwrap_or(0);
        assert_eq!(
            head, top,
            "seed {}: {twin} still follows the chain",
            config.seed
        );
    }
}
