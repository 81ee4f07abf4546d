//! `KafkaConsumer`: a librdkafka consumer polled in the caller's thread.
//!
//! librdkafka hands rebalances to the thread that polls, as the Java
//! client does. The context only queues them: `poll` (which has the whole
//! [`Consumer`] at hand) runs the [`RebalanceListener`] and then tells
//! librdkafka to take or give up the partitions, so the listener can commit
//! and seek on the consumer it is given.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, RebalanceProtocol,
};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;

use super::{Consumer, ConsumerConfig, OffsetReset, RebalanceListener, WakeupState};
use crate::config::AssignmentStrategy;
use crate::error::{CommitRefusal, Error, Result};
use crate::group::OffsetAndMetadata;
use crate::record::{ConsumerRecord, Header, TimestampType};
use crate::remote::{
    add, kafka_error, non_negative, offset_at, partition_i32, partitions_of, tp_of, tpl_of,
    KafkaLog, Subject,
};
use crate::topic::TopicPartition;

/// Longest a single librdkafka poll blocks, so a wakeup is seen promptly.
const POLL_SLICE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RebalanceKind {
    Assign,
    Revoke,
    /// A rebalance error: librdkafka asks to drop the assignment.
    Failed,
}

struct RebalanceEvent {
    kind: RebalanceKind,
    partitions: Vec<TopicPartition>,
}

/// Queues rebalances for `poll` instead of applying them in the callback.
#[derive(Default)]
pub(crate) struct Context {
    events: Mutex<VecDeque<RebalanceEvent>>,
    /// Set when the consumer is dropped: nobody polls for the queue then.
    closing: AtomicBool,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let kind = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => RebalanceKind::Assign,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => RebalanceKind::Revoke,
            _ => RebalanceKind::Failed,
        };
        if self.closing.load(Ordering::SeqCst) {
            apply_directly(consumer, kind, tpl);
            return;
        }
        let partitions = partitions_of(tpl);
        self.events
            .lock()
            .push_back(RebalanceEvent { kind, partitions });
    }
}

/// What librdkafka's own callback does, for the rebalances of a closing consumer.
fn apply_directly(consumer: &BaseConsumer<Context>, kind: RebalanceKind, tpl: &TopicPartitionList) {
    let cooperative = matches!(
        consumer.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    );
    // Nobody is left to tell: the consumer is going away.
    let _ = match (kind, cooperative) {
        (RebalanceKind::Assign, true) => consumer.incremental_assign(tpl),
        (RebalanceKind::Assign, false) => consumer.assign(tpl),
        (_, true) => consumer.incremental_unassign(tpl),
        (_, false) => consumer.unassign(),
    };
}

type CommitCallback = Box<dyn FnOnce(Result<()>) + Send>;
type FinishedCommit = (CommitCallback, Result<()>);

pub(crate) struct KafkaConsumer {
    log: Arc<KafkaLog>,
    base: Arc<BaseConsumer<Context>>,
    group_id: Option<String>,
    reset: OffsetReset,
    max_poll_records: usize,
    /// In assignment order.
    assignment: Vec<TopicPartition>,
    /// The offset of the next record `poll` returns, per partition that
    /// returned records or was sought (librdkafka's own position call
    /// needs a group).
    positions: HashMap<TopicPartition, u64>,
    paused: Vec<TopicPartition>,
    subscription: Vec<String>,
    pattern: Option<String>,
    pub(crate) listener: Option<Box<dyn RebalanceListener>>,
    pub(crate) in_listener: bool,
    /// Finished `commit_async` calls, their callbacks run in the next poll.
    commits_done: (Sender<FinishedCommit>, Receiver<FinishedCommit>),
    pub(crate) wakeup: Arc<WakeupState>,
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

    fn timeout(&self) -> Duration {
        self.log.timeout()
    }

    fn group(&self, op: &'static str) -> Result<&str> {
        self.group_id.as_deref().ok_or(Error::NoGroupId(op))
    }

