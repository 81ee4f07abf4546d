//! Whitebox tests of `PartitionLog` over real files.

use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::partition_log::{PartitionLog, PartitionLogConfig};
use crate::error::Error;
use crate::record::TimestampType;
use crate::record::{BatchBuilder, BatchIter, ProducerStamp};
use crate::topic::TopicPartition;

pub(super) fn config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_bytes: 1 << 30,
        segment_ms: Duration::from_secs(3600),
        index_interval_bytes: 256,
        max_message_bytes: 1 << 20,
        flush_messages: None,
        flush_ms: None,
        retention: None,
        retention_bytes: None,
        timestamp_type: TimestampType::CreateTime,
        stored_codec: None,
        requires_keys: false,
        compaction: None,
    }
}

pub(super) fn open(dir: &Path, config: PartitionLogConfig) -> PartitionLog {
    PartitionLog::open(dir.to_path_buf(), TopicPartition::new("t", 0), config).unwrap()
}

/// A batch of `count` records whose values are `tag-i`, timestamps `ts + i`.
pub(super) fn batch(tag: &str, count: usize, ts: i64) -> BytesMut {
    let mut builder = BatchBuilder::new(64);
    for i in 0..count {
        let value = format!("{tag}-{i}");
        builder.push(ts + i as i64, None, Some(value.as_bytes()), &[]);
    }
    builder.finish(ProducerStamp::NONE)
}

/// Every (offset, value) readable from `from` on, following the log to its end.
pub(super) fn read_all(log: &PartitionLog, from: u64) -> Vec<(u64, Bytes)> {
    let mut out = Vec::new();
    let mut next = from;
    while next < log.log_end_offset() {
        let chunk = log.read(next, 1000, u64::MAX).unwrap();
        assert!(!chunk.is_empty(), "no data at {next}");
        for batch in BatchIter::new(chunk) {
            for record in batch.unwrap().records() {
                let record = record.unwrap();
                let offset = record.offset as u64;
                if offset >= next {
                    out.push((offset, record.value.unwrap()));
                    next = offset + 1;
                }
            }
        }
    }
    out
}

#[test]
fn appends_are_readable_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    let info = log
        .append_as_leader(&mut batch("a", 3, 10), 0, false)
        .unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.max_timestamp),
        (0, 2, 12)
    );
    let info = log
        .append_as_leader(&mut batch("b", 2, 20), 0, true)
        .unwrap();
    assert_eq!((info.base_offset, info.last_offset), (3, 4));
    assert_eq!(log.log_end_offset(), 5);
    let values: Vec<_> = read_all(&log, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["a-0", "a-1", "a-2", "b-0", "b-1"]);
    assert_eq!(read_all(&log, 4).len(), 1);
    log.close().unwrap();
    assert!(matches!(log.read(0, 10, u64::MAX), Err(Error::Closed(_))));

    let log = open(dir.path(), config());
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(read_all(&log, 0).len(), 5);
    log.append_as_leader(&mut batch("c", 1, 30), 0, false)
        .unwrap();
    assert_eq!(read_all(&log, 0).last().unwrap(), &(5, Bytes::from("c-0")));
}

#[test]
fn only_batches_from_outside_the_process_get_a_second_crc_pass() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    let info = log
        .append_built_as_leader(&mut batch("a", 2, 0), 3)
        .unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 1));
    let mut damaged = batch("b", 1, 0);
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    let refused = log.append_as_leader(&mut damaged, 3, false);
    assert!(
        matches!(refused, Err(Error::InvalidBatch { .. })),
        "{refused:?}"
    );
    // The header and the length are checked either way.
    let mut whole = batch("c", 1, 0);
    let cut = whole.len() - 1;
    let refused = log.append_built_as_leader(&mut whole[..cut], 3);
    assert!(
        matches!(refused, Err(Error::InvalidBatch { .. })),
        "{refused:?}"
    );
    let values: Vec<_> = read_all(&log, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["a-0", "a-1"]);
}

