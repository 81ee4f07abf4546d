//! The consumer's side of group membership: subscribe, rebalance inside
//! `poll`, heartbeats from a background thread, and offset commits.
//!
//! Everything the user sees happens in the user's thread, inside `poll`
//! (or `commit_*`, `close`): revocations, assignments, listener calls,
//! auto-commits. The background heartbeat thread only keeps the membership
//! alive and lets the coordinator notice members that stopped polling; it
//! never touches the consumer's partitions.
//!
//! Order of a rebalance, as seen by one member:
//! - eager (range, roundrobin): the coordinator asks it to rejoin; it
//!   commits (with `enable.auto.commit`), calls `on_partitions_revoked` for
//!   everything it owns, drops those partitions, then rejoins. Nobody gets
//!   a partition before its previous owner has done all that (or has been
//!   evicted by timeout).
//! - cooperative-sticky: it rejoins keeping its partitions; when the new
//!   assignment arrives it commits and revokes only the partitions that
//!   move, and their new owner gets them one rebalance later.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::Consumer;
use crate::config::AssignmentStrategy;
use crate::error::{Error, Result};
use crate::group::{Group, Groups, JoinRequest, MemberStatus};
use crate::topic::TopicPartition;

/// Reacts to partitions moving between the members of a consumer group.
///
/// Every method runs in the thread that called [`Consumer::poll`] (or
/// `close`), inside that call, with the consumer itself at hand: commit,
/// seek or read positions there. An error a method returns ends the rebalance
/// step and comes out of `poll`; the next `poll` continues.
pub trait RebalanceListener: Send {
    /// `partitions` are about to go to another member; their new owner gets
    /// them only after this returns. Commit what was processed here to avoid
    /// duplicates (auto-commit, when enabled, has just committed positions).
    ///
    /// # Errors
    /// Whatever the listener wants `poll` to report.
    fn on_partitions_revoked(
        &mut self,
        consumer: &mut Consumer,
        partitions: &[TopicPartition],
    ) -> Result<()> {
        let _ = (consumer, partitions);
        Ok(())
    }

    /// `partitions` now belong to this consumer; their positions are the
    /// group's committed offsets (or per `auto.offset.reset`).
    ///
    /// # Errors
    /// Whatever the listener wants `poll` to report.
    fn on_partitions_assigned(
        &mut self,
        consumer: &mut Consumer,
        partitions: &[TopicPartition],
    ) -> Result<()> {
        let _ = (consumer, partitions);
        Ok(())
    }

    /// The consumer lost its membership (it was evicted after
    /// `session.timeout.ms` or `max.poll.interval.ms`), so `partitions` may
    /// already belong to someone else: commits for them will fail. By
    /// default this calls [`on_partitions_revoked`](Self::on_partitions_revoked),
    /// as Kafka's does.
    ///
    /// # Errors
    /// Whatever the listener wants `poll` to report.
    fn on_partitions_lost(
        &mut self,
        consumer: &mut Consumer,
        partitions: &[TopicPartition],
    ) -> Result<()> {
        self.on_partitions_revoked(consumer, partitions)
    }
}

/// A commit callback, run later inside `poll` (or `commit_sync`, `close`).
type CommitCallback = Box<dyn FnOnce(Result<()>) + Send>;

/// A finished asynchronous commit waiting for its callback to run.
type Completion = (CommitCallback, Result<()>);

/// The group state a consumer carries; empty without a group.
#[derive(Default)]
pub(crate) struct Membership {
    groups: Option<Arc<Groups>>,
    member: Option<Member>,
    listener: Option<Box<dyn RebalanceListener>>,
    /// A listener method is running: polls it makes skip group work.
    in_listener: bool,
    next_auto_commit: Option<Instant>,
    completions: Option<(Sender<Completion>, Receiver<Completion>)>,
    /// Set when subscribed by pattern: re-evaluated in every poll.
    pattern: Option<pattern::TopicPattern>,
}

impl Membership {
    pub(crate) fn new(groups: Arc<Groups>) -> Self {
        Membership {
            groups: Some(groups),
            ..Membership::default()
        }
    }
}

/// State shared with the heartbeat thread.
struct Shared {
    member_id: Mutex<Option<String>>,
    last_poll: Mutex<Instant>,
    /// How many `poll`s the consumer is inside (a listener may poll within
    /// a poll): as in Kafka, time spent there does not count against
    /// `max.poll.interval.ms`.
    in_poll: AtomicUsize,
}

/// Marks the consumer as inside `poll` until dropped.
pub(crate) struct PollGuard {
    shared: Arc<Shared>,
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        // The interval starts when poll hands the records over.
        *self.shared.last_poll.lock() = Instant::now();
        self.shared.in_poll.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Consumer {
    /// Call at the start of `poll`; keep the guard until it returns.
    pub(crate) fn enter_poll(&self) -> Option<PollGuard> {
        let shared = &self.group.member.as_ref()?.shared;
        shared.in_poll.fetch_add(1, Ordering::AcqRel);
        Some(PollGuard {
            shared: Arc::clone(shared),
        })
    }
}

/// An active subscription: the member's view of its group.
struct Member {
    group: Arc<Group>,
    request: JoinRequest,
    member_id: Option<String>,
    generation: u32,
    owned: BTreeSet<TopicPartition>,
    /// Assigned partitions not taken over yet (reading their committed
    /// offsets failed); retried at every poll. `Some` even when empty, so
    /// the listener still hears of the assignment.
    to_take_over: Option<Vec<TopicPartition>>,
    /// The group's version when this member last looked.
    seen: u64,
    shared: Arc<Shared>,
    heartbeat: Option<Heartbeat>,
}

struct Heartbeat {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Heartbeat {
    fn start(group: Arc<Group>, shared: Arc<Shared>, interval: Duration) -> Result<Heartbeat> {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("tidelog-consumer-heartbeat".to_string())
            .spawn(move || heartbeat_loop(&group, &shared, interval, &stopped))
            .map_err(|e| Error::spawn("tidelog-consumer-heartbeat", e))?;
        Ok(Heartbeat { stop, thread })
    }

