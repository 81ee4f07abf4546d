//! `ClusterCore`: the seam between clients and the brokers that host partitions.
//!
//! Clients address partitions, never brokers: every call is routed to the
//! partition's current leader through a snapshot of the cluster metadata. A
//! leader that is stopped, cut off, or no longer leading answers with a
//! retriable error, and the clients retry once the controller has moved
//! leadership.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use parking_lot::{Mutex, RwLock};

use super::broker::BrokerNode;
use super::cluster_meta::{ClusterMetadata, PartitionState};
use super::controller::Controller;
use super::partition::Partition;
use super::replica::BrokerId;
use super::signal::Signal;
use super::transport::Faults;
use crate::config::{Acks, LogConfig, TopicConfig};
use crate::error::{Error, Result};
use crate::storage::{AppendInfo, PartitionLogConfig};
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
    // Part of the seam: a consumer may report lag from it.
    #[allow(dead_code)]
    pub(crate) offsets: PartitionOffsets,
}

/// Shared state of all brokers of one `Log`.
pub(crate) struct ClusterCore {
    pub(super) config: LogConfig,
    pub(super) root: PathBuf,
    pub(super) brokers: Vec<BrokerNode>,
    pub(super) controller: Mutex<Controller>,
    /// What clients route by: a copy of the controller's metadata, replaced
    /// on every change, so lookups never wait for the controller.
    pub(super) routes: RwLock<Arc<ClusterMetadata>>,
    pub(super) faults: Faults,
    /// Bumped when a high watermark advances or the metadata changes.
    pub(super) signal: Signal,
    /// Bumped on every leader append: wakes the fetcher threads.
    pub(super) replication: Arc<Signal>,
    pub(super) closed: AtomicBool,
    pub(super) controller_thread: Mutex<Option<super::lifecycle::ControllerThread>>,
    pub(super) this: Weak<ClusterCore>,
}

