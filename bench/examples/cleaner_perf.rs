//! Log cleaner throughput: writes a compacted topic of a given size in which
//! a given share of the records are the newest of their key, then times
//! cleaning passes through the public API (`Topic::clean`) until the whole
//! log below the active segment is clean.
//!
//! ```text
//! cargo run --release -p tidelog-bench --example cleaner_perf -- --size-mib 1024
//! cargo run --release -p tidelog-bench --example cleaner_perf -- --size-mib 64 --segment-mib 8
//! ```
//!
//! Prints the bytes before and after, the wall time of the cleaning and the
//! MB/s of log cleaned (bytes of segments read and rewritten per second).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use tidelog::{Log, ProducerConfig, ProducerRecord, TopicConfig};
use tidelog_bench::{parse_or_exit, unknown, ArgsError, Flags};

const USAGE: &str = "\
usage: cleaner_perf [options]

  --size-mib N        log size to write, in MiB of segment files (default 1024)
  --live-percent P    records that are the newest of their key, in % (default 10)
  --value-size B      value size in bytes (default 100)
  --segment-mib N     segment.bytes of the topic, in MiB (default 64)
  --dir PATH          data directory (default: a temporary one)
  -h, --help          this text";

struct Args {
    size_mib: u64,
    live_percent: f64,
    value_size: usize,
    segment_mib: u64,
    dir: Option<PathBuf>,
}

fn parse_args(flags: &mut Flags) -> Result<Args, ArgsError> {
    let mut args = Args {
        size_mib: 1024,
        live_percent: 10.0,
        value_size: 100,
        segment_mib: 64,
        dir: None,
    };
    while let Some(flag) = flags.next_flag()? {
        match flag.as_str() {
            "--size-mib" => args.size_mib = flags.parsed(&flag)?,
            "--live-percent" => args.live_percent = flags.parsed(&flag)?,
            "--value-size" => args.value_size = flags.parsed(&flag)?,
            "--segment-mib" => args.segment_mib = flags.parsed::<u64>(&flag)?.max(1),
            "--dir" => args.dir = Some(flags.value(&flag)?.into()),
            other => return Err(unknown(other)),
        }
    }
    if !(args.live_percent > 0.0 && args.live_percent <= 100.0) {
        return Err(ArgsError::Bad("--live-percent must be in (0, 100]".into()));
    }
    Ok(args)
}

fn main() {
    let args = parse_or_exit(USAGE, parse_args);
    if let Err(error) = run(&args) {
        eprintln!("cleaner_perf failed: {error}");
        std::process::exit(1);
    }
}

const TOPIC: &str = "compacted";

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let temporary = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    // One broker, one replica: the figure is one cleaner's. The cleaner
    // thread stays off: only the timed passes below clean.
    let log = Log::builder(&dir)
        .brokers(1)
        .set("log.cleaner.enable", "false")?
        .open()?;
    let segment_bytes = args.segment_mib << 20;
    let topic = log.create_topic(
        TOPIC,
        TopicConfig::new()
            .partitions(1)
            .set("cleanup.policy", "compact")?
            .set("segment.bytes", &segment_bytes.to_string())?,
    )?;

    // Key "key-NNNNNNNN" (12 bytes) and about 12 bytes of record framing and
    // amortised batch header per record.
    let per_record = args.value_size as u64 + 12 + 12;
    let records = (args.size_mib << 20) / per_record;
    // Each key written 100 / live-percent times on average.
    let keys = ((records as f64 * args.live_percent / 100.0) as u64).max(1);
    let started = Instant::now();
    let producer = log.producer(ProducerConfig::new().set("acks", "1")?)?;
    let mut value = vec![b'v'; args.value_size];
    for n in 0..records {
        // The record's number at the value's front: every value differs.
        let number = n.to_be_bytes();
        let head = number.len().min(value.len());
        value[..head].copy_from_slice(&number[..head]);
        // Keys drawn at random (deterministically), so the newest value of
        // each key lies anywhere in the log, not all at its end.
        let key = format!("key-{:08}", splitmix(n) % keys);
        producer.send(ProducerRecord::new(TOPIC, value.clone()).key(key))?;
    }
    producer.flush();
    producer.close();
    let before = log_file_bytes(&dir);
    println!(
        "wrote {records} records over {keys} keys ({:.1} % live) in {:.1} s: {:.1} MiB of segments",
        keys as f64 * 100.0 / records as f64,
        started.elapsed().as_secs_f64(),
        mib(before)
    );

    let started = Instant::now();
    let mut passes = 0;
    loop {
        let dirty_before = topic.cleaner_state(0)?.first_dirty_offset();
        topic.clean()?;
        passes += 1;
        // A pass stops early when its key map fills up; the next goes on.
        if topic.cleaner_state(0)?.first_dirty_offset() == dirty_before {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let state = topic.cleaner_state(0)?;
    let after = log_file_bytes(&dir);
    println!(
        "cleaned {:.1} MiB into {:.1} MiB in {elapsed:.2} s ({passes} passes, the last finding nothing): \
{:.1} MiB/s; {} records removed",
        mib(state.bytes_cleaned()),
        mib(state.bytes_written()),
        mib(state.bytes_cleaned()) / elapsed,
        state.records_removed()
    );
    println!(
        "segment files: {:.1} MiB before, {:.1} MiB after (the active segment is not cleaned)",
        mib(before),
        mib(after)
    );
    drop(log);
    Ok(())
}

fn splitmix(n: u64) -> u64 {
    let mut z = n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Bytes in the segment files under `dir` (indexes and checkpoints aside).
fn log_file_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                log_file_bytes(&path)
            } else if path.extension().is_some_and(|e| e == "log") {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            }
        })
        .sum()
}
