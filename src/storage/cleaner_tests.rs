//! Tests of log compaction over real files.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use proptest::prelude::*;

use super::cleaner::CleanerConfig;
use super::layout::{suffixed_log_path, CLEANED_SUFFIX, SWAP_SUFFIX};
use super::partition_log::{PartitionLog, PartitionLogConfig};
use super::tests::{config, open};
use crate::record::{BatchBuilder, BatchIter, Compression, ProducerStamp};

/// One record read back: offset, key, value (`None` = tombstone).
pub(super) type Read = (u64, Option<Bytes>, Option<Bytes>);

pub(super) fn small_segments() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_bytes: 2 << 10,
        index_interval_bytes: 128,
        ..config()
    }
}

/// Cleans everything below the active segment, whatever the dirty ratio.
pub(super) fn eager() -> CleanerConfig {
    CleanerConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..CleanerConfig::default()
    }
}

/// Appends one batch of `(key, value)` records with timestamp `ts`.
pub(super) fn put(
    log: &PartitionLog,
    records: &[(&str, Option<&str>)],
    ts: i64,
    sync: bool,
) -> u64 {
    put_as(
        log,
        records,
        ts,
        ProducerStamp::NONE,
        Compression::None,
        sync,
    )
}

fn put_as(
    log: &PartitionLog,
    records: &[(&str, Option<&str>)],
    ts: i64,
    stamp: ProducerStamp,
    codec: Compression,
    sync: bool,
) -> u64 {
    let mut builder = BatchBuilder::new(0).compressed(codec);
    for (key, value) in records {
        let key = (!key.is_empty()).then_some(key.as_bytes());
        builder.push(ts, key, value.map(str::as_bytes), &[]);
    }
    let mut batch = builder.finish(stamp);
    log.append_as_leader(&mut batch, 0, sync)
        .unwrap()
        .base_offset
}

/// Every record from `from` on, advancing past each batch as a consumer
/// does (so emptied batches and gaps are crossed).
pub(super) fn read_records(log: &PartitionLog, from: u64) -> Vec<Read> {
    let mut out = Vec::new();
    let mut next = from;
    while next < log.log_end_offset() {
        let chunk = log.read(next, 4096, u64::MAX).unwrap();
        assert!(!chunk.is_empty(), "no data at {next}");
        for batch in BatchIter::new(chunk) {
            let batch = batch.unwrap();
            for record in batch.records() {
                let record = record.unwrap();
                let offset = record.offset as u64;
                if offset >= next {
                    out.push((offset, record.key, record.value));
                }
            }
            next = next.max(batch.header().last_offset() as u64 + 1);
        }
    }
    out
}

/// The key → value map a reader from the start builds (tombstones delete).
pub(super) fn fold(records: &[Read]) -> BTreeMap<Bytes, Bytes> {
    let mut map = BTreeMap::new();
    for (_, key, value) in records {
        let Some(key) = key else { continue };
        match value {
            Some(value) => map.insert(key.clone(), value.clone()),
            None => map.remove(key),
        };
    }
    map
}

fn strictly_increasing(records: &[Read]) -> bool {
    records.windows(2).all(|w| w[0].0 < w[1].0)
}

fn bound(log: &PartitionLog) -> u64 {
    log.active().unwrap().base_offset()
}

/// Many updates of few keys over several segments.
fn churn(log: &PartitionLog) {
    for round in 0..40 {
        let value = format!("value-{round}-{}", "x".repeat(40));
        let records: Vec<(String, String)> = (0..4)
            .map(|k| (format!("key-{k}"), format!("{value}-{k}")))
            .collect();
        let refs: Vec<(&str, Option<&str>)> = records
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect();
        put(log, &refs, 1_000 + round, false);
    }
    log.roll().unwrap();
}

#[test]
fn cleaning_keeps_the_newest_value_of_every_key_and_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    let before = read_records(&log, 0);
    let end = log.log_end_offset();
    let size = log.size_in_bytes();
    let outcome = log.clean(bound(&log), 2_000, &eager()).unwrap();
    assert!(outcome.segments_cleaned > 1);
    assert_eq!(outcome.dirty_ratio, 1.0);
    let after = read_records(&log, 0);
    assert_eq!(fold(&after), fold(&before));
    assert!(strictly_increasing(&after));
    assert!(
        after.len() < before.len() / 4,
        "{} records left",
        after.len()
    );
    assert!(log.size_in_bytes() < size / 2);
    assert_eq!(log.log_end_offset(), end);
    // A read from any offset starts at the next surviving record.
    for from in [1, end / 2, end - 1] {
        let tail = read_records(&log, from);
        assert!(tail.iter().all(|r| r.0 >= from));
    }
    let state = log.cleaner_state();
    assert_eq!((state.passes, state.first_dirty_offset), (1, bound(&log)));
    assert_eq!(state.bytes_cleaned, outcome.bytes_read);
    assert_eq!(state.records_removed, (before.len() - after.len()) as u64);
}

