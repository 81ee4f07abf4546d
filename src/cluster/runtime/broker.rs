//! One simulated broker: its directory, the replicas it hosts, and its
//! fetcher thread while it runs.
//!
//! Starting, killing and stopping brokers needs the whole cluster (the
//! controller, the other brokers), so those live in `brokers.rs`; this file
//! holds what belongs to one broker alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};

use super::effects::Effects;
use super::replica_host::Partition;
use super::signal::Signal;
use crate::cluster::protocol::leader::BrokerId;
use crate::config::{LogConfig, TopicCompression, TopicConfig};
use crate::error::{Error, Result};
use crate::record::Compression;
use crate::storage::{
    sync_dir, write_atomically, CleanerConfig, CompactionConfig, PartitionLogConfig,
};
use crate::topic::TopicPartition;

/// Per-broker file of high watermarks, in Kafka's layout.
const HW_CHECKPOINT: &str = "replication-offset-checkpoint";

/// A running broker's fetcher thread, the flag that stops it and the
/// signal it waits on.
pub(crate) struct Worker {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) signal: Arc<Signal>,
    pub(crate) handle: JoinHandle<()>,
}

/// One broker of the cluster.
pub(crate) struct BrokerNode {
    id: BrokerId,
    dir: PathBuf,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    running: AtomicBool,
    /// Serialises start, kill and shutdown; holds the fetcher thread.
    pub(crate) lifecycle: Mutex<Option<Worker>>,
    /// What the last high-watermark checkpoint wrote, to skip unchanged ones.
    last_checkpoint: Mutex<String>,
}

impl BrokerNode {
    pub(crate) fn new(id: BrokerId, dir: PathBuf) -> Self {
        BrokerNode {
            id,
            dir,
            partitions: RwLock::new(HashMap::new()),
            running: AtomicBool::new(false),
            lifecycle: Mutex::new(None),
            last_checkpoint: Mutex::new(String::new()),
        }
    }

    pub(crate) fn id(&self) -> BrokerId {
        self.id
    }

    pub(crate) fn partition_dir(&self, tp: &TopicPartition) -> PathBuf {
        self.dir.join(format!("{}-{}", tp.topic(), tp.partition()))
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }

    /// The hosted replica of `tp`, when the broker runs and hosts it.
    pub(crate) fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        if !self.is_running() {
            return None;
        }
        self.partitions.read().get(tp).cloned()
    }

    /// Every hosted replica.
    pub(crate) fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().values().cloned().collect()
    }

    pub(crate) fn insert(&self, partition: Arc<Partition>) {
        self.partitions
            .write()
            .insert(partition.tp().clone(), partition);
    }

    /// Removes and returns every hosted replica (the broker stops).
    pub(crate) fn take_all(&self) -> Vec<Arc<Partition>> {
        self.partitions.write().drain().map(|(_, p)| p).collect()
    }

    /// Removes and returns the replicas of one topic (it is deleted).
    pub(crate) fn take_topic(&self, topic: &str) -> Vec<Arc<Partition>> {
        let mut map = self.partitions.write();
        let doomed: Vec<TopicPartition> = map
            .keys()
            .filter(|tp| tp.topic() == topic)
            .cloned()
            .collect();
        doomed.iter().filter_map(|tp| map.remove(tp)).collect()
    }

    /// High watermarks saved by the last checkpoint.
    pub(crate) fn load_high_watermarks(&self) -> Result<HashMap<TopicPartition, u64>> {
        let path = self.dir.join(HW_CHECKPOINT);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        // A damaged checkpoint only costs visibility (high watermarks restart
        // at 0 and catch up from the leaders), so it is skipped, not fatal.
        let mut out = HashMap::new();
        for line in text.lines().skip(2) {
            let mut words = line.split(' ');
            let (Some(topic), Some(p), Some(hw)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            if let (Ok(p), Ok(hw)) = (p.parse(), hw.parse()) {
                out.insert(TopicPartition::new(topic, p), hw);
            }
        }
        Ok(out)
    }

    /// Writes every hosted replica's high watermark atomically, unless
    /// nothing changed since the last time.
    pub(crate) fn checkpoint_high_watermarks(&self, partitions: &[Arc<Partition>]) -> Result<()> {
        let mut sorted: Vec<&Arc<Partition>> = partitions.iter().collect();
        sorted.sort_by(|a, b| a.tp().cmp(b.tp()));
        let mut text = format!("0\n{}\n", sorted.len());
        for p in sorted {
            let tp = p.tp();
            text.push_str(&format!(
                "{} {} {}\n",
                tp.topic(),
                tp.partition(),
                p.high_watermark()
            ));
        }
        let mut last = self.last_checkpoint.lock();
        if *last == text {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("create directory", &self.dir, e))?;
        write_atomically(&self.dir.join(HW_CHECKPOINT), text.as_bytes())?;
        *last = text;
        Ok(())
    }

    /// Checkpoints and closes every replica of a stopped broker.
    pub(crate) fn close(&self) -> Result<()> {
        let partitions = self.take_all();
        let mut first_error = self.checkpoint_high_watermarks(&partitions).err();
        let mut effects = Effects::default();
        for partition in partitions {
            let (more, result) = partition.stop(false);
            effects.merge(more);
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        effects.complete();
        first_error.map_or(Ok(()), Err)
    }

    /// Deletes expired segments of every hosted replica below its high watermark.
    pub(crate) fn enforce_retention(&self, now_ms: i64) -> Result<()> {
        let mut first_error = None;
        for partition in self.partitions() {
            let high_watermark = partition.high_watermark();
            if let Err(e) = partition
                .log()
                .enforce_retention_below(now_ms, high_watermark)
            {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops and removes the replicas and directories of a deleted topic,
    /// including directories of replicas this broker no longer hosts.
    pub(crate) fn remove_topic(&self, name: &str) -> (Effects, Result<()>) {
        let mut first_error = None;
        let mut effects = Effects::default();
        let remove = |dir: &Path| match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Some(Error::io("remove directory", dir, e))
            }
            _ => None,
        };
        for partition in self.take_topic(name) {
            let (more, _) = partition.stop(false);
            effects.merge(more);
            first_error = first_error.or(remove(&self.partition_dir(partition.tp())));
        }
        let prefix = format!("{name}-");
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let file_name = entry.file_name();
                let is_replica = file_name
                    .to_str()
                    .and_then(|n| n.strip_prefix(&prefix))
                    .is_some_and(|p| p.parse::<u32>().is_ok());
                if is_replica {
                    first_error = first_error.or(remove(&entry.path()));
                }
            }
            if let Err(e) = sync_dir(&self.dir) {
                first_error.get_or_insert(e);
            }
        }
        (effects, first_error.map_or(Ok(()), Err))
    }
}

