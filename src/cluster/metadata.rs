//! Topic metadata on disk: one properties file per topic, written atomically.
//!
//! `meta/topics/<topic>.properties` holds the topic's resolved partition count
//! and every topic-level override the user set. Topic names are validated
//! before they reach this module, so a name can never address a path outside
//! `meta/topics`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::TopicConfig;
use crate::error::{CorruptionKind, Error, Result};
use crate::storage::{sync_dir, write_atomically};
use crate::topic::TopicName;

const SUFFIX: &str = ".properties";

/// The directory of topic metadata files under the data directory.
pub(crate) fn topics_dir(root: &Path) -> PathBuf {
    root.join("meta").join("topics")
}

fn topic_file(root: &Path, name: &TopicName) -> PathBuf {
    topics_dir(root).join(format!("{}{SUFFIX}", name.as_str()))
}

/// Persists a topic's config (which must include its partition count).
pub(crate) fn save_topic(root: &Path, name: &TopicName, config: &TopicConfig) -> Result<()> {
    let dir = topics_dir(root);
    fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    write_atomically(&topic_file(root, name), config.to_properties().as_bytes())
}

/// Removes a topic's metadata file (the commit point of a delete).
pub(crate) fn remove_topic(root: &Path, name: &TopicName) -> Result<()> {
    let path = topic_file(root, name);
    fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
    sync_dir(&topics_dir(root))
}

/// Every persisted topic with its config, sorted by name.
pub(crate) fn load_topics(root: &Path) -> Result<Vec<(TopicName, TopicConfig)>> {
    let dir = topics_dir(root);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list directory", &dir, e)),
    };
    let mut topics = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list directory", &dir, e))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue; // temp files of an interrupted write, or foreign files
        };
        let Ok(name) = TopicName::any(name) else {
            continue;
        };
        let path = entry.path();
        let text = fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        let config = TopicConfig::from_properties(&text).map_err(|_| Error::Corrupt {
            path: path.clone(),
            position: 0,
            kind: CorruptionKind::Malformed("topic metadata is not valid key=value properties"),
        })?;
        topics.push((name, config));
    }
    topics.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let name = TopicName::new("orders").unwrap();
        let config = TopicConfig::new().partitions(3);
        save_topic(dir.path(), &name, &config).unwrap();
        let loaded = load_topics(dir.path()).unwrap();
        assert_eq!(loaded, vec![(name.clone(), config)]);
        remove_topic(dir.path(), &name).unwrap();
        assert!(load_topics(dir.path()).unwrap().is_empty());
    }
}
