//! The shell around the coordinators: every group of one `Log`, each a
//! `GroupCoordinator` behind a mutex, plus the committed-offset store.
//!
//! Time only moves forward in here: every call reads the clock after taking
//! the lock and passes it to the state machine. Nothing runs on a timer of
//! its own; members' heartbeat threads (and anyone waiting for a rebalance)
//! call in at the coordinator's next deadline, so evictions happen on time
//! without a coordinator thread. Every change is published three ways: the
//! `version` atomic (read by consumers on each poll without locking), the
//! condition variable (for members waiting for a rebalance to complete) and
//! the cluster's data signal (to wake consumers blocked waiting for records).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::coordinator::{GroupCoordinator, JoinRequest, MemberStatus, Refusal};
use super::description::GroupDescription;
use super::offset_record::OffsetAndMetadata;
use super::offsets::{OffsetStore, Update, COMMIT_TIMEOUT};
use crate::cluster::ClusterCore;
use crate::error::{CommitRefusal, Error, Result};
use crate::topic::TopicPartition;

/// Committed offsets by partition.
pub(crate) type Offsets = BTreeMap<TopicPartition, OffsetAndMetadata>;

/// Every consumer group of one `Log`.
pub(crate) struct Groups {
    core: Arc<ClusterCore>,
    offsets: Arc<OffsetStore>,
    groups: Mutex<BTreeMap<String, Arc<Group>>>,
}

impl Groups {
    pub(crate) fn new(core: Arc<ClusterCore>) -> Arc<Groups> {
        Arc::new(Groups {
            offsets: Arc::new(OffsetStore::new(Arc::clone(&core))),
            core,
            groups: Mutex::new(BTreeMap::new()),
        })
    }

    /// The group called `name`, created (empty) on first use.
    pub(crate) fn group(&self, name: &str) -> Arc<Group> {
        let mut groups = self.groups.lock();
        let group = groups.entry(name.to_string()).or_insert_with(|| {
            Arc::new(Group {
                name: name.to_string(),
                core: Arc::clone(&self.core),
                offsets: Arc::clone(&self.offsets),
                coordinator: Mutex::new(GroupCoordinator::new(name)),
                changed: Condvar::new(),
                version: AtomicU64::new(0),
            })
        });
        Arc::clone(group)
    }

    /// The group if it has been used since the `Log` opened.
    pub(crate) fn existing(&self, name: &str) -> Option<Arc<Group>> {
        self.groups.lock().get(name).cloned()
    }

    /// Groups with members or committed offsets, sorted.
    pub(crate) fn list(&self) -> Result<Vec<String>> {
        let mut names: BTreeSet<String> = self.offsets.groups()?.into_iter().collect();
        for (name, group) in self.groups.lock().iter() {
            if group.coordinator.lock().has_members() {
                names.insert(name.clone());
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Deletes a group with no members: tombstones its offsets and marks it
    /// Dead. The group stays registered, so a consumer that looked it up
    /// before the deletion still reaches the same coordinator as everyone
    /// else; the next join brings it back as a fresh, empty group.
    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        if self.offsets.group_offsets(name)?.is_empty() {
            return match self.existing(name).is_some_and(|g| g.lock().has_members()) {
                true => Err(Error::GroupNotEmpty(name.to_string())),
                false => Err(Error::UnknownGroup(name.to_string())),
            };
        }
        let group = self.group(name);
        // The tombstones cover what is committed when the group is found
        // empty, and it is marked Dead under that same lock: no member can
        // join, and no commit can slip in, in between.
        group.write(|coordinator| {
            group.check_empty(coordinator)?;
            let partitions: Vec<TopicPartition> =
                self.offsets.group_offsets(name)?.into_keys().collect();
            if partitions.is_empty() {
                return Err(Error::UnknownGroup(name.to_string()));
            }
            coordinator.mark_dead();
            Ok(Update::Delete(name.to_string(), partitions))
        })
    }

    pub(crate) fn offsets(&self) -> &OffsetStore {
        &self.offsets
    }

    pub(crate) fn core(&self) -> &Arc<ClusterCore> {
        &self.core
    }
}

/// One group: its coordinator and the way to reach its offsets.
pub(crate) struct Group {
    name: String,
    core: Arc<ClusterCore>,
    offsets: Arc<OffsetStore>,
    coordinator: Mutex<GroupCoordinator>,
    changed: Condvar,
    version: AtomicU64,
}

/// The locked coordinator; on drop, publishes any change it made.
pub(crate) struct Locked<'a> {
    group: &'a Group,
    guard: MutexGuard<'a, GroupCoordinator>,
    before: u64,
}

impl Deref for Locked<'_> {
    type Target = GroupCoordinator;
    fn deref(&self) -> &GroupCoordinator {
        &self.guard
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut GroupCoordinator {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.group.publish(&self.guard, self.before);
    }
}

impl Group {
    fn lock(&self) -> Locked<'_> {
        let guard = self.coordinator.lock();
        let before = guard.version();
        Locked {
            group: self,
            guard,
            before,
        }
    }

