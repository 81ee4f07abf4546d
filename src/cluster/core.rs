//! `ClusterCore`: the seam between clients and the brokers that host partitions.
//!
//! Clients address partitions, never brokers: every call is routed to the
//! partition's current leader through a snapshot of the cluster metadata. A
//! leader that is stopped, cut off, or no longer leading answers with a
//! retriable error, and the clients retry once the controller has moved
//! leadership.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;

use super::protocol::metadata::PartitionState;
use super::runtime::brokers::{Brokers, Commit};
use super::runtime::cleaner::{clean_brokers, Cleaning};
use super::runtime::effects::ProduceCallback;
use super::runtime::now_ms;
use super::runtime::replica_host::{Origin, Partition};
use super::runtime::retention::Retention;
use super::runtime::signal::Signal;
use crate::config::{
    describe_topic_config, Acks, ConfigChange, ConfigEntry, LogConfig, TopicConfig,
};
use crate::error::{Error, Result};
use crate::storage::{CleanerState, ReadPool};
use crate::topic::{TopicName, TopicPartition};

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
    /// The leader's offsets when it answered, so a consumer can report lag.
    pub(crate) offsets: PartitionOffsets,
}

/// The clients' way in: routes each call to the partition's leader.
pub(crate) struct ClusterCore {
    brokers: Arc<Brokers>,
    /// Bumped after every topic config alteration, so clients that cache a
    /// topic setting (the producer's size limit) know to read it again.
    config_changes: AtomicU64,
}

impl ClusterCore {
    /// Opens the cluster under `root`: metadata, every broker, their threads.
    pub(crate) fn open(root: &Path, config: LogConfig) -> Result<Arc<ClusterCore>> {
        let brokers = Brokers::open(root, config)?;
        Ok(Arc::new(ClusterCore {
            brokers,
            config_changes: AtomicU64::new(0),
        }))
    }

    /// The running brokers, for the public `Cluster` handle.
    pub(super) fn brokers(&self) -> &Brokers {
        &self.brokers
    }

    fn check_open(&self) -> Result<()> {
        self.brokers.check_open()
    }

    /// The recorded state of one partition.
    pub(crate) fn partition_state(&self, tp: &TopicPartition) -> Result<PartitionState> {
        self.check_open()?;
        let routes = self.brokers.routes();
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
        if self.brokers.faults().is_isolated(leader) {
            return Err(not_leader());
        }
        // The metadata changes before the brokers hear of it: a replica
        // that does not lead yet (or any more) must not answer for the leader.
        self.brokers
            .node(leader)
            .and_then(|n| n.partition(tp))
            .filter(|p| p.leads(state.leader_epoch))
            .ok_or_else(not_leader)
    }

    /// Creates a topic across the brokers; persists its metadata first.
    pub(crate) fn create_topic(&self, name: &TopicName, mut config: TopicConfig) -> Result<()> {
        self.check_open()?;
        let broker = self.brokers.config();
        let replicas = config
            .replication_factor
            .unwrap_or(broker.default_replication_factor);
        let partitions = config.partitions.unwrap_or(broker.num_partitions);
        config.partitions = Some(partitions);
        settle_min_insync(broker, &mut config, replicas)?;
        self.brokers.decide(Commit::Always, |c| {
            let changes = c.create_topic(name.as_str(), config, partitions, replicas)?;
            Ok(((), changes))
        })
    }

