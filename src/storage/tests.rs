//! Whitebox tests of `PartitionLog` over real files.

use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::partition_log::{PartitionLog, PartitionLogConfig};
use crate::config::TimestampType;
use crate::error::Error;
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
        Err(Error::RecordTooLarge { size: s, max: 200 }) if s == size
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
fn follower_appends_need_contiguous_verified_batches() {
    let dir = tempfile::tempdir().unwrap();
    let leader = open(&dir.path().join("leader"), config());
    for i in 0..3 {
        leader
            .append_as_leader(&mut batch("f", 2, i), 4, false)
            .unwrap();
    }
    let chunk = leader.read(0, 10_000, u64::MAX).unwrap();
    let follower = open(&dir.path().join("follower"), config());
    assert!(matches!(
        follower.append_as_follower(&chunk[chunk.len() / 3..]),
        Err(Error::Corrupt { .. })
    ));
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
fn power_loss_keeps_exactly_what_was_fsynced() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    log.append_as_leader(&mut batch("durable", 2, 0), 0, true)
        .unwrap();
    log.append_as_leader(&mut batch("lost", 2, 0), 0, false)
        .unwrap();
    log.simulate_power_loss().unwrap();
    assert!(log
        .append_as_leader(&mut batch("x", 1, 0), 0, false)
        .is_err());
    let log = open(dir.path(), config());
    assert_eq!(log.log_end_offset(), 2);
    log.append_as_leader(&mut batch("after", 1, 0), 0, false)
        .unwrap();
    log.flush().unwrap();
    log.simulate_power_loss().unwrap();
    let log = open(dir.path(), config());
    assert_eq!(read_all(&log, 0).len(), 3);
}

#[test]
fn a_failed_fsync_poisons_every_later_write() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    log.append_as_leader(&mut batch("a", 1, 0), 0, false)
        .unwrap();
    let failure = log.poison_on_error::<()>(Err(Error::io(
        "fsync",
        dir.path(),
        std::io::Error::other("EIO"),
    )));
    assert!(matches!(failure, Err(Error::Io { .. })));
    assert!(matches!(
        log.append_as_leader(&mut batch("b", 1, 0), 0, true),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(log.flush(), Err(Error::Poisoned { .. })));
    assert!(matches!(log.truncate_to(0), Err(Error::Poisoned { .. })));
    assert!(matches!(log.roll(), Err(Error::Poisoned { .. })));
    // Reads still work; a reopen clears the poison.
    assert_eq!(read_all(&log, 0).len(), 1);
    drop(log);
    let log = open(dir.path(), config());
    log.append_as_leader(&mut batch("b", 1, 0), 0, true)
        .unwrap();
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
fn concurrent_appends_and_reads_see_a_dense_consistent_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 2_000,
            ..config()
        },
    );
    let writers: usize = 3;
    let per_writer: usize = 60;
    std::thread::scope(|scope| {
        for w in 0..writers {
            let log = &log;
            scope.spawn(move || {
                for i in 0..per_writer {
                    let sync = i % 4 == 0;
                    log.append_as_leader(&mut batch(&format!("w{w}-{i}"), 2, i as i64), 0, sync)
                        .unwrap();
                }
            });
        }
        let log = &log;
        scope.spawn(move || {
            // Whatever a reader sees is a dense prefix of whole batches.
            let total = (writers * per_writer * 2) as u64;
            while log.log_end_offset() < total {
                let seen = read_all(log, 0);
                assert!(seen.iter().enumerate().all(|(i, (o, _))| *o == i as u64));
            }
        });
    });
    let all = read_all(&log, 0);
    assert_eq!(all.len(), writers * per_writer * 2);
    for w in 0..writers {
        for i in 0..per_writer {
            for j in 0..2 {
                let value = format!("w{w}-{i}-{j}");
                assert!(
                    all.iter().any(|(_, v)| v == value.as_bytes()),
                    "{value} missing"
                );
            }
        }
    }
}

#[test]
fn after_one_failed_fsync_no_later_sync_reports_success() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    log.append_as_leader(&mut batch("a", 1, 0), 0, true)
        .unwrap();
    let active = log.active().unwrap();
    active.fail_next_syncs();
    // Even a caller whose bytes were already durable is not told "synced",
    // and neither roll nor close writes a checkpoint or clean marker.
    assert!(matches!(active.sync_to(0), Err(Error::Poisoned { .. })));
    assert!(log
        .append_as_leader(&mut batch("b", 1, 0), 0, true)
        .is_err());
    assert!(matches!(
        log.append_as_leader(&mut batch("c", 1, 0), 0, false),
        Err(Error::Poisoned { .. })
    ));
    assert!(log.close().is_err());
    assert!(!dir.path().join(super::layout::CLEAN_SHUTDOWN).exists());
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
fn flush_if_due_fsyncs_only_after_flush_ms_with_unflushed_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = PartitionLogConfig {
        flush_ms: Some(Duration::from_secs(3600)),
        ..config()
    };
    let log = open(dir.path(), config);
    log.append_as_leader(&mut batch("a", 1, 0), 0, false)
        .unwrap();
    let durable = || log.active().unwrap().state.read().durable_size;
    log.flush_if_due().unwrap();
    assert_eq!(durable(), 0, "not due yet");
    let later = std::time::Instant::now() + Duration::from_secs(7200);
    log.flush_if_due_at(later).unwrap();
    assert_eq!(durable(), log.size_in_bytes());
}

#[test]
fn a_crash_part_way_through_truncation_leaves_no_hole() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PartitionLogConfig {
        segment_bytes: 300,
        ..config()
    };
    let log = open(dir.path(), cfg.clone());
    for i in 0..20 {
        log.append_as_leader(&mut batch(&format!("h{i}"), 2, i), 0, true)
            .unwrap();
    }
    let bases: Vec<u64> = log
        .segments
        .read()
        .iter()
        .map(|s| s.base_offset())
        .collect();
    assert!(bases.len() >= 4);
    drop(log);
    // Truncation deletes the newest doomed segment first: a crash right
    // after that first delete leaves a dense, merely untruncated log.
    let newest = *bases.last().unwrap();
    for kind in [super::layout::FileKind::Log, super::layout::FileKind::Index] {
        std::fs::remove_file(super::layout::segment_path(dir.path(), newest, kind)).unwrap();
    }
    let log = open(dir.path(), cfg);
    assert_eq!(log.log_end_offset(), newest);
    let all = read_all(&log, 0);
    assert!(all.iter().enumerate().all(|(i, (o, _))| *o == i as u64));
    assert_eq!(all.len() as u64, newest);
}

#[test]
fn readers_racing_truncation_never_see_torn_or_stale_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 1_500,
            ..config()
        },
    );
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 0..40 {
                for i in 0..8 {
                    log.append_as_leader(&mut batch(&format!("r{round}-{i}"), 3, i), 0, false)
                        .unwrap();
                }
                let end = log.log_end_offset();
                log.truncate_to(end.saturating_sub(10 + round % 7)).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let start = log.log_start_offset();
                let Ok(chunk) = log.read(start, 4_000, u64::MAX) else {
                    continue;
                };
                let mut expected = None;
                for batch in BatchIter::new(chunk) {
                    // Every batch is whole and verified, and offsets follow on.
                    let batch = batch.unwrap();
                    let base = batch.header().base_offset;
                    assert!(
                        expected.is_none_or(|e| e == base),
                        "gap or overlap at {base}"
                    );
                    expected = Some(batch.header().last_offset() + 1);
                    assert!(batch.records().all(|r| r.is_ok()));
                }
            }
        });
    });
}