/// A replica's log settings: the topic's overrides on top of the broker defaults.
pub(crate) fn log_config(broker: &LogConfig, topic: &TopicConfig) -> PartitionLogConfig {
    let policy = topic.cleanup_policy.unwrap_or(broker.cleanup_policy);
    // Time and size retention apply unless the policy is compact alone.
    let deletes = policy.deletes();
    PartitionLogConfig {
        segment_bytes: topic.segment_bytes.unwrap_or(broker.segment_bytes),
        segment_ms: topic.segment_ms.unwrap_or(broker.segment_ms),
        index_interval_bytes: topic
            .index_interval_bytes
            .unwrap_or(broker.index_interval_bytes),
        max_message_bytes: topic.max_message_bytes.unwrap_or(broker.message_max_bytes),
        flush_messages: topic.flush_messages.unwrap_or(broker.flush_messages),
        flush_ms: topic.flush_ms.unwrap_or(broker.flush_ms),
        retention: topic
            .retention
            .unwrap_or(broker.retention)
            .filter(|_| deletes),
        retention_bytes: topic
            .retention_bytes
            .unwrap_or(broker.retention_bytes)
            .filter(|_| deletes),
        timestamp_type: topic.timestamp_type.unwrap_or(broker.timestamp_type),
        stored_codec: match topic.compression.unwrap_or(broker.compression) {
            TopicCompression::Producer => None,
            TopicCompression::Uncompressed => Some(Compression::None),
            TopicCompression::Codec(codec) => Some(codec),
        },
        requires_keys: policy.compacts(),
        compaction: policy.compacts().then(|| compaction_config(broker, topic)),
    }
}

/// The cleaner settings of a compacted topic: its overrides on the
/// broker's `log.cleaner.*` defaults.
fn compaction_config(broker: &LogConfig, topic: &TopicConfig) -> CompactionConfig {
    let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let max_lag = topic
        .max_compaction_lag_ms
        .unwrap_or(broker.max_compaction_lag_ms);
    let ratio_ppm = topic
        .min_cleanable_dirty_ratio_ppm
        .unwrap_or(broker.min_cleanable_dirty_ratio_ppm);
    CompactionConfig {
        cleaner: CleanerConfig {
            delete_retention_ms: ms(topic
                .delete_retention_ms
                .unwrap_or(broker.delete_retention_ms)),
            min_cleanable_dirty_ratio: f64::from(ratio_ppm) / 1e6,
            max_map_bytes: usize::try_from(broker.cleaner_dedupe_buffer).unwrap_or(usize::MAX),
        },
        min_lag_ms: ms(topic
            .min_compaction_lag_ms
            .unwrap_or(broker.min_compaction_lag_ms)),
        max_lag_ms: (ms(max_lag) < i64::MAX).then(|| ms(max_lag)),
    }
}
