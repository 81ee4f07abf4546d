//! Small state files written atomically: temp file, fsync, rename, fsync the directory.

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
}
