//! Recovery against real damage: files are cut, flipped, padded and
//! deleted, then the log is reopened.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::layout::{segment_path, FileKind, CLEAN_SHUTDOWN, RECOVERY_POINT};
use super::partition_log::PartitionLogConfig;
use super::tests::{batch, config, open, read_all};
use crate::record::HEADER_LEN;

/// Values of a log built by `build`: batch `i` holds `count(i)` records.
fn expected_values(batches: usize) -> Vec<(u64, Bytes)> {
    let mut out = Vec::new();
    for i in 0..batches {
        for j in 0..count(i) {
            out.push((out.len() as u64, Bytes::from(format!("b{i}-{j}"))));
        }
    }
    out
}

fn count(i: usize) -> usize {
    1 + i % 3
}

/// Writes `batches` batches (fsynced) and drops the log without a clean
/// close; returns the byte position where each batch starts in its segment.
fn build(dir: &Path, config: PartitionLogConfig, batches: usize) -> Vec<(u64, u64)> {
    let log = open(dir, config);
    let mut starts = Vec::new();
    for i in 0..batches {
        let active = log.active().unwrap();
        let before = (active.base_offset(), active.size());
        log.append_as_leader(&mut batch(&format!("b{i}"), count(i), i as i64), 0, true)
            .unwrap();
        let active = log.active().unwrap();
        // A roll happened if the batch landed in a new segment.
        starts.push(if active.base_offset() != before.0 {
            (active.base_offset(), 0)
        } else {
            before
        });
    }
    starts
}

fn active_log_file(dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().unwrap()
}

/// Reopens `dir` and checks it holds exactly the first `intact` batches and
/// that appends continue right after them.
fn assert_intact_prefix(dir: &Path, config: PartitionLogConfig, intact: usize) {
    let expected = expected_values(intact);
    let log = open(dir, config.clone());
    assert_eq!(log.log_end_offset(), expected.len() as u64);
    assert_eq!(read_all(&log, 0), expected);
    let info = log
        .append_as_leader(&mut batch("next", 1, 0), 0, false)
        .unwrap();
    assert_eq!(info.base_offset, expected.len() as u64);
    drop(log);
    let log = open(dir, config);
    assert_eq!(log.log_end_offset(), expected.len() as u64 + 1);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_tail_cut_anywhere_inside_the_last_batch_loses_only_that_batch() {
    let root = tempfile::tempdir().unwrap();
    let pristine = root.path().join("pristine");
    let starts = build(&pristine, config(), 12);
    let last_start = starts.last().unwrap().1;
    let file_len = fs::metadata(active_log_file(&pristine)).unwrap().len();
    for (n, cut) in (last_start..file_len).enumerate() {
        let dir = root.path().join(format!("cut-{cut}"));
        copy_dir(&pristine, &dir);
        let log_file = active_log_file(&dir);
        fs::OpenOptions::new()
            .write(true)
            .open(&log_file)
            .unwrap()
            .set_len(cut)
            .unwrap();
        if n % 2 == 0 {
            // Half the time the indexes are gone too.
            fs::remove_file(log_file.with_extension("index")).unwrap();
        }
        assert_intact_prefix(&dir, config(), 11);
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_flipped_bit_in_an_older_segment_cuts_the_log_there() {
    let root = tempfile::tempdir().unwrap();
    let cfg = PartitionLogConfig {
        segment_bytes: 500,
        ..config()
    };
    let starts = build(root.path(), cfg.clone(), 20);
    let (base, position) = starts[9];
    let path = segment_path(root.path(), base, FileKind::Log);
    let mut bytes = fs::read(&path).unwrap();
    bytes[position as usize + HEADER_LEN + 3] ^= 0x10;
    fs::write(&path, bytes).unwrap();
    // Scan everything: the damage sits in an older segment.
    fs::write(root.path().join(RECOVERY_POINT), b"garbage").unwrap();
    assert!(
        starts[19].0 != base,
        "the damage must not be in the last segment"
    );
    // The log keeps exactly the batches before the damaged one: a dense
    // prefix, with every later segment dropped.
    let expected: Vec<(u64, Bytes)> = expected_values(20)
        .into_iter()
        .filter(|(offset, _)| batch_of(*offset) < 9)
        .collect();
    let log = open(root.path(), cfg);
    assert_eq!(log.log_end_offset(), expected.len() as u64);
    assert_eq!(read_all_with_gaps(&log), expected);
    let later_segments = starts.iter().filter(|(b, _)| *b > base).count();
    assert!(later_segments > 0);
    for (b, _) in starts.iter().filter(|(b, _)| *b > base) {
        assert!(!segment_path(root.path(), *b, FileKind::Log).exists());
    }
}

/// Which batch of `build` holds `offset`.
fn batch_of(offset: u64) -> usize {
    let mut end = 0;
    for i in 0.. {
        end += count(i) as u64;
        if offset < end {
            return i;
        }
    }
    unreachable!()
}

fn read_all_with_gaps(log: &super::partition_log::PartitionLog) -> Vec<(u64, Bytes)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let chunk = log.read(next, 1000, u64::MAX).unwrap();
        assert!(!chunk.is_empty(), "no data at or after {next}");
        for batch in crate::record::BatchIter::new(chunk) {
            for record in batch.unwrap().records() {
                let record = record.unwrap();
                if record.offset as u64 >= next {
                    out.push((record.offset as u64, record.value.unwrap()));
                    next = record.offset as u64 + 1;
                }
            }
        }
    }
    out
}

#[test]
fn a_zero_filled_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), config(), 7);
    let path = active_log_file(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]);
    fs::write(&path, bytes).unwrap();
    assert_intact_prefix(dir.path(), config(), 7);
}

