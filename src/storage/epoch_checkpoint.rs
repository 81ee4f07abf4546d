//! The `leader-epoch-checkpoint` file of one partition replica: which leader
//! epoch wrote its first record at which offset.
//!
//! Kafka keeps this file (and its cache) in the log layer, beside the
//! segments it describes; so do we. The replication layer decides what the
//! history holds and hands it here whole to persist. Kafka's text layout: a
//! version line, a count line, then one `epoch start_offset` line per entry,
//! epochs and offsets both increasing. Replaced atomically.

use std::path::{Path, PathBuf};

use super::checkpoint::write_atomically;
use crate::error::{CorruptionKind, Error, Result};

/// File name inside the partition directory.
pub(crate) const FILE_NAME: &str = "leader-epoch-checkpoint";
const VERSION: u32 = 0;

/// One epoch and the first offset it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochEntry {
    pub(crate) epoch: i32,
    pub(crate) start_offset: u64,
}

/// Where one replica's epoch history lives on disk.
#[derive(Debug)]
pub(crate) struct LeaderEpochCheckpoint {
    path: PathBuf,
}

impl LeaderEpochCheckpoint {
    /// The checkpoint file of the partition directory `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Self {
        LeaderEpochCheckpoint {
            path: dir.join(FILE_NAME),
        }
    }

    /// The recorded entries, in order; empty when there is no file yet.
    pub(crate) fn read(&self) -> Result<Vec<EpochEntry>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => parse(&bytes).map_err(|(position, kind)| Error::Corrupt {
                path: self.path.clone(),
                position,
                kind,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("read", &self.path, e)),
        }
    }

    /// Replaces the file with `entries`.
    pub(crate) fn write(&self, entries: &[EpochEntry]) -> Result<()> {
        let mut text = format!("{VERSION}\n{}\n", entries.len());
        for e in entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        write_atomically(&self.path, text.as_bytes())
    }
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

    #[test]
    fn entries_round_trip_in_kafkas_layout() {
        let dir = tempfile::tempdir().unwrap();
        let file = LeaderEpochCheckpoint::in_dir(dir.path());
        assert!(file.read().unwrap().is_empty());
        let entries = [
            EpochEntry {
                epoch: 1,
                start_offset: 0,
            },
            EpochEntry {
                epoch: 2,
                start_offset: 5,
            },
        ];
        file.write(&entries).unwrap();
        assert_eq!(file.read().unwrap(), entries);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text, "0\n2\n1 0\n2 5\n");
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
            let err = LeaderEpochCheckpoint::in_dir(dir.path())
                .read()
                .unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{bad:?}: {err}");
        }
    }
}
