//! Offset commits: synchronous, asynchronous, explicit, automatic.
//!
//! A committed offset is the *next* offset to read: the consumer's position,
//! not the offset of the last record processed.

use std::borrow::Borrow;
use std::time::Instant;

use crate::consumer::Consumer;
use crate::error::{CommitRefusal, Error, Result};
use crate::group::{OffsetAndMetadata, Offsets};
use crate::topic::TopicPartition;

impl Consumer {
    /// Commits the positions of every assigned partition (the offsets after
    /// the records `poll` has returned) and waits until they are durable.
    ///
    /// # Errors
    /// - [`Error::NoGroupId`] without `group.id`;
    /// - [`Error::CommitFailed`] when this consumer is no longer a member of
    ///   the group's current generation (it was evicted, or the group
    ///   rebalanced): the partitions may belong to another member now, and
    ///   nothing was committed — poll again to rejoin;
    /// - [`Error::RebalanceInProgress`] (retriable) while the group completes
    ///   a rebalance;
    /// - [`Error::Timeout`] or replication errors from writing the offsets.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
    /// log.producer(ProducerConfig::new())?.send_sync(ProducerRecord::new("orders", "o-1"))?;
    /// let config = ConsumerConfig::new()
    ///     .group_id("billing")
    ///     .enable_auto_commit(false)
    ///     .auto_offset_reset(OffsetReset::Earliest);
    /// let mut consumer = log.consumer(config)?;
    /// consumer.subscribe(["orders"])?;
    /// let records = consumer.poll(Duration::from_secs(5))?;
    /// consumer.commit_sync()?;
    /// let committed = consumer.committed(&TopicPartition::new("orders", 0))?;
    /// assert_eq!(committed.map(|c| c.offset()), Some(records.len() as u64));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit_sync(&mut self) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            kafka.run_commit_callbacks();
            return kafka.commit_sync();
        }
        self.run_commit_callbacks();
        let offsets = self.offsets_to_commit(None);
        self.commit_to_group(&offsets)
    }

    /// Commits explicit offsets (each the next offset to read) and waits
    /// until they are durable. The partitions need not be assigned. Takes
    /// any iterable of pairs: a slice, a `Vec` or a
    /// `HashMap<TopicPartition, OffsetAndMetadata>`.
    ///
    /// # Errors
    /// As [`commit_sync`](Consumer::commit_sync).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use tidelog::{ConsumerConfig, OffsetAndMetadata, TopicPartition};
    /// let mut consumer = log.consumer(ConsumerConfig::new().group_id("billing"))?;
    /// let tp = TopicPartition::new("orders", 0);
    /// // Processed up to offset 41: the next to read is 42.
    /// consumer.commit_offsets(&[(tp.clone(), OffsetAndMetadata::new(42).with_metadata("batch 7"))])?;
    /// assert_eq!(consumer.committed(&tp)?.map(|c| c.offset()), Some(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit_offsets(
        &mut self,
        offsets: impl IntoIterator<Item = impl Borrow<(TopicPartition, OffsetAndMetadata)>>,
    ) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            kafka.run_commit_callbacks();
            let offsets: Vec<_> = offsets
                .into_iter()
                .map(|pair| pair.borrow().clone())
                .collect();
            return kafka.commit_offsets(&offsets);
        }
        self.run_commit_callbacks();
        let offsets: Offsets = offsets
            .into_iter()
            .map(|pair| pair.borrow().clone())
            .collect();
        self.commit_to_group(&offsets)
    }

    /// Starts committing the positions of every assigned partition and
    /// returns at once. `callback` gets the outcome later, in this thread,
    /// inside a `poll`, `commit_sync`, `commit_offsets` or `close`. A failed
    /// asynchronous commit is not retried: a later commit supersedes it.
    ///
    /// # Errors
    /// [`Error::NoGroupId`] without `group.id`; every other failure goes to
    /// `callback`.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// let mut consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("billing"))?;
    /// consumer.subscribe(["orders"])?;
    /// consumer.poll(Duration::from_millis(10))?;
    /// consumer.commit_async(|result| {
    ///     if let Err(e) = result {
    ///         eprintln!("commit failed: {e}");
    ///     }
    /// })?;
    /// consumer.poll(Duration::from_millis(10))?; // the callback runs in a poll
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit_async(
        &mut self,
        callback: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.commit_async(Box::new(callback));
        }
        let group_id = self
            .config
            .group_id
            .clone()
            .ok_or(Error::NoGroupId("commit_async"))?;
        let offsets = self.offsets_to_commit(None);
        let (sender, _) = self
            .group
            .completions
            .get_or_insert_with(crossbeam_channel::unbounded);
        let sender = sender.clone();
        let on_complete: Box<dyn FnOnce(Result<()>) + Send> = Box::new(move |outcome| {
            // The consumer may be gone; then nobody is left to call back.
            let _ = sender.send((Box::new(callback), outcome));
        });
        match self.group.member.as_ref() {
            Some(member) => match member.commit_identity() {
                Some(identity) => member
                    .group
                    .commit_async(Some(identity), offsets, on_complete),
                None => on_complete(Err(self.no_identity(group_id))),
            },
            None => match self.group.groups.as_ref() {
                Some(groups) => groups
                    .group(&group_id)
                    .commit_async(None, offsets, on_complete),
                None => on_complete(Err(Error::Closed("consumer's Log"))),
            },
        }
        Ok(())
    }

    /// Starts manually assigned partitions that have no position yet at
    /// the group's committed offset, as Kafka's consumers do when
    /// `group.id` is set; the others keep following `auto.offset.reset`.
    /// Without a `group.id` there is nothing to resume from.
    pub(crate) fn resume_from_committed(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if self.config.group_id.is_none() {
            return Ok(());
        }
        for tp in partitions {
            let unset = self
                .partitions
                .iter()
                .any(|p| &p.tp == tp && p.position.is_none());
            if let (true, Some(committed)) = (unset, self.committed(tp)?) {
                self.assigned_mut(tp)?.seek(committed.offset());
            }
        }
        Ok(())
    }

    /// The group's committed offset for `tp` (whether or not this consumer
    /// reads it); `None` when the group has not committed one.
    ///
    /// # Errors
    /// [`Error::NoGroupId`] without `group.id`; loading committed offsets
    /// can fail with [`Error::Io`] or [`Error::Corrupt`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// let consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("billing"))?;
    /// let nothing_yet = consumer.committed(&tidelog::TopicPartition::new("orders", 0))?;
    /// assert_eq!(nothing_yet, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn committed(&self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.committed(tp);
        }
        let group_id = self
            .config
            .group_id
            .as_deref()
            .ok_or(Error::NoGroupId("committed"))?;
        let groups = self
            .group
            .groups
            .as_ref()
            .ok_or(Error::Closed("consumer's Log"))?;
        groups.offsets().committed(group_id, tp)
    }

    /// Positions of the assigned partitions (only those in `only`, if
    /// given) that have one, as offsets to commit.
    pub(super) fn offsets_to_commit(&self, only: Option<&[TopicPartition]>) -> Offsets {
        self.positions()
            .into_iter()
            .filter(|(tp, _)| only.is_none_or(|only| only.contains(tp)))
            .map(|(tp, offset)| (tp, OffsetAndMetadata::new(offset)))
            .collect()
    }

    /// Why a subscribed consumer without a member id cannot commit. Inside
    /// a listener that means `on_partitions_lost` (every other listener call
    /// happens while the member id is known): the partitions belong to
    /// someone else and retrying cannot help.
    fn no_identity(&self, group: String) -> Error {
        match self.group.in_listener {
            true => Error::CommitFailed {
                group,
                refusal: CommitRefusal::PartitionsLost,
            },
            false => Error::RebalanceInProgress(group),
        }
    }

    /// Commits for this consumer's membership, or as a consumer with manual
    /// assignment when it has no subscription.
    pub(super) fn commit_to_group(&mut self, offsets: &Offsets) -> Result<()> {
        let group_id = self
            .config
            .group_id
            .clone()
            .ok_or(Error::NoGroupId("commit"))?;
        if offsets.is_empty() {
            return Ok(());
        }
        match self.group.member.as_ref() {
            Some(member) => match member.commit_identity() {
                Some(identity) => member.group.commit(Some(identity), offsets),
                None => Err(self.no_identity(group_id)),
            },
            None => {
                let groups = self
                    .group
                    .groups
                    .as_ref()
                    .ok_or(Error::Closed("consumer's Log"))?;
                groups.group(&group_id).commit(None, offsets)
            }
        }
    }

    /// With `enable.auto.commit`, commits the positions reached by the
    /// previous polls once `auto.commit.interval.ms` has passed. Failures
    /// are dropped, as Kafka's auto-commit only logs them: the next
    /// interval commits again, and a lost commit only means re-reading.
    pub(super) fn maybe_auto_commit(&mut self) {
        let Some(due) = self.group.next_auto_commit else {
            return;
        };
        if Instant::now() < due || self.group.member.is_none() {
            return;
        }
        let offsets = self.offsets_to_commit(None);
        let _ = self.commit_to_group(&offsets);
        // An interval too large for `Instant` means no further auto-commit.
        self.group.next_auto_commit = Instant::now().checked_add(self.config.auto_commit_interval);
    }

    /// Runs the callbacks of asynchronous commits that have finished.
    pub(super) fn run_commit_callbacks(&mut self) {
        let Some((_, receiver)) = self.group.completions.as_ref() else {
            return;
        };
        let done: Vec<_> = receiver.try_iter().collect();
        for (callback, outcome) in done {
            callback(outcome);
        }
    }
}