#[test]
fn reads_outside_the_log_are_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    log.append_as_leader(&mut batch("a", 2, 0), 0, false)
        .unwrap();
    assert!(log.read(2, 100, u64::MAX).unwrap().is_empty());
    assert!(matches!(
        log.read(3, 100, u64::MAX),
        Err(Error::OffsetOutOfRange { offset: 3, log_end_offset: 2, ref topic, .. }) if topic == "t"
    ));
    // Nothing at or past max_offset is returned.
    assert!(log.read(0, 100, 0).unwrap().is_empty());
}

#[test]
fn reads_return_whole_batches_and_at_least_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    for i in 0..10 {
        log.append_as_leader(&mut batch(&format!("x{i}"), 5, 0), 0, false)
            .unwrap();
    }
    let one = log.read(7, 1, u64::MAX).unwrap();
    let batches: Vec<_> = BatchIter::new(one).map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].header().base_offset, 5);
    let bounded = log.read(0, 100_000, 20).unwrap();
    let last = BatchIter::new(bounded).map(Result::unwrap).last().unwrap();
    assert_eq!(last.header().last_offset(), 19);
}

#[test]
fn oversized_batches_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            max_message_bytes: 200,
            ..config()
        },
    );
    let mut big = batch("big", 20, 0);
    let size = big.len() as u64;
    assert!(matches!(
        log.append_as_leader(&mut big, 0, false),
        Err(Error::RecordTooLarge { size: s, max: 200, .. }) if s == size
    ));
    assert_eq!((log.log_end_offset(), log.size_in_bytes()), (0, 0));
}

#[test]
fn segments_roll_by_size_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 300,
            ..config()
        },
    );
    for i in 0..20 {
        log.append_as_leader(&mut batch(&format!("s{i}"), 2, i), 0, false)
            .unwrap();
    }
    assert!(log.segments.read().len() > 5);
    assert_eq!(read_all(&log, 0).len(), 40);
    log.roll().unwrap();
    log.roll().unwrap(); // rolling an empty active segment is a no-op
    let segments = log.segments.read().len();
    drop(log);
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 300,
            ..config()
        },
    );
    assert_eq!(log.segments.read().len(), segments);
    assert_eq!(read_all(&log, 0).len(), 40);
}

#[test]
fn truncate_to_cuts_at_batch_boundaries_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 300,
            ..config()
        },
    );
    for i in 0..20 {
        log.append_as_leader(&mut batch(&format!("t{i}"), 2, i), 0, false)
            .unwrap();
    }
    log.truncate_to(13).unwrap(); // inside batch 12..=13
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(read_all(&log, 0).len(), 12);
    log.append_as_leader(&mut batch("new", 1, 0), 0, false)
        .unwrap();
    assert_eq!(read_all(&log, 12), [(12, Bytes::from("new-0"))]);
    drop(log);
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 300,
            ..config()
        },
    );
    assert_eq!(log.log_end_offset(), 13);
    log.truncate_fully_and_start_at(100).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
    assert!(matches!(
        log.read(5, 10, u64::MAX),
        Err(Error::OffsetOutOfRange { .. })
    ));
    log.append_as_leader(&mut batch("z", 1, 0), 0, false)
        .unwrap();
    assert_eq!(read_all(&log, 100).len(), 1);
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 400,
            ..config()
        },
    );
    for i in 0..30 {
        log.append_as_leader(&mut batch("ts", 3, 100 + i * 10), 0, false)
            .unwrap();
    }
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some(0));
    assert_eq!(log.offset_for_timestamp(101).unwrap(), Some(1));
    assert_eq!(log.offset_for_timestamp(103).unwrap(), Some(3));
    assert_eq!(log.offset_for_timestamp(255).unwrap(), Some(48));
    assert_eq!(log.offset_for_timestamp(392).unwrap(), Some(89));
    assert_eq!(log.offset_for_timestamp(393).unwrap(), None);
}

