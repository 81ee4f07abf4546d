//! `ClusterCore`: the seam between clients and the brokers that host partitions.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use parking_lot::RwLock;

use super::metadata;
use super::signal::Signal;
use crate::config::{Acks, LogConfig, TopicConfig};
use crate::error::{Error, Result};
use crate::storage::{AppendInfo, PartitionLog, PartitionLogConfig};
use crate::topic::{TopicName, TopicPartition};

/// Called exactly once with the outcome of a produce request.
pub(crate) type ProduceCallback = Box<dyn FnOnce(Result<AppendInfo>) + Send>;

/// The offsets a partition's leader reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionOffsets {
    pub(crate) log_start_offset: u64,
    pub(crate) high_watermark: u64,
    pub(crate) log_end_offset: u64,
}

/// What a fetch returned: whole batches below the high watermark.
#[derive(Debug, Clone)]
pub(crate) struct FetchResult {
    pub(crate) data: bytes::Bytes,
    pub(crate) offsets: PartitionOffsets,
}

/// One partition as its (single) replica holds it.
struct PartitionState {
    tp: TopicPartition,
    log: PartitionLog,
    high_watermark: AtomicU64,
}

struct TopicState {
    config: TopicConfig,
    partitions: Vec<Arc<PartitionState>>,
}

/// Shared state of all brokers of one `Log`.
pub(crate) struct ClusterCore {
    config: LogConfig,
    root: PathBuf,
    topics: RwLock<BTreeMap<String, Arc<TopicState>>>,
    signal: Signal,
    next_producer_id: AtomicI64,
    closed: AtomicBool,
}

