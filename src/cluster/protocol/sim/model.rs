//! What the simulation runs over: its random source and in-memory replicas.

use super::BROKERS;
use crate::cluster::protocol::epoch_history::EpochHistory;
use crate::cluster::protocol::leader::{AckOutcome, BrokerId, LeaderState};
use crate::cluster::protocol::role::Role;

/// splitmix64: small, fast, and the same sequence everywhere.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(super) fn broker(&mut self) -> BrokerId {
        self.below(u64::from(BROKERS)) as BrokerId
    }
}

/// One batch of an in-memory log; `id` is unique across the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Batch {
    pub(super) base: u64,
    pub(super) records: u64,
    pub(super) epoch: i32,
    pub(super) id: u64,
}

impl Batch {
    pub(super) fn end(&self) -> u64 {
        self.base + self.records
    }
}

/// One broker's replica of the partition.
pub(super) struct Replica {
    pub(super) running: bool,
    pub(super) isolated: bool,
    pub(super) log: Vec<Batch>,
    pub(super) history: EpochHistory,
    pub(super) role: Role<u64>,
    pub(super) applied: Option<i32>,
    pub(super) hw: u64,
    /// The fetch offset last reported to the current leader, as the
    /// runtime's `last_reported` (an idle fetch is skipped).
    pub(super) reported: Option<u64>,
}

impl Replica {
    pub(super) fn leo(&self) -> u64 {
        self.log.last().map_or(0, Batch::end)
    }

    pub(super) fn leader(&mut self) -> Option<&mut LeaderState<u64>> {
        match &mut self.role {
            Role::Leader(ls) => Some(ls),
            _ => None,
        }
    }

    /// Leadership ends; waiting requests are released (as "leadership lost").
    pub(super) fn resign(&mut self) {
        if let Some(ls) = self.leader() {
            let released = ls.resign();
            assert!(released
                .iter()
                .all(|c| c.outcome == AckOutcome::LeadershipLost));
        }
        self.role = Role::Idle;
    }
}