    fn publish(&self, coordinator: &GroupCoordinator, before: u64) {
        if coordinator.version() != before {
            self.version.store(coordinator.version(), Ordering::Release);
            self.changed.notify_all();
            self.core.data_signal().notify();
        }
    }

    /// Changes whenever the group's state, generation or membership does.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Partition counts of `topics` that exist now.
    fn metadata(&self, topics: &BTreeSet<String>) -> BTreeMap<String, u32> {
        topics
            .iter()
            .filter_map(|t| self.core.partition_count(t).ok().map(|n| (t.clone(), n)))
            .collect()
    }

    fn refresh_metadata(&self, coordinator: &mut GroupCoordinator, extra: &BTreeSet<String>) {
        let mut topics = coordinator.subscribed_topics();
        topics.extend(extra.iter().cloned());
        let metadata = self.metadata(&topics);
        coordinator.update_metadata(metadata, Instant::now());
    }

    /// Joins (or rejoins) the group; returns the member id. A stale
    /// `member_id` yields `None`: the caller rejoins as a new member.
    pub(crate) fn join(
        &self,
        member_id: Option<&str>,
        request: JoinRequest,
    ) -> Result<Option<String>> {
        let mut coordinator = self.lock();
        self.refresh_metadata(&mut coordinator, &request.topics);
        let asked = request.strategy;
        match coordinator.join(member_id, request, Instant::now()) {
            Ok(id) => Ok(Some(id)),
            Err(Refusal::UnknownMember) => Ok(None),
            Err(Refusal::InconsistentStrategy(used)) => Err(Error::config(
                "partition.assignment.strategy",
                asked.name(),
                format!(
                    "group {:?} uses {}; every member must use the same strategy",
                    self.name,
                    used.name()
                ),
            )),
            Err(refusal) => Err(self.refused(refusal)),
        }
    }

    pub(crate) fn poll(&self, member_id: &str) -> MemberStatus {
        self.lock().poll(member_id, Instant::now())
    }

    pub(crate) fn heartbeat(&self, member_id: &str, last_poll: Instant) -> MemberStatus {
        let mut coordinator = self.lock();
        self.refresh_metadata(&mut coordinator, &BTreeSet::new());
        coordinator.heartbeat(member_id, last_poll, Instant::now())
    }

    /// Evicts whoever has expired (for a heartbeat thread whose own
    /// consumer is not a member right now).
    pub(crate) fn tick(&self) {
        self.lock().tick(Instant::now());
    }

    pub(crate) fn leave(&self, member_id: &str) {
        self.lock().leave(member_id, Instant::now());
    }

