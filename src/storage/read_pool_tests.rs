//! Reads through a `ReadPool` never show old bytes nor overwrite kept ones.
//!
//! A reused buffer holds only what its read read, and bytes a caller still
//! holds from an earlier read are never read into.

use bytes::Bytes;

use super::read_pool::ReadPool;
use super::tests::{batch, config, open};
use crate::record::{verify, BatchIter};

/// 300 one-record batches of about 1 KiB, each value telling its batch.
fn filled_log(dir: &std::path::Path) -> super::PartitionLog {
    let log = open(dir, config());
    for n in 0..300 {
        let tag = format!("{n:03}").repeat(330);
        log.append_as_leader(&mut batch(&tag, 1, 0), 0, false)
            .unwrap();
    }
    log
}

/// The base offsets of the batches in `chunk`, checking each CRC.
fn bases(chunk: &Bytes) -> Vec<i64> {
    BatchIter::new(chunk.clone())
        .map(|b| {
            let b = b.unwrap();
            verify(b.bytes()).unwrap().base_offset
        })
        .collect()
}

#[test]
fn a_short_read_into_a_reused_long_buffer_holds_only_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = filled_log(dir.path());
    let mut pool = ReadPool::new();
    let long = log.read_pooled(0, 128 << 10, u64::MAX, &mut pool).unwrap();
    assert!(long.len() > 100 << 10);
    drop(long);
    assert_eq!(pool.reusable(), 1);

    // About 80 KiB are left from batch 225: a read shorter than the buffer
    // it reuses, whose old bytes hold batches from the start of the log.
    let tail = log
        .read_pooled(225, 128 << 10, u64::MAX, &mut pool)
        .unwrap();
    assert_eq!(pool.reusable(), 0, "the long buffer was reused");
    assert_eq!(tail, log.read(225, 128 << 10, u64::MAX).unwrap());
    assert_eq!(bases(&tail), (225..300).collect::<Vec<_>>());
    drop(tail);

    // Cut by max_offset and by max_bytes, from a reused buffer again.
    let bounded = log.read_pooled(225, 128 << 10, 230, &mut pool).unwrap();
    assert_eq!(bounded, log.read(225, 128 << 10, 230).unwrap());
    assert_eq!(bases(&bounded), (225..230).collect::<Vec<_>>());
    drop(bounded);
    let small = log.read_pooled(290, 3000, u64::MAX, &mut pool).unwrap();
    assert_eq!(small, log.read(290, 3000, u64::MAX).unwrap());
    assert_eq!(bases(&small), [290, 291]);
}

#[test]
fn bytes_a_caller_keeps_are_never_overwritten_by_later_reads() {
    let dir = tempfile::tempdir().unwrap();
    let log = filled_log(dir.path());
    let mut pool = ReadPool::new();
    let mut kept = Vec::new();
    let mut next = 0u64;
    while next < 300 {
        let chunk = log
            .read_pooled(next, 16 << 10, u64::MAX, &mut pool)
            .unwrap();
        let found = bases(&chunk);
        next = *found.last().unwrap() as u64 + 1;
        // Keep a slice of every other chunk, as a caller keeping a record
        // would; let the rest go back to the pool.
        if found[0] % 2 == 0 {
            kept.push((
                found[0],
                chunk.slice(..chunk.len().min(4096)),
                chunk.to_vec(),
            ));
        }
    }
    for (first, slice, copy) in &kept {
        assert_eq!(slice[..], copy[..slice.len()], "chunk from {first} changed");
        assert_eq!(bases(&Bytes::copy_from_slice(copy))[0], *first);
    }
}

#[test]
fn an_unpooled_read_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = filled_log(dir.path());
    let mut pool = ReadPool::unpooled();
    drop(log.read_pooled(0, 128 << 10, u64::MAX, &mut pool).unwrap());
    assert_eq!(pool.reusable(), 0);
}