#[test]
fn a_duplicated_batch_header_or_batch_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let starts = build(dir.path(), config(), 6);
    let path = active_log_file(dir.path());
    let bytes = fs::read(&path).unwrap();
    let last = starts[5].1 as usize;
    let mut with_header = bytes.clone();
    with_header.extend_from_slice(&bytes[last..last + HEADER_LEN]);
    fs::write(&path, &with_header).unwrap();
    assert_intact_prefix(dir.path(), config(), 6);

    // A whole copy of an earlier batch repeats offsets: not monotonic.
    let dir = tempfile::tempdir().unwrap();
    let starts = build(dir.path(), config(), 6);
    let path = active_log_file(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    let copy = bytes[starts[4].1 as usize..starts[5].1 as usize].to_vec();
    bytes.extend_from_slice(&copy);
    fs::write(&path, &bytes).unwrap();
    assert_intact_prefix(dir.path(), config(), 6);
}

#[test]
fn missing_or_garbage_indexes_are_rebuilt_even_after_a_clean_close() {
    let cfg = PartitionLogConfig {
        segment_bytes: 700,
        index_interval_bytes: 64,
        ..config()
    };
    for damage in ["delete", "garbage", "truncate", "swap"] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), cfg.clone(), 30);
        open(dir.path(), cfg.clone()).close().unwrap();
        assert!(dir.path().join(CLEAN_SHUTDOWN).exists());
        for entry in fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let ext = path
                .extension()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if ext != "index" && ext != "timeindex" {
                continue;
            }
            match damage {
                "delete" => fs::remove_file(&path).unwrap(),
                "garbage" => fs::write(&path, b"TLOI\x01\x08\0\0\xff\xff\xff\xff\xff\xff").unwrap(),
                "truncate" => {
                    let len = fs::metadata(&path).unwrap().len();
                    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
                    file.set_len(len.saturating_sub(3)).unwrap();
                }
                _ => {
                    // An index pointing past the end of its log file.
                    let mut bytes = fs::read(&path).unwrap();
                    if ext == "index" {
                        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xf0, 0x7f, 0xff, 0xff, 0xff]);
                    }
                    fs::write(&path, bytes).unwrap();
                }
            }
        }
        let log = open(dir.path(), cfg.clone());
        assert!(!dir.path().join(CLEAN_SHUTDOWN).exists());
        for offset in 0..log.log_end_offset() {
            let chunk = log.read(offset, 1, u64::MAX).unwrap();
            let first = crate::record::BatchIter::new(chunk)
                .next()
                .unwrap()
                .unwrap();
            let header = first.header();
            assert!(header.base_offset as u64 <= offset && offset <= header.last_offset() as u64);
        }
        drop(log);
        assert_intact_prefix(dir.path(), cfg.clone(), 30);
    }
}

#[test]
fn garbage_checkpoints_never_stop_an_open() {
    let dir = tempfile::tempdir().unwrap();
    build(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 400,
            ..config()
        },
        10,
    );
    for name in [RECOVERY_POINT, super::layout::LOG_START_OFFSET] {
        fs::write(dir.path().join(name), [0xffu8, 0, 1, 2]).unwrap();
    }
    assert_intact_prefix(
        dir.path(),
        PartitionLogConfig {
            segment_bytes: 400,
            ..config()
        },
        10,
    );
}

#[test]
fn stray_files_are_ignored_and_orphan_indexes_removed() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), config(), 3);
    fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let orphan = segment_path(dir.path(), 999, FileKind::Index);
    fs::write(&orphan, b"x").unwrap();
    assert_intact_prefix(dir.path(), config(), 3);
    assert!(!orphan.exists());
    assert!(dir.path().join("notes.txt").exists());
}

#[test]
fn an_empty_or_headerless_segment_file_recovers_to_an_empty_log() {
    for contents in [&b""[..], &[1u8, 2, 3][..]] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(segment_path(dir.path(), 0, FileKind::Log), contents).unwrap();
        assert_intact_prefix(dir.path(), config(), 0);
    }
}

#[test]
fn a_log_start_checkpoint_beyond_the_log_end_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PartitionLogConfig {
        segment_bytes: 400,
        ..config()
    };
    build(dir.path(), cfg.clone(), 10);
    super::checkpoint::write_offset_checkpoint(
        &dir.path().join(super::layout::LOG_START_OFFSET),
        1_000_000,
    )
    .unwrap();
    assert_intact_prefix(dir.path(), cfg, 10);
}
