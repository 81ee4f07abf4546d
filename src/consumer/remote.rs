//! `KafkaConsumer`: a librdkafka consumer polled in the caller's thread —
//! assignment, positions, seeks, commits and pauses (rebalances are in
//! `remote_rebalance.rs`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, RebalanceProtocol};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::remote_convert::{consumer_properties, record_of};
use super::remote_rebalance::{Context, RebalanceEvent};
use super::{ConsumerConfig, OffsetReset, RebalanceListener, WakeupState};
use crate::error::{CommitRefusal, Error, Result};
use crate::group::OffsetAndMetadata;
use crate::record::ConsumerRecord;
use crate::remote::{
    add, found_offsets, kafka_error, non_negative, offset_at, partition_i32, tpl_of, KafkaLog,
    Subject,
};
use crate::topic::TopicPartition;

/// Longest a single librdkafka poll blocks, so a wakeup is seen promptly.
const POLL_SLICE: Duration = Duration::from_millis(100);

type CommitCallback = Box<dyn FnOnce(Result<()>) + Send>;
type FinishedCommit = (CommitCallback, Result<()>);

pub(crate) struct KafkaConsumer {
    pub(super) log: Arc<KafkaLog>,
    pub(super) base: Arc<BaseConsumer<Context>>,
    pub(super) group_id: Option<String>,
    pub(super) reset: OffsetReset,
    pub(super) max_poll_records: usize,
    /// In assignment order.
    pub(super) assignment: Vec<TopicPartition>,
    /// The offset of the next record `poll` returns, per partition that
    /// returned records or was sought (librdkafka's own position call
    /// needs a group).
    pub(super) positions: HashMap<TopicPartition, u64>,
    pub(super) paused: Vec<TopicPartition>,
    pub(super) subscription: Vec<String>,
    pub(super) pattern: Option<String>,
    pub(super) listener: Option<Box<dyn RebalanceListener>>,
    pub(super) in_listener: bool,
    /// Finished `commit_async` calls, their callbacks run in the next poll.
    pub(super) commits_done: (Sender<FinishedCommit>, Receiver<FinishedCommit>),
    pub(super) wakeup: Arc<WakeupState>,
}

impl KafkaConsumer {
    pub(crate) fn new(
        log: Arc<KafkaLog>,
        config: &ConsumerConfig,
        wakeup: Arc<WakeupState>,
    ) -> Result<KafkaConsumer> {
        let props = consumer_properties(log.config().client_config(), config);
        let base = BaseConsumer::from_config_and_context(&props, Context::default())
            .map_err(|e| kafka_error("create consumer", Subject::default(), &e))?;
        Ok(KafkaConsumer {
            log,
            base: Arc::new(base),
            group_id: config.group_id.clone(),
            reset: config.auto_offset_reset,
            max_poll_records: usize::try_from(config.max_poll_records)
                .unwrap_or(usize::MAX)
                .max(1),
            assignment: Vec::new(),
            positions: HashMap::new(),
            paused: Vec::new(),
            subscription: Vec::new(),
            pattern: None,
            listener: None,
            in_listener: false,
            commits_done: crossbeam_channel::unbounded(),
            wakeup,
        })
    }

    pub(super) fn timeout(&self) -> Duration {
        self.log.timeout()
    }

    fn group(&self, op: &'static str) -> Result<&str> {
        self.group_id.as_deref().ok_or(Error::NoGroupId(op))
    }

