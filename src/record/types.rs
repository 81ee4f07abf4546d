//! The record values users hand in and get back.

use std::sync::Arc;

use bytes::Bytes;

use super::payload::IntoPayload;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

/// A named byte value attached to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    name: String,
    value: Bytes,
}

impl Header {
    /// A header called `name` carrying `value`.
    pub fn new(name: impl Into<String>, value: impl IntoPayload) -> Self {
        Header {
            name: name.into(),
            value: value.into_payload(),
        }
    }

    /// The header's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The header's value.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The header's value as shared [`Bytes`] (cloning it does not copy).
    pub fn value_bytes(&self) -> &Bytes {
        &self.value
    }
}

/// A record to send: topic, value, and optionally key, partition, headers, timestamp.
///
/// # Examples
/// ```
/// use tidelog::ProducerRecord;
/// let record = ProducerRecord::new("orders", "order-42")
///     .key("customer-7")
///     .header("source", "web")
///     .timestamp(1_700_000_000_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    /// Shared, so cloning a record (or building many for one topic from
    /// one `Arc<str>`) does not copy the name.
    pub(crate) topic: Arc<str>,
    pub(crate) partition: Option<u32>,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
    pub(crate) timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with `value`; partition chosen by key or spread.
    pub fn new(topic: impl Into<Arc<str>>, value: impl IntoPayload) -> Self {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(value.into_payload()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// A record with no value (a tombstone).
    pub fn tombstone(topic: impl Into<Arc<str>>) -> Self {
        ProducerRecord {
            value: None,
            ..ProducerRecord::new(topic, Bytes::new())
        }
    }

    /// Sets the key; records with one key go to one partition.
    #[must_use]
    pub fn key(mut self, key: impl IntoPayload) -> Self {
        self.key = Some(key.into_payload());
        self
    }

    /// Sends to this partition, overriding the partitioner.
    #[must_use]
    pub fn partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl IntoPayload) -> Self {
        self.headers.push(Header::new(name, value));
        self
    }

    /// Sets the timestamp, in milliseconds since the Unix epoch (default: send time).
    ///
    /// Without one, the producer reads the wall clock in the sending
    /// thread when the record is appended to its batch. On Linux that is
    /// the kernel's coarse clock (`CLOCK_REALTIME_COARSE`), several times
    /// cheaper than the precise one: the CreateTime is then up to one
    /// kernel tick (at most 10 ms, usually 4 ms or less) behind the moment
    /// of the send, never ahead of it. Set the timestamp yourself where
    /// you need it exact.
    #[must_use]
    pub fn timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// Where an acknowledged record was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) offset: u64,
    pub(crate) timestamp: i64,
}

impl RecordMetadata {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The topic and partition as one value (built on each call: the
    /// record keeps the topic as a shared name).
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&*self.topic, self.partition)
    }

    /// The record's offset in its partition.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The record's timestamp (CreateTime or LogAppendTime), ms since the epoch.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
}

/// A record read by a consumer. Key, value and header values are slices of
/// the fetched batch, not copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) offset: u64,
    pub(crate) timestamp: i64,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
    pub(crate) timestamp_type: TimestampType,
    /// The leader epoch the batch was written in; negative when unknown.
    pub(crate) leader_epoch: i32,
}

impl ConsumerRecord {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The topic and partition as one value (built on each call: the
    /// record keeps the topic as a shared name).
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&*self.topic, self.partition)
    }

    /// The record's offset in its partition.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Timestamp in milliseconds since the Unix epoch.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Whether [`timestamp`](ConsumerRecord::timestamp) is the producer's
    /// (`CreateTime`) or the broker's append time (`LogAppendTime`), per the
    /// topic's `message.timestamp.type`.
    pub fn timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }

    /// The leader epoch of the batch the record was written in (Kafka's
    /// `leaderEpoch()`); `None` when the batch does not carry one.
    pub fn leader_epoch(&self) -> Option<i32> {
        (self.leader_epoch >= 0).then_some(self.leader_epoch)
    }

    /// The key's bytes, if the record has one.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send_sync(ProducerRecord::new("orders", "order-1").key("customer-7"))?;
    /// let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    /// consumer.assign(&[TopicPartition::new("orders", 0)])?;
    /// let record = &consumer.poll(Duration::from_secs(5))?[0];
    /// assert_eq!(record.key(), Some(&b"customer-7"[..]));
    /// assert_eq!(record.value(), Some(&b"order-1"[..]));
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// The value's bytes; `None` for a tombstone.
    pub fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }

    /// The key as shared [`Bytes`]: cloning it keeps the fetched chunk
    /// alive instead of copying.
    pub fn key_bytes(&self) -> Option<&Bytes> {
        self.key.as_ref()
    }

    /// The value as shared [`Bytes`]; `None` for a tombstone.
    pub fn value_bytes(&self) -> Option<&Bytes> {
        self.value.as_ref()
    }

    /// The headers, in the order they were added.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }
}

/// Which timestamp a record keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimestampType {
    /// The producer's timestamp (or the send time when it gave none).
    #[default]
    CreateTime,
    /// The time the leader appended the batch.
    LogAppendTime,
}

impl TimestampType {
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self> {
        match value.trim() {
            "CreateTime" => Ok(TimestampType::CreateTime),
            "LogAppendTime" => Ok(TimestampType::LogAppendTime),
            _ => Err(Error::config(
                key,
                value,
                "expected CreateTime or LogAppendTime",
            )),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}