#[test]
fn cleaned_segments_merge_up_to_segment_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    let sealed = |log: &PartitionLog| {
        let segments = log.segments.read();
        let n = segments.len() - 1;
        segments[..n]
            .iter()
            .map(|s| (s.base_offset(), s.size()))
            .collect::<Vec<_>>()
    };
    // Full segments do not fit together; the ones a pass shrank do, at the
    // next pass.
    log.clean(bound(&log), 2_000, &eager()).unwrap();
    churn(&log);
    let before = sealed(&log);
    let outcome = log.clean(bound(&log), 2_000, &eager()).unwrap();
    let after = sealed(&log);
    assert_eq!(outcome.segments_cleaned, before.len());
    assert!(
        after.len() < before.len(),
        "{} segments became {}",
        before.len(),
        after.len()
    );
    // Each output stands for the inputs from its base offset to the next
    // output's, whose sizes add up to at most segment.bytes (or one input).
    let limit = small_segments().segment_bytes;
    for (i, &(base, size)) in after.iter().enumerate() {
        let next = after.get(i + 1).map_or(u64::MAX, |s| s.0);
        let inputs: Vec<u64> = before
            .iter()
            .filter(|s| s.0 >= base && s.0 < next)
            .map(|s| s.1)
            .collect();
        assert_eq!(before.iter().filter(|s| s.0 == base).count(), 1);
        assert!(inputs.len() == 1 || inputs.iter().sum::<u64>() <= limit);
        assert!(size <= inputs.iter().sum::<u64>());
    }
    // Segments that were not merged must not have fitted: greedy grouping.
    for pair in after.windows(2) {
        let first_inputs: u64 = before
            .iter()
            .filter(|s| s.0 >= pair[0].0 && s.0 < pair[1].0)
            .map(|s| s.1)
            .sum();
        let next_input = before.iter().find(|s| s.0 == pair[1].0).unwrap().1;
        assert!(first_inputs + next_input > limit);
    }
    // No leftover files of the merged segments.
    let bases: Vec<u64> = after.iter().map(|s| s.0).collect();
    for (base, _) in &before {
        let log_file = super::layout::segment_path(dir.path(), *base, super::layout::FileKind::Log);
        assert_eq!(log_file.exists(), bases.contains(base), "{base}");
    }
}

#[test]
fn a_cleaned_log_reopens_to_the_same_records_with_rebuilt_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    log.clean(bound(&log), 2_000, &eager()).unwrap();
    let after = read_records(&log, 0);
    drop(log);
    // An unclean reopen scans what it must; the indexes must agree.
    let log = open(dir.path(), small_segments());
    assert_eq!(read_records(&log, 0), after);
    for (offset, key, value) in &after {
        let from = read_records(&log, *offset);
        assert_eq!(from.first(), Some(&(*offset, key.clone(), value.clone())));
    }
}

#[test]
fn below_the_dirty_ratio_or_the_bound_nothing_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    log.clean(bound(&log), 2_000, &eager()).unwrap();
    let cleaned = read_records(&log, 0);
    // A little new dirt: well under Kafka's default ratio of 0.5.
    put(&log, &[("key-0", Some("newest"))], 3_000, false);
    log.roll().unwrap();
    let ratio = log.dirty_ratio(bound(&log)).unwrap();
    assert!(ratio > 0.0 && ratio < 0.5, "{ratio}");
    let outcome = log
        .clean(bound(&log), 3_000, &CleanerConfig::default())
        .unwrap();
    assert_eq!(outcome.segments_cleaned, 0);
    // A bound at the log start cleans nothing either.
    assert_eq!(log.clean(0, 3_000, &eager()).unwrap().segments_cleaned, 0);
    assert_eq!(&read_records(&log, 0)[..cleaned.len()], &cleaned[..]);
}

