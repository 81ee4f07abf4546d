//! Per-partition batching in the caller's thread.
//!
//! A send locks its partition's open batch, encodes the record straight
//! into it and unlocks. A batch is sealed (finished and handed to the
//! sender) when the next record of the same size would not fit, when its
//! `linger.ms` runs out, or when `send_sync`/`flush` force it out. Sealing
//! happens under the partition lock, so sealing order is sending order.

use std::mem;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::batch::ProducerBatch;
use super::callbacks::BatchCallbacks;
use super::identity::next_sequence;
use super::shared::Shared;
use super::topics::TopicShared;
use super::SyncSlot;
use crate::error::{Error, Result};
use crate::record::{BatchBuilder, Header, ProducerStamp, RecordMetadata, HEADER_LEN};
use crate::topic::TopicPartition;

/// One record, borrowed from the caller, ready to encode.
pub(crate) struct Append<'a> {
    pub(crate) timestamp: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: &'a [Header],
    /// `fields_size` of this record.
    pub(crate) fields: usize,
    /// `BatchBuilder::record_size_bound` of this record.
    pub(crate) bound: usize,
}

/// The open batch of one partition and the counters that order its batches.
struct OpenBatch {
    builder: Option<BatchBuilder>,
    id: u64,
    /// Bytes reserved from `buffer.memory`, which is also the batch's size limit.
    capacity: usize,
    created: Instant,
    callbacks: BatchCallbacks,
    /// Size bound of the last record pushed: a batch that could not take
    /// another like it is full.
    last_bound: usize,
    next_order: u64,
    next_sequence: i32,
    /// The sender has an entry for this partition in its linger queue.
    linger_registered: bool,
}

pub(crate) struct PartitionAccumulator {
    pub(crate) tp: TopicPartition,
    pub(crate) topic: Arc<TopicShared>,
    /// Index of this partition in the sender's table.
    pub(crate) slot: usize,
    open: Mutex<OpenBatch>,
}

impl PartitionAccumulator {
    pub(crate) fn new(tp: TopicPartition, topic: Arc<TopicShared>, slot: usize) -> Self {
        PartitionAccumulator {
            tp,
            topic,
            slot,
            open: Mutex::new(OpenBatch {
                builder: None,
                id: 0,
                capacity: 0,
                created: Instant::now(),
                callbacks: BatchCallbacks::default(),
                last_bound: 0,
                next_order: 0,
                next_sequence: 0,
                linger_registered: false,
            }),
        }
    }

