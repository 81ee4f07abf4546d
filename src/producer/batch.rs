//! A sealed batch on its way to the leader, and how its outcome reaches the
//! records' callbacks.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::accumulator::PartitionAccumulator;
use crate::cluster::AppendInfo;
use crate::error::{Error, Result};
use crate::record::ProducerStamp;
use crate::record::RecordMetadata;

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
    /// The producer id and sequence in `data`.
    pub(crate) stamp: ProducerStamp,
    /// `stamp` holds sequence numbers taken under the partition's identity
    /// (set when first sent).
    pub(crate) sequenced: bool,
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
                offset: info
                    .base_offset
                    .saturating_add(u64::from(pending.offset_delta)),
                timestamp: info.log_append_time.unwrap_or(pending.timestamp),
            };
            run_callback(pending.callback, Ok(metadata));
        }
    }

    /// Runs every callback with a copy of `error`.
    pub(crate) fn fail(&mut self, error: &Error) {
        for pending in self.callbacks.drain(..) {
            run_callback(pending.callback, Err(error.clone()));
        }
    }
}

/// A panicking callback must not take the sender thread (and with it every
/// other record's delivery) down.
pub(crate) fn run_callback(callback: Callback, result: Result<RecordMetadata>) {
    let _ = catch_unwind(AssertUnwindSafe(move || callback(result)));
}
