//! A sealed batch on its way to the leader, and how its outcome reaches the
//! records' callbacks.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::accumulator::PartitionAccumulator;
use super::callbacks::BatchCallbacks;
use crate::cluster::AppendInfo;
use crate::error::Error;
use crate::record::ProducerStamp;
use crate::record::RecordMetadata;

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
    pub(crate) callbacks: BatchCallbacks,
    /// Bytes of `buffer.memory` this batch holds until it completes.
    pub(crate) reserved: u64,
    pub(crate) created: Instant,
    pub(crate) attempts: u32,
    pub(crate) retry_at: Option<Instant>,
}

impl ProducerBatch {
    /// Runs every callback with its record's metadata.
    pub(crate) fn succeed(&mut self, info: &AppendInfo) {
        if self.callbacks.is_empty() {
            return;
        }
        let topic = &self.partition.topic.name;
        let partition = self.partition.tp.partition();
        self.callbacks
            .run_all(&|delta, timestamp| Ok(metadata(topic, partition, info, delta, timestamp)));
    }

    /// Hands the `send_sync` callers their metadata at once, on the thread
    /// that learnt of the acknowledgement; the callbacks wait for the
    /// sender thread.
    pub(crate) fn release_sync(&mut self, info: &AppendInfo) {
        let topic = &self.partition.topic.name;
        let partition = self.partition.tp.partition();
        self.callbacks
            .fill_sync(&|delta, timestamp| Ok(metadata(topic, partition, info, delta, timestamp)));
    }

    /// Runs every callback (and fills every `send_sync` slot) with a copy
    /// of `error`.
    pub(crate) fn fail(&mut self, error: &Error) {
        self.callbacks.run_all(&|_, _| Err(error.clone()));
    }
}

/// The metadata of the record at `offset_delta` of a batch appended as `info`.
fn metadata(
    topic: &Arc<str>,
    partition: u32,
    info: &AppendInfo,
    offset_delta: u32,
    timestamp: i64,
) -> RecordMetadata {
    RecordMetadata {
        topic: Arc::clone(topic),
        partition,
        offset: info.base_offset.saturating_add(u64::from(offset_delta)),
        timestamp: info.log_append_time.unwrap_or(timestamp),
    }
}
