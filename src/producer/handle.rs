//! `Producer`: the public handle, over the embedded producer or Kafka's.

use std::sync::Arc;
use std::time::Duration;

use super::{EmbeddedProducer, ProducerConfig};
use crate::cluster::{ClusterCore, PartitionReplicas};
use crate::error::Result;
use crate::record::{ProducerRecord, RecordMetadata};

/// Sends records to topics; cheap to share between threads (`&Producer`).
///
/// Three ways to send: [`send`](Producer::send) (fire and forget),
/// [`send_sync`](Producer::send_sync) (waits for the acknowledgement) and
/// [`send_with_callback`](Producer::send_with_callback). Records are
/// batched per partition and appended by one background thread; dropping
/// the producer (or [`close`](Producer::close)) delivers what was sent and
/// stops that thread.
///
/// With `Log::connect` (feature `kafka-client`) the same calls go to a Kafka
/// cluster through librdkafka: its own batching and sender thread, and
/// delivery callbacks on one poll thread of the producer.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// use tidelog::{Log, ProducerConfig, ProducerRecord, TopicConfig};
/// let log = Log::open(dir.path())?;
/// log.create_topic("orders", TopicConfig::new().partitions(3))?;
/// let producer = log.producer(ProducerConfig::new())?;
/// producer.send(ProducerRecord::new("orders", "order-1").key("customer-7"))?;
/// let metadata = producer.send_sync(ProducerRecord::new("orders", "order-2"))?;
/// producer.send_with_callback(ProducerRecord::new("orders", "order-3"), |result| {
///     if let Err(error) = result {
///         eprintln!("not delivered: {error}");
///     }
/// })?;
/// producer.flush();
/// # let _ = metadata;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Producer {
    inner: Inner,
}

enum Inner {
    Embedded(EmbeddedProducer),
    #[cfg(feature = "kafka-client")]
    Kafka(super::remote::KafkaProducer),
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Embedded(p) => p.fmt(f),
            #[cfg(feature = "kafka-client")]
            Inner::Kafka(p) => p.fmt(f),
        }
    }
}

/// Calls the same method on whichever producer this is.
macro_rules! delegate {
    ($self:ident, $p:ident => $call:expr) => {
        match &$self.inner {
            Inner::Embedded($p) => $call,
            #[cfg(feature = "kafka-client")]
            Inner::Kafka($p) => $call,
        }
    };
}

impl Producer {
    /// Starts a producer (and its sender thread) on `core`.
    pub(crate) fn new(core: Arc<ClusterCore>, config: ProducerConfig) -> Result<Producer> {
        let inner = Inner::Embedded(EmbeddedProducer::new(core, config)?);
        Ok(Producer { inner })
    }

    /// Starts a producer of a Kafka cluster.
    #[cfg(feature = "kafka-client")]
    pub(crate) fn new_kafka(
        log: &crate::remote::KafkaLog,
        config: ProducerConfig,
    ) -> Result<Producer> {
        let inner = Inner::Kafka(super::remote::KafkaProducer::new(log, &config)?);
        Ok(Producer { inner })
    }

