//! Durability across a real process kill: the test binary re-runs itself as
//! a child that appends with `sync = true` and prints every acknowledged
//! offset; the parent kills it at a random moment and checks every printed
//! offset survived with its content.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::partition_log::PartitionLogConfig;
use super::tests::{config, open, read_all};
use crate::record::{BatchBuilder, ProducerStamp};

const CHILD_DIR: &str = "TIDELOG_CRASH_CHILD_DIR";
const CHILD_SEED: &str = "TIDELOG_CRASH_CHILD_SEED";
const TEST_NAME: &str = "storage::crash_tests::acknowledged_appends_survive_process_kill";
const ROUNDS: u64 = 24;

/// xorshift64*: a few lines of seeded randomness, no dependency needed
/// (the compaction crash test draws from it too).
pub(super) struct Prng(pub(super) u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn crash_config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_bytes: 16 << 10,
        index_interval_bytes: 512,
        ..config()
    }
}

/// Child mode: append forever, printing `ack <offset> <hash>` per record.
fn run_child(dir: &Path, seed: u64) {
    let log = open(dir, crash_config());
    let mut rng = Prng(seed | 1);
    let mut out = std::io::stdout().lock();
    for n in 0..1_000_000u64 {
        let mut builder = BatchBuilder::new(0);
        let mut values = Vec::new();
        for i in 0..1 + rng.below(4) {
            let mut value = format!("seed{seed}-batch{n}-rec{i}-").into_bytes();
            value.resize(value.len() + rng.below(600) as usize, b'a' + (n % 26) as u8);
            builder.push(n as i64, None, Some(&value), &[]);
            values.push(value);
        }
        let mut batch = builder.finish(ProducerStamp::NONE);
        let info = log.append_as_leader(&mut batch, 0, true).unwrap();
        for (i, value) in values.iter().enumerate() {
            writeln!(out, "ack {} {}", info.base_offset + i as u64, fnv1a(value)).unwrap();
        }
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_appends_survive_process_kill() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let seed = std::env::var(CHILD_SEED).unwrap().parse().unwrap();
        run_child(Path::new(&dir), seed);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = Prng(0x5eed_1234_abcd_0001);
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
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
        // Kill after a random number of acknowledgements: the child is
        // somewhere inside its next append or fsync when the signal lands.
        let kill_after = 1 + rng.below(60);
        let mut seen = 0;
        while seen < kill_after {
            let Some(Ok(line)) = lines.next() else { break };
            seen += u64::from(record_ack(&line, &mut acked));
        }
        assert!(seen > 0, "round {round}: child acknowledged nothing");
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines flushed before the kill were acknowledged too.
        for line in lines.map_while(Result::ok) {
            record_ack(&line, &mut acked);
        }
        check_survivors(dir.path(), &acked, round);
    }
}

/// Parses `ack <offset> <hash>`; returns whether the line was an ack.
fn record_ack(line: &str, acked: &mut BTreeMap<u64, u64>) -> bool {
    let mut parts = line.split_whitespace();
    if parts.next() != Some("ack") {
        return false;
    }
    let (Some(Ok(offset)), Some(Ok(hash))) = (
        parts.next().map(str::parse::<u64>),
        parts.next().map(str::parse::<u64>),
    ) else {
        return false;
    };
    // A later round may reuse an offset only if the earlier ack was lost,
    // which the check below would already have caught.
    acked.insert(offset, hash);
    true
}

fn check_survivors(dir: &Path, acked: &BTreeMap<u64, u64>, round: u64) {
    let log = open(dir, crash_config());
    let records: BTreeMap<u64, u64> = read_all(&log, 0)
        .into_iter()
        .map(|(offset, value)| (offset, fnv1a(&value)))
        .collect();
    for (offset, hash) in acked {
        assert_eq!(
            records.get(offset),
            Some(hash),
            "round {round}: acknowledged offset {offset} lost or changed"
        );
    }
    assert_eq!(
        records.len() as u64,
        log.log_end_offset(),
        "offsets are dense"
    );
}