    /// Checks that every partition exists, as the embedded consumer does.
    pub(super) fn check_exist(&self, partitions: &[TopicPartition]) -> Result<()> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for tp in partitions {
            let count = match counts.get(tp.topic()) {
                Some(count) => *count,
                None => {
                    let count = self.log.partition_count(tp.topic())?;
                    counts.insert(tp.topic(), count);
                    count
                }
            };
            if tp.partition() >= count {
                return Err(Error::InvalidPartition {
                    topic: tp.topic().to_string(),
                    partition: tp.partition(),
                    partitions: count,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.check_exist(partitions)?;
        let left = self.unsubscribe_quietly();
        // Partitions kept from the previous assignment keep their position.
        let positions = self.positions_map()?;
        let mut tpl = TopicPartitionList::new();
        let mut assignment = Vec::new();
        for tp in partitions {
            if assignment.contains(tp) {
                continue;
            }
            let offset = positions
                .get(tp)
                .map_or(self.start_offset(), |o| offset_at(*o));
            add(&mut tpl, tp, offset)?;
            assignment.push(tp.clone());
        }
        self.base
            .assign(&tpl)
            .map_err(|e| kafka_error("assign", Subject::default(), &e))?;
        self.paused.retain(|tp| assignment.contains(tp));
        self.assignment = assignment;
        self.retain_positions();
        left
    }

    /// Where a partition without a known position starts. A consumer in a
    /// group asks the group (librdkafka looks the committed offset up and
    /// falls back to `auto.offset.reset`); a group-less one has nothing to
    /// ask, so it names the log's start or end directly rather than making
    /// librdkafka look committed offsets up under its private group id,
    /// which waits on a group coordinator the consumer has no use for.
    fn start_offset(&self) -> Offset {
        match (&self.group_id, self.reset) {
            (None, OffsetReset::Earliest) => Offset::Beginning,
            (None, OffsetReset::Latest) => Offset::End,
            _ => Offset::Invalid,
        }
    }

    pub(crate) fn assignment(&self) -> Vec<TopicPartition> {
        self.assignment.clone()
    }

    /// Positions of partitions that returned records or were sought.
    fn positions_map(&self) -> Result<HashMap<TopicPartition, u64>> {
        Ok(self.positions.clone())
    }

    /// Forgets the positions of partitions no longer assigned.
    fn retain_positions(&mut self) {
        let assignment = &self.assignment;
        self.positions.retain(|tp, _| assignment.contains(tp));
    }

    /// Records already fetched or arriving before `deadline`, at most
    /// `max.poll.records`; returns early (maybe empty) when a rebalance
    /// is waiting.
    pub(super) fn fetch(&mut self, deadline: Option<Instant>) -> Result<Vec<ConsumerRecord>> {
        let mut records = Vec::new();
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        loop {
            self.wakeup.check()?;
            let slice = match deadline {
                Some(deadline) => deadline
                    .saturating_duration_since(Instant::now())
                    .min(POLL_SLICE),
                None => POLL_SLICE,
            };
            let wait = if records.is_empty() {
                slice
            } else {
                Duration::ZERO
            };
            match self.base.poll(wait) {
                Some(Ok(message)) => {
                    let record = record_of(&message, &mut names);
                    self.positions
                        .insert(record.topic_partition(), record.offset().saturating_add(1));
                    records.push(record);
                    if records.len() >= self.max_poll_records {
                        return Ok(records);
                    }
                }
                Some(Err(error)) if records.is_empty() => {
                    return Err(kafka_error("poll", Subject::default(), &error))
                }
                // Reported by the next poll, after these records.
                Some(Err(_)) => return Ok(records),
                None => {
                    let expired = deadline.is_some_and(|d| Instant::now() >= d);
                    if !records.is_empty() || expired || self.rebalance_waiting() {
                        return Ok(records);
                    }
                }
            }
        }
    }

    pub(super) fn rebalance_waiting(&self) -> bool {
        !self.base.context().events.lock().is_empty()
    }

    pub(super) fn next_rebalance(&self) -> Option<RebalanceEvent> {
        self.base.context().events.lock().pop_front()
    }

    pub(super) fn cooperative(&self) -> bool {
        matches!(
            self.base.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        )
    }

    /// Gives up `partitions` after the listener heard of the revocation.
    pub(super) fn finish_revoke(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let result = match self.cooperative() {
            true => self.base.incremental_unassign(&tpl_of(partitions)?),
            false => self.base.unassign(),
        };
        match self.cooperative() {
            true => self.assignment.retain(|tp| !partitions.contains(tp)),
            false => self.assignment.clear(),
        }
        self.paused.retain(|tp| self.assignment.contains(tp));
        self.retain_positions();
        result.map_err(|e| kafka_error("rebalance", Subject::default(), &e))
    }

    /// Takes `partitions` before the listener hears of them.
    pub(super) fn finish_assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let tpl = tpl_of(partitions)?;
        let result = match self.cooperative() {
            true => self.base.incremental_assign(&tpl),
            false => self.base.assign(&tpl),
        };
        if !self.cooperative() {
            self.assignment.clear();
        }
        for tp in partitions {
            if !self.assignment.contains(tp) {
                self.assignment.push(tp.clone());
            }
        }
        result.map_err(|e| kafka_error("rebalance", Subject::default(), &e))
    }

    pub(crate) fn subscribe(&mut self, topics: Vec<String>, pattern: Option<String>) -> Result<()> {
        self.group("subscribe")?;
        // librdkafka reads a name with a leading ^ as a regular expression,
        // matched anywhere; Kafka's pattern must match the whole name.
        let anchored = pattern.as_ref().map(|p| format!("^({p})$"));
        let names: Vec<&str> = match &anchored {
            Some(pattern) => vec![pattern.as_str()],
            None => topics.iter().map(String::as_str).collect(),
        };
        if names.is_empty() {
            return self.unsubscribe();
        }
        if self.subscription.is_empty() && self.pattern.is_none() {
            // Ends a manual assignment first.
            self.base
                .unassign()
                .map_err(|e| kafka_error("unassign", Subject::default(), &e))?;
            self.assignment.clear();
        }
        self.base
            .subscribe(&names)
            .map_err(|e| kafka_error("subscribe", Subject::default(), &e))?;
        self.subscription = topics;
        self.pattern = pattern;
        Ok(())
    }

    pub(crate) fn unsubscribe(&mut self) -> Result<()> {
        self.base.unsubscribe();
        self.subscription.clear();
        self.pattern = None;
        self.assignment.clear();
        self.paused.clear();
        self.positions.clear();
        Ok(())
    }

    fn unsubscribe_quietly(&mut self) -> Result<()> {
        match self.subscription.is_empty() && self.pattern.is_none() {
            true => Ok(()),
            false => self.unsubscribe(),
        }
    }

    pub(crate) fn subscription(&self) -> Vec<String> {
        let mut topics = self.subscription.clone();
        topics.sort();
        topics
    }

    pub(crate) fn subscription_pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    fn check_assigned(&self, tp: &TopicPartition) -> Result<()> {
        match self.assignment.contains(tp) {
            true => Ok(()),
            false => Err(Error::NotAssigned {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
            }),
        }
    }

    pub(crate) fn seek(&mut self, tp: &TopicPartition, offset: u64) -> Result<()> {
        self.check_assigned(tp)?;
        self.positions.insert(tp.clone(), offset);
        if !self.subscribed() {
            // librdkafka drops a seek that lands while a partition's fetch
            // is still starting; assigning again at the positions cannot
            // be lost that way.
            return self.reassign();
        }
        let at = offset_at(offset);
        let sought = self.base.seek(
            tp.topic(),
            partition_i32(tp.partition()),
            at,
            self.timeout(),
        );
        match (sought, self.cooperative()) {
            (Ok(()), _) => Ok(()),
            // A partition whose fetch has not started cannot seek; taking
            // it again at the offset does the same.
            (Err(_), true) => self
                .base
                .incremental_unassign(&tpl_of(std::slice::from_ref(tp))?)
                .and_then(|()| {
                    let mut one = TopicPartitionList::new();
                    one.add_partition_offset(tp.topic(), partition_i32(tp.partition()), at)?;
                    self.base.incremental_assign(&one)
                })
                .map_err(|e| kafka_error("seek", Subject::topic(tp.topic()), &e)),
            (Err(_), false) => self.reassign(),
        }
    }

    /// Assigns the current partitions again, each at its position (or
    /// where the group or `auto.offset.reset` says), paused ones paused.
    fn reassign(&mut self) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for tp in &self.assignment {
            let at = self
                .positions
                .get(tp)
                .map_or(self.start_offset(), |o| offset_at(*o));
            add(&mut tpl, tp, at)?;
        }
        self.base
            .assign(&tpl)
            .map_err(|e| kafka_error("seek", Subject::default(), &e))?;
        if !self.paused.is_empty() {
            self.base
                .pause(&tpl_of(&self.paused)?)
                .map_err(|e| kafka_error("pause", Subject::default(), &e))?;
        }
        Ok(())
    }

    pub(crate) fn seek_to(&mut self, partitions: &[TopicPartition], end: bool) -> Result<()> {
        for tp in partitions {
            self.check_assigned(tp)?;
        }
        let targets: &[TopicPartition] = match partitions.is_empty() {
            // Kafka's seekToBeginning(empty) means every assigned partition.
            true => &self.assignment.clone(),
            false => partitions,
        };
        for tp in targets {
            let (low, high) = self.log.watermarks(tp.topic(), tp.partition())?;
            self.seek(tp, if end { high } else { low })?;
        }
        Ok(())
    }

    pub(crate) fn position(&mut self, tp: &TopicPartition) -> Result<u64> {
        self.check_assigned(tp)?;
        if let Some(offset) = self.positions_map()?.get(tp) {
            return Ok(*offset);
        }
        // Not fetched yet: where the fetch will start, as Java's position() tells.
        let offset = self.resolve_position(tp)?;
        if self.group_id.is_none() && self.reset == OffsetReset::Latest {
            // Java's position() also fixes the position it reports: a later
            // "latest" must not move past records produced in between. The
            // other starts (the log's start, a committed offset) stay put
            // without it, and assigning again is kept to where it matters:
            // librdkafka can trip over a partition stopped before it started.
            self.positions.insert(tp.clone(), offset);
            self.reassign()?;
        }
        Ok(offset)
    }

    /// The committed offset, else the one `auto.offset.reset` names.
    fn resolve_position(&self, tp: &TopicPartition) -> Result<u64> {
        if self.group_id.is_some() {
            if let Some(committed) = self.committed(tp)? {
                return Ok(committed.offset());
            }
        }
        let (low, high) = self.log.watermarks(tp.topic(), tp.partition())?;
        match self.reset {
            OffsetReset::Earliest => Ok(low),
            OffsetReset::Latest => Ok(high),
            OffsetReset::None => Err(Error::NoOffsetForPartition {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
            }),
        }
    }

    pub(crate) fn commit_sync(&mut self) -> Result<()> {
        self.group("commit_sync")?;
        let positions = self.positions_map()?;
        let offsets: Vec<(TopicPartition, OffsetAndMetadata)> = self
            .assignment
            .iter()
            .filter_map(|tp| {
                positions
                    .get(tp)
                    .map(|o| (tp.clone(), OffsetAndMetadata::new(*o)))
            })
            .collect();
        self.commit_offsets(&offsets)
    }

    pub(crate) fn commit_offsets(
        &mut self,
        offsets: &[(TopicPartition, OffsetAndMetadata)],
    ) -> Result<()> {
        let group = self.group("commit_offsets")?.to_string();
        if offsets.is_empty() {
            return Ok(());
        }
        let tpl = commit_list(offsets)?;
        self.base
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| commit_error(&group, &e))
    }

