//! The hand-off between callers' threads and the sender thread.
//!
//! Callers push sealed batches and announce newly opened ones (with their
//! linger deadline); the core's completions arrive here too. The sender
//! sleeps on the condition variable until one of those or its own next
//! deadline, and callers only signal it when it may be asleep past the
//! moment they care about, so a steady stream of sends costs one lock per
//! batch and at most one wake-up per batch (none while the sender is busy).

use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::accumulator::PartitionAccumulator;
use super::batch::ProducerBatch;
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
        }
    }
}

impl SenderQueue {
    pub(crate) fn push_ready(&self, batch: ProducerBatch) {
        let mut state = self.state.lock();
        state.ready.push(batch);
        if state.sleep != Sleep::Awake {
            self.wake.notify_one();
        }
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
        if sleeps_past {
            self.wake.notify_one();
        }
    }

    pub(crate) fn complete(&self, batch: ProducerBatch, result: Result<AppendInfo>) {
        let mut state = self.state.lock();
        state.completions.push((batch, result));
        if state.sleep != Sleep::Awake {
            self.wake.notify_one();
        }
    }

    /// Asks the sender to finish what is queued and stop.
    pub(crate) fn close(&self) {
        self.state.lock().closing = true;
        self.wake.notify_one();
    }

    pub(crate) fn wake(&self) {
        self.state.lock().kicked = true;
        self.wake.notify_one();
    }

    /// Blocks until there is work, `own_deadline` passes, or (when the
    /// sender is `idle`) the producer is closing with nothing left. It
    /// sleeps rather than spins: on a machine with few cores a spinning
    /// sender takes the core the callers and the brokers need.
    pub(crate) fn take_work(&self, work: &mut Work, own_deadline: Option<Instant>, idle: bool) {
        let mut state = self.state.lock();
        loop {
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