    /// Sends `record` without waiting for it to be stored (fire and forget).
    ///
    /// Returns once the record is queued for its partition. A failure after
    /// that is not reported to the caller; it is counted in
    /// [`failed_sends`](Producer::failed_sends) and returned by the next
    /// [`flush_timeout`](Producer::flush_timeout).
    ///
    /// # Errors
    /// - [`Error::Closed`](crate::Error::Closed) after [`close`](Producer::close);
    /// - [`Error::UnknownTopic`](crate::Error::UnknownTopic) when the topic does not exist and
    ///   `auto.create.topics.enable` is off;
    /// - [`Error::InvalidPartition`](crate::Error::InvalidPartition) for an explicit partition the topic lacks;
    /// - [`Error::RecordTooLarge`](crate::Error::RecordTooLarge) above `max.request.size`,
    ///   `message.max.bytes` or `buffer.memory`;
    /// - [`Error::Timeout`](crate::Error::Timeout) (`max.block.ms`) when `buffer.memory` stayed full.
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
        delegate!(self, p => p.send(record))
    }

    /// Sends `record` and waits until it is acknowledged (per `acks`).
    /// The embedded producer sends the record's batch at once; a producer of
    /// a Kafka cluster waits out `linger.ms` first, as Kafka's
    /// `send(record).get()` does.
    ///
    /// It returns as soon as the record is acknowledged, which may be before
    /// the callbacks of records sent earlier into the same batch have run
    /// (they run on the sender thread, in offset order), as with Kafka's
    /// `send(record).get()`; [`flush`](Producer::flush) waits for those.
    ///
    /// # Errors
    /// Everything [`send`](Producer::send) returns, plus the delivery's
    /// failure: the leader's error, or [`Error::Timeout`](crate::Error::Timeout)
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
        delegate!(self, p => p.send_sync(record))
    }

    /// Sends `record` and runs `callback` with the outcome, exactly once.
    ///
    /// A record refused at once (too large, a partition the topic lacks)
    /// goes to the callback too, before this returns, and this returns
    /// `Ok`, as Kafka's `send(record, callback)` does. Callbacks run on the
    /// producer's background thread, those of one partition in offset
    /// order; keep them short, and do not call `send_sync` from one.
    ///
    /// # Errors
    /// Only [`Error::Closed`](crate::Error::Closed) after [`close`](Producer::close);
    /// the callback is then dropped without running.
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
        match &self.inner {
            Inner::Embedded(p) => p.send_with_callback(record, callback),
            #[cfg(feature = "kafka-client")]
            Inner::Kafka(p) => p.send_with_callback(record, Box::new(callback)),
        }
    }

    /// Sends every batch now and blocks until each record sent before this
    /// call is acknowledged or has failed. Called from a callback it only
    /// sends the batches, without waiting.
    pub fn flush(&self) {
        delegate!(self, p => p.flush())
    }

    /// Like [`flush`](Producer::flush), waiting at most `timeout`, then
    /// returning the first delivery failure since the previous flush
    /// (rdkafka's `flush(timeout)`); the failure is reported once.
    ///
    /// # Errors
    /// - [`Error::Timeout`](crate::Error::Timeout) (op `"flush"`) when records are still in
    ///   flight after `timeout`;
    /// - the first delivery failure since the previous flush.
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
        delegate!(self, p => p.flush_timeout(timeout))
    }

    /// Delivers everything sent so far, then stops the background thread.
    /// Later sends fail with [`Error::Closed`](crate::Error::Closed);
    /// closing twice is harmless and dropping the producer closes it.
    pub fn close(&self) {
        delegate!(self, p => p.close())
    }

    /// Leader, replicas and in-sync replicas of every partition of `topic`,
    /// in partition order (Kafka's `partitionsFor`).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`](crate::Error::UnknownTopic) if the topic does not exist;
    /// [`Error::NeedsEmbedded`](crate::Error::NeedsEmbedded) for a producer of a Kafka cluster.
    pub fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionReplicas>> {
        match &self.inner {
            Inner::Embedded(p) => p.partitions_for(topic),
            #[cfg(feature = "kafka-client")]
            Inner::Kafka(_) => Err(crate::error::Error::NeedsEmbedded(
                "Producer::partitions_for",
            )),
        }
    }

    /// Records whose send failed, in any mode and however the failure was
    /// reported (Kafka's `record-error-total`). Sends refused because the
    /// producer is closed do not count.
    pub fn failed_sends(&self) -> u64 {
        delegate!(self, p => p.failed_sends())
    }

    #[cfg(test)]
    pub(crate) fn embedded(&self) -> &EmbeddedProducer {
        match &self.inner {
            Inner::Embedded(p) => p,
            #[cfg(feature = "kafka-client")]
            Inner::Kafka(_) => unreachable!("the unit tests use embedded logs"),
        }
    }

    /// Test hook: a paused sender sends nothing, as if every leader stalled.
    #[cfg(test)]
    pub(crate) fn pause_sender(&self, paused: bool) {
        self.embedded().pause_sender(paused);
    }

    /// Test hook: the next `attempts` produce attempts fail with a
    /// retriable error before reaching the leader.
    #[cfg(test)]
    pub(crate) fn fail_next_attempts(&self, attempts: u32) {
        self.embedded().fail_next_attempts(attempts);
    }
}
