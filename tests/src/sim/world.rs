//! One simulation run: the nodes, the event queue, the network and the checkers, and
//! the loop that carries out every event and every replica output.

use std::collections::BTreeMap;

use jeon_node::blocks;
use jeon_node::chain::ChainSpec;
use jeon_node::consensus::Timeout;
use jeon_node::replica::{PeerKey, ReplicaError, ReplicaInput, ReplicaOutput};
use jeon_node::wire::{ConsensusMsg, SyncRequest, SyncResponse};
use jeon_runtime::crypto::sha256;
use jeon_runtime::{Height, SignedTx};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::checker::{Checker, Violation};
use super::disk::{is_damage, is_read_failure};
use super::governance::{Governor, JOINER_LABEL};
use super::network::{Link, LinkFaults, Network, Queue};
use super::node::{BootError, Chain, SimNode, GENESIS_TIME_MS, VALIDATORS};
use super::workload::Workload;
use super::TICK_MS;
use super::{trace, Failure, Report, SimConfig, CRASHED_NODES_MAX, SYNC_FAILURE_NOTICE_MS};
use super::{Scenario, ScenarioOutcome, SetChangeOutcome};

mod storage;

/// Something that happens at a sim time.
pub(super) enum Event {
    /// Tick every node that is up.
    Tick,
    /// A consensus timeout of one life of a node.
    Timer {
        node: usize,
        incarnation: u32,
        timeout: Timeout,
    },
    /// Consensus gossip arriving.
    Gossip {
        from: usize,
        to: usize,
        msg: ConsensusMsg,
    },
    /// Transaction gossip arriving.
    Txs {
        from: usize,
        to: usize,
        txs: Vec<SignedTx>,
    },
    /// A sync request reaching its target.
    SyncAsk {
        from: usize,
        incarnation: u32,
        to: usize,
        request: SyncRequest,
    },
    /// A sync answer reaching the requester.
    SyncAnswer {
        from: usize,
        to: usize,
        incarnation: u32,
        response: SyncResponse,
    },
    /// The requester's network layer gives up on a sync request.
    SyncFailed {
        to: usize,
        incarnation: u32,
        peer: PeerKey,
    },
    /// Clients send a batch.
    Inject,
    /// A partition starts.
    Split,
    /// The partition heals.
    Heal,
    /// A random node crashes.
    Crash,
    /// A crashed node restarts (or a late twin starts).
    Restart { node: usize },
    /// A node crashes and loses its chain database, keeping its signer record.
    LoseChain { node: usize },
    /// A node crashes and stays down until the faults end.
    GoDown { node: usize },
    /// Governance: the removed validator goes down (the first time), and the set
    /// change's transactions are sent again where missing.
    Govern,
    /// Faults stop; the liveness phase starts.
    FaultsEnd,
}

impl Event {
    /// The two ends of a message crossing the network, if this is one.
    fn link(&self) -> Option<(usize, usize)> {
        match *self {
            Event::Gossip { from, to, .. }
            | Event::Txs { from, to, .. }
            | Event::SyncAsk { from, to, .. }
            | Event::SyncAnswer { from, to, .. } => Some((from, to)),
            _ => None,
        }
    }
}

/// The liveness phase's goal.
struct Goal {
    target: Height,
    deadline_ms: u64,
}

/// What [`Scenario::LoseChainDb`] saw when the chain was lost and at the restart.
struct LostChain {
    node: usize,
    head_at_loss: Height,
    record_at_loss: Height,
    status_at_restart: Option<jeon_node::signer::SigningStatus>,
}

/// The simulated world.
pub(super) struct World {
    config: SimConfig,
    spec: ChainSpec,
    rng: StdRng,
    now_ms: u64,
    queue: Queue<Event>,
    nodes: Vec<SimNode>,
    net: Network,
    checker: Checker,
    workload: Workload,
    events: u64,
    faults_on: bool,
    goal: Option<Goal>,
    crashes: u64,
    partitions: u64,
    penalties: BTreeMap<String, u64>,
    /// Whole proposals asked for by nodes lacking a compact one's transactions.
    proposals_wanted: u64,
    /// Whole proposals the Byzantine validator broadcast.
    byzantine_proposals: u64,
    /// The copy a [`Scenario::LateTwin`] starts later.
    late_twin: Option<usize>,
    lost_chain: Option<LostChain>,
    /// Under [`super::FaultMix::set_changes`]: the governance clients, the joiner's
    /// node and the removed validator's node (taken down at the first `Govern`).
    set_change: Option<SetChange>,
    /// The replica with storage faults, if the run has them.
    storage_node: Option<usize>,
    /// Its signer saves when it refused to start on a damaged record.
    refused_saves: Option<u64>,
}

