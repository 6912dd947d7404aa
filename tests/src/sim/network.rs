//! The simulated clock and network: one event queue ordered by (sim time, sequence
//! number), and links that lose, delay, duplicate and reorder messages, or are cut by
//! a partition.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::Rng;

/// Events waiting for their time. Ties in time go by insertion order, so the order of
/// events never depends on anything but the seed.
pub(crate) struct Queue<E> {
    events: BTreeMap<(u64, u64), E>,
    seq: u64,
}

impl<E> Queue<E> {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        Queue {
            events: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Schedules `event` at `at_ms`.
    pub(crate) fn push(&mut self, at_ms: u64, event: E) {
        self.seq += 1;
        self.events.insert((at_ms, self.seq), event);
    }

    /// The earliest event, with its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        self.events.pop_first().map(|((at_ms, _), e)| (at_ms, e))
    }
}

/// How links misbehave while faults are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFaults {
    /// Chance, in percent, that a message is lost.
    pub loss_percent: u32,
    /// Chance, in percent, that a message is delivered twice.
    pub duplicate_percent: u32,
    /// Shortest delivery delay.
    pub delay_ms_min: u64,
    /// Longest delivery delay.
    pub delay_ms_max: u64,
    /// Whether a link may deliver messages out of order; if not, each link is FIFO.
    pub reorder: bool,
}

impl LinkFaults {
    /// A healthy LAN: no loss, no duplicates, FIFO, a few milliseconds of delay.
    pub const CALM: LinkFaults = LinkFaults {
        loss_percent: 0,
        duplicate_percent: 0,
        delay_ms_min: 1,
        delay_ms_max: 20,
        reorder: false,
    };
}

/// How partitions come and go while faults are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partitions {
    /// Shortest partition.
    pub duration_ms_min: u64,
    /// Longest partition.
    pub duration_ms_max: u64,
    /// Shortest time between a heal and the next split.
    pub gap_ms_min: u64,
    /// Longest time between a heal and the next split.
    pub gap_ms_max: u64,
    /// Whether messages across the cut are lost (connections reset), or held and
    /// delivered after the heal (TCP riding out an outage shorter than the
    /// keep-alive timeout).
    pub lossy: bool,
}

/// Whether a message can cross between two nodes now.
pub(crate) enum Link {
    /// Same side.
    Open,
    /// Across a partition that holds messages until it heals at this time.
    HeldUntil(u64),
    /// Across a partition that loses messages.
    Cut,
}

/// Counts of what the network did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages sent (per recipient).
    pub sent: u64,
    /// Messages lost on a link.
    pub lost: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
    /// Messages dropped because a partition separated the two ends at delivery.
    pub cut: u64,
    /// Messages held up by a partition until it healed.
    pub held: u64,
}

/// The links between `n` nodes.
pub(crate) struct Network {
    faults: LinkFaults,
    /// Partition side of each node; two nodes talk only if on the same side.
    sides: Vec<u8>,
    /// When the partition heals, and whether it loses messages meanwhile.
    heal_at_ms: u64,
    lossy_partition: bool,
    /// Per link (from, to), the latest delivery time scheduled, for FIFO links.
    last_delivery_ms: Vec<Vec<u64>>,
    pub(crate) stats: NetStats,
}

impl Network {
    /// `n` fully connected nodes.
    pub(crate) fn new(n: usize, faults: LinkFaults) -> Self {
        Network {
            faults,
            sides: vec![0; n],
            heal_at_ms: 0,
            lossy_partition: false,
            last_delivery_ms: vec![vec![0; n]; n],
            stats: NetStats::default(),
        }
    }

    /// Changes how links behave from now on (messages in flight keep their times).
    pub(crate) fn set_faults(&mut self, faults: LinkFaults) {
        self.faults = faults;
    }

    /// Splits the nodes until `heal_at_ms`: `sides[i]` is node i's side.
    pub(crate) fn partition(&mut self, sides: Vec<u8>, heal_at_ms: u64, lossy: bool) {
        debug_assert_eq!(sides.len(), self.sides.len());
        self.sides = sides;
        self.heal_at_ms = heal_at_ms;
        self.lossy_partition = lossy;
    }

    /// Heals any partition.
    pub(crate) fn heal(&mut self) {
        self.sides.iter_mut().for_each(|s| *s = 0);
    }

    /// Whether a message can go from `a` to `b` now. Checked at delivery: a partition
    /// that starts while a message is in flight catches it.
    pub(crate) fn link(&mut self, a: usize, b: usize) -> Link {
        if self.sides[a] == self.sides[b] {
            Link::Open
        } else if self.lossy_partition {
            self.stats.cut += 1;
            Link::Cut
        } else {
            self.stats.held += 1;
            Link::HeldUntil(self.heal_at_ms)
        }
    }

    fn delay(&mut self, rng: &mut StdRng, now_ms: u64, from: usize, to: usize) -> u64 {
        let f = self.faults;
        let mut at = now_ms + rng.gen_range(f.delay_ms_min..=f.delay_ms_max.max(f.delay_ms_min));
        if !f.reorder {
            at = at.max(self.last_delivery_ms[from][to]);
        }
        let last = &mut self.last_delivery_ms[from][to];
        *last = (*last).max(at);
        at
    }

    /// The delivery times of one message sent now from `from` to `to`: none if lost,
    /// two if duplicated.
    pub(crate) fn send(
        &mut self,
        rng: &mut StdRng,
        now_ms: u64,
        from: usize,
        to: usize,
    ) -> Vec<u64> {
        self.stats.sent += 1;
        if rng.gen_range(0..100) < self.faults.loss_percent {
            self.stats.lost += 1;
            return Vec::new();
        }
        let mut times = vec![self.delay(rng, now_ms, from, to)];
        if rng.gen_range(0..100) < self.faults.duplicate_percent {
            self.stats.duplicated += 1;
            times.push(self.delay(rng, now_ms, from, to));
        }
        times
    }

    /// The delivery time of one request or response (never duplicated: a
    /// request-response stream delivers once or fails).
    pub(crate) fn send_once(
        &mut self,
        rng: &mut StdRng,
        now_ms: u64,
        from: usize,
        to: usize,
    ) -> Option<u64> {
        self.stats.sent += 1;
        if rng.gen_range(0..100) < self.faults.loss_percent {
            self.stats.lost += 1;
            return None;
        }
        Some(self.delay(rng, now_ms, from, to))
    }
}