#[test]
fn log_append_time_is_stamped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = PartitionLogConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..config()
    };
    let log = open(dir.path(), config);
    let info = log
        .append_as_leader(&mut batch("l", 2, 5), 0, false)
        .unwrap();
    let stamped = info.log_append_time.unwrap();
    assert!(stamped > 1_600_000_000_000);
    assert_eq!(info.max_timestamp, stamped);
    let chunk = log.read(0, 100, u64::MAX).unwrap();
    let batch = BatchIter::new(chunk).next().unwrap().unwrap();
    assert!(batch.records().all(|r| r.unwrap().timestamp == stamped));
}

#[test]
fn follower_appends_need_increasing_verified_batches() {
    let dir = tempfile::tempdir().unwrap();
    let leader = open(&dir.path().join("leader"), config());
    for i in 0..3 {
        leader
            .append_as_leader(&mut batch("f", 2, i), 4, false)
            .unwrap();
    }
    let chunk = leader.read(0, 10_000, u64::MAX).unwrap();
    // A gap (offsets the leader's cleaner emptied) is accepted: offsets
    // only have to increase.
    let gapped = open(&dir.path().join("gapped"), config());
    let info = gapped
        .append_as_follower(&chunk[chunk.len() / 3..])
        .unwrap();
    assert_eq!((info.base_offset, gapped.log_end_offset()), (2, 6));
    assert!(matches!(
        gapped.append_as_follower(&chunk[chunk.len() / 3..]),
        Err(Error::InvalidBatch { .. })
    ));
    let follower = open(&dir.path().join("follower"), config());
    let mut damaged = chunk.to_vec();
    damaged[100] ^= 0xff;
    assert!(follower.append_as_follower(&damaged).is_err());
    assert_eq!(follower.log_end_offset(), 0);
    let info = follower.append_as_follower(&chunk).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 5));
    assert_eq!(follower.read(0, 10_000, u64::MAX).unwrap(), chunk);
    assert!(follower.append_as_follower(&chunk).is_err()); // offsets already present
    assert!(follower.append_as_follower(&[]).is_err());
}

#[test]
fn time_retention_removes_expired_segments_and_advances_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = PartitionLogConfig {
        segment_bytes: 300,
        retention: Some(Duration::from_millis(1_000)),
        ..config()
    };
    let log = open(dir.path(), config.clone());
    for i in 0..10 {
        log.append_as_leader(&mut batch("old", 2, i), 0, false)
            .unwrap();
    }
    log.roll().unwrap();
    for i in 0..2 {
        log.append_as_leader(&mut batch("new", 2, 5_000 + i), 0, false)
            .unwrap();
    }
    let deleted = log.enforce_retention(5_500).unwrap();
    assert!(deleted > 0);
    assert_eq!(log.log_start_offset(), 20);
    assert!(matches!(
        log.read(0, 100, u64::MAX),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert_eq!(read_all(&log, 20).len(), 4);
    assert_eq!(log.enforce_retention(5_500).unwrap(), 0);
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!(log.log_start_offset(), 20);
    // Once everything is expired the active segment is rolled and deleted,
    // keeping the log end offset.
    assert_eq!(log.enforce_retention(100_000).unwrap(), 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (24, 24));
    log.append_as_leader(&mut batch("next", 1, 100_000), 0, false)
        .unwrap();
    assert_eq!(read_all(&log, 24).len(), 1);
}

#[test]
fn size_retention_never_deletes_the_newest_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = PartitionLogConfig {
        segment_bytes: 300,
        retention_bytes: Some(1),
        ..config()
    };
    let log = open(dir.path(), config);
    for i in 0..20 {
        log.append_as_leader(&mut batch("sz", 2, i), 0, false)
            .unwrap();
    }
    let before = log.segments.read().len();
    assert_eq!(log.enforce_retention(0).unwrap(), before - 1);
    let remaining = read_all(&log, log.log_start_offset());
    assert!(!remaining.is_empty());
    assert_eq!(remaining.last().unwrap().0, 39);
}

#[test]
fn a_batch_larger_than_a_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 100,
            ..config()
        },
    );
    assert!(matches!(
        log.append_as_leader(&mut batch("big", 5, 0), 0, false),
        Err(Error::RecordTooLarge { max: 100, .. })
    ));
}

