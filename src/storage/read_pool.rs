//! Read buffers that come back to the reader once their bytes are spent.
//!
//! Safe Rust reads only into initialised memory, so a fresh read buffer is
//! zeroed before `pread` fills it: for a 132 KiB read that costs about a
//! third of what consuming its records does, and the zeroing and the copy
//! both land in memory the CPU has not touched lately. A reader that keeps
//! a `ReadPool` reads into a buffer it used before instead: the read
//! overwrites the old bytes it covers, the returned bytes end where the
//! read ended, and the buffer is likely still in cache.
//!
//! The pool never asks for a buffer back. It keeps the whole buffer of
//! every read it handed out, and a buffer is free again once the pool's
//! handle is the only one left (`Bytes::try_into_mut`): the chunk, the
//! batches sliced from it and every record a caller kept are gone. A
//! buffer someone still holds stays theirs, and the pool forgets it when
//! it needs room.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::segment::Segment;
use crate::error::Result;

/// Buffers ready for a read: enough for a consumer to find a warm one.
const MAX_FREE: usize = 4;
/// Reads handed out and watched for their return. A consumer holds one
/// chunk per partition it has fetched from, so this many partitions
/// recycle fully; beyond it, reads fall back to fresh buffers.
const MAX_OUT: usize = 16;
/// Larger buffers are not kept (a configured index interval can make a
/// read window large; such reads are rare).
const MAX_KEPT_LEN: usize = 1 << 20;

/// Buffers for one reader's reads (a consumer's, say), reused once spent.
///
/// Bounded: at most `MAX_FREE` idle buffers and `MAX_OUT` watched ones,
/// each at most `MAX_KEPT_LEN` long.
#[derive(Debug, Default)]
pub(crate) struct ReadPool {
    /// Idle buffers, the most recently freed last. Their length is what
    /// counts: all of it is initialised, so any prefix can be read into.
    free: Vec<BytesMut>,
    /// The whole buffers behind the reads handed out, oldest first.
    out: VecDeque<Bytes>,
    /// Off for readers that never give anything back (each read then
    /// uses a fresh buffer, and the pool holds nothing).
    keeps: bool,
}

impl ReadPool {
    /// A pool that reuses spent buffers.
    pub(crate) fn new() -> ReadPool {
        ReadPool {
            keeps: true,
            ..ReadPool::default()
        }
    }

    /// A pool that keeps nothing: every read gets a fresh buffer.
    pub(crate) fn unpooled() -> ReadPool {
        ReadPool::default()
    }

    /// Reads up to `len` bytes at `position` of `segment` (fewer at end
    /// of file). The result holds exactly the bytes read.
    pub(super) fn read(&mut self, segment: &Segment, position: u64, len: usize) -> Result<Bytes> {
        let mut buf = self.take(len);
        let n = segment.read_at(buf.get_mut(..len).unwrap_or_default(), position)?;
        let whole = buf.freeze();
        // Never past `n`: beyond it lie an earlier read's bytes.
        let read = whole.slice(..n.min(len));
        if self.keeps {
            if self.out.len() >= MAX_OUT {
                self.out.pop_front();
            }
            self.out.push_back(whole);
        }
        Ok(read)
    }

    /// A buffer at least `len` long: a spent one of a fitting size if
    /// there is one, else a fresh zeroed one.
    fn take(&mut self, len: usize) -> BytesMut {
        self.reclaim();
        // At most twice the need, so a short read does not pin a long
        // buffer for as long as its caller keeps the bytes.
        let fits = |b: &BytesMut| b.len() >= len && b.len() / 2 <= len;
        match self.free.iter().rposition(fits) {
            Some(i) => self.free.remove(i),
            None => BytesMut::zeroed(len),
        }
    }

    /// Moves every watched buffer nobody else holds any more to `free`.
    fn reclaim(&mut self) {
        for _ in 0..self.out.len() {
            let Some(whole) = self.out.pop_front() else {
                break;
            };
            match whole.try_into_mut() {
                Ok(buf) if buf.len() <= MAX_KEPT_LEN => {
                    if self.free.len() >= MAX_FREE {
                        // The oldest is the least likely to be in cache.
                        self.free.remove(0);
                    }
                    self.free.push(buf);
                }
                Ok(_) => {}
                Err(still_held) => self.out.push_back(still_held),
            }
        }
    }

    /// Buffers a read could reuse now, for tests that check reuse happens.
    #[cfg(test)]
    pub(crate) fn reusable(&self) -> usize {
        self.free.len() + self.out.iter().filter(|b| b.is_unique()).count()
    }
}