#[test]
fn records_above_the_bound_and_in_the_active_segment_stay() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    let tail_start = log.log_end_offset();
    for i in 0..5 {
        put(
            &log,
            &[("key-0", Some(&format!("active-{i}")))],
            5_000,
            false,
        );
    }
    log.clean(bound(&log), 6_000, &eager()).unwrap();
    let tail: Vec<Read> = read_records(&log, tail_start);
    assert_eq!(tail.len(), 5, "the active segment is never cleaned");
}

#[test]
fn tombstones_go_only_after_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    put(&log, &[("key-1", None), ("key-2", None)], 10_000, false);
    log.roll().unwrap();
    let config = CleanerConfig {
        delete_retention_ms: 1_000,
        ..eager()
    };
    log.clean(bound(&log), 10_500, &config).unwrap();
    let kept = read_records(&log, 0);
    let tombstones = kept.iter().filter(|r| r.2.is_none()).count();
    assert_eq!(tombstones, 2, "within delete.retention.ms");
    assert!(!fold(&kept).contains_key(&b"key-1"[..]));
    put(&log, &[("key-3", Some("dirt"))], 12_000, false);
    log.roll().unwrap();
    log.clean(bound(&log), 20_000, &config).unwrap();
    let later = read_records(&log, 0);
    assert!(later.iter().all(|r| r.2.is_some()), "expired tombstones go");
    assert_eq!(
        fold(&later),
        fold(&kept)
            .into_iter()
            .chain([(Bytes::from("key-3"), Bytes::from("dirt"))])
            .collect()
    );
}

#[test]
fn keyless_records_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    put(&log, &[("", Some("no key")), ("k", Some("old"))], 1, false);
    put(&log, &[("k", Some("new"))], 2, false);
    log.roll().unwrap();
    log.clean(bound(&log), 3, &eager()).unwrap();
    let values: Vec<Option<Bytes>> = read_records(&log, 0).into_iter().map(|r| r.2).collect();
    assert_eq!(
        values,
        [Some(Bytes::from("no key")), Some(Bytes::from("new"))]
    );
}

#[test]
fn the_newest_batch_of_each_producer_survives_as_an_empty_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    let stamp = ProducerStamp {
        producer_id: 11,
        producer_epoch: 3,
        base_sequence: 0,
    };
    put_as(
        &log,
        &[("k", Some("a"))],
        1,
        stamp,
        Compression::None,
        false,
    );
    let newest = ProducerStamp {
        base_sequence: 1,
        ..stamp
    };
    let at = put_as(
        &log,
        &[("k", Some("b"))],
        2,
        newest,
        Compression::None,
        false,
    );
    put(&log, &[("k", Some("c"))], 3, false);
    put(&log, &[("other", Some("d"))], 4, false);
    log.roll().unwrap();
    log.clean(bound(&log), 5, &eager()).unwrap();
    let chunk = log.read(0, 1 << 20, u64::MAX).unwrap();
    let headers: Vec<_> = BatchIter::new(chunk)
        .map(|b| *b.unwrap().header())
        .collect();
    let producer: Vec<_> = headers.iter().filter(|h| h.producer_id == 11).collect();
    assert_eq!(producer.len(), 1, "only the newest batch of the producer");
    assert_eq!(
        (producer[0].base_offset as u64, producer[0].record_count),
        (at, 0)
    );
    assert_eq!(producer[0].base_sequence, 1);
}

#[cfg(feature = "lz4")]
#[test]
fn compressed_batches_are_rewritten_with_their_codec() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    let stamp = ProducerStamp::NONE;
    put_as(
        &log,
        &[("a", Some("1")), ("b", Some("1")), ("a", Some("2"))],
        1,
        stamp,
        Compression::Lz4,
        false,
    );
    log.roll().unwrap();
    log.clean(bound(&log), 2, &eager()).unwrap();
    let chunk = log.read(0, 1 << 20, u64::MAX).unwrap();
    let batch = BatchIter::new(chunk).next().unwrap().unwrap();
    assert_eq!(batch.header().compression(), Compression::Lz4);
    assert_eq!(batch.header().record_count, 2);
    assert_eq!(fold(&read_records(&log, 0)).len(), 2);
}

