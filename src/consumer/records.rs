//! A poll's records as one value, lent out of the fetched bytes.
//!
//! [`Consumer::poll_batch`](crate::Consumer::poll_batch) returns it; `poll`
//! turns the same records into owned ones.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::lent::{owned_headers, Lent, LentBatch, LentRecord, Run};
use crate::record::{ConsumerRecord, Header, HeaderIter, HeaderSpans, TimestampType};
use crate::topic::TopicPartition;

/// The records one [`poll_batch`](crate::Consumer::poll_batch) returned.
///
/// Keys, values and headers are borrowed from the fetched batches: reading
/// them copies nothing and takes no reference count per record. The records
/// borrow the consumer, so they must be dropped (or turned into owned
/// [`ConsumerRecord`]s with [`to_vec`](ConsumerRecords::to_vec)) before
/// the next poll. Records come in the order `poll` would return them:
/// offsets ascend within each partition.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let log = tidelog::Log::open(dir.path())?;
/// use std::time::Duration;
/// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
/// let producer = log.producer(ProducerConfig::new())?;
/// producer.send_sync(ProducerRecord::new("orders", "order-1").key("customer-7"))?;
/// producer.send_sync(ProducerRecord::new("orders", "order-2").header("source", "web"))?;
/// let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
/// let orders = TopicPartition::new("orders", 0);
/// consumer.assign(&[orders.clone()])?;
///
/// let records = consumer.poll_batch(Duration::from_secs(5))?;
/// assert_eq!(records.len(), 2);
/// for record in &records {
///     println!("{} @{}: {:?}", record.topic(), record.offset(), record.value());
/// }
/// assert_eq!(records.partitions(), [orders.clone()]);
/// let second = records.records(&orders).nth(1).unwrap();
/// assert_eq!(second.headers().collect::<Vec<_>>(), [("source", &b"web"[..])]);
/// // Owned copies (slices of the fetched bytes) outlive the next poll.
/// let kept = records.to_vec();
/// drop(records);
/// assert!(consumer.poll_batch(Duration::ZERO)?.is_empty());
/// assert_eq!(kept[0].key(), Some(&b"customer-7"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConsumerRecords<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    /// Filled by this process's poll.
    Lent(&'a Lent),
    /// Already owned records (from another source than the local log).
    Owned(Vec<ConsumerRecord>),
}

impl<'a> ConsumerRecords<'a> {
    pub(crate) fn lent(lent: &'a Lent) -> Self {
        ConsumerRecords {
            source: Source::Lent(lent),
        }
    }

    /// How many records the poll returned.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Lent(lent) => lent.len(),
            Source::Owned(records) => records.len(),
        }
    }

    /// Whether the poll returned nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record, partition by partition as the poll visited them.
    pub fn iter(&self) -> Records<'_> {
        self.records_of(None)
    }

    /// The records of one partition, in offset order (none if the poll
    /// returned nothing of it).
    pub fn records(&self, partition: &TopicPartition) -> Records<'_> {
        self.records_of(Some(partition))
    }

    /// The partitions that have records in this result, each once, in the
    /// order the records come.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        let mut out: Vec<TopicPartition> = Vec::new();
        let mut add = |topic: &str, partition: u32| {
            let known = out
                .iter()
                .any(|tp| tp.partition() == partition && tp.topic() == topic);
            if !known {
                out.push(TopicPartition::new(topic, partition));
            }
        };
        match &self.source {
            Source::Lent(lent) => lent.runs.iter().for_each(|r| add(&r.topic, r.partition)),
            Source::Owned(records) => records.iter().for_each(|r| add(&r.topic, r.partition)),
        }
        out
    }

    /// Owned records, as [`poll`](crate::Consumer::poll) returns them: keys,
    /// values and headers become shared slices of the fetched bytes (a
    /// reference count each, no copy).
    pub fn to_vec(&self) -> Vec<ConsumerRecord> {
        match &self.source {
            Source::Lent(lent) => lent.to_records(),
            Source::Owned(records) => records.clone(),
        }
    }

    /// Like [`to_vec`](ConsumerRecords::to_vec), without cloning records
    /// that are already owned.
    pub fn into_vec(self) -> Vec<ConsumerRecord> {
        match self.source {
            Source::Lent(_) => self.to_vec(),
            Source::Owned(records) => records,
        }
    }

    fn records_of(&self, only: Option<&TopicPartition>) -> Records<'_> {
        let inner = match &self.source {
            Source::Lent(lent) => Inner::Lent {
                lent,
                runs: lent.runs.iter(),
                run: None,
                next: 0,
            },
            Source::Owned(records) => Inner::Owned(records.iter()),
        };
        let Some(tp) = only else {
            return Records { inner, only: None };
        };
        // The filter borrows the name from the records themselves.
        let same = |topic: &str, partition: u32| partition == tp.partition() && topic == tp.topic();
        let found = match &self.source {
            Source::Lent(lent) => lent
                .runs
                .iter()
                .find(|r| same(&r.topic, r.partition))
                .map(|r| (&*r.topic, r.partition)),
            Source::Owned(records) => records
                .iter()
                .find(|r| same(&r.topic, r.partition))
                .map(|r| (&*r.topic, r.partition)),
        };
        match found {
            Some(found) => Records {
                inner,
                only: Some(found),
            },
            None => Records {
                inner: Inner::Owned([].iter()),
                only: None,
            },
        }
    }
}

