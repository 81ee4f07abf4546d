//! A sealed batch on its way to the leader, and how its outcome reaches the
//! records' callbacks.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::accumulator::PartitionAccumulator;
use crate::error::{Error, Result};
use crate::record::RecordMetadata;
use crate::storage::AppendInfo;

/// A user's delivery callback.
pub(crate) type Callback = Box<dyn FnOnce(Result<RecordMetadata>) + Send>;

/// The callback of one record, with what its metadata needs.
pub(crate) struct PendingCallback {
    pub(crate) offset_delta: u32,
    pub(crate) timestamp: i64,
    pub(crate) callback: Callback,
}

/// One encoded batch of one partition, from sealing until it completes.
pub(crate) struct ProducerBatch {
    pub(crate) partition: Arc<PartitionAccumulator>,
    /// Producer-wide id (flush tracking).
    pub(crate) id: u64,
    /// Position among this partition's batches: they are sent in this order.
    pub(crate) order: u64,
    /// The finished bytes; a retry resends them unchanged (same sequence).
    pub(crate) data: BytesMut,
    pub(crate) record_count: u32,
    /// Only records sent with a callback (or by `send_sync`) appear here.
    pub(crate) callbacks: Vec<PendingCallback>,
    /// Bytes of `buffer.memory` this batch holds until it completes.
    pub(crate) reserved: u64,
    pub(crate) created: Instant,
    pub(crate) attempts: u32,
    pub(crate) retry_at: Option<Instant>,
}

impl ProducerBatch {
    /// Runs every callback with its record's metadata.
    pub(crate) fn succeed(&mut self, info: &AppendInfo) {
        let topic = &self.partition.topic.name;
        let partition = self.partition.tp.partition();
        for pending in self.callbacks.drain(..) {
            let metadata = RecordMetadata {
                topic: Arc::clone(topic),
                partition,
                offset: info.base_offset + u64::from(pending.offset_delta),
                timestamp: info.log_append_time.unwrap_or(pending.timestamp),
            };
            run_callback(pending.callback, Ok(metadata));
        }
    }

    /// Runs every callback with a copy of `error`.
    pub(crate) fn fail(&mut self, error: &Error) {
        for pending in self.callbacks.drain(..) {
            run_callback(pending.callback, Err(duplicate(error)));
        }
    }
}

/// A panicking callback must not take the sender thread (and with it every
/// other record's delivery) down.
pub(crate) fn run_callback(callback: Callback, result: Result<RecordMetadata>) {
    let _ = catch_unwind(AssertUnwindSafe(move || callback(result)));
}

/// One batch's error goes to many callbacks; `Error` is not `Clone`
/// (it may hold an `io::Error`), so rebuild it.
pub(crate) fn duplicate(error: &Error) -> Error {
    match error {
        Error::Timeout { op, timeout } => Error::Timeout {
            op,
            timeout: *timeout,
        },
        Error::Closed(what) => Error::Closed(what),
        Error::UnknownTopic(t) => Error::UnknownTopic(t.clone()),
        Error::RecordTooLarge { size, max } => Error::RecordTooLarge {
            size: *size,
            max: *max,
        },
        Error::InvalidPartition {
            topic,
            partition,
            partitions,
        } => Error::InvalidPartition {
            topic: topic.clone(),
            partition: *partition,
            partitions: *partitions,
        },
        Error::NotLeader { topic, partition } => Error::NotLeader {
            topic: topic.clone(),
            partition: *partition,
        },
        Error::PartitionOffline { topic, partition } => Error::PartitionOffline {
            topic: topic.clone(),
            partition: *partition,
        },
        Error::NotEnoughReplicas {
            topic,
            partition,
            in_sync,
            required,
        } => Error::NotEnoughReplicas {
            topic: topic.clone(),
            partition: *partition,
            in_sync: *in_sync,
            required: *required,
        },
        Error::NotEnoughReplicasAfterAppend { topic, partition } => {
            Error::NotEnoughReplicasAfterAppend {
                topic: topic.clone(),
                partition: *partition,
            }
        }
        Error::OutOfOrderSequence {
            topic,
            partition,
            producer_id,
            expected,
            found,
        } => Error::OutOfOrderSequence {
            topic: topic.clone(),
            partition: *partition,
            producer_id: *producer_id,
            expected: *expected,
            found: *found,
        },
        Error::Poisoned { path, reason } => Error::Poisoned {
            path: path.clone(),
            reason: reason.clone(),
        },
        Error::InvalidConfig { key, value, reason } => Error::InvalidConfig {
            key: key.clone(),
            value: value.clone(),
            reason: reason.clone(),
        },
        Error::Io { op, path, source } => Error::Io {
            op,
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        other => Error::Io {
            op: "produce",
            path: std::path::PathBuf::new(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}
