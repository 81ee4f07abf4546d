//! A wake-up signal for threads waiting on new data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// A counter bumped whenever something a waiter cares about happens (a high
/// watermark advances, the cluster changes, a leader appends), with a
/// condition variable to wait on: waiters sleep on it instead of polling.
///
/// The counter is an atomic outside the mutex so that a waiter may watch it
/// without locking (a fetcher spinning briefly before it parks); `notify`
/// still takes the mutex after bumping it, so a waiter that checked the
/// counter under the mutex and then sleeps cannot miss the bump.
#[derive(Default)]
pub(crate) struct Signal {
    seq: AtomicU64,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Signal {
    /// The current sequence number; pass it to [`Signal::wait_past`].
    pub(crate) fn current(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Whether the sequence moved past `seen`, without waiting.
    pub(crate) fn moved_past(&self, seen: u64) -> bool {
        self.current() != seen
    }

    /// Wakes every waiter.
    pub(crate) fn notify(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
        let _lock = self.lock.lock();
        self.cond.notify_all();
    }

    /// Waits until the sequence moves past `seen` or `deadline` passes;
    /// returns whether it moved.
    pub(crate) fn wait_past(&self, seen: u64, deadline: Instant) -> bool {
        let mut lock = self.lock.lock();
        while !self.moved_past(seen) {
            if self.cond.wait_until(&mut lock, deadline).timed_out() {
                return self.moved_past(seen);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn waiter_wakes_on_notify_and_times_out_without_one() {
        let signal = Arc::new(Signal::default());
        let seen = signal.current();
        assert!(!signal.wait_past(seen, Instant::now() + Duration::from_millis(10)));
        let other = Arc::clone(&signal);
        let waiter = std::thread::spawn(move || {
            other.wait_past(seen, Instant::now() + Duration::from_secs(30))
        });
        signal.notify();
        assert!(waiter.join().unwrap());
    }
}
