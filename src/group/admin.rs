//! `ConsumerGroup`: the administrator's handle on a group — describe it, read
//! its committed offsets and lag, reset or delete them.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::description::{GroupDescription, GroupState};
use super::offset_record::OffsetAndMetadata;
use super::registry::{Groups, Offsets};
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

/// Where [`ConsumerGroup::reset_offsets`] moves a group's committed offsets.
///
/// Every target is clamped to the partition's current range, from the log
/// start offset to the high watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetSpec {
    /// The oldest record still in the log (the log start offset).
    Earliest,
    /// Past the newest record (the high watermark): only new records are read.
    Latest,
    /// This exact offset.
    Offset(u64),
    /// The first record whose timestamp (ms since the epoch) is at or after
    /// this one; [`Latest`](OffsetSpec::Latest) when there is none.
    Timestamp(i64),
    /// The committed offset moved by this many records (negative: back).
    /// A partition without a committed offset shifts from the high watermark.
    ShiftBy(i64),
}

/// One partition's committed offset and how far the group is behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub(crate) tp: TopicPartition,
    pub(crate) committed: Option<OffsetAndMetadata>,
    pub(crate) high_watermark: u64,
}

impl PartitionLag {
    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.tp.partition()
    }

    /// The topic and partition.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    /// The committed offset (next to read), if the group committed one.
    pub fn committed(&self) -> Option<&OffsetAndMetadata> {
        self.committed.as_ref()
    }

    /// The partition's high watermark: the offset after the last readable record.
    pub fn high_watermark(&self) -> u64 {
        self.high_watermark
    }

    /// Records not yet consumed: high watermark − committed offset (`None`
    /// without a committed offset).
    pub fn lag(&self) -> Option<u64> {
        self.committed
            .as_ref()
            .map(|c| self.high_watermark.saturating_sub(c.offset()))
    }
}

/// Admin handle on one consumer group, from [`Log::consumer_group`](crate::Log::consumer_group).
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
/// use tidelog::{GroupState, OffsetSpec, TopicConfig};
/// log.create_topic("orders", TopicConfig::new().partitions(2))?;
/// let group = log.consumer_group("billing");
/// group.reset_offsets("orders", OffsetSpec::Earliest)?;
/// assert_eq!(group.describe()?.state(), GroupState::Empty);
/// assert_eq!(group.lag()?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ConsumerGroup {
    backend: Backend,
    name: String,
}

/// Whose group: the embedded log's, or a Kafka cluster's (feature `kafka-client`).
#[derive(Clone)]
enum Backend {
    Embedded(Arc<Groups>),
    #[cfg(feature = "kafka-client")]
    Kafka(super::remote::KafkaGroup),
}

impl std::fmt::Debug for ConsumerGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerGroup")
            .field("group_id", &self.name)
            .finish_non_exhaustive()
    }
}

impl ConsumerGroup {
    pub(crate) fn new(groups: Arc<Groups>, name: &str) -> Self {
        ConsumerGroup {
            backend: Backend::Embedded(groups),
            name: name.to_string(),
        }
    }

    /// The admin handle on a Kafka cluster's group `name`.
    #[cfg(feature = "kafka-client")]
    pub(crate) fn new_kafka(log: Arc<crate::remote::KafkaLog>, name: &str) -> Self {
        ConsumerGroup {
            backend: Backend::Kafka(super::remote::KafkaGroup::new(log, name)),
            name: name.to_string(),
        }
    }

    /// The embedded log's groups; a Kafka group never reaches the
    /// embedded code paths, which ask through here.
    fn groups(&self) -> Result<&Arc<Groups>> {
        match &self.backend {
            Backend::Embedded(groups) => Ok(groups),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => Err(Error::NeedsEmbedded("this group call")),
        }
    }

    #[cfg(feature = "kafka-client")]
    fn kafka(&self) -> Option<&super::remote::KafkaGroup> {
        match &self.backend {
            Backend::Kafka(kafka) => Some(kafka),
            Backend::Embedded(_) => None,
        }
    }

    /// The group id (Kafka's `groupId`).
    pub fn group_id(&self) -> &str {
        &self.name
    }

