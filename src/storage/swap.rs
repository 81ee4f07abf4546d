//! Replacing a group of consecutive segments with their compacted copy,
//! crash-safely.
//!
//! The cleaner writes the copy as `{base}.log.cleaned`, `base` being the
//! first segment's base offset, and fsyncs it, then renames it to
//! `{base}.log.swap` and fsyncs the directory: from that moment the copy is
//! complete and the swap is decided. Then, under the writer lock: the index
//! files of every segment of the group and the log files of all but the
//! first are deleted, the `.swap` file is renamed over `{base}.log` (one
//! atomic step), and the indexes are rebuilt from the new file.
//!
//! Opening a directory applies Kafka's rules: a `.cleaned` file is
//! incomplete and deleted (the old segments stand); a `.swap` file is
//! complete and the swap is finished: every segment whose base offset lies
//! within the copy's offsets goes (the copy ends at the group's last
//! offset, so these are exactly the group), the copy takes the first one's
//! log file name, and recovery rebuilds the missing indexes. A process
//! killed at any moment therefore reopens to the old segments or the new
//! one, never a mix, and never with indexes that describe another file.

use std::path::Path;
use std::sync::Arc;

use super::checkpoint::sync_dir;
use super::layout::{
    parse_segment_file, parse_suffixed_log, segment_path, suffixed_log_path, FileKind,
    CLEANED_SUFFIX, SWAP_SUFFIX,
};
use super::partition_log::PartitionLog;
use super::recovery::{scan_batches, verify_segment};
use super::segment::Segment;
use crate::error::{Error, Result};

impl PartitionLog {
    /// Swaps the cleaned copy at `cleaned` in for `group`, if every segment
    /// of it is still where it was (same objects, same `sizes`, none the
    /// active one); otherwise discards the copy. Returns whether it swapped.
    pub(super) fn swap_in(
        &self,
        group: &[Arc<Segment>],
        sizes: &[u64],
        cleaned: &Path,
    ) -> Result<bool> {
        let Some(first) = group.first() else {
            return Ok(false);
        };
        let base = first.base_offset();
        let swap = suffixed_log_path(&self.dir, base, SWAP_SUFFIX);
        rename(cleaned, &swap)?;
        sync_dir(&self.dir)?;
        let _writer = self.writer.lock();
        self.check_writable()?;
        let index = {
            let segments = self.segments.read();
            let last = segments.len().saturating_sub(1);
            segments
                .iter()
                .position(|s| Arc::ptr_eq(s, first))
                .filter(|&i| i + group.len() <= last)
                .filter(|&i| {
                    group
                        .iter()
                        .zip(sizes)
                        .enumerate()
                        .all(|(k, (old, &size))| {
                            segments
                                .get(i + k)
                                .is_some_and(|s| Arc::ptr_eq(s, old) && old.size() == size)
                        })
                })
        };
        let Some(index) = index else {
            remove_if_present(&swap)?;
            sync_dir(&self.dir)?;
            return Ok(false);
        };
        let bases: Vec<u64> = group.iter().map(|s| s.base_offset()).collect();
        let replaced = self.poison_on_error(self.replace_files(&bases, &swap))?;
        self.segments
            .write()
            .splice(index..index + group.len(), [Arc::new(replaced)]);
        Ok(true)
    }

    /// The file steps of a decided swap (see the module docs).
    fn replace_files(&self, bases: &[u64], swap: &Path) -> Result<Segment> {
        let Some((&base, later)) = bases.split_first() else {
            return Err(Error::io(
                "swap",
                swap,
                std::io::Error::other("empty group"),
            ));
        };
        for &old in bases {
            for kind in [FileKind::Index, FileKind::TimeIndex] {
                remove_if_present(&segment_path(&self.dir, old, kind))?;
            }
        }
        for &old in later {
            remove_if_present(&segment_path(&self.dir, old, FileKind::Log))?;
        }
        sync_dir(&self.dir)?;
        rename(swap, &segment_path(&self.dir, base, FileKind::Log))?;
        sync_dir(&self.dir)?;
        let (segment, _) = verify_segment(&self.dir, base, base, &self.plan())?;
        Ok(segment)
    }
}

/// Applies the crash rules to `dir` before its segments are opened:
/// `.cleaned` files are deleted; a `.swap` file replaces the segments
/// whose base offsets lie within its offsets (their indexes and the later
/// ones' log files are deleted, the first one's log file is replaced), for
/// recovery to rebuild the indexes. A `.swap` whose first segment is gone
/// (deleted by retention) is deleted too.
pub(crate) fn finish_interrupted_swaps(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list directory", dir, e))?;
    let mut swaps = Vec::new();
    let mut logs = Vec::new();
    let mut changed = false;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if parse_suffixed_log(name, CLEANED_SUFFIX).is_some() {
            remove_if_present(&entry.path())?;
            changed = true;
        } else if let Some(base) = parse_suffixed_log(name, SWAP_SUFFIX) {
            swaps.push((base, entry.path()));
        } else if let Some((base, FileKind::Log)) = parse_segment_file(name) {
            logs.push(base);
        }
    }
    for (base, swap) in swaps {
        changed = true;
        if !logs.contains(&base) {
            remove_if_present(&swap)?;
            continue;
        }
        let end = end_offset(&swap)?;
        for &old in logs.iter().filter(|&&b| b >= base && b < end) {
            for kind in [FileKind::Index, FileKind::TimeIndex] {
                remove_if_present(&segment_path(dir, old, kind))?;
            }
            if old != base {
                remove_if_present(&segment_path(dir, old, FileKind::Log))?;
            }
        }
        sync_dir(dir)?;
        rename(&swap, &segment_path(dir, base, FileKind::Log))?;
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(())
}

/// One past the last offset of a complete `.swap` file (it was fsynced
/// before it got its name, so a damaged one is corruption).
fn end_offset(path: &Path) -> Result<u64> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut end = 0u64;
    let scanned = scan_batches(&file, path, 0, u64::MAX, false, |_, header| {
        end = end.max(u64::try_from(header.last_offset()).unwrap_or(0) + 1);
        Ok(())
    })?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    match scanned.problem {
        Some(kind) if scanned.valid_size < size => Err(Error::Corrupt {
            path: path.to_path_buf(),
            position: scanned.valid_size,
            kind,
        }),
        _ => Ok(end),
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io("rename", from, e))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("delete", path, e)),
    }
}