    /// Applies `changes` to a topic's settings: validated as a new topic's
    /// would be, persisted, then in force on every hosted replica.
    pub(crate) fn alter_topic_config(&self, name: &str, changes: &[ConfigChange]) -> Result<()> {
        self.check_open()?;
        let broker = self.brokers.config();
        self.brokers.alter_topic_config(name, |current, replicas| {
            let mut config = current.altered(changes)?.validated()?;
            settle_min_insync(broker, &mut config, replicas)?;
            Ok(config)
        })?;
        self.config_changes.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// How many topic config alterations succeeded so far.
    pub(crate) fn config_changes(&self) -> u64 {
        self.config_changes.load(Ordering::Acquire)
    }

    /// The largest batch topic `name` takes now: its `max.message.bytes`,
    /// else the Log's `message.max.bytes`.
    pub(crate) fn max_message_bytes(&self, name: &str) -> u32 {
        let routes = self.brokers.routes();
        let topic = routes.topics.get(name);
        topic
            .and_then(|t| t.config.max_message_bytes)
            .unwrap_or(self.brokers.config().message_max_bytes)
    }

    /// Every topic-level setting of `name` in force now, with its source.
    pub(crate) fn describe_topic_config(&self, name: &str) -> Result<Vec<ConfigEntry>> {
        self.check_open()?;
        let routes = self.brokers.routes();
        let topic = routes.topics.get(name).ok_or_else(|| unknown_topic(name))?;
        let partitions = u32::try_from(topic.partitions.len()).unwrap_or(u32::MAX);
        let replicas = topic.partitions.first().map_or(0, |p| p.replicas.len());
        let replicas = u32::try_from(replicas).unwrap_or(u32::MAX);
        Ok(describe_topic_config(
            self.brokers.config(),
            &topic.config,
            partitions,
            replicas,
        ))
    }

    /// Grows a topic to `total` partitions; the controller places and
    /// persists them before any broker opens one.
    pub(crate) fn create_partitions(&self, name: &str, total: u32) -> Result<()> {
        self.check_open()?;
        self.brokers.decide(Commit::Always, |c| {
            Ok(((), c.create_partitions(name, total)?))
        })
    }

    /// Deletes a topic and its files on every broker.
    pub(crate) fn delete_topic(&self, name: &str) -> Result<()> {
        self.check_open()?;
        self.brokers
            .decide(Commit::Always, |c| match c.delete_topic(name) {
                true => Ok(((), Vec::new())),
                false => Err(Error::UnknownTopic(name.to_string())),
            })?;
        self.brokers.remove_topic_files(name)
    }

    /// Number of partitions of a topic; `Error::UnknownTopic` if absent.
    pub(crate) fn partition_count(&self, topic: &str) -> Result<u32> {
        self.check_open()?;
        let routes = self.brokers.routes();
        let state = routes
            .topics
            .get(topic)
            .ok_or_else(|| unknown_topic(topic))?;
        Ok(u32::try_from(state.partitions.len()).unwrap_or(u32::MAX))
    }

    /// Like `partition_count`, creating the topic when `auto.create.topics.enable` is on.
    pub(crate) fn partition_count_or_create(&self, topic: &str) -> Result<u32> {
        match self.partition_count(topic) {
            Err(Error::UnknownTopic(_)) if self.brokers.config().auto_create_topics => {
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
        self.brokers
            .routes()
            .topics
            .get(topic)
            .map(|t| t.config.clone())
            .ok_or_else(|| Error::UnknownTopic(topic.to_string()))
    }

    /// Names of all user topics, sorted.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.brokers
            .routes()
            .topics
            .keys()
            .filter(|name| !name.starts_with("__"))
            .cloned()
            .collect()
    }

    /// Appends one batch (a Kafka client's, or any other whose bytes this
    /// process did not encode: its CRC is checked) to the partition's
    /// leader. `on_complete` runs exactly once: at once for errors and
    /// `acks` 0/1, or when the high watermark passes the batch for
    /// `acks=all`.
    pub(crate) fn produce(
        &self,
        tp: &TopicPartition,
        mut batch: BytesMut,
        acks: Acks,
        timeout: Duration,
        on_complete: ProduceCallback,
    ) {
        self.append(tp, &mut batch, Origin::Foreign, acks, timeout, on_complete);
    }

    /// As `produce`, for a batch the embedded producer encoded (so the
    /// leader does not compute its CRC again), leaving the bytes with the
    /// caller: the producer's sender keeps them for a retry instead of
    /// handing over a copy. Only the sender calls this.
    pub(crate) fn produce_in_place(
        &self,
        tp: &TopicPartition,
        batch: &mut [u8],
        acks: Acks,
        timeout: Duration,
        on_complete: ProduceCallback,
    ) {
        self.append(tp, batch, Origin::Built, acks, timeout, on_complete);
    }

    fn append(
        &self,
        tp: &TopicPartition,
        batch: &mut [u8],
        origin: Origin,
        acks: Acks,
        timeout: Duration,
        on_complete: ProduceCallback,
    ) {
        let leader = match self.leader(tp) {
            Ok(leader) => leader,
            Err(e) => return on_complete(Err(e)),
        };
        let effects = leader.produce_in_place(batch, origin, acks, timeout, on_complete);
        // Wakes the partition's followers (none for a lone replica), then
        // runs what completed.
        self.brokers.finish(effects);
    }

    /// Whole batches from `offset`, up to `max_bytes` (at least one batch if
    /// any), never at or above the high watermark.
    pub(crate) fn fetch(
        &self,
        tp: &TopicPartition,
        offset: u64,
        max_bytes: usize,
    ) -> Result<FetchResult> {
        self.fetch_pooled(tp, offset, max_bytes, &mut ReadPool::unpooled())
    }

    /// [`fetch`](Self::fetch) reading into `pool`'s buffers, for a reader
    /// that fetches again and again (a consumer): a buffer whose bytes it
    /// no longer holds is reused instead of zeroing a new one.
    pub(crate) fn fetch_pooled(
        &self,
        tp: &TopicPartition,
        offset: u64,
        max_bytes: usize,
        pool: &mut ReadPool,
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
                .read_pooled(offset, max_bytes, offsets.high_watermark, pool)?
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
        // A batch may straddle the log start offset after DeleteRecords.
        let start = partition.log().log_start_offset();
        Ok(found
            .map(|offset| offset.max(start))
            .filter(|offset| *offset < high_watermark))
    }

    /// Deletes the records of `tp` below `offset` on its leader (followers
    /// follow on their next fetch); returns the new log start offset.
    pub(crate) fn delete_records(&self, tp: &TopicPartition, offset: u64) -> Result<u64> {
        self.leader(tp)?.delete_records(offset)
    }

    /// A fresh producer id for an idempotent producer, never handed out before.
    pub(crate) fn allocate_producer_id(&self) -> i64 {
        self.brokers.allocate_producer_id()
    }

    /// Bumped on every high-watermark advance and metadata change.
    pub(crate) fn data_signal(&self) -> &Signal {
        self.brokers.data_signal()
    }

    /// The broker-level configuration.
    pub(crate) fn config(&self) -> &LogConfig {
        self.brokers.config()
    }

    /// Stops every thread, flushes and closes every replica; later calls
    /// fail with `Closed`.
    pub(crate) fn shutdown(&self) -> Result<()> {
        self.brokers.shutdown()
    }
}

impl ClusterCore {
    /// Runs a cleaning pass now on every replica of `topic`, whatever the
    /// dirty ratio (each below its own high watermark).
    pub(crate) fn clean_topic(&self, topic: &str) -> Result<()> {
        self.brokers.check_open()?;
        self.partition_state(&TopicPartition::new(topic, 0))?;
        clean_brokers(&self.brokers, now_ms(), true, |t| t == topic)
    }

    /// What the cleaner did on the leader replica of `tp`.
    pub(crate) fn cleaner_state(&self, tp: &TopicPartition) -> Result<CleanerState> {
        Ok(self.leader(tp)?.log().cleaner_state())
    }
}

impl Cleaning for ClusterCore {
    fn cleaner_backoff(&self) -> Duration {
        self.brokers.config().cleaner_backoff
    }

    fn clean_all(&self) -> Result<()> {
        clean_brokers(&self.brokers, now_ms(), false, |_| true)
    }
}

impl Retention for ClusterCore {
    fn check_interval(&self) -> Duration {
        self.brokers.config().retention_check_interval
    }

    fn enforce_retention(&self) -> Result<()> {
        self.brokers.enforce_retention()
    }
}

/// Fills in the `min.insync.replicas` a topic with `replicas` replicas
/// runs with when it sets none, and refuses one it could never meet: the
/// high watermark only advances while that many replicas are in sync.
fn settle_min_insync(broker: &LogConfig, config: &mut TopicConfig, replicas: u32) -> Result<()> {
    let min_insync = config
        .min_insync_replicas
        .unwrap_or_else(|| broker.min_insync_for(replicas));
    if min_insync > replicas {
        return Err(Error::config(
            "min.insync.replicas",
            min_insync.to_string(),
            format!("exceeds the topic's replication factor {replicas}; lower it or add replicas"),
        ));
    }
    if min_insync != broker.min_insync_replicas {
        config.min_insync_replicas = Some(min_insync);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::cluster::protocol::leader::BrokerId;
    use crate::record::{BatchBuilder, ProducerStamp};

    /// Which brokers' fetchers one `acks=1` append to a fresh topic with
    /// `replicas` replicas on `brokers` brokers woke, and its leader.
    fn woken_by_one_append(brokers: u32, replicas: u32) -> (Vec<bool>, BrokerId) {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            brokers,
            ..LogConfig::default()
        };
        let core = ClusterCore::open(dir.path(), config).unwrap();
        let topic = TopicConfig::new()
            .partitions(1)
            .replication_factor(replicas);
        core.create_topic(&TopicName::new("t").unwrap(), topic)
            .unwrap();
        let tp = TopicPartition::new("t", 0);
        let leader = core.partition_state(&tp).unwrap().leader.unwrap();
        let signal = |id| core.brokers().replication_signal(id).unwrap().current();
        let before: Vec<u64> = (0..brokers).map(signal).collect();
        let mut builder = BatchBuilder::new(64);
        builder.push(0, None, Some(b"v".as_slice()), &[]);
        let (done, outcome) = mpsc::channel();
        core.produce_in_place(
            &tp,
            &mut builder.finish(ProducerStamp::NONE),
            Acks::Leader,
            Duration::from_secs(30),
            Box::new(move |r| done.send(r.is_ok()).unwrap()),
        );
        assert!(outcome.recv().unwrap());
        let woken = (0..brokers).map(|id| signal(id) != before[id as usize]);
        let woken = woken.collect();
        core.shutdown().unwrap();
        (woken, leader)
    }

    #[test]
    fn an_append_wakes_the_fetchers_of_its_followers_only() {
        let (woken, leader) = woken_by_one_append(3, 3);
        let followers: Vec<bool> = (0..3).map(|id| id != leader).collect();
        assert_eq!(woken, followers);
        let (woken, _) = woken_by_one_append(3, 1);
        assert_eq!(woken, [false, false, false]);
        let (woken, _) = woken_by_one_append(1, 1);
        assert_eq!(woken, [false]);
    }
}
