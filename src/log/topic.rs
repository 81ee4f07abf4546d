//! `Topic`: the handle on one topic — its partitions' offsets, growth,
//! record deletion, cleaning and settings.

use std::sync::Arc;

use crate::cluster::ClusterCore;
use crate::config::{ConfigChange, ConfigEntry, TopicConfig};
// Without the Kafka backend only the doc links name `Error`.
#[cfg_attr(not(feature = "kafka-client"), allow(unused_imports))]
use crate::error::{Error, Result};
use crate::storage::CleanerState;
use crate::topic::TopicPartition;

/// A handle on one topic.
#[derive(Clone)]
pub struct Topic {
    pub(super) backend: TopicBackend,
    pub(super) name: String,
    pub(super) partitions: u32,
}

#[derive(Clone)]
pub(super) enum TopicBackend {
    Embedded(Arc<ClusterCore>),
    #[cfg(feature = "kafka-client")]
    Kafka(Arc<crate::remote::KafkaLog>),
}

impl TopicBackend {
    /// The embedded cluster, for the calls only it has.
    #[cfg_attr(not(feature = "kafka-client"), allow(unused_variables))]
    fn core(&self, op: &'static str) -> Result<&Arc<ClusterCore>> {
        match self {
            TopicBackend::Embedded(core) => Ok(core),
            #[cfg(feature = "kafka-client")]
            TopicBackend::Kafka(_) => Err(Error::NeedsEmbedded(op)),
        }
    }
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("partitions", &self.partitions)
            .finish()
    }
}

impl Topic {
    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> u32 {
        self.partitions
    }

    /// The current offsets of every partition.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic was deleted, [`Error::Closed`] after close.
    pub fn partitions(&self) -> Result<Vec<PartitionOffsets>> {
        (0..self.partitions).map(|p| self.partition(p)).collect()
    }

    /// The current offsets of one partition.
    ///
    /// # Errors
    /// [`Error::InvalidPartition`] for a partition the topic does not have.
    pub fn partition(&self, partition: u32) -> Result<PartitionOffsets> {
        #[cfg(feature = "kafka-client")]
        if let TopicBackend::Kafka(log) = &self.backend {
            let (log_start_offset, high_watermark) = log.watermarks(&self.name, partition)?;
            // Kafka's ListOffsets tells no log end offset: the high
            // watermark is the end a client can see.
            return Ok(PartitionOffsets {
                partition,
                log_start_offset,
                high_watermark,
                log_end_offset: high_watermark,
            });
        }
        let offsets = self
            .backend
            .core("Topic::partition")?
            .offsets(&TopicPartition::new(self.name.clone(), partition))?;
        Ok(PartitionOffsets {
            partition,
            log_start_offset: offsets.log_start_offset,
            high_watermark: offsets.high_watermark,
            log_end_offset: offsets.log_end_offset,
        })
    }

    /// Grows the topic to `new_total` partitions, as Kafka's
    /// `Admin::createPartitions` does: the cluster places the new partitions
    /// over the brokers (with the topic's replication factor), elects their
    /// leaders and persists them. Producers pick them up the next time they
    /// look the topic up (a record sent to a new partition number does so at
    /// once), and consumer groups subscribed to the topic rebalance onto them
    /// at their next heartbeat; existing partitions and their records are
    /// untouched. Keys hash over the new count from then on, as in Kafka.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `new_total` exceeds the current count
    /// (a topic never shrinks); [`Error::UnknownTopic`] if it was deleted.
    pub fn create_partitions(&mut self, new_total: u32) -> Result<()> {
        match &self.backend {
            TopicBackend::Embedded(core) => core.create_partitions(&self.name, new_total)?,
            #[cfg(feature = "kafka-client")]
            TopicBackend::Kafka(log) => log.create_partitions(&self.name, new_total)?,
        }
        self.partitions = new_total;
        Ok(())
    }

