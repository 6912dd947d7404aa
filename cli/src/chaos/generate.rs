//! `jeon chaos generate`: a seeded random manifest, in the spirit of CometBFT's e2e
//! generator. The same seed (and options) always gives the same manifest; at no
//! moment are more than f = (n-1)/3 validators perturbed, so liveness stays promised.

use super::manifest::{
    faults_max, Direction, Kind, Load, Manifest, Perturbation, KINDS, PROGRESS_TIMEOUT_SECS_DEFAULT,
};
use super::proxy::LinkParams;

/// What to generate.
#[derive(Debug, Clone)]
pub(crate) struct GenOptions {
    /// The seed.
    pub(crate) seed: u64,
    /// The run length in seconds.
    pub(crate) duration_secs: u64,
    /// How many validators.
    pub(crate) validators: usize,
    /// The offered load, tx/s.
    pub(crate) rate: u64,
    /// Load accounts.
    pub(crate) accounts: usize,
    /// The perturbation kinds to draw from (empty: all but `clock_skew`).
    pub(crate) kinds: Vec<String>,
}

/// The kinds the generator draws from by default (`clock_skew` needs libfaketime,
/// `partition` and `latency` emulated links: named with `--kinds`).
pub(crate) const GENERATED_KINDS: [&str; 5] = ["kill", "pause", "restart", "disconnect", "wipe"];

/// No perturbation starts before this, so the chain and the load are up first.
const FIRST_AT_SECS: f64 = 5.0;
/// No perturbation is still busy (recovery included) in the last this many seconds.
const QUIET_TAIL_SECS: f64 = 5.0;

/// SplitMix64: a tiny generator whose sequence is fixed by its seed on every platform
/// and every version of every crate (unlike `rand`'s `StdRng`). The proxy's jitter and
/// loss draws use it too.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (n > 0; the tiny modulo bias does not matter here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[lo, hi)`, rounded to tenths of a second so manifests read well.
    fn secs(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((lo + unit * (hi - lo)) * 10.0).round() / 10.0
    }
}

/// A random perturbation of one of `kinds`.
fn kind(rng: &mut SplitMix64, kinds: &[&str]) -> Kind {
    let pick = kinds
        .get(rng.below(kinds.len() as u64) as usize)
        .copied()
        .unwrap_or("restart");
    match pick {
        "kill" => Kind::Kill {
            down_secs: rng.secs(0.5, 5.0),
        },
        "pause" => Kind::Pause {
            duration_secs: rng.secs(1.0, 6.0),
        },
        "restart" => Kind::Restart,
        "clock_skew" => Kind::ClockSkew {
            offset_secs: rng.secs(-30.0, 30.0),
            duration_secs: rng.secs(1.0, 8.0),
        },
        "disconnect" => Kind::Disconnect {
            duration_secs: rng.secs(1.0, 8.0),
            direction: match rng.below(4) {
                0 => Direction::Outbound,
                1 => Direction::Inbound,
                _ => Direction::Both,
            },
        },
        "partition" => Kind::Partition {
            duration_secs: rng.secs(1.0, 8.0),
            direction: match rng.below(4) {
                0 => Direction::Outbound,
                1 => Direction::Inbound,
                _ => Direction::Both,
            },
            group: Vec::new(),
        },
        "latency" => Kind::Latency {
            duration_secs: rng.secs(1.0, 8.0),
            link: LinkParams {
                delay_ms: rng.below(300),
                jitter_ms: rng.below(50),
                loss: rng.below(3) as f64 / 100.0,
                bandwidth_kbps: 0,
            },
        },
        _ => Kind::Wipe,
    }
}

