//! Small state files written atomically: temp file, fsync, rename, fsync the directory.
//!
//! The storage layer's durable small-file facility. The replication layer
//! uses it (`write_atomically`, `sync_dir`) for its own files, the cluster
//! metadata and the high-watermark checkpoint, so there is one place that
//! knows how a file is replaced without a torn state.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Replaces `path` with `contents` so that a crash leaves either the old file
/// or the new one, never a mix.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    file.write_all(contents)
        .map_err(|e| Error::io("write", &tmp, e))?;
    file.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))?;
    sync_parent(path)
}

/// Fsyncs the directory holding `path`, so a create, rename or delete in it
/// survives a crash (on Linux the entry lives in the directory, not the file).
pub(crate) fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Fsyncs a directory.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(|e| Error::io("open directory", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| Error::io("fsync directory", dir, e))
}

/// First line of every offset checkpoint file: names the format and its version.
const CHECKPOINT_HEADER: &str = "tidelog-offset-checkpoint 1";

/// Writes one offset to a checkpoint file, atomically.
pub(crate) fn write_offset_checkpoint(path: &Path, offset: u64) -> Result<()> {
    write_atomically(path, format!("{CHECKPOINT_HEADER}\n{offset}\n").as_bytes())
}

/// Reads an offset checkpoint. `Ok(None)` when the file is missing or does
/// not parse: callers then fall back to the conservative choice (scan
/// everything, keep everything) rather than refuse to open.
pub(crate) fn read_offset_checkpoint(path: &Path) -> Result<Option<u64>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read checkpoint", path, e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if lines.next() != Some(CHECKPOINT_HEADER) {
        return Ok(None);
    }
    Ok(lines.next().and_then(|line| line.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.properties");
        write_atomically(&path, b"a=1\n").unwrap();
        write_atomically(&path, b"a=2\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"a=2\n");
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn offset_checkpoints_round_trip_and_garbage_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-point.checkpoint");
        assert_eq!(read_offset_checkpoint(&path).unwrap(), None);
        write_offset_checkpoint(&path, 42).unwrap();
        assert_eq!(read_offset_checkpoint(&path).unwrap(), Some(42));
        for garbage in [
            &b"\xff\x00junk"[..],
            b"tidelog-offset-checkpoint 1\nx\n",
            b"",
        ] {
            fs::write(&path, garbage).unwrap();
            assert_eq!(read_offset_checkpoint(&path).unwrap(), None);
        }
    }
}
