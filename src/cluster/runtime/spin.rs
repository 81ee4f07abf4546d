//! Waiting a few microseconds by spinning before going to sleep.
//!
//! Waking a sleeping thread costs about 7 µs on an idle virtual machine
//! (its vCPU has halted and must be woken by an interrupt; a park and
//! unpark round trip between two threads measured 14.5 µs at the median,
//! the same round trip between two spinning threads 0.1 µs). `send_sync`
//! crosses such hand-offs (caller to the producer's sender and back, and
//! with `acks=all` to the followers and back), so a thread that expects
//! work or an answer within microseconds spins for a bounded while first,
//! and sleeps only if it is slower than that.
//!
//! Users: the producer's sender after a batch, a `send_sync` caller for its
//! own record, a consumer right after a poll that returned records, a
//! fetcher after a round that replicated data. Each spins only right after
//! real work, never on a timer, so an idle `Log` does not spin; nothing
//! spins where there is one core, and a spinner yields the core between
//! rounds, so with more threads than cores the one with work still runs
//! (spinning followers that did not yield doubled `acks=all` latency).

use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long a thread spins before it sleeps: several times a page-cache
/// append (a few µs), well under a scheduler tick.
pub(crate) const SPIN_BUDGET: Duration = Duration::from_micros(50);

/// Spins until `done()` holds or `budget` has passed (at most until
/// `deadline`); returns `done()`'s last answer. Yields the core after each
/// round of a few microseconds, so a thread that has work on this core
/// still gets it.
pub(crate) fn spin_until(
    budget: Duration,
    deadline: Option<Instant>,
    mut done: impl FnMut() -> bool,
) -> bool {
    if !worth_spinning() {
        return done();
    }
    let start = Instant::now();
    let end = match (start.checked_add(budget), deadline) {
        (Some(end), Some(deadline)) => end.min(deadline),
        (end, deadline) => end.or(deadline).unwrap_or(start),
    };
    loop {
        for _ in 0..64 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if Instant::now() >= end {
            return done();
        }
        thread::yield_now();
    }
}

/// With one core a spinning thread only delays the one it waits for.
fn worth_spinning() -> bool {
    static PARALLEL: OnceLock<bool> = OnceLock::new();
    *PARALLEL.get_or_init(|| thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn gives_up_after_the_budget() {
        assert!(!spin_until(Duration::from_micros(200), None, || false));
    }

    #[test]
    fn stops_at_an_earlier_deadline() {
        let deadline = Instant::now();
        assert!(!spin_until(
            Duration::from_secs(3600),
            Some(deadline),
            || false
        ));
    }

    #[test]
    fn sees_another_thread_finish() {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = Arc::clone(&flag);
        let handle = thread::spawn(move || setter.store(true, Ordering::Release));
        let seen = spin_until(Duration::from_secs(10), None, || {
            flag.load(Ordering::Acquire)
        });
        handle.join().expect("the setter thread");
        assert!(seen);
    }
}
