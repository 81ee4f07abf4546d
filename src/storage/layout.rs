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

/// The first offset the log cleaner has not compacted yet.
pub(crate) const CLEANER_CHECKPOINT: &str = "cleaner-offset.checkpoint";
/// Suffix of a compacted log file still being written (discarded on open).
pub(crate) const CLEANED_SUFFIX: &str = ".cleaned";
/// Suffix of a complete compacted log file waiting to replace its segment
/// (the replacement is completed on open).
pub(crate) const SWAP_SUFFIX: &str = ".swap";

/// The path of one file of the segment starting at `base_offset`.
pub(crate) fn segment_path(dir: &Path, base_offset: u64, kind: FileKind) -> PathBuf {
    dir.join(format!("{base_offset:020}.{}", kind.extension()))
}

/// The segment log file of `base_offset` with `suffix` appended.
pub(crate) fn suffixed_log_path(dir: &Path, base_offset: u64, suffix: &str) -> PathBuf {
    let mut name = segment_path(dir, base_offset, FileKind::Log).into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The base offset of a `{base}.log{suffix}` file name, if it is one.
pub(crate) fn parse_suffixed_log(name: &str, suffix: &str) -> Option<u64> {
    match parse_segment_file(name.strip_suffix(suffix)?)? {
        (base, FileKind::Log) => Some(base),
        _ => None,
    }
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
    // Offsets are i64 in the batch format; a larger name is not ours.
    let base: u64 = stem.parse().ok()?;
    (base <= i64::MAX as u64).then_some((base, kind))
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
    fn cleaner_files_name_their_segment_and_are_not_segments() {
        let dir = Path::new("p");
        for suffix in [CLEANED_SUFFIX, SWAP_SUFFIX] {
            let path = suffixed_log_path(dir, 42, suffix);
            let name = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(parse_suffixed_log(name, suffix), Some(42));
            assert_eq!(parse_segment_file(name), None);
        }
        assert_eq!(
            parse_suffixed_log("00000000000000000042.index.swap", SWAP_SUFFIX),
            None
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
        assert_eq!(parse_segment_file("18446744073709551615.log"), None);
    }
}
