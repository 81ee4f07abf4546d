//! State shared by a producer's handle, its callers' threads and its sender.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, ThreadId};
use std::time::Duration;

use parking_lot::Mutex;

use super::batch::ProducerBatch;
use super::config::ProducerConfig;
use super::memory::BufferPool;
use super::pending::PendingBatches;
use super::queue::SenderQueue;
use super::topics::Topics;
use crate::cluster::ClusterCore;
use crate::error::Error;

pub(crate) struct Shared {
    pub(crate) core: Arc<ClusterCore>,
    pub(crate) config: ProducerConfig,
    pub(crate) pool: BufferPool,
    pub(crate) pending: PendingBatches,
    pub(crate) queue: SenderQueue,
    pub(crate) topics: Topics,
    /// Set when idempotence is on: stamped into every batch with its sequence.
    pub(crate) producer_id: Option<i64>,
    /// Set once the sender thread is started.
    pub(crate) sender_thread: OnceLock<ThreadId>,
    closed: AtomicBool,
    failed_records: AtomicU64,
    /// The first delivery failure since the last flush, for `flush_timeout`.
    first_failure: Mutex<Option<Error>>,
    /// Test hook: a paused sender sends nothing, as if every leader stalled.
    paused: AtomicBool,
    /// Test hook: this many next produce attempts fail with a retriable
    /// error before reaching the leader, as during a leader change.
    #[cfg(test)]
    pub(crate) failing_attempts: std::sync::atomic::AtomicU32,
}

impl Shared {
    pub(crate) fn new(core: Arc<ClusterCore>, config: ProducerConfig) -> Self {
        let producer_id = config
            .enable_idempotence
            .then(|| core.allocate_producer_id());
        Shared {
            pool: BufferPool::new(config.buffer_memory),
            pending: PendingBatches::default(),
            queue: SenderQueue::default(),
            topics: Topics::default(),
            producer_id,
            sender_thread: OnceLock::new(),
            closed: AtomicBool::new(false),
            failed_records: AtomicU64::new(0),
            first_failure: Mutex::new(None),
            paused: AtomicBool::new(false),
            #[cfg(test)]
            failing_attempts: std::sync::atomic::AtomicU32::new(0),
            core,
            config,
        }
    }

    /// How long a send may wait for memory. Zero on the sender thread (a
    /// callback sending): only that thread frees memory, so waiting there
    /// could only end in the timeout.
    pub(crate) fn max_block(&self) -> Duration {
        if self.on_sender_thread() {
            Duration::ZERO
        } else {
            self.config.max_block
        }
    }

    pub(crate) fn on_sender_thread(&self) -> bool {
        self.sender_thread.get() == Some(&thread::current().id())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Marks the producer closed; true for the first caller only.
    pub(crate) fn mark_closed(&self) -> bool {
        !self.closed.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn failed_records(&self) -> u64 {
        self.failed_records.load(Ordering::Relaxed)
    }

    /// Counts a failed batch's records and keeps the first failure since
    /// the last flush.
    pub(crate) fn count_failed(&self, records: u32, error: &Error) {
        self.failed_records
            .fetch_add(u64::from(records), Ordering::Relaxed);
        let mut first = self.first_failure.lock();
        if first.is_none() {
            *first = Some(error.clone());
        }
    }

    /// Counts a record refused before it was queued: its caller has the
    /// error already, so `flush_timeout` does not report it again.
    pub(crate) fn count_refused(&self) {
        self.failed_records.fetch_add(1, Ordering::Relaxed);
    }

    /// The first failure since the previous call, clearing it.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.first_failure.lock().take()
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.queue.wake();
    }

    /// Gives back the batch's memory and lets flushes waiting on it go.
    pub(crate) fn batch_done(&self, batch: &ProducerBatch) {
        self.pool.release(batch.reserved);
        self.pending.complete(batch.id);
    }

    /// Seals every open batch so the sender takes it now (flush, close).
    pub(crate) fn seal_all(&self) {
        for topic in self.topics.all() {
            for partition in &topic.partitions {
                partition.seal_now(self);
            }
        }
    }
}
