//! The producer: partitioner, per-partition accumulator, one sender thread.
//!
//! A send encodes its record into its partition's open batch in the
//! caller's thread; the sender thread appends sealed batches to the
//! partitions' leaders and completes callbacks.

mod accumulator;
mod batch;
mod callbacks;
mod clock;
pub(crate) mod config;
mod handle;
mod identity;
mod memory;
mod murmur2;
mod partitioner;
mod pending;
mod queue;
#[cfg(feature = "kafka-client")]
mod remote;
mod sender;
mod shared;
mod topics;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use self::accumulator::Append;
use self::callbacks::run_callback;
use self::partitioner::{choose, Placement};
use self::sender::Sender;
use self::shared::Shared;
use crate::cluster::{spin, ClusterCore, PartitionReplicas};
use crate::error::{Error, Result};
use crate::record::{fields_size, ProducerRecord, RecordMetadata, HEADER_LEN, RECORD_FIXED_BOUND};

pub use self::config::ProducerConfig;
pub use self::handle::Producer;
pub use self::partitioner::Partitioner;
pub(crate) use self::partitioner::PartitionerRef;

/// The producer of an embedded log: its fields and sender thread.
pub(crate) struct EmbeddedProducer {
    shared: Arc<Shared>,
    sender: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for EmbeddedProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("client_id", &self.shared.config.client_id)
            .field("closed", &self.shared.is_closed())
            .finish()
    }
}

// The public `Producer` (handle.rs) documents these and delegates here.
#[allow(unreachable_pub)]
impl EmbeddedProducer {
    /// Starts a producer (and its sender thread) on `core`.
    pub(crate) fn new(core: Arc<ClusterCore>, config: ProducerConfig) -> Result<EmbeddedProducer> {
        config.validate()?;
        let name = format!("tidelog-producer-{}", config.client_id);
        let shared = Arc::new(Shared::new(core, config));
        let sender = Sender::new(Arc::clone(&shared));
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(move || sender.run())
            .map_err(|e| Error::spawn(name, e))?;
        let _ = shared.sender_thread.set(handle.thread().id());
        Ok(EmbeddedProducer {
            shared,
            sender: Mutex::new(Some(handle)),
        })
    }

