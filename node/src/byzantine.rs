//! TEST ONLY: misbehaviours a validator can be told to commit, so that tests can show
//! that honest nodes survive them (docs/reliability.md §9). A node selects one with
//! `JEON_BYZANTINE=<behaviour>` only when built with the `byzantine` feature, which no
//! release build has (jeon-cli's dev-dependency turns it on for `cargo test`, as
//! `crash-points`); without the feature [`active`] is always `None`. The simulator sets
//! one per replica (`Replica::set_byzantine_for_test`, `test-hooks`).

use std::fmt;
use std::str::FromStr;

/// The environment variable that selects a behaviour (with the `byzantine` feature).
pub const BYZANTINE_ENV: &str = "JEON_BYZANTINE";

/// How a Byzantine validator misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Signs two proposals (its block and a copy one millisecond later) and two votes
    /// (its vote and one for another value) in every round, past its signer guard.
    Equivocate,
    /// Signs its votes but never sends them.
    WithholdVotes,
    /// Proposes blocks with a wrong app hash.
    InvalidBlock,
    /// Announces a head far above its own and answers block sync with blocks whose
    /// certificates do not verify.
    LieSync,
}

impl Behaviour {
    /// Every behaviour, in the order the docs list them.
    pub const ALL: [Behaviour; 4] = [
        Behaviour::Equivocate,
        Behaviour::WithholdVotes,
        Behaviour::InvalidBlock,
        Behaviour::LieSync,
    ];

    /// Its name in [`BYZANTINE_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Equivocate => "equivocate",
            Behaviour::WithholdVotes => "withhold-votes",
            Behaviour::InvalidBlock => "invalid-block",
            Behaviour::LieSync => "lie-sync",
        }
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Behaviour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Behaviour::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Behaviour::ALL.iter().map(|b| b.name()).collect();
                format!("{BYZANTINE_ENV}={s:?} is not one of {names:?}")
            })
    }
}

/// How far above its head a [`Behaviour::LieSync`] node claims to be.
pub const LIE_SYNC_HEAD_AHEAD: u64 = 1_000;

/// The behaviour this process was told to commit: `JEON_BYZANTINE`, read once, with
/// the `byzantine` feature; `None` otherwise (an unknown name is `None`, and logged).
pub fn active() -> Option<Behaviour> {
    #[cfg(feature = "byzantine")]
    {
        static ACTIVE: std::sync::OnceLock<Option<Behaviour>> = std::sync::OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let value = std::env::var(BYZANTINE_ENV).ok()?;
            match value.parse() {
                Ok(b) => {
                    tracing::warn!(behaviour = %b, "BYZANTINE TEST BUILD: this node misbehaves on purpose");
                    Some(b)
                }
                Err(e) => {
                    tracing::error!(error = %e, "ignoring {BYZANTINE_ENV}");
                    None
                }
            }
        })
    }
    #[cfg(not(feature = "byzantine"))]
    {
        None
    }
}

/// [`Behaviour::LieSync`]'s answer: a head far above its own, and the blocks asked
/// for with their certificates' signatures removed, so that none verifies.
pub fn lie_in_sync(mut response: crate::wire::SyncResponse) -> crate::wire::SyncResponse {
    response.head = response.head.saturating_add(LIE_SYNC_HEAD_AHEAD);
    for block in &mut response.blocks {
        block.certificate.signatures.clear();
    }
    response
}
