//! `KafkaGroup`: consumer group admin over a Kafka cluster — describe,
//! committed offsets, lag, reset and delete.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::groups::GroupInfo;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::{
    GroupDescription, GroupState, MemberDescription, OffsetAndMetadata, OffsetSpec, PartitionLag,
};
use crate::config::AssignmentStrategy;
use crate::error::{Error, Result};
use crate::remote::{
    found_offsets, kafka_error, non_negative, partition_i32, tp_of, tpl_of, KafkaLog, Subject,
};
use crate::topic::TopicPartition;

#[derive(Clone)]
pub(crate) struct KafkaGroup {
    log: Arc<KafkaLog>,
    name: String,
}

impl KafkaGroup {
    pub(crate) fn new(log: Arc<KafkaLog>, name: &str) -> KafkaGroup {
        KafkaGroup {
            log,
            name: name.to_string(),
        }
    }

    /// Every group the cluster knows, sorted.
    pub(crate) fn list(log: &KafkaLog) -> Result<Vec<String>> {
        let list = log.group_list(None)?;
        let mut names: Vec<String> = list.groups().iter().map(|g| g.name().to_string()).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// State, strategy and members as Kafka's `DescribeGroups` reports
    /// them. That answer has no generation: it reads 0.
    pub(crate) fn describe(&self) -> Result<GroupDescription> {
        let list = self.log.group_list(Some(&self.name))?;
        let Some(info) = list.groups().iter().find(|g| g.name() == self.name) else {
            return Ok(self.dead());
        };
        let state = match info.state() {
            "Empty" => GroupState::Empty,
            "PreparingRebalance" => GroupState::PreparingRebalance,
            "CompletingRebalance" | "AwaitingSync" => GroupState::CompletingRebalance,
            "Stable" => GroupState::Stable,
            _ => GroupState::Dead,
        };
        let mut members: Vec<MemberDescription> = info
            .members()
            .iter()
            .map(|m| MemberDescription {
                member_id: m.id().to_string(),
                client_id: m.client_id().to_string(),
                assignment: m.assignment().map(decode_assignment).unwrap_or_default(),
            })
            .collect();
        members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        Ok(GroupDescription {
            group: self.name.clone(),
            state,
            generation: 0,
            strategy: strategy_of(info),
            members,
        })
    }

    fn dead(&self) -> GroupDescription {
        GroupDescription {
            group: self.name.clone(),
            state: GroupState::Dead,
            generation: 0,
            strategy: None,
            members: Vec::new(),
        }
    }

    fn client(&self) -> Result<BaseConsumer> {
        self.log.group_client(&self.name)
    }

    /// Committed offsets of `partitions` that have one.
    fn committed_of(
        &self,
        client: &BaseConsumer,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        if partitions.is_empty() {
            return Ok(BTreeMap::new());
        }
        let tpl = tpl_of(partitions)?;
        let found = client
            .committed_offsets(tpl, self.log.timeout())
            .map_err(|e| kafka_error("committed", Subject::group(&self.name), &e))?;
        Ok(found
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some((
                    tp_of(e.topic(), e.partition()),
                    OffsetAndMetadata::new(non_negative(o)).with_metadata(e.metadata()),
                )),
                _ => None,
            })
            .collect())
    }

    pub(crate) fn committed(&self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        let client = self.client()?;
        Ok(self
            .committed_of(&client, std::slice::from_ref(tp))?
            .remove(tp))
    }

    fn partitions_of(&self, topic: &str) -> Result<Vec<TopicPartition>> {
        let count = self.log.partition_count(topic)?;
        Ok((0..count).map(|p| TopicPartition::new(topic, p)).collect())
    }

    /// Committed offset and lag of every partition of every topic the
    /// group has offsets for or its members are assigned, sorted. Kafka's
    /// `OffsetFetch` for a whole group is not in librdkafka's consumer API,
    /// so every topic's partitions are asked.
    pub(crate) fn lag(&self) -> Result<Vec<PartitionLag>> {
        let client = self.client()?;
        let mut all = Vec::new();
        for topic in self.log.topics()? {
            all.extend(self.partitions_of(&topic)?);
        }
        let committed = self.committed_of(&client, &all)?;
        let mut topics: BTreeSet<String> =
            committed.keys().map(|tp| tp.topic().to_string()).collect();
        for member in self.describe()?.members() {
            topics.extend(member.assignment().iter().map(|tp| tp.topic().to_string()));
        }
        let mut out = Vec::new();
        for tp in all.into_iter().filter(|tp| topics.contains(tp.topic())) {
            let (_, high_watermark) = self.log.watermarks(tp.topic(), tp.partition())?;
            out.push(PartitionLag {
                committed: committed.get(&tp).cloned(),
                tp,
                high_watermark,
            });
        }
        out.sort_by(|a, b| a.tp.cmp(&b.tp));
        Ok(out)
    }

    pub(crate) fn plan_reset_offsets(
        &self,
        topic: &str,
        spec: OffsetSpec,
    ) -> Result<Vec<(TopicPartition, u64)>> {
        let client = self.client()?;
        let partitions = self.partitions_of(topic)?;
        let committed = match spec {
            OffsetSpec::ShiftBy(_) => self.committed_of(&client, &partitions)?,
            _ => BTreeMap::new(),
        };
        let by_time = match spec {
            OffsetSpec::Timestamp(t) => self.offsets_for_time(&client, &partitions, t)?,
            _ => BTreeMap::new(),
        };
        partitions
            .into_iter()
            .map(|tp| {
                let (start, end) = self.log.watermarks(tp.topic(), tp.partition())?;
                let wanted = match spec {
                    OffsetSpec::Earliest => start,
                    OffsetSpec::Latest => end,
                    OffsetSpec::Offset(offset) => offset,
                    OffsetSpec::Timestamp(_) => by_time.get(&tp).copied().flatten().unwrap_or(end),
                    OffsetSpec::ShiftBy(delta) => committed
                        .get(&tp)
                        .map_or(end, OffsetAndMetadata::offset)
                        .saturating_add_signed(delta),
                };
                Ok((tp, wanted.clamp(start, end.max(start))))
            })
            .collect()
    }

    fn offsets_for_time(
        &self,
        client: &BaseConsumer,
        partitions: &[TopicPartition],
        timestamp: i64,
    ) -> Result<BTreeMap<TopicPartition, Option<u64>>> {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition_offset(
                tp.topic(),
                partition_i32(tp.partition()),
                Offset::Offset(timestamp),
            )
            .map_err(|e| kafka_error("reset offsets", Subject::topic(tp.topic()), &e))?;
        }
        let found = client
            .offsets_for_times(tpl, self.log.timeout())
            .map_err(|e| kafka_error("reset offsets", Subject::group(&self.name), &e))?;
        Ok(found_offsets(&found).collect())
    }

    /// Commits the planned offsets as an admin tool does; Kafka refuses
    /// while the group has members.
    pub(crate) fn reset_offsets(
        &self,
        topic: &str,
        spec: OffsetSpec,
    ) -> Result<Vec<(TopicPartition, u64)>> {
        if !self.describe()?.members().is_empty() {
            return Err(Error::GroupNotEmpty(self.name.clone()));
        }
        let planned = self.plan_reset_offsets(topic, spec)?;
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in &planned {
            let at = Offset::Offset(i64::try_from(*offset).unwrap_or(i64::MAX));
            tpl.add_partition_offset(tp.topic(), partition_i32(tp.partition()), at)
                .map_err(|e| kafka_error("reset offsets", Subject::topic(tp.topic()), &e))?;
        }
        let client = self.client()?;
        crate::remote::retrying(self.log.timeout(), || client.commit(&tpl, CommitMode::Sync))
            .map_err(|e| match e.rdkafka_error_code() {
                Some(rdkafka::error::RDKafkaErrorCode::UnknownMemberId)
                | Some(rdkafka::error::RDKafkaErrorCode::RebalanceInProgress) => {
                    Error::GroupNotEmpty(self.name.clone())
                }
                _ => kafka_error("reset offsets", Subject::group(&self.name), &e),
            })?;
        Ok(planned)
    }

    pub(crate) fn delete(&self) -> Result<()> {
        self.log.delete_group(&self.name)
    }
}

fn strategy_of(info: &GroupInfo) -> Option<AssignmentStrategy> {
    match info.protocol() {
        "range" => Some(AssignmentStrategy::Range),
        "roundrobin" => Some(AssignmentStrategy::RoundRobin),
        "cooperative-sticky" => Some(AssignmentStrategy::CooperativeSticky),
        _ => None,
    }
}

/// The partitions in a member's `ConsumerProtocolAssignment` (version,
/// then topics with their partitions); what does not parse is left out.
fn decode_assignment(bytes: &[u8]) -> Vec<TopicPartition> {
    let mut reader = Reader { bytes, at: 0 };
    let mut out = Vec::new();
    let parsed = (|| -> Option<()> {
        reader.i16()?;
        let topics = reader.i32()?;
        for _ in 0..topics.max(0) {
            let len = usize::try_from(reader.i16()?).ok()?;
            let name = std::str::from_utf8(reader.take(len)?).ok()?.to_string();
            let partitions = reader.i32()?;
            for _ in 0..partitions.max(0) {
                out.push(tp_of(&name, reader.i32()?));
            }
        }
        Some(())
    })();
    let _ = parsed;
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}
