//! A wake-up signal for readers waiting on new data.

use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// A counter bumped whenever any high watermark advances (or the cluster
/// changes), with a condition variable to wait on: consumers sleep on it
/// instead of polling.
#[derive(Default)]
pub(crate) struct Signal {
    seq: Mutex<u64>,
    cond: Condvar,
}

impl Signal {
    /// The current sequence number; pass it to [`Signal::wait_past`].
    pub(crate) fn current(&self) -> u64 {
        *self.seq.lock()
    }

    /// Wakes every waiter.
    pub(crate) fn notify(&self) {
        let mut seq = self.seq.lock();
        *seq = seq.wrapping_add(1);
        self.cond.notify_all();
    }

    /// Waits until the sequence moves past `seen` or `deadline` passes;
    /// returns whether it moved.
    pub(crate) fn wait_past(&self, seen: u64, deadline: Instant) -> bool {
        let mut seq = self.seq.lock();
        while *seq == seen {
            if self.cond.wait_until(&mut seq, deadline).timed_out() {
                return *seq != seen;
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