    /// Sends `record` without waiting for it to be stored (fire and forget).
    ///
    /// Returns once the record is in its partition's batch. A failure after
    /// that (for example the partition's leader refusing the batch) is not
    /// reported to the caller; it is counted in
    /// [`failed_sends`](Producer::failed_sends), as are the errors below
    /// (except [`Error::Closed`]).
    ///
    /// # Errors
    /// - [`Error::Closed`] after [`close`](Producer::close);
    /// - [`Error::UnknownTopic`] when the topic does not exist and
    ///   `auto.create.topics.enable` is off;
    /// - [`Error::InvalidPartition`] for an explicit partition the topic lacks;
    /// - [`Error::RecordTooLarge`] above `max.request.size`,
    ///   `message.max.bytes` or `buffer.memory`;
    /// - [`Error::Timeout`] (`max.block.ms`) when `buffer.memory` stayed full.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ProducerConfig, ProducerRecord};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send(ProducerRecord::new("clicks", "page=/home"))?;
    /// producer.flush();
    /// assert_eq!(producer.failed_sends(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&self, record: ProducerRecord) -> Result<()> {
        self.append(&record, &mut None::<NoCallback>, None)
    }

    /// Sends `record` and waits until it is acknowledged (per `acks`).
    ///
    /// The record's batch is sent at once instead of waiting out `linger.ms`.
    ///
    /// # Errors
    /// Everything [`send`](Producer::send) returns, plus the delivery's
    /// failure: the leader's error, or [`Error::Timeout`]
    /// (`delivery.timeout.ms`) when retries ran out of time.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ProducerConfig, ProducerRecord};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// let metadata = producer.send_sync(ProducerRecord::new("orders", "order-1").partition(0))?;
    /// assert_eq!((metadata.partition(), metadata.offset()), (0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_sync(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        let slot = Arc::new(SyncSlot::default());
        self.append(&record, &mut None::<NoCallback>, Some(&slot))?;
        let config = &self.shared.config;
        // The sender completes every batch within delivery.timeout.ms; the
        // margin only guards against a sender that died.
        let limit = config
            .delivery_timeout
            .saturating_add(config.request_timeout);
        slot.wait(limit, true)
    }

    /// Sends `record` and runs `callback` with the outcome.
    ///
    /// The callback runs exactly once: with the record's metadata once it is
    /// acknowledged, or with the error that ended its delivery (including a
    /// timeout or the producer closing). A record refused at once (too
    /// large, a partition the topic lacks, `buffer.memory` full) is
    /// reported to the callback too, before this returns, and this returns
    /// `Ok`: as with Kafka's `send(record, callback)`, every outcome of an
    /// accepted call goes to the callback, once, so counting errors in the
    /// callback counts each failure once. Each failure also counts in
    /// [`failed_sends`](Producer::failed_sends).
    /// Callbacks run on the producer's sender thread, those of one
    /// partition in offset order; keep them short, and do not call
    /// `send_sync` from one (it would wait for the thread it blocks).
    ///
    /// # Errors
    /// Only [`Error::Closed`] after [`close`](Producer::close); the
    /// callback is then dropped without running (Kafka throws
    /// `IllegalStateException` there without calling back).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ProducerConfig, ProducerRecord};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// producer.send_with_callback(ProducerRecord::new("orders", "order-1"), move |result| {
    ///     let _ = tx.send(result.map(|metadata| metadata.offset()));
    /// })?;
    /// producer.flush();
    /// assert_eq!(rx.recv()??, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_with_callback<F>(&self, record: ProducerRecord, callback: F) -> Result<()>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        self.append(&record, &mut Some(callback), None)
    }

    /// Sends every batch now and blocks until each record sent before this
    /// call is acknowledged or has failed.
    ///
    /// Called from a callback (which runs on the sender thread) it only
    /// sends the batches, without waiting.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # use tidelog::{ProducerConfig, ProducerRecord};
    /// let producer = log.producer(ProducerConfig::new().set("linger.ms", "60000")?)?;
    /// producer.send(ProducerRecord::new("orders", "order-1"))?;
    /// producer.flush(); // does not wait out the minute of linger.ms
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) {
        let bound = self.shared.pending.snapshot();
        self.shared.seal_all();
        if !self.on_sender_thread() {
            self.shared.pending.wait_below(bound);
        }
        // A flush starts a new reporting period for `flush_timeout`.
        let _ = self.shared.take_failure();
    }

    /// Like [`flush`](Producer::flush), waiting at most `timeout`, and
    /// telling how the deliveries went (rdkafka's `flush(timeout)`).
    ///
    /// Waits until every record sent before this call is acknowledged or
    /// has failed. Then returns the first delivery failure since the
    /// previous flush (of any record, also one whose callback or
    /// `send_sync` already saw it), so fire-and-forget sends can check
    /// their outcome in one place; the failure is reported once.
    ///
    /// # Errors
    /// - [`Error::Timeout`] (op `"flush"`) when the records are still in
    ///   flight after `timeout`; they stay in flight, and a failure already
    ///   seen stays for the next flush;
    /// - the first delivery failure since the previous flush, as it was
    ///   reported to the record's callback (for example
    ///   [`Error::NotEnoughReplicas`] or a delivery [`Error::Timeout`]).
    ///
    /// Called from a callback (on the sender thread) it sends the batches
    /// without waiting and reports the failures seen so far.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use std::time::Duration;
    /// use tidelog::{ProducerConfig, ProducerRecord};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// for i in 0..100 {
    ///     producer.send(ProducerRecord::new("orders", format!("order-{i}")))?;
    /// }
    /// producer.flush_timeout(Duration::from_secs(30))?; // all 100 stored
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn flush_timeout(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now().checked_add(timeout);
        let bound = self.shared.pending.snapshot();
        self.shared.seal_all();
        if !self.on_sender_thread() && !self.shared.pending.wait_below_until(bound, deadline) {
            return Err(Error::Timeout {
                op: "flush",
                timeout,
            });
        }
        self.shared.take_failure().map_or(Ok(()), Err)
    }

    /// Delivers everything sent so far, then stops the sender thread.
    ///
    /// Later sends fail with [`Error::Closed`]. Closing twice is harmless;
    /// dropping the producer closes it. Called from a callback it stops new
    /// sends and lets the sender thread finish without waiting for it.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # use tidelog::{Error, ProducerConfig, ProducerRecord};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.close();
    /// let refused = producer.send(ProducerRecord::new("orders", "late"));
    /// assert!(matches!(refused, Err(Error::Closed(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&self) {
        self.shared.mark_closed();
        self.shared.set_paused(false);
        // Appends check the closed flag under their partition's lock, so
        // after this sweep no record can enter a batch the sender misses.
        self.shared.seal_all();
        self.shared.queue.close();
        if self.on_sender_thread() {
            // Closed from a callback: the sender finishes on its own.
            return;
        }
        // Held while joining, so a concurrent close also returns only
        // once everything is delivered.
        let mut sender = self.sender.lock();
        if let Some(handle) = sender.take() {
            let _ = handle.join();
        }
    }

    /// Callbacks run on the sender thread; waiting for it there would wait
    /// forever, so `flush` and `close` recognise it.
    fn on_sender_thread(&self) -> bool {
        self.shared.on_sender_thread()
    }

    /// Leader, replicas and in-sync replicas of every partition of `topic`,
    /// in partition order (Kafka's `partitionsFor`; its `PartitionInfo` is
    /// tidelog's [`PartitionReplicas`]). Does not create the topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic does not exist.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ProducerConfig, TopicConfig};
    /// log.create_topic("orders", TopicConfig::new().partitions(3))?;
    /// let producer = log.producer(ProducerConfig::new())?;
    /// let leaders: Vec<_> = producer.partitions_for("orders")?.iter().map(|p| p.leader()).collect();
    /// assert!(leaders.iter().all(Option::is_some));
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionReplicas>> {
        let core = &self.shared.core;
        let count = core.partition_count(topic)?;
        let cluster = crate::cluster::Cluster::new(Arc::clone(core));
        (0..count).map(|p| cluster.partition(topic, p)).collect()
    }

    /// Records whose send failed, in any mode and however the failure was
    /// reported: refused at once (too large, a partition the topic lacks,
    /// `buffer.memory` full past `max.block.ms`) or failed in delivery
    /// (the leader's error, `delivery.timeout.ms`). Kafka's
    /// `record-error-total`. Sends refused because the producer is closed
    /// do not count: no record was attempted.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ProducerConfig, ProducerRecord, TopicConfig};
    /// log.create_topic("orders", TopicConfig::new().partitions(2))?;
    /// let producer = log.producer(ProducerConfig::new())?;
    /// assert!(producer.send(ProducerRecord::new("orders", "a").partition(9)).is_err());
    /// producer.send_with_callback(ProducerRecord::new("orders", "b").partition(9), |result| {
    ///     assert!(result.is_err()); // reported here, and only here
    /// })?;
    /// assert_eq!(producer.failed_sends(), 2);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn failed_sends(&self) -> u64 {
        self.shared.failed_records()
    }

    /// Test hook: a paused sender sends nothing, as if every leader stalled.
    #[cfg(test)]
    pub(crate) fn pause_sender(&self, paused: bool) {
        self.shared.set_paused(paused);
    }

    /// Test hook: the next `attempts` produce attempts fail with a
    /// retriable error before reaching the leader.
    #[cfg(test)]
    pub(crate) fn fail_next_attempts(&self, attempts: u32) {
        self.shared
            .failing_attempts
            .store(attempts, std::sync::atomic::Ordering::SeqCst);
    }

    /// Places, checks and encodes one record. A record refused here is
    /// reported once, as Kafka's `send(record, callback)` does: to the
    /// callback when there is one (this returns `Ok`), else as the error;
    /// it counts in `failed_sends`. A closed producer is the caller's
    /// mistake rather than a record's failure (Kafka throws
    /// `IllegalStateException` without calling back): returned, the
    /// callback dropped unrun, not counted.
    fn append<F>(
        &self,
        record: &ProducerRecord,
        callback: &mut Option<F>,
        sync: Option<&Arc<SyncSlot>>,
    ) -> Result<()>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        let Err(error) = self.try_append(record, callback, sync) else {
            return Ok(());
        };
        if matches!(error, Error::Closed(_)) {
            return Err(error);
        }
        self.shared.count_refused();
        match callback.take() {
            Some(callback) => {
                run_callback(callback, Err(error));
                Ok(())
            }
            None => Err(error),
        }
    }

    fn try_append<F>(
        &self,
        record: &ProducerRecord,
        callback: &mut Option<F>,
        sync: Option<&Arc<SyncSlot>>,
    ) -> Result<()>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        let shared = &*self.shared;
        if shared.is_closed() {
            return Err(Error::Closed("producer"));
        }
        let key = record.key.as_deref();
        let value = record.value.as_deref();
        // Sized once: the bound checks and the encoder both use it.
        let fields = fields_size(key, value, &record.headers);
        let bound = RECORD_FIXED_BOUND + fields;
        let mut topic = shared.topics.get(&record.topic, &shared.core)?;
        let limit = topic.shared.max_message_bytes(&shared.core);
        self.check_size(HEADER_LEN + bound, limit)?;
        if record
            .partition
            .is_some_and(|p| p >= topic.partition_count())
        {
            // The topic may have grown since it was cached.
            topic = shared.topics.refresh(&record.topic, &shared.core)?;
        }
        let placement = Placement {
            topic: &record.topic,
            explicit: record.partition,
            key,
            value,
        };
        let user = shared.config.partitioner.as_ref();
        let partition = choose(
            &placement,
            topic.partition_count(),
            user,
            &topic.shared.sticky,
        )?;
        let accumulator =
            topic
                .partitions
                .get(partition as usize)
                .ok_or_else(|| Error::InvalidPartition {
                    topic: record.topic.to_string(),
                    partition,
                    partitions: topic.partition_count(),
                })?;
        let append = Append {
            timestamp: record.timestamp.unwrap_or_else(clock::create_time_ms),
            key,
            value,
            headers: &record.headers,
            fields,
            bound,
        };
        accumulator.append(shared, &append, callback, sync)
    }

    /// A record that could never be sent fails before it is queued.
    #[inline]
    fn check_size(&self, size: usize, max_message_bytes: u32) -> Result<()> {
        let size = size as u64;
        let config = &self.shared.config;
        let fail = |max: u64, limit| Err(Error::RecordTooLarge { size, max, limit });
        if size > u64::from(config.max_request_size) {
            return fail(u64::from(config.max_request_size), "max.request.size");
        }
        if size > u64::from(max_message_bytes) {
            return fail(u64::from(max_message_bytes), "max.message.bytes");
        }
        if size > config.buffer_memory {
            return fail(config.buffer_memory, "buffer.memory");
        }
        Ok(())
    }
}