/// Milliseconds since the Unix epoch, the clock record timestamps use.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl ClusterCore {
    /// Topic overrides on top of the broker defaults.
    pub(super) fn partition_log_config(&self, topic: &TopicConfig) -> PartitionLogConfig {
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

    pub(super) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed("log"));
        }
        Ok(())
    }

    pub(super) fn node(&self, id: BrokerId) -> Option<&BrokerNode> {
        self.brokers.get(id as usize)
    }

    pub(super) fn faults(&self) -> &Faults {
        &self.faults
    }

    pub(super) fn replication_signal(&self) -> &Arc<Signal> {
        &self.replication
    }

    pub(crate) fn routes(&self) -> Arc<ClusterMetadata> {
        Arc::clone(&self.routes.read())
    }

    /// The recorded state of one partition.
    pub(crate) fn partition_state(&self, tp: &TopicPartition) -> Result<PartitionState> {
        self.check_open()?;
        let routes = self.routes();
        let topic = routes
            .topics
            .get(tp.topic())
            .ok_or_else(|| unknown_topic(tp.topic()))?;
        topic
            .partitions
            .get(tp.partition() as usize)
            .cloned()
            .ok_or_else(|| Error::InvalidPartition {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
                partitions: u32::try_from(topic.partitions.len()).unwrap_or(u32::MAX),
            })
    }

    /// The leader replica of `tp`, reachable from clients.
    fn leader(&self, tp: &TopicPartition) -> Result<Arc<Partition>> {
        let state = self.partition_state(tp)?;
        let not_leader = || Error::NotLeader {
            topic: tp.topic().to_string(),
            partition: tp.partition(),
        };
        let Some(leader) = state.leader else {
            return Err(Error::PartitionOffline {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
            });
        };
        if self.faults.is_isolated(leader) {
            return Err(not_leader());
        }
        // The metadata changes before the brokers hear of it: a replica
        // that does not lead yet (or any more) must not answer for the leader.
        self.node(leader)
            .and_then(|n| n.partition(tp))
            .filter(|p| p.leads(state.leader_epoch))
            .ok_or_else(not_leader)
    }

    /// Creates a topic across the brokers; persists its metadata first.
    pub(crate) fn create_topic(&self, name: &TopicName, mut config: TopicConfig) -> Result<()> {
        self.check_open()?;
        let replicas = config
            .replication_factor
            .unwrap_or(self.config.default_replication_factor);
        let partitions = config.partitions.unwrap_or(self.config.num_partitions);
        config.partitions = Some(partitions);
        let min_insync = config
            .min_insync_replicas
            .unwrap_or_else(|| self.config.min_insync_for(replicas));
        if min_insync > replicas {
            // The high watermark only advances while min.insync.replicas
            // replicas are in sync: such a topic could never be read.
            return Err(Error::config(
                "min.insync.replicas",
                min_insync.to_string(),
                format!(
                    "exceeds the topic's replication factor {replicas}; lower it or add replicas"
                ),
            ));
        }
        if min_insync != self.config.min_insync_replicas {
            config.min_insync_replicas = Some(min_insync);
        }
        let mut controller = self.controller.lock();
        let changes = controller.create_topic(name.as_str(), config, partitions, replicas)?;
        let effects = self.commit(&mut controller, changes);
        drop(controller);
        self.finish(effects?);
        Ok(())
    }

    /// Deletes a topic and its files on every broker.
    pub(crate) fn delete_topic(&self, name: &str) -> Result<()> {
        self.check_open()?;
        let mut controller = self.controller.lock();
        if !controller.delete_topic(name) {
            return Err(Error::UnknownTopic(name.to_string()));
        }
        let effects = self.commit(&mut controller, Vec::new());
        drop(controller);
        self.finish(effects?);
        self.remove_topic_files(name)
    }

    /// Number of partitions of a topic; `Error::UnknownTopic` if absent.
    pub(crate) fn partition_count(&self, topic: &str) -> Result<u32> {
        self.check_open()?;
        let routes = self.routes();
        let state = routes
            .topics
            .get(topic)
            .ok_or_else(|| unknown_topic(topic))?;
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
        self.check_open()?;
        self.routes()
            .topics
            .get(topic)
            .map(|t| t.config.clone())
            .ok_or_else(|| Error::UnknownTopic(topic.to_string()))
    }

    /// Names of all user topics, sorted.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.routes()
            .topics
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
        batch: BytesMut,
        acks: Acks,
        timeout: Duration,
        on_complete: ProduceCallback,
    ) {
        let leader = match self.leader(tp) {
            Ok(leader) => leader,
            Err(e) => return on_complete(Err(e)),
        };
        let effects = leader.produce(batch, acks, timeout, on_complete);
        self.replication.notify();
        self.finish(effects);
    }

    /// Whole batches from `offset`, up to `max_bytes` (at least one batch if
    /// any), never at or above the high watermark.
    pub(crate) fn fetch(
        &self,
        tp: &TopicPartition,
        offset: u64,
        max_bytes: usize,
    ) -> Result<FetchResult> {
        let partition = self.leader(tp)?;
        let offsets = offsets_of(&partition);
        if offset < offsets.log_start_offset || offset > offsets.log_end_offset {
            return Err(out_of_range(tp, offset, offsets));
        }
        let data = if offset >= offsets.high_watermark {
            bytes::Bytes::new()
        } else {
            partition
                .log()
                .read(offset, max_bytes, offsets.high_watermark)?
        };
        Ok(FetchResult { data, offsets })
    }

    /// Log start, high watermark and log end offset of the partition's leader.
    pub(crate) fn offsets(&self, tp: &TopicPartition) -> Result<PartitionOffsets> {
        Ok(offsets_of(&*self.leader(tp)?))
    }

    /// First offset whose timestamp is ≥ `timestamp`, `None` if none.
    pub(crate) fn offset_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        let partition = self.leader(tp)?;
        let found = partition.log().offset_for_timestamp(timestamp)?;
        let high_watermark = partition.high_watermark();
        Ok(found.filter(|offset| *offset < high_watermark))
    }

    /// A fresh producer id for an idempotent producer, never handed out before.
    pub(crate) fn allocate_producer_id(&self) -> i64 {
        let mut controller = self.controller.lock();
        let id = controller.allocate_producer_id();
        // Best effort: ids also start above the clock at open, so a lost
        // write cannot hand out an id twice in practice.
        let _ = controller.metadata().save(&self.root);
        id
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
        let mut first_error = None;
        for node in &self.brokers {
            for partition in node.partitions() {
                let high_watermark = partition.high_watermark();
                if let Err(e) = partition.log().enforce_retention_below(now, high_watermark) {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn offsets_of(partition: &Partition) -> PartitionOffsets {
    PartitionOffsets {
        log_start_offset: partition.log().log_start_offset(),
        high_watermark: partition.high_watermark(),
        log_end_offset: partition.log().log_end_offset(),
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

/// `UnknownTopic`, unless the name could never be created: then the
/// `InvalidTopicName` saying why, rather than advice to create it.
fn unknown_topic(name: &str) -> Error {
    match TopicName::any(name) {
        Err(invalid) => invalid,
        Ok(_) => Error::UnknownTopic(name.to_string()),
    }
}
