//! Compaction across a real process kill: the test binary re-runs itself as
//! a child that appends keyed records and tombstones with `sync = true`,
//! prints every acknowledged one, and compacts the log every few batches;
//! the parent kills it at random moments, half of them right after a pass
//! began, then reopens the log and checks that no acknowledged write was
//! lost and no deleted value came back. The child's segments are small
//! enough that passes merge several into one, so kills land in merged
//! swaps too (the child reports each pass that merged, and the test checks
//! that some did).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;

use super::cleaner::CleanerConfig;
use super::cleaner_tests::{read_records, small_segments, Read};
use super::crash_tests::Prng;
use super::partition_log::now_ms;
use super::tests::open;
use crate::record::{BatchBuilder, ProducerStamp};

const CHILD_DIR: &str = "TIDELOG_CLEANER_CRASH_CHILD_DIR";
const CHILD_SEED: &str = "TIDELOG_CLEANER_CRASH_CHILD_SEED";
const TEST_NAME: &str =
    "storage::cleaner_crash_tests::compaction_survives_process_kill_at_any_moment";
const ROUNDS: u64 = 12;
const KEYS: u64 = 16;

/// The last acknowledged write of a key: its offset and value (`None` for
/// a tombstone).
type Acked = BTreeMap<String, (u64, Option<String>)>;

/// Child mode: append forever, printing `ack <offset> <key> <value|->` per
/// record, `clean` before each compaction pass and `merged` after one that
/// left fewer segments than it found.
fn run_child(dir: &Path, seed: u64) {
    let log = open(dir, small_segments());
    let mut rng = Prng(seed | 1);
    let mut out = std::io::stdout().lock();
    // Tombstones expire at once, so passes drop them: the riskiest case.
    let config = CleanerConfig {
        delete_retention_ms: 0,
        min_cleanable_dirty_ratio: 0.0,
        ..CleanerConfig::default()
    };
    for n in 0..1_000_000u64 {
        let mut builder = BatchBuilder::new(0);
        let mut written = Vec::new();
        for i in 0..1 + rng.below(3) {
            let key = format!("k{}", rng.below(KEYS));
            let value =
                (rng.below(6) != 0).then(|| format!("s{seed}-b{n}-r{i}-{}", "v".repeat(30)));
            builder.push(
                now_ms(),
                Some(key.as_bytes()),
                value.as_deref().map(str::as_bytes),
                &[],
            );
            written.push((key, value));
        }
        let mut batch = builder.finish(ProducerStamp::NONE);
        let info = log.append_as_leader(&mut batch, 0, true).unwrap();
        for (i, (key, value)) in written.iter().enumerate() {
            let value = value.as_deref().unwrap_or("-");
            writeln!(out, "ack {} {key} {value}", info.base_offset + i as u64).unwrap();
        }
        if n % 6 == 5 {
            log.roll().unwrap();
            writeln!(out, "clean").unwrap();
            out.flush().unwrap();
            let bound = log.active().unwrap().base_offset();
            let segments = log.segments.read().len();
            log.clean(bound, now_ms(), &config).unwrap();
            if log.segments.read().len() < segments {
                writeln!(out, "merged").unwrap();
            }
        }
        out.flush().unwrap();
    }
}

#[test]
fn compaction_survives_process_kill_at_any_moment() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let seed = std::env::var(CHILD_SEED).unwrap().parse().unwrap();
        run_child(Path::new(&dir), seed);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = Prng(0x5eed_c1ea_0000_0001);
    let mut acked = Acked::new();
    let mut merges = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_SEED, (round + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Even rounds: kill right after the n-th pass began, so the signal
        // lands while segments are being rewritten or swapped. Odd rounds:
        // after a random number of acknowledgements.
        let during_clean = round % 2 == 0;
        let target = if during_clean {
            1 + rng.below(4)
        } else {
            1 + rng.below(60)
        };
        let mut seen = 0;
        while seen < target {
            let Some(Ok(line)) = lines.next() else { break };
            merges += u32::from(line == "merged");
            let is_clean = line == "clean";
            let is_ack = record_ack(&line, &mut acked);
            seen += u64::from(if during_clean { is_clean } else { is_ack });
        }
        assert!(seen > 0, "round {round}: the child did nothing");
        child.kill().unwrap();
        child.wait().unwrap();
        for line in lines.map_while(Result::ok) {
            merges += u32::from(line == "merged");
            record_ack(&line, &mut acked);
        }
        check(dir.path(), &acked, round);
    }
    assert!(
        merges > 0,
        "no pass merged segments: the test lost its point"
    );
}

/// Parses `ack <offset> <key> <value|->`; returns whether it was one.
fn record_ack(line: &str, acked: &mut Acked) -> bool {
    let mut parts = line.split_whitespace();
    if parts.next() != Some("ack") {
        return false;
    }
    let (Some(Ok(offset)), Some(key), Some(value)) = (
        parts.next().map(str::parse::<u64>),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let value = (value != "-").then(|| value.to_string());
    acked.insert(key.to_string(), (offset, value));
    true
}

/// Every acknowledged write is still the key's newest record (or a later,
/// unacknowledged one is); a deleted key has no older value left.
fn check(dir: &Path, acked: &Acked, round: u64) {
    let log = open(dir, small_segments());
    let records = read_records(&log, 0);
    assert!(
        records.windows(2).all(|w| w[0].0 < w[1].0),
        "round {round}: offsets must increase"
    );
    let newest: BTreeMap<Bytes, &Read> = records
        .iter()
        .filter_map(|r| r.1.clone().map(|key| (key, r)))
        .collect();
    for (key, (offset, value)) in acked {
        let found = newest.get(key.as_bytes());
        match (found, value) {
            (Some(record), _) if record.0 > *offset => {}
            (Some(record), _) if record.0 == *offset => {
                let stored = record.2.as_deref().map(|v| String::from_utf8_lossy(v).into_owned());
                assert_eq!(&stored, value, "round {round}: {key} at {offset} changed");
            }
            (None, None) => {}
            (found, value) => panic!(
                "round {round}: {key}: acknowledged {value:?} at {offset}, newest in the log {found:?}"
            ),
        }
    }
}