#[test]
fn open_discards_a_cleaned_file_and_completes_a_swap() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_segments());
    churn(&log);
    // Shrunk by a first pass, the oldest segments merge at the next one.
    log.clean(bound(&log), 2_000, &eager()).unwrap();
    churn(&log);
    let original = read_records(&log, 0);
    log.close().unwrap();
    drop(log);
    // The same log, cleaned, in a second directory.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let cleaned_log = open(copy.path(), small_segments());
    cleaned_log
        .clean(bound(&cleaned_log), 2_000, &eager())
        .unwrap();
    let cleaned = read_records(&cleaned_log, 0);
    let first = cleaned_log.segments.read()[0].log_path().to_path_buf();
    let merged_end = cleaned_log.segments.read()[1].base_offset();
    drop(cleaned_log);
    let originals = log_files(dir.path());
    assert!(
        originals.iter().filter(|&&b| b < merged_end).count() > 1,
        "the first cleaned segment merged several"
    );

    // A half-written `.cleaned` copy: the old segment stands.
    std::fs::write(suffixed_log_path(dir.path(), 0, CLEANED_SUFFIX), b"partial").unwrap();
    let log = open(dir.path(), small_segments());
    assert_eq!(read_records(&log, 0), original);
    assert!(!suffixed_log_path(dir.path(), 0, CLEANED_SUFFIX).exists());
    drop(log);

    // A complete `.swap` copy of a merged group: it replaces every segment
    // of the group, indexes rebuilt.
    std::fs::copy(&first, suffixed_log_path(dir.path(), 0, SWAP_SUFFIX)).unwrap();
    let log = open(dir.path(), small_segments());
    let swapped = read_records(&log, 0);
    assert!(!suffixed_log_path(dir.path(), 0, SWAP_SUFFIX).exists());
    let first_end = log.segments.read()[1].base_offset();
    assert_eq!(first_end, merged_end);
    let kept: Vec<u64> = originals
        .iter()
        .copied()
        .filter(|&b| b == 0 || b >= merged_end)
        .collect();
    assert_eq!(log_files(dir.path()), kept);
    let head = |r: &[Read]| {
        r.iter()
            .filter(|x| x.0 < first_end)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(head(&swapped), head(&cleaned));
    assert_eq!(fold(&swapped), fold(&original));
}

/// Base offsets of the segment log files in `dir`, in order.
fn log_files(dir: &Path) -> Vec<u64> {
    let mut bases: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            match super::layout::parse_segment_file(&name) {
                Some((base, super::layout::FileKind::Log)) => Some(base),
                _ => None,
            }
        })
        .collect();
    bases.sort_unstable();
    bases
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u16),
    Delete(u8),
    Clean { tombstones_expired: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..12, any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..12).prop_map(Op::Delete),
        1 => any::<bool>().prop_map(|e| Op::Clean { tombstones_expired: e }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any sequence of keyed puts and tombstones, compacted at random
    /// points, reads back from the start as the model's latest-value map,
    /// with offsets strictly increasing.
    #[test]
    fn compaction_preserves_the_latest_value_of_every_key(ops in proptest::collection::vec(op(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let config = PartitionLogConfig { segment_bytes: 1_000, ..small_segments() };
        let log = open(dir.path(), config);
        let mut model: BTreeMap<Bytes, Bytes> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            let ts = i as i64;
            match op {
                Op::Put(k, v) => {
                    let (key, value) = (format!("k{k}"), format!("v{v}-{i}"));
                    put(&log, &[(&key, Some(&value))], ts, false);
                    model.insert(Bytes::from(key), Bytes::from(value));
                }
                Op::Delete(k) => {
                    let key = format!("k{k}");
                    put(&log, &[(&key, None)], ts, false);
                    model.remove(key.as_bytes());
                }
                Op::Clean { tombstones_expired } => {
                    let now = if *tombstones_expired { i64::MAX / 2 } else { ts };
                    log.clean(bound(&log), now, &eager()).unwrap();
                    let records = read_records(&log, 0);
                    prop_assert!(strictly_increasing(&records));
                    prop_assert_eq!(&fold(&records), &model);
                }
            }
        }
        log.roll().unwrap();
        log.clean(bound(&log), i64::MAX / 2, &eager()).unwrap();
        let records = read_records(&log, 0);
        prop_assert!(strictly_increasing(&records));
        prop_assert_eq!(&fold(&records), &model);
        // Merged groups never outgrow a segment.
        prop_assert!(log.segments.read().iter().all(|s| s.size() <= 1_000));
        // Fully cleaned: one record per live key, no tombstones.
        prop_assert_eq!(records.len(), model.len());
        drop(log);
        let log = open(dir.path(), PartitionLogConfig { segment_bytes: 1_000, ..small_segments() });
        prop_assert_eq!(read_records(&log, 0), records);
    }
}