/// Milliseconds since the Unix epoch, the clock record timestamps use.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl ClusterCore {
    /// Opens every persisted topic under `root`.
    pub(crate) fn open(root: &Path, config: LogConfig) -> Result<ClusterCore> {
        if config.brokers != 1 {
            return Err(Error::config(
                "brokers",
                config.brokers.to_string(),
                "this build runs a single broker; use brokers(1)",
            ));
        }
        let core = ClusterCore {
            config,
            root: root.to_path_buf(),
            topics: RwLock::new(BTreeMap::new()),
            signal: Signal::default(),
            next_producer_id: AtomicI64::new(now_ms()),
            closed: AtomicBool::new(false),
        };
        for (name, topic_config) in metadata::load_topics(root)? {
            let state = core.open_topic(&name, topic_config)?;
            core.topics.write().insert(name.as_str().to_string(), state);
        }
        Ok(core)
    }

    fn broker_dir(&self) -> PathBuf {
        match &self.config.broker_dirs {
            Some(dirs) => dirs
                .first()
                .cloned()
                .unwrap_or_else(|| self.root.join("broker-0")),
            None => self.root.join("broker-0"),
        }
    }

    fn partition_dir(&self, topic: &TopicName, partition: u32) -> PathBuf {
        self.broker_dir()
            .join(format!("{}-{partition}", topic.as_str()))
    }

    fn open_topic(&self, name: &TopicName, config: TopicConfig) -> Result<Arc<TopicState>> {
        let count = config.partitions.unwrap_or(self.config.num_partitions);
        let log_config = self.partition_log_config(&config);
        let mut partitions = Vec::with_capacity(count as usize);
        for p in 0..count {
            let tp = TopicPartition::new(name.as_str(), p);
            let log =
                PartitionLog::open(self.partition_dir(name, p), tp.clone(), log_config.clone())?;
            let high_watermark = AtomicU64::new(log.log_end_offset());
            partitions.push(Arc::new(PartitionState {
                tp,
                log,
                high_watermark,
            }));
        }
        Ok(Arc::new(TopicState { config, partitions }))
    }

    /// Topic overrides on top of the broker defaults.
    fn partition_log_config(&self, topic: &TopicConfig) -> PartitionLogConfig {
        let broker = &self.config;
        PartitionLogConfig {
            segment_bytes: topic.segment_bytes.unwrap_or(broker.segment_bytes),
            segment_ms: topic.segment_ms.unwrap_or(broker.segment_ms),
            index_interval_bytes: topic
                .index_interval_bytes
                .unwrap_or(broker.index_interval_bytes),
            max_message_bytes: topic.max_message_bytes.unwrap_or(broker.message_max_bytes),
            flush_messages: topic.flush_messages.unwrap_or(broker.flush_messages),
            flush_ms: topic.flush_ms.unwrap_or(broker.flush_ms),
            retention: topic.retention.unwrap_or(broker.retention),
            retention_bytes: topic.retention_bytes.unwrap_or(broker.retention_bytes),
            timestamp_type: topic.timestamp_type.unwrap_or(broker.timestamp_type),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed("log"));
        }
        Ok(())
    }

    /// Creates a topic; persists its metadata before any partition exists so a
    /// crash never leaves partitions nobody knows about.
    pub(crate) fn create_topic(&self, name: &TopicName, mut config: TopicConfig) -> Result<()> {
        self.check_open()?;
        let replicas = config.replication_factor.unwrap_or(1);
        if replicas > self.config.brokers {
            return Err(Error::InvalidReplicationFactor {
                requested: replicas,
                brokers: self.config.brokers,
            });
        }
        config.partitions = Some(config.partitions.unwrap_or(self.config.num_partitions));
        let mut topics = self.topics.write();
        if topics.contains_key(name.as_str()) {
            return Err(Error::TopicAlreadyExists(name.as_str().to_string()));
        }
        metadata::save_topic(&self.root, name, &config)?;
        let state = self.open_topic(name, config)?;
        topics.insert(name.as_str().to_string(), state);
        drop(topics);
        self.signal.notify();
        Ok(())
    }

    /// Deletes a topic and its files.
    pub(crate) fn delete_topic(&self, name: &str) -> Result<()> {
        self.check_open()?;
        let topic_name = TopicName::any(name)?;
        let state = self
            .topics
            .write()
            .remove(name)
            .ok_or_else(|| Error::UnknownTopic(name.to_string()))?;
        metadata::remove_topic(&self.root, &topic_name)?;
        for partition in &state.partitions {
            let dir = partition.log.dir().to_path_buf();
            fs::remove_dir_all(&dir).map_err(|e| Error::io("remove directory", &dir, e))?;
        }
        self.signal.notify();
        Ok(())
    }

    fn topic(&self, topic: &str) -> Result<Arc<TopicState>> {
        self.check_open()?;
        self.topics
            .read()
            .get(topic)
            .cloned()
            .ok_or_else(|| Error::UnknownTopic(topic.to_string()))
    }

    fn partition(&self, tp: &TopicPartition) -> Result<Arc<PartitionState>> {
        let topic = self.topic(tp.topic())?;
        let count = topic.partitions.len();
        topic
            .partitions
            .get(tp.partition() as usize)
            .cloned()
            .ok_or_else(|| Error::InvalidPartition {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
                partitions: u32::try_from(count).unwrap_or(u32::MAX),
            })
    }

    /// Number of partitions of a topic; `Error::UnknownTopic` if absent.
    pub(crate) fn partition_count(&self, topic: &str) -> Result<u32> {
        let state = self.topic(topic)?;
        Ok(u32::try_from(state.partitions.len()).unwrap_or(u32::MAX))
    }

    /// Like `partition_count`, creating the topic when `auto.create.topics.enable` is on.
    pub(crate) fn partition_count_or_create(&self, topic: &str) -> Result<u32> {
        match self.partition_count(topic) {
            Err(Error::UnknownTopic(_)) if self.config.auto_create_topics => {
                let name = TopicName::new(topic)?;
                match self.create_topic(&name, TopicConfig::new()) {
                    Ok(()) | Err(Error::TopicAlreadyExists(_)) => self.partition_count(topic),
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    }

    /// The config a topic was created with.
    pub(crate) fn topic_config(&self, topic: &str) -> Result<TopicConfig> {
        Ok(self.topic(topic)?.config.clone())
    }

    /// Names of all user topics, sorted.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.topics
            .read()
            .keys()
            .filter(|name| !name.starts_with("__"))
            .cloned()
            .collect()
    }

    /// Appends one batch (built by `BatchBuilder`) to the partition's leader.
    /// `on_complete` runs exactly once: at once for errors and `acks` 0/1,
    /// or when the high watermark passes the batch for `acks=all`.
    pub(crate) fn produce(
        &self,
        tp: &TopicPartition,
        mut batch: BytesMut,
        _acks: Acks,
        _timeout: Duration,
        on_complete: ProduceCallback,
    ) {
        let result = self.partition(tp).and_then(|partition| {
            let info = partition.log.append_as_leader(&mut batch, 0, false)?;
            // One replica: everything appended is replicated, so the high
            // watermark is the log end offset.
            partition
                .high_watermark
                .store(info.last_offset + 1, Ordering::Release);
            Ok(info)
        });
        if result.is_ok() {
            self.signal.notify();
        }
        on_complete(result);
    }

    /// Whole batches from `offset`, up to `max_bytes` (at least one batch if
    /// any), never at or above the high watermark.
    pub(crate) fn fetch(
        &self,
        tp: &TopicPartition,
        offset: u64,
        max_bytes: usize,
    ) -> Result<FetchResult> {
        let partition = self.partition(tp)?;
        let offsets = Self::offsets_of(&partition);
        if offset < offsets.log_start_offset || offset > offsets.log_end_offset {
            return Err(out_of_range(tp, offset, offsets));
        }
        let data = if offset >= offsets.high_watermark {
            bytes::Bytes::new()
        } else {
            partition
                .log
                .read(offset, max_bytes, offsets.high_watermark)?
        };
        Ok(FetchResult { data, offsets })
    }

    fn offsets_of(partition: &PartitionState) -> PartitionOffsets {
        PartitionOffsets {
            log_start_offset: partition.log.log_start_offset(),
            high_watermark: partition.high_watermark.load(Ordering::Acquire),
            log_end_offset: partition.log.log_end_offset(),
        }
    }

    /// Log start, high watermark and log end offset of the partition's leader.
    pub(crate) fn offsets(&self, tp: &TopicPartition) -> Result<PartitionOffsets> {
        Ok(Self::offsets_of(&*self.partition(tp)?))
    }

    /// First offset whose timestamp is ≥ `timestamp`, `None` if none.
    pub(crate) fn offset_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        let partition = self.partition(tp)?;
        let found = partition.log.offset_for_timestamp(timestamp)?;
        let high_watermark = partition.high_watermark.load(Ordering::Acquire);
        Ok(found.filter(|offset| *offset < high_watermark))
    }

    /// A fresh producer id for an idempotent producer.
    pub(crate) fn allocate_producer_id(&self) -> i64 {
        self.next_producer_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Bumped on every high-watermark advance and metadata change.
    pub(crate) fn data_signal(&self) -> &Signal {
        &self.signal
    }

    /// The broker-level configuration.
    pub(crate) fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Deletes expired segments everywhere; called by the retention thread.
    pub(crate) fn enforce_retention(&self) -> Result<()> {
        let now = now_ms();
        let partitions: Vec<_> = self
            .topics
            .read()
            .values()
            .flat_map(|t| t.partitions.iter().cloned())
            .collect();
        let mut first_error = None;
        for partition in partitions {
            if let Err(e) = partition.log.enforce_retention(now) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Flushes and closes every partition; later calls fail with `Closed`.
    pub(crate) fn shutdown(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let topics = std::mem::take(&mut *self.topics.write());
        let mut first_error = None;
        for partition in topics.values().flat_map(|t| t.partitions.iter()) {
            if let Err(e) = partition.log.close() {
                first_error.get_or_insert(e);
            }
        }
        self.signal.notify();
        first_error.map_or(Ok(()), Err)
    }

    /// The partition's topic-partition name, for errors.
    #[cfg(test)]
    pub(crate) fn has_partition(&self, tp: &TopicPartition) -> bool {
        self.partition(tp).map(|p| p.tp == *tp).unwrap_or(false)
    }
}

fn out_of_range(tp: &TopicPartition, offset: u64, offsets: PartitionOffsets) -> Error {
    Error::OffsetOutOfRange {
        topic: tp.topic().to_string(),
        partition: tp.partition(),
        offset,
        log_start_offset: offsets.log_start_offset,
        log_end_offset: offsets.log_end_offset,
    }
}
