//! The same workload through the `commitlog` crate and through tidelog's
//! public API, one after the other in one process, printed as ratios.
//!
//! ```text
//! cargo run --release -p tidelog-bench --example vs_commitlog -- --num-records 5000000 --runs 3
//! ```
//!
//! Workload: `--record-size`-byte values, no key, 6 partitions, 1 broker,
//! acks=1. `commitlog` has no partitions, so it gets one log per partition
//! and appends pre-built batches of `--batch` records to them in turn (its
//! fastest write path), then reads every log back with 1 MiB reads.
//! tidelog produces one record per `send` call (fire-and-forget, then with
//! a callback on every record), then consumes everything from the start
//! with `poll_batch` (records lent out of the fetched batches; `--api poll`
//! reads with `poll`, one owned record each, and `--api both` times both,
//! one after the other). Each figure is the median of `--runs` runs; the ratios are
//! tidelog over commitlog (above 1: tidelog is faster).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use commitlog::message::{MessageBuf, MessageSet};
use commitlog::{CommitLog, LogOptions, ReadLimit};
use tidelog::{
    ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};
use tidelog_bench::{parse_or_exit, unknown, ArgsError, Flags};

const USAGE: &str = "\
usage: vs_commitlog [options]

  --num-records N    records per run and side (default 2000000)
  --record-size B    value size in bytes (default 100)
  --partitions N     partitions (commitlog: logs) (default 6)
  --batch N          records per commitlog append (default 1000)
  --runs N           runs; medians are printed (default 3)
  --api A            how tidelog consumes: batch (poll_batch), poll, or both (default batch)
  --only-consume     skip tidelog's produce timings (the topic is still filled)
  -h, --help         this text";

struct Args {
    num_records: u64,
    record_size: usize,
    partitions: u32,
    batch: u64,
    runs: usize,
    api: Api,
    only_consume: bool,
}

/// The consumer call(s) to time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Batch,
    Poll,
    Both,
}

fn parse_args(flags: &mut Flags) -> Result<Args, ArgsError> {
    let mut args = Args {
        num_records: 2_000_000,
        record_size: 100,
        partitions: 6,
        batch: 1000,
        runs: 3,
        api: Api::Batch,
        only_consume: false,
    };
    while let Some(flag) = flags.next_flag()? {
        match flag.as_str() {
            "--num-records" => args.num_records = flags.parsed(&flag)?,
            "--record-size" => args.record_size = flags.parsed(&flag)?,
            "--partitions" => args.partitions = flags.parsed::<u32>(&flag)?.max(1),
            "--batch" => args.batch = flags.parsed::<u64>(&flag)?.max(1),
            "--runs" => args.runs = flags.parsed::<usize>(&flag)?.max(1),
            "--api" => {
                args.api = match flags.value(&flag)?.as_str() {
                    "batch" => Api::Batch,
                    "poll" => Api::Poll,
                    "both" => Api::Both,
                    other => {
                        return Err(ArgsError::Bad(format!(
                            "--api: {other:?} is not batch, poll or both"
                        )))
                    }
                }
            }
            "--only-consume" => args.only_consume = true,
            other => return Err(unknown(other)),
        }
    }
    Ok(args)
}

/// Records per second of each measured step in one run.
#[derive(Default, Clone, Copy)]
struct Run {
    cl_append: f64,
    cl_read: f64,
    fire: f64,
    callback: f64,
    /// `poll_batch`, when timed.
    batch: f64,
    /// `poll`, when timed.
    poll: f64,
}

fn main() {
    let args = parse_or_exit(USAGE, parse_args);
    let mut runs = Vec::new();
    for run in 0..args.runs {
        let result = one_run(&args);
        let r = result.unwrap_or_else(|error| {
            eprintln!("vs_commitlog failed: {error}");
            std::process::exit(1);
        });
        println!(
            "run {}: commitlog append {:.2} M/s, read {:.2} M/s; tidelog send {:.2} M/s, \
send_with_callback {:.2} M/s, poll_batch {:.2} M/s, poll {:.2} M/s",
            run + 1,
            r.cl_append / 1e6,
            r.cl_read / 1e6,
            r.fire / 1e6,
            r.callback / 1e6,
            r.batch / 1e6,
            r.poll / 1e6
        );
        runs.push(r);
    }
    let median = |f: fn(&Run) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "median of {} runs, {} records of {} bytes, {} partitions:",
        runs.len(),
        args.num_records,
        args.record_size,
        args.partitions
    );
    println!(
        "  commitlog batched append ({} per call) {:>7.2} M/s",
        args.batch,
        median(|r| r.cl_append) / 1e6
    );
    println!(
        "  commitlog 1 MiB reads                  {:>7.2} M/s",
        median(|r| r.cl_read) / 1e6
    );
    if !args.only_consume {
        println!(
            "  tidelog send (acks=1)                  {:>7.2} M/s  {:.2}x commitlog append",
            median(|r| r.fire) / 1e6,
            median(|r| r.fire / r.cl_append)
        );
        println!(
            "  tidelog send_with_callback (acks=1)    {:>7.2} M/s  {:.2}x send",
            median(|r| r.callback) / 1e6,
            median(|r| r.callback / r.fire)
        );
    }
    if args.api != Api::Poll {
        println!(
            "  tidelog poll_batch from the start      {:>7.2} M/s  {:.2}x commitlog read",
            median(|r| r.batch) / 1e6,
            median(|r| r.batch / r.cl_read)
        );
    }
    if args.api != Api::Batch {
        println!(
            "  tidelog poll from the start            {:>7.2} M/s  {:.2}x commitlog read",
            median(|r| r.poll) / 1e6,
            median(|r| r.poll / r.cl_read)
        );
    }
}

