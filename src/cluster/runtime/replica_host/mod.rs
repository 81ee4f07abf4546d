//! One partition replica hosted by one broker: its log, epoch history,
//! producer state, and the role (leader or follower) the controller gave it.
//!
//! All mutation happens under one lock per replica, which also serialises
//! appends; reads of the log take no lock. Completions of produce requests
//! are handed back to the caller as [`Effects`] and run after every lock is
//! released.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use super::effects::{Deliveries, Effects, IsrProposal, ProduceCallback};
use crate::cluster::protocol::epoch_history::EpochHistory;
use crate::cluster::protocol::follower::FollowerState;
use crate::cluster::protocol::leader::{AckOutcome, BrokerId, Completed, LeaderState, Progress};
use crate::cluster::protocol::metadata::PartitionState;
use crate::cluster::protocol::producer_state::{ProducerStateTable, SeqCheck, Sequenced};
use crate::cluster::protocol::role::{Role, Transition};
use crate::config::Acks;
use crate::error::{Error, Result};
use crate::record::BatchHeader;
use crate::storage::{
    AppendInfo, LeaderEpochCheckpoint, PartitionLog, PartitionLogConfig, ReadPool,
};
use crate::topic::TopicPartition;

mod following;

/// Follower fetches ask for up to this much per partition, so replication
/// moves in large sequential chunks.
pub(crate) const REPLICA_FETCH_MAX_BYTES: usize = 1 << 20;

/// Where a produced batch was encoded, which decides whether the leader
/// checks its CRC again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// By this process's own producer (`BatchBuilder`, through the
    /// sender): its CRC was computed over these very bytes.
    Built,
    /// Anywhere else (a Kafka client through the listener): every byte is
    /// checked.
    Foreign,
}

/// A produce request parked until the high watermark passes it.
pub(crate) struct Waiter {
    callback: ProduceCallback,
    info: AppendInfo,
    timeout: Duration,
}

struct Inner {
    role: Role<Waiter>,
    /// Partition epoch of the last state applied; older states are ignored.
    applied: Option<i32>,
    epochs: EpochHistory,
    producers: ProducerStateTable,
}

/// One hosted partition replica.
pub(crate) struct Partition {
    tp: TopicPartition,
    broker: BrokerId,
    log: PartitionLog,
    epoch_file: LeaderEpochCheckpoint,
    inner: Mutex<Inner>,
    high_watermark: AtomicU64,
    /// Produce callbacks, in the order decided under `inner`.
    deliveries: Arc<Deliveries>,
    /// The fetch offset this follower last reported to its current leader
    /// (`u64::MAX` for none yet): an idle partition is not fetched again.
    last_reported: AtomicU64,
    /// The epoch this replica leads in, -1 when it does not lead: lets
    /// client reads check leadership without the replica's lock.
    leading_epoch: AtomicI64,
    stopped: AtomicBool,
    /// The topic's `min.insync.replicas`, which an alteration may change.
    min_insync: AtomicUsize,
    lag_time_max: Duration,
}

impl Partition {
    /// Opens the replica's log and state files and rebuilds producer state.
    pub(crate) fn open(
        dir: PathBuf,
        tp: TopicPartition,
        broker: BrokerId,
        config: PartitionLogConfig,
        min_insync: usize,
        lag_time_max: Duration,
        checkpointed_hw: u64,
    ) -> Result<Partition> {
        let log = PartitionLog::open(dir.clone(), tp.clone(), config)?;
        let epoch_file = LeaderEpochCheckpoint::in_dir(&dir);
        let mut epochs = EpochHistory::from_entries(epoch_file.read()?);
        // A crash may have cut the log below what the history recorded.
        if epochs.truncate_from_end(log.log_end_offset()) {
            epoch_file.write(epochs.entries())?;
        }
        let producers = scan_producers(&log)?;
        let high_watermark = checkpointed_hw.min(log.log_end_offset());
        Ok(Partition {
            tp,
            broker,
            log,
            epoch_file,
            inner: Mutex::new(Inner {
                role: Role::Idle,
                applied: None,
                epochs,
                producers,
            }),
            high_watermark: AtomicU64::new(high_watermark),
            deliveries: Arc::new(Deliveries::default()),
            last_reported: AtomicU64::new(u64::MAX),
            leading_epoch: AtomicI64::new(-1),
            stopped: AtomicBool::new(false),
            min_insync: AtomicUsize::new(min_insync),
            lag_time_max,
        })
    }

    pub(crate) fn tp(&self) -> &TopicPartition {
        &self.tp
    }

