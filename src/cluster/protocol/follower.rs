//! Follower side of one partition replica: whom it fetches from, where it
//! cuts a suffix the leader does not share, and what fetched batches change.
//!
//! Pure decisions over the replica's epoch history and offsets; the runtime
//! holds the replica's lock while it asks and carries the answers out on the
//! log (truncate, append, restart), then persists the history if it changed.

use super::epoch_history::{divergence_offset, EpochEnd, EpochHistory};
use super::leader::BrokerId;

/// Where a follower fetches from, and whether it may append yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FollowTarget {
    pub(crate) leader: BrokerId,
    pub(crate) leader_epoch: i32,
    /// Whether the divergent suffix (if any) was cut for this epoch.
    pub(crate) reconciled: bool,
    /// Whether the last ISR the controller recorded has this replica.
    pub(crate) in_sync: bool,
}

/// Follower state of one partition replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FollowerState {
    target: FollowTarget,
}

/// What a follower does before it fetches again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reconcile {
    /// The leader cannot answer yet: ask again later.
    Wait,
    /// Cut the log to end at this offset (it may already end there).
    TruncateTo(u64),
}

/// How a follower answers a fetch the leader refused as out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutOfRange {
    /// The leader's log starts after our end (retention): empty ours and start there.
    RestartAt(u64),
    /// We are past the leader's end: our suffix diverged, reconcile again.
    Reconcile,
}

impl FollowerState {
    /// Following `leader` in `leader_epoch`, not yet reconciled.
    pub(crate) fn new(leader: BrokerId, leader_epoch: i32) -> Self {
        FollowerState {
            target: FollowTarget {
                leader,
                leader_epoch,
                reconciled: false,
                in_sync: false,
            },
        }
    }

    pub(crate) fn target(&self) -> FollowTarget {
        self.target
    }

    /// Whether this follows `leader` in `leader_epoch`.
    pub(crate) fn follows(&self, leader: BrokerId, leader_epoch: i32) -> bool {
        self.target.leader == leader && self.target.leader_epoch == leader_epoch
    }

    /// Whether `target` (read earlier, without the lock) is still current.
    pub(crate) fn is_current(&self, target: FollowTarget) -> bool {
        self.follows(target.leader, target.leader_epoch)
    }

    /// Whether fetched data for `target` may be appended now.
    pub(crate) fn may_append(&self, target: FollowTarget) -> bool {
        self.is_current(target) && self.target.reconciled
    }

    /// The log was cut where `reconcile` said: fetching may start.
    pub(crate) fn mark_reconciled(&mut self) {
        self.target.reconciled = true;
    }

    /// The leader's log no longer matches ours: reconcile before appending.
    pub(crate) fn unreconcile(&mut self) {
        self.target.reconciled = false;
    }

    /// The controller recorded an ISR that has (or lacks) this replica.
    pub(crate) fn set_in_sync(&mut self, in_sync: bool) {
        self.target.in_sync = in_sync;
    }
}

/// Whether the next fetch for `target` may be skipped because it could
/// change nothing: this offset was `reported` to the leader already and the
/// leader has nothing new (`leader_moved` is false). A replica outside the
/// ISR never skips. Only the leader's answer to a fetch proposes it back
/// in, and that proposal can be refused (computed from an ISR the
/// controller has since replaced) or lost (the leader cut off): a caught-up
/// follower that stopped fetching then stayed out of the ISR for good. So,
/// as a Kafka follower does, it keeps fetching until it is back in.
pub(crate) fn may_skip_fetch(target: FollowTarget, reported: bool, leader_moved: bool) -> bool {
    target.in_sync && reported && !leader_moved
}

/// Where a follower whose log ends at `leo` (high watermark `hw`) must cut,
/// given the leader's OffsetsForLeaderEpoch answers (KIP-101/279). With no
/// history (nothing written under any epoch) only the high watermark is
/// known to be shared.
pub(crate) fn reconcile(
    history: &EpochHistory,
    leo: u64,
    hw: u64,
    ask_leader: impl Fn(i32) -> Option<EpochEnd>,
) -> Reconcile {
    let cut = if history.latest_epoch().is_none() {
        Some(hw.min(leo))
    } else {
        divergence_offset(history, leo, ask_leader)
    };
    cut.map_or(Reconcile::Wait, Reconcile::TruncateTo)
}

