//! The files of one partition directory, named in exactly one place.
//!
//! Segment files are `{base_offset:020}.log`, `.index` and `.timeindex`, as in
//! Kafka, so a directory listing sorts them by offset. The small state files
//! sit beside them.

use std::path::{Path, PathBuf};

/// Which file of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// The record batches.
    Log,
    /// The sparse offset index.
    Index,
    /// The sparse time index.
    TimeIndex,
}

impl FileKind {
    fn extension(self) -> &'static str {
        match self {
            FileKind::Log => "log",
            FileKind::Index => "index",
            FileKind::TimeIndex => "timeindex",
        }
    }
}

/// Marker written by a clean close; while present, open skips the recovery scan.
pub(crate) const CLEAN_SHUTDOWN: &str = "clean-shutdown";
/// Offset below which every segment was fsynced (and so needs no scan).
pub(crate) const RECOVERY_POINT: &str = "recovery-point.checkpoint";
/// The first offset still readable.
pub(crate) const LOG_START_OFFSET: &str = "log-start-offset.checkpoint";

/// The path of one file of the segment starting at `base_offset`.
pub(crate) fn segment_path(dir: &Path, base_offset: u64, kind: FileKind) -> PathBuf {
    dir.join(format!("{base_offset:020}.{}", kind.extension()))
}

/// The base offset and kind a segment file name encodes, if it is one.
pub(crate) fn parse_segment_file(name: &str) -> Option<(u64, FileKind)> {
    let (stem, extension) = name.split_once('.')?;
    let kind = [FileKind::Log, FileKind::Index, FileKind::TimeIndex]
        .into_iter()
        .find(|kind| kind.extension() == extension)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let dir = Path::new("p");
        for kind in [FileKind::Log, FileKind::Index, FileKind::TimeIndex] {
            let path = segment_path(dir, 42, kind);
            let name = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(parse_segment_file(name), Some((42, kind)));
        }
        assert_eq!(
            segment_path(dir, 7, FileKind::Log),
            Path::new("p/00000000000000000007.log")
        );
    }

    #[test]
    fn other_files_are_not_segments() {
        for name in [
            "x.log",
            "00000000000000000001.tmp",
            "clean-shutdown",
            "1.log.swp",
            "",
        ] {
            assert_eq!(parse_segment_file(name), None, "{name}");
        }
        assert_eq!(parse_segment_file("99999999999999999999.log"), None);
    }
}
