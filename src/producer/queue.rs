//! The hand-off between callers' threads and the sender thread.
//!
//! Callers push sealed batches and announce newly opened ones (with their
//! linger deadline); the core's completions arrive here too. The sender
//! sleeps on the condition variable until one of those or its own next
//! deadline, and callers only signal it when it may be asleep past the
//! moment they care about, so a steady stream of sends costs one lock per
//! batch and no wake-ups.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::accumulator::PartitionAccumulator;
use super::batch::ProducerBatch;
use crate::error::Result;
use crate::storage::AppendInfo;

/// A batch that was opened and is due at `deadline` unless sealed sooner.
pub(crate) struct Lingering {
    pub(crate) partition: Arc<PartitionAccumulator>,
    pub(crate) id: u64,
    pub(crate) deadline: Instant,
}

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
    /// Deadlines increase along the queue: linger.ms is one constant.
    lingering: VecDeque<Lingering>,
    completions: Vec<(ProducerBatch, Result<AppendInfo>)>,
    closing: bool,
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
                lingering: VecDeque::new(),
                completions: Vec::new(),
                closing: false,
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

    pub(crate) fn linger(&self, partition: Arc<PartitionAccumulator>, id: u64, deadline: Instant) {
        let mut state = self.state.lock();
        state.lingering.push_back(Lingering {
            partition,
            id,
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
        let _state = self.state.lock();
        self.wake.notify_one();
    }

    /// Blocks until there is work, `own_deadline` passes, or (when the
    /// sender is `idle`) the producer is closing with nothing left.
    pub(crate) fn take_work(&self, work: &mut Work, own_deadline: Option<Instant>, idle: bool) {
        let mut state = self.state.lock();
        loop {
            let now = Instant::now();
            let closing = state.closing;
            while let Some(front) = state.lingering.front() {
                if front.deadline > now && !closing {
                    break;
                }
                if let Some(entry) = state.lingering.pop_front() {
                    work.due.push(entry);
                }
            }
            work.ready.append(&mut state.ready);
            work.completions.append(&mut state.completions);
            work.closing = closing;
            let own_due = own_deadline.is_some_and(|d| d <= now);
            if !work.is_empty() || own_due || (closing && idle) {
                return;
            }
            let front = state.lingering.front().map(|l| l.deadline);
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
