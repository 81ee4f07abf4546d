//! The consumer: assigned partitions, positions, and polls that block on
//! the cluster's data signal instead of sleeping.

pub(crate) mod config;
mod fetch_buffer;
mod group_member;
mod lent;
mod metadata;
mod offsets;
mod partition;
mod pause;
mod records;
#[cfg(feature = "kafka-client")]
mod remote;
#[cfg(feature = "kafka-client")]
mod remote_convert;
#[cfg(feature = "kafka-client")]
mod remote_offsets;
#[cfg(feature = "kafka-client")]
mod remote_rebalance;
mod wakeup;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use self::config::{ConsumerConfig, OffsetReset};
pub use self::group_member::RebalanceListener;
use self::lent::Lent;
pub use self::offsets::OffsetAndTimestamp;
use self::partition::{AssignedPartition, Fetched};
pub use self::records::{BorrowedRecord, ConsumerRecords, RecordHeaders, Records};
pub use self::wakeup::WakeupHandle;
pub(crate) use self::wakeup::WakeupState;
use crate::cluster::{spin, ClusterCore, ReadPool};
use crate::error::{Error, Result};
use crate::record::ConsumerRecord;
use crate::topic::TopicPartition;

/// Reads records from the partitions assigned to it.
///
/// Each assigned partition has a position: the offset of the next record
/// [`poll`](Consumer::poll) returns. A partition without one starts where
/// `auto.offset.reset` says (latest by default). Records are only ever
/// read below the high watermark, so a consumer never sees a record that
/// could still be lost.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// use std::time::Duration;
/// use tidelog::{ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
/// let log = Log::open(dir.path())?;
/// let producer = log.producer(ProducerConfig::new())?;
/// producer.send_sync(ProducerRecord::new("orders", "order-1"))?;
///
/// let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
/// consumer.assign(&[TopicPartition::new("orders", 0)])?;
/// let records = consumer.poll(Duration::from_secs(5))?;
/// assert_eq!(records[0].value(), Some(&b"order-1"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Consumer {
    /// Where the records come from; the fields below serve the embedded one.
    backend: Backend,
    config: ConsumerConfig,
    /// In assignment order; polls visit them round-robin.
    partitions: Vec<AssignedPartition>,
    /// Where the next poll starts visiting, so no partition starves.
    next_partition: usize,
    /// One shared name per topic for every record of it.
    topic_names: HashMap<String, Arc<str>>,
    /// Group membership, when subscribed (see `group_member`).
    group: group_member::Membership,
    /// An error met after some records were already taken in a poll: that
    /// poll returns the records, the next one this error (as Kafka's
    /// fetcher does), so no record is skipped silently.
    pending_error: Option<Error>,
    /// Shared with the consumer's `WakeupHandle`s.
    wakeup: Arc<WakeupState>,
    /// What the last poll returned, lent out by `poll_batch`; refilled by
    /// each poll, keeping its capacity.
    lent: Lent,
    /// Read buffers of earlier fetches, reused once every record from them
    /// is dropped (the chunk, `lent` and any record the user kept).
    read_pool: ReadPool,
    /// The last poll returned records: the next wait for data spins briefly
    /// before it sleeps, as more are likely within microseconds.
    recently_fed: bool,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("client_id", &self.config.client_id)
            .field("assignment", &self.assignment())
            .finish()
    }
}

/// The cluster a consumer reads: embedded, or Kafka's (feature `kafka-client`).
pub(crate) enum Backend {
    Embedded(Arc<ClusterCore>),
    #[cfg(feature = "kafka-client")]
    Kafka(Box<remote::KafkaConsumer>),
}

impl Backend {
    /// The embedded cluster; a Kafka-backed consumer never reaches the
    /// embedded code paths, which ask through here.
    fn core(&self) -> Result<&Arc<ClusterCore>> {
        match self {
            Backend::Embedded(core) => Ok(core),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => Err(Error::NeedsEmbedded("this consumer call")),
        }
    }
}

impl Consumer {
    /// A consumer on `core` with no partitions assigned.
    pub(crate) fn new(core: Arc<ClusterCore>, config: ConsumerConfig) -> Result<Consumer> {
        Ok(Consumer {
            wakeup: WakeupState::new(Arc::clone(&core)),
            backend: Backend::Embedded(core),
            config,
            partitions: Vec::new(),
            next_partition: 0,
            topic_names: HashMap::new(),
            group: group_member::Membership::default(),
            pending_error: None,
            lent: Lent::default(),
            read_pool: ReadPool::new(),
            recently_fed: false,
        })
    }

