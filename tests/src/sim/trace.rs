//! One-line descriptions of events and replica outputs, for tracing a seed.

use jeon_node::replica::ReplicaOutput;
use jeon_node::wire::ConsensusMsg;
use jeon_runtime::Hash;

use super::node::SimNode;
use super::world::Event;

/// The first bytes of a hash, enough to tell blocks apart in a trace.
fn short(hash: &Hash) -> String {
    hex(&hash.0[..3])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn msg(msg: &ConsensusMsg) -> String {
    match msg {
        ConsensusMsg::Vote(v) => format!(
            "{:?} h{} r{} {}",
            v.body.kind,
            v.body.height,
            v.body.round,
            v.body.block.as_ref().map_or("nil".into(), short)
        ),
        ConsensusMsg::Proposal(p) => format!(
            "Proposal h{} r{} {} vr {:?} ({} txs)",
            p.body.height,
            p.body.round,
            short(&p.body.block),
            p.body.valid_round,
            p.block.txs.len()
        ),
        ConsensusMsg::Status(s) => format!("Status head {}", s.height),
        ConsensusMsg::CompactProposal(p) => format!(
            "CompactProposal h{} r{} {} vr {:?} ({} tx hashes)",
            p.body.height,
            p.body.round,
            short(&p.body.block),
            p.body.valid_round,
            p.txs.len()
        ),
        ConsensusMsg::ProposalWanted(w) => {
            format!(
                "ProposalWanted h{} r{} {}",
                w.height,
                w.round,
                short(&w.block)
            )
        }
    }
}

/// An event, or `None` for a tick (too many to print).
pub(super) fn event(event: &Event, nodes: &[SimNode]) -> Option<String> {
    let n = |i: &usize| nodes[*i].name.as_str();
    let line = match event {
        Event::Tick => return None,
        Event::Timer { node, timeout, .. } => format!(
            "timer {}: h{} r{} {:?}",
            n(node),
            timeout.height,
            timeout.round,
            timeout.step
        ),
        Event::Gossip { from, to, msg: m } => format!("{} -> {}: {}", n(from), n(to), msg(m)),
        Event::Txs { from, to, txs } => format!("{} -> {}: {} txs", n(from), n(to), txs.len()),
        Event::SyncAsk {
            from, to, request, ..
        } => format!("{} -> {}: sync {request:?}", n(from), n(to)),
        Event::SyncAnswer {
            from, to, response, ..
        } => format!(
            "{} -> {}: {} blocks, head {}",
            n(from),
            n(to),
            response.blocks.len(),
            response.head
        ),
        Event::SyncFailed { to, peer, .. } => format!("{}: sync from {peer} failed", n(to)),
        Event::Inject => "clients send".into(),
        Event::Split => "partition?".into(),
        Event::Heal => "partition heals".into(),
        Event::Crash => "crash?".into(),
        Event::Restart { node } => format!("{} restarts", n(node)),
        Event::LoseChain { node } => format!("{} crashes and loses its chain database", n(node)),
        Event::GoDown { node } => format!("{} crashes and stays down", n(node)),
        Event::Govern => "governance: set-change transactions".into(),
        Event::FaultsEnd => "faults end: liveness phase".into(),
    };
    Some(line)
}

/// A replica's outputs.
pub(super) fn outputs(outputs: &[ReplicaOutput]) -> String {
    let parts: Vec<String> = outputs
        .iter()
        .map(|o| match o {
            ReplicaOutput::Broadcast(m) => msg(m),
            ReplicaOutput::Schedule { timeout, at_ms } => format!(
                "timer h{} r{} {:?} at {}",
                timeout.height,
                timeout.round,
                timeout.step,
                at_ms - super::GENESIS_TIME_MS
            ),
            ReplicaOutput::RequestSync { peer, request } => format!("sync {peer} {request:?}"),
            ReplicaOutput::Penalize { peer, reason } => format!("penalize {peer}: {reason}"),
        })
        .collect();
    parts.join("; ")
}