    pub(crate) fn log(&self) -> &PartitionLog {
        &self.log
    }

    pub(crate) fn high_watermark(&self) -> u64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// Deletes the records below `offset` (Kafka's DeleteRecords), as the
    /// leader: only committed records may go. Returns the new log start
    /// offset; followers follow it on their next fetch.
    pub(crate) fn delete_records(&self, offset: u64) -> Result<u64> {
        let _inner = self.inner.lock();
        let high_watermark = self.high_watermark();
        if offset > high_watermark {
            return Err(Error::OffsetOutOfRange {
                topic: self.tp.topic().to_string(),
                partition: self.tp.partition(),
                offset,
                log_start_offset: self.log.log_start_offset(),
                log_end_offset: high_watermark,
            });
        }
        self.log.delete_records_before(offset)
    }

    /// Whether this replica leads in `leader_epoch` (and still runs).
    pub(crate) fn leads(&self, leader_epoch: i32) -> bool {
        !self.stopped.load(Ordering::Acquire)
            && self.leading_epoch.load(Ordering::Acquire) == i64::from(leader_epoch)
    }

    fn not_leader(&self) -> Error {
        Error::NotLeader {
            topic: self.tp.topic().to_string(),
            partition: self.tp.partition(),
        }
    }

    /// Appends a producer's batch as leader; the callback lands in the
    /// returned effects (at once, or when the high watermark passes it).
    /// The bytes stay with the caller, with the base offset and leader
    /// epoch stamped in (unless the leader converted them to the topic's
    /// codec), so a retry needs no copy.
    /// Every follower's fetcher is named in the effects, to be woken.
    pub(crate) fn produce_in_place(
        &self,
        batch: &mut [u8],
        origin: Origin,
        acks: Acks,
        timeout: Duration,
        callback: ProduceCallback,
    ) -> Effects {
        let mut effects = Effects::default();
        // Key checks and codec conversion decode the batch: done before
        // the partition lock, so they do not hold up other appends.
        let converted = match self.log.prepare_leader_batch(batch) {
            Ok(converted) => converted,
            Err(e) => {
                effects.deliver(&self.deliveries, callback, Err(e));
                return effects;
            }
        };
        let mut inner = self.inner.lock();
        // A converted batch is the leader's own copy; the caller's bytes are
        // then left unstamped, and a retry converts again.
        let appended = match converted {
            Some(mut owned) => self.append_locked(&mut inner, &mut owned, Origin::Built, acks),
            None => self.append_locked(&mut inner, batch, origin, acks),
        };
        let info = match appended {
            Ok(info) => info,
            Err(e) => {
                effects.deliver(&self.deliveries, callback, Err(e));
                return effects;
            }
        };
        let Role::Leader(state) = &mut inner.role else {
            effects.deliver(&self.deliveries, callback, Err(self.not_leader()));
            return effects;
        };
        for follower in state.followers() {
            effects.fetchers.add(follower);
        }
        let mut progress = state.on_append(info.last_offset + 1);
        if acks == Acks::All {
            let waiter = Waiter {
                callback,
                info,
                timeout,
            };
            let deadline = Instant::now() + timeout;
            merge(
                &mut progress,
                state.wait_for(info.last_offset, deadline, waiter),
            );
        } else {
            effects.deliver(&self.deliveries, callback, Ok(info));
        }
        self.absorb(progress, &mut effects, epochs(state));
        effects
    }

