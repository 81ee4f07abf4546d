//! Committed offsets, stored in the internal topic `__consumer_offsets`.
//!
//! A group's commits go to partition `abs(javaHash(group)) % partitions` of
//! that topic (Kafka's placement), as one record per (group, topic,
//! partition), written with `acks=all` so a commit survives what an
//! acknowledged record survives: a restart, and with replication the loss of
//! a broker. The latest record per key wins; a group's deletion writes
//! tombstones. The topic is compacted (`cleanup.policy=compact`), so the
//! cleaner keeps the newest record of every key forever and replay skips
//! the offsets it removed.
//!
//! The store keeps every group's offsets in memory. It fills that map by
//! replaying the whole topic the first time anything asks (the first group
//! operation after the `Log` opens), so reads never touch the log.
//!
//! The topic itself is created lazily, on the first commit: with the default
//! `offsets.topic.num.partitions` = 50 and a replication factor of 3 it is
//! 150 partition directories, a cost a `Log` that never uses groups should
//! not pay. Its replication factor is `offsets.topic.replication.factor`
//! capped at the broker count, and its `min.insync.replicas` is capped at
//! that factor so a single-broker `Log` can still commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use super::offset_record::{
    decode_key, decode_value, encode_key, encode_value, fits_in_key, partition_for,
    OffsetAndMetadata,
};
use crate::cluster::{now_ms, ClusterCore};
use crate::config::{Acks, CleanupPolicy, TopicConfig};
use crate::error::{Error, Result};
use crate::record::{BatchBuilder, BatchIter, ProducerStamp};
use crate::topic::{TopicName, TopicPartition};

/// The internal topic's name, as in Kafka.
pub(crate) const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// How long a commit may take, retries included (Kafka's
/// `offsets.commit.timeout.ms` default).
pub(crate) const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the first load may wait for offline offsets partitions.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Most bytes of records one offsets batch carries (below `message.max.bytes`).
const MAX_BATCH_BYTES: usize = 512 * 1024;

const FETCH_BYTES: usize = 1 << 20;

type GroupOffsets = BTreeMap<TopicPartition, OffsetAndMetadata>;

/// A committed offset and where its record sits in `__consumer_offsets`:
/// a record only replaces one written before it, so the map agrees with the
/// log even when completions of concurrent commits arrive out of order.
#[derive(Debug, Clone)]
struct Stored {
    committed: OffsetAndMetadata,
    log_offset: u64,
}

type Entries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

#[derive(Default)]
struct State {
    loaded: bool,
    /// Partition count of the topic once known to exist.
    partitions: Option<u32>,
    groups: BTreeMap<String, BTreeMap<TopicPartition, Stored>>,
}

impl State {
    /// Forgets the tombstoned partitions only, and only commits older than
    /// the tombstones: a commit that landed after them stays.
    fn delete(&mut self, group: &str, partitions: &[TopicPartition], log_offset: u64) {
        let Some(stored) = self.groups.get_mut(group) else {
            return;
        };
        for tp in partitions {
            if stored.get(tp).is_some_and(|s| s.log_offset <= log_offset) {
                stored.remove(tp);
            }
        }
        if stored.is_empty() {
            self.groups.remove(group);
        }
    }

    fn store(&mut self, group: &str, offsets: GroupOffsets, log_offset: u64) {
        let stored = self.groups.entry(group.to_string()).or_default();
        for (tp, committed) in offsets {
            if stored.get(&tp).is_none_or(|s| s.log_offset <= log_offset) {
                stored.insert(
                    tp,
                    Stored {
                        committed,
                        log_offset,
                    },
                );
            }
        }
    }
}

/// Every group's committed offsets, backed by `__consumer_offsets`.
pub(crate) struct OffsetStore {
    core: Arc<ClusterCore>,
    state: Mutex<State>,
}

impl OffsetStore {
    pub(crate) fn new(core: Arc<ClusterCore>) -> Self {
        OffsetStore {
            core,
            state: Mutex::new(State::default()),
        }
    }