    /// Deletes the records of `partition` below `before_offset`, as Kafka's
    /// `Admin::deleteRecords` does: the partition's log start offset moves up
    /// to it, consumers can no longer read below it (a position there is out
    /// of range, and `auto.offset.reset=earliest` starts at it), and whole
    /// segments below it are deleted. The followers drop the same records on
    /// their next fetch. Returns the new log start offset (never lower than
    /// before: deleting below the current start changes nothing).
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] if `before_offset` is above the high
    /// watermark (only committed records may be deleted);
    /// [`Error::InvalidPartition`] for a partition the topic does not have;
    /// [`Error::NotLeader`] or [`Error::PartitionOffline`] while leadership
    /// moves (retriable).
    pub fn delete_records(&self, partition: u32, before_offset: u64) -> Result<u64> {
        let tp = TopicPartition::new(self.name.clone(), partition);
        match &self.backend {
            TopicBackend::Embedded(core) => core.delete_records(&tp, before_offset),
            #[cfg(feature = "kafka-client")]
            TopicBackend::Kafka(log) => log.delete_records(&tp, before_offset),
        }
    }

    /// Runs a log cleaner pass now on every replica of every partition of
    /// a compacted topic (`cleanup.policy` `compact` or `compact,delete`),
    /// whatever the dirty ratio, as the cleaner thread does every
    /// `log.cleaner.backoff.ms` once the ratio passes
    /// `min.cleanable.dirty.ratio`. Each replica is cleaned below its high
    /// watermark and `min.compaction.lag.ms`; the active segment is never
    /// touched. A topic that does not compact is left as it is.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic was deleted; the first I/O or
    /// corruption error of a replica (the others are still cleaned).
    pub fn clean(&self) -> Result<()> {
        self.backend.core("Topic::clean")?.clean_topic(&self.name)
    }

    /// What the log cleaner has done on the leader replica of `partition`:
    /// last run, bytes cleaned, records removed, dirty ratio.
    ///
    /// # Errors
    /// [`Error::InvalidPartition`] for a partition the topic does not have;
    /// [`Error::NotLeader`] or [`Error::PartitionOffline`] while leadership
    /// moves.
    pub fn cleaner_state(&self, partition: u32) -> Result<CleanerState> {
        let tp = TopicPartition::new(self.name.clone(), partition);
        self.backend
            .core("Topic::cleaner_state")?
            .cleaner_state(&tp)
    }

    /// The topic's own settings (overrides only: unset values follow the
    /// Log's). For every value in force, see [`describe_config`](Self::describe_config).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic was deleted.
    pub fn config(&self) -> Result<TopicConfig> {
        self.backend.core("Topic::config")?.topic_config(&self.name)
    }

    /// Changes the topic's settings, as Kafka's `Admin::incrementalAlterConfigs`
    /// does: each [`ConfigChange`] sets a topic-level key or deletes the
    /// topic's value so the Log's applies again. The result is checked as a
    /// new topic's config is and persisted with the cluster metadata
    /// before any replica uses it, so it survives a restart; then every
    /// replica of the topic on every running broker takes it at once:
    /// size limits and timestamp type at the next append, roll and flush
    /// rules at the next append, retention at the next retention pass,
    /// `min.insync.replicas` at the next `acks=all` write. All or nothing:
    /// when any change is refused, the old settings stay.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key, a bad value, a
    /// combination that fails (`min.insync.replicas` above the replication
    /// factor), or `partitions` / `replication.factor`, which are fixed at
    /// creation (grow a topic with [`create_partitions`](Self::create_partitions));
    /// [`Error::UnknownTopic`] if it was deleted; [`Error::Io`] if the
    /// metadata cannot be written.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ConfigChange, TopicConfig};
    /// let topic = log.create_topic("orders", TopicConfig::new().set("retention.ms", "60000")?)?;
    /// topic.alter_config([
    ///     ConfigChange::set("max.message.bytes", "2097152"),
    ///     ConfigChange::delete("retention.ms"),
    /// ])?;
    /// let config = topic.config()?;
    /// assert_eq!(config.get("max.message.bytes").as_deref(), Some("2097152"));
    /// assert_eq!(config.get("retention.ms"), None);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn alter_config(&self, changes: impl IntoIterator<Item = ConfigChange>) -> Result<()> {
        let changes: Vec<ConfigChange> = changes.into_iter().collect();
        self.backend
            .core("Topic::alter_config")?
            .alter_topic_config(&self.name, &changes)
    }

    /// Every topic-level setting in force, with its value and where it
    /// comes from (the topic, the Log's settings or the default), as
    /// Kafka's `Admin::describeConfigs` reports a topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic was deleted.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// let log = tidelog::Log::builder(dir.path()).set("log.retention.minutes", "1")?.open()?;
    /// use tidelog::{ConfigSource, TopicConfig};
    /// let topic = log.create_topic("orders", TopicConfig::new())?;
    /// let retention = topic.describe_config()?.into_iter().find(|e| e.name() == "retention.ms");
    /// let retention = retention.expect("every topic key is listed");
    /// assert_eq!((retention.value(), retention.source()), ("60000", ConfigSource::Broker));
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn describe_config(&self) -> Result<Vec<ConfigEntry>> {
        self.backend
            .core("Topic::describe_config")?
            .describe_topic_config(&self.name)
    }
}

/// Offsets of one partition at the moment it was asked (Kafka's
/// `ListOffsets` answer; for leader, replicas and ISR, Kafka's
/// `PartitionInfo`, see [`PartitionReplicas`](crate::PartitionReplicas)).
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
/// # let log = tidelog::Log::open(dir.path())?;
/// use tidelog::{ProducerConfig, ProducerRecord, TopicConfig};
/// let topic = log.create_topic("orders", TopicConfig::new())?;
/// log.producer(ProducerConfig::new())?.send_sync(ProducerRecord::new("orders", "a"))?;
/// let offsets = topic.partition(0)?;
/// assert_eq!((offsets.log_start_offset(), offsets.high_watermark()), (0, 1));
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    partition: u32,
    log_start_offset: u64,
    high_watermark: u64,
    log_end_offset: u64,
}

impl PartitionOffsets {
    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }

    /// Offsets below this are replicated and visible to consumers.
    pub fn high_watermark(&self) -> u64 {
        self.high_watermark
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> u64 {
        self.log_end_offset
    }
}
