//! The `cluster-metadata` file: the controller's state, replaced atomically
//! (through storage's small-file facility) after every change.

use std::path::{Path, PathBuf};

use crate::cluster::protocol::metadata::{decode, ClusterMetadata};
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
        Ok(bytes) => decode(&bytes).map_err(|(position, kind)| Error::Corrupt {
            path,
            position,
            kind,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClusterMetadata::default()),
        Err(e) => Err(Error::io("read", &path, e)),
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
}