#[test]
fn a_damaged_length_in_a_sealed_segment_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PartitionLogConfig {
        segment_bytes: 400,
        ..config()
    };
    let log = open(dir.path(), cfg.clone());
    for i in 0..10 {
        log.append_as_leader(&mut batch(&format!("d{i}"), 2, i), 0, false)
            .unwrap();
    }
    log.close().unwrap();
    // Inflate the first batch's length field; the clean close means no scan.
    let path = super::layout::segment_path(dir.path(), 0, super::layout::FileKind::Log);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&100_000i32.to_be_bytes());
    std::fs::write(&path, bytes).unwrap();
    let log = open(dir.path(), cfg);
    assert!(matches!(
        log.read(1, 100, u64::MAX),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn segment_ms_rolls_an_aged_segment_on_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_ms: Duration::ZERO,
            ..config()
        },
    );
    for i in 0..4 {
        log.append_as_leader(&mut batch("age", 1, i), 0, false)
            .unwrap();
    }
    let bases: Vec<u64> = log
        .segments
        .read()
        .iter()
        .map(|s| s.base_offset())
        .collect();
    assert_eq!(bases, [0, 1, 2, 3]);
}

#[test]
fn a_large_read_is_cut_to_a_cache_sized_chunk_of_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    let big = "x".repeat(1000);
    for _ in 0..300 {
        log.append_as_leader(&mut batch(&big, 1, 0), 0, false)
            .unwrap();
    }
    let chunk = log.read(0, usize::MAX, u64::MAX).unwrap();
    assert!(!chunk.is_empty() && chunk.len() <= 128 << 10);
    let offsets: Vec<i64> = BatchIter::new(chunk)
        .map(|b| b.unwrap().header().base_offset)
        .collect();
    assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
    assert!(offsets.len() < 300);
}

#[test]
fn retention_never_deletes_at_or_above_the_given_offset() {
    let dir = tempfile::tempdir().unwrap();
    let config = PartitionLogConfig {
        segment_bytes: 300,
        retention: Some(Duration::from_millis(1_000)),
        ..config()
    };
    let log = open(dir.path(), config);
    for i in 0..10 {
        log.append_as_leader(&mut batch("old", 2, i), 0, false)
            .unwrap();
    }
    // Everything is expired, but only offsets below 5 are replicated: the
    // segments holding offset 5 and later stay.
    log.enforce_retention_below(100_000, 5).unwrap();
    assert!(log.log_start_offset() <= 5);
    assert_eq!(read_all(&log, log.log_start_offset()).last().unwrap().0, 19);
    let kept_from = log.log_start_offset();
    log.enforce_retention_below(100_000, 20).unwrap();
    assert!(log.log_start_offset() >= kept_from);
    assert_eq!(log.log_start_offset(), 20);
}

#[test]
fn deleting_records_moves_the_start_drops_whole_segments_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = PartitionLogConfig {
        segment_bytes: 300,
        ..config()
    };
    let segment_files = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".log")
            })
            .count()
    };
    let log = open(dir.path(), config.clone());
    for i in 0..10 {
        log.append_as_leader(&mut batch("r", 2, i), 0, false)
            .unwrap();
    }
    let before = segment_files(dir.path());
    // Offset 9 is the second record of the batch at 8.
    assert_eq!(log.delete_records_before(9).unwrap(), 9);
    assert!(matches!(
        log.read(8, 100, u64::MAX),
        Err(Error::OffsetOutOfRange { .. })
    ));
    let left = read_all(&log, 9);
    assert_eq!(left.first().map(|(o, _)| *o), Some(9));
    assert_eq!(left.len(), 11);
    assert!(
        segment_files(dir.path()) < before,
        "whole segments below 9 went"
    );
    assert_eq!(log.delete_records_before(4).unwrap(), 9, "never moves back");
    drop(log);
    let log = open(dir.path(), config.clone());
    assert_eq!(log.log_start_offset(), 9);
    assert_eq!(
        log.delete_records_before(500).unwrap(),
        20,
        "capped at the end"
    );
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (20, 20));
}