    fn append_locked(
        &self,
        inner: &mut Inner,
        batch: &mut [u8],
        origin: Origin,
        acks: Acks,
    ) -> Result<AppendInfo> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(self.not_leader());
        }
        let Role::Leader(state) = &inner.role else {
            return Err(self.not_leader());
        };
        if acks == Acks::All && !state.enough_replicas() {
            return Err(Error::NotEnoughReplicas {
                topic: self.tp.topic().to_string(),
                partition: self.tp.partition(),
                in_sync: state.isr().len(),
                required: state.min_insync(),
            });
        }
        let epoch = state.leader_epoch();
        let header =
            BatchHeader::parse(batch).map_err(|kind| Error::InvalidBatch { position: 0, kind })?;
        let sequenced = Sequenced::of(&header);
        if let Some(seq) = &sequenced {
            match inner.producers.check(seq) {
                Ok(SeqCheck::Append) => {}
                Ok(SeqCheck::Duplicate(meta)) => {
                    return Ok(AppendInfo {
                        base_offset: meta.first_offset,
                        last_offset: meta.last_offset,
                        log_append_time: None,
                        max_timestamp: header.max_timestamp,
                    })
                }
                Err(gap) => {
                    return Err(Error::OutOfOrderSequence {
                        topic: self.tp.topic().to_string(),
                        partition: self.tp.partition(),
                        producer_id: seq.producer_id,
                        expected: gap.expected,
                        found: gap.found,
                    })
                }
            }
        }
        let info = match origin {
            Origin::Built => self.log.append_built_as_leader(batch, epoch)?,
            Origin::Foreign => self.log.append_as_leader(batch, epoch, false)?,
        };
        if let Some(seq) = &sequenced {
            inner
                .producers
                .record(seq, info.base_offset, info.last_offset);
        }
        Ok(info)
    }

    /// Turns leader-state progress into effects and publishes the high
    /// watermark; ISR proposals name the leader and partition epochs they
    /// were computed in.
    fn absorb(&self, progress: Progress<Waiter>, effects: &mut Effects, epochs: (i32, i32)) {
        if let Some(hw) = progress.high_watermark {
            self.high_watermark.fetch_max(hw, Ordering::AcqRel);
            effects.high_watermark_moved = true;
        }
        if let Some(isr) = progress.isr {
            effects.isr.push(IsrProposal {
                tp: self.tp.clone(),
                leader: self.broker,
                epochs,
                isr,
            });
        }
        for Completed { token, outcome } in progress.completed {
            let result = match outcome {
                AckOutcome::Committed => Ok(token.info),
                AckOutcome::NotEnoughReplicasAfterAppend => {
                    Err(Error::NotEnoughReplicasAfterAppend {
                        topic: self.tp.topic().to_string(),
                        partition: self.tp.partition(),
                    })
                }
                AckOutcome::TimedOut => Err(Error::Timeout {
                    op: "request.timeout.ms",
                    timeout: token.timeout,
                }),
                AckOutcome::LeadershipLost => Err(self.not_leader()),
            };
            effects.deliver(&self.deliveries, token.callback, result);
        }
    }

    /// Serves a follower's fetch: records its progress, returns data from
    /// `fetch_offset`, the leader's high watermark and its log start offset.
    pub(crate) fn serve_fetch(
        &self,
        follower: BrokerId,
        leader_epoch: i32,
        fetch_offset: u64,
        effects: &mut Effects,
        pool: &mut ReadPool,
    ) -> Result<(Bytes, u64, u64)> {
        {
            let mut inner = self.inner.lock();
            let Role::Leader(state) = &mut inner.role else {
                return Err(self.not_leader());
            };
            if self.stopped.load(Ordering::Acquire) || state.leader_epoch() != leader_epoch {
                return Err(self.not_leader());
            }
            let (start, end) = (self.log.log_start_offset(), self.log.log_end_offset());
            if fetch_offset < start || fetch_offset > end {
                return Err(Error::OffsetOutOfRange {
                    topic: self.tp.topic().to_string(),
                    partition: self.tp.partition(),
                    offset: fetch_offset,
                    log_start_offset: start,
                    log_end_offset: end,
                });
            }
            let progress = state.on_fetch(follower, fetch_offset, Instant::now());
            self.absorb(progress, effects, epochs(state));
        }
        let data = if fetch_offset < self.log.log_end_offset() {
            self.log
                .read_pooled(fetch_offset, REPLICA_FETCH_MAX_BYTES, u64::MAX, pool)?
        } else {
            Bytes::new()
        };
        Ok((data, self.high_watermark(), self.log.log_start_offset()))
    }

    /// Takes a topic config alteration: the log's settings and the
    /// `min.insync.replicas` a leader counts with. As leader, a lower
    /// minimum may let the high watermark move (and waiting `acks=all`
    /// writes complete) at once; a higher one refuses the next `acks=all`
    /// write while too few replicas are in sync.
    pub(crate) fn reconfigure(&self, config: PartitionLogConfig, min_insync: usize) -> Effects {
        let mut effects = Effects::default();
        let mut inner = self.inner.lock();
        self.log.set_config(config);
        self.min_insync.store(min_insync, Ordering::Release);
        if let Role::Leader(ls) = &mut inner.role {
            let progress = ls.set_min_insync(min_insync);
            self.absorb(progress, &mut effects, epochs(ls));
        }
        effects
    }

    /// Takes the role the controller recorded in `state`.
    pub(crate) fn apply(&self, state: &PartitionState, now: Instant) -> Effects {
        let mut effects = Effects::default();
        let mut inner = self.inner.lock();
        if inner.applied.is_some_and(|e| e >= state.partition_epoch) {
            return effects;
        }
        inner.applied = Some(state.partition_epoch);
        // A new leader or ISR: the next fetch must report in again.
        self.last_reported.store(u64::MAX, Ordering::Release);
        match inner.role.transition(self.broker, state) {
            Transition::SetIsr => {
                if let Role::Leader(ls) = &mut inner.role {
                    let progress = ls.set_isr(state, now);
                    self.absorb(progress, &mut effects, epochs(ls));
                }
            }
            Transition::Lead => {
                self.resign(&mut inner, &mut effects);
                if self.lead(&mut inner, state, now).is_err() {
                    // Without its epoch recorded this replica must not lead.
                    inner.applied = None;
                }
            }
            Transition::Stay => {}
            Transition::Follow {
                leader,
                leader_epoch,
            } => {
                self.resign(&mut inner, &mut effects);
                inner.role = Role::Follower(FollowerState::new(leader, leader_epoch));
            }
            Transition::Idle => self.resign(&mut inner, &mut effects),
        }
        if let Role::Follower(f) = &mut inner.role {
            f.set_in_sync(state.isr.contains(&self.broker));
        }
        effects
    }

    /// Starts leading in `state`'s epoch, recorded first in the history.
    fn lead(&self, inner: &mut Inner, state: &PartitionState, now: Instant) -> Result<()> {
        let leo = self.log.log_end_offset();
        if inner.epochs.assign(state.leader_epoch, leo) {
            self.epoch_file.write(inner.epochs.entries())?;
        }
        self.leading_epoch
            .store(i64::from(state.leader_epoch), Ordering::Release);
        inner.role = Role::Leader(LeaderState::new(
            self.broker,
            state,
            leo,
            self.high_watermark(),
            self.min_insync.load(Ordering::Acquire),
            self.lag_time_max,
            now,
        ));
        Ok(())
    }

    fn resign(&self, inner: &mut Inner, effects: &mut Effects) {
        self.leading_epoch.store(-1, Ordering::Release);
        if let Role::Leader(state) = &mut inner.role {
            let progress = Progress {
                completed: state.resign(),
                ..Progress::default()
            };
            self.absorb(progress, effects, (0, 0));
        }
        inner.role = Role::Idle;
    }

    /// Leader housekeeping: ISR shrink, request timeouts.
    pub(crate) fn tick(&self, now: Instant) -> Effects {
        let mut effects = Effects::default();
        let mut inner = self.inner.lock();
        if let Role::Leader(state) = &mut inner.role {
            let progress = state.tick(now);
            self.absorb(progress, &mut effects, epochs(state));
        }
        effects
    }

    /// Stops serving; `power_loss` drops what was not fsynced, else flushes.
    pub(crate) fn stop(&self, power_loss: bool) -> (Effects, Result<()>) {
        let mut effects = Effects::default();
        let mut inner = self.inner.lock();
        self.stopped.store(true, Ordering::Release);
        self.resign(&mut inner, &mut effects);
        let result = if power_loss {
            self.log.simulate_power_loss()
        } else {
            self.log.close()
        };
        (effects, result)
    }
}

