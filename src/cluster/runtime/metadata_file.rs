//! The `cluster-metadata` file: the controller's state, replaced atomically
//! (through storage's small-file facility) after every change.

use std::path::{Path, PathBuf};

use crate::cluster::protocol::metadata::{decode, ClusterMetadata, FORMAT_VERSION, HEADER_WORD};
use crate::error::{Error, Result};
use crate::storage::write_atomically;

/// File name inside the log directory.
const FILE_NAME: &str = "cluster-metadata";

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Reads the metadata in `dir`; empty when there is none yet.
pub(crate) fn load(dir: &Path) -> Result<ClusterMetadata> {
    let path = path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => {
            check_format_version(&path, &bytes)?;
            decode(&bytes).map_err(|(position, kind)| Error::Corrupt {
                path,
                position,
                kind,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClusterMetadata::default()),
        Err(e) => Err(Error::io("read", &path, e)),
    }
}

/// Refuses a directory written in another format version before anything in
/// it is read, so old batches are never taken for damaged ones.
fn check_format_version(path: &Path, bytes: &[u8]) -> Result<()> {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let mut words = first.split(' ');
    if words.next() != Some(HEADER_WORD) {
        return Ok(());
    }
    match words.next().and_then(|v| v.parse::<u32>().ok()) {
        Some(found) if found != FORMAT_VERSION => Err(Error::UnsupportedFormatVersion {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }),
        _ => Ok(()),
    }
}

/// Replaces the file in `dir` atomically.
pub(crate) fn save(metadata: &ClusterMetadata, dir: &Path) -> Result<()> {
    write_atomically(&path(dir), metadata.encode().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::protocol::metadata::{PartitionState, TopicState};
    use crate::config::TopicConfig;

    #[test]
    fn metadata_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), ClusterMetadata::default());
        let mut meta = ClusterMetadata {
            next_producer_id: 3,
            ..ClusterMetadata::default()
        };
        let partitions = vec![PartitionState {
            replicas: vec![0, 1],
            leader: Some(0),
            isr: vec![0, 1],
            leader_epoch: 2,
            partition_epoch: 5,
        }];
        meta.topics.insert(
            "t".into(),
            TopicState {
                config: TopicConfig::new().partitions(1),
                partitions,
            },
        );
        save(&meta, dir.path()).unwrap();
        assert_eq!(load(dir.path()).unwrap(), meta);
        std::fs::write(path(dir.path()), "garbage").unwrap();
        assert!(matches!(load(dir.path()), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn a_directory_of_another_format_version_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            path(dir.path()),
            "tidelog-cluster-metadata 1
next-producer-id 1
placements 0
crc 00000000
",
        )
        .unwrap();
        let error = load(dir.path()).unwrap_err();
        assert!(matches!(
            error,
            Error::UnsupportedFormatVersion {
                found: 1,
                supported: 2,
                ..
            }
        ));
        assert!(error.to_string().contains("format version 1"));
    }
}