/// The callback type of `send`, which has none.
type NoCallback = fn(Result<RecordMetadata>);

impl Drop for EmbeddedProducer {
    fn drop(&mut self) {
        self.close();
    }
}

/// Where `send_sync` waits for its record's outcome (the embedded and the
/// Kafka-backed producer alike).
#[derive(Default)]
pub(crate) struct SyncSlot {
    result: Mutex<Option<Result<RecordMetadata>>>,
    filled: Condvar,
    /// Set once `result` is: the waiter spins on it before it sleeps.
    done: AtomicBool,
}

impl SyncSlot {
    pub(crate) fn fill(&self, result: Result<RecordMetadata>) {
        *self.result.lock() = Some(result);
        self.done.store(true, Ordering::Release);
        self.filled.notify_one();
    }

    /// Waits up to `limit`; with `spin` (an embedded acknowledgement, which
    /// usually comes within microseconds) it spins briefly first.
    pub(crate) fn wait(&self, limit: Duration, spin: bool) -> Result<RecordMetadata> {
        let deadline = Instant::now().checked_add(limit);
        if spin {
            spin::spin_until(spin::SPIN_BUDGET, deadline, || {
                self.done.load(Ordering::Acquire)
            });
        }
        let mut result = self.result.lock();
        loop {
            if let Some(result) = result.take() {
                return result;
            }
            let timed_out = match deadline {
                Some(deadline) => self.filled.wait_until(&mut result, deadline).timed_out(),
                None => {
                    self.filled.wait(&mut result);
                    false
                }
            };
            if timed_out && result.is_none() {
                return Err(Error::Timeout {
                    op: "delivery.timeout.ms",
                    timeout: limit,
                });
            }
        }
    }
}
