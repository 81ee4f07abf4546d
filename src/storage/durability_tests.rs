//! Durability and concurrency of `PartitionLog`: fsync policy and failure,
//! simulated power loss, crashes mid-truncation, and readers racing writers.

use std::time::Duration;

use super::partition_log::PartitionLogConfig;
use super::tests::{batch, config, open, read_all};
use crate::error::Error;
use crate::record::BatchIter;

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
    let refused = log.append_as_leader(&mut batch("b", 1, 0), 0, true);
    // The refusal keeps the fsync failure itself as its source.
    match refused {
        Err(Error::Poisoned { source, .. }) => {
            assert!(matches!(*source, Error::Io { op: "fsync", .. }));
            let cause = std::error::Error::source(&*source).map(ToString::to_string);
            assert_eq!(cause.as_deref(), Some("EIO"));
        }
        other => panic!("expected Poisoned, got {other:?}"),
    }
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
fn flush_messages_fsyncs_once_enough_records_are_unflushed() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        PartitionLogConfig {
            flush_messages: Some(3),
            ..config()
        },
    );
    let durable = || log.active().unwrap().state.read().durable_size;
    log.append_as_leader(&mut batch("f", 2, 0), 0, false)
        .unwrap();
    assert_eq!(durable(), 0);
    log.append_as_leader(&mut batch("f", 1, 0), 0, false)
        .unwrap();
    assert_eq!(durable(), log.size_in_bytes());
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
