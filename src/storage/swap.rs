//! Replacing a segment with its compacted copy, crash-safely.
//!
//! The cleaner writes the copy as `{base}.log.cleaned` and fsyncs it, then
//! renames it to `{base}.log.swap` and fsyncs the directory: from that
//! moment the copy is complete and the swap is decided. Then, under the
//! writer lock: the old segment's index files are deleted, the `.swap` file
//! is renamed over `{base}.log` (one atomic step), and the indexes are
//! rebuilt from the new file.
//!
//! Opening a directory applies Kafka's rules: a `.cleaned` file is
//! incomplete and deleted (the old segment stands); a `.swap` file is
//! complete and the swap is finished (the old indexes go, the copy takes
//! the log file's name, recovery rebuilds the missing indexes). A process
//! killed at any moment therefore reopens to the old segment or the new one,
//! never a mix, and never with indexes that describe the other file.

use std::path::Path;
use std::sync::Arc;

use super::checkpoint::sync_dir;
use super::layout::{
    parse_suffixed_log, segment_path, suffixed_log_path, FileKind, CLEANED_SUFFIX, SWAP_SUFFIX,
};
use super::partition_log::PartitionLog;
use super::recovery::verify_segment;
use super::segment::Segment;
use crate::error::{Error, Result};

impl PartitionLog {
    /// Swaps the cleaned copy at `cleaned` in for `old`, if `old` is still
    /// the segment it was (same object, same size) and not the active one;
    /// otherwise discards the copy. Returns whether it swapped.
    pub(super) fn swap_in(&self, old: &Arc<Segment>, size: u64, cleaned: &Path) -> Result<bool> {
        let base = old.base_offset();
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
                .position(|s| Arc::ptr_eq(s, old))
                .filter(|&i| i < last && old.size() == size)
        };
        let Some(index) = index else {
            remove_if_present(&swap)?;
            sync_dir(&self.dir)?;
            return Ok(false);
        };
        let replaced = self.poison_on_error(self.replace_files(base, &swap))?;
        self.segments.write()[index] = Arc::new(replaced);
        Ok(true)
    }

    /// The file steps of a decided swap (see the module docs).
    fn replace_files(&self, base: u64, swap: &Path) -> Result<Segment> {
        for kind in [FileKind::Index, FileKind::TimeIndex] {
            remove_if_present(&segment_path(&self.dir, base, kind))?;
        }
        sync_dir(&self.dir)?;
        rename(swap, &segment_path(&self.dir, base, FileKind::Log))?;
        sync_dir(&self.dir)?;
        let (segment, _) = verify_segment(&self.dir, base, base, &self.plan())?;
        Ok(segment)
    }
}

/// Applies the crash rules to `dir` before its segments are opened:
/// `.cleaned` files are deleted, `.swap` files replace their segment's log
/// file (whose indexes are deleted, for recovery to rebuild). A `.swap`
/// whose segment is gone (deleted by retention) is deleted too.
pub(crate) fn finish_interrupted_swaps(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list directory", dir, e))?;
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
            let log = segment_path(dir, base, FileKind::Log);
            if log.exists() {
                for kind in [FileKind::Index, FileKind::TimeIndex] {
                    remove_if_present(&segment_path(dir, base, kind))?;
                }
                sync_dir(dir)?;
                rename(&entry.path(), &log)?;
            } else {
                remove_if_present(&entry.path())?;
            }
            changed = true;
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(())
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