    /// Reads exactly these partitions from now on (replacing the previous
    /// assignment). Partitions kept from the previous assignment keep their
    /// position; new ones start at the group's committed offset when
    /// `group.id` is set and it has one (as in Kafka), else per
    /// `auto.offset.reset`, unless sought.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] or [`Error::InvalidPartition`] for a
    /// partition that does not exist; the assignment is then unchanged.
    /// After [`subscribe`](Consumer::subscribe), the subscription ends
    /// first (the consumer leaves its group): the error of that leave, if
    /// any, comes back once the new assignment is in place, as does a
    /// failure to read the group's committed offsets.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ConsumerConfig, TopicConfig, TopicPartition};
    /// log.create_topic("orders", TopicConfig::new().partitions(2))?;
    /// let mut consumer = log.consumer(ConsumerConfig::new())?;
    /// consumer.assign(&[TopicPartition::new("orders", 0), TopicPartition::new("orders", 1)])?;
    /// assert_eq!(consumer.assignment().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if self.kafka().is_some() {
            return remote_rebalance::assign(self, partitions);
        }
        for tp in partitions {
            let count = self.backend.core()?.partition_count(tp.topic())?;
            if tp.partition() >= count {
                return Err(Error::InvalidPartition {
                    topic: tp.topic().to_string(),
                    partition: tp.partition(),
                    partitions: count,
                });
            }
        }
        // A subscription ends first: its group sees this consumer leave.
        let left = self.leave_group();
        self.set_assignment(partitions);
        let resumed = self.resume_from_committed(partitions);
        left.and(resumed)
    }

    /// Replaces the assignment without checking it (the group membership
    /// hands over partitions the coordinator already checked).
    pub(crate) fn set_assignment(&mut self, partitions: &[TopicPartition]) {
        self.pending_error = None;
        let mut previous = std::mem::take(&mut self.partitions);
        for tp in partitions {
            if self.partitions.iter().any(|p| &p.tp == tp) {
                continue;
            }
            let kept = previous
                .iter()
                .position(|p| &p.tp == tp)
                .map(|i| previous.swap_remove(i));
            let partition = match kept {
                Some(kept) => kept,
                None => AssignedPartition::new(tp.clone(), self.topic_name(tp.topic())),
            };
            self.partitions.push(partition);
        }
        self.next_partition = 0;
    }

    /// Adds one partition (if not yet assigned), starting at `position` when
    /// given (a committed offset) and per `auto.offset.reset` otherwise.
    pub(crate) fn add_partition(&mut self, tp: &TopicPartition, position: Option<u64>) {
        if self.partitions.iter().all(|p| &p.tp != tp) {
            let topic = self.topic_name(tp.topic());
            self.partitions
                .push(AssignedPartition::new(tp.clone(), topic));
        }
        if let (Some(offset), Ok(partition)) = (position, self.assigned_mut(tp)) {
            partition.seek(offset);
        }
    }

    /// Stops reading these partitions; their buffered records are dropped.
    pub(crate) fn remove_partitions(&mut self, partitions: &[TopicPartition]) {
        self.partitions.retain(|p| !partitions.contains(&p.tp));
        self.next_partition = 0;
    }

    /// Positions of the assigned partitions that have one (what a commit stores).
    pub(crate) fn positions(&self) -> Vec<(TopicPartition, u64)> {
        self.partitions
            .iter()
            .filter_map(|p| p.position.map(|offset| (p.tp.clone(), offset)))
            .collect()
    }

    /// The partitions this consumer reads, in assignment order.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.assignment();
        }
        self.partitions.iter().map(|p| p.tp.clone()).collect()
    }

    /// Returns the next records of the assigned partitions, waiting up to
    /// `timeout` for some to arrive.
    ///
    /// Returns at once when records are available, with at most
    /// `max.poll.records` of them; otherwise blocks until records arrive
    /// (then returns them) or `timeout` passes (then returns an empty
    /// vector). A zero timeout never blocks. The positions advance past
    /// the returned records.
    ///
    /// # Errors
    /// - [`Error::NoOffsetForPartition`] when a partition has no position
    ///   and `auto.offset.reset` is `none`;
    /// - [`Error::OffsetOutOfRange`] when a position left the log (e.g.
    ///   retention removed it) and `auto.offset.reset` is `none`;
    /// - [`Error::UnknownTopic`] when an assigned topic was deleted;
    /// - [`Error::Corrupt`] or [`Error::Io`] when the log cannot be read;
    /// - [`Error::Wakeup`] when a [`WakeupHandle`] interrupted it.
    ///
    /// Paused partitions (see [`pause`](Consumer::pause)) are skipped.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send_sync(ProducerRecord::new("orders", "order-1"))?;
    /// let config = ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest);
    /// let mut consumer = log.consumer(config)?;
    /// consumer.assign(&[TopicPartition::new("orders", 0)])?;
    ///
    /// // Records available: returned at once.
    /// assert_eq!(consumer.poll(Duration::from_secs(5))?.len(), 1);
    /// // Nothing new and a zero timeout: an empty vector at once.
    /// assert!(consumer.poll(Duration::ZERO)?.is_empty());
    /// // Nothing new: waits the timeout out, then returns an empty vector.
    /// assert!(consumer.poll(Duration::from_millis(10))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        #[cfg(feature = "kafka-client")]
        if self.kafka().is_some() {
            return remote_rebalance::poll(self, timeout);
        }
        let deadline = Instant::now().checked_add(timeout);
        self.poll_until(deadline)?;
        let records = ConsumerRecords::lent(&self.lent).to_vec();
        // The owned records hold what they need of the fetched bytes.
        self.lent.clear();
        Ok(records)
    }

    /// [`poll`](Consumer::poll), with the records lent out of the fetched
    /// batches instead of one owned [`ConsumerRecord`] each.
    ///
    /// Waiting, `max.poll.records`, errors and positions are exactly
    /// `poll`'s: the returned records count as consumed (the positions
    /// moved past them, and an auto-commit or
    /// [`commit_sync`](Consumer::commit_sync) stores those positions).
    /// Reading a record's key, value or headers copies nothing and takes
    /// no reference count; the result borrows the consumer until dropped.
    /// [`ConsumerRecords::to_vec`] gives owned records when they must
    /// outlive it.
    ///
    /// # Errors
    /// As [`poll`](Consumer::poll).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// for i in 0..3 {
    ///     producer.send_sync(ProducerRecord::new("orders", format!("order-{i}")))?;
    /// }
    /// let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    /// consumer.assign(&[TopicPartition::new("orders", 0)])?;
    ///
    /// let mut total = 0;
    /// for record in &consumer.poll_batch(Duration::from_secs(5))? {
    ///     total += record.value().map_or(0, <[u8]>::len);
    /// }
    /// assert_eq!(total, 21);
    /// assert_eq!(consumer.position(&TopicPartition::new("orders", 0))?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_batch(&mut self, timeout: Duration) -> Result<ConsumerRecords<'_>> {
        #[cfg(feature = "kafka-client")]
        if self.kafka().is_some() {
            return remote_rebalance::poll(self, timeout).map(ConsumerRecords::from);
        }
        let deadline = Instant::now().checked_add(timeout);
        self.poll_until(deadline)?;
        Ok(ConsumerRecords::lent(&self.lent))
    }

    /// Polls until records arrive or `deadline` passes (`None`: no
    /// deadline); the records are left in `self.lent`.
    pub(crate) fn poll_until(&mut self, deadline: Option<Instant>) -> Result<()> {
        let mut lent = std::mem::take(&mut self.lent);
        lent.clear();
        let result = self.poll_into(&mut lent, deadline);
        self.lent = lent;
        result
    }

    fn poll_into(&mut self, records: &mut Lent, deadline: Option<Instant>) -> Result<()> {
        let _in_poll = self.enter_poll();
        let max = usize::try_from(self.config.max_poll_records)
            .unwrap_or(usize::MAX)
            .max(1);
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        loop {
            // Read the signal before looking, so an append that lands
            // between the look and the wait still wakes us.
            let seen = self.backend.core()?.data_signal().current();
            // After reading the signal: a wakeup from now on also bumps it.
            self.wakeup.check()?;
            // Group membership (join, rebalance, auto-commit) before each
            // look, so a rebalance during a long wait is handled at once.
            self.poll_group(deadline)?;
            if let Err(error) = self.collect(records, max) {
                if records.is_empty() {
                    return Err(error);
                }
                self.pending_error = Some(error);
            }
            if !records.is_empty() {
                self.recently_fed = true;
                return Ok(());
            }
            let now = Instant::now();
            let wait_until = match deadline {
                Some(deadline) if deadline <= now => return Ok(()),
                Some(deadline) => deadline,
                // Re-check now and then even without a deadline; cheap.
                None => now + Duration::from_secs(1),
            };
            // A group change also notifies the signal; it is handled at the
            // top of the loop instead of waiting.
            if !self.group_needs_attention() {
                let signal = self.backend.core()?.data_signal();
                let moved = || signal.moved_past(seen);
                if std::mem::take(&mut self.recently_fed)
                    && spin::spin_until(spin::SPIN_BUDGET, Some(wait_until), moved)
                {
                    continue;
                }
                signal.wait_past(seen, wait_until);
            }
        }
    }

    /// One pass over the assigned partitions: buffered records first, then
    /// a fetch for each partition whose buffer ran dry, within
    /// `fetch.max.bytes` overall and `max.partition.fetch.bytes` each.
    ///
    /// A poll that fills up from a partition's fetched chunk leaves the
    /// next poll starting there, so a chunk is decoded in consecutive polls
    /// while its bytes are still in cache (visiting the partitions in turn,
    /// each chunk was left for several others' and fell out of it). As in
    /// Kafka's consumer, which drains one fetched partition before the
    /// next, no partition starves: one whose chunk runs out in a poll is
    /// fetched again only after the others had their turn.
    fn collect(&mut self, out: &mut Lent, max: usize) -> Result<()> {
        let count = self.partitions.len();
        if count == 0 {
            return Ok(());
        }
        let mut budget = self.config.fetch_max_bytes as usize;
        let start = self.next_partition % count;
        self.next_partition = (start + 1) % count;
        let mut ran_out = None;
        for i in 0..count {
            if out.len() >= max {
                break;
            }
            let index = (start + i) % count;
            let Some(partition) = self.partitions.get_mut(index) else {
                continue;
            };
            if partition.paused {
                continue;
            }
            let buffered = !partition.buffer.is_empty();
            partition.drain_into(out, max)?;
            if !partition.buffer.is_empty() {
                self.next_partition = index;
                continue;
            }
            if out.len() >= max || budget == 0 {
                continue;
            }
            if buffered && ran_out.is_none() && !out.is_empty() {
                ran_out = Some(index);
                continue;
            }
            budget = self.fetch_and_drain(index, out, max, budget)?;
        }
        if let Some(index) = ran_out {
            if out.len() < max && budget > 0 {
                self.fetch_and_drain(index, out, max, budget)?;
            }
        }
        Ok(())
    }

    /// Fetches partition `index` within `budget` bytes and lends what it
    /// got to `out`; returns the budget left.
    fn fetch_and_drain(
        &mut self,
        index: usize,
        out: &mut Lent,
        max: usize,
        budget: usize,
    ) -> Result<usize> {
        let reset = self.config.auto_offset_reset;
        let per_partition = self.config.max_partition_fetch_bytes as usize;
        let core = self.backend.core()?;
        let Some(partition) = self.partitions.get_mut(index) else {
            return Ok(budget);
        };
        let Fetched::Bytes(bytes) =
            partition.fetch(core, reset, per_partition.min(budget), &mut self.read_pool)?
        else {
            return Ok(budget);
        };
        partition.drain_into(out, max)?;
        if !partition.buffer.is_empty() {
            self.next_partition = index;
        }
        Ok(budget.saturating_sub(bytes))
    }

    fn topic_name(&mut self, topic: &str) -> Arc<str> {
        Arc::clone(
            self.topic_names
                .entry(topic.to_string())
                .or_insert_with(|| Arc::from(topic)),
        )
    }

    fn assigned_mut(&mut self, tp: &TopicPartition) -> Result<&mut AssignedPartition> {
        self.partitions
            .iter_mut()
            .find(|p| &p.tp == tp)
            .ok_or_else(|| Error::NotAssigned {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
            })
    }
}

