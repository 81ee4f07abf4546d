//! Read buffers kept for reuse.
//!
//! Safe Rust cannot read a file into uninitialised memory, so a new read
//! buffer is zero-filled first, and for page-cache reads that costs about as
//! much as the copy itself. A read hands its buffer out as `Bytes` (fetched
//! records slice it), so the pool keeps a handle to each recent buffer and
//! refills one only once every slice of it has been dropped: the bytes
//! already in it are overwritten, never zeroed again.

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;

/// Buffers kept per partition. A consumer holds about two chunks of a
/// partition at once (the one it is draining and the records of its last
/// poll), so three let a steady reader refill without allocating; memory
/// kept is bounded by three of the largest reads.
const KEPT: usize = 3;

/// Recent read buffers of one partition log.
#[derive(Debug, Default)]
pub(super) struct ReadBuffers {
    kept: Mutex<Vec<Bytes>>,
}

impl ReadBuffers {
    /// A buffer of at least `len` initialised bytes: a kept one nobody
    /// references any more, or a new zeroed one.
    pub(super) fn take(&self, len: usize) -> BytesMut {
        let free = {
            let mut kept = self.kept.lock();
            kept.iter()
                .position(|b| b.len() >= len && b.is_unique())
                .map(|i| kept.swap_remove(i))
        };
        match free.map(Bytes::try_into_mut) {
            Some(Ok(buf)) => buf,
            // Lost a race with a new reference (cannot happen while the
            // pool holds the only one): allocate instead.
            Some(Err(_)) | None => BytesMut::zeroed(len),
        }
    }

    /// Keeps a handle to `buf` for a later `take`, replacing the smallest
    /// free buffer if the pool is full (nothing if all are in use).
    pub(super) fn keep(&self, buf: &Bytes) {
        let mut kept = self.kept.lock();
        if kept.len() < KEPT {
            kept.push(buf.clone());
            return;
        }
        let smallest_free = kept
            .iter_mut()
            .filter(|b| b.is_unique() && b.len() < buf.len())
            .min_by_key(|b| b.len());
        if let Some(slot) = smallest_free {
            *slot = buf.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_is_reused_only_after_every_slice_of_it_is_dropped() {
        let pool = ReadBuffers::default();
        let first = pool.take(16);
        let first_ptr = first.as_ptr();
        let first = first.freeze();
        pool.keep(&first);
        let slice = first.slice(2..4);
        drop(first);
        let second = pool.take(16);
        assert_ne!(second.as_ptr(), first_ptr, "still sliced: not reused");
        drop(slice);
        let third = pool.take(8);
        assert_eq!(third.as_ptr(), first_ptr);
        assert!(third.len() >= 8);
    }

    #[test]
    fn the_pool_keeps_a_bounded_number_of_buffers() {
        let pool = ReadBuffers::default();
        let held: Vec<Bytes> = (0..KEPT + 2)
            .map(|i| {
                let buf = pool.take(8 + i).freeze();
                pool.keep(&buf);
                buf
            })
            .collect();
        assert_eq!(pool.kept.lock().len(), KEPT);
        drop(held);
        let big = pool.take(64).freeze();
        pool.keep(&big);
        assert_eq!(pool.kept.lock().len(), KEPT);
        assert!(pool.kept.lock().iter().any(|b| b.len() == 64));
    }
}
