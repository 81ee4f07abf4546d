//! Simulated brokers: where partitions live, who leads them, how clients reach them.
//!
//! `ClusterCore` is the seam the clients (producer, consumer, groups) and the
//! `Log` front door use (API CONTRACT STUB — implementation pending).
#![allow(dead_code, unused_variables, clippy::todo)]

mod controller;
mod epoch_cache;
mod cluster_meta;
mod producer_state;
mod replica;
mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::config::{Acks, LogConfig, TopicConfig};
use crate::error::Result;
use crate::storage::AppendInfo;
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
    pub(crate) data: Bytes,
    pub(crate) offsets: PartitionOffsets,
}

/// A counter bumped whenever any high watermark advances (or the cluster
/// changes), with a condition variable to wait on: consumers sleep on it
/// instead of polling.
#[derive(Default)]
pub(crate) struct Signal {
    seq: parking_lot::Mutex<u64>,
    cond: parking_lot::Condvar,
}

impl Signal {
    /// The current sequence number; pass it to `wait_past`.
    pub(crate) fn current(&self) -> u64 {
        *self.seq.lock()
    }
    /// Wakes every waiter.
    pub(crate) fn notify(&self) {
        let mut seq = self.seq.lock();
        *seq = seq.wrapping_add(1);
        self.cond.notify_all();
    }
    /// Waits until the sequence moves past `seen` or `deadline` passes;
    /// returns whether it moved.
    pub(crate) fn wait_past(&self, seen: u64, deadline: Instant) -> bool {
        let mut seq = self.seq.lock();
        while *seq == seen {
            if self.cond.wait_until(&mut seq, deadline).timed_out() {
                return *seq != seen;
            }
        }
        true
    }
}

/// Shared state of all brokers of one `Log`.
pub(crate) struct ClusterCore {}

impl ClusterCore {
    /// Creates a topic across the brokers; persists its metadata.
    pub(crate) fn create_topic(&self, name: &TopicName, config: TopicConfig) -> Result<()> {
        todo!()
    }
    /// Deletes a topic and its files.
    pub(crate) fn delete_topic(&self, name: &str) -> Result<()> {
        todo!()
    }
    /// Number of partitions of a topic; `Error::UnknownTopic` if absent.
    pub(crate) fn partition_count(&self, topic: &str) -> Result<u32> {
        todo!()
    }
    /// Like `partition_count`, creating the topic when `auto.create.topics.enable` is on.
    pub(crate) fn partition_count_or_create(&self, topic: &str) -> Result<u32> {
        todo!()
    }
    /// Names of all user topics, sorted.
    pub(crate) fn topics(&self) -> Vec<String> {
        todo!()
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
        todo!()
    }
    /// Whole batches from `offset`, up to `max_bytes` (at least one batch if
    /// any), never at or above the high watermark.
    pub(crate) fn fetch(
        &self,
        tp: &TopicPartition,
        offset: u64,
        max_bytes: usize,
    ) -> Result<FetchResult> {
        todo!()
    }
    /// Log start, high watermark and log end offset of the partition's leader.
    pub(crate) fn offsets(&self, tp: &TopicPartition) -> Result<PartitionOffsets> {
        todo!()
    }
    /// First offset whose timestamp is ≥ `timestamp`, `None` if none.
    pub(crate) fn offset_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        todo!()
    }
    /// A fresh producer id for an idempotent producer.
    pub(crate) fn allocate_producer_id(&self) -> i64 {
        todo!()
    }
    /// Bumped on every high-watermark advance and metadata change.
    pub(crate) fn data_signal(&self) -> &Signal {
        todo!()
    }
    /// The broker-level configuration.
    pub(crate) fn config(&self) -> &LogConfig {
        todo!()
    }
}

pub(crate) type Core = Arc<ClusterCore>;