#[cfg(feature = "kafka-client")]
impl Consumer {
    /// A consumer of a Kafka cluster with no partitions assigned.
    pub(crate) fn new_kafka(
        log: Arc<crate::remote::KafkaLog>,
        config: ConsumerConfig,
    ) -> Result<Consumer> {
        let wakeup = WakeupState::detached();
        let kafka = remote::KafkaConsumer::new(log, &config, Arc::clone(&wakeup))?;
        Ok(Consumer {
            backend: Backend::Kafka(Box::new(kafka)),
            config,
            partitions: Vec::new(),
            next_partition: 0,
            topic_names: HashMap::new(),
            group: group_member::Membership::default(),
            pending_error: None,
            wakeup,
            lent: Lent::default(),
            read_pool: ReadPool::new(),
            recently_fed: false,
        })
    }

    /// The Kafka backend, when this consumer reads a Kafka cluster.
    pub(crate) fn kafka(&self) -> Option<&remote::KafkaConsumer> {
        match &self.backend {
            Backend::Kafka(kafka) => Some(kafka),
            Backend::Embedded(_) => None,
        }
    }

    pub(crate) fn kafka_mut(&mut self) -> Option<&mut remote::KafkaConsumer> {
        match &mut self.backend {
            Backend::Kafka(kafka) => Some(kafka),
            Backend::Embedded(_) => None,
        }
    }
}