    /// Commits the positions on a thread of its own; `callback` runs in a
    /// later `poll` (or `commit_*`) of this consumer, as Kafka's does.
    pub(crate) fn commit_async(&mut self, callback: CommitCallback) -> Result<()> {
        let group = self.group("commit_async")?.to_string();
        let positions = self.positions_map()?;
        let offsets: Vec<(TopicPartition, OffsetAndMetadata)> = self
            .assignment
            .iter()
            .filter_map(|tp| {
                positions
                    .get(tp)
                    .map(|o| (tp.clone(), OffsetAndMetadata::new(*o)))
            })
            .collect();
        let tpl = commit_list(&offsets)?;
        let base = Arc::clone(&self.base);
        let done = self.commits_done.0.clone();
        std::thread::Builder::new()
            .name("tidelog-kafka-commit".to_string())
            .spawn(move || {
                let result = match tpl.count() {
                    0 => Ok(()),
                    _ => base
                        .commit(&tpl, CommitMode::Sync)
                        .map_err(|e| commit_error(&group, &e)),
                };
                let _ = done.send((callback, result));
            })
            .map(|_| ())
            .map_err(|e| Error::spawn("tidelog-kafka-commit", e))
    }

    /// Runs the callbacks of finished asynchronous commits.
    pub(crate) fn run_commit_callbacks(&self) {
        while let Ok((callback, result)) = self.commits_done.1.try_recv() {
            callback(result);
        }
    }

