//! Subscribing, rebalancing inside `poll`, leaving (close) and dying (kill).

use std::collections::BTreeSet;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Heartbeat, Member, RebalanceListener, Shared, Step};
use crate::consumer::Consumer;
use crate::error::{Error, Result};
use crate::group::JoinRequest;
use crate::topic::{TopicName, TopicPartition};

impl Consumer {
    /// Lets the consumer join the groups of its `Log` (by `subscribe`).
    pub(crate) fn attach_groups(&mut self, groups: Arc<crate::group::Groups>) {
        self.group = super::Membership::new(groups);
    }

    /// Joins the consumer group named by `group.id` and reads the
    /// partitions of `topics` the group assigns to this member.
    ///
    /// The join itself happens in the next [`poll`](Consumer::poll), like
    /// every later rebalance: partitions arrive, move and leave only inside
    /// `poll`. A background thread heartbeats every `heartbeat.interval.ms`,
    /// so a slow loop keeps its membership as long as it polls within
    /// `max.poll.interval.ms`. Subscribing again to other topics replaces
    /// the subscription (leaving the group and rejoining); to the same
    /// topics, it only replaces the listener. Manually assigned partitions
    /// are dropped.
    ///
    /// # Errors
    /// [`Error::NoGroupId`] without `group.id` (use
    /// [`assign`](Consumer::assign) instead), [`Error::InvalidTopicName`],
    /// [`Error::InvalidConfig`] when `heartbeat.interval.ms` is not below
    /// `session.timeout.ms`.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, TopicConfig};
    /// log.create_topic("orders", TopicConfig::new().partitions(3))?;
    /// let config = ConsumerConfig::new().group_id("billing").auto_offset_reset(OffsetReset::Earliest);
    /// let mut consumer = log.consumer(config)?;
    /// consumer.subscribe(["orders"])?;
    /// consumer.poll(Duration::from_millis(100))?; // joins; the only member gets everything
    /// assert_eq!(consumer.assignment().len(), 3);
    /// consumer.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&mut self, topics: impl IntoIterator<Item = impl AsRef<str>>) -> Result<()> {
        let topics = topic_set(topics)?;
        self.subscribe_inner(topics, None)?;
        self.group.pattern = None;
        Ok(())
    }

    /// Like [`subscribe`](Consumer::subscribe), with a listener told about
    /// every partition revoked, assigned or lost (inside `poll`).
    ///
    /// # Errors
    /// As [`subscribe`](Consumer::subscribe).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// use tidelog::{Consumer, ConsumerConfig, RebalanceListener, TopicPartition};
    /// struct CommitOnRevoke;
    /// impl RebalanceListener for CommitOnRevoke {
    ///     fn on_partitions_revoked(
    ///         &mut self,
    ///         consumer: &mut Consumer,
    ///         _partitions: &[TopicPartition],
    ///     ) -> tidelog::Result<()> {
    ///         consumer.commit_sync() // before the next owner starts reading
    ///     }
    /// }
    /// let mut consumer = log.consumer(ConsumerConfig::new().group_id("billing"))?;
    /// consumer.subscribe_with_listener(["orders"], CommitOnRevoke)?;
    /// consumer.poll(Duration::from_millis(10))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe_with_listener(
        &mut self,
        topics: impl IntoIterator<Item = impl AsRef<str>>,
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        let topics = topic_set(topics)?;
        self.subscribe_inner(topics, Some(Box::new(listener)))?;
        self.group.pattern = None;
        Ok(())
    }

    pub(super) fn subscribe_inner(
        &mut self,
        topics: BTreeSet<String>,
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            kafka.listener = listener;
            return kafka.subscribe(topics.into_iter().collect(), None);
        }
        let group_id = self
            .config
            .group_id
            .clone()
            .ok_or(Error::NoGroupId("subscribe"))?;
        if self.config.heartbeat_interval >= self.config.session_timeout {
            return Err(Error::config(
                "heartbeat.interval.ms",
                self.config.heartbeat_interval.as_millis().to_string(),
                format!(
                    "must be below session.timeout.ms ({} ms), or the member is removed between \
                     two heartbeats; a third of it is usual",
                    self.config.session_timeout.as_millis()
                ),
            ));
        }
        let groups = self
            .group
            .groups
            .clone()
            .ok_or(Error::Closed("consumer's Log"))?;
        if self
            .group
            .member
            .as_ref()
            .is_some_and(|m| m.request.topics == topics)
        {
            // The same subscription: keep the membership, as Kafka does.
            self.group.listener = listener;
            return Ok(());
        }
        self.leave_group()?;
        self.set_assignment(&[]);
        let group = groups.group(&group_id);
        self.wakeup.set_group(Some(Arc::clone(&group)));
        let shared = Arc::new(Shared {
            member_id: Mutex::new(None),
            last_poll: Mutex::new(Instant::now()),
            in_poll: AtomicUsize::new(0),
        });
        // Often enough that a poll blocked longer than max.poll.interval.ms
        // is reported as alive before that interval runs out.
        let interval = self
            .config
            .heartbeat_interval
            .min(self.config.max_poll_interval / 2);
        let heartbeat = Heartbeat::start(Arc::clone(&group), Arc::clone(&shared), interval)?;
        self.group.member = Some(Member {
            seen: group.version(),
            group,
            request: JoinRequest {
                client_id: self.config.client_id.clone(),
                topics,
                strategy: self.config.assignment_strategy,
                session_timeout: self.config.session_timeout,
                max_poll_interval: self.config.max_poll_interval,
            },
            member_id: None,
            generation: 0,
            owned: BTreeSet::new(),
            to_take_over: None,
            shared,
            heartbeat: Some(heartbeat),
        });
        self.group.listener = listener;
        self.group.next_auto_commit = self
            .config
            .enable_auto_commit
            .then(|| Instant::now().checked_add(self.config.auto_commit_interval))
            .flatten();
        Ok(())
    }

    /// Leaves the group (committing first with `enable.auto.commit`) and
    /// drops the subscribed partitions.
    ///
    /// # Errors
    /// The auto-commit's or the listener's error; the consumer leaves anyway.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// let mut consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("billing"))?;
    /// consumer.subscribe(["orders"])?;
    /// consumer.unsubscribe()?;
    /// assert!(consumer.subscription().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unsubscribe(&mut self) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.unsubscribe();
        }
        self.leave_group()
    }

    /// The topics subscribed to (empty without a subscription), sorted.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// let mut consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("billing"))?;
    /// consumer.subscribe(["payments", "orders"])?;
    /// assert_eq!(consumer.subscription(), ["orders", "payments"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscription(&self) -> Vec<String> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.subscription();
        }
        self.group
            .member
            .as_ref()
            .map(|m| m.request.topics.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The member id the group coordinator gave this consumer; `None`
    /// before the first join completes or without a subscription.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// let config = tidelog::ConsumerConfig::new().group_id("billing").set("client.id", "biller")?;
    /// let mut consumer = log.consumer(config)?;
    /// consumer.subscribe(["orders"])?;
    /// assert_eq!(consumer.member_id(), None); // joins in poll
    /// consumer.poll(Duration::from_millis(10))?;
    /// assert!(consumer.member_id().is_some_and(|id| id.starts_with("biller-")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn member_id(&self) -> Option<&str> {
        self.group.member.as_ref()?.member_id.as_deref()
    }

    /// The group generation this consumer's assignment belongs to; `None`
    /// before its first assignment or without a subscription.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// let mut consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("billing"))?;
    /// consumer.subscribe(["orders"])?;
    /// consumer.poll(Duration::from_millis(10))?;
    /// assert_eq!(consumer.generation(), Some(1)); // the first, alone in the group
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generation(&self) -> Option<u32> {
        let member = self.group.member.as_ref()?;
        (member.generation > 0).then_some(member.generation)
    }

    /// Leaves the group at once — committing positions first with
    /// `enable.auto.commit`, and telling the listener the partitions are
    /// revoked — so the other members take the partitions over without
    /// waiting for the session timeout. Runs pending commit callbacks.
    ///
    /// Dropping a consumer also leaves at once, but commits nothing.
    ///
    /// # Errors
    /// The auto-commit's or the listener's error; the consumer leaves anyway.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// let mut consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("billing"))?;
    /// consumer.subscribe(["orders"])?;
    /// consumer.poll(Duration::from_millis(10))?;
    /// consumer.close()?; // commits (auto-commit is on by default) and leaves
    /// assert!(log.consumer_group("billing").describe()?.members().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(mut self) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if self.kafka().is_some() {
            return crate::consumer::remote_rebalance::close(&mut self);
        }
        let left = self.leave_group();
        self.run_commit_callbacks();
        left
    }

    /// Ends the consumer abruptly, as if its process died: no leave, no
    /// commit, no listener call, and its heartbeats stop. The group only
    /// notices after `session.timeout.ms`, then gives its partitions to the
    /// other members, which resume from the last committed offsets.
    ///
    /// This is failure injection, for testing how an application copes with
    /// a crashed member; use [`close`](Consumer::close) otherwise.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// use tidelog::ConsumerConfig;
    /// let config = ConsumerConfig::new()
    ///     .group_id("billing")
    ///     .session_timeout(Duration::from_millis(100))
    ///     .heartbeat_interval(Duration::from_millis(30));
    /// let mut consumer = log.consumer(config)?;
    /// consumer.subscribe(["orders"])?;
    /// consumer.poll(Duration::from_millis(10))?;
    /// consumer.kill();
    /// // Still a member until its session times out.
    /// assert_eq!(log.consumer_group("billing").describe()?.members().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kill(mut self) {
        if let Some(mut member) = self.group.member.take() {
            if let Some(heartbeat) = member.heartbeat.take() {
                heartbeat.stop();
            }
            // Forget the id so dropping the member sends no leave.
            member.member_id = None;
        }
    }

    /// Whether the group changed since this consumer last looked: its
    /// `poll` should come back to `poll_group` instead of waiting for data.
    pub(crate) fn group_needs_attention(&self) -> bool {
        !self.group.in_listener
            && self
                .group
                .member
                .as_ref()
                .is_some_and(Member::needs_attention)
    }

    /// The group's part of a poll: joins, rebalances, auto-commits. Waits
    /// (until `deadline`) only while the member has rejoined and the others
    /// have not; returns with whatever the member owns by then.
    pub(crate) fn poll_group(&mut self, deadline: Option<Instant>) -> Result<()> {
        if self.group.in_listener {
            return Ok(());
        }
        self.run_commit_callbacks();
        self.refresh_pattern()?;
        let Some(member) = self.group.member.as_ref() else {
            return Ok(());
        };
        *member.shared.last_poll.lock() = Instant::now();
        // A listener's error is reported once the rebalance step is done; an
        // error of the protocol itself (a refused join) ends the poll at once.
        let mut listener_error = None;
        // An assignment whose offsets could not be read last time.
        self.take_over_pending(&mut |result: Result<()>| {
            if let Err(e) = result {
                listener_error.get_or_insert(e);
            }
        })?;
        while self.group_needs_attention() {
            if !self.rebalance_step(deadline, &mut listener_error)? {
                break;
            }
        }
        self.maybe_auto_commit();
        listener_error.map_or(Ok(()), Err)
    }

    /// One step; `Ok(false)` when the member should stop for this poll.
    fn rebalance_step(
        &mut self,
        deadline: Option<Instant>,
        listener_error: &mut Option<Error>,
    ) -> Result<bool> {
        let Some(member) = self.group.member.as_mut() else {
            return Ok(false);
        };
        let mut note = |result: Result<()>| {
            if let Err(e) = result {
                listener_error.get_or_insert(e);
            }
        };
        match member.step()? {
            Step::Done => return Ok(false),
            Step::Rejoin(revoked) => {
                note(self.revoke(&revoked));
                let lost = match self.group.member.as_mut() {
                    Some(member) => member.rejoin()?,
                    None => Vec::new(),
                };
                if !lost.is_empty() {
                    note(self.call_listener(|l, c| l.on_partitions_lost(c, &lost)));
                    self.remove_partitions(&lost);
                }
            }
            Step::Wait => return Ok(self.wait_for_group(deadline)),
            Step::Assigned { revoked, added } => {
                note(self.revoke(&revoked));
                if let Some(member) = self.group.member.as_mut() {
                    let pending = member.to_take_over.get_or_insert_with(Vec::new);
                    pending.extend(added);
                }
                self.take_over_pending(&mut note)?;
            }
            Step::Lost(lost) => {
                note(self.call_listener(|l, c| l.on_partitions_lost(c, &lost)));
                self.remove_partitions(&lost);
            }
        }
        Ok(true)
    }

    /// Waits for the other members; whether the group changed in time.
    fn wait_for_group(&mut self, deadline: Option<Instant>) -> bool {
        let Some(member) = self.group.member.as_ref() else {
            return false;
        };
        // Without a deadline, wake now and then to refresh `last_poll`.
        let until = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let wakeup = &self.wakeup;
        let changed = member
            .group
            .wait_for_change(member.seen, until, &|| wakeup.is_requested());
        *member.shared.last_poll.lock() = Instant::now();
        // A wakeup ends this poll's group work; poll then reports it.
        !wakeup.is_requested() && (changed || deadline.is_none())
    }

    /// Commits (with auto-commit) and revokes `partitions`, then drops them.
    fn revoke(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        if self.config.enable_auto_commit {
            // As in Kafka, a failed auto-commit does not stop the rebalance;
            // the next owner then re-reads from the last committed offset.
            let offsets = self.offsets_to_commit(Some(partitions));
            let _ = self.commit_to_group(&offsets);
        }
        let result = self.call_listener(|l, c| l.on_partitions_revoked(c, partitions));
        self.remove_partitions(partitions);
        result
    }

    /// The group's committed offsets for `partitions`, read before they
    /// are added. Failing here (the committed offsets cannot be loaded)
    /// leaves them out of the fetch set rather than starting them at
    /// `auto.offset.reset`, which could skip records; the error comes out of
    /// `poll`.
    fn committed_offsets(&self, partitions: &[TopicPartition]) -> Result<Vec<Option<u64>>> {
        let Some(member) = self.group.member.as_ref() else {
            return Ok(Vec::new());
        };
        partitions
            .iter()
            .map(|tp| Ok(member.group.committed(tp)?.map(|c| c.offset())))
            .collect()
    }

    /// Takes over the assigned partitions still waiting, if any. Failing to
    /// read their committed offsets is returned and leaves them waiting for
    /// the next poll; the listener's error goes to `note`.
    fn take_over_pending(&mut self, note: &mut impl FnMut(Result<()>)) -> Result<()> {
        let Some(member) = self.group.member.as_ref() else {
            return Ok(());
        };
        let Some(pending) = member.to_take_over.as_ref() else {
            return Ok(());
        };
        // Partitions revoked or lost since they were assigned are skipped.
        let mut added: Vec<TopicPartition> = pending
            .iter()
            .filter(|tp| member.owned.contains(*tp))
            .cloned()
            .collect();
        added.sort();
        added.dedup();
        let committed = self.committed_offsets(&added)?;
        if let Some(member) = self.group.member.as_mut() {
            member.to_take_over = None;
        }
        note(self.take_over(&added, committed));
        Ok(())
    }

    /// Adds newly assigned partitions at their committed offsets, then tells
    /// the listener (always, even with nothing new, as Kafka does).
    fn take_over(&mut self, added: &[TopicPartition], committed: Vec<Option<u64>>) -> Result<()> {
        for (tp, offset) in added.iter().zip(committed) {
            self.add_partition(tp, offset);
        }
        self.call_listener(|l, c| l.on_partitions_assigned(c, added))
    }

    /// Runs the listener (if any) with the consumer at hand. While it runs,
    /// a `poll` it makes does no group work.
    fn call_listener(
        &mut self,
        call: impl FnOnce(&mut dyn RebalanceListener, &mut Consumer) -> Result<()>,
    ) -> Result<()> {
        let Some(mut listener) = self.group.listener.take() else {
            return Ok(());
        };
        self.group.in_listener = true;
        let result = call(listener.as_mut(), self);
        self.group.in_listener = false;
        if self.group.listener.is_none() {
            self.group.listener = Some(listener);
        }
        result
    }

    /// Commits (with auto-commit), revokes everything and leaves; the
    /// subscription (names or pattern) and its listener end.
    pub(crate) fn leave_group(&mut self) -> Result<()> {
        self.group.pattern = None;
        let result = self.leave_membership();
        self.group.listener = None;
        result
    }

    /// As `leave_group`, keeping the listener and the pattern.
    pub(crate) fn leave_membership(&mut self) -> Result<()> {
        let Some(member) = self.group.member.as_ref() else {
            return Ok(());
        };
        let owned: Vec<TopicPartition> = member.owned.iter().cloned().collect();
        let joined = member.member_id.is_some();
        let mut result = Ok(());
        if self.config.enable_auto_commit && joined {
            let offsets = self.offsets_to_commit(Some(&owned));
            result = self.commit_to_group(&offsets);
        }
        let revoke = match owned.is_empty() {
            true => Ok(()),
            false => self.call_listener(|l, c| l.on_partitions_revoked(c, &owned)),
        };
        self.remove_partitions(&owned);
        // Dropping the member stops its heartbeats and sends the leave.
        self.group.member = None;
        self.wakeup.set_group(None);
        result.and(revoke)
    }
}

/// Validated, sorted, deduplicated topic names.
fn topic_set(topics: impl IntoIterator<Item = impl AsRef<str>>) -> Result<BTreeSet<String>> {
    topics
        .into_iter()
        .map(|t| TopicName::new(t.as_ref()).map(|n| n.to_string()))
        .collect()
}