impl From<Vec<ConsumerRecord>> for ConsumerRecords<'static> {
    /// Records already owned, behind the same interface.
    fn from(records: Vec<ConsumerRecord>) -> Self {
        ConsumerRecords {
            source: Source::Owned(records),
        }
    }
}

impl<'r> IntoIterator for &'r ConsumerRecords<'_> {
    type Item = BorrowedRecord<'r>;
    type IntoIter = Records<'r>;

    fn into_iter(self) -> Records<'r> {
        self.iter()
    }
}

impl fmt::Debug for ConsumerRecords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerRecords")
            .field("len", &self.len())
            .field("partitions", &self.partitions())
            .finish()
    }
}

/// Iterates the records of a [`ConsumerRecords`] (all, or one partition's).
pub struct Records<'a> {
    inner: Inner<'a>,
    /// Only this partition's records, when set.
    only: Option<(&'a str, u32)>,
}

enum Inner<'a> {
    Lent {
        lent: &'a Lent,
        runs: std::slice::Iter<'a, Run>,
        run: Option<&'a Run>,
        /// Index of the next record of `run`.
        next: usize,
    },
    Owned(std::slice::Iter<'a, ConsumerRecord>),
}

impl<'a> Iterator for Records<'a> {
    type Item = BorrowedRecord<'a>;

    #[inline]
    fn next(&mut self) -> Option<BorrowedRecord<'a>> {
        let only = self.only;
        let wanted =
            |topic: &str, partition: u32| only.is_none_or(|(t, p)| p == partition && t == topic);
        match &mut self.inner {
            Inner::Lent {
                lent,
                runs,
                run,
                next,
            } => loop {
                if let Some(current) = run {
                    if *next < current.end {
                        let record = lent.records.get(*next)?;
                        *next += 1;
                        let batch = lent.batches.get(record.batch as usize)?;
                        return Some(BorrowedRecord::lent(current, batch, record));
                    }
                }
                let following = runs.find(|r| wanted(&r.topic, r.partition))?;
                *next = following.start;
                *run = Some(following);
            },
            Inner::Owned(records) => records
                .find(|r| wanted(&r.topic, r.partition))
                .map(BorrowedRecord::owned),
        }
    }
}

/// One record of a [`ConsumerRecords`], borrowed from the fetched bytes.
///
/// The accessors are [`ConsumerRecord`]'s; [`to_record`](Self::to_record)
/// makes an owned one.
#[derive(Clone, Copy)]
pub struct BorrowedRecord<'a> {
    topic: &'a Arc<str>,
    partition: u32,
    offset: u64,
    timestamp: i64,
    timestamp_type: TimestampType,
    leader_epoch: i32,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    origin: Origin<'a>,
}