/// The manifest for `opts`: perturbations one after another (or up to f at once),
/// each on a node no other perturbation holds. Refuses a kind it does not know.
pub(crate) fn generate(opts: &GenOptions) -> Result<Manifest, String> {
    let kinds: Vec<&str> = if opts.kinds.is_empty() {
        GENERATED_KINDS.to_vec()
    } else {
        opts.kinds.iter().map(String::as_str).collect()
    };
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(k)) {
        return Err(format!(
            "unknown perturbation kind `{bad}`, expected some of {KINDS:?}"
        ));
    }
    let mut rng = SplitMix64::new(opts.seed);
    let f = faults_max(opts.validators);
    let end = opts.duration_secs as f64 - QUIET_TAIL_SECS;
    let mut perturbations: Vec<Perturbation> = Vec::new();
    let mut t = FIRST_AT_SECS;
    while f > 0 && t < end {
        let busy: Vec<usize> = perturbations
            .iter()
            .filter(|p| p.busy().1 > t)
            .map(|p| p.node)
            .collect();
        if busy.len() < f {
            let free: Vec<usize> = (0..opts.validators).filter(|n| !busy.contains(n)).collect();
            let node = free[rng.below(free.len() as u64) as usize % free.len()];
            let p = Perturbation {
                at_secs: t,
                node,
                kind: kind(&mut rng, &kinds),
            };
            if p.busy().1 <= end {
                perturbations.push(p);
            }
        }
        // The next moment: soon after now, or once the earliest busy node is free.
        let next_free = perturbations
            .iter()
            .map(|p| p.busy().1)
            .filter(|e| *e > t)
            .fold(f64::INFINITY, f64::min);
        let step = rng.secs(0.5, 3.0);
        t = if perturbations.iter().filter(|p| p.busy().1 > t).count() >= f {
            next_free + step
        } else {
            t + step
        };
        t = (t * 10.0).round() / 10.0;
    }
    Ok(Manifest {
        validators: opts.validators,
        duration_secs: opts.duration_secs,
        load: Load {
            rate: opts.rate,
            accounts: opts.accounts,
        },
        progress_timeout_secs: PROGRESS_TIMEOUT_SECS_DEFAULT,
        allow_beyond_f: false,
        network: None,
        perturbations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64, validators: usize, duration_secs: u64) -> GenOptions {
        GenOptions {
            seed,
            duration_secs,
            validators,
            rate: 500,
            accounts: 64,
            kinds: Vec::new(),
        }
    }

    fn gen(o: &GenOptions) -> Manifest {
        generate(o).expect("known kinds")
    }

    /// The most validators perturbed at any moment.
    fn most_at_once(m: &Manifest) -> usize {
        m.perturbations
            .iter()
            .map(|p| {
                m.perturbations
                    .iter()
                    .filter(|q| {
                        let (qs, qe) = q.busy();
                        qs <= p.at_secs && p.at_secs < qe
                    })
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_seed_always_gives_the_same_manifest_and_another_seed_another() {
        let a = gen(&opts(7, 4, 600));
        assert_eq!(a, gen(&opts(7, 4, 600)));
        assert_eq!(
            a.to_toml().expect("toml"),
            gen(&opts(7, 4, 600)).to_toml().expect("toml")
        );
        assert_ne!(a, gen(&opts(8, 4, 600)));
    }

    #[test]
    fn never_more_than_f_validators_at_once_and_every_kind_appears() {
        for seed in 0..50 {
            for (n, dur) in [(4, 300), (7, 200), (10, 120)] {
                let m = gen(&opts(seed, n, dur));
                let f = faults_max(n);
                assert!(most_at_once(&m) <= f, "seed {seed}, {n} validators");
                // The manifest's own check agrees, and it parses back.
                m.validate().expect("a generated manifest is valid");
                let text = m.to_toml().expect("toml");
                assert_eq!(Manifest::parse(&text).expect("reparses"), m);
            }
        }
        let m = gen(&opts(1, 7, 600));
        assert!(most_at_once(&m) == 2, "7 validators use f = 2 at times");
        let long = gen(&opts(3, 4, 600));
        assert!(
            long.perturbations.len() >= 60,
            "{}",
            long.perturbations.len()
        );
        for name in ["kill", "pause", "restart", "disconnect", "wipe"] {
            assert!(
                long.perturbations.iter().any(|p| p.kind.name() == name),
                "{name} appears"
            );
        }
    }

    #[test]
    fn kinds_can_be_chosen_and_an_unknown_one_is_refused() {
        let mut o = opts(5, 4, 300);
        o.kinds = vec!["kill".into(), "pause".into()];
        let m = gen(&o);
        assert!(!m.perturbations.is_empty());
        assert!(m
            .perturbations
            .iter()
            .all(|p| matches!(p.kind, Kind::Kill { .. } | Kind::Pause { .. })));
        o.kinds = vec!["reboot".into()];
        let err = generate(&o).expect_err("unknown kind");
        assert!(err.contains("reboot"), "{err}");
    }

    #[test]
    fn fewer_than_four_validators_get_no_perturbation() {
        assert!(gen(&opts(1, 3, 120)).perturbations.is_empty());
    }
}
