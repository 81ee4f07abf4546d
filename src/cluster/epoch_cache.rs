//! Leader epoch history of one replica: which epoch wrote which offsets.
//!
//! Each entry says "leader epoch `e` wrote its first record at offset `o`".
//! A returning replica asks the leader where the epoch it last saw ended
//! (Kafka's OffsetsForLeaderEpoch) and truncates exactly there, instead of
//! at its high watermark, which may be stale in either direction (KIP-101,
//! KIP-279). Persisted atomically as `leader-epoch-checkpoint` in the
//! partition directory, in Kafka's text layout: a version line, a count line,
//! then one `epoch start_offset` line per entry.

use std::path::{Path, PathBuf};

use crate::error::{CorruptionKind, Error, Result};
use crate::storage::write_atomically;

/// File name inside the partition directory.
pub(crate) const FILE_NAME: &str = "leader-epoch-checkpoint";
const VERSION: u32 = 0;

/// One epoch and the first offset it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochEntry {
    pub(crate) epoch: i32,
    pub(crate) start_offset: u64,
}

/// Where an epoch ended, as the leader answers OffsetsForLeaderEpoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochEnd {
    /// The largest epoch at or below the one asked for that this log knows.
    pub(crate) epoch: i32,
    /// The first offset after that epoch's records.
    pub(crate) end_offset: u64,
}

/// The in-memory epoch history plus where it is persisted.
#[derive(Debug)]
pub(crate) struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Loads the checkpoint in `dir`; empty history when there is none.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let entries = match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes).map_err(|(position, kind)| Error::Corrupt {
                path: path.clone(),
                position,
                kind,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Ok(LeaderEpochCache { path, entries })
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest epoch, if any was recorded.
    pub(crate) fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts writing at `start_offset`; persists when
    /// that changes the history. Entries it contradicts (a later epoch, or a
    /// start at or past `start_offset` under another epoch) are dropped.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: u64) -> Result<()> {
        if self
            .entries
            .last()
            .is_some_and(|e| e.epoch == epoch && e.start_offset <= start_offset)
        {
            return Ok(());
        }
        self.entries
            .retain(|e| e.epoch < epoch && e.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.persist()
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

    /// The log was truncated to end at `end_offset`: forget epochs that start there or later.
    pub(crate) fn truncate_from_end(&mut self, end_offset: u64) -> Result<()> {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        if self.entries.len() == before {
            return Ok(());
        }
        self.persist()
    }

    /// The log was emptied and restarted at `start_offset`.
    pub(crate) fn clear(&mut self) -> Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        self.entries.clear();
        self.persist()
    }

    fn persist(&self) -> Result<()> {
        let mut text = format!("{VERSION}\n{}\n", self.entries.len());
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        write_atomically(&self.path, text.as_bytes())
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
    follower: &LeaderEpochCache,
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

fn parse(bytes: &[u8]) -> std::result::Result<Vec<EpochEntry>, (u64, CorruptionKind)> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = u64::try_from(e.valid_up_to()).unwrap_or(0);
        (
            at,
            CorruptionKind::Malformed("leader-epoch-checkpoint is not text"),
        )
    })?;
    let mut lines = text.lines();
    let bad = |what| (0, CorruptionKind::Malformed(what));
    let version: u32 = next_number(&mut lines).ok_or(bad("missing version line"))?;
    if version != VERSION {
        return Err(bad("unknown leader-epoch-checkpoint version"));
    }
    let count: usize = next_number(&mut lines).ok_or(bad("missing entry count"))?;
    let mut entries: Vec<EpochEntry> = Vec::new();
    for line in lines.by_ref().take(count) {
        let mut parts = line.split_whitespace();
        let epoch = parts.next().and_then(|p| p.parse().ok());
        let start = parts.next().and_then(|p| p.parse().ok());
        let (Some(epoch), Some(start_offset)) = (epoch, start) else {
            return Err(bad("bad epoch entry"));
        };
        if entries
            .last()
            .is_some_and(|p: &EpochEntry| p.epoch >= epoch || p.start_offset > start_offset)
        {
            return Err(bad("epoch entries out of order"));
        }
        entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    if entries.len() != count {
        return Err((0, CorruptionKind::Truncated));
    }
    Ok(entries)
}

fn next_number<'a, N: std::str::FromStr>(lines: &mut impl Iterator<Item = &'a str>) -> Option<N> {
    lines.next().and_then(|l| l.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, u64)]) -> (tempfile::TempDir, LeaderEpochCache) {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path()).unwrap();
        for &(e, o) in entries {
            c.assign(e, o).unwrap();
        }
        (dir, c)
    }

    #[test]
    fn end_offset_for_epoch_follows_offsets_for_leader_epoch() {
        let (_d, c) = cache(&[(1, 0), (3, 10), (4, 25)]);
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
    fn checkpoint_survives_reload_and_truncation() {
        let (dir, mut c) = cache(&[(1, 0), (2, 5), (3, 9)]);
        c.truncate_from_end(9).unwrap();
        let back = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(
            back.entries(),
            &[
                EpochEntry {
                    epoch: 1,
                    start_offset: 0
                },
                EpochEntry {
                    epoch: 2,
                    start_offset: 5
                }
            ]
        );
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text, "0\n2\n1 0\n2 5\n");
    }

    #[test]
    fn assigning_a_newer_epoch_drops_contradicting_entries() {
        let (_d, mut c) = cache(&[(1, 0), (2, 5), (3, 9)]);
        c.assign(4, 7).unwrap();
        let got: Vec<_> = c
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect();
        assert_eq!(got, vec![(1, 0), (2, 5), (4, 7)]);
        c.assign(4, 12).unwrap();
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
            let (_a, l) = cache(leader);
            let (_b, f) = cache(follower);
            let got = divergence_offset(&f, *follower_leo, |e| l.end_offset_for(e, *leader_leo));
            assert_eq!(got, *want, "case {i}");
        }
    }

    #[test]
    fn damaged_checkpoints_are_reported_not_trusted() {
        for bad in [
            "",
            "7\n0\n",
            "0\n2\n1 0\n",
            "0\n2\n3 5\n1 9\n",
            "0\n1\nx y\n",
            "\u{ff}",
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(FILE_NAME), bad).unwrap();
            let err = LeaderEpochCache::load(dir.path()).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{bad:?}: {err}");
        }
    }
}