#[derive(Clone, Copy)]
enum Origin<'a> {
    /// The batch's record bytes, and where the headers are in them.
    Lent(&'a Bytes, HeaderSpans),
    Owned(&'a ConsumerRecord),
}

impl<'a> BorrowedRecord<'a> {
    #[inline]
    fn lent(run: &'a Run, batch: &'a LentBatch, record: &LentRecord) -> Self {
        BorrowedRecord {
            topic: &run.topic,
            partition: run.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            timestamp_type: batch.timestamp_type,
            leader_epoch: batch.leader_epoch,
            key: record.key.get(&batch.body),
            value: record.value.get(&batch.body),
            origin: Origin::Lent(&batch.body, record.headers),
        }
    }

    fn owned(record: &'a ConsumerRecord) -> Self {
        BorrowedRecord {
            topic: &record.topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            timestamp_type: record.timestamp_type,
            leader_epoch: record.leader_epoch,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            origin: Origin::Owned(record),
        }
    }

    /// The topic.
    pub fn topic(&self) -> &'a str {
        self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The topic and partition as one value (built on each call).
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&**self.topic, self.partition)
    }

    /// The record's offset in its partition.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Timestamp in milliseconds since the Unix epoch.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Whether the timestamp is the producer's or the broker's append time.
    pub fn timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }

    /// The leader epoch of the batch the record was written in; `None`
    /// when the batch does not carry one.
    pub fn leader_epoch(&self) -> Option<i32> {
        (self.leader_epoch >= 0).then_some(self.leader_epoch)
    }

    /// The key's bytes, if the record has one.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }

    /// The value's bytes; `None` for a tombstone.
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }

    /// The headers as (name, value) pairs, in the order they were added
    /// (a null value reads as empty, as in [`Header`]).
    pub fn headers(&self) -> RecordHeaders<'a> {
        RecordHeaders {
            inner: match self.origin {
                Origin::Lent(body, spans) => HeadersInner::Encoded(spans.iter(body)),
                Origin::Owned(record) => HeadersInner::Owned(record.headers.iter()),
            },
        }
    }

    /// An owned record; its key, value and header values share the fetched
    /// bytes (a reference count each, no copy).
    pub fn to_record(&self) -> ConsumerRecord {
        let (body, headers) = match self.origin {
            Origin::Owned(record) => return record.clone(),
            Origin::Lent(body, headers) => (body, headers),
        };
        let slice = |bytes: &[u8]| body.slice_ref(bytes);
        ConsumerRecord {
            topic: Arc::clone(self.topic),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.map(slice),
            value: self.value.map(slice),
            headers: owned_headers(body, headers),
            timestamp_type: self.timestamp_type,
            leader_epoch: self.leader_epoch,
        }
    }
}

impl fmt::Debug for BorrowedRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |bytes: Option<&[u8]>| bytes.map(|b| b.escape_ascii().to_string());
        f.debug_struct("BorrowedRecord")
            .field("topic", &self.topic())
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("key", &text(self.key))
            .field("value", &text(self.value))
            .finish_non_exhaustive()
    }
}

/// The headers of a [`BorrowedRecord`]: (name, value) pairs.
#[derive(Clone)]
pub struct RecordHeaders<'a> {
    inner: HeadersInner<'a>,
}

#[derive(Clone)]
enum HeadersInner<'a> {
    /// Checked when the poll decoded the record, so decoding cannot fail.
    Encoded(HeaderIter<'a>),
    Owned(std::slice::Iter<'a, Header>),
}

impl<'a> Iterator for RecordHeaders<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            HeadersInner::Encoded(headers) => {
                let (name, value) = headers.next()?.ok()?;
                Some((name, value.unwrap_or_default()))
            }
            HeadersInner::Owned(headers) => headers.next().map(|h| (h.name(), h.value())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            HeadersInner::Encoded(headers) => (0, Some(headers.left() as usize)),
            HeadersInner::Owned(headers) => headers.size_hint(),
        }
    }
}