fn merge(into: &mut Progress<Waiter>, other: Progress<Waiter>) {
    if other.high_watermark.is_some() {
        into.high_watermark = other.high_watermark;
    }
    if other.isr.is_some() {
        into.isr = other.isr;
    }
    into.completed.extend(other.completed);
}

/// Rebuilds producer state from the batch headers in the log.
fn scan_producers(log: &PartitionLog) -> Result<ProducerStateTable> {
    let mut table = ProducerStateTable::default();
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let chunk = log.read(offset, REPLICA_FETCH_MAX_BYTES, u64::MAX)?;
        if chunk.is_empty() {
            break;
        }
        let mut at = 0;
        let before = offset;
        while let Some(header) = chunk.get(at..).and_then(|b| BatchHeader::parse(b).ok()) {
            table.observe(&header);
            offset = u64::try_from(header.last_offset()).map_or(offset, |o| o + 1);
            at += header.size().max(1);
        }
        if offset == before {
            break;
        }
    }
    Ok(table)
}

/// The headers of the whole batches in `data`, in order.
fn batch_headers(data: &[u8]) -> Vec<BatchHeader> {
    let mut headers = Vec::new();
    let mut at = 0;
    while let Some(header) = data.get(at..).and_then(|b| BatchHeader::parse(b).ok()) {
        at += header.size().max(1);
        headers.push(header);
    }
    headers
}

/// The leader and partition epochs a leader's ISR proposals are based on.
fn epochs(state: &LeaderState<Waiter>) -> (i32, i32) {
    (state.leader_epoch(), state.partition_epoch())
}