/// The nodes of a set change.
struct SetChange {
    governor: Governor,
    joiner: usize,
    removed: usize,
    removed_down: bool,
}

/// When the removed validator goes down and governance starts sending.
const GOVERN_START_MS: u64 = 1_500;
/// How often governance looks at the chain and re-sends what is missing.
const GOVERN_EVERY_MS: u64 = 700;

impl World {
    /// The nodes of the chain (and a twin if the mix has one), all down.
    pub(super) fn new(config: SimConfig) -> World {
        let chain = Chain::local4();
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut nodes: Vec<SimNode> = chain
            .validator_secrets
            .iter()
            .enumerate()
            .map(|(i, secret)| SimNode::new(format!("v{i}"), true, *secret))
            .collect();
        if config.mix.twin {
            let twin = rng.gen_range(0..nodes.len());
            nodes[twin].honest = false;
            let secret = chain.validator_secrets[twin];
            nodes.push(SimNode::new(format!("v{twin}-twin"), false, secret));
            // The Byzantine twins are meant to equivocate: protection would stop them.
            for node in nodes.iter_mut().filter(|n| !n.honest) {
                node.doppelganger_protection = false;
            }
        }
        if let Some(behaviour) = config.byzantine {
            let last = chain.validator_secrets.len() - 1;
            nodes[last].honest = false;
            nodes[last].doppelganger_protection = false;
            nodes[last].byzantine = Some(behaviour);
        }
        let mut late_twin = None;
        if let Some(Scenario::LateTwin { node, .. }) = config.scenario {
            let secret = chain.validator_secrets[node];
            late_twin = Some(nodes.len());
            nodes.push(SimNode::new(format!("v{node}-late"), true, secret));
        }
        let mut accounts = chain.accounts;
        let mut set_change = None;
        if config.mix.set_changes {
            let removed = rng.gen_range(0..chain.validator_secrets.len());
            let voters: Vec<jeon_runtime::Keypair> = chain
                .validator_secrets
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != removed)
                .map(|(_, s)| jeon_runtime::Keypair::from_secret(*s))
                .collect();
            // The validators send only governance transactions: their nonces are the
            // governor's to track.
            let validators: Vec<_> = nodes.iter().map(|n| n.validator).collect();
            accounts.retain(|k| !validators.contains(&k.address()));
            let joiner_key = jeon_runtime::Keypair::from_seed_label(JOINER_LABEL);
            let joiner = nodes.len();
            nodes.push(SimNode::new("joiner".into(), true, joiner_key.secret()));
            set_change = Some(SetChange {
                governor: Governor::new(
                    chain.spec.chain_id,
                    voters,
                    joiner_key.address(),
                    nodes[removed].validator,
                ),
                joiner,
                removed,
                removed_down: false,
            });
        }
        let removed = set_change.as_ref().map(|c| c.removed);
        let storage_node = storage::give_storage_faults(&config, &mut nodes, removed);
        let names = nodes.iter().map(|n| n.name.clone()).collect();
        let net = Network::new(nodes.len(), config.mix.links);
        let workload = Workload::new(accounts, chain.spec.chain_id);
        World {
            config,
            spec: chain.spec,
            rng,
            now_ms: GENESIS_TIME_MS,
            queue: Queue::new(),
            nodes,
            net,
            checker: Checker::new(names),
            workload,
            events: 0,
            faults_on: true,
            goal: None,
            crashes: 0,
            partitions: 0,
            penalties: BTreeMap::new(),
            proposals_wanted: 0,
            byzantine_proposals: 0,
            late_twin,
            lost_chain: None,
            set_change,
            storage_node,
            refused_saves: None,
        }
    }

    /// Runs to the end of the liveness phase, or to the first violation.
    pub(super) fn run(mut self) -> Result<Report, Box<Failure>> {
        match self.run_events() {
            Ok(()) => self.report().map_err(|v| self.failure(v)),
            Err(v) => Err(self.failure(v)),
        }
    }

    fn failure(&self, violation: Violation) -> Box<Failure> {
        Box::new(Failure {
            seed: self.config.seed,
            mix: self.config.mix,
            locking_disabled: self.config.locking_disabled,
            storage: self.config.storage.is_some(),
            byzantine: self.config.byzantine,
            at_ms: self.now_ms - GENESIS_TIME_MS,
            events: self.events,
            violation,
        })
    }

    fn after(&mut self, delay_ms: u64, event: Event) {
        self.queue.push(self.now_ms + delay_ms, event);
    }

    fn run_events(&mut self) -> Result<(), Violation> {
        let late = self.late_twin;
        let joiner = self.set_change.as_ref().map(|c| c.joiner);
        for i in (0..self.nodes.len()).filter(|&i| Some(i) != late && Some(i) != joiner) {
            self.boot(i)?;
        }
        if let Some(joiner) = joiner {
            // The joiner starts late and must catch up by block sync.
            let at = self.rng.gen_range(4_000..=12_000);
            self.after(at, Event::Restart { node: joiner });
            self.after(GOVERN_START_MS, Event::Govern);
        }
        match self.config.scenario {
            Some(Scenario::LoseChainDb { node, at_ms, .. }) => {
                self.after(at_ms, Event::LoseChain { node })
            }
            Some(Scenario::LateTwin { at_ms, .. }) => {
                let node = self.late_twin.unwrap_or(0);
                self.after(at_ms, Event::Restart { node });
            }
            Some(Scenario::StaysDown { node, at_ms }) => self.after(at_ms, Event::GoDown { node }),
            None => {}
        }
        self.after(TICK_MS, Event::Tick);
        self.after(self.config.tx_interval_ms, Event::Inject);
        self.after(self.config.fault_phase_ms, Event::FaultsEnd);
        if self.config.mix.partitions.is_some() {
            let at = self.rng.gen_range(1_000..=4_000);
            self.after(at, Event::Split);
        }
        if self.config.mix.crashes {
            let at = self.rng.gen_range(1_000..=4_000);
            self.after(at, Event::Crash);
        }
        // The tick reschedules itself, so the queue never runs dry.
        while let Some((at_ms, event)) = self.queue.pop() {
            self.now_ms = at_ms;
            if let Some(goal) = &self.goal {
                if at_ms > goal.deadline_ms {
                    return Err(self.no_progress(goal.target));
                }
            }
            self.events += 1;
            if self.config.trace {
                if let Some(line) = trace::event(&event, &self.nodes) {
                    eprintln!("{:>7} {line}", at_ms - GENESIS_TIME_MS);
                }
            }
            if let Some(event) = self.cross(event) {
                self.handle(event)?;
            }
            if self.goal.as_ref().is_some_and(|g| self.reached(g.target)) {
                return Ok(());
            }
        }
        Err(self.no_progress(0))
    }

    /// Lets a message through a partition, holds it until the heal, or loses it (a
    /// lost sync request or answer fails the request).
    fn cross(&mut self, event: Event) -> Option<Event> {
        let Some((from, to)) = event.link() else {
            return Some(event);
        };
        match self.net.link(from, to) {
            Link::Open => Some(event),
            Link::HeldUntil(heal_ms) => {
                let at = heal_ms.max(self.now_ms) + self.rng.gen_range(1..=20);
                self.queue.push(at, event);
                None
            }
            Link::Cut => {
                match event {
                    Event::SyncAsk {
                        from,
                        incarnation,
                        to,
                        ..
                    } => self.sync_failed(from, incarnation, self.nodes[to].peer),
                    Event::SyncAnswer {
                        from,
                        to,
                        incarnation,
                        ..
                    } => self.sync_failed(to, incarnation, self.nodes[from].peer),
                    _ => {}
                }
                None
            }
        }
    }

    fn handle(&mut self, event: Event) -> Result<(), Violation> {
        match event {
            Event::Tick => {
                for i in 0..self.nodes.len() {
                    self.deliver(i, ReplicaInput::Tick)?;
                }
                self.after(TICK_MS, Event::Tick);
                Ok(())
            }
            Event::Timer {
                node,
                incarnation,
                timeout,
            } => {
                if self.nodes[node].incarnation != incarnation {
                    return Ok(());
                }
                self.deliver(node, ReplicaInput::Timeout(timeout))
            }
            Event::Gossip { from, to, msg } => {
                let from = self.nodes[from].peer;
                self.deliver(to, ReplicaInput::Gossip { from, msg })
            }
            Event::Txs { to, txs, .. } => self.admit(to, txs),
            Event::SyncAsk {
                from,
                incarnation,
                to,
                request,
            } => self.serve_sync(from, incarnation, to, request),
            Event::SyncAnswer {
                from,
                to,
                incarnation,
                response,
            } => {
                if self.nodes[to].incarnation != incarnation {
                    return Ok(());
                }
                let from = self.nodes[from].peer;
                self.deliver(to, ReplicaInput::Synced { from, response })
            }
            Event::SyncFailed {
                to,
                incarnation,
                peer,
            } => {
                if self.nodes[to].incarnation != incarnation {
                    return Ok(());
                }
                self.deliver(to, ReplicaInput::SyncFailed { peer })
            }
            Event::Inject => self.inject(),
            Event::Split => {
                self.split();
                Ok(())
            }
            Event::Heal => {
                self.net.heal();
                if let Some(p) = self.config.mix.partitions.filter(|_| self.faults_on) {
                    let next = self.rng.gen_range(p.gap_ms_min..=p.gap_ms_max);
                    self.after(next, Event::Split);
                }
                Ok(())
            }
            Event::Crash => {
                self.crash();
                Ok(())
            }
            Event::Restart { node } => {
                if self.nodes[node].live.is_none() && !self.signer_refused(node) {
                    self.boot(node)?;
                    self.note_restart(node);
                }
                Ok(())
            }
            Event::LoseChain { node } => {
                self.lose_chain(node);
                Ok(())
            }
            Event::GoDown { node } => {
                self.nodes[node].crash();
                self.crashes += 1;
                Ok(())
            }
            Event::Govern => self.govern(),
            Event::FaultsEnd => self.end_faults(),
        }
    }

    // ---- governance ----

    /// Takes the removed validator down the first time, then sends what the set change
    /// still needs through a random voter's node that is up, as clients do.
    fn govern(&mut self) -> Result<(), Violation> {
        let Some(change) = self.set_change.as_mut() else {
            return Ok(());
        };
        if !change.removed_down {
            change.removed_down = true;
            let removed = change.removed;
            self.nodes[removed].crash();
            self.crashes += 1;
        }
        self.after(GOVERN_EVERY_MS, Event::Govern);
        let Some(change) = self.set_change.as_ref() else {
            return Ok(());
        };
        let (removed, joiner) = (change.removed, change.joiner);
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| i != removed && i != joiner && self.nodes[i].live.is_some())
            .collect();
        let Some(&i) = up.choose(&mut self.rng) else {
            return Ok(());
        };
        let txs = match &self.nodes[i].live {
            Some(live) => change.governor.batch(&live.shared),
            None => Vec::new(),
        };
        if txs.is_empty() {
            return Ok(());
        }
        self.admit(i, txs.clone())?;
        for to in (0..self.nodes.len()).filter(|&to| to != i) {
            for at in self.net.send(&mut self.rng, self.now_ms, i, to) {
                let txs = txs.clone();
                self.queue.push(at, Event::Txs { from: i, to, txs });
            }
        }
        Ok(())
    }

    /// Whether the set change is in force on every honest node and the joiner signed.
    fn set_change_done(&self) -> bool {
        let Some(change) = &self.set_change else {
            return true;
        };
        let in_force = self.nodes.iter().filter(|n| n.honest).all(|n| {
            n.live
                .as_ref()
                .is_some_and(|l| change.governor.progress(&l.shared).in_force)
        });
        in_force && self.nodes[change.joiner].disk.saves() > 0
    }

    fn set_change_outcome(&self) -> Option<SetChangeOutcome> {
        let change = self.set_change.as_ref()?;
        let progress: Vec<_> = self
            .nodes
            .iter()
            .filter(|n| n.honest)
            .filter_map(|n| n.live.as_ref().map(|l| change.governor.progress(&l.shared)))
            .collect();
        let joiner = &self.nodes[change.joiner];
        let since = joiner
            .live
            .as_ref()
            .and_then(|l| {
                jeon_runtime::governance::validator_set(&*l.shared.db)
                    .ok()
                    .flatten()
            })
            .map_or(0, |s| s.since);
        Some(SetChangeOutcome {
            removed: self.nodes[change.removed].name.clone(),
            removed_everywhere: progress.iter().all(|p| p.removed),
            joined_everywhere: progress.iter().all(|p| p.joined),
            joiner_signatures: joiner.disk.saves(),
            joiner_head: joiner.head().unwrap_or(0),
            new_set_from: since + 1,
        })
    }

    // ---- nodes ----

    fn boot(&mut self, i: usize) -> Result<(), Violation> {
        if self.signer_refused(i) {
            return Ok(());
        }
        let booted = self.nodes[i].boot(
            &self.spec,
            self.config.replica,
            self.config.locking_disabled,
            self.now_ms,
        );
        let outputs = match booted {
            Ok(outputs) => outputs,
            Err(e) => return self.boot_failed(i, e),
        };
        self.observe(i)?;
        self.dispatch(i, outputs)?;
        self.next_heights(i)
    }

    /// Feeds one input to a node, if it is up, and carries out what it asks.
    fn deliver(&mut self, i: usize, input: ReplicaInput) -> Result<(), Violation> {
        let now_ms = self.now_ms;
        let Some(live) = self.nodes[i].live.as_mut() else {
            return Ok(());
        };
        let outputs = match live.replica.handle(now_ms, input) {
            Ok(outputs) => outputs,
            Err(e) => return self.stopped(i, e),
        };
        self.observe(i)?;
        self.dispatch(i, outputs)?;
        self.next_heights(i)
    }

    /// Starts the heights a node decided its way to, one at a time, as its driver
    /// does after dispatching each input's outputs.
    fn next_heights(&mut self, i: usize) -> Result<(), Violation> {
        let now_ms = self.now_ms;
        loop {
            let Some(live) = self.nodes[i].live.as_mut() else {
                return Ok(());
            };
            if !live.replica.next_height_due() {
                return Ok(());
            }
            let outputs = match live.replica.start_next_height(now_ms) {
                Ok(outputs) => outputs,
                Err(e) => return self.stopped(i, e),
            };
            self.observe(i)?;
            self.dispatch(i, outputs)?;
        }
    }

    /// A replica returned an error: the replica with storage faults stops on what its
    /// storage reported (and is recovered); anything else is a violation.
    fn stopped(&mut self, i: usize, e: ReplicaError) -> Result<(), Violation> {
        if let (Some(_), ReplicaError::Store(store)) = (self.faulty(i), &e) {
            if is_damage(store) || is_read_failure(store) {
                self.storage_stop(i, is_damage(store));
                return Ok(());
            }
        }
        Err(Violation::ReplicaStopped {
            node: self.nodes[i].name.clone(),
            error: e.to_string(),
        })
    }

    /// Runs the commit checkers on an honest node that is up. On the replica with
    /// storage faults, reads do not fail meanwhile, and a damaged block stops it first.
    fn observe(&mut self, i: usize) -> Result<(), Violation> {
        let Some(injector) = self.faulty(i) else {
            return self.observe_commits(i);
        };
        injector.quiet_reads(true);
        let result = match self.readable(i) {
            true => self.observe_commits(i),
            false => Ok(()),
        };
        injector.quiet_reads(false);
        result
    }

    fn observe_commits(&mut self, i: usize) -> Result<(), Violation> {
        let node = &self.nodes[i];
        match &node.live {
            Some(live) if node.honest => self.checker.observe_commits(i, &live.shared),
            _ => Ok(()),
        }
    }

    fn dispatch(&mut self, i: usize, outputs: Vec<ReplicaOutput>) -> Result<(), Violation> {
        if self.config.trace && !outputs.is_empty() {
            let at_ms = self.now_ms - GENESIS_TIME_MS;
            let said = trace::outputs(&outputs);
            eprintln!("{at_ms:>7}   {} says {said}", self.nodes[i].name);
        }
        for output in outputs {
            match output {
                ReplicaOutput::Broadcast(msg) => {
                    if matches!(msg, ConsensusMsg::ProposalWanted(_)) {
                        self.proposals_wanted += 1;
                    }
                    if self.nodes[i].byzantine.is_some() && matches!(msg, ConsensusMsg::Proposal(_))
                    {
                        self.byzantine_proposals += 1;
                    }
                    if self.nodes[i].honest {
                        let validator = self.nodes[i].validator;
                        self.checker.observe_broadcast(i, validator, &msg)?;
                    }
                    for to in (0..self.nodes.len()).filter(|&to| to != i) {
                        for at in self.net.send(&mut self.rng, self.now_ms, i, to) {
                            let msg = msg.clone();
                            self.queue.push(at, Event::Gossip { from: i, to, msg });
                        }
                    }
                }
                ReplicaOutput::Schedule { timeout, at_ms } => {
                    let incarnation = self.nodes[i].incarnation;
                    let event = Event::Timer {
                        node: i,
                        incarnation,
                        timeout,
                    };
                    self.queue.push(at_ms.max(self.now_ms), event);
                }
                ReplicaOutput::RequestSync { peer, request } => self.request_sync(i, peer, request),
                ReplicaOutput::Penalize { reason, .. } => {
                    let reason: String = reason
                        .to_string()
                        .chars()
                        .filter(|c| !c.is_ascii_digit())
                        .collect();
                    *self.penalties.entry(reason).or_default() += 1;
                }
            }
        }
        Ok(())
    }

    // ---- block sync ----

    fn request_sync(&mut self, i: usize, peer: PeerKey, request: SyncRequest) {
        let incarnation = self.nodes[i].incarnation;
        let target = self.nodes.iter().position(|n| n.peer == peer);
        let sent = target.and_then(|to| {
            self.net
                .send_once(&mut self.rng, self.now_ms, i, to)
                .map(|at| (to, at))
        });
        match sent {
            Some((to, at)) => {
                let event = Event::SyncAsk {
                    from: i,
                    incarnation,
                    to,
                    request,
                };
                self.queue.push(at, event);
            }
            None => self.sync_failed(i, incarnation, peer),
        }
    }

    /// Tells a requester, after the network layer's timeout, that its request failed.
    fn sync_failed(&mut self, to: usize, incarnation: u32, peer: PeerKey) {
        let event = Event::SyncFailed {
            to,
            incarnation,
            peer,
        };
        self.after(SYNC_FAILURE_NOTICE_MS, event);
    }

    fn serve_sync(
        &mut self,
        from: usize,
        incarnation: u32,
        to: usize,
        request: SyncRequest,
    ) -> Result<(), Violation> {
        let (name, peer) = (self.nodes[to].name.clone(), self.nodes[to].peer);
        let Some(live) = &self.nodes[to].live else {
            self.sync_failed(from, incarnation, peer);
            return Ok(());
        };
        let response = match blocks::serve_sync(&live.shared, request) {
            Ok(response) => response,
            // The replica with storage faults answers nothing it cannot read whole.
            Err(e) if self.faulty(to).is_some() && (is_damage(&e) || is_read_failure(&e)) => {
                self.sync_failed(from, incarnation, peer);
                if is_damage(&e) {
                    self.storage_stop(to, true);
                }
                return Ok(());
            }
            Err(e) => {
                return Err(Violation::StoreBroken {
                    node: name,
                    error: e.to_string(),
                })
            }
        };
        let response = if live.replica.lies_in_sync() {
            jeon_node::byzantine::lie_in_sync(response)
        } else {
            response
        };
        match self.net.send_once(&mut self.rng, self.now_ms, to, from) {
            Some(at) => {
                let event = Event::SyncAnswer {
                    from: to,
                    to: from,
                    incarnation,
                    response,
                };
                self.queue.push(at, event);
            }
            None => self.sync_failed(from, incarnation, peer),
        }
        Ok(())
    }

    // ---- clients ----

    fn inject(&mut self) -> Result<(), Violation> {
        let interval = self.config.tx_interval_ms;
        let next = self.rng.gen_range(interval / 2..=interval + interval / 2);
        self.after(next, Event::Inject);
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].live.is_some())
            .collect();
        let Some(&i) = up.choose(&mut self.rng) else {
            return Ok(());
        };
        let count = self.rng.gen_range(1..=self.config.tx_batch_max);
        let txs = match &self.nodes[i].live {
            Some(live) => self
                .workload
                .batch(&mut self.rng, self.now_ms, &live.shared, count),
            None => Vec::new(),
        };
        if txs.is_empty() {
            return Ok(());
        }
        self.admit(i, txs.clone())?;
        // Like the node's transaction gossip: one batch to every peer.
        for to in (0..self.nodes.len()).filter(|&to| to != i) {
            for at in self.net.send(&mut self.rng, self.now_ms, i, to) {
                let txs = txs.clone();
                self.queue.push(at, Event::Txs { from: i, to, txs });
            }
        }
        Ok(())
    }

    fn admit(&mut self, i: usize, txs: Vec<SignedTx>) -> Result<(), Violation> {
        let Some(live) = &self.nodes[i].live else {
            return Ok(());
        };
        // Refusals (duplicates, stale nonces) are normal under gossip.
        let admitted = live
            .shared
            .submit(txs, true, self.now_ms)
            .iter()
            .any(Result::is_ok);
        if admitted {
            self.deliver(i, ReplicaInput::TxsAdmitted)?;
        }
        Ok(())
    }

    // ---- faults ----

    fn split(&mut self) {
        let Some(p) = self.config.mix.partitions.filter(|_| self.faults_on) else {
            return;
        };
        let n = self.nodes.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        let minority = self.rng.gen_range(1..=n / 2);
        let mut sides = vec![0u8; n];
        for &i in &order[..minority] {
            sides[i] = 1;
        }
        let heal = self.rng.gen_range(p.duration_ms_min..=p.duration_ms_max);
        self.net.partition(sides, self.now_ms + heal, p.lossy);
        self.partitions += 1;
        self.after(heal, Event::Heal);
    }

    fn crash(&mut self) {
        if !self.faults_on {
            return;
        }
        let next = self.rng.gen_range(2_000..=6_000);
        self.after(next, Event::Crash);
        let down = self.nodes.iter().filter(|n| n.live.is_none()).count();
        if down >= CRASHED_NODES_MAX {
            return;
        }
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].live.is_some())
            .collect();
        let Some(&i) = up.choose(&mut self.rng) else {
            return;
        };
        self.nodes[i].crash();
        self.crashes += 1;
        let restart = self.rng.gen_range(500..=4_000);
        self.after(restart, Event::Restart { node: i });
    }

    /// [`Scenario::LoseChainDb`]: the crash that takes the chain database with it.
    fn lose_chain(&mut self, i: usize) {
        let Some(Scenario::LoseChainDb { down_ms, .. }) = self.config.scenario else {
            return;
        };
        let node = &mut self.nodes[i];
        let record = node.disk.record_height();
        self.lost_chain = Some(LostChain {
            node: i,
            head_at_loss: node.head().unwrap_or(0),
            record_at_loss: record,
            status_at_restart: None,
        });
        node.crash_losing_chain();
        self.checker.forget_chain(i);
        self.crashes += 1;
        self.after(down_ms, Event::Restart { node: i });
    }

    /// Remembers how a node that lost its chain came back.
    fn note_restart(&mut self, i: usize) {
        let status = self.nodes[i].live.as_ref().map(|l| l.replica.signing());
        if let Some(lost) = self.lost_chain.as_mut().filter(|l| l.node == i) {
            lost.status_at_restart = lost.status_at_restart.or(status);
        }
    }

    fn scenario_outcome(&self) -> Option<ScenarioOutcome> {
        if let Some(Scenario::StaysDown { node, .. }) = self.config.scenario {
            let observer = self
                .nodes
                .iter()
                .enumerate()
                .find(|(i, n)| *i != node && n.live.is_some());
            let live = observer.and_then(|(_, n)| n.live.as_ref())?;
            let head = live.shared.head().height;
            let blocks = (1..=head)
                .filter_map(|h| live.shared.db.block_record(h).ok().flatten())
                .map(|r| {
                    let c = &r.committed;
                    (
                        c.block.header.height,
                        c.block.header.time_ms,
                        c.certificate.round,
                    )
                })
                .collect();
            return Some(ScenarioOutcome::StayedDown { blocks });
        }
        if let Some(lost) = &self.lost_chain {
            let node = &self.nodes[lost.node];
            return Some(ScenarioOutcome::LostChain {
                node: node.name.clone(),
                head_at_loss: lost.head_at_loss,
                record_at_loss: lost.record_at_loss,
                status_at_restart: lost.status_at_restart,
                record_at_end: node.disk.record_height(),
                head_at_end: node.head().unwrap_or(0),
            });
        }
        let twin = &self.nodes[self.late_twin?];
        Some(ScenarioOutcome::LateTwin {
            twin: twin.name.clone(),
            status: twin.live.as_ref().map(|l| l.replica.signing()),
            records_written: twin.disk.saves(),
            head: twin.head().unwrap_or(0),
        })
    }

    fn end_faults(&mut self) -> Result<(), Violation> {
        self.faults_on = false;
        if let Some(injector) = self.storage_node.and_then(|i| self.faulty(i)) {
            injector.stop();
        }
        self.net.heal();
        self.net.set_faults(LinkFaults::CALM);
        for i in 0..self.nodes.len() {
            if self.nodes[i].live.is_none() {
                self.boot(i)?;
            }
        }
        let top = self.honest_heads().into_iter().max().unwrap_or(0);
        self.goal = Some(Goal {
            target: top + self.config.liveness_heights,
            deadline_ms: self.now_ms + self.config.liveness_ms_max,
        });
        Ok(())
    }

    // ---- liveness ----

    fn honest_heads(&self) -> Vec<Height> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| n.honest && !self.signer_refused(*i))
            .map(|(_, n)| n)
            .map(|n| n.head().unwrap_or(0))
            .collect()
    }

    /// Whether every honest node is up, at or past `target`, at one head.
    fn reached(&self, target: Height) -> bool {
        let mut heads = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| n.honest && !self.signer_refused(*i))
            .map(|(_, n)| n.head());
        let Some(Some(first)) = heads.next() else {
            return false;
        };
        first >= target && heads.all(|h| h == Some(first)) && self.set_change_done()
    }

    fn no_progress(&self, target: Height) -> Violation {
        let heads = self
            .nodes
            .iter()
            .filter(|n| n.honest)
            .map(|n| {
                let head = n.head().unwrap_or(0);
                let position = n.live.as_ref().map_or((0, 0), |l| l.replica.position());
                (n.name.clone(), head, position)
            })
            .collect();
        Violation::NoProgress { target, heads }
    }

    // ---- the end ----

    fn report(&self) -> Result<Report, Violation> {
        let mut trace = Vec::new();
        let mut heads = Vec::new();
        let mut txs_final = None;
        let mut evidence = None;
        let mut invalid_blocks = 0;
        let mut compacts_completed_held = 0;
        let mut latent_damage = None;
        for (i, node) in self.nodes.iter().enumerate() {
            if let (true, Some(live)) = (node.honest, &node.live) {
                invalid_blocks += live.shared.metrics.invalid_blocks.get();
                compacts_completed_held +=
                    live.shared.metrics.compact_proposals_completed_held.get();
            }
            let broken = |e: jeon_node::store::StoreError| Violation::StoreBroken {
                node: node.name.clone(),
                error: e.to_string(),
            };
            let (db, hashes, txs) = match self.end_chain(i) {
                Ok(chain) => chain,
                // Damage nobody read before: the replica with faults would report it
                // when read (a scrub finds it here).
                Err(e) if self.faulty(i).is_some() && is_damage(&e) => {
                    latent_damage = Some(e.to_string());
                    continue;
                }
                Err(e) => return Err(broken(e)),
            };
            trace.extend_from_slice(node.name.as_bytes());
            trace.extend_from_slice(&(hashes.len() as u64).to_be_bytes());
            for hash in &hashes {
                trace.extend_from_slice(&hash.0);
            }
            // From a sound disk: the faulty replica's state may hold damage nobody read.
            if node.honest && txs_final.is_none() && self.faulty(i).is_none() {
                txs_final = Some(txs);
                let found = jeon_runtime::governance::evidence::evidence(&db, None)
                    .map_err(|e| broken(e.into()))?;
                evidence = Some(found.iter().map(|e| (e.validator, e.height)).collect());
            }
            heads.push((node.name.clone(), hashes.len() as Height));
        }
        trace.extend_from_slice(&self.events.to_be_bytes());
        Ok(Report {
            seed: self.config.seed,
            mix: self.config.mix.name,
            events: self.events,
            end_ms: self.now_ms - GENESIS_TIME_MS,
            trace_hash: sha256(&[&trace]),
            heads,
            txs_final: txs_final.unwrap_or(0),
            evidence: evidence.unwrap_or_default(),
            invalid_blocks,
            byzantine_proposals: self.byzantine_proposals,
            net: self.net.stats,
            crashes: self.crashes,
            partitions: self.partitions,
            penalties: self.penalties.clone(),
            proposals_wanted: self.proposals_wanted,
            compacts_completed_held,
            scenario: self.scenario_outcome(),
            set_change: self.set_change_outcome(),
            storage: self.storage_outcome(latent_damage),
        })
    }
}