/// The answer to a fetch at `fetch_offset` that the leader, whose log starts
/// at `leader_log_start`, refused as out of range.
pub(crate) fn out_of_range(fetch_offset: u64, leader_log_start: u64) -> OutOfRange {
    if fetch_offset < leader_log_start {
        OutOfRange::RestartAt(leader_log_start)
    } else {
        OutOfRange::Reconcile
    }
}

/// Batches `(base_offset, leader_epoch)` were fetched and appended to a log
/// that ended at `appended_from`: the history learns the epochs that start
/// among the new ones. True when the history changed (persist it).
pub(crate) fn record_epochs(
    history: &mut EpochHistory,
    appended_from: u64,
    batches: impl IntoIterator<Item = (u64, i32)>,
) -> bool {
    let mut changed = false;
    for (base, epoch) in batches {
        if base >= appended_from && history.latest_epoch() < Some(epoch) {
            changed |= history.assign(epoch, base);
        }
    }
    changed
}

/// A follower's high watermark: the leader's, but never past its own end.
pub(crate) fn high_watermark(leader_hw: u64, leo: u64) -> u64 {
    leader_hw.min(leo)
}

/// Where a follower's log should start, given the leader's: records the
/// leader deleted go, but only below what the follower knows is committed.
pub(crate) fn log_start_offset(leader_log_start: u64, hw: u64) -> u64 {
    leader_log_start.min(hw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(entries: &[(i32, u64)]) -> EpochHistory {
        let mut h = EpochHistory::default();
        for &(e, o) in entries {
            h.assign(e, o);
        }
        h
    }

    #[test]
    fn a_follower_without_history_cuts_at_its_high_watermark() {
        let h = EpochHistory::default();
        assert_eq!(reconcile(&h, 10, 4, |_| None), Reconcile::TruncateTo(4));
        assert_eq!(reconcile(&h, 3, 4, |_| None), Reconcile::TruncateTo(3));
    }

    #[test]
    fn a_follower_waits_when_the_leader_cannot_answer() {
        let h = history(&[(1, 0)]);
        assert_eq!(reconcile(&h, 10, 4, |_| None), Reconcile::Wait);
        let leader = history(&[(1, 0), (2, 7)]);
        let cut = reconcile(&h, 10, 4, |e| leader.end_offset_for(e, 12));
        assert_eq!(cut, Reconcile::TruncateTo(7));
    }

    #[test]
    fn only_epochs_starting_in_the_appended_batches_are_recorded() {
        let mut h = history(&[(1, 0)]);
        assert!(!record_epochs(&mut h, 5, [(3, 2), (5, 1)]));
        assert!(record_epochs(&mut h, 5, [(5, 2), (6, 2), (9, 3)]));
        let got: Vec<_> = h
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect();
        assert_eq!(got, vec![(1, 0), (2, 5), (3, 9)]);
    }

    #[test]
    fn out_of_range_below_the_leaders_start_restarts_there() {
        assert_eq!(out_of_range(3, 10), OutOfRange::RestartAt(10));
        assert_eq!(out_of_range(30, 10), OutOfRange::Reconcile);
    }

    #[test]
    fn appending_needs_the_current_target_and_a_reconciled_log() {
        let mut f = FollowerState::new(1, 4);
        let t = f.target();
        assert!(!f.may_append(t));
        f.mark_reconciled();
        assert!(f.may_append(t));
        assert!(!f.may_append(FollowTarget {
            leader_epoch: 5,
            ..t
        }));
        f.unreconcile();
        assert!(!f.may_append(t));
    }

    #[test]
    fn only_an_in_sync_follower_skips_a_fetch_that_would_change_nothing() {
        let mut f = FollowerState::new(1, 4);
        assert!(!may_skip_fetch(f.target(), true, false));
        f.set_in_sync(true);
        assert!(may_skip_fetch(f.target(), true, false));
        assert!(!may_skip_fetch(f.target(), false, false));
        assert!(!may_skip_fetch(f.target(), true, true));
        f.set_in_sync(false);
        assert!(!may_skip_fetch(f.target(), true, false));
    }
}
