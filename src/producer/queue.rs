//! The hand-off between callers' threads and the sender thread.
//!
//! Callers push sealed batches and announce newly opened ones (with their
//! linger deadline); the core's completions arrive here too. The sender
//! sleeps on the condition variable until one of those or its own next
//! deadline, and callers only signal it when it may be asleep past the
//! moment they care about, so a steady stream of sends costs one lock per
//! batch and at most one wake-up per batch (none while the sender is busy).
//! Right after work the sender spins for a few microseconds before it
//! sleeps (`spin`), so a batch that follows soon after costs no wake-up.

use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::accumulator::PartitionAccumulator;
use super::batch::ProducerBatch;
use crate::cluster::spin::{spin_until, SPIN_BUDGET};
use crate::cluster::AppendInfo;
use crate::error::Result;

/// A partition whose open batch is due at `deadline` unless sealed sooner.
/// Each partition has at most one (see `PartitionAccumulator::linger_due`).
pub(crate) struct Lingering {
    pub(crate) partition: Arc<PartitionAccumulator>,
    pub(crate) deadline: Instant,
}

// Ordered so the `BinaryHeap` (a max-heap) yields the earliest deadline first.
impl Ord for Lingering {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.deadline.cmp(&self.deadline)
    }
}

impl PartialOrd for Lingering {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Lingering {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Lingering {}

/// What the sender takes from the queue in one go.
#[derive(Default)]
pub(crate) struct Work {
    pub(crate) ready: Vec<ProducerBatch>,
    pub(crate) due: Vec<Lingering>,
    pub(crate) completions: Vec<(ProducerBatch, Result<AppendInfo>)>,
    pub(crate) closing: bool,
}

impl Work {
    pub(crate) fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.due.is_empty() && self.completions.is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sleep {
    Awake,
    Until(Instant),
    Forever,
}

struct QueueState {
    ready: Vec<ProducerBatch>,
    /// Earliest deadline on top.
    lingering: BinaryHeap<Lingering>,
    completions: Vec<(ProducerBatch, Result<AppendInfo>)>,
    closing: bool,
    /// Something outside the queue changed (the sender was un-paused): the
    /// sender must look again even with no new work.
    kicked: bool,
    sleep: Sleep,
}

pub(crate) struct SenderQueue {
    state: Mutex<QueueState>,
    wake: Condvar,
    /// Set under the lock with anything a spinning sender should look at;
    /// read without it, so the spin ends as soon as there is work.
    posted: AtomicBool,
}

impl Default for SenderQueue {
    fn default() -> Self {
        SenderQueue {
            state: Mutex::new(QueueState {
                ready: Vec::new(),
                lingering: BinaryHeap::new(),
                completions: Vec::new(),
                closing: false,
                kicked: false,
                sleep: Sleep::Awake,
            }),
            wake: Condvar::new(),
            posted: AtomicBool::new(false),
        }
    }
}

impl SenderQueue {
    pub(crate) fn push_ready(&self, batch: ProducerBatch) {
        let mut state = self.state.lock();
        state.ready.push(batch);
        self.post(&state);
    }

    pub(crate) fn linger(&self, partition: Arc<PartitionAccumulator>, deadline: Instant) {
        let mut state = self.state.lock();
        state.lingering.push(Lingering {
            partition,
            deadline,
        });
        let sleeps_past = match state.sleep {
            Sleep::Awake => false,
            Sleep::Until(until) => until > deadline,
            Sleep::Forever => true,
        };
        self.posted.store(true, Ordering::Release);
        if sleeps_past {
            self.wake.notify_one();
        }
    }

    /// Tells a spinning sender there is work, and wakes a sleeping one.
    fn post(&self, state: &MutexGuard<'_, QueueState>) {
        self.posted.store(true, Ordering::Release);
        if state.sleep != Sleep::Awake {
            self.wake.notify_one();
        }
    }

    pub(crate) fn complete(&self, batch: ProducerBatch, result: Result<AppendInfo>) {
        let mut state = self.state.lock();
        state.completions.push((batch, result));
        self.post(&state);
    }

    /// Asks the sender to finish what is queued and stop.
    pub(crate) fn close(&self) {
        self.state.lock().closing = true;
        self.posted.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub(crate) fn wake(&self) {
        self.state.lock().kicked = true;
        self.posted.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Blocks until there is work, `own_deadline` passes, or (when the
    /// sender is `idle`) the producer is closing with nothing left. With
    /// `spin` (the sender just did work) it first spins for at most
    /// `SPIN_BUDGET`; otherwise, and after that, it sleeps: on a machine
    /// with few cores a sender spinning for long takes the core the callers
    /// and the brokers need.
    pub(crate) fn take_work(
        &self,
        work: &mut Work,
        own_deadline: Option<Instant>,
        idle: bool,
        mut spin: bool,
    ) {
        let mut state = self.state.lock();
        loop {
            self.posted.store(false, Ordering::Relaxed);
            let now = Instant::now();
            let closing = state.closing;
            while let Some(front) = state.lingering.peek() {
                if front.deadline > now && !closing {
                    break;
                }
                if let Some(entry) = state.lingering.pop() {
                    work.due.push(entry);
                }
            }
            work.ready.append(&mut state.ready);
            work.completions.append(&mut state.completions);
            work.closing = closing;
            let own_due = own_deadline.is_some_and(|d| d <= now);
            let kicked = std::mem::take(&mut state.kicked);
            if !work.is_empty() || own_due || kicked || (closing && idle) {
                return;
            }
            let front = state.lingering.peek().map(|l| l.deadline);
            let deadline = match (front, own_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if std::mem::take(&mut spin) {
                // Still `Awake` to callers: they post without waking.
                let posted = || self.posted.load(Ordering::Acquire);
                MutexGuard::unlocked(&mut state, || spin_until(SPIN_BUDGET, deadline, posted));
                continue;
            }
            state.sleep = deadline.map_or(Sleep::Forever, Sleep::Until);
            match deadline {
                Some(deadline) => {
                    self.wake.wait_until(&mut state, deadline);
                }
                None => self.wake.wait(&mut state),
            }
            state.sleep = Sleep::Awake;
        }
    }
}