    /// Encodes `record` into this partition's open batch, opening a new one
    /// (and reserving its memory, possibly blocking) when needed. Takes the
    /// callback only once the record is in a batch; on error it stays with
    /// the caller. A `send_sync` caller's `sync` slot is filled with the
    /// outcome, and seals the batch at once.
    pub(crate) fn append<F>(
        self: &Arc<Self>,
        shared: &Shared,
        record: &Append<'_>,
        callback: &mut Option<F>,
        sync: Option<&Arc<SyncSlot>>,
    ) -> Result<()>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        let mut reserved = 0usize;
        loop {
            let mut open = self.open.lock();
            if shared.is_closed() {
                drop(open);
                shared.pool.release(reserved as u64);
                return Err(Error::Closed("producer"));
            }
            let fits = open.builder.as_ref().is_some_and(|b| {
                b.record_count() == 0 || b.size_in_bytes() + record.bound <= open.capacity
            });
            if fits {
                self.push(shared, &mut open, record, callback, sync);
                drop(open);
                if reserved > 0 {
                    // Another thread opened a batch while this one waited.
                    shared.pool.release(reserved as u64);
                }
                return Ok(());
            }
            if reserved > 0 {
                if let Some(batch) = self.seal(shared, &mut open) {
                    shared.queue.push_ready(batch);
                }
                self.start_batch(shared, &mut open, reserved);
                self.push(shared, &mut open, record, callback, sync);
                return Ok(());
            }
            drop(open);
            // Reserve outside the lock: it may block for max.block.ms.
            let want = batch_capacity(shared, self.topic.cached_max_message_bytes(), record.bound);
            if !shared.pool.try_reserve(want as u64) {
                // The buffer is full: every open batch goes now instead of
                // waiting out linger.ms, or the memory this send waits for
                // might only come back after it gave up (Kafka's rule for
                // an exhausted buffer).
                shared.seal_all();
                shared.pool.reserve(want as u64, shared.max_block())?;
            }
            reserved = want;
        }
    }

    fn push<F>(
        self: &Arc<Self>,
        shared: &Shared,
        open: &mut OpenBatch,
        record: &Append<'_>,
        callback: &mut Option<F>,
        sync: Option<&Arc<SyncSlot>>,
    ) where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        let Some(builder) = open.builder.as_mut() else {
            return;
        };
        let delta = builder.push_sized(
            record.timestamp,
            record.key,
            record.value,
            record.headers,
            record.fields,
        );
        let full = builder.size_in_bytes() + record.bound > open.capacity;
        open.last_bound = record.bound;
        if let Some(callback) = callback.take() {
            // Sized for a batch of records like this one, so a batch of
            // callbacks does not regrow its list a dozen times.
            let expected = || open.capacity / record.bound.max(1);
            open.callbacks
                .push(delta, record.timestamp, callback, expected);
        }
        if let Some(slot) = sync {
            open.callbacks
                .push_sync(delta, record.timestamp, Arc::clone(slot));
        }
        if full || sync.is_some() {
            if let Some(batch) = self.seal(shared, open) {
                shared.queue.push_ready(batch);
            }
        }
    }

    fn start_batch(self: &Arc<Self>, shared: &Shared, open: &mut OpenBatch, capacity: usize) {
        open.builder = Some(BatchBuilder::new(capacity).compressed(shared.config.compression));
        open.capacity = capacity;
        open.id = shared.pending.open();
        open.created = Instant::now();
        open.last_bound = 0;
        // The sender seals the batch when linger.ms has passed unless it
        // filled up before. One entry per partition at most: an entry left
        // by a batch that filled up early is carried over to the next one
        // (`linger_due`). A linger too long to represent never expires.
        if !open.linger_registered {
            if let Some(deadline) = open.created.checked_add(shared.config.linger) {
                shared.queue.linger(Arc::clone(self), deadline);
                open.linger_registered = true;
            }
        }
    }

    /// Finishes the open batch (stamping the idempotence sequence) and
    /// moves the sticky partition on.
    fn seal(self: &Arc<Self>, shared: &Shared, open: &mut OpenBatch) -> Option<ProducerBatch> {
        let builder = open.builder.take()?;
        let record_count = builder.record_count();
        let stamp = match shared.producer_id {
            Some(producer_id) => ProducerStamp {
                producer_id,
                producer_epoch: 0,
                base_sequence: open.next_sequence,
            },
            None => ProducerStamp::NONE,
        };
        open.next_sequence = next_sequence(open.next_sequence, record_count);
        let order = open.next_order;
        open.next_order += 1;
        let batch = ProducerBatch {
            partition: Arc::clone(self),
            id: open.id,
            order,
            data: builder.finish(stamp),
            stamp,
            sequenced: false,
            record_count,
            callbacks: mem::take(&mut open.callbacks),
            reserved: open.capacity as u64,
            created: open.created,
            attempts: 0,
            retry_at: None,
        };
        let partitions = self.topic.partition_count();
        self.topic
            .sticky
            .batch_sealed(self.tp.partition(), partitions);
        Some(batch)
    }

    /// The sender's linger entry for this partition came due: seals the
    /// open batch if its linger.ms has passed (or `now_all` on close), or
    /// re-registers for the batch opened since.
    pub(crate) fn linger_due(
        self: &Arc<Self>,
        shared: &Shared,
        now: Instant,
        now_all: bool,
    ) -> Option<ProducerBatch> {
        let mut open = self.open.lock();
        if open.builder.is_none() {
            open.linger_registered = false;
            return None;
        }
        match open.created.checked_add(shared.config.linger) {
            Some(deadline) if deadline > now && !now_all => {
                shared.queue.linger(Arc::clone(self), deadline);
                None
            }
            None if !now_all => {
                open.linger_registered = false;
                None
            }
            _ => {
                open.linger_registered = false;
                self.seal(shared, &mut open)
            }
        }
    }

    /// Seals whatever is open (flush and close) and hands it to the sender.
    pub(crate) fn seal_now(self: &Arc<Self>, shared: &Shared) {
        let mut open = self.open.lock();
        if let Some(batch) = self.seal(shared, &mut open) {
            shared.queue.push_ready(batch);
        }
    }
}

/// A new batch holds `batch.size` bytes, or one record that is larger on
/// its own. It never grows past what the leader takes (`max.message.bytes`
/// of the topic), what one request may carry (`max.request.size`) or what
/// the buffer holds: a batch above any of them would fail as a whole.
fn batch_capacity(shared: &Shared, topic_max: u32, bound: usize) -> usize {
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let config = &shared.config;
    as_usize(u64::from(config.batch_size))
        .min(as_usize(u64::from(config.max_request_size)))
        .min(as_usize(u64::from(topic_max)))
        .min(as_usize(shared.pool.limit()))
        .max(HEADER_LEN + bound)
}
