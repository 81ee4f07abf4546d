//! `buffer.memory`: bytes of unsent batches a producer may hold.
//!
//! Accounting is per batch, not per record: a batch reserves its whole
//! capacity when it is opened and gives it back when it is acknowledged or
//! failed, so the send path touches this lock once per batch.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

pub(crate) struct BufferPool {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

impl BufferPool {
    pub(crate) fn new(limit: u64) -> Self {
        BufferPool {
            limit,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Reserves `bytes` if they are free now.
    pub(crate) fn try_reserve(&self, bytes: u64) -> bool {
        let mut used = self.used.lock();
        if used.saturating_add(bytes) <= self.limit {
            *used += bytes;
            return true;
        }
        false
    }

    /// Reserves `bytes`, waiting up to `max_block` for other batches to
    /// complete; fails with `Timeout { op: "max.block.ms" }`.
    pub(crate) fn reserve(&self, bytes: u64, max_block: Duration) -> Result<()> {
        if bytes > self.limit {
            return Err(Error::RecordTooLarge {
                size: bytes,
                max: self.limit,
                limit: "buffer.memory",
            });
        }
        let mut used = self.used.lock();
        if used.saturating_add(bytes) <= self.limit {
            *used += bytes;
            return Ok(());
        }
        let deadline = Instant::now().checked_add(max_block);
        while used.saturating_add(bytes) > self.limit {
            let timed_out = match deadline {
                Some(deadline) => self.freed.wait_until(&mut used, deadline).timed_out(),
                None => {
                    self.freed.wait(&mut used);
                    false
                }
            };
            if timed_out && used.saturating_add(bytes) > self.limit {
                return Err(Error::Timeout {
                    op: "max.block.ms",
                    timeout: max_block,
                });
            }
        }
        *used += bytes;
        Ok(())
    }

    pub(crate) fn release(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let mut used = self.used.lock();
        *used = used.saturating_sub(bytes);
        self.freed.notify_all();
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        *self.used.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reserve_blocks_until_release_or_timeout() {
        let pool = Arc::new(BufferPool::new(100));
        pool.reserve(60, Duration::ZERO).unwrap();
        let err = pool.reserve(60, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(
            err,
            Error::Timeout {
                op: "max.block.ms",
                ..
            }
        ));

        let waiter = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || pool.reserve(60, Duration::from_secs(30)))
        };
        pool.release(60);
        waiter.join().unwrap().unwrap();
        assert_eq!(pool.used(), 60);
    }

    #[test]
    fn a_reservation_above_the_limit_fails_at_once() {
        let pool = BufferPool::new(100);
        assert!(matches!(
            pool.reserve(101, Duration::from_secs(60)),
            Err(Error::RecordTooLarge {
                size: 101,
                max: 100,
                limit: "buffer.memory",
            })
        ));
    }
}
