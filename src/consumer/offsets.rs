//! Positions and offset look-ups of a consumer.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use super::fetch_buffer::{Cursor, FetchBuffer};
use super::Consumer;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

impl Consumer {
    /// The offset of the next record `poll` returns from `tp`.
    ///
    /// A partition without a position gets one per `auto.offset.reset`.
    ///
    /// # Errors
    /// [`Error::NotAssigned`](crate::Error::NotAssigned) when `tp` is not
    /// assigned; [`Error::NoOffsetForPartition`](crate::Error::NoOffsetForPartition)
    /// when it has no position and `auto.offset.reset` is `none`.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ConsumerConfig, TopicConfig, TopicPartition};
    /// log.create_topic("orders", TopicConfig::new())?;
    /// let mut consumer = log.consumer(ConsumerConfig::new())?;
    /// let tp = TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()])?;
    /// assert_eq!(consumer.position(&tp)?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn position(&mut self, tp: &TopicPartition) -> Result<u64> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.position(tp);
        }
        let reset = self.config.auto_offset_reset;
        let core = std::sync::Arc::clone(self.backend.core()?);
        self.assigned_mut(tp)?.position(&core, reset)
    }

    /// Makes the next poll of `tp` start at `offset`.
    ///
    /// An offset outside the log is only noticed by the next fetch, which
    /// then follows `auto.offset.reset`.
    ///
    /// # Errors
    /// [`Error::NotAssigned`](crate::Error::NotAssigned) when `tp` is not assigned.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # use tidelog::{ConsumerConfig, TopicConfig, TopicPartition};
    /// # log.create_topic("orders", TopicConfig::new())?;
    /// let mut consumer = log.consumer(ConsumerConfig::new())?;
    /// let tp = TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()])?;
    /// consumer.seek(&tp, 42)?;
    /// assert_eq!(consumer.position(&tp)?, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seek(&mut self, tp: &TopicPartition, offset: u64) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.seek(tp, offset);
        }
        self.assigned_mut(tp)?.seek(offset);
        // An error held back from the last poll concerned the old position.
        self.pending_error = None;
        Ok(())
    }

    /// Moves the given partitions (all assigned ones if empty) to the first
    /// offset still in the log.
    ///
    /// # Errors
    /// [`Error::NotAssigned`](crate::Error::NotAssigned) for a partition not
    /// assigned; [`Error::UnknownTopic`](crate::Error::UnknownTopic) if it vanished.
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.seek_to(partitions, false);
        }
        let targets = self.targets(partitions);
        for (tp, offset) in self.beginning_offsets(&targets)? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    /// Moves the given partitions (all assigned ones if empty) to the end:
    /// the next poll returns only records written after this call.
    ///
    /// # Errors
    /// As [`seek_to_beginning`](Consumer::seek_to_beginning).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # use tidelog::{ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send_sync(ProducerRecord::new("orders", "old"))?;
    /// let mut consumer = log.consumer(ConsumerConfig::new())?;
    /// let tp = TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()])?;
    /// consumer.seek_to_end(&[])?;
    /// assert_eq!(consumer.position(&tp)?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.seek_to(partitions, true);
        }
        let targets = self.targets(partitions);
        for (tp, offset) in self.end_offsets(&targets)? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    /// For each `(partition, timestamp)`, the earliest record whose
    /// timestamp is at or after `timestamp` (ms since the epoch): its offset
    /// and its timestamp, or `None` when no such record exists yet. The
    /// partitions need not be assigned. Takes any iterable of pairs: a
    /// slice, a `Vec` or a `HashMap<TopicPartition, i64>`.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`](crate::Error::UnknownTopic) or
    /// [`Error::InvalidPartition`](crate::Error::InvalidPartition) for a
    /// partition that does not exist.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # use tidelog::{ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send_sync(ProducerRecord::new("orders", "a").timestamp(1_000))?;
    /// producer.send_sync(ProducerRecord::new("orders", "b").timestamp(2_000))?;
    /// let consumer = log.consumer(ConsumerConfig::new())?;
    /// let tp = TopicPartition::new("orders", 0);
    /// let found = consumer.offsets_for_times(&[(tp.clone(), 1_500)])?;
    /// let found = found[&tp].expect("a record at or after 1500");
    /// assert_eq!((found.offset(), found.timestamp()), (1, 2_000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offsets_for_times(
        &self,
        query: impl IntoIterator<Item = impl Borrow<(TopicPartition, i64)>>,
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            let query: Vec<(TopicPartition, i64)> =
                query.into_iter().map(|q| q.borrow().clone()).collect();
            return super::remote_offsets::offsets_for_times(kafka, &query);
        }
        query
            .into_iter()
            .map(|pair| {
                let (tp, timestamp) = pair.borrow();
                let found = match self.backend.core()?.offset_for_timestamp(tp, *timestamp)? {
                    Some(offset) => self.record_timestamp(tp, offset)?,
                    None => None,
                };
                Ok((tp.clone(), found))
            })
            .collect()
    }

    /// The timestamp of the record at `offset` (as consumers see it, so
    /// `LogAppendTime` topics give the append time); `None` if retention
    /// removed it meanwhile.
    fn record_timestamp(
        &self,
        tp: &TopicPartition,
        offset: u64,
    ) -> Result<Option<OffsetAndTimestamp>> {
        let fetched = match self.backend.core()?.fetch(tp, offset, 1) {
            Ok(fetched) => fetched,
            Err(Error::OffsetOutOfRange { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut buffer = FetchBuffer::default();
        buffer.fill(fetched.data);
        let topic: Arc<str> = Arc::from(tp.topic());
        let mut position = offset;
        let mut cursor = Cursor {
            topic: &topic,
            partition: tp.partition(),
            position: &mut position,
        };
        let mut records = Vec::with_capacity(1);
        buffer.drain_into(&mut records, 1, &mut cursor)?;
        Ok(records.first().map(|r| OffsetAndTimestamp {
            offset: r.offset(),
            timestamp: r.timestamp(),
            leader_epoch: r.leader_epoch(),
        }))
    }

    /// The first offset still in the log of each partition.
    ///
    /// # Errors
    /// As [`offsets_for_times`](Consumer::offsets_for_times).
    pub fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, u64>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return super::remote_offsets::watermark_offsets(kafka, partitions, false);
        }
        partitions
            .iter()
            .map(|tp| {
                Ok((
                    tp.clone(),
                    self.backend.core()?.offsets(tp)?.log_start_offset,
                ))
            })
            .collect()
    }

    /// The end of each partition as consumers see it: the high watermark,
    /// one past the last record a consumer can read.
    ///
    /// # Errors
    /// As [`offsets_for_times`](Consumer::offsets_for_times).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # use tidelog::{ConsumerConfig, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send_sync(ProducerRecord::new("orders", "a"))?;
    /// let consumer = log.consumer(ConsumerConfig::new())?;
    /// let tp = TopicPartition::new("orders", 0);
    /// assert_eq!(consumer.end_offsets(&[tp.clone()])?[&tp], 1);
    /// assert_eq!(consumer.beginning_offsets(&[tp.clone()])?[&tp], 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, u64>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return super::remote_offsets::watermark_offsets(kafka, partitions, true);
        }
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), self.backend.core()?.offsets(tp)?.high_watermark)))
            .collect()
    }

    /// The given partitions, or every assigned one when none are given.
    fn targets(&self, partitions: &[TopicPartition]) -> Vec<TopicPartition> {
        if partitions.is_empty() {
            self.assignment()
        } else {
            partitions.to_vec()
        }
    }
}

/// A record found by [`Consumer::offsets_for_times`]: its offset and its
/// timestamp (Kafka's `OffsetAndTimestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    offset: u64,
    timestamp: i64,
    leader_epoch: Option<i32>,
}

impl OffsetAndTimestamp {
    /// The offset of the first record at or after the asked timestamp.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// That record's timestamp, ms since the epoch.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The leader epoch the record was written in, when known.
    pub fn leader_epoch(&self) -> Option<i32> {
        self.leader_epoch
    }
}

#[cfg(feature = "kafka-client")]
impl OffsetAndTimestamp {
    /// What a Kafka cluster answered for one partition.
    pub(crate) fn new(offset: u64, timestamp: i64, leader_epoch: Option<i32>) -> Self {
        OffsetAndTimestamp {
            offset,
            timestamp,
            leader_epoch,
        }
    }
}