    /// Checks that every partition exists, as the embedded consumer does.
    fn check_exist(&self, partitions: &[TopicPartition]) -> Result<()> {
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
            let offset = positions.get(tp).map_or(Offset::Invalid, |o| offset_at(*o));
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
    fn fetch(&mut self, deadline: Option<Instant>) -> Result<Vec<ConsumerRecord>> {
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

    fn rebalance_waiting(&self) -> bool {
        !self.base.context().events.lock().is_empty()
    }

    fn next_rebalance(&self) -> Option<RebalanceEvent> {
        self.base.context().events.lock().pop_front()
    }

    fn cooperative(&self) -> bool {
        matches!(
            self.base.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        )
    }

    /// Gives up `partitions` after the listener heard of the revocation.
    fn finish_revoke(&mut self, partitions: &[TopicPartition]) -> Result<()> {
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
    fn finish_assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
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
        let names: Vec<&str> = match &pattern {
            // librdkafka reads a leading ^ as a regular expression.
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
        let offset = offset_at(offset);
        let sought = self.base.seek(
            tp.topic(),
            partition_i32(tp.partition()),
            offset,
            self.timeout(),
        );
        match sought {
            Ok(()) => Ok(()),
            // A partition whose fetch has not started yet cannot seek;
            // assigning it again at the offset does the same.
            Err(_) => self.reassign_at(tp, offset),
        }
    }

    fn reassign_at(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()> {
        let positions = self.positions_map()?;
        let mut tpl = TopicPartitionList::new();
        for assigned in &self.assignment {
            let at = match assigned == tp {
                true => offset,
                false => positions
                    .get(assigned)
                    .map_or(Offset::Invalid, |o| offset_at(*o)),
            };
            add(&mut tpl, assigned, at)?;
        }
        let result = match self.cooperative() {
            true => self
                .base
                .incremental_unassign(&tpl_of(std::slice::from_ref(tp))?)
                .and_then(|()| {
                    let mut one = TopicPartitionList::new();
                    one.add_partition_offset(tp.topic(), partition_i32(tp.partition()), offset)?;
                    self.base.incremental_assign(&one)
                }),
            false => self.base.assign(&tpl),
        };
        result.map_err(|e| kafka_error("seek", Subject::topic(tp.topic()), &e))
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
        Ok(found
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(non_negative(o)),
                    _ => None,
                };
                (tp_of(e.topic(), e.partition()), offset)
            })
            .collect())
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

    fn subscribed(&self) -> bool {
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

/// Closes a Kafka-backed consumer as Kafka's `close()` does: it leaves its
/// group, the listener hears of the revocation, and pending asynchronous
/// commits report.
pub(crate) fn close(consumer: &mut Consumer) -> Result<()> {
    let Some(kafka) = consumer.kafka_mut() else {
        return Ok(());
    };
    kafka.run_commit_callbacks();
    if !kafka.subscribed() {
        return Ok(());
    }
    let deadline = Instant::now() + kafka.timeout();
    kafka.base.unsubscribe();
    kafka.subscription.clear();
    kafka.pattern = None;
    let mut first_error = None;
    while let Some(kafka) = consumer.kafka_mut() {
        if kafka.assignment.is_empty() || Instant::now() >= deadline {
            break;
        }
        // Records fetched before the revocation are dropped, as Kafka's are.
        if let Err(error) = kafka.fetch(Some(deadline)) {
            first_error.get_or_insert(error);
        }
        if let Err(error) = handle_rebalances(consumer) {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Polls a Kafka-backed consumer: records, and rebalances through the
/// listener, all in the caller's thread.
pub(crate) fn poll(consumer: &mut Consumer, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let Some(kafka) = consumer.kafka_mut() else {
            return Ok(Vec::new());
        };
        kafka.run_commit_callbacks();
        let records = kafka.fetch(deadline)?;
        let in_listener = kafka.in_listener;
        if !in_listener {
            handle_rebalances(consumer)?;
        }
        if !records.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(records);
        }
    }
}

/// Runs every queued rebalance: the listener first for a revocation (so it
/// can still commit), librdkafka first for an assignment (so positions and
/// seeks work in the listener).
fn handle_rebalances(consumer: &mut Consumer) -> Result<()> {
    let mut first_error = None;
    loop {
        let Some(kafka) = consumer.kafka_mut() else {
            return Ok(());
        };
        let Some(event) = kafka.next_rebalance() else {
            break;
        };
        let lost = kafka.base.assignment_lost() || event.kind == RebalanceKind::Failed;
        let partitions = event.partitions;
        let outcome = match event.kind {
            RebalanceKind::Revoke | RebalanceKind::Failed => {
                let heard = call_listener(consumer, |l, c| match lost {
                    true => l.on_partitions_lost(c, &partitions),
                    false => l.on_partitions_revoked(c, &partitions),
                });
                let given_up = match consumer.kafka_mut() {
                    Some(kafka) => kafka.finish_revoke(&partitions),
                    None => Ok(()),
                };
                heard.and(given_up)
            }
            RebalanceKind::Assign => {
                let taken = match consumer.kafka_mut() {
                    Some(kafka) => kafka.finish_assign(&partitions),
                    None => Ok(()),
                };
                taken.and_then(|()| {
                    call_listener(consumer, |l, c| l.on_partitions_assigned(c, &partitions))
                })
            }
        };
        if let Err(error) = outcome {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn call_listener(
    consumer: &mut Consumer,
    call: impl FnOnce(&mut dyn RebalanceListener, &mut Consumer) -> Result<()>,
) -> Result<()> {
    let Some(kafka) = consumer.kafka_mut() else {
        return Ok(());
    };
    let Some(mut listener) = kafka.listener.take() else {
        return Ok(());
    };
    kafka.in_listener = true;
    let result = call(listener.as_mut(), consumer);
    if let Some(kafka) = consumer.kafka_mut() {
        kafka.in_listener = false;
        kafka.listener = Some(listener);
    }
    result
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

fn record_of(
    message: &BorrowedMessage<'_>,
    names: &mut HashMap<String, Arc<str>>,
) -> ConsumerRecord {
    let topic = match names.get(message.topic()) {
        Some(name) => Arc::clone(name),
        None => {
            let name: Arc<str> = Arc::from(message.topic());
            names.insert(message.topic().to_string(), Arc::clone(&name));
            name
        }
    };
    let (timestamp, timestamp_type) = match message.timestamp() {
        Timestamp::LogAppendTime(t) => (t, TimestampType::LogAppendTime),
        Timestamp::CreateTime(t) => (t, TimestampType::CreateTime),
        Timestamp::NotAvailable => (-1, TimestampType::CreateTime),
    };
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| Header::new(h.key, Bytes::copy_from_slice(h.value.unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    ConsumerRecord {
        topic,
        partition: u32::try_from(message.partition()).unwrap_or_default(),
        offset: non_negative(message.offset()),
        timestamp,
        key: message.key().map(Bytes::copy_from_slice),
        value: message.payload().map(Bytes::copy_from_slice),
        headers,
        timestamp_type,
        leader_epoch: -1,
    }
}

/// `config` plus the consumer's settings.
fn consumer_properties(base: ClientConfig, config: &ConsumerConfig) -> ClientConfig {
    let reset = match config.auto_offset_reset {
        OffsetReset::Earliest => "earliest",
        OffsetReset::Latest => "latest",
        // librdkafka reports a missing offset as an error event.
        OffsetReset::None => "error",
    };
    let strategy = match config.assignment_strategy {
        AssignmentStrategy::Range => "range",
        AssignmentStrategy::RoundRobin => "roundrobin",
        AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
    };
    let mut props = base;
    props
        .set("client.id", &config.client_id)
        .set("auto.offset.reset", reset)
        .set("enable.auto.commit", config.enable_auto_commit.to_string())
        .set(
            "auto.commit.interval.ms",
            millis(config.auto_commit_interval),
        )
        .set("fetch.max.bytes", config.fetch_max_bytes.to_string())
        .set(
            "max.partition.fetch.bytes",
            config.max_partition_fetch_bytes.to_string(),
        )
        .set("session.timeout.ms", millis(config.session_timeout))
        .set("heartbeat.interval.ms", millis(config.heartbeat_interval))
        .set("max.poll.interval.ms", millis(config.max_poll_interval))
        .set("partition.assignment.strategy", strategy)
        // End-of-partition events are not records; tidelog has none.
        .set("enable.partition.eof", "false");
    match &config.group_id {
        Some(group) => props.set("group.id", group),
        // librdkafka's consumer cannot even assign without a group; Kafka's
        // can. A group of its own that never commits stands in: tidelog
        // refuses commits without group.id before librdkafka sees them.
        None => props
            .set("group.id", private_group())
            .set("enable.auto.commit", "false"),
    };
    props
}

fn millis(duration: std::time::Duration) -> String {
    duration.as_millis().min(2_147_483_647).to_string()
}

/// A group id no other consumer uses.
pub(super) fn private_group() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("tidelog-assign-{}-{nanos}-{next}", std::process::id())
}
