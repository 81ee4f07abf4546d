//! What a replica asks its caller to do once no lock is held: run produce
//! callbacks, propose ISR changes, wake consumers.
//!
//! Callbacks of one partition must run in the order the leader decided
//! them (offset order for successes), yet they are decided under the
//! replica's lock by whichever thread got there, and run after it is
//! released. Each replica therefore queues its callbacks in decision order
//! in a [`Deliveries`] queue, and whichever thread gets the queue's turn
//! runs them all, in order; the others leave theirs to it. No thread ever
//! waits for another to deliver, so a callback may call back into the
//! cluster without deadlocking.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use super::signal::Signal;
use crate::cluster::protocol::leader::BrokerId;
use crate::error::Result;
use crate::storage::AppendInfo;
use crate::topic::TopicPartition;

/// Called exactly once with the outcome of a produce request.
pub(crate) type ProduceCallback = Box<dyn FnOnce(Result<AppendInfo>) + Send>;

/// One outcome waiting to be handed to its callback.
type Outcome = (ProduceCallback, Result<AppendInfo>);

/// The ordered callback queue of one replica.
#[derive(Default)]
pub(crate) struct Deliveries {
    queue: Mutex<VecDeque<Outcome>>,
    turn: Mutex<()>,
}

impl Deliveries {
    /// Queues an outcome; call under the replica's lock so the queue order
    /// is the decision order.
    pub(crate) fn push(&self, callback: ProduceCallback, result: Result<AppendInfo>) {
        self.queue.lock().push_back((callback, result));
    }

    /// Runs queued callbacks in order, unless another thread is already
    /// doing so (it will run ours too).
    pub(crate) fn run(&self) {
        loop {
            let Some(turn) = self.turn.try_lock() else {
                return;
            };
            loop {
                let next = self.queue.lock().pop_front();
                match next {
                    Some((callback, result)) => callback(result),
                    None => break,
                }
            }
            drop(turn);
            // An outcome queued after our last look but before we gave up
            // the turn found the turn taken: it is ours to run.
            if self.queue.lock().is_empty() {
                return;
            }
        }
    }
}

/// A leader asks the controller to record a new ISR.
pub(crate) struct IsrProposal {
    pub(crate) tp: TopicPartition,
    pub(crate) leader: BrokerId,
    /// The leader and partition epochs the proposal was computed in.
    pub(crate) epochs: (i32, i32),
    pub(crate) isr: Vec<BrokerId>,
}

/// What the caller must do once it holds no lock.
#[derive(Default)]
pub(crate) struct Effects {
    /// Replicas with callbacks queued.
    pub(crate) deliveries: Vec<Arc<Deliveries>>,
    /// ISR changes to propose to the controller.
    pub(crate) isr: Vec<IsrProposal>,
    /// Some high watermark moved: wake consumers.
    pub(crate) high_watermark_moved: bool,
    /// Brokers whose fetchers have new data to fetch (a leader appended):
    /// see [`Fetchers`].
    pub(crate) fetchers: Fetchers,
}

/// A set of brokers whose fetcher threads to wake: bit `i` for broker `i`.
/// An id past the bits stands for every broker, which only costs wake-ups.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fetchers(u64);

impl Fetchers {
    pub(crate) const ALL: Fetchers = Fetchers(u64::MAX);

    pub(crate) fn add(&mut self, id: BrokerId) {
        self.0 |= bit(id);
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Notifies the signal of every broker in the set; `signals[i]` is
    /// broker `i`'s.
    pub(crate) fn wake(self, signals: &[Arc<Signal>]) {
        if self.is_empty() {
            return;
        }
        for (id, signal) in (0..).zip(signals) {
            if self.0 & bit(id) != 0 {
                signal.notify();
            }
        }
    }

    fn merge(&mut self, other: Fetchers) {
        self.0 |= other.0;
    }
}

fn bit(id: BrokerId) -> u64 {
    1u64.checked_shl(id).unwrap_or(u64::MAX)
}

impl Effects {
    /// Queues an outcome on `queue` and remembers to run it.
    pub(crate) fn deliver(
        &mut self,
        queue: &Arc<Deliveries>,
        callback: ProduceCallback,
        result: Result<AppendInfo>,
    ) {
        queue.push(callback, result);
        if !self.deliveries.iter().any(|d| Arc::ptr_eq(d, queue)) {
            self.deliveries.push(Arc::clone(queue));
        }
    }

    pub(crate) fn merge(&mut self, other: Effects) {
        for queue in other.deliveries {
            if !self.deliveries.iter().any(|d| Arc::ptr_eq(d, &queue)) {
                self.deliveries.push(queue);
            }
        }
        self.isr.extend(other.isr);
        self.high_watermark_moved |= other.high_watermark_moved;
        self.fetchers.merge(other.fetchers);
    }

    /// Whether there is nothing to do.
    pub(crate) fn is_empty(&self) -> bool {
        self.deliveries.is_empty()
            && self.isr.is_empty()
            && !self.high_watermark_moved
            && self.fetchers.is_empty()
    }

    /// Runs the queued callbacks.
    pub(crate) fn complete(&mut self) {
        for queue in self.deliveries.drain(..) {
            queue.run();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn callbacks_run_in_queue_order_across_threads() {
        let queue = Arc::new(Deliveries::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(Mutex::new(0usize));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (queue, seen, next) =
                    (Arc::clone(&queue), Arc::clone(&seen), Arc::clone(&next));
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        {
                            // The "replica lock": decides the order.
                            let mut n = next.lock();
                            let mine = *n;
                            *n += 1;
                            let seen = Arc::clone(&seen);
                            queue.push(
                                Box::new(move |_| seen.lock().push(mine)),
                                Err(crate::Error::Closed("test")),
                            );
                        }
                        queue.run();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        queue.run();
        let seen = seen.lock();
        assert_eq!(*seen, (0..2000).collect::<Vec<_>>());
    }

    #[test]
    fn a_callback_may_queue_more_without_deadlock() {
        let queue = Arc::new(Deliveries::default());
        let count = Arc::new(AtomicUsize::new(0));
        let (inner_queue, inner_count) = (Arc::clone(&queue), Arc::clone(&count));
        queue.push(
            Box::new(move |_| {
                let c = Arc::clone(&inner_count);
                inner_queue.push(
                    Box::new(move |_| {
                        c.fetch_add(1, Ordering::SeqCst);
                    }),
                    Err(crate::Error::Closed("test")),
                );
                inner_queue.run();
                inner_count.fetch_add(1, Ordering::SeqCst);
            }),
            Err(crate::Error::Closed("test")),
        );
        queue.run();
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }
}