    pub(crate) fn committed(&self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        let group = self.group("committed")?;
        let tpl = tpl_of(std::slice::from_ref(tp))?;
        let found = self
            .base
            .committed_offsets(tpl, self.timeout())
            .map_err(|e| kafka_error("committed", Subject::group(group), &e))?;
        Ok(found.elements().first().and_then(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => {
                Some(OffsetAndMetadata::new(non_negative(o)).with_metadata(e.metadata()))
            }
            _ => None,
        }))
    }

    pub(crate) fn pause(&mut self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        for tp in partitions {
            self.check_assigned(tp)?;
        }
        let tpl = tpl_of(partitions)?;
        let result = match paused {
            true => self.base.pause(&tpl),
            false => self.base.resume(&tpl),
        };
        result.map_err(|e| kafka_error("pause", Subject::default(), &e))?;
        for tp in partitions {
            self.paused.retain(|p| p != tp);
            if paused {
                self.paused.push(tp.clone());
            }
        }
        Ok(())
    }

    pub(crate) fn paused(&self) -> Vec<TopicPartition> {
        self.paused.clone()
    }

    /// The first offset at or after each timestamp, with that record's
    /// timestamp as the broker reports it.
    pub(crate) fn offsets_for_times(
        &self,
        query: &[(TopicPartition, i64)],
    ) -> Result<HashMap<TopicPartition, Option<u64>>> {
        let mut tpl = TopicPartitionList::new();
        for (tp, timestamp) in query {
            add(&mut tpl, tp, Offset::Offset(*timestamp))?;
        }
        let found = self
            .base
            .offsets_for_times(tpl, self.timeout())
            .map_err(|e| kafka_error("offsets_for_times", Subject::default(), &e))?;
        Ok(found_offsets(&found).collect())
    }

    pub(crate) fn log(&self) -> &Arc<KafkaLog> {
        &self.log
    }

    /// Records between the position and the high watermark, when both are known.
    pub(crate) fn lag(&self, tp: &TopicPartition) -> Option<u64> {
        let position = *self.positions_map().ok()?.get(tp)?;
        let (_, high) = self.log.watermarks(tp.topic(), tp.partition()).ok()?;
        Some(high.saturating_sub(position))
    }

    pub(super) fn subscribed(&self) -> bool {
        !self.subscription.is_empty() || self.pattern.is_some()
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // librdkafka's close hands the last revocation to the rebalance
        // callback and waits for it to be applied: from now on the
        // callback applies it itself.
        self.base.context().closing.store(true, Ordering::SeqCst);
    }
}

fn commit_error(group: &str, error: &rdkafka::error::KafkaError) -> Error {
    let refusal = match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::UnknownMemberId) => Some(CommitRefusal::UnknownMember),
        Some(RDKafkaErrorCode::IllegalGeneration) => Some(CommitRefusal::IllegalGeneration),
        _ => None,
    };
    match refusal {
        Some(refusal) => Error::CommitFailed {
            group: group.to_string(),
            refusal,
        },
        None => kafka_error("commit", Subject::group(group), error),
    }
}

fn commit_list(offsets: &[(TopicPartition, OffsetAndMetadata)]) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for (tp, committed) in offsets {
        let offset = offset_at(committed.offset());
        let mut element = tpl.add_partition(tp.topic(), partition_i32(tp.partition()));
        element
            .set_offset(offset)
            .map_err(|e| kafka_error("commit", Subject::topic(tp.topic()), &e))?;
        element.set_metadata(committed.metadata());
    }
    Ok(tpl)
}