    fn stop(self) {
        drop(self.stop);
        // The thread only waits on the channel and the group's lock; it ends
        // as soon as it sees the channel closed. A panic inside it has
        // nothing left to clean up.
        let _ = self.thread.join();
    }
}

/// Heartbeats every `interval`, and also wakes at the coordinator's next
/// deadline so evictions happen on time even when every other member is
/// gone.
fn heartbeat_loop(group: &Group, shared: &Shared, interval: Duration, stopped: &Receiver<()>) {
    loop {
        match stopped_before(stopped, next_wake(group, interval)) {
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let member_id = shared.member_id.lock().clone();
        if let Some(member_id) = member_id {
            let last_poll = match shared.in_poll.load(Ordering::Acquire) {
                0 => *shared.last_poll.lock(),
                _ => Instant::now(),
            };
            group.heartbeat(&member_id, last_poll);
        } else {
            // Someone else's deadline woke us: evict them, or the deadline
            // stays in the past and this loop never sleeps again.
            group.tick();
        }
    }
}

/// The next heartbeat or the group's next deadline, whichever comes first;
/// never sooner than a millisecond from now, so a deadline nobody can act
/// on cannot make the thread spin. `None`: nothing due (durations too large
/// for `Instant`).
fn next_wake(group: &Group, interval: Duration) -> Option<Instant> {
    let now = Instant::now();
    let next = now.checked_add(interval);
    // Sessions end strictly after their deadline: wake just past it.
    let deadline = group
        .next_deadline()
        .and_then(|d| d.checked_add(Duration::from_millis(1)));
    let wake = match (next, deadline) {
        (Some(n), Some(d)) => Some(n.min(d)),
        (n, d) => n.or(d),
    }?;
    Some(
        now.checked_add(Duration::from_millis(1))
            .map_or(wake, |floor| wake.max(floor)),
    )
}

fn stopped_before(
    stopped: &Receiver<()>,
    wake: Option<Instant>,
) -> std::result::Result<(), crossbeam_channel::RecvTimeoutError> {
    match wake {
        Some(wake) => stopped.recv_deadline(wake),
        None => stopped
            .recv()
            .map_err(|_| crossbeam_channel::RecvTimeoutError::Disconnected),
    }
}

impl Drop for Member {
    /// A dropped member leaves at once, so its partitions move without
    /// waiting for the session timeout.
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        if let Some(member_id) = self.member_id.take() {
            self.group.leave(&member_id);
        }
    }
}

/// What the member must do next.
enum Step {
    /// The assignment stands.
    Done,
    /// Commit and revoke these (eager: everything), then rejoin.
    Rejoin(Vec<TopicPartition>),
    /// Others have not rejoined yet.
    Wait,
    /// A new generation: drop `revoked`, take `added`.
    Assigned {
        revoked: Vec<TopicPartition>,
        added: Vec<TopicPartition>,
    },
    /// Evicted: these partitions are lost; rejoin as a new member.
    Lost(Vec<TopicPartition>),
}

impl Member {
    fn eager(&self) -> bool {
        self.request.strategy != AssignmentStrategy::CooperativeSticky
    }

    fn needs_attention(&self) -> bool {
        self.member_id.is_none() || self.group.version() != self.seen
    }

    fn set_member_id(&mut self, member_id: Option<String>) {
        self.member_id.clone_from(&member_id);
        *self.shared.member_id.lock() = member_id;
    }

    fn step(&mut self) -> Result<Step> {
        self.seen = self.group.version();
        let Some(member_id) = self.member_id.clone() else {
            let joined = self.group.join(None, self.request.clone())?;
            self.set_member_id(joined);
            return Ok(Step::Wait);
        };
        Ok(match self.group.poll(&member_id) {
            MemberStatus::Stable { .. } => Step::Done,
            MemberStatus::RejoinNeeded if self.eager() => {
                Step::Rejoin(self.owned.iter().cloned().collect())
            }
            MemberStatus::RejoinNeeded => Step::Rejoin(Vec::new()),
            MemberStatus::AwaitingJoin => Step::Wait,
            MemberStatus::Assigned {
                generation,
                partitions,
            } => {
                let revoked = self.owned.difference(&partitions).cloned().collect();
                let added = partitions.difference(&self.owned).cloned().collect();
                self.owned = partitions;
                self.generation = generation;
                Step::Assigned { revoked, added }
            }
            MemberStatus::Unknown => {
                self.set_member_id(None);
                self.generation = 0;
                Step::Lost(std::mem::take(&mut self.owned).into_iter().collect())
            }
        })
    }

    /// Rejoins after revoking; an eager member owns nothing afterwards.
    /// Returns the partitions lost if the member was evicted meanwhile.
    fn rejoin(&mut self) -> Result<Vec<TopicPartition>> {
        if self.eager() {
            self.owned.clear();
        }
        let joined = self
            .group
            .join(self.member_id.as_deref(), self.request.clone())?;
        let lost = match joined {
            Some(_) => Vec::new(),
            None => {
                self.generation = 0;
                std::mem::take(&mut self.owned).into_iter().collect()
            }
        };
        self.set_member_id(joined);
        Ok(lost)
    }

    fn commit_identity(&self) -> Option<(&str, u32)> {
        self.member_id.as_deref().map(|id| (id, self.generation))
    }
}

mod commit;
mod pattern;
mod subscription;