    /// The group's state, generation, strategy and members with their
    /// partitions. A group never used and without committed offsets is
    /// [`GroupState::Dead`], as Kafka reports unknown groups.
    ///
    /// # Errors
    /// Loading committed offsets can fail with [`Error::Io`] or [`Error::Corrupt`].
    pub fn describe(&self) -> Result<GroupDescription> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.describe();
        }
        if let Some(group) = self.groups()?.existing(&self.name) {
            let description = group.describe();
            if description.state != GroupState::Empty || self.has_offsets()? {
                return Ok(description);
            }
        }
        let state = match self.has_offsets()? {
            true => GroupState::Empty,
            false => GroupState::Dead,
        };
        Ok(GroupDescription {
            group: self.name.clone(),
            state,
            generation: 0,
            strategy: None,
            members: Vec::new(),
        })
    }

    fn has_offsets(&self) -> Result<bool> {
        Ok(!self
            .groups()?
            .offsets()
            .group_offsets(&self.name)?
            .is_empty())
    }

    /// The group's committed offset for one partition.
    ///
    /// # Errors
    /// Loading committed offsets can fail with [`Error::Io`] or [`Error::Corrupt`].
    pub fn committed(&self, partition: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.committed(partition);
        }
        self.groups()?.offsets().committed(&self.name, partition)
    }

    /// Committed offset and lag of every partition of every topic the group
    /// has committed offsets for or its members subscribe to, sorted.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Corrupt`] while loading offsets; a partition
    /// whose leader is unavailable fails the call with a retriable error.
    pub fn lag(&self) -> Result<Vec<PartitionLag>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.lag();
        }
        let committed = self.groups()?.offsets().group_offsets(&self.name)?;
        let mut topics: BTreeSet<String> =
            committed.keys().map(|tp| tp.topic().to_string()).collect();
        if let Some(group) = self.groups()?.existing(&self.name) {
            let members = group.describe();
            for member in members.members() {
                topics.extend(member.assignment().iter().map(|tp| tp.topic().to_string()));
            }
        }
        let core = self.groups()?.core();
        let mut out = Vec::new();
        for topic in topics {
            let Ok(partitions) = core.partition_count(&topic) else {
                continue;
            };
            for p in 0..partitions {
                let tp = TopicPartition::new(topic.as_str(), p);
                let high_watermark = core.offsets(&tp)?.high_watermark;
                out.push(PartitionLag {
                    committed: committed.get(&tp).cloned(),
                    tp,
                    high_watermark,
                });
            }
        }
        Ok(out)
    }

    /// Moves the group's committed offsets for every partition of `topic`
    /// to `spec`; returns the new offsets. The group's consumers start there
    /// the next time they are assigned the partitions.
    ///
    /// To always read the newest record first, reset to
    /// [`OffsetSpec::Latest`], then [`OffsetSpec::ShiftBy(-1)`](OffsetSpec::ShiftBy).
    ///
    /// # Errors
    /// [`Error::GroupNotEmpty`] while the group has members (they would
    /// overwrite the reset with their own positions), [`Error::UnknownTopic`],
    /// and whatever writing the offsets can fail with.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use tidelog::{OffsetSpec, TopicConfig, TopicPartition};
    /// log.create_topic("prices", TopicConfig::new().partitions(1))?;
    /// let group = log.consumer_group("dashboard");
    /// group.reset_offsets("prices", OffsetSpec::Latest)?;
    /// let moved = group.reset_offsets("prices", OffsetSpec::ShiftBy(-1))?;
    /// assert_eq!(moved, vec![(TopicPartition::new("prices", 0), 0)]); // empty topic: clamped
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset_offsets(
        &self,
        topic: &str,
        spec: OffsetSpec,
    ) -> Result<Vec<(TopicPartition, u64)>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.reset_offsets(topic, spec);
        }
        let group = self.groups()?.group(&self.name);
        if !group.describe().members().is_empty() {
            return Err(Error::GroupNotEmpty(self.name.clone()));
        }
        let offsets: Offsets = self
            .plan_reset_offsets(topic, spec)?
            .into_iter()
            .map(|(tp, offset)| (tp, OffsetAndMetadata::new(offset)))
            .collect();
        group.admin_commit(&offsets)?;
        Ok(offsets
            .into_iter()
            .map(|(tp, o)| (tp, o.offset()))
            .collect())
    }

    /// The offsets [`reset_offsets`](Self::reset_offsets) would commit for
    /// every partition of `topic`, without committing anything: the dry run
    /// of Kafka's `kafka-consumer-groups --reset-offsets`.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], and whatever reading the offsets can fail with.
    pub fn plan_reset_offsets(
        &self,
        topic: &str,
        spec: OffsetSpec,
    ) -> Result<Vec<(TopicPartition, u64)>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.plan_reset_offsets(topic, spec);
        }
        let partitions = self.groups()?.core().partition_count(topic)?;
        (0..partitions)
            .map(|p| {
                let tp = TopicPartition::new(topic, p);
                let target = self.target(&tp, spec)?;
                Ok((tp, target))
            })
            .collect()
    }

    fn target(&self, tp: &TopicPartition, spec: OffsetSpec) -> Result<u64> {
        let core = self.groups()?.core();
        let range = core.offsets(tp)?;
        let (start, end) = (range.log_start_offset, range.high_watermark);
        let wanted = match spec {
            OffsetSpec::Earliest => start,
            OffsetSpec::Latest => end,
            OffsetSpec::Offset(offset) => offset,
            OffsetSpec::Timestamp(t) => core.offset_for_timestamp(tp, t)?.unwrap_or(end),
            OffsetSpec::ShiftBy(delta) => {
                let base = self.committed(tp)?.map_or(end, |c| c.offset());
                base.saturating_add_signed(delta)
            }
        };
        Ok(wanted.clamp(start, end.max(start)))
    }

    /// Deletes the group and its committed offsets (tombstones in
    /// `__consumer_offsets`).
    ///
    /// # Errors
    /// [`Error::GroupNotEmpty`] while it has members; [`Error::UnknownGroup`]
    /// if it has nothing to delete.
    pub fn delete(&self) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.delete();
        }
        self.groups()?.delete(&self.name)
    }
}