    /// The committed offset of `group` for `tp`, if any.
    pub(crate) fn committed(
        &self,
        group: &str,
        tp: &TopicPartition,
    ) -> Result<Option<OffsetAndMetadata>> {
        let state = self.loaded()?;
        Ok(state
            .groups
            .get(group)
            .and_then(|g| g.get(tp))
            .map(|s| s.committed.clone()))
    }

    /// Every committed offset of `group`.
    pub(crate) fn group_offsets(&self, group: &str) -> Result<GroupOffsets> {
        let state = self.loaded()?;
        Ok(state
            .groups
            .get(group)
            .map(|g| {
                g.iter()
                    .map(|(tp, s)| (tp.clone(), s.committed.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Groups that have committed offsets.
    pub(crate) fn groups(&self) -> Result<Vec<String>> {
        let state = self.loaded()?;
        Ok(state.groups.keys().cloned().collect())
    }

    /// Checks `group` can be stored and creates the topic if needed;
    /// returns the offsets partition holding `group`'s commits. Slow the
    /// first time (the topic's partitions are created), so callers run it
    /// before taking any lock.
    pub(crate) fn prepare(&self, group: &str) -> Result<TopicPartition> {
        if !fits_in_key(group) {
            return Err(Error::config(
                "group.id",
                group.chars().take(100).collect::<String>(),
                "a group id must be shorter than 65536 bytes",
            ));
        }
        let partitions = self.ensure_topic()?;
        Ok(TopicPartition::new(
            OFFSETS_TOPIC,
            partition_for(group, partitions),
        ))
    }

    /// Appends `update` to `tp` (from `prepare`) with acks=all and returns
    /// at once; once it is durable the in-memory view changes, then
    /// `on_complete` runs (on whichever thread completed the write). The
    /// append itself is ordered: callers validate under the group's lock and
    /// call this before releasing it, so commits land in validation order.
    pub(crate) fn append(
        store: &Arc<OffsetStore>,
        tp: &TopicPartition,
        update: Update,
        on_complete: Box<dyn FnOnce(Result<()>) + Send>,
    ) {
        let entries = update.entries();
        let batches: Vec<_> = chunks(&entries).map(build_batch).collect();
        let pending = Arc::new(Mutex::new(Pending {
            remaining: batches.len(),
            last_offset: 0,
            error: None,
            update: Some(update),
            on_complete: Some(on_complete),
        }));
        if batches.is_empty() {
            Pending::finish(&pending, store, None);
        }
        for batch in batches {
            let (owner, pending) = (Arc::clone(store), Arc::clone(&pending));
            store.core.produce(
                tp,
                batch,
                Acks::All,
                COMMIT_TIMEOUT,
                Box::new(move |outcome| Pending::finish(&pending, &owner, Some(outcome))),
            );
        }
    }

    fn loaded(&self) -> Result<parking_lot::MutexGuard<'_, State>> {
        let mut state = self.state.lock();
        if !state.loaded {
            self.load(&mut state)?;
            state.loaded = true;
        }
        Ok(state)
    }

    /// Replays the topic, if it exists, into `state`.
    fn load(&self, state: &mut State) -> Result<()> {
        let partitions = match self.core.partition_count(OFFSETS_TOPIC) {
            Ok(n) => n,
            Err(Error::UnknownTopic(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        state.partitions = Some(partitions);
        for partition in 0..partitions {
            let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
            self.retry(LOAD_TIMEOUT, "loading committed offsets", |_| {
                self.replay_partition(&tp, &mut state.groups)
            })?;
        }
        Ok(())
    }

    fn replay_partition(
        &self,
        tp: &TopicPartition,
        groups: &mut BTreeMap<String, BTreeMap<TopicPartition, Stored>>,
    ) -> Result<()> {
        let offsets = self.core.offsets(tp)?;
        let mut next = offsets.log_start_offset;
        while next < offsets.high_watermark {
            let fetched = self.core.fetch(tp, next, FETCH_BYTES)?;
            let before = next;
            for batch in BatchIter::new(fetched.data) {
                let batch = batch.map_err(|kind| corrupt(tp, next, kind))?;
                for record in batch.records() {
                    let record = record.map_err(|kind| corrupt(tp, next, kind))?;
                    match u64::try_from(record.offset) {
                        Ok(offset) if offset >= next => {
                            apply(groups, offset, record.key.as_ref(), record.value.as_ref());
                        }
                        _ => {}
                    }
                }
                next = u64::try_from(batch.header().last_offset())
                    .map_or(next, |last| last.saturating_add(1).max(next));
            }
            if next == before {
                break;
            }
        }
        Ok(())
    }

    /// Creates `__consumer_offsets` if it does not exist; its partition count.
    fn ensure_topic(&self) -> Result<u32> {
        if let Some(n) = self.loaded()?.partitions {
            return Ok(n);
        }
        let config = self.core.config();
        let replicas = config
            .offsets_topic_replication_factor
            .min(config.brokers)
            .max(1);
        let mut topic = TopicConfig::new()
            .partitions(config.offsets_topic_partitions)
            .replication_factor(replicas)
            .min_insync_replicas(config.min_insync_replicas.min(replicas))
            .segment_bytes(config.offsets_topic_segment_bytes);
        // Compacted, as in Kafka: the newest commit of every (group, topic,
        // partition) is kept however old, whatever the broker's
        // `log.retention.*`, and a deleted group's tombstones go after
        // `delete.retention.ms`.
        topic.cleanup_policy = Some(CleanupPolicy::Compact);
        match self
            .core
            .create_topic(&TopicName::any(OFFSETS_TOPIC)?, topic)
        {
            Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
            Err(e) => return Err(e),
        }
        let partitions = self.core.partition_count(OFFSETS_TOPIC)?;
        self.state.lock().partitions = Some(partitions);
        Ok(partitions)
    }

    /// Runs `attempt` until it succeeds, fails for good, or `timeout`
    /// passes; between retriable failures (leadership moving, too few
    /// in-sync replicas) it waits for the cluster to change.
    pub(crate) fn retry<T>(
        &self,
        timeout: Duration,
        op: &'static str,
        mut attempt: impl FnMut(Instant) -> Result<T>,
    ) -> Result<T> {
        let start = Instant::now();
        let deadline = start.checked_add(timeout).unwrap_or(start);
        loop {
            let seen = self.core.data_signal().current();
            match attempt(deadline) {
                Err(e) if e.is_retriable() && Instant::now() < deadline => {
                    let now = Instant::now();
                    let pause = now
                        .checked_add(Duration::from_millis(20))
                        .map_or(deadline, |p| p.min(deadline));
                    self.core.data_signal().wait_past(seen, pause);
                }
                Err(Error::Timeout { .. }) => return Err(Error::Timeout { op, timeout }),
                other => return other,
            }
        }
    }
}

/// What a write to `__consumer_offsets` does once durable.
#[derive(Debug, Clone)]
pub(crate) enum Update {
    /// Store these committed offsets for the group.
    Commit(String, GroupOffsets),
    /// Tombstone every committed offset of the group (deletion).
    Delete(String, Vec<TopicPartition>),
}

impl Update {
    fn entries(&self) -> Entries {
        match self {
            Update::Commit(group, offsets) => {
                let timestamp = now_ms();
                offsets
                    .iter()
                    .map(|(tp, committed)| {
                        let value = encode_value(committed, timestamp);
                        (encode_key(group, tp), Some(value))
                    })
                    .collect()
            }
            Update::Delete(group, partitions) => partitions
                .iter()
                .map(|tp| (encode_key(group, tp), None))
                .collect(),
        }
    }

    fn apply(self, state: &mut State, log_offset: u64) {
        match self {
            Update::Commit(group, offsets) => state.store(&group, offsets, log_offset),
            Update::Delete(group, partitions) => state.delete(&group, &partitions, log_offset),
        }
    }
}

/// The batches of one append still in flight.
struct Pending {
    remaining: usize,
    last_offset: u64,
    error: Option<Error>,
    update: Option<Update>,
    on_complete: Option<Box<dyn FnOnce(Result<()>) + Send>>,
}

impl Pending {
    /// Records one batch's outcome; after the last, applies the update (if
    /// every batch succeeded) and reports.
    fn finish(
        pending: &Mutex<Pending>,
        store: &OffsetStore,
        outcome: Option<Result<crate::cluster::AppendInfo>>,
    ) {
        let mut p = pending.lock();
        match outcome {
            Some(Ok(info)) => p.last_offset = p.last_offset.max(info.last_offset),
            Some(Err(e)) => {
                p.error.get_or_insert(e);
            }
            None => {}
        }
        p.remaining = p.remaining.saturating_sub(1);
        if p.remaining > 0 {
            return;
        }
        let result = match (p.error.take(), p.update.take()) {
            (Some(e), _) => Err(e),
            (None, Some(update)) => {
                update.apply(&mut store.state.lock(), p.last_offset);
                Ok(())
            }
            (None, None) => Ok(()),
        };
        if let Some(on_complete) = p.on_complete.take() {
            drop(p);
            on_complete(result);
        }
    }
}

fn build_batch(entries: &[(Vec<u8>, Option<Vec<u8>>)]) -> bytes::BytesMut {
    let mut builder = BatchBuilder::new(MAX_BATCH_BYTES);
    let timestamp = now_ms();
    for (key, value) in entries {
        builder.push(timestamp, Some(key), value.as_deref(), &[]);
    }
    builder.finish(ProducerStamp::NONE)
}

/// Splits entries into batches of at most `MAX_BATCH_BYTES` of payload.
fn chunks(
    entries: &[(Vec<u8>, Option<Vec<u8>>)],
) -> impl Iterator<Item = &[(Vec<u8>, Option<Vec<u8>>)]> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut size = 0;
        let mut count = 0;
        for (key, value) in rest {
            size += key.len() + value.as_ref().map_or(0, Vec::len) + 32;
            if count > 0 && size > MAX_BATCH_BYTES {
                break;
            }
            count += 1;
        }
        let (head, tail) = rest.split_at(count.min(rest.len()));
        rest = tail;
        Some(head)
    })
}

fn apply(
    groups: &mut BTreeMap<String, BTreeMap<TopicPartition, Stored>>,
    log_offset: u64,
    key: Option<&Bytes>,
    value: Option<&Bytes>,
) {
    let Some(key) = key.and_then(|k| decode_key(k)) else {
        return;
    };
    match value {
        Some(value) => {
            if let Some(committed) = decode_value(value) {
                let stored = Stored {
                    committed,
                    log_offset,
                };
                groups.entry(key.group).or_default().insert(key.tp, stored);
            }
        }
        None => {
            if let Some(stored) = groups.get_mut(&key.group) {
                stored.remove(&key.tp);
                if stored.is_empty() {
                    groups.remove(&key.group);
                }
            }
        }
    }
}

fn corrupt(tp: &TopicPartition, offset: u64, kind: crate::error::CorruptionKind) -> Error {
    Error::Corrupt {
        path: std::path::PathBuf::from(tp.to_string()),
        position: offset,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(state: &mut State, tp: &TopicPartition, offset: u64, log_offset: u64) {
        let offsets = GroupOffsets::from([(tp.clone(), OffsetAndMetadata::new(offset))]);
        state.store("billing", offsets, log_offset);
    }

    #[test]
    fn a_delete_forgets_only_tombstoned_partitions_committed_before_it() {
        let mut state = State::default();
        let (a, b, c) = (
            TopicPartition::new("orders", 0),
            TopicPartition::new("orders", 1),
            TopicPartition::new("orders", 2),
        );
        commit(&mut state, &a, 1, 10);
        commit(&mut state, &b, 2, 11);
        // Landed after the tombstones (offset 20) but completed first.
        commit(&mut state, &c, 3, 21);
        commit(&mut state, &b, 4, 22);
        Update::Delete("billing".to_string(), vec![a.clone(), b.clone()]).apply(&mut state, 20);
        let left = &state.groups["billing"];
        assert!(!left.contains_key(&a));
        assert_eq!(left[&b].committed.offset(), 4);
        assert_eq!(left[&c].committed.offset(), 3);
        Update::Delete("billing".to_string(), vec![b, c]).apply(&mut state, 30);
        assert!(!state.groups.contains_key("billing"));
    }
}
