//! Leader epoch history of one replica: which epoch wrote which offsets.
//!
//! Each entry says "leader epoch `e` wrote its first record at offset `o`".
//! A returning replica asks the leader where the epoch it last saw ended
//! (Kafka's OffsetsForLeaderEpoch) and truncates exactly there, instead of
//! at its high watermark, which may be stale in either direction (KIP-101,
//! KIP-279). Pure: every change reports whether it changed the history, and
//! the runtime persists it then (storage's `LeaderEpochCheckpoint`).

pub(crate) use crate::storage::EpochEntry;

/// Where an epoch ended, as the leader answers OffsetsForLeaderEpoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochEnd {
    /// The largest epoch at or below the one asked for that this log knows.
    pub(crate) epoch: i32,
    /// The first offset after that epoch's records.
    pub(crate) end_offset: u64,
}

/// The epoch history, oldest first; epochs and start offsets both increase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EpochHistory {
    entries: Vec<EpochEntry>,
}

impl EpochHistory {
    /// A history as read back from its checkpoint (already checked for order).
    pub(crate) fn from_entries(entries: Vec<EpochEntry>) -> Self {
        EpochHistory { entries }
    }

    pub(crate) fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest epoch, if any was recorded.
    pub(crate) fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts writing at `start_offset`; true when that
    /// changed the history. Entries it contradicts (a later epoch, or a
    /// start at or past `start_offset` under another epoch) are dropped.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: u64) -> bool {
        if self
            .entries
            .last()
            .is_some_and(|e| e.epoch == epoch && e.start_offset <= start_offset)
        {
            return false;
        }
        self.entries
            .retain(|e| e.epoch < epoch && e.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// Where `epoch` ended in a log whose end offset is `log_end_offset`.
    ///
    /// `None` when the log knows no epoch at or above `epoch` (Kafka's
    /// UNDEFINED answer). When `epoch` predates the history, the answer is
    /// `epoch` itself ending where the first known epoch starts.
    pub(crate) fn end_offset_for(&self, epoch: i32, log_end_offset: u64) -> Option<EpochEnd> {
        let latest = self.entries.last()?;
        if latest.epoch == epoch {
            return Some(EpochEnd {
                epoch,
                end_offset: log_end_offset,
            });
        }
        let higher = self.entries.iter().find(|e| e.epoch > epoch)?;
        let floor = self.entries.iter().rev().find(|e| e.epoch <= epoch);
        Some(EpochEnd {
            epoch: floor.map_or(epoch, |f| f.epoch),
            end_offset: higher.start_offset,
        })
    }

    /// The log was truncated to end at `end_offset`: forget epochs that
    /// start there or later; true when any went.
    pub(crate) fn truncate_from_end(&mut self, end_offset: u64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        self.entries.len() != before
    }

    /// The log was emptied and restarted elsewhere; true when anything went.
    pub(crate) fn clear(&mut self) -> bool {
        let changed = !self.entries.is_empty();
        self.entries.clear();
        changed
    }
}

/// Where a returning follower must cut its log before fetching from the leader.
///
/// `ask_leader(epoch)` is the leader's `end_offset_for`. The follower asks
/// about its newest epoch; if the leader only knows an older one, the
/// follower cuts at the smaller of both ends of that older epoch (KIP-279).
/// Returns `None` when the follower has no history or the leader cannot
/// answer: the caller then falls back to its high watermark (pre-KIP-101).
pub(crate) fn divergence_offset(
    follower: &EpochHistory,
    follower_leo: u64,
    ask_leader: impl Fn(i32) -> Option<EpochEnd>,
) -> Option<u64> {
    let latest = follower.latest_epoch()?;
    // No answer: the leader knows no epoch at or above ours (it cannot lead
    // one older than ours, so this only happens on a damaged history).
    let answer = ask_leader(latest)?;
    if answer.epoch == latest {
        return Some(answer.end_offset.min(follower_leo));
    }
    let ours = follower
        .end_offset_for(answer.epoch, follower_leo)
        .map_or(follower_leo, |e| e.end_offset);
    Some(answer.end_offset.min(ours).min(follower_leo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, u64)]) -> EpochHistory {
        let mut c = EpochHistory::default();
        for &(e, o) in entries {
            c.assign(e, o);
        }
        c
    }

    #[test]
    fn end_offset_for_epoch_follows_offsets_for_leader_epoch() {
        let c = cache(&[(1, 0), (3, 10), (4, 25)]);
        // (asked epoch, expected answer) with log end offset 40
        let table = [
            (4, Some((4, 40))),
            (3, Some((3, 25))),
            (2, Some((1, 10))),
            (1, Some((1, 10))),
            (0, Some((0, 0))),
            (5, None),
        ];
        for (asked, want) in table {
            let got = c.end_offset_for(asked, 40).map(|e| (e.epoch, e.end_offset));
            assert_eq!(got, want, "epoch {asked}");
        }
    }

    #[test]
    fn truncation_forgets_epochs_starting_at_or_after_the_new_end() {
        let mut c = cache(&[(1, 0), (2, 5), (3, 9)]);
        assert!(c.truncate_from_end(9));
        assert!(!c.truncate_from_end(9), "nothing more to forget");
        let got: Vec<_> = c
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect();
        assert_eq!(got, vec![(1, 0), (2, 5)]);
        assert!(c.clear());
        assert!(!c.clear());
    }

    #[test]
    fn assigning_a_newer_epoch_drops_contradicting_entries() {
        let mut c = cache(&[(1, 0), (2, 5), (3, 9)]);
        assert!(c.assign(4, 7));
        let got: Vec<_> = c
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect();
        assert_eq!(got, vec![(1, 0), (2, 5), (4, 7)]);
        assert!(!c.assign(4, 12));
        assert_eq!(c.entries().len(), 3, "same epoch, later offset: no change");
    }

    #[test]
    fn a_follower_truncates_exactly_at_the_divergence_point() {
        // (leader history, leader LEO, follower history, follower LEO, cut at)
        type Case<'a> = (&'a [(i32, u64)], u64, &'a [(i32, u64)], u64, Option<u64>);
        let table: &[Case<'_>] = &[
            // Follower wrote 20..30 in epoch 2 as leader; new leader went to epoch 3 at 20.
            (
                &[(1, 0), (2, 10), (3, 20)],
                35,
                &[(1, 0), (2, 10)],
                30,
                Some(20),
            ),
            // Follower is simply behind in the same epoch: nothing to cut.
            (&[(1, 0), (2, 10)], 50, &[(1, 0), (2, 10)], 30, Some(30)),
            // Follower's epoch 2 is unknown to the leader, which went 1 -> 3 at 12.
            (&[(1, 0), (3, 12)], 20, &[(1, 0), (2, 15)], 18, Some(12)),
            // Leader's epoch 1 ended at 8 but the follower only has 5 of it.
            (&[(1, 0), (3, 8)], 20, &[(1, 0), (2, 5)], 9, Some(5)),
            // An empty follower has nothing to cut.
            (&[(1, 0)], 20, &[], 0, None),
        ];
        for (i, (leader, leader_leo, follower, follower_leo, want)) in table.iter().enumerate() {
            let l = cache(leader);
            let f = cache(follower);
            let got = divergence_offset(&f, *follower_leo, |e| l.end_offset_for(e, *leader_leo));
            assert_eq!(got, *want, "case {i}");
        }
    }
}