    /// When the coordinator next needs a tick (a session or poll interval ends).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.coordinator.lock().next_deadline()
    }

    /// Wakes every `wait_for_change` so it checks its interruption.
    pub(crate) fn wake_waiters(&self) {
        let _guard = self.coordinator.lock();
        self.changed.notify_all();
    }

    /// Waits until the group changes past `seen` or `deadline` passes,
    /// ticking the coordinator at its own deadlines meanwhile; returns
    /// whether it changed.
    /// A consumer's wakeup ends the wait early: `interrupted` is checked
    /// whenever the wait wakes, and [`Group::wake_waiters`] wakes it.
    pub(crate) fn wait_for_change(
        &self,
        seen: u64,
        deadline: Instant,
        interrupted: &dyn Fn() -> bool,
    ) -> bool {
        let mut guard = self.coordinator.lock();
        loop {
            if guard.version() != seen {
                return true;
            }
            if interrupted() {
                return false;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // Sessions end strictly after their deadline: wake just past it.
            let wake = guard
                .next_deadline()
                .and_then(|d| d.checked_add(Duration::from_millis(1)))
                .map_or(deadline, |d| d.min(deadline));
            if self.changed.wait_until(&mut guard, wake).timed_out() {
                let before = guard.version();
                guard.tick(Instant::now());
                self.publish(&guard, before);
            }
        }
    }

    /// Commits for a member (`Some((member_id, generation))`) or a consumer
    /// with manual assignment (`None`, only while the group has no members),
    /// and waits until the offsets are durable.
    pub(crate) fn commit(&self, member: Option<(&str, u32)>, offsets: &Offsets) -> Result<()> {
        let (member_id, generation) = member.map_or((None, 0), |(m, g)| (Some(m), g));
        self.write(|coordinator| {
            coordinator
                .validate_commit(member_id, generation, Instant::now())
                .map_err(|r| self.refused(r))?;
            Ok(Update::Commit(self.name.clone(), offsets.clone()))
        })
    }

    /// Like `commit`, but returns once the write is under way; `on_complete`
    /// runs on whichever thread finishes it. Not retried, as Kafka's
    /// `commitAsync`: a later commit supersedes a failed one.
    pub(crate) fn commit_async(
        &self,
        member: Option<(&str, u32)>,
        offsets: Offsets,
        on_complete: Box<dyn FnOnce(Result<()>) + Send>,
    ) {
        let tp = match self.offsets.prepare(&self.name) {
            Ok(tp) => tp,
            Err(e) => return on_complete(Err(e)),
        };
        let (member_id, generation) = member.map_or((None, 0), |(m, g)| (Some(m), g));
        let mut coordinator = self.lock();
        match coordinator.validate_commit(member_id, generation, Instant::now()) {
            Ok(()) => {
                let update = Update::Commit(self.name.clone(), offsets);
                OffsetStore::append(&self.offsets, &tp, update, on_complete);
            }
            Err(refusal) => on_complete(Err(self.refused(refusal))),
        }
    }

    /// Stores offsets on behalf of an administrator: refused while the group
    /// has members, whose positions would overwrite them.
    pub(crate) fn admin_commit(&self, offsets: &Offsets) -> Result<()> {
        self.write(|coordinator| {
            self.check_empty(coordinator)?;
            Ok(Update::Commit(self.name.clone(), offsets.clone()))
        })
    }

    fn check_empty(&self, coordinator: &GroupCoordinator) -> Result<()> {
        match coordinator.has_members() {
            true => Err(Error::GroupNotEmpty(self.name.clone())),
            false => Ok(()),
        }
    }

    /// Writes the update `check` returns (once it passes), and waits until
    /// it is durable.
    ///
    /// Each attempt checks and starts the append under the group's lock, so
    /// appends are ordered after the membership they were validated
    /// against; the wait for replication happens outside it, so heartbeats
    /// are never stuck behind a slow write. Retriable failures (leadership
    /// moving) are retried, re-checking each time, for up to
    /// `offsets.commit.timeout.ms`.
    fn write(&self, check: impl Fn(&mut GroupCoordinator) -> Result<Update>) -> Result<()> {
        let tp = self.offsets.prepare(&self.name)?;
        self.offsets
            .retry(COMMIT_TIMEOUT, "offsets.commit.timeout.ms", |deadline| {
                let (done, outcome) = crossbeam_channel::bounded(1);
                {
                    let mut coordinator = self.lock();
                    let update = check(&mut coordinator)?;
                    let on_complete = Box::new(move |result| {
                        let _ = done.send(result);
                    });
                    OffsetStore::append(&self.offsets, &tp, update, on_complete);
                }
                outcome
                    .recv_deadline(
                        deadline
                            .checked_add(Duration::from_millis(100))
                            .unwrap_or(deadline),
                    )
                    .unwrap_or(Err(Error::Timeout {
                        op: "offsets.commit.timeout.ms",
                        timeout: COMMIT_TIMEOUT,
                    }))
            })
    }

    pub(crate) fn committed(&self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        self.offsets.committed(&self.name, tp)
    }

    /// A snapshot, after evicting whoever has expired.
    pub(crate) fn describe(&self) -> GroupDescription {
        let mut coordinator = self.lock();
        coordinator.tick(Instant::now());
        coordinator.describe()
    }

    fn refused(&self, refusal: Refusal) -> Error {
        let group = self.name.clone();
        match refusal {
            Refusal::UnknownMember => Error::CommitFailed {
                group,
                refusal: CommitRefusal::UnknownMember,
            },
            Refusal::IllegalGeneration => Error::CommitFailed {
                group,
                refusal: CommitRefusal::IllegalGeneration,
            },
            Refusal::RebalanceInProgress | Refusal::InconsistentStrategy(_) => {
                Error::RebalanceInProgress(group)
            }
        }
    }
}