fn one_run(args: &Args) -> Result<Run, Box<dyn std::error::Error>> {
    let payload = vec![b'v'; args.record_size];
    let dir = tempfile::tempdir()?;
    let (cl_append, cl_read) = commitlog_side(&dir.path().join("commitlog"), args, &payload)?;
    let dir = tempfile::tempdir()?;
    let log = Log::builder(dir.path()).brokers(1).open()?;
    let config = TopicConfig::new().partitions(args.partitions);
    log.create_topic("fire", config.clone())?;
    log.create_topic("callback", config)?;
    let payload = Bytes::from(payload);
    let fire = produce(&log, "fire", args, &payload, false)?;
    let callback = if args.only_consume {
        0.0
    } else {
        produce(&log, "callback", args, &payload, true)?
    };
    let batch = if args.api == Api::Poll {
        0.0
    } else {
        consume(&log, "fire", args, Api::Batch)?
    };
    let poll = if args.api == Api::Batch {
        0.0
    } else {
        consume(&log, "fire", args, Api::Poll)?
    };
    Ok(Run {
        cl_append,
        cl_read,
        fire,
        callback,
        batch,
        poll,
    })
}

fn per_sec(records: u64, elapsed: Duration) -> f64 {
    records as f64 / elapsed.as_secs_f64()
}

fn commitlog_side(
    dir: &Path,
    args: &Args,
    payload: &[u8],
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut logs = (0..args.partitions)
        .map(|p| {
            let mut options = LogOptions::new(dir.join(p.to_string()));
            options.message_max_bytes(16 << 20);
            CommitLog::new(options)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let start = Instant::now();
    let mut written = 0;
    let mut next = 0;
    while written < args.num_records {
        let count = args.batch.min(args.num_records - written);
        // Built inside the timed loop: tidelog encodes its records too.
        let mut buf = MessageBuf::default();
        for _ in 0..count {
            buf.push(payload).map_err(|e| format!("commitlog: {e:?}"))?;
        }
        logs[next].append(&mut buf)?;
        next = (next + 1) % logs.len();
        written += count;
    }
    for log in &mut logs {
        log.flush()?;
    }
    let append = per_sec(written, start.elapsed());
    let read = commitlog_read(&logs, written)?;
    Ok((append, read))
}

/// Reads every log back with 1 MiB reads; records per second.
// Not inlined, so a callgrind profile gives its inclusive cost.
#[inline(never)]
fn commitlog_read(logs: &[CommitLog], written: u64) -> Result<f64, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut read = 0u64;
    let mut bytes = 0usize;
    for log in logs {
        let mut offset = 0;
        while offset < log.next_offset() {
            let messages = log.read(offset, ReadLimit::max_bytes(1 << 20))?;
            let mut last = None;
            for message in messages.iter() {
                bytes += message.payload().len();
                last = Some(message.offset());
                read += 1;
            }
            match last {
                Some(last) => offset = last + 1,
                None => break,
            }
        }
    }
    assert_eq!(read, written, "commitlog read back {read} of {written}");
    std::hint::black_box(bytes);
    Ok(per_sec(read, start.elapsed()))
}

fn produce(
    log: &Log,
    topic: &str,
    args: &Args,
    payload: &Bytes,
    callback: bool,
) -> Result<f64, Box<dyn std::error::Error>> {
    let producer = log.producer(ProducerConfig::new().set("acks", "1")?)?;
    let template = ProducerRecord::new(topic, payload.clone());
    let start = Instant::now();
    for _ in 0..args.num_records {
        if callback {
            producer.send_with_callback(template.clone(), |result| {
                std::hint::black_box(result.is_ok());
            })?;
        } else {
            producer.send(template.clone())?;
        }
    }
    producer.flush();
    let rate = per_sec(args.num_records, start.elapsed());
    producer.close();
    assert_eq!(producer.failed_sends(), 0, "tidelog sends failed");
    Ok(rate)
}

/// Reads the topic from the start with `api` (`Batch` or `Poll`).
// Not inlined, so a callgrind profile gives its inclusive cost.
#[inline(never)]
fn consume(
    log: &Log,
    topic: &str,
    args: &Args,
    api: Api,
) -> Result<f64, Box<dyn std::error::Error>> {
    let mut consumer =
        log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    let partitions: Vec<_> = (0..args.partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(&partitions)?;
    let start = Instant::now();
    let mut read = 0u64;
    let mut bytes = 0usize;
    while read < args.num_records {
        let count = if api == Api::Poll {
            let records = consumer.poll(Duration::from_secs(10))?;
            bytes += records
                .iter()
                .map(|r| r.value().map_or(0, <[u8]>::len))
                .sum::<usize>();
            records.len()
        } else {
            let records = consumer.poll_batch(Duration::from_secs(10))?;
            bytes += records
                .iter()
                .map(|r| r.value().map_or(0, <[u8]>::len))
                .sum::<usize>();
            records.len()
        };
        if count == 0 {
            return Err(format!("tidelog read {read} of {} records", args.num_records).into());
        }
        read += count as u64;
    }
    std::hint::black_box(bytes);
    Ok(per_sec(read, start.elapsed()))
}
