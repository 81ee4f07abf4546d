//! Which batches are not yet complete, so `flush` knows what to wait for.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// Batch ids are handed out in opening order; a flush waits for every id
/// below the next id at the time it started. Touched once per batch.
#[derive(Default)]
pub(crate) struct PendingBatches {
    next_id: AtomicU64,
    open: Mutex<BTreeSet<u64>>,
    completed: Condvar,
}

impl PendingBatches {
    /// Registers a newly opened batch and returns its id.
    pub(crate) fn open(&self) -> u64 {
        let mut open = self.open.lock();
        // Allocated under the lock so a flush's snapshot never sees an id
        // that is not yet in the set.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id);
        id
    }

    pub(crate) fn complete(&self, id: u64) {
        let mut open = self.open.lock();
        open.remove(&id);
        self.completed.notify_all();
    }

    /// The bound a flush started now waits for.
    pub(crate) fn snapshot(&self) -> u64 {
        let _open = self.open.lock();
        self.next_id.load(Ordering::Relaxed)
    }

    /// Blocks until every batch with an id below `bound` is complete.
    pub(crate) fn wait_below(&self, bound: u64) {
        let mut open = self.open.lock();
        while open.first().is_some_and(|&first| first < bound) {
            self.completed.wait(&mut open);
        }
    }

    /// As `wait_below`, giving up at `deadline` (`None`: never); whether
    /// every such batch completed.
    pub(crate) fn wait_below_until(&self, bound: u64, deadline: Option<Instant>) -> bool {
        let Some(deadline) = deadline else {
            self.wait_below(bound);
            return true;
        };
        let mut open = self.open.lock();
        while open.first().is_some_and(|&first| first < bound) {
            if self.completed.wait_until(&mut open, deadline).timed_out() {
                return open.first().is_none_or(|&first| first >= bound);
            }
        }
        true
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.open.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn flush_waits_only_for_batches_opened_before_it() {
        let pending = Arc::new(PendingBatches::default());
        let a = pending.open();
        let bound = pending.snapshot();
        let later = pending.open();
        let waiter = {
            let pending = Arc::clone(&pending);
            std::thread::spawn(move || pending.wait_below(bound))
        };
        pending.complete(a);
        waiter.join().unwrap();
        assert!(!pending.is_empty());
        pending.complete(later);
        assert!(pending.is_empty());
    }
}
