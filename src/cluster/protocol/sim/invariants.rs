//! The guarantees the simulation checks after every step, and what it has
//! to remember across steps to check them.

use std::collections::BTreeMap;

use super::model::{Batch, Replica};
use crate::cluster::protocol::leader::BrokerId;
use crate::cluster::protocol::metadata::PartitionState;
use crate::cluster::protocol::role::Role;

pub(super) type Check = Result<(), String>;

/// What the run has promised so far.
#[derive(Default)]
pub(super) struct Invariants {
    /// Batches acknowledged with `acks=all`: `id` at `base`.
    pub(super) acked: BTreeMap<u64, u64>,
    /// Who became leader in each epoch.
    pub(super) leaders: BTreeMap<i32, BrokerId>,
    /// Highest high watermark seen per (leader, epoch).
    leader_hw: BTreeMap<(BrokerId, i32), u64>,
}

impl Invariants {
    /// Replica `id` starts to lead in `epoch`: it must be the only one for
    /// that epoch and hold every acknowledged batch where it was acknowledged.
    pub(super) fn on_lead(&mut self, id: BrokerId, epoch: i32, log: &[Batch]) -> Check {
        if let Some(&other) = self.leaders.get(&epoch) {
            if other != id {
                return Err(format!("{other} and {id} both lead epoch {epoch}"));
            }
        }
        self.leaders.insert(epoch, id);
        for (&base, &batch) in &self.acked {
            if !log.iter().any(|b| b.base == base && b.id == batch) {
                return Err(format!(
                    "{id} leads epoch {epoch} without acknowledged batch {batch} at {base}"
                ));
            }
        }
        Ok(())
    }

    /// The state after a step: the recorded leader is in its ISR, leaders
    /// lead with themselves first and never lower their high watermark,
    /// logs are contiguous, and replicas agree below their high watermarks.
    pub(super) fn check(&mut self, state: Option<&PartitionState>, replicas: &[Replica]) -> Check {
        if let Some(state) = state {
            if let Some(l) = state.leader {
                if !state.isr.contains(&l) {
                    return Err(format!("leader {l} not in ISR {:?}", state.isr));
                }
            }
        }
        for (id, r) in (0..).zip(replicas) {
            let Role::Leader(ls) = &r.role else { continue };
            let (epoch, hw) = (ls.leader_epoch(), ls.high_watermark());
            if ls.isr().first() != Some(&id) {
                return Err(format!("{id} leads with ISR {:?}", ls.isr()));
            }
            let seen = self.leader_hw.entry((id, epoch)).or_insert(hw);
            if hw < *seen {
                return Err(format!(
                    "{id}'s high watermark went back from {seen} to {hw}"
                ));
            }
            *seen = hw;
        }
        for r in replicas {
            let contiguous = r.log.windows(2).all(|w| w[0].end() == w[1].base);
            if !contiguous || r.hw > r.leo() {
                return Err(format!("malformed log {:?} with hw {}", r.log, r.hw));
            }
        }
        committed_prefixes_agree(replicas)
    }
}

/// Log matching: below both replicas' high watermarks, their logs agree.
fn committed_prefixes_agree(replicas: &[Replica]) -> Check {
    for (a, ra) in replicas.iter().enumerate() {
        for (b, rb) in replicas.iter().enumerate().skip(a + 1) {
            let hw = ra.hw.min(rb.hw);
            let below = |x: &&Batch| x.end() <= hw;
            if !ra
                .log
                .iter()
                .take_while(below)
                .eq(rb.log.iter().take_while(below))
            {
                return Err(format!(
                    "replicas {a} and {b} disagree below {hw}: {:?} vs {:?}",
                    ra.log, rb.log
                ));
            }
        }
    }
    Ok(())
}
